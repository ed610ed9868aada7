/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss on hand-computed values beyond the
 * ONNX backend suite: int32 targets, weighted mean, ignore_index everywhere, float16, errors.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { numbersOf } from "../../ops/util.ts";
import { assertClose, f32 } from "./_op_harness.ts";
import { runNode } from "./_session_run.ts";

function values(t: Tensor | undefined): number[] {
  assert.ok(t, "missing output");
  return Array.from(numbersOf(t));
}

Deno.test("NegativeLogLikelihoodLoss: weighted mean with int32 targets", async () => {
  const input = f32([-1, -2, -3, -4], [2, 2]);
  const target = new Tensor("int32", Int32Array.from([1, 0]), [2]);
  const weight = f32([2, 3], [2]);
  // (-(-2)*3 + -(-3)*2) / (3 + 2)
  const [mean] = await runNode("NegativeLogLikelihoodLoss", [input, target, weight], { opset: 13 });
  assert.deepEqual(mean!.dims, []);
  assertClose(values(mean), [12 / 5]);
  const [none] = await runNode("NegativeLogLikelihoodLoss", [input, target, weight], {
    opset: 22,
    attrs: { reduction: { s: "none" } },
  });
  assertClose(values(none), [6, 6]);
});

Deno.test("NegativeLogLikelihoodLoss: [N, C, d] input with ignore_index and sum", async () => {
  // N=1, C=2, d=3: input[0, c, j]
  const input = f32([-1, -2, -3, -4, -5, -6], [1, 2, 3]);
  const target = new Tensor("int64", BigInt64Array.from([0n, 1n, -1n]), [1, 3]);
  const [sum] = await runNode("NegativeLogLikelihoodLoss", [input, target], {
    opset: 13,
    attrs: { reduction: { s: "sum" }, ignore_index: { i: -1 } },
  });
  assertClose(values(sum), [1 + 5]);
  const [mean] = await runNode("NegativeLogLikelihoodLoss", [input, target], {
    opset: 13,
    attrs: { ignore_index: { i: -1 } },
  });
  assertClose(values(mean), [3]);
});

Deno.test("NegativeLogLikelihoodLoss: a target outside [0, C) is an error", async () => {
  const input = f32([-1, -2], [1, 2]);
  const target = new Tensor("int64", BigInt64Array.from([2n]), [1]);
  await assert.rejects(
    () => runNode("NegativeLogLikelihoodLoss", [input, target], { opset: 13 }),
    /outside \[0, 2\)/,
  );
});

Deno.test("SoftmaxCrossEntropyLoss: log_prob and loss by hand, float16 too", async () => {
  const scores = [1, 2, 3, 0, 0, 0];
  const labels = new Tensor("int64", BigInt64Array.from([2n, 0n]), [2]);
  const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const lse1 = Math.log(3);
  const logp = [1 - lse0, 2 - lse0, 3 - lse0, -lse1, -lse1, -lse1];
  const [loss, lp] = await runNode("SoftmaxCrossEntropyLoss", [f32(scores, [2, 3]), labels], {
    opset: 13,
    outputs: 2,
  });
  assertClose(values(lp), logp);
  assertClose(values(loss), [(-(3 - lse0) + lse1) / 2]);
  const half = new Tensor("float16", new Uint16Array(new Float16Array(scores).buffer), [2, 3]);
  const [l16] = await runNode("SoftmaxCrossEntropyLoss", [half, labels], { opset: 13 });
  assert.equal(l16!.type, "float16");
  assertClose(values(l16), [(-(3 - lse0) + lse1) / 2], { rtol: 1e-3 });
});

Deno.test("SoftmaxCrossEntropyLoss: every label ignored sums to zero", async () => {
  const labels = new Tensor("int32", Int32Array.from([4, 4]), [2]);
  const [loss] = await runNode("SoftmaxCrossEntropyLoss", [f32([1, 2, 3, 4], [2, 2]), labels], {
    opset: 13,
    attrs: { reduction: { s: "sum" }, ignore_index: { i: 4 } },
  });
  assertClose(values(loss), [0]);
});
