/**
 * The integer GEMM primitive of the quantized kernels, with an emulation of the int16 pair
 * saturation of x86 u8 × s8 dot products.
 *
 * `igemm` computes `C[m, n] = Σ_k (A[m, k] − za[m]) · (B[k, n] − zb[n])` over raw integer
 * values (8-bit in practice) the way onnxruntime's MLAS does: the raw products are summed,
 * and the zero points enter through row sums of A and column sums of B,
 *
 *     Σ_k A·B − zb[n]·Σ_k A[m, k] − za[m]·Σ_k B[k, n] + K·za[m]·zb[n],
 *
 * which is the exact ONNX value when the raw sum is exact. With `saturatePairs`, the raw sum
 * is the one MLAS's u8s8 kernels for x86 CPUs without VNNI compute (AVX2 and AVX512BW
 * `vpmaddubsw`): the K terms are taken in `kOrder` (default 0, 1, …, K−1), padded with a zero
 * term to an even count, and each adjacent pair `A[m,k₀]·B[k₀,n] + A[m,k₁]·B[k₁,n]` (k₀ at an
 * even position) is saturated to the int16 range [−32768, 32767] before the int32 sum. The
 * zero-point terms are added exactly afterwards. (VNNI instructions, `vpdpbusd`, and ONNX sum
 * exactly; a pair of uint8 × int8 products saturates only when both are large, e.g.
 * 255·127 + 255·127.)
 *
 * @module
 */

import type { NumericArray } from "../../tensor/dtype.ts";

/** A row-major integer matrix operand: storage, offset of element (0, 0) and row stride. */
export interface IntOperand {
  /** Storage (any numeric typed array holding integer values). */
  data: NumericArray;
  /** Offset of element (0, 0) (default 0). */
  offset?: number;
  /** Distance between rows. */
  ld: number;
}

/** The int32 accumulator matrix (any storage that holds int32 values exactly). */
export interface IntResult {
  /** Storage. */
  data: Int32Array | Float64Array;
  /** Offset of element (0, 0) (default 0). */
  offset?: number;
  /** Distance between rows. */
  ld: number;
}

/** Options of {@link igemm}. */
export interface IgemmOptions {
  /** Zero point of A: one for all, or one per row (length M). Default 0. */
  zeroPointA?: number | ArrayLike<number>;
  /** Zero point of B: one for all, or one per column (length N). Default 0. */
  zeroPointB?: number | ArrayLike<number>;
  /**
   * Saturate each adjacent pair of raw products to int16 before summing (MLAS's x86 u8s8
   * kernels without VNNI). Default false: the sum is exact.
   */
  saturatePairs?: boolean;
  /**
   * The order the K index is walked in when pairing (a permutation of 0..K−1); adjacent
   * entries at positions 2j and 2j+1 form a pair. Default 0, 1, …, K−1. Ignored when exact.
   */
  kOrder?: ArrayLike<number>;
  /** Add to C instead of overwriting it (default false). */
  accumulate?: boolean;
}

/** The int16 range. */
const I16_MIN = -32768, I16_MAX = 32767;

/** Clamps to the int16 range (what `vpmaddubsw` does to each pair sum). */
export function saturateInt16(v: number): number {
  return v > I16_MAX ? I16_MAX : v < I16_MIN ? I16_MIN : v;
}

function paramAt(p: number | ArrayLike<number> | undefined, i: number): number {
  return p === undefined ? 0 : typeof p === "number" ? p : p[i];
}

/**
 * C[M,N] (=, or += with `accumulate`) Σ_k (A[m,k] − za[m]) · (B[k,n] − zb[n]) over raw
 * integer values, the raw products summed exactly or, with `saturatePairs`, in int16-saturated
 * adjacent pairs of the K walk (see the module notes). Results are exact integers as long as
 * they fit float64 (any realistic 8-bit GEMM).
 */
export function igemm(
  M: number,
  N: number,
  K: number,
  a: IntOperand,
  b: IntOperand,
  c: IntResult,
  options: IgemmOptions = {},
): void {
  const A = a.data, B = b.data, C = c.data;
  const aOff = a.offset ?? 0, bOff = b.offset ?? 0, cOff = c.offset ?? 0;
  const lda = a.ld, ldb = b.ld, ldc = c.ld;
  const za = options.zeroPointA, zb = options.zeroPointB;
  const order = options.kOrder;
  if (order && order.length !== K) {
    throw new RangeError(`kOrder has ${order.length} entries for K = ${K}`);
  }
  // Column sums of B (for A's zero point) and, when saturating, the largest |B| of each row
  // (to skip the clamp where no pair can leave the int16 range).
  const colSum = new Float64Array(N);
  const rowMax = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const r = bOff + k * ldb;
    let mx = 0;
    for (let n = 0; n < N; n++) {
      const v = B[r + n];
      colSum[n] += v;
      const av = v < 0 ? -v : v;
      if (av > mx) mx = av;
    }
    rowMax[k] = mx;
  }
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    const ar = aOff + m * lda;
    let rowSum = 0;
    for (let k = 0; k < K; k++) rowSum += A[ar + k];
    if (!options.saturatePairs) {
      for (let k = 0; k < K; k++) {
        const av = A[ar + k];
        if (av === 0) continue;
        const br = bOff + k * ldb;
        for (let n = 0; n < N; n++) row[n] += av * B[br + n];
      }
    } else {
      for (let p = 0; p < K; p += 2) {
        const k0 = order ? order[p] : p;
        const a0 = A[ar + k0];
        const b0 = bOff + k0 * ldb;
        const bound0 = (a0 < 0 ? -a0 : a0) * rowMax[k0];
        if (p + 1 === K) {
          // The last term pairs with the zero padding.
          if (bound0 <= I16_MAX) {
            for (let n = 0; n < N; n++) row[n] += a0 * B[b0 + n];
          } else {
            for (let n = 0; n < N; n++) row[n] += saturateInt16(a0 * B[b0 + n]);
          }
          continue;
        }
        const k1 = order ? order[p + 1] : p + 1;
        const a1 = A[ar + k1];
        const b1 = bOff + k1 * ldb;
        if (bound0 + (a1 < 0 ? -a1 : a1) * rowMax[k1] <= I16_MAX) {
          for (let n = 0; n < N; n++) row[n] += a0 * B[b0 + n] + a1 * B[b1 + n];
        } else {
          for (let n = 0; n < N; n++) {
            const s = a0 * B[b0 + n] + a1 * B[b1 + n];
            row[n] += s > I16_MAX ? I16_MAX : s < I16_MIN ? I16_MIN : s;
          }
        }
      }
    }
    const zam = paramAt(za, m);
    const cr = cOff + m * ldc;
    for (let n = 0; n < N; n++) {
      const zbn = paramAt(zb, n);
      const v = row[n] - zbn * rowSum - zam * colSum[n] + K * zam * zbn;
      C[cr + n] = options.accumulate ? C[cr + n] + v : v;
    }
  }
}
