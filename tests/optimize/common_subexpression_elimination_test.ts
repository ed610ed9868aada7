import assert from "node:assert/strict";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import {
  floatAttr,
  floatInfo,
  floatInit,
  graph,
  model,
  node,
  opCounts,
  optimizeAndCompare,
  randomTensor,
} from "./_passes_helpers.ts";

Deno.test("common-subexpression-elimination: merges identical nodes and initializers", async () => {
  const m = model(graph({
    nodes: [
      node("Add", ["x", "w1"], ["a1"], { name: "add1" }),
      node("Add", ["x", "w2"], ["a2"], { name: "add2" }), // w2 == w1: same after merging
      node("Relu", ["a1"], ["r1"], { name: "relu1" }),
      node("Relu", ["a2"], ["r2"], { name: "relu2" }),
      node("LeakyRelu", ["r1"], ["l1"], { name: "leaky1", attrs: [floatAttr("alpha", 0.1)] }),
      node("LeakyRelu", ["r2"], ["l2"], { name: "leaky2", attrs: [floatAttr("alpha", 0.2)] }),
      node("Mul", ["l1", "l2"], ["y"], { name: "mul" }),
    ],
    inputs: [floatInfo("x", [3])],
    outputs: [floatInfo("y", [3])],
    initializers: [floatInit("w1", [1, -2, 3], [3]), floatInit("w2", [1, -2, 3], [3])],
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
  const m = model(graph({
    nodes: [
      node("RandomUniformLike", ["x"], ["r1"], { name: "rand1", attrs: [floatAttr("seed", 1)] }),
      node("RandomUniformLike", ["x"], ["r2"], { name: "rand2", attrs: [floatAttr("seed", 1)] }),
      node("Neg", ["x"], ["y1"], { name: "neg1" }),
      node("Neg", ["x"], ["y2"], { name: "neg2" }),
      node("Sub", ["r1", "r2"], ["d"], { name: "sub" }),
    ],
    inputs: [floatInfo("x", [3])],
    outputs: [floatInfo("y1", [3]), floatInfo("y2", [3]), floatInfo("d", [3])],
  }));
  const { model: out, report } = await optimizeModel(m, {
    passes: ["common-subexpression-elimination"],
  });
  assert.equal(report.passes[0].changedRuns, 0);
  assert.deepEqual(opCounts(out), { RandomUniformLike: 2, Neg: 2, Sub: 1 });
});
