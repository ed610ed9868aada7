/**
 * Hand-checked tests of the sequence and optional operators: positions (negative, default,
 * out of range), element types of empty sequences, SplitToSequence variants,
 * ConcatFromSequence with new_axis, SequenceMap over sequences plus a tensor (and over an
 * empty sequence), Optional / OptionalHasElement / OptionalGetElement across opsets.
 */

import assert from "node:assert/strict";
import { f32, i32, i64, inferOp, plain, runOp, str, values } from "./_op_harness.ts";
import { runModel } from "./_session_run.ts";
import { Optional, Sequence, Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import type { TypeProto } from "../../pipeline/load/ir.ts";
import {
  graphAttr,
  intAttr,
  makeAttribute,
  makeGraph,
  makeModel,
  makeNode,
  makeValueInfo,
} from "../../pipeline/load/build.ts";

function seqOf(v: Value | undefined): Sequence {
  if (!(v instanceof Sequence)) throw new Error(`expected a sequence, got ${v}`);
  return v;
}

function tensors(v: Value | undefined): { dims: number[]; data: unknown[] }[] {
  return seqOf(v).values.map((t) => {
    const p = plain(t);
    return { dims: p.dims, data: p.data };
  });
}

const a = f32([1, 2]);
const b = f32([3, 4]);
const c = f32([5, 6]);

Deno.test("SequenceEmpty keeps its element type; SequenceLength of it is 0", async () => {
  const [s] = await runOp("SequenceEmpty", 11, [], [intAttr("dtype", 7)]);
  assert.deepEqual(seqOf(s).values, []);
  assert.deepEqual(seqOf(s).elemType, { kind: "tensor", elemType: "int64" });
  const [n] = await runOp("SequenceLength", 11, [s]);
  assert.deepEqual(plain(n), { dims: [], data: [0], type: "int64" });
  const [d] = await runOp("SequenceEmpty", 11, []);
  assert.deepEqual(seqOf(d).elemType, { kind: "tensor", elemType: "float32" });
});

Deno.test("SequenceInsert at default, negative and end positions; type checked", async () => {
  const [s] = await runOp("SequenceConstruct", 11, [a, b]);
  const [end] = await runOp("SequenceInsert", 11, [s, c]);
  assert.deepEqual(tensors(end).map((t) => t.data), [[1, 2], [3, 4], [5, 6]]);
  const [neg] = await runOp("SequenceInsert", 11, [s, c, i64([-1], [])]);
  assert.deepEqual(tensors(neg).map((t) => t.data), [[1, 2], [5, 6], [3, 4]]);
  const [atLen] = await runOp("SequenceInsert", 11, [s, c, i32([2], [])]);
  assert.deepEqual(tensors(atLen).map((t) => t.data), [[1, 2], [3, 4], [5, 6]]);
  await assert.rejects(runOp("SequenceInsert", 11, [s, c, i64([3], [])]), RuntimeError);
  await assert.rejects(runOp("SequenceInsert", 11, [s, i64([1])]), RuntimeError);
  // The input sequence is not modified.
  assert.equal(seqOf(s).values.length, 2);
  // Inserting into an empty int64 sequence checks the type it declares.
  const [e] = await runOp("SequenceEmpty", 11, [], [intAttr("dtype", 7)]);
  await assert.rejects(runOp("SequenceInsert", 11, [e, a]), RuntimeError);
});

Deno.test("SequenceAt and SequenceErase with negative positions and bounds", async () => {
  const [s] = await runOp("SequenceConstruct", 11, [a, b, c]);
  assert.deepEqual(plain((await runOp("SequenceAt", 11, [s, i64([-1], [])]))[0]).data, [5, 6]);
  assert.deepEqual(plain((await runOp("SequenceAt", 11, [s, i32([0], [])]))[0]).data, [1, 2]);
  await assert.rejects(runOp("SequenceAt", 11, [s, i64([3], [])]), RuntimeError);
  await assert.rejects(runOp("SequenceAt", 11, [s, i64([-4], [])]), RuntimeError);
  const [e1] = await runOp("SequenceErase", 11, [s]);
  assert.deepEqual(tensors(e1).map((t) => t.data), [[1, 2], [3, 4]]);
  const [e2] = await runOp("SequenceErase", 11, [s, i64([-3], [])]);
  assert.deepEqual(tensors(e2).map((t) => t.data), [[3, 4], [5, 6]]);
  const [empty] = await runOp("SequenceEmpty", 11, []);
  await assert.rejects(runOp("SequenceErase", 11, [empty]), RuntimeError);
});

Deno.test("SplitToSequence: scalar split with a short last chunk, 1-D split, keepdims", async () => {
  const x = f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 5]);
  const [s1] = await runOp("SplitToSequence", 24, [x, i64([2], [])], [intAttr("axis", 1)]);
  assert.deepEqual(tensors(s1), [
    { dims: [2, 2], data: [0, 1, 5, 6] },
    { dims: [2, 2], data: [2, 3, 7, 8] },
    { dims: [2, 1], data: [4, 9] },
  ]);
  const [s2] = await runOp("SplitToSequence", 11, [x, i32([1, 4])], [intAttr("axis", -1)]);
  assert.deepEqual(tensors(s2).map((t) => t.dims), [[2, 1], [2, 4]]);
  await assert.rejects(runOp("SplitToSequence", 11, [x, i64([1, 2])], [intAttr("axis", 1)]));
  const [s3] = await runOp("SplitToSequence", 11, [x], [intAttr("keepdims", 0)]);
  assert.deepEqual(tensors(s3), [
    { dims: [5], data: [0, 1, 2, 3, 4] },
    { dims: [5], data: [5, 6, 7, 8, 9] },
  ]);
  // keepdims is ignored when split is given.
  const [s4] = await runOp("SplitToSequence", 11, [x, i64([1], [])], [intAttr("keepdims", 0)]);
  assert.deepEqual(tensors(s4).map((t) => t.dims), [[1, 5], [1, 5]]);
  // Strings move too.
  const [s5] = await runOp("SplitToSequence", 11, [str(["a", "b", "c"])]);
  assert.deepEqual(tensors(s5).map((t) => t.data), [["a"], ["b"], ["c"]]);
});

Deno.test("ConcatFromSequence: concatenation, new_axis stacking, negative axes", async () => {
  const [s] = await runOp("SequenceConstruct", 11, [a, b, c]);
  const [cat] = await runOp("ConcatFromSequence", 11, [s], [intAttr("axis", 0)]);
  assert.deepEqual(plain(cat), { dims: [6], data: [1, 2, 3, 4, 5, 6], type: "float32" });
  const [st] = await runOp("ConcatFromSequence", 11, [s], [
    intAttr("axis", -1),
    intAttr("new_axis", 1),
  ]);
  assert.deepEqual(plain(st), { dims: [2, 3], data: [1, 3, 5, 2, 4, 6], type: "float32" });
  const [st0] = await runOp("ConcatFromSequence", 11, [s], [
    intAttr("axis", 0),
    intAttr("new_axis", 1),
  ]);
  assert.deepEqual(plain(st0).dims, [3, 2]);
  const [bad] = await runOp("SequenceConstruct", 11, [a, f32([1, 2, 3], [1, 3])]);
  await assert.rejects(
    runOp("ConcatFromSequence", 11, [bad], [intAttr("axis", 0)]),
    RuntimeError,
  );
  const [i64s] = await runOp("SequenceConstruct", 11, [
    i64([1], [1, 1]),
    i64([2, 3], [1, 2]),
  ]);
  const [cat64] = await runOp("ConcatFromSequence", 11, [i64s], [intAttr("axis", 1)]);
  assert.deepEqual(values(cat64 as Tensor), [1n, 2n, 3n]);
});

Deno.test("SequenceMap: two sequences plus a tensor, and an empty sequence", async () => {
  const body = makeGraph({
    node: [
      makeNode("Add", ["x", "y"], ["s"]),
      makeNode("Mul", ["s", "k"], ["m"]),
      makeNode("Shape", ["x"], ["sh"]),
    ],
    input: [
      makeValueInfo("x", "float32"),
      makeValueInfo("y", "float32"),
      makeValueInfo("k", "float32"),
    ],
    output: [makeValueInfo("m", "float32"), makeValueInfo("sh", "int64", [1])],
  });
  const seqType: TypeProto = {
    sequenceType: { elemType: { tensorType: { elemType: 1 } } },
  };
  const m = makeModel(
    makeGraph({
      node: [
        makeNode("SequenceMap", ["xs", "ys", "k"], ["ms", "shapes"], [graphAttr("body", body)]),
      ],
      input: [
        makeValueInfo("xs", seqType),
        makeValueInfo("ys", seqType),
        makeValueInfo("k", "float32", []),
      ],
      output: [makeValueInfo("ms"), makeValueInfo("shapes")],
    }),
    { opsetImport: [{ domain: "", version: 17 }] },
  );
  const out = await runModel(m, {
    xs: new Sequence([f32([1, 2]), f32([3])]),
    ys: new Sequence([f32([10, 20]), f32([30])]),
    k: f32([2], []),
  });
  assert.deepEqual(tensors(out.ms).map((t) => t.data), [[22, 44], [66]]);
  assert.deepEqual(tensors(out.shapes).map((t) => t.data), [[2], [1]]);
  const empty = await runModel(m, {
    xs: new Sequence([], { kind: "tensor", elemType: "float32" }),
    ys: new Sequence([], { kind: "tensor", elemType: "float32" }),
    k: f32([2], []),
  });
  assert.equal(seqOf(empty.ms).values.length, 0);
  assert.deepEqual(seqOf(empty.shapes).elemType, { kind: "tensor", elemType: "int64" });
  await assert.rejects(
    runModel(m, {
      xs: new Sequence([f32([1])]),
      ys: new Sequence([f32([1]), f32([2])]),
      k: f32([2], []),
    }),
    RuntimeError,
  );
});

Deno.test("Optional ops: wrap, empty with a type, has/get across opsets 15 and 18", async () => {
  const tp: TypeProto = { tensorType: { elemType: 1 } };
  const [empty] = await runOp("Optional", 15, [undefined], [makeAttribute("type", { tp })]);
  assert.ok(empty instanceof Optional && empty.value === undefined);
  assert.deepEqual(empty.elemType, { kind: "tensor", elemType: "float32", shape: undefined });
  await assert.rejects(runOp("Optional", 15, [undefined]), RuntimeError);
  const [full] = await runOp("Optional", 15, [a]);
  assert.ok(full instanceof Optional && full.value === a);
  const has = async (opset: number, v: Value | undefined) =>
    plain((await runOp("OptionalHasElement", opset, [v]))[0]).data[0];
  assert.equal(await has(15, empty), 0);
  assert.equal(await has(15, full), 1);
  assert.equal(await has(18, undefined), 0);
  assert.equal(await has(18, a), 1);
  await assert.rejects(runOp("OptionalHasElement", 15, [undefined]), RuntimeError);
  assert.equal((await runOp("OptionalGetElement", 18, [full]))[0], a);
  assert.equal((await runOp("OptionalGetElement", 18, [a]))[0], a);
  await assert.rejects(runOp("OptionalGetElement", 18, [empty]), RuntimeError);
});

Deno.test("sequence inference: element types and shapes", () => {
  const t = (shape: (number | string | undefined)[]) =>
    ({ kind: "tensor", elemType: "float32", shape }) as const;
  const construct = inferOp("SequenceConstruct", 11, [t([2, 3]), t([2, 4])]);
  assert.deepEqual(construct.types[0], {
    kind: "sequence",
    elem: { kind: "tensor", elemType: "float32", shape: [2, undefined] },
  });
  const seq = { kind: "sequence", elem: t(["n", 3]) } as const;
  assert.deepEqual(inferOp("SequenceAt", 11, [seq, undefined]).types[0], t(["n", 3]));
  assert.deepEqual(
    inferOp("ConcatFromSequence", 11, [seq], [intAttr("axis", -1), intAttr("new_axis", 1)])
      .types[0],
    t(["n", 3, undefined]),
  );
  const split = inferOp("SplitToSequence", 11, [t([4, 6])], [
    intAttr("axis", 1),
    intAttr("keepdims", 0),
  ]);
  assert.deepEqual(split.types[0], { kind: "sequence", elem: t([4]) });
  assert.deepEqual(
    inferOp("SequenceLength", 11, [seq]).types[0],
    { kind: "tensor", elemType: "int64", shape: [] },
  );
});
