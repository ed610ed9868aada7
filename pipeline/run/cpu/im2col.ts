/**
 * Sliding-window data movement shared by convolution-like kernels: `im2col` lays out every
 * window of an image as the columns of a matrix (so a convolution becomes one GEMM), and
 * `col2im` scatters such a matrix back onto an image, adding overlapping contributions
 * (ConvTranspose, Col2Im). Both work for any number of spatial dimensions.
 *
 * Layout: an image holds `channels` planes of `prod(image)` elements (row-major); the column
 * matrix has `channels * prod(kernel)` rows (channel-major, then kernel position row-major)
 * and `prod(grid)` columns (window positions row-major). Window position `o` along dim `d`
 * reads image coordinate `o * strides[d] - padsBegin[d] + k * dilations[d]` for kernel
 * offset `k`; coordinates outside the image read as zero (im2col) or are dropped (col2im).
 *
 * @module
 */

import type { FloatArray } from "./gemm.ts";

/** Geometry of a sliding window over an image. */
export interface WindowGeometry {
  /** Spatial dims of the image (a convolution's input, a transposed convolution's output). */
  image: readonly number[];
  /** Spatial dims of the grid of window positions (a convolution's output). */
  grid: readonly number[];
  /** Kernel spatial dims. */
  kernel: readonly number[];
  /** Step between window positions, per dim. */
  strides: readonly number[];
  /** Step between kernel taps, per dim. */
  dilations: readonly number[];
  /** Padding before the first element, per dim (may be negative). */
  padsBegin: readonly number[];
}

function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Range [lo, hi) of grid positions along one dim whose tap lands inside the image. */
function validRange(
  gridLen: number,
  stride: number,
  start: number,
  imageLen: number,
): [number, number] {
  // Image coordinate of position o is o * stride + start; valid when 0 <= coord < imageLen.
  let lo = start >= 0 ? 0 : Math.ceil(-start / stride);
  let hi = imageLen - start <= 0 ? 0 : Math.ceil((imageLen - start) / stride);
  if (lo > gridLen) lo = gridLen;
  if (hi > gridLen) hi = gridLen;
  if (hi < lo) hi = lo;
  return [lo, hi];
}

/**
 * Walks every (channel, kernel tap) row and every grid position, calling the copy kernel on
 * runs along the last spatial dim. Shared by im2col and col2im.
 */
function walk(
  channels: number,
  g: WindowGeometry,
  run: (
    colPos: number,
    imgPos: number,
    lo: number,
    hi: number,
    len: number,
    stride: number,
    valid: boolean,
  ) => void,
): void {
  const r = g.image.length;
  const last = r - 1;
  const imageSize = product(g.image);
  const gridSize = product(g.grid);
  const kernelSize = product(g.kernel);
  const imgStrides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    imgStrides[d] = acc;
    acc *= g.image[d];
  }
  const lastLen = g.grid[last];
  const lastStride = g.strides[last];
  const outerDims = r - 1;
  const outerCount = lastLen === 0 ? 0 : gridSize / lastLen;
  const k = new Array<number>(r).fill(0);
  const o = new Array<number>(Math.max(outerDims, 0)).fill(0);
  for (let c = 0; c < channels; c++) {
    const imgBase = c * imageSize;
    k.fill(0);
    for (let kt = 0; kt < kernelSize; kt++) {
      const row = c * kernelSize + kt;
      const startLast = k[last] * g.dilations[last] - g.padsBegin[last];
      const [lo, hi] = validRange(lastLen, lastStride, startLast, g.image[last]);
      o.fill(0);
      for (let oi = 0; oi < outerCount; oi++) {
        let valid = true;
        let off = imgBase;
        for (let d = 0; d < outerDims; d++) {
          const coord = o[d] * g.strides[d] + k[d] * g.dilations[d] - g.padsBegin[d];
          if (coord < 0 || coord >= g.image[d]) {
            valid = false;
            break;
          }
          off += coord * imgStrides[d];
        }
        run(
          (row * gridSize) + oi * lastLen,
          off + startLast,
          lo,
          hi,
          lastLen,
          lastStride,
          valid,
        );
        for (let d = outerDims - 1; d >= 0; d--) {
          if (++o[d] < g.grid[d]) break;
          o[d] = 0;
        }
      }
      for (let d = r - 1; d >= 0; d--) {
        if (++k[d] < g.kernel[d]) break;
        k[d] = 0;
      }
    }
  }
}

function checkGeometry(g: WindowGeometry): void {
  const r = g.image.length;
  if (
    r === 0 || g.grid.length !== r || g.kernel.length !== r || g.strides.length !== r ||
    g.dilations.length !== r || g.padsBegin.length !== r
  ) {
    throw new RangeError(`Window geometry needs one entry per spatial dim (rank ${r})`);
  }
}

/**
 * Copies every window of `channels` image planes (starting at `src[srcOffset]`) into the
 * column matrix at `dst[dstOffset]`: `channels * prod(kernel)` rows of `prod(grid)` values.
 * Taps outside the image are written as 0.
 */
export function im2col(
  src: FloatArray,
  srcOffset: number,
  channels: number,
  g: WindowGeometry,
  dst: FloatArray,
  dstOffset = 0,
): void {
  checkGeometry(g);
  if (g.image.length === 2) {
    im2col2d(src, srcOffset, channels, g, dst, dstOffset);
    return;
  }
  walk(channels, g, (colPos, imgPos, lo, hi, len, stride, valid) => {
    const base = dstOffset + colPos;
    if (!valid) {
      dst.fill(0, base, base + len);
      return;
    }
    if (lo > 0) dst.fill(0, base, base + lo);
    let p = srcOffset + imgPos + lo * stride;
    for (let j = lo; j < hi; j++, p += stride) dst[base + j] = src[p];
    if (hi < len) dst.fill(0, base + hi, base + len);
  });
}

/** The 2-D case of {@link im2col}, with flat loops (the hot path of most CNNs). */
function im2col2d(
  src: FloatArray,
  srcOffset: number,
  channels: number,
  g: WindowGeometry,
  dst: FloatArray,
  dstOffset: number,
): void {
  const [H, W] = g.image;
  const [OH, OW] = g.grid;
  const [KH, KW] = g.kernel;
  const [SH, SW] = g.strides;
  const [DH, DW] = g.dilations;
  const [PH, PW] = g.padsBegin;
  const gridSize = OH * OW;
  let rowBase = dstOffset;
  for (let c = 0; c < channels; c++) {
    const plane = srcOffset + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      const hStart = kh * DH - PH;
      for (let kw = 0; kw < KW; kw++) {
        const wStart = kw * DW - PW;
        const [lo, hi] = validRange(OW, SW, wStart, W);
        let q = rowBase;
        for (let oh = 0; oh < OH; oh++, q += OW) {
          const ih = oh * SH + hStart;
          if (ih < 0 || ih >= H || lo >= hi) {
            dst.fill(0, q, q + OW);
            continue;
          }
          if (lo > 0) dst.fill(0, q, q + lo);
          const rowSrc = plane + ih * W + wStart;
          if (SW === 1) {
            for (let ow = lo; ow < hi; ow++) dst[q + ow] = src[rowSrc + ow];
          } else {
            let p = rowSrc + lo * SW;
            for (let ow = lo; ow < hi; ow++, p += SW) dst[q + ow] = src[p];
          }
          if (hi < OW) dst.fill(0, q + hi, q + OW);
        }
        rowBase += gridSize;
      }
    }
  }
}

/**
 * Adds the column matrix at `col[colOffset]` (`channels * prod(kernel)` rows of
 * `prod(grid)` values) onto `channels` image planes at `dst[dstOffset]`; taps outside the
 * image are dropped. `dst` is accumulated into, not cleared.
 */
export function col2im(
  col: FloatArray,
  colOffset: number,
  channels: number,
  g: WindowGeometry,
  dst: FloatArray,
  dstOffset = 0,
): void {
  checkGeometry(g);
  walk(channels, g, (colPos, imgPos, lo, hi, _len, stride, valid) => {
    if (!valid) return;
    const base = colOffset + colPos;
    let p = dstOffset + imgPos + lo * stride;
    for (let j = lo; j < hi; j++, p += stride) dst[p] += col[base + j];
  });
}

/**
 * For each element of the column matrix (row-major, `channels * prod(kernel)` rows of
 * `prod(grid)`), the flat image index it maps to, or -1 when its tap falls outside the image.
 * Lets kernels move elements of any storage type (bigint, complex) with the same geometry.
 */
export function windowIndexMap(channels: number, g: WindowGeometry): Int32Array {
  checkGeometry(g);
  const out = new Int32Array(channels * product(g.kernel) * product(g.grid)).fill(-1);
  walk(channels, g, (colPos, imgPos, lo, hi, _len, stride, valid) => {
    if (!valid) return;
    let p = imgPos + lo * stride;
    for (let j = lo; j < hi; j++, p += stride) out[colPos + j] = p;
  });
  return out;
}
