/**
 * Transpose optimization (main graph), with standard ops only:
 *
 * - `Transpose(Transpose(x, p), q)` becomes one Transpose of x with the composed permutation,
 *   or an Identity when the two cancel.
 * - A Transpose with perm [1, 0] feeding Gemm's A or B is absorbed by flipping transA/transB.
 * - Sinking: a Transpose is pushed down through the nodes that read it when every path ends
 *   at another Transpose (which then cancels or merges with it), so the number of Transposes
 *   only goes down. It passes through unary elementwise ops, binary elementwise ops whose
 *   other operand is the same value or a constant (transposed into a new initializer),
 *   MatMul with a 2-D right operand when the last axis stays in place, Slice (its axes are
 *   renumbered), Softmax/LogSoftmax (opset ≥ 13; axis renumbered) and LayerNormalization
 *   over axes the permutation leaves in place. Intermediate values must not be graph outputs.
 *
 * @module
 */

import type { Graph, Model, Node } from "../load/ir.ts";
import { intAttr, intsAttr } from "../load/build.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  attrsOf,
  canonicalDomain,
  Constants,
  describeNode,
  type GraphIndex,
  indexGraph,
  inferTypes,
  intValues,
  isOp,
  Namer,
  opsetVersion,
  rankOf,
  withAttribute,
} from "./_rewrite.ts";
import { pruneValueInfo } from "./_graph.ts";
import {
  composePerms,
  invertPerm,
  isIdentityPerm,
  isPermutation,
  transposeTensor,
} from "./_tensor_math.ts";

const UNARY = new Set([
  "Abs",
  "Cast",
  "Ceil",
  "Celu",
  "Clip",
  "Cos",
  "Elu",
  "Erf",
  "Exp",
  "Floor",
  "Gelu",
  "HardSigmoid",
  "HardSwish",
  "Identity",
  "IsInf",
  "IsNaN",
  "LeakyRelu",
  "Log",
  "Mish",
  "Neg",
  "Not",
  "Reciprocal",
  "Relu",
  "Round",
  "Selu",
  "Sigmoid",
  "Sign",
  "Sin",
  "Softplus",
  "Softsign",
  "Sqrt",
  "Tanh",
  "ThresholdedRelu",
]);

const BINARY = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Mod",
  "Max",
  "Min",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "And",
  "Or",
  "Xor",
  "Where",
]);

/** How a reader of a transposed value handles the untransposed value instead. */
type Reader =
  | { kind: "transpose"; node: Node; perm: number[] }
  | { kind: "through"; node: Node; constants: number[]; axes?: number[]; axis?: number };

function permOf(node: Node): number[] | undefined {
  const p = attrsOf(node).ints("perm", []);
  return p.length ? p : undefined;
}

class Sinker {
  readonly model: Model;
  readonly g: Graph;
  readonly ix: GraphIndex;
  readonly consts: Constants;
  readonly types: ReadonlyMap<string, ValueType>;
  readonly opset: number;

  constructor(model: Model, ctx: PassContext, types: ReadonlyMap<string, ValueType>) {
    this.model = model;
    this.g = model.graph!;
    this.ix = indexGraph(this.g);
    this.consts = new Constants(model, this.g, ctx.external);
    this.types = types;
    this.opset = opsetVersion(model, "") ?? 1;
  }

  /** How `node` reads `name` = Transpose(src, perm), or undefined when it cannot be rewired. */
  reader(node: Node, name: string, perm: number[]): Reader | undefined {
    if (canonicalDomain(node.domain) !== "") return undefined;
    const r = perm.length;
    const uses = node.input.map((x, i) => (x === name ? i : -1)).filter((i) => i >= 0);
    if (!uses.length) return undefined; // read by a subgraph
    const op = node.opType;
    if (op === "Transpose") {
      const q = permOf(node);
      return q && q.length === r ? { kind: "transpose", node, perm: q } : undefined;
    }
    if (node.output.length !== 1) {
      if (op !== "LayerNormalization" || node.output.slice(1).some((o) => o !== "")) {
        return undefined;
      }
    }
    if (UNARY.has(op)) {
      if (uses.length !== 1 || uses[0] !== 0) return undefined;
      if (op === "Clip" && node.input.slice(1).some((x) => x && !this.isScalar(x))) {
        return undefined;
      }
      return { kind: "through", node, constants: [] };
    }
    if (BINARY.has(op)) {
      if (op !== "Where" && node.input.length !== 2) return undefined;
      const constants: number[] = [];
      for (let i = 0; i < node.input.length; i++) {
        if (node.input[i] === name) continue;
        const c = this.consts.get(node.input[i]);
        if (!c || c.dims.length > r) return undefined;
        if (c.size !== 1) constants.push(i);
      }
      return { kind: "through", node, constants };
    }
    if (op === "MatMul") {
      if (uses.length !== 1 || uses[0] !== 0 || r < 3 || perm[r - 1] !== r - 1) return undefined;
      return rankOf(this.types, node.input[1]) === 2
        ? { kind: "through", node, constants: [] }
        : undefined;
    }
    if (op === "Slice") {
      if (this.opset < 10 || uses.length !== 1 || uses[0] !== 0) return undefined;
      const starts = intValues(this.consts.get(node.input[1]));
      if (!starts) return undefined;
      const axes = node.input[3]
        ? intValues(this.consts.get(node.input[3]))
        : starts.map((_, i) => i);
      if (!axes) return undefined;
      const mapped = axes.map((a) => perm[a < 0 ? a + r : a]);
      if (mapped.some((a) => a === undefined)) return undefined;
      return { kind: "through", node, constants: [], axes: mapped };
    }
    if (op === "Softmax" || op === "LogSoftmax") {
      if (this.opset < 13) return undefined;
      const a = attrsOf(node).int("axis", -1);
      const axis = perm[a < 0 ? a + r : a];
      return axis === undefined ? undefined : { kind: "through", node, constants: [], axis };
    }
    if (op === "LayerNormalization") {
      if (uses.length !== 1 || uses[0] !== 0) return undefined;
      const a = attrsOf(node).int("axis", -1);
      const k = a < 0 ? a + r : a;
      for (let i = k; i < r; i++) if (perm[i] !== i) return undefined;
      return { kind: "through", node, constants: [] };
    }
    return undefined;
  }

  isScalar(name: string): boolean {
    const t = this.consts.get(name);
    return t !== undefined && t.size === 1;
  }

  readers(name: string): Node[] {
    return [...new Set(this.ix.consumers.get(name) ?? [])];
  }

  /** True when every path from `name` ends at a Transpose. */
  canSink(name: string, perm: number[], budget: { left: number }): boolean {
    if (this.ix.outputs.has(name) || --budget.left < 0) return false;
    const readers = this.readers(name);
    if (!readers.length) return false;
    for (const node of readers) {
      const rd = this.reader(node, name, perm);
      if (!rd) return false;
      if (rd.kind === "through" && !this.canSink(node.output[0], perm, budget)) return false;
    }
    return true;
  }

  /** Rewires every reader of `name` (= Transpose(src, perm)) to read `src`. */
  sink(name: string, src: string, perm: number[], namer: Namer, details: string[]): void {
    for (const node of this.readers(name)) {
      const rd = this.reader(node, name, perm)!;
      if (rd.kind === "transpose") {
        const composed = composePerms(perm, rd.perm);
        if (isIdentityPerm(composed)) {
          node.opType = "Identity";
          node.input = [src];
          node.attribute = [];
          details.push(`cancelled ${describeNode(node)} against the Transpose pushed down to it`);
        } else {
          node.input = [src];
          node.attribute = withAttribute(node.attribute, intsAttr("perm", composed));
          details.push(`merged the Transpose pushed down into ${describeNode(node)}`);
        }
        continue;
      }
      const inv = invertPerm(perm);
      node.input = node.input.map((x, i) => {
        if (x === name) return src;
        if (!rd.constants.includes(i)) return x;
        const c = this.consts.get(x)!;
        const full = c.reshape([...new Array(perm.length - c.dims.length).fill(1), ...c.dims]);
        const t = transposeTensor(full, inv);
        const fresh = namer.fresh(`${x}_transposed`);
        addInitializer(this.model, this.g, t, fresh);
        return fresh;
      });
      if (rd.axes) {
        const fresh = namer.fresh(`${node.output[0]}_axes`);
        addInitializer(
          this.model,
          this.g,
          new Tensor("int64", BigInt64Array.from(rd.axes, BigInt), [rd.axes.length]),
          fresh,
        );
        while (node.input.length < 4) node.input.push("");
        node.input[3] = fresh;
      }
      if (rd.axis !== undefined) {
        node.attribute = withAttribute(node.attribute, intAttr("axis", rd.axis));
      }
      const out = node.output[0];
      const untransposed = namer.fresh(`${out}_untransposed`);
      node.output[0] = untransposed;
      this.sink(out, untransposed, perm, namer, details);
    }
  }
}

/** Merges Transpose pairs and absorbs Transposes into Gemm. */
function simplifyPairs(g: Graph, details: string[]): boolean {
  const ix = indexGraph(g);
  for (const node of g.node) {
    if (isOp(node, "Transpose")) {
      const inner = ix.producer.get(node.input[0]);
      const q = permOf(node);
      const p = inner && isOp(inner, "Transpose") ? permOf(inner) : undefined;
      if (!inner || !p || !q || p.length !== q.length) continue;
      const composed = composePerms(p, q);
      node.input = [inner.input[0]];
      if (isIdentityPerm(composed)) {
        node.opType = "Identity";
        node.attribute = [];
        details.push(`cancelled ${describeNode(inner)} and ${describeNode(node)}`);
      } else {
        node.attribute = withAttribute(node.attribute, intsAttr("perm", composed));
        details.push(`merged ${describeNode(inner)} into ${describeNode(node)}`);
      }
      return true;
    }
    if (isOp(node, "Gemm")) {
      for (const [i, key] of [[0, "transA"], [1, "transB"]] as const) {
        const t = ix.producer.get(node.input[i]);
        const p = t && isOp(t, "Transpose") ? permOf(t) : undefined;
        if (!t || !p || p.length !== 2 || p[0] !== 1) continue;
        node.input[i] = t.input[0];
        const flag = attrsOf(node).int(key, 0) !== 0 ? 0 : 1;
        node.attribute = withAttribute(node.attribute, intAttr(key, flag));
        details.push(`absorbed ${describeNode(t)} into ${describeNode(node)} (${key} = ${flag})`);
        return true;
      }
    }
  }
  return false;
}

/** Merges, cancels and sinks Transposes. */
export const transposeOptimization: Pass = {
  name: "transpose-optimization",
  description:
    "Merges or cancels consecutive Transposes, absorbs Transposes into Gemm, and pushes " +
    "Transposes down through elementwise ops, MatMul and Slice until they cancel",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    const g = model.graph;
    if (!g) return { changed: false, details };
    while (simplifyPairs(g, details));
    const namer = new Namer(model);
    let types: ReadonlyMap<string, ValueType> | undefined;
    let progress = true;
    const tried = new Set<Node>();
    while (progress) {
      progress = false;
      types ??= inferTypes(model, ctx.external);
      const sinker = new Sinker(model, ctx, types);
      for (const t of g.node) {
        if (!isOp(t, "Transpose") || tried.has(t)) continue;
        const perm = permOf(t);
        if (!perm || !isPermutation(perm, perm.length) || !t.input[0]) continue;
        if (!sinker.canSink(t.output[0], perm, { left: 64 })) {
          tried.add(t);
          continue;
        }
        details.push(`pushed ${describeNode(t)} down`);
        sinker.sink(t.output[0], t.input[0], perm, namer, details);
        g.node = g.node.filter((n) => n !== t);
        pruneValueInfo(g);
        types = undefined;
        progress = true;
        break;
      }
    }
    return { changed: details.length > 0, details };
  },
};
