/**
 * IR builders for the checker tests: small hand-built models, independent of the shared data.
 *
 * @module
 */

import type {
  Attribute,
  FunctionProto,
  Graph,
  Model,
  Node,
  TensorProto,
  ValueInfo,
} from "../../pipeline/load/ir.ts";
import { emptyTensorProto } from "../../pipeline/load/proto.ts";

/** Root of the shared read-only data. */
export const SHARED = "/work/shared";

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An attribute with every field empty and the given fields set. */
export function attr(name: string, fields: Partial<Attribute>): Attribute {
  return {
    name,
    refAttrName: "",
    docString: "",
    type: "UNDEFINED",
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
    ...fields,
  };
}

/** An INTS attribute. */
export function ints(name: string, values: number[]): Attribute {
  return attr(name, { type: "INTS", ints: values.map(BigInt) });
}

/** An INT attribute. */
export function int(name: string, value: number): Attribute {
  return attr(name, { type: "INT", i: BigInt(value) });
}

/** A node. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  fields: Partial<Node> = {},
): Node {
  return {
    input,
    output,
    name: "",
    opType,
    domain: "",
    overload: "",
    attribute: [],
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
    ...fields,
  };
}

/** A tensor value info; `elemType` is a TensorProto.DataType code, dims may be symbolic. */
export function info(name: string, elemType: number, shape?: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: shape?.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
      },
    },
    docString: "",
    metadataProps: [],
  };
}

/** A float32 initializer with raw data (values i * 0.01). */
export function floatInit(name: string, dims: number[]): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => i * 0.01);
  return { ...emptyTensorProto(1, dims, name), rawData: new Uint8Array(data.buffer) };
}

/** An int64 initializer in int64_data. */
export function int64Init(name: string, values: number[]): TensorProto {
  return { ...emptyTensorProto(7, [values.length], name), int64Data: values.map(BigInt) };
}

/** A graph with the given parts. */
export function graph(fields: Partial<Graph>): Graph {
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
    ...fields,
  };
}

/** A model around a graph (IR 8, ai.onnx opset 17 unless overridden). */
export function model(g: Graph | undefined, fields: Partial<Model> = {}): Model {
  const m: Model = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "test",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    ...fields,
  };
  if (g) m.graph = g;
  return m;
}

/** A model-local function. */
export function func(
  name: string,
  domain: string,
  input: string[],
  output: string[],
  nodes: Node[],
  fields: Partial<FunctionProto> = {},
): FunctionProto {
  return {
    name,
    input,
    output,
    attribute: [],
    attributeProto: [],
    node: nodes,
    docString: "",
    opsetImport: [{ domain: "", version: 17 }],
    domain,
    overload: "",
    valueInfo: [],
    metadataProps: [],
    ...fields,
  };
}

/**
 * A small valid CNN: X[N,3,8,8] → Conv(3x3, pad 1) → Relu → MaxPool(2x2) → Reshape([0,-1])
 * → Y[N,64]. value_info declares `c` (the Conv output) as float32[N,4,8,8].
 */
export function tinyCnn(): Model {
  return model(
    graph({
      name: "tiny_cnn",
      input: [info("X", 1, ["N", 3, 8, 8])],
      output: [info("Y", 1, ["N", 64])],
      valueInfo: [info("c", 1, ["N", 4, 8, 8])],
      initializer: [floatInit("W", [4, 3, 3, 3]), floatInit("B", [4]), int64Init("shape", [0, -1])],
      node: [
        node("Conv", ["X", "W", "B"], ["c"], {
          name: "conv",
          attribute: [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1])],
        }),
        node("Relu", ["c"], ["r"], { name: "relu" }),
        node("MaxPool", ["r"], ["p"], {
          name: "pool",
          attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
        }),
        node("Reshape", ["p", "shape"], ["Y"], { name: "reshape" }),
      ],
    }),
  );
}
