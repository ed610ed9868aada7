/**
 * The CPU GEMM primitive every matrix-shaped kernel goes through (MatMul, Gemm, Conv via
 * im2col, attention, RNNs), so a faster implementation can replace it in one place.
 *
 * @module
 */

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

/**
 * C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C. Accumulates in the element type of C
 * row by row (i-k-j order, four rows at a time, N blocked for cache).
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
  // Scale or clear C.
  for (let i = 0; i < M; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) C.fill(0, r, r + N);
    else if (beta !== 1) { for (let j = 0; j < N; j++) C[r + j] *= beta; }
  }
  if (M === 0 || N === 0 || K === 0) return;
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
