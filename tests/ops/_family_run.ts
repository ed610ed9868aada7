/**
 * Test helper for the ML, signal, random and training op tests: runs one node of any domain
 * through a real InferenceSession (the model is encoded and decoded, so tensor attributes
 * round-trip through the protobuf path) and returns its outputs, tensors or not.
 *
 * @module
 */

import type { Attribute, TypeProto } from "../../pipeline/load/ir.ts";
import { dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { OnnxMap, Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { graph, model, node, runModel, tensorTypeProto, vi } from "./_ir_build.ts";

export { attr } from "./_ir_build.ts";

function typeOf(v: Value): TypeProto | undefined {
  if (v instanceof Tensor) return tensorTypeProto(v.type, [...v.dims]);
  if (v instanceof OnnxMap) {
    const values = v.values instanceof Tensor ? tensorTypeProto(v.values.type) : undefined;
    return { mapType: { keyType: dataTypeCode(v.keys.type), valueType: values } };
  }
  return undefined;
}

/** Options of {@link runOne}. */
export interface RunOneOptions {
  /** Node domain ("" = ai.onnx). */
  domain?: string;
  /** Opset of that domain. */
  opset?: number;
  /** Number of outputs the node declares (default 1). */
  outputs?: number;
}

/** Runs one node; `inputs` entries that are undefined are omitted optional inputs. */
export async function runOne(
  opType: string,
  inputs: (Value | undefined)[],
  attrs: Attribute[] = [],
  options: RunOneOptions = {},
): Promise<Value[]> {
  const domain = options.domain ?? "";
  const nOut = options.outputs ?? 1;
  const inNames = inputs.map((v, i) => (v === undefined ? "" : `x${i}`));
  const outNames = Array.from({ length: nOut }, (_, i) => `y${i}`);
  const g = graph(
    [node(opType, inNames, outNames, attrs, domain)],
    inputs.flatMap((v, i) => (v === undefined ? [] : [vi(`x${i}`, typeOf(v))])),
    outNames.map((n) => vi(n)),
  );
  const opsets = [{ domain: "", version: domain === "" ? options.opset ?? 22 : 22 }];
  if (domain !== "") opsets.push({ domain, version: options.opset ?? 1 });
  const feeds: Record<string, Value> = {};
  inputs.forEach((v, i) => {
    if (v !== undefined) feeds[`x${i}`] = v;
  });
  const out = await runModel(model(g, opsets), feeds);
  return outNames.map((n) => out[n]);
}

/** Returns `v` as a tensor, or throws. */
export function asTensor(v: Value | undefined): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${v}`);
  return v;
}

/** Numbers of a tensor (bigints converted). */
export function nums(v: Value | undefined): number[] {
  return Array.from(asTensor(v).data as ArrayLike<number | bigint>, (x) => Number(x));
}

/** Raw elements of a tensor (strings stay strings, bigints stay bigints). */
export function elems(v: Value | undefined): unknown[] {
  return Array.from(asTensor(v).data as ArrayLike<unknown>);
}

/** Asserts closeness element-wise within `atol + rtol·|expected|`. */
export function near(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
  what = "values",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (all: [${Array.from(actual)}])`);
    }
  }
}

/** A float32 tensor. */
export function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

/** A float64 tensor. */
export function f64(v: number[], dims?: number[]): Tensor {
  return new Tensor("float64", Float64Array.from(v), dims ?? [v.length]);
}

/** An int64 tensor. */
export function i64(v: number[], dims?: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(v, (x) => BigInt(x)), dims ?? [v.length]);
}

/** An int32 tensor. */
export function i32(v: number[], dims?: number[]): Tensor {
  return new Tensor("int32", Int32Array.from(v), dims ?? [v.length]);
}

/** A string tensor. */
export function str(v: string[], dims?: number[]): Tensor {
  return new Tensor("string", v, dims ?? [v.length]);
}
