/**
 * Data movement along one axis for any element type (strings, bigints, complex pairs):
 * concatenating, stacking, taking one index and splitting. Used by the control-flow ops
 * (Loop and Scan outputs, Scan input slices) and the sequence ops.
 *
 * @module
 */

import { allocate, slotsPerElement, type TensorData } from "../pipeline/tensor/dtype.ts";
import { shapeSize, Tensor } from "../pipeline/tensor/tensor.ts";

interface TypedLike {
  set(src: ArrayLike<unknown>, offset: number): void;
  subarray(begin: number, end: number): ArrayLike<unknown>;
}

/** Copies `n` storage slots from `src[srcOff..]` to `dst[dstOff..]` for any storage kind. */
export function copySlots(
  dst: TensorData,
  dstOff: number,
  src: TensorData,
  srcOff: number,
  n: number,
): void {
  if (n <= 0) return;
  if (Array.isArray(dst)) {
    const s = src as string[];
    for (let i = 0; i < n; i++) dst[dstOff + i] = s[srcOff + i];
    return;
  }
  (dst as unknown as TypedLike).set(
    (src as unknown as TypedLike).subarray(srcOff, srcOff + n),
    dstOff,
  );
}

/** Product of `dims[from..to)`. */
function span(dims: readonly number[], from: number, to: number): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i];
  return n;
}

/**
 * Concatenates tensors along `axis` (already normalized, 0 ≤ axis < rank). Every tensor must
 * have the same type and rank and equal sizes outside `axis`; the caller checks that and
 * reports errors in its own words (see {@link concatMismatch}).
 */
export function concatAlongAxis(tensors: readonly Tensor[], axis: number): Tensor {
  const first = tensors[0];
  const type = first.type;
  const slots = slotsPerElement(type);
  const dims = [...first.dims];
  let total = 0;
  for (const t of tensors) total += t.dims[axis];
  dims[axis] = total;
  const outer = span(dims, 0, axis);
  const inner = span(dims, axis + 1, dims.length) * slots;
  const out = allocate(type, shapeSize(dims));
  const rowOut = total * inner;
  let offset = 0;
  for (const t of tensors) {
    const block = t.dims[axis] * inner;
    const src = t.data;
    for (let o = 0; o < outer; o++) copySlots(out, o * rowOut + offset, src, o * block, block);
    offset += block;
  }
  return new Tensor(type, out, dims);
}

/**
 * Describes why tensors cannot be concatenated along `axis` (type, rank or size outside the
 * axis), or returns undefined when they can. With `newAxis`, every shape must be equal.
 */
export function concatMismatch(
  tensors: readonly Tensor[],
  axis: number,
  newAxis: boolean,
): string | undefined {
  const first = tensors[0];
  for (let i = 1; i < tensors.length; i++) {
    const t = tensors[i];
    if (t.type !== first.type) return `element ${i} has type ${t.type}, element 0 ${first.type}`;
    if (t.dims.length !== first.dims.length) {
      return `element ${i} has shape [${t.dims}], element 0 [${first.dims}] (ranks differ)`;
    }
    for (let d = 0; d < t.dims.length; d++) {
      if ((newAxis || d !== axis) && t.dims[d] !== first.dims[d]) {
        return `element ${i} has shape [${t.dims}], incompatible with element 0 [${first.dims}]`;
      }
    }
  }
  return undefined;
}

/**
 * Stacks equal-shaped tensors along a new axis `axis` (0 ≤ axis ≤ rank). With no tensors,
 * returns an empty tensor of `type` whose new axis is 0 and other dims are `elemDims`.
 */
export function stackAlongAxis(
  tensors: readonly Tensor[],
  axis: number,
  type = tensors[0]?.type,
  elemDims: readonly number[] = tensors[0]?.dims ?? [],
): Tensor {
  if (tensors.length === 0) {
    const dims = [...elemDims];
    dims.splice(axis, 0, 0);
    return new Tensor(type, allocate(type, 0), dims);
  }
  const expanded = tensors.map((t) => {
    const d = [...t.dims];
    d.splice(axis, 0, 1);
    return new Tensor(t.type, t.data, d);
  });
  return concatAlongAxis(expanded, axis);
}

/** Takes index `index` along `axis`, dropping that axis: `t[..., index, ...]`. */
export function takeAlongAxis(t: Tensor, axis: number, index: number): Tensor {
  const slots = slotsPerElement(t.type);
  const outer = span(t.dims, 0, axis);
  const n = t.dims[axis];
  const inner = span(t.dims, axis + 1, t.dims.length) * slots;
  const dims = t.dims.filter((_, i) => i !== axis);
  const out = allocate(t.type, shapeSize(dims));
  for (let o = 0; o < outer; o++) {
    copySlots(out, o * inner, t.data, (o * n + index) * inner, inner);
  }
  return new Tensor(t.type, out, dims);
}

/**
 * Splits `t` along `axis` into pieces of the given sizes (which must sum to the axis size).
 * With `squeeze`, every piece (of size 1) loses the axis.
 */
export function splitAlongAxis(
  t: Tensor,
  axis: number,
  sizes: readonly number[],
  squeeze = false,
): Tensor[] {
  const slots = slotsPerElement(t.type);
  const outer = span(t.dims, 0, axis);
  const n = t.dims[axis];
  const inner = span(t.dims, axis + 1, t.dims.length) * slots;
  const pieces: Tensor[] = [];
  let start = 0;
  for (const size of sizes) {
    const dims = [...t.dims];
    dims[axis] = size;
    const out = allocate(t.type, shapeSize(dims));
    const block = size * inner;
    for (let o = 0; o < outer; o++) {
      copySlots(out, o * block, t.data, (o * n + start) * inner, block);
    }
    if (squeeze) dims.splice(axis, 1);
    pieces.push(new Tensor(t.type, out, dims));
    start += size;
  }
  return pieces;
}
