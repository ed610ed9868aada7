/**
 * Tests of ops/resize.ts on cases the ONNX suite does not cover: Resize-10 (asymmetric, the
 * nearest rule of opset 10), Upsample-1/7, nearest resize of int64 and string tensors,
 * integer linear resize, tf_half_pixel_for_nn (opset 11), keep_aspect_ratio_policy with
 * axes, and shape inference.
 */

import assert from "node:assert/strict";
import { f32, i64, inferOp, runTensor } from "./_op_harness.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { floatAttr, floatsAttr, intsAttr, stringAttr } from "../../pipeline/load/build.ts";

const vals = (t: Tensor) => Array.from(t.data as ArrayLike<unknown>);

Deno.test("Resize-10 nearest rounds down when upsampling and up when downsampling", async () => {
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 4]);
  const down = await runTensor("Resize", 10, [x, f32([1, 1, 0.6, 0.6])]);
  assert.deepEqual(down.dims, [1, 1, 1, 2]);
  assert.deepEqual(vals(down), [1, 3]);
  const up = await runTensor("Resize", 10, [f32([1, 2], [1, 2]), f32([1, 3])]);
  assert.deepEqual(vals(up), [1, 1, 1, 2, 2, 2]);
});

Deno.test("Resize-10 and Upsample linear use asymmetric coordinates clamped at the edge", async () => {
  const x = f32([1, 2, 3, 4], [1, 1, 2, 2]);
  const expected = [1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4];
  const r = await runTensor("Resize", 10, [x, f32([1, 1, 2, 2])], [stringAttr("mode", "linear")]);
  assert.deepEqual(vals(r), expected);
  const u9 = await runTensor("Upsample", 9, [x, f32([1, 1, 2, 2])], [stringAttr("mode", "linear")]);
  assert.deepEqual(vals(u9), expected);
  const u7 = await runTensor("Upsample", 7, [x], [
    stringAttr("mode", "linear"),
    floatsAttr("scales", [1, 1, 2, 2]),
  ]);
  assert.deepEqual(vals(u7), expected);
  const u1 = await runTensor("Upsample", 1, [x], [
    stringAttr("mode", "bilinear"),
    floatAttr("height_scale", 2),
    floatAttr("width_scale", 2),
  ]);
  assert.deepEqual(vals(u1), expected);
  await assert.rejects(runTensor("Upsample", 9, [x, f32([1, 1, 0.5, 1])]), /scales/);
});

Deno.test("nearest Resize moves int64 and string elements exactly", async () => {
  const big = new Tensor("int64", BigInt64Array.from([9007199254740993n, -2n]), [2]);
  const y = await runTensor("Resize", 13, [big, undefined, f32([2])]);
  assert.deepEqual(vals(y), [9007199254740993n, 9007199254740993n, -2n, -2n]);
  const s = await runTensor("Resize", 13, [
    new Tensor("string", ["a", "b"], [2]),
    undefined,
    f32([2]),
  ]);
  assert.deepEqual(vals(s), ["a", "a", "b", "b"]);
  await assert.rejects(
    runTensor("Resize", 13, [new Tensor("string", ["a", "b"], [2]), undefined, f32([2])], [
      stringAttr("mode", "linear"),
    ]),
    /string/,
  );
});

Deno.test("linear Resize of int32 truncates the interpolated values", async () => {
  const y = await runTensor("Resize", 13, [
    new Tensor("int32", Int32Array.from([0, 1]), [2]),
    undefined,
    undefined,
    i64([4]),
  ], [
    stringAttr("mode", "linear"),
  ]);
  assert.equal(y.type, "int32");
  assert.deepEqual(vals(y), [0, 0, 0, 1]);
});

Deno.test("Resize-11 tf_half_pixel_for_nn has no -0.5 shift", async () => {
  const x = f32([1, 2, 3, 4]);
  const a = await runTensor("Resize", 11, [x, f32([]), f32([0.5])], [
    stringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn"),
  ]);
  assert.deepEqual(vals(a), [2, 4]);
  const b = await runTensor("Resize", 11, [x, f32([]), f32([0.5])]);
  assert.deepEqual(vals(b), [1, 3]);
  await assert.rejects(
    runTensor("Resize", 13, [x, undefined, f32([0.5])], [
      stringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn"),
    ]),
    /tf_half_pixel_for_nn/,
  );
});

Deno.test("Resize-18 keep_aspect_ratio_policy applies one scale to the listed axes", async () => {
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 4]);
  const attrs = [intsAttr("axes", [2, 3]), stringAttr("keep_aspect_ratio_policy", "not_larger")];
  const same = await runTensor("Resize", 18, [x, undefined, undefined, i64([4, 4])], attrs);
  assert.deepEqual(same.dims, [1, 1, 2, 4]);
  assert.deepEqual(vals(same), [1, 2, 3, 4, 5, 6, 7, 8]);
  const bigger = await runTensor("Resize", 18, [x, undefined, undefined, i64([4, 4])], [
    intsAttr("axes", [2, 3]),
    stringAttr("keep_aspect_ratio_policy", "not_smaller"),
  ]);
  assert.deepEqual(bigger.dims, [1, 1, 4, 8]);
});

Deno.test("Resize infers output shapes from constant scales or sizes", () => {
  const t = { kind: "tensor" as const, elemType: "float32" as const, shape: ["N", 3, 10, 10] };
  const s = inferOp(
    "Resize",
    13,
    [t, undefined, { kind: "tensor", elemType: "float32", shape: [4] }],
    [],
    [
      undefined,
      undefined,
      f32([1, 1, 2, 0.5]),
    ],
  );
  assert.deepEqual(s.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 3, 20, 5] });
  const z = inferOp("Resize", 19, [t, undefined, undefined, {
    kind: "tensor",
    elemType: "int64",
    shape: [2],
  }], [
    intsAttr("axes", [-2, -1]),
  ], [undefined, undefined, undefined, i64([7, 9])]);
  assert.deepEqual(z.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 3, 7, 9] });
});
