/**
 * The CPU GEMM primitive every matrix-shaped kernel goes through (MatMul, Gemm, Conv via
 * im2col, attention, RNNs), so a faster implementation can replace it in one place.
 *
 * Float32 products of useful size run on a WebAssembly SIMD kernel (packed panels and a
 * register-blocked micro-kernel, generated at run time: see `wasm/sgemm.ts`); everything
 * else, and float32 where WebAssembly SIMD is unavailable, runs on the TypeScript kernel.
 *
 * @module
 */

import { sgemmWasm } from "./wasm/sgemm.ts";

/** Float storage GEMM works on. */
export type FloatArray = Float32Array | Float64Array;

/** A matrix operand: storage, offset of element (0,0), leading dimension, transposed flag. */
export interface Operand {
  /** Storage. */
  data: FloatArray;
  /** Offset of element (0, 0). */
  offset?: number;
  /** Distance between rows as stored (defaults to the row length of the stored layout). */
  ld?: number;
  /** True when the stored matrix is the transpose of the logical one. */
  trans?: boolean;
}

/** Options of {@link gemm}. */
export interface GemmOptions {
  /** Scale of A·B (default 1). */
  alpha?: number;
  /** Scale of the existing C (default 0: C is overwritten). */
  beta?: number;
}

const J_BLOCK = 512;

/** Which float32 kernel {@link gemm} uses: by problem size, always WebAssembly, or always TS. */
export type GemmKernel = "auto" | "wasm" | "ts";

let kernelChoice: GemmKernel = "auto";

/**
 * Selects the float32 kernel (tests and benchmarks compare them; the default "auto" is the
 * fastest). "wasm" still falls back to TypeScript where WebAssembly SIMD is unavailable.
 */
export function setGemmKernel(kernel: GemmKernel): void {
  kernelChoice = kernel;
}

/** Below this many multiply-adds (M·N·K) the TypeScript kernel beats the call overhead. */
const WASM_MIN_WORK = 256;

/**
 * C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C. With beta = 0, C is overwritten (its
 * old values, NaN included, are not read). Float32 operands of useful size use the
 * WebAssembly SIMD kernel (float32 products and sums, fused multiply-add where the hardware
 * has it); otherwise the product accumulates in the element type of C row by row (i-k-j
 * order, four rows at a time, N blocked for cache). No term is skipped, so NaN and infinity
 * propagate (0 · NaN is NaN).
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  a: Operand,
  b: Operand,
  c: { data: FloatArray; offset?: number; ld?: number },
  options: GemmOptions = {},
): void {
  const alpha = options.alpha ?? 1;
  const beta = options.beta ?? 0;
  const C = c.data;
  const cOff = c.offset ?? 0;
  const ldc = c.ld ?? N;
  if (
    M > 0 && N > 0 && K > 0 && kernelChoice !== "ts" &&
    C instanceof Float32Array && a.data instanceof Float32Array &&
    b.data instanceof Float32Array && (kernelChoice === "wasm" || M * N * K >= WASM_MIN_WORK) &&
    sgemmWasm(
      M,
      N,
      K,
      {
        data: a.data,
        offset: a.offset ?? 0,
        ld: a.ld ?? (a.trans ? M : K),
        trans: a.trans ?? false,
      },
      {
        data: b.data,
        offset: b.offset ?? 0,
        ld: b.ld ?? (b.trans ? K : N),
        trans: b.trans ?? false,
      },
      { data: C, offset: cOff, ld: ldc },
      alpha,
      beta,
    )
  ) {
    return;
  }
  // Scale or clear C.
  for (let i = 0; i < M; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) C.fill(0, r, r + N);
    else if (beta !== 1) { for (let j = 0; j < N; j++) C[r + j] *= beta; }
  }
  if (M === 0 || N === 0 || K === 0) return;
  if (b.trans) {
    dotKernel(M, N, K, a, b, C, cOff, ldc, alpha);
    return;
  }
  // B as contiguous rows of length N.
  let B: FloatArray;
  let bOff: number;
  let ldb: number;
  if (b.trans) {
    const src = b.data;
    const so = b.offset ?? 0;
    const sld = b.ld ?? K;
    B = src instanceof Float64Array ? new Float64Array(K * N) : new Float32Array(K * N);
    for (let j = 0; j < N; j++) {
      const s = so + j * sld;
      for (let k = 0; k < K; k++) B[k * N + j] = src[s + k];
    }
    bOff = 0;
    ldb = N;
  } else {
    B = b.data;
    bOff = b.offset ?? 0;
    ldb = b.ld ?? N;
  }
  // A element (i, k) = A[aOff + i*ai + k*ak].
  const A = a.data;
  const aOff = a.offset ?? 0;
  const lda = a.ld ?? (a.trans ? M : K);
  const ai = a.trans ? 1 : lda;
  const ak = a.trans ? lda : 1;
  for (let j0 = 0; j0 < N; j0 += J_BLOCK) {
    const j1 = Math.min(N, j0 + J_BLOCK);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const c0 = cOff + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
      const ar = aOff + i * ai;
      for (let k = 0; k < K; k++) {
        const ap = ar + k * ak;
        const a0 = alpha * A[ap];
        const a1 = alpha * A[ap + ai];
        const a2 = alpha * A[ap + 2 * ai];
        const a3 = alpha * A[ap + 3 * ai];
        const bo = bOff + k * ldb;
        for (let j = j0; j < j1; j++) {
          const bv = B[bo + j];
          C[c0 + j] += a0 * bv;
          C[c1 + j] += a1 * bv;
          C[c2 + j] += a2 * bv;
          C[c3 + j] += a3 * bv;
        }
      }
    }
    for (; i < M; i++) {
      const co = cOff + i * ldc;
      const ar = aOff + i * ai;
      for (let k = 0; k < K; k++) {
        const av = alpha * A[ar + k * ak];
        const bo = bOff + k * ldb;
        for (let j = j0; j < j1; j++) C[co + j] += av * B[bo + j];
      }
    }
  }
}

/**
 * C += alpha·op(A)·B for a transposed B (its logical columns are stored rows): dot products
 * of A rows with B rows, four columns at a time, accumulated in float64 in k order starting
 * from the (already scaled) C value. Needs no transposed copy of B.
 */
function dotKernel(
  M: number,
  N: number,
  K: number,
  a: Operand,
  b: Operand,
  C: FloatArray,
  cOff: number,
  ldc: number,
  alpha: number,
): void {
  const A = a.data, B = b.data;
  const aOff = a.offset ?? 0;
  const lda = a.ld ?? (a.trans ? M : K);
  const ai = a.trans ? 1 : lda;
  const ak = a.trans ? lda : 1;
  const bOff = b.offset ?? 0;
  const ldb = b.ld ?? K;
  // alpha·A row, contiguous.
  const row = new Float64Array(K);
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * ai;
    for (let k = 0; k < K; k++) row[k] = alpha * A[ar + k * ak];
    const cr = cOff + i * ldc;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
      let s0 = C[cr + j], s1 = C[cr + j + 1], s2 = C[cr + j + 2], s3 = C[cr + j + 3];
      for (let k = 0; k < K; k++) {
        const av = row[k];
        s0 += av * B[b0 + k];
        s1 += av * B[b1 + k];
        s2 += av * B[b2 + k];
        s3 += av * B[b3 + k];
      }
      C[cr + j] = s0;
      C[cr + j + 1] = s1;
      C[cr + j + 2] = s2;
      C[cr + j + 3] = s3;
    }
    for (; j < N; j++) {
      const b0 = bOff + j * ldb;
      let s0 = C[cr + j];
      for (let k = 0; k < K; k++) s0 += row[k] * B[b0 + k];
      C[cr + j] = s0;
    }
  }
}
