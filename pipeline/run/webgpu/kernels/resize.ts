/**
 * Resize on the GPU with `resize.wgsl`: modes nearest (any element type; every
 * nearest_mode) and linear (float32, without antialias), every
 * coordinate_transformation_mode including tf_crop_and_resize's extrapolation, scales or
 * sizes, axes and keep_aspect_ratio_policy (opset 18), and the opset-10 rules. The per-axis
 * tap tables (input index and weight per output index) are built on the host with the CPU
 * kernel's formulas and uploaded for the run; cubic and antialiased resizes stay on the CPU.
 *
 * @module
 */

import { toIntArray } from "../../../../ops/util.ts";
import { fromNumbers, shapeSize, stridesOf, Tensor } from "../../../tensor/tensor.ts";
import {
  GpuDecline,
  gpuElem,
  type GpuKernel,
  type KernelContext,
  UniformWriter,
} from "../kernel.ts";

const WG = 64;

interface Settings {
  linear: boolean;
  ctm: string;
  nearestMode: string;
  excludeOutside: boolean;
  extrapolation: number;
  outDims: number[];
  scales: number[];
  outFloat: number[];
  roiStart: number[];
  roiEnd: number[];
  legacy: boolean;
}

/** A float or int tensor as numbers, or undefined when omitted or empty. */
function numbers(t: Tensor | undefined): number[] | undefined {
  if (!t || t.size === 0) return undefined;
  if (t.type === "int64") return toIntArray(t);
  return Array.from(t.data as ArrayLike<number>);
}

const CTMS = [
  "half_pixel",
  "half_pixel_symmetric",
  "pytorch_half_pixel",
  "align_corners",
  "asymmetric",
  "tf_crop_and_resize",
];

/** The resize settings as the CPU kernel reads them; a string when it would fail. */
function settings(k: KernelContext, inputs: readonly (Tensor | undefined)[]): Settings | string {
  const x = inputs[0]!;
  const v = k.version;
  const dims = x.dims;
  const r = dims.length;
  let axes = Array.from({ length: r }, (_, i) => i);
  if (v >= 18 && k.attrs.has("axes")) {
    axes = k.attrs.ints("axes").map((a) => (a < 0 ? a + r : a));
    if (axes.some((a) => a < 0 || a >= r) || new Set(axes).size !== axes.length) return "axes";
  }
  let scales: number[] | undefined, sizes: number[] | undefined, roi: number[] | undefined;
  let scalesF32 = false;
  if (v < 11) {
    if (!inputs[1]) return "scales are required";
    scales = numbers(inputs[1]);
    scalesF32 = inputs[1].type === "float32";
  } else {
    roi = numbers(inputs[1]);
    scales = numbers(inputs[2]);
    scalesF32 = inputs[2]?.type === "float32";
    sizes = numbers(inputs[3]);
  }
  if (scales && sizes) return "both scales and sizes";
  const policy = v >= 18 ? k.attrs.string("keep_aspect_ratio_policy", "stretch") : "stretch";
  const outDims = [...dims];
  const sc = new Array<number>(r).fill(1);
  const outFloat = [...dims];
  if (scales) {
    if (scales.length !== axes.length || scales.some((s) => !(s > 0))) return "scales";
    axes.forEach((a, i) => {
      sc[a] = scales![i];
      outDims[a] = Math.floor(scales![i] * dims[a]);
      outFloat[a] = scalesF32 ? Math.fround(scales![i] * dims[a]) : scales![i] * dims[a];
    });
  } else {
    if (!sizes || sizes.length !== axes.length || sizes.some((s) => s < 0)) return "sizes";
    axes.forEach((a, i) => (sc[a] = sizes![i] / dims[a]));
    if (policy !== "stretch") {
      if (policy !== "not_larger" && policy !== "not_smaller") return "policy";
      const vals = axes.map((a) => sc[a]);
      const s = policy === "not_larger" ? Math.min(...vals) : Math.max(...vals);
      for (const a of axes) {
        sc[a] = s;
        outDims[a] = Math.trunc(s * dims[a] + 0.5);
      }
    } else axes.forEach((a, i) => (outDims[a] = sizes![i]));
    for (const a of axes) outFloat[a] = sc[a] * dims[a];
  }
  const ctm = v >= 11
    ? k.attrs.string("coordinate_transformation_mode", "half_pixel")
    : "asymmetric";
  if (!CTMS.includes(ctm) && !(v === 11 && ctm === "tf_half_pixel_for_nn")) return "ctm";
  if (ctm === "half_pixel_symmetric" && v < 19) return "ctm";
  const roiStart = new Array<number>(r).fill(0);
  const roiEnd = new Array<number>(r).fill(1);
  if (ctm === "tf_crop_and_resize") {
    if (!roi || roi.length !== 2 * axes.length) return "roi";
    axes.forEach((a, i) => {
      roiStart[a] = roi![i];
      roiEnd[a] = roi![axes.length + i];
    });
  }
  const nearestMode = k.attrs.string("nearest_mode", "round_prefer_floor");
  if (!["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].includes(nearestMode)) {
    return "nearest_mode";
  }
  if (x.size === 0 && shapeSize(outDims) > 0) return "an empty input";
  return {
    linear: k.attrs.string("mode", "nearest") === "linear",
    ctm,
    nearestMode,
    excludeOutside: k.attrs.int("exclude_outside", 0) !== 0,
    extrapolation: k.attrs.float("extrapolation_value", 0),
    outDims,
    scales: sc,
    outFloat,
    roiStart,
    roiEnd,
    legacy: v < 11,
  };
}

/** Input coordinate of output index `o` on an axis; undefined to extrapolate. */
function originalCoord(s: Settings, axis: number, o: number, inLen: number): number | undefined {
  const scale = s.scales[axis];
  const outW = s.outFloat[axis];
  switch (s.ctm) {
    case "align_corners":
      return outW === 1 ? 0 : (o * (inLen - 1)) / (outW - 1);
    case "asymmetric":
      return o / scale;
    case "tf_crop_and_resize": {
      const r0 = s.roiStart[axis], r1 = s.roiEnd[axis];
      let v = outW === 1
        ? ((r1 - r0) * (inLen - 1)) / 2
        : (o * (r1 - r0) * (inLen - 1)) / (outW - 1);
      v += r0 * (inLen - 1);
      return v < 0 || v > inLen - 1 ? undefined : v;
    }
    case "pytorch_half_pixel":
      return outW === 1 ? -0.5 : (o + 0.5) / scale - 0.5;
    case "half_pixel":
      return (o + 0.5) / scale - 0.5;
    case "half_pixel_symmetric": {
      const adjustment = s.outDims[axis] / outW;
      const center = inLen / 2;
      return center * (1 - adjustment) + (o + 0.5) / scale - 0.5;
    }
    default: // tf_half_pixel_for_nn
      return (o + 0.5) / scale;
  }
}

/** Taps of one axis: index and weight per tap per output index (index -1: extrapolate). */
function axisTaps(
  s: Settings,
  axis: number,
  inLen: number,
): { taps: number; idx: number[]; w: number[] } {
  const outLen = s.outDims[axis];
  const scale = s.scales[axis];
  const taps =
    s.linear && (inLen !== outLen || s.scales[axis] !== 1 || s.ctm === "tf_crop_and_resize")
      ? 2
      : 1;
  const idx: number[] = [];
  const w: number[] = [];
  const clamp = (i: number) => (i < 0 ? 0 : i >= inLen ? inLen - 1 : i);
  for (let o = 0; o < outLen; o++) {
    const xo = s.legacy ? o / scale : originalCoord(s, axis, o, inLen);
    if (xo === undefined) {
      for (let t = 0; t < taps; t++) (idx.push(-1), w.push(0));
      continue;
    }
    if (taps === 1 && s.linear) {
      // An axis left as it is: the identity (the CPU skips it).
      idx.push(o);
      w.push(1);
      continue;
    }
    const base = Number.isInteger(xo) ? xo - 1 : Math.floor(xo);
    const ratio = xo - base;
    if (!s.linear) {
      let i: number;
      if (s.legacy) i = scale < 1 ? Math.ceil(xo) : Math.floor(xo);
      else {
        let up: boolean;
        if (ratio === 1) up = true;
        else if (s.nearestMode === "round_prefer_floor") up = ratio > 0.5;
        else if (s.nearestMode === "round_prefer_ceil") up = ratio >= 0.5;
        else up = s.nearestMode === "ceil";
        i = up ? base + 1 : base;
      }
      idx.push(clamp(i));
      w.push(1);
      continue;
    }
    const c = [1 - ratio, ratio];
    if (s.excludeOutside) {
      let sum = 0;
      for (let t = 0; t < 2; t++) {
        const i = base + t;
        if (i < 0 || i >= inLen) c[t] = 0;
        sum += c[t];
      }
      for (let t = 0; t < 2; t++) c[t] /= sum;
    }
    for (let t = 0; t < 2; t++) (idx.push(clamp(base + t)), w.push(c[t]));
  }
  return { taps, idx, w };
}

/** True when the linear taps of an axis are the identity (the CPU skips such axes). */
function identityAxis(
  t: { taps: number; idx: number[]; w: number[] },
  inLen: number,
  outLen: number,
) {
  if (inLen !== outLen) return false;
  for (let o = 0; o < outLen; o++) {
    for (let j = 0; j < t.taps; j++) {
      const wv = t.w[o * t.taps + j], iv = t.idx[o * t.taps + j];
      if (iv < 0) return false;
      if (wv === 0) continue;
      if (wv !== 1 || iv !== o) return false;
    }
  }
  return true;
}

/** The stored bits of the extrapolation value in x's type. */
function fillBits(type: string, value: number): number {
  switch (type) {
    case "float32":
      return new Uint32Array(Float32Array.of(value).buffer)[0];
    case "int32":
    case "uint32":
      return Number((fromNumbers(type, [value]) as ArrayLike<number>)[0]) >>> 0;
    case "bool":
      return (fromNumbers("bool", [value]) as Uint8Array)[0] ? 1 : 0;
    default: // float16
      return (fromNumbers("float16", [value]) as Uint16Array)[0];
  }
}

const resizeKernel: GpuKernel = {
  host: [1, 2, 3],
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    const e = gpuElem(x.type, node.info.features.shaderF16);
    if (!e) return `input is ${x.type}`;
    const mode = node.attrs.string("mode", "nearest");
    if (mode !== "nearest" && mode !== "linear") return `mode ${mode} stays on the CPU`;
    if (mode === "linear" && x.type !== "float32") return "linear resize of non-float32";
    if (node.version >= 18 && node.attrs.int("antialias", 0) !== 0) return "antialias";
    if (x.dims.length > 8 || x.dims.length === 0) return `rank ${x.dims.length}`;
    return true;
  },
  async run(k, inputs) {
    const x = inputs[0]!;
    const s = settings(k, inputs);
    if (typeof s === "string") throw new GpuDecline(`resize settings the CPU rejects (${s})`);
    const rank = x.dims.length;
    const y = k.output(x.type, s.outDims);
    const count = shapeSize(s.outDims);
    if (count === 0) return [y];
    const idx: number[] = [], w: number[] = [], taps: number[] = [], offsets: number[] = [];
    for (let a = 0; a < rank; a++) {
      let t = axisTaps(s, a, x.dims[a]);
      if (t.taps === 2 && identityAxis(t, x.dims[a], s.outDims[a])) {
        t = { taps: 1, idx: t.idx.filter((_, i) => i % 2 === 0).map((_, o) => o), w: [] };
        t.w = t.idx.map(() => 1);
      }
      offsets.push(idx.length);
      taps.push(t.taps);
      idx.push(...t.idx);
      w.push(...t.w);
    }
    const combos = taps.reduce((p, t) => p * t, 1);
    const e = gpuElem(x.type, k.info.features.shaderF16)!;
    const T = s.linear ? "f32" : e === "f16" ? "f16" : "u32";
    const fill = s.linear
      ? "fn fill_value() -> T {\n  return T(bitcast<f32>(u.sizes.z));\n}"
      : T === "f16"
      ? "fn fill_value() -> T {\n  return bitcast<vec2<f16>>(u.sizes.z).x;\n}"
      : "fn fill_value() -> T {\n  return u.sizes.z;\n}";
    const pipeline = await k.pipeline({
      shader: "resize",
      aliases: { T },
      slots: { fill },
      f16: T === "f16",
      constants: { WG, RANK: rank, LINEAR: s.linear },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    const idxT = k.upload(new Tensor("int32", Int32Array.from(idx), [idx.length]));
    const wT = k.upload(new Tensor("float32", Float32Array.from(w), [w.length]));
    k.dispatch(pipeline, {
      reads: [x, idxT, wT],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(count, combos, fillBits(s.linear ? "float32" : x.type, s.extrapolation))
        .list8(s.outDims)
        .list8(stridesOf(x.dims))
        .list8(taps)
        .list8(offsets)
        .finish(),
      groups: k.groups1d(count, WG),
    });
    return [y];
  },
};

/** The resize kernels by op type. */
export function resizeKernels(): Map<string, GpuKernel> {
  return new Map([["Resize", resizeKernel]]);
}
