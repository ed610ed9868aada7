import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { readNpy } from "../../pipeline/io/npy.ts";
import { buildTinyCnn, buildTinyCnnInput } from "../../examples/make_model.ts";
import { main } from "../../pipeline/cli.ts";
import { EXAMPLE, exampleDir, exists, floatInfo, model, ROOT, writeModel } from "./_helpers.ts";
import { makeGraph, makeNode } from "../../pipeline/load/build.ts";

const CLI = join(ROOT, "pipeline/cli.ts");
const PERMS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

/** Runs the CLI as `deno task run` does, in a child process. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the CLI in-process (faster), capturing its output. */
async function cliInProcess(...args: string[]) {
  const stdout: string[] = [];
  let stderr = "";
  const code = await main(args, {
    stdout: (l) => stdout.push(l),
    stderr: (t) => void (stderr += t),
    tty: false,
  });
  return { code, stdout: stdout.join("\n"), stderr };
}

Deno.test("cli: examples/default.yaml runs end to end and matches onnxruntime", async () => {
  const r = await cli("examples/default.yaml");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /logits +ok +max abs/);
  assert.match(r.stdout, /^compare +ok /m);
  assert.match(r.stdout, /pipeline ok in /);
  assert.match(r.stdout, /removed output_copy \(Identity\)/);
  // Not a terminal: the timed runs announce themselves in one line.
  assert.match(r.stderr, /^run: 1 warmup \+ 5 timed run\(s\)…$/m);
});

Deno.test("cli: --json prints only the report, with its documented shape", async () => {
  const r = await cli("--json", "examples/default.yaml");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(report).sort(), ["exitCode", "ok", "pipeline", "stages", "totalMs"]);
  assert.equal(report.ok, true);
  assert.equal(report.pipeline.name, "tiny-cnn");
  assert.deepEqual(
    report.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`),
    ["load:ok", "check:ok", "optimize:ok", "run:ok", "compare:ok"],
  );
  for (const s of report.stages) {
    assert.deepEqual(Object.keys(s).sort(), [
      "details",
      "index",
      "lines",
      "ms",
      "stage",
      "status",
      "summary",
    ]);
    assert.equal(typeof s.ms, "number");
  }
  assert.equal(report.stages[0].details.nodes, 11);
  assert.equal(report.stages[2].details.after.nodes, 8);
  assert.equal(report.stages[4].details.outputs[0].ok, true);
});

Deno.test("cli: exit codes 1 (mismatch), 2 (config), 3 (runtime) with one line on stderr", async () => {
  const dir = await exampleDir();
  try {
    await Deno.writeTextFile(
      join(dir, "mismatch.yaml"),
      `model: m.onnx
stages:
  - run: {inputs: {image: x.npy}}
  - compare:
      atol: 0
      rtol: 0
      expected: {logits: {value: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}}
`,
    );
    const mismatch = await cli(join(dir, "mismatch.yaml"));
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stdout, /MISMATCH/);
    assert.match(mismatch.stdout, /pipeline failed \(exit code 1\)/);
    assert.match(mismatch.stderr.trim().split("\n").at(-1)!, /^error: compare failed/);

    await Deno.writeTextFile(join(dir, "typo.yaml"), `model: m.onnx\nstages:\n  - chek\n`);
    const typo = await cli(join(dir, "typo.yaml"));
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "");
    assert.equal(
      typo.stderr,
      `error: ConfigError: ${
        join(dir, "typo.yaml")
      }, line 3, stages[0]: Unknown stage "chek" (did you mean "check"?); stages are load, check, optimize, run, compare, report\n`,
    );

    await writeModel(
      dir,
      "u.onnx",
      model(
        makeGraph({
          node: [makeNode("FancyOp", ["x"], ["y"], [], { name: "fancy", domain: "" })],
          input: [floatInfo("x", [1])],
          output: [floatInfo("y", [1])],
        }),
      ),
    );
    await Deno.writeTextFile(
      join(dir, "unsupported.yaml"),
      `model: u.onnx\nstages: [{run: {inputs: {x: {value: [1]}}}}]\n`,
    );
    const unsupported = await cli(join(dir, "unsupported.yaml"));
    assert.equal(unsupported.code, 3);
    assert.match(unsupported.stderr, /^error: UnsupportedError: .*FancyOp/m);

    const json = await cli("--json", join(dir, "typo.yaml"));
    assert.equal(json.code, 2);
    const report = JSON.parse(json.stdout);
    assert.equal(report.exitCode, 2);
    assert.deepEqual(report.error, {
      type: "ConfigError",
      message: `${
        join(dir, "typo.yaml")
      }, line 3, stages[0]: Unknown stage "chek" (did you mean "check"?); stages are load, check, optimize, run, compare, report`,
      path: "stages[0]",
      line: 3,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: usage errors are exit code 2; --help and --list-passes exit 0", async () => {
  const unknown = await cliInProcess("--fast", "examples/default.yaml");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: Unknown option "--fast"/);
  const none = await cliInProcess();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: no pipeline file given/);
  const two = await cliInProcess("a.yaml", "b.yaml");
  assert.equal(two.code, 2);
  const missing = await cliInProcess("/nonexistent/pipeline.yaml");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot read the pipeline file: file not found/);
  const help = await cliInProcess("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task run/);
  const passes = await cliInProcess("--list-passes");
  assert.equal(passes.code, 0);
  assert.match(passes.stdout, /^dead-node-elimination +basic/m);
  const badSet = await cliInProcess("--set", "novalue", "examples/default.yaml");
  assert.equal(badSet.code, 2);
});

Deno.test("cli: --validate and --model on the example pipelines", async () => {
  for (const file of ["default.yaml", "optimize_and_save.yaml"]) {
    const r = await cliInProcess("--validate", "-q", join(ROOT, "examples", file));
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    assert.match(r.stdout, /^load +ok/m);
  }
  const dir = await exampleDir();
  try {
    const r = await cliInProcess(
      "--model",
      join(dir, "m.onnx"),
      join(ROOT, "examples/default.yaml"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`model ${join(dir, "m.onnx")}`));
    const missing = await cliInProcess("--model", join(dir, "nope.onnx"), "examples/default.yaml");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /\(from --model\) was not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples: the committed tiny CNN and its input are what make_model.ts builds", async () => {
  assert.deepEqual(await Deno.readFile(EXAMPLE.model), encodeModel(buildTinyCnn()));
  const input = readNpy(await Deno.readFile(EXAMPLE.input));
  assert.deepEqual([...input.data as Float32Array], [...buildTinyCnnInput().data as Float32Array]);
  assert.ok((await Deno.stat(EXAMPLE.model)).size < 1 << 20);
});

const SHARED = join(ROOT, "../shared");
const havePretrained = exists(join(SHARED, "pretrained/mobilenetv2_float/model.onnx"));
const haveModels = exists(join(SHARED, "models/squeezenet1_1/model.onnx"));
const haveMnist = exists(join(SHARED, "pretrained/mnist/model.onnx"));
if (!havePretrained) console.log(`skipping classify.yaml: ${SHARED}/pretrained is absent`);
if (!haveModels) console.log(`skipping shared_model.yaml: ${SHARED}/models is absent`);

Deno.test({
  name: "examples: classify.yaml says Samoyed for the dog",
  ignore: !havePretrained,
  fn: async () => {
    const r = await cliInProcess("-q", join(ROOT, "examples/classify.yaml"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {3}1\. #258 +Samoyed +p=0\.7\d+/m);
  },
});

Deno.test({
  name: "examples: mnist.yaml reads each digit",
  ignore: !haveMnist,
  fn: async () => {
    for (const digit of [0, 3, 5, 7]) {
      const r = await cliInProcess(
        "-q",
        "--set",
        `digit=${digit}`,
        join(ROOT, "examples/mnist.yaml"),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^ {3}1\\. #${digit} +p=`, "m"));
    }
  },
});

Deno.test({
  name: "examples: shared_model.yaml matches test_data_set_0 and _1 of a shared model",
  ignore: !haveModels,
  fn: async () => {
    const r = await cliInProcess("-q", "--json", join(ROOT, "examples/shared_model.yaml"));
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const compares = report.stages.filter((s: { stage: string }) => s.stage === "compare");
    assert.equal(compares.length, 2);
    for (const c of compares) {
      assert.equal(c.status, "ok");
      assert.deepEqual([c.details.rtol, c.details.atol], [1e-3, 1e-4]);
    }
  },
});
