/**
 * Dead-node elimination: removes nodes none of whose outputs is used by another node, by a
 * subgraph (as an implicit input) or as a graph output, in the main graph and in every
 * subgraph. Removing a node can make its producers dead in turn; a worklist handles chains.
 *
 * @module
 */

import type { Graph, Model } from "../load/ir.ts";
import type { Pass, PassResult } from "./mod.ts";
import { forEachGraphBottomUp, nodeLabel, nodeReads, pruneValueInfo, useCounts } from "./_graph.ts";

function eliminate(g: Graph, details: string[], where: string): void {
  const uses = useCounts(g);
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => n.output.forEach((o) => o !== "" && producer.set(o, i)));
  const dead = new Set<number>();
  const isDead = (i: number) => g.node[i].output.every((o) => o === "" || !uses.get(o));
  const queue: number[] = [];
  g.node.forEach((_, i) => isDead(i) && queue.push(i));
  while (queue.length) {
    const i = queue.pop()!;
    if (dead.has(i)) continue;
    dead.add(i);
    for (const r of nodeReads(g.node[i])) {
      const left = (uses.get(r) ?? 1) - 1;
      uses.set(r, left);
      const p = producer.get(r);
      if (left === 0 && p !== undefined && !dead.has(p) && isDead(p)) queue.push(p);
    }
  }
  if (!dead.size) return;
  for (const i of [...dead].sort((a, b) => a - b)) {
    details.push(`removed unused ${nodeLabel(g.node[i], i)}${where}`);
  }
  g.node = g.node.filter((_, i) => !dead.has(i));
  pruneValueInfo(g);
}

/** Removes nodes whose outputs nobody uses. */
export const deadNodeElimination: Pass = {
  name: "dead-node-elimination",
  description: "Removes nodes whose outputs are used by no node, subgraph or graph output",
  level: "basic",
  run(model: Model): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const main = model.graph;
    forEachGraphBottomUp(main, (g) => eliminate(g, details, g === main ? "" : ` in ${g.name}`));
    return { changed: details.length > 0, details };
  },
};
