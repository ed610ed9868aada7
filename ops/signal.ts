/**
 * Signal processing operators (ai.onnx opset 17+): DFT (17: axis attribute, 20: axis input),
 * STFT, the Hann, Hamming and Blackman windows and MelWeightMatrix.
 *
 * Transforms use the pocketfft port in signal_fft.ts, computing exactly as numpy ≥ 2 does,
 * since numpy's FFT produced the ONNX reference outputs: forward transforms (`fft`,
 * `rfft`) run in float64 — numpy passes its normalization factor 1 as a Python int, which
 * selects the double-precision kernel even for complex64 data — and are rounded to the output
 * type at the end; inverse transforms (`ifft`, `irfft`) run in the input's precision (float32
 * for float32, float16 and bfloat16 data, whose numpy counterpart is complex64) with every
 * intermediate rounded, and scale by 1/n rounded to that precision. Complex values travel as a
 * trailing dimension of 2 (real, imaginary); a trailing 1 marks real values.
 *
 * DFT semantics (both versions): the signal along `axis` is zero-padded or truncated to
 * `dft_length`; `onesided` keeps bins 0..n/2 of a forward transform (a real FFT for real input,
 * like `numpy.fft.rfft`); `inverse` divides by n; `inverse` with `onesided` is the inverse real
 * FFT (`numpy.fft.irfft`): the input holds bins 0..n/2 of a Hermitian spectrum (the imaginary
 * parts of bin 0 and, for even n, bin n/2 are ignored), n defaults to 2·(bins − 1) and the
 * output is real (trailing dim 1). STFT frames are multiplied by the window in the input type,
 * then transformed like `numpy.fft.fft` (bins 0..n/2 when onesided).
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import { bfloat16ToNumber, numberToBfloat16 } from "../pipeline/tensor/float.ts";
import { type Tensor, tensorFromNumbers, type Value } from "../pipeline/tensor/tensor.ts";
import { type Dim, tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { constantInts, inputElem, inputShape } from "./shape_infer.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, optionalTensorAt, scalarOf, tensorAt, tensorFromComputed } from "./util.ts";
import { FftPlan, type FftPrecision, RealFftPlan } from "./signal_fft.ts";

export { FftPlan, RealFftPlan };

const SIGNAL_TYPES: readonly DataType[] = ["float32", "float64", "float16", "bfloat16"];

/** Rounds a computed value to what `type` can hold (products in the input type, as numpy). */
function rounderFor(type: DataType): (x: number) => number {
  switch (type) {
    case "float32":
      return Math.fround;
    case "float16":
      return Math.f16round;
    case "bfloat16":
      return (x) => bfloat16ToNumber(numberToBfloat16(x));
    default:
      return (x) => x;
  }
}

function requireSignal(ctx: OpContext, t: Tensor): void {
  if (!SIGNAL_TYPES.includes(t.type)) {
    throw ctx.unsupported(`input type ${t.type} is not supported`, t.type);
  }
}

function lengthInput(ctx: OpContext, inputs: (Value | undefined)[], i: number, what: string) {
  const t = optionalTensorAt(ctx, inputs, i);
  if (!t) return undefined;
  if (t.type !== "int32" && t.type !== "int64") throw ctx.fail(`${what} must be int32 or int64`);
  if (t.size !== 1) throw ctx.fail(`${what} must be a scalar`);
  return scalarOf(t);
}

/** Normalizes a DFT axis: accepted [-r, -2] ∪ [0, r-2] (the last dim holds re/im). */
function dftAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a <= rank - 2)) {
    throw ctx.fail(`axis ${axis} is out of range for a rank-${rank} input`);
  }
  return a;
}

/** One DFT call: the source signals, the output and the plan buffers they share. */
interface DftJob {
  src: ArrayLike<number>;
  /** Trailing input dimension (1 real, 2 complex). */
  c: number;
  /** Input length along the axis, and the stride between its elements. */
  len: number;
  inner: number;
  out: Float64Array;
  outLen: number;
  n: number;
  fct: number;
  precision: FftPrecision;
  /** Element offset of the current signal in src (without the trailing dim), and in out. */
  base: number;
  outBase: number;
  complexPlan?: FftPlan;
  realPlan?: RealFftPlan;
  buf?: Float64Array;
}

/** Complex FFT of one signal (numpy.fft.fft / ifft), keeping bins 0..outLen−1. */
function dftComplex(job: DftJob, forward: boolean): void {
  const { src, c, len, inner, out, outLen, n } = job;
  const plan = job.complexPlan ??= new FftPlan(n, job.precision);
  const buf = job.buf ??= new Float64Array(2 * n);
  buf.fill(0);
  const m = Math.min(len, n);
  for (let t = 0; t < m; t++) {
    const p = (job.base + t * inner) * c;
    buf[2 * t] = src[p];
    if (c === 2) buf[2 * t + 1] = src[p + 1];
  }
  plan.exec(buf, forward, job.fct);
  for (let k = 0; k < outLen; k++) {
    const q = (job.outBase + k * inner) * 2;
    out[q] = buf[2 * k];
    out[q + 1] = buf[2 * k + 1];
  }
}

/** Real-input one-sided forward FFT of one signal (numpy.fft.rfft). */
function dftRfft(job: DftJob): void {
  const { src, len, inner, out, outLen, n } = job;
  const plan = job.realPlan ??= new RealFftPlan(n, job.precision);
  const buf = job.buf ??= new Float64Array(n);
  buf.fill(0);
  const m = Math.min(len, n);
  for (let t = 0; t < m; t++) buf[t] = src[job.base + t * inner];
  plan.exec(buf, true, job.fct);
  for (let k = 0; k < outLen; k++) {
    const q = (job.outBase + k * inner) * 2;
    out[q] = k === 0 ? buf[0] : buf[2 * k - 1];
    out[q + 1] = k === 0 || 2 * k === n ? 0 : buf[2 * k];
  }
}

/** Inverse real FFT of one half spectrum (numpy.fft.irfft): bins 0..n/2 → n real values. */
function dftIrfft(job: DftJob): void {
  const { src, c, len, inner, out, n } = job;
  const plan = job.realPlan ??= new RealFftPlan(n, job.precision);
  const buf = job.buf ??= new Float64Array(n);
  buf.fill(0);
  // FFTPACK half-complex order: r0, r1, i1, r2, i2, …, and r(n/2) for even n.
  const at = (k: number, part: number) =>
    k < len && part < c ? src[(job.base + k * inner) * c + part] : 0;
  buf[0] = at(0, 0);
  for (let k = 1; 2 * k < n; k++) {
    buf[2 * k - 1] = at(k, 0);
    buf[2 * k] = at(k, 1);
  }
  if (n % 2 === 0 && n > 1) buf[n - 1] = at(n / 2, 0);
  plan.exec(buf, false, job.fct);
  for (let t = 0; t < n; t++) out[job.outBase + t * inner] = buf[t];
}

function dftCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  requireSignal(ctx, x);
  const rank = x.dims.length;
  if (rank < 2) throw ctx.fail(`input must have rank ≥ 2, got [${x.dims}]`);
  const c = x.dims[rank - 1];
  if (c !== 1 && c !== 2) throw ctx.fail(`the last dimension must be 1 or 2, got ${c}`);
  const inverse = ctx.attrs.int("inverse", 0) !== 0;
  const onesided = ctx.attrs.int("onesided", 0) !== 0;
  let axisValue: number;
  if (ctx.version >= 20) {
    const at = optionalTensorAt(ctx, inputs, 2);
    if (at && at.size !== 1) throw ctx.fail("axis must be a scalar");
    axisValue = at ? scalarOf(at) : -2;
  } else {
    axisValue = ctx.attrs.int("axis", 1);
  }
  const axis = dftAxis(ctx, axisValue, rank);
  const len = x.dims[axis];
  const given = lengthInput(ctx, inputs, 1, "dft_length");
  if (given !== undefined && given < 1) throw ctx.fail(`dft_length must be ≥ 1, got ${given}`);
  const irfft = inverse && onesided;
  const n = given ?? (irfft ? 2 * (len - 1) : len);
  if (n < 1) {
    // An empty signal (or a one-bin spectrum without dft_length): nothing to transform.
    const dims = [...x.dims];
    dims[axis] = 0;
    dims[rank - 1] = irfft ? 1 : 2;
    return [tensorFromComputed(x.type, new Float64Array(0), dims)];
  }
  const outLen = irfft ? n : onesided ? (n >> 1) + 1 : n;
  const outC = irfft ? 1 : 2;
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i];
  let inner = 1;
  for (let i = axis + 1; i < rank - 1; i++) inner *= x.dims[i];
  const src = numbersOf(x);
  const out = new Float64Array(outer * outLen * inner * outC);
  if (outer * inner > 0) {
    // numpy: forward transforms in float64, inverse ones in the input's precision with the
    // factor 1/n rounded to it (see the module comment).
    const precision: FftPrecision = !inverse || x.type === "float64" ? "float64" : "float32";
    const fct = inverse ? (precision === "float32" ? Math.fround(1 / n) : 1 / n) : 1;
    const job: DftJob = { src, c, len, inner, out, outLen, n, fct, precision, base: 0, outBase: 0 };
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        job.base = o * len * inner + i;
        job.outBase = o * outLen * inner + i;
        if (irfft) dftIrfft(job);
        else if (!inverse && onesided && c === 1) dftRfft(job);
        else dftComplex(job, !inverse);
      }
    }
  }
  const dims = [...x.dims];
  dims[axis] = outLen;
  dims[rank - 1] = outC;
  return [tensorFromComputed(x.type, out, dims)];
}

function dftInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  const elem = inputElem(ctx, 0);
  if (!s) return [tensorType(elem)];
  const rank = s.length;
  let axis: number | undefined;
  if (ctx.version >= 20) {
    if (!ctx.hasInput(2)) axis = -2;
    else axis = constantInts(ctx, 2)?.[0];
  } else {
    axis = ctx.attrs.int("axis", 1);
  }
  const shape: Dim[] = [...s];
  shape[rank - 1] = undefined;
  const inverse = ctx.attrs.int("inverse", 0) !== 0;
  const onesided = ctx.attrs.int("onesided", 0) !== 0;
  const irfft = inverse && onesided;
  shape[rank - 1] = irfft ? 1 : 2;
  if (axis === undefined) {
    for (let i = 0; i < rank - 1; i++) shape[i] = undefined;
    return [tensorType(elem, shape)];
  }
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a <= rank - 2)) {
    ctx.error(`axis ${axis} is out of range for a rank-${rank} input`);
    return [tensorType(elem)];
  }
  const len = s[a];
  const given = ctx.hasInput(1) ? constantInts(ctx, 1)?.[0] : undefined;
  let n: number | undefined;
  if (given !== undefined) n = given;
  else if (!ctx.hasInput(1) && typeof len === "number") n = irfft ? 2 * (len - 1) : len;
  shape[a] = n === undefined ? undefined : irfft ? n : onesided ? (n >> 1) + 1 : n;
  return [tensorType(elem, shape)];
}

// ---------------------------------------------------------------------------------------------
// STFT

function stftCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  requireSignal(ctx, x);
  if (x.dims.length !== 3) {
    throw ctx.fail(`signal must be [batch, length, 1 or 2], got [${x.dims}]`);
  }
  const [batch, len, c] = x.dims;
  if (c !== 1 && c !== 2) throw ctx.fail(`the last signal dimension must be 1 or 2, got ${c}`);
  const step = lengthInput(ctx, inputs, 1, "frame_step");
  if (step === undefined || step < 1) throw ctx.fail(`frame_step must be ≥ 1, got ${step}`);
  const window = optionalTensorAt(ctx, inputs, 2);
  if (window && window.dims.length !== 1) throw ctx.fail("window must be 1-D");
  const frameLenIn = lengthInput(ctx, inputs, 3, "frame_length");
  const frameLen = frameLenIn ?? window?.dims[0];
  if (frameLen === undefined) throw ctx.fail("one of window and frame_length is required");
  if (frameLen < 1) throw ctx.fail(`frame_length must be ≥ 1, got ${frameLen}`);
  const winLen = window ? window.dims[0] : frameLen;
  const win = window ? numbersOf(window) : undefined;
  const onesided = ctx.attrs.int("onesided", 1) !== 0;
  const frames = len >= frameLen ? Math.floor((len - frameLen) / step) + 1 : 0;
  const bins = onesided ? (frameLen >> 1) + 1 : frameLen;
  const src = numbersOf(x);
  const out = new Float64Array(batch * frames * bins * 2);
  // numpy.fft.fft of each windowed frame: the product is rounded to the input type, the
  // transform runs in float64 (see the module comment).
  const round = rounderFor(x.type);
  const plan = new FftPlan(frameLen, "float64");
  const buf = new Float64Array(2 * frameLen);
  const take = Math.min(winLen, frameLen);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < frames; f++) {
      buf.fill(0);
      const start = f * step;
      for (let t = 0; t < take && start + t < len; t++) {
        const p = (b * len + start + t) * c;
        if (win) {
          buf[2 * t] = round(src[p] * win[t]);
          if (c === 2) buf[2 * t + 1] = round(src[p + 1] * win[t]);
        } else {
          buf[2 * t] = src[p];
          if (c === 2) buf[2 * t + 1] = src[p + 1];
        }
      }
      plan.exec(buf, true);
      const o = (b * frames + f) * bins * 2;
      for (let k = 0; k < 2 * bins; k++) out[o + k] = buf[k];
    }
  }
  return [tensorFromComputed(x.type, out, [batch, frames, bins, 2])];
}

function stftInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  const elem = inputElem(ctx, 0);
  const step = constantInts(ctx, 1)?.[0];
  const ws = ctx.hasInput(2) ? inputShape(ctx, 2) : undefined;
  const frameLen = ctx.hasInput(3) ? constantInts(ctx, 3)?.[0] : ws?.[0];
  const onesided = ctx.attrs.int("onesided", 1) !== 0;
  let frames: Dim;
  let bins: Dim;
  if (typeof frameLen === "number") {
    bins = onesided ? (frameLen >> 1) + 1 : frameLen;
    const len = s?.[1];
    if (typeof len === "number" && step !== undefined && step > 0) {
      frames = len >= frameLen ? Math.floor((len - frameLen) / step) + 1 : 0;
    }
  }
  return [tensorType(elem, [s?.[0], frames, bins, 2])];
}

// ---------------------------------------------------------------------------------------------
// Windows and MelWeightMatrix

function outputType(ctx: OpContext | InferContext): DataType {
  const code = ctx.attrs.int("output_datatype", 1);
  const t = dataTypeFromCode(code);
  const allowed: DataType[] = [
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "bfloat16",
  ];
  if (!t || !allowed.includes(t)) {
    throw new TypeError(`output_datatype ${code} is not a supported element type`);
  }
  return t;
}

function outputTypeOf(ctx: OpContext): DataType {
  try {
    return outputType(ctx);
  } catch (e) {
    throw ctx.fail((e as Error).message);
  }
}

/** Window value at position i of `size` for the cosine-sum coefficients a0, a1, a2. */
function windowCpu(a0: number, a1: number, a2: number) {
  return (ctx: OpContext, inputs: (Value | undefined)[]): Value[] => {
    const size = lengthInput(ctx, inputs, 0, "size");
    if (size === undefined || size < 0) throw ctx.fail(`size must be ≥ 0, got ${size}`);
    const periodic = ctx.attrs.int("periodic", 1) !== 0;
    const type = outputTypeOf(ctx);
    const denom = periodic ? size : size - 1;
    const v = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      if (denom === 0) {
        v[i] = 1;
        continue;
      }
      const t = (2 * Math.PI * i) / denom;
      v[i] = a0 - a1 * Math.cos(t) + a2 * Math.cos(2 * t);
    }
    return [tensorFromNumbers(type, v, [size])];
  };
}

function windowInfer(ctx: InferContext): (ValueType | undefined)[] {
  let type: DataType | undefined;
  try {
    type = outputType(ctx);
  } catch (e) {
    ctx.error((e as Error).message);
  }
  return [tensorType(type, [constantInts(ctx, 0)?.[0]])];
}

function melCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const numMel = lengthInput(ctx, inputs, 0, "num_mel_bins");
  const dftLen = lengthInput(ctx, inputs, 1, "dft_length");
  const rate = lengthInput(ctx, inputs, 2, "sample_rate");
  const lowT = tensorAt(ctx, inputs, 3);
  const highT = tensorAt(ctx, inputs, 4);
  if (numMel === undefined || dftLen === undefined || rate === undefined) {
    throw ctx.fail("num_mel_bins, dft_length and sample_rate are required");
  }
  if (numMel < 1 || dftLen < 1 || rate < 1) {
    throw ctx.fail("num_mel_bins, dft_length and sample_rate must be positive");
  }
  const low = scalarOf(lowT);
  const high = scalarOf(highT);
  const type = outputTypeOf(ctx);
  const nSpec = (dftLen >> 1) + 1;
  const count = numMel + 2;
  const lowMel = 2595 * Math.log10(1 + low / 700);
  const highMel = 2595 * Math.log10(1 + high / 700);
  const step = (highMel - lowMel) / count;
  const bins = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const hz = 700 * (Math.pow(10, (i * step + lowMel) / 2595) - 1);
    bins[i] = Math.floor(((dftLen + 1) * hz) / rate);
  }
  const out = new Float64Array(nSpec * numMel);
  const set = (row: number, col: number, v: number) => {
    if (row < 0 || row >= nSpec) {
      throw ctx.fail(`mel bin edge ${row} falls outside the ${nSpec} spectrogram bins`);
    }
    out[row * numMel + col] = v;
  };
  for (let i = 0; i < numMel; i++) {
    const lo = bins[i], mid = bins[i + 1], hi = bins[i + 2];
    if (mid === lo) set(mid, i, 1);
    else for (let j = lo; j <= mid; j++) set(j, i, (j - lo) / (mid - lo));
    if (hi > mid) { for (let j = mid; j < hi; j++) set(j, i, (hi - j) / (hi - mid)); }
  }
  return [tensorFromNumbers(type, out, [nSpec, numMel])];
}

function melInfer(ctx: InferContext): (ValueType | undefined)[] {
  let type: DataType | undefined;
  try {
    type = outputType(ctx);
  } catch (e) {
    ctx.error((e as Error).message);
  }
  const mel = constantInts(ctx, 0)?.[0];
  const dft = constantInts(ctx, 1)?.[0];
  return [tensorType(type, [dft === undefined ? undefined : (dft >> 1) + 1, mel])];
}

/** Signal processing operators. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "DFT",
    versions: [17, 20],
    cpu: dftCpu,
    infer: dftInfer,
    hostInputs: [1, 2],
  },
  {
    domain: "",
    opType: "STFT",
    versions: [17],
    cpu: stftCpu,
    infer: stftInfer,
    hostInputs: [1, 3],
  },
  {
    domain: "",
    opType: "HannWindow",
    versions: [17],
    cpu: windowCpu(0.5, 0.5, 0),
    infer: windowInfer,
    hostInputs: [0],
  },
  {
    domain: "",
    opType: "HammingWindow",
    versions: [17],
    cpu: windowCpu(25 / 46, 21 / 46, 0),
    infer: windowInfer,
    hostInputs: [0],
  },
  {
    domain: "",
    opType: "BlackmanWindow",
    versions: [17],
    cpu: windowCpu(0.42, 0.5, 0.08),
    infer: windowInfer,
    hostInputs: [0],
  },
  {
    domain: "",
    opType: "MelWeightMatrix",
    versions: [17],
    cpu: melCpu,
    infer: melInfer,
    hostInputs: [0, 1, 2, 3, 4],
  },
];
