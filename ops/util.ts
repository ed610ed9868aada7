/**
 * Helpers shared by operator kernels: input access, broadcasting, axes, typed output.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  type DataType,
  isBig,
  isPackedFloat,
  type NumericArray,
  type TensorData,
} from "../pipeline/tensor/dtype.ts";
import {
  dataToNumbers,
  fromNumbers,
  shapeSize,
  stridesOf,
  Tensor,
  type Value,
} from "../pipeline/tensor/tensor.ts";
import type { OpContext } from "./types.ts";

export { shapeSize, stridesOf };

/** Returns input `i` as a tensor; throws naming the node when it is missing or not a tensor. */
export function tensorAt(ctx: OpContext, inputs: (Value | undefined)[], i: number): Tensor {
  const v = inputs[i];
  if (!(v instanceof Tensor)) {
    throw ctx.fail(v === undefined ? `input ${i} is required` : `input ${i} must be a tensor`);
  }
  return v;
}

/** Returns input `i` as a tensor, or undefined when omitted (or an empty optional). */
export function optionalTensorAt(
  ctx: OpContext,
  inputs: (Value | undefined)[],
  i: number,
): Tensor | undefined {
  const v = inputs[i];
  if (v === undefined) return undefined;
  if (!(v instanceof Tensor)) throw ctx.fail(`input ${i} must be a tensor`);
  return v;
}

/** Reads an integer tensor (int32/int64/...) as numbers, e.g. shapes, axes, pads. */
export function toIntArray(t: Tensor): number[] {
  if (t.type === "int64" || t.type === "uint64") {
    return Array.from(t.data as BigArray, (x) => Number(x));
  }
  return Array.from(dataToNumbers(t.type, t.data));
}

/** Reads a scalar (or single-element) tensor as a number. */
export function scalarOf(t: Tensor): number {
  if (t.size < 1) throw new RangeError(`Expected a scalar, got an empty tensor ${t}`);
  if (t.type === "int64" || t.type === "uint64") return Number((t.data as BigArray)[0]);
  if (t.type === "string") throw new TypeError("Expected a numeric scalar, got a string");
  return dataToNumbers(t.type, t.data)[0];
}

/** Normalizes a possibly negative axis for a tensor of `rank`; throws when out of range. */
export function normalizeAxis(ctx: OpContext, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) {
    throw ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Numpy-style broadcast of shapes; undefined when they are incompatible. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (o === d || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else return undefined;
    }
  }
  return out;
}

/**
 * Strides of `shape` broadcast to `outShape`: 0 on broadcast dims. Useful for index maps.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const st = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  const off = rank - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 ? 0 : st[i];
  return out;
}

/**
 * For each output element (row-major over `outShape`), the offset into an input of `shape`
 * broadcast to it. Returns undefined when no broadcasting is needed (identical shapes).
 */
export function broadcastOffsets(
  shape: readonly number[],
  outShape: readonly number[],
): Int32Array | undefined {
  const size = shapeSize(outShape);
  if (shape.length === outShape.length && shape.every((d, i) => d === outShape[i])) {
    return undefined;
  }
  const strides = broadcastStrides(shape, outShape);
  const rank = outShape.length;
  const out = new Int32Array(size);
  if (size === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < size; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outShape[d]) break;
      off -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Decodes a tensor to computable numbers (packed floats → Float32Array, bigints → Number). */
export function numbersOf(t: Tensor): NumericArray {
  return dataToNumbers(t.type, t.data);
}

/** Creates a tensor of `type` from computed numbers (encoding packed floats). */
export function tensorFromComputed(
  type: DataType,
  values: NumericArray | number[],
  dims: readonly number[],
): Tensor {
  if (isPackedFloat(type)) return new Tensor(type, fromNumbers(type, values), dims);
  if (isBig(type)) return new Tensor(type, fromNumbers(type, values), dims);
  if (type === "bool" && !(values instanceof Uint8Array)) {
    return new Tensor(type, fromNumbers(type, values), dims);
  }
  const storage = allocate(type, 0);
  if (values.constructor === storage.constructor) return new Tensor(type, values, dims);
  return new Tensor(type, fromNumbers(type, values), dims);
}

/** Allocates output storage of `type` for `size` elements. */
export function alloc(type: DataType, size: number): TensorData {
  return allocate(type, size);
}

/** Converts a list of numbers to an int64 tensor. */
export function int64Tensor(
  values: readonly number[] | readonly bigint[],
  dims?: number[],
): Tensor {
  const data = BigInt64Array.from(values as readonly (number | bigint)[], (v) => BigInt(v));
  return new Tensor("int64", data, dims ?? [data.length]);
}

/** True for float types (float16/bfloat16/float32/float64 and float8 kinds). */
export function isFloatType(type: DataType): boolean {
  return type === "float32" || type === "float64" || isPackedFloat(type);
}
