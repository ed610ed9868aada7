/**
 * Graph helpers shared by the optimization passes: which names a node or graph reads
 * (subgraphs included), which names a graph defines, and renaming the uses of a value.
 *
 * These helpers never cache: passes mutate graphs, so every answer is computed afresh.
 *
 * @module
 */

import type { Graph, Node } from "../load/ir.ts";

/** The subgraphs held by a node's GRAPH and GRAPHS attributes. */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs) out.push(g);
  }
  return out;
}

/** Names a graph defines itself: inputs, initializers, sparse initializers, node outputs. */
export function definedNames(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const i of g.input) out.add(i.name);
  for (const t of g.initializer) out.add(t.name);
  for (const s of g.sparseInitializer) if (s.values?.name) out.add(s.values.name);
  for (const n of g.node) for (const o of n.output) if (o !== "") out.add(o);
  return out;
}

/** Names a graph reads without defining them (its implicit inputs from enclosing scopes). */
export function outerReads(g: Graph): Set<string> {
  const defined = definedNames(g);
  const out = new Set<string>();
  for (const n of g.node) for (const r of nodeReads(n)) if (!defined.has(r)) out.add(r);
  for (const o of g.output) if (!defined.has(o.name)) out.add(o.name);
  return out;
}

/** Names a node reads: its non-empty inputs and what its subgraphs read from outside. */
export function nodeReads(node: Node): string[] {
  const out = node.input.filter((x) => x !== "");
  for (const g of subgraphsOf(node)) out.push(...outerReads(g));
  return out;
}

/** How many times each name is read in a graph (by nodes, subgraphs and graph outputs). */
export function useCounts(g: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (n: string) => counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const n of g.node) for (const r of nodeReads(n)) add(r);
  for (const o of g.output) add(o.name);
  return counts;
}

/** Every name defined anywhere inside the subgraphs of a graph's nodes (recursively). */
export function namesDefinedInSubgraphs(g: Graph): Set<string> {
  const out = new Set<string>();
  const walk = (graph: Graph) => {
    for (const n of graph.node) {
      for (const sg of subgraphsOf(n)) {
        for (const name of definedNames(sg)) out.add(name);
        walk(sg);
      }
    }
  };
  walk(g);
  return out;
}

/**
 * Replaces reads of `from` with `to` in a graph's nodes and outputs, and in nested subgraphs
 * that do not define `from` themselves (a subgraph defining it shadows the outer value).
 * With `includeOutputs` false the graph's own output list is left alone.
 */
export function renameReads(g: Graph, from: string, to: string, includeOutputs: boolean): void {
  for (const n of g.node) {
    for (let i = 0; i < n.input.length; i++) if (n.input[i] === from) n.input[i] = to;
    for (const sg of subgraphsOf(n)) {
      if (!definedNames(sg).has(from)) renameReads(sg, from, to, true);
    }
  }
  if (includeOutputs) {
    for (const o of g.output) if (o.name === from) o.name = to;
  }
}

/** Calls `fn` on a graph's subgraphs first (deepest first), then on the graph itself. */
export function forEachGraphBottomUp(g: Graph, fn: (g: Graph) => void): void {
  for (const n of g.node) for (const sg of subgraphsOf(n)) forEachGraphBottomUp(sg, fn);
  fn(g);
}

/** A node's label for reports: its name, or `OpType#index` when it has none. */
export function nodeLabel(node: Node, index: number): string {
  return node.name ? `${node.name} (${node.opType})` : `${node.opType}#${index}`;
}

/** Removes value_info entries whose names the graph no longer defines. */
export function pruneValueInfo(g: Graph): number {
  const defined = definedNames(g);
  const before = g.valueInfo.length;
  g.valueInfo = g.valueInfo.filter((v) => defined.has(v.name));
  g.quantizationAnnotation = g.quantizationAnnotation.filter((q) => defined.has(q.tensorName));
  return before - g.valueInfo.length;
}
