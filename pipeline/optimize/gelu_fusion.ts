/**
 * GELU fusion (main graph, float32). Two decomposed forms are recognized, with either operand
 * order of every Add and Mul and the 0.5 factor applied at any point of the product:
 *
 * - erf form: `x * 0.5 * (1 + Erf(x / √2))` (the division may be a Mul by 1/√2), as PyTorch
 *   and TensorFlow exporters write it;
 * - tanh form: `x * 0.5 * (1 + Tanh(√(2/π) * (x + 0.044715 * x³)))` with x³ as `Pow(x, 3)`
 *   or `x * x * x`.
 *
 * Constants are matched to a relative 1e-4. At opset ≥ 20 the result is the standard `Gelu`
 * (approximate = "tanh" for the tanh form); below, onnxruntime's contrib `com.microsoft.Gelu`
 * or `com.microsoft.FastGelu` (a `com.microsoft` opset import is added).
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import { makeNode, stringAttr } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  Constants,
  describeNode,
  elemTypeOf,
  ensureOpset,
  type GraphIndex,
  indexGraph,
  inferTypes,
  isOp,
  MS_DOMAIN,
  near,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
  soleConsumer,
} from "./_rewrite.ts";

/** The other operand of a two-input node, when `name` is exactly one of them. */
function other(node: Node, name: string): string | undefined {
  if (node.input.length !== 2) return undefined;
  if (node.input[0] === name && node.input[1] !== name) return node.input[1];
  if (node.input[1] === name && node.input[0] !== name) return node.input[0];
  return undefined;
}

/** `x` when `name` is `x / √2` or `x * (1/√2)`, with the node computing it. */
function erfArgument(ix: GraphIndex, consts: Constants, name: string): [string, Node] | undefined {
  const n = ix.producer.get(name);
  if (isOp(n, "Div") && near(consts.scalar(n.input[1]), Math.SQRT2)) return [n.input[0], n];
  if (isOp(n, "Mul")) {
    for (const i of [0, 1]) {
      if (near(consts.scalar(n.input[1 - i]), Math.SQRT1_2)) return [n.input[i], n];
    }
  }
  return undefined;
}

/** `x` and the nodes computing `x³` (Pow(x, 3) or x*x*x). */
function cubeOf(ix: GraphIndex, consts: Constants, name: string): [string, Node[]] | undefined {
  const n = ix.producer.get(name);
  if (isOp(n, "Pow") && near(consts.scalar(n.input[1]), 3)) return [n.input[0], [n]];
  if (!isOp(n, "Mul")) return undefined;
  for (const i of [0, 1]) {
    const sq = ix.producer.get(n.input[i]);
    const x = n.input[1 - i];
    if (
      isOp(sq, "Mul") && sq.input[0] === x && sq.input[1] === x && onlyReadBy(ix, sq.output[0], n)
    ) {
      return [x, [sq, n]];
    }
  }
  return undefined;
}

/** `x` when `name` is `√(2/π) * (x + 0.044715 * x³)`, with its nodes. */
function tanhArgument(
  ix: GraphIndex,
  consts: Constants,
  name: string,
): [string, Node[]] | undefined {
  const scale = ix.producer.get(name);
  if (!isOp(scale, "Mul")) return undefined;
  for (const i of [0, 1]) {
    if (!near(consts.scalar(scale.input[1 - i]), Math.sqrt(2 / Math.PI))) continue;
    const add = ix.producer.get(scale.input[i]);
    if (!isOp(add, "Add") || !onlyReadBy(ix, add.output[0], scale)) continue;
    for (const j of [0, 1]) {
      const x = add.input[j];
      const mul = ix.producer.get(add.input[1 - j]);
      if (!isOp(mul, "Mul") || !onlyReadBy(ix, mul.output[0], add)) continue;
      for (const k of [0, 1]) {
        if (!near(consts.scalar(mul.input[1 - k]), 0.044715)) continue;
        const cube = cubeOf(ix, consts, mul.input[k]);
        if (!cube || cube[0] !== x) continue;
        if (!onlyReadBy(ix, mul.input[k], mul)) continue;
        return [x, [...cube[1], mul, add, scale]];
      }
    }
  }
  return undefined;
}

/** Matches `x * 0.5 * a` from `a` (the `1 + erf/tanh` value) in its three association orders. */
function productOf(
  ix: GraphIndex,
  consts: Constants,
  x: string,
  a: string,
): { nodes: Node[]; out: string } | undefined {
  const m1 = soleConsumer(ix, a);
  if (!isOp(m1, "Mul")) return undefined;
  const o = other(m1, a);
  if (!o) return undefined;
  const half = (name: string | undefined) => name !== undefined && near(consts.scalar(name), 0.5);
  if (o === x) {
    // (x * a) * 0.5
    const m2 = soleConsumer(ix, m1.output[0]);
    if (isOp(m2, "Mul") && half(other(m2, m1.output[0]))) {
      return { nodes: [m1, m2], out: m2.output[0] };
    }
    return undefined;
  }
  if (half(o)) {
    // x * (a * 0.5)
    const m2 = soleConsumer(ix, m1.output[0]);
    if (isOp(m2, "Mul") && other(m2, m1.output[0]) === x) {
      return { nodes: [m1, m2], out: m2.output[0] };
    }
    return undefined;
  }
  // (x * 0.5) * a
  const xh = ix.producer.get(o);
  if (
    isOp(xh, "Mul") && other(xh, x) !== undefined && half(other(xh, x)) && onlyReadBy(ix, o, m1)
  ) {
    return { nodes: [xh, m1], out: m1.output[0] };
  }
  return undefined;
}

interface Match {
  x: string;
  tanh: boolean;
  nodes: Node[];
  out: string;
  last: Node;
}

function match(node: Node, ix: GraphIndex, consts: Constants): Match | undefined {
  const tanh: boolean = isOp(node, "Tanh") ? true : false;
  if (!tanh && !isOp(node, "Erf")) return undefined;
  let x: string;
  let front: Node[];
  if (tanh) {
    const t = tanhArgument(ix, consts, node.input[0]);
    if (!t) return undefined;
    [x, front] = t;
  } else {
    const e = erfArgument(ix, consts, node.input[0]);
    if (!e) return undefined;
    x = e[0];
    front = [e[1]];
  }
  if (!onlyReadBy(ix, node.input[0], node)) return undefined;
  const plus = soleConsumer(ix, node.output[0]);
  if (!isOp(plus, "Add") || !near(consts.scalar(other(plus, node.output[0]) ?? ""), 1)) {
    return undefined;
  }
  const prod = productOf(ix, consts, x, plus.output[0]);
  if (!prod) return undefined;
  const nodes = [...front, node, plus, ...prod.nodes];
  for (const n of nodes) {
    if (n.output[0] !== prod.out && ix.outputs.has(n.output[0])) return undefined;
  }
  return { x, tanh, nodes, out: prod.out, last: prod.nodes[prod.nodes.length - 1] };
}

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  const opset = opsetVersion(model, "") ?? 1;
  for (const node of g.node) {
    const m = match(node, ix, consts);
    if (!m || elemTypeOf(types, m.x) !== "float32") continue;
    const name = m.nodes[0].name ? `${m.nodes[0].name}_Gelu` : "";
    let fused: Node;
    if (opset >= 20) {
      fused = makeNode("Gelu", [m.x], [m.out], m.tanh ? [stringAttr("approximate", "tanh")] : [], {
        name,
      });
    } else {
      fused = makeNode(m.tanh ? "FastGelu" : "Gelu", [m.x], [m.out], [], {
        name,
        domain: MS_DOMAIN,
      });
      ensureOpset(model, MS_DOMAIN, 1);
    }
    replaceNodes(g, m.nodes, [fused], m.last);
    const target = opset >= 20 ? `Gelu${m.tanh ? " (tanh)" : ""}` : `com.microsoft.${fused.opType}`;
    return `fused ${m.nodes.length} nodes around ${describeNode(node)} into ${target}`;
  }
  return undefined;
}

/** Fuses decomposed GELU (erf or tanh form) into Gelu / com.microsoft Gelu or FastGelu. */
export const geluFusion: Pass = {
  name: "gelu-fusion",
  description: "Fuses the erf and tanh forms of GELU into Gelu (opset ≥ 20) or com.microsoft " +
    "Gelu/FastGelu (float32)",
  level: "extended",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    for (let line = fuseOne(model, ctx, types); line; line = fuseOne(model, ctx, types)) {
      details.push(line);
    }
    return { changed: details.length > 0, details };
  },
};
