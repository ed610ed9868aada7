/**
 * The com.microsoft contrib operators real models carry (onnxruntime's ContribOperators.md):
 * quantized elementwise ops (QLinearAdd, QLinearMul, QLinearSigmoid,
 * QLinearGlobalAveragePool) and float fusions (Gelu, BiasGelu, FastGelu,
 * SkipLayerNormalization, FusedMatMul, FusedConv, FusedGemm).
 *
 * The quantized kernels reproduce onnxruntime's CPU arithmetic (float32 scale ratios, round
 * half to even, saturation) so that quantized models give its outputs bit for bit.
 *
 * @module
 */

import { type DataType, integerRange, type NumericArray } from "../pipeline/tensor/dtype.ts";
import { Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { erf } from "./elementwise.ts";
import { broadcastDims, matmulTensors } from "./matmul.ts";
import { ops as convOps } from "./conv.ts";
import { ops as matmulOps } from "./matmul.ts";
import {
  alloc,
  broadcastOffsets,
  broadcastShapes,
  numbersOf,
  optionalTensorAt,
  shapeSize,
  stridesOf,
  tensorAt,
  tensorFromComputed,
} from "./util.ts";
import { requantize, roundHalfEven, saturateRound, scalarParam } from "./quantize.ts";

const INT8 = new Set<DataType>(["int8", "uint8"]);
const FLOATS = new Set<DataType>(["float32", "float16", "bfloat16", "float64"]);

function shapeOf(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function elemOf(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

function sameAsInput0(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  return [{ kind: "tensor", elemType: elemOf(x), shape: shapeOf(x) }];
}

function requireInt8(ctx: OpContext, t: Tensor, what: string): void {
  if (!INT8.has(t.type)) {
    throw ctx.unsupported(`${ctx.node.opType} does not accept ${t.type} ${what}`, t.type);
  }
}

function requireFloatType(ctx: OpContext, t: Tensor, what: string): void {
  if (!FLOATS.has(t.type)) {
    throw ctx.unsupported(`${ctx.node.opType} does not accept ${t.type} ${what}`, t.type);
  }
}

/** Checks an optional zero point has the quantized tensor's type; returns its value. */
function zeroPoint(ctx: OpContext, zp: Tensor | undefined, like: Tensor, name: string): number {
  if (zp && zp.type !== like.type) {
    throw ctx.fail(`${name} is ${zp.type} but expected ${like.type}`);
  }
  return scalarParam(ctx, zp, name);
}

function floatScale(ctx: OpContext, t: Tensor, name: string): number {
  if (t.type !== "float32") throw ctx.unsupported(`${name} must be float32, got ${t.type}`, t.type);
  return scalarParam(ctx, t, name);
}

/** The float32 fused multiply-add x * y + z rounded once (x*y is exact in float64 here). */
function fma32(x: number, y: number, z: number): number {
  return Math.fround(x * y + z);
}

// ---------------------------------------------------------------------------------------------
// QLinearAdd / QLinearMul
// ---------------------------------------------------------------------------------------------

interface QBinaryArgs {
  a: Tensor;
  b: Tensor;
  sa: number;
  za: number;
  sb: number;
  zb: number;
  sc: number;
  zc: number;
  outDims: number[];
  aMap: Int32Array | undefined;
  bMap: Int32Array | undefined;
}

function qbinaryArgs(ctx: OpContext, ins: (Value | undefined)[]): QBinaryArgs {
  const a = tensorAt(ctx, ins, 0);
  const b = tensorAt(ctx, ins, 3);
  requireInt8(ctx, a, "A");
  if (b.type !== a.type) throw ctx.fail(`A is ${a.type} but B is ${b.type}`);
  const sa = floatScale(ctx, tensorAt(ctx, ins, 1), "A_scale");
  const za = zeroPoint(ctx, optionalTensorAt(ctx, ins, 2), a, "A_zero_point");
  const sb = floatScale(ctx, tensorAt(ctx, ins, 4), "B_scale");
  const zb = zeroPoint(ctx, optionalTensorAt(ctx, ins, 5), a, "B_zero_point");
  const sc = floatScale(ctx, tensorAt(ctx, ins, 6), "C_scale");
  const zc = zeroPoint(ctx, optionalTensorAt(ctx, ins, 7), a, "C_zero_point");
  const outDims = broadcastShapes(a.dims, b.dims);
  if (!outDims) throw ctx.fail(`shapes [${a.dims}] and [${b.dims}] cannot be broadcast`);
  return {
    a,
    b,
    sa,
    za,
    sb,
    zb,
    sc,
    zc,
    outDims,
    aMap: broadcastOffsets(a.dims, outDims),
    bMap: broadcastOffsets(b.dims, outDims),
  };
}

/**
 * C = quantize(dequantize(A) + dequantize(B)) computed as onnxruntime's x86 kernel does:
 * C = round(a * (sA/sC) + b * (sB/sC) + (zC - zA*sA/sC - zB*sB/sC)) in float32, with a
 * scalar operand folded into the constant term first.
 */
const qlinearAddCpu: OpDef["cpu"] = (ctx, inputs) => {
  const q = qbinaryArgs(ctx, inputs);
  const rA = Math.fround(q.sa / q.sc);
  const rB = Math.fround(q.sb / q.sc);
  const fixed = Math.fround(q.zc - (rA * q.za + rB * q.zb));
  const [lo, hi] = integerRange(q.a.type);
  const av = q.a.data as NumericArray, bv = q.b.data as NumericArray;
  const n = shapeSize(q.outDims);
  const out = alloc(q.a.type, n) as NumericArray;
  const sat = (v: number) => {
    const r = roundHalfEven(v);
    return r < lo ? lo : r > hi ? hi : r;
  };
  if (q.a.size === 1 && n > 0) {
    const f = Math.fround(fixed + Math.fround(av[0] * rA));
    for (let i = 0; i < n; i++) out[i] = sat(fma32(bv[q.bMap ? q.bMap[i] : i], rB, f));
  } else if (q.b.size === 1 && n > 0) {
    const f = Math.fround(fixed + Math.fround(bv[0] * rB));
    for (let i = 0; i < n; i++) out[i] = sat(fma32(av[q.aMap ? q.aMap[i] : i], rA, f));
  } else {
    for (let i = 0; i < n; i++) {
      const t = fma32(bv[q.bMap ? q.bMap[i] : i], rB, fixed);
      out[i] = sat(fma32(av[q.aMap ? q.aMap[i] : i], rA, t));
    }
  }
  return [new Tensor(q.a.type, out, q.outDims)];
};

/**
 * C = quantize(dequantize(A) * dequantize(B)) as onnxruntime computes it:
 * round((a - zA) * (b - zB) * (sA*sB/sC) + zC) in float32.
 */
const qlinearMulCpu: OpDef["cpu"] = (ctx, inputs) => {
  const q = qbinaryArgs(ctx, inputs);
  const ratio = Math.fround(Math.fround(q.sa * q.sb) / q.sc);
  const [lo, hi] = integerRange(q.a.type);
  const av = q.a.data as NumericArray, bv = q.b.data as NumericArray;
  const n = shapeSize(q.outDims);
  const out = alloc(q.a.type, n) as NumericArray;
  for (let i = 0; i < n; i++) {
    const prod = (av[q.aMap ? q.aMap[i] : i] - q.za) * (bv[q.bMap ? q.bMap[i] : i] - q.zb);
    const v = Math.fround(Math.fround(Math.fround(prod) * ratio) + q.zc);
    const r = roundHalfEven(v);
    out[i] = r < lo ? lo : r > hi ? hi : r;
  }
  return [new Tensor(q.a.type, out, q.outDims)];
};

function qbinaryInfer(ctx: InferContext): (ValueType | undefined)[] {
  const a = shapeOf(ctx.input(0));
  const b = shapeOf(ctx.input(3));
  return [{
    kind: "tensor",
    elemType: elemOf(ctx.input(0)),
    shape: a && b ? broadcastDims(ctx, a, b) : undefined,
  }];
}

// ---------------------------------------------------------------------------------------------
// QLinearSigmoid
// ---------------------------------------------------------------------------------------------

/** Y = quantize(sigmoid(dequantize(X))), through a 256-entry table as onnxruntime does. */
const qlinearSigmoidCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireInt8(ctx, x, "X");
  const sx = floatScale(ctx, tensorAt(ctx, inputs, 1), "X_scale");
  const zx = zeroPoint(ctx, optionalTensorAt(ctx, inputs, 2), x, "X_zero_point");
  const sy = floatScale(ctx, tensorAt(ctx, inputs, 3), "Y_scale");
  const zy = zeroPoint(ctx, optionalTensorAt(ctx, inputs, 4), x, "Y_zero_point");
  const [lo, hi] = integerRange(x.type);
  const table = new Float64Array(256);
  for (let v = lo; v <= hi; v++) {
    const f = Math.fround(sx * (v - zx));
    const s = Math.fround(1 / (1 + Math.exp(-f)));
    table[v - lo] = saturateRound(Math.fround(s / sy), zy, lo, hi);
  }
  const xv = x.data as NumericArray;
  const out = alloc(x.type, x.size) as NumericArray;
  for (let i = 0; i < out.length; i++) out[i] = table[xv[i] - lo];
  return [new Tensor(x.type, out, x.dims)];
};

// ---------------------------------------------------------------------------------------------
// QLinearGlobalAveragePool
// ---------------------------------------------------------------------------------------------

/**
 * Y = quantize(mean over the spatial dims of dequantize(X)) as onnxruntime computes it: an
 * integer sum minus zX * size, times the float32 scale sX / (sY * size), rounded half to even.
 */
const qlinearGlobalAvgPoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireInt8(ctx, x, "X");
  const sx = floatScale(ctx, tensorAt(ctx, inputs, 1), "x_scale");
  const zx = zeroPoint(ctx, optionalTensorAt(ctx, inputs, 2), x, "x_zero_point");
  const sy = floatScale(ctx, tensorAt(ctx, inputs, 3), "y_scale");
  const zy = zeroPoint(ctx, optionalTensorAt(ctx, inputs, 4), x, "y_zero_point");
  const last = ctx.attrs.int("channels_last", 0) !== 0;
  const r = x.dims.length;
  if (r < 3) throw ctx.fail(`X must have at least 3 dimensions, got [${x.dims}]`);
  const N = x.dims[0];
  const C = last ? x.dims[r - 1] : x.dims[1];
  const spatial = last ? x.dims.slice(1, r - 1) : x.dims.slice(2);
  const size = shapeSize(spatial);
  const outDims = last ? [N, ...spatial.map(() => 1), C] : [N, C, ...spatial.map(() => 1)];
  const [lo, hi] = integerRange(x.type);
  const out = alloc(x.type, N * C) as NumericArray;
  if (size === 0) {
    out.fill(zy);
    return [new Tensor(x.type, out, outDims)];
  }
  const scale = Math.fround(sx / Math.fround(sy * size));
  const xv = x.data as NumericArray;
  const sums = new Float64Array(N * C);
  if (last) {
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < size; p++) {
        const base = (n * size + p) * C;
        for (let c = 0; c < C; c++) sums[n * C + c] += xv[base + c];
      }
    }
  } else {
    for (let nc = 0; nc < N * C; nc++) {
      let s = 0;
      for (let p = nc * size, e = p + size; p < e; p++) s += xv[p];
      sums[nc] = s;
    }
  }
  for (let i = 0; i < N * C; i++) out[i] = requantize(sums[i] - zx * size, scale, zy, lo, hi);
  return [new Tensor(x.type, out, outDims)];
};

function qlinearGlobalAvgPoolInfer(ctx: InferContext): (ValueType | undefined)[] {
  const xs = shapeOf(ctx.input(0));
  const elemType = elemOf(ctx.input(0));
  if (!xs || xs.length < 3) return [{ kind: "tensor", elemType }];
  const last = ctx.attrs.int("channels_last", 0) !== 0;
  const r = xs.length;
  const ones = new Array<Dim>(r - 2).fill(1);
  const shape = last ? [xs[0], ...ones, xs[r - 1]] : [xs[0], xs[1], ...ones];
  return [{ kind: "tensor", elemType, shape }];
}

// ---------------------------------------------------------------------------------------------
// Gelu, BiasGelu, FastGelu
// ---------------------------------------------------------------------------------------------

/** Round-trip precision of a float type's compute (float32 for packed floats). */
function roundFn(type: DataType): (v: number) => number {
  return type === "float64" ? (v) => v : Math.fround;
}

function geluExact(x: number): number {
  return 0.5 * x * (1 + erf(x * Math.SQRT1_2));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** Adds an optional 1-D bias along the last dim; returns the values in compute precision. */
function withBias(ctx: OpContext, x: Tensor, bias: Tensor | undefined): NumericArray {
  const xv = numbersOf(x);
  if (!bias) return xv;
  if (bias.type !== x.type) throw ctx.fail(`bias is ${bias.type} but the input is ${x.type}`);
  const H = x.dims.length ? x.dims[x.dims.length - 1] : 1;
  if (bias.dims.length !== 1 || bias.dims[0] !== H) {
    throw ctx.fail(`bias must be 1-D of length ${H} (the last dim), got [${bias.dims}]`);
  }
  const bv = numbersOf(bias);
  const rnd = roundFn(x.type);
  const out = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) out[i] = rnd(xv[i] + bv[i % H]);
  return out;
}

function geluKernel(f: (x: number) => number, biasInput: "none" | "required" | "optional") {
  const kernel: OpDef["cpu"] = (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    requireFloatType(ctx, x, "input");
    const bias = biasInput === "none"
      ? undefined
      : biasInput === "required"
      ? tensorAt(ctx, inputs, 1)
      : optionalTensorAt(ctx, inputs, 1);
    const v = withBias(ctx, x, bias);
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = f(v[i]);
    return [
      tensorFromComputed(x.type, x.type === "float64" ? out : Float32Array.from(out), x.dims),
    ];
  };
  return kernel;
}

// ---------------------------------------------------------------------------------------------
// SkipLayerNormalization
// ---------------------------------------------------------------------------------------------

/**
 * output = LayerNorm(input + skip + bias) * gamma + beta over the last dim. The skip is
 * repeated over the leading rows when smaller (shapes (B,S,H), (1,S,H) or (S,H)). Optional
 * outputs: mean and inv_std_var (float32, the input's shape with the last dim 1) and
 * input_skip_bias_sum.
 */
const skipLayerNormCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const skip = tensorAt(ctx, inputs, 1);
  const gamma = tensorAt(ctx, inputs, 2);
  const beta = optionalTensorAt(ctx, inputs, 3);
  const bias = optionalTensorAt(ctx, inputs, 4);
  requireFloatType(ctx, x, "input");
  for (
    const [t, name] of [[skip, "skip"], [gamma, "gamma"], [beta, "beta"], [bias, "bias"]] as const
  ) {
    if (t && t.type !== x.type) throw ctx.fail(`${name} is ${t.type} but input is ${x.type}`);
  }
  const r = x.dims.length;
  if (r < 2) throw ctx.fail(`input must have at least 2 dimensions, got [${x.dims}]`);
  const H = x.dims[r - 1];
  for (const [t, name] of [[gamma, "gamma"], [beta, "beta"], [bias, "bias"]] as const) {
    if (t && (t.dims.length !== 1 || t.dims[0] !== H)) {
      throw ctx.fail(`${name} must be 1-D of length ${H}, got [${t.dims}]`);
    }
  }
  const n = x.size;
  const skipOk = skip.dims[skip.dims.length - 1] === H && skip.size > 0 && n % skip.size === 0 &&
    skip.dims.length <= r &&
    skip.dims.every((d, i) => {
      const xd = x.dims[r - skip.dims.length + i];
      return d === xd || (d === 1 && i < skip.dims.length - 2);
    });
  if (!skipOk && !(n === 0)) {
    throw ctx.fail(`skip of shape [${skip.dims}] does not fit input [${x.dims}]`);
  }
  const eps = ctx.attrs.float("epsilon", 1e-12);
  const rnd = roundFn(x.type);
  const xv = numbersOf(x), sv = numbersOf(skip), gv = numbersOf(gamma);
  const bev = beta ? numbersOf(beta) : undefined;
  const biv = bias ? numbersOf(bias) : undefined;
  const rows = H === 0 ? 0 : n / H;
  const sum = new Float64Array(n);
  const y = new Float64Array(n);
  const means = new Float32Array(rows);
  const inv = new Float32Array(rows);
  const sSize = skip.size;
  for (let row = 0; row < rows; row++) {
    const o = row * H;
    const so = o % sSize;
    let m = 0;
    for (let h = 0; h < H; h++) {
      let v = rnd(xv[o + h] + sv[so + h]);
      if (biv) v = rnd(v + biv[h]);
      sum[o + h] = v;
      m += v;
    }
    m /= H;
    let varSum = 0;
    for (let h = 0; h < H; h++) {
      const d = sum[o + h] - m;
      varSum += d * d;
    }
    const is = 1 / Math.sqrt(varSum / H + eps);
    for (let h = 0; h < H; h++) {
      y[o + h] = (sum[o + h] - m) * is * gv[h] + (bev ? bev[h] : 0);
    }
    means[row] = m;
    inv[row] = is;
  }
  const statDims = [...x.dims.slice(0, r - 1), 1];
  const asType = (v: Float64Array) =>
    tensorFromComputed(x.type, x.type === "float64" ? v : Float32Array.from(v), x.dims);
  return [
    asType(y),
    ctx.wantsOutput(1) ? new Tensor("float32", means, statDims) : undefined,
    ctx.wantsOutput(2) ? new Tensor("float32", inv, statDims) : undefined,
    ctx.wantsOutput(3) ? asType(sum) : undefined,
  ];
};

function skipLayerNormInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  const shape = shapeOf(x);
  const stat = shape ? [...shape.slice(0, -1), 1] : undefined;
  return [
    { kind: "tensor", elemType: elemOf(x), shape },
    { kind: "tensor", elemType: "float32", shape: stat },
    { kind: "tensor", elemType: "float32", shape: stat },
    { kind: "tensor", elemType: elemOf(x), shape },
  ];
}

// ---------------------------------------------------------------------------------------------
// FusedMatMul
// ---------------------------------------------------------------------------------------------

/** The permutation FusedMatMul applies to an operand of rank `r` (batch move, then swap). */
function fusedPerm(r: number, transBatch: boolean, trans: boolean): number[] | undefined {
  if (r < 2) return undefined;
  let perm = Array.from({ length: r }, (_, i) => i);
  if (transBatch && r >= 3) perm = [...perm.slice(1, r - 1), perm[0], perm[r - 1]];
  if (trans) [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return perm.every((p, i) => p === i) ? undefined : perm;
}

/** An operand as float64 (scaled by `alpha`), permuted as FusedMatMul says. */
function fusedOperand(t: Tensor, perm: number[] | undefined, alpha: number): Tensor {
  const v = numbersOf(t);
  const f = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) f[i] = alpha * v[i];
  if (!perm) return new Tensor("float64", f, t.dims);
  const r = t.dims.length;
  const outDims = perm.map((p) => t.dims[p]);
  const st = stridesOf(t.dims);
  const pst = perm.map((p) => st[p]);
  const out = new Float64Array(f.length);
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = f[off];
    for (let d = r - 1; d >= 0; d--) {
      off += pst[d];
      if (++idx[d] < outDims[d]) break;
      off -= pst[d] * idx[d];
      idx[d] = 0;
    }
  }
  return new Tensor("float64", out, outDims);
}

/** Y = alpha * op(A) · op(B), op = optional batch-axis move (transBatch) then transpose. */
const fusedMatMulCpu: OpDef["cpu"] = (ctx, inputs) => {
  const a = tensorAt(ctx, inputs, 0);
  const b = tensorAt(ctx, inputs, 1);
  requireFloatType(ctx, a, "A");
  if (b.type !== a.type) throw ctx.fail(`A is ${a.type} but B is ${b.type}`);
  const alpha = ctx.attrs.float("alpha", 1);
  const tbA = ctx.attrs.int("transBatchA", 0) !== 0, tbB = ctx.attrs.int("transBatchB", 0) !== 0;
  if ((tbA && a.dims.length < 3) || (tbB && b.dims.length < 3)) {
    throw ctx.fail("transBatchA/transBatchB need operands of rank 3 or more");
  }
  const pa = fusedPerm(a.dims.length, tbA, ctx.attrs.int("transA", 0) !== 0);
  const pb = fusedPerm(b.dims.length, tbB, ctx.attrs.int("transB", 0) !== 0);
  const c = matmulTensors(ctx, fusedOperand(a, pa, alpha), fusedOperand(b, pb, 1));
  const data = c.data as Float64Array;
  return [
    tensorFromComputed(a.type, a.type === "float64" ? data : Float32Array.from(data), c.dims),
  ];
};

function fusedMatMulInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = elemOf(ctx.input(0));
  let a = shapeOf(ctx.input(0));
  let b = shapeOf(ctx.input(1));
  if (!a || !b || a.length === 0 || b.length === 0) return [{ kind: "tensor", elemType }];
  const permute = (s: Dim[], tb: string, t: string) => {
    const p = fusedPerm(s.length, ctx.attrs.int(tb, 0) !== 0, ctx.attrs.int(t, 0) !== 0);
    return p ? p.map((i) => s[i]) : s;
  };
  a = permute(a, "transBatchA", "transA");
  b = permute(b, "transBatchB", "transB");
  const ad = a.length === 1 ? [1, a[0]] : a;
  const bd = b.length === 1 ? [b[0], 1] : b;
  const shape = broadcastDims(ctx, ad.slice(0, -2), bd.slice(0, -2));
  if (a.length > 1) shape.push(ad[ad.length - 2]);
  if (b.length > 1) shape.push(bd[bd.length - 1]);
  return [{ kind: "tensor", elemType, shape }];
}

// ---------------------------------------------------------------------------------------------
// Fused activations (FusedConv, FusedGemm)
// ---------------------------------------------------------------------------------------------

/** Activations onnxruntime's FusedConv applies (MLAS): params are `activation_params`. */
const CONV_ACTIVATIONS = new Set(["Relu", "Tanh", "Sigmoid", "LeakyRelu", "Clip", "HardSigmoid"]);

/**
 * Activations onnxruntime's FusedGemm applies (its elementwise functors): params are the
 * activation's own attributes prefixed `activation_` (alpha, beta, gamma).
 */
const GEMM_ACTIVATIONS = new Set([
  "Relu",
  "Tanh",
  "Sigmoid",
  "LeakyRelu",
  "HardSigmoid",
  "Elu",
  "Selu",
  "Softplus",
  "Softsign",
  "ThresholdedRelu",
  "ScaledTanh",
  "ParametricSoftplus",
]);

/**
 * The element function of a fused activation, or undefined for none ("" or Identity).
 * `param(i)` is parameter i (alpha, beta, gamma) when the node sets it; absent ones take
 * the defaults of the ONNX op of that name. Throws unsupported for names outside `allowed`.
 */
function activationFn(
  ctx: OpContext,
  name: string,
  allowed: ReadonlySet<string>,
  param: (i: number) => number | undefined,
): ((x: number) => number) | undefined {
  if (name === "" || name === "Identity") return undefined;
  if (!allowed.has(name)) {
    throw ctx.unsupported(`${ctx.node.opType} activation "${name}" is not supported`);
  }
  const required = (i: number, what: string) => {
    const v = param(i);
    if (v === undefined) throw ctx.fail(`the ${name} activation needs its ${what} parameter`);
    return v;
  };
  switch (name) {
    case "Relu":
      return (x) => (x < 0 ? 0 : x);
    case "Tanh":
      return Math.tanh;
    case "Sigmoid":
      return (x) => 1 / (1 + Math.exp(-x));
    case "LeakyRelu": {
      const alpha = param(0) ?? 0.01;
      return (x) => (x < 0 ? alpha * x : x);
    }
    case "Clip": {
      if (param(0) === undefined || param(1) === undefined) {
        throw ctx.fail("the Clip activation needs activation_params [min, max]");
      }
      const lo = param(0)!, hi = param(1)!;
      return (x) => (x < lo ? lo : x > hi ? hi : x);
    }
    case "HardSigmoid": {
      const alpha = param(0) ?? 0.2, beta = param(1) ?? 0.5;
      return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    }
    case "Elu": {
      const alpha = param(0) ?? 1;
      return (x) => (x >= 0 ? x : alpha * Math.expm1(x));
    }
    case "Selu": {
      const alpha = param(0) ?? 1.67326319217681884765625;
      const gamma = param(2) ?? 1.05070102214813232421875;
      return (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x));
    }
    case "Softplus":
      return softplus;
    case "Softsign":
      return (x) => x / (1 + Math.abs(x));
    case "ThresholdedRelu": {
      const alpha = param(0) ?? 1;
      return (x) => (x > alpha ? x : 0);
    }
    case "ScaledTanh": {
      const alpha = required(0, "alpha"), beta = required(1, "beta");
      return (x) => alpha * Math.tanh(beta * x);
    }
    case "ParametricSoftplus": {
      const alpha = required(0, "alpha"), beta = required(1, "beta");
      return (x) => alpha * softplus(beta * x);
    }
    default:
      throw ctx.unsupported(`${ctx.node.opType} activation "${name}" is not supported`);
  }
}

/** log(1 + exp(x)) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Applies `act` (and adds `z` first when given) to a float tensor, rounding as its type. */
function applyActivation(
  y: Tensor,
  z: Tensor | undefined,
  act: ((x: number) => number) | undefined,
): Tensor {
  if (!z && !act) return y;
  const yv = numbersOf(y);
  const zv = z ? numbersOf(z) : undefined;
  const rnd = roundFn(y.type);
  const out = new Float64Array(yv.length);
  for (let i = 0; i < yv.length; i++) {
    const s = zv ? rnd(yv[i] + zv[i]) : yv[i];
    out[i] = act ? act(s) : s;
  }
  return tensorFromComputed(y.type, y.type === "float64" ? out : Float32Array.from(out), y.dims);
}

// ---------------------------------------------------------------------------------------------
// FusedConv
// ---------------------------------------------------------------------------------------------

const convDef = convOps.find((d) => d.opType === "Conv");

/** Y = activation(Conv(X, W, B) + Z). */
const fusedConvCpu: OpDef["cpu"] = async (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  requireFloatType(ctx, x, "X");
  const z = optionalTensorAt(ctx, inputs, 3);
  const p = ctx.attrs.floats("activation_params", []);
  const act = activationFn(ctx, ctx.attrs.string("activation", ""), CONV_ACTIVATIONS, (i) => p[i]);
  if (!convDef) throw ctx.unsupported("FusedConv needs the Conv kernel");
  const [y] = await convDef.cpu(ctx, inputs.slice(0, 3));
  if (!(y instanceof Tensor)) throw ctx.fail("the convolution gave no tensor");
  if (z) {
    if (z.type !== y.type) throw ctx.fail(`Z is ${z.type} but Y is ${y.type}`);
    if (z.dims.join() !== y.dims.join()) {
      throw ctx.fail(`Z must have the output's shape [${y.dims}], got [${z.dims}]`);
    }
  }
  return [applyActivation(y, z, act)];
};

function fusedConvInfer(ctx: InferContext): (ValueType | undefined)[] {
  const inner = convDef?.infer?.(ctx);
  return inner ?? [{ kind: "tensor", elemType: elemOf(ctx.input(0)) }];
}

// ---------------------------------------------------------------------------------------------
// FusedGemm
// ---------------------------------------------------------------------------------------------

const gemmDef = matmulOps.find((d) => d.opType === "Gemm");

/** The since-version of Gemm whose semantics FusedGemm has (optional C, no `broadcast`). */
const GEMM_VERSION = 13;

/**
 * Y = activation(alpha · op(A) · op(B) + beta · C): Gemm-13 followed by the activation named
 * by `activation`, whose parameters are `activation_alpha`, `activation_beta` and
 * `activation_gamma`. Float types only (onnxruntime's CPU kernel takes float32).
 */
const fusedGemmCpu: OpDef["cpu"] = async (ctx, inputs) => {
  const a = tensorAt(ctx, inputs, 0);
  requireFloatType(ctx, a, "A");
  const names = ["activation_alpha", "activation_beta", "activation_gamma"];
  const act = activationFn(
    ctx,
    ctx.attrs.string("activation", ""),
    GEMM_ACTIVATIONS,
    (i) => (ctx.attrs.has(names[i]) ? ctx.attrs.float(names[i]) : undefined),
  );
  if (!gemmDef) throw ctx.unsupported("FusedGemm needs the Gemm kernel");
  const [y] = await gemmDef.cpu({ ...ctx, version: GEMM_VERSION }, inputs.slice(0, 3));
  if (!(y instanceof Tensor)) throw ctx.fail("the product gave no tensor");
  return [applyActivation(y, undefined, act)];
};

function fusedGemmInfer(ctx: InferContext): (ValueType | undefined)[] {
  const inner = gemmDef?.infer?.(ctx);
  return inner ?? [{ kind: "tensor", elemType: elemOf(ctx.input(0)) }];
}

const MS = "com.microsoft";

/** The com.microsoft contrib family. */
export const ops: OpDef[] = [
  { domain: MS, opType: "QLinearAdd", versions: [1], cpu: qlinearAddCpu, infer: qbinaryInfer },
  { domain: MS, opType: "QLinearMul", versions: [1], cpu: qlinearMulCpu, infer: qbinaryInfer },
  {
    domain: MS,
    opType: "QLinearSigmoid",
    versions: [1],
    cpu: qlinearSigmoidCpu,
    infer: sameAsInput0,
  },
  {
    domain: MS,
    opType: "QLinearGlobalAveragePool",
    versions: [1],
    cpu: qlinearGlobalAvgPoolCpu,
    infer: qlinearGlobalAvgPoolInfer,
  },
  {
    domain: MS,
    opType: "Gelu",
    versions: [1],
    cpu: geluKernel(geluExact, "none"),
    infer: sameAsInput0,
  },
  {
    domain: MS,
    opType: "BiasGelu",
    versions: [1],
    cpu: geluKernel(geluExact, "required"),
    infer: sameAsInput0,
  },
  {
    domain: MS,
    opType: "FastGelu",
    versions: [1],
    cpu: geluKernel(geluTanh, "optional"),
    infer: sameAsInput0,
  },
  {
    domain: MS,
    opType: "SkipLayerNormalization",
    versions: [1],
    cpu: skipLayerNormCpu,
    infer: skipLayerNormInfer,
  },
  {
    domain: MS,
    opType: "FusedMatMul",
    versions: [1],
    cpu: fusedMatMulCpu,
    infer: fusedMatMulInfer,
  },
  { domain: MS, opType: "FusedConv", versions: [1], cpu: fusedConvCpu, infer: fusedConvInfer },
  { domain: MS, opType: "FusedGemm", versions: [1], cpu: fusedGemmCpu, infer: fusedGemmInfer },
];
