/**
 * The pipelines of examples/ against every model in ../shared: each model in
 * ../shared/models matches both stored data sets, each float pretrained model matches its
 * test_data_set_0 (rtol 1e-3, atol 1e-4), through load → check → optimize → run → compare.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePipeline } from "../../pipeline/config.ts";
import { exists, ROOT, runCaptured } from "./_helpers.ts";
import { SHARED } from "../_shared_root.ts";

const CASES: [string, string][] = [
  ...["resnet18", "mobilenet_v2", "squeezenet1_1", "tiny_bert", "lstm"].map((
    m,
  ): [string, string] => ["shared_model.yaml", `models/${m}`]),
  ...["mnist", "mnist_opset7", "mobilenetv2_float", "mobilenetv2_int8w_floatact"].map((
    m,
  ): [string, string] => ["pretrained_model.yaml", `pretrained/${m}`]),
];

for (const [pipeline, model] of CASES) {
  const present = exists(join(SHARED, model, "model.onnx"));
  if (!present) console.log(`Skipping ${pipeline} on ${model}: ${SHARED}/${model} is absent`);
  Deno.test({
    name: `examples/${pipeline} on ${model}: every compare passes`,
    ignore: !present,
    fn: async () => {
      const file = join(ROOT, "examples", pipeline);
      const config = parsePipeline(await Deno.readTextFile(file), {
        file,
        vars: { model: `../../shared/${model}/model.onnx` },
      });
      const { report, stdout } = await runCaptured(config);
      assert.equal(report.exitCode, 0, stdout.join("\n"));
      const compares = report.stages.filter((s) => s.stage === "compare");
      assert.equal(compares.length, pipeline === "shared_model.yaml" ? 2 : 1);
      for (const c of compares) assert.equal(c.status, "ok", stdout.join("\n"));
    },
  });
}
