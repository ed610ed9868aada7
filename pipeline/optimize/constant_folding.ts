/**
 * Constant folding: every main-graph node whose inputs are all constants (initializers that
 * cannot be overridden, Constant nodes, values folded earlier in the same run) is run once
 * with the runtime's CPU kernel and replaced by initializers holding its outputs. Constant
 * nodes themselves become initializers.
 *
 * Left alone: random ops (RandomNormal, Bernoulli, ...), Dropout, ops with subgraphs (If,
 * Loop, Scan, SequenceMap), calls of model-local functions, DequantizeLinear (quantized
 * models keep their int8 weights and the Q/DQ structure runtimes look for), nodes that write
 * a graph output, nodes whose outputs are not plain tensors, and nodes whose outputs would be
 * large: more than 1 M elements, or more than 64 KiB bigger than their inputs (so Expand,
 * ConstantOfShape or Tile cannot balloon the model). A kernel error leaves the node as it is.
 * Subgraphs are not folded.
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import { functionKey } from "../run/plan.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import { allTensors, evaluateNode } from "./_evaluate.ts";
import {
  addInitializer,
  canonicalDomain,
  Constants,
  describeNode,
  opsetVersion,
} from "./_rewrite.ts";
import { subgraphsOf } from "./_graph.ts";

/** Most elements a folded output may have. */
export const MAX_FOLDED_ELEMENTS = 1 << 20;

/** How many bytes folded outputs may add over the inputs they replace. */
export const MAX_FOLDED_GROWTH_BYTES = 64 * 1024;

/** Ops never folded. */
const NEVER_FOLDED = new Set([
  "RandomNormal",
  "RandomNormalLike",
  "RandomUniform",
  "RandomUniformLike",
  "Multinomial",
  "Bernoulli",
  "Dropout",
  "DequantizeLinear",
  "ImageDecoder",
]);

/** Approximate storage size of a tensor in bytes. */
export function tensorBytes(t: Tensor): number {
  if (t.type === "string") {
    return (t.data as string[]).reduce((s, x) => s + x.length, 0);
  }
  return (t.data as { byteLength: number }).byteLength;
}

function opsetMapOf(model: Model): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of model.opsetImport) m.set(canonicalDomain(o.domain), o.version);
  if (!m.has("")) m.set("", opsetVersion(model, "") ?? 1);
  return m;
}

/** Folds nodes whose inputs are all constant. */
export const constantFolding: Pass = {
  name: "constant-folding",
  description:
    "Evaluates nodes whose inputs are all constants with the CPU kernels and stores their " +
    "outputs as initializers; Constant nodes become initializers",
  level: "basic",
  async run(model: Model, ctx: PassContext): Promise<PassResult> {
    const details: string[] = [];
    const g = model.graph;
    if (!g) return { changed: false, details };
    const consts = new Constants(model, g, ctx.external);
    const folded = new Map<string, Tensor>();
    const outputs = new Set(g.output.map((o) => o.name));
    const functions = new Set(
      model.functions.map((f) => functionKey(f.domain, f.name, f.overload)),
    );
    const opsets = opsetMapOf(model);
    const removed = new Set<Node>();
    const value = (name: string) => folded.get(name) ?? consts.get(name);
    for (const node of g.node) {
      if (NEVER_FOLDED.has(node.opType) || subgraphsOf(node).length > 0) continue;
      if (functions.has(functionKey(node.domain, node.opType, node.overload))) continue;
      if (node.output.some((o) => outputs.has(o)) || node.output.every((o) => o === "")) continue;
      const inputs: (Tensor | undefined)[] = [];
      let ok = true;
      for (const name of node.input) {
        if (name === "") {
          inputs.push(undefined);
          continue;
        }
        const t = value(name);
        if (!t) {
          ok = false;
          break;
        }
        inputs.push(t);
      }
      if (!ok) continue;
      let outs;
      try {
        outs = await evaluateNode(node, inputs, opsets, ctx.external);
      } catch {
        continue;
      }
      if (!allTensors(outs)) continue;
      const inBytes = inputs.reduce((s, t) => s + (t ? tensorBytes(t) : 0), 0);
      const outTensors = outs.filter((t): t is Tensor => t !== undefined);
      const elements = outTensors.reduce((s, t) => s + t.size, 0);
      const outBytes = outTensors.reduce((s, t) => s + tensorBytes(t), 0);
      const isConstantNode = node.input.length === 0 && node.opType === "Constant";
      if (!isConstantNode && elements > MAX_FOLDED_ELEMENTS) continue;
      if (!isConstantNode && outBytes > inBytes + MAX_FOLDED_GROWTH_BYTES) continue;
      node.output.forEach((name, i) => {
        const t = outs[i];
        if (name !== "" && t) folded.set(name, t);
      });
      removed.add(node);
      const shapes = outTensors.map((t) => `${t.type}[${t.dims.join(",")}]`).join(", ");
      details.push(
        isConstantNode
          ? `made Constant ${describeNode(node)} an initializer (${shapes})`
          : `folded ${describeNode(node)} into ${shapes}`,
      );
    }
    if (!removed.size) return { changed: false, details };
    g.node = g.node.filter((n) => !removed.has(n));
    for (const node of removed) {
      for (const name of node.output) {
        const t = folded.get(name);
        if (name !== "" && t) addInitializer(model, g, t, name);
      }
    }
    return { changed: true, details };
  },
};
