/**
 * Loss functions: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (ai.onnx), with
 * class weights, ignore_index, N-D inputs ([N, C, d1, ..., dk]), the three reductions and
 * SoftmaxCrossEntropyLoss's optional log_prob output. Computes in float64; outputs take the
 * input's element type.
 *
 * @module
 */

import type { BigArray } from "../pipeline/tensor/dtype.ts";
import type { Tensor, Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { isFloatType, numbersOf, optionalTensorAt, tensorAt, tensorFromComputed } from "./util.ts";

/** Reads class indices (int32 or int64) as numbers; int64 values beyond ±2^53 saturate. */
function targetsOf(t: Tensor): Float64Array {
  if (t.type === "int64" || t.type === "uint64") {
    const src = t.data as BigArray;
    const out = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
    return out;
  }
  if (t.type !== "int32") throw new TypeError(`targets must be int32 or int64, got ${t.type}`);
  return Float64Array.from(t.data as Int32Array);
}

/**
 * The shared core: `logp` holds log-probabilities laid out [N, C, D] (D = product of the
 * extra dims). Returns the loss tensor in `type` per `reduction`.
 */
function nllCore(
  ctx: OpContext,
  logp: ArrayLike<number>,
  dims: readonly number[],
  target: Tensor,
  weight: Tensor | undefined,
  outType: Tensor["type"],
): Tensor {
  const N = dims[0];
  const C = dims[1];
  let D = 1;
  for (let i = 2; i < dims.length; i++) D *= dims[i];
  const expectTarget = [N, ...dims.slice(2)];
  if (
    target.dims.length !== expectTarget.length || target.dims.some((d, i) => d !== expectTarget[i])
  ) {
    throw ctx.fail(`target has shape [${target.dims}], expected [${expectTarget}]`);
  }
  const reduction = ctx.attrs.string("reduction", "mean");
  if (reduction !== "none" && reduction !== "sum" && reduction !== "mean") {
    throw ctx.fail(`reduction must be none, sum or mean, got "${reduction}"`);
  }
  const hasIgnore = ctx.attrs.has("ignore_index");
  const ignore = hasIgnore ? ctx.attrs.int("ignore_index") : 0;
  let w: ArrayLike<number> | undefined;
  if (weight) {
    if (weight.dims.length !== 1 || weight.dims[0] !== C) {
      throw ctx.fail(`weight has shape [${weight.dims}], expected [${C}]`);
    }
    w = numbersOf(weight);
  }
  if (target.type !== "int32" && target.type !== "int64") {
    throw ctx.fail(`target must be int32 or int64, got ${target.type}`);
  }
  const tg = targetsOf(target);
  const loss = new Float64Array(N * D);
  let lossSum = 0;
  let weightSum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      const c = tg[i];
      if (hasIgnore && c === ignore) continue;
      if (!(c >= 0 && c < C)) throw ctx.fail(`target value ${c} is outside [0, ${C})`);
      const wc = w ? w[c] : 1;
      const v = -logp[(n * C + c) * D + d] * wc;
      loss[i] = v;
      lossSum += v;
      weightSum += wc;
    }
  }
  if (reduction === "none") return tensorFromComputed(outType, loss, expectTarget);
  const value = reduction === "sum" ? lossSum : lossSum / weightSum;
  return tensorFromComputed(outType, [value], []);
}

const nllKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const input = tensorAt(ctx, inputs, 0);
  const target = tensorAt(ctx, inputs, 1);
  const weight = optionalTensorAt(ctx, inputs, 2);
  if (!isFloatType(input.type)) {
    throw ctx.unsupported(`NegativeLogLikelihoodLoss does not accept ${input.type}`, input.type);
  }
  if (input.dims.length < 2) throw ctx.fail(`input must have rank 2 or more, got [${input.dims}]`);
  return [nllCore(ctx, numbersOf(input), input.dims, target, weight, input.type)];
};

const sceKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const scores = tensorAt(ctx, inputs, 0);
  const labels = tensorAt(ctx, inputs, 1);
  const weights = optionalTensorAt(ctx, inputs, 2);
  if (!isFloatType(scores.type)) {
    throw ctx.unsupported(`SoftmaxCrossEntropyLoss does not accept ${scores.type}`, scores.type);
  }
  if (scores.dims.length < 2) {
    throw ctx.fail(`scores must have rank 2 or more, got [${scores.dims}]`);
  }
  const N = scores.dims[0];
  const C = scores.dims[1];
  let D = 1;
  for (let i = 2; i < scores.dims.length; i++) D *= scores.dims[i];
  const x = numbersOf(scores);
  // log_softmax over axis 1.
  const logp = new Float64Array(N * C * D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const base = n * C * D + d;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, x[base + c * D]);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(x[base + c * D] - max);
      const lse = max + Math.log(sum);
      for (let c = 0; c < C; c++) logp[base + c * D] = x[base + c * D] - lse;
    }
  }
  const loss = nllCore(ctx, logp, scores.dims, labels, weights, scores.type);
  return [
    loss,
    ctx.wantsOutput(1) ? tensorFromComputed(scores.type, logp, scores.dims) : undefined,
  ];
};

function lossInfer(withLogProb: boolean): (ctx: InferContext) => (ValueType | undefined)[] {
  return (ctx) => {
    const x = ctx.input(0);
    const elemType = x?.kind === "tensor" ? x.elemType : undefined;
    const shape = x?.kind === "tensor" ? x.shape : undefined;
    const reduction = ctx.attrs.string("reduction", "mean");
    const lossShape = reduction === "none"
      ? (shape ? [shape[0], ...shape.slice(2)] : undefined)
      : [];
    const out: ValueType[] = [{ kind: "tensor", elemType, shape: lossShape }];
    if (withLogProb) out.push({ kind: "tensor", elemType, shape });
    return out;
  };
}

/** NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "NegativeLogLikelihoodLoss",
    versions: [12, 13, 22],
    cpu: nllKernel,
    infer: lossInfer(false),
  },
  {
    domain: "",
    opType: "SoftmaxCrossEntropyLoss",
    versions: [12, 13],
    cpu: sceKernel,
    infer: lossInfer(true),
  },
];
