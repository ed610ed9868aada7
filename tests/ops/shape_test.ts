/**
 * Hand-checked tests of ops/shape.ts for what the ONNX backend suite does not cover: old
 * opset versions (attributes that later became inputs), strings and int64 extremes,
 * complex storage, size-0 dims, Constant's attribute forms, Dropout masks, Range on int64,
 * and type/shape inference.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { Sequence } from "../../pipeline/tensor/tensor.ts";
import { reshapeDims } from "../../ops/shape.ts";
import { tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { f32, i32, i64, inferOp, iota, runOp, runTensor, str, values } from "./_op_harness.ts";
import { RuntimeError, UnsupportedError } from "../../pipeline/errors.ts";
import {
  floatAttr,
  floatsAttr,
  intAttr,
  intsAttr,
  stringAttr,
  stringsAttr,
  tensorAttr,
} from "../../pipeline/load/build.ts";

Deno.test("reshapeDims resolves 0, -1 and allowzero", () => {
  assert.deepEqual(reshapeDims([2, 3, 4], [0, -1], false), [2, 12]);
  assert.deepEqual(reshapeDims([2, 3, 4], [4, 0, -1], false), [4, 3, 2]);
  assert.deepEqual(reshapeDims([0, 3], [3, 0], true), [3, 0]);
  assert.deepEqual(reshapeDims([0, 3], [-1, 3], false), [0, 3]);
  assert.throws(() => reshapeDims([2, 3], [4, -1], false));
  assert.throws(() => reshapeDims([2, 3], [-1, -1], false));
  assert.throws(() => reshapeDims([2, 3], [7], false));
});

Deno.test("Reshape-1 reads the shape attribute and shares the storage", async () => {
  const x = iota([2, 3]);
  const y = await runTensor("Reshape", 1, [x], [intsAttr("shape", [3, -1])]);
  assert.deepEqual(y.dims, [3, 2]);
  assert.equal(y.data, x.data);
});

Deno.test("Reshape-14 allowzero keeps an explicit zero dim", async () => {
  const x = new Tensor("float32", new Float32Array(0), [0, 3]);
  const y = await runTensor("Reshape", 14, [x, i64([3, 0])], [intAttr("allowzero", 1)]);
  assert.deepEqual(y.dims, [3, 0]);
  const z = await runTensor("Reshape", 14, [x, i64([0, 3])]);
  assert.deepEqual(z.dims, [0, 3]);
});

Deno.test("Reshape works on strings and rejects a size mismatch", async () => {
  const y = await runTensor("Reshape", 21, [str(["a", "b", "c", "d"]), i64([2, 2])]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), ["a", "b", "c", "d"]);
  await assert.rejects(() => runOp("Reshape", 21, [iota([4]), i64([3])]), RuntimeError);
});

Deno.test("Flatten handles axis 0, negative axes (11+) and rejects them before 11", async () => {
  const x = iota([2, 3, 4]);
  assert.deepEqual((await runTensor("Flatten", 13, [x], [intAttr("axis", 0)])).dims, [1, 24]);
  assert.deepEqual((await runTensor("Flatten", 13, [x], [intAttr("axis", -1)])).dims, [6, 4]);
  assert.deepEqual((await runTensor("Flatten", 13, [x], [intAttr("axis", 3)])).dims, [24, 1]);
  assert.deepEqual((await runTensor("Flatten", 9, [x])).dims, [2, 12]);
  await assert.rejects(() => runOp("Flatten", 9, [x], [intAttr("axis", -1)]), RuntimeError);
});

Deno.test("Squeeze-1/11 take axes from the attribute, 13 from the input", async () => {
  const x = iota([1, 3, 1, 2]);
  assert.deepEqual((await runTensor("Squeeze", 1, [x])).dims, [3, 2]);
  assert.deepEqual((await runTensor("Squeeze", 11, [x], [intsAttr("axes", [-2])])).dims, [1, 3, 2]);
  assert.deepEqual((await runTensor("Squeeze", 13, [x, i64([0])])).dims, [3, 1, 2]);
  assert.deepEqual((await runTensor("Squeeze", 13, [x, undefined])).dims, [3, 2]);
  await assert.rejects(() => runOp("Squeeze", 13, [x, i64([1])]), RuntimeError);
});

Deno.test("Unsqueeze-11 uses the attribute; 13 the input, with negative and unsorted axes", async () => {
  const x = iota([3, 4]);
  assert.deepEqual((await runTensor("Unsqueeze", 11, [x], [intsAttr("axes", [0, 3])])).dims, [
    1,
    3,
    4,
    1,
  ]);
  assert.deepEqual((await runTensor("Unsqueeze", 13, [x, i64([-1, 0])])).dims, [1, 3, 4, 1]);
  const s = await runTensor("Unsqueeze", 13, [
    new Tensor("int64", BigInt64Array.of(7n), []),
    i64([0]),
  ]);
  assert.deepEqual(s.dims, [1]);
  assert.deepEqual(values(s), [7n]);
  await assert.rejects(() => runOp("Unsqueeze", 13, [x, i64([0, 0])]), RuntimeError);
});

Deno.test("Shape-15 clamps start and end; Size counts elements", async () => {
  const x = iota([2, 3, 4]);
  assert.deepEqual(values(await runTensor("Shape", 13, [x])), [2n, 3n, 4n]);
  assert.deepEqual(values(await runTensor("Shape", 15, [x], [intAttr("start", -2)])), [3n, 4n]);
  assert.deepEqual(
    values(await runTensor("Shape", 15, [x], [intAttr("start", 1), intAttr("end", 99)])),
    [
      3n,
      4n,
    ],
  );
  const empty = await runTensor("Shape", 15, [x], [intAttr("start", 2), intAttr("end", 1)]);
  assert.deepEqual(empty.dims, [0]);
  // Shape-1 ignores start/end (they do not exist yet).
  assert.deepEqual(values(await runTensor("Shape", 1, [x], [intAttr("start", 2)])), [2n, 3n, 4n]);
  const size = await runTensor("Size", 19, [new Tensor("float32", new Float32Array(0), [5, 0])]);
  assert.deepEqual(size.dims, []);
  assert.deepEqual(values(size), [0n]);
});

Deno.test("Identity passes tensors and sequences through", async () => {
  const seq = new Sequence([iota([2])]);
  const [y] = await runOp("Identity", 16, [seq]);
  assert.equal(y, seq);
  const t = str(["x"]);
  assert.equal((await runOp("Identity", 1, [t]))[0], t);
});

Deno.test("Constant builds each attribute form with exact types", async () => {
  const big = 9007199254740993n; // 2^53 + 1: exact only as a bigint
  let y = await runTensor("Constant", 13, [], [intAttr("value_int", big)]);
  assert.equal(y.type, "int64");
  assert.deepEqual(y.dims, []);
  assert.deepEqual(values(y), [big]);
  y = await runTensor("Constant", 13, [], [intsAttr("value_ints", [1, -2, big])]);
  assert.deepEqual(values(y), [1n, -2n, big]);
  y = await runTensor("Constant", 13, [], [floatAttr("value_float", 0.5)]);
  assert.equal(y.type, "float32");
  assert.deepEqual(values(y), [0.5]);
  y = await runTensor("Constant", 13, [], [floatsAttr("value_floats", [1.5, -2])]);
  assert.deepEqual(y.dims, [2]);
  y = await runTensor("Constant", 13, [], [stringAttr("value_string", "héllo")]);
  assert.equal(y.type, "string");
  assert.deepEqual(values(y), ["héllo"]);
  y = await runTensor("Constant", 13, [], [stringsAttr("value_strings", ["a", ""])]);
  assert.deepEqual(values(y), ["a", ""]);
  y = await runTensor("Constant", 1, [], [tensorAttr("value", i32([1, 2, 3, 4], [2, 2]))]);
  assert.equal(y.type, "int32");
  assert.deepEqual(y.dims, [2, 2]);
  const sparse = {
    ...intAttr("sparse_value", 0),
    type: "SPARSE_TENSOR" as const,
    sparseTensor: {
      values: tensorToProto(f32([5, 6])),
      indices: tensorToProto(i64([1, 4])),
      dims: [2, 3],
    },
  };
  y = await runTensor("Constant", 11, [], [sparse]);
  assert.deepEqual(y.dims, [2, 3]);
  assert.deepEqual(values(y), [0, 5, 0, 0, 6, 0]);
  await assert.rejects(() => runOp("Constant", 13, [], []), RuntimeError);
  await assert.rejects(
    () => runOp("Constant", 13, [], [floatAttr("value_float", 1), intAttr("value_int", 1)]),
    RuntimeError,
  );
});

Deno.test("ConstantOfShape fills with the value's type, defaults to float32 zeros", async () => {
  let y = await runTensor("ConstantOfShape", 9, [i64([2, 3])]);
  assert.equal(y.type, "float32");
  assert.deepEqual(values(y), [0, 0, 0, 0, 0, 0]);
  y = await runTensor("ConstantOfShape", 20, [i64([2])], [tensorAttr("value", i64([-5n], [1]))]);
  assert.equal(y.type, "int64");
  assert.deepEqual(values(y), [-5n, -5n]);
  y = await runTensor("ConstantOfShape", 20, [i64([])], [tensorAttr("value", i32([7], [1]))]);
  assert.deepEqual(y.dims, []);
  assert.deepEqual(values(y), [7]);
  y = await runTensor("ConstantOfShape", 21, [i64([0, 4])], [tensorAttr("value", f32([1], [1]))]);
  assert.deepEqual(y.dims, [0, 4]);
  const c = new Tensor("complex64", Float32Array.of(1, -2), [1]);
  y = await runTensor("ConstantOfShape", 21, [i64([2])], [tensorAttr("value", c)]);
  assert.deepEqual(values(y), [1, -2, 1, -2]);
});

Deno.test("Range is exact on int64 beyond 2^53 and handles negative and empty ranges", async () => {
  const start = 2n ** 60n;
  let y = await runTensor("Range", 11, [i64([start], []), i64([start + 7n], []), i64([3n], [])]);
  assert.deepEqual(values(y), [start, start + 3n, start + 6n]);
  y = await runTensor("Range", 11, [i64([10], []), i64([4], []), i64([-2], [])]);
  assert.deepEqual(values(y), [10n, 8n, 6n]);
  y = await runTensor("Range", 11, [i32([3], []), i32([3], []), i32([1], [])]);
  assert.deepEqual(y.dims, [0]);
  const i16 = (v: number) => new Tensor("int16", Int16Array.of(v), []);
  y = await runTensor("Range", 11, [i16(-3), i16(3), i16(2)]);
  assert.equal(y.type, "int16");
  assert.deepEqual(values(y), [-3, -1, 1]);
  const d = (v: number) => new Tensor("float64", Float64Array.of(v), []);
  y = await runTensor("Range", 11, [d(1), d(2), d(0.25)]);
  assert.deepEqual(values(y), [1, 1.25, 1.5, 1.75]);
  await assert.rejects(() => runOp("Range", 11, [d(1), d(2), d(0)]), RuntimeError);
  const h = (v: number) => new Tensor("float16", [v], []);
  await assert.rejects(() => runOp("Range", 11, [h(0), h(2), h(1)]), UnsupportedError);
  y = await runTensor("Range", 27, [h(0), h(2), h(0.5)]);
  assert.equal(y.type, "float16");
  assert.deepEqual(y.dims, [4]);
});

Deno.test("Dropout in inference is the identity; masks are ones of the right type", async () => {
  const x = f32([1, 2, 3]);
  let out = await runOp("Dropout", 7, [x], [floatAttr("ratio", 0.3)], 2);
  assert.equal(out[0], x);
  assert.equal((out[1] as Tensor).type, "float32");
  assert.deepEqual(values(out[1] as Tensor), [1, 1, 1]);
  out = await runOp("Dropout", 13, [x, f32([0.5], []), undefined], [], 2);
  assert.equal((out[1] as Tensor).type, "bool");
  assert.deepEqual(values(out[1] as Tensor), [1, 1, 1]);
  const training = new Tensor("bool", Uint8Array.of(1), []);
  out = await runOp("Dropout", 22, [x, f32([0], []), training], [], 2);
  assert.equal(out[0], x);
  await assert.rejects(() => runOp("Dropout", 22, [x, f32([0.5], []), training]), UnsupportedError);
  // Dropout-6 defaults to is_test=0, which is training mode.
  await assert.rejects(() => runOp("Dropout", 6, [x]), UnsupportedError);
  assert.equal((await runOp("Dropout", 6, [x], [intAttr("is_test", 1)]))[0], x);
});

Deno.test("EyeLike honours k and dtype", async () => {
  const x = new Tensor("int32", new Int32Array(6), [2, 3]);
  let y = await runTensor("EyeLike", 9, [x], [intAttr("k", 1)]);
  assert.equal(y.type, "int32");
  assert.deepEqual(values(y), [0, 1, 0, 0, 0, 1]);
  y = await runTensor("EyeLike", 22, [x], [intAttr("k", -1), intAttr("dtype", 7)]);
  assert.equal(y.type, "int64");
  assert.deepEqual(values(y), [0n, 0n, 0n, 1n, 0n, 0n]);
  y = await runTensor("EyeLike", 22, [x], [intAttr("dtype", 9)]);
  assert.deepEqual(values(y), [1, 0, 0, 0, 1, 0]);
  y = await runTensor("EyeLike", 22, [x], [intAttr("dtype", 10)]);
  assert.equal(y.type, "float16");
  assert.deepEqual(Array.from(new Float16Array((y.data as Uint16Array).buffer)), [
    1,
    0,
    0,
    0,
    1,
    0,
  ]);
});

Deno.test("shape inference: Reshape, Flatten, Squeeze, Unsqueeze, Shape, ConstantOfShape", () => {
  const t = (shape: (number | string | undefined)[]) => ({
    kind: "tensor" as const,
    elemType: "float32" as const,
    shape,
  });
  let r = inferOp("Reshape", 19, [t(["N", 3, 4]), undefined], [], [undefined, i64([0, -1])]);
  assert.deepEqual(r.types[0], t(["N", undefined]));
  r = inferOp("Reshape", 19, [t([2, 3, 4]), undefined], [], [undefined, i64([0, -1])]);
  assert.deepEqual(r.types[0], t([2, 12]));
  r = inferOp("Flatten", 13, [t(["N", 3, 4])], [intAttr("axis", 1)]);
  assert.deepEqual(r.types[0], t(["N", 12]));
  r = inferOp("Squeeze", 13, [t([1, "N", 1]), undefined], [], [undefined, i64([0, -1])]);
  assert.deepEqual(r.types[0], t(["N"]));
  r = inferOp("Unsqueeze", 13, [t(["N", 3]), undefined], [], [undefined, i64([1])]);
  assert.deepEqual(r.types[0], t(["N", 1, 3]));
  r = inferOp("Shape", 15, [t(["N", 3, 4])], [intAttr("start", 1)]);
  assert.deepEqual(r.types[0], { kind: "tensor", elemType: "int64", shape: [2] });
  r = inferOp("ConstantOfShape", 20, [undefined], [tensorAttr("value", i64([1], [1]))], [
    i64([2, 5]),
  ]);
  assert.deepEqual(r.types[0], { kind: "tensor", elemType: "int64", shape: [2, 5] });
  r = inferOp("Squeeze", 13, [t([2, 3]), undefined], [], [undefined, i64([0])]);
  assert.equal(r.errors.length, 1);
});
