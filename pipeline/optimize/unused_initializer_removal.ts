/**
 * Unused-initializer removal: drops initializers (dense and sparse) that no node, subgraph or
 * graph output reads. Initializers that are also graph inputs stay, since callers may feed
 * them (except before IR version 4, where every initializer is listed as an input without
 * being one: there the input entry goes too); so do those the model's training graphs refer to.
 *
 * @module
 */

import type { Graph, Model } from "../load/ir.ts";
import type { Pass, PassResult } from "./mod.ts";
import { forEachGraphBottomUp, outerReads, pruneValueInfo, useCounts } from "./_graph.ts";

/** Names the training graphs and bindings read from the main graph. */
function trainingReads(model: Model): Set<string> {
  const out = new Set<string>();
  for (const t of model.trainingInfo) {
    for (const g of [t.initialization, t.algorithm]) {
      if (g) { for (const n of outerReads(g)) out.add(n); }
    }
    for (const b of [...t.initializationBinding, ...t.updateBinding]) {
      out.add(b.key);
      out.add(b.value);
    }
  }
  return out;
}

function remove(
  g: Graph,
  keep: ReadonlySet<string>,
  details: string[],
  where: string,
  irVersion: number,
): void {
  const uses = useCounts(g);
  // Before IR version 4 every initializer is listed as a graph input, without being one that
  // callers feed: such entries do not keep an initializer alive (and go with it).
  const inputs = new Set(irVersion < 4 ? [] : g.input.map((i) => i.name));
  const unused = (name: string) => !uses.get(name) && !inputs.has(name) && !keep.has(name);
  const removed: string[] = [];
  g.initializer = g.initializer.filter((t) => {
    if (!unused(t.name)) return true;
    removed.push(t.name);
    return false;
  });
  g.sparseInitializer = g.sparseInitializer.filter((s) => {
    const name = s.values?.name ?? "";
    if (!unused(name)) return true;
    removed.push(name);
    return false;
  });
  if (!removed.length) return;
  if (irVersion < 4) {
    const gone = new Set(removed);
    g.input = g.input.filter((i) => !gone.has(i.name));
  }
  for (const name of removed) details.push(`removed unused initializer "${name}"${where}`);
  pruneValueInfo(g);
}

/** Removes initializers nobody reads. */
export const unusedInitializerRemoval: Pass = {
  name: "unused-initializer-removal",
  description: "Removes initializers that no node, subgraph or graph output reads",
  level: "basic",
  run(model: Model): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const main = model.graph;
    const training = trainingReads(model);
    const none = new Set<string>();
    forEachGraphBottomUp(
      main,
      (g) =>
        remove(
          g,
          g === main ? training : none,
          details,
          g === main ? "" : ` in ${g.name}`,
          model.irVersion,
        ),
    );
    return { changed: details.length > 0, details };
  },
};
