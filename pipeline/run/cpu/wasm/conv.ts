/**
 * Depthwise 2-D convolution and 2-D max pooling on the WebAssembly kernel module (see
 * `conv_module.ts`), vectorized along output rows.
 *
 * @module
 */

import { BASE_BYTES, kernels, MAX_BYTES, reserve } from "./kernels.ts";
import { writeColumnTable } from "./sgemm.ts";

/** Geometry of a 2-D window (strides, dilations and begin pads by height then width). */
export interface Window2d {
  /** Input height. */
  H: number;
  /** Input width. */
  W: number;
  /** Output height. */
  OH: number;
  /** Output width. */
  OW: number;
  /** Kernel height. */
  KH: number;
  /** Kernel width. */
  KW: number;
  /** Height stride. */
  SH: number;
  /** Width stride. */
  SW: number;
  /** Height dilation. */
  DH: number;
  /** Width dilation. */
  DW: number;
  /** Height padding before (may be negative). */
  PH: number;
  /** Width padding before (may be negative). */
  PW: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * For each of `planes` output planes p: y[p] (already holding its bias or zeros) +=
 * x[inPlane(p)] ⊛ w[p] (a KH×KW filter), in float32. `inPlane(p)` is the input plane index
 * (channel-multiplier groups map several outputs to one input). Returns false (having done
 * nothing) when the module is unavailable or the data does not fit.
 */
export function depthwise2dWasm(
  x: Float32Array,
  xOff: number,
  inPlanes: number,
  w: Float32Array,
  y: Float32Array,
  yOff: number,
  planes: number,
  inPlane: (p: number) => number,
  g: Window2d,
): boolean {
  const k = kernels();
  if (!k) return false;
  const inSize = g.H * g.W, outSize = g.OH * g.OW, ks = g.KH * g.KW;
  const xAt = BASE_BYTES / 4;
  const yAt = xAt + align16(inPlanes * inSize + 4);
  const wAt = yAt + align16(planes * outSize);
  const tabAt = wAt + align16(planes * ks);
  const end = tabAt + align16(3 * g.KW);
  if (end * 4 > MAX_BYTES || !reserve(k, end * 4)) return false;
  const f32 = k.f32;
  f32.set(x.subarray(xOff, xOff + inPlanes * inSize), xAt);
  f32.set(y.subarray(yOff, yOff + planes * outSize), yAt);
  f32.set(w.subarray(0, planes * ks), wAt);
  writeColumnTable(k.i32, tabAt, g.KW, g.OW, g.SW, g.DW, g.PW, g.W);
  for (let p = 0; p < planes; p++) {
    k.fns.depthwise2d(
      (xAt + inPlane(p) * inSize) * 4,
      (yAt + p * outSize) * 4,
      (wAt + p * ks) * 4,
      g.H,
      g.W,
      g.OH,
      g.OW,
      g.KH,
      g.KW,
      g.SH,
      g.DH,
      g.PH,
      g.SW,
      tabAt * 4,
    );
  }
  y.set(f32.subarray(yAt, yAt + planes * outSize), yOff);
  return true;
}

/**
 * 2-D max pooling of `planes` float32 planes (x at `xOff`, y at `yOff`, both contiguous):
 * each output is the first in-image tap of its window in (kh, kw) order, replaced by every
 * later tap v with `v > best || best ≠ best` (as the TypeScript MaxPool); an empty window
 * gives −∞. Returns false (having done nothing) when the module is unavailable or the data
 * does not fit.
 */
export function maxpool2dWasm(
  x: Float32Array,
  xOff: number,
  y: Float32Array,
  yOff: number,
  planes: number,
  g: Window2d,
): boolean {
  const k = kernels();
  if (!k) return false;
  const inSize = g.H * g.W, outSize = g.OH * g.OW;
  // Planes at a time, so large tensors do not need a large memory.
  const batch = Math.max(1, Math.min(planes, Math.floor((1 << 22) / (inSize + outSize))));
  const xAt = BASE_BYTES / 4;
  const yAt = xAt + align16(batch * inSize + 4);
  const tabAt = yAt + align16(batch * outSize);
  const end = tabAt + align16(3 * g.KW);
  if (end * 4 > MAX_BYTES || !reserve(k, end * 4)) return false;
  writeColumnTable(k.i32, tabAt, g.KW, g.OW, g.SW, g.DW, g.PW, g.W);
  for (let p0 = 0; p0 < planes; p0 += batch) {
    const nb = Math.min(batch, planes - p0);
    const f32 = k.f32;
    f32.set(x.subarray(xOff + p0 * inSize, xOff + (p0 + nb) * inSize), xAt);
    for (let p = 0; p < nb; p++) {
      k.fns.maxpool2d(
        (xAt + p * inSize) * 4,
        (yAt + p * outSize) * 4,
        g.H,
        g.W,
        g.OH,
        g.OW,
        g.KH,
        g.KW,
        g.SH,
        g.DH,
        g.PH,
        g.SW,
        tabAt * 4,
      );
    }
    y.set(f32.subarray(yAt, yAt + nb * outSize), yOff + p0 * outSize);
  }
  // Windows without any tap inside the image (only with pads as large as the kernel).
  const rowEmpty: number[] = [], colEmpty: number[] = [];
  for (let oh = 0; oh < g.OH; oh++) {
    let any = false;
    for (let kh = 0; kh < g.KH && !any; kh++) {
      const ih = oh * g.SH + kh * g.DH - g.PH;
      any = ih >= 0 && ih < g.H;
    }
    if (!any) rowEmpty.push(oh);
  }
  for (let ow = 0; ow < g.OW; ow++) {
    let any = false;
    for (let kw = 0; kw < g.KW && !any; kw++) {
      const iw = ow * g.SW + kw * g.DW - g.PW;
      any = iw >= 0 && iw < g.W;
    }
    if (!any) colEmpty.push(ow);
  }
  if (rowEmpty.length || colEmpty.length) {
    for (let p = 0; p < planes; p++) {
      const base = yOff + p * outSize;
      for (const oh of rowEmpty) y.fill(-Infinity, base + oh * g.OW, base + (oh + 1) * g.OW);
      for (const ow of colEmpty) {
        for (let oh = 0; oh < g.OH; oh++) y[base + oh * g.OW + ow] = -Infinity;
      }
    }
  }
  return true;
}
