/**
 * Builders of model IR objects ({@link Model}, {@link Graph}, {@link Node}, {@link Attribute},
 * {@link ValueInfo}, {@link TensorProto}, {@link FunctionProto}) for code that writes models
 * instead of reading them: graph rewrites, converters, examples and tests.
 *
 * Every builder fills each IR field with the value `decodeModel` gives a field that is absent
 * from the file (empty strings and lists, 0, no optional sub-message), so a built model
 * round-trips through `encodeModel` / `decodeModel` unchanged. FLOAT and FLOATS attribute
 * values are rounded to float32 for the same reason: that is what the file stores.
 *
 * ```ts
 * import { intAttr, makeGraph, makeModel, makeNode, makeValueInfo } from "./build.ts";
 *
 * const model = makeModel(
 *   makeGraph({
 *     name: "flatten",
 *     node: [makeNode("Flatten", ["x"], ["y"], [intAttr("axis", 1)])],
 *     input: [makeValueInfo("x", "float32", ["N", 3, 4])],
 *     output: [makeValueInfo("y", "float32", ["N", 12])],
 *   }),
 *   { opsetImport: { "": 13 } },
 * );
 * ```
 *
 * @module
 */

import type {
  Attribute,
  AttributeType,
  FunctionProto,
  Graph,
  Model,
  Node,
  OpsetId,
  SparseTensorProto,
  TensorProto,
  TypeProto,
  ValueInfo,
} from "./ir.ts";
import { tensorToProto } from "./tensor_proto.ts";
import { UnsupportedError } from "../errors.ts";
import { type DataType, dataTypeCode } from "../tensor/dtype.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Dim } from "../tensor/value_type.ts";

/** IR version {@link makeModel} writes unless told otherwise (ONNX 1.16/1.17, opsets 21-22). */
export const DEFAULT_IR_VERSION = 10;

/** ai.onnx opset version {@link makeModel} imports unless told otherwise. */
export const DEFAULT_OPSET = 21;

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

/**
 * An attribute value for {@link makeAttribute}, named by the AttributeProto field that holds
 * it: `{ f: 0.5 }` is FLOAT, `{ i: 1 }` INT, `{ s: "x" }` STRING (UTF-8), `{ t }` TENSOR,
 * `{ g }` GRAPH, `{ floats }`, `{ ints }`, `{ strings }`, `{ tensors }`, `{ graphs }` their
 * lists, and `sparseTensor(s)` / `tp` / `typeProtos` the rest. Naming the field keeps an
 * integral float (`{ f: 1 }`) apart from an int (`{ i: 1 }`).
 */
export type AttributeValue =
  | { readonly f: number }
  | { readonly i: number | bigint }
  | { readonly s: string | Uint8Array }
  | { readonly t: Tensor | TensorProto }
  | { readonly g: Graph }
  | { readonly sparseTensor: SparseTensorProto }
  | { readonly tp: TypeProto }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly (number | bigint)[] }
  | { readonly strings: readonly (string | Uint8Array)[] }
  | { readonly tensors: readonly (Tensor | TensorProto)[] }
  | { readonly graphs: readonly Graph[] }
  | { readonly sparseTensors: readonly SparseTensorProto[] }
  | { readonly typeProtos: readonly TypeProto[] };

/** Attributes of a node: a list, or values by attribute name (in insertion order). */
export type NodeAttrs = readonly Attribute[] | Readonly<Record<string, AttributeValue>>;

/** An attribute of the given type with every value field empty (`refAttrName` too). */
export function emptyAttribute(name: string, type: AttributeType = "UNDEFINED"): Attribute {
  return {
    name,
    refAttrName: "",
    docString: "",
    type,
    f: 0,
    i: 0n,
    s: new Uint8Array(0),
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
}

function int64(name: string, v: number | bigint): bigint {
  if (typeof v === "bigint") return BigInt.asIntN(64, v);
  if (!Number.isInteger(v)) {
    throw new UnsupportedError(`Attribute "${name}" takes integers; ${v} is not one`);
  }
  return BigInt(v);
}

const utf8 = new TextEncoder();

function bytes(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? utf8.encode(v) : v;
}

function proto(v: Tensor | TensorProto): TensorProto {
  return v instanceof Tensor ? tensorToProto(v) : v;
}

/**
 * An attribute from a value tagged with the field that holds it (see {@link AttributeValue}).
 * Tensors are stored as TensorProtos (unnamed); FLOAT values are rounded to float32.
 * Throws {@link UnsupportedError} for an integer attribute given a non-integer number, or a
 * value that names no attribute field.
 */
export function makeAttribute(name: string, value: AttributeValue): Attribute {
  const a = emptyAttribute(name);
  if ("f" in value) return { ...a, type: "FLOAT", f: Math.fround(value.f) };
  if ("i" in value) return { ...a, type: "INT", i: int64(name, value.i) };
  if ("s" in value) return { ...a, type: "STRING", s: bytes(value.s) };
  if ("t" in value) return { ...a, type: "TENSOR", t: proto(value.t) };
  if ("g" in value) return { ...a, type: "GRAPH", g: value.g };
  if ("sparseTensor" in value) {
    return { ...a, type: "SPARSE_TENSOR", sparseTensor: value.sparseTensor };
  }
  if ("tp" in value) return { ...a, type: "TYPE_PROTO", tp: value.tp };
  if ("floats" in value) return { ...a, type: "FLOATS", floats: value.floats.map(Math.fround) };
  if ("ints" in value) return { ...a, type: "INTS", ints: value.ints.map((v) => int64(name, v)) };
  if ("strings" in value) return { ...a, type: "STRINGS", strings: value.strings.map(bytes) };
  if ("tensors" in value) return { ...a, type: "TENSORS", tensors: value.tensors.map(proto) };
  if ("graphs" in value) return { ...a, type: "GRAPHS", graphs: [...value.graphs] };
  if ("sparseTensors" in value) {
    return { ...a, type: "SPARSE_TENSORS", sparseTensors: [...value.sparseTensors] };
  }
  if ("typeProtos" in value) {
    return { ...a, type: "TYPE_PROTOS", typeProtos: [...value.typeProtos] };
  }
  throw new UnsupportedError(
    `Attribute "${name}": the value names no attribute field (f, i, s, t, g, floats, ints, ...)`,
  );
}

/** Attributes from values by name, in the record's order. */
export function makeAttributes(values: Readonly<Record<string, AttributeValue>>): Attribute[] {
  return Object.entries(values).map(([name, v]) => makeAttribute(name, v));
}

/**
 * An attribute of a function body node that takes the value of the calling node's attribute
 * `refAttrName` (`type` is the type that attribute must have).
 */
export function makeRefAttribute(
  name: string,
  refAttrName: string,
  type: AttributeType,
): Attribute {
  return { ...emptyAttribute(name, type), refAttrName };
}

/** An INT attribute. */
export function intAttr(name: string, value: number | bigint): Attribute {
  return makeAttribute(name, { i: value });
}

/** An INTS attribute. */
export function intsAttr(name: string, values: readonly (number | bigint)[]): Attribute {
  return makeAttribute(name, { ints: values });
}

/** A FLOAT attribute (rounded to float32). */
export function floatAttr(name: string, value: number): Attribute {
  return makeAttribute(name, { f: value });
}

/** A FLOATS attribute (rounded to float32). */
export function floatsAttr(name: string, values: readonly number[]): Attribute {
  return makeAttribute(name, { floats: values });
}

/** A STRING attribute; a string is stored as UTF-8. */
export function stringAttr(name: string, value: string | Uint8Array): Attribute {
  return makeAttribute(name, { s: value });
}

/** A STRINGS attribute; strings are stored as UTF-8. */
export function stringsAttr(name: string, values: readonly (string | Uint8Array)[]): Attribute {
  return makeAttribute(name, { strings: values });
}

/** A TENSOR attribute; a runtime tensor is converted with `tensorToProto`. */
export function tensorAttr(name: string, value: Tensor | TensorProto): Attribute {
  return makeAttribute(name, { t: value });
}

/** A GRAPH attribute (a subgraph, e.g. a branch of `If` or the body of `Loop`). */
export function graphAttr(name: string, value: Graph): Attribute {
  return makeAttribute(name, { g: value });
}

// ---------------------------------------------------------------------------------------------
// Types, value infos and tensors
// ---------------------------------------------------------------------------------------------

/** A tensor element type: a {@link DataType} name or a TensorProto.DataType code. */
export type ElemType = DataType | number;

/**
 * A tensor TypeProto. Each dim is a size, a symbolic name, or undefined for an unknown
 * dimension; without `shape` the rank is unknown too.
 */
export function makeTensorType(elemType: ElemType, shape?: readonly Dim[]): TypeProto {
  const code = typeof elemType === "number" ? elemType : dataTypeCode(elemType);
  const tensorType: NonNullable<TypeProto["tensorType"]> = { elemType: code };
  if (shape) {
    tensorType.shape = shape.map((d) =>
      typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {}
    );
  }
  return { tensorType };
}

/**
 * A ValueInfo. `type` is a tensor element type (then `shape` as in {@link makeTensorType}) or
 * a whole TypeProto; without it the value has no declared type.
 */
export function makeValueInfo(
  name: string,
  type?: ElemType | TypeProto,
  shape?: readonly Dim[],
): ValueInfo {
  const v: ValueInfo = { name, docString: "", metadataProps: [] };
  if (type !== undefined) {
    v.type = typeof type === "object" ? type : makeTensorType(type, shape);
  }
  return v;
}

/** A TensorProto holding a runtime tensor (raw data, or string data for strings). */
export function makeTensorProto(tensor: Tensor, name = ""): TensorProto {
  return tensorToProto(tensor, name);
}

// ---------------------------------------------------------------------------------------------
// Nodes, graphs, functions, models
// ---------------------------------------------------------------------------------------------

/** Optional fields of a node for {@link makeNode}. */
export interface NodeOptions {
  /** Node name (default ""). */
  name?: string;
  /** Operator domain (default "", ai.onnx). */
  domain?: string;
  /** Function overload id (default ""). */
  overload?: string;
  /** Documentation (default ""). */
  docString?: string;
}

/**
 * A node. `inputs` and `outputs` are value names ("" marks an omitted optional one);
 * `attrs` is a list of attributes or values by name (`{ axis: { i: 1 } }`).
 */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: NodeAttrs = [],
  options: NodeOptions = {},
): Node {
  return {
    input: [...inputs],
    output: [...outputs],
    name: options.name ?? "",
    opType,
    domain: options.domain ?? "",
    overload: options.overload ?? "",
    attribute: Array.isArray(attrs)
      ? [...attrs]
      : makeAttributes(attrs as Readonly<Record<string, AttributeValue>>),
    docString: options.docString ?? "",
    metadataProps: [],
    deviceConfigurations: [],
  };
}

/** `parts` without its undefined fields (so they do not replace defaults when spread). */
function given<T extends object>(parts: T): Partial<T> {
  return Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A graph from the parts given, named by the IR fields (`node`, `input`, `output`,
 * `initializer`, `valueInfo`, ...); the others are empty. The name defaults to "g", since the
 * checker wants the main graph named.
 */
export function makeGraph(parts: Partial<Graph> = {}): Graph {
  return {
    node: [],
    name: "g",
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: [],
    output: [],
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
    ...given(parts),
  };
}

/** Opset imports: a list, or versions by domain (`{ "": 13, "com.microsoft": 1 }`). */
export type OpsetImports = readonly OpsetId[] | Readonly<Record<string, number>>;

function opsetList(opsets: OpsetImports): OpsetId[] {
  if (Array.isArray(opsets)) return opsets.map((o: OpsetId) => ({ ...o }));
  return Object.entries(opsets as Readonly<Record<string, number>>).map(([domain, version]) => ({
    domain,
    version,
  }));
}

/** Parts of a model-local function for {@link makeFunction}: IR fields, `name` required. */
export type FunctionParts = Partial<Omit<FunctionProto, "opsetImport">> & {
  /** Function name (the op type that calls it). */
  name: string;
  /** Opsets the body uses (default none). */
  opsetImport?: OpsetImports;
};

/** A model-local function; the fields not given are empty. */
export function makeFunction(parts: FunctionParts): FunctionProto {
  const { opsetImport, ...rest } = parts;
  return {
    name: parts.name,
    input: [],
    output: [],
    attribute: [],
    attributeProto: [],
    node: [],
    docString: "",
    domain: "",
    overload: "",
    valueInfo: [],
    metadataProps: [],
    ...given(rest),
    opsetImport: opsetList(opsetImport ?? []),
  };
}

/** Fields of a model for {@link makeModel}: IR fields except `graph`. */
export type ModelOptions = Partial<Omit<Model, "graph" | "opsetImport">> & {
  /** Opsets imported (default ai.onnx {@link DEFAULT_OPSET}). */
  opsetImport?: OpsetImports;
};

/**
 * A model around a graph (none when `graph` is undefined), importing ai.onnx
 * {@link DEFAULT_OPSET} at IR version {@link DEFAULT_IR_VERSION} unless `options` says
 * otherwise; the other fields are empty.
 */
export function makeModel(graph: Graph | undefined, options: ModelOptions = {}): Model {
  const { opsetImport, ...rest } = options;
  const model: Model = {
    irVersion: DEFAULT_IR_VERSION,
    opsetImport: opsetList(opsetImport ?? { "": DEFAULT_OPSET }),
    producerName: "",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    ...given(rest),
  };
  if (graph) model.graph = graph;
  return model;
}
