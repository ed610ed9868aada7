/**
 * Attention fusion (main graph, float32): the multi-head attention core exporters emit
 *
 * ```
 * Q, K, V: 3-D projections → Reshape (split heads) → Transpose
 * scores = MatMul(Q·s₁, Kᵀ·s₂) · s₃           (scales: Mul/Div by scalar constants)
 * scores = scores + mask                       (optional Add)
 * out = MatMul(Softmax(scores, last axis), V) → Transpose → Reshape (merge heads)
 * ```
 *
 * becomes the standard `Attention` operator of opset 23 with 3-D inputs
 * (`q_num_heads = kv_num_heads = H`, `scale = s₁·s₂·s₃`, the mask as `attn_mask`).
 *
 * Two head layouts are recognized, from the Reshape target and Transpose permutations:
 * - BERT-style: [B, S, H·D] → [B, S, H, D] → perm (0, 2, 1, 3) (K: (0, 2, 3, 1)) → [B, H, S, D];
 * - PyTorch `nn.MultiheadAttention` (sequence first): [S, B, H·D] → [S, B·H, D] →
 *   perm (1, 0, 2) (K: (1, 2, 0)) → [B·H, S, D].
 * A projection whose batch axis is not first gets a Transpose (1, 0, 2) in front of the
 * Attention, and the output one behind it; `transpose-optimization` usually cancels those
 * against the layout Transposes around them.
 *
 * The model's opset must be raised to 23 for this, which is done only when every other node
 * keeps its meaning (see `_opset.ts`); otherwise the pass does nothing. The runtime has no
 * com.microsoft Attention/MultiHeadAttention kernel, so the standard op is the only target.
 * One deviation: a score row whose mask is -inf everywhere gives zeros with Attention,
 * where the unfused graph gives NaN.
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import { floatAttr, intAttr, intsAttr, makeNode } from "../load/build.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Dim, ValueType } from "../tensor/value_type.ts";
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
import { raiseDefaultOpset } from "./_opset.ts";
import { composePerms } from "./_tensor_math.ts";

/** The opset that introduced Attention. */
const ATTENTION_OPSET = 23;

/** An axis of a heads view: a source axis (A0, A1), heads, head size, or A1 merged with H. */
type Label = "A0" | "A1" | "H" | "D" | "A1H";

interface HeadsView {
  /** The 3-D projection [A0, A1, H·D]. */
  src: string;
  /** Axes of the view, after the Transposes. */
  labels: Label[];
  H: number;
  D: number;
  /** Reshape and Transpose nodes of the view. */
  nodes: Node[];
}

function permOf(node: Node): number[] {
  return attrsOf(node).ints("perm", []);
}

function dimOk(t: number, d: Dim): boolean {
  return t === 0 || t === -1 || (typeof d === "number" && t === d);
}

class Matcher {
  constructor(
    readonly ix: GraphIndex,
    readonly consts: Constants,
    readonly types: ReadonlyMap<string, ValueType>,
  ) {}

  /** `name` = Transpose(...Transpose(Reshape(src))) splitting heads, each read once. */
  headsView(name: string): HeadsView | undefined {
    const nodes: Node[] = [];
    const perms: number[][] = [];
    let cur = name;
    let node = this.ix.producer.get(cur);
    while (isOp(node, "Transpose")) {
      nodes.unshift(node);
      perms.unshift(permOf(node));
      cur = node.input[0];
      if (!onlyReadBy(this.ix, cur, node)) return undefined;
      node = this.ix.producer.get(cur);
    }
    if (!isOp(node, "Reshape") || perms.length === 0) return undefined;
    nodes.unshift(node);
    const src = node.input[0];
    const s = shapeOf(this.types, src);
    const t = intValues(this.consts.get(node.input[1]));
    if (!s || s.length !== 3 || typeof s[2] !== "number" || !t) return undefined;
    if (attrsOf(node).int("allowzero", 0) !== 0) return undefined;
    const E = s[2];
    let labels: Label[];
    let H: number;
    let D: number;
    if (t.length === 4) {
      [H, D] = [t[2], t[3]];
      if (!(H > 0 && D > 0 && H * D === E)) return undefined;
      if (!dimOk(t[0], s[0]) || !dimOk(t[1], s[1]) || (t[0] === -1 && t[1] === -1)) {
        return undefined;
      }
      labels = ["A0", "A1", "H", "D"];
    } else if (t.length === 3) {
      D = t[2];
      if (!(D > 0 && E % D === 0)) return undefined;
      H = E / D;
      if (!dimOk(t[0], s[0])) return undefined;
      const mergedOk = t[1] === -1 || (typeof s[1] === "number" && t[1] === s[1] * H);
      if (!mergedOk || (t[0] === -1 && t[1] === -1)) return undefined;
      labels = ["A0", "A1H", "D"];
    } else {
      return undefined;
    }
    let perm = perms[0];
    for (const p of perms.slice(1)) perm = composePerms(perm, p);
    if (perm.length !== labels.length) return undefined;
    return { src, labels: perm.map((i) => labels[i]), H, D, nodes };
  }

  /** Peels Mul/Div by scalar constants read only by the next node; returns the value and scale. */
  unscale(name: string, reader: Node): { name: string; scale: number; nodes: Node[] } {
    let scale = 1;
    const nodes: Node[] = [];
    let cur = name;
    let next = reader;
    for (;;) {
      const n = this.ix.producer.get(cur);
      if (!n || !onlyReadBy(this.ix, cur, next)) break;
      const scalar = (x: string) => {
        const t = this.consts.get(x);
        return t && t.dims.length <= 1 ? this.consts.scalar(x) : undefined;
      };
      if (isOp(n, "Div")) {
        const c = scalar(n.input[1]);
        if (c === undefined || c === 0) break;
        scale /= c;
        cur = n.input[0];
      } else if (isOp(n, "Mul")) {
        const c0 = scalar(n.input[0]);
        const c1 = scalar(n.input[1]);
        if (c1 !== undefined && c0 === undefined) {
          scale *= c1;
          cur = n.input[0];
        } else if (c0 !== undefined && c1 === undefined) {
          scale *= c0;
          cur = n.input[1];
        } else break;
      } else break;
      nodes.push(n);
      next = n;
    }
    return { name: cur, scale, nodes };
  }
}

interface Roles {
  seq: Label;
  batch: Label;
  lead: Label[];
}

/** Splits a view's labels into the batch/seq roles; `tail` is "qv" ([.., S, D]) or "k" ([.., D, S]). */
function roles(v: HeadsView, tail: "qv" | "k"): Roles | undefined {
  const l = v.labels;
  const n = l.length;
  const seq = tail === "qv" ? l[n - 2] : l[n - 1];
  const d = tail === "qv" ? l[n - 1] : l[n - 2];
  if (d !== "D" || (seq !== "A0" && seq !== "A1")) return undefined;
  const batch: Label = seq === "A0" ? "A1" : "A0";
  const lead = l.slice(0, n - 2);
  if (n === 4 && lead[0] === batch && lead[1] === "H") return { seq, batch, lead };
  if (n === 3 && lead[0] === "A1H" && batch === "A1") return { seq, batch, lead };
  return undefined;
}

interface Match {
  q: HeadsView;
  k: HeadsView;
  v: HeadsView;
  qRoles: Roles;
  kRoles: Roles;
  vRoles: Roles;
  scale: number;
  mask?: string;
  /** Whether the merged output is ordered [seq, batch] (needs a Transpose after Attention). */
  seqFirst: boolean;
  /** The final Reshape and its new 2-D target (undefined: the Reshape is dropped). */
  reshape: Node;
  target2d?: number[];
  nodes: Node[];
}

function matchAt(m: Matcher, softmax: Node, opset: number): Match | undefined {
  const { ix, consts, types } = m;
  const rank = shapeOf(types, softmax.input[0])?.length;
  if (rank !== 3 && rank !== 4) return undefined;
  const axis = attrsOf(softmax).int("axis", opset >= 13 ? -1 : 1);
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) return undefined;
  const nodes: Node[] = [softmax];
  // Optional mask, optional scale on the scores, then MatMul(Q, Kᵀ).
  let scores = softmax.input[0];
  let reader = softmax;
  let mask: string | undefined;
  const add = ix.producer.get(scores);
  if (isOp(add, "Add") && onlyReadBy(ix, scores, softmax)) {
    for (const i of [0, 1]) {
      const peeled = m.unscale(add.input[i], add);
      if (isOp(ix.producer.get(peeled.name), "MatMul")) {
        mask = add.input[1 - i];
        scores = add.input[i];
        reader = add;
        nodes.push(add);
        break;
      }
    }
    if (!mask) return undefined;
  }
  const outer = m.unscale(scores, reader);
  const qk = ix.producer.get(outer.name);
  if (!isOp(qk, "MatMul") || !onlyReadBy(ix, outer.name, outer.nodes.at(-1) ?? reader)) {
    return undefined;
  }
  nodes.push(...outer.nodes, qk);
  const qs = m.unscale(qk.input[0], qk);
  const ks = m.unscale(qk.input[1], qk);
  nodes.push(...qs.nodes, ...ks.nodes);
  const q = m.headsView(qs.name);
  const k = m.headsView(ks.name);
  if (!q || !k) return undefined;
  if (!onlyReadBy(ix, qs.name, qs.nodes.at(-1) ?? qk)) return undefined;
  if (!onlyReadBy(ix, ks.name, ks.nodes.at(-1) ?? qk)) return undefined;
  // Softmax → MatMul(P, V).
  const pv = soleConsumer(ix, softmax.output[0]);
  if (!isOp(pv, "MatMul") || pv.input[0] !== softmax.output[0]) return undefined;
  const v = m.headsView(pv.input[1]);
  if (!v || !onlyReadBy(ix, pv.input[1], pv)) return undefined;
  nodes.push(pv);
  const qRoles = roles(q, "qv");
  const kRoles = roles(k, "k");
  const vRoles = roles(v, "qv");
  if (!qRoles || !kRoles || !vRoles) return undefined;
  if (q.labels.length !== k.labels.length || q.labels.length !== v.labels.length) return undefined;
  if (q.labels.length !== rank) return undefined;
  if (q.H !== k.H || q.H !== v.H || q.D !== k.D) return undefined;
  for (const x of [q.src, k.src, v.src]) if (elemTypeOf(types, x) !== "float32") return undefined;
  if (mask) {
    const ms = shapeOf(types, mask);
    const mt = elemTypeOf(types, mask);
    if (!ms || ms.length > rank || (mt !== "float32" && mt !== "bool")) return undefined;
    // Merged heads: the mask must not vary along the B·H axis.
    if (rank === 3 && ms.length === 3 && ms[0] !== 1) return undefined;
  }
  // Output: Transposes, then a Reshape that merges the heads back.
  let outLabels: Label[] = [...qRoles.lead, qRoles.seq, "D"];
  let cur = pv.output[0];
  let next = soleConsumer(ix, cur);
  while (isOp(next, "Transpose")) {
    const p = permOf(next);
    if (p.length !== outLabels.length) return undefined;
    outLabels = p.map((i) => outLabels[i]);
    nodes.push(next);
    cur = next.output[0];
    next = soleConsumer(ix, cur);
  }
  if (!isOp(next, "Reshape") || next.input[0] !== cur) return undefined;
  const reshape = next;
  const expanded = outLabels.flatMap((l) => (l === "A1H" ? ["A1", "H"] : [l]));
  if (expanded.length !== 4 || expanded[2] !== "H" || expanded[3] !== "D") return undefined;
  const [first, second] = expanded;
  const sides = [first, second].sort().join();
  if (sides !== "A0,A1") return undefined;
  const seqFirst = first === qRoles.seq;
  const target = intValues(consts.get(reshape.input[1]));
  const Ev = v.H * v.D;
  if (!target || target[target.length - 1] !== Ev) return undefined;
  if (attrsOf(reshape).int("allowzero", 0) !== 0) return undefined;
  let target2d: number[] | undefined;
  if (target.length === 2) {
    target2d = [-1, Ev];
  } else if (target.length === 3) {
    const qs3 = shapeOf(types, q.src)!;
    const dimOf = (l: string) => qs3[l === "A0" ? 0 : 1];
    let minus = 0;
    for (const i of [0, 1]) {
      const t = target[i];
      const d = dimOf(expanded[i]);
      if (t === -1) minus++;
      else if (t === 0) {
        if (outLabels[i] === "A1H") return undefined;
      } else if (typeof d !== "number" || d !== t) return undefined;
    }
    if (minus > 1) return undefined;
  } else {
    return undefined;
  }
  nodes.push(reshape);
  nodes.push(...q.nodes, ...k.nodes, ...v.nodes);
  for (const n of nodes) {
    if (n !== reshape && n.output.some((o) => ix.outputs.has(o))) return undefined;
  }
  const scale = outer.scale * qs.scale * ks.scale;
  return { q, k, v, qRoles, kRoles, vRoles, scale, mask, seqFirst, reshape, target2d, nodes };
}

function emit(model: Model, m: Match, namer: Namer): Node[] {
  const g = model.graph!;
  const out: Node[] = [];
  const base = m.reshape.name || m.reshape.output[0];
  const toBsE = (view: HeadsView, r: Roles, what: string) => {
    if (r.batch === "A0") return view.src;
    const name = namer.fresh(`${base}_${what}_bse`);
    out.push(
      makeNode("Transpose", [view.src], [name], [intsAttr("perm", [1, 0, 2])], {
        name: namer.fresh(`${base}_${what}_Transpose`),
      }),
    );
    return name;
  };
  const q = toBsE(m.q, m.qRoles, "q");
  const k = toBsE(m.k, m.kRoles, "k");
  const v = toBsE(m.v, m.vRoles, "v");
  const final = m.reshape.output[0];
  const direct = !m.seqFirst && !m.target2d;
  let y = direct ? final : namer.fresh(`${base}_attention`);
  out.push(makeNode("Attention", m.mask ? [q, k, v, m.mask] : [q, k, v], [y], [
    intAttr("q_num_heads", m.q.H),
    intAttr("kv_num_heads", m.k.H),
    floatAttr("scale", m.scale),
  ], { name: namer.fresh(`${base}_Attention`) }));
  if (m.seqFirst) {
    const t = m.target2d ? namer.fresh(`${base}_sbe`) : final;
    out.push(
      makeNode("Transpose", [y], [t], [intsAttr("perm", [1, 0, 2])], {
        name: namer.fresh(`${base}_out_Transpose`),
      }),
    );
    y = t;
  }
  if (m.target2d) {
    const shapeName = namer.fresh(`${base}_shape`);
    addInitializer(
      model,
      g,
      new Tensor("int64", BigInt64Array.from(m.target2d, BigInt), [2]),
      shapeName,
    );
    out.push(makeNode("Reshape", [y, shapeName], [final], [], { name: m.reshape.name }));
  }
  return out;
}

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
  namer: Namer,
  refusal: { reason?: string },
): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const matcher = new Matcher(ix, new Constants(model, g, ctx.external), types);
  const opset = opsetVersion(model, "") ?? 1;
  for (const node of g.node) {
    if (!isOp(node, "Softmax")) continue;
    const m = matchAt(matcher, node, opset);
    if (!m) continue;
    if (opset < ATTENTION_OPSET) {
      const why = raiseDefaultOpset(model, ATTENTION_OPSET);
      if (why) {
        refusal.reason = why;
        return undefined;
      }
    }
    const nodes = emit(model, m, namer);
    replaceNodes(g, m.nodes, nodes, m.reshape, [m.reshape.output[0]]);
    return `fused ${m.nodes.length} nodes around ${
      describeNode(node)
    } into Attention (${m.q.H} heads, scale ${m.scale.toPrecision(6)}${m.mask ? ", masked" : ""})${
      opset < ATTENTION_OPSET
        ? `; raised the ai.onnx opset from ${opset} to ${ATTENTION_OPSET}`
        : ""
    }`;
  }
  return undefined;
}

/** Fuses multi-head attention subgraphs into the opset-23 Attention operator. */
export const attentionFusion: Pass = {
  name: "attention-fusion",
  description:
    "Fuses multi-head attention (Q/K/V head split, scaled MatMul, mask, Softmax, MatMul, head " +
    "merge) into Attention, raising the model to opset 23 when every other node allows it",
  level: "all",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const namer = new Namer(model);
    const refusal: { reason?: string } = {};
    let types = inferTypes(model, ctx.external);
    for (;;) {
      const line = fuseOne(model, ctx, types, namer, refusal);
      if (!line) break;
      details.push(line);
      types = inferTypes(model, ctx.external);
    }
    return { changed: details.length > 0, details };
  },
};
