import assert from "node:assert/strict";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  assertChecks,
  floatInfo,
  floatInit,
  graph,
  int64Init,
  intsAttr,
  model,
  node,
  opCounts,
  optimizeAndCompare,
  randomTensor,
  tensorAttr,
} from "./_passes_helpers.ts";

Deno.test("constant-folding: folds a chain of constant nodes into one initializer", async () => {
  const m = model(graph({
    nodes: [
      node("Constant", [], ["c"], {
        attrs: [tensorAttr("value", new Tensor("float32", Float32Array.of(1, 2), [2]))],
      }),
      node("Add", ["c", "w"], ["s"], { name: "add" }), // [1,2] + [3,4] = [4,6]
      node("Transpose", ["m"], ["mt"], { name: "t", attrs: [intsAttr("perm", [1, 0])] }),
      node("Mul", ["x", "s"], ["y"], { name: "mul" }),
      node("MatMul", ["x2", "mt"], ["z"], { name: "mm" }),
    ],
    inputs: [floatInfo("x", [2]), floatInfo("x2", [1, 2])],
    outputs: [floatInfo("y", [2]), floatInfo("z", [1, 3])],
    initializers: [floatInit("w", [3, 4], [2]), floatInit("m", [1, 2, 3, 4, 5, 6], [3, 2])],
  }));
  const { model: out, report } = await optimizeAndCompare(m, {
    passes: ["constant-folding", "dead-node-elimination", "unused-initializer-removal"],
  }, { x: randomTensor([2]), x2: randomTensor([1, 2], 2) });
  assert.deepEqual(opCounts(out), { Mul: 1, MatMul: 1 });
  const s = out.graph!.initializer.find((t) => t.name === "s")!;
  assert.deepEqual([...tensorFromProto(s).data], [4, 6]);
  const mt = tensorFromProto(out.graph!.initializer.find((t) => t.name === "mt")!);
  assert.deepEqual([...mt.dims], [2, 3]);
  assert.deepEqual([...mt.data], [1, 3, 5, 2, 4, 6]);
  const details = report.passes[0].details.join("\n");
  assert.match(details, /made Constant .* an initializer \(float32\[2\]\)/);
  assert.match(details, /folded add \(Add\) into float32\[2\]/);
});

Deno.test("constant-folding: leaves random ops, overridable initializers, outputs and big results", async () => {
  const m = model(graph({
    nodes: [
      // Random: never folded, even with a seed.
      node("RandomUniform", [], ["r"], {
        name: "rand",
        attrs: [intsAttr("shape", [2]), { ...intsAttr("dtype", 1) }],
      }),
      node("Add", ["x", "r"], ["y1"], { name: "use_rand" }),
      // "w_in" is also a graph input: callers may override it.
      node("Neg", ["w_in"], ["n"], { name: "neg_input" }),
      node("Add", ["x", "n"], ["y2"], { name: "use_neg" }),
      // Writes a graph output: stays a node.
      node("Neg", ["w"], ["y3"], { name: "neg_output" }),
      // 1 M float32 from a 16-byte shape: far more than 64 KiB of growth.
      node("ConstantOfShape", ["big_shape"], ["big"], { name: "big" }),
      node("ReduceSum", ["big"], ["y4"], { name: "sum", attrs: [intsAttr("keepdims", 0)] }),
    ],
    inputs: [floatInfo("x", [2]), floatInfo("w_in", [2])],
    outputs: [
      floatInfo("y1", [2]),
      floatInfo("y2", [2]),
      floatInfo("y3", [2]),
      floatInfo("y4", []),
    ],
    initializers: [
      floatInit("w", [1, 2], [2]),
      floatInit("w_in", [5, 6], [2]),
      int64Init("big_shape", [1024, 1024], [2]),
    ],
  }));
  const { model: out, report } = await optimizeModel(m, { passes: ["constant-folding"] });
  assert.deepEqual(out.graph!.node.map((n) => n.name), m.graph!.node.map((n) => n.name));
  assert.equal(report.passes[0].changedRuns, 0);
});

Deno.test("constant-folding: with IR version 3 folded initializers are also listed as inputs", async () => {
  const m = model(
    graph({
      nodes: [
        node("Neg", ["w"], ["n"], { name: "neg" }),
        node("Add", ["x", "n"], ["y"], { name: "add" }),
      ],
      inputs: [floatInfo("x", [2]), floatInfo("w", [2])],
      outputs: [floatInfo("y", [2])],
      initializers: [floatInit("w", [1, 2], [2])],
    }),
    7,
  );
  m.irVersion = 3;
  const { model: out } = await optimizeAndCompare(m, {
    passes: ["constant-folding", "dead-node-elimination", "unused-initializer-removal"],
  }, { x: randomTensor([2]) });
  assert.deepEqual(opCounts(out), { Add: 1 });
  // "w" is gone with its input entry (IR < 4 initializers are not real inputs); "n" is listed.
  assert.deepEqual(out.graph!.input.map((i) => i.name), ["x", "n"]);
  assert.deepEqual(out.graph!.initializer.map((t) => t.name), ["n"]);
  assertChecks(out);
});
