/**
 * Graph-building helpers shared by the quantization and float16 conversion passes (nodes and
 * attributes themselves come from `../load/build.ts`): attribute readers, unique names over a
 * whole model, reading constant tensors (initializers and `Constant` nodes), value types from
 * the checker's inference, parameter byte counts, and raising a model's default-domain opset
 * to 13 (the first opset with per-axis QuantizeLinear/DequantizeLinear) while keeping its
 * meaning.
 *
 * @module
 */

import type { Graph, Model, Node, TensorProto } from "../load/ir.ts";
import { intAttr, makeNode, makeTensorProto } from "../load/build.ts";
import { type ExternalDataReader, tensorFromProto } from "../load/tensor_proto.ts";
import { checkModel } from "../check/checker.ts";
import { UnsupportedError } from "../errors.ts";
import { type DataType, dataTypeFromCode, storageBytes } from "../tensor/dtype.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import { definedNames, subgraphsOf } from "./_graph.ts";

/** TensorProto.DataType codes the passes write. */
export const DT = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  float16: 10,
} as const;

/** True for the default (ai.onnx) domain. */
export function isDefaultDomain(domain: string): boolean {
  return domain === "" || domain === "ai.onnx";
}

/** Reads an INT attribute (default when absent). */
export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a && a.type === "INT" ? Number(a.i) : fallback;
}

/** Reads a FLOAT attribute (default when absent). */
export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a && a.type === "FLOAT" ? a.f : fallback;
}

/** Reads an INTS attribute, or undefined when absent. */
export function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a && a.type === "INTS" ? a.ints.map(Number) : undefined;
}

/**
 * Fresh names that collide with nothing in the model: every value, initializer, input,
 * output and node name of every graph is reserved up front, and each name handed out too.
 */
export class NameScope {
  readonly #taken = new Set<string>();

  /** Reserves every name the model uses. */
  constructor(model: Model) {
    const walk = (g: Graph) => {
      for (const v of [...g.input, ...g.output, ...g.valueInfo]) this.#taken.add(v.name);
      for (const t of g.initializer) this.#taken.add(t.name);
      for (const s of g.sparseInitializer) if (s.values?.name) this.#taken.add(s.values.name);
      for (const n of g.node) {
        if (n.name) this.#taken.add(n.name);
        for (const x of [...n.input, ...n.output]) if (x) this.#taken.add(x);
        for (const sg of subgraphsOf(n)) walk(sg);
      }
    };
    if (model.graph) walk(model.graph);
  }

  /** Returns `base` when free, else `base_2`, `base_3`, ...; the result is reserved. */
  fresh(base: string): string {
    let name = base;
    for (let i = 2; this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#taken.add(name);
    return name;
  }
}

/** Where a constant tensor of a graph comes from. */
export interface ConstantRef {
  /** The tensor. */
  tensor: TensorProto;
  /** `initializer` (index into graph.initializer) or `constant` (the Constant node). */
  kind: "initializer" | "constant";
}

/**
 * The constant tensor a graph's value `name` holds: a dense initializer that is not also a
 * graph input (graph inputs may be fed, so they are not constant), or the `value` of a
 * `Constant` node.
 */
export function findConstant(g: Graph, name: string): ConstantRef | undefined {
  if (g.input.some((i) => i.name === name)) return undefined;
  const init = g.initializer.find((t) => t.name === name);
  if (init) return { tensor: init, kind: "initializer" };
  const node = g.node.find((n) =>
    n.opType === "Constant" && isDefaultDomain(n.domain) && n.output[0] === name
  );
  const value = node?.attribute.find((a) => a.name === "value" && a.type === "TENSOR");
  if (value?.t) return { tensor: value.t, kind: "constant" };
  return undefined;
}

/** Reads a float32 constant's values (undefined for other types). */
export function floatValues(
  tp: TensorProto,
  external: ExternalDataReader | undefined,
): Float32Array | undefined {
  if (tp.dataType !== DT.float32) return undefined;
  return tensorFromProto(tp, external).data as Float32Array;
}

/** A float32 initializer. */
export function floatTensor(name: string, values: ArrayLike<number>, dims: number[]): TensorProto {
  return makeTensorProto(new Tensor("float32", Float32Array.from(values), dims), name);
}

/** An initializer of an integer type. */
export function intTensor(
  name: string,
  type: "int8" | "uint8" | "int32" | "int64",
  values: ArrayLike<number>,
  dims: number[],
): TensorProto {
  const data = type === "int64"
    ? BigInt64Array.from(Array.from(values, (v) => BigInt(v)))
    : type === "int32"
    ? Int32Array.from(values)
    : type === "int8"
    ? Int8Array.from(values)
    : Uint8Array.from(values);
  return makeTensorProto(new Tensor(type, data, dims), name);
}

/** Types of the main graph's values (declared or inferred by the checker), by name. */
export function inferValueTypes(
  model: Model,
  external: ExternalDataReader | undefined,
): Map<string, ValueType> {
  const report = checkModel(model, { fullCheck: true, external });
  const out = new Map<string, ValueType>();
  const g = model.graph;
  // Subgraph values are keyed `<graph path>/<name>`: keep the main graph's own names.
  const main = g ? definedNames(g) : new Set<string>();
  for (const [name, t] of report.inferredTypes ?? []) if (main.has(name)) out.set(name, t);
  // Declarations fill what inference could not.
  if (g) {
    for (const t of g.initializer) {
      if (!out.has(t.name)) {
        out.set(t.name, { kind: "tensor", elemType: dataTypeFromCode(t.dataType), shape: t.dims });
      }
    }
  }
  return out;
}

/** The element type of a value when it is known to be a tensor. */
export function tensorElemType(
  types: ReadonlyMap<string, ValueType>,
  name: string,
): DataType | undefined {
  const t = types.get(name);
  return t?.kind === "tensor" ? t.elemType : undefined;
}

/** The rank of a tensor value when known. */
export function tensorRank(
  types: ReadonlyMap<string, ValueType>,
  name: string,
): number | undefined {
  const t = types.get(name);
  return t?.kind === "tensor" && t.shape ? t.shape.length : undefined;
}

/** Bytes a tensor's elements take (its payload size as raw data). */
export function tensorBytes(tp: TensorProto): number {
  const type = dataTypeFromCode(tp.dataType);
  if (!type) return 0;
  const n = tp.dims.reduce((a, b) => a * b, 1);
  if (type === "string") return tp.stringData.reduce((a, s) => a + s.length, 0);
  if (type === "int4" || type === "uint4" || type === "float4e2m1") return Math.ceil(n / 2);
  if (type === "int2" || type === "uint2") return Math.ceil(n / 4);
  return n * (type === "bool" ? 1 : storageBytes(type));
}

/**
 * Parameter bytes of a model: the payloads of the initializers (dense and sparse values) and
 * `Constant` node values of every graph.
 */
export function parameterBytes(model: Model): number {
  let total = 0;
  const walk = (g: Graph) => {
    for (const t of g.initializer) total += tensorBytes(t);
    for (const s of g.sparseInitializer) {
      if (s.values) total += tensorBytes(s.values);
      if (s.indices) total += tensorBytes(s.indices);
    }
    for (const n of g.node) {
      if (n.opType === "Constant" && isDefaultDomain(n.domain)) {
        for (const a of n.attribute) if (a.t) total += tensorBytes(a.t);
      }
      for (const sg of subgraphsOf(n)) walk(sg);
    }
  };
  if (model.graph) walk(model.graph);
  return total;
}

/** The model's default-domain opset version (1 when it imports none). */
export function defaultOpset(model: Model): number {
  const o = model.opsetImport.find((x) => isDefaultDomain(x.domain));
  return o ? o.version : 1;
}

function setDefaultOpset(model: Model, version: number): void {
  const o = model.opsetImport.find((x) => isDefaultDomain(x.domain));
  if (o) o.version = version;
  else model.opsetImport.push({ domain: "", version });
}

/** IR version an opset needs at least (docs/Versioning.md). */
function irFor(opset: number): number {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 13) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  return 3;
}

/** Raises the IR version when the opset needs a newer one. */
export function ensureIrVersion(model: Model): void {
  const need = irFor(defaultOpset(model));
  if (model.irVersion < need) model.irVersion = need;
}

/**
 * Raises the model's default-domain opset from 11 or 12 to 13, rewriting the operators whose
 * meaning changed in 13: Squeeze, Unsqueeze, ReduceSum and Split take their axes/split as
 * inputs, and Softmax, LogSoftmax and Hardmax act on one axis (wrapped as Flatten → op →
 * Reshape to the input's shape unless the axis is the last one). Every graph of the model is
 * rewritten; functions keep their own opsets. Returns one line per rewritten node.
 * Throws {@link UnsupportedError} for models older than opset 11.
 */
export function upgradeOpsetTo13(
  model: Model,
  types: ReadonlyMap<string, ValueType>,
  names: NameScope,
): string[] {
  const from = defaultOpset(model);
  if (from >= 13) return [];
  if (from < 11) {
    throw new UnsupportedError(
      `Raising the opset to 13 is only supported from opset 11 or 12; the model imports opset ${from}`,
    );
  }
  const details: string[] = [];
  const rewrite = (g: Graph, main: boolean) => {
    const out: Node[] = [];
    for (const node of g.node) {
      for (const sg of subgraphsOf(node)) rewrite(sg, false);
      if (!isDefaultDomain(node.domain)) {
        out.push(node);
        continue;
      }
      const label = node.name || node.opType;
      const attrToInput = (attr: string, index: number) => {
        const values = attrInts(node, attr);
        node.attribute = node.attribute.filter((a) => a.name !== attr);
        if (!values) return false;
        const cname = names.fresh(`${node.name || node.opType}_${attr}`);
        g.initializer.push(intTensor(cname, "int64", values, [values.length]));
        while (node.input.length < index) node.input.push("");
        node.input[index] = cname;
        return true;
      };
      switch (node.opType) {
        case "Squeeze":
        case "Unsqueeze":
        case "ReduceSum":
          if (attrToInput("axes", 1)) details.push(`${label}: "axes" became an input`);
          out.push(node);
          break;
        case "Split":
          if (attrToInput("split", 1)) details.push(`${label}: "split" became an input`);
          out.push(node);
          break;
        case "Softmax":
        case "LogSoftmax":
        case "Hardmax": {
          const axis = attrInt(node, "axis", 1);
          const rank = main ? tensorRank(types, node.input[0]) : undefined;
          if (rank !== undefined && (axis === -1 || axis === rank - 1)) {
            out.push(node);
            break;
          }
          const x = node.input[0];
          const y = node.output[0];
          const base = node.name || node.opType;
          const shape = names.fresh(`${base}_input_shape`);
          const flat = names.fresh(`${base}_flat`);
          const flatOut = names.fresh(`${base}_flat_out`);
          out.push(makeNode("Shape", [x], [shape], [], { name: names.fresh(`${base}_shape`) }));
          out.push(
            makeNode("Flatten", [x], [flat], [
              intAttr("axis", axis),
            ], { name: names.fresh(`${base}_flatten`) }),
          );
          node.attribute = [
            ...node.attribute.filter((a) => a.name !== "axis"),
            intAttr("axis", -1),
          ];
          node.input = [flat];
          node.output = [flatOut];
          out.push(node);
          out.push(
            makeNode("Reshape", [flatOut, shape], [y], [], {
              name: names.fresh(`${base}_reshape`),
            }),
          );
          details.push(`${label}: wrapped in Flatten/Reshape to keep its opset-${from} axis`);
          break;
        }
        default:
          out.push(node);
      }
    }
    g.node = out;
  };
  if (model.graph) rewrite(model.graph, true);
  setDefaultOpset(model, 13);
  ensureIrVersion(model);
  details.unshift(`raised the opset from ${from} to 13`);
  return details;
}

/** Raises the default opset to at least `version` (≤ 13), with {@link upgradeOpsetTo13}. */
export function ensureOpset(
  model: Model,
  version: number,
  types: ReadonlyMap<string, ValueType>,
  names: NameScope,
): string[] {
  const cur = defaultOpset(model);
  if (cur >= version) return [];
  if ((cur === 11 || cur === 12) && version <= 13) return upgradeOpsetTo13(model, types, names);
  throw new UnsupportedError(
    `This conversion needs opset ${version} or newer and the model imports opset ${cur}; ` +
      "only opsets 11 and 12 can be raised automatically",
  );
}

/** Removes initializers (and their graph-input entries) nobody reads any more. */
export function dropUnusedInitializers(g: Graph, candidates: Iterable<string>): string[] {
  const reads = new Set<string>();
  const walk = (graph: Graph) => {
    for (const n of graph.node) {
      for (const x of n.input) reads.add(x);
      for (const sg of subgraphsOf(n)) walk(sg);
    }
    for (const o of graph.output) reads.add(o.name);
  };
  walk(g);
  const drop = new Set<string>();
  for (const c of candidates) if (!reads.has(c)) drop.add(c);
  if (!drop.size) return [];
  g.initializer = g.initializer.filter((t) => !drop.has(t.name));
  g.input = g.input.filter((i) => !drop.has(i.name));
  g.valueInfo = g.valueInfo.filter((v) => !drop.has(v.name));
  return [...drop];
}
