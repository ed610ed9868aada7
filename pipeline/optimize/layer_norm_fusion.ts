/**
 * LayerNormalization fusion (main graph, float32): the decomposed form exporters emit
 *
 * ```
 * m = ReduceMean(x, axes)          d = Sub(x, m)
 * v = ReduceMean(Pow(d, 2) | Mul(d, d), axes)
 * y = Div(d, Sqrt(Add(v, eps)))    (or Mul(d, Reciprocal(Sqrt(...))))
 * y = Mul(y, gamma)                (optional; either operand order)
 * y = Add(y, beta)                 (optional)
 * ```
 *
 * becomes `LayerNormalization(x, gamma, beta, axis, epsilon)` when the reduced axes are the
 * trailing axes of x, keepdims is 1, gamma and beta are constants with one value per
 * normalized element (reshaped to the normalized shape when they carry leading 1s; a missing
 * gamma becomes ones), and every intermediate value is read only inside the pattern.
 *
 * LayerNormalization exists from opset 17. At lower opsets the pass leaves the pattern alone:
 * the runtime has no com.microsoft LayerNormalization kernel to fall back on. (The
 * `attention-fusion` pass raises the opset of transformer models to 23, after which this pass
 * applies.)
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import { floatAttr, intAttr, makeNode } from "../load/build.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  attrsOf,
  Constants,
  describeNode,
  elemTypeOf,
  type GraphIndex,
  indexGraph,
  inferTypes,
  intValues,
  isOp,
  Namer,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
  shapeOf,
  soleConsumer,
} from "./_rewrite.ts";

/** The normalized trailing axes of a ReduceMean over a rank-`rank` input, or undefined. */
function reducedAxes(
  node: Node,
  consts: Constants,
  opset: number,
  rank: number,
): number[] | undefined {
  const a = attrsOf(node);
  if (a.int("keepdims", 1) !== 1) return undefined;
  const axes = opset >= 18 ? intValues(consts.get(node.input[1] ?? "")) : a.ints("axes", []);
  if (!axes || !axes.length) return undefined;
  const norm = axes.map((x) => (x < 0 ? x + rank : x)).sort((x, y) => x - y);
  const first = rank - norm.length;
  return norm.every((x, i) => x === first + i) ? norm : undefined;
}

/** The other operand of a binary node whose operand `name` is at either position. */
function otherOperand(node: Node, name: string): string | undefined {
  if (node.input.length !== 2) return undefined;
  if (node.input[0] === name && node.input[1] !== name) return node.input[1];
  if (node.input[1] === name && node.input[0] !== name) return node.input[0];
  return undefined;
}

interface Match {
  nodes: Node[];
  x: string;
  axis: number;
  eps: number;
  gamma?: Tensor;
  beta?: Tensor;
  out: string;
  last: Node;
}

function readersOf(ix: GraphIndex, name: string): Node[] {
  return [...new Set(ix.consumers.get(name) ?? [])];
}

function match(
  sub: Node,
  ix: GraphIndex,
  consts: Constants,
  types: ReadonlyMap<string, ValueType>,
  opset: number,
): Match | undefined {
  if (!isOp(sub, "Sub")) return undefined;
  const x = sub.input[0];
  const mean = ix.producer.get(sub.input[1]);
  if (!isOp(mean, "ReduceMean") || mean.input[0] !== x || !onlyReadBy(ix, sub.input[1], sub)) {
    return undefined;
  }
  const shape = shapeOf(types, x);
  if (!shape || elemTypeOf(types, x) !== "float32") return undefined;
  const axes = reducedAxes(mean, consts, opset, shape.length);
  if (!axes) return undefined;
  const d = sub.output[0];
  if (ix.outputs.has(d)) return undefined;
  const readers = readersOf(ix, d);
  if (readers.length !== 2) return undefined;
  const sq = readers.find((n) =>
    (isOp(n, "Pow") && n.input[0] === d && consts.scalar(n.input[1]) === 2) ||
    (isOp(n, "Mul") && n.input[0] === d && n.input[1] === d)
  );
  const div = readers.find((n) => n !== sq);
  if (!sq || !div) return undefined;
  const varMean = soleConsumer(ix, sq.output[0]);
  if (!isOp(varMean, "ReduceMean") || varMean.input[0] !== sq.output[0]) return undefined;
  const axes2 = reducedAxes(varMean, consts, opset, shape.length);
  if (!axes2 || axes2.join() !== axes.join()) return undefined;
  const addEps = soleConsumer(ix, varMean.output[0]);
  if (!isOp(addEps, "Add")) return undefined;
  const epsName = otherOperand(addEps, varMean.output[0]);
  const eps = epsName ? consts.scalar(epsName) : undefined;
  if (eps === undefined || !(eps >= 0)) return undefined;
  const sqrt = soleConsumer(ix, addEps.output[0]);
  if (!isOp(sqrt, "Sqrt")) return undefined;
  const nodes = [mean, sub, sq, varMean, addEps, sqrt];
  let normalized: string;
  if (isOp(div, "Div") && div.input[0] === d && div.input[1] === sqrt.output[0]) {
    if (!onlyReadBy(ix, sqrt.output[0], div)) return undefined;
    nodes.push(div);
    normalized = div.output[0];
  } else if (isOp(div, "Mul")) {
    const recip = soleConsumer(ix, sqrt.output[0]);
    if (!isOp(recip, "Reciprocal") || otherOperand(div, d) !== recip.output[0]) return undefined;
    if (!onlyReadBy(ix, recip.output[0], div)) return undefined;
    nodes.push(recip, div);
    normalized = div.output[0];
  } else {
    return undefined;
  }
  let last = nodes[nodes.length - 1];
  const normShape = shape.slice(axes[0]);
  if (!normShape.every((s): s is number => typeof s === "number")) return undefined;
  const count = normShape.reduce((a, b) => a * b, 1);
  const paramOf = (name: string | undefined): Tensor | undefined => {
    const t = name ? consts.get(name) : undefined;
    if (!t || t.type !== "float32" || t.size !== count || t.dims.length > shape.length) {
      return undefined;
    }
    const lead = t.dims.length - normShape.length;
    const ok = lead >= 0
      ? t.dims.every((dd, i) => (i < lead ? dd === 1 : dd === normShape[i - lead]))
      : normShape.slice(-t.dims.length).every((dd, i) => dd === t.dims[i]) &&
        normShape.slice(0, -t.dims.length).every((dd) => dd === 1);
    return ok ? t.reshape(normShape) : undefined;
  };
  let gamma: Tensor | undefined;
  let beta: Tensor | undefined;
  const mul = soleConsumer(ix, normalized);
  if (isOp(mul, "Mul")) {
    gamma = paramOf(otherOperand(mul, normalized));
    if (gamma) {
      nodes.push(mul);
      last = mul;
      normalized = mul.output[0];
    }
  }
  const add = soleConsumer(ix, normalized);
  if (isOp(add, "Add")) {
    beta = paramOf(otherOperand(add, normalized));
    if (beta) {
      nodes.push(add);
      last = add;
      normalized = add.output[0];
    }
  }
  for (const n of nodes.slice(0, -1)) {
    if (n.output.some((o) => ix.outputs.has(o))) return undefined;
  }
  return { nodes, x, axis: axes[0] - shape.length, eps, gamma, beta, out: normalized, last };
}

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
  namer: Namer,
  opset: number,
): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  for (const node of g.node) {
    const m = match(node, ix, consts, types, opset);
    if (!m) continue;
    const shape = shapeOf(types, m.x)!;
    const normShape = shape.slice(shape.length + m.axis) as number[];
    const count = normShape.reduce((a, b) => a * b, 1);
    const gamma = m.gamma ?? new Tensor("float32", new Float32Array(count).fill(1), normShape);
    const base = m.last.name || m.out;
    const gName = namer.fresh(`${base}_gamma`);
    addInitializer(model, g, gamma, gName);
    const inputs = [m.x, gName];
    if (m.beta) {
      const bName = namer.fresh(`${base}_beta`);
      addInitializer(model, g, m.beta, bName);
      inputs.push(bName);
    }
    const ln = makeNode("LayerNormalization", inputs, [m.out], [
      intAttr("axis", m.axis),
      floatAttr("epsilon", m.eps),
    ], { name: m.nodes[0].name ? `${m.nodes[0].name}_LayerNorm` : "" });
    replaceNodes(g, m.nodes, [ln], m.last);
    return `fused ${m.nodes.length} nodes from ${describeNode(m.nodes[0])} to ${
      describeNode(m.last)
    } into LayerNormalization (epsilon ${m.eps})`;
  }
  return undefined;
}

/** Fuses decomposed layer normalization into LayerNormalization (opset ≥ 17). */
export const layerNormFusion: Pass = {
  name: "layer-norm-fusion",
  description: "Fuses ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div(/Mul/Add) chains into " +
    "LayerNormalization (opset ≥ 17, float32)",
  level: "extended",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    const opset = opsetVersion(model, "") ?? 1;
    if (!model.graph || opset < 17) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    const namer = new Namer(model);
    for (
      let line = fuseOne(model, ctx, types, namer, opset);
      line;
      line = fuseOne(model, ctx, types, namer, opset)
    ) {
      details.push(line);
    }
    return { changed: details.length > 0, details };
  },
};
