/**
 * Convolutions: Conv (im2col + GEMM, with direct paths for 1x1 and depthwise kernels),
 * ConvTranspose (GEMM + col2im), DeformConv (bilinear-sampled im2col + GEMM) and Col2Im.
 * Also exports the sliding-window attribute helpers the pooling kernels share.
 *
 * float16/bfloat16 inputs compute in float32, float64 in float64.
 *
 * @module
 */

import type { DataType } from "../pipeline/tensor/dtype.ts";
import { isPackedFloat } from "../pipeline/tensor/dtype.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import { type FloatArray, gemm } from "../pipeline/run/cpu/gemm.ts";
import { col2im, im2col, type WindowGeometry, windowIndexMap } from "../pipeline/run/cpu/im2col.ts";
import { sgemmIm2colWasm } from "../pipeline/run/cpu/wasm/sgemm.ts";
import { depthwise2dWasm, type Window2d } from "../pipeline/run/cpu/wasm/conv.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  alloc,
  numbersOf,
  optionalTensorAt,
  shapeSize,
  tensorAt,
  tensorFromComputed,
  toIntArray,
} from "./util.ts";

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by pool.ts, norm.ts, resize.ts, sample.ts)
// ---------------------------------------------------------------------------------------------

/** Float element types the float-only kernels of this family accept. */
const FLOAT_IO = new Set<DataType>(["float16", "float32", "float64", "bfloat16"]);

/** Throws `ctx.unsupported` unless `t` is float16, bfloat16, float32 or float64. */
export function requireFloat(ctx: OpContext, t: Tensor, what = "input"): void {
  if (!FLOAT_IO.has(t.type)) {
    throw ctx.unsupported(`${ctx.node.opType} does not accept ${t.type} ${what}`, t.type);
  }
}

/**
 * The data of a float tensor as a computable array: float32 and float64 storage as is (not
 * copied: do not write to it), packed floats decoded to a new Float32Array.
 */
export function floatView(t: Tensor): FloatArray {
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float64") return t.data as Float64Array;
  if (isPackedFloat(t.type)) return numbersOf(t) as Float32Array;
  return Float64Array.from(numbersOf(t));
}

/** Like {@link floatView} but converted to the array kind of `like` (f32 or f64). */
export function floatViewAs(t: Tensor, like: FloatArray): FloatArray {
  const v = floatView(t);
  if (like instanceof Float64Array) return v instanceof Float64Array ? v : Float64Array.from(v);
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** Allocates a computation buffer matching a tensor's compute precision. */
export function computeBuffer(type: DataType, size: number): FloatArray {
  return type === "float64" ? new Float64Array(size) : new Float32Array(size);
}

/** Wraps computed floats as a tensor of `type` (encoding packed floats). */
export function floatResult(type: DataType, data: FloatArray, dims: readonly number[]): Tensor {
  return tensorFromComputed(type, data, dims);
}

/** The shape of input `i` at inference time, when known. */
export function inferShape(ctx: InferContext, i: number): Dim[] | undefined {
  const t = ctx.input(i);
  return t?.kind === "tensor" ? t.shape : undefined;
}

/** The element type of input `i` at inference time, when known. */
export function inferElem(ctx: InferContext, i: number): DataType | undefined {
  const t = ctx.input(i);
  return t?.kind === "tensor" ? t.elemType : undefined;
}

/** Resolved pads and output size of a sliding window along every spatial dim. */
export interface WindowShape {
  /** Padding before each dim. */
  padsBegin: number[];
  /** Padding after each dim. */
  padsEnd: number[];
  /** Output size of each dim. */
  out: number[];
}

/** Options of {@link windowShape}. */
export interface WindowShapeOptions {
  /** `auto_pad` value (NOTSET, SAME_UPPER, SAME_LOWER, VALID). */
  autoPad: string;
  /** Explicit pads `[b1..bn, e1..en]`, when given. */
  pads?: readonly number[];
  /** Pooling's ceil_mode (rounds the output size up, dropping windows that start in the end pad). */
  ceilMode?: boolean;
}

/**
 * Output size and pads of a convolution or pooling window: explicit pads, or SAME_UPPER /
 * SAME_LOWER (output = ceil(in / stride), the odd pad at the end / the beginning), or VALID.
 * Throws a message string (for ctx.fail) when the attributes are inconsistent.
 */
export function windowShape(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
  options: WindowShapeOptions,
): WindowShape | string {
  const r = input.length;
  const padsBegin = new Array<number>(r).fill(0);
  const padsEnd = new Array<number>(r).fill(0);
  const out = new Array<number>(r).fill(0);
  const auto = options.autoPad;
  for (let i = 0; i < r; i++) {
    const ek = (kernel[i] - 1) * dilations[i] + 1;
    const s = strides[i];
    if (auto === "SAME_UPPER" || auto === "SAME_LOWER") {
      out[i] = Math.ceil(input[i] / s);
      const total = Math.max(0, (out[i] - 1) * s + ek - input[i]);
      const small = Math.floor(total / 2);
      padsBegin[i] = auto === "SAME_UPPER" ? small : total - small;
      padsEnd[i] = total - padsBegin[i];
      continue;
    }
    if (auto === "NOTSET" || auto === "") {
      if (options.pads && options.pads.length > 0) {
        padsBegin[i] = options.pads[i];
        padsEnd[i] = options.pads[i + r];
      }
    } else if (auto !== "VALID") {
      return `auto_pad "${auto}" is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`;
    }
    const span = input[i] + padsBegin[i] + padsEnd[i] - ek;
    if (options.ceilMode) {
      let o = Math.ceil(span / s) + 1;
      // The last window must start inside the input or the left padding.
      if ((o - 1) * s >= input[i] + padsBegin[i]) o--;
      out[i] = o;
    } else {
      out[i] = Math.floor(span / s) + 1;
    }
    if (out[i] < 0) out[i] = 0;
  }
  return { padsBegin, padsEnd, out };
}

/** Reads kernel_shape/strides/dilations/pads checked against a spatial rank `r`. */
export function windowAttrs(
  ctx: OpContext,
  r: number,
  kernelDefault?: readonly number[],
): { kernel: number[]; strides: number[]; dilations: number[]; pads: number[] | undefined } {
  const ones = new Array<number>(r).fill(1);
  const kernel = ctx.attrs.has("kernel_shape")
    ? ctx.attrs.ints("kernel_shape")
    : kernelDefault
    ? [...kernelDefault]
    : undefined;
  if (!kernel) throw ctx.fail("attribute kernel_shape is required");
  const strides = ctx.attrs.ints("strides", ones);
  const dilations = ctx.attrs.ints("dilations", ones);
  const pads = ctx.attrs.has("pads") ? ctx.attrs.ints("pads") : undefined;
  const fix = (a: number[]) => (a.length === 0 ? [...ones] : a);
  const k = kernel, s = fix(strides), d = fix(dilations);
  if (k.length !== r) throw ctx.fail(`kernel_shape has ${k.length} values, expected ${r}`);
  if (s.length !== r) throw ctx.fail(`strides has ${s.length} values, expected ${r}`);
  if (d.length !== r) throw ctx.fail(`dilations has ${d.length} values, expected ${r}`);
  if (pads && pads.length !== 0 && pads.length !== 2 * r) {
    throw ctx.fail(`pads has ${pads.length} values, expected ${2 * r}`);
  }
  if (k.some((v) => v < 1) || s.some((v) => v < 1) || d.some((v) => v < 1)) {
    throw ctx.fail("kernel_shape, strides and dilations must be positive");
  }
  if (pads && pads.some((v) => v < 0)) throw ctx.fail("pads must be non-negative");
  return { kernel: k, strides: s, dilations: d, pads };
}

/**
 * Inference-time output spatial dims of a sliding window (numbers where the input dim and
 * attributes are known).
 */
export function inferWindowDims(
  ctx: InferContext,
  spatial: readonly Dim[],
  kernel: readonly number[] | undefined,
  ceilMode = false,
): Dim[] {
  const r = spatial.length;
  if (!kernel || kernel.length !== r) return new Array<Dim>(r).fill(undefined);
  const ones = new Array<number>(r).fill(1);
  const strides = ctx.attrs.ints("strides", ones);
  const dilations = ctx.attrs.ints("dilations", ones);
  const pads = ctx.attrs.ints("pads", []);
  const autoPad = ctx.attrs.string("auto_pad", "NOTSET");
  return spatial.map((d, i) => {
    if (typeof d !== "number") return undefined;
    const ws = windowShape(
      [d],
      [kernel[i]],
      [strides[i] ?? 1],
      [dilations[i] ?? 1],
      {
        autoPad,
        pads: pads.length === 2 * r ? [pads[i], pads[i + r]] : undefined,
        ceilMode,
      },
    );
    return typeof ws === "string" ? undefined : ws.out[0];
  });
}

// ---------------------------------------------------------------------------------------------
// Conv
// ---------------------------------------------------------------------------------------------

/** Direct depthwise 2-D convolution of one input plane into one output plane (accumulating). */
function depthwise2d(
  x: FloatArray,
  xOff: number,
  w: FloatArray,
  wOff: number,
  y: FloatArray,
  yOff: number,
  g: WindowGeometry,
): void {
  const [H, W] = g.image;
  const [OH, OW] = g.grid;
  const [KH, KW] = g.kernel;
  const [SH, SW] = g.strides;
  const [DH, DW] = g.dilations;
  const [PH, PW] = g.padsBegin;
  for (let kh = 0; kh < KH; kh++) {
    const hStart = kh * DH - PH;
    for (let kw = 0; kw < KW; kw++) {
      // No skipping of zero weights: 0 · NaN (or ∞) must still give NaN.
      const wv = w[wOff + kh * KW + kw];
      const wStart = kw * DW - PW;
      let lo = wStart >= 0 ? 0 : Math.ceil(-wStart / SW);
      let hi = W - wStart <= 0 ? 0 : Math.ceil((W - wStart) / SW);
      if (hi > OW) hi = OW;
      if (lo > hi) lo = hi;
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * SH + hStart;
        if (ih < 0 || ih >= H) continue;
        const q = yOff + oh * OW;
        const src = xOff + ih * W + wStart;
        if (SW === 1) {
          for (let ow = lo; ow < hi; ow++) y[q + ow] += wv * x[src + ow];
        } else {
          let p = src + lo * SW;
          for (let ow = lo; ow < hi; ow++, p += SW) y[q + ow] += wv * x[p];
        }
      }
    }
  }
}

/** Checks X/W ranks and channel counts shared by Conv-like ops; returns the group count. */
function checkConvShapes(ctx: OpContext, x: Tensor, w: Tensor, transposed: boolean): number {
  const group = ctx.attrs.int("group", 1);
  if (group < 1) throw ctx.fail(`group must be positive, got ${group}`);
  const r = x.dims.length - 2;
  if (r < 1) throw ctx.fail(`X must have at least 3 dimensions, got [${x.dims}]`);
  if (w.dims.length !== r + 2) {
    throw ctx.fail(`W must have rank ${r + 2} like X, got [${w.dims}]`);
  }
  const C = x.dims[1];
  if (!transposed) {
    if (C !== w.dims[1] * group) {
      throw ctx.fail(`X has ${C} channels but W expects ${w.dims[1]} x group ${group}`);
    }
    if (w.dims[0] % group !== 0) {
      throw ctx.fail(`W's ${w.dims[0]} output channels are not divisible by group ${group}`);
    }
  } else if (C !== w.dims[0] || C % group !== 0) {
    throw ctx.fail(`X has ${C} channels but W has ${w.dims[0]} (group ${group})`);
  }
  if (x.type !== w.type) throw ctx.fail(`X is ${x.type} but W is ${w.type}`);
  return group;
}

/** Fills each output channel plane with its bias value. */
function fillBias(
  y: FloatArray,
  bias: FloatArray | undefined,
  N: number,
  M: number,
  plane: number,
): void {
  if (!bias) return;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const o = (n * M + m) * plane;
      y.fill(bias[m], o, o + plane);
    }
  }
}

/** The 2-D window of a geometry, by height then width. */
function window2d(g: WindowGeometry): Window2d {
  return {
    H: g.image[0],
    W: g.image[1],
    OH: g.grid[0],
    OW: g.grid[1],
    KH: g.kernel[0],
    KW: g.kernel[1],
    SH: g.strides[0],
    SW: g.strides[1],
    DH: g.dilations[0],
    DW: g.dilations[1],
    PH: g.padsBegin[0],
    PW: g.padsBegin[1],
  };
}

function biasOf(
  ctx: OpContext,
  b: Tensor | undefined,
  M: number,
  like: FloatArray,
): FloatArray | undefined {
  if (!b) return undefined;
  if (b.size !== M) throw ctx.fail(`B must have ${M} elements, got [${b.dims}]`);
  return floatViewAs(b, like);
}

const convCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const w = tensorAt(ctx, inputs, 1);
  const b = optionalTensorAt(ctx, inputs, 2);
  requireFloat(ctx, x, "X");
  const group = checkConvShapes(ctx, x, w, false);
  const r = x.dims.length - 2;
  const [N, C] = x.dims;
  const M = w.dims[0];
  const inSp = x.dims.slice(2);
  const wk = w.dims.slice(2);
  const a = windowAttrs(ctx, r, wk);
  if (a.kernel.some((k, i) => k !== wk[i])) {
    throw ctx.fail(`kernel_shape [${a.kernel}] does not match W's [${wk}]`);
  }
  const ws = windowShape(inSp, a.kernel, a.strides, a.dilations, {
    autoPad: ctx.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
  });
  if (typeof ws === "string") throw ctx.fail(ws);
  const outSp = ws.out;
  const outDims = [N, M, ...outSp];
  const outSize = shapeSize(outSp);
  const inSize = shapeSize(inSp);
  const xd = floatView(x);
  const wd = floatViewAs(w, xd);
  const y = computeBuffer(x.type === "float64" ? "float64" : "float32", N * M * outSize);
  const bias = biasOf(ctx, b, M, xd);
  if (y.length === 0 || C === 0) {
    fillBias(y, bias, N, M, outSize);
    return [floatResult(x.type, y, outDims)];
  }
  fillBias(y, bias, N, M, outSize);
  const Cg = C / group;
  const Mg = M / group;
  const K = shapeSize(a.kernel);
  const geom: WindowGeometry = {
    image: inSp,
    grid: outSp,
    kernel: a.kernel,
    strides: a.strides,
    dilations: a.dilations,
    padsBegin: ws.padsBegin,
  };
  const pointwise = K === 1 && a.strides.every((s) => s === 1) &&
    ws.padsBegin.every((p) => p === 0) && outSp.every((o, i) => o === inSp[i]);
  const beta = bias ? 1 : 0;
  const f32 = xd instanceof Float32Array && wd instanceof Float32Array &&
    y instanceof Float32Array;
  const win = r === 2 ? window2d(geom) : undefined;
  if (Cg === 1 && r === 2 && !pointwise) {
    // Depthwise (and channel-multiplier) convolution: direct loops, no column matrix.
    for (let n = 0; n < N; n++) {
      if (
        f32 &&
        depthwise2dWasm(
          xd,
          n * C * inSize,
          C,
          wd,
          y,
          n * M * outSize,
          M,
          (m) => Math.floor(m / Mg),
          win!,
        )
      ) {
        continue;
      }
      for (let m = 0; m < M; m++) {
        const gi = Math.floor(m / Mg);
        depthwise2d(xd, (n * C + gi) * inSize, wd, m * K, y, (n * M + m) * outSize, geom);
      }
    }
    return [floatResult(x.type, y, outDims)];
  }
  const rows = Cg * K;
  let col: FloatArray | undefined;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const xOff = (n * C + g * Cg) * inSize;
      let bData: FloatArray;
      let bOff = 0;
      if (!pointwise) {
        // float32 2-D: the column matrix is built inside the WebAssembly GEMM's memory.
        if (
          f32 && win &&
          sgemmIm2colWasm(
            Mg,
            { data: wd as Float32Array, offset: g * Mg * rows, ld: rows, trans: false },
            { data: xd as Float32Array, offset: xOff, channels: Cg, ...win },
            { data: y as Float32Array, offset: (n * M + g * Mg) * outSize, ld: outSize },
            1,
            beta,
          )
        ) {
          continue;
        }
        col ??= computeBuffer(x.type === "float64" ? "float64" : "float32", rows * outSize);
        im2col(xd, xOff, Cg, geom, col, 0);
        bData = col;
      } else {
        bData = xd;
        bOff = xOff;
      }
      gemm(
        Mg,
        outSize,
        rows,
        { data: wd, offset: g * Mg * rows, ld: rows },
        { data: bData, offset: bOff, ld: outSize },
        { data: y, offset: (n * M + g * Mg) * outSize, ld: outSize },
        { beta },
      );
    }
  }
  return [floatResult(x.type, y, outDims)];
};

function convInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const wsh = inferShape(ctx, 1);
  if (!xs) return [{ kind: "tensor", elemType }];
  if (xs.length < 3) {
    ctx.error(`X must have at least 3 dimensions, got rank ${xs.length}`);
    return [{ kind: "tensor", elemType }];
  }
  let kernel: number[] | undefined = ctx.attrs.has("kernel_shape")
    ? ctx.attrs.ints("kernel_shape")
    : undefined;
  if (!kernel && wsh && wsh.slice(2).every((d) => typeof d === "number")) {
    kernel = wsh.slice(2) as number[];
  }
  const spatial = inferWindowDims(ctx, xs.slice(2), kernel);
  return [{ kind: "tensor", elemType, shape: [xs[0], wsh ? wsh[0] : undefined, ...spatial] }];
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------------------------

/** Output size and begin pads of a transposed convolution. */
function transposeShape(
  ctx: { attrs: OpContext["attrs"] },
  inSp: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
): { out: number[]; padsBegin: number[] } | string {
  const r = inSp.length;
  const outputPadding = ctx.attrs.ints("output_padding", []);
  const op = outputPadding.length === 0 ? new Array<number>(r).fill(0) : outputPadding;
  if (op.length !== r) return `output_padding has ${op.length} values, expected ${r}`;
  const autoPad = ctx.attrs.string("auto_pad", "NOTSET");
  let outputShape = ctx.attrs.ints("output_shape", []);
  if (outputShape.length === r + 2) outputShape = outputShape.slice(2);
  if (outputShape.length !== 0 && outputShape.length !== r) {
    return `output_shape has ${outputShape.length} values, expected ${r}`;
  }
  const same = autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER";
  if (!same && autoPad !== "NOTSET" && autoPad !== "VALID" && autoPad !== "") {
    return `auto_pad "${autoPad}" is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`;
  }
  const out = new Array<number>(r);
  const padsBegin = new Array<number>(r);
  const full = (i: number) =>
    strides[i] * (inSp[i] - 1) + op[i] + (kernel[i] - 1) * dilations[i] + 1;
  if (outputShape.length === r || same) {
    for (let i = 0; i < r; i++) {
      out[i] = outputShape.length === r ? outputShape[i] : inSp[i] * strides[i];
      const total = full(i) - out[i];
      const half = Math.floor(total / 2);
      padsBegin[i] = autoPad === "SAME_UPPER" ? half : total - half;
    }
    return { out, padsBegin };
  }
  const pads = autoPad === "VALID" ? [] : ctx.attrs.ints("pads", []);
  if (pads.length !== 0 && pads.length !== 2 * r) {
    return `pads has ${pads.length} values, expected ${2 * r}`;
  }
  for (let i = 0; i < r; i++) {
    const pb = pads.length ? pads[i] : 0;
    const pe = pads.length ? pads[i + r] : 0;
    padsBegin[i] = pb;
    out[i] = full(i) - pb - pe;
    if (out[i] < 0) return `output size ${out[i]} along spatial dim ${i} is negative`;
  }
  return { out, padsBegin };
}

const convTransposeCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const w = tensorAt(ctx, inputs, 1);
  const b = optionalTensorAt(ctx, inputs, 2);
  requireFloat(ctx, x, "X");
  const group = checkConvShapes(ctx, x, w, true);
  const r = x.dims.length - 2;
  const [N, C] = x.dims;
  const Mg = w.dims[1];
  const M = Mg * group;
  const inSp = x.dims.slice(2);
  const wk = w.dims.slice(2);
  const a = windowAttrs(ctx, r, wk);
  if (a.kernel.some((k, i) => k !== wk[i])) {
    throw ctx.fail(`kernel_shape [${a.kernel}] does not match W's [${wk}]`);
  }
  const ts = transposeShape(ctx, inSp, a.kernel, a.strides, a.dilations);
  if (typeof ts === "string") throw ctx.fail(ts);
  const outSp = ts.out;
  const outDims = [N, M, ...outSp];
  const outSize = shapeSize(outSp);
  const inSize = shapeSize(inSp);
  const xd = floatView(x);
  const wd = floatViewAs(w, xd);
  const kind = x.type === "float64" ? "float64" : "float32";
  const y = computeBuffer(kind, N * M * outSize);
  const bias = biasOf(ctx, b, M, xd);
  fillBias(y, bias, N, M, outSize);
  if (y.length === 0 || inSize === 0 || C === 0) return [floatResult(x.type, y, outDims)];
  const Cg = C / group;
  const K = shapeSize(a.kernel);
  const rows = Mg * K;
  const col = computeBuffer(kind, rows * inSize);
  const geom: WindowGeometry = {
    image: outSp,
    grid: inSp,
    kernel: a.kernel,
    strides: a.strides,
    dilations: a.dilations,
    padsBegin: ts.padsBegin,
  };
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      // col[Mg*K, inSize] = W_g^T [Mg*K, Cg] x X_g [Cg, inSize]
      gemm(
        rows,
        inSize,
        Cg,
        { data: wd, offset: g * Cg * rows, ld: rows, trans: true },
        { data: xd, offset: (n * C + g * Cg) * inSize, ld: inSize },
        { data: col, offset: 0, ld: inSize },
      );
      col2im(col, 0, Mg, geom, y, (n * M + g * Mg) * outSize);
    }
  }
  return [floatResult(x.type, y, outDims)];
};

function convTransposeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const wsh = inferShape(ctx, 1);
  if (!xs || xs.length < 3) return [{ kind: "tensor", elemType }];
  const r = xs.length - 2;
  const group = ctx.attrs.int("group", 1);
  const mg = wsh?.[1];
  const M = typeof mg === "number" ? mg * group : undefined;
  let kernel: number[] | undefined = ctx.attrs.has("kernel_shape")
    ? ctx.attrs.ints("kernel_shape")
    : undefined;
  if (!kernel && wsh && wsh.slice(2).every((d) => typeof d === "number")) {
    kernel = wsh.slice(2) as number[];
  }
  const spatial = new Array<Dim>(r).fill(undefined);
  const inSp = xs.slice(2);
  if (kernel && kernel.length === r && inSp.every((d) => typeof d === "number")) {
    const ones = new Array<number>(r).fill(1);
    const ts = transposeShape(
      ctx,
      inSp as number[],
      kernel,
      ctx.attrs.ints("strides", ones),
      ctx.attrs.ints("dilations", ones),
    );
    if (typeof ts !== "string") ts.out.forEach((o, i) => (spatial[i] = o));
  }
  return [{ kind: "tensor", elemType, shape: [xs[0], M, ...spatial] }];
}

// ---------------------------------------------------------------------------------------------
// DeformConv
// ---------------------------------------------------------------------------------------------

const deformConvCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const w = tensorAt(ctx, inputs, 1);
  const offset = tensorAt(ctx, inputs, 2);
  const b = optionalTensorAt(ctx, inputs, 3);
  const mask = optionalTensorAt(ctx, inputs, 4);
  requireFloat(ctx, x, "X");
  const group = checkConvShapes(ctx, x, w, false);
  const r = x.dims.length - 2;
  const [N, C] = x.dims;
  const M = w.dims[0];
  const inSp = x.dims.slice(2);
  const wk = w.dims.slice(2);
  const a = windowAttrs(ctx, r, wk);
  if (a.kernel.some((k, i) => k !== wk[i])) {
    throw ctx.fail(`kernel_shape [${a.kernel}] does not match W's [${wk}]`);
  }
  const ws = windowShape(inSp, a.kernel, a.strides, a.dilations, {
    autoPad: "NOTSET",
    pads: a.pads,
  });
  if (typeof ws === "string") throw ctx.fail(ws);
  const outSp = ws.out;
  const K = shapeSize(a.kernel);
  const og = ctx.attrs.int("offset_group", 1);
  if (og < 1 || C % og !== 0) throw ctx.fail(`offset_group ${og} does not divide ${C} channels`);
  const expectOffset = [N, og * K * r, ...outSp];
  if (
    offset.dims.length !== expectOffset.length || offset.dims.some((d, i) => d !== expectOffset[i])
  ) {
    throw ctx.fail(`offset must have shape [${expectOffset}], got [${offset.dims}]`);
  }
  const expectMask = [N, og * K, ...outSp];
  if (
    mask &&
    (mask.dims.length !== expectMask.length || mask.dims.some((d, i) => d !== expectMask[i]))
  ) {
    throw ctx.fail(`mask must have shape [${expectMask}], got [${mask.dims}]`);
  }
  const outDims = [N, M, ...outSp];
  const outSize = shapeSize(outSp);
  const inSize = shapeSize(inSp);
  const kind = x.type === "float64" ? "float64" : "float32";
  const xd = floatView(x);
  const wd = floatViewAs(w, xd);
  const od = floatViewAs(offset, xd);
  const md = mask ? floatViewAs(mask, xd) : undefined;
  const y = computeBuffer(kind, N * M * outSize);
  const bias = biasOf(ctx, b, M, xd);
  fillBias(y, bias, N, M, outSize);
  if (y.length === 0 || C === 0) return [floatResult(x.type, y, outDims)];
  const Cg = C / group;
  const Mg = M / group;
  const cPerOg = C / og;
  const rows = Cg * K;
  const col = computeBuffer(kind, rows * outSize);
  // Per-dim grid coordinates and kernel taps, row-major.
  const inStrides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    inStrides[d] = acc;
    acc *= inSp[d];
  }
  const oIdx = new Int32Array(r);
  const kIdx = new Int32Array(r);
  const base = new Float64Array(r);
  const lowI = new Int32Array(r);
  const frac = new Float64Array(r);
  const corners = 1 << r;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      for (let cl = 0; cl < Cg; cl++) {
        const ci = g * Cg + cl;
        const o = Math.floor(ci / cPerOg);
        const plane = (n * C + ci) * inSize;
        kIdx.fill(0);
        for (let kt = 0; kt < K; kt++) {
          const rowOff = (cl * K + kt) * outSize;
          const offBase = ((n * og + o) * K + kt) * r * outSize;
          const maskBase = ((n * og + o) * K + kt) * outSize;
          oIdx.fill(0);
          for (let p = 0; p < outSize; p++) {
            let inside = true;
            for (let d = 0; d < r; d++) {
              const pos = oIdx[d] * a.strides[d] - ws.padsBegin[d] + kIdx[d] * a.dilations[d] +
                od[offBase + d * outSize + p];
              base[d] = pos;
              const f = Math.floor(pos);
              lowI[d] = f;
              frac[d] = pos - f;
              if (!(pos > -1 && pos < inSp[d])) inside = false;
            }
            let v = 0;
            if (inside) {
              for (let cbits = 0; cbits < corners; cbits++) {
                let wgt = 1;
                let idx = plane;
                let ok = true;
                for (let d = 0; d < r; d++) {
                  const hiSide = (cbits >> (r - 1 - d)) & 1;
                  const ii = lowI[d] + hiSide;
                  if (ii < 0 || ii >= inSp[d]) {
                    ok = false;
                    break;
                  }
                  wgt *= hiSide ? frac[d] : 1 - frac[d];
                  idx += ii * inStrides[d];
                }
                if (ok && wgt !== 0) v += wgt * xd[idx];
              }
            }
            col[rowOff + p] = md ? v * md[maskBase + p] : v;
            for (let d = r - 1; d >= 0; d--) {
              if (++oIdx[d] < outSp[d]) break;
              oIdx[d] = 0;
            }
          }
          for (let d = r - 1; d >= 0; d--) {
            if (++kIdx[d] < a.kernel[d]) break;
            kIdx[d] = 0;
          }
        }
      }
      gemm(
        Mg,
        outSize,
        rows,
        { data: wd, offset: g * Mg * rows, ld: rows },
        { data: col, offset: 0, ld: outSize },
        { data: y, offset: (n * M + g * Mg) * outSize, ld: outSize },
        { beta: 1 },
      );
    }
  }
  return [floatResult(x.type, y, outDims)];
};

function deformConvInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const wsh = inferShape(ctx, 1);
  const os = inferShape(ctx, 2);
  if (!xs) return [{ kind: "tensor", elemType }];
  const spatial = os && os.length === xs.length
    ? os.slice(2)
    : new Array<Dim>(xs.length - 2).fill(undefined);
  return [{ kind: "tensor", elemType, shape: [xs[0], wsh ? wsh[0] : undefined, ...spatial] }];
}

// ---------------------------------------------------------------------------------------------
// Col2Im
// ---------------------------------------------------------------------------------------------

const col2imCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const imageShape = toIntArray(tensorAt(ctx, inputs, 1));
  const blockShape = toIntArray(tensorAt(ctx, inputs, 2));
  const r = imageShape.length;
  if (r < 1 || blockShape.length !== r) {
    throw ctx.fail(
      `image_shape and block_shape must have the same length, got ${r} and ${blockShape.length}`,
    );
  }
  if (x.dims.length !== 3) throw ctx.fail(`input must have rank 3, got [${x.dims}]`);
  const ones = new Array<number>(r).fill(1);
  const strides = ctx.attrs.ints("strides", ones);
  const dilations = ctx.attrs.ints("dilations", ones);
  const pads = ctx.attrs.ints("pads", new Array<number>(2 * r).fill(0));
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r) {
    throw ctx.fail("strides, dilations and pads must match image_shape's length");
  }
  const K = shapeSize(blockShape);
  const [N, CK, L] = x.dims;
  if (K === 0 || CK % K !== 0) {
    throw ctx.fail(`input dim 1 (${CK}) is not divisible by the block size ${K}`);
  }
  const C = CK / K;
  const grid = imageShape.map((s, i) =>
    Math.floor((s + pads[i] + pads[i + r] - dilations[i] * (blockShape[i] - 1) - 1) / strides[i]) +
    1
  );
  if (grid.some((g) => g < 1) || shapeSize(grid) !== L) {
    throw ctx.fail(`input dim 2 (${L}) does not match the ${grid.join("x")} sliding blocks`);
  }
  const geom: WindowGeometry = {
    image: imageShape,
    grid,
    kernel: blockShape,
    strides,
    dilations,
    padsBegin: pads.slice(0, r),
  };
  const outDims = [N, C, ...imageShape];
  const imgSize = shapeSize(imageShape);
  const type = x.type;
  if (FLOAT_IO.has(type)) {
    const xd = floatView(x);
    const y = computeBuffer(type === "float64" ? "float64" : "float32", N * C * imgSize);
    for (let n = 0; n < N; n++) col2im(xd, n * CK * L, C, geom, y, n * C * imgSize);
    return [floatResult(type, y, outDims)];
  }
  if (type === "string" || type === "bool" || type === "complex64" || type === "complex128") {
    throw ctx.unsupported(`Col2Im does not sum ${type} elements`, type);
  }
  const map = windowIndexMap(C, geom);
  const per = map.length;
  if (type === "int64" || type === "uint64") {
    const src = x.data as BigInt64Array | BigUint64Array;
    const out = alloc(type, N * C * imgSize) as BigInt64Array | BigUint64Array;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < per; i++) {
        const t = map[i];
        if (t >= 0) out[n * C * imgSize + t] += src[n * per + i];
      }
    }
    return [new Tensor(type, out, outDims)];
  }
  const src = numbersOf(x);
  const acc = new Float64Array(N * C * imgSize);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < per; i++) {
      const t = map[i];
      if (t >= 0) acc[n * C * imgSize + t] += src[n * per + i];
    }
  }
  return [tensorFromComputed(type, acc, outDims)];
};

function col2imInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const image = ctx.constant(1);
  const block = ctx.constant(2);
  let shape: Dim[] | undefined;
  if (xs && xs.length === 3) {
    const K = block ? shapeSize(toIntArray(block)) : undefined;
    const ck = xs[1];
    const C = typeof ck === "number" && K ? ck / K : undefined;
    shape = [xs[0], C, ...(image ? toIntArray(image) : [])];
    if (!image) shape = undefined;
  }
  return [{ kind: "tensor", elemType, shape }];
}

/** The convolution family. */
export const ops: OpDef[] = [
  { domain: "", opType: "Conv", versions: [1, 11, 22], cpu: convCpu, infer: convInfer },
  {
    domain: "",
    opType: "ConvTranspose",
    versions: [1, 11, 22],
    cpu: convTransposeCpu,
    infer: convTransposeInfer,
  },
  {
    domain: "",
    opType: "DeformConv",
    versions: [19, 22],
    cpu: deformConvCpu,
    infer: deformConvInfer,
  },
  {
    domain: "",
    opType: "Col2Im",
    versions: [18],
    cpu: col2imCpu,
    infer: col2imInfer,
    hostInputs: [1, 2],
  },
];
