/**
 * Shared machinery of the shape and data-movement operators: strided copies over any
 * storage (strings, bigints, packed floats, complex pairs), index reading, and small
 * helpers for type and shape inference.
 *
 * Every copy here moves storage elements without decoding them, so it is exact for every
 * element type. Complex tensors hold two storage slots per element; the helpers take
 * element offsets and strides and scale them by the slot count themselves.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  type DataType,
  slotsPerElement,
  type TensorData,
} from "../pipeline/tensor/dtype.ts";
import { dataToNumbers, shapeSize, stridesOf, type Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext } from "./types.ts";

/** Index access to any storage, for element copies that do not care about the element type. */
export type Store = { [i: number]: unknown; readonly length: number };

/** The storage as an indexable store. */
export function store(data: TensorData): Store {
  return data as unknown as Store;
}

function isTyped(data: TensorData): boolean {
  return !Array.isArray(data);
}

/**
 * Copies `n` elements (storage slots) from `src[from + k * step]` to `dst[to + k]`. Uses
 * `TypedArray.set` for long contiguous runs.
 */
export function copyRun(
  dst: TensorData,
  to: number,
  src: TensorData,
  from: number,
  n: number,
  step = 1,
): void {
  if (step === 1 && n >= 16 && isTyped(dst)) {
    (dst as unknown as Uint8Array).set((src as unknown as Uint8Array).subarray(from, from + n), to);
    return;
  }
  const d = dst as unknown as Store;
  const s = src as unknown as Store;
  for (let k = 0, p = from; k < n; k++, p += step) d[to + k] = s[p];
}

/**
 * Builds a new contiguous storage from a strided view of `src`: output element at
 * multi-index `i` is `src[offset + Σ i[d] * strides[d]]`. Offsets and strides are in
 * elements (complex pairs are handled here). Strides may be zero (broadcast) or negative.
 */
export function stridedCopy(
  src: TensorData,
  type: DataType,
  offset: number,
  dims: readonly number[],
  strides: readonly number[],
): TensorData {
  const size = shapeSize(dims);
  const out = allocate(type, size);
  if (size === 0) return out;
  const slots = slotsPerElement(type);
  // Scale to storage slots, drop unit dims, merge dims that are contiguous in the source.
  const D: number[] = [];
  const S: number[] = [];
  const push = (d: number, s: number) => {
    if (d === 1) return;
    const last = D.length - 1;
    if (last >= 0 && S[last] === s * d) {
      D[last] *= d;
      S[last] = s;
    } else {
      D.push(d);
      S.push(s);
    }
  };
  for (let i = 0; i < dims.length; i++) push(dims[i], strides[i] * slots);
  if (slots !== 1) push(slots, 1);
  const base = offset * slots;
  const o = out as unknown as Store;
  const s = src as unknown as Store;
  if (D.length === 0) {
    o[0] = s[base];
    return out;
  }
  const rank = D.length;
  const n = D[rank - 1];
  const step = S[rank - 1];
  const total = size * slots;
  if (rank === 1) {
    copyRun(out, 0, src, base, n, step);
    return out;
  }
  const idx = new Array<number>(rank - 1).fill(0);
  let cur = base;
  for (let p = 0; p < total; p += n) {
    copyRun(out, p, src, cur, n, step);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      cur += S[d];
      if (idx[d] < D[d]) break;
      cur -= S[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Transposes any storage by `perm` (complex included). */
export function transposeAny(
  src: TensorData,
  type: DataType,
  dims: readonly number[],
  perm: readonly number[],
): TensorData {
  const st = stridesOf(dims);
  return stridedCopy(src, type, 0, perm.map((p) => dims[p]), perm.map((p) => st[p]));
}

/** Copies element `from` of `src` to element `to` of `dst` (all storage slots). */
export function copyElement(
  dst: TensorData,
  to: number,
  src: TensorData,
  from: number,
  slots: number,
): void {
  const d = dst as unknown as Store;
  const s = src as unknown as Store;
  if (slots === 1) d[to] = s[from];
  else {
    for (let k = 0; k < slots; k++) d[to * slots + k] = s[from * slots + k];
  }
}

/** Fills elements [start, end) of `dst` with element `at` of `value` (all slots). */
export function fillElements(
  dst: TensorData,
  start: number,
  end: number,
  value: TensorData,
  at: number,
  slots: number,
): void {
  if (end <= start) return;
  if (slots === 1) {
    const v = (value as unknown as Store)[at];
    if (isTyped(dst)) (dst as unknown as Float64Array).fill(v as number, start, end);
    else (dst as string[]).fill(v as string, start, end);
    return;
  }
  for (let i = start; i < end; i++) copyElement(dst, i, value, at, slots);
}

/** Copies a storage (a new array of the same kind and contents). */
export function cloneData(data: TensorData): TensorData {
  return isTyped(data) ? (data as unknown as Uint8Array).slice() as unknown as TensorData : [
    ...(data as string[]),
  ];
}

/** Reads an integer index tensor (any integer type) as numbers; int64 through Number(). */
export function indexValues(t: Tensor): ArrayLike<number> {
  if (t.type === "int64" || t.type === "uint64") {
    const big = t.data as BigArray;
    const out = new Float64Array(big.length);
    for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
    return out;
  }
  if (t.type === "string" || t.type === "complex64" || t.type === "complex128") {
    throw new TypeError(`Expected an integer tensor, got ${t.type}`);
  }
  return dataToNumbers(t.type, t.data);
}

/** Product of dims[from, to). */
export function prod(dims: readonly number[], from = 0, to = dims.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i];
  return n;
}

// ---------------------------------------------------------------------------------------------
// Inference helpers
// ---------------------------------------------------------------------------------------------

/** Tensor facts of input `i`: element type and shape when known. */
export interface TensorFacts {
  /** Element type. */
  elemType?: DataType;
  /** Shape (symbolic dims allowed). */
  shape?: Dim[];
}

/** The tensor facts of input `i`; empty when unknown or not a tensor. */
export function inputFacts(ctx: InferContext, i: number): TensorFacts {
  const t = ctx.input(i);
  if (t?.kind === "tensor") return { elemType: t.elemType, shape: t.shape };
  return {};
}

/** A tensor type. */
export function tensorOf(elemType: DataType | undefined, shape?: Dim[]): ValueType {
  return { kind: "tensor", elemType, shape };
}

/** The constant value of integer input `i` as numbers, when known. */
export function constInts(ctx: InferContext, i: number): number[] | undefined {
  if (!ctx.hasInput(i)) return undefined;
  const t = ctx.constant(i);
  if (!t) return undefined;
  try {
    return Array.from(indexValues(t));
  } catch {
    return undefined;
  }
}

/** Product of dims: a number when all are known, else undefined. */
export function dimProduct(dims: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== "number") return undefined;
    n *= d;
  }
  return n;
}

/**
 * Product of dims for inference: a number when all are known, the symbolic dim itself when
 * it is the only non-1 factor, else undefined.
 */
export function foldDims(dims: readonly Dim[]): Dim {
  const known = dimProduct(dims);
  if (known !== undefined) return known;
  const rest = dims.filter((d) => d !== 1);
  return rest.length === 1 ? rest[0] : undefined;
}

/** Normalizes an axis for inference; undefined (and an error recorded) when out of range. */
export function inferAxis(ctx: InferContext, axis: number, rank: number): number | undefined {
  if (axis < -rank || axis >= rank) {
    ctx.error(`axis ${axis} is out of range for rank ${rank}`);
    return undefined;
  }
  return axis < 0 ? axis + rank : axis;
}

/** A shape of `rank` unknown dims. */
export function unknownShape(rank: number): Dim[] {
  return new Array<Dim>(rank).fill(undefined);
}
