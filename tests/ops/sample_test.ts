/**
 * Tests of ops/sample.ts on cases the ONNX suite does not cover: 1-D GridSample (opset 20+),
 * nearest sampling of int64 and string tensors, cubic interpolation of a ramp, reflection
 * padding, GridSample-16's 4-D restriction, AffineGrid with a size-1 dim.
 */

import assert from "node:assert/strict";
import { f32, i64, runTensor } from "./_op_harness.ts";
import { assertClose } from "./_window_ref.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { intAttr, stringAttr } from "../../pipeline/load/build.ts";

const vals = (t: Tensor) => Array.from(t.data as ArrayLike<unknown>);

Deno.test("GridSample-20 samples 1-D inputs (linear and nearest, align_corners)", async () => {
  const x = f32([0, 10, 20, 30], [1, 1, 4]);
  const grid = f32([-1, 0, 0.5], [1, 3, 1]);
  const lin = await runTensor("GridSample", 20, [x, grid], [intAttr("align_corners", 1)]);
  assert.deepEqual(lin.dims, [1, 1, 3]);
  assertClose(vals(lin) as number[], [0, 15, 22.5]);
  const near = await runTensor("GridSample", 20, [x, grid], [
    intAttr("align_corners", 1),
    stringAttr("mode", "nearest"),
  ]);
  assert.deepEqual(vals(near), [0, 20, 20]);
  await assert.rejects(runTensor("GridSample", 16, [x, grid]), /4-D/);
});

Deno.test("GridSample nearest moves int64 and string elements; zeros padding reads zero", async () => {
  const grid = f32([-1, -1, 1, 1, 3, 3], [1, 1, 3, 2]);
  const attrs = [stringAttr("mode", "nearest"), intAttr("align_corners", 1)];
  const big = new Tensor("int64", BigInt64Array.from([1n, 2n, 3n, 9007199254740993n]), [
    1,
    1,
    2,
    2,
  ]);
  const y = await runTensor("GridSample", 22, [big, grid], attrs);
  assert.deepEqual(vals(y), [1n, 9007199254740993n, 0n]);
  const s = await runTensor("GridSample", 22, [
    new Tensor("string", ["a", "b", "c", "d"], [1, 1, 2, 2]),
    grid,
  ], attrs);
  assert.deepEqual(vals(s), ["a", "d", ""]);
});

Deno.test("GridSample cubic reproduces a ramp; reflection mirrors at the borders", async () => {
  const ramp = f32([0, 1, 2, 3, 4, 5], [1, 1, 6]);
  const c = await runTensor("GridSample", 20, [ramp, f32([0, -0.2], [1, 2, 1])], [
    stringAttr("mode", "cubic"),
    intAttr("align_corners", 1),
  ]);
  assertClose(vals(c) as number[], [2.5, 2], 1e-6);
  const r = await runTensor("GridSample", 20, [f32([1, 2, 3], [1, 1, 3]), f32([1.5], [1, 1, 1])], [
    stringAttr("padding_mode", "reflection"),
  ]);
  assertClose(vals(r) as number[], [2.75], 1e-6);
  const b = await runTensor("GridSample", 20, [f32([1, 2, 3], [1, 1, 3]), f32([1.5], [1, 1, 1])], [
    stringAttr("padding_mode", "border"),
  ]);
  assertClose(vals(b) as number[], [3], 1e-6);
});

Deno.test("AffineGrid handles size-1 dims for both align_corners settings", async () => {
  const theta = f32([1, 0, 0, 0, 1, 0], [1, 2, 3]);
  const a = await runTensor("AffineGrid", 20, [theta, i64([1, 1, 1, 3])], [
    intAttr("align_corners", 1),
  ]);
  assert.deepEqual(a.dims, [1, 1, 3, 2]);
  assertClose(vals(a) as number[], [-1, -1, 0, -1, 1, -1]);
  const b = await runTensor("AffineGrid", 20, [theta, i64([1, 1, 1, 3])]);
  assertClose(vals(b) as number[], [-2 / 3, 0, 0, 0, 2 / 3, 0]);
  const t3 = f32([0, 0, 1, 0.5, 0, 1, 0, 0, 1, 0, 0, 0], [1, 3, 4]);
  const g3 = await runTensor("AffineGrid", 20, [t3, i64([1, 1, 2, 1, 1])], [
    intAttr("align_corners", 1),
  ]);
  // Points (x, y, z) = (-1, -1, -1) and (-1, -1, 1); rows of theta pick z+0.5, y, x.
  assert.deepEqual(g3.dims, [1, 2, 1, 1, 3]);
  assertClose(vals(g3) as number[], [-0.5, -1, -1, 1.5, -1, -1]);
});
