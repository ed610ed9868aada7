/**
 * The WebAssembly SIMD float32 GEMM: operands are copied into the kernel module's memory,
 * packed into MR-row and NR-column panels there, and multiplied by the register-blocked
 * micro-kernel of `sgemm_module.ts`, blocked over K (for L1) and M and N (for L2). B can also
 * be the column matrix of a 2-D image, built in module memory by `im2col2d` (a convolution
 * without a column buffer in JavaScript). When WebAssembly SIMD is unavailable the functions
 * here return false and the caller uses its TypeScript kernel.
 *
 * @module
 */

import { BASE_BYTES, type Kernels, kernels, MAX_BYTES, reserve, TILE_COUNTER } from "./kernels.ts";
import { availableThreads, type KernelCall, runParallel } from "./threads.ts";

/** A float32 matrix operand (see `Operand` in gemm.ts). */
export interface F32Operand {
  /** Storage. */
  data: Float32Array;
  /** Offset of element (0, 0). */
  offset: number;
  /** Distance between stored rows. */
  ld: number;
  /** True when the stored matrix is the transpose of the logical one. */
  trans: boolean;
}

/** The float32 result operand. */
export interface F32Result {
  /** Storage. */
  data: Float32Array;
  /** Offset of element (0, 0). */
  offset: number;
  /** Distance between rows. */
  ld: number;
}

/** The int32 result operand of the exact integer products. */
export interface I32Result {
  /** Storage. */
  data: Int32Array;
  /** Offset of element (0, 0). */
  offset: number;
  /** Distance between rows. */
  ld: number;
}

/**
 * The column matrix of `channels` 2-D image planes (row-major, contiguous) as a B operand:
 * `channels·KH·KW` rows of `OH·OW` columns (see `im2col` in ../im2col.ts).
 */
export interface Im2colOperand {
  /** Image storage. */
  data: Float32Array;
  /** Offset of the first plane. */
  offset: number;
  /** Number of planes. */
  channels: number;
  /** Image height and width. */
  H: number;
  /** Image width. */
  W: number;
  /** Output grid height. */
  OH: number;
  /** Output grid width. */
  OW: number;
  /** Kernel height. */
  KH: number;
  /** Kernel width. */
  KW: number;
  /** Strides (height, width). */
  SH: number;
  /** Width stride. */
  SW: number;
  /** Dilations (height, width). */
  DH: number;
  /** Width dilation. */
  DW: number;
  /** Padding before (height, width); may be negative. */
  PH: number;
  /** Width padding before. */
  PW: number;
}

/** Block sizes (elements): K per packed panel, rows of A per kernel call, columns of B per block. */
const KC = 256;
const MC = 384;
const NC = 2048;
/** Multiply-adds from which a GEMM is shared among threads. */
const PARALLEL_MIN_WORK = 1 << 21;
/** Column-matrix elements from which im2col is shared among threads. */
const PARALLEL_MIN_IM2COL = 1 << 18;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
/** Rounds a float count up to a 64-byte boundary. */
const align16 = (n: number) => roundUp(n, 16);

/**
 * Copies a stored `rows × cols` matrix (row stride `ld`) into the module memory at element
 * `dst`; returns the row stride it has there. Near-contiguous matrices are copied as one span.
 */
function copyIn(
  view: Float32Array,
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  ld: number,
  dst: number,
): number {
  if (rows === 1 || ld === cols || ld <= 2 * cols) {
    const span = (rows - 1) * ld + cols;
    view.set(span === src.length && off === 0 ? src : src.subarray(off, off + span), dst);
    return rows === 1 ? cols : ld;
  }
  for (let r = 0; r < rows; r++) {
    view.set(src.subarray(off + r * ld, off + r * ld + cols), dst + r * cols);
  }
  return cols;
}

/** Elements the stored copy of an operand takes with {@link copyIn}. */
function storedSize(rows: number, cols: number, ld: number): number {
  if (rows === 1 || ld === cols || ld <= 2 * cols) return (rows - 1) * ld + cols;
  return rows * cols;
}

function invokeIm2col(k: Kernels, a: readonly number[]): void {
  k.fns.im2col2d(
    a[0],
    a[1],
    a[2],
    a[3],
    a[4],
    a[5],
    a[6],
    a[7],
    a[8],
    a[9],
    a[10],
    a[11],
    a[12],
    a[13],
  );
}

function invokeTiles(k: Kernels, call: KernelCall): void {
  const a = call.args;
  k.fns.gemm_tiles(
    a[0],
    a[1],
    a[2],
    a[3],
    a[4],
    a[5],
    a[6],
    a[7],
    a[8],
    a[9],
    a[10],
    a[11],
    a[12],
    a[13],
    a[14],
    a[15],
    a[16],
    a[17],
    a[18],
    a[19],
    a[20],
    a[21],
  );
}

/** Where B is in module memory once placed: element address and strides of (k, j) in bytes. */
interface PlacedB {
  addr: number;
  sj: number;
  sk: number;
}

/** How B gets into module memory: elements it needs, and the placing step. */
interface BSource {
  floats: number;
  place(k: Kernels, at: number): PlacedB;
}

/**
 * The shared driver: C = alpha · op(A) · B + beta · C with B provided by `bs`. Returns false
 * when memory cannot be reserved (nothing was written).
 */
function run(
  k: Kernels,
  M: number,
  N: number,
  K: number,
  a: F32Operand,
  bs: BSource,
  c: F32Result | I32Result,
  alpha: number,
  beta: number,
): boolean {
  const intOut = c.data instanceof Int32Array;
  const { mr, nrv } = k.shape;
  const nr = 4 * nrv;
  const Mp = roundUp(M, mr);
  const Np = roundUp(N, nr);
  // Tiles of C handed out to threads: big ones for one thread, at least 4 per thread else.
  const threads = M * N * K >= PARALLEL_MIN_WORK ? availableThreads(k) : 1;
  // Tile sizes are whole panels (multiples of MR and NR).
  let mt = Math.min(Math.floor(MC / mr) * mr, Mp), nt = Math.min(Math.floor(NC / nr) * nr, Np);
  const tileCount = () => Math.ceil(Mp / mt) * Math.ceil(N / nt);
  while (threads > 1 && tileCount() < 4 * threads) {
    if (nt >= 8 * nr) nt = roundUp(nt / 2, nr);
    else if (mt >= 8 * mr) mt = roundUp(mt / 2, mr);
    else break;
  }
  const aRows = a.trans ? K : M, aCols = a.trans ? M : K;
  const rawA = BASE_BYTES / 4;
  const rawB = rawA + align16(storedSize(aRows, aCols, a.ld));
  const bufs = rawB + align16(bs.floats);
  // Per thread: packed A rows (mt × kc) and B columns (kc × nt) of the current tile.
  const kcMax = Math.min(KC, K);
  const paSize = align16(mt * kcMax), pbSize = align16(kcMax * nt);
  const cw = bufs + threads * (paSize + pbSize);
  const end = cw + Mp * Np;
  if (end * 4 > MAX_BYTES || !reserve(k, end * 4)) return false;
  const view = k.f32;
  const lda = copyIn(view, a.data, a.offset, aRows, aCols, a.ld, rawA);
  const b = bs.place(k, rawB);
  // C: bring in beta · C when it contributes (int32 C: beta is 0 or 1).
  const loadC = () => {
    if (beta === 0) return;
    if (c.data instanceof Int32Array) {
      for (let i = 0; i < M; i++) {
        const src = c.offset + i * c.ld;
        k.i32.set(c.data.subarray(src, src + N), cw + i * Np);
      }
      return;
    }
    const C = c.data;
    for (let i = 0; i < M; i++) {
      const src = c.offset + i * c.ld;
      const dst = cw + i * Np;
      if (beta === 1) view.set(C.subarray(src, src + N), dst);
      else for (let j = 0; j < N; j++) view[dst + j] = beta * C[src + j];
    }
  };
  loadC();
  const tilesN = Math.ceil(N / nt);
  Atomics.store(k.i32, TILE_COUNTER / 4, 0);
  const calls: KernelCall[] = [];
  for (let t = 0; t < threads; t++) {
    const pa = bufs + t * (paSize + pbSize);
    calls.push({
      fn: "gemm_tiles",
      args: [
        TILE_COUNTER,
        tilesN,
        tileCount(),
        mt,
        nt,
        M,
        N,
        K,
        rawA * 4,
        a.trans ? 4 : lda * 4,
        a.trans ? lda * 4 : 4,
        alpha,
        b.addr,
        b.sj,
        b.sk,
        pa * 4,
        (pa + paSize) * 4,
        cw * 4,
        Np * 4,
        beta !== 0 ? 1 : 0,
        KC,
        intOut ? 1 : 0,
      ],
      floats: [11],
    });
  }
  if (calls.length > 1 && !runParallel(k, calls)) {
    // A worker failed: redo everything here.
    loadC();
    Atomics.store(k.i32, TILE_COUNTER / 4, 0);
    invokeTiles(k, calls[0]);
  } else if (calls.length === 1) {
    invokeTiles(k, calls[0]);
  }
  // Copy the result out.
  const out = c.data;
  const src = out instanceof Int32Array ? k.i32 : view;
  if (c.ld === N && Np === N) {
    out.set(src.subarray(cw, cw + M * N), c.offset);
  } else {
    for (let i = 0; i < M; i++) {
      out.set(src.subarray(cw + i * Np, cw + i * Np + N), c.offset + i * c.ld);
    }
  }
  return true;
}

/**
 * C[M,N] = alpha · op(A) · op(B) + beta · C in float32 with the WebAssembly kernel (beta = 0:
 * C is not read). Returns false (having done nothing) when the module is unavailable or
 * memory cannot be reserved. Requires M, N, K ≥ 1.
 */
export function sgemmWasm(
  M: number,
  N: number,
  K: number,
  a: F32Operand,
  b: F32Operand,
  c: F32Result,
  alpha: number,
  beta: number,
): boolean {
  return product(M, N, K, a, b, c, alpha, beta);
}

/**
 * Exact integer product: C (int32) = (accumulate ? C : 0) + op(A) · op(B), where A and B
 * hold integers of magnitude at most 255 as float32 (8-bit values minus zero points). Sums
 * run in float32 over K blocks of at most 256 terms, where they are exact, and add up in
 * int32. Returns false (having done nothing) when the module is unavailable or memory cannot
 * be reserved. Requires M, N, K ≥ 1.
 */
export function igemmExactWasm(
  M: number,
  N: number,
  K: number,
  a: F32Operand,
  b: F32Operand,
  c: I32Result,
  accumulate: boolean,
): boolean {
  return product(M, N, K, a, b, c, 1, accumulate ? 1 : 0);
}

function product(
  M: number,
  N: number,
  K: number,
  a: F32Operand,
  b: F32Operand,
  c: F32Result | I32Result,
  alpha: number,
  beta: number,
): boolean {
  const k = kernels();
  if (!k) return false;
  const bRows = b.trans ? N : K, bCols = b.trans ? K : N;
  const bs: BSource = {
    floats: storedSize(bRows, bCols, b.ld),
    place(kk, at) {
      const ldb = copyIn(kk.f32, b.data, b.offset, bRows, bCols, b.ld, at);
      return { addr: at * 4, sj: b.trans ? ldb * 4 : 4, sk: b.trans ? 4 : ldb * 4 };
    },
  };
  if (run(k, M, N, K, a, bs, c, alpha, beta)) return true;
  // Too big for one pass: split the columns of C (or, when that cannot help, its rows).
  const nr = 4 * k.shape.nrv, mr = k.shape.mr;
  if (N >= 2 * nr) {
    const n1 = roundUp(Math.ceil(N / 2), nr);
    const bSplit = b.trans ? b.offset + n1 * b.ld : b.offset + n1;
    return product(M, n1, K, a, b, c, alpha, beta) &&
      product(
        M,
        N - n1,
        K,
        a,
        { ...b, offset: bSplit },
        {
          ...c,
          offset: c.offset + n1,
        } as typeof c,
        alpha,
        beta,
      );
  }
  if (M >= 2 * mr) {
    const m1 = roundUp(Math.ceil(M / 2), mr);
    const aSplit = a.trans ? a.offset + m1 : a.offset + m1 * a.ld;
    return product(m1, N, K, a, b, c, alpha, beta) &&
      product(
        M - m1,
        N,
        K,
        { ...a, offset: aSplit },
        b,
        {
          ...c,
          offset: c.offset + m1 * c.ld,
        } as typeof c,
        alpha,
        beta,
      );
  }
  return false;
}

/**
 * Output-column range [lo, hi) whose tap at input column `o·stride + start` is inside
 * [0, len), for `n` output columns.
 */
export function validColumns(
  n: number,
  stride: number,
  start: number,
  len: number,
): [number, number] {
  let lo = start >= 0 ? 0 : Math.ceil(-start / stride);
  let hi = len - start <= 0 ? 0 : Math.ceil((len - start) / stride);
  if (lo > n) lo = n;
  if (hi > n) hi = n;
  if (hi < lo) hi = lo;
  return [lo, hi];
}

/** Writes the per-kernel-column (lo, hi, start) table of a 2-D window at int32 index `at`. */
export function writeColumnTable(
  i32: Int32Array,
  at: number,
  KW: number,
  OW: number,
  SW: number,
  DW: number,
  PW: number,
  W: number,
): void {
  for (let kw = 0; kw < KW; kw++) {
    const start = kw * DW - PW;
    const [lo, hi] = validColumns(OW, SW, start, W);
    i32[at + 3 * kw] = lo;
    i32[at + 3 * kw + 1] = hi;
    i32[at + 3 * kw + 2] = start;
  }
}

/**
 * C[M, OH·OW] = alpha · op(A)[M, K] · im2col(image) + beta · C (K = channels·KH·KW) with the
 * column matrix built in module memory. Returns false (having done nothing) when the module
 * is unavailable or the problem does not fit in its memory.
 */
export function sgemmIm2colWasm(
  M: number,
  a: F32Operand,
  im: Im2colOperand,
  c: F32Result,
  alpha: number,
  beta: number,
): boolean {
  return im2colProduct(M, a, im, c, alpha, beta);
}

/**
 * Exact integer convolution product: C (int32) = (accumulate ? C : 0) + A · im2col(image),
 * with A and the image holding integers of magnitude at most 255 as float32 (see
 * {@link igemmExactWasm}; padding reads 0). False when unavailable or too big.
 */
export function igemmIm2colExactWasm(
  M: number,
  a: F32Operand,
  im: Im2colOperand,
  c: I32Result,
  accumulate: boolean,
): boolean {
  return im2colProduct(M, a, im, c, 1, accumulate ? 1 : 0);
}

function im2colProduct(
  M: number,
  a: F32Operand,
  im: Im2colOperand,
  c: F32Result | I32Result,
  alpha: number,
  beta: number,
): boolean {
  const k = kernels();
  if (!k) return false;
  const N = im.OH * im.OW;
  const K = im.channels * im.KH * im.KW;
  if (M < 1 || N < 1 || K < 1) return false;
  const imageFloats = im.channels * im.H * im.W;
  // Image (+ 16 readable bytes), column table, column matrix.
  const tabAt = align16(imageFloats + 4);
  const colAt = tabAt + align16(3 * im.KW);
  const bs: BSource = {
    floats: colAt + K * N,
    place(kk, at) {
      kk.f32.set(im.data.subarray(im.offset, im.offset + imageFloats), at);
      writeColumnTable(kk.i32, at + tabAt, im.KW, im.OW, im.SW, im.DW, im.PW, im.W);
      // Channel ranges to threads (each writes its own rows of the column matrix).
      const threads = K * N >= PARALLEL_MIN_IM2COL
        ? Math.min(availableThreads(kk), im.channels)
        : 1;
      const calls: KernelCall[] = [];
      const per = Math.ceil(im.channels / threads);
      for (let c0 = 0; c0 < im.channels; c0 += per) {
        const cn = Math.min(per, im.channels - c0);
        calls.push({
          fn: "im2col2d",
          args: [
            (at + c0 * im.H * im.W) * 4,
            cn,
            im.H,
            im.W,
            im.OH,
            im.OW,
            im.KH,
            im.KW,
            im.SH,
            im.SW,
            im.DH,
            im.PH,
            (at + tabAt) * 4,
            (at + colAt + c0 * im.KH * im.KW * N) * 4,
          ],
        });
      }
      if (!runParallel(kk, calls)) {
        for (const call of calls) invokeIm2col(kk, call.args);
      }
      return { addr: (at + colAt) * 4, sj: 4, sk: N * 4 };
    },
  };
  return run(k, M, N, K, a, bs, c, alpha, beta);
}
