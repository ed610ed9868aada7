/**
 * Resize (opsets 10, 11, 13, 18, 19) and Upsample (1, 7, 9): nearest (every nearest_mode),
 * n-linear and cubic interpolation with every coordinate_transformation_mode, antialiasing,
 * exclude_outside, tf_crop_and_resize with roi and extrapolation_value, axes and
 * keep_aspect_ratio_policy.
 *
 * Interpolation is separable: each resized axis gets a table of taps (input indices and
 * weights per output index), applied one axis at a time from the innermost outwards, in
 * float64. Nearest mode only moves elements, so it works for every element type.
 *
 * @module
 */

import { allocate, isBig, isPackedFloat, type TensorData } from "../pipeline/tensor/dtype.ts";
import { fromNumbers, Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { inferElem, inferShape } from "./conv.ts";
import { numbersOf, optionalTensorAt, shapeSize, stridesOf, tensorAt, toIntArray } from "./util.ts";

/** Settings of one resize call after reading the version's attributes and inputs. */
interface ResizeSettings {
  mode: "nearest" | "linear" | "cubic";
  ctm: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  /** Output length of every axis. */
  outDims: number[];
  /** Scale of every axis (1 where not resized). */
  scales: number[];
  /** The float output length the coordinate formulas use (scale * input length). */
  outFloat: number[];
  /** roi start/end of every axis (0/1 where not given). */
  roiStart: number[];
  roiEnd: number[];
  /** Opset 10 / Upsample behaviour: asymmetric, nearest floors (ceils when downsampling). */
  legacy: boolean;
}

/** Taps of one axis: `taps` (input index, weight) pairs per output index. */
interface AxisTaps {
  taps: number;
  idx: Int32Array;
  w: Float64Array;
  /** 1 where the output takes extrapolation_value (tf_crop_and_resize outside the roi). */
  extrap: Uint8Array;
}

function cubicCoeffs(ratio: number, A: number): number[] {
  const r1 = ratio + 1, r2 = 1 - ratio, r3 = 2 - ratio;
  return [
    ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A,
    ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
    ((A + 2) * r2 - (A + 3)) * r2 * r2 + 1,
    ((A * r3 - 5 * A) * r3 + 8 * A) * r3 - 4 * A,
  ];
}

function cubicKernel(x: number, A: number): number {
  const a = Math.abs(x);
  const a2 = a * a, a3 = a2 * a;
  if (a <= 1) return (A + 2) * a3 - (A + 3) * a2 + 1;
  if (a < 2) return A * a3 - 5 * A * a2 + 8 * A * a - 4 * A;
  return 0;
}

/** Original (input) coordinate of output index `x`, or undefined to extrapolate. */
function originalCoord(
  s: ResizeSettings,
  axis: number,
  x: number,
  inLen: number,
): number | undefined {
  const scale = s.scales[axis];
  const outW = s.outFloat[axis];
  switch (s.ctm) {
    case "align_corners":
      return outW === 1 ? 0 : (x * (inLen - 1)) / (outW - 1);
    case "asymmetric":
      return x / scale;
    case "tf_crop_and_resize": {
      const r0 = s.roiStart[axis], r1 = s.roiEnd[axis];
      let v = outW === 1
        ? ((r1 - r0) * (inLen - 1)) / 2
        : (x * (r1 - r0) * (inLen - 1)) / (outW - 1);
      v += r0 * (inLen - 1);
      return v < 0 || v > inLen - 1 ? undefined : v;
    }
    case "pytorch_half_pixel":
      return outW === 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case "half_pixel":
      return (x + 0.5) / scale - 0.5;
    case "half_pixel_symmetric": {
      const adjustment = s.outDims[axis] / outW;
      const center = inLen / 2;
      const offset = center * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case "tf_half_pixel_for_nn":
      return (x + 0.5) / scale;
    default:
      throw new RangeError(`coordinate_transformation_mode "${s.ctm}" is not supported`);
  }
}

/** Builds the taps of one axis. */
function axisTaps(s: ResizeSettings, axis: number, inLen: number): AxisTaps {
  const outLen = s.outDims[axis];
  const scale = s.scales[axis];
  let taps: number;
  let start: number; // offset of the first tap from `base`
  if (s.mode === "nearest") {
    taps = 1;
    start = 0;
  } else if (s.mode === "linear") {
    if (s.antialias) {
      const sc = Math.min(scale, 1);
      start = Math.floor(-1 / sc) + 1;
      taps = 2 - 2 * start;
    } else {
      start = 0;
      taps = 2;
    }
  } else if (s.antialias) {
    const sc = Math.min(scale, 1);
    start = Math.floor(-2 / sc) + 1;
    taps = 2 - 2 * start;
  } else {
    start = -1;
    taps = 4;
  }
  const idx = new Int32Array(outLen * taps);
  const w = new Float64Array(outLen * taps);
  const extrap = new Uint8Array(outLen);
  const coeffs = new Float64Array(taps);
  for (let o = 0; o < outLen; o++) {
    let xo: number | undefined;
    if (s.legacy) xo = o / scale;
    else xo = originalCoord(s, axis, o, inLen);
    if (xo === undefined) {
      extrap[o] = 1;
      continue;
    }
    const q = o * taps;
    if (s.mode === "nearest") {
      let i: number;
      if (s.legacy) {
        i = scale < 1 ? Math.ceil(xo) : Math.floor(xo);
      } else {
        const isInt = Number.isInteger(xo);
        const base = isInt ? xo - 1 : Math.floor(xo);
        const ratio = xo - base;
        let up: boolean;
        if (ratio === 1) up = true;
        else {
          switch (s.nearestMode) {
            case "round_prefer_floor":
              up = ratio > 0.5;
              break;
            case "round_prefer_ceil":
              up = ratio >= 0.5;
              break;
            case "floor":
              up = false;
              break;
            case "ceil":
              up = true;
              break;
            default:
              throw new RangeError(`nearest_mode "${s.nearestMode}" is not supported`);
          }
        }
        i = up ? base + 1 : base;
      }
      idx[q] = i < 0 ? 0 : i >= inLen ? inLen - 1 : i;
      w[q] = 1;
      continue;
    }
    const isInt = Number.isInteger(xo);
    const base = isInt ? xo - 1 : Math.floor(xo);
    const ratio = xo - base;
    if (s.mode === "linear") {
      if (s.antialias) {
        const sc = Math.min(scale, 1);
        let sum = 0;
        for (let t = 0; t < taps; t++) {
          const arg = (start + t - ratio) * sc;
          const c = Math.min(1, Math.max(0, 1 - Math.abs(arg)));
          coeffs[t] = c;
          sum += c;
        }
        for (let t = 0; t < taps; t++) coeffs[t] /= sum;
      } else {
        coeffs[0] = 1 - ratio;
        coeffs[1] = ratio;
      }
    } else if (s.antialias) {
      const sc = Math.min(scale, 1);
      let sum = 0;
      for (let t = 0; t < taps; t++) {
        const c = cubicKernel(sc * (start + t - ratio), s.cubicA);
        coeffs[t] = c;
        sum += c;
      }
      for (let t = 0; t < taps; t++) coeffs[t] /= sum;
    } else {
      const c = cubicCoeffs(ratio, s.cubicA);
      for (let t = 0; t < 4; t++) coeffs[t] = c[t];
    }
    if (s.excludeOutside) {
      let sum = 0;
      for (let t = 0; t < taps; t++) {
        const i = base + start + t;
        if (i < 0 || i >= inLen) coeffs[t] = 0;
        sum += coeffs[t];
      }
      for (let t = 0; t < taps; t++) coeffs[t] /= sum;
    }
    for (let t = 0; t < taps; t++) {
      const i = base + start + t;
      idx[q + t] = i < 0 ? 0 : i >= inLen ? inLen - 1 : i;
      w[q + t] = coeffs[t];
    }
  }
  return { taps, idx, w, extrap };
}

function isIdentity(t: AxisTaps, inLen: number, outLen: number): boolean {
  if (inLen !== outLen) return false;
  for (let o = 0; o < outLen; o++) {
    if (t.extrap[o]) return false;
    for (let k = 0; k < t.taps; k++) {
      const wv = t.w[o * t.taps + k];
      if (wv === 0) continue;
      if (wv !== 1 || t.idx[o * t.taps + k] !== o) return false;
    }
  }
  return true;
}

/** Applies interpolation taps axis by axis (innermost first) in float64. */
function interpolate(x: Tensor, s: ResizeSettings): Float64Array {
  let cur = Float64Array.from(numbersOf(x));
  const dims = [...x.dims];
  for (let a = dims.length - 1; a >= 0; a--) {
    const inLen = dims[a];
    const outLen = s.outDims[a];
    const t = axisTaps(s, a, inLen);
    if (isIdentity(t, inLen, outLen)) continue;
    const outer = shapeSize(dims.slice(0, a));
    const inner = shapeSize(dims.slice(a + 1));
    const next = new Float64Array(outer * outLen * inner);
    const { taps, idx, w, extrap } = t;
    for (let ou = 0; ou < outer; ou++) {
      const srcBase = ou * inLen * inner;
      for (let o = 0; o < outLen; o++) {
        const dst = (ou * outLen + o) * inner;
        if (extrap[o]) {
          next.fill(s.extrapolation, dst, dst + inner);
          continue;
        }
        for (let k = 0; k < taps; k++) {
          const wv = w[o * taps + k];
          if (wv === 0) continue;
          const src = srcBase + idx[o * taps + k] * inner;
          if (inner === 1) next[dst] += wv * cur[src];
          else for (let i = 0; i < inner; i++) next[dst + i] += wv * cur[src + i];
        }
      }
    }
    cur = next;
    dims[a] = outLen;
  }
  return cur;
}

/** Nearest resize by index moves: works for every element type. */
function nearestGather(x: Tensor, s: ResizeSettings): Tensor {
  const rank = x.dims.length;
  const outDims = s.outDims;
  const n = shapeSize(outDims);
  const inStrides = stridesOf(x.dims);
  const maps: Int32Array[] = [];
  for (let a = 0; a < rank; a++) {
    const t = axisTaps(s, a, x.dims[a]);
    const m = new Int32Array(outDims[a]);
    for (let o = 0; o < outDims[a]; o++) m[o] = t.extrap[o] ? -1 : t.idx[o];
    maps.push(m);
  }
  const type = x.type;
  const slots = type === "complex64" || type === "complex128" ? 2 : 1;
  const out = allocate(type, n) as unknown as { [i: number]: unknown };
  const src = x.data as unknown as { [i: number]: unknown };
  let fill: unknown;
  if (type === "string") fill = "";
  else if (slots === 2) fill = s.extrapolation;
  else if (isBig(type)) fill = BigInt(Math.trunc(s.extrapolation) || 0);
  else fill = (fromNumbers(type, [s.extrapolation]) as unknown as { [i: number]: unknown })[0];
  if (n === 0) return new Tensor(type, out as unknown as TensorData, outDims);
  if (rank === 0) {
    for (let k = 0; k < slots; k++) out[k] = src[k];
    return new Tensor(type, out as unknown as TensorData, outDims);
  }
  const last = rank - 1;
  const lastMap = maps[last];
  const lastLen = outDims[last];
  const o = new Int32Array(rank);
  for (let p = 0; p < n; p += lastLen) {
    let base = 0;
    let bad = false;
    for (let a = 0; a < last; a++) {
      const i = maps[a][o[a]];
      if (i < 0) bad = true;
      base += i * inStrides[a];
    }
    for (let j = 0; j < lastLen; j++) {
      const i = lastMap[j];
      const q = (p + j) * slots;
      if (bad || i < 0) {
        out[q] = fill;
        if (slots === 2) out[q + 1] = typeof fill === "number" ? 0 : fill;
      } else {
        const sIdx = (base + i) * slots;
        out[q] = src[sIdx];
        if (slots === 2) out[q + 1] = src[sIdx + 1];
      }
    }
    for (let a = last - 1; a >= 0; a--) {
      if (++o[a] < outDims[a]) break;
      o[a] = 0;
    }
  }
  return new Tensor(type, out as unknown as TensorData, outDims);
}

function runResize(ctx: OpContext, x: Tensor, s: ResizeSettings): Tensor {
  if (x.size === 0 && shapeSize(s.outDims) > 0) {
    throw ctx.fail(`cannot resize the empty tensor [${x.dims}] to [${s.outDims}]`);
  }
  if (s.mode === "nearest") {
    if (s.antialias) throw ctx.fail("antialias is not defined for mode nearest");
    return nearestGather(x, s);
  }
  const type = x.type;
  if (type === "string" || type === "bool" || type === "complex64" || type === "complex128") {
    throw ctx.unsupported(`${s.mode} resize of ${type} elements`, type);
  }
  const y = interpolate(x, s);
  if (type === "float64") return new Tensor(type, y, s.outDims);
  if (type === "float32" || isPackedFloat(type)) {
    return new Tensor(type, fromNumbers(type, y), s.outDims);
  }
  // Integer outputs truncate toward zero, like the reference's astype.
  return new Tensor(type, fromNumbers(type, y), s.outDims);
}

/** A float/int tensor as numbers, or undefined when omitted or empty. */
function optionalNumbers(
  ctx: OpContext,
  inputs: Parameters<OpDef["cpu"]>[1],
  i: number,
): number[] | undefined {
  const t = optionalTensorAt(ctx, inputs, i);
  if (!t || t.size === 0) return undefined;
  if (t.type === "int64" || t.type === "uint64") return toIntArray(t);
  return Array.from(numbersOf(t));
}

/** Output dims and scales from scales or sizes (shared with inference). */
function outputGeometry(
  dims: readonly number[],
  axes: readonly number[],
  scales: number[] | undefined,
  sizes: number[] | undefined,
  policy: string,
  scalesAreF32: boolean,
): { outDims: number[]; scales: number[]; outFloat: number[] } | string {
  const r = dims.length;
  const outDims = [...dims];
  const sc = new Array<number>(r).fill(1);
  const outFloat = dims.map((d) => d);
  if (scales) {
    if (scales.length !== axes.length) {
      return `scales has ${scales.length} values, expected ${axes.length}`;
    }
    if (scales.some((s) => !(s > 0))) return `scales must be positive, got [${scales}]`;
    axes.forEach((a, i) => {
      const s = scales[i];
      sc[a] = s;
      outDims[a] = Math.floor(s * dims[a]);
      outFloat[a] = scalesAreF32 ? Math.fround(s * dims[a]) : s * dims[a];
    });
    return { outDims, scales: sc, outFloat };
  }
  if (!sizes) return "one of scales and sizes is required";
  if (sizes.length !== axes.length) {
    return `sizes has ${sizes.length} values, expected ${axes.length}`;
  }
  if (sizes.some((s) => s < 0)) return `sizes must be non-negative, got [${sizes}]`;
  axes.forEach((a, i) => (sc[a] = sizes[i] / dims[a]));
  if (policy !== "stretch") {
    if (policy !== "not_larger" && policy !== "not_smaller") {
      return `keep_aspect_ratio_policy "${policy}" is not stretch, not_larger or not_smaller`;
    }
    const vals = axes.map((a) => sc[a]);
    const s = policy === "not_larger" ? Math.min(...vals) : Math.max(...vals);
    for (const a of axes) {
      sc[a] = s;
      outDims[a] = Math.trunc(s * dims[a] + 0.5);
    }
  } else {
    axes.forEach((a, i) => (outDims[a] = sizes[i]));
  }
  for (const a of axes) outFloat[a] = sc[a] * dims[a];
  return { outDims, scales: sc, outFloat };
}

function resizeAxes(ctx: OpContext | InferContext, rank: number): number[] | string {
  if (ctx.version < 18 || !ctx.attrs.has("axes")) return Array.from({ length: rank }, (_, i) => i);
  const axes = ctx.attrs.ints("axes").map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
    return `axes [${ctx.attrs.ints("axes")}] are invalid for rank ${rank}`;
  }
  return axes;
}

const resizeCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const v = ctx.version;
  const r = x.dims.length;
  const mode = ctx.attrs.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear" && mode !== "cubic") {
    throw ctx.fail(`mode "${mode}" is not nearest, linear or cubic`);
  }
  if (v < 11 && mode === "cubic") throw ctx.fail("mode cubic needs opset 11");
  const axes = resizeAxes(ctx, r);
  if (typeof axes === "string") throw ctx.fail(axes);
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  let roi: number[] | undefined;
  let scalesT: Tensor | undefined;
  if (v < 11) {
    scalesT = tensorAt(ctx, inputs, 1);
    scales = optionalNumbers(ctx, inputs, 1);
  } else {
    roi = optionalNumbers(ctx, inputs, 1);
    scalesT = optionalTensorAt(ctx, inputs, 2);
    scales = optionalNumbers(ctx, inputs, 2);
    sizes = optionalNumbers(ctx, inputs, 3);
  }
  if (scales && sizes) throw ctx.fail("only one of scales and sizes may be given");
  const policy = v >= 18 ? ctx.attrs.string("keep_aspect_ratio_policy", "stretch") : "stretch";
  const geo = outputGeometry(x.dims, axes, scales, sizes, policy, scalesT?.type === "float32");
  if (typeof geo === "string") throw ctx.fail(geo);
  const ctm = v >= 11
    ? ctx.attrs.string("coordinate_transformation_mode", "half_pixel")
    : "asymmetric";
  const known = [
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
  ];
  if (v === 11) known.push("tf_half_pixel_for_nn");
  if (!known.includes(ctm)) {
    throw ctx.fail(`coordinate_transformation_mode "${ctm}" is not supported`);
  }
  if (ctm === "half_pixel_symmetric" && v < 19) {
    throw ctx.fail("coordinate_transformation_mode half_pixel_symmetric needs opset 19");
  }
  const roiStart = new Array<number>(r).fill(0);
  const roiEnd = new Array<number>(r).fill(1);
  if (ctm === "tf_crop_and_resize") {
    if (!roi) throw ctx.fail("tf_crop_and_resize needs the roi input");
    if (roi.length !== 2 * axes.length) {
      throw ctx.fail(`roi has ${roi.length} values, expected ${2 * axes.length}`);
    }
    axes.forEach((a, i) => {
      roiStart[a] = roi![i];
      roiEnd[a] = roi![axes.length + i];
    });
  }
  const nearestMode = ctx.attrs.string("nearest_mode", "round_prefer_floor");
  if (!["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].includes(nearestMode)) {
    throw ctx.fail(`nearest_mode "${nearestMode}" is not supported`);
  }
  const s: ResizeSettings = {
    mode,
    ctm,
    nearestMode,
    cubicA: ctx.attrs.float("cubic_coeff_a", -0.75),
    excludeOutside: ctx.attrs.int("exclude_outside", 0) !== 0,
    extrapolation: ctx.attrs.float("extrapolation_value", 0),
    antialias: v >= 18 && ctx.attrs.int("antialias", 0) !== 0,
    outDims: geo.outDims,
    scales: geo.scales,
    outFloat: geo.outFloat,
    roiStart,
    roiEnd,
    legacy: v < 11,
  };
  return [runResize(ctx, x, s)];
};

function resizeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  if (!xs) return [{ kind: "tensor", elemType }];
  const r = xs.length;
  const axes = resizeAxes(ctx, r);
  if (typeof axes === "string") {
    ctx.error(axes);
    return [{ kind: "tensor", elemType }];
  }
  const legacy = ctx.version < 11;
  const read = (i: number): number[] | undefined => {
    if (!ctx.hasInput(i)) return undefined;
    const t = ctx.constant(i);
    if (!t || t.size === 0) return undefined;
    return t.type === "int64" ? toIntArray(t) : Array.from(numbersOf(t));
  };
  const scales = legacy ? read(1) : read(2);
  const sizes = legacy ? undefined : read(3);
  const shape: Dim[] = [...xs];
  const policy = ctx.version >= 18
    ? ctx.attrs.string("keep_aspect_ratio_policy", "stretch")
    : "stretch";
  if (sizes && policy === "stretch") {
    axes.forEach((a, i) => (shape[a] = sizes[i]));
  } else if ((scales || sizes) && xs.every((d) => typeof d === "number")) {
    const g = outputGeometry(xs as number[], axes, scales, sizes, policy, false);
    if (typeof g === "string") ctx.error(g);
    else g.outDims.forEach((d, i) => (shape[i] = d));
  } else if (scales) {
    axes.forEach((a, i) => {
      const d = xs[a];
      shape[a] = typeof d === "number"
        ? Math.floor(scales[i] * d)
        : scales[i] === 1
        ? d
        : undefined;
    });
  } else {
    for (const a of axes) shape[a] = undefined;
  }
  return [{ kind: "tensor", elemType, shape }];
}

// ---------------------------------------------------------------------------------------------
// Upsample
// ---------------------------------------------------------------------------------------------

const upsampleCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const r = x.dims.length;
  let mode = ctx.attrs.string("mode", "nearest");
  if (mode === "bilinear") mode = "linear";
  if (mode !== "nearest" && mode !== "linear") {
    throw ctx.fail(`mode "${mode}" is not nearest or linear`);
  }
  let scales: number[];
  let f32 = true;
  if (ctx.version >= 9) {
    const t = tensorAt(ctx, inputs, 1);
    scales = Array.from(numbersOf(t));
    f32 = t.type === "float32";
  } else if (ctx.version >= 7) {
    scales = ctx.attrs.floats("scales");
  } else {
    if (r !== 4) throw ctx.fail(`Upsample-1 needs a 4-D input, got [${x.dims}]`);
    scales = [1, 1, ctx.attrs.float("height_scale"), ctx.attrs.float("width_scale")];
  }
  if (scales.length !== r) throw ctx.fail(`scales has ${scales.length} values, expected ${r}`);
  if (scales.some((s) => !(s >= 1))) throw ctx.fail(`scales must be >= 1, got [${scales}]`);
  const axes = Array.from({ length: r }, (_, i) => i);
  const geo = outputGeometry(x.dims, axes, scales, undefined, "stretch", f32);
  if (typeof geo === "string") throw ctx.fail(geo);
  const s: ResizeSettings = {
    mode,
    ctm: "asymmetric",
    nearestMode: "floor",
    cubicA: -0.75,
    excludeOutside: false,
    extrapolation: 0,
    antialias: false,
    outDims: geo.outDims,
    scales: geo.scales,
    outFloat: geo.outFloat,
    roiStart: new Array<number>(r).fill(0),
    roiEnd: new Array<number>(r).fill(1),
    legacy: true,
  };
  return [runResize(ctx, x, s)];
};

function upsampleInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  if (!xs) return [{ kind: "tensor", elemType }];
  let scales: number[] | undefined;
  if (ctx.version >= 9) {
    const t = ctx.constant(1);
    scales = t ? Array.from(numbersOf(t)) : undefined;
  } else if (ctx.version >= 7) {
    scales = ctx.attrs.floats("scales", []);
  } else {
    scales = [1, 1, ctx.attrs.float("height_scale", 1), ctx.attrs.float("width_scale", 1)];
  }
  const shape = xs.map((d, i) =>
    scales && scales.length === xs.length && typeof d === "number"
      ? Math.floor(scales[i] * d)
      : undefined
  );
  return [{ kind: "tensor", elemType, shape }];
}

/** The resize family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Resize",
    versions: [10, 11, 13, 18, 19],
    cpu: resizeCpu,
    infer: resizeInfer,
    hostInputs: [1, 2, 3],
  },
  {
    domain: "",
    opType: "Upsample",
    versions: [1, 7, 9],
    cpu: upsampleCpu,
    infer: upsampleInfer,
    hostInputs: [1],
  },
];
