/**
 * Normalizations along an axis: Softmax, LogSoftmax and Hardmax (versions 1 and 11 coerce
 * the input to 2-D at `axis`; version 13 works along one axis) and LpNormalization. All
 * compute in float64 and subtract the maximum before exponentiating.
 *
 * @module
 */

import type { DataType } from "../pipeline/tensor/dtype.ts";
import { dataToNumbers, fromNumbers, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { shapeSize, tensorAt } from "./util.ts";

const FLOATS = new Set<DataType>(["float32", "float64", "float16", "bfloat16"]);

/** How a tensor is walked: `outer` blocks of `n` elements along the axis, `inner` apart. */
export interface AxisLayout {
  /** Number of blocks before the axis. */
  outer: number;
  /** Length of the axis. */
  n: number;
  /** Distance between consecutive elements along the axis (elements after the axis). */
  inner: number;
}

/** Layout for the softmax family: 2-D coercion before version 13, one axis from 13. */
function softmaxLayout(ctx: OpContext, dims: readonly number[]): AxisLayout {
  const rank = dims.length;
  const coerce = ctx.version < 13;
  const a = ctx.attrs.int("axis", coerce ? 1 : -1);
  if (coerce) {
    // Versions 1/11 accept axis in [-r, r]; the 2-D view is [prod(dims[:axis]), prod(dims[axis:])].
    if (a < -rank || a > rank) throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
    const axis = a < 0 ? a + rank : a;
    return { outer: shapeSize(dims.slice(0, axis)), n: shapeSize(dims.slice(axis)), inner: 1 };
  }
  if (rank === 0) return { outer: 1, n: 1, inner: 1 };
  if (a < -rank || a >= rank) throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
  const axis = a < 0 ? a + rank : a;
  return {
    outer: shapeSize(dims.slice(0, axis)),
    n: dims[axis],
    inner: shapeSize(dims.slice(axis + 1)),
  };
}

/** Which normalization {@link softmaxNumbers} computes. */
export type SoftmaxKind = "softmax" | "logsoftmax" | "hardmax";

function checkFloat(ctx: OpContext, x: Tensor): void {
  if (!FLOATS.has(x.type)) {
    throw ctx.unsupported(`${ctx.node.opType} does not accept ${x.type}`, x.type);
  }
}

/** Applies softmax, log-softmax or hardmax to `src` with the given layout. */
export function softmaxNumbers(
  kind: SoftmaxKind,
  src: ArrayLike<number>,
  { outer, n, inner }: AxisLayout,
): Float64Array {
  const out = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      if (n === 0) continue;
      // Maximum and its first index; a NaN wins (as numpy's argmax).
      let mx = src[base];
      let arg = 0;
      for (let k = 1, p = base + inner; k < n && mx === mx; k++, p += inner) {
        const v = src[p];
        if (v > mx || v !== v) {
          mx = v;
          arg = k;
        }
      }
      if (kind === "hardmax") {
        out[base + arg * inner] = 1;
        continue;
      }
      let sum = 0;
      for (let k = 0, p = base; k < n; k++, p += inner) {
        const e = Math.exp(src[p] - mx);
        if (kind === "softmax") out[p] = e;
        sum += e;
      }
      if (kind === "softmax") {
        for (let k = 0, p = base; k < n; k++, p += inner) out[p] /= sum;
      } else {
        const ls = Math.log(sum);
        for (let k = 0, p = base; k < n; k++, p += inner) out[p] = src[p] - mx - ls;
      }
    }
  }
  return out;
}

function softmaxCpu(kind: SoftmaxKind): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    checkFloat(ctx, x);
    const layout = softmaxLayout(ctx, x.dims);
    const r = softmaxNumbers(kind, dataToNumbers(x.type, x.data), layout);
    return [new Tensor(x.type, fromNumbers(x.type, r), x.dims)];
  };
}

function lpNormCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  checkFloat(ctx, x);
  const p = ctx.attrs.int("p", 2);
  if (p !== 1 && p !== 2) throw ctx.fail(`p must be 1 or 2, got ${p}`);
  const rank = x.dims.length;
  const a = ctx.attrs.int("axis", -1);
  if (rank === 0 || a < -rank || a >= rank) {
    throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
  }
  const axis = a < 0 ? a + rank : a;
  const n = x.dims[axis];
  const outer = shapeSize(x.dims.slice(0, axis));
  const inner = shapeSize(x.dims.slice(axis + 1));
  const src = dataToNumbers(x.type, x.data);
  const out = new Float64Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let s = 0;
      for (let k = 0, q = base; k < n; k++, q += inner) {
        const v = src[q];
        s += p === 1 ? Math.abs(v) : v * v;
      }
      // A zero norm leaves the (all-zero) slice unchanged, as the reference does.
      const norm = s === 0 ? 1 : p === 1 ? s : Math.sqrt(s);
      for (let k = 0, q = base; k < n; k++, q += inner) out[q] = src[q] / norm;
    }
  }
  return [new Tensor(x.type, fromNumbers(x.type, out), x.dims)];
}

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

/** Softmax-family declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Softmax",
    versions: [1, 11, 13],
    cpu: softmaxCpu("softmax"),
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "LogSoftmax",
    versions: [1, 11, 13],
    cpu: softmaxCpu("logsoftmax"),
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "Hardmax",
    versions: [1, 11, 13],
    cpu: softmaxCpu("hardmax"),
    infer: sameInfer,
  },
  { domain: "", opType: "LpNormalization", versions: [1, 22], cpu: lpNormCpu, infer: sameInfer },
];
