/**
 * Tests of ops/pool.ts on hand-computed cases the ONNX suite does not cover: storage_order,
 * int8 max pooling, ceil_mode's last-window rule, count_include_pad with ceil_mode, LpPool-1's
 * float p, GlobalLpPool, MaxRoiPool, RoiAlign before opset 16, MaxUnpool after MaxPool.
 */

import assert from "node:assert/strict";
import { f32, i64, inferOp, runOp, runTensor } from "./_op_harness.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { floatAttr, intAttr, intsAttr, stringAttr } from "../../pipeline/load/build.ts";

const vals = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint>);

Deno.test("MaxPool Indices follow storage_order and include the plane offset", async () => {
  const a = [1, 9, 3, 4, 5, 6, 7, 8, 2];
  const x = f32([...a, ...a.map((v) => -v)], [1, 2, 3, 3]);
  const attrs = [intsAttr("kernel_shape", [2, 2])];
  const [y, rowMajor] = await runOp("MaxPool", 12, [x], attrs, 2);
  assert.deepEqual(vals(y as Tensor), [9, 9, 8, 8, -1, -3, -4, -2]);
  assert.deepEqual(vals(rowMajor as Tensor), [1n, 1n, 7n, 7n, 9n, 11n, 12n, 17n]);
  const [, colMajor] = await runOp("MaxPool", 12, [x], [...attrs, intAttr("storage_order", 1)], 2);
  assert.deepEqual(vals(colMajor as Tensor), [3n, 3n, 5n, 5n, 9n, 15n, 10n, 17n]);
});

Deno.test("MaxPool keeps int8 data and drops a ceil_mode window that starts in the end pad", async () => {
  const x = new Tensor("int8", Int8Array.from([-5, 3, -128, 7, 2]), [1, 1, 5]);
  const y = await runTensor("MaxPool", 12, [x], [
    intsAttr("kernel_shape", [2]),
    intsAttr("strides", [2]),
    intAttr("ceil_mode", 1),
  ]);
  assert.equal(y.type, "int8");
  assert.deepEqual(vals(y), [3, 7, 2]);
  await assert.rejects(runTensor("MaxPool", 11, [x], [intsAttr("kernel_shape", [2])]), /int8/);
  const avg = await runTensor("AveragePool", 19, [f32([1, 2, 3, 4, 5], [1, 1, 5])], [
    intsAttr("kernel_shape", [2]),
    intsAttr("strides", [3]),
    intsAttr("pads", [0, 1]),
    intAttr("ceil_mode", 1),
  ]);
  assert.deepEqual(avg.dims, [1, 1, 2]);
  assert.deepEqual(vals(avg), [1.5, 4.5]);
});

Deno.test("AveragePool count_include_pad counts pads but not the ceil_mode overhang", async () => {
  const x = f32([1, 2, 3, 4], [1, 1, 4]);
  const attrs = [
    intsAttr("kernel_shape", [3]),
    intsAttr("strides", [2]),
    intsAttr("pads", [1, 1]),
    intAttr("ceil_mode", 1),
  ];
  const inc = await runTensor("AveragePool", 11, [x], [...attrs, intAttr("count_include_pad", 1)]);
  assert.deepEqual(vals(inc), [1, 3, 2]);
  const exc = await runTensor("AveragePool", 11, [x], attrs);
  assert.deepEqual(vals(exc), [1.5, 3, 4]);
});

Deno.test("LpPool-1 takes a float p, later versions an int p; GlobalLpPool sums |x|^p", async () => {
  const x = f32([1, -2, 3], [1, 1, 3]);
  const y1 = await runTensor("LpPool", 1, [x], [intsAttr("kernel_shape", [2]), floatAttr("p", 3)]);
  assert.ok(Math.abs((y1.data as Float32Array)[0] - Math.cbrt(9)) < 1e-6);
  assert.ok(Math.abs((y1.data as Float32Array)[1] - Math.cbrt(35)) < 1e-5);
  const y2 = await runTensor("LpPool", 11, [x], [intsAttr("kernel_shape", [2]), intAttr("p", 1)]);
  assert.deepEqual(vals(y2), [3, 5]);
  const g = await runTensor("GlobalLpPool", 2, [f32([3, -4, 1, 1], [1, 2, 2])]);
  assert.deepEqual(g.dims, [1, 2, 1]);
  assert.deepEqual(vals(g), [5, Math.fround(Math.SQRT2)]);
  const gm = await runTensor("GlobalMaxPool", 22, [
    new Tensor("float16", [1, -3, 2.5, 0], [1, 1, 2, 2]),
  ]);
  assert.equal(gm.type, "float16");
  assert.deepEqual(Array.from(new Float16Array((gm.data as Uint16Array).buffer)), [2.5]);
});

Deno.test("MaxRoiPool takes the max of each rounded bin", async () => {
  const x = f32(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
  const rois = f32([0, 0, 0, 3, 3, 0, 1, 1, 2, 2], [2, 5]);
  const y = await runTensor("MaxRoiPool", 1, [x, rois], [intsAttr("pooled_shape", [2, 2])]);
  assert.deepEqual(y.dims, [2, 1, 2, 2]);
  // Second roi spans rows/cols 1..2: bins of one pixel each.
  assert.deepEqual(vals(y), [5, 7, 13, 15, 5, 6, 9, 10]);
  const s = await runTensor("MaxRoiPool", 1, [x, f32([0, 0, 0, 6, 6], [1, 5])], [
    intsAttr("pooled_shape", [1, 1]),
    floatAttr("spatial_scale", 0.5),
  ]);
  assert.deepEqual(vals(s), [15]);
});

Deno.test("RoiAlign before opset 16 has no half-pixel shift", async () => {
  const x = f32(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
  const rois = f32([0, 0, 3, 3], [1, 4]);
  const attrs = [
    intAttr("output_height", 1),
    intAttr("output_width", 1),
    intAttr("sampling_ratio", 1),
  ];
  // One sample at the bin centre: (1.5, 1.5) without the shift, (1, 1) with it.
  const v10 = await runTensor("RoiAlign", 10, [x, rois, i64([0])], attrs);
  assert.deepEqual(vals(v10), [7.5]);
  const v16 = await runTensor("RoiAlign", 16, [x, rois, i64([0])], attrs);
  assert.deepEqual(vals(v16), [5]);
  const v16o = await runTensor("RoiAlign", 16, [x, rois, i64([0])], [
    ...attrs,
    stringAttr("coordinate_transformation_mode", "output_half_pixel"),
  ]);
  assert.deepEqual(vals(v16o), [7.5]);
});

Deno.test("MaxUnpool puts MaxPool's maxima back and zeros the rest", async () => {
  const x = f32([1, 9, 3, 4, 5, 6, 7, 8, 2, 0, 11, 10], [1, 1, 3, 4]);
  const attrs = [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])];
  const [y, idx] = await runOp("MaxPool", 12, [x], attrs, 2);
  const u = await runTensor("MaxUnpool", 11, [y as Tensor, idx as Tensor], attrs);
  assert.deepEqual(u.dims, [1, 1, 2, 4]);
  assert.deepEqual(vals(u), [0, 9, 0, 0, 0, 0, 0, 8]);
  const full = await runTensor(
    "MaxUnpool",
    11,
    [y as Tensor, idx as Tensor, i64([1, 1, 3, 4])],
    attrs,
  );
  assert.deepEqual(vals(full), [0, 9, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0]);
});

Deno.test("pool inference gives ceil_mode output sizes and the int64 Indices type", () => {
  const t = { kind: "tensor" as const, elemType: "float32" as const, shape: ["N", 3, 5, 6] };
  const r = inferOp(
    "MaxPool",
    12,
    [t],
    [
      intsAttr("kernel_shape", [2, 2]),
      intsAttr("strides", [2, 2]),
      intAttr("ceil_mode", 1),
    ],
    [],
    2,
  );
  assert.deepEqual(r.types, [
    { kind: "tensor", elemType: "float32", shape: ["N", 3, 3, 3] },
    { kind: "tensor", elemType: "int64", shape: ["N", 3, 3, 3] },
  ]);
  const g = inferOp("GlobalAveragePool", 1, [t]);
  assert.deepEqual(g.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 3, 1, 1] });
});
