import assert from "node:assert/strict";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  assertChecks,
  floatInfo,
  floatInit,
  int64Init,
  model,
  opCounts,
  optimizeAndCompare,
  randomTensor,
} from "./_passes_helpers.ts";
import { intAttr, intsAttr, makeGraph, makeNode, tensorAttr } from "../../pipeline/load/build.ts";

Deno.test("constant-folding: folds a chain of constant nodes into one initializer", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Constant", [], ["c"], [
        tensorAttr("value", new Tensor("float32", Float32Array.of(1, 2), [2])),
      ]),
      makeNode("Add", ["c", "w"], ["s"], [], { name: "add" }), // [1,2] + [3,4] = [4,6]
      makeNode("Transpose", ["m"], ["mt"], [intsAttr("perm", [1, 0])], { name: "t" }),
      makeNode("Mul", ["x", "s"], ["y"], [], { name: "mul" }),
      makeNode("MatMul", ["x2", "mt"], ["z"], [], { name: "mm" }),
    ],
    input: [floatInfo("x", [2]), floatInfo("x2", [1, 2])],
    output: [floatInfo("y", [2]), floatInfo("z", [1, 3])],
    initializer: [floatInit("w", [3, 4], [2]), floatInit("m", [1, 2, 3, 4, 5, 6], [3, 2])],
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
  const m = model(makeGraph({
    node: [
      // Random: never folded, even with a seed.
      makeNode("RandomUniform", [], ["r"], [intsAttr("shape", [2]), intAttr("dtype", 1)], {
        name: "rand",
      }),
      makeNode("Add", ["x", "r"], ["y1"], [], { name: "use_rand" }),
      // "w_in" is also a graph input: callers may override it.
      makeNode("Neg", ["w_in"], ["n"], [], { name: "neg_input" }),
      makeNode("Add", ["x", "n"], ["y2"], [], { name: "use_neg" }),
      // Writes a graph output: stays a node.
      makeNode("Neg", ["w"], ["y3"], [], { name: "neg_output" }),
      // 1 M float32 from a 16-byte shape: far more than 64 KiB of growth.
      makeNode("ConstantOfShape", ["big_shape"], ["big"], [], { name: "big" }),
      makeNode("ReduceSum", ["big"], ["y4"], [intAttr("keepdims", 0)], { name: "sum" }),
    ],
    input: [floatInfo("x", [2]), floatInfo("w_in", [2])],
    output: [
      floatInfo("y1", [2]),
      floatInfo("y2", [2]),
      floatInfo("y3", [2]),
      floatInfo("y4", []),
    ],
    initializer: [
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
    makeGraph({
      node: [
        makeNode("Neg", ["w"], ["n"], [], { name: "neg" }),
        makeNode("Add", ["x", "n"], ["y"], [], { name: "add" }),
      ],
      input: [floatInfo("x", [2]), floatInfo("w", [2])],
      output: [floatInfo("y", [2])],
      initializer: [floatInit("w", [1, 2], [2])],
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
