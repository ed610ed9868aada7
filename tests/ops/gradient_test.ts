/**
 * Tests of ai.onnx.preview.training Gradient: every backward rule against central finite
 * differences in float64 (the forward values come from the runtime's own kernels), with
 * broadcasting, batched and 1-D MatMul, both Softmax groupings, a small MLP, zs, initializers
 * and intermediate values in xs, omitted outputs, and the UnsupportedError cases.
 *
 * Each case computes `y` from its nodes; the checked function is L = Σ y ⊙ W for a random
 * constant W shaped like y, so the gradient flowing into y is not uniform (a mix-up of
 * elements shows), and Gradient differentiates L with respect to the case's xs.
 */

import assert from "node:assert/strict";
import type { Node } from "../../pipeline/load/ir.ts";
import {
  makeGraph,
  makeModel,
  makeNode,
  makeTensorProto,
  makeValueInfo,
  type NodeAttrs,
} from "../../pipeline/load/build.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { UnsupportedError } from "../../pipeline/errors.ts";
import { assertClose, i64, nums, randomValues } from "./_op_harness.ts";

const TRAINING = "ai.onnx.preview.training";

/** A float64 tensor of pseudo-random values in [lo, hi). */
function rand(dims: number[], seed: number, lo = -1, hi = 1): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const v = randomValues(n, seed).map((r) => lo + ((r + 1) / 2) * (hi - lo));
  return new Tensor("float64", Float64Array.from(v), dims);
}

/** A float64 tensor of the given values. */
function t64(v: number[], dims: number[]): Tensor {
  return new Tensor("float64", Float64Array.from(v), dims);
}

function node(op: string, inputs: string[], output: string, attrs: NodeAttrs = []): Node {
  return makeNode(op, inputs, [output], attrs, { name: `${op}_${output}` });
}

interface Case {
  /** Forward nodes; they compute "y". */
  nodes: Node[];
  /** Shape of y. */
  yDims: number[];
  /** Values of xs (graph inputs). */
  xs: Record<string, Tensor>;
  /** Values of zs (graph inputs, not differentiated). */
  zs?: Record<string, Tensor>;
  /** Initializers the nodes read. */
  init?: Record<string, Tensor>;
  /** ai.onnx opset (default 17). */
  opset?: number;
}

/** The case's model: forward nodes, L = ReduceSum(y · W), Gradient(xs, zs, y = L). */
function caseModel(c: Case, weights: Tensor) {
  const xs = Object.keys(c.xs), zs = Object.keys(c.zs ?? {});
  const feeds = { ...c.xs, ...c.zs };
  const opset = c.opset ?? 17;
  const nodes = [
    ...c.nodes,
    node("Mul", ["y", "W_y"], "yw"),
    node("ReduceSum", ["yw"], "L", { keepdims: { i: 0 } }),
    makeNode("Gradient", [...xs, ...zs], xs.map((x) => `d_${x}`), {
      xs: { strings: xs },
      zs: { strings: zs },
      y: { s: "L" },
    }, { name: "grad", domain: TRAINING }),
  ];
  const graph = makeGraph({
    node: nodes,
    input: Object.entries(feeds).map(([n, t]) => makeValueInfo(n, t.type, [...t.dims])),
    initializer: Object.entries({ ...c.init, W_y: weights }).map(([n, t]) => makeTensorProto(t, n)),
    output: ["L", ...xs.map((x) => `d_${x}`)].map((n) => makeValueInfo(n)),
  });
  return makeModel(graph, { opsetImport: { "": opset, [TRAINING]: 1 } });
}

/** Checks Gradient's outputs against central differences of L for every element of xs. */
async function checkCase(c: Case, tol = 1e-6): Promise<void> {
  const weights = rand(c.yDims, 97, 0.5, 1.5);
  const session = await InferenceSession.create(encodeModel(caseModel(c, weights)));
  const feeds: Record<string, Tensor> = { ...c.xs, ...c.zs };
  const out = await session.run(feeds);
  const h = 1e-6;
  for (const [name, x] of Object.entries(c.xs)) {
    const grad = out[`d_${name}`] as Tensor;
    assert.equal(grad.type, x.type, `d_${name} type`);
    assert.deepEqual([...grad.dims], [...x.dims], `d_${name} dims`);
    const base = x.data as Float64Array;
    const expected: number[] = [];
    for (let k = 0; k < base.length; k++) {
      const at = async (dx: number) => {
        const v = base.slice();
        v[k] += dx;
        const r = await session.run({ ...feeds, [name]: new Tensor("float64", v, x.dims) });
        return nums(r.L)[0];
      };
      expected.push(((await at(h)) - (await at(-h))) / (2 * h));
    }
    assertClose(nums(grad), expected, { atol: tol, rtol: tol }, `d_${name}`);
  }
}

Deno.test("Gradient of Add, Sub, Mul and Div with broadcasting", async () => {
  await checkCase({
    nodes: [node("Add", ["a", "b"], "y")],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 1), b: rand([3], 2) },
  });
  await checkCase({
    nodes: [node("Sub", ["a", "b"], "y")],
    yDims: [2, 4, 3],
    xs: { a: rand([2, 1, 3], 3), b: rand([4, 1], 4) },
  });
  await checkCase({
    nodes: [node("Mul", ["a", "b"], "y")],
    yDims: [3, 4],
    xs: { a: rand([3, 1], 5), b: rand([1, 4], 6) },
  });
  await checkCase({
    nodes: [node("Div", ["a", "b"], "y")],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 7), b: rand([2, 1], 8, 0.5, 1.5) },
  });
  // A scalar against a matrix, and one value read twice.
  await checkCase({
    nodes: [
      node("Mul", ["a", "s"], "m"),
      node("Div", ["m", "a"], "q"),
      node("Add", ["q", "m"], "y"),
    ],
    yDims: [2, 2],
    xs: { a: rand([2, 2], 9, 0.5, 1.5), s: rand([], 10) },
  });
});

Deno.test("Gradient of the unary ops", async () => {
  const cases: [string, number, number][] = [
    ["Neg", -1, 1],
    ["Identity", -1, 1],
    ["Relu", -1, 1],
    ["Sigmoid", -2, 2],
    ["Tanh", -2, 2],
    ["Exp", -1, 1],
    ["Log", 0.5, 2],
    ["Sqrt", 0.5, 2],
  ];
  for (const [op, lo, hi] of cases) {
    await checkCase({
      nodes: [node(op, ["a"], "y")],
      yDims: [2, 3],
      xs: { a: rand([2, 3], 11, lo, hi) },
    });
  }
});

Deno.test("Gradient of Pow with a constant exponent, from an initializer or from zs", async () => {
  await checkCase({
    nodes: [node("Pow", ["a", "e"], "y")],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 12, 0.5, 2) },
    init: { e: t64([2, 0.5, -1.5], [3]) },
  });
  await checkCase({
    nodes: [node("Pow", ["a", "e"], "y")],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 13, 0.5, 2) },
    zs: { e: t64([3], []) },
  });
});

Deno.test("Gradient of MatMul: 2-D, batch broadcasting and 1-D operands", async () => {
  await checkCase({
    nodes: [node("MatMul", ["a", "b"], "y")],
    yDims: [2, 4],
    xs: { a: rand([2, 3], 14), b: rand([3, 4], 15) },
  });
  await checkCase({
    nodes: [node("MatMul", ["a", "b"], "y")],
    yDims: [2, 3, 2, 4],
    xs: { a: rand([2, 1, 2, 3], 16), b: rand([3, 3, 4], 17) },
  });
  await checkCase({
    nodes: [node("MatMul", ["a", "b"], "y")],
    yDims: [2, 4],
    xs: { a: rand([3], 18), b: rand([2, 3, 4], 19) },
  });
  await checkCase({
    nodes: [node("MatMul", ["a", "b"], "y")],
    yDims: [2],
    xs: { a: rand([2, 3], 20), b: rand([3], 21) },
  });
});

Deno.test("Gradient of Gemm with transposes, alpha, beta and a broadcast C", async () => {
  await checkCase({
    nodes: [
      node("Gemm", ["a", "b", "c"], "y", {
        transA: { i: 1 },
        transB: { i: 1 },
        alpha: { f: 0.75 },
        beta: { f: 1.25 },
      }),
    ],
    yDims: [2, 4],
    xs: { a: rand([3, 2], 22), b: rand([4, 3], 23), c: rand([4], 24) },
  });
  await checkCase({
    nodes: [node("Gemm", ["a", "b", "c"], "y")],
    yDims: [2, 4],
    xs: { a: rand([2, 3], 25), b: rand([3, 4], 26), c: rand([2, 1], 27) },
  });
  await checkCase({
    nodes: [node("Gemm", ["a", "b"], "y", { transB: { i: 1 } })],
    yDims: [2, 4],
    xs: { a: rand([2, 3], 28), b: rand([4, 3], 29) },
  });
});

Deno.test("Gradient of ReduceSum and ReduceMean: axes as input or attribute, keepdims", async () => {
  await checkCase({
    nodes: [node("ReduceSum", ["a", "axes"], "y", { keepdims: { i: 0 } })],
    yDims: [2, 4],
    xs: { a: rand([2, 3, 4], 30) },
    init: { axes: i64([1]) },
  });
  await checkCase({
    nodes: [node("ReduceMean", ["a", "axes"], "y")],
    yDims: [1, 3, 1],
    xs: { a: rand([2, 3, 4], 31) },
    init: { axes: i64([0, -1]) },
    opset: 18,
  });
  await checkCase({
    nodes: [node("ReduceSum", ["a"], "y", { axes: { ints: [-1] }, keepdims: { i: 0 } })],
    yDims: [2, 3],
    xs: { a: rand([2, 3, 4], 32) },
    opset: 11,
  });
  await checkCase({
    nodes: [node("ReduceMean", ["a"], "y")],
    yDims: [1, 1],
    xs: { a: rand([3, 4], 33) },
  });
});

Deno.test("Gradient of Reshape, Transpose and Concat", async () => {
  await checkCase({
    nodes: [node("Reshape", ["a", "shape"], "y")],
    yDims: [3, 4],
    xs: { a: rand([2, 3, 2], 34) },
    init: { shape: i64([3, 4]) },
  });
  await checkCase({
    nodes: [node("Transpose", ["a"], "y", { perm: { ints: [2, 0, 1] } })],
    yDims: [4, 2, 3],
    xs: { a: rand([2, 3, 4], 35) },
  });
  await checkCase({
    nodes: [node("Transpose", ["a"], "y")],
    yDims: [4, 3, 2],
    xs: { a: rand([2, 3, 4], 36) },
  });
  await checkCase({
    nodes: [node("Concat", ["a", "b", "a"], "y", { axis: { i: -2 } })],
    yDims: [2, 4, 3],
    xs: { a: rand([2, 1, 3], 37), b: rand([2, 2, 3], 38) },
  });
});

Deno.test("Gradient of Softmax in both groupings, and of Sum", async () => {
  // Softmax-13 normalizes one axis.
  await checkCase({
    nodes: [node("Softmax", ["a"], "y", { axis: { i: 1 } })],
    yDims: [2, 3, 4],
    xs: { a: rand([2, 3, 4], 39) },
  });
  // Softmax-11 normalizes the flattened dims from axis 1 (the default) on.
  await checkCase({
    nodes: [node("Softmax", ["a"], "y")],
    yDims: [2, 3, 4],
    xs: { a: rand([2, 3, 4], 40) },
    opset: 11,
  });
  await checkCase({
    nodes: [node("Softmax", ["a"], "y", { axis: { i: 0 } })],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 41) },
    opset: 11,
  });
  // Both versions agree here (the last axis of a matrix).
  await checkCase({
    nodes: [node("Softmax", ["a"], "y")],
    yDims: [3, 4],
    xs: { a: rand([3, 4], 50) },
  });
  await checkCase({
    nodes: [node("Sum", ["a", "b", "c"], "y")],
    yDims: [2, 3],
    xs: { a: rand([2, 3], 42), b: rand([3], 43), c: rand([1, 3], 44) },
  });
});

Deno.test("Gradient of a small MLP: MatMul, Add, Relu, ReduceSum", async () => {
  await checkCase({
    nodes: [
      node("MatMul", ["x", "w1"], "h0"),
      node("Add", ["h0", "b1"], "h1"),
      node("Relu", ["h1"], "h2"),
      node("MatMul", ["h2", "w2"], "h3"),
      node("ReduceSum", ["h3", "axes"], "y", { keepdims: { i: 0 } }),
    ],
    yDims: [4],
    xs: { w1: rand([3, 5], 45), b1: rand([5], 46), w2: rand([5, 2], 47) },
    zs: { x: rand([4, 3], 48) },
    init: { axes: i64([1]) },
  });
});

Deno.test("Gradient through Shape: shapes carry no gradient", async () => {
  await checkCase({
    nodes: [
      node("Transpose", ["a"], "t"),
      node("Shape", ["t"], "s"),
      node("Mul", ["a", "a"], "sq"),
      node("Reshape", ["sq", "s"], "y"),
    ],
    yDims: [3, 2],
    xs: { a: rand([2, 3], 49) },
  });
});

/** Runs a model of `nodes` plus Gradient and returns its outputs. */
async function runGradient(
  nodes: Node[],
  feeds: Record<string, Tensor>,
  grad: { xs: string[]; zs?: string[]; y: string; outputs?: string[] },
  init: Record<string, Tensor> = {},
): Promise<Record<string, Tensor>> {
  const outputs = grad.outputs ?? grad.xs.map((x) => `d_${x}`);
  const g = makeGraph({
    node: [
      ...nodes,
      makeNode("Gradient", [...grad.xs, ...grad.zs ?? []], outputs, {
        xs: { strings: grad.xs },
        zs: { strings: grad.zs ?? [] },
        y: { s: grad.y },
      }, { name: "grad", domain: TRAINING }),
    ],
    input: Object.entries(feeds).map(([n, t]) => makeValueInfo(n, t.type, [...t.dims])),
    initializer: Object.entries(init).map(([n, t]) => makeTensorProto(t, n)),
    output: outputs.filter((o) => o !== "").map((n) => makeValueInfo(n)),
  });
  const model = makeModel(g, { opsetImport: { "": 17, [TRAINING]: 1 } });
  const session = await InferenceSession.create(encodeModel(model));
  return await session.run(feeds) as Record<string, Tensor>;
}

Deno.test("Gradient of a non-scalar y is the gradient of the sum of its elements", async () => {
  // d Σ(a·b) / da = b, and the float32 type of a is kept.
  const a = new Tensor("float32", Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = new Tensor("float32", Float32Array.from([0.5, -1, 2]), [3]);
  const out = await runGradient([node("Mul", ["a", "b"], "y")], { a, b }, {
    xs: ["a", "b"],
    y: "y",
  });
  assert.equal(out.d_a.type, "float32");
  assert.deepEqual([...out.d_a.dims], [2, 3]);
  assert.deepEqual(nums(out.d_a), [0.5, -1, 2, 0.5, -1, 2]);
  assert.deepEqual(nums(out.d_b), [5, 7, 9]);
});

Deno.test("Gradient with respect to an initializer and to an intermediate value", async () => {
  // y = (w·x)² with w an initializer: dy/dw = 2·w·x², at the initializer's value.
  const x = t64([1, 2, 3], [3]);
  const w = t64([4, 5, 6], [3]);
  const nodes = [node("Mul", ["w", "x"], "h"), node("Mul", ["h", "h"], "y")];
  const byW = await runGradient(nodes, { x }, { xs: ["w"], zs: ["x"], y: "y" }, { w });
  assert.deepEqual(nums(byW.d_w), [2 * 4 * 1, 2 * 5 * 4, 2 * 6 * 9]);
  // With respect to h, an independent variable here (its producer is not differentiated):
  // dy/dh = 2h at h = w·x.
  const byH = await runGradient(nodes, { x }, { xs: ["h"], y: "y" }, { w });
  assert.deepEqual(nums(byH.d_h), [8, 20, 36]);
});

Deno.test("Gradient: y among xs, y independent of an x, omitted outputs", async () => {
  const a = t64([1, 2], [2]);
  const b = t64([3], [1]);
  const out = await runGradient(
    [node("Exp", ["a"], "y")],
    { a, b },
    { xs: ["a", "b"], y: "a", outputs: ["", "d_b"] },
  );
  assert.equal(out.d_a, undefined);
  assert.deepEqual(nums(out.d_b), [0]);
  const self = await runGradient([], { a }, { xs: ["a"], y: "a" });
  assert.deepEqual(nums(self.d_a), [1, 1]);
});

Deno.test("Gradient reports unsupported ops, dtypes and inputs by name", async () => {
  const a = t64([1, 2], [2]);
  await assert.rejects(
    () =>
      runGradient([node("Sin", ["a"], "s"), node("Exp", ["s"], "y")], { a }, {
        xs: ["a"],
        y: "y",
      }),
    (e: unknown) => e instanceof UnsupportedError && /differentiating Sin/.test(e.message),
  );
  // An unsupported op off the path from xs is only evaluated.
  const ok = await runGradient(
    [node("Sin", ["c"], "s"), node("Mul", ["a", "s"], "y")],
    {
      a,
    },
    { xs: ["a"], y: "y" },
    { c: t64([0, Math.PI / 2], [2]) },
  );
  assertClose(nums(ok.d_a), [0, 1], { atol: 1e-12 });
  // y reads a graph input that is in neither xs nor zs.
  await assert.rejects(
    () => runGradient([node("Mul", ["a", "b"], "y")], { a, b: a }, { xs: ["a"], y: "y" }),
    (e: unknown) => e instanceof UnsupportedError && /graph input "b"/.test(e.message),
  );
  // Integer xs.
  await assert.rejects(
    () => runGradient([node("Neg", ["k"], "y")], { k: i64([1, 2]) }, { xs: ["k"], y: "y" }),
    (e: unknown) => e instanceof UnsupportedError && /int64/.test(e.message),
  );
  // A differentiated exponent.
  await assert.rejects(
    () => runGradient([node("Pow", ["a", "a"], "y")], { a }, { xs: ["a"], y: "y" }),
    (e: unknown) => e instanceof UnsupportedError && /input 1 of Pow/.test(e.message),
  );
});

Deno.test("Gradient inside an If branch reads values of the enclosing graph", async () => {
  // The branch differentiates y = a · c · a, with a and c from the main graph: dy/da = 2ac.
  const grad = makeNode("Gradient", ["a"], ["d_a"], {
    xs: { strings: ["a"] },
    y: { s: "y" },
  }, { name: "grad", domain: TRAINING });
  const thenBranch = makeGraph({
    name: "then",
    node: [node("Mul", ["a", "c"], "ac"), node("Mul", ["ac", "a"], "y"), grad],
    output: [makeValueInfo("d_a")],
  });
  const elseBranch = makeGraph({
    name: "else",
    node: [node("Identity", ["a"], "d_a")],
    output: [makeValueInfo("d_a")],
  });
  const g = makeGraph({
    node: [makeNode("If", ["cond"], ["out"], {
      then_branch: { g: thenBranch },
      else_branch: { g: elseBranch },
    })],
    input: [makeValueInfo("cond", "bool", []), makeValueInfo("a", "float64", [2])],
    initializer: [makeTensorProto(t64([3, -1], [2]), "c")],
    output: [makeValueInfo("out")],
  });
  const model = makeModel(g, { opsetImport: { "": 17, [TRAINING]: 1 } });
  const session = await InferenceSession.create(encodeModel(model));
  const cond = new Tensor("bool", Uint8Array.from([1]), []);
  const out = await session.run({ cond, a: t64([2, 5], [2]) });
  assert.deepEqual(nums(out.out), [2 * 2 * 3, 2 * 5 * -1]);
});
