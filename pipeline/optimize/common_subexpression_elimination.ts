/**
 * Common subexpression elimination on the main graph.
 *
 * - Initializers with the same type, shape and bytes (and not overridable graph inputs) are
 *   merged into the first one.
 * - Nodes with the same op, domain, overload, attributes and inputs compute the same values:
 *   the later node is removed and its readers read the earlier node's outputs. Random ops,
 *   Dropout, ops with subgraphs and nodes writing a graph output are never merged.
 *
 * @module
 */

import type { Attribute, Graph, Model, Node, TensorProto } from "../load/ir.ts";
import { tensorRawBytes } from "../load/tensor_proto.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import { Constants, describeNode } from "./_rewrite.ts";
import { pruneValueInfo, renameReads, subgraphsOf } from "./_graph.ts";

const NEVER_MERGED = new Set([
  "RandomNormal",
  "RandomNormalLike",
  "RandomUniform",
  "RandomUniformLike",
  "Multinomial",
  "Bernoulli",
  "Dropout",
]);

function hashBytes(b: Uint8Array): string {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x1000193 | 0;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i], 0x01000193);
    h2 = Math.imul(h2 + b[i], 0x5bd1e995) ^ (h2 >>> 13);
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${b.length}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function attributeKey(a: Attribute): string {
  const t = (tp: TensorProto | undefined) =>
    tp
      ? `${tp.dataType}[${tp.dims}]${
        tp.rawData
          ? hashBytes(tp.rawData)
          : JSON.stringify([tp.floatData, tp.int32Data, tp.int64Data.map(String), tp.doubleData])
      }`
      : "";
  return [
    a.name,
    a.type,
    a.f,
    String(a.i),
    hashBytes(a.s),
    t(a.t),
    a.floats.join(","),
    a.ints.join(","),
    a.strings.map(hashBytes).join(","),
    a.tensors.map(t).join(","),
  ].join("|");
}

function nodeKey(n: Node): string {
  const attrs = [...n.attribute].sort((a, b) => a.name.localeCompare(b.name)).map(attributeKey);
  const domain = n.domain === "ai.onnx" ? "" : n.domain;
  return `${domain}::${n.opType}::${n.overload}::${n.input.join("\u0000")}::${n.output.length}::${
    attrs.join("\u0001")
  }`;
}

function mergeInitializers(model: Model, g: Graph, ctx: PassContext, details: string[]): void {
  const consts = new Constants(model, g, ctx.external);
  const byKey = new Map<string, { name: string; bytes: Uint8Array }[]>();
  const replaced = new Map<string, string>();
  for (const tp of g.initializer) {
    if (!consts.isInitializer(tp.name) || tp.dataType === 8) continue;
    const t = consts.get(tp.name);
    if (!t) continue;
    let bytes: Uint8Array;
    try {
      bytes = tensorRawBytes(t);
    } catch {
      continue;
    }
    const key = `${tp.dataType}[${t.dims.join(",")}]${hashBytes(bytes)}`;
    const list = byKey.get(key) ?? [];
    const twin = list.find((x) => sameBytes(x.bytes, bytes));
    if (twin) replaced.set(tp.name, twin.name);
    else {
      list.push({ name: tp.name, bytes });
      byKey.set(key, list);
    }
  }
  if (!replaced.size) return;
  const outputs = new Set(g.output.map((o) => o.name));
  for (const [from, to] of replaced) {
    if (outputs.has(from)) continue;
    renameReads(g, from, to, false);
    details.push(`merged initializer "${from}" into its identical twin "${to}"`);
  }
  g.initializer = g.initializer.filter((t) => !replaced.has(t.name) || outputs.has(t.name));
  if (model.irVersion < 4) {
    g.input = g.input.filter((i) => !replaced.has(i.name) || outputs.has(i.name));
  }
  pruneValueInfo(g);
}

function mergeNodes(g: Graph, details: string[]): void {
  const outputs = new Set(g.output.map((o) => o.name));
  const seen = new Map<string, Node>();
  const removed = new Set<Node>();
  for (const node of g.node) {
    if (NEVER_MERGED.has(node.opType) || subgraphsOf(node).length > 0) continue;
    if (node.output.some((o) => outputs.has(o))) continue;
    const key = nodeKey(node);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, node);
      continue;
    }
    if (node.output.some((o, i) => o !== "" && first.output[i] === "")) continue;
    removed.add(node);
    node.output.forEach((o, i) => {
      const to = first.output[i];
      if (o !== "" && to !== "") renameReads(g, o, to, false);
    });
    details.push(`merged ${describeNode(node)} into the identical ${describeNode(first)}`);
  }
  if (!removed.size) return;
  g.node = g.node.filter((n) => !removed.has(n));
  pruneValueInfo(g);
}

/** Merges identical initializers and identical nodes. */
export const commonSubexpressionElimination: Pass = {
  name: "common-subexpression-elimination",
  description: "Merges identical initializers, and nodes with the same op, attributes and inputs",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    const g = model.graph;
    if (!g) return { changed: false, details };
    mergeInitializers(model, g, ctx, details);
    mergeNodes(g, details);
    return { changed: details.length > 0, details };
  },
};
