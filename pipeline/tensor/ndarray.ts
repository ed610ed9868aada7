/**
 * Interop with scijs `ndarray` views (npm:ndarray): zero-copy to an ndarray, and back to a
 * tensor (zero-copy when the view is contiguous in row-major order, else a copy).
 *
 * @module
 */

import ndarrayFactory from "npm:ndarray@1.1.1";
import { type DataType, type TensorData } from "./dtype.ts";
import { shapeSize, stridesOf, Tensor } from "./tensor.ts";

/** The parts of an ndarray view this module reads and creates. */
export interface NdArray {
  /** Backing storage. */
  data: ArrayLike<unknown>;
  /** Shape. */
  shape: number[];
  /** Strides in elements (may be negative). */
  stride: number[];
  /** Offset of element (0, ..., 0). */
  offset: number;
  /** ndarray's dtype name, e.g. `float32`, `int32`, `generic`. */
  dtype: string;
  /** Reads an element. */
  get(...index: number[]): unknown;
}

type Factory = (data: unknown, shape?: number[], stride?: number[], offset?: number) => NdArray;

const NDARRAY_TYPE: Record<string, DataType> = {
  float32: "float32",
  float64: "float64",
  int8: "int8",
  int16: "int16",
  int32: "int32",
  uint8: "uint8",
  uint8_clamped: "uint8",
  uint16: "uint16",
  uint32: "uint32",
  bigint64: "int64",
  biguint64: "uint64",
};

/**
 * Returns an ndarray view over a tensor's data (no copy). Packed types (float16 bits,
 * int4 unpacked bytes) are exposed as their storage.
 *
 * @example
 * ```ts
 * import { Tensor } from "./tensor.ts";
 * import { toNdarray } from "./ndarray.ts";
 * const a = toNdarray(new Tensor("float32", [1, 2, 3, 4, 5, 6], [2, 3]));
 * console.log(a.get(1, 2)); // 6
 * ```
 */
export function toNdarray(t: Tensor): NdArray {
  if (t.type === "complex64" || t.type === "complex128") {
    return (ndarrayFactory as unknown as Factory)(t.data, [...t.dims, 2]);
  }
  return (ndarrayFactory as unknown as Factory)(t.data, [...t.dims]);
}

/**
 * Builds a tensor from an ndarray view. `type` defaults to the view's dtype; strided or
 * offset views are copied into row-major order.
 */
export function fromNdarray(a: NdArray, type?: DataType): Tensor {
  const t = type ?? NDARRAY_TYPE[a.dtype] ??
    (a.dtype === "array" || a.dtype === "generic" ? "float32" : undefined);
  if (!t) throw new TypeError(`Cannot map ndarray dtype "${a.dtype}" to a tensor type`);
  const dims = [...a.shape];
  const size = shapeSize(dims);
  const contiguous = stridesOf(dims).every((s, i) => dims[i] <= 1 || s === a.stride[i]);
  const src = a.data as unknown as TensorData;
  if (contiguous && a.offset === 0 && (src as ArrayLike<unknown>).length === size) {
    return new Tensor(t, src, dims);
  }
  const out: unknown[] = new Array(size);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < size; i++) {
    out[i] = a.get(...idx);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return new Tensor(t, out, dims);
}
