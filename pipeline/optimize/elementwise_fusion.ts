/**
 * Elementwise fusion for the GPU (main graph, float32 and float16). Finds chains and trees of
 * elementwise nodes — the unary and binary ops of the elementwise table that compute on floats
 * (numpy broadcasting), Where, Clip with constant bounds, Cast between float types — whose
 * intermediate values are read only inside the group, and marks their nodes with NodeProto
 * metadata (`onnx_deno.fusion_group`, `onnx_deno.fusion_index`; see
 * `pipeline/run/webgpu/fusion.ts`). The WebGPU backend runs each marked group as one dispatch
 * of a generated kernel. No node is added, removed or changed otherwise, so the model stays
 * plain ONNX that onnxruntime runs, and the CPU backend computes exactly what it computed; the
 * only other edit is the node order, which moves a group's members next to its root (always a
 * valid topological order, since nothing outside a group reads its intermediate values).
 *
 * A group is a tree: each member other than the root has one reader, the next member on the
 * way to the root, and is not a graph output. A value read twice (a diamond) ends a group: its
 * producer becomes the root of a group of its own. A group reads at most
 * {@link MAX_FUSED_INPUTS} distinct tensors and has at most {@link MAX_FUSED_NODES} members;
 * a producer that would exceed either starts a new group. Marks from an earlier run are
 * recomputed from scratch, so the pass is idempotent and stale marks disappear.
 *
 * @module
 */

import type { Graph, Node } from "../load/ir.ts";
import type { DataType } from "../tensor/dtype.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  attrsOf,
  Constants,
  elemTypeOf,
  type GraphIndex,
  indexGraph,
  inferTypes,
  rankOf,
} from "./_rewrite.ts";
import {
  dataSlots,
  type FusedOpKind,
  fusedOpKind,
  FUSION_GROUP_KEY,
  FUSION_INDEX_KEY,
  MAX_FUSED_INPUTS,
  MAX_FUSED_NODES,
} from "../run/webgpu/fusion.ts";

const FLOATS = new Set<DataType>(["float32", "float16"]);

/** One group found: its members in graph order (the root last). */
interface Group {
  members: Node[];
}

/** The fusion keys of a node's metadata as one string ("" when it has none). */
function markOf(node: Node): string {
  return node.metadataProps.filter((e) => e.key === FUSION_GROUP_KEY || e.key === FUSION_INDEX_KEY)
    .map((e) => `${e.key}=${e.value}`).join(";");
}

/** Removes the fusion keys from a node's metadata (replacing the array: it may be shared). */
function stripMark(node: Node): void {
  if (!markOf(node)) return;
  node.metadataProps = node.metadataProps.filter((e) =>
    e.key !== FUSION_GROUP_KEY && e.key !== FUSION_INDEX_KEY
  );
}

/** The fusable kind of a node, judged with inferred types and constant Clip bounds. */
function fusableKind(
  node: Node,
  types: ReadonlyMap<string, ValueType>,
  consts: Constants,
): FusedOpKind | undefined {
  const kind = fusedOpKind(node);
  if (!kind) return undefined;
  const out = elemTypeOf(types, node.output[0]);
  if (!out || !FLOATS.has(out)) return undefined;
  const rank = rankOf(types, node.output[0]);
  if (rank !== undefined && rank > 8) return undefined;
  for (const slot of dataSlots(kind)) {
    const t = elemTypeOf(types, node.input[slot]);
    if (kind === "where" && slot === 0) {
      if (t !== "bool") return undefined;
    } else if (!t || !FLOATS.has(t) || (kind !== "cast" && t !== out)) return undefined;
  }
  if (kind === "clip") {
    const x = elemTypeOf(types, node.input[0]);
    for (const slot of [1, 2]) {
      const name = node.input[slot] ?? "";
      if (!name) continue;
      const bound = consts.get(name);
      if (!bound || bound.size !== 1 || bound.type !== x) return undefined;
    }
  }
  if (node.opType === "Gelu") {
    const approx = attrsOf(node).string("approximate", "none");
    if (approx !== "none" && approx !== "tanh") return undefined;
  }
  return kind;
}

/** Names a member reads as data (deduplicated). */
function dataInputs(node: Node, kind: FusedOpKind): string[] {
  return [...new Set(dataSlots(kind).map((i) => node.input[i]))];
}

/** Finds the groups of a graph (main graph only), roots in reverse graph order. */
function findGroups(g: Graph, kinds: ReadonlyMap<Node, FusedOpKind>, ix: GraphIndex): Group[] {
  /** The member `p` feeds when it may join that member's group. */
  const feeds = (p: Node): Node | undefined => {
    const name = p.output[0];
    if (ix.outputs.has(name)) return undefined;
    const readers = ix.consumers.get(name) ?? [];
    if (readers.length !== 1) return undefined;
    const c = readers[0];
    const kind = kinds.get(c);
    if (!kind) return undefined;
    // A Clip bound is a parameter, not data (and must be a constant anyway).
    return dataSlots(kind).some((i) => c.input[i] === name) ? c : undefined;
  };
  const assigned = new Set<Node>();
  const groups: Group[] = [];
  for (let i = g.node.length - 1; i >= 0; i--) {
    const root = g.node[i];
    const rootKind = kinds.get(root);
    if (!rootKind || assigned.has(root)) continue;
    assigned.add(root);
    const members = [root];
    let external = new Set(dataInputs(root, rootKind));
    const queue = [root];
    while (queue.length) {
      const m = queue.shift()!;
      for (const name of dataInputs(m, kinds.get(m)!)) {
        const p = ix.producer.get(name);
        if (!p || assigned.has(p) || !kinds.has(p) || feeds(p) !== m) continue;
        const next = new Set(external);
        next.delete(name);
        for (const x of dataInputs(p, kinds.get(p)!)) next.add(x);
        if (members.length + 1 > MAX_FUSED_NODES || next.size > MAX_FUSED_INPUTS) continue;
        external = next;
        members.push(p);
        assigned.add(p);
        queue.push(p);
      }
    }
    if (members.length < 2) continue;
    members.sort((a, b) => ix.position.get(a)! - ix.position.get(b)!);
    groups.push({ members });
  }
  return groups.reverse();
}

/** The pass. */
export const elementwiseFusion: Pass = {
  name: "elementwise-fusion",
  description: "marks chains and trees of float elementwise nodes (unary, binary, Where, Clip, " +
    "Cast) with NodeProto metadata so the WebGPU backend runs each as one dispatch; the graph " +
    "keeps its nodes and values",
  level: "all",
  run(model, ctx: PassContext): PassResult {
    const g = model.graph;
    if (!g) return { changed: false, details: [] };
    const beforeOrder = [...g.node];
    const beforeMarks = g.node.map(markOf);
    for (const n of g.node) stripMark(n);
    const opset = ctx.opsets.get("") ?? 1;
    let groups: Group[] = [];
    if (opset >= 7 && g.node.filter((n) => fusedOpKind(n)).length >= 2) {
      const types = inferTypes(model, ctx.external);
      const consts = new Constants(model, g, ctx.external);
      const kinds = new Map<Node, FusedOpKind>();
      for (const n of g.node) {
        const k = fusableKind(n, types, consts);
        if (k) kinds.set(n, k);
      }
      groups = findGroups(g, kinds, indexGraph(g));
    }
    // Members move next to their root, in their own order.
    const groupOf = new Map<Node, Group>();
    for (const grp of groups) for (const m of grp.members) groupOf.set(m, grp);
    const order: Node[] = [];
    for (const n of g.node) {
      const grp = groupOf.get(n);
      if (!grp) order.push(n);
      else if (grp.members[grp.members.length - 1] === n) order.push(...grp.members);
    }
    g.node = order;
    groups.forEach((grp, id) => {
      grp.members.forEach((m, k) => {
        m.metadataProps = [
          ...m.metadataProps,
          { key: FUSION_GROUP_KEY, value: String(id) },
          { key: FUSION_INDEX_KEY, value: `${k}/${grp.members.length}` },
        ];
      });
    });
    const changed = order.some((n, i) => n !== beforeOrder[i]) ||
      beforeOrder.some((n, i) => markOf(n) !== beforeMarks[i]);
    if (!changed) return { changed: false, details: [] };
    const details: string[] = [];
    if (groups.length === 0) details.push("removed stale elementwise fusion marks");
    else {
      const sizes = groups.map((grp) => grp.members.length);
      details.push(
        `marked ${groups.length} elementwise fusion group(s) of ${sizes.join(", ")} nodes ` +
          `(${sizes.reduce((a, b) => a + b, 0)} nodes in ${groups.length} GPU dispatch(es))`,
      );
      groups.forEach((grp, id) => {
        const root = grp.members[grp.members.length - 1];
        details.push(
          `fusion group ${id}: ${grp.members.map((m) => m.opType).join(" → ")} ` +
            `(${grp.members.length} nodes, result "${root.output[0]}")`,
        );
      });
    }
    return { changed: true, details };
  },
};
