/**
 * Training operators (domain ai.onnx.preview.training): the optimizers Adagrad, Adam and
 * Momentum (standard and Nesterov), each updating any number of tensor groups per node, and
 * Gradient, which differentiates part of the node's own graph (kernel in `gradient.ts`).
 *
 * Inputs are the learning rate R (scalar), the update count T (int64 scalar), then the
 * groups: Adagrad X₁..Xₙ, G₁..Gₙ, H₁..Hₙ → X'₁..X'ₙ, H'₁..H'ₙ; Momentum X, G, V → X', V';
 * Adam X, G, V, H → X', V', H'. Updates compute in float64; outputs take each input's type.
 *
 * @module
 */

import type { Tensor, Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, scalarOf, tensorAt, tensorFromComputed } from "./util.ts";
import { gradientCpu } from "./gradient.ts";

const DOMAIN = "ai.onnx.preview.training";

/** Reads R and T and splits the remaining inputs into `parts` groups of n tensors. */
function groups(
  ctx: OpContext,
  inputs: (Value | undefined)[],
  parts: number,
): { r: number; t: number; n: number; tensors: Tensor[] } {
  const rt = tensorAt(ctx, inputs, 0);
  const tt = tensorAt(ctx, inputs, 1);
  if (rt.type !== "float32" && rt.type !== "float64") {
    throw ctx.unsupported(`learning rate type ${rt.type} is not supported`, rt.type);
  }
  if (tt.type !== "int64") throw ctx.fail(`the update count T must be int64, got ${tt.type}`);
  if (rt.size !== 1 || tt.size !== 1) throw ctx.fail("R and T must be scalars");
  const rest = inputs.length - 2;
  if (rest <= 0 || rest % parts !== 0) {
    throw ctx.fail(`expected ${parts} groups of tensors after R and T, got ${rest} inputs`);
  }
  const n = rest / parts;
  const tensors = inputs.slice(2).map((_, i) => tensorAt(ctx, inputs, i + 2));
  for (let g = 0; g < n; g++) {
    const x = tensors[g];
    if (x.type !== "float32" && x.type !== "float64") {
      throw ctx.unsupported(`tensor type ${x.type} is not supported`, x.type);
    }
    for (let p = 1; p < parts; p++) {
      const o = tensors[p * n + g];
      if (o.dims.length !== x.dims.length || o.dims.some((d, i) => d !== x.dims[i])) {
        throw ctx.fail(`input ${2 + p * n + g} has shape [${o.dims}], expected [${x.dims}]`);
      }
    }
  }
  return { r: scalarOf(rt), t: scalarOf(tt), n, tensors };
}

function adagradCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const { r, t, n, tensors } = groups(ctx, inputs, 3);
  const decay = ctx.attrs.float("decay_factor", 0);
  const eps = ctx.attrs.float("epsilon", 1e-6);
  const norm = ctx.attrs.float("norm_coefficient", 0);
  const rate = r / (1 + t * decay);
  const xs: Value[] = [];
  const hs: Value[] = [];
  for (let g = 0; g < n; g++) {
    const xT = tensors[g], gT = tensors[n + g], hT = tensors[2 * n + g];
    const x = numbersOf(xT), gr = numbersOf(gT), h = numbersOf(hT);
    const xo = new Float64Array(x.length);
    const ho = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const gReg = norm * x[i] + gr[i];
      const hNew = h[i] + gReg * gReg;
      ho[i] = hNew;
      xo[i] = x[i] - (rate * gReg) / (Math.sqrt(hNew) + eps);
    }
    xs.push(tensorFromComputed(xT.type, xo, xT.dims));
    hs.push(tensorFromComputed(hT.type, ho, hT.dims));
  }
  return [...xs, ...hs];
}

function momentumCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const { r, t, n, tensors } = groups(ctx, inputs, 3);
  const alpha = ctx.attrs.float("alpha");
  const beta = ctx.attrs.float("beta");
  const norm = ctx.attrs.float("norm_coefficient");
  const mode = ctx.attrs.string("mode");
  if (mode !== "standard" && mode !== "nesterov") {
    throw ctx.fail(`mode must be "standard" or "nesterov", got "${mode}"`);
  }
  const betaAdj = t > 0 ? beta : 1;
  const xs: Value[] = [];
  const vs: Value[] = [];
  for (let g = 0; g < n; g++) {
    const xT = tensors[g], gT = tensors[n + g], vT = tensors[2 * n + g];
    const x = numbersOf(xT), gr = numbersOf(gT), v = numbersOf(vT);
    const xo = new Float64Array(x.length);
    const vo = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const gReg = norm * x[i] + gr[i];
      const vNew = alpha * v[i] + betaAdj * gReg;
      vo[i] = vNew;
      xo[i] = mode === "standard" ? x[i] - r * vNew : x[i] - r * (gReg + alpha * vNew);
    }
    xs.push(tensorFromComputed(xT.type, xo, xT.dims));
    vs.push(tensorFromComputed(vT.type, vo, vT.dims));
  }
  return [...xs, ...vs];
}

function adamCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const { r, t, n, tensors } = groups(ctx, inputs, 4);
  const alpha = ctx.attrs.float("alpha", 0.9);
  const beta = ctx.attrs.float("beta", 0.999);
  const eps = ctx.attrs.float("epsilon", 1e-6);
  const norm = ctx.attrs.float("norm_coefficient", 0);
  const normPost = ctx.attrs.float("norm_coefficient_post", 0);
  const rate = t > 0 ? (r * Math.sqrt(1 - Math.pow(beta, t))) / (1 - Math.pow(alpha, t)) : r;
  const xs: Value[] = [];
  const vs: Value[] = [];
  const hs: Value[] = [];
  for (let g = 0; g < n; g++) {
    const xT = tensors[g], gT = tensors[n + g], vT = tensors[2 * n + g], hT = tensors[3 * n + g];
    const x = numbersOf(xT), gr = numbersOf(gT), v = numbersOf(vT), h = numbersOf(hT);
    const xo = new Float64Array(x.length);
    const vo = new Float64Array(x.length);
    const ho = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const gReg = norm * x[i] + gr[i];
      const vNew = alpha * v[i] + (1 - alpha) * gReg;
      const hNew = beta * h[i] + (1 - beta) * gReg * gReg;
      vo[i] = vNew;
      ho[i] = hNew;
      xo[i] = (1 - normPost) * (x[i] - (rate * vNew) / (Math.sqrt(hNew) + eps));
    }
    xs.push(tensorFromComputed(xT.type, xo, xT.dims));
    vs.push(tensorFromComputed(vT.type, vo, vT.dims));
    hs.push(tensorFromComputed(hT.type, ho, hT.dims));
  }
  return [...xs, ...vs, ...hs];
}

/** Output types of an optimizer: output k of group part p copies the matching input. */
function optimizerInfer(parts: number, outParts: readonly number[]) {
  return (ctx: InferContext): (ValueType | undefined)[] => {
    const rest = ctx.inputCount - 2;
    if (rest <= 0 || rest % parts !== 0) {
      ctx.error(`expected ${parts} groups of tensors after R and T, got ${rest} inputs`);
      return [];
    }
    const n = rest / parts;
    const out: (ValueType | undefined)[] = [];
    for (const p of outParts) for (let g = 0; g < n; g++) out.push(ctx.input(2 + p * n + g));
    return out;
  };
}

function gradientInfer(ctx: InferContext): (ValueType | undefined)[] {
  const xs = ctx.attrs.strings("xs");
  return xs.map((_, i) => ctx.input(i));
}

/** Training operators: Adagrad, Momentum, Adam and Gradient (opset 1 of the domain). */
export const ops: OpDef[] = [
  {
    domain: DOMAIN,
    opType: "Adagrad",
    versions: [1],
    cpu: adagradCpu,
    infer: optimizerInfer(3, [0, 2]),
  },
  {
    domain: DOMAIN,
    opType: "Momentum",
    versions: [1],
    cpu: momentumCpu,
    infer: optimizerInfer(3, [0, 2]),
  },
  {
    domain: DOMAIN,
    opType: "Adam",
    versions: [1],
    cpu: adamCpu,
    infer: optimizerInfer(4, [0, 2, 3]),
  },
  { domain: DOMAIN, opType: "Gradient", versions: [1], cpu: gradientCpu, infer: gradientInfer },
];
