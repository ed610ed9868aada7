/**
 * The graph optimizer: a small pass framework. A {@link Pass} rewrites a model in place and
 * says whether it changed anything; {@link optimizeModel} copies the model, applies the passes
 * in order (those named, or those of an optimization level) until none changes anything,
 * and reports what each did with node counts by op type before and after.
 *
 * Rules every pass follows: the names, order and values of the main graph's outputs never
 * change (within float tolerance for passes that compute); inputs keep their names; the
 * TensorProto objects of the input model are never mutated (a pass that changes a tensor
 * replaces the object), so {@link cloneModel} can share payloads with the original.
 *
 * @example
 * ```ts ignore
 * import { optimizeModel } from "./mod.ts";
 * const { model: smaller, report } = await optimizeModel(model, { level: "basic" });
 * console.log(report.before.nodes, "→", report.after.nodes);
 * ```
 *
 * @module
 */

import type { Attribute, Graph, Model, Node, ValueInfo } from "../load/ir.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { deadNodeElimination } from "./dead_node_elimination.ts";
import { identityElimination } from "./identity_elimination.ts";
import { unusedInitializerRemoval } from "./unused_initializer_removal.ts";
import { constantFolding } from "./constant_folding.ts";
import { shapeFolding } from "./shape_folding.ts";
import { noopElimination } from "./noop_elimination.ts";
import { commonSubexpressionElimination } from "./common_subexpression_elimination.ts";
import { convBnFolding } from "./conv_bn_folding.ts";
import { convScaleFolding } from "./conv_scale_folding.ts";
import { reshapeGemmFusion } from "./reshape_gemm_fusion.ts";
import { matmulAddFusion } from "./matmul_add_fusion.ts";
import { transposeOptimization } from "./transpose_optimization.ts";
import { attentionFusion } from "./attention_fusion.ts";
import { layerNormFusion } from "./layer_norm_fusion.ts";
import { geluFusion } from "./gelu_fusion.ts";
import { convActivationFusion } from "./conv_activation_fusion.ts";
import { gemmActivationFusion } from "./gemm_activation_fusion.ts";
import { matmulTransposeFusion } from "./matmul_transpose_fusion.ts";
import { elementwiseFusion } from "./elementwise_fusion.ts";
import { sparseParameterBytes, tensorParameterBytes } from "./_stats.ts";

/** Canonical domain name: "" for ai.onnx. */
function normalizeDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

/** How much optimization to do; each level includes the passes of the levels before it. */
export type OptimizationLevel = "basic" | "extended" | "all";

/** The levels, least to most. */
export const OPTIMIZATION_LEVELS: readonly OptimizationLevel[] = ["basic", "extended", "all"];

/** What a pass can see besides the model. */
export interface PassContext {
  /** Opset versions of the model by canonical domain ("" is ai.onnx). */
  readonly opsets: ReadonlyMap<string, number>;
  /** Reads initializers kept in external files, for passes that need tensor values. */
  readonly external?: ExternalDataReader;
}

/** What one application of a pass did. */
export interface PassResult {
  /** True when the model changed. */
  changed: boolean;
  /** One sentence per change, e.g. `removed Identity node "id_3"`. */
  details: string[];
}

/** A graph transformation. */
export interface Pass {
  /** Stable kebab-case name used in pipeline files, e.g. `dead-node-elimination`. */
  readonly name: string;
  /** One sentence saying what the pass does. */
  readonly description: string;
  /** The least optimization level that includes the pass. */
  readonly level: OptimizationLevel;
  /** Rewrites `model` in place; must keep graph outputs' names and values. */
  run(model: Model, ctx: PassContext): PassResult | Promise<PassResult>;
}

/** The passes this build knows, in their default order. */
export const BUILTIN_PASSES: readonly Pass[] = [
  shapeFolding,
  constantFolding,
  identityElimination,
  noopElimination,
  deadNodeElimination,
  unusedInitializerRemoval,
  commonSubexpressionElimination,
  convBnFolding,
  convScaleFolding,
  reshapeGemmFusion,
  matmulAddFusion,
  transposeOptimization,
  attentionFusion,
  layerNormFusion,
  geluFusion,
  convActivationFusion,
  gemmActivationFusion,
  matmulTransposeFusion,
  elementwiseFusion,
];

/** Returns the built-in pass of that name, or undefined. */
export function getPass(name: string): Pass | undefined {
  return BUILTIN_PASSES.find((p) => p.name === name);
}

/** Names of the built-in passes, in default order. */
export function passNames(): string[] {
  return BUILTIN_PASSES.map((p) => p.name);
}

/** The built-in passes included at an optimization level, in default order. */
export function passesForLevel(level: OptimizationLevel): Pass[] {
  const rank = OPTIMIZATION_LEVELS.indexOf(level);
  return BUILTIN_PASSES.filter((p) => OPTIMIZATION_LEVELS.indexOf(p.level) <= rank);
}

/** Size of a model's graphs: node counts by op type, over the main graph and subgraphs. */
export interface GraphStats {
  /** Nodes in the main graph and every subgraph. */
  nodes: number;
  /** Initializers (dense and sparse) in the main graph and every subgraph. */
  initializers: number;
  /** Bytes of those initializers' payloads. */
  parameterBytes: number;
  /** Node count per op type; non-default domains are prefixed, e.g. `com.microsoft.Gelu`. */
  opCounts: Record<string, number>;
}

/** Counts nodes by op type and initializers over a model's main graph and subgraphs. */
export function graphStats(model: Model): GraphStats {
  const opCounts: Record<string, number> = {};
  let nodes = 0;
  let initializers = 0;
  let parameterBytes = 0;
  const walk = (g: Graph) => {
    initializers += g.initializer.length + g.sparseInitializer.length;
    for (const t of g.initializer) parameterBytes += tensorParameterBytes(t);
    for (const t of g.sparseInitializer) parameterBytes += sparseParameterBytes(t);
    for (const n of g.node) {
      nodes++;
      const domain = normalizeDomain(n.domain);
      const key = domain ? `${domain}.${n.opType}` : n.opType;
      opCounts[key] = (opCounts[key] ?? 0) + 1;
      for (const a of n.attribute) {
        if (a.g) walk(a.g);
        for (const g of a.graphs) walk(g);
      }
    }
  };
  if (model.graph) walk(model.graph);
  return { nodes, initializers, parameterBytes, opCounts: sortedRecord(opCounts) };
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

function cloneValueInfo(v: ValueInfo): ValueInfo {
  return { ...v };
}

function cloneAttribute(a: Attribute): Attribute {
  const out: Attribute = { ...a, graphs: a.graphs.map(cloneGraph) };
  if (a.g) out.g = cloneGraph(a.g);
  return out;
}

function cloneNode(n: Node): Node {
  return {
    ...n,
    input: [...n.input],
    output: [...n.output],
    attribute: n.attribute.map(cloneAttribute),
  };
}

function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    node: g.node.map(cloneNode),
    initializer: [...g.initializer],
    sparseInitializer: [...g.sparseInitializer],
    input: g.input.map(cloneValueInfo),
    output: g.output.map(cloneValueInfo),
    valueInfo: g.valueInfo.map(cloneValueInfo),
    quantizationAnnotation: g.quantizationAnnotation.map((q) => ({ ...q })),
  };
}

/**
 * Copies a model's structure (graphs, nodes, attributes, value infos) so passes can edit it
 * in place; tensor payloads (TensorProto objects) are shared, never copied.
 */
export function cloneModel(model: Model): Model {
  const out: Model = {
    ...model,
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    trainingInfo: model.trainingInfo.map((t) => {
      const c = { ...t };
      if (t.initialization) c.initialization = cloneGraph(t.initialization);
      if (t.algorithm) c.algorithm = cloneGraph(t.algorithm);
      return c;
    }),
    functions: model.functions.map((f) => ({ ...f, node: f.node.map(cloneNode) })),
  };
  if (model.graph) out.graph = cloneGraph(model.graph);
  return out;
}

/** Options of {@link optimizeModel}. */
export interface OptimizeOptions {
  /** Passes to apply, in this order (names of built-in passes or Pass objects). */
  passes?: readonly (string | Pass)[];
  /** Used when `passes` is not given: the passes of this level (default `basic`). */
  level?: OptimizationLevel;
  /** Most rounds over the pass list before giving up on a fixpoint (default 8). */
  maxIterations?: number;
  /** Reader for external tensor data. */
  external?: ExternalDataReader;
  /**
   * Passes applied once each, in order, after the fixpoint: conversions such as quantization
   * (`quantize.ts`) and float16 (`float16.ts`) that must not be undone by graph passes.
   */
  finalPasses?: readonly Pass[];
}

/** What one pass did over the whole optimization. */
export interface PassReport {
  /** Pass name. */
  name: string;
  /** How many times it ran. */
  runs: number;
  /** How many of those runs changed the model. */
  changedRuns: number;
  /** Every change it made, in order. */
  details: string[];
  /** Time spent in the pass, in milliseconds. */
  ms: number;
}

/** Outcome of {@link optimizeModel}. */
export interface OptimizeReport {
  /** One entry per pass, in the order applied. */
  passes: PassReport[];
  /** Rounds over the pass list, the last of which changed nothing when `converged`. */
  iterations: number;
  /** True when a round changed nothing (the fixpoint was reached). */
  converged: boolean;
  /** Sizes before. */
  before: GraphStats;
  /** Sizes after. */
  after: GraphStats;
}

/** Resolves pass names; throws a TypeError naming the unknown one. */
export function resolvePasses(passes: readonly (string | Pass)[]): Pass[] {
  return passes.map((p) => {
    if (typeof p !== "string") return p;
    const found = getPass(p);
    if (!found) {
      throw new TypeError(`Unknown optimization pass "${p}": known passes are ${passNames()}`);
    }
    return found;
  });
}

/**
 * Applies passes to a copy of `model` until a round changes nothing (or `maxIterations`
 * rounds ran), and returns the new model with a report. The input model is not modified.
 */
export async function optimizeModel(
  model: Model,
  options: OptimizeOptions = {},
): Promise<{ model: Model; report: OptimizeReport }> {
  const passes = options.passes
    ? resolvePasses(options.passes)
    : passesForLevel(options.level ?? "basic");
  const maxIterations = options.maxIterations ?? 8;
  const work = cloneModel(model);
  const opsets = new Map<string, number>();
  for (const o of work.opsetImport) opsets.set(normalizeDomain(o.domain), o.version);
  const ctx: PassContext = { opsets, external: options.external };
  const reports: PassReport[] = passes.map((p) => ({
    name: p.name,
    runs: 0,
    changedRuns: 0,
    details: [],
    ms: 0,
  }));
  const before = graphStats(model);
  let iterations = 0;
  let converged = passes.length === 0;
  while (!converged && iterations < maxIterations) {
    iterations++;
    let changed = false;
    for (let i = 0; i < passes.length; i++) {
      const t0 = performance.now();
      // A pass may change the opset imports (fusions add com.microsoft, raise the default).
      opsets.clear();
      for (const o of work.opsetImport) opsets.set(normalizeDomain(o.domain), o.version);
      const r = await passes[i].run(work, ctx);
      reports[i].ms += performance.now() - t0;
      reports[i].runs++;
      if (r.changed) {
        changed = true;
        reports[i].changedRuns++;
        reports[i].details.push(...r.details);
      }
    }
    if (!changed) converged = true;
  }
  opsets.clear();
  for (const o of work.opsetImport) opsets.set(normalizeDomain(o.domain), o.version);
  for (const p of options.finalPasses ?? []) {
    const t0 = performance.now();
    const r = await p.run(work, ctx);
    const details = r.changed ? r.details : [];
    const ms = performance.now() - t0;
    reports.push({ name: p.name, runs: 1, changedRuns: r.changed ? 1 : 0, details, ms });
  }
  return {
    model: work,
    report: { passes: reports, iterations, converged, before, after: graphStats(work) },
  };
}
