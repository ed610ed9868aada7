/**
 * The pipeline's `optimize` stage with the graph passes: what it prints (changes, node counts
 * by op type, parameter bytes, the output difference on the next run's inputs) and that the
 * later stages run the optimized model.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { exampleDir, parseIn, runCaptured } from "../pipeline/_helpers.ts";

Deno.test("optimize stage: level all reports its changes and the output difference on the run's inputs", async () => {
  const dir = await exampleDir();
  try {
    const config = parseIn(
      dir,
      `
model: m.onnx
stages:
  - optimize: { level: all, save: out/opt.onnx }
  - run: { inputs: { image: x.npy } }
  - compare: { expected: { logits: y.npy }, rtol: 1e-3, atol: 1e-4 }
`,
    );
    const { report, stdout } = await runCaptured(config);
    assert.equal(report.exitCode, 0, stdout.join("\n"));
    const text = stdout.join("\n");
    assert.match(text, /conv-activation-fusion: \d+ change\(s\)/);
    assert.match(text, /com\.microsoft\.FusedConv: 0 → \d+/);
    assert.match(text, /parameters: .* → /);
    assert.match(text, /output difference from the unoptimized model on the inputs of stages\[1\]/);
    assert.match(text, /logits: max abs error (0|\d\.\d\de-\d+) /);
    const stage = report.stages.find((s) => s.stage === "optimize")!;
    const diffs = stage.details.outputDifferences as { name: string; maxAbsError: number }[];
    assert.equal(diffs.length, 1);
    assert.ok(diffs[0].maxAbsError < 1e-4);
    assert.ok(Deno.statSync(join(dir, "out/opt.onnx")).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("optimize stage: without a later run stage no difference is measured or mentioned", async () => {
  const dir = await exampleDir();
  try {
    const config = parseIn(dir, "model: m.onnx\nstages:\n  - optimize: { level: extended }\n");
    const { report, stdout } = await runCaptured(config);
    assert.equal(report.exitCode, 0);
    assert.doesNotMatch(stdout.join("\n"), /output difference/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
