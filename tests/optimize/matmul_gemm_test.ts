/**
 * Tests of matmul_add_fusion.ts, reshape_gemm_fusion.ts and matmul_transpose_fusion.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import {
  floatInfo,
  floatInit,
  int64Init,
  model,
  opCounts,
  optimizeAndCompare,
  randomFloats,
  randomTensor,
} from "./_passes_helpers.ts";
import { intAttr, intsAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";

Deno.test("matmul-add-to-gemm: a 2-D MatMul + bias becomes Gemm; 3-D and widening ones stay", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("MatMul", ["a", "W"], ["mm"], [], { name: "mm2d" }),
      makeNode("Add", ["b", "mm"], ["y"], [], { name: "add2d" }),
      makeNode("MatMul", ["a3", "W"], ["mm3"], [], { name: "mm3d" }),
      makeNode("Add", ["mm3", "b"], ["y3"], [], { name: "add3d" }),
      makeNode("MatMul", ["a", "W"], ["mmw"], [], { name: "mm_wide" }),
      makeNode("Add", ["mmw", "wide"], ["yw"], [], { name: "add_wide" }), // [2, 1, 4] widens to 3-D
    ],
    input: [floatInfo("a", ["M", 3]), floatInfo("a3", [2, 5, 3])],
    output: [floatInfo("y"), floatInfo("y3"), floatInfo("yw")],
    initializer: [
      floatInit("W", [...randomFloats(12, 4)], [3, 4]),
      floatInit("b", [1, 2, 3, 4], [4]),
      floatInit("wide", [...randomFloats(8, 5)], [2, 1, 4]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: ["matmul-add-to-gemm"] }, {
    a: randomTensor([5, 3]),
    a3: randomTensor([2, 5, 3], 2),
  });
  assert.deepEqual(opCounts(out), { Gemm: 1, MatMul: 2, Add: 2 });
  const gemm = out.graph!.node.find((n) => n.opType === "Gemm")!;
  assert.deepEqual(gemm.input, ["a", "W", "b"]);
  assert.deepEqual(gemm.output, ["y"]);
  assert.deepEqual(report.passes[0].details, ["fused mm2d (MatMul) + add2d (Add) into Gemm"]);
});

Deno.test("reshape-gemm-to-matmul: flatten → Gemm(transB) → unflatten becomes MatMul + Add", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Reshape", ["x", "flat"], ["x2"], [], { name: "flatten" }),
      makeNode("Gemm", ["x2", "W", "b"], ["g"], [intAttr("transB", 1)], { name: "linear" }),
      makeNode("Reshape", ["g", "back"], ["y"], [], { name: "unflatten" }),
    ],
    input: [floatInfo("x", [7, "N", 8])],
    output: [floatInfo("y")],
    initializer: [
      int64Init("flat", [-1, 8], [2]),
      int64Init("back", [7, -1, 6], [3]),
      floatInit("W", [...randomFloats(48, 6)], [6, 8]),
      floatInit("b", [...randomFloats(6, 7)], [6]),
    ],
  }));
  for (const n of [1, 3]) {
    const { model: out } = await optimizeAndCompare(m, {
      passes: ["reshape-gemm-to-matmul", "unused-initializer-removal"],
    }, { x: randomTensor([7, n, 8], n) });
    assert.deepEqual(opCounts(out), { MatMul: 1, Add: 1 });
    const mm = out.graph!.node[0];
    assert.equal(mm.input[0], "x");
    const w = tensorFromProto(out.graph!.initializer.find((t) => t.name === mm.input[1])!);
    assert.deepEqual([...w.dims], [8, 6]);
    assert.deepEqual(out.graph!.node[1].output, ["y"]);
  }
});

Deno.test("reshape-gemm-to-matmul: a reshape that does not restore the leading dims stays", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Reshape", ["x", "flat"], ["x2"], [], { name: "flatten" }),
      makeNode("Gemm", ["x2", "W"], ["g"], [], { name: "linear" }),
      makeNode("Reshape", ["g", "back"], ["y"], [], { name: "unflatten" }),
    ],
    input: [floatInfo("x", [2, 3, 4])],
    output: [floatInfo("y")],
    initializer: [
      int64Init("flat", [-1, 4], [2]),
      int64Init("back", [3, 2, 5], [3]),
      floatInit("W", [...randomFloats(20, 6)], [4, 5]),
    ],
  }));
  const { report } = await optimizeModel(m, { passes: ["reshape-gemm-to-matmul"] });
  assert.equal(report.passes[0].changedRuns, 0);
});

Deno.test("matmul-transpose-fusion: Transposes and scalar scales fold into FusedMatMul", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Transpose", ["a"], ["at"], [intsAttr("perm", [0, 2, 1])], { name: "ta" }),
      makeNode("Div", ["b", "two"], ["bs"], [], { name: "scale_b" }),
      makeNode("MatMul", ["at", "bs"], ["mm"], [], { name: "mm" }),
      makeNode("Mul", ["mm", "three"], ["y"], [], { name: "scale_out" }),
    ],
    input: [floatInfo("a", [2, 4, 3]), floatInfo("b", [2, 4, 5])],
    output: [floatInfo("y")],
    initializer: [floatInit("two", [2], []), floatInit("three", [3], [1])],
  }));
  const { model: out, report } = await optimizeAndCompare(m, {
    passes: ["matmul-transpose-fusion"],
  }, { a: randomTensor([2, 4, 3]), b: randomTensor([2, 4, 5], 2) });
  assert.deepEqual(opCounts(out), { "com.microsoft.FusedMatMul": 1 });
  const f = out.graph!.node[0];
  assert.deepEqual(f.input, ["a", "b"]);
  assert.deepEqual(f.output, ["y"]);
  const attrs = Object.fromEntries(
    f.attribute.map((x) => [x.name, x.type === "FLOAT" ? x.f : Number(x.i)]),
  );
  assert.deepEqual(attrs, { alpha: 1.5, transA: 1, transB: 0 });
  assert.ok(out.opsetImport.some((o) => o.domain === "com.microsoft" && o.version === 1));
  assert.equal(report.passes[0].details.length, 1);
});

Deno.test("matmul-transpose-fusion: a plain MatMul or a batch-moving Transpose is left alone", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("MatMul", ["a", "b"], ["y1"], [], { name: "plain" }),
      makeNode("Transpose", ["a"], ["at"], [intsAttr("perm", [1, 0, 2])], { name: "batch_move" }),
      makeNode("MatMul", ["at", "b2"], ["y2"], [], { name: "mm" }),
    ],
    input: [floatInfo("a", [2, 2, 4]), floatInfo("b", [2, 4, 3]), floatInfo("b2", [4, 3])],
    output: [floatInfo("y1"), floatInfo("y2")],
  }));
  const { report } = await optimizeModel(m, { passes: ["matmul-transpose-fusion"] });
  assert.equal(report.passes[0].changedRuns, 0);
});
