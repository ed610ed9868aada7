/**
 * Signal processing operators (ai.onnx opset 17+): DFT (17: axis attribute, 20: axis input),
 * STFT, the Hann, Hamming and Blackman windows and MelWeightMatrix.
 *
 * Transforms use {@link FftPlan}: an iterative radix-2 FFT for power-of-two lengths, a
 * direct O(n²) DFT for short other lengths and Bluestein's chirp-z algorithm (a power-of-two
 * convolution) for long ones, all in float64. Complex values travel as a trailing dimension
 * of 2 (real, imaginary); a trailing 1 marks real values.
 *
 * DFT semantics (both versions): the signal along `axis` is zero-padded or truncated to
 * `dft_length`; `onesided` keeps bins 0..n/2 of a forward transform; `inverse` divides by n;
 * `inverse` with `onesided` is the inverse real FFT: the input holds bins 0..n/2 of a
 * Hermitian spectrum, n defaults to 2·(bins − 1) and the output is real (trailing dim 1).
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import { type Tensor, tensorFromNumbers, type Value } from "../pipeline/tensor/tensor.ts";
import { type Dim, tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { constantInts, inputElem, inputShape } from "../pipeline/check/shape_helpers.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, optionalTensorAt, scalarOf, tensorAt, tensorFromComputed } from "./util.ts";

const SIGNAL_TYPES: readonly DataType[] = ["float32", "float64", "float16", "bfloat16"];

/** Lengths up to this use a direct DFT when they are not powers of two. */
const DIRECT_MAX = 64;

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/**
 * A reusable plan for complex FFTs of one length. `transform` works in place on separate
 * real and imaginary arrays and does not normalize (the inverse is n times the true inverse).
 *
 * @example
 * ```ts
 * import { FftPlan } from "./signal.ts";
 * const re = Float64Array.of(1, 2, 3), im = new Float64Array(3);
 * new FftPlan(3).transform(re, im, false); // re = [6, -1.5, -1.5]
 * ```
 */
export class FftPlan {
  /** Transform length. */
  readonly n: number;
  #kind: "pow2" | "direct" | "bluestein";
  #cos: Float64Array;
  #sin: Float64Array;
  #rev?: Uint32Array;
  #tmpRe?: Float64Array;
  #tmpIm?: Float64Array;
  #inner?: FftPlan;
  #wRe?: Float64Array;
  #wIm?: Float64Array;
  #bRe?: Float64Array;
  #bIm?: Float64Array;

  /** Prepares twiddle factors (and Bluestein's chirp) for length `n` ≥ 1. */
  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be ≥ 1, got ${n}`);
    this.n = n;
    if (isPow2(n)) {
      this.#kind = "pow2";
      const half = Math.max(1, n >> 1);
      this.#cos = new Float64Array(half);
      this.#sin = new Float64Array(half);
      for (let k = 0; k < half; k++) {
        this.#cos[k] = Math.cos((2 * Math.PI * k) / n);
        this.#sin[k] = Math.sin((2 * Math.PI * k) / n);
      }
      const bits = Math.round(Math.log2(n));
      const rev = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        let r = 0;
        for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
        rev[i] = r;
      }
      this.#rev = rev;
    } else if (n <= DIRECT_MAX) {
      this.#kind = "direct";
      this.#cos = new Float64Array(n);
      this.#sin = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        this.#cos[k] = Math.cos((2 * Math.PI * k) / n);
        this.#sin[k] = Math.sin((2 * Math.PI * k) / n);
      }
      this.#tmpRe = new Float64Array(n);
      this.#tmpIm = new Float64Array(n);
    } else {
      this.#kind = "bluestein";
      this.#cos = new Float64Array(0);
      this.#sin = new Float64Array(0);
      let m = 1;
      while (m < 2 * n - 1) m *= 2;
      const inner = new FftPlan(m);
      // Chirp w_j = exp(-iπ j²/n), with j² reduced mod 2n for accuracy.
      const wRe = new Float64Array(n);
      const wIm = new Float64Array(n);
      let sq = 0;
      for (let j = 0; j < n; j++) {
        const a = (Math.PI * sq) / n;
        wRe[j] = Math.cos(a);
        wIm[j] = -Math.sin(a);
        sq = (sq + 2 * j + 1) % (2 * n);
      }
      const bRe = new Float64Array(m);
      const bIm = new Float64Array(m);
      bRe[0] = wRe[0];
      bIm[0] = -wIm[0];
      for (let j = 1; j < n; j++) {
        bRe[j] = bRe[m - j] = wRe[j];
        bIm[j] = bIm[m - j] = -wIm[j];
      }
      inner.transform(bRe, bIm, false);
      this.#inner = inner;
      this.#wRe = wRe;
      this.#wIm = wIm;
      this.#bRe = bRe;
      this.#bIm = bIm;
      this.#tmpRe = new Float64Array(m);
      this.#tmpIm = new Float64Array(m);
    }
  }

  /** Transforms `re`/`im` (length n) in place: forward e^(−2πikt/n), inverse e^(+2πikt/n). */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
    if (this.#kind === "pow2") this.#pow2(re, im, inverse);
    else if (this.#kind === "direct") this.#direct(re, im, inverse);
    else this.#bluestein(re, im, inverse);
  }

  #pow2(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    const rev = this.#rev!;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        const tr = re[i];
        re[i] = re[j];
        re[j] = tr;
        const ti = im[i];
        im[i] = im[j];
        im[j] = ti;
      }
    }
    const cos = this.#cos;
    const sin = this.#sin;
    const sign = inverse ? 1 : -1;
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let j = 0; j < half; j++) {
          const k = j * step;
          const wr = cos[k];
          const wi = sign * sin[k];
          const a = start + j;
          const b = a + half;
          const tr = wr * re[b] - wi * im[b];
          const ti = wr * im[b] + wi * re[b];
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  #direct(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    const cos = this.#cos;
    const sin = this.#sin;
    const sign = inverse ? 1 : -1;
    const oRe = this.#tmpRe!;
    const oIm = this.#tmpIm!;
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      let idx = 0;
      for (let t = 0; t < n; t++) {
        const c = cos[idx];
        const s = sign * sin[idx];
        sr += re[t] * c - im[t] * s;
        si += re[t] * s + im[t] * c;
        idx += k;
        if (idx >= n) idx -= n;
      }
      oRe[k] = sr;
      oIm[k] = si;
    }
    re.set(oRe);
    im.set(oIm);
  }

  #bluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    const inner = this.#inner!;
    const m = inner.n;
    const wRe = this.#wRe!;
    const wIm = this.#wIm!;
    const aRe = this.#tmpRe!;
    const aIm = this.#tmpIm!;
    // The inverse is the conjugate of the forward transform of the conjugate.
    const s = inverse ? -1 : 1;
    for (let t = 0; t < n; t++) {
      const xr = re[t];
      const xi = s * im[t];
      aRe[t] = xr * wRe[t] - xi * wIm[t];
      aIm[t] = xr * wIm[t] + xi * wRe[t];
    }
    aRe.fill(0, n);
    aIm.fill(0, n);
    inner.transform(aRe, aIm, false);
    const bRe = this.#bRe!;
    const bIm = this.#bIm!;
    for (let j = 0; j < m; j++) {
      const r = aRe[j] * bRe[j] - aIm[j] * bIm[j];
      const i = aRe[j] * bIm[j] + aIm[j] * bRe[j];
      aRe[j] = r;
      aIm[j] = i;
    }
    inner.transform(aRe, aIm, true);
    for (let k = 0; k < n; k++) {
      const cr = aRe[k] / m;
      const ci = aIm[k] / m;
      re[k] = cr * wRe[k] - ci * wIm[k];
      im[k] = s * (cr * wIm[k] + ci * wRe[k]);
    }
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
  const plan = outer * inner > 0 ? new FftPlan(n) : undefined;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const scale = inverse ? 1 / n : 1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      re.fill(0);
      im.fill(0);
      const base = o * len * inner + i;
      if (irfft) {
        const bins = Math.min(len, (n >> 1) + 1);
        for (let k = 0; k < bins; k++) {
          const p = (base + k * inner) * c;
          re[k] = src[p];
          im[k] = c === 2 ? src[p + 1] : 0;
        }
        for (let k = (n >> 1) + 1; k < n; k++) {
          re[k] = re[n - k];
          im[k] = -im[n - k];
        }
      } else {
        const m = Math.min(len, n);
        for (let t = 0; t < m; t++) {
          const p = (base + t * inner) * c;
          re[t] = src[p];
          if (c === 2) im[t] = src[p + 1];
        }
      }
      plan!.transform(re, im, inverse);
      const ob = o * outLen * inner + i;
      for (let k = 0; k < outLen; k++) {
        const q = (ob + k * inner) * outC;
        out[q] = re[k] * scale;
        if (outC === 2) out[q + 1] = im[k] * scale;
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
  const plan = new FftPlan(frameLen);
  const re = new Float64Array(frameLen);
  const im = new Float64Array(frameLen);
  const take = Math.min(winLen, frameLen);
  for (let b = 0; b < batch; b++) {
    for (let f = 0; f < frames; f++) {
      re.fill(0);
      im.fill(0);
      const start = f * step;
      for (let t = 0; t < take && start + t < len; t++) {
        const w = win ? win[t] : 1;
        const p = (b * len + start + t) * c;
        re[t] = src[p] * w;
        if (c === 2) im[t] = src[p + 1] * w;
      }
      plan.transform(re, im, false);
      const o = (b * frames + f) * bins * 2;
      for (let k = 0; k < bins; k++) {
        out[o + 2 * k] = re[k];
        out[o + 2 * k + 1] = im[k];
      }
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
