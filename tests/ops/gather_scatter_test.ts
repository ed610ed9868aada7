/**
 * Hand-checked tests of ops/gather_scatter.ts for what the ONNX backend suite does not
 * cover: int32/int64 and negative indices, strings, int64 beyond 2^53, complex storage,
 * scatter reductions on integer, bool and float16 data, TensorScatter modes, OneHot on
 * non-float values, and inference.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError, UnsupportedError } from "../../pipeline/errors.ts";
import { f32, i32, i64, inferOp, iota, runOp, runTensor, str, values } from "./_op_harness.ts";
import { intAttr, stringAttr } from "../../pipeline/load/build.ts";

const BIG = 2n ** 62n + 1n;

Deno.test("Gather: negative int32 indices, strings, scalar index, complex, errors", async () => {
  const s = str(["a", "b", "c", "d", "e", "f"], [3, 2]);
  let y = await runTensor("Gather", 13, [s, i32([-1, 0])]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), ["e", "f", "a", "b"]);
  y = await runTensor("Gather", 13, [s, i64([1], [])], [intAttr("axis", 1)]);
  assert.deepEqual(y.dims, [3]);
  assert.deepEqual(values(y), ["b", "d", "f"]);
  y = await runTensor("Gather", 1, [iota([2, 3]), i64([2, 0, 2, 1], [2, 2])], [
    intAttr("axis", -1),
  ]);
  assert.deepEqual(y.dims, [2, 2, 2]);
  assert.deepEqual(values(y), [2, 0, 2, 1, 5, 3, 5, 4]);
  const c = new Tensor("complex128", Float64Array.of(1, 2, 3, 4), [2]);
  y = await runTensor("Gather", 13, [c, i64([1, 1, 0])]);
  assert.deepEqual(values(y), [3, 4, 3, 4, 1, 2]);
  y = await runTensor("Gather", 13, [iota([2, 3]), i64([], [0])]);
  assert.deepEqual(y.dims, [0, 3]);
  await assert.rejects(() => runOp("Gather", 13, [iota([3]), i64([3])]), RuntimeError);
  await assert.rejects(() => runOp("Gather", 13, [iota([3]), f32([0])]), UnsupportedError);
});

Deno.test("GatherElements: negative indices on either axis, int64 data", async () => {
  const x = i64([1, 2, BIG, 4], [2, 2]);
  let y = await runTensor("GatherElements", 13, [x, i32([-1, 0, 0, 0], [2, 2])], [
    intAttr("axis", 1),
  ]);
  assert.deepEqual(values(y), [2n, 1n, BIG, BIG]);
  y = await runTensor("GatherElements", 11, [x, i64([1, -2], [1, 2])]);
  assert.deepEqual(y.dims, [1, 2]);
  assert.deepEqual(values(y), [BIG, 2n]);
  await assert.rejects(() => runOp("GatherElements", 13, [x, i64([2], [1, 1])]), RuntimeError);
});

Deno.test("GatherND: element and slice gathers, batch_dims, strings", async () => {
  const s = str(["a", "b", "c", "d", "e", "f", "g", "h"], [2, 2, 2]);
  let y = await runTensor("GatherND", 11, [s, i64([0, 1, 1, 1, 0, 0], [2, 3])]);
  assert.deepEqual(values(y), ["d", "e"]);
  y = await runTensor("GatherND", 12, [s, i64([1, -2], [2, 1])], [intAttr("batch_dims", 1)]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), ["c", "d", "e", "f"]);
  y = await runTensor("GatherND", 13, [s, i64([1, 0, 1, 0], [2, 1, 2])], [
    intAttr("batch_dims", 1),
  ]);
  assert.deepEqual(y.dims, [2, 1]);
  assert.deepEqual(values(y), ["c", "g"]);
  await assert.rejects(() => runOp("GatherND", 13, [s, i64([0, 0, 0, 0], [1, 4])]), RuntimeError);
});

Deno.test("ScatterElements: add/mul on integers wraps and stays exact", async () => {
  const x = i32([1, 2, 3]);
  let y = await runTensor("ScatterElements", 16, [x, i64([0, 0, -1]), i32([10, 20, 5])], [
    stringAttr("reduction", "add"),
  ]);
  assert.deepEqual(values(y), [31, 2, 8]);
  y = await runTensor("ScatterElements", 16, [i32([65536]), i64([0]), i32([65536])], [
    stringAttr("reduction", "mul"),
  ]);
  assert.deepEqual(values(y), [0]); // 2^32 wraps to 0 in int32
  y = await runTensor("ScatterElements", 18, [i64([BIG]), i64([0]), i64([3])], [
    stringAttr("reduction", "mul"),
  ]);
  assert.deepEqual(values(y), [BigInt.asIntN(64, BIG * 3n)]);
  y = await runTensor("ScatterElements", 18, [i64([5, 5]), i64([0, 1]), i64([BIG, -BIG])], [
    stringAttr("reduction", "max"),
  ]);
  assert.deepEqual(values(y), [BIG, 5n]);
  // The input is not modified.
  assert.deepEqual(values(x), [1, 2, 3]);
});

Deno.test("ScatterElements: bool and float16 reductions; strings only without reduction", async () => {
  const b = (v: number[]) => new Tensor("bool", Uint8Array.from(v), [v.length]);
  let y = await runTensor("ScatterElements", 18, [b([0, 1]), i64([0, 1]), b([1, 0])], [
    stringAttr("reduction", "add"),
  ]);
  assert.deepEqual(values(y), [1, 1]);
  y = await runTensor("ScatterElements", 18, [b([0, 1]), i64([0, 1]), b([1, 0])], [
    stringAttr("reduction", "mul"),
  ]);
  assert.deepEqual(values(y), [0, 0]);
  const h = new Tensor("float16", [2048, 1], [2]);
  y = await runTensor("ScatterElements", 18, [h, i64([0, 0]), new Tensor("float16", [1, 1], [2])], [
    stringAttr("reduction", "add"),
  ]);
  // float16 cannot hold 2049: each step rounds (ties to even) back to 2048.
  assert.deepEqual(Array.from(new Float16Array((y.data as Uint16Array).buffer)), [2048, 1]);
  y = await runTensor("ScatterElements", 13, [
    str(["a", "b"], [1, 2]),
    i64([1], [1, 1]),
    str(["z"], [1, 1]),
  ], [
    intAttr("axis", 1),
  ]);
  assert.deepEqual(values(y), ["a", "z"]);
  await assert.rejects(
    () =>
      runOp("ScatterElements", 18, [str(["a"]), i64([0]), str(["b"])], [
        stringAttr("reduction", "add"),
      ]),
    UnsupportedError,
  );
  await assert.rejects(
    () =>
      runOp("ScatterElements", 16, [f32([1]), i64([0]), f32([2])], [
        stringAttr("reduction", "max"),
      ]),
    RuntimeError,
  );
  y = await runTensor("Scatter", 9, [iota([2, 2]), i64([1, 0], [1, 2]), f32([8, 9], [1, 2])]);
  assert.deepEqual(values(y), [0, 9, 8, 3]);
});

Deno.test("ScatterND: slices, duplicates with add, min on floats", async () => {
  let y = await runTensor("ScatterND", 16, [
    iota([2, 2]),
    i64([1, 1], [2, 1]),
    f32([1, 1, 2, 2], [2, 2]),
  ], [
    stringAttr("reduction", "add"),
  ]);
  assert.deepEqual(values(y), [0, 1, 5, 6]);
  y = await runTensor("ScatterND", 18, [f32([5, 5, 5]), i64([0, 2, -1], [3, 1]), f32([4, 9, 1])], [
    stringAttr("reduction", "min"),
  ]);
  assert.deepEqual(values(y), [4, 5, 1]);
  y = await runTensor("ScatterND", 11, [
    str(["a", "b", "c", "d"], [2, 2]),
    i64([1, 0], [1, 2]),
    str(["z"]),
  ]);
  assert.deepEqual(values(y), ["a", "b", "z", "d"]);
  await assert.rejects(
    () => runOp("ScatterND", 11, [iota([2, 2]), i64([0], [1, 1]), iota([3])]),
    RuntimeError,
  );
});

Deno.test("TensorScatter writes per-batch windows linearly or circularly", async () => {
  // past [batch 2, seq 4, 1], update [2, 2, 1]
  const past = iota([2, 4, 1]);
  const up = f32([10, 11, 20, 21], [2, 2, 1]);
  let y = await runTensor("TensorScatter", 24, [past, up, i64([1, 2])]);
  assert.deepEqual(values(y), [0, 10, 11, 3, 4, 5, 20, 21]);
  y = await runTensor("TensorScatter", 24, [past, up, i64([3, 0])], [
    stringAttr("mode", "circular"),
  ]);
  assert.deepEqual(values(y), [11, 1, 2, 10, 20, 21, 6, 7]);
  y = await runTensor("TensorScatter", 24, [past, up, undefined]);
  assert.deepEqual(values(y), [10, 11, 2, 3, 20, 21, 6, 7]);
  await assert.rejects(() => runOp("TensorScatter", 24, [past, up, i64([3, 0])]), RuntimeError);
  // axis 2 of a 4-D cache [batch, heads, seq, dim], strings.
  const sp = str(["a", "b", "c", "d"], [1, 2, 2, 1]);
  const su = str(["X", "Y"], [1, 2, 1, 1]);
  y = await runTensor("TensorScatter", 24, [sp, su, i64([1])]);
  assert.deepEqual(values(y), ["a", "X", "c", "Y"]);
});

Deno.test("OneHot: negative and fractional indices, axis 0, string values", async () => {
  let y = await runTensor("OneHot", 11, [i64([0, -1, 5]), f32([3], []), str(["off", "on"])]);
  assert.deepEqual(y.dims, [3, 3]);
  assert.deepEqual(values(y), ["on", "off", "off", "off", "off", "on", "off", "off", "off"]);
  y = await runTensor("OneHot", 11, [f32([1.7, 0]), i64([2], [1]), i64([0, BIG])], [
    intAttr("axis", 0),
  ]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), [0n, BIG, BIG, 0n]);
  y = await runTensor("OneHot", 9, [i32([2]), i32([3]), f32([0, 1])]);
  assert.deepEqual(values(y), [0, 0, 1]);
});

Deno.test("inference: Gather, GatherND, OneHot, GatherElements", () => {
  const t = (elemType: "float32" | "int64", shape: (number | string | undefined)[]) => ({
    kind: "tensor" as const,
    elemType,
    shape,
  });
  assert.deepEqual(
    inferOp("Gather", 13, [t("float32", ["N", 5, 6]), t("int64", [2, 3])], [intAttr("axis", 1)])
      .types[0],
    t("float32", ["N", 2, 3, 6]),
  );
  assert.deepEqual(
    inferOp("GatherND", 13, [t("float32", ["B", 4, 5]), t("int64", ["B", 7, 1])], [
      intAttr("batch_dims", 1),
    ])
      .types[0],
    t("float32", ["B", 7, 5]),
  );
  assert.deepEqual(
    inferOp("OneHot", 11, [t("int64", ["N", 2]), undefined, t("float32", [2])], [
      intAttr("axis", 1),
    ], [
      undefined,
      i64([10], []),
    ]).types[0],
    t("float32", ["N", 10, 2]),
  );
  assert.deepEqual(
    inferOp("GatherElements", 13, [t("float32", [4, 5]), t("int64", [2, 5])]).types[0],
    t("float32", [2, 5]),
  );
});
