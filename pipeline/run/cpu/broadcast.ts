/**
 * Fast float arithmetic with numpy broadcasting: the output is walked as runs along its
 * innermost (merged) dimension, where each operand either advances by one or stays put, so
 * the common layouts — same shape, scalar, bias over the last axis, per-channel — run as flat
 * loops specialized per operator (no per-element closures or offset tables).
 *
 * @module
 */

import type { FloatArray } from "./gemm.ts";

/** The arithmetic operators with fast paths. */
export type ArithOp = "Add" | "Sub" | "Mul" | "Div";

const OPS: Record<ArithOp, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3 };

/** True when `op` has a fast path. */
export function isArithOp(op: string): op is ArithOp {
  return op === "Add" || op === "Sub" || op === "Mul" || op === "Div";
}

/**
 * One run: out[o + i] = a[ai + i·sa] op b[bi + i·sb] for i < n, with sa, sb ∈ {0, 1} (not
 * both 0 unless n = 1).
 */
function run(
  op: number,
  out: FloatArray,
  o: number,
  a: FloatArray,
  ai: number,
  sa: number,
  b: FloatArray,
  bi: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    switch (op) {
      case 0:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i] + b[bi + i];
        return;
      case 1:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i] - b[bi + i];
        return;
      case 2:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i] * b[bi + i];
        return;
      default:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i] / b[bi + i];
        return;
    }
  }
  if (sb === 0) {
    const s = b[bi];
    switch (op) {
      case 0:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] + s;
        return;
      case 1:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] - s;
        return;
      case 2:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] * s;
        return;
      default:
        for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] / s;
        return;
    }
  }
  const s = a[ai];
  switch (op) {
    case 0:
      for (let i = 0; i < n; i++) out[o + i] = s + b[bi + i];
      return;
    case 1:
      for (let i = 0; i < n; i++) out[o + i] = s - b[bi + i];
      return;
    case 2:
      for (let i = 0; i < n; i++) out[o + i] = s * b[bi + i];
      return;
    default:
      for (let i = 0; i < n; i++) out[o + i] = s / b[bi + i];
      return;
  }
}

/**
 * out (row-major over `outDims`) = a op b with a and b broadcast from `aDims` and `bDims`
 * (numpy rules; `outDims` must be their broadcast shape). Values are computed in float64 and
 * stored in the element type of `out`, exactly like a plain loop.
 */
export function broadcastArith(
  op: ArithOp,
  a: FloatArray,
  aDims: readonly number[],
  b: FloatArray,
  bDims: readonly number[],
  out: FloatArray,
  outDims: readonly number[],
): void {
  const code = OPS[op];
  const r = outDims.length;
  let total = 1;
  for (const d of outDims) total *= d;
  if (total === 0) return;
  // Per output dim: size and the two operands' strides (0 where broadcast).
  const dims: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  let accA = 1, accB = 1;
  const stA = new Array<number>(r).fill(0), stB = new Array<number>(r).fill(0);
  for (let d = r - 1; d >= 0; d--) {
    const da = d - (r - aDims.length), db = d - (r - bDims.length);
    const na = da >= 0 ? aDims[da] : 1, nb = db >= 0 ? bDims[db] : 1;
    stA[d] = na === 1 ? 0 : accA;
    stB[d] = nb === 1 ? 0 : accB;
    accA *= na;
    accB *= nb;
  }
  // Merge dims (dropping size-1 ones) while both operands stay linear across them.
  for (let d = 0; d < r; d++) {
    const n = outDims[d];
    if (n === 1) continue;
    const k = dims.length - 1;
    if (
      k >= 0 && sa[k] === stA[d] * n && sb[k] === stB[d] * n
    ) {
      dims[k] *= n;
      sa[k] = stA[d];
      sb[k] = stB[d];
    } else {
      dims.push(n);
      sa.push(stA[d]);
      sb.push(stB[d]);
    }
  }
  if (dims.length === 0) {
    run(code, out, 0, a, 0, 1, b, 0, 1, 1);
    return;
  }
  const last = dims.length - 1;
  const n = dims[last];
  let ia = sa[last], ib = sb[last];
  let inner = n;
  let outer = total / n;
  // Both operands constant along the innermost dim: treat elements one at a time.
  if (ia === 0 && ib === 0) {
    inner = 1;
    outer = total;
    ia = 1;
    ib = 1;
  }
  if (outer === 1) {
    run(code, out, 0, a, 0, ia, b, 0, ib, inner);
    return;
  }
  // Odometer over the outer dims.
  const outerDims = inner === 1 ? dims : dims.slice(0, last);
  const oa = inner === 1 ? sa : sa.slice(0, last);
  const ob = inner === 1 ? sb : sb.slice(0, last);
  const m = outerDims.length;
  const idx = new Array<number>(m).fill(0);
  let pa = 0, pb = 0;
  for (let t = 0, o = 0; t < outer; t++, o += inner) {
    if (inner === 1) {
      const x = a[pa], y = b[pb];
      out[o] = code === 0 ? x + y : code === 1 ? x - y : code === 2 ? x * y : x / y;
    } else {
      run(code, out, o, a, pa, ia, b, pb, ib, inner);
    }
    for (let d = m - 1; d >= 0; d--) {
      pa += oa[d];
      pb += ob[d];
      if (++idx[d] < outerDims[d]) break;
      pa -= oa[d] * idx[d];
      pb -= ob[d] * idx[d];
      idx[d] = 0;
    }
  }
}
