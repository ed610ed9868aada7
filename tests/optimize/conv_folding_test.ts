/**
 * Tests of conv_bn_folding.ts and conv_scale_folding.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import type { Model } from "../../pipeline/load/ir.ts";
import { floatAttr, intAttr, intsAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";
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

function convAttrs() {
  return [intsAttr("kernel_shape", [1, 1])];
}

function initValues(m: Model, name: string): number[] {
  return [
    ...tensorFromProto(m.graph!.initializer.find((t) => t.name === name)!).data as Float32Array,
  ];
}

Deno.test("conv-bn-folding: folds BatchNormalization into a 1x1 Conv with hand-computed weights", async () => {
  // W = [[1, 2], [3, 4]] (2 out, 2 in, 1x1), B = [0.5, -1]
  // scale = [2, 0.5], bias = [1, 0], mean = [0.5, 1], var = [3, 0], eps = 1
  // s = scale / sqrt(var + eps) = [1, 0.5]
  // W' = [[1, 2], [1.5, 2]], B' = (B - mean) * s + bias = [1, -1]
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W", "B"], ["c"], convAttrs(), { name: "conv" }),
      makeNode("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], [
        floatAttr("epsilon", 1),
      ], { name: "bn" }),
    ],
    input: [floatInfo("x", ["N", 2, 3, 3])],
    output: [floatInfo("y")],
    initializer: [
      floatInit("W", [1, 2, 3, 4], [2, 2, 1, 1]),
      floatInit("B", [0.5, -1], [2]),
      floatInit("scale", [2, 0.5], [2]),
      floatInit("bias", [1, 0], [2]),
      floatInit("mean", [0.5, 1], [2]),
      floatInit("var", [3, 0], [2]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, {
    passes: ["conv-bn-folding", "unused-initializer-removal"],
  }, { x: randomTensor([2, 2, 3, 3]) });
  assert.deepEqual(opCounts(out), { Conv: 1 });
  const conv = out.graph!.node[0];
  assert.deepEqual(conv.output, ["y"]);
  assert.deepEqual(initValues(out, conv.input[1]), [1, 2, 1.5, 2]);
  assert.deepEqual(initValues(out, conv.input[2]), [1, -1]);
  assert.deepEqual(report.passes[0].details, ["folded bn (BatchNormalization) into conv (Conv)"]);
});

Deno.test("conv-bn-folding: a Conv without bias and a 3x3 grouped Conv fold too", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W"], ["c"], [
        intsAttr("kernel_shape", [3, 3]),
        intAttr("group", 2),
        intsAttr("pads", [1, 1, 1, 1]),
      ], { name: "conv" }),
      makeNode("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], [], {
        name: "bn",
      }),
    ],
    input: [floatInfo("x", [1, 4, 5, 5])],
    output: [floatInfo("y")],
    initializer: [
      floatInit("W", [...randomFloats(4 * 2 * 9, 3)], [4, 2, 3, 3]),
      floatInit("scale", [1.5, -0.5, 2, 0.25], [4]),
      floatInit("bias", [0.1, 0.2, 0.3, 0.4], [4]),
      floatInit("mean", [0.5, -0.5, 0, 1], [4]),
      floatInit("var", [1, 2, 0.5, 4], [4]),
    ],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: ["conv-bn-folding"] }, {
    x: randomTensor([1, 4, 5, 5], 9),
  }, { rtol: 1e-5, atol: 1e-5 });
  assert.deepEqual(opCounts(out), { Conv: 1 });
});

Deno.test("conv-bn-folding: a BatchNormalization in training mode stays", async () => {
  const m = model(
    makeGraph({
      node: [
        makeNode("Conv", ["x", "W"], ["c"], convAttrs(), { name: "conv" }),
        makeNode("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], [
          intAttr("training_mode", 1),
        ], { name: "bn" }),
      ],
      input: [floatInfo("x", [1, 1, 2, 2])],
      output: [floatInfo("y")],
      initializer: ["W", "s", "b", "m", "v"].map((n) =>
        floatInit(n, [1], n === "W" ? [1, 1, 1, 1] : [1])
      ),
    }),
    15,
  );
  const { report } = await optimizeModel(m, { passes: ["conv-bn-folding"] });
  assert.equal(report.passes[0].changedRuns, 0);
});

Deno.test("conv-mul-add-folding: folds per-channel Mul, Add, Div and Sub into the Conv", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W", "B"], ["c"], convAttrs(), { name: "conv" }),
      makeNode("Mul", ["scale", "c"], ["m1"], [], { name: "mul" }), // scale [2, 1, 1]
      makeNode("Add", ["m1", "shift"], ["a1"], [], { name: "add" }), // shift [1, 2, 1, 1]
      makeNode("Div", ["a1", "four"], ["d1"], [], { name: "div" }), // scalar
      makeNode("Sub", ["d1", "off"], ["y"], [], { name: "sub" }), // off [2, 1, 1]
    ],
    input: [floatInfo("x", [1, 2, 2, 2])],
    output: [floatInfo("y")],
    initializer: [
      floatInit("W", [1, 2, 3, 4], [2, 2, 1, 1]),
      floatInit("B", [1, 1], [2]),
      floatInit("scale", [2, -1], [2, 1, 1]),
      floatInit("shift", [3, 5], [1, 2, 1, 1]),
      floatInit("four", [4], []),
      floatInit("off", [0.5, 0.25], [2, 1, 1]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, {
    passes: ["conv-mul-add-folding", "unused-initializer-removal"],
  }, { x: randomTensor([1, 2, 2, 2]) });
  assert.deepEqual(opCounts(out), { Conv: 1 });
  const conv = out.graph!.node[0];
  assert.deepEqual(conv.output, ["y"]);
  // W' = W * scale / 4; B' = ((B * scale + shift) / 4) - off
  assert.deepEqual(initValues(out, conv.input[1]), [0.5, 1, -0.75, -1]);
  assert.deepEqual(initValues(out, conv.input[2]), [(2 + 3) / 4 - 0.5, (-1 + 5) / 4 - 0.25]);
  assert.equal(report.passes[0].details.length, 4);
});

Deno.test("conv-mul-add-folding: a constant varying along a spatial axis is not folded", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Conv", ["x", "W"], ["c"], convAttrs(), { name: "conv" }),
      makeNode("Mul", ["c", "spatial"], ["y"], [], { name: "mul" }),
    ],
    input: [floatInfo("x", [1, 2, 2, 2])],
    output: [floatInfo("y")],
    initializer: [
      floatInit("W", [1, 2, 3, 4], [2, 2, 1, 1]),
      floatInit("spatial", [1, 2], [2, 1]),
    ],
  }));
  const { report } = await optimizeModel(m, { passes: ["conv-mul-add-folding"] });
  assert.equal(report.passes[0].changedRuns, 0);
});
