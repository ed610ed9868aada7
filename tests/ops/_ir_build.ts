/**
 * Builders for hand-made models in the control-flow, sequence and function tests: IR
 * objects (pipeline/load/ir.ts) that are encoded with `encodeModel` and loaded back through
 * `InferenceSession.create`, so the whole path (encoder, decoder, planner) is exercised.
 *
 * @module
 */

import type {
  Attribute,
  FunctionProto,
  Graph,
  Model,
  Node,
  OpsetId,
  TypeProto,
  ValueInfo,
} from "../../pipeline/load/ir.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { type DataType, dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";

const enc = new TextEncoder();

function blank(name: string, type: Attribute["type"]): Attribute {
  return {
    name,
    refAttrName: "",
    docString: "",
    type,
    f: 0,
    i: 0n,
    s: new Uint8Array(),
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
}

/** Attribute builders. */
export const attr = {
  int: (name: string, v: number): Attribute => ({ ...blank(name, "INT"), i: BigInt(v) }),
  ints: (name: string, v: number[]): Attribute => ({
    ...blank(name, "INTS"),
    ints: v.map((x) => BigInt(x)),
  }),
  float: (name: string, v: number): Attribute => ({ ...blank(name, "FLOAT"), f: v }),
  floats: (name: string, v: number[]): Attribute => ({ ...blank(name, "FLOATS"), floats: v }),
  string: (name: string, v: string): Attribute => ({ ...blank(name, "STRING"), s: enc.encode(v) }),
  strings: (name: string, v: string[]): Attribute => ({
    ...blank(name, "STRINGS"),
    strings: v.map((x) => enc.encode(x)),
  }),
  tensor: (name: string, t: Tensor): Attribute => ({
    ...blank(name, "TENSOR"),
    t: tensorToProto(t),
  }),
  graph: (name: string, g: Graph): Attribute => ({ ...blank(name, "GRAPH"), g }),
  type: (name: string, tp: TypeProto): Attribute => ({ ...blank(name, "TYPE_PROTO"), tp }),
  /** A reference to the calling node's attribute `ref` (function bodies only). */
  ref: (name: string, ref: string, type: Attribute["type"]): Attribute => ({
    ...blank(name, type),
    refAttrName: ref,
  }),
};

/** A node. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: Attribute[] = [],
  domain = "",
): Node {
  return {
    input,
    output,
    name: "",
    opType,
    domain,
    overload: "",
    attribute,
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
  };
}

/** A tensor TypeProto; `shape` undefined means unknown shape. */
export function tensorTypeProto(elem: DataType, shape?: (number | string)[]): TypeProto {
  return {
    tensorType: {
      elemType: dataTypeCode(elem),
      shape: shape?.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
    },
  };
}

/** A ValueInfo of a tensor (or any TypeProto). */
export function vi(
  name: string,
  type?: DataType | TypeProto,
  shape?: (number | string)[],
): ValueInfo {
  const tp = type === undefined
    ? undefined
    : typeof type === "string"
    ? tensorTypeProto(type, shape)
    : type;
  return { name, type: tp, docString: "", metadataProps: [] };
}

/** A graph. */
export function graph(
  nodes: Node[],
  input: ValueInfo[],
  output: ValueInfo[],
  initializers: Record<string, Tensor> = {},
  name = "g",
): Graph {
  return {
    node: nodes,
    name,
    initializer: Object.entries(initializers).map(([k, t]) => tensorToProto(t, k)),
    sparseInitializer: [],
    docString: "",
    input,
    output,
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
}

/** A model-local function. */
export function fn(
  name: string,
  domain: string,
  input: string[],
  output: string[],
  nodes: Node[],
  opsets: OpsetId[],
  options: { attribute?: string[]; defaults?: Attribute[] } = {},
): FunctionProto {
  return {
    name,
    input,
    output,
    attribute: options.attribute ?? [],
    attributeProto: options.defaults ?? [],
    node: nodes,
    docString: "",
    opsetImport: opsets,
    domain,
    overload: "",
    valueInfo: [],
    metadataProps: [],
  };
}

/** A model around `g`. */
export function model(g: Graph, opsets: OpsetId[], functions: FunctionProto[] = []): Model {
  return {
    irVersion: 10,
    opsetImport: opsets,
    producerName: "test",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    graph: g,
    metadataProps: [],
    trainingInfo: [],
    functions,
    configuration: [],
  };
}

/** Encodes the model, loads it into a session and runs it once. */
export async function runModel(
  m: Model,
  feeds: Record<string, Value>,
): Promise<Record<string, Value>> {
  const session = await InferenceSession.create(encodeModel(m));
  return await session.run(feeds);
}

/** An int64 tensor. */
export function i64(v: number[], dims?: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(v, (x) => BigInt(x)), dims ?? [v.length]);
}

/** A float32 tensor. */
export function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

/** A bool tensor. */
export function bool(v: boolean[], dims?: number[]): Tensor {
  return new Tensor("bool", Uint8Array.from(v, (b) => (b ? 1 : 0)), dims ?? [v.length]);
}

/** Plain values and dims of a tensor output. */
export function plain(v: Value | undefined): { dims: number[]; data: unknown[]; type: string } {
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${v}`);
  return {
    dims: [...v.dims],
    data: Array.from(v.data as ArrayLike<unknown>, (x) => (typeof x === "bigint" ? Number(x) : x)),
    type: v.type,
  };
}
