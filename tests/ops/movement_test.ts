/**
 * Hand-checked tests of ops/movement.ts for what the ONNX backend suite does not cover:
 * strings, int64 and complex storage, old opset versions, INT64 extremes in Slice,
 * negative pads and repeated reflection in Pad, size-0 dims, and inference.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import { f32, i32, i64, inferOp, iota, runOp, runTensor, str, values } from "./_op_harness.ts";
import { intAttr, intsAttr, stringAttr } from "../../pipeline/load/build.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

Deno.test("Transpose moves strings, int64 and complex elements; default perm reverses", async () => {
  const s = str(["a", "b", "c", "d", "e", "f"], [2, 3]);
  let y = await runTensor("Transpose", 13, [s]);
  assert.deepEqual(y.dims, [3, 2]);
  assert.deepEqual(values(y), ["a", "d", "b", "e", "c", "f"]);
  const big = i64([INT64_MAX, 1, 2, INT64_MIN], [2, 2]);
  y = await runTensor("Transpose", 25, [big], [intsAttr("perm", [1, 0])]);
  assert.deepEqual(values(y), [INT64_MAX, 2n, 1n, INT64_MIN]);
  const c = new Tensor("complex64", Float32Array.of(1, 10, 2, 20, 3, 30, 4, 40), [2, 2]);
  y = await runTensor("Transpose", 1, [c]);
  assert.deepEqual(values(y), [1, 10, 3, 30, 2, 20, 4, 40]);
  const x = iota([2, 3, 4]);
  y = await runTensor("Transpose", 13, [x], [intsAttr("perm", [2, 0, 1])]);
  assert.deepEqual(y.dims, [4, 2, 3]);
  assert.deepEqual(values(y).slice(0, 6), [0, 4, 8, 12, 16, 20]);
  await assert.rejects(
    () => runOp("Transpose", 13, [x], [intsAttr("perm", [0, 0, 1])]),
    RuntimeError,
  );
});

Deno.test("Concat: default axis 1 before opset 4, strings, empty inputs", async () => {
  let y = await runTensor("Concat", 1, [iota([2, 1]), iota([2, 2])]);
  assert.deepEqual(y.dims, [2, 3]);
  assert.deepEqual(values(y), [0, 0, 1, 1, 2, 3]);
  y = await runTensor("Concat", 13, [str(["a"], [1, 1]), str(["b", "c"], [2, 1])], [
    intAttr("axis", -2),
  ]);
  assert.deepEqual(values(y), ["a", "b", "c"]);
  y = await runTensor("Concat", 13, [
    new Tensor("float32", new Float32Array(0), [0, 2]),
    iota([1, 2]),
  ], [
    intAttr("axis", 0),
  ]);
  assert.deepEqual(y.dims, [1, 2]);
  assert.deepEqual(values(y), [0, 1]);
  await assert.rejects(
    () => runOp("Concat", 13, [iota([2, 2]), iota([3, 3])], [intAttr("axis", 0)]),
    RuntimeError,
  );
});

Deno.test("Split: attribute (2), input (1 and 13), num_outputs with an uneven tail (18)", async () => {
  const x = iota([5]);
  let out = await runOp("Split", 2, [x], [intsAttr("split", [2, 3])], 2);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [[0, 1], [2, 3, 4]]);
  out = await runOp("Split", 1, [x, i64([4, 1])], [], 2);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [[0, 1, 2, 3], [4]]);
  out = await runOp("Split", 13, [x, i64([0, 5])], [], 2);
  assert.deepEqual(out.map((t) => (t as Tensor).dims), [[0], [5]]);
  out = await runOp("Split", 18, [x], [intAttr("num_outputs", 3)], 3);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [[0, 1], [2, 3], [4]]);
  await assert.rejects(() => runOp("Split", 13, [x], [], 2), RuntimeError);
  const s = str(["a", "b", "c", "d"], [2, 2]);
  out = await runOp("Split", 11, [s], [intAttr("axis", -1)], 2);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [["a", "c"], ["b", "d"]]);
});

Deno.test("Slice: attributes (1), negative steps and INT64 extremes (13)", async () => {
  const x = iota([3, 4]);
  let y = await runTensor("Slice", 1, [x], [
    intsAttr("starts", [1, -3]),
    intsAttr("ends", [99, -1]),
    intsAttr("axes", [0, 1]),
  ]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), [5, 6, 9, 10]);
  // Full reverse of both axes with the INT64 sentinels.
  y = await runTensor("Slice", 13, [
    x,
    i64([INT64_MAX, -1]),
    i64([INT64_MIN, INT64_MIN]),
    i64([0, 1]),
    i64([-1, -1]),
  ]);
  assert.deepEqual(values(y), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  y = await runTensor("Slice", 13, [x, i64([0]), i64([INT64_MAX]), i64([1]), i64([3])]);
  assert.deepEqual(values(y), [0, 3, 4, 7, 8, 11]);
  y = await runTensor("Slice", 13, [x, i64([3]), i64([0]), i64([1]), i64([-2])]);
  assert.deepEqual(values(y), [3, 1, 7, 5, 11, 9]);
  y = await runTensor("Slice", 13, [x, i64([2]), i64([1]), undefined, undefined]);
  assert.deepEqual(y.dims, [0, 4]);
  y = await runTensor("Slice", 10, [str(["a", "b", "c"]), i32([-2]), i32([3])]);
  assert.deepEqual(values(y), ["b", "c"]);
  await assert.rejects(
    () => runOp("Slice", 13, [x, i64([0]), i64([1]), i64([0]), i64([0])]),
    RuntimeError,
  );
  await assert.rejects(
    () => runOp("Slice", 13, [x, i64([0, 0]), i64([1, 1]), i64([0, -2])]),
    RuntimeError,
  );
});

Deno.test("Expand broadcasts both ways, on int64 and strings", async () => {
  let y = await runTensor("Expand", 13, [i64([1n, INT64_MAX], [2, 1]), i64([2, 1, 3])]);
  assert.deepEqual(y.dims, [2, 2, 3]);
  assert.deepEqual(values(y).slice(0, 6), [1n, 1n, 1n, INT64_MAX, INT64_MAX, INT64_MAX]);
  y = await runTensor("Expand", 8, [str(["a", "b", "c"], [3, 1]), i64([1])]);
  assert.deepEqual(y.dims, [3, 1]);
  y = await runTensor("Expand", 13, [f32([5], []), i64([2, 0])]);
  assert.deepEqual(y.dims, [2, 0]);
  await assert.rejects(() => runOp("Expand", 13, [iota([3]), i64([2])]), RuntimeError);
});

Deno.test("Tile: tiles/axis inputs (1), repeats (13) on strings and zero repeats", async () => {
  let y = await runTensor("Tile", 1, [iota([2, 2]), i64([3], []), i64([1], [])]);
  assert.deepEqual(y.dims, [2, 6]);
  assert.deepEqual(values(y), [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]);
  y = await runTensor("Tile", 13, [str(["a", "b"], [2]), i64([2])]);
  assert.deepEqual(values(y), ["a", "b", "a", "b"]);
  y = await runTensor("Tile", 13, [iota([2, 2]), i64([2, 1])]);
  assert.deepEqual(values(y), [0, 1, 2, 3, 0, 1, 2, 3]);
  y = await runTensor("Tile", 13, [iota([2, 2]), i64([0, 1])]);
  assert.deepEqual(y.dims, [0, 2]);
});

Deno.test("Pad: attribute forms (1, 2), constant_value, axes, wrap, repeated reflection", async () => {
  const x = f32([1, 2, 3]);
  let y = await runTensor("Pad", 1, [x], [intsAttr("paddings", [1, 2]), {
    ...intAttr("value", 0),
    type: "FLOAT",
    f: 9,
  }]);
  assert.deepEqual(values(y), [9, 1, 2, 3, 9, 9]);
  y = await runTensor("Pad", 2, [x], [intsAttr("pads", [4, 4]), stringAttr("mode", "reflect")]);
  assert.deepEqual(values(y), [1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3]);
  y = await runTensor("Pad", 19, [x, i64([4, 2])], [stringAttr("mode", "wrap")]);
  assert.deepEqual(values(y), [3, 1, 2, 3, 1, 2, 3, 1, 2]);
  y = await runTensor("Pad", 11, [i64([5n, 6n]), i64([1, 1]), i64([INT64_MIN], [])]);
  assert.deepEqual(values(y), [INT64_MIN, 5n, 6n, INT64_MIN]);
  y = await runTensor("Pad", 18, [iota([2, 2]), i64([1, 0]), f32([7], []), i64([-1])]);
  assert.deepEqual(y.dims, [2, 3]);
  assert.deepEqual(values(y), [7, 0, 1, 7, 2, 3]);
  y = await runTensor("Pad", 13, [str(["a", "b"]), i64([1, 1])]);
  assert.deepEqual(values(y), ["", "a", "b", ""]);
  y = await runTensor("Pad", 13, [str(["a", "b"]), i64([0, 1]), str(["z"], [])]);
  assert.deepEqual(values(y), ["a", "b", "z"]);
});

Deno.test("Pad: negative pads crop before padding, in every mode", async () => {
  const x = f32([1, 2, 3, 4]);
  let y = await runTensor("Pad", 13, [x, i64([-1, 2])], [stringAttr("mode", "edge")]);
  assert.deepEqual(values(y), [2, 3, 4, 4, 4]);
  y = await runTensor("Pad", 13, [x, i64([-1, -1])]);
  assert.deepEqual(values(y), [2, 3]);
  y = await runTensor("Pad", 13, [x, i64([2, -1])], [stringAttr("mode", "reflect")]);
  assert.deepEqual(values(y), [3, 2, 1, 2, 3]);
  y = await runTensor("Pad", 13, [x, i64([-4, 0])]);
  assert.deepEqual(y.dims, [0]);
  await assert.rejects(() => runOp("Pad", 13, [x, i64([-5, 0])]), RuntimeError);
  await assert.rejects(
    () => runOp("Pad", 13, [x, i64([-4, 1])], [stringAttr("mode", "edge")]),
    RuntimeError,
  );
  await assert.rejects(
    () => runOp("Pad", 13, [x, i64([1, 1])], [stringAttr("mode", "wrap")]),
    RuntimeError,
  );
});

Deno.test("CenterCropPad centres crops (left-rounded) and pads (extra on the right)", async () => {
  const s = str(["a", "b", "c", "d", "e"]);
  let y = await runTensor("CenterCropPad", 18, [s, i64([2])]);
  assert.deepEqual(values(y), ["b", "c"]);
  y = await runTensor("CenterCropPad", 18, [s, i64([8])]);
  assert.deepEqual(values(y), ["", "a", "b", "c", "d", "e", "", ""]);
  y = await runTensor("CenterCropPad", 18, [iota([2, 3]), i32([1])], [intsAttr("axes", [-1])]);
  assert.deepEqual(y.dims, [2, 1]);
  assert.deepEqual(values(y), [1, 4]);
});

Deno.test("DepthToSpace DCR/CRD and SpaceToDepth invert each other", async () => {
  const x = iota([1, 4, 1, 1]);
  let y = await runTensor("DepthToSpace", 11, [x], [intAttr("blocksize", 2)]);
  assert.deepEqual(y.dims, [1, 1, 2, 2]);
  assert.deepEqual(values(y), [0, 1, 2, 3]);
  const x8 = iota([1, 8, 1, 1]);
  y = await runTensor("DepthToSpace", 13, [x8], [
    intAttr("blocksize", 2),
    stringAttr("mode", "CRD"),
  ]);
  assert.deepEqual(values(y), [0, 1, 2, 3, 4, 5, 6, 7]);
  y = await runTensor("DepthToSpace", 13, [x8], [intAttr("blocksize", 2)]);
  assert.deepEqual(values(y), [0, 2, 4, 6, 1, 3, 5, 7]);
  const img = iota([1, 2, 4, 6]);
  const d = await runTensor("SpaceToDepth", 13, [img], [intAttr("blocksize", 2)]);
  assert.deepEqual(d.dims, [1, 8, 2, 3]);
  const back = await runTensor("DepthToSpace", 13, [d], [intAttr("blocksize", 2)]);
  assert.deepEqual(values(back), values(img));
  await assert.rejects(
    () => runOp("DepthToSpace", 13, [iota([1, 3, 1, 1])], [intAttr("blocksize", 2)]),
    RuntimeError,
  );
});

Deno.test("ReverseSequence reverses the first sequence_lens steps per batch", async () => {
  const x = str(["a0", "b0", "a1", "b1", "a2", "b2"], [3, 2]); // [time, batch]
  const y = await runTensor("ReverseSequence", 10, [x, i64([3, 1])]);
  assert.deepEqual(values(y), ["a2", "b0", "a1", "b1", "a0", "b2"]);
  const xb = iota([2, 3]); // [batch, time]
  const z = await runTensor("ReverseSequence", 10, [xb, i64([2, 0])], [
    intAttr("batch_axis", 0),
    intAttr("time_axis", 1),
  ]);
  assert.deepEqual(values(z), [1, 0, 2, 3, 4, 5]);
});

Deno.test("Compress flattens without an axis and ignores a short condition's tail", async () => {
  const b = (v: number[]) => new Tensor("bool", Uint8Array.from(v), [v.length]);
  let y = await runTensor("Compress", 11, [iota([2, 2]), b([0, 1, 1])]);
  assert.deepEqual(values(y), [1, 2]);
  y = await runTensor("Compress", 11, [str(["a", "b", "c", "d"], [2, 2]), b([1])], [
    intAttr("axis", -1),
  ]);
  assert.deepEqual(y.dims, [2, 1]);
  assert.deepEqual(values(y), ["a", "c"]);
  await assert.rejects(() => runOp("Compress", 11, [iota([2]), b([1, 1, 1])]), RuntimeError);
});

Deno.test("NonZero on strings, int64, negative zero and scalars", async () => {
  let y = await runTensor("NonZero", 13, [str(["", "x", "y", ""], [2, 2])]);
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(values(y), [0n, 1n, 1n, 0n]);
  y = await runTensor("NonZero", 9, [i64([0n, INT64_MIN, 0n])]);
  assert.deepEqual(values(y), [1n]);
  y = await runTensor("NonZero", 13, [f32([-0, NaN, 0])]);
  assert.deepEqual(values(y), [1n]);
  y = await runTensor("NonZero", 13, [f32([3], [])]);
  assert.deepEqual(y.dims, [1, 1]);
});

Deno.test("Trilu keeps the triangle around diagonal k, any element type", async () => {
  const x = i64([1, 2, 3, 4, 5, 6], [2, 3]);
  let y = await runTensor("Trilu", 14, [x]);
  assert.deepEqual(values(y), [1n, 2n, 3n, 0n, 5n, 6n]);
  y = await runTensor("Trilu", 14, [x, i64([1], [])], [intAttr("upper", 0)]);
  assert.deepEqual(values(y), [1n, 2n, 0n, 4n, 5n, 6n]);
  y = await runTensor("Trilu", 14, [x, i64([-5], [])], [intAttr("upper", 0)]);
  assert.deepEqual(values(y), [0n, 0n, 0n, 0n, 0n, 0n]);
  y = await runTensor("Trilu", 14, [str(["a", "b", "c", "d"], [2, 2]), i64([1], [])]);
  assert.deepEqual(values(y), ["", "b", "", ""]);
});

Deno.test("Unique: strings sorted and unsorted, all four outputs; along an axis", async () => {
  const s = str(["b", "a", "b", "c", "a"]);
  let out = await runOp("Unique", 11, [s], [], 4);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [
    ["a", "b", "c"],
    [1n, 0n, 3n],
    [1n, 0n, 1n, 2n, 0n],
    [2n, 2n, 1n],
  ]);
  out = await runOp("Unique", 11, [s], [intAttr("sorted", 0)], 4);
  assert.deepEqual(out.map((t) => values(t as Tensor)), [
    ["b", "a", "c"],
    [0n, 1n, 3n],
    [0n, 1n, 0n, 2n, 1n],
    [2n, 2n, 1n],
  ]);
  const big = i64([3n, INT64_MIN, 3n]);
  out = await runOp("Unique", 11, [big], [], 1);
  assert.deepEqual(values(out[0] as Tensor), [INT64_MIN, 3n]);
  const m = f32([2, 1, 1, 0, 2, 1], [3, 2]);
  out = await runOp("Unique", 11, [m], [intAttr("axis", 0)], 4);
  assert.deepEqual((out[0] as Tensor).dims, [2, 2]);
  assert.deepEqual(values(out[0] as Tensor), [1, 0, 2, 1]);
  assert.deepEqual(values(out[2] as Tensor), [1n, 0n, 1n]);
  assert.deepEqual(values(out[3] as Tensor), [1n, 2n]);
});

Deno.test("inference: Transpose, Concat, Split, Slice, Expand, Tile, Pad", () => {
  const t = (shape: (number | string | undefined)[]) => ({
    kind: "tensor" as const,
    elemType: "float32" as const,
    shape,
  });
  assert.deepEqual(inferOp("Transpose", 13, [t(["N", 3, 4])]).types[0], t([4, 3, "N"]));
  assert.deepEqual(
    inferOp("Concat", 13, [t(["N", 3]), t(["N", 5])], [intAttr("axis", 1)]).types[0],
    t(["N", 8]),
  );
  const sp = inferOp("Split", 18, [t([5, "N"])], [intAttr("num_outputs", 3)], [], 3).types;
  assert.deepEqual(sp, [t([2, "N"]), t([2, "N"]), t([1, "N"])]);
  assert.deepEqual(
    inferOp("Slice", 13, [t([10, "N"]), undefined, undefined, undefined, undefined], [], [
      undefined,
      i64([1]),
      i64([INT64_MAX]),
      i64([0]),
      i64([2]),
    ]).types[0],
    t([5, "N"]),
  );
  assert.deepEqual(
    inferOp("Expand", 13, [t([3, 1]), undefined], [], [undefined, i64([2, 1, 4])]).types[0],
    t([2, 3, 4]),
  );
  assert.deepEqual(
    inferOp("Tile", 13, [t([3, "N"]), undefined], [], [undefined, i64([2, 1])]).types[0],
    t([6, "N"]),
  );
  assert.deepEqual(
    inferOp("Pad", 13, [t([3, "N"]), undefined], [], [undefined, i64([1, 0, 1, 0])]).types[0],
    t([5, "N"]),
  );
  const bad = inferOp("Concat", 13, [t([2, 3]), t([4, 5])], [intAttr("axis", 0)]);
  assert.equal(bad.errors.length, 1);
});
