/**
 * Helpers shared by the ai.onnx.ml operators: reading the feature matrix, the score
 * post-transforms (SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT), class labels, `*_as_tensor`
 * attributes and a per-node cache for parsed models (tree ensembles, SVMs).
 *
 * @module
 */

import type { DataType, NumericArray } from "../pipeline/tensor/dtype.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { Node } from "../pipeline/load/ir.ts";
import type { OpContext } from "./types.ts";
import { numbersOf } from "./util.ts";

/** A score post-transform of the ML operators. */
export type PostTransform = "NONE" | "SOFTMAX" | "LOGISTIC" | "SOFTMAX_ZERO" | "PROBIT";

const POST_TRANSFORMS: readonly PostTransform[] = [
  "NONE",
  "SOFTMAX",
  "LOGISTIC",
  "SOFTMAX_ZERO",
  "PROBIT",
];

/** Reads the STRING attribute `post_transform` (default NONE); throws on unknown names. */
export function postTransformOf(ctx: OpContext): PostTransform {
  const s = ctx.attrs.string("post_transform", "NONE");
  if (!(POST_TRANSFORMS as readonly string[]).includes(s)) {
    throw ctx.fail(`post_transform must be one of ${POST_TRANSFORMS.join(", ")}, got "${s}"`);
  }
  return s as PostTransform;
}

/** The post-transform with enum code `code` (TreeEnsemble-5: 0 NONE ... 4 PROBIT). */
export function postTransformFromCode(ctx: OpContext, code: number): PostTransform {
  const p = POST_TRANSFORMS[code];
  if (p === undefined) throw ctx.fail(`post_transform must be in [0, 4], got ${code}`);
  return p;
}

/** The logistic function 1 / (1 + e^-x), computed without overflow. */
export function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * The probit function √2 · erfinv(2p − 1). The inverse error function uses Winitzki's
 * approximation (a = 0.147), the one onnxruntime and the ONNX reference implementation use,
 * so that scores match what those runtimes produce for the same model.
 */
export function probit(p: number): number {
  let x = 2 * p - 1;
  const sgn = x < 0 ? -1 : 1;
  x = (1 - x) * (1 + x);
  if (x === 0) return 0;
  const ln = Math.log(x);
  const v = 2 / (Math.PI * 0.147) + 0.5 * ln;
  const v2 = (1 / 0.147) * ln;
  const v3 = -v + Math.sqrt(v * v - v2);
  return Math.SQRT2 * sgn * Math.sqrt(v3);
}

/**
 * Applies a post-transform in place to `len` scores starting at `off`: SOFTMAX and
 * SOFTMAX_ZERO act on the whole row, LOGISTIC and PROBIT element-wise. SOFTMAX_ZERO keeps
 * zero scores at zero (their exponential is not counted) and gives 0.5 everywhere when every
 * score is zero.
 */
export function applyPostTransform(
  kind: PostTransform,
  data: Float64Array,
  off: number,
  len: number,
): void {
  switch (kind) {
    case "NONE":
      return;
    case "LOGISTIC":
      for (let i = off; i < off + len; i++) data[i] = logistic(data[i]);
      return;
    case "PROBIT":
      for (let i = off; i < off + len; i++) data[i] = probit(data[i]);
      return;
    case "SOFTMAX": {
      let max = -Infinity;
      for (let i = off; i < off + len; i++) if (data[i] > max) max = data[i];
      let sum = 0;
      for (let i = off; i < off + len; i++) {
        data[i] = Math.exp(data[i] - max);
        sum += data[i];
      }
      for (let i = off; i < off + len; i++) data[i] /= sum;
      return;
    }
    case "SOFTMAX_ZERO": {
      let max = -Infinity;
      for (let i = off; i < off + len; i++) if (data[i] > max) max = data[i];
      let sum = 0;
      for (let i = off; i < off + len; i++) {
        const v = data[i];
        if (v > 1e-7 || v < -1e-7) {
          data[i] = Math.exp(v - max);
          sum += data[i];
        } else {
          data[i] = 0;
        }
      }
      if (sum === 0) {
        for (let i = off; i < off + len; i++) data[i] = 0.5;
      } else {
        for (let i = off; i < off + len; i++) data[i] /= sum;
      }
      return;
    }
  }
}

/** Index of the first maximum of `len` values starting at `off` (NaN never wins). */
export function argmaxRow(data: ArrayLike<number>, off: number, len: number): number {
  let best = 0;
  let bestV = -Infinity;
  let found = false;
  for (let i = 0; i < len; i++) {
    const v = data[off + i];
    if (!found || v > bestV) {
      if (Number.isNaN(v)) continue;
      best = i;
      bestV = v;
      found = true;
    }
  }
  return best;
}

/** The numeric input types of most ML operators. */
export const ML_NUMERIC: readonly DataType[] = ["float32", "float64", "int64", "int32"];

/** A feature matrix: row-major values, N rows of F features. */
export interface FeatureRows {
  /** Values as numbers (int64 converted). */
  values: NumericArray;
  /** Number of rows. */
  n: number;
  /** Features per row. */
  f: number;
}

/**
 * Reads an input of shape [N, F] (or [F], one row; or higher rank, [d0, rest]) as numbers.
 * Throws when its type is not one of `allowed`.
 */
export function featureRows(
  ctx: OpContext,
  x: Tensor,
  allowed: readonly DataType[] = ML_NUMERIC,
): FeatureRows {
  if (!allowed.includes(x.type)) {
    throw ctx.unsupported(`input type ${x.type} is not supported`, x.type);
  }
  const values = numbersOf(x);
  const rank = x.dims.length;
  if (rank === 0) return { values, n: 1, f: 1 };
  if (rank === 1) return { values, n: 1, f: x.dims[0] };
  let f = 1;
  for (let i = 1; i < rank; i++) f *= x.dims[i];
  return { values, n: x.dims[0], f };
}

/** Class labels of a classifier: int64 values or strings. */
export type ClassLabels =
  | { kind: "int64"; values: bigint[] }
  | { kind: "string"; values: string[] };

/**
 * Reads the class labels from `intsName` / `stringsName` (exactly one must be set and
 * non-empty, unless `optional`, when undefined is returned for none).
 */
export function classLabelsOf(
  ctx: OpContext,
  intsName: string,
  stringsName: string,
  optional = false,
): ClassLabels | undefined {
  const ints = ctx.attrs.has(intsName) ? ctx.attrs.bigints(intsName) : [];
  const strs = ctx.attrs.has(stringsName) ? ctx.attrs.strings(stringsName) : [];
  if (ints.length > 0 && strs.length > 0) {
    throw ctx.fail(`only one of ${intsName} and ${stringsName} may be set`);
  }
  if (strs.length > 0) return { kind: "string", values: strs };
  if (ints.length > 0) return { kind: "int64", values: ints };
  if (optional) return undefined;
  throw ctx.fail(`one of ${intsName} or ${stringsName} must be set`);
}

/** True when the node sets a non-empty STRINGS attribute `name`. */
export function hasStrings(node: Node, name: string): boolean {
  const a = node.attribute.find((x) => x.name === name);
  return a !== undefined && a.type === "STRINGS" && a.strings.length > 0;
}

/** Builds a label tensor of `dims` from per-row label indices (or literal int64 labels). */
export function labelTensor(
  labels: ClassLabels | undefined,
  picks: ArrayLike<number>,
  dims: readonly number[],
  literal?: Uint8Array,
): Tensor {
  const n = picks.length;
  if (labels?.kind === "string") {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = labels.values[picks[i]] ?? "";
    return new Tensor("string", out, dims);
  }
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = labels && !literal?.[i] ? labels.values[picks[i]] : BigInt(picks[i]);
  }
  return new Tensor("int64", out, dims);
}

/**
 * Reads a FLOATS attribute or its TENSOR twin `${name}_as_tensor` (double precision) as
 * float64 values; undefined when neither is set. Throws when both are.
 */
export function floatsOrTensor(
  ctx: OpContext,
  name: string,
  allowTensor: boolean,
): Float64Array | undefined {
  const tName = `${name}_as_tensor`;
  const hasF = ctx.attrs.has(name);
  const hasT = allowTensor && ctx.attrs.has(tName);
  if (hasF && hasT) throw ctx.fail(`only one of ${name} and ${tName} may be set`);
  if (hasT) {
    const t = ctx.attrs.tensor(tName);
    if (!t) return undefined;
    if (t.type === "string") throw ctx.fail(`attribute ${tName} must be numeric`);
    return Float64Array.from(numbersOf(t));
  }
  if (hasF) return Float64Array.from(ctx.attrs.floats(name));
  return undefined;
}

const cache = new WeakMap<Node, Map<string, unknown>>();

/**
 * Returns the value `make()` built the first time for this node and `key` (parsed tree
 * ensembles and the like), so that attributes are decoded once per model, not once per run.
 */
export function cachedFor<T>(ctx: OpContext, key: string, make: () => T): T {
  let m = cache.get(ctx.node);
  if (!m) {
    m = new Map();
    cache.set(ctx.node, m);
  }
  if (m.has(key)) return m.get(key) as T;
  const v = make();
  m.set(key, v);
  return v;
}

/** A float32 tensor from float64 values. */
export function float32Tensor(values: Float64Array, dims: readonly number[]): Tensor {
  return new Tensor("float32", Float32Array.from(values), dims);
}
