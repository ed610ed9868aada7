/**
 * Hand-checked tests of ops/cast.ts beyond the ONNX suite: strings in both directions
 * (NumPy `str()` formatting, Python `float()` parsing), float → integer truncation and the
 * out-of-range values NumPy gives on x86-64, integer wrapping, exact int64, float8 rounding
 * and saturation edges, float8e8m0 round modes, Cast-1's string target, CastLike, BitCast.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import { type DataType, dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { f32, i64, inferOp, runTensor, str, values } from "./_op_harness.ts";
import { intAttr, stringAttr } from "../../pipeline/load/build.ts";

function cast(x: Tensor, to: DataType, extra: ReturnType<typeof intAttr>[] = [], opset = 25) {
  return runTensor("Cast", opset, [x], [intAttr("to", dataTypeCode(to)), ...extra]);
}

Deno.test("Cast float32 → string formats like NumPy's str()", async () => {
  const x = f32([
    0.1,
    1.5,
    100,
    1e-5,
    1e16,
    -0,
    NaN,
    Infinity,
    -Infinity,
    123456789,
    0.0001,
    3e-5,
    220.25,
  ]);
  const y = await cast(x, "string");
  assert.deepEqual(values(y), [
    "0.1",
    "1.5",
    "100.0",
    "1e-05",
    "1e+16",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "1.2345679e+08", // float32 switches to scientific notation from 1e6
    "1e-04", // float32(1e-4) is just below 1e-4, so NumPy switches to scientific notation
    "3e-05",
    "220.25",
  ]);
});

Deno.test("Cast float64, float16, integers and bool → string", async () => {
  const d = await cast(
    new Tensor("float64", [0.1, 1 / 3, 1e22, 5e-324, 12345.678, 1e15], [6]),
    "string",
  );
  assert.deepEqual(values(d), [
    "0.1",
    "0.3333333333333333",
    "1e+22",
    "5e-324",
    "12345.678",
    "1000000000000000.0",
  ]);
  const hv = Float16Array.from([0.1, 65504, -2.5, 220.25]);
  const h = await cast(new Tensor("float16", new Uint16Array(hv.buffer), [4]), "string");
  // 220.25 lies halfway between 220.2 and 220.3, both of which round-trip: the even digit wins.
  assert.deepEqual(values(h), ["0.1", "6.55e+04", "-2.5", "220.2"]);
  const u = await cast(new Tensor("uint64", BigUint64Array.from([2n ** 64n - 1n]), [1]), "string");
  assert.deepEqual(values(u), ["18446744073709551615"]);
  const b = await cast(new Tensor("bool", Uint8Array.from([1, 0]), [2]), "string");
  assert.deepEqual(values(b), ["True", "False"]);
  const i = await cast(new Tensor("int8", Int8Array.from([-5]), [1]), "string");
  assert.deepEqual(values(i), ["-5"]);
});

Deno.test("Cast string → numbers parses like Python's float()", async () => {
  const y = await cast(
    str(["1e-5", "INF", "-inf", "NaN", "+1.5", " 2 ", "1E8", ".5", "-Infinity"]),
    "float32",
  );
  const v = Array.from(y.data as Float32Array);
  assert.deepEqual(v.slice(0, 3), [Math.fround(1e-5), Infinity, -Infinity]);
  assert.ok(Number.isNaN(v[3]));
  assert.deepEqual(v.slice(4), [1.5, 2, 1e8, 0.5, -Infinity]);
  const big = await cast(str(["9007199254740993", "-5", "100.5", "+1_000"]), "int64");
  assert.deepEqual(values(big), [9007199254740993n, -5n, 100n, 1000n]);
  // As NumPy's astype(bool): any non-empty string is true.
  assert.deepEqual(values(await cast(str(["0", "", "False"]), "bool")), [1, 0, 1]);
  const small = await cast(str(["300", "-1"]), "uint8");
  assert.deepEqual(values(small), [44, 255]);
  await assert.rejects(() => cast(str(["Hello World!"]), "float32"), RuntimeError);
});

Deno.test("Cast float → integers truncates; out-of-range values as NumPy on x86-64", async () => {
  const x = new Tensor("float64", [2.7, -2.7, NaN, 3e9, -0.5], [5]);
  assert.deepEqual(values(await cast(x, "int32")), [2, -2, -2147483648, -2147483648, 0]);
  assert.deepEqual(values(await cast(new Tensor("float64", [300.5, -1, 1e10], [3]), "uint8")), [
    44,
    255,
    0,
  ]);
  assert.deepEqual(values(await cast(new Tensor("float64", [2 ** 62, -3.9, NaN], [3]), "int64")), [
    2n ** 62n,
    -3n,
    -(2n ** 63n),
  ]);
  assert.deepEqual(values(await cast(new Tensor("float64", [2 ** 63, -1], [2]), "uint64")), [
    2n ** 63n,
    2n ** 64n - 1n,
  ]);
  assert.deepEqual(values(await cast(f32([NaN, 0, -0.0]), "bool")), [1, 0, 0]);
});

Deno.test("Cast between integers wraps; int64 → float rounds to nearest", async () => {
  const x = i64([2n ** 32n + 5n, -1n, 2n ** 53n + 1n]);
  assert.deepEqual(values(await cast(x, "int32")), [5, -1, 1]);
  assert.deepEqual(values(await cast(x, "uint16")), [5, 65535, 1]);
  assert.deepEqual(values(await cast(x, "float64")), [2 ** 32 + 5, -1, 2 ** 53]);
  assert.deepEqual(values(await cast(new Tensor("int32", [-1, 7], [2]), "uint64")), [
    2n ** 64n - 1n,
    7n,
  ]);
  assert.deepEqual(values(await cast(new Tensor("int32", [-9, 8], [2]), "int4")), [7, -8]);
});

Deno.test("Cast to float8: rounding ties, overflow with and without saturate, zeros", async () => {
  const x = new Tensor("float64", [448, 464, 465, 2 ** -9, -(2 ** -11), -Infinity], [6]);
  const sat = await cast(x, "float8e4m3fn");
  assert.deepEqual(values(sat), [0x7e, 0x7e, 0x7e, 0x01, 0x80, 0xfe]);
  const nosat = await cast(x, "float8e4m3fn", [intAttr("saturate", 0)]);
  // 465 rounds past the largest finite value: NaN, keeping the sign for -Inf.
  assert.deepEqual(values(nosat), [0x7e, 0x7e, 0x7f, 0x01, 0x80, 0xff]);
  const e5 = await cast(new Tensor("float64", [Infinity, 61440, 57344], [3]), "float8e5m2", [
    intAttr("saturate", 0),
  ]);
  assert.deepEqual(values(e5), [0x7c, 0x7c, 0x7b]);
  const fnuz = await cast(f32([-0, -1e-9, NaN]), "float8e4m3fnuz");
  assert.deepEqual(values(fnuz), [0, 0, 0x80]);
  const back = await cast(
    new Tensor("float8e4m3fn", Uint8Array.from([0x7e, 0x01, 0xff]), [3]),
    "float32",
  );
  const bv = Array.from(back.data as Float32Array);
  assert.deepEqual(bv.slice(0, 2), [448, 2 ** -9]);
  assert.ok(Number.isNaN(bv[2]));
});

Deno.test("Cast to float8e8m0 honours round_mode", async () => {
  const x = f32([3, 2.9, 0.125, 1.1]);
  const up = await cast(x, "float8e8m0");
  assert.deepEqual(values(up), [129, 129, 124, 128]);
  const down = await cast(x, "float8e8m0", [stringAttr("round_mode", "down")] as never);
  assert.deepEqual(values(down), [128, 128, 124, 127]);
  const nearest = await cast(x, "float8e8m0", [stringAttr("round_mode", "nearest")] as never);
  assert.deepEqual(values(nearest), [129, 128, 124, 127]);
});

Deno.test("Cast-1 names the target type as a string; CastLike takes the second input's type", async () => {
  const y = await runTensor("Cast", 1, [f32([1.9, -1.9])], [stringAttr("to", "INT32")]);
  assert.equal(y.type, "int32");
  assert.deepEqual(values(y), [1, -1]);
  const like = new Tensor("float16", new Uint16Array(1), [1]);
  const z = await runTensor("CastLike", 25, [f32([1.00048828125]), like]);
  assert.equal(z.type, "float16");
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even gives 1.0 (0x3C00).
  assert.deepEqual(values(z), [0x3c00]);
  const bf = await cast(f32([1.00390625, 1.01171875]), "bfloat16");
  assert.deepEqual(values(bf), [0x3f80, 0x3f82]);
});

Deno.test("BitCast reinterprets bits of same-width types", async () => {
  const bc = (x: Tensor, to: DataType) =>
    runTensor("BitCast", 26, [x], [intAttr("to", dataTypeCode(to))]);
  assert.deepEqual(values(await bc(f32([1, -2]), "int32")), [1065353216, -1073741824]);
  const h = Float16Array.from([1, -0]);
  assert.deepEqual(
    values(await bc(new Tensor("float16", new Uint16Array(h.buffer), [2]), "int16")),
    [0x3c00, -32768],
  );
  assert.deepEqual(
    values(await bc(new Tensor("int4", Int8Array.from([-1, 7, -8]), [3]), "uint4")),
    [15, 7, 8],
  );
  assert.deepEqual(values(await bc(new Tensor("uint4", Uint8Array.from([15, 8]), [2]), "int4")), [
    -1,
    -8,
  ]);
  const d = await bc(i64([0x3ff0000000000000n]), "float64");
  assert.deepEqual(values(d), [1]);
  await assert.rejects(() => bc(f32([1]), "int64"), RuntimeError);
});

Deno.test("Cast, CastLike and BitCast infer output types", () => {
  const t = { kind: "tensor" as const, elemType: "float32" as const, shape: ["N", 3] };
  const c = inferOp("Cast", 25, [t], [intAttr("to", dataTypeCode("int8"))]);
  assert.deepEqual(c.types[0], { kind: "tensor", elemType: "int8", shape: ["N", 3] });
  const l = inferOp("CastLike", 25, [t, { kind: "tensor", elemType: "float16", shape: [] }]);
  assert.deepEqual(l.types[0], { kind: "tensor", elemType: "float16", shape: ["N", 3] });
  const b = inferOp("BitCast", 26, [t], [intAttr("to", dataTypeCode("float64"))]);
  assert.equal(b.errors.length, 1);
});
