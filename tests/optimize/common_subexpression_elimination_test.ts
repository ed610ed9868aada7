import assert from "node:assert/strict";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import {
  floatInfo,
  floatInit,
  model,
  opCounts,
  optimizeAndCompare,
  randomTensor,
} from "./_passes_helpers.ts";
import { floatAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";

Deno.test("common-subexpression-elimination: merges identical nodes and initializers", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Add", ["x", "w1"], ["a1"], [], { name: "add1" }),
      makeNode("Add", ["x", "w2"], ["a2"], [], { name: "add2" }), // w2 == w1: same after merging
      makeNode("Relu", ["a1"], ["r1"], [], { name: "relu1" }),
      makeNode("Relu", ["a2"], ["r2"], [], { name: "relu2" }),
      makeNode("LeakyRelu", ["r1"], ["l1"], [floatAttr("alpha", 0.1)], { name: "leaky1" }),
      makeNode("LeakyRelu", ["r2"], ["l2"], [floatAttr("alpha", 0.2)], { name: "leaky2" }),
      makeNode("Mul", ["l1", "l2"], ["y"], [], { name: "mul" }),
    ],
    input: [floatInfo("x", [3])],
    output: [floatInfo("y", [3])],
    initializer: [floatInit("w1", [1, -2, 3], [3]), floatInit("w2", [1, -2, 3], [3])],
  }));
  const { model: out, report } = await optimizeAndCompare(m, {
    passes: ["common-subexpression-elimination", "unused-initializer-removal"],
  }, { x: randomTensor([3]) });
  // add2 and relu2 go; the LeakyRelus differ in alpha and both stay.
  assert.deepEqual(out.graph!.node.map((n) => n.name), [
    "add1",
    "relu1",
    "leaky1",
    "leaky2",
    "mul",
  ]);
  assert.deepEqual(out.graph!.node[3].input, ["r1"]);
  assert.deepEqual(out.graph!.initializer.map((t) => t.name), ["w1"]);
  assert.deepEqual(report.passes[0].details, [
    'merged initializer "w2" into its identical twin "w1"',
    "merged add2 (Add) into the identical add1 (Add)",
    "merged relu2 (Relu) into the identical relu1 (Relu)",
  ]);
});

Deno.test("common-subexpression-elimination: never merges random ops or graph-output writers", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("RandomUniformLike", ["x"], ["r1"], [floatAttr("seed", 1)], { name: "rand1" }),
      makeNode("RandomUniformLike", ["x"], ["r2"], [floatAttr("seed", 1)], { name: "rand2" }),
      makeNode("Neg", ["x"], ["y1"], [], { name: "neg1" }),
      makeNode("Neg", ["x"], ["y2"], [], { name: "neg2" }),
      makeNode("Sub", ["r1", "r2"], ["d"], [], { name: "sub" }),
    ],
    input: [floatInfo("x", [3])],
    output: [floatInfo("y1", [3]), floatInfo("y2", [3]), floatInfo("d", [3])],
  }));
  const { model: out, report } = await optimizeModel(m, {
    passes: ["common-subexpression-elimination"],
  });
  assert.equal(report.passes[0].changedRuns, 0);
  assert.deepEqual(opCounts(out), { RandomUniformLike: 2, Neg: 2, Sub: 1 });
});
