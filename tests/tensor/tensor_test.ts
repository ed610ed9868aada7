/**
 * Tensors and element types: construction and validation, the narrow float encodings (checked
 * against values worked out by hand from the formats' definitions), exact int64, and ndarray
 * interop.
 */

import assert from "node:assert/strict";
import ndarray from "npm:ndarray@1.1.1";
import {
  dataToNumbers,
  fromNumbers,
  shapeSize,
  stridesOf,
  Tensor,
  tensorFromNumbers,
} from "../../pipeline/tensor/tensor.ts";
import {
  decodeE8M0,
  decodeMiniFloat,
  encodeE8M0,
  encodeMiniFloat,
  numberToBfloat16,
  numberToFloat16,
} from "../../pipeline/tensor/float.ts";
import { dataTypeCode, dataTypeFromCode } from "../../pipeline/tensor/dtype.ts";
import { fromNdarray, type NdArray, toNdarray } from "../../pipeline/tensor/ndarray.ts";

Deno.test("tensor: construction follows onnxruntime-web and validates dims", () => {
  const t = new Tensor("float32", [1, 2, 3, 4, 5, 6], [2, 3]);
  assert.ok(t.data instanceof Float32Array);
  assert.equal(t.size, 6);
  assert.deepEqual(t.dims, [2, 3]);
  assert.equal(new Tensor(new Int32Array(4), [2, 2]).type, "int32");
  assert.equal(new Tensor(new BigInt64Array(3)).type, "int64");
  assert.deepEqual(new Tensor(new Float32Array(5)).dims, [5]);
  assert.deepEqual(Array.from(new Tensor("bool", [true, false, true]).data as Uint8Array), [
    1,
    0,
    1,
  ]);
  assert.throws(() => new Tensor("float32", [1, 2], [3]), RangeError);
  assert.throws(() => new Tensor("float32", [1, 2], [-1, -2]), RangeError);
  assert.throws(() => new Tensor("float33" as "float32", [1]), TypeError);
  assert.throws(() => new Tensor("int64", new Float32Array(2)), TypeError);
  // float16 storage is raw bits; a Float16Array is accepted as is.
  const h = new Tensor("float16", new Float16Array([1, -2]));
  assert.deepEqual(Array.from(h.data as Uint16Array), [0x3c00, 0xc000]);
  assert.equal(shapeSize([]), 1);
  assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
});

Deno.test("tensor: int64 stays exact beyond 2^53", () => {
  const big = 9007199254740993n; // 2^53 + 1
  const t = new Tensor("int64", [big, -big], [2]);
  assert.equal((t.data as BigInt64Array)[0], big);
  assert.equal((t.data as BigInt64Array)[1], -big);
  assert.equal(dataTypeFromCode(7), "int64");
  assert.equal(dataTypeCode("bfloat16"), 16);
  assert.equal(dataTypeCode("int2"), 26);
});

Deno.test("float16 and bfloat16 round to nearest even", () => {
  assert.equal(numberToFloat16(65504), 0x7bff);
  assert.equal(numberToFloat16(65520), 0x7c00); // halfway to 2^16 rounds to +Inf
  assert.equal(numberToFloat16(1 / 3), 0x3555);
  assert.equal(numberToBfloat16(1), 0x3f80);
  assert.equal(numberToBfloat16(1 + 2 ** -8), 0x3f80); // tie, even mantissa stays
  assert.equal(numberToBfloat16(1 + 3 * 2 ** -8), 0x3f82); // tie, odd mantissa goes up
  assert.equal(numberToBfloat16(NaN) & 0x7fc0, 0x7fc0);
  const t = tensorFromNumbers("bfloat16", [1.5, -2], [2]);
  assert.deepEqual(Array.from(dataToNumbers(t.type, t.data)), [1.5, -2]);
});

Deno.test("float8 encodings match the formats' definitions", () => {
  // E4M3FN: bias 7, no infinities, S.1111.111 is NaN, max 448.
  assert.equal(encodeMiniFloat("float8e4m3fn", 1), 0x38);
  assert.equal(encodeMiniFloat("float8e4m3fn", 448), 0x7e);
  assert.equal(encodeMiniFloat("float8e4m3fn", 0.1), 0x1d); // 1.625 * 2^-4 = 0.1015625
  assert.equal(decodeMiniFloat("float8e4m3fn", 0x1d), 0.1015625);
  assert.equal(encodeMiniFloat("float8e4m3fn", 500), 0x7e); // saturates
  assert.equal(encodeMiniFloat("float8e4m3fn", 500, false), 0x7f); // NaN
  assert.equal(encodeMiniFloat("float8e4m3fn", -500, false), 0xff);
  assert.equal(encodeMiniFloat("float8e4m3fn", 2 ** -9), 0x01); // smallest subnormal
  assert.equal(encodeMiniFloat("float8e4m3fn", 2 ** -10), 0x00); // tie to even: 0
  assert.equal(encodeMiniFloat("float8e4m3fn", 3 * 2 ** -10), 0x02); // tie to even: 2
  assert.equal(encodeMiniFloat("float8e4m3fn", -0), 0x80);
  // E4M3FNUZ: bias 8, no negative zero, 0x80 is NaN, max 240.
  assert.equal(encodeMiniFloat("float8e4m3fnuz", 1), 0x40);
  assert.equal(encodeMiniFloat("float8e4m3fnuz", -0), 0x00);
  assert.equal(encodeMiniFloat("float8e4m3fnuz", NaN), 0x80);
  assert.equal(encodeMiniFloat("float8e4m3fnuz", 1000), 0x7f);
  assert.ok(Number.isNaN(decodeMiniFloat("float8e4m3fnuz", 0x80)));
  // E5M2: IEEE-like, bias 15, max 57344, infinities.
  assert.equal(encodeMiniFloat("float8e5m2", 1), 0x3c);
  assert.equal(encodeMiniFloat("float8e5m2", 57344), 0x7b);
  assert.equal(encodeMiniFloat("float8e5m2", Infinity, false), 0x7c);
  assert.equal(encodeMiniFloat("float8e5m2", Infinity), 0x7b);
  assert.equal(decodeMiniFloat("float8e5m2", 0xfc), -Infinity);
  // E5M2FNUZ: bias 16.
  assert.equal(encodeMiniFloat("float8e5m2fnuz", 1), 0x40);
  // float4e2m1: S.EE.M, bias 1; values 0, 0.5, 1, 1.5, 2, 3, 4, 6.
  assert.equal(encodeMiniFloat("float4e2m1", 1), 0x2);
  assert.equal(encodeMiniFloat("float4e2m1", 0.5), 0x1);
  assert.equal(encodeMiniFloat("float4e2m1", 6), 0x7);
  assert.equal(encodeMiniFloat("float4e2m1", 2.5), 0x4); // tie between 2 and 3: even
  assert.equal(encodeMiniFloat("float4e2m1", -3), 0xd);
  assert.equal(encodeMiniFloat("float4e2m1", 100, false), 0x7); // no Inf/NaN: clamps
});

Deno.test("float8e8m0 is a power of two with the requested rounding", () => {
  assert.equal(encodeE8M0(1), 127);
  assert.equal(encodeE8M0(3, true, "up"), 129);
  assert.equal(encodeE8M0(3, true, "down"), 128);
  assert.equal(encodeE8M0(3, true, "nearest"), 129);
  assert.equal(encodeE8M0(NaN), 0xff);
  assert.equal(decodeE8M0(130), 8);
});

Deno.test("fromNumbers: integers truncate and wrap, packed types stay in range", () => {
  assert.deepEqual(Array.from(fromNumbers("int8", [1.9, -1.9, 200]) as Int8Array), [1, -1, -56]);
  assert.deepEqual(Array.from(fromNumbers("int4", [7, 8, -9]) as Int8Array), [7, -8, 7]);
  assert.deepEqual(Array.from(fromNumbers("uint2", [3, 4, 5]) as Uint8Array), [3, 0, 1]);
  assert.deepEqual(Array.from(fromNumbers("bool", [0, 2, -0.5]) as Uint8Array), [0, 1, 1]);
});

Deno.test("ndarray: zero-copy views out, strided views copied in row-major order", () => {
  const t = new Tensor("float32", [1, 2, 3, 4, 5, 6], [2, 3]);
  const a = toNdarray(t);
  assert.equal(a.get(1, 2), 6);
  assert.equal(a.data, t.data);
  const transposed = (a as unknown as { transpose(...p: number[]): NdArray }).transpose(1, 0);
  const back = fromNdarray(transposed);
  assert.deepEqual(back.dims, [3, 2]);
  assert.deepEqual(Array.from(back.data as Float32Array), [1, 4, 2, 5, 3, 6]);
  const same = fromNdarray(ndarray(new Int32Array([1, 2, 3, 4]), [2, 2]) as unknown as NdArray);
  assert.equal(same.type, "int32");
  assert.deepEqual(same.dims, [2, 2]);
});
