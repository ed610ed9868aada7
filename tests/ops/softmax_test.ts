/**
 * Hand-checked tests of ops/softmax.ts: the 2-D coercion of versions 1/11 versus the
 * single-axis semantics of version 13, numerical stability, Hardmax ties, float16 output,
 * and LpNormalization with p = 1 and zero slices.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { f32, runTensor } from "./_op_harness.ts";
import { intAttr } from "../../pipeline/load/build.ts";

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `element ${i}: ${actual[i]} != ${expected[i]}`,
    );
  }
}

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

Deno.test("Softmax-11 coerces to 2-D at axis; Softmax-13 normalizes one axis", async () => {
  const x = f32([1, 2, 3, 4], [2, 2]);
  // axis 0 at version 11: one row of all four values.
  const y11 = await runTensor("Softmax", 11, [x], [intAttr("axis", 0)]);
  close(y11.data as Float32Array, softmax([1, 2, 3, 4]));
  // axis 0 at version 13: each column separately.
  const y13 = await runTensor("Softmax", 13, [x], [intAttr("axis", 0)]);
  const c0 = softmax([1, 3]), c1 = softmax([2, 4]);
  close(y13.data as Float32Array, [c0[0], c1[0], c0[1], c1[1]]);
  // Default axis: 1 for version 1 (rows of the 2-D view), -1 for 13.
  const x3 = f32([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]);
  const d1 = await runTensor("Softmax", 1, [x3]);
  close(d1.data as Float32Array, [...softmax([0, 1, 2, 3]), ...softmax([4, 5, 6, 7])]);
  const d13 = await runTensor("Softmax", 13, [x3]);
  close(d13.data as Float32Array, [0, 1, 2, 3].flatMap((r) => softmax([2 * r, 2 * r + 1])));
});

Deno.test("LogSoftmax stays finite for large inputs", async () => {
  const y = await runTensor("LogSoftmax", 13, [f32([10000, 10001, 10002])]);
  const ls = Math.log(1 + Math.exp(-1) + Math.exp(-2));
  close(y.data as Float32Array, [-2 - ls, -1 - ls, -ls]);
});

Deno.test("Hardmax picks the first maximum; version 11 flattens at axis", async () => {
  const x = f32([3, 1, 3, 2, 2, 0], [2, 3]);
  const y = await runTensor("Hardmax", 13, [x]);
  close(y.data as Float32Array, [1, 0, 0, 1, 0, 0]);
  const y0 = await runTensor("Hardmax", 13, [x], [intAttr("axis", 0)]);
  close(y0.data as Float32Array, [1, 0, 1, 0, 1, 0]);
  const y11 = await runTensor("Hardmax", 11, [x], [intAttr("axis", 0)]);
  close(y11.data as Float32Array, [1, 0, 0, 0, 0, 0]);
});

Deno.test("Softmax keeps float16 as its output type", async () => {
  const h = Float16Array.from([0, 0]);
  const y = await runTensor("Softmax", 13, [new Tensor("float16", new Uint16Array(h.buffer), [2])]);
  assert.equal(y.type, "float16");
  assert.deepEqual(Array.from(new Float16Array((y.data as Uint16Array).buffer)), [0.5, 0.5]);
});

Deno.test("LpNormalization with p = 1 and p = 2; zero slices stay zero", async () => {
  const x = f32([3, 0, -4, 0], [2, 2]);
  const l2 = await runTensor("LpNormalization", 22, [x], [intAttr("axis", 0)]);
  close(l2.data as Float32Array, [0.6, 0, -0.8, 0]);
  const l1 = await runTensor("LpNormalization", 1, [f32([1, -3, 2, 2], [2, 2])], [intAttr("p", 1)]);
  close(l1.data as Float32Array, [0.25, -0.75, 0.5, 0.5]);
});
