import assert from "node:assert/strict";
import type { Node } from "../../pipeline/load/ir.ts";
import { floatAttr, intsAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import {
  floatInfo,
  floatInit,
  model,
  opCounts,
  optimizeAndCompare,
  randomFloats,
  randomTensor,
} from "./_passes_helpers.ts";

function activationOf(n: Node): [string, number[]] {
  const a = n.attribute.find((x) => x.name === "activation")!;
  const p = n.attribute.find((x) => x.name === "activation_params");
  return [new TextDecoder().decode(a.s), p ? p.floats : []];
}

Deno.test("conv-activation-fusion: Conv + Relu/Clip/LeakyRelu/HardSigmoid/Sigmoid/Tanh → FusedConv", async () => {
  const conv = (x: string, y: string, name: string) =>
    makeNode("Conv", [x, "W", "B"], [y], [
      intsAttr("kernel_shape", [3, 3]),
      intsAttr("pads", [1, 1, 1, 1]),
    ], { name });
  const m = model(makeGraph({
    node: [
      conv("x", "c1", "conv1"),
      makeNode("Relu", ["c1"], ["a1"], [], { name: "relu" }),
      conv("a1", "c2", "conv2"),
      makeNode("Clip", ["c2", "lo", "hi"], ["a2"], [], { name: "clip" }),
      conv("a2", "c3", "conv3"),
      makeNode("LeakyRelu", ["c3"], ["a3"], [floatAttr("alpha", 0.25)], { name: "leaky" }),
      conv("a3", "c4", "conv4"),
      makeNode("HardSigmoid", ["c4"], ["a4"], [floatAttr("alpha", 0.3)], { name: "hs" }),
      conv("a4", "c5", "conv5"),
      makeNode("Sigmoid", ["c5"], ["a5"], [], { name: "sig" }),
      conv("a5", "c6", "conv6"),
      makeNode("Tanh", ["c6"], ["y"], [], { name: "tanh" }),
    ],
    input: [floatInfo("x", ["N", 2, 4, 4])],
    output: [floatInfo("y")],
    initializer: [
      floatInit("W", [...randomFloats(36, 7)], [2, 2, 3, 3]),
      floatInit("B", [0.1, -0.2], [2]),
      floatInit("lo", [-0.5], []),
      floatInit("hi", [0.75], []),
    ],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: ["conv-activation-fusion"] }, {
    x: randomTensor([2, 2, 4, 4]),
  });
  assert.deepEqual(opCounts(out), { "com.microsoft.FusedConv": 6 });
  assert.deepEqual(out.graph!.node.map(activationOf), [
    ["Relu", []],
    ["Clip", [-0.5, 0.75]],
    ["LeakyRelu", [0.25]],
    ["HardSigmoid", [Math.fround(0.3), 0.5]],
    ["Sigmoid", []],
    ["Tanh", []],
  ]);
  assert.deepEqual(out.graph!.node.map((n) => n.output[0]), ["a1", "a2", "a3", "a4", "a5", "y"]);
  assert.ok(out.opsetImport.some((o) => o.domain === "com.microsoft" && o.version === 1));
});

Deno.test("conv-activation-fusion: the residual Conv + Add + Relu uses FusedConv's Z input", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W"], ["c"], [intsAttr("kernel_shape", [1, 1])], { name: "conv" }),
      makeNode("Add", ["x", "c"], ["s"], [], { name: "residual" }),
      makeNode("Relu", ["s"], ["y"], [], { name: "relu" }),
    ],
    input: [floatInfo("x", ["N", 2, 3, 3])],
    output: [floatInfo("y")],
    initializer: [floatInit("W", [1, -2, 0.5, 1], [2, 2, 1, 1])],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: ["conv-activation-fusion"] }, {
    x: randomTensor([3, 2, 3, 3]),
  });
  assert.deepEqual(opCounts(out), { "com.microsoft.FusedConv": 1 });
  assert.deepEqual(out.graph!.node[0].input, ["x", "W", "", "x"]);
});

Deno.test("conv-activation-fusion: float64 convolutions and shared outputs stay", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W"], ["c"], [intsAttr("kernel_shape", [1, 1])], { name: "conv" }),
      makeNode("Relu", ["c"], ["y"], [], { name: "relu" }),
      makeNode("Conv", ["x2", "W2"], ["c2"], [intsAttr("kernel_shape", [1, 1])], { name: "conv2" }),
      makeNode("Relu", ["c2"], ["y2"], [], { name: "relu2" }),
    ],
    input: [
      { ...floatInfo("x", [1, 1, 2, 2]), type: { tensorType: { elemType: 11 } } },
      floatInfo("x2", [1, 1, 2, 2]),
    ],
    output: [
      { ...floatInfo("y"), type: { tensorType: { elemType: 11 } } },
      floatInfo("y2"),
      floatInfo("c2"),
    ],
    initializer: [
      {
        ...floatInit("W", [2], [1, 1, 1, 1]),
        dataType: 11,
        rawData: new Uint8Array(new Float64Array([2]).buffer),
      },
      floatInit("W2", [2], [1, 1, 1, 1]),
    ],
  }));
  const { report } = await optimizeModel(m, { passes: ["conv-activation-fusion"] });
  assert.equal(report.passes[0].changedRuns, 0);
});
