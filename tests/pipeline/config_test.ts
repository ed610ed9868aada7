import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closestMatch,
  type CompareStage,
  parsePipeline,
  type RunStage,
  validateAgainstModel,
} from "../../pipeline/config.ts";
import { ConfigError } from "../../pipeline/errors.ts";
import { exampleDir, parseIn } from "./_helpers.ts";

/** Every invalid file: the key path and line the ConfigError must name, and message words. */
const INVALID: { name: string; yaml: string; path: string; line: number; message: RegExp }[] = [
  {
    name: "unknown key with a typo",
    yaml: `model: m.onnx
stages:
  - load
  - run:
      inputs:
        image: x.npy
      reapeat: 3
`,
    path: "stages[1].run.reapeat",
    line: 7,
    message: /Unknown key "reapeat" \(did you mean "repeat"\?\)/,
  },
  {
    name: "wrong type",
    yaml: `model: m.onnx
stages:
  - run:
      inputs: {image: x.npy}
  - compare:
      expected: {logits: y.npy}
      rtol: "tight"
`,
    path: "stages[1].compare.rtol",
    line: 7,
    message: /Expected a number, got the string "tight"/,
  },
  {
    name: "missing required top-level key",
    yaml: `name: no model
stages: [load]
`,
    path: "model",
    line: 1,
    message: /Missing required key "model"/,
  },
  {
    name: "missing input file",
    yaml: `model: m.onnx
stages:
  - run:
      inputs:
        image:
          npy: missing.npy
`,
    path: "stages[0].run.inputs.image.npy",
    line: 6,
    message: /"missing\.npy" was not found/,
  },
  {
    name: "unknown stage",
    yaml: `model: m.onnx
stages:
  - load
  - optimise
`,
    path: "stages[1]",
    line: 4,
    message: /Unknown stage "optimise" \(did you mean "optimize"\?\)/,
  },
  {
    name: "image mean with the wrong number of channels",
    yaml: `model: m.onnx
stages:
  - load
  - check
  - optimize
  - run:
      inputs:
        input:
          image:
            path: img.png
            resize: 256
            mean: [0.485, 0.456]
`,
    path: "stages[3].run.inputs.input.image.mean",
    line: 12,
    message: /Expected 1 or 3 values/,
  },
  {
    name: "unknown optimization pass",
    yaml: `model: m.onnx
stages:
  - optimize:
      passes:
        - dead-node-elimination
        - identity-elimnation
`,
    path: "stages[0].optimize.passes[1]",
    line: 6,
    message: /Unknown pass "identity-elimnation" \(did you mean "identity-elimination"\?\)/,
  },
  {
    name: "unknown top-level key",
    yaml: `modle: m.onnx
stages: [load]
`,
    path: "modle",
    line: 1,
    message: /Unknown key "modle" \(did you mean "model"\?\)/,
  },
  {
    name: "YAML syntax error",
    yaml: `model: m.onnx
stages:
  - run:
      inputs: {image: x.npy
`,
    path: "",
    line: 4,
    message: /Invalid YAML/,
  },
  {
    name: "compare without a run before it",
    yaml: `model: m.onnx
stages:
  - load
  - compare:
      expected: {logits: y.npy}
`,
    path: "stages[1]",
    line: 4,
    message: /"compare" needs a "run" stage before it/,
  },
  {
    name: "unknown variable",
    yaml: `vars:
  image: x.npy
model: m.onnx
stages:
  - run:
      inputs:
        image: \${imge}
`,
    path: "stages[0].run.inputs.image",
    line: 7,
    message: /Unknown variable "\$\{imge\}" \(did you mean "image"\?\)/,
  },
  {
    name: "resize with three sizes",
    yaml: `model: m.onnx
stages:
  - run:
      inputs:
        image:
          image: {path: img.png, resize: [1, 2, 3]}
`,
    path: "stages[0].run.inputs.image.image.resize",
    line: 6,
    message: /Expected \[height, width\], got a list of 3/,
  },
  {
    name: "duplicate key",
    yaml: `model: m.onnx
stages:
  - run:
      inputs: {image: x.npy}
      repeat: 2
      repeat: 3
`,
    path: "",
    line: 6,
    message: /Invalid YAML: Map keys must be unique/,
  },
  {
    name: "random range upside down",
    yaml: `model: m.onnx
stages:
  - run:
      inputs:
        image:
          random: {low: 1, high: 0}
`,
    path: "stages[0].run.inputs.image.random.high",
    line: 6,
    message: /"high" \(0\) must be greater than "low" \(1\)/,
  },
  {
    name: "load not first",
    yaml: `model: m.onnx
stages:
  - check
  - load
`,
    path: "stages[1]",
    line: 4,
    message: /"load" must be the first stage/,
  },
  {
    name: "missing data set folder",
    yaml: `model: m.onnx
stages:
  - run:
      test_data_set: 3
`,
    path: "stages[0].run.test_data_set",
    line: 4,
    message: /test_data_set_3 next to the model was not found/,
  },
  {
    name: "outputs folder that is a file",
    yaml: `model: m.onnx
stages:
  - run:
      inputs: {image: x.npy}
      outputs: x.npy
`,
    path: "stages[0].run.outputs",
    line: 5,
    message: /exists and is not a folder/,
  },
  {
    name: "saving over the model",
    yaml: `model: m.onnx
stages:
  - optimize:
      save: ./m.onnx
`,
    path: "stages[0].optimize.save",
    line: 4,
    message: /would overwrite the model/,
  },
  {
    name: "level and passes together",
    yaml: `model: m.onnx
stages:
  - optimize:
      level: all
      passes: [dead-node-elimination]
`,
    path: "stages[0].optimize.passes",
    line: 5,
    message: /either "level" or "passes"/,
  },
  {
    name: "unknown backend value",
    yaml: `model: m.onnx
stages:
  - run:
      inputs: {image: x.npy}
      backend: webgpuu
`,
    path: "stages[0].run.backend",
    line: 5,
    message: /Unknown value "webgpuu" \(did you mean "webgpu"\?\)/,
  },
  {
    name: "compare with no references",
    yaml: `model: m.onnx
stages:
  - run: {inputs: {image: x.npy}}
  - compare: {rtol: 0.01}
`,
    path: "stages[1].compare.expected",
    line: 4,
    message: /Missing required key "expected"/,
  },
  {
    name: "two sources for one input",
    yaml: `model: m.onnx
stages:
  - run:
      inputs:
        image:
          npy: x.npy
          random: {seed: 1}
`,
    path: "stages[0].run.inputs.image",
    line: 6,
    message: /Give only one source, got "npy" and "random"/,
  },
];

Deno.test("config: every invalid file gives a ConfigError with its key path and line", async (t) => {
  const dir = await exampleDir();
  await Deno.writeFile(join(dir, "img.png"), new Uint8Array([1, 2, 3]));
  try {
    for (const c of INVALID) {
      await t.step(c.name, () => {
        let caught: unknown;
        try {
          parseIn(dir, c.yaml);
        } catch (e) {
          caught = e;
        }
        assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
        assert.equal(caught.path ?? "", c.path, caught.message);
        assert.equal(caught.line, c.line, caught.message);
        assert.equal(caught.file, join(dir, "p.yaml"));
        assert.match(caught.message, c.message);
        assert.ok(
          caught.message.startsWith(`${join(dir, "p.yaml")}, line ${c.line}`),
          caught.message,
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: defaults, the implied load and paths relative to the YAML file", async () => {
  const dir = await exampleDir();
  try {
    await Deno.mkdir(join(dir, "sub"));
    const c = parseIn(
      dir,
      `model: ../m.onnx
stages:
  - run: {inputs: {image: ../x.npy}}
  - compare: {expected: {logits: ../y.npy}}
`,
      "sub/p.yaml",
    );
    assert.equal(c.model.source, join(dir, "m.onnx"));
    assert.deepEqual(c.stages.map((s) => s.stage), ["load", "run", "compare"]);
    assert.equal(c.stages[0].index, -1);
    const run = c.stages[1] as RunStage;
    assert.deepEqual(
      { backend: run.backend, warmup: run.warmup, repeat: run.repeat, profile: run.profile },
      { backend: "auto", warmup: 0, repeat: 1, profile: false },
    );
    assert.deepEqual(run.inputs[0].source, {
      kind: "npy",
      path: join(dir, "x.npy"),
      key: "stages[0].run.inputs.image",
    });
    const cmp = c.stages[2] as CompareStage;
    assert.equal(cmp.rtol, 1e-3);
    assert.equal(cmp.atol, 1e-4);
    assert.equal(cmp.equalNan, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: variables, --set overrides and typed lone references", async () => {
  const dir = await exampleDir();
  try {
    const text = `vars:
  name: image
  file: x.npy
  k: 3
model: m.onnx
stages:
  - run:
      inputs:
        \${name}: \${file}
      repeat: \${k}
`;
    Deno.writeTextFileSync(join(dir, "p.yaml"), text);
    const c = parsePipeline(text, { file: join(dir, "p.yaml") });
    const run = c.stages[1] as RunStage;
    assert.equal(run.inputs[0].name, "image");
    assert.equal(run.repeat, 3);
    const over = parsePipeline(text, { file: join(dir, "p.yaml"), vars: { k: "5" } });
    assert.equal((over.stages[1] as RunStage).repeat, 5);
    assert.throws(
      () => parsePipeline(text, { file: join(dir, "p.yaml"), vars: { k: "many" } }),
      (e: unknown) =>
        e instanceof ConfigError && e.path === "stages[0].run.repeat" && e.line === 10,
    );
    assert.throws(
      () => parsePipeline(text, { file: join(dir, "p.yaml"), vars: { fiel: "y.npy" } }),
      (e: unknown) =>
        e instanceof ConfigError && /no variable "fiel" \(did you mean "file"\?\)/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: data set numbers refer to the model folder; compare reuses the run's set", async () => {
  const dir = await exampleDir();
  try {
    await Deno.mkdir(join(dir, "test_data_set_0"));
    await Deno.writeFile(join(dir, "test_data_set_0", "input_0.pb"), new Uint8Array());
    await Deno.writeFile(join(dir, "test_data_set_0", "output_0.pb"), new Uint8Array());
    const c = parseIn(dir, `model: m.onnx\nstages: [{run: {test_data_set: 0}}, compare]\n`);
    const run = c.stages[1] as RunStage;
    const cmp = c.stages[2] as CompareStage;
    assert.equal(run.testDataSet, join(dir, "test_data_set_0"));
    assert.equal(cmp.testDataSet, join(dir, "test_data_set_0"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: checks against the model name the key and line", async () => {
  const dir = await exampleDir();
  try {
    const sig = {
      inputs: [{
        name: "image",
        type: { kind: "tensor" as const, elemType: "float32" as const, shape: ["N", 3, 32, 32] },
      }],
      outputs: [{
        name: "logits",
        type: { kind: "tensor" as const, elemType: "float32" as const },
      }],
    };
    const cases: [string, string, number, RegExp][] = [
      [
        `model: m.onnx\nstages:\n  - run:\n      inputs:\n        imag: x.npy\n`,
        "stages[0].run.inputs.imag",
        5,
        /no input "imag" \(did you mean "image"\?\)/,
      ],
      [
        `model: m.onnx\nstages:\n  - run:\n      inputs:\n        image: {random: {seed: 2}}\n`,
        "stages[0].run.inputs.image.random",
        5,
        /symbol "N": give its size in "dims"/,
      ],
      [
        `model: m.onnx\nstages:\n  - run: {inputs: {image: x.npy}}\n  - compare:\n      expected:\n        logit: y.npy\n`,
        "stages[1].compare.expected.logit",
        6,
        /no output "logit" \(did you mean "logits"\?\)/,
      ],
      [
        `model: m.onnx\nstages:\n  - run:\n      inputs:\n        image:\n          random:\n            dims: {n: 1}\n`,
        "stages[0].run.inputs.image.random.dims.n",
        7,
        /"n" is not a symbolic dimension of "image" \(did you mean "N"\?\); its symbols are "N"/,
      ],
      [
        `model: m.onnx\nstages:\n  - run:\n      inputs: {image: x.npy}\n      topk: {output: scores}\n`,
        "stages[0].run.topk.output",
        5,
        /no output "scores"/,
      ],
    ];
    for (const [yaml, path, line, message] of cases) {
      const c = parseIn(dir, yaml);
      assert.throws(
        () => validateAgainstModel(c, sig),
        (e: unknown) =>
          e instanceof ConfigError && e.path === path && e.line === line && message.test(e.message),
        yaml,
      );
    }
    const ok = parseIn(
      dir,
      `model: m.onnx\nstages:\n  - run:\n      inputs:\n        image: {random: {dims: {N: 2}}}\n`,
    );
    validateAgainstModel(ok, sig);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: file: URLs and URLs as models; options on load are refused", async () => {
  const dir = await exampleDir();
  try {
    const url = new URL(`file://${join(dir, "m.onnx")}`).href;
    const c = parseIn(dir, `model: ${url}\nstages: [load]\n`);
    assert.deepEqual(c.model, { source: join(dir, "m.onnx"), kind: "file", dir });
    const web = parseIn(dir, `model: https://example.com/m.onnx\nstages: [load]\n`);
    assert.deepEqual(web.model, { source: "https://example.com/m.onnx", kind: "url" });
    assert.throws(
      () =>
        parseIn(dir, `model: https://example.com/m.onnx\nstages: [{run: {test_data_set: 0}}]\n`),
      (e: unknown) => e instanceof ConfigError && e.path === "stages[0].run.test_data_set",
    );
    assert.throws(
      () => parseIn(dir, `model: ftp://example.com/m.onnx\nstages: [load]\n`),
      (e: unknown) => e instanceof ConfigError && /Unsupported URL scheme/.test(e.message),
    );
    assert.throws(
      () => parseIn(dir, `model: m.onnx\nstages:\n  - load: {fast: true}\n`),
      (e: unknown) =>
        e instanceof ConfigError && e.path === "stages[0].load.fast" && e.line === 3 &&
        /this map takes no keys/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: closestMatch suggests only likely typos", () => {
  assert.equal(closestMatch("rtoll", ["rtol", "atol"]), "rtol");
  assert.equal(closestMatch("center-crop", ["center_crop", "resize"]), "center_crop");
  assert.equal(closestMatch("zzzzzz", ["rtol", "atol"]), undefined);
});

Deno.test("config: a missing pipeline file is a ConfigError", async () => {
  const { loadPipeline } = await import("../../pipeline/config.ts");
  await assert.rejects(
    () => loadPipeline("/nonexistent/p.yaml"),
    (e: unknown) => e instanceof ConfigError && /file not found/.test(e.message),
  );
});
