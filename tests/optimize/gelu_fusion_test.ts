import assert from "node:assert/strict";
import type { Model, Node } from "../../pipeline/load/ir.ts";
import { makeGraph, makeNode } from "../../pipeline/load/build.ts";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import { toNumbers } from "../../pipeline/tensor/tensor.ts";
import {
  floatInfo,
  floatInit,
  model,
  opCounts,
  optimizeAndCompare,
  randomTensor,
  runModel,
} from "./_passes_helpers.ts";

type Order = "x_a_half" | "x_halfa" | "halfx_a";

/** x·0.5·(1 + erf(x/√2)) with the product in one of three association orders. */
function erfGelu(order: Order, opset: number, half = 0.5): Model {
  const product: Node[] = order === "x_a_half"
    ? [
      makeNode("Mul", ["x", "a"], ["p"], [], { name: "m1" }),
      makeNode("Mul", ["p", "half"], ["y"], [], { name: "m2" }),
    ]
    : order === "x_halfa"
    ? [
      makeNode("Mul", ["half", "a"], ["p"], [], { name: "m1" }),
      makeNode("Mul", ["x", "p"], ["y"], [], { name: "m2" }),
    ]
    : [
      makeNode("Mul", ["x", "half"], ["p"], [], { name: "m1" }),
      makeNode("Mul", ["a", "p"], ["y"], [], { name: "m2" }),
    ];
  return model(
    makeGraph({
      node: [
        makeNode("Div", ["x", "sqrt2"], ["u"], [], { name: "div" }),
        makeNode("Erf", ["u"], ["e"], [], { name: "erf" }),
        makeNode("Add", ["one", "e"], ["a"], [], { name: "plus1" }),
        ...product,
      ],
      input: [floatInfo("x", ["N", 16])],
      output: [floatInfo("y", ["N", 16])],
      initializer: [
        floatInit("sqrt2", [1.4142135381698608], []),
        floatInit("one", [1], []),
        floatInit("half", [half], []),
      ],
    }),
    opset,
  );
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) with x³ as Pow or as x·x·x. */
function tanhGelu(pow: boolean, opset: number): Model {
  const cube: Node[] = pow ? [makeNode("Pow", ["x", "three"], ["x3"], [], { name: "cube" })] : [
    makeNode("Mul", ["x", "x"], ["x2"], [], { name: "sq" }),
    makeNode("Mul", ["x2", "x"], ["x3"], [], { name: "cube" }),
  ];
  return model(
    makeGraph({
      node: [
        ...cube,
        makeNode("Mul", ["c", "x3"], ["cx3"], [], { name: "coef" }),
        makeNode("Add", ["x", "cx3"], ["inner"], [], { name: "inner" }),
        makeNode("Mul", ["inner", "k"], ["arg"], [], { name: "scale" }),
        makeNode("Tanh", ["arg"], ["t"], [], { name: "tanh" }),
        makeNode("Add", ["t", "one"], ["a"], [], { name: "plus1" }),
        makeNode("Mul", ["x", "half"], ["hx"], [], { name: "halfx" }),
        makeNode("Mul", ["hx", "a"], ["y"], [], { name: "out" }),
      ],
      input: [floatInfo("x", ["N", 16])],
      output: [floatInfo("y", ["N", 16])],
      initializer: [
        floatInit("three", [3], []),
        floatInit("c", [0.044715], []),
        floatInit("k", [0.7978845834732056], []),
        floatInit("one", [1], []),
        floatInit("half", [0.5], []),
      ],
    }),
    opset,
  );
}

function scaled(seed: number) {
  const x = randomTensor([3, 16], seed);
  const d = x.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] *= 4;
  return x;
}

Deno.test("gelu-fusion: the erf form in three product orders → com.microsoft.Gelu below opset 20", async () => {
  for (const order of ["x_a_half", "x_halfa", "halfx_a"] as const) {
    const { model: out } = await optimizeAndCompare(
      erfGelu(order, 13),
      { passes: ["gelu-fusion"] },
      {
        x: scaled(1),
      },
    );
    assert.deepEqual(opCounts(out), { "com.microsoft.Gelu": 1 }, order);
    assert.deepEqual(out.graph!.node[0].input, ["x"]);
    assert.deepEqual(out.graph!.node[0].output, ["y"]);
    assert.ok(out.opsetImport.some((o) => o.domain === "com.microsoft"));
  }
});

Deno.test("gelu-fusion: opset 20 gives the standard Gelu; its values are GELU's", async () => {
  const { model: out } = await optimizeAndCompare(erfGelu("x_a_half", 20), {
    passes: ["gelu-fusion"],
  }, { x: scaled(2) });
  assert.deepEqual(opCounts(out), { Gelu: 1 });
  assert.equal(out.opsetImport.length, 1);
  // Independent values: GELU(1) = 0.8413447, GELU(-1) = -0.1586553, GELU(0) = 0.
  const x = randomTensor([1, 16]);
  (x.data as Float32Array).set([1, -1, 0]);
  const y = toNumbers((await runModel(out, { x })).y as never);
  assert.ok(Math.abs(y[0] - 0.8413447) < 1e-6 && Math.abs(y[1] + 0.1586553) < 1e-6 && y[2] === 0);
});

Deno.test("gelu-fusion: the tanh form → FastGelu (opset 13) or Gelu approximate=tanh (opset 20)", async () => {
  for (
    const [pow, opset, op] of [[true, 13, "com.microsoft.FastGelu"], [false, 20, "Gelu"]] as const
  ) {
    const { model: out } = await optimizeAndCompare(tanhGelu(pow, opset), {
      passes: ["gelu-fusion"],
    }, {
      x: scaled(3),
    }, { rtol: 1e-5, atol: 1e-6 });
    assert.deepEqual(opCounts(out), { [op]: 1 });
    if (opset === 20) {
      assert.equal(new TextDecoder().decode(out.graph!.node[0].attribute[0].s), "tanh");
    }
  }
});

Deno.test("gelu-fusion: another constant than 0.5 is not GELU", async () => {
  const { report } = await optimizeModel(erfGelu("x_a_half", 20, 0.6), { passes: ["gelu-fusion"] });
  assert.equal(report.passes[0].changedRuns, 0);
});
