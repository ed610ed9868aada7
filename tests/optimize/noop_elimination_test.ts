import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  floatInfo,
  graph,
  int64Init,
  intsAttr,
  model,
  node,
  opCounts,
  optimizeAndCompare,
  randomTensor,
  stringAttr,
} from "./_passes_helpers.ts";

const PASSES = ["noop-elimination", "identity-elimination", "dead-node-elimination"];

Deno.test("noop-elimination: removes no-op Dropout, Cast, Transpose, Reshape, Expand, Concat, Pad, Slice", async () => {
  const m = model(graph({
    nodes: [
      node("Dropout", ["x", "ratio"], ["a"], { name: "dropout" }),
      node("Cast", ["a"], ["b"], { name: "cast", attrs: [intsAttr("to", 1)] }),
      node("Transpose", ["b"], ["c"], { name: "transpose", attrs: [intsAttr("perm", [0, 1, 2])] }),
      node("Reshape", ["c", "same"], ["d"], { name: "reshape" }), // [0, 3, -1] on [N, 3, 4]
      node("Expand", ["d", "ones"], ["e"], { name: "expand" }),
      node("Concat", ["e"], ["f"], { name: "concat", attrs: [intsAttr("axis", 1)] }),
      node("Pad", ["f", "zeros"], ["g"], { name: "pad", attrs: [stringAttr("mode", "constant")] }),
      node("Slice", ["g", "starts", "ends", "axes"], ["h"], { name: "slice" }),
      node("Relu", ["h"], ["y"], { name: "relu" }),
    ],
    inputs: [floatInfo("x", ["N", 3, 4])],
    outputs: [floatInfo("y", ["N", 3, 4])],
    initializers: [
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
  const m = model(graph({
    nodes: [
      node("Dropout", ["x"], ["a", "mask"], { name: "dropout_with_mask" }),
      node("Cast", ["a"], ["b"], { name: "cast_to_double", attrs: [intsAttr("to", 11)] }),
      node("Transpose", ["x"], ["c"], {
        name: "real_transpose",
        attrs: [intsAttr("perm", [0, 2, 1])],
      }),
      node("Reshape", ["x", "flat"], ["d"], { name: "real_reshape" }),
      node("Slice", ["x", "starts", "ends", "axes"], ["e"], { name: "real_slice" }),
    ],
    inputs: [floatInfo("x", [2, 3, 4])],
    outputs: [
      { ...floatInfo("b"), type: { tensorType: { elemType: 11 } } },
      { ...floatInfo("mask"), type: { tensorType: { elemType: 9 } } },
      floatInfo("c"),
      floatInfo("d"),
      floatInfo("e"),
    ],
    initializers: [
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
  const m = model(graph({
    nodes: [node("Cast", ["x"], ["y"], { name: "cast", attrs: [intsAttr("to", 1)] })],
    inputs: [floatInfo("x", [2])],
    outputs: [floatInfo("y", [2])],
  }));
  const { model: out } = await optimizeAndCompare(m, { passes: PASSES }, {
    x: new Tensor("float32", Float32Array.of(1.5, -2), [2]),
  });
  assert.deepEqual(opCounts(out), { Identity: 1 });
  assert.deepEqual(out.graph!.output.map((o) => o.name), ["y"]);
});
