/**
 * Tests of the float32 fast paths of the elementwise kernels through whole nodes: Erf (table
 * interpolation) within a float32 ulp of the float64 series, Relu/Clip special values, and
 * broadcast arithmetic (bias over the last axis, per-channel) against hand-computed values.
 */

import assert from "node:assert/strict";
import { erf } from "../../ops/elementwise.ts";
import { f32, randomValues } from "./_op_harness.ts";
import { runNode } from "./_session_run.ts";

Deno.test("Erf float32: within one float32 ulp of the float64 definition, specials exact", async () => {
  const xs = [0, -0, 1e-30, -1e-8, 0.5, -1, 2.4999, 2.5, 5.99, 6, -7, Infinity, -Infinity, NaN];
  for (const v of randomValues(20000, 3)) xs.push(v * 6.5);
  const [y] = await runNode("Erf", [f32(xs, [xs.length])]);
  const d = y!.data as Float32Array;
  for (let i = 0; i < xs.length; i++) {
    const x = Math.fround(xs[i]);
    const e = Math.fround(erf(x));
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(d[i]));
      continue;
    }
    const ulp = Math.max(Math.abs(e) * 2 ** -23, 2 ** -149);
    assert.ok(Math.abs(d[i] - e) <= ulp, `erf(${x}) = ${d[i]}, expected ${e}`);
  }
  assert.ok(Object.is(d[1], -0));
  assert.deepEqual([...d.slice(11, 13)], [1, -1]);
});

Deno.test("Relu and Clip float32: NaN stays NaN, −0 and bounds as the scalar definition", async () => {
  const xs = [NaN, -0, 0, -2, 2, 7, -Infinity, Infinity];
  const [r] = await runNode("Relu", [f32(xs, [8])]);
  assert.deepEqual([...(r!.data as Float32Array)], [NaN, 0, 0, 0, 2, 7, 0, Infinity]);
  const [c] = await runNode("Clip", [f32(xs, [8]), f32([0], []), f32([6], [])]);
  assert.deepEqual([...(c!.data as Float32Array)], [NaN, -0, 0, 0, 2, 6, 0, 6]);
});

Deno.test("Add/Sub/Mul/Div float32 with bias and per-channel broadcasting", async () => {
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 2, 3]);
  const [add] = await runNode("Add", [x, f32([10, 20, 30], [3])]);
  assert.deepEqual(
    [...(add!.data as Float32Array)],
    [11, 22, 33, 14, 25, 36, 17, 28, 39, 20, 31, 42],
  );
  const [sub] = await runNode("Sub", [x, f32([1, 2], [1, 2, 1, 1])]);
  assert.deepEqual([...(sub!.data as Float32Array)], [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10]);
  const [mul] = await runNode("Mul", [f32([2], []), x]);
  assert.deepEqual([...(mul!.data as Float32Array)], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
  const [div] = await runNode("Div", [f32([1, 2], [2, 1]), f32([4, 8, 16], [1, 3])]);
  assert.deepEqual(div!.dims, [2, 3]);
  assert.deepEqual([...(div!.data as Float32Array)], [0.25, 0.125, 0.0625, 0.5, 0.25, 0.125]);
});

Deno.test("Gelu float32 (exact form): within two float32 ulps of 0.5·x·(1 + erf(x/√2))", async () => {
  const xs = [0, -0, 1, -1, 3, -3, 10, -10, Infinity, -Infinity, NaN];
  for (const v of randomValues(5000, 9)) xs.push(v * 8);
  const [y] = await runNode("Gelu", [f32(xs, [xs.length])], { opset: 20 });
  const d = y!.data as Float32Array;
  for (let i = 0; i < xs.length; i++) {
    const x = Math.fround(xs[i]);
    const e = Math.fround(0.5 * x * (1 + erf(x / Math.SQRT2)));
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(d[i]), `gelu(${x}) = ${d[i]}`);
      continue;
    }
    const tol = Math.max(2 * Math.abs(e) * 2 ** -23, 1e-30);
    assert.ok(d[i] === e || Math.abs(d[i] - e) <= tol, `gelu(${x}) = ${d[i]}, expected ${e}`);
  }
});
