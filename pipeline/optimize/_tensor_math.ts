/**
 * Small tensor operations the rewriting passes apply to constants (transposing a weight,
 * reshaping a broadcast constant).
 *
 * @module
 */

import { allocate, slotsPerElement } from "../tensor/dtype.ts";
import { stridesOf, Tensor } from "../tensor/tensor.ts";

/** Transposes a tensor: output dim i is input dim perm[i] (any element type). */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  const r = t.dims.length;
  if (perm.length !== r) throw new RangeError(`perm [${perm}] does not fit rank ${r}`);
  if (slotsPerElement(t.type) !== 1) throw new TypeError(`Cannot transpose ${t.type} tensors`);
  const outDims = perm.map((p) => t.dims[p]);
  if (perm.every((p, i) => p === i)) return new Tensor(t.type, t.data, outDims);
  const src = t.data as ArrayLike<unknown>;
  const out = allocate(t.type, t.size) as unknown as { [i: number]: unknown; length: number };
  const st = stridesOf(t.dims);
  const pst = perm.map((p) => st[p]);
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let o = 0; o < t.size; o++) {
    out[o] = src[off];
    for (let d = r - 1; d >= 0; d--) {
      off += pst[d];
      if (++idx[d] < outDims[d]) break;
      off -= pst[d] * idx[d];
      idx[d] = 0;
    }
  }
  return new Tensor(t.type, out, outDims);
}

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** The permutation of `Transpose(Transpose(x, first), second)` as one Transpose of x. */
export function composePerms(first: readonly number[], second: readonly number[]): number[] {
  return second.map((i) => first[i]);
}

/** True when a permutation is the identity. */
export function isIdentityPerm(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** True when `perm` is a permutation of 0..n-1. */
export function isPermutation(perm: readonly number[], n: number): boolean {
  if (perm.length !== n) return false;
  const seen = new Set(perm);
  return seen.size === n && perm.every((p) => Number.isInteger(p) && p >= 0 && p < n);
}
