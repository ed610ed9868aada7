/**
 * Runs hand-built models through a real InferenceSession for the op tests: one node of any
 * domain (planner, registry, attribute access, subgraphs), or a whole model. Models are
 * encoded and decoded on the way in, so attributes and tensors round-trip through the
 * protobuf path too. Models are built with `pipeline/load/build.ts`; tensor makers and value
 * readers are in `_op_harness.ts`.
 *
 * @module
 */

import type { Model, TypeProto } from "../../pipeline/load/ir.ts";
import {
  makeGraph,
  makeModel,
  makeNode,
  makeTensorType,
  makeValueInfo,
  type NodeAttrs,
} from "../../pipeline/load/build.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { OnnxMap, Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession, type SessionOptions } from "../../pipeline/run/session.ts";

/** Options of {@link runNode} and {@link singleNodeModel}. */
export interface RunNodeOptions {
  /** Attributes: a list, or values by name (`{ axis: { i: 1 } }`). */
  attrs?: NodeAttrs;
  /** Number of outputs the node declares (default 1). */
  outputs?: number;
  /** Output slots left unnamed (omitted optional outputs). */
  skipOutputs?: number[];
  /** Opset of the node's domain (default 22 for ai.onnx, 1 for others). */
  opset?: number;
  /** Node domain (default ai.onnx). */
  domain?: string;
  /** Session options (e.g. `int8Accumulation`). */
  session?: SessionOptions;
}

/** The declared type of a graph input fed with `v` (none for sequences and optionals). */
function typeOf(v: Value): TypeProto | undefined {
  if (v instanceof Tensor) return makeTensorType(v.type, [...v.dims]);
  if (v instanceof OnnxMap) {
    const values = v.values instanceof Tensor ? makeTensorType(v.values.type) : undefined;
    return { mapType: { keyType: dataTypeCode(v.keys.type), valueType: values } };
  }
  return undefined;
}

/**
 * A model of one node named "n" reading graph inputs `in0`, `in1`, ... (undefined inputs are
 * omitted: "") and writing outputs `out0`, `out1`, ... A node of another domain also imports
 * ai.onnx opset 22.
 */
export function singleNodeModel(
  opType: string,
  inputs: readonly (Value | undefined)[],
  options: RunNodeOptions = {},
): Model {
  const nOut = options.outputs ?? 1;
  const inNames = inputs.map((v, i) => (v === undefined ? "" : `in${i}`));
  const outNames = Array.from(
    { length: nOut },
    (_, i) => (options.skipOutputs?.includes(i) ? "" : `out${i}`),
  );
  const domain = options.domain ?? "";
  const g = makeGraph({
    node: [makeNode(opType, inNames, outNames, options.attrs, { name: "n", domain })],
    input: inputs.flatMap((v, i) => (v === undefined ? [] : [makeValueInfo(`in${i}`, typeOf(v))])),
    output: outNames.filter((n) => n !== "").map((n) => makeValueInfo(n)),
  });
  const opsetImport = domain === ""
    ? { "": options.opset ?? 22 }
    : { "": 22, [domain]: options.opset ?? 1 };
  return makeModel(g, { irVersion: 10, opsetImport, producerName: "test" });
}

/** Encodes the model, loads it into a session and runs it once. */
export async function runModel(
  m: Model,
  feeds: Record<string, Value>,
  options?: SessionOptions,
): Promise<Record<string, Value>> {
  const session = await InferenceSession.create(encodeModel(m), options);
  return await session.run(feeds);
}

async function runSingle(
  opType: string,
  inputs: readonly (Value | undefined)[],
  options: RunNodeOptions,
): Promise<(Value | undefined)[]> {
  const feeds: Record<string, Value> = {};
  inputs.forEach((v, i) => {
    if (v !== undefined) feeds[`in${i}`] = v;
  });
  const out = await runModel(singleNodeModel(opType, inputs, options), feeds, options.session);
  return Array.from({ length: options.outputs ?? 1 }, (_, i) => out[`out${i}`]);
}

/** Runs one node and returns its tensor outputs in slot order (undefined for skipped slots). */
export async function runNode(
  opType: string,
  inputs: readonly (Tensor | undefined)[],
  options: RunNodeOptions = {},
): Promise<(Tensor | undefined)[]> {
  const out = await runSingle(opType, inputs, options);
  return out.map((v, i) => {
    if (v !== undefined && !(v instanceof Tensor)) throw new Error(`output ${i} is not a tensor`);
    return v;
  });
}

/**
 * Runs one node given its attributes as a list and returns its outputs of any kind (maps and
 * sequences too); `inputs` entries that are undefined are omitted optional inputs.
 */
export async function runOne(
  opType: string,
  inputs: readonly (Value | undefined)[],
  attrs: NodeAttrs = [],
  options: Omit<RunNodeOptions, "attrs"> = {},
): Promise<(Value | undefined)[]> {
  return await runSingle(opType, inputs, { ...options, attrs });
}
