/**
 * Building blocks of the rewriting passes: an index of producers and consumers, constant
 * lookup (initializers that cannot be overridden, Constant nodes), attribute access, fresh
 * names, opset imports, type inference through the checker, and the replacement of a matched
 * group of nodes by new ones. Nodes and attributes are built with `../load/build.ts`.
 *
 * Nothing here caches across calls that change the graph: a pass rebuilds an index after each
 * rewrite (graphs are small enough that this costs little).
 *
 * @module
 */

import type { Attribute, Graph, Model, Node, ValueInfo } from "../load/ir.ts";
import { makeTensorProto, makeValueInfo } from "../load/build.ts";
import { type ExternalDataReader, tensorFromProto } from "../load/tensor_proto.ts";
import { NodeAttributes } from "../run/attributes.ts";
import { checkModel } from "../check/checker.ts";
import type { DataType } from "../tensor/dtype.ts";
import { Tensor, toNumbers } from "../tensor/tensor.ts";
import type { Dim, ValueType } from "../tensor/value_type.ts";
import { nodeReads, pruneValueInfo, subgraphsOf } from "./_graph.ts";

/** Canonical domain: "" for ai.onnx. */
export function canonicalDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

declare const matched: unique symbol;

/** A node that {@link isOp} matched (a brand, so a failed match does not narrow to never). */
export type MatchedNode = Node & { readonly [matched]: true };

/** True when the node is `opType` of the default domain. */
export function isOp(node: Node | undefined, opType: string): node is MatchedNode {
  return node !== undefined && node.opType === opType && canonicalDomain(node.domain) === "";
}

/** Producers and readers of every value of one graph. */
export interface GraphIndex {
  /** The node writing each value. */
  producer: Map<string, Node>;
  /** The nodes reading each value (a node reading it twice is listed twice). */
  consumers: Map<string, Node[]>;
  /** Names of the graph's outputs. */
  outputs: Set<string>;
  /** Position of each node in `graph.node`. */
  position: Map<Node, number>;
}

/** Indexes a graph's producers and consumers (subgraph reads count as reads of their node). */
export function indexGraph(g: Graph): GraphIndex {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  const position = new Map<Node, number>();
  g.node.forEach((n, i) => {
    position.set(n, i);
    for (const o of n.output) if (o !== "") producer.set(o, n);
    for (const r of nodeReads(n)) {
      const list = consumers.get(r);
      if (list) list.push(n);
      else consumers.set(r, [n]);
    }
  });
  return { producer, consumers, outputs: new Set(g.output.map((o) => o.name)), position };
}

/** How many reads a value has (graph outputs count as a read). */
export function useCount(ix: GraphIndex, name: string): number {
  return (ix.consumers.get(name)?.length ?? 0) + (ix.outputs.has(name) ? 1 : 0);
}

/** The node reading `name` when it is its only reader and `name` is not a graph output. */
export function soleConsumer(ix: GraphIndex, name: string): Node | undefined {
  const c = ix.consumers.get(name);
  if (!c || c.length !== 1 || ix.outputs.has(name)) return undefined;
  return c[0];
}

/** True when `name` is read only by `node` (once) and is not a graph output. */
export function onlyReadBy(ix: GraphIndex, name: string, node: Node): boolean {
  return soleConsumer(ix, name) === node;
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const protoTensors = new WeakMap<object, Tensor>();

/**
 * Constant values of one graph: initializers that are not overridable graph inputs (with IR
 * version < 4 every initializer is constant) and outputs of Constant nodes with a `value`,
 * `value_float(s)` or `value_int(s)` attribute.
 */
export class Constants {
  readonly #graph: Graph;
  readonly #external?: ExternalDataReader;
  readonly #irVersion: number;
  #initializers?: Map<string, number>;
  #inputs?: Set<string>;
  #constantNodes?: Map<string, Node>;

  /** Looks up constants of `g` (a graph of `model`). */
  constructor(model: Model, g: Graph, external?: ExternalDataReader) {
    this.#graph = g;
    this.#external = external;
    this.#irVersion = model.irVersion;
  }

  /** Forgets what was indexed (call after changing initializers or Constant nodes). */
  reset(): void {
    this.#initializers = undefined;
    this.#inputs = undefined;
    this.#constantNodes = undefined;
  }

  #index(): void {
    if (this.#initializers) return;
    this.#initializers = new Map(this.#graph.initializer.map((t, i) => [t.name, i]));
    this.#inputs = new Set(this.#graph.input.map((i) => i.name));
    this.#constantNodes = new Map();
    for (const n of this.#graph.node) {
      if (isOp(n, "Constant") && n.output[0]) this.#constantNodes.set(n.output[0], n);
    }
  }

  /** True when `name` is an initializer of this graph that callers may not override. */
  isInitializer(name: string): boolean {
    this.#index();
    return this.#initializers!.has(name) && (this.#irVersion < 4 || !this.#inputs!.has(name));
  }

  /** True when `name` has a constant value here (without decoding it). */
  has(name: string): boolean {
    this.#index();
    return this.isInitializer(name) || this.#constantNodes!.has(name);
  }

  /** The constant value of `name`, or undefined when it is not a constant of this graph. */
  get(name: string): Tensor | undefined {
    if (!name) return undefined;
    this.#index();
    if (this.isInitializer(name)) {
      const tp = this.#graph.initializer[this.#initializers!.get(name)!];
      let t = protoTensors.get(tp);
      if (!t) {
        try {
          t = tensorFromProto(tp, this.#external);
        } catch {
          return undefined;
        }
        protoTensors.set(tp, t);
      }
      return t;
    }
    const node = this.#constantNodes!.get(name);
    return node ? constantNodeValue(node, this.#external) : undefined;
  }

  /**
   * The single number of a one-element numeric constant of rank 0 or 1, or undefined (a
   * [1, 1, 1] constant is not a scalar here: in a binary op it could widen the other side).
   */
  scalar(name: string): number | undefined {
    const t = this.get(name);
    return t && t.dims.length <= 1 ? scalarValue(t) : undefined;
  }
}

/** The value of a Constant node's `value`, `value_float(s)` or `value_int(s)`, when simple. */
export function constantNodeValue(node: Node, external?: ExternalDataReader): Tensor | undefined {
  const a = node.attribute[0];
  if (!a || node.attribute.length !== 1) return undefined;
  try {
    switch (a.name) {
      case "value": {
        if (!a.t) return undefined;
        let t = protoTensors.get(a.t);
        if (!t) {
          t = tensorFromProto(a.t, external);
          protoTensors.set(a.t, t);
        }
        return t;
      }
      case "value_float":
        return new Tensor("float32", Float32Array.of(a.f), []);
      case "value_floats":
        return new Tensor("float32", Float32Array.from(a.floats), [a.floats.length]);
      case "value_int":
        return new Tensor("int64", BigInt64Array.of(a.i), []);
      case "value_ints":
        return new Tensor("int64", BigInt64Array.from(a.ints), [a.ints.length]);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** The value of a one-element numeric tensor (any rank), or undefined. */
export function scalarValue(t: Tensor): number | undefined {
  if (t.size !== 1 || t.type === "string" || t.type.startsWith("complex")) return undefined;
  return toNumbers(t)[0];
}

/** A tensor's values as numbers (int64 through Number), or undefined for strings/complex. */
export function numbersOfTensor(t: Tensor): ArrayLike<number> | undefined {
  if (t.type === "string" || t.type.startsWith("complex")) return undefined;
  return toNumbers(t);
}

/** The integer values of a small int32/int64 tensor, or undefined. */
export function intValues(t: Tensor | undefined): number[] | undefined {
  if (!t || (t.type !== "int64" && t.type !== "int32")) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** True when two numbers agree to a relative tolerance (for matching exporter constants). */
export function near(a: number | undefined, b: number, rel = 1e-4): boolean {
  return a !== undefined && Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
}

// ---------------------------------------------------------------------------------------------
// Attributes and nodes
// ---------------------------------------------------------------------------------------------

/** Typed attribute access for a node (see ops/types.ts `Attributes`). */
export function attrsOf(node: Node): NodeAttributes {
  return new NodeAttributes(node);
}

/** Returns a copy of `attrs` with `replacement` in place of the attribute of the same name. */
export function withAttribute(attrs: readonly Attribute[], replacement: Attribute): Attribute[] {
  return [...attrs.filter((a) => a.name !== replacement.name), replacement];
}

// ---------------------------------------------------------------------------------------------
// Names, initializers, opsets
// ---------------------------------------------------------------------------------------------

/** Hands out value and node names not used anywhere in the model. */
export class Namer {
  readonly #used = new Set<string>();

  /** Collects every name of the model (values, initializers, nodes, in every graph). */
  constructor(model: Model) {
    const walk = (g: Graph) => {
      for (const i of g.input) this.#used.add(i.name);
      for (const o of g.output) this.#used.add(o.name);
      for (const t of g.initializer) this.#used.add(t.name);
      for (const s of g.sparseInitializer) if (s.values?.name) this.#used.add(s.values.name);
      for (const v of g.valueInfo) this.#used.add(v.name);
      for (const n of g.node) {
        if (n.name) this.#used.add(n.name);
        for (const o of n.output) this.#used.add(o);
        for (const x of n.input) this.#used.add(x);
        for (const sg of subgraphsOf(n)) walk(sg);
      }
    };
    if (model.graph) walk(model.graph);
  }

  /** A fresh name starting with `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }
}

/**
 * Adds a tensor as an initializer of `g`. With IR version < 4 initializers must also be graph
 * inputs, so one is added (such initializers are constants there, not overridable).
 */
export function addInitializer(model: Model, g: Graph, t: Tensor, name: string): void {
  const tp = makeTensorProto(t, name);
  protoTensors.set(tp, t);
  g.initializer.push(tp);
  if (model.irVersion < 4) g.input.push(makeValueInfo(name, t.type, t.dims));
}

/** The model's opset version of a domain ("" or "ai.onnx" is the default domain). */
export function opsetVersion(model: Model, domain: string): number | undefined {
  const d = canonicalDomain(domain);
  const o = model.opsetImport.find((x) => canonicalDomain(x.domain) === d);
  if (o) return o.version;
  return d === "" && model.opsetImport.length === 0 ? 1 : undefined;
}

/** Imports `domain` at `version` unless the model already imports it. */
export function ensureOpset(model: Model, domain: string, version: number): void {
  if (opsetVersion(model, domain) === undefined) model.opsetImport.push({ domain, version });
}

/** The com.microsoft domain of onnxruntime's contrib operators. */
export const MS_DOMAIN = "com.microsoft";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/**
 * Types and shapes of the main graph's values, inferred by the checker from the graph inputs
 * and initializers only: value_info and the graph outputs' declared shapes are ignored, since
 * exporters sometimes record shapes of one particular run there (a fixed batch size).
 */
export function inferTypes(model: Model, external?: ExternalDataReader): Map<string, ValueType> {
  if (!model.graph) return new Map();
  const g = model.graph;
  const stripped: Model = {
    ...model,
    graph: {
      ...g,
      valueInfo: [],
      output: g.output.map((o): ValueInfo => {
        const tt = o.type?.tensorType;
        return tt ? { ...o, type: { tensorType: { elemType: tt.elemType } } } : o;
      }),
    },
  };
  const report = checkModel(stripped, { fullCheck: true, external });
  // Subgraph values are keyed "<graph path>/<name>"; keep the main graph's own names only.
  const own = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) for (const o of n.output) if (o) own.add(o);
  const out = new Map<string, ValueType>();
  for (const [k, v] of report.inferredTypes ?? []) if (own.has(k)) out.set(k, v);
  return out;
}

/** Element type and shape of a tensor value, when inferred. */
export function tensorInfo(
  types: ReadonlyMap<string, ValueType>,
  name: string,
): { elemType?: DataType; shape?: Dim[] } | undefined {
  const t = types.get(name);
  return t?.kind === "tensor" ? { elemType: t.elemType, shape: t.shape } : undefined;
}

/** The element type of a value, when inferred. */
export function elemTypeOf(
  types: ReadonlyMap<string, ValueType>,
  name: string,
): DataType | undefined {
  return tensorInfo(types, name)?.elemType;
}

/** The shape of a value, when inferred (dims may be symbolic or undefined). */
export function shapeOf(types: ReadonlyMap<string, ValueType>, name: string): Dim[] | undefined {
  return tensorInfo(types, name)?.shape;
}

/** The rank of a value, when known. */
export function rankOf(types: ReadonlyMap<string, ValueType>, name: string): number | undefined {
  return shapeOf(types, name)?.length;
}

/** True when two dims are provably equal (same number, or the same symbol). */
export function sameDim(a: Dim, b: Dim): boolean {
  return a !== undefined && a === b;
}

/** True when two shapes are provably equal. */
export function sameShape(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length &&
    a.every((d, i) => sameDim(d, b[i]));
}

// ---------------------------------------------------------------------------------------------
// Rewriting
// ---------------------------------------------------------------------------------------------

/**
 * Removes `remove` from the graph and inserts `insert` where `anchor` was (the anchor should be
 * the last node of the matched group, so every input of the new nodes is already defined
 * there). Value infos of names no longer defined are dropped, and so are those of `retyped`
 * (values that keep their name but may change type or shape).
 */
export function replaceNodes(
  g: Graph,
  remove: readonly Node[],
  insert: readonly Node[],
  anchor: Node,
  retyped: readonly string[] = [],
): void {
  const at = g.node.indexOf(anchor);
  if (at < 0) throw new Error("replaceNodes: the anchor node is not in the graph");
  const gone = new Set(remove);
  const before = g.node.slice(0, at).filter((n) => !gone.has(n));
  const after = g.node.slice(at).filter((n) => !gone.has(n) && n !== anchor);
  g.node = [...before, ...insert, ...(gone.has(anchor) ? [] : [anchor]), ...after];
  if (retyped.length) {
    const drop = new Set(retyped);
    g.valueInfo = g.valueInfo.filter((v) => !drop.has(v.name));
  }
  pruneValueInfo(g);
}

/** A node's label for reports: `name (Op)` or `Op` with the first output. */
export function describeNode(node: Node): string {
  return node.name ? `${node.name} (${node.opType})` : `${node.opType} → "${node.output[0] ?? ""}"`;
}
