/**
 * A small harness for operator tests: builds a node with attributes, resolves the kernel
 * through the registry for an opset (so the declared `versions` are exercised too) and runs
 * its CPU kernel or its inference function.
 *
 * @module
 */

import type { Attribute, Node } from "../../pipeline/load/ir.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import { tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { resolveOp } from "../../ops/registry.ts";
import type { InferContext, OpContext } from "../../ops/types.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";
import { RuntimeError, UnsupportedError } from "../../pipeline/errors.ts";

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

/** An INT attribute. */
export function aInt(name: string, v: number | bigint): Attribute {
  return { ...blank(name, "INT"), i: BigInt(v) };
}

/** An INTS attribute. */
export function aInts(name: string, v: (number | bigint)[]): Attribute {
  return { ...blank(name, "INTS"), ints: v.map((x) => BigInt(x)) };
}

/** A FLOAT attribute. */
export function aFloat(name: string, v: number): Attribute {
  return { ...blank(name, "FLOAT"), f: v };
}

/** A FLOATS attribute. */
export function aFloats(name: string, v: number[]): Attribute {
  return { ...blank(name, "FLOATS"), floats: v };
}

/** A STRING attribute. */
export function aString(name: string, v: string): Attribute {
  return { ...blank(name, "STRING"), s: enc.encode(v) };
}

/** A STRINGS attribute. */
export function aStrings(name: string, v: string[]): Attribute {
  return { ...blank(name, "STRINGS"), strings: v.map((s) => enc.encode(s)) };
}

/** A TENSOR attribute. */
export function aTensor(name: string, t: Tensor): Attribute {
  return { ...blank(name, "TENSOR"), t: tensorToProto(t) };
}

function makeNode(opType: string, nIn: number, nOut: number | string[], attrs: Attribute[]): Node {
  const output = typeof nOut === "number" ? Array.from({ length: nOut }, (_, i) => `y${i}`) : nOut;
  return {
    input: Array.from({ length: nIn }, (_, i) => `x${i}`),
    output,
    name: "test_node",
    opType,
    domain: "",
    overload: "",
    attribute: attrs,
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
  };
}

function resolved(opType: string, opset: number) {
  const r = resolveOp("", opType, opset);
  if (!("def" in r)) throw new Error(`${opType} at opset ${opset} does not resolve: ${r.reason}`);
  return r;
}

/**
 * Runs `opType` at `opset` on `inputs` (undefined = omitted) and returns its outputs.
 * `outputs` is the number of declared outputs or their names ("" = omitted).
 */
export async function runOp(
  opType: string,
  opset: number,
  inputs: (Value | undefined)[],
  attrs: Attribute[] = [],
  outputs: number | string[] = 1,
): Promise<(Value | undefined)[]> {
  const node = makeNode(opType, inputs.length, outputs, attrs);
  node.input = inputs.map((v, i) => (v === undefined ? "" : `x${i}`));
  const { def, version } = resolved(opType, opset);
  const where = `${opType} node "test_node"`;
  const ctx: OpContext = {
    node,
    nodeName: "test_node",
    opset,
    version,
    attrs: new NodeAttributes(node),
    options: { int8Accumulation: "exact" },
    outputCount: node.output.length,
    wantsOutput: (i) => i < node.output.length && node.output[i] !== "",
    runGraph: () => Promise.reject(new Error("no subgraphs here")),
    random: Math.random,
    unsupported: (m, dtype) => new UnsupportedError(`${where}: ${m}`, { opType, dtype }),
    fail: (m) => new RuntimeError(`${where}: ${m}`, { opType }),
  };
  return await def.cpu(ctx, inputs);
}

/** Runs `opType` and returns output `i` as a tensor. */
export async function runTensor(
  opType: string,
  opset: number,
  inputs: (Value | undefined)[],
  attrs: Attribute[] = [],
  outputs: number | string[] = 1,
  i = 0,
): Promise<Tensor> {
  const out = await runOp(opType, opset, inputs, attrs, outputs);
  const t = out[i];
  if (!(t instanceof Tensor)) throw new Error(`output ${i} is not a tensor`);
  return t;
}

/**
 * Runs the inference function of `opType` at `opset` given input types and known constant
 * inputs. Returns the output types and the errors it recorded.
 */
export function inferOp(
  opType: string,
  opset: number,
  types: (ValueType | undefined)[],
  attrs: Attribute[] = [],
  constants: (Tensor | undefined)[] = [],
  outputs = 1,
): { types: (ValueType | undefined)[]; errors: string[] } {
  const node = makeNode(opType, types.length, outputs, attrs);
  const { def, version } = resolved(opType, opset);
  const errors: string[] = [];
  const ctx: InferContext = {
    node,
    opset,
    version,
    attrs: new NodeAttributes(node),
    inputCount: types.length,
    input: (i) => types[i],
    hasInput: (i) => i < types.length && (types[i] !== undefined || constants[i] !== undefined),
    constant: (i) => constants[i],
    inferGraph: () => [],
    error: (m) => errors.push(m),
  };
  if (!def.infer) throw new Error(`${opType} has no infer function`);
  return { types: def.infer(ctx), errors };
}

/** Plain values of a tensor (bigints stay bigints, strings stay strings). */
export function values(t: Tensor): unknown[] {
  return Array.from(t.data as ArrayLike<unknown>);
}

/** An int64 tensor. */
export function i64(v: (number | bigint)[], dims?: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(v, (x) => BigInt(x)), dims ?? [v.length]);
}

/** A float32 tensor. */
export function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

/** An int32 tensor. */
export function i32(v: number[], dims?: number[]): Tensor {
  return new Tensor("int32", Int32Array.from(v), dims ?? [v.length]);
}

/** A string tensor. */
export function str(v: string[], dims?: number[]): Tensor {
  return new Tensor("string", v, dims ?? [v.length]);
}

/** 0, 1, ..., n-1 as float32 with the given dims. */
export function iota(dims: number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor("float32", Float32Array.from({ length: n }, (_, i) => i), dims);
}
