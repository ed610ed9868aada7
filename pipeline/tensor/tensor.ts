/**
 * The runtime tensor, shaped like onnxruntime-web's `Tensor { type, data, dims }`, and the
 * non-tensor values ONNX models pass around (sequences, optionals, maps).
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  type DataType,
  isBig,
  isDataType,
  type NumericArray,
  slotsPerElement,
  storageMatches,
  storageName,
  type TensorData,
} from "./dtype.ts";
import {
  decodeE8M0,
  encodeE8M0,
  encodeMiniFloat,
  miniFloatTable,
  type MiniFloatType,
  numberToBfloat16,
} from "./float.ts";
import type { ValueType } from "./value_type.ts";

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Where a tensor's data lives. */
export type DataLocation = "cpu" | "gpu-buffer";

function inferType(data: unknown): DataType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint8ClampedArray) return "uint8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (typeof Float16Array !== "undefined" && data instanceof Float16Array) return "float16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof BigUint64Array) return "uint64";
  if (Array.isArray(data)) {
    if (data.length === 0 || typeof data[0] === "string") return "string";
    if (typeof data[0] === "boolean") return "bool";
    if (typeof data[0] === "number") return "float32";
    if (typeof data[0] === "bigint") return "int64";
  }
  throw new TypeError(`Cannot infer a tensor type from ${Object.prototype.toString.call(data)}`);
}

function coerce(type: DataType, data: unknown): TensorData {
  if (storageMatches(type, data)) return data as TensorData;
  if (type === "float16" && typeof Float16Array !== "undefined" && data instanceof Float16Array) {
    return new Uint16Array(data.buffer, data.byteOffset, data.length);
  }
  if (type === "bool" && (Array.isArray(data) || data instanceof Int8Array)) {
    const a = data as ArrayLike<unknown>;
    const out = new Uint8Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = a[i] ? 1 : 0;
    return out;
  }
  if (Array.isArray(data) && type !== "string") {
    const out = allocate(type, 0) as NumericArray | BigArray;
    if (isBig(type)) {
      const Ctor = out.constructor as BigInt64ArrayConstructor;
      return new Ctor(data.map((v) => BigInt(v as number | bigint)));
    }
    const values = data.map((v) => Number(v));
    return fromNumbers(type, values);
  }
  if (type === "string" && Array.isArray(data)) return data.map(String);
  throw new TypeError(
    `Tensor of type ${type} needs ${storageName(type)} data, got ${
      Object.prototype.toString.call(data)
    }`,
  );
}

/**
 * A tensor: element type, shape and data. The constructor follows onnxruntime-web:
 * `new Tensor("float32", new Float32Array(6), [2, 3])` or `new Tensor(float32Array, dims)`.
 * Plain arrays are converted to the type's storage (see `dtype.ts`).
 *
 * @example
 * ```ts
 * import { Tensor } from "./tensor.ts";
 * const t = new Tensor("float32", [1, 2, 3, 4], [2, 2]);
 * console.log(t.dims, t.size);
 * ```
 */
export class Tensor {
  /** Element type. */
  readonly type: DataType;
  /** Shape. */
  readonly dims: readonly number[];
  /** Element storage on the CPU (empty when the tensor lives on the GPU only). */
  readonly data: TensorData;
  /** Where the data lives. */
  readonly location: DataLocation;
  /** GPU buffer holding the data when `location` is `gpu-buffer`. */
  readonly gpuBuffer?: GPUBuffer;
  #download?: () => Promise<TensorData>;
  #dispose?: () => void;

  /** Creates a tensor from a type, data and dims (dims default to 1-D). */
  constructor(type: DataType, data: unknown, dims?: readonly number[]);
  /** Creates a tensor from typed data whose type is inferred. */
  constructor(data: unknown, dims?: readonly number[]);
  constructor(a: unknown, b?: unknown, c?: readonly number[]) {
    let type: DataType;
    let data: unknown;
    let dims: readonly number[] | undefined;
    if (typeof a === "string") {
      if (!isDataType(a)) throw new TypeError(`Unknown tensor type: ${a}`);
      type = a;
      data = b;
      dims = c;
    } else {
      type = inferType(a);
      data = a;
      dims = b as readonly number[] | undefined;
    }
    const stored = coerce(type, data);
    const slots = slotsPerElement(type);
    const dimsFinal = dims ? [...dims] : [stored.length / slots];
    for (const d of dimsFinal) {
      if (!Number.isInteger(d) || d < 0) {
        throw new RangeError(`Tensor dims must be non-negative integers, got [${dimsFinal}]`);
      }
    }
    const size = shapeSize(dimsFinal);
    if (size * slots !== stored.length) {
      throw new RangeError(
        `Tensor data length ${stored.length} does not match dims [${dimsFinal}] (${size} elements)`,
      );
    }
    this.type = type;
    this.data = stored;
    this.dims = Object.freeze(dimsFinal);
    this.location = "cpu";
  }

  /**
   * Wraps a GPU buffer as a tensor (like onnxruntime-web's `Tensor.fromGpuBuffer`).
   * `download` reads the data back; `dispose` releases the buffer.
   */
  static fromGpuBuffer(
    buffer: GPUBuffer,
    options: {
      dataType: DataType;
      dims: readonly number[];
      download?: () => Promise<TensorData>;
      dispose?: () => void;
    },
  ): Tensor {
    const t = new Tensor(options.dataType, allocate(options.dataType, 0), [0]);
    const dims = Object.freeze([...options.dims]);
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0) {
        throw new RangeError(`Tensor dims must be non-negative integers, got [${dims}]`);
      }
    }
    Object.defineProperty(t, "dims", { value: dims, enumerable: true });
    Object.defineProperty(t, "location", { value: "gpu-buffer", enumerable: true });
    Object.defineProperty(t, "gpuBuffer", { value: buffer, enumerable: true });
    t.#download = options.download;
    t.#dispose = options.dispose;
    return t;
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.dims);
  }

  /** Returns the data, downloading it first when the tensor lives on the GPU. */
  async getData(): Promise<TensorData> {
    if (this.location === "cpu") return this.data;
    if (!this.#download) throw new Error("This GPU tensor has no download function");
    return await this.#download();
  }

  /** Releases GPU memory held by this tensor (no-op on the CPU). */
  dispose(): void {
    this.#dispose?.();
  }

  /** Returns a tensor with the same data and another shape of the same size (CPU only). */
  reshape(dims: readonly number[]): Tensor {
    if (this.location !== "cpu") {
      throw new TypeError("Cannot reshape a GPU tensor in place: read it with getData() first");
    }
    return new Tensor(this.type, this.data, dims);
  }

  /** Short description, e.g. `float32[2,3]`. */
  toString(): string {
    return `${this.type}[${this.dims.join(",")}]`;
  }
}

/** Decodes any non-string, non-complex tensor to numbers (int64 through Number()). */
export function toNumbers(t: Tensor): NumericArray {
  return dataToNumbers(t.type, t.data);
}

/** Decodes storage of a type to numbers; packed floats are decoded, bigints converted. */
export function dataToNumbers(type: DataType, data: TensorData): NumericArray {
  switch (type) {
    case "float16": {
      const bits = data as Uint16Array;
      return new Float32Array(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
    }
    case "bfloat16": {
      const bits = data as Uint16Array;
      const out = new Float32Array(bits.length);
      const o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) o32[i] = bits[i] << 16;
      return out;
    }
    case "float8e4m3fn":
    case "float8e4m3fnuz":
    case "float8e5m2":
    case "float8e5m2fnuz":
    case "float4e2m1": {
      const table = miniFloatTable(type);
      const bits = data as Uint8Array;
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
      return out;
    }
    case "float8e8m0": {
      const bits = data as Uint8Array;
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = decodeE8M0(bits[i]);
      return out;
    }
    case "int64":
    case "uint64": {
      const big = data as BigArray;
      const out = new Float64Array(big.length);
      for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
      return out;
    }
    case "string":
      throw new TypeError("String tensors have no numeric value");
    default:
      return data as NumericArray;
  }
}

/** Options of {@link fromNumbers}. */
export interface FromNumbersOptions {
  /** For float8 targets: clamp out-of-range values to ±max (true, the default) or not. */
  saturate?: boolean;
}

/**
 * Encodes numbers into the storage of `type`: floats round to nearest even, integers are
 * truncated toward zero then wrapped (as C casts do), bool is `x != 0`.
 */
export function fromNumbers(
  type: DataType,
  values: ArrayLike<number>,
  options?: FromNumbersOptions,
): TensorData {
  const n = values.length;
  const saturate = options?.saturate ?? true;
  switch (type) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "float16": {
      const f = Float16Array.from(values);
      return new Uint16Array(f.buffer, f.byteOffset, f.length);
    }
    case "bfloat16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = numberToBfloat16(values[i]);
      return out;
    }
    case "float8e4m3fn":
    case "float8e4m3fnuz":
    case "float8e5m2":
    case "float8e5m2fnuz":
    case "float4e2m1": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = encodeMiniFloat(type as MiniFloatType, values[i], saturate);
      }
      return out;
    }
    case "float8e8m0": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = encodeE8M0(values[i], saturate);
      return out;
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] !== 0 ? 1 : 0;
      return out;
    }
    case "int64":
    case "uint64": {
      const out = allocate(type, n) as BigArray;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
      }
      return out;
    }
    case "int4":
    case "int2": {
      const shift = type === "int4" ? 28 : 30;
      const out = new Int8Array(n);
      for (let i = 0; i < n; i++) out[i] = (Math.trunc(values[i]) << shift) >> shift;
      return out;
    }
    case "uint4":
    case "uint2": {
      const mask = type === "uint4" ? 15 : 3;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.trunc(values[i]) & mask;
      return out;
    }
    case "string":
      return Array.from(values, (v) => String(v));
    case "complex64":
    case "complex128":
      throw new TypeError(`fromNumbers cannot build ${type} storage`);
    default: {
      const out = allocate(type, n) as NumericArray;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = Number.isFinite(v) ? Math.trunc(v) : 0;
      }
      return out;
    }
  }
}

/** Builds a tensor of `type` and `dims` from numbers (see {@link fromNumbers}). */
export function tensorFromNumbers(
  type: DataType,
  values: ArrayLike<number>,
  dims: readonly number[],
  options?: FromNumbersOptions,
): Tensor {
  return new Tensor(type, fromNumbers(type, values, options), dims);
}

/** Type of a value, used by sequences and optionals to remember their element type. */
export type ElementTypeHint = ValueType;

/** An ONNX sequence value: an ordered list of tensors (or nested values). */
export class Sequence {
  /** Discriminant. */
  readonly kind = "sequence" as const;
  /** Elements. */
  readonly values: Value[];
  /** Declared element type, when known (needed for empty sequences). */
  readonly elemType?: ElementTypeHint;
  /** Creates a sequence. */
  constructor(values: Value[], elemType?: ElementTypeHint) {
    this.values = values;
    this.elemType = elemType;
  }
}

/** An ONNX optional value: holds a value or nothing. */
export class Optional {
  /** Discriminant. */
  readonly kind = "optional" as const;
  /** The held value, or undefined when empty. */
  readonly value: Value | undefined;
  /** Declared element type, when known. */
  readonly elemType?: ElementTypeHint;
  /** Creates an optional. */
  constructor(value: Value | undefined, elemType?: ElementTypeHint) {
    this.value = value;
    this.elemType = elemType;
  }
}

/** An ONNX map value: 1-D keys and a matching sequence or tensor of values. */
export class OnnxMap {
  /** Discriminant. */
  readonly kind = "map" as const;
  /** Keys (integer or string tensor). */
  readonly keys: Tensor;
  /** Values, one per key. */
  readonly values: Value;
  /** Creates a map. */
  constructor(keys: Tensor, values: Value) {
    this.keys = keys;
    this.values = values;
  }
}

/** Any value flowing along a graph edge. */
export type Value = Tensor | Sequence | Optional | OnnxMap;

/** Describes a value for messages, e.g. `float32[2,3]` or `seq(float32[4])`. */
export function describeValue(v: Value | undefined): string {
  if (v === undefined) return "nothing";
  if (v instanceof Tensor) return v.toString();
  if (v instanceof Sequence) {
    return `seq(${v.values.length ? describeValue(v.values[0]) : "empty"}) of ${v.values.length}`;
  }
  if (v instanceof Optional) return `optional(${describeValue(v.value)})`;
  return `map(${v.keys.type})`;
}
