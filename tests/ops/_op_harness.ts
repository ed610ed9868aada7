/**
 * A small harness for operator tests: builds a node with attributes, resolves the kernel
 * through the registry for an opset (so the declared `versions` are exercised too) and runs
 * its CPU kernel or its inference function; plus the tensor makers, value readers and
 * closeness checks every op test uses. Running whole models through an InferenceSession is
 * `_session_run.ts`.
 *
 * @module
 */

import type { Node } from "../../pipeline/load/ir.ts";
import { makeNode, type NodeAttrs } from "../../pipeline/load/build.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import { resolveOp } from "../../ops/registry.ts";
import type { InferContext, OpContext } from "../../ops/types.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";
import { RuntimeError, UnsupportedError } from "../../pipeline/errors.ts";

function testNode(
  opType: string,
  nIn: number,
  nOut: number | string[],
  attrs: NodeAttrs,
): Node {
  const output = typeof nOut === "number" ? Array.from({ length: nOut }, (_, i) => `y${i}`) : nOut;
  const input = Array.from({ length: nIn }, (_, i) => `x${i}`);
  return makeNode(opType, input, output, attrs, { name: "test_node" });
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
  attrs: NodeAttrs = [],
  outputs: number | string[] = 1,
): Promise<(Value | undefined)[]> {
  const node = testNode(opType, inputs.length, outputs, attrs);
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
  attrs: NodeAttrs = [],
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
  attrs: NodeAttrs = [],
  constants: (Tensor | undefined)[] = [],
  outputs = 1,
): { types: (ValueType | undefined)[]; errors: string[] } {
  const node = testNode(opType, types.length, outputs, attrs);
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

/** Returns `v` as a tensor, or throws. */
export function asTensor(v: Value | undefined): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${v}`);
  return v;
}

/** Raw elements of a tensor value (bigints stay bigints, strings stay strings). */
export function values(v: Value | undefined): unknown[] {
  return Array.from(asTensor(v).data as ArrayLike<unknown>);
}

/** Elements of a numeric tensor value as numbers (bigints converted). */
export function nums(v: Value | undefined): number[] {
  return Array.from(asTensor(v).data as ArrayLike<number | bigint>, (x) => Number(x));
}

/** Dims, elements (bigints as numbers) and element type of a tensor value. */
export function plain(v: Value | undefined): { dims: number[]; data: unknown[]; type: string } {
  const t = asTensor(v);
  return {
    dims: [...t.dims],
    data: Array.from(t.data as ArrayLike<unknown>, (x) => (typeof x === "bigint" ? Number(x) : x)),
    type: t.type,
  };
}

/** An int64 tensor. */
export function i64(v: (number | bigint)[], dims?: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(v, (x) => BigInt(x)), dims ?? [v.length]);
}

/** A float32 tensor. */
export function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

/** A float64 tensor. */
export function f64(v: number[], dims?: number[]): Tensor {
  return new Tensor("float64", Float64Array.from(v), dims ?? [v.length]);
}

/** An int32 tensor. */
export function i32(v: number[], dims?: number[]): Tensor {
  return new Tensor("int32", Int32Array.from(v), dims ?? [v.length]);
}

/** A bool tensor. */
export function bool(v: boolean[], dims?: number[]): Tensor {
  return new Tensor("bool", Uint8Array.from(v, (b) => (b ? 1 : 0)), dims ?? [v.length]);
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

/** Deterministic pseudo-random values in [-1, 1) (mulberry32). */
export function randomValues(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

/** Asserts two number lists agree within `atol + rtol * |expected|` element-wise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { rtol?: number; atol?: number } = {},
  what = "values",
): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} differs from expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (all: [${Array.from(actual)}])`);
    }
  }
}

/** {@link assertClose} with positional tolerances, both 1e-5 by default. */
export function near(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-5,
  what = "values",
): void {
  assertClose(actual, expected, { atol, rtol }, what);
}
