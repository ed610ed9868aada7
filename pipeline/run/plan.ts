/**
 * Execution planning and the CPU interpreter: a graph becomes a list of steps once
 * (topological order, resolved kernels, value lifetimes), then runs many times.
 *
 * @module
 */

import type { Attribute, FunctionProto, Graph, Node, OpsetId } from "../load/ir.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { sparseTensorFromProto, tensorFromProto } from "../load/tensor_proto.ts";
import type { Value } from "../tensor/tensor.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { CpuKernel, KernelOptions, OpContext, OpDef } from "../../ops/types.ts";
import { normalizeDomain, resolveOp } from "../../ops/registry.ts";
import { NodeAttributes } from "./attributes.ts";
import { ModelFormatError, OnnxError, RuntimeError, UnsupportedError } from "../errors.ts";

/** Opset versions by canonical domain ("" = ai.onnx). */
export type OpsetMap = ReadonlyMap<string, number>;

/** Builds an opset map from opset_import entries. */
export function opsetMap(imports: readonly OpsetId[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of imports) m.set(normalizeDomain(o.domain), o.version);
  return m;
}

/** Static context shared by every plan of a model. */
export interface PlanEnv {
  /** Opsets of the graph being planned. */
  opsets: OpsetMap;
  /** Model-local functions by `domain::name::overload`. */
  functions: ReadonlyMap<string, FunctionProto>;
  /** External data resolver for tensors stored outside the model. */
  external?: ExternalDataReader;
  /** Random source shared by the session. */
  random: () => number;
  /** Kernel options (default: exact int8 accumulation). */
  kernelOptions?: KernelOptions;
  /** Called once per node as it finishes, for profiling and progress. */
  onNode?: (step: Step, ms: number) => void;
  /** Keys of the model-local functions being expanded (to reject recursive calls). */
  calling?: readonly string[];
  /** Another backend that may take steps over (the WebGPU executor); absent: CPU only. */
  executor?: StepExecutor;
}

/**
 * A backend that runs some steps instead of the CPU (see `run/webgpu/executor.ts`). The
 * plan stays backend-neutral: it asks the executor first, and hands CPU kernels inputs the
 * executor made readable on the host.
 */
export interface StepExecutor {
  /** Runs `step` when it is placed on this backend; undefined means "run it on the CPU". */
  runStep(step: Step, inputs: (Value | undefined)[]): Promise<(Value | undefined)[] | undefined>;
  /** Makes a CPU step's inputs readable on the host (downloads device tensors). */
  toHost(step: Step, inputs: (Value | undefined)[]): Promise<(Value | undefined)[]>;
  /** A value was bound to a name of a scope. */
  retain(value: Value): void;
  /** A name bound to `value` left its scope (after its last use). */
  release(value: Value): void;
}

function onDevice(v: Value | undefined): boolean {
  return v instanceof Tensor && v.location !== "cpu";
}

/** Downloads inputs that live on a device (for CPU kernels run without an executor). */
async function hostInputs(inputs: (Value | undefined)[]): Promise<(Value | undefined)[]> {
  return await Promise.all(
    inputs.map(async (v) =>
      v instanceof Tensor && onDevice(v) ? new Tensor(v.type, await v.getData(), v.dims) : v
    ),
  );
}

const DEFAULT_KERNEL_OPTIONS: KernelOptions = { int8Accumulation: "exact" };

/** Key of a model-local function. */
export function functionKey(domain: string, name: string, overload = ""): string {
  return `${normalizeDomain(domain)}::${name}::${overload}`;
}

/** One planned node. */
export interface Step {
  /** Position in the plan. */
  index: number;
  /** The node. */
  node: Node;
  /** Name for messages. */
  name: string;
  /** The resolved kernel. */
  kernel: CpuKernel;
  /** The declaration, absent for model-local function calls. */
  def?: OpDef;
  /** Schema version in use. */
  version: number;
  /** Context without the per-run scope. */
  ctx: Omit<OpContext, "runGraph">;
  /** Values to drop after this step (their last use). */
  release: string[];
}

/** A planned graph. */
export interface Plan {
  /** The graph. */
  graph: Graph;
  /** Steps in execution order. */
  steps: Step[];
  /** Initializers as runtime tensors. */
  constants: Map<string, Value>;
  /** Names of graph inputs that are not initializers. */
  feeds: string[];
  /** Names of graph outputs. */
  outputs: string[];
  /** Names read from enclosing scopes (for subgraphs). */
  outerNames: Set<string>;
}

/** Names a node reads, including those its subgraphs read from enclosing scopes. */
export function nodeReads(node: Node): string[] {
  const names = node.input.filter((x) => x !== "");
  for (const a of node.attribute) {
    const graphs = a.g ? [a.g] : a.graphs;
    for (const g of graphs) names.push(...graphOuterReads(g));
  }
  return names;
}

const outerReadsCache = new WeakMap<Graph, string[]>();

/** Names a graph reads that it does not define itself (its implicit inputs). */
export function graphOuterReads(g: Graph): string[] {
  const cached = outerReadsCache.get(g);
  if (cached) return cached;
  const defined = new Set<string>([
    ...g.input.map((i) => i.name),
    ...g.initializer.map((t) => t.name),
    ...g.sparseInitializer.map((t) => t.values?.name ?? ""),
  ]);
  for (const n of g.node) for (const o of n.output) if (o) defined.add(o);
  const out = new Set<string>();
  for (const n of g.node) for (const r of nodeReads(n)) if (!defined.has(r)) out.add(r);
  for (const o of g.output) if (!defined.has(o.name)) out.add(o.name);
  const list = [...out];
  outerReadsCache.set(g, list);
  return list;
}

/**
 * Orders nodes so every input is produced before use (stable: keeps the file order when it
 * is already valid). Names not produced inside the graph must be in `available`.
 */
export function topologicalOrder(
  graph: Graph,
  available: ReadonlySet<string>,
  allowOuter: boolean,
): Node[] {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) =>
    n.output.forEach((o) => {
      if (o === "") return;
      if (producer.has(o) || available.has(o) && !allowOuter) {
        throw new ModelFormatError(
          `Value "${o}" is assigned more than once (graph "${graph.name}")`,
        );
      }
      producer.set(o, i);
    })
  );
  const n = graph.node.length;
  const deps: number[][] = graph.node.map(() => []);
  const users: number[][] = graph.node.map(() => []);
  graph.node.forEach((node, i) => {
    for (const r of nodeReads(node)) {
      const p = producer.get(r);
      if (p !== undefined) {
        if (p !== i) {
          deps[i].push(p);
          users[p].push(i);
        }
      } else if (!available.has(r) && !allowOuter) {
        throw new ModelFormatError(
          `Node ${node.name || `#${i}`} (${node.opType}) reads "${r}", which no node, input or ` +
            `initializer of graph "${graph.name}" provides`,
        );
      }
    }
  });
  const pending = deps.map((d) => new Set(d).size);
  const order: Node[] = [];
  // A min-heap would be faster; graphs are small enough that a sorted ready list is fine.
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
  const seen = new Set<number>();
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    if (seen.has(i)) continue;
    seen.add(i);
    order.push(graph.node[i]);
    for (const u of new Set(users[i])) if (--pending[u] === 0) ready.push(u);
  }
  if (order.length !== n) {
    const stuck = graph.node.filter((_, i) => !seen.has(i)).slice(0, 3).map((x) =>
      x.name || x.opType
    );
    throw new ModelFormatError(`Graph "${graph.name}" has a cycle through nodes ${stuck}`);
  }
  return order;
}

function substituteAttributes(body: Node[], call: Node, fn: FunctionProto): Node[] {
  const given = new Map(call.attribute.map((a) => [a.name, a]));
  for (const a of fn.attributeProto) if (!given.has(a.name)) given.set(a.name, a);
  const subst = (attrs: Attribute[]): Attribute[] =>
    attrs.flatMap((a) => {
      if (a.refAttrName) {
        const v = given.get(a.refAttrName);
        return v ? [{ ...v, name: a.name, refAttrName: "" }] : [];
      }
      if (a.g) return [{ ...a, g: { ...a.g, node: substNodes(a.g.node) } }];
      if (a.graphs.length) {
        return [{ ...a, graphs: a.graphs.map((g) => ({ ...g, node: substNodes(g.node) })) }];
      }
      return [a];
    });
  const substNodes = (nodes: Node[]): Node[] =>
    nodes.map((n) => ({ ...n, attribute: subst(n.attribute) }));
  return substNodes(body);
}

/**
 * Replaces reads of `names` by "" (an omitted input) in `nodes` and their subgraphs, except
 * where a subgraph defines the name itself.
 */
function omitNames(nodes: Node[], names: ReadonlySet<string>): Node[] {
  if (names.size === 0) return nodes;
  const inGraph = (g: Graph): Graph => {
    const own = new Set<string>([
      ...g.input.map((i) => i.name),
      ...g.initializer.map((t) => t.name),
    ]);
    for (const n of g.node) for (const o of n.output) own.add(o);
    const rest = new Set([...names].filter((x) => !own.has(x)));
    return { ...g, node: omitNames(g.node, rest) };
  };
  return nodes.map((n) => ({
    ...n,
    input: n.input.map((x) => (names.has(x) ? "" : x)),
    attribute: n.attribute.map((a) =>
      a.g
        ? { ...a, g: inGraph(a.g) }
        : a.graphs.length
        ? { ...a, graphs: a.graphs.map(inGraph) }
        : a
    ),
  }));
}

function functionKernel(fn: FunctionProto, call: Node, env: PlanEnv): CpuKernel {
  const key = functionKey(fn.domain, fn.name, fn.overload);
  const calling = env.calling ?? [];
  if (calling.includes(key)) {
    throw new ModelFormatError(
      `Model-local function "${fn.domain}.${fn.name}" calls itself (through ${
        [...calling, key].map((k) => k.split("::").slice(0, 2).join(".")).join(" -> ")
      })`,
    );
  }
  const opsets = new Map(env.opsets);
  for (const [d, v] of opsetMap(fn.opsetImport)) opsets.set(d, v);
  const fnEnv: PlanEnv = { ...env, opsets, calling: [...calling, key] };
  // Formal inputs the call omits read as omitted ("") inside the body.
  const omitted = new Set(fn.input.filter((_, i) => (call.input[i] ?? "") === ""));
  const graph: Graph = {
    node: omitNames(substituteAttributes(fn.node, call, fn), omitted),
    name: `${fn.name}`,
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: fn.input.map((name) => ({ name, docString: "", metadataProps: [] })),
    output: fn.output.map((name) => ({ name, docString: "", metadataProps: [] })),
    valueInfo: fn.valueInfo,
    quantizationAnnotation: [],
    metadataProps: [],
  };
  // Function bodies see only their formal inputs (no outer scope).
  const plan = buildPlan(graph, fnEnv, { isSubgraph: false, outer: new Set() });
  return async (_ctx, inputs) => {
    const feeds = new Map<string, Value>();
    fn.input.forEach((name, i) => {
      const v = inputs[i];
      if (v !== undefined) feeds.set(name, v);
    });
    // Subgraphs in the body are planned with the function's opsets.
    const result = await runPlan(plan, feeds, undefined, fnEnv);
    return fn.output.map((o) => result.get(o));
  };
}

// Subgraph plans, per session (identified by its random source, which every env derived
// from the session's shares), then per graph: sessions sharing a loaded model must not
// share plans, whose steps capture the session's random source and external data.
const planCache = new WeakMap<object, WeakMap<Graph, Plan>>();

/** Plans a graph. Subgraphs may read names from enclosing scopes (`outer`). */
export function buildPlan(
  graph: Graph,
  env: PlanEnv,
  options: { isSubgraph: boolean; outer: ReadonlySet<string> },
): Plan {
  const constants = new Map<string, Value>();
  for (const tp of graph.initializer) constants.set(tp.name, tensorFromProto(tp, env.external));
  for (const sp of graph.sparseInitializer) {
    const name = sp.values?.name ?? "";
    constants.set(name, sparseTensorFromProto(sp, env.external));
  }
  const feeds = graph.input.map((i) => i.name).filter((n) => !constants.has(n));
  const available = new Set<string>([...graph.input.map((i) => i.name), ...constants.keys()]);
  for (const o of options.outer) available.add(o);
  const order = topologicalOrder(graph, available, options.isSubgraph);
  const outputs = graph.output.map((o) => o.name);
  const lastUse = new Map<string, number>();
  order.forEach((node, i) => {
    for (const r of nodeReads(node)) lastUse.set(r, i);
  });
  const keep = new Set(outputs);
  const releaseAt: string[][] = order.map(() => []);
  for (const [name, i] of lastUse) {
    if (!keep.has(name) && !constants.has(name)) releaseAt[i].push(name);
  }
  // Outputs nobody reads are released right after their producer.
  order.forEach((node, i) => {
    for (const o of node.output) if (o && !lastUse.has(o) && !keep.has(o)) releaseAt[i].push(o);
  });
  const outerNames = new Set<string>();
  const defined = new Set<string>(available);
  for (const node of order) for (const o of node.output) defined.add(o);
  for (const node of order) for (const r of nodeReads(node)) if (!defined.has(r)) outerNames.add(r);

  const steps: Step[] = order.map((node, index) => {
    const name = node.name || `#${graph.node.indexOf(node)}`;
    const domain = normalizeDomain(node.domain);
    const fn = env.functions.get(functionKey(domain, node.opType, node.overload));
    const attrs = new NodeAttributes(node, env.external);
    const where = `${node.opType} node "${name}"`;
    let kernel: CpuKernel;
    let def: OpDef | undefined;
    let version = 0;
    const opset = env.opsets.get(domain);
    if (fn) {
      kernel = functionKernel(fn, node, env);
    } else {
      if (opset === undefined) {
        throw new UnsupportedError(
          `${where}: its domain "${domain || "ai.onnx"}" is not imported by the model`,
          { opType: node.opType, node: name },
        );
      }
      const r = resolveOp(domain, node.opType, opset);
      if (!("def" in r)) {
        throw new UnsupportedError(`${where}: ${r.reason}`, { opType: node.opType, node: name });
      }
      def = r.def;
      version = r.version;
      kernel = r.def.cpu;
    }
    const outputCount = node.output.length;
    const ctx: Omit<OpContext, "runGraph"> = {
      node,
      graph,
      opsets: env.opsets,
      nodeName: name,
      opset: opset ?? 0,
      version,
      attrs,
      options: env.kernelOptions ?? DEFAULT_KERNEL_OPTIONS,
      outputCount,
      wantsOutput: (i: number) => i < outputCount && node.output[i] !== "",
      random: env.random,
      unsupported: (message: string, dtype?: string) =>
        new UnsupportedError(`${where}: ${message}${dtype ? ` (dtype ${dtype})` : ""}`, {
          opType: node.opType,
          node: name,
          dtype,
        }),
      fail: (message: string) =>
        new RuntimeError(`${where}: ${message}`, { opType: node.opType, node: name }),
    };
    return { index, node, name, kernel, def, version, ctx, release: releaseAt[index] };
  });
  return { graph, steps, constants, feeds, outputs, outerNames };
}

/** A chain of value maps: a subgraph sees its own values, then its parents'. */
export class Scope {
  /** Values defined at this level. */
  readonly values = new Map<string, Value>();
  /** Enclosing scope. */
  readonly parent?: Scope;
  /** Creates a scope under `parent`. */
  constructor(parent?: Scope) {
    this.parent = parent;
  }
  /** Finds a value here or in an enclosing scope. */
  get(name: string): Value | undefined {
    const v = this.values.get(name);
    if (v !== undefined) return v;
    return this.parent?.get(name);
  }
  /** True when the name is defined here or above. */
  has(name: string): boolean {
    return this.values.has(name) || (this.parent?.has(name) ?? false);
  }
}

/** Plans (once, cached) and runs a subgraph under `parent`. */
export async function runSubgraph(
  graph: Graph,
  inputs: (Value | undefined)[],
  parent: Scope,
  env: PlanEnv,
): Promise<(Value | undefined)[]> {
  let plans = planCache.get(env.random);
  if (!plans) {
    plans = new WeakMap();
    planCache.set(env.random, plans);
  }
  let plan = plans.get(graph);
  if (!plan) {
    plan = buildPlan(graph, env, { isSubgraph: true, outer: new Set() });
    plans.set(graph, plan);
  }
  const feeds = new Map<string, Value>();
  graph.input.forEach((vi, i) => {
    const v = inputs[i];
    if (v !== undefined) feeds.set(vi.name, v);
  });
  const out = await runPlan(plan, feeds, parent, env);
  return plan.outputs.map((o) => out.get(o));
}

/** Runs a plan; returns the graph outputs by name. */
export async function runPlan(
  plan: Plan,
  feeds: ReadonlyMap<string, Value>,
  parent: Scope | undefined,
  env: PlanEnv,
): Promise<Map<string, Value>> {
  const scope = new Scope(parent);
  for (const [k, v] of plan.constants) scope.values.set(k, v);
  for (const [k, v] of feeds) scope.values.set(k, v);
  const runGraph = (g: Graph, inputs: (Value | undefined)[]) => runSubgraph(g, inputs, scope, env);
  for (const step of plan.steps) {
    const { node } = step;
    const inputs = node.input.map((n) => {
      if (n === "") return undefined;
      const v = scope.get(n);
      if (v === undefined) {
        throw new RuntimeError(
          `${node.opType} node "${step.name}": input "${n}" has no value (not fed or not produced)`,
          { node: step.name, opType: node.opType },
        );
      }
      return v;
    });
    const ctx: OpContext = { ...step.ctx, runGraph };
    const t0 = env.onNode ? performance.now() : 0;
    const ex = env.executor;
    let outs: (Value | undefined)[];
    try {
      const placed = ex ? await ex.runStep(step, inputs) : undefined;
      if (placed) outs = placed;
      else {
        const host = ex
          ? await ex.toHost(step, inputs)
          : inputs.some(onDevice)
          ? await hostInputs(inputs)
          : inputs;
        outs = await step.kernel(ctx, host);
      }
    } catch (e) {
      if (e instanceof OnnxError) throw e;
      throw new RuntimeError(
        `${node.opType} node "${step.name}" failed: ${e instanceof Error ? e.message : e}`,
        { node: step.name, opType: node.opType, cause: e },
      );
    }
    for (let i = 0; i < node.output.length; i++) {
      const name = node.output[i];
      if (name === "") continue;
      const v = outs[i];
      if (v === undefined) {
        throw new RuntimeError(
          `${node.opType} node "${step.name}" did not produce its output ${i} ("${name}")`,
          { node: step.name, opType: node.opType },
        );
      }
      scope.values.set(name, v);
      ex?.retain(v);
    }
    if (env.onNode) env.onNode(step, performance.now() - t0);
    for (const r of step.release) {
      const v = scope.values.get(r);
      if (v === undefined) continue;
      scope.values.delete(r);
      ex?.release(v);
    }
  }
  const result = new Map<string, Value>();
  for (const o of plan.outputs) {
    const v = scope.get(o);
    if (v === undefined) {
      throw new RuntimeError(`Graph output "${o}" was not produced`);
    }
    result.set(o, v);
  }
  return result;
}
