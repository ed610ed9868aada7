import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  floatInfo,
  int64Init,
  model,
  opCounts,
  optimizeAndCompare,
  randomTensor,
} from "./_passes_helpers.ts";
import { intAttr, intsAttr, makeGraph, makeNode, stringAttr } from "../../pipeline/load/build.ts";

const PASSES = ["noop-elimination", "identity-elimination", "dead-node-elimination"];

Deno.test("noop-elimination: removes no-op Dropout, Cast, Transpose, Reshape, Expand, Concat, Pad, Slice", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Dropout", ["x", "ratio"], ["a"], [], { name: "dropout" }),
      makeNode("Cast", ["a"], ["b"], [intAttr("to", 1)], { name: "cast" }),
      makeNode("Transpose", ["b"], ["c"], [intsAttr("perm", [0, 1, 2])], { name: "transpose" }),
      makeNode("Reshape", ["c", "same"], ["d"], [], { name: "reshape" }), // [0, 3, -1] on [N, 3, 4]
      makeNode("Expand", ["d", "ones"], ["e"], [], { name: "expand" }),
      makeNode("Concat", ["e"], ["f"], [intAttr("axis", 1)], { name: "concat" }),
      makeNode("Pad", ["f", "zeros"], ["g"], [stringAttr("mode", "constant")], { name: "pad" }),
      makeNode("Slice", ["g", "starts", "ends", "axes"], ["h"], [], { name: "slice" }),
      makeNode("Relu", ["h"], ["y"], [], { name: "relu" }),
    ],
    input: [floatInfo("x", ["N", 3, 4])],
    output: [floatInfo("y", ["N", 3, 4])],
    initializer: [
      {
        ...int64Init("ratio", [0], []),
        dataType: 1,
        rawData: new Uint8Array(new Float32Array([0.3]).buffer),
      },
      int64Init("same", [0, 3, -1], [3]),
      int64Init("ones", [1, 1], [2]),
      int64Init("zeros", [0, 0, 0, 0, 0, 0], [6]),
      int64Init("starts", [0, 0], [2]),
      int64Init("ends", [3, 1000], [2]),
      int64Init("axes", [1, 2], [2]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: randomTensor([2, 3, 4]),
  });
  assert.deepEqual(opCounts(out), { Relu: 1 });
  assert.deepEqual(out.graph!.node[0].input, ["x"]);
  assert.equal(report.passes[0].details.length, 8);
});

Deno.test("noop-elimination: keeps nodes that change something", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Dropout", ["x"], ["a", "mask"], [], { name: "dropout_with_mask" }),
      makeNode("Cast", ["a"], ["b"], [intAttr("to", 11)], { name: "cast_to_double" }),
      makeNode("Transpose", ["x"], ["c"], [intsAttr("perm", [0, 2, 1])], {
        name: "real_transpose",
      }),
      makeNode("Reshape", ["x", "flat"], ["d"], [], { name: "real_reshape" }),
      makeNode("Slice", ["x", "starts", "ends", "axes"], ["e"], [], { name: "real_slice" }),
    ],
    input: [floatInfo("x", [2, 3, 4])],
    output: [
      { ...floatInfo("b"), type: { tensorType: { elemType: 11 } } },
      { ...floatInfo("mask"), type: { tensorType: { elemType: 9 } } },
      floatInfo("c"),
      floatInfo("d"),
      floatInfo("e"),
    ],
    initializer: [
      int64Init("flat", [2, -1], [2]),
      int64Init("starts", [1], [1]),
      int64Init("ends", [4], [1]),
      int64Init("axes", [2], [1]),
    ],
  }));
  const { model: out, report } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: randomTensor([2, 3, 4]),
  });
  assert.equal(report.passes[0].changedRuns, 0);
  assert.equal(out.graph!.node.length, 5);
});

Deno.test("noop-elimination: a no-op writing a graph output from a graph input stays an Identity", async () => {
  const m = model(
    makeGraph({
      node: [makeNode("Cast", ["x"], ["y"], [intAttr("to", 1)], { name: "cast" })],
      input: [floatInfo("x", [2])],
      output: [floatInfo("y", [2])],
    }),
  );
  const { model: out } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: new Tensor("float32", Float32Array.of(1.5, -2), [2]),
  });
  assert.deepEqual(opCounts(out), { Identity: 1 });
  assert.deepEqual(out.graph!.output.map((o) => o.name), ["y"]);
});
