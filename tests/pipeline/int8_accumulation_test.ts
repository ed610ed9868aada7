/**
 * The `run` stage's `int8_accumulation` option: validation, and examples/pretrained_int8.yaml
 * end to end on both quantized MobileNetV2 models of ../shared/pretrained (their stored
 * references come from onnxruntime on an x86 CPU without VNNI).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePipeline, type RunStage } from "../../pipeline/config.ts";
import { ConfigError } from "../../pipeline/errors.ts";
import { exampleDir, exists, parseIn, ROOT, runCaptured } from "./_helpers.ts";
import { SHARED } from "../_shared_root.ts";

const PRETRAINED = `${SHARED}/pretrained`;
const MODELS = ["mobilenetv2_int8_stdops", "mobilenetv2_int8"];
const haveAll = MODELS.every((m) => exists(join(PRETRAINED, m, "model.onnx")));
if (!haveAll) {
  console.log(`Skipping examples/pretrained_int8.yaml runs: ${PRETRAINED} is not available`);
}

Deno.test("config: run.int8_accumulation is read and validated", async () => {
  const dir = await exampleDir();
  try {
    const yaml = (v?: string) =>
      `model: m.onnx\nstages:\n  - run:\n      inputs: {image: x.npy}\n` +
      (v ? `      int8_accumulation: ${v}\n` : "");
    const run = (c: { stages: unknown[] }) => c.stages.find((s) => (s as RunStage).stage === "run");
    assert.equal((run(parseIn(dir, yaml())) as RunStage).int8Accumulation, undefined);
    assert.equal((run(parseIn(dir, yaml("exact"))) as RunStage).int8Accumulation, "exact");
    assert.equal((run(parseIn(dir, yaml("x86-u8s8"))) as RunStage).int8Accumulation, "x86-u8s8");
    assert.throws(() => parseIn(dir, yaml("x86_u8s8")), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.path, "stages[0].run.int8_accumulation");
      assert.equal(e.line, 5);
      assert.match(e.message, /Unknown value "x86_u8s8" \(did you mean "x86-u8s8"\?\)/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const m of MODELS) {
  Deno.test({
    name: `examples/pretrained_int8.yaml on ${m}: x86-u8s8 matches the reference, Samoyed`,
    ignore: !haveAll,
    fn: async () => {
      const file = join(ROOT, "examples/pretrained_int8.yaml");
      const config = parsePipeline(await Deno.readTextFile(file), {
        file,
        vars: { model: `../../shared/pretrained/${m}/model.onnx` },
      });
      const { report, stdout } = await runCaptured(config);
      assert.equal(report.exitCode, 0, stdout.join("\n"));
      const runs = report.stages.filter((s) => s.stage === "run");
      assert.equal(runs.length, 2);
      for (const r of runs) assert.match(r.summary ?? "", /top-1 Samoyed/);
      const cmp = report.stages.find((s) => s.stage === "compare")!;
      assert.equal(cmp.status, "ok");
      assert.match(cmp.summary ?? "", /max abs 0$/);
      assert.ok(stdout.some((l) => /1\. #258 +Samoyed/.test(l)));
    },
  });
}
