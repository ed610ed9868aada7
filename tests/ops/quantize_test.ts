/**
 * Hand-checked tests of ops/quantize.ts: QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear (rounding half to even, saturation, per-axis and blocked layouts,
 * 4-bit and float8 targets, output_dtype, precision) and their inference functions.
 */

import assert from "node:assert/strict";
import { f32, i32, inferOp, runOp, runTensor } from "./_op_harness.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { roundHalfEven } from "../../ops/quantize.ts";
import { intAttr } from "../../pipeline/load/build.ts";

function u8(v: number[], dims?: number[]): Tensor {
  return new Tensor("uint8", Uint8Array.from(v), dims ?? [v.length]);
}

function i8(v: number[], dims?: number[]): Tensor {
  return new Tensor("int8", Int8Array.from(v), dims ?? [v.length]);
}

function scalar(type: "float32" | "uint8" | "int8", v: number): Tensor {
  return type === "float32"
    ? new Tensor("float32", Float32Array.of(v), [])
    : type === "uint8"
    ? new Tensor("uint8", Uint8Array.of(v), [])
    : new Tensor("int8", Int8Array.of(v), []);
}

Deno.test("roundHalfEven rounds ties to the even neighbour", () => {
  assert.deepEqual(
    [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven),
    [0, 2, 2, -0, -2, -2, 2, 3, -3],
  );
});

Deno.test("QuantizeLinear-10 rounds half to even and saturates uint8", async () => {
  // x / 2 = 0, 1, 1.5, 500, -127, -500, 2.5, -2.5, 3.5 -> 0, 1, 2, 500, -127, -500, 2, -2, 4
  const x = f32([0, 2, 3, 1000, -254, -1000, 5, -5, 7]);
  const y = await runTensor("QuantizeLinear", 10, [x, scalar("float32", 2), scalar("uint8", 128)]);
  assert.equal(y.type, "uint8");
  assert.deepEqual(Array.from(y.data as Uint8Array), [128, 129, 130, 255, 1, 0, 130, 126, 132]);
});

Deno.test("QuantizeLinear without a zero point gives uint8 with zero point 0", async () => {
  const y = await runTensor("QuantizeLinear", 13, [f32([-3, 0.6, 300]), scalar("float32", 1)]);
  assert.equal(y.type, "uint8");
  assert.deepEqual(Array.from(y.data as Uint8Array), [0, 1, 255]);
});

Deno.test("QuantizeLinear to int8 saturates to [-128, 127]", async () => {
  const y = await runTensor("QuantizeLinear", 13, [
    f32([-1000, -1, 1, 1000]),
    scalar("float32", 1),
    scalar("int8", -1),
  ]);
  assert.equal(y.type, "int8");
  assert.deepEqual(Array.from(y.data as Int8Array), [-128, -2, 0, 127]);
});

Deno.test("QuantizeLinear per-axis uses one scale and zero point per index of the axis", async () => {
  const x = f32([1, 2, 4, 3, 5, 10], [2, 3]);
  const y = await runTensor("QuantizeLinear", 13, [x, f32([1, 2, 4]), u8([0, 10, 20])], [
    intAttr("axis", 1),
  ]);
  // Column 1: 2/2=1, 5/2=2.5->2; column 2: 4/4=1, 10/4=2.5->2.
  assert.deepEqual(Array.from(y.data as Uint8Array), [1, 11, 21, 3, 12, 22]);
  assert.deepEqual(y.dims, [2, 3]);
  // Negative axis means the same.
  const y2 = await runTensor("QuantizeLinear", 13, [x, f32([1, 2, 4]), u8([0, 10, 20])], [
    intAttr("axis", -1),
  ]);
  assert.deepEqual(Array.from(y2.data as Uint8Array), [1, 11, 21, 3, 12, 22]);
});

Deno.test("QuantizeLinear-21 blocked quantization and output_dtype", async () => {
  const x = f32([1, 2, 3, 4, 8, 4, 16, 32], [2, 4]);
  const scale = f32([1, 2, 4, 8], [2, 2]);
  const y = await runTensor("QuantizeLinear", 21, [x, scale], [
    intAttr("axis", 1),
    intAttr("block_size", 2),
    intAttr("output_dtype", dataTypeCode("int8")),
  ]);
  assert.equal(y.type, "int8");
  // Row 0: [1/1, 2/1, 3/2=1.5->2, 4/2]; row 1: [8/4, 4/4, 16/8, 32/8].
  assert.deepEqual(Array.from(y.data as Int8Array), [1, 2, 2, 2, 2, 1, 2, 4]);
  // A last block shorter than block_size (3 columns, blocks of 2).
  const y3 = await runTensor("QuantizeLinear", 21, [f32([2, 4, 6], [1, 3]), f32([2, 3], [1, 2])], [
    intAttr("axis", 1),
    intAttr("block_size", 2),
  ]);
  assert.deepEqual(Array.from(y3.data as Uint8Array), [1, 2, 2]);
  await assert.rejects(
    runTensor("QuantizeLinear", 21, [x, f32([1, 2, 3], [1, 3])], [
      intAttr("axis", 1),
      intAttr("block_size", 2),
    ]),
    /blocked scale/,
  );
});

Deno.test("QuantizeLinear to int4, uint4, int2, uint2 and int16 saturates to each range", async () => {
  const x = f32([100, -100, 3, -3]);
  const cases: [string, Tensor, number[]][] = [
    ["int4", new Tensor("int4", new Int8Array(1), []), [7, -8, 3, -3]],
    ["uint4", new Tensor("uint4", new Uint8Array(1), []), [15, 0, 3, 0]],
    ["int2", new Tensor("int2", new Int8Array(1), []), [1, -2, 1, -2]],
    ["uint2", new Tensor("uint2", new Uint8Array(1), []), [3, 0, 3, 0]],
  ];
  for (const [type, zp, expected] of cases) {
    const y = await runTensor("QuantizeLinear", 25, [x, scalar("float32", 1), zp]);
    assert.equal(y.type, type);
    assert.deepEqual(Array.from(y.data as ArrayLike<number>), expected, type);
  }
  const y16 = await runTensor("QuantizeLinear", 21, [
    f32([40000, -40000, 1000.5, 1001.5]),
    scalar("float32", 1),
    new Tensor("int16", Int16Array.of(0), []),
  ]);
  assert.deepEqual(Array.from(y16.data as Int16Array), [32767, -32768, 1000, 1002]);
});

Deno.test("QuantizeLinear to float8 saturates by default and gives NaN/Inf without", async () => {
  const x = f32([0, 1, 1000, -1000, 448]);
  const zp = new Tensor("float8e4m3fn", Uint8Array.of(0), [1]);
  const y = await runTensor("QuantizeLinear", 19, [x, scalar("float32", 1), zp]);
  assert.equal(y.type, "float8e4m3fn");
  // 1.0 = 0x38; 448 (largest finite) = 0x7E; sign bit 0x80.
  assert.deepEqual(Array.from(y.data as Uint8Array), [0x00, 0x38, 0x7e, 0xfe, 0x7e]);
  const ns = await runTensor("QuantizeLinear", 19, [x, scalar("float32", 1), zp], [
    intAttr("saturate", 0),
  ]);
  assert.deepEqual(Array.from(ns.data as Uint8Array), [0x00, 0x38, 0x7f, 0xff, 0x7e]);
  const e5 = await runTensor("QuantizeLinear", 19, [
    f32([1e6, -1e6]),
    scalar("float32", 1),
    new Tensor("float8e5m2", Uint8Array.of(0), [1]),
  ], [intAttr("saturate", 0)]);
  assert.deepEqual(Array.from(e5.data as Uint8Array), [0x7c, 0xfc]); // +-Inf
});

Deno.test("QuantizeLinear-23 precision attribute divides in the named type", async () => {
  // x = 2.5 * (1 + 2^-12) = 2.50061...: in float32 it stays above 2.5, in float16 (steps of
  // 2^-9 there) it becomes exactly 2.5.
  const x = f32([(1 + 2 ** -12) * 2.5]);
  const plain = await runTensor("QuantizeLinear", 23, [
    x,
    scalar("float32", 1),
    new Tensor("int16", Int16Array.of(0), []),
  ]);
  // 2.5006... rounds to 3 in float32, but 2.5 in float16 rounds (half to even) to 2.
  assert.deepEqual(Array.from(plain.data as Int16Array), [3]);
  const half = await runTensor("QuantizeLinear", 23, [
    x,
    scalar("float32", 1),
    new Tensor("int16", Int16Array.of(0), []),
  ], [intAttr("precision", dataTypeCode("float16"))]);
  assert.deepEqual(Array.from(half.data as Int16Array), [2]);
});

Deno.test("QuantizeLinear checks output_dtype against the zero point and the scale shape", async () => {
  await assert.rejects(
    runTensor("QuantizeLinear", 21, [f32([1]), scalar("float32", 1), scalar("uint8", 0)], [
      intAttr("output_dtype", dataTypeCode("int8")),
    ]),
    /output_dtype/,
  );
  await assert.rejects(
    runTensor("QuantizeLinear", 13, [f32([1, 2], [1, 2]), f32([1, 2, 3])], [intAttr("axis", 1)]),
    /per-axis scale/,
  );
});

Deno.test("DequantizeLinear per-tensor, int32 input, per-axis and blocked", async () => {
  const y = await runTensor("DequantizeLinear", 10, [
    u8([0, 3, 128, 255]),
    scalar("float32", 2),
    scalar("uint8", 128),
  ]);
  assert.equal(y.type, "float32");
  assert.deepEqual(Array.from(y.data as Float32Array), [-256, -250, 0, 254]);
  const y32 = await runTensor("DequantizeLinear", 13, [i32([-5, 100000]), scalar("float32", 0.5)]);
  assert.deepEqual(Array.from(y32.data as Float32Array), [-2.5, 50000]);
  const ya = await runTensor("DequantizeLinear", 13, [
    i8([1, 2, 3, 4, 5, 6], [3, 2]),
    f32([1, 10, 100]),
    i8([0, 1, 2]),
  ], [intAttr("axis", 0)]);
  assert.deepEqual(Array.from(ya.data as Float32Array), [1, 2, 20, 30, 300, 400]);
  const yb = await runTensor("DequantizeLinear", 21, [
    i8([1, 2, 3, 4], [1, 4]),
    f32([1, 3], [1, 2]),
  ], [intAttr("axis", 1), intAttr("block_size", 2)]);
  assert.deepEqual(Array.from(yb.data as Float32Array), [1, 2, 9, 12]);
});

Deno.test("DequantizeLinear of int4, float8 and float4 inputs; output types", async () => {
  const y4 = await runTensor("DequantizeLinear", 21, [
    new Tensor("int4", Int8Array.of(-8, 7, 0), [3]),
    scalar("float32", 0.5),
    new Tensor("int4", Int8Array.of(-1), []),
  ]);
  assert.deepEqual(Array.from(y4.data as Float32Array), [-3.5, 4, 0.5]);
  // float8e4m3fn 0x38 = 1.0, 0xC0 = -2.0; float4e2m1 0x7 = 6, 0x9 = -0.5.
  const y8 = await runTensor("DequantizeLinear", 19, [
    new Tensor("float8e4m3fn", Uint8Array.of(0x38, 0xc0), [2]),
    scalar("float32", 3),
  ]);
  assert.deepEqual(Array.from(y8.data as Float32Array), [3, -6]);
  const yf4 = await runTensor("DequantizeLinear", 23, [
    new Tensor("float4e2m1", Uint8Array.of(0x7, 0x9), [2]),
    scalar("float32", 2),
  ]);
  assert.deepEqual(Array.from(yf4.data as Float32Array), [12, -1]);
  // float16 scale gives float16 output (bits of 1.5 = 0x3E00, -3 = 0xC200).
  const yh = await runTensor("DequantizeLinear", 19, [
    u8([3, 0]),
    new Tensor("float16", Uint16Array.of(0x3e00), []), // 1.5
    scalar("uint8", 2),
  ]);
  assert.equal(yh.type, "float16");
  assert.deepEqual(Array.from(yh.data as Uint16Array), [0x3e00, 0xc200]);
  // output_dtype overrides the scale's type (23+).
  const yo = await runTensor("DequantizeLinear", 23, [u8([4]), scalar("float32", 0.25)], [
    intAttr("output_dtype", dataTypeCode("float16")),
  ]);
  assert.equal(yo.type, "float16");
  assert.deepEqual(Array.from(yo.data as Uint16Array), [0x3c00]); // 1.0
});

Deno.test("DequantizeLinear rejects a zero point of another type", async () => {
  await assert.rejects(
    runTensor("DequantizeLinear", 13, [u8([1]), scalar("float32", 1), scalar("int8", 0)]),
    /x_zero_point is int8/,
  );
});

Deno.test("DynamicQuantizeLinear: range adjusted to contain 0, scale 1 for all zeros", async () => {
  const out = await runOp("DynamicQuantizeLinear", 11, [f32([-1, 0, -0.5])], [], 3);
  const [y, s, z] = out as Tensor[];
  // min -1, max 0 -> scale 1/255 in float32 (0.0039215688..., a little above 1/255), zero
  // point round(254.99998) = 255; -0.5 / scale = -127.49999 -> -127, + 255 = 128.
  assert.equal((s.data as Float32Array)[0], Math.fround(Math.fround(1) / 255));
  assert.deepEqual(Array.from(z.data as Uint8Array), [255]);
  assert.deepEqual(Array.from(y.data as Uint8Array), [0, 255, 128]);
  const [y0, s0, z0] = (await runOp("DynamicQuantizeLinear", 11, [f32([0, 0])], [], 3)) as Tensor[];
  assert.deepEqual(Array.from(y0.data as Uint8Array), [0, 0]);
  assert.equal((s0.data as Float32Array)[0], 1);
  assert.equal((z0.data as Uint8Array)[0], 0);
  const [y1, s1] =
    (await runOp("DynamicQuantizeLinear", 11, [f32([0, 255, 51])], [], 3)) as Tensor[];
  assert.equal((s1.data as Float32Array)[0], 1);
  assert.deepEqual(Array.from(y1.data as Uint8Array), [0, 255, 51]);
  assert.deepEqual(s1.dims, []);
});

Deno.test("Quantize/Dequantize/DynamicQuantize inference", () => {
  const t = (elemType: Tensor["type"], shape?: (number | string)[]) => ({
    kind: "tensor" as const,
    elemType,
    shape,
  });
  let r = inferOp("QuantizeLinear", 21, [t("float32", ["N", 3]), t("float32", [])]);
  assert.deepEqual(r.types, [t("uint8", ["N", 3])]);
  r = inferOp("QuantizeLinear", 21, [t("float32", [2]), t("float32", []), t("int4", [])]);
  assert.deepEqual(r.types, [t("int4", [2])]);
  r = inferOp("QuantizeLinear", 21, [t("float32", [2]), t("float32", [])], [
    intAttr("output_dtype", dataTypeCode("int16")),
  ]);
  assert.deepEqual(r.types, [t("int16", [2])]);
  r = inferOp("QuantizeLinear", 21, [t("float32", [2]), t("float32", []), t("uint8", [])], [
    intAttr("output_dtype", dataTypeCode("int16")),
  ]);
  assert.equal(r.errors.length, 1);
  r = inferOp("DequantizeLinear", 19, [t("int8", [4, 5]), t("float16", [])]);
  assert.deepEqual(r.types, [t("float16", [4, 5])]);
  r = inferOp("DequantizeLinear", 13, [t("int8", [4]), t("float32", [])]);
  assert.deepEqual(r.types, [t("float32", [4])]);
  r = inferOp("DequantizeLinear", 23, [t("int8", [4]), t("float32", [])], [
    intAttr("output_dtype", dataTypeCode("bfloat16")),
  ]);
  assert.deepEqual(r.types, [t("bfloat16", [4])]);
  r = inferOp("DynamicQuantizeLinear", 11, [t("float32", ["B", 7])], [], [], 3);
  assert.deepEqual(r.types, [t("uint8", ["B", 7]), t("float32", []), t("uint8", [])]);
});
