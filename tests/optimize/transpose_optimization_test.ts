import assert from "node:assert/strict";
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

const PASSES = ["transpose-optimization", "identity-elimination", "dead-node-elimination"];

Deno.test("transpose-optimization: consecutive Transposes merge or cancel", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Transpose", ["x"], ["t1"], [intsAttr("perm", [1, 2, 0])], { name: "t1" }),
      makeNode("Transpose", ["t1"], ["t2"], [intsAttr("perm", [2, 0, 1])], { name: "t2" }),
      makeNode("Relu", ["t2"], ["y1"], [], { name: "relu" }), // t2∘t1 is the identity
      makeNode("Transpose", ["x"], ["u1"], [intsAttr("perm", [1, 0, 2])], { name: "u1" }),
      makeNode("Transpose", ["u1"], ["y2"], [intsAttr("perm", [0, 2, 1])], { name: "u2" }),
    ],
    input: [floatInfo("x", [2, 3, 4])],
    output: [floatInfo("y1"), floatInfo("y2")],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: randomTensor([2, 3, 4]),
  });
  assert.deepEqual(opCounts(out), { Relu: 1, Transpose: 1 });
  const t = out.graph!.node.find((n) => n.opType === "Transpose")!;
  assert.deepEqual(t.input, ["x"]);
  assert.deepEqual(t.attribute[0].ints.map(Number), [1, 2, 0]);
  assert.deepEqual(out.graph!.node.find((n) => n.opType === "Relu")!.input, ["x"]);
});

Deno.test("transpose-optimization: a [1, 0] Transpose is absorbed by Gemm", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Transpose", ["a"], ["at"], [intsAttr("perm", [1, 0])], { name: "ta" }),
      makeNode("Transpose", ["b"], ["bt"], [intsAttr("perm", [1, 0])], { name: "tb" }),
      makeNode("Gemm", ["at", "bt"], ["y"], [intAttr("transB", 1)], { name: "gemm" }),
    ],
    input: [floatInfo("a", [3, 2]), floatInfo("b", [3, 4])],
    output: [floatInfo("y")],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: PASSES }, {
    a: randomTensor([3, 2]),
    b: randomTensor([3, 4], 2),
  });
  assert.deepEqual(opCounts(out), { Gemm: 1 });
  const attrs = Object.fromEntries(out.graph!.node[0].attribute.map((a) => [a.name, Number(a.i)]));
  assert.deepEqual(attrs, { transA: 1, transB: 0 });
});

Deno.test("transpose-optimization: a Transpose sinks through elementwise, MatMul and Slice to cancel", async () => {
  // The sequence-first layout of PyTorch attention: x[B, S, E] → [S, B, E] → ... → back.
  const m = model(makeGraph({
    node: [
      makeNode("Transpose", ["x"], ["xt"], [intsAttr("perm", [1, 0, 2])], { name: "to_sbe" }),
      makeNode("MatMul", ["xt", "W"], ["h"], [], { name: "proj" }),
      makeNode("Add", ["bias", "h"], ["hb"], [], { name: "bias" }),
      makeNode("Mul", ["hb", "per_pos"], ["hm"], [], { name: "per_pos" }), // [S, 1, 1]: transposed too
      makeNode("Relu", ["hm"], ["r"], [], { name: "relu" }),
      makeNode("Slice", ["r", "s0", "e0", "ax"], ["q"], [], { name: "slice_q" }),
      makeNode("Slice", ["r", "s1", "e1", "ax"], ["k"], [], { name: "slice_k" }),
      makeNode("Transpose", ["q"], ["yq"], [intsAttr("perm", [1, 0, 2])], { name: "q_back" }),
      makeNode("Transpose", ["k"], ["yk"], [intsAttr("perm", [1, 2, 0])], { name: "k_back" }),
    ],
    input: [floatInfo("x", ["B", 5, 4])],
    output: [floatInfo("yq"), floatInfo("yk")],
    initializer: [
      floatInit("W", [...randomFloats(24, 3)], [4, 6]),
      floatInit("bias", [...randomFloats(6, 4)], [6]),
      floatInit("per_pos", [...randomFloats(5, 5)], [5, 1, 1]),
      int64Init("s0", [0], [1]),
      int64Init("e0", [3], [1]),
      int64Init("s1", [3], [1]),
      int64Init("e1", [6], [1]),
      int64Init("ax", [-1], [1]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: randomTensor([2, 5, 4]),
  });
  // to_sbe is gone, q_back cancelled, k_back merged into one Transpose of perm (0, 2, 1).
  assert.deepEqual(opCounts(out), { MatMul: 1, Add: 1, Mul: 1, Relu: 1, Slice: 2, Transpose: 1 });
  const t = out.graph!.node.find((n) => n.opType === "Transpose")!;
  assert.deepEqual(t.attribute[0].ints.map(Number), [0, 2, 1]);
  assert.deepEqual(out.graph!.node.find((n) => n.opType === "MatMul")!.input[0], "x");
  const details = report.passes[0].details;
  assert.ok(details.includes("pushed to_sbe (Transpose) down"));
  assert.ok(details.some((d) => d.startsWith("cancelled q_back")));
  assert.ok(details.some((d) => d.startsWith("merged the Transpose pushed down into k_back")));
});

Deno.test("transpose-optimization: a Transpose that cannot reach another one stays", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Transpose", ["x"], ["xt"], [intsAttr("perm", [1, 0, 2])], { name: "t" }),
      makeNode("Relu", ["xt"], ["r"], [], { name: "relu" }),
      makeNode("ReduceSum", ["r", "axes"], ["y"], [], { name: "sum" }),
      makeNode("Transpose", ["x"], ["x2"], [intsAttr("perm", [1, 0, 2])], { name: "t2" }),
      makeNode("Add", ["x2", "x"], ["z"], [], { name: "add" }), // the other operand is not transposed
    ],
    input: [floatInfo("x", [3, 3, 2])],
    output: [floatInfo("y"), floatInfo("z")],
    initializer: [int64Init("axes", [0], [1])],
  }));
  const { report } = await optimizeModel(m, { passes: ["transpose-optimization"] });
  assert.equal(report.passes[0].changedRuns, 0);
});
