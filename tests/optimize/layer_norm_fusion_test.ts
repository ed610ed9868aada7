import assert from "node:assert/strict";
import type { Model, Node } from "../../pipeline/load/ir.ts";
import { intsAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";
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

/** The decomposed layer norm exporters write, over the last axis of x[N, 3, 8]. */
function decomposed(opset: number, variant: "pow" | "mul" | "reciprocal", affine = true): Model {
  const reduce = (x: string, y: string, name: string): Node =>
    opset >= 18
      ? makeNode("ReduceMean", [x, "axes"], [y], [], { name })
      : makeNode("ReduceMean", [x], [y], [intsAttr("axes", [-1])], { name });
  const nodes: Node[] = [
    makeNode("Relu", ["x"], ["h"], [], { name: "before" }),
    reduce("h", "mean", "mean"),
    makeNode("Sub", ["h", "mean"], ["d"], [], { name: "sub" }),
    variant === "mul"
      ? makeNode("Mul", ["d", "d"], ["sq"], [], { name: "square" })
      : makeNode("Pow", ["d", "two"], ["sq"], [], { name: "square" }),
    reduce("sq", "var", "var"),
    makeNode("Add", ["eps", "var"], ["ve"], [], { name: "add_eps" }),
    makeNode("Sqrt", ["ve"], ["std"], [], { name: "sqrt" }),
  ];
  if (variant === "reciprocal") {
    nodes.push(makeNode("Reciprocal", ["std"], ["inv"], [], { name: "recip" }));
    nodes.push(makeNode("Mul", ["d", "inv"], ["n"], [], { name: "normalize" }));
  } else {
    nodes.push(makeNode("Div", ["d", "std"], ["n"], [], { name: "normalize" }));
  }
  if (affine) {
    nodes.push(makeNode("Mul", ["gamma", "n"], ["g"], [], { name: "scale" }));
    nodes.push(makeNode("Add", ["g", "beta"], ["y"], [], { name: "shift" }));
  } else {
    nodes.push(makeNode("Identity", ["n"], ["y"], [], { name: "out" }));
  }
  return model(
    makeGraph({
      node: nodes,
      input: [floatInfo("x", ["N", 3, 8])],
      output: [floatInfo("y", ["N", 3, 8])],
      initializer: [
        floatInit("two", [2], []),
        floatInit("eps", [1e-5], []),
        floatInit("gamma", [...randomFloats(8, 2)], [8]),
        floatInit("beta", [...randomFloats(8, 3)], [1, 1, 8]),
        int64Init("axes", [-1], [1]),
      ],
    }),
    opset,
  );
}

Deno.test("layer-norm-fusion: the decomposed form becomes LayerNormalization (opset 17, 18)", async () => {
  for (const [opset, variant] of [[17, "pow"], [17, "mul"], [18, "reciprocal"]] as const) {
    const m = decomposed(opset, variant);
    const { model: out, report } = await optimizeAndCompare(m, { passes: ["layer-norm-fusion"] }, {
      x: randomTensor([2, 3, 8]),
    });
    assert.deepEqual(opCounts(out), { Relu: 1, LayerNormalization: 1 }, `${opset} ${variant}`);
    const ln = out.graph!.node[1];
    assert.equal(ln.input[0], "h");
    assert.equal(ln.input.length, 3);
    assert.deepEqual(ln.output, ["y"]);
    const attrs = Object.fromEntries(
      ln.attribute.map((a) => [a.name, a.type === "INT" ? Number(a.i) : a.f]),
    );
    assert.deepEqual(attrs, { axis: -1, epsilon: Math.fround(1e-5) });
    assert.match(
      report.passes[0].details[0],
      /^fused \d+ nodes from mean \(ReduceMean\) to shift \(Add\)/,
    );
  }
});

Deno.test("layer-norm-fusion: without gamma and beta the scale is ones", async () => {
  const m = decomposed(17, "pow", false);
  const { model: out } = await optimizeAndCompare(m, {
    passes: ["layer-norm-fusion", "identity-elimination"],
  }, { x: randomTensor([1, 3, 8]) });
  assert.deepEqual(opCounts(out), { Relu: 1, LayerNormalization: 1 });
  assert.equal(out.graph!.node[1].input.length, 2);
});

Deno.test("layer-norm-fusion: opset 13 (no LayerNormalization) and shared intermediates stay", async () => {
  const low = await optimizeModel(decomposed(13, "pow"), { passes: ["layer-norm-fusion"] });
  assert.equal(low.report.passes[0].changedRuns, 0);
  const shared = decomposed(17, "pow");
  shared.graph!.output.push(floatInfo("d"));
  const r = await optimizeModel(shared, { passes: ["layer-norm-fusion"] });
  assert.equal(r.report.passes[0].changedRuns, 0);
});
