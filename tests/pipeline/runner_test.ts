import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "npm:fast-png@8.0.0";
import type { Finding } from "../../pipeline/errors.ts";
import { readNpy, writeNpy } from "../../pipeline/io/npy.ts";
import { tensorFromJson } from "../../pipeline/io/json.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { Tensor, toNumbers } from "../../pipeline/tensor/tensor.ts";
import { randomTensor } from "../../pipeline/stages/inputs.ts";
import type { CheckModelFn } from "../../pipeline/stages/check.ts";
import {
  exampleDir,
  exists,
  floatInfo,
  listFiles,
  model,
  parseIn,
  ROOT,
  runCaptured,
  writeModel,
} from "./_helpers.ts";
import { makeGraph, makeNode, makeValueInfo } from "../../pipeline/load/build.ts";

const okChecker = () => ({ ok: true, findings: [] as Finding[] });

Deno.test("runner: the example CNN end to end, with outputs in three formats", async () => {
  const dir = await exampleDir();
  try {
    const config = parseIn(
      dir,
      `name: e2e
model: m.onnx
stages:
  - load
  - check
  - optimize: {save: out/opt.onnx}
  - run:
      inputs: {image: x.npy}
      warmup: 1
      repeat: 3
      outputs: out/npy
  - compare:
      expected: {logits: y.npy}
  - run:
      inputs: {image: {npy: x.npy}}
      outputs: {dir: out/pb, format: pb}
  - run:
      inputs: {image: x.npy}
      outputs: {dir: out/json, format: json}
  - report: {path: out/report.json}
`,
    );
    const { report, stdout } = await runCaptured(config, { checker: okChecker });
    assert.equal(report.exitCode, 0, stdout.join("\n"));
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.stages.map((s) => [s.stage, s.status]),
      [
        ["load", "ok"],
        ["check", "ok"],
        ["optimize", "ok"],
        ["run", "ok"],
        ["compare", "ok"],
        ["run", "ok"],
        ["run", "ok"],
        ["report", "ok"],
      ],
    );
    assert.deepEqual(listFiles(join(dir, "out")), [
      "json/logits.json",
      "npy/logits.npy",
      "opt.onnx",
      "pb/logits.pb",
      "report.json",
    ]);
    const expected = readNpy(await Deno.readFile(join(dir, "y.npy")));
    const written = [
      readNpy(await Deno.readFile(join(dir, "out/npy/logits.npy"))),
      decodeValueFile(await Deno.readFile(join(dir, "out/pb/logits.pb"))) as Tensor,
      tensorFromJson(JSON.parse(await Deno.readTextFile(join(dir, "out/json/logits.json")))),
    ];
    for (const t of written) {
      assert.deepEqual(t.dims, [1, 10]);
      const e = toNumbers(expected);
      toNumbers(t).forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= 1e-4 + 1e-3 * Math.abs(e[i])));
    }
    const cmp = report.stages[4].details as { outputs: { name: string; maxAbsError: number }[] };
    assert.equal(cmp.outputs[0].name, "logits");
    assert.ok(cmp.outputs[0].maxAbsError < 1e-4);
    const timing = (report.stages[3].details as { timing: { repeat: number; warmup: number } })
      .timing;
    assert.deepEqual([timing.warmup, timing.repeat], [1, 3]);
    assert.ok(stdout.some((l) => /^ {2}logits +ok +max abs /.test(l)), stdout.join("\n"));
    assert.ok(stdout.some((l) => l.startsWith("pipeline ok in ")));
    const saved = JSON.parse(await Deno.readTextFile(join(dir, "out/report.json")));
    assert.equal(saved.stages.length, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: a failing compare gives exit code 1 after the later stages and the summary", async () => {
  const dir = await exampleDir();
  try {
    const config = parseIn(
      dir,
      `model: m.onnx
stages:
  - run: {inputs: {image: x.npy}}
  - compare:
      expected:
        logits:
          value: [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
  - compare:
      expected: {logits: y.npy}
`,
    );
    const { report, stdout } = await runCaptured(config);
    assert.equal(report.exitCode, 1);
    assert.equal(report.error, undefined);
    assert.deepEqual(report.stages.map((s) => s.status), ["ok", "ok", "failed", "ok"]);
    const failed = report.stages[2].details as {
      outputs: { ok: boolean; maxAbsError: number; mismatched: number }[];
    };
    const e = toNumbers(readNpy(await Deno.readFile(join(dir, "y.npy"))));
    // Against zeros, the largest absolute error is the largest |logit| (ours ≈ onnxruntime's).
    assert.ok(Math.abs(failed.outputs[0].maxAbsError - Math.max(...[...e].map(Math.abs))) < 1e-5);
    assert.equal(failed.outputs[0].mismatched, 10);
    const mismatchLine = stdout.findIndex((l) => l.includes("MISMATCH"));
    const tableLine = stdout.findIndex((l) => l.startsWith("stage "));
    assert.ok(mismatchLine >= 0 && tableLine > mismatchLine);
    assert.match(stdout[stdout.length - 1], /^pipeline failed \(exit code 1\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: check errors give exit code 1 and stop unless stop_on_error is false", async () => {
  const dir = await exampleDir();
  const bad = () => ({
    ok: false,
    findings: [{ severity: "error" as const, code: "test", message: "Broken", node: "conv1" }],
  });
  try {
    const stop = parseIn(dir, `model: m.onnx\nstages: [check, {run: {inputs: {image: x.npy}}}]\n`);
    const a = await runCaptured(stop, { checker: bad });
    assert.equal(a.report.exitCode, 1);
    assert.deepEqual(a.report.stages.map((s) => s.status), ["ok", "failed", "not run"]);
    assert.ok(a.stdout.some((l) => l.includes("error [test]: node conv1: Broken")));
    const go = parseIn(
      dir,
      `model: m.onnx\nstages: [{check: {stop_on_error: false}}, {run: {inputs: {image: x.npy}}}]\n`,
    );
    const b = await runCaptured(go, { checker: bad });
    assert.equal(b.report.exitCode, 1);
    assert.deepEqual(b.report.stages.map((s) => s.status), ["ok", "failed", "ok"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: an unsupported op gives exit code 3 naming the node", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeModel(
      dir,
      "u.onnx",
      model(
        makeGraph({
          node: [makeNode("NoSuchOp", ["x"], ["y"], [], { name: "mystery" })],
          input: [floatInfo("x", [2])],
          output: [floatInfo("y", [2])],
        }),
      ),
    );
    const config = parseIn(dir, `model: u.onnx\nstages: [{run: {inputs: {x: {value: [1, 2]}}}}]\n`);
    const { report } = await runCaptured(config);
    assert.equal(report.exitCode, 3);
    assert.equal(report.error?.type, "UnsupportedError");
    assert.equal(report.error?.node, "mystery");
    assert.equal(report.error?.opType, "NoSuchOp");
    assert.deepEqual(report.stages.map((s) => s.status), ["ok", "error"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: a bad input file stops the pipeline before anything is written", async () => {
  const dir = await exampleDir();
  try {
    await Deno.writeFile(join(dir, "junk.npy"), new TextEncoder().encode("not numpy"));
    const config = parseIn(
      dir,
      `model: m.onnx
stages:
  - optimize: {save: out/opt.onnx}
  - run:
      inputs: {image: x.npy}
      outputs: out/first
  - run:
      inputs:
        image:
          npy: junk.npy
`,
    );
    const { report } = await runCaptured(config);
    assert.equal(report.exitCode, 2);
    assert.equal(report.error?.type, "ConfigError");
    assert.equal(report.error?.path, "stages[2].run.inputs.image.npy");
    assert.equal(report.error?.line, 10);
    assert.match(report.error!.message, /Invalid \.npy file/);
    assert.deepEqual(report.stages.map((s) => s.status), ["ok", "not run", "not run", "error"]);
    assert.equal(exists(join(dir, "out")), false);

    // A readable file of the wrong shape is caught before the stages run too.
    await Deno.writeFile(
      join(dir, "small.npy"),
      writeNpy(new Tensor("float32", new Float32Array(3 * 16 * 16), [1, 3, 16, 16])),
    );
    const shape = parseIn(
      dir,
      `model: m.onnx
stages:
  - optimize: {save: out/opt.onnx}
  - run: {inputs: {image: x.npy}}
  - run: {inputs: {image: small.npy}}
`,
    );
    const second = await runCaptured(shape);
    assert.equal(second.report.exitCode, 2);
    assert.equal(second.report.error?.path, "stages[2].run.inputs.image");
    assert.equal(second.report.error?.line, 5);
    assert.match(
      second.report.error!.message,
      /Input "image" is float32\[1,3,16,16\] but the model declares float32\[N,3,32,32\]: dimension 2 differs/,
    );
    assert.equal(exists(join(dir, "out")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: random, inline JSON and image inputs reach the model as specified", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeModel(
      dir,
      "id.onnx",
      model(makeGraph({
        node: [
          makeNode("Identity", ["img"], ["img_out"]),
          makeNode("Identity", ["ids"], ["ids_out"]),
          makeNode("Identity", ["noise"], ["noise_out"]),
        ],
        input: [
          floatInfo("img", [1, 2, 4, "C"]),
          makeValueInfo("ids", "int64", ["B", 2]),
          floatInfo("noise", ["B", 3]),
        ],
        output: [floatInfo("img_out"), floatInfo("ids_out"), floatInfo("noise_out")],
      })),
    );
    // A 4x2 RGB PNG whose pixel values are known.
    const pixels = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => i * 10);
    await Deno.writeFile(
      join(dir, "px.png"),
      encodePng({ width: 4, height: 2, data: pixels, channels: 3, depth: 8 }),
    );
    const config = parseIn(
      dir,
      `model: id.onnx
stages:
  - run:
      inputs:
        img:
          image: {path: px.png, mean: [0.5, 0.25, 0], std: [0.5, 1, 2], layout: NHWC}
        ids:
          json: {type: int64, dims: [2, 2], data: [1, "9007199254740993", -3, 4]}
        noise:
          random: {seed: 11, low: -2, high: 2, dims: {B: 2}}
      outputs: {dir: out, format: json}
`,
    );
    const { report } = await runCaptured(config);
    assert.equal(report.exitCode, 0, JSON.stringify(report.error));
    const read = async (n: string) =>
      tensorFromJson(JSON.parse(await Deno.readTextFile(join(dir, "out", `${n}.json`))));
    const img = await read("img_out");
    assert.deepEqual(img.dims, [1, 2, 4, 3]);
    const mean = [0.5, 0.25, 0];
    const std = [0.5, 1, 2];
    const want = Array.from(
      pixels,
      (p, i) => Math.fround(Math.fround(Math.fround(p / 255) - mean[i % 3]) / std[i % 3]),
    );
    assert.deepEqual([...(img.data as Float32Array)], want);
    const ids = await read("ids_out");
    assert.equal(ids.type, "int64");
    assert.deepEqual([...(ids.data as BigInt64Array)], [1n, 9007199254740993n, -3n, 4n]);
    const noise = await read("noise_out");
    assert.deepEqual(noise.dims, [2, 3]);
    const again = randomTensor("float32", [2, 3], { seed: 11, low: -2, high: 2 }) as Tensor;
    assert.deepEqual([...noise.data as Float32Array], [...again.data as Float32Array]);
    for (const v of noise.data as Float32Array) assert.ok(v >= -2 && v < 2);
    const ints = randomTensor("int32", [1000], { seed: 3, low: 5, high: 8 }) as Tensor;
    assert.deepEqual(new Set(ints.data as Int32Array), new Set([5, 6, 7]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: validateOnly loads and reads inputs but runs nothing else", async () => {
  const dir = await exampleDir();
  try {
    const config = parseIn(
      dir,
      `model: m.onnx\nstages: [{optimize: {save: o.onnx}}, {run: {inputs: {image: x.npy}}}]\n`,
    );
    const { report } = await runCaptured(config, { validateOnly: true });
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stages.map((s) => s.status), ["ok", "not run", "not run"]);
    assert.equal(exists(join(dir, "o.onnx")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: the real checker plugs into the check stage and fails a broken model", async () => {
  const { checkModel } = await import("../../pipeline/check/checker.ts");
  const asStage: CheckModelFn = checkModel;
  const dir = await Deno.makeTempDir();
  try {
    await writeModel(
      dir,
      "bad.onnx",
      model(
        makeGraph({
          node: [makeNode("Add", ["x", "ghost"], ["y"], [], { name: "add" })],
          input: [floatInfo("x", [2])],
          output: [floatInfo("y", [2])],
        }),
      ),
    );
    const config = parseIn(
      dir,
      `model: bad.onnx\nstages: [check, {run: {inputs: {x: {value: [1, 2]}}}}]\n`,
    );
    const { report, stdout } = await runCaptured(config, { checker: asStage });
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.stages.map((s) => s.status), ["ok", "failed", "not run"]);
    const details = report.stages[1].details as { errors: number };
    assert.ok(details.errors >= 1);
    assert.ok(
      stdout.some((l) => l.includes("node add (Add)") && l.includes("ghost")),
      stdout.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const NODE_TESTS = join(ROOT, "../shared/onnx-backend/node");
const haveNodeTests = exists(join(NODE_TESTS, "test_add/model.onnx"));
if (!haveNodeTests) {
  console.log(`skipping the backend-suite pipeline test: ${NODE_TESTS} is absent`);
}

Deno.test({
  name: "runner: an ONNX backend test folder feeds the run and the compare",
  ignore: !haveNodeTests,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const config = parseIn(
        dir,
        `model: ${NODE_TESTS}/test_add/model.onnx
stages:
  - run: {test_data_set: 0}
  - compare: {rtol: 1e-3, atol: 1e-7}
`,
      );
      const { report } = await runCaptured(config);
      assert.equal(report.exitCode, 0, JSON.stringify(report.stages));
      const details = report.stages[2].details as { outputs: { name: string; total: number }[] };
      assert.deepEqual(details.outputs.map((o) => [o.name, o.total]), [["sum", 60]]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
