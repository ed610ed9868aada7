/**
 * Integer and quantized products: MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv.
 *
 * The integer sums run exactly: operands have their zero points subtracted into float64
 * arrays and go through the GEMM primitive (products of 8-bit values are exact in float64 up
 * to enormous inner dimensions), convolutions through im2col + GEMM, with a direct loop for
 * depthwise kernels. Requantization then follows onnxruntime (MlasRequantizeOutput): the
 * int32 accumulator (bias included) is converted to float32, multiplied by the float32 scale
 * `x_scale * w_scale / y_scale`, rounded half to even, offset by the zero point and saturated.
 *
 * With the session option `int8Accumulation: "x86-u8s8"`, the products that onnxruntime's MLAS
 * computes with its x86 uint8 × int8 kernels (on CPUs without VNNI) are summed as those do,
 * through `igemm` with int16 pair saturation: QLinearMatMul and MatMulInteger with uint8 A and
 * int8 B (pairs along K); QLinearConv with uint8 x and int8 w, except depthwise convolutions
 * (MLAS's depthwise kernels are exact), with the K index walked channels-last (kernel taps
 * outer, input channels inner) as MLAS's NHWC im2col and symmetric-convolution kernels do;
 * ConvInteger with int8 x and uint8 w (onnxruntime passes w as the uint8 GEMM operand), K walked
 * channels-first (NCHW im2col). All other type combinations take exact kernels there too.
 *
 * @module
 */

import { type DataType, integerRange, type NumericArray } from "../pipeline/tensor/dtype.ts";
import { encodeMiniFloat, type MiniFloatType } from "../pipeline/tensor/float.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import { type FloatArray, gemm } from "../pipeline/run/cpu/gemm.ts";
import { im2col, type WindowGeometry } from "../pipeline/run/cpu/im2col.ts";
import { igemm } from "../pipeline/run/cpu/igemm.ts";
import { igemmExactWasm, igemmIm2colExactWasm } from "../pipeline/run/cpu/wasm/sgemm.ts";
import { depthwise2dWasm, type Window2d } from "../pipeline/run/cpu/wasm/conv.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { broadcastDims, matmulTensors } from "./matmul.ts";
import { inferWindowDims, windowAttrs, windowShape } from "./conv.ts";
import {
  alloc,
  broadcastOffsets,
  broadcastShapes,
  numbersOf,
  optionalTensorAt,
  shapeSize,
  tensorAt,
} from "./util.ts";
import { isFloat8, precisionOf, requantize, roundTo } from "./quantize.ts";

const INT8 = new Set<DataType>(["int8", "uint8"]);

function requireInt8(ctx: OpContext, t: Tensor, what: string): void {
  if (!INT8.has(t.type)) {
    throw ctx.unsupported(`${ctx.node.opType} does not accept ${t.type} ${what}`, t.type);
  }
}

/** A zero point or scale that is a scalar or a 1-D vector of `len` (per row/column/channel). */
function vectorParam(
  ctx: OpContext,
  t: Tensor | undefined,
  len: number,
  name: string,
  fallback = 0,
): NumericArray | undefined {
  if (!t) return fallback === 0 ? undefined : Float64Array.of(fallback);
  if (t.size === 1) return numbersOf(t);
  if (t.dims.length === 1 && t.dims[0] === len) return numbersOf(t);
  throw ctx.fail(`${name} must be a scalar or have ${len} elements, got shape [${t.dims}]`);
}

function scalarOrOne(p: NumericArray | undefined, i: number): number {
  return p === undefined ? 0 : p.length === 1 ? p[0] : p[i];
}

/**
 * True when the session emulates onnxruntime's x86 u8s8 kernels and a product of `u` (the
 * uint8 operand) by `s` (the int8 one) goes through them.
 */
function x86Pairs(ctx: OpContext, u: Tensor, s: Tensor): boolean {
  return ctx.options.int8Accumulation === "x86-u8s8" && u.type === "uint8" && s.type === "int8";
}

// ---------------------------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------------------------

/**
 * `t - zp` as a float64 tensor of t's shape. A 1-D zero point of length > 1 is per row
 * (`rows`: dim -2 of a matrix operand A) or per column (dim -1 of B); higher-rank ones
 * broadcast numpy-style (e.g. [D1, D2, M, 1] against [D1, D2, M, K]).
 */
function centered(ctx: OpContext, t: Tensor, zp: Tensor | undefined, rows: boolean, name: string) {
  const v = numbersOf(t);
  const out = new Float64Array(t.size);
  const dims = t.dims;
  if (!zp || zp.size === 1) {
    const z = zp ? numbersOf(zp)[0] : 0;
    for (let i = 0; i < out.length; i++) out[i] = v[i] - z;
    return new Tensor("float64", out, dims);
  }
  const zv = numbersOf(zp);
  const r = dims.length;
  if (zp.dims.length === 1 && r >= 2) {
    const cols = dims[r - 1];
    const len = rows ? dims[r - 2] : cols;
    if (zp.dims[0] !== len) {
      throw ctx.fail(
        `${name} must be a scalar or have ${len} elements (one per ${
          rows ? "row" : "column"
        }), got [${zp.dims}]`,
      );
    }
    for (let i = 0; i < out.length; i++) {
      const p = rows ? Math.floor(i / cols) % len : i % cols;
      out[i] = v[i] - zv[p];
    }
    return new Tensor("float64", out, dims);
  }
  const b = broadcastShapes(zp.dims, dims);
  if (!b || b.length !== r || b.some((d, i) => d !== dims[i])) {
    throw ctx.fail(`${name} of shape [${zp.dims}] does not broadcast to [${dims}]`);
  }
  const map = broadcastOffsets(zp.dims, dims);
  for (let i = 0; i < out.length; i++) out[i] = v[i] - zv[map ? map[i] : i];
  return new Tensor("float64", out, dims);
}

/**
 * The integer sums Σ_k (a − a_zp)(b − b_zp) of a numpy-style matmul of two 8-bit tensors as
 * onnxruntime's x86 u8s8 kernels compute them: raw products in int16-saturated pairs along K,
 * zero points applied exactly (see igemm). Zero points are taken as `centered` reads them and
 * must not vary along K.
 */
function pairSaturatedMatmul(
  ctx: OpContext,
  a: Tensor,
  aZp: Tensor | undefined,
  b: Tensor,
  bZp: Tensor | undefined,
): { acc: Float64Array; dims: number[] } {
  if (a.dims.length === 0 || b.dims.length === 0) throw ctx.fail("inputs must not be scalars");
  const ca = centered(ctx, a, aZp, true, "a_zero_point").data as Float64Array;
  const cb = centered(ctx, b, bZp, false, "b_zero_point").data as Float64Array;
  const aDims = a.dims.length === 1 ? [1, a.dims[0]] : [...a.dims];
  const bDims = b.dims.length === 1 ? [b.dims[0], 1] : [...b.dims];
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const N = bDims[bDims.length - 1];
  if (K !== bDims[bDims.length - 2]) {
    throw ctx.fail(`inner dimensions differ: A is [${a.dims}] and B is [${b.dims}]`);
  }
  const aBatch = aDims.slice(0, -2), bBatch = bDims.slice(0, -2);
  const outBatch = broadcastShapes(aBatch, bBatch);
  if (!outBatch) throw ctx.fail(`batch dims of [${a.dims}] and [${b.dims}] cannot be broadcast`);
  const batch = shapeSize(outBatch);
  const aIdx = broadcastOffsets(aBatch, outBatch);
  const bIdx = broadcastOffsets(bBatch, outBatch);
  const av = numbersOf(a), bv = numbersOf(b);
  const acc = new Float64Array(batch * M * N);
  const za = new Float64Array(M), zb = new Float64Array(N);
  const alongK = () =>
    ctx.unsupported(
      "int8Accumulation x86-u8s8 needs zero points that are constant along the inner dimension",
    );
  for (let t = 0; t < batch; t++) {
    const ao = (aIdx ? aIdx[t] : t) * M * K, bo = (bIdx ? bIdx[t] : t) * K * N;
    // Zero point of each row of A and column of B (raw minus centered value).
    for (let m = 0; m < M; m++) {
      const r = ao + m * K;
      za[m] = K > 0 ? av[r] - ca[r] : 0;
      for (let k = 1; k < K; k++) if (av[r + k] - ca[r + k] !== za[m]) throw alongK();
    }
    for (let n = 0; n < N; n++) {
      zb[n] = K > 0 ? bv[bo + n] - cb[bo + n] : 0;
      for (let k = 1; k < K; k++) {
        const i = bo + k * N + n;
        if (bv[i] - cb[i] !== zb[n]) throw alongK();
      }
    }
    igemm(
      M,
      N,
      K,
      { data: av, offset: ao, ld: K },
      { data: bv, offset: bo, ld: N },
      { data: acc, offset: t * M * N, ld: N },
      { zeroPointA: za, zeroPointB: zb, saturatePairs: true },
    );
  }
  const dims = [...outBatch];
  if (a.dims.length > 1) dims.push(M);
  if (b.dims.length > 1) dims.push(N);
  return { acc, dims };
}

/**
 * `matmulTensors` of two centered 8-bit tensors (integers of magnitude ≤ 255, as float64)
 * on the exact integer kernel of the WebAssembly module; falls back to `matmulTensors`.
 */
function exactMatmul(ctx: OpContext, a: Tensor, b: Tensor): { dims: number[]; acc: Float64Array } {
  const viaF64 = () => {
    const p = matmulTensors(ctx, a, b);
    return { dims: p.dims as number[], acc: p.data as Float64Array };
  };
  if (a.dims.length === 0 || b.dims.length === 0) return viaF64();
  const aDims = a.dims.length === 1 ? [1, a.dims[0]] : [...a.dims];
  const bDims = b.dims.length === 1 ? [b.dims[0], 1] : [...b.dims];
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const N = bDims[bDims.length - 1];
  const outBatch = broadcastShapes(aDims.slice(0, -2), bDims.slice(0, -2));
  if (K !== bDims[bDims.length - 2] || !outBatch || M * N * K === 0) return viaF64();
  const batch = shapeSize(outBatch);
  const aIdx = broadcastOffsets(aDims.slice(0, -2), outBatch);
  const bIdx = broadcastOffsets(bDims.slice(0, -2), outBatch);
  const a32 = Float32Array.from(a.data as Float64Array);
  const b32 = Float32Array.from(b.data as Float64Array);
  const out = new Int32Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const ok = igemmExactWasm(
      M,
      N,
      K,
      { data: a32, offset: (aIdx ? aIdx[t] : t) * M * K, ld: K, trans: false },
      { data: b32, offset: (bIdx ? bIdx[t] : t) * K * N, ld: N, trans: false },
      { data: out, offset: t * M * N, ld: N },
      false,
    );
    if (!ok) return viaF64();
  }
  const dims = [...outBatch];
  if (a.dims.length > 1) dims.push(M);
  if (b.dims.length > 1) dims.push(N);
  return { dims, acc: Float64Array.from(out) };
}

const matmulIntegerCpu: OpDef["cpu"] = (ctx, inputs) => {
  const a = tensorAt(ctx, inputs, 0);
  const b = tensorAt(ctx, inputs, 1);
  requireInt8(ctx, a, "A");
  requireInt8(ctx, b, "B");
  const azp = optionalTensorAt(ctx, inputs, 2);
  const bzp = optionalTensorAt(ctx, inputs, 3);
  if (azp && azp.type !== a.type) throw ctx.fail(`a_zero_point is ${azp.type} but A is ${a.type}`);
  if (bzp && bzp.type !== b.type) throw ctx.fail(`b_zero_point is ${bzp.type} but B is ${b.type}`);
  if (x86Pairs(ctx, a, b)) {
    const p = pairSaturatedMatmul(ctx, a, azp, b, bzp);
    return [new Tensor("int32", Int32Array.from(p.acc), p.dims)];
  }
  const c = exactMatmul(
    ctx,
    centered(ctx, a, azp, true, "a_zero_point"),
    centered(ctx, b, bzp, false, "b_zero_point"),
  );
  return [new Tensor("int32", Int32Array.from(c.acc), c.dims)];
};

/** Output shape of a numpy matmul of two symbolic shapes (undefined when unknown). */
function matmulShape(
  ctx: InferContext,
  a: Dim[] | undefined,
  b: Dim[] | undefined,
): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const ad = a.length === 1 ? [1, a[0]] : a;
  const bd = b.length === 1 ? [b[0], 1] : b;
  const out = broadcastDims(ctx, ad.slice(0, -2), bd.slice(0, -2));
  if (a.length > 1) out.push(ad[ad.length - 2]);
  if (b.length > 1) out.push(bd[bd.length - 1]);
  return out;
}

function shapeOf(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function elemOf(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

function matmulIntegerInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [{
    kind: "tensor",
    elemType: "int32",
    shape: matmulShape(ctx, shapeOf(ctx.input(0)), shapeOf(ctx.input(1))),
  }];
}

const QMM_TYPES_21 = new Set<DataType>(["int8", "uint8", ...[
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
] as DataType[]]);

const qlinearMatmulCpu: OpDef["cpu"] = (ctx, inputs) => {
  const a = tensorAt(ctx, inputs, 0);
  const aScale = tensorAt(ctx, inputs, 1);
  const aZp = optionalTensorAt(ctx, inputs, 2);
  const b = tensorAt(ctx, inputs, 3);
  const bScale = tensorAt(ctx, inputs, 4);
  const bZp = optionalTensorAt(ctx, inputs, 5);
  const yScale = tensorAt(ctx, inputs, 6);
  const yZp = optionalTensorAt(ctx, inputs, 7);
  const allowed = ctx.version >= 21 ? QMM_TYPES_21 : INT8;
  const outType = yZp?.type ?? a.type;
  for (const [t, what] of [[a, "a"], [b, "b"]] as const) {
    if (!allowed.has(t.type)) {
      throw ctx.unsupported(
        `QLinearMatMul-${ctx.version} does not accept ${t.type} ${what}`,
        t.type,
      );
    }
  }
  if (!allowed.has(outType)) {
    throw ctx.unsupported(`QLinearMatMul-${ctx.version} cannot produce ${outType}`, outType);
  }
  const scaleTypes = ctx.version >= 21 ? ["float32", "float16", "bfloat16"] : ["float32"];
  for (const s of [aScale, bScale, yScale]) {
    if (!scaleTypes.includes(s.type)) {
      throw ctx.unsupported(`QLinearMatMul does not accept ${s.type} scales`, s.type);
    }
  }
  if (aScale.type !== bScale.type || aScale.type !== yScale.type) {
    throw ctx.fail("a_scale, b_scale and y_scale must have the same type");
  }
  if (aZp && aZp.type !== a.type) throw ctx.fail(`a_zero_point is ${aZp.type} but a is ${a.type}`);
  if (bZp && bZp.type !== b.type) throw ctx.fail(`b_zero_point is ${bZp.type} but b is ${b.type}`);
  let c: { dims: number[]; acc: Float64Array };
  if (x86Pairs(ctx, a, b)) {
    c = pairSaturatedMatmul(ctx, a, aZp, b, bZp);
  } else {
    // Products of centered operands (float8 operands are their values; their zero point is 0).
    const ca = centered(ctx, a, isFloat8(a.type) ? undefined : aZp, true, "a_zero_point");
    const cb = centered(ctx, b, isFloat8(b.type) ? undefined : bZp, false, "b_zero_point");
    if (isFloat8(a.type) || isFloat8(b.type)) {
      const p = matmulTensors(ctx, ca, cb);
      c = { dims: p.dims as number[], acc: p.data as Float64Array };
    } else {
      c = exactMatmul(ctx, ca, cb);
    }
  }
  const acc = c.acc;
  const M = a.dims.length > 1 ? a.dims[a.dims.length - 2] : 1;
  const N = b.dims.length > 1 ? b.dims[b.dims.length - 1] : 1;
  const sa = vectorParam(ctx, aScale, M, "a_scale")!;
  const sb = vectorParam(ctx, bScale, N, "b_scale")!;
  const sy = vectorParam(ctx, yScale, M, "y_scale")!;
  const zy = vectorParam(ctx, yZp, M, "y_zero_point");
  const prec = precisionOf(aScale.type);
  const out = alloc(outType, acc.length) as NumericArray;
  const perElem = sa.length > 1 || sb.length > 1 || sy.length > 1 || (zy?.length ?? 1) > 1;
  const scaleAt = (i: number, j: number): number =>
    roundTo(prec, roundTo(prec, scalarOrOne(sa, i) * scalarOrOne(sb, j)) / scalarOrOne(sy, i));
  if (isFloat8(outType)) {
    for (let f = 0; f < acc.length; f++) {
      const j = f % N, i = Math.floor(f / N) % M;
      const v = Math.fround(acc[f] * scaleAt(i, j));
      out[f] = encodeMiniFloat(outType as MiniFloatType, v, true);
    }
    return [new Tensor(outType, out, c.dims)];
  }
  const [lo, hi] = integerRange(outType);
  if (!perElem) {
    const s = scaleAt(0, 0), z = scalarOrOne(zy, 0);
    for (let f = 0; f < acc.length; f++) out[f] = requantize(acc[f], s, z, lo, hi);
  } else {
    for (let f = 0; f < acc.length; f++) {
      const j = f % N, i = Math.floor(f / N) % M;
      out[f] = requantize(acc[f], scaleAt(i, j), scalarOrOne(zy, i), lo, hi);
    }
  }
  return [new Tensor(outType, out, c.dims)];
};

function qlinearMatmulInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = ctx.hasInput(7) ? elemOf(ctx.input(7)) : elemOf(ctx.input(0));
  return [{
    kind: "tensor",
    elemType,
    shape: matmulShape(ctx, shapeOf(ctx.input(0)), shapeOf(ctx.input(3))),
  }];
}

// ---------------------------------------------------------------------------------------------
// Convolutions
// ---------------------------------------------------------------------------------------------

/** The exact integer sums of a convolution, in float64, and the output shape. */
interface ConvSums {
  acc: Float64Array;
  dims: number[];
  /** Output channels. */
  M: number;
  /** Output spatial size. */
  plane: number;
}

/** Direct depthwise 2-D convolution of one plane, accumulating into y. */
function depthwisePlane(
  x: Float64Array,
  xOff: number,
  w: Float64Array,
  wOff: number,
  y: Float64Array,
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
    const h0 = kh * DH - PH;
    for (let kw = 0; kw < KW; kw++) {
      const wv = w[wOff + kh * KW + kw];
      if (wv === 0) continue;
      const w0 = kw * DW - PW;
      // Output columns whose tap lands inside the row: 0 <= ow*SW + w0 < W.
      const lo = w0 >= 0 ? 0 : Math.ceil(-w0 / SW);
      const hi = Math.max(lo, Math.min(OW, W - w0 <= 0 ? 0 : Math.ceil((W - w0) / SW)));
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * SH + h0;
        if (ih < 0 || ih >= H) continue;
        const q = yOff + oh * OW;
        let p = xOff + ih * W + w0 + lo * SW;
        for (let ow = lo; ow < hi; ow++, p += SW) y[q + ow] += wv * x[p];
      }
    }
  }
}

/**
 * Where onnxruntime's x86 u8s8 kernels would sum a convolution's products in int16-saturated
 * pairs, the order their K index (input channel, kernel tap) runs in: `channels-last` for
 * QLinearConv (NHWC im2col: taps outer, channels inner), `channels-first` for ConvInteger
 * (NCHW im2col: channels outer, taps inner).
 */
type PairOrder = "channels-last" | "channels-first";

/**
 * Sum over the window of (x - xZp) * (w - wZp[m]) plus bias[m], for every output element of
 * a convolution with the node's kernel_shape/strides/dilations/pads/auto_pad/group; exact, or
 * with `pairs` summed as onnxruntime's x86 u8s8 GEMM does (every group through it).
 */
function integerConv(
  ctx: OpContext,
  x: Tensor,
  w: Tensor,
  xZp: number,
  wZp: NumericArray | undefined,
  bias: NumericArray | undefined,
  pairs?: PairOrder,
): ConvSums {
  const group = ctx.attrs.int("group", 1);
  if (group < 1) throw ctx.fail(`group must be positive, got ${group}`);
  const r = x.dims.length - 2;
  if (r < 1) throw ctx.fail(`x must have at least 3 dimensions, got [${x.dims}]`);
  if (w.dims.length !== r + 2) throw ctx.fail(`w must have rank ${r + 2} like x, got [${w.dims}]`);
  const [N, C] = x.dims;
  const M = w.dims[0];
  if (C !== w.dims[1] * group) {
    throw ctx.fail(`x has ${C} channels but w expects ${w.dims[1]} x group ${group}`);
  }
  if (M % group !== 0) {
    throw ctx.fail(`w's ${M} output channels are not divisible by group ${group}`);
  }
  const inSp = x.dims.slice(2);
  const wk = w.dims.slice(2);
  const a = windowAttrs(ctx, r, wk);
  if (a.kernel.some((k, i) => k !== wk[i])) {
    throw ctx.fail(`kernel_shape [${a.kernel}] does not match w's [${wk}]`);
  }
  const ws = windowShape(inSp, a.kernel, a.strides, a.dilations, {
    autoPad: ctx.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
  });
  if (typeof ws === "string") throw ctx.fail(ws);
  const outSp = ws.out;
  const plane = shapeSize(outSp);
  const inSize = shapeSize(inSp);
  const K = shapeSize(a.kernel);
  const Cg = C / group, Mg = M / group;
  const rows = Cg * K;
  const acc = new Float64Array(N * M * plane);
  const dims = [N, M, ...outSp];
  if (bias) {
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) acc.fill(bias[m], (n * M + m) * plane, (n * M + m + 1) * plane);
    }
  }
  if (acc.length === 0 || C === 0) return { acc, dims, M, plane };
  const xv = numbersOf(x);
  const wv = numbersOf(w);
  // Centered values (|v| ≤ 255: exact in float32), float64 copies made only when needed.
  const x32 = new Float32Array(x.size);
  for (let i = 0; i < x32.length; i++) x32[i] = xv[i] - xZp;
  const w32 = new Float32Array(w.size);
  for (let m = 0, i = 0; m < M; m++) {
    const z = scalarOrOne(wZp, m);
    for (let k = 0; k < rows; k++, i++) w32[i] = wv[i] - z;
  }
  let xs64: Float64Array | undefined;
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
  if (pairs) {
    // Raw 8-bit values, padding reading the input zero point, through igemm.
    let kOrder: Int32Array | undefined;
    if (pairs === "channels-last") {
      kOrder = new Int32Array(rows);
      for (let t = 0, p = 0; t < K; t++) for (let c = 0; c < Cg; c++) kOrder[p++] = c * K + t;
    }
    const wz = new Float64Array(M);
    for (let m = 0; m < M; m++) wz[m] = scalarOrOne(wZp, m);
    const raw = pointwise ? undefined : new Float64Array(rows * plane);
    for (let n = 0; n < N; n++) {
      for (let g = 0; g < group; g++) {
        const xOff = (n * C + g * Cg) * inSize;
        let src: NumericArray = xv;
        let off = xOff;
        if (raw) {
          xs64 ??= Float64Array.from(x32);
          im2col(xs64, xOff, Cg, geom, raw, 0);
          for (let i = 0; i < raw.length; i++) raw[i] += xZp;
          src = raw;
          off = 0;
        }
        igemm(
          Mg,
          plane,
          rows,
          { data: wv, offset: g * Mg * rows, ld: rows },
          { data: src, offset: off, ld: plane },
          { data: acc, offset: (n * M + g * Mg) * plane, ld: plane },
          {
            zeroPointA: wz.subarray(g * Mg, (g + 1) * Mg),
            zeroPointB: xZp,
            kOrder,
            saturatePairs: true,
            accumulate: true,
          },
        );
      }
    }
    return { acc, dims, M, plane };
  }
  if (exactConvWasm(x32, w32, acc, N, C, M, group, r, K, inSize, plane, pointwise, geom)) {
    return { acc, dims, M, plane };
  }
  const xs = xs64 ?? Float64Array.from(x32);
  const wsz = Float64Array.from(w32);
  if (Cg === 1 && r === 2 && !pointwise) {
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const g = Math.floor(m / Mg);
        depthwisePlane(xs, (n * C + g) * inSize, wsz, m * K, acc, (n * M + m) * plane, geom);
      }
    }
    return { acc, dims, M, plane };
  }
  const col = pointwise ? undefined : new Float64Array(rows * plane);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const xOff = (n * C + g * Cg) * inSize;
      let src: FloatArray = xs;
      let off = xOff;
      if (col) {
        im2col(xs, xOff, Cg, geom, col, 0);
        src = col;
        off = 0;
      }
      gemm(
        Mg,
        plane,
        rows,
        { data: wsz, offset: g * Mg * rows, ld: rows },
        { data: src, offset: off, ld: plane },
        { data: acc, offset: (n * M + g * Mg) * plane, ld: plane },
        { beta: 1 },
      );
    }
  }
  return { acc, dims, M, plane };
}

/**
 * The exact sums of {@link integerConv} (acc += Σ x·w over centered 8-bit values, |v| ≤ 255)
 * on the WebAssembly kernels: float32 products summed exactly over blocks of at most 256
 * terms, then added up in int32 (no realistic convolution overflows int32). Returns false,
 * leaving acc untouched, when the kernels are unavailable.
 */
function exactConvWasm(
  x32: Float32Array,
  w32: Float32Array,
  acc: Float64Array,
  N: number,
  C: number,
  M: number,
  group: number,
  r: number,
  K: number,
  inSize: number,
  plane: number,
  pointwise: boolean,
  g: WindowGeometry,
): boolean {
  const Cg = C / group, Mg = M / group, rows = Cg * K;
  const win: Window2d | undefined = r === 2
    ? {
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
    }
    : undefined;
  if (Cg === 1 && !pointwise) {
    // Depthwise: sums of K ≤ 256 products are exact in float32.
    if (!win || K > 256) return false;
    const y = new Float32Array(N * M * plane);
    for (let n = 0; n < N; n++) {
      const ok = depthwise2dWasm(
        x32,
        n * C * inSize,
        C,
        w32,
        y,
        n * M * plane,
        M,
        (m) => Math.floor(m / Mg),
        win,
      );
      if (!ok) return false;
    }
    for (let i = 0; i < acc.length; i++) acc[i] += y[i];
    return true;
  }
  const out = new Int32Array(acc.length);
  const col = !pointwise && !win ? new Float32Array(rows * plane) : undefined;
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < group; gi++) {
      const xOff = (n * C + gi * Cg) * inSize;
      const a = { data: w32, offset: gi * Mg * rows, ld: rows, trans: false };
      const c = { data: out, offset: (n * M + gi * Mg) * plane, ld: plane };
      let ok: boolean;
      if (pointwise || col) {
        if (col) im2col(x32, xOff, Cg, g, col, 0);
        const b = col
          ? { data: col, offset: 0, ld: plane, trans: false }
          : { data: x32, offset: xOff, ld: plane, trans: false };
        ok = igemmExactWasm(Mg, plane, rows, a, b, c, false);
      } else {
        ok = igemmIm2colExactWasm(
          Mg,
          a,
          { data: x32, offset: xOff, channels: Cg, ...win! },
          c,
          false,
        );
      }
      if (!ok) return false;
    }
  }
  for (let i = 0; i < acc.length; i++) acc[i] += out[i];
  return true;
}

const convIntegerCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const w = tensorAt(ctx, inputs, 1);
  requireInt8(ctx, x, "x");
  requireInt8(ctx, w, "w");
  const xZpT = optionalTensorAt(ctx, inputs, 2);
  const wZpT = optionalTensorAt(ctx, inputs, 3);
  if (xZpT && xZpT.type !== x.type) {
    throw ctx.fail(`x_zero_point is ${xZpT.type} but x is ${x.type}`);
  }
  if (wZpT && wZpT.type !== w.type) {
    throw ctx.fail(`w_zero_point is ${wZpT.type} but w is ${w.type}`);
  }
  if (xZpT && xZpT.size !== 1) {
    throw ctx.fail(`x_zero_point must be a scalar, got shape [${xZpT.dims}]`);
  }
  const xZp = xZpT ? numbersOf(xZpT)[0] : 0;
  const M = w.dims[0] ?? 0;
  const wZp = vectorParam(ctx, wZpT, M, "w_zero_point");
  // onnxruntime multiplies w (its GEMM's A operand) by x (B): the u8s8 kernels take uint8 w.
  const pairs = x86Pairs(ctx, w, x) ? "channels-first" : undefined;
  const s = integerConv(ctx, x, w, xZp, wZp, undefined, pairs);
  return [new Tensor("int32", Int32Array.from(s.acc), s.dims)];
};

const qlinearConvCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const xScale = tensorAt(ctx, inputs, 1);
  const xZpT = optionalTensorAt(ctx, inputs, 2);
  const w = tensorAt(ctx, inputs, 3);
  const wScale = tensorAt(ctx, inputs, 4);
  const wZpT = optionalTensorAt(ctx, inputs, 5);
  const yScale = tensorAt(ctx, inputs, 6);
  const yZpT = optionalTensorAt(ctx, inputs, 7);
  const b = optionalTensorAt(ctx, inputs, 8);
  requireInt8(ctx, x, "x");
  requireInt8(ctx, w, "w");
  const outType = yZpT?.type ?? x.type;
  if (!INT8.has(outType)) throw ctx.unsupported(`QLinearConv cannot produce ${outType}`, outType);
  for (const s of [xScale, wScale, yScale]) {
    if (s.type !== "float32") {
      throw ctx.unsupported(`QLinearConv does not accept ${s.type} scales`, s.type);
    }
  }
  if (xZpT && xZpT.type !== x.type) {
    throw ctx.fail(`x_zero_point is ${xZpT.type} but x is ${x.type}`);
  }
  if (wZpT && wZpT.type !== w.type) {
    throw ctx.fail(`w_zero_point is ${wZpT.type} but w is ${w.type}`);
  }
  if (b && b.type !== "int32") throw ctx.fail(`B must be int32, got ${b.type}`);
  const M = w.dims[0] ?? 0;
  const xs = vectorParam(ctx, xScale, 1, "x_scale")!;
  const xZp = scalarOrOne(vectorParam(ctx, xZpT, 1, "x_zero_point"), 0);
  const ws = vectorParam(ctx, wScale, M, "w_scale")!;
  const wZp = vectorParam(ctx, wZpT, M, "w_zero_point");
  const ys = vectorParam(ctx, yScale, 1, "y_scale")!;
  const yZp = scalarOrOne(vectorParam(ctx, yZpT, 1, "y_zero_point"), 0);
  const bias = b ? numbersOf(b) : undefined;
  if (bias && bias.length !== M) throw ctx.fail(`B must have ${M} elements, got [${b!.dims}]`);
  // MLAS's depthwise kernels (one input and one output channel per group) are exact.
  const group = ctx.attrs.int("group", 1);
  const depthwise = w.dims[1] === 1 && M === group;
  const pairs = x86Pairs(ctx, x, w) && !depthwise ? "channels-last" : undefined;
  const s = integerConv(ctx, x, w, xZp, wZp, bias, pairs);
  // Per output channel: x_scale * w_scale[m] / y_scale in float32, as onnxruntime computes it.
  const scales = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    scales[m] = Math.fround(Math.fround(xs[0] * scalarOrOne(ws, m)) / ys[0]);
  }
  const [lo, hi] = integerRange(outType);
  const out = alloc(outType, s.acc.length) as NumericArray;
  const planes = s.acc.length / Math.max(1, s.plane);
  for (let pi = 0; pi < planes; pi++) {
    const sc = scales[pi % s.M];
    for (let f = pi * s.plane, e = f + s.plane; f < e; f++) {
      out[f] = requantize(s.acc[f], sc, yZp, lo, hi);
    }
  }
  return [new Tensor(outType, out, s.dims)];
};

function convLikeInfer(
  ctx: InferContext,
  xi: number,
  wi: number,
  elemType: DataType | undefined,
): (ValueType | undefined)[] {
  const xs = shapeOf(ctx.input(xi));
  const wsh = shapeOf(ctx.input(wi));
  if (!xs) return [{ kind: "tensor", elemType }];
  if (xs.length < 3) {
    ctx.error(`x must have at least 3 dimensions, got rank ${xs.length}`);
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

function convIntegerInfer(ctx: InferContext): (ValueType | undefined)[] {
  return convLikeInfer(ctx, 0, 1, "int32");
}

function qlinearConvInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = ctx.hasInput(7) ? elemOf(ctx.input(7)) : elemOf(ctx.input(0));
  return convLikeInfer(ctx, 0, 3, elemType);
}

/** The integer product family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "MatMulInteger",
    versions: [10],
    cpu: matmulIntegerCpu,
    infer: matmulIntegerInfer,
  },
  {
    domain: "",
    opType: "QLinearMatMul",
    versions: [10, 21],
    cpu: qlinearMatmulCpu,
    infer: qlinearMatmulInfer,
  },
  {
    domain: "",
    opType: "ConvInteger",
    versions: [10],
    cpu: convIntegerCpu,
    infer: convIntegerInfer,
  },
  {
    domain: "",
    opType: "QLinearConv",
    versions: [10],
    cpu: qlinearConvCpu,
    infer: qlinearConvInfer,
  },
];
