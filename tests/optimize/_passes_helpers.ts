/**
 * Helpers for the graph-pass tests: small models from the IR, running a model with the
 * runtime, seeded inputs, closeness checks, and onnxruntime-node when it can be loaded.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Model, TensorProto } from "../../pipeline/load/ir.ts";
import { makeGraph, makeNode, makeTensorProto } from "../../pipeline/load/build.ts";
import { type LoadedModel, serializeModel } from "../../pipeline/load/load.ts";
import { checkModel, formatFinding } from "../../pipeline/check/checker.ts";
import {
  optimizeModel,
  type OptimizeOptions,
  type OptimizeReport,
} from "../../pipeline/optimize/mod.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { Tensor, toNumbers, type Value } from "../../pipeline/tensor/tensor.ts";
import { floatInfo, model } from "../pipeline/_helpers.ts";
import { seeded } from "./_quantize_shared.ts";

export { exists, floatInfo, floatInit, model, ROOT } from "../pipeline/_helpers.ts";

/** An int64 initializer. */
export function int64Init(name: string, values: number[], dims: number[]): TensorProto {
  return makeTensorProto(new Tensor("int64", BigInt64Array.from(values, BigInt), dims), name);
}

/** A float32 value info whose shape may hold symbols. */
export const info = floatInfo;

/** Seeded float32 values in [-1, 1). */
export function randomFloats(n: number, seed = 1): Float32Array {
  return Float32Array.from({ length: n }, seeded(seed));
}

/** A seeded float32 tensor. */
export function randomTensor(dims: number[], seed = 1): Tensor {
  return new Tensor("float32", randomFloats(dims.reduce((a, b) => a * b, 1), seed), dims);
}

/** Wraps a model as a loaded model without external data. */
export function loaded(m: Model): LoadedModel {
  return {
    model: m,
    source: "<test>",
    byteLength: 0,
    external: {
      read: () => {
        throw new Error("no external data");
      },
    },
  };
}

/** Runs a model with the runtime's CPU backend. */
export async function runModel(
  m: Model,
  feeds: Record<string, Value>,
): Promise<Record<string, Value>> {
  const s = await InferenceSession.create(loaded(m));
  return await s.run(feeds);
}

/** Asserts two tensors have the same shape and values within `atol + rtol * |b|`. */
export function assertClose(a: Value, b: Value, rtol = 1e-5, atol = 1e-6, what = ""): void {
  assert.ok(a instanceof Tensor && b instanceof Tensor, `${what}: tensors expected`);
  assert.deepEqual([...a.dims], [...b.dims], `${what}: shapes differ`);
  const x = toNumbers(a);
  const y = toNumbers(b);
  for (let i = 0; i < x.length; i++) {
    const ok = Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]) ||
      (Number.isNaN(x[i]) && Number.isNaN(y[i]));
    assert.ok(ok, `${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
  }
}

/** Asserts the checker (full check) finds no error in a model. */
export function assertChecks(m: Model): void {
  const r = checkModel(m, { fullCheck: true });
  assert.ok(
    r.ok,
    r.findings.filter((f) => f.severity === "error").map(formatFinding).join("\n"),
  );
}

/**
 * Optimizes `m` with `options`, checks the result with the checker, runs both models on
 * `feeds` and asserts every output agrees within the tolerance. Returns the result.
 */
export async function optimizeAndCompare(
  m: Model,
  options: OptimizeOptions,
  feeds: Record<string, Value>,
  tol: { rtol?: number; atol?: number } = {},
): Promise<{ model: Model; report: OptimizeReport }> {
  const result = await optimizeModel(m, options);
  assertChecks(result.model);
  const a = await runModel(m, feeds);
  const b = await runModel(result.model, feeds);
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a)) assertClose(b[k], a[k], tol.rtol ?? 1e-5, tol.atol ?? 1e-6, k);
  return result;
}

/** Node counts by op type of a model's main graph. */
export function opCounts(m: Model): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of m.graph!.node) {
    const key = n.domain && n.domain !== "ai.onnx" ? `${n.domain}.${n.opType}` : n.opType;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** The subset of onnxruntime-node's API the tests use. */
export interface Ort {
  InferenceSession: {
    create(bytes: Uint8Array): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      run(
        feeds: Record<string, unknown>,
      ): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
    }>;
  };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
}

/**
 * Loads onnxruntime-node (a test-time dependency pinned in deno.json) and checks that its
 * native binary runs; returns the module, or the reason it cannot be used.
 */
export async function loadOrt(): Promise<{ ort?: Ort; reason?: string }> {
  // A computed specifier keeps type checking from needing the package.
  const specifier = ["onnxruntime", "node"].join("-");
  let ort: Ort;
  try {
    ort = (await import(specifier)) as Ort;
  } catch (e) {
    return { reason: `onnxruntime-node cannot be loaded: ${String(e).split("\n")[0]}` };
  }
  if (typeof ort.InferenceSession?.create !== "function") {
    return { reason: "onnxruntime-node has no InferenceSession" };
  }
  try {
    // The native binary must load and run: a one-node model.
    const probe = model(makeGraph({
      node: [makeNode("Neg", ["x"], ["y"])],
      input: [floatInfo("x", [1])],
      output: [floatInfo("y", [1])],
    }));
    const session = await ort.InferenceSession.create(serializeModel(probe));
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.of(2), [1]) });
    if ((out.y.data as Float32Array)[0] !== -2) {
      return { reason: "onnxruntime-node gave a wrong answer" };
    }
  } catch (e) {
    return { reason: `onnxruntime-node does not run here: ${String(e).split("\n")[0]}` };
  }
  return { ort };
}

/** Converts a runtime tensor to an onnxruntime-node tensor. */
export function toOrtTensor(ort: Ort, t: Tensor): unknown {
  return new ort.Tensor(t.type, t.data, t.dims);
}
