/**
 * The kernel of ai.onnx.preview.training Gradient: reverse-mode differentiation of the part
 * of the node's own graph that computes `y` from `xs` and `zs`.
 *
 * 1. The forward subgraph is found once per node: the producers of `y`, walked back until
 *    the names in `xs` ∪ `zs`. Other values those nodes read must be initializers, values of
 *    enclosing scopes or outputs of nodes that read only such values (Constant, Shape of a
 *    constant...); a graph input outside `xs` ∪ `zs` is unsupported. Every node whose value
 *    depends on `xs` needs a backward rule (table {@link RULES}); Shape and Size stop the
 *    dependence (their integer outputs have no gradient).
 * 2. That subgraph runs once through `ctx.runGraph`, with the Gradient inputs bound to `xs`
 *    then `zs` and every value it reads or makes as an output, so the tape has all forward
 *    values without computing any by hand.
 * 3. Gradients flow back in float64 over the nodes in reverse order, accumulating where a
 *    value has several readers; broadcast inputs get their gradient summed over the
 *    broadcast axes. The seed dY/dY is 1 for every element of Y, so a non-scalar Y gives the
 *    gradient of the sum of its elements (the spec leaves that case open; this is the usual
 *    convention, and what a scalar Y reduces to). Each output takes the type of its x.
 *
 * Differentiable values must be float32 or float64 tensors.
 *
 * @module
 */

import type { Graph, Node, ValueInfo } from "../pipeline/load/ir.ts";
import { NodeAttributes } from "../pipeline/run/attributes.ts";
import { Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import { gemm } from "../pipeline/run/cpu/gemm.ts";
import type { Attributes, OpContext } from "./types.ts";
import {
  broadcastOffsets,
  broadcastShapes,
  numbersOf,
  shapeSize,
  stridesOf,
  tensorFromComputed,
  toIntArray,
} from "./util.ts";

// ------------------------------------------------------------------------------------------
// Float64 helpers.
// ------------------------------------------------------------------------------------------

function f64(t: Tensor): Float64Array {
  const v = numbersOf(t);
  return v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>);
}

/** Sums `g` (shaped `outDims`) over the axes along which `inDims` was broadcast to it. */
function unbroadcast(
  g: Float64Array,
  outDims: readonly number[],
  inDims: readonly number[],
): Float64Array {
  const offs = broadcastOffsets(inDims, outDims);
  if (!offs) return g;
  const r = new Float64Array(shapeSize(inDims));
  for (let i = 0; i < g.length; i++) r[offs[i]] += g[i];
  return r;
}

/** Identity offsets (for operands that are not broadcast). */
function offsetsOf(inDims: readonly number[], outDims: readonly number[]): Int32Array {
  const o = broadcastOffsets(inDims, outDims);
  if (o) return o;
  const n = shapeSize(outDims);
  const id = new Int32Array(n);
  for (let i = 0; i < n; i++) id[i] = i;
  return id;
}

/** Transposes row-major `data` of `dims` by `perm` (output dim i = input dim perm[i]). */
function transpose(data: Float64Array, dims: readonly number[], perm: readonly number[]) {
  const rank = dims.length;
  const outDims = perm.map((p) => dims[p]);
  const inStrides = stridesOf(dims);
  const st = perm.map((p) => inStrides[p]);
  const out = new Float64Array(data.length);
  if (data.length === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[off];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < outDims[d]) break;
      off -= st[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Backward rules.
// ------------------------------------------------------------------------------------------

/** What a backward rule sees: one forward node with its values and the output gradient. */
interface RuleContext {
  readonly node: Node;
  readonly attrs: Attributes;
  /** Forward values of the node's inputs (undefined where omitted). */
  readonly inputs: readonly (Tensor | undefined)[];
  /** Forward value of output 0. */
  readonly output: Tensor;
  /** Gradient of output 0, shaped like it. */
  readonly g: Float64Array;
  /** True when input `i` depends on `xs` (only those gradients are wanted). */
  need(i: number): boolean;
  /** Adds `grad` (shaped like input `i`) to the gradient of input `i`. */
  add(i: number, grad: Float64Array): void;
  /** The graph's opset version for the node's domain, when known. */
  readonly opset?: number;
  unsupported(message: string): Error;
  fail(message: string): Error;
}

interface Rule {
  /** Inputs a gradient can flow to; "all" for every input. */
  readonly diff: readonly number[] | "all";
  readonly back: (c: RuleContext) => void | Promise<void>;
}

function input(c: RuleContext, i: number): Tensor {
  const t = c.inputs[i];
  if (!t) throw c.fail(`input ${i} is missing`);
  return t;
}

/** Elementwise rule of a broadcasting binary op: d/da and d/db of f(a, b) at each element. */
function binary(
  da: ((a: number, b: number, y: number) => number) | "one",
  db: ((a: number, b: number, y: number) => number) | "one" | "minus-one" | "none",
): Rule {
  return {
    diff: db === "none" ? [0] : [0, 1],
    back(c) {
      const A = input(c, 0), B = input(c, 1);
      const out = c.output.dims;
      let vals: { a: Float64Array; b: Float64Array; y: Float64Array } | undefined;
      const side = (i: number, d: typeof da | typeof db, dims: readonly number[]) => {
        if (!c.need(i) || d === "none") return;
        if (d === "one") {
          c.add(i, unbroadcast(c.g, out, dims));
          return;
        }
        const full = new Float64Array(c.g.length);
        if (d === "minus-one") {
          for (let k = 0; k < full.length; k++) full[k] = -c.g[k];
        } else {
          vals ??= { a: f64(A), b: f64(B), y: f64(c.output) };
          const { a, b, y } = vals;
          const oa = offsetsOf(A.dims, out), ob = offsetsOf(B.dims, out);
          for (let k = 0; k < full.length; k++) full[k] = c.g[k] * d(a[oa[k]], b[ob[k]], y[k]);
        }
        c.add(i, unbroadcast(full, out, dims));
      };
      side(0, da, A.dims);
      side(1, db, B.dims);
    },
  };
}

/** Elementwise rule of a unary op: dy/dx from x and y. */
function unary(d: (x: number, y: number) => number): Rule {
  return {
    diff: [0],
    back(c) {
      const x = f64(input(c, 0)), y = f64(c.output);
      const r = new Float64Array(c.g.length);
      for (let k = 0; k < r.length; k++) r[k] = c.g[k] * d(x[k], y[k]);
      c.add(0, r);
    },
  };
}

/** Rule of ops that keep the data and change only the shape (the gradient takes x's shape). */
const reshapeLike: Rule = { diff: [0], back: (c) => c.add(0, c.g) };

const matMulRule: Rule = {
  diff: [0, 1],
  back(c) {
    const A = input(c, 0), B = input(c, 1);
    const ad = A.dims.length === 1 ? [1, A.dims[0]] : [...A.dims];
    const bd = B.dims.length === 1 ? [B.dims[0], 1] : [...B.dims];
    if (ad.length < 2 || bd.length < 2) throw c.fail("MatMul operands must have rank ≥ 1");
    const M = ad[ad.length - 2], K = ad[ad.length - 1], N = bd[bd.length - 1];
    const aBatch = ad.slice(0, -2), bBatch = bd.slice(0, -2);
    const batch = broadcastShapes(aBatch, bBatch);
    if (!batch) throw c.fail(`batch dims [${aBatch}] and [${bBatch}] do not broadcast`);
    const nb = shapeSize(batch);
    const oa = offsetsOf(aBatch, batch), ob = offsetsOf(bBatch, batch);
    const a = f64(A), b = f64(B), g = c.g;
    if (c.need(0)) {
      // dA = g · Bᵀ, summed over the batches A was broadcast to.
      const dA = new Float64Array(a.length);
      for (let i = 0; i < nb; i++) {
        gemm(
          M,
          K,
          N,
          { data: g, offset: i * M * N },
          { data: b, offset: ob[i] * K * N, trans: true },
          { data: dA, offset: oa[i] * M * K },
          { beta: 1 },
        );
      }
      c.add(0, dA);
    }
    if (c.need(1)) {
      // dB = Aᵀ · g.
      const dB = new Float64Array(b.length);
      for (let i = 0; i < nb; i++) {
        gemm(
          K,
          N,
          M,
          { data: a, offset: oa[i] * M * K, trans: true },
          { data: g, offset: i * M * N },
          { data: dB, offset: ob[i] * K * N },
          { beta: 1 },
        );
      }
      c.add(1, dB);
    }
  },
};

const gemmRule: Rule = {
  diff: [0, 1, 2],
  back(c) {
    const A = input(c, 0), B = input(c, 1);
    const transA = c.attrs.int("transA", 0) !== 0;
    const transB = c.attrs.int("transB", 0) !== 0;
    const alpha = c.attrs.float("alpha", 1);
    const beta = c.attrs.float("beta", 1);
    if (A.dims.length !== 2 || B.dims.length !== 2) throw c.fail("Gemm operands must be 2-D");
    const [M, K] = transA ? [A.dims[1], A.dims[0]] : A.dims;
    const N = transB ? B.dims[0] : B.dims[1];
    const a = f64(A), b = f64(B), g = c.g;
    if (c.need(0)) {
      const dA = new Float64Array(a.length);
      if (!transA) {
        // dA = alpha · g · B'ᵀ.
        gemm(M, K, N, { data: g }, { data: b, trans: !transB }, { data: dA }, { alpha });
      } else {
        // dA (stored K×M) = alpha · B' · gᵀ.
        gemm(K, M, N, { data: b, trans: transB }, { data: g, trans: true }, { data: dA }, {
          alpha,
        });
      }
      c.add(0, dA);
    }
    if (c.need(1)) {
      const dB = new Float64Array(b.length);
      if (!transB) {
        // dB = alpha · A'ᵀ · g.
        gemm(K, N, M, { data: a, trans: !transA }, { data: g }, { data: dB }, { alpha });
      } else {
        // dB (stored N×K) = alpha · gᵀ · A'.
        gemm(N, K, M, { data: g, trans: true }, { data: a, trans: transA }, { data: dB }, {
          alpha,
        });
      }
      c.add(1, dB);
    }
    const C = c.inputs[2];
    if (C && c.need(2)) {
      const s = new Float64Array(g.length);
      for (let k = 0; k < s.length; k++) s[k] = beta * g[k];
      c.add(2, unbroadcast(s, [M, N], C.dims));
    }
  },
};

/** ReduceSum (scale 1) and ReduceMean (scale 1/count): spread g back over the reduced axes. */
function reduceRule(mean: boolean): Rule {
  return {
    diff: [0],
    back(c) {
      const X = input(c, 0);
      const rank = X.dims.length;
      let axes: number[];
      if (c.attrs.has("axes")) axes = c.attrs.ints("axes");
      else if (c.inputs[1]) axes = toIntArray(c.inputs[1]);
      else axes = [];
      if (axes.length === 0 && c.attrs.int("noop_with_empty_axes", 0) !== 0) {
        c.add(0, c.g);
        return;
      }
      const reduced = new Set(
        axes.length === 0 ? X.dims.map((_, i) => i) : axes.map((a) => (a < 0 ? a + rank : a)),
      );
      const kept = X.dims.map((d, i) => (reduced.has(i) ? 1 : d));
      let count = 1;
      for (const a of reduced) count *= X.dims[a];
      const scale = mean ? 1 / count : 1;
      const offs = offsetsOf(kept, X.dims);
      const r = new Float64Array(X.size);
      for (let k = 0; k < r.length; k++) r[k] = c.g[offs[k]] * scale;
      c.add(0, r);
    },
  };
}

const transposeRule: Rule = {
  diff: [0],
  back(c) {
    const rank = c.output.dims.length;
    const perm = c.attrs.ints("perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p < 0 ? p + rank : p] = i));
    c.add(0, transpose(c.g, c.output.dims, inv));
  },
};

const softmaxRule: Rule = {
  diff: [0],
  back(c) {
    const dims = c.output.dims;
    const rank = dims.length;
    const y = f64(c.output), g = c.g;
    if (y.length === 0) {
      c.add(0, new Float64Array(0));
      return;
    }
    // Softmax-13 normalizes along `axis` (default -1); earlier versions normalize the
    // flattened dims from `axis` (default 1) on.
    if (c.opset === undefined) throw c.fail("the ai.onnx opset of the graph is unknown");
    const norm = (a: number) => (a < 0 ? a + rank : a);
    let axis: number, n: number, inner: number;
    if (c.opset >= 13) {
      axis = norm(c.attrs.int("axis", -1));
      n = dims[axis];
      inner = shapeSize(dims.slice(axis + 1));
    } else {
      axis = norm(c.attrs.int("axis", 1));
      n = shapeSize(dims.slice(axis));
      inner = 1;
    }
    const outer = shapeSize(dims.slice(0, axis!));
    const r = new Float64Array(y.length);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner!; j++) {
        const base = o * n! * inner! + j;
        let s = 0;
        for (let k = 0; k < n!; k++) s += g[base + k * inner!] * y[base + k * inner!];
        for (let k = 0; k < n!; k++) {
          const e = base + k * inner!;
          r[e] = y[e] * (g[e] - s);
        }
      }
    }
    c.add(0, r);
  },
};

const concatRule: Rule = {
  diff: "all",
  back(c) {
    const dims = c.output.dims;
    const rank = dims.length;
    let axis = c.attrs.int("axis", 1);
    if (axis < 0) axis += rank;
    const outer = shapeSize(dims.slice(0, axis));
    const inner = shapeSize(dims.slice(axis + 1));
    const row = dims[axis] * inner;
    let at = 0;
    c.inputs.forEach((t, i) => {
      if (!t) return;
      const w = t.dims[axis] * inner;
      if (c.need(i)) {
        const r = new Float64Array(outer * w);
        for (let o = 0; o < outer; o++) r.set(c.g.subarray(o * row + at, o * row + at + w), o * w);
        c.add(i, r);
      }
      at += w;
    });
  },
};

const sumRule: Rule = {
  diff: "all",
  back(c) {
    c.inputs.forEach((t, i) => {
      if (t && c.need(i)) c.add(i, unbroadcast(c.g, c.output.dims, t.dims));
    });
  },
};

/** Backward rules of the ai.onnx ops Gradient differentiates, by op type. */
const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ["Add", binary("one", "one")],
  ["Sub", binary("one", "minus-one")],
  ["Mul", binary((_a, b) => b, (a) => a)],
  ["Div", binary((_a, b) => 1 / b, (a, b) => -a / (b * b))],
  // The exponent must not depend on xs.
  ["Pow", binary((a, b) => (b === 0 ? 0 : b * Math.pow(a, b - 1)), "none")],
  ["Neg", unary(() => -1)],
  ["Identity", reshapeLike],
  ["Relu", unary((x) => (x > 0 ? 1 : 0))],
  ["Sigmoid", unary((_x, y) => y * (1 - y))],
  ["Tanh", unary((_x, y) => 1 - y * y)],
  ["Exp", unary((_x, y) => y)],
  ["Log", unary((x) => 1 / x)],
  ["Sqrt", unary((_x, y) => 0.5 / y)],
  ["MatMul", matMulRule],
  ["Gemm", gemmRule],
  ["ReduceSum", reduceRule(false)],
  ["ReduceMean", reduceRule(true)],
  ["Reshape", reshapeLike],
  ["Flatten", reshapeLike],
  ["Squeeze", reshapeLike],
  ["Unsqueeze", reshapeLike],
  ["Transpose", transposeRule],
  ["Softmax", softmaxRule],
  ["Sum", sumRule],
  ["Concat", concatRule],
]);

/** Ops whose outputs describe shapes, not values: nothing flows back through them. */
const STOPS = new Set(["Shape", "Size"]);

// ------------------------------------------------------------------------------------------
// The forward subgraph.
// ------------------------------------------------------------------------------------------

interface Forward {
  /** The nodes computing y, in execution order. */
  nodes: Node[];
  /** Of those, the nodes whose output depends on xs (they get backward rules). */
  dependent: Set<Node>;
  /** Names whose value depends on xs. */
  varying: Set<string>;
  /** The graph run by `ctx.runGraph`: inputs xs then zs, outputs `names`. */
  graph: Graph;
  /** Outputs of `graph`, in order. */
  names: string[];
}

const forwardCache = new WeakMap<Graph, WeakMap<Node, Forward>>();

function valueInfo(name: string): ValueInfo {
  return { name, docString: "", metadataProps: [] };
}

function graphOf(name: string, node: Node[], input: string[], output: string[]): Graph {
  return {
    node,
    name,
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: input.map(valueInfo),
    output: output.map(valueInfo),
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
}

function isDefaultDomain(d: string): boolean {
  return d === "" || d === "ai.onnx";
}

function buildForward(ctx: OpContext, graph: Graph, xs: string[], zs: string[], y: string) {
  const sources = new Set([...xs, ...zs]);
  const producer = new Map<string, Node>();
  for (const n of graph.node) {
    if (n === ctx.node) continue;
    for (const o of n.output) if (o) producer.set(o, n);
  }
  const initializers = new Set([
    ...graph.initializer.map((t) => t.name),
    ...graph.sparseInitializer.map((t) => t.values?.name ?? ""),
  ]);
  const graphInputs = new Set(graph.input.map((i) => i.name).filter((n) => !initializers.has(n)));
  if (!sources.has(y) && !producer.has(y) && !initializers.has(y)) {
    throw ctx.fail(`y "${y}" is not produced by any node of the graph`);
  }
  const nodes: Node[] = [];
  const state = new Map<Node, "visiting" | "done">();
  const visit = (name: string, reader: string) => {
    if (name === "" || sources.has(name)) return;
    const p = producer.get(name);
    if (!p) {
      if (graphInputs.has(name)) {
        throw ctx.unsupported(
          `y "${y}" depends on graph input "${name}" (read by ${reader}), which is in neither ` +
            `xs nor zs`,
        );
      }
      return; // An initializer or a value of an enclosing scope: a constant here.
    }
    const s = state.get(p);
    if (s === "done") return;
    if (s === "visiting") throw ctx.fail(`the graph has a cycle through "${name}"`);
    state.set(p, "visiting");
    if (p.attribute.some((a) => a.g || a.graphs.length)) {
      throw ctx.unsupported(`${p.opType} node "${p.name}" on the path to y has subgraphs`);
    }
    const where = `${p.opType} node "${p.name || p.output[0]}"`;
    for (const i of p.input) visit(i, where);
    state.set(p, "done");
    nodes.push(p);
  };
  visit(y, "y");
  // Which values vary with xs, and the rule each varying node needs.
  const varying = new Set(xs);
  const dependent = new Set<Node>();
  for (const n of nodes) {
    const dep = n.input.map((i) => i !== "" && varying.has(i));
    if (!dep.some((d) => d) || STOPS.has(n.opType)) continue;
    const rule = isDefaultDomain(n.domain) ? RULES.get(n.opType) : undefined;
    const label = `${n.opType}${isDefaultDomain(n.domain) ? "" : ` (domain ${n.domain})`}`;
    if (!rule) {
      throw ctx.unsupported(
        `differentiating ${label} (node "${n.name || n.output[0]}" on the path from xs to ` +
          `y "${y}") is not supported`,
      );
    }
    dep.forEach((d, i) => {
      if (d && rule.diff !== "all" && !rule.diff.includes(i)) {
        throw ctx.unsupported(
          `input ${i} of ${label} node "${n.name || n.output[0]}" depends on xs, and its ` +
            `gradient is not supported`,
        );
      }
    });
    if (n.output.filter((o) => o !== "").length !== 1 || n.output[0] === "") {
      throw ctx.unsupported(`${label} node "${n.name}" must have exactly one output`);
    }
    dependent.add(n);
    varying.add(n.output[0]);
  }
  const names: string[] = [];
  const seen = new Set<string>(sources);
  for (const n of nodes) {
    for (const v of [...n.input, ...n.output]) {
      if (v !== "" && !seen.has(v)) {
        seen.add(v);
        names.push(v);
      }
    }
  }
  if (!seen.has(y)) names.push(y);
  const sub = graphOf(`${graph.name}/gradient ${ctx.nodeName}`, nodes, [...xs, ...zs], names);
  return { nodes, dependent, varying, graph: sub, names } as Forward;
}

function forwardFor(ctx: OpContext, graph: Graph, xs: string[], zs: string[], y: string) {
  let byNode = forwardCache.get(graph);
  if (!byNode) {
    byNode = new WeakMap();
    forwardCache.set(graph, byNode);
  }
  let f = byNode.get(ctx.node);
  if (!f) {
    f = buildForward(ctx, graph, xs, zs, y);
    byNode.set(ctx.node, f);
  }
  return f;
}

async function onHost(v: Value | undefined): Promise<Value | undefined> {
  if (v instanceof Tensor && v.location !== "cpu") {
    return new Tensor(v.type, await v.getData(), v.dims);
  }
  return v;
}

function isFloat(t: Tensor): boolean {
  return t.type === "float32" || t.type === "float64";
}

// ------------------------------------------------------------------------------------------
// The kernel.
// ------------------------------------------------------------------------------------------

/**
 * CPU kernel of Gradient-1: outputs dY/dX for each X named in `xs`, evaluated at the node's
 * inputs (values of `xs`, then of `zs`), by reverse-mode differentiation of the nodes of
 * the containing graph between those names and `y` (see the module documentation).
 */
export async function gradientCpu(
  ctx: OpContext,
  inputs: (Value | undefined)[],
): Promise<(Value | undefined)[]> {
  const xs = ctx.attrs.strings("xs");
  const zs = ctx.attrs.strings("zs", []);
  const y = ctx.attrs.string("y");
  const graph = ctx.graph;
  if (!graph) throw ctx.unsupported("the kernel was not given the graph that contains the node");
  if (new Set([...xs, ...zs]).size !== xs.length + zs.length) {
    throw ctx.fail("xs and zs must name distinct values");
  }
  if (inputs.length !== xs.length + zs.length) {
    throw ctx.fail(`expected ${xs.length + zs.length} inputs (xs then zs), got ${inputs.length}`);
  }
  if (ctx.outputCount > xs.length) {
    throw ctx.fail(`declares ${ctx.outputCount} outputs for ${xs.length} names in xs`);
  }
  const values = new Map<string, Tensor>();
  [...xs, ...zs].forEach((name, i) => {
    const v = inputs[i];
    if (!(v instanceof Tensor)) throw ctx.fail(`input ${i} ("${name}") must be a tensor`);
    if (i < xs.length && !isFloat(v)) {
      throw ctx.unsupported(`differentiating with respect to a ${v.type} tensor`, v.type);
    }
    values.set(name, v);
  });
  const fwd = forwardFor(ctx, graph, xs, zs, y);
  if (fwd.nodes.length > 0) {
    const outs = await ctx.runGraph(fwd.graph, inputs);
    for (let i = 0; i < fwd.names.length; i++) {
      const v = await onHost(outs[i]);
      if (v instanceof Tensor) values.set(fwd.names[i], v);
    }
  }
  const yv = values.get(y);
  if (!yv) throw ctx.fail(`y "${y}" is not a tensor`);
  const grads = new Map<string, Float64Array>();
  if (fwd.varying.has(y)) {
    if (!isFloat(yv)) throw ctx.unsupported(`differentiating a ${yv.type} y`, yv.type);
    grads.set(y, new Float64Array(yv.size).fill(1));
  }
  for (let ni = fwd.nodes.length - 1; ni >= 0; ni--) {
    const node = fwd.nodes[ni];
    if (!fwd.dependent.has(node)) continue;
    const g = grads.get(node.output[0]);
    if (!g) continue;
    const output = values.get(node.output[0]);
    const where = `${node.opType} node "${node.name || node.output[0]}"`;
    if (!output) throw ctx.fail(`${where} did not produce a tensor`);
    const nodeInputs = node.input.map((n) => (n === "" ? undefined : values.get(n)));
    for (const t of [output, ...nodeInputs.filter((_, i) => fwd.varying.has(node.input[i]))]) {
      if (t && !isFloat(t)) {
        throw ctx.unsupported(`differentiating ${where} on ${t.type} values`, t.type);
      }
    }
    const rule = RULES.get(node.opType)!;
    await rule.back({
      node,
      attrs: new NodeAttributes(node),
      inputs: nodeInputs,
      output,
      g,
      need: (i) => node.input[i] !== undefined && fwd.varying.has(node.input[i]),
      add(i, grad) {
        const name = node.input[i];
        const prev = grads.get(name);
        if (!prev) grads.set(name, grad === g ? grad.slice() : grad);
        else for (let k = 0; k < prev.length; k++) prev[k] += grad[k];
      },
      opset: ctx.opsets?.get(node.domain === "ai.onnx" ? "" : node.domain),
      unsupported: (m) => ctx.unsupported(`${where}: ${m}`),
      fail: (m) => ctx.fail(`${where}: ${m}`),
    });
    grads.delete(node.output[0]);
  }
  return xs.map((x, i) => {
    if (!ctx.wantsOutput(i)) return undefined;
    const xv = values.get(x)!;
    const g = grads.get(x) ?? new Float64Array(xv.size);
    return tensorFromComputed(xv.type, g, xv.dims);
  });
}
