/**
 * Identity elimination: removes `Identity` nodes by letting their readers use the input.
 *
 * - When the Identity's output is not a graph output, every read of it (in the graph, in
 *   nested subgraphs and their outputs) is renamed to the Identity's input.
 * - When its output is a graph output, that name must stay; the node is removed only when its
 *   input is produced by a node of the same graph and is not itself a graph output: that node
 *   then writes the output name directly and readers of the old name are renamed.
 * - Otherwise (the input is a graph input, an initializer or an outer-scope value, or both
 *   names are graph outputs) the Identity stays. A rename that a nested subgraph would shadow
 *   (it defines the same name) is skipped too.
 *
 * @module
 */

import type { Graph, Model } from "../load/ir.ts";
import type { Pass, PassResult } from "./mod.ts";
import {
  forEachGraphBottomUp,
  namesDefinedInSubgraphs,
  nodeLabel,
  pruneValueInfo,
  renameReads,
} from "./_graph.ts";

function isIdentity(domain: string, opType: string): boolean {
  return opType === "Identity" && (domain === "" || domain === "ai.onnx");
}

/** Tries to remove one Identity node; returns the detail line when it did. */
function removeOne(g: Graph): string | undefined {
  const outputs = new Set(g.output.map((o) => o.name));
  const shadowed = namesDefinedInSubgraphs(g);
  for (let i = 0; i < g.node.length; i++) {
    const node = g.node[i];
    if (!isIdentity(node.domain, node.opType)) continue;
    const x = node.input[0] ?? "";
    const y = node.output[0] ?? "";
    if (x === "" || y === "" || x === y) continue;
    const label = nodeLabel(node, i);
    if (!outputs.has(y)) {
      if (shadowed.has(x)) continue;
      g.node.splice(i, 1);
      renameReads(g, y, x, true);
      pruneValueInfo(g);
      return `removed ${label}: readers of "${y}" now read "${x}"`;
    }
    if (outputs.has(x) || shadowed.has(y)) continue;
    const producer = g.node.find((n) => n !== node && n.output.includes(x));
    if (!producer) continue;
    g.node.splice(i, 1);
    producer.output = producer.output.map((o) => (o === x ? y : o));
    renameReads(g, x, y, false);
    pruneValueInfo(g);
    return `removed ${label}: its input's producer now writes graph output "${y}"`;
  }
  return undefined;
}

/** Removes Identity nodes without renaming graph outputs. */
export const identityElimination: Pass = {
  name: "identity-elimination",
  description: "Removes Identity nodes, rewiring their readers; graph output names are kept",
  level: "basic",
  run(model: Model): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const main = model.graph;
    forEachGraphBottomUp(main, (g) => {
      const where = g === main ? "" : ` in ${g.name}`;
      for (let line = removeOne(g); line !== undefined; line = removeOne(g)) {
        details.push(line + where);
      }
    });
    return { changed: details.length > 0, details };
  },
};
