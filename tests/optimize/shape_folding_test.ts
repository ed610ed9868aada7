import assert from "node:assert/strict";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import type { Model } from "../../pipeline/load/ir.ts";
import { intAttr, makeGraph, makeNode, makeValueInfo } from "../../pipeline/load/build.ts";
import {
  assertClose,
  floatInfo,
  int64Init,
  model,
  opCounts,
  optimizeAndCompare,
  randomTensor,
  runModel,
} from "./_passes_helpers.ts";

const CLEANUP = [
  "shape-folding",
  "constant-folding",
  "dead-node-elimination",
  "unused-initializer-removal",
];

function targetOf(m: Model, reshape: string): number[] {
  const n = m.graph!.node.find((x) => x.name === reshape)!;
  const t = m.graph!.initializer.find((x) => x.name === n.input[1])!;
  return Array.from(tensorFromProto(t).data as BigInt64Array, Number);
}

/** x[N, 6, 8] → Reshape to Concat(N, 6, 8 / 2, 2): the exporter's head split. */
function headSplit(): Model {
  return model(makeGraph({
    node: [
      makeNode("Shape", ["x"], ["s"], [], { name: "shape" }),
      makeNode("Gather", ["s", "i0"], ["n"], [intAttr("axis", 0)], { name: "g0" }),
      makeNode("Gather", ["s", "i1"], ["t"], [intAttr("axis", 0)], { name: "g1" }),
      makeNode("Gather", ["s", "i2"], ["h"], [intAttr("axis", 0)], { name: "g2" }),
      makeNode("Div", ["h", "two"], ["hd"], [], { name: "div" }),
      makeNode("Unsqueeze", ["n", "ax0"], ["un"], [], { name: "u0" }),
      makeNode("Unsqueeze", ["t", "ax0"], ["ut"], [], { name: "u1" }),
      makeNode("Unsqueeze", ["hd", "ax0"], ["uh"], [], { name: "u2" }),
      makeNode("Concat", ["un", "ut", "uh", "two_1d"], ["target"], [intAttr("axis", 0)], {
        name: "concat",
      }),
      makeNode("Reshape", ["x", "target"], ["y"], [], { name: "reshape" }),
    ],
    input: [floatInfo("x", ["N", 6, 8])],
    output: [floatInfo("y", ["N", 6, 4, 2])],
    initializer: [
      int64Init("i0", [0], []),
      int64Init("i1", [1], []),
      int64Init("i2", [2], []),
      int64Init("two", [2], []),
      int64Init("two_1d", [2], [1]),
      int64Init("ax0", [0], [1]),
    ],
    valueInfo: [makeValueInfo("s", "int64", [3]), floatInfo("y_unused", [1, 6, 4, 2])],
  }));
}

Deno.test("shape-folding: a head split keeps the batch dynamic with a 0 in the target", async () => {
  const m = headSplit();
  const { model: out } = await optimizeAndCompare(m, { passes: CLEANUP }, {
    x: randomTensor([2, 6, 8]),
  });
  assert.deepEqual(opCounts(out), { Reshape: 1 });
  assert.deepEqual(targetOf(out, "reshape"), [0, 6, 4, 2]);
  for (const batch of [1, 3]) {
    const x = randomTensor([batch, 6, 8], batch);
    assertClose((await runModel(out, { x })).y, (await runModel(m, { x })).y, 0, 0, `N=${batch}`);
  }
});

Deno.test("shape-folding: one unknown element becomes -1, known ones become constants", async () => {
  // y = Reshape(x[N, 6, 8], Concat(N * 6, 8)); z = x + Shape(x)[2] (static: 8).
  const m = model(makeGraph({
    node: [
      makeNode("Shape", ["x"], ["s"], [], { name: "shape" }),
      makeNode("Gather", ["s", "i0"], ["n"], [intAttr("axis", 0)], { name: "g0" }),
      makeNode("Gather", ["s", "i2"], ["h"], [intAttr("axis", 0)], { name: "g2" }),
      makeNode("Mul", ["n", "six"], ["rows"], [], { name: "mul" }),
      makeNode("Unsqueeze", ["rows", "ax0"], ["ur"], [], { name: "u0" }),
      makeNode("Unsqueeze", ["h", "ax0"], ["uh"], [], { name: "u1" }),
      makeNode("Concat", ["ur", "uh"], ["target"], [intAttr("axis", 0)], { name: "concat" }),
      makeNode("Reshape", ["x", "target"], ["y"], [], { name: "reshape" }),
      makeNode("Cast", ["h"], ["hf"], [intAttr("to", 1)], { name: "cast" }),
      makeNode("Add", ["x", "hf"], ["z"], [], { name: "add" }),
    ],
    input: [floatInfo("x", ["N", 6, 8])],
    output: [floatInfo("y"), floatInfo("z")],
    initializer: [
      int64Init("i0", [0], []),
      int64Init("i2", [2], []),
      int64Init("six", [6], []),
      int64Init("ax0", [0], [1]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: CLEANUP }, {
    x: randomTensor([3, 6, 8]),
  });
  assert.deepEqual(opCounts(out), { Reshape: 1, Add: 1 });
  assert.deepEqual(targetOf(out, "reshape"), [-1, 8]);
  const hf = out.graph!.initializer.find((t) => t.name === "hf")!;
  assert.deepEqual([...tensorFromProto(hf).data], [8]);
  assert.ok(report.passes[0].details.some((d) => /resolved g2 \(Gather\) to \[8\]/.test(d)));
});

Deno.test("shape-folding: a fully dynamic target is left alone", async () => {
  // Reshape(x[N, M], Concat(M, N)) has two unknowns: nothing can be written.
  const m = model(makeGraph({
    node: [
      makeNode("Shape", ["x"], ["s"], [], { name: "shape" }),
      makeNode("Gather", ["s", "rev"], ["target"], [intAttr("axis", 0)], { name: "g" }),
      makeNode("Reshape", ["x", "target"], ["y"], [], { name: "reshape" }),
    ],
    input: [floatInfo("x", ["N", "M"])],
    output: [floatInfo("y")],
    initializer: [int64Init("rev", [1, 0], [2])],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: CLEANUP }, {
    x: randomTensor([2, 3]),
  });
  assert.deepEqual(opCounts(out), { Shape: 1, Gather: 1, Reshape: 1 });
  assert.equal(report.passes[0].changedRuns, 0);
});
