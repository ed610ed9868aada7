/**
 * Normalization: BatchNormalization (inference and training mode), InstanceNormalization,
 * LayerNormalization, GroupNormalization (opset 18 per-group and opset 21 per-channel
 * affine), RMSNormalization, LRN and MeanVarianceNormalization.
 *
 * Statistics accumulate in float64; outputs are encoded back to the input's float type.
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import type { Tensor } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  computeBuffer,
  floatResult,
  floatView,
  inferElem,
  inferShape,
  requireFloat,
} from "./conv.ts";
import { broadcastOffsets, normalizeAxis, optionalTensorAt, shapeSize, tensorAt } from "./util.ts";

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [{ kind: "tensor", elemType: inferElem(ctx, 0), shape: inferShape(ctx, 0) }];
}

function outBuffer(x: Tensor): Float32Array | Float64Array {
  return computeBuffer(x.type === "float64" ? "float64" : "float32", x.size);
}

/** Reads a per-channel (or per-element) float parameter, checking its size. */
function param(ctx: OpContext, t: Tensor, size: number, name: string): Float32Array | Float64Array {
  requireFloat(ctx, t, name);
  if (t.size !== size) throw ctx.fail(`${name} must have ${size} elements, got [${t.dims}]`);
  return floatView(t);
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization
// ---------------------------------------------------------------------------------------------

const batchNormCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloat(ctx, x, "X");
  if (x.dims.length < 2) throw ctx.fail(`X must have at least 2 dimensions, got [${x.dims}]`);
  const v = ctx.version;
  const eps = ctx.attrs.float("epsilon", 1e-5);
  const momentum = ctx.attrs.float("momentum", 0.9);
  const [N, C] = x.dims;
  const inner = shapeSize(x.dims.slice(2));
  // Before opset 9, spatial=0 gives one statistic per (channel, spatial position).
  const perElement = v < 9 && ctx.attrs.int("spatial", 1) === 0;
  const P = perElement ? C * inner : C;
  const scaleT = tensorAt(ctx, inputs, 1);
  const biasT = tensorAt(ctx, inputs, 2);
  const meanT = tensorAt(ctx, inputs, 3);
  const varT = tensorAt(ctx, inputs, 4);
  const scale = param(ctx, scaleT, P, "scale");
  const bias = param(ctx, biasT, P, "B");
  const mean = param(ctx, meanT, P, "mean");
  const variance = param(ctx, varT, P, "var");
  const training = v >= 14
    ? ctx.attrs.int("training_mode", 0) !== 0
    : (ctx.outputCount > 1 && [1, 2, 3, 4].some((i) => ctx.wantsOutput(i)) &&
      !(v < 7 && ctx.attrs.int("is_test", 0) !== 0));
  const xd = floatView(x);
  const y = outBuffer(x);
  // Per parameter index p: element (n, p) spans `span` values at offset n*C*inner + p*span.
  const span = perElement ? 1 : inner;
  let useMean: Float64Array | Float32Array = mean;
  let useVar: Float64Array | Float32Array = variance;
  let batchMean: Float64Array | undefined;
  let batchVar: Float64Array | undefined;
  if (training) {
    batchMean = new Float64Array(P);
    batchVar = new Float64Array(P);
    const count = N * span;
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const o = n * C * inner + p * span;
        for (let i = 0; i < span; i++) s += xd[o + i];
      }
      const m = count > 0 ? s / count : NaN;
      let q = 0;
      for (let n = 0; n < N; n++) {
        const o = n * C * inner + p * span;
        for (let i = 0; i < span; i++) {
          const d = xd[o + i] - m;
          q += d * d;
        }
      }
      batchMean[p] = m;
      batchVar[p] = count > 0 ? q / count : NaN;
    }
    useMean = batchMean;
    useVar = batchVar;
  }
  for (let p = 0; p < P; p++) {
    const k = scale[p] / Math.sqrt(useVar[p] + eps);
    const b = bias[p] - useMean[p] * k;
    for (let n = 0; n < N; n++) {
      const o = n * C * inner + p * span;
      for (let i = 0; i < span; i++) y[o + i] = xd[o + i] * k + b;
    }
  }
  const outs: (Tensor | undefined)[] = [floatResult(x.type, y, x.dims)];
  if (ctx.outputCount > 1) {
    const running = (input: Float32Array | Float64Array, batch: Float64Array | undefined) => {
      const r = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        r[p] = batch ? input[p] * momentum + batch[p] * (1 - momentum) : input[p];
      }
      return r;
    };
    outs.push(
      ctx.wantsOutput(1)
        ? floatResult(meanT.type, running(mean, batchMean), meanT.dims)
        : undefined,
    );
    outs.push(
      ctx.wantsOutput(2)
        ? floatResult(varT.type, running(variance, batchVar), varT.dims)
        : undefined,
    );
    if (v < 14) {
      outs.push(
        ctx.wantsOutput(3)
          ? floatResult(meanT.type, batchMean ?? Float64Array.from(mean), meanT.dims)
          : undefined,
      );
      outs.push(
        ctx.wantsOutput(4)
          ? floatResult(varT.type, batchVar ?? Float64Array.from(variance), varT.dims)
          : undefined,
      );
    }
  }
  return outs;
};

function batchNormInfer(ctx: InferContext): (ValueType | undefined)[] {
  const out: ValueType[] = [{
    kind: "tensor",
    elemType: inferElem(ctx, 0),
    shape: inferShape(ctx, 0),
  }];
  const mean = ctx.input(3);
  const variance = ctx.input(4);
  out.push(mean ?? { kind: "tensor" }, variance ?? { kind: "tensor" });
  if (ctx.version < 14) out.push(mean ?? { kind: "tensor" }, variance ?? { kind: "tensor" });
  return out;
}

// ---------------------------------------------------------------------------------------------
// InstanceNormalization
// ---------------------------------------------------------------------------------------------

const instanceNormCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloat(ctx, x, "input");
  if (x.dims.length < 2) throw ctx.fail(`input must have at least 2 dimensions, got [${x.dims}]`);
  const eps = ctx.attrs.float("epsilon", 1e-5);
  const [N, C] = x.dims;
  const inner = shapeSize(x.dims.slice(2));
  const scale = param(ctx, tensorAt(ctx, inputs, 1), C, "scale");
  const bias = param(ctx, tensorAt(ctx, inputs, 2), C, "B");
  const xd = floatView(x);
  const y = outBuffer(x);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) s += xd[o + i];
      const m = s / inner;
      let q = 0;
      for (let i = 0; i < inner; i++) {
        const d = xd[o + i] - m;
        q += d * d;
      }
      const k = scale[c] / Math.sqrt(q / inner + eps);
      const b = bias[c];
      for (let i = 0; i < inner; i++) y[o + i] = (xd[o + i] - m) * k + b;
    }
  }
  return [floatResult(x.type, y, x.dims)];
};

// ---------------------------------------------------------------------------------------------
// LayerNormalization / RMSNormalization
// ---------------------------------------------------------------------------------------------

/** Offsets of a parameter broadcast (unidirectionally) onto the normalized shape. */
function paramOffsets(
  ctx: OpContext,
  t: Tensor,
  normShape: readonly number[],
  name: string,
): Int32Array | undefined {
  const r = normShape.length;
  const d = t.dims;
  const ok = d.length <= r && d.every((v, i) => v === 1 || v === normShape[r - d.length + i]);
  if (!ok) {
    throw ctx.fail(`${name} [${d}] does not broadcast to the normalized shape [${normShape}]`);
  }
  return broadcastOffsets(d, normShape);
}

function stashType(ctx: OpContext | InferContext): DataType {
  const code = ctx.attrs.int("stash_type", 1);
  const t = dataTypeFromCode(code);
  if (t !== "float32" && t !== "float64" && t !== "float16" && t !== "bfloat16") return "float32";
  return t;
}

function layerNormKernel(rms: boolean): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    requireFloat(ctx, x, "X");
    const scaleT = tensorAt(ctx, inputs, 1);
    const biasT = rms ? undefined : optionalTensorAt(ctx, inputs, 2);
    const rank = x.dims.length;
    const axis = normalizeAxis(ctx, ctx.attrs.int("axis", -1), Math.max(rank, 1));
    const eps = ctx.attrs.float("epsilon", 1e-5);
    const normShape = x.dims.slice(axis);
    const inner = shapeSize(normShape);
    const outer = shapeSize(x.dims.slice(0, axis));
    requireFloat(ctx, scaleT, "scale");
    const sOff = paramOffsets(ctx, scaleT, normShape, "scale");
    const sd = floatView(scaleT);
    let bOff: Int32Array | undefined;
    let bd: Float32Array | Float64Array | undefined;
    if (biasT) {
      requireFloat(ctx, biasT, "B");
      bOff = paramOffsets(ctx, biasT, normShape, "B");
      bd = floatView(biasT);
    }
    const xd = floatView(x);
    const y = outBuffer(x);
    const means = new Float64Array(outer);
    const inv = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      const base = o * inner;
      let m = 0;
      if (!rms) {
        let s = 0;
        for (let i = 0; i < inner; i++) s += xd[base + i];
        m = s / inner;
      }
      let q = 0;
      for (let i = 0; i < inner; i++) {
        const d = xd[base + i] - m;
        q += d * d;
      }
      const k = 1 / Math.sqrt(q / inner + eps);
      means[o] = m;
      inv[o] = k;
      for (let i = 0; i < inner; i++) {
        let v = (xd[base + i] - m) * k * sd[sOff ? sOff[i] : i];
        if (bd) v += bd[bOff ? bOff[i] : i];
        y[base + i] = v;
      }
    }
    const outs: (Tensor | undefined)[] = [floatResult(x.type, y, x.dims)];
    if (!rms && ctx.outputCount > 1) {
      const st = stashType(ctx);
      const statDims = [...x.dims.slice(0, axis), ...normShape.map(() => 1)];
      outs.push(ctx.wantsOutput(1) ? floatResult(st, means, statDims) : undefined);
      outs.push(ctx.wantsOutput(2) ? floatResult(st, inv, statDims) : undefined);
    }
    return outs;
  };
}

function layerNormInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const out: ValueType[] = [{ kind: "tensor", elemType, shape: xs }];
  const st = stashType(ctx);
  if (!xs) return [...out, { kind: "tensor", elemType: st }, { kind: "tensor", elemType: st }];
  const rank = xs.length;
  let axis = ctx.attrs.int("axis", -1);
  if (axis < 0) axis += rank;
  const stat = xs.map((d, i) => (i < axis ? d : 1));
  out.push({ kind: "tensor", elemType: st, shape: stat }, {
    kind: "tensor",
    elemType: st,
    shape: stat,
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// GroupNormalization
// ---------------------------------------------------------------------------------------------

const groupNormCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloat(ctx, x, "X");
  if (x.dims.length < 2) throw ctx.fail(`X must have at least 2 dimensions, got [${x.dims}]`);
  const G = ctx.attrs.int("num_groups");
  const eps = ctx.attrs.float("epsilon", 1e-5);
  const [N, C] = x.dims;
  if (G < 1 || C % G !== 0) throw ctx.fail(`num_groups ${G} does not divide ${C} channels`);
  const perChannel = ctx.version >= 21;
  const P = perChannel ? C : G;
  const scale = param(ctx, tensorAt(ctx, inputs, 1), P, "scale");
  const bias = param(ctx, tensorAt(ctx, inputs, 2), P, "bias");
  const inner = shapeSize(x.dims.slice(2));
  const cpg = C / G;
  const span = cpg * inner;
  const xd = floatView(x);
  const y = outBuffer(x);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const base = (n * C + g * cpg) * inner;
      let s = 0;
      for (let i = 0; i < span; i++) s += xd[base + i];
      const m = s / span;
      let q = 0;
      for (let i = 0; i < span; i++) {
        const d = xd[base + i] - m;
        q += d * d;
      }
      const k = 1 / Math.sqrt(q / span + eps);
      for (let cl = 0; cl < cpg; cl++) {
        const p = perChannel ? g * cpg + cl : g;
        const a = k * scale[p];
        const b = bias[p];
        const o = base + cl * inner;
        for (let i = 0; i < inner; i++) y[o + i] = (xd[o + i] - m) * a + b;
      }
    }
  }
  return [floatResult(x.type, y, x.dims)];
};

// ---------------------------------------------------------------------------------------------
// LRN
// ---------------------------------------------------------------------------------------------

const lrnCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloat(ctx, x, "X");
  if (x.dims.length < 2) throw ctx.fail(`X must have at least 2 dimensions, got [${x.dims}]`);
  const size = ctx.attrs.int("size");
  if (size < 1) throw ctx.fail(`size must be positive, got ${size}`);
  const alpha = ctx.attrs.float("alpha", 1e-4);
  const beta = ctx.attrs.float("beta", 0.75);
  const bias = ctx.attrs.float("bias", 1);
  const [N, C] = x.dims;
  const inner = shapeSize(x.dims.slice(2));
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const xd = floatView(x);
  const y = outBuffer(x);
  const k = alpha / size;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const c0 = Math.max(0, c - lo);
      const c1 = Math.min(C - 1, c + hi);
      const o = (n * C + c) * inner;
      for (let i = 0; i < inner; i++) {
        let s = 0;
        for (let cc = c0; cc <= c1; cc++) {
          const v = xd[(n * C + cc) * inner + i];
          s += v * v;
        }
        y[o + i] = xd[o + i] / Math.pow(bias + k * s, beta);
      }
    }
  }
  return [floatResult(x.type, y, x.dims)];
};

// ---------------------------------------------------------------------------------------------
// MeanVarianceNormalization
// ---------------------------------------------------------------------------------------------

const mvnCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloat(ctx, x, "X");
  const rank = x.dims.length;
  const axes = ctx.attrs.ints("axes", [0, 2, 3]).map((a) => normalizeAxis(ctx, a, rank));
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  // Group id of every element: its position among the kept dims.
  const n = x.size;
  const group = new Int32Array(n);
  let groups = 1;
  const keptStride = new Array<number>(rank).fill(0);
  for (let d = rank - 1; d >= 0; d--) {
    if (!reduced[d]) {
      keptStride[d] = groups;
      groups *= x.dims[d];
    }
  }
  const idx = new Array<number>(rank).fill(0);
  let gcur = 0;
  for (let i = 0; i < n; i++) {
    group[i] = gcur;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      gcur += keptStride[d];
      if (idx[d] < x.dims[d]) break;
      gcur -= keptStride[d] * idx[d];
      idx[d] = 0;
    }
  }
  const xd = floatView(x);
  const sum = new Float64Array(groups);
  const cnt = new Float64Array(groups);
  for (let i = 0; i < n; i++) {
    sum[group[i]] += xd[i];
    cnt[group[i]]++;
  }
  for (let g = 0; g < groups; g++) sum[g] /= cnt[g];
  const sq = new Float64Array(groups);
  for (let i = 0; i < n; i++) {
    const d = xd[i] - sum[group[i]];
    sq[group[i]] += d * d;
  }
  for (let g = 0; g < groups; g++) sq[g] = Math.sqrt(sq[g] / cnt[g]) + 1e-9;
  const y = outBuffer(x);
  for (let i = 0; i < n; i++) y[i] = (xd[i] - sum[group[i]]) / sq[group[i]];
  return [floatResult(x.type, y, x.dims)];
};

/** The normalization family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "BatchNormalization",
    versions: [1, 6, 7, 9, 14, 15],
    cpu: batchNormCpu,
    infer: batchNormInfer,
  },
  {
    domain: "",
    opType: "InstanceNormalization",
    versions: [1, 6, 22],
    cpu: instanceNormCpu,
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "LayerNormalization",
    versions: [17],
    cpu: layerNormKernel(false),
    infer: layerNormInfer,
  },
  {
    domain: "",
    opType: "RMSNormalization",
    versions: [23],
    cpu: layerNormKernel(true),
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "GroupNormalization",
    versions: [18, 21],
    cpu: groupNormCpu,
    infer: sameInfer,
  },
  { domain: "", opType: "LRN", versions: [1, 13], cpu: lrnCpu, infer: sameInfer },
  {
    domain: "",
    opType: "MeanVarianceNormalization",
    versions: [9, 13],
    cpu: mvnCpu,
    infer: sameInfer,
  },
];
