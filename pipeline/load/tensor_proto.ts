/**
 * TensorProto ⇄ runtime {@link Tensor}, and test-data `.pb` files ⇄ runtime values.
 *
 * Payload rules (onnx.proto, docs/IR.md):
 * - `raw_data` (or external data) is little-endian and fixed-width; bool is one byte per
 *   element; int4/uint4/float4e2m1 pack two elements per byte and int2/uint2 four, the first
 *   element in the lowest bits.
 * - Typed fields: float and complex64 in `float_data`; double and complex128 in
 *   `double_data`; int64 in `int64_data`; uint32 and uint64 in `uint64_data`; strings in
 *   `string_data`; every other type in `int32_data` (float16/bfloat16/float8 as bits, the
 *   4-bit and 2-bit types packed into one byte per int32 as in `raw_data`).
 *
 * Tensors read from `raw_data` are zero-copy views of the model bytes when the payload is
 * aligned for the element size.
 *
 * @module
 */

import { ModelFormatError, UnsupportedError } from "../errors.ts";
import {
  allocate,
  type BigArray,
  type DataType,
  dataTypeCode,
  dataTypeFromCode,
  type NumericArray,
  slotsPerElement,
  storageBytes,
  wireBits,
} from "../tensor/dtype.ts";
import { OnnxMap, Optional, Sequence, shapeSize, Tensor, type Value } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { SparseTensorProto, TensorProto } from "./ir.ts";
import {
  decodeMapProto,
  decodeOptionalProto,
  decodeSequenceProto,
  decodeSparseTensorProto,
  decodeTensorProto,
  emptyTensorProto,
  encodeMapProto,
  encodeOptionalProto,
  encodeSequenceProto,
  encodeTensorProto,
  type MapProto,
  type OptionalProto,
  type SequenceProto,
  VALUE_ELEM_TYPE,
} from "./proto.ts";

/** Supplies the bytes of tensors whose `data_location` is EXTERNAL (see `load.ts`). */
export interface ExternalDataReader {
  /**
   * Returns the payload of `tp` (little-endian, as `raw_data` would hold it). Throws
   * ModelFormatError when the tensor's external data is missing or invalid.
   */
  read(tp: TensorProto): Uint8Array;
}

/** Largest element count accepted for one tensor (typed arrays cannot be longer anyway). */
const MAX_ELEMENTS = 2 ** 32;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function label(tp: { name: string }): string {
  return tp.name ? `Tensor "${tp.name}"` : "An unnamed tensor";
}

function validDims(tp: TensorProto): number {
  let n = 1;
  for (const d of tp.dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new ModelFormatError(`${label(tp)} has an invalid dimension ${d} in [${tp.dims}]`);
    }
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new ModelFormatError(`${label(tp)} has ${n} elements, more than this runtime supports`);
  }
  return n;
}

/** Bytes a payload of `n` elements of `type` takes in `raw_data`. */
export function rawByteLength(type: DataType, n: number): number {
  const bits = wireBits(type);
  if (bits < 8) return Math.ceil((n * bits) / 8);
  return n * storageBytes(type);
}

type TypedCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** Unpacks 4-bit (two per byte) or 2-bit (four per byte) elements, low bits first. */
function unpackSubByte(
  type: DataType,
  bytes: ArrayLike<number>,
  n: number,
): Int8Array | Uint8Array {
  const out = allocate(type, n) as Int8Array | Uint8Array;
  const bits = wireBits(type);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const signed = type === "int4" || type === "int2";
  const shift = 32 - bits;
  for (let i = 0; i < n; i++) {
    const byte = bytes[Math.floor(i / perByte)] & 0xff;
    const v = (byte >> ((i % perByte) * bits)) & mask;
    out[i] = signed ? (v << shift) >> shift : v;
  }
  return out;
}

/** Packs 4-bit or 2-bit elements, low bits first. */
function packSubByte(type: DataType, values: ArrayLike<number>): Uint8Array {
  const bits = wireBits(type);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) {
    out[Math.floor(i / perByte)] |= (values[i] & mask) << ((i % perByte) * bits);
  }
  return out;
}

/** A view (or an aligned copy) of little-endian `raw` as `Ctor` elements. */
function viewAs(Ctor: TypedCtor, raw: Uint8Array, count: number): NumericArray | BigArray {
  const size = Ctor.BYTES_PER_ELEMENT;
  if (size === 1 || (LITTLE_ENDIAN && raw.byteOffset % size === 0)) {
    return new Ctor(raw.buffer as ArrayBuffer, raw.byteOffset, count) as NumericArray | BigArray;
  }
  const copy = raw.slice();
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return new Ctor(copy.buffer, 0, count) as NumericArray | BigArray;
}

function ctorOf(type: DataType): TypedCtor {
  return (allocate(type, 0) as NumericArray | BigArray).constructor as TypedCtor;
}

function fromRaw(tp: TensorProto, type: DataType, raw: Uint8Array, n: number): Tensor {
  if (type === "string") {
    throw new ModelFormatError(`${label(tp)} is a string tensor, which must use string_data`);
  }
  const expected = rawByteLength(type, n);
  if (raw.length !== expected) {
    throw new ModelFormatError(
      `${label(tp)} has ${raw.length} bytes of data, but ${type}[${tp.dims}] needs ${expected}`,
    );
  }
  if (wireBits(type) < 8) return new Tensor(type, unpackSubByte(type, raw, n), tp.dims);
  if (type === "bool") {
    let clean = true;
    for (let i = 0; i < n; i++) {
      if (raw[i] > 1) {
        clean = false;
        break;
      }
    }
    const data = clean
      ? new Uint8Array(raw.buffer, raw.byteOffset, n)
      : Uint8Array.from(raw, (b) => (b ? 1 : 0));
    return new Tensor(type, data, tp.dims);
  }
  return new Tensor(type, viewAs(ctorOf(type), raw, n * slotsPerElement(type)), tp.dims);
}

function need(tp: TensorProto, type: DataType, field: string, got: number, want: number): void {
  if (got !== want) {
    throw new ModelFormatError(
      `${label(tp)} of type ${type}[${tp.dims}] needs ${want} values in ${field}, got ${got}`,
    );
  }
}

function fromTyped(tp: TensorProto, type: DataType, n: number): Tensor {
  const dims = tp.dims;
  switch (type) {
    case "float32":
    case "complex64": {
      const want = n * slotsPerElement(type);
      need(tp, type, "float_data", tp.floatData.length, want);
      return new Tensor(type, Float32Array.from(tp.floatData), dims);
    }
    case "float64":
    case "complex128": {
      const want = n * slotsPerElement(type);
      need(tp, type, "double_data", tp.doubleData.length, want);
      return new Tensor(type, Float64Array.from(tp.doubleData), dims);
    }
    case "int64":
      need(tp, type, "int64_data", tp.int64Data.length, n);
      return new Tensor(type, BigInt64Array.from(tp.int64Data), dims);
    case "uint64":
      need(tp, type, "uint64_data", tp.uint64Data.length, n);
      return new Tensor(type, BigUint64Array.from(tp.uint64Data), dims);
    case "uint32": {
      need(tp, type, "uint64_data", tp.uint64Data.length, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(BigInt.asUintN(32, tp.uint64Data[i]));
      return new Tensor(type, out, dims);
    }
    case "string": {
      need(tp, type, "string_data", tp.stringData.length, n);
      const dec = new TextDecoder();
      return new Tensor(type, tp.stringData.map((b) => dec.decode(b)), dims);
    }
    case "bool": {
      need(tp, type, "int32_data", tp.int32Data.length, n);
      return new Tensor(type, Uint8Array.from(tp.int32Data, (v) => (v ? 1 : 0)), dims);
    }
    case "int4":
    case "uint4":
    case "float4e2m1":
    case "int2":
    case "uint2": {
      need(tp, type, "int32_data", tp.int32Data.length, rawByteLength(type, n));
      return new Tensor(type, unpackSubByte(type, tp.int32Data, n), dims);
    }
    default: {
      // int32, int16, int8, uint16, uint8, float16/bfloat16 bits, float8 kinds: one value per
      // int32; typed-array assignment keeps the low bits as the C casts onnx uses would.
      need(tp, type, "int32_data", tp.int32Data.length, n);
      const out = allocate(type, n) as NumericArray;
      out.set(tp.int32Data);
      return new Tensor(type, out, dims);
    }
  }
}

/**
 * Converts a TensorProto to a runtime tensor. Raw and external payloads become zero-copy
 * views when aligned. Throws ModelFormatError naming the tensor when its data type is
 * unknown or its payload does not match its dims, and UnsupportedError for segments.
 *
 * @example
 * ```ts
 * import { tensorFromProto } from "./tensor_proto.ts";
 * import { emptyTensorProto } from "./proto.ts";
 * const tp = { ...emptyTensorProto(1, [2]), floatData: [1.5, -2] };
 * console.log(tensorFromProto(tp).data); // Float32Array [1.5, -2]
 * ```
 */
export function tensorFromProto(tp: TensorProto, external?: ExternalDataReader): Tensor {
  const type = dataTypeFromCode(tp.dataType);
  if (!type) throw new ModelFormatError(`${label(tp)} has an unknown data type ${tp.dataType}`);
  if (tp.segment) {
    throw new UnsupportedError(
      `${label(tp)} holds one segment of a larger tensor; segmented tensors are not supported`,
      { dtype: type },
    );
  }
  const n = validDims(tp);
  if (tp.dataLocation === 1) {
    if (!external) {
      throw new ModelFormatError(
        `${label(tp)} keeps its data in an external file, but no external data reader was given`,
      );
    }
    return fromRaw(tp, type, external.read(tp), n);
  }
  if (tp.dataLocation !== 0) {
    throw new ModelFormatError(`${label(tp)} has an unknown data_location ${tp.dataLocation}`);
  }
  const raw = tp.rawData;
  if (raw !== undefined && type !== "string" && (raw.length > 0 || !hasTypedPayload(tp))) {
    return fromRaw(tp, type, raw, n);
  }
  return fromTyped(tp, type, n);
}

function hasTypedPayload(tp: TensorProto): boolean {
  return tp.floatData.length + tp.int32Data.length + tp.stringData.length +
      tp.int64Data.length + tp.doubleData.length + tp.uint64Data.length > 0;
}

/** The little-endian `raw_data` bytes of a tensor's storage (strings excluded). */
export function tensorRawBytes(t: Tensor): Uint8Array {
  const type = t.type;
  if (type === "string") throw new TypeError("String tensors have no raw_data encoding");
  if (wireBits(type) < 8) return packSubByte(type, t.data as Int8Array | Uint8Array);
  if (type === "bool") return Uint8Array.from(t.data as Uint8Array, (b) => (b ? 1 : 0));
  const d = t.data as NumericArray | BigArray;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (LITTLE_ENDIAN || d.BYTES_PER_ELEMENT === 1) return bytes;
  const copy = bytes.slice();
  const size = d.BYTES_PER_ELEMENT;
  for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  return copy;
}

/**
 * Converts a CPU tensor to a TensorProto: `raw_data` for every type but string (which uses
 * `string_data`). For multi-byte types `rawData` is a view of the tensor's storage.
 */
export function tensorToProto(t: Tensor, name?: string): TensorProto {
  if (t.location !== "cpu") {
    throw new UnsupportedError(
      `Tensor ${name ? `"${name}" ` : ""}lives on the GPU; read it back before serializing it`,
      { dtype: t.type },
    );
  }
  const tp = emptyTensorProto(dataTypeCode(t.type), [...t.dims], name ?? "");
  if (t.type === "string") {
    const enc = new TextEncoder();
    tp.stringData = (t.data as string[]).map((s) => enc.encode(s));
  } else {
    tp.rawData = tensorRawBytes(t);
  }
  return tp;
}

/**
 * Expands a SparseTensorProto (COO values with linearized [NNZ] or [NNZ, rank] int64
 * indices) to a dense tensor; unset elements are zero (or "").
 */
export function sparseTensorFromProto(
  sp: SparseTensorProto,
  external?: ExternalDataReader,
): Tensor {
  if (!sp.values) throw new ModelFormatError("A sparse tensor has no values");
  const name = sp.values.name ? ` "${sp.values.name}"` : "";
  const values = tensorFromProto(sp.values, external);
  const dims = sp.dims;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new ModelFormatError(`Sparse tensor${name} has an invalid dimension ${d}`);
    }
  }
  const size = shapeSize(dims);
  if (size > MAX_ELEMENTS) {
    throw new ModelFormatError(`Sparse tensor${name} has ${size} elements, too many to densify`);
  }
  const slots = slotsPerElement(values.type);
  let out: { [i: number]: unknown; length: number };
  try {
    out = allocate(values.type, size) as unknown as { [i: number]: unknown; length: number };
  } catch (e) {
    throw new ModelFormatError(`Sparse tensor${name} of ${size} elements is too large to densify`, {
      cause: e,
    });
  }
  const nnz = values.size;
  if (nnz === 0) return new Tensor(values.type, out, dims);
  if (!sp.indices) throw new ModelFormatError(`Sparse tensor${name} has values but no indices`);
  const idx = tensorFromProto(sp.indices, external);
  if (idx.type !== "int64") {
    throw new ModelFormatError(`Sparse tensor${name} indices must be int64, got ${idx.type}`);
  }
  const ind = idx.data as BigInt64Array;
  const rank = dims.length;
  const linear = idx.dims.length === 1;
  if (
    linear ? idx.dims[0] !== nnz : idx.dims.length !== 2 || idx.dims[0] !== nnz ||
      idx.dims[1] !== rank
  ) {
    throw new ModelFormatError(
      `Sparse tensor${name} indices of shape [${idx.dims}] do not match ${nnz} values of rank ${rank}`,
    );
  }
  const strides = new Array<number>(rank);
  for (let d = rank - 1, acc = 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= dims[d];
  }
  const src = values.data as unknown as ArrayLike<unknown>;
  for (let k = 0; k < nnz; k++) {
    let off = 0;
    if (linear) off = Number(ind[k]);
    else {
      for (let d = 0; d < rank; d++) {
        const i = Number(ind[k * rank + d]);
        if (i < 0 || i >= dims[d]) {
          throw new ModelFormatError(`Sparse tensor${name} has an index out of range`);
        }
        off += i * strides[d];
      }
    }
    if (!(off >= 0 && off < size)) {
      throw new ModelFormatError(`Sparse tensor${name} has an index out of range`);
    }
    for (let s = 0; s < slots; s++) out[off * slots + s] = src[k * slots + s];
  }
  return new Tensor(values.type, out, dims);
}

// ---------------------------------------------------------------------------------------
// onnx-data values (SequenceProto, MapProto, OptionalProto) ⇄ runtime values

function elemHint(expected: ValueType | undefined, kind: "sequence" | "optional") {
  return expected && expected.kind === kind ? expected.elem : undefined;
}

/** Converts a SequenceProto to a runtime Sequence (`expected` is the sequence's type). */
export function valueFromSequenceProto(s: SequenceProto, expected?: ValueType): Sequence {
  const hint = elemHint(expected, "sequence");
  let values: Value[];
  switch (s.elemType) {
    case VALUE_ELEM_TYPE.TENSOR:
      values = s.tensorValues.map((t) => tensorFromProto(t));
      break;
    case VALUE_ELEM_TYPE.SPARSE_TENSOR:
      values = s.sparseTensorValues.map((t) => sparseTensorFromProto(t));
      break;
    case VALUE_ELEM_TYPE.SEQUENCE:
      values = s.sequenceValues.map((v) => valueFromSequenceProto(v, hint));
      break;
    case VALUE_ELEM_TYPE.MAP:
      values = s.mapValues.map((v) => valueFromMapProto(v, hint));
      break;
    case VALUE_ELEM_TYPE.OPTIONAL:
      values = s.optionalValues.map((v) => valueFromOptionalProto(v, hint));
      break;
    case VALUE_ELEM_TYPE.UNDEFINED: {
      const lists = [s.tensorValues, s.sparseTensorValues, s.sequenceValues, s.mapValues];
      if (lists.some((l) => l.length) || s.optionalValues.length) {
        throw new ModelFormatError(
          `Sequence "${s.name}" has values but its elem_type is UNDEFINED`,
        );
      }
      values = [];
      break;
    }
    default:
      throw new ModelFormatError(`Sequence "${s.name}" has an unknown elem_type ${s.elemType}`);
  }
  let elemType = hint;
  if (!elemType && values[0] instanceof Tensor) {
    elemType = { kind: "tensor", elemType: values[0].type };
  }
  return new Sequence(values, elemType);
}

/** Converts an OptionalProto to a runtime Optional (`expected` is the optional's type). */
export function valueFromOptionalProto(o: OptionalProto, expected?: ValueType): Optional {
  const hint = elemHint(expected, "optional");
  let value: Value | undefined;
  switch (o.elemType) {
    case VALUE_ELEM_TYPE.TENSOR:
      value = o.tensorValue ? tensorFromProto(o.tensorValue) : undefined;
      break;
    case VALUE_ELEM_TYPE.SPARSE_TENSOR:
      value = o.sparseTensorValue ? sparseTensorFromProto(o.sparseTensorValue) : undefined;
      break;
    case VALUE_ELEM_TYPE.SEQUENCE:
      value = o.sequenceValue ? valueFromSequenceProto(o.sequenceValue, hint) : undefined;
      break;
    case VALUE_ELEM_TYPE.MAP:
      value = o.mapValue ? valueFromMapProto(o.mapValue, hint) : undefined;
      break;
    case VALUE_ELEM_TYPE.OPTIONAL:
      value = o.optionalValue ? valueFromOptionalProto(o.optionalValue, hint) : undefined;
      break;
    case VALUE_ELEM_TYPE.UNDEFINED:
      value = undefined;
      break;
    default:
      throw new ModelFormatError(`Optional "${o.name}" has an unknown elem_type ${o.elemType}`);
  }
  return new Optional(value, hint);
}

const MAP_KEY_TYPES: ReadonlySet<DataType> = new Set<DataType>([
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "string",
]);

/** Converts a MapProto to a runtime OnnxMap (keys tensor and a Sequence of values). */
export function valueFromMapProto(m: MapProto, expected?: ValueType): OnnxMap {
  const keyType = dataTypeFromCode(m.keyType);
  if (!keyType || !MAP_KEY_TYPES.has(keyType)) {
    throw new ModelFormatError(`Map "${m.name}" has an invalid key_type ${m.keyType}`);
  }
  let keys: Tensor;
  if (keyType === "string") {
    const dec = new TextDecoder();
    keys = new Tensor("string", m.stringKeys.map((b) => dec.decode(b)), [m.stringKeys.length]);
  } else if (keyType === "int64") {
    keys = new Tensor("int64", BigInt64Array.from(m.keys), [m.keys.length]);
  } else if (keyType === "uint64") {
    keys = new Tensor("uint64", BigUint64Array.from(m.keys, (k) => BigInt.asUintN(64, k)), [
      m.keys.length,
    ]);
  } else {
    const out = allocate(keyType, m.keys.length) as NumericArray;
    for (let i = 0; i < m.keys.length; i++) out[i] = Number(BigInt.asIntN(32, m.keys[i]));
    keys = new Tensor(keyType, out, [m.keys.length]);
  }
  const valueHint = expected && expected.kind === "map" && expected.value
    ? { kind: "sequence" as const, elem: expected.value }
    : undefined;
  const values = m.values
    ? valueFromSequenceProto(m.values, valueHint)
    : new Sequence([], expected?.kind === "map" ? expected.value : undefined);
  if (values.values.length !== keys.size) {
    throw new ModelFormatError(
      `Map "${m.name}" has ${keys.size} keys but ${values.values.length} values`,
    );
  }
  return new OnnxMap(keys, values);
}

function valueKindCode(v: Value | undefined, hint: ValueType | undefined): number {
  if (v instanceof Tensor) return VALUE_ELEM_TYPE.TENSOR;
  if (v instanceof Sequence) return VALUE_ELEM_TYPE.SEQUENCE;
  if (v instanceof OnnxMap) return VALUE_ELEM_TYPE.MAP;
  if (v instanceof Optional) return VALUE_ELEM_TYPE.OPTIONAL;
  switch (hint?.kind) {
    case "tensor":
      return VALUE_ELEM_TYPE.TENSOR;
    case "sparse_tensor":
      return VALUE_ELEM_TYPE.SPARSE_TENSOR;
    case "sequence":
      return VALUE_ELEM_TYPE.SEQUENCE;
    case "map":
      return VALUE_ELEM_TYPE.MAP;
    case "optional":
      return VALUE_ELEM_TYPE.OPTIONAL;
    default:
      return VALUE_ELEM_TYPE.UNDEFINED;
  }
}

function emptySequenceProto(name: string, elemType: number): SequenceProto {
  return {
    name,
    elemType,
    tensorValues: [],
    sparseTensorValues: [],
    sequenceValues: [],
    mapValues: [],
    optionalValues: [],
  };
}

/** Converts a runtime Sequence to a SequenceProto. */
export function sequenceToProto(s: Sequence, name = ""): SequenceProto {
  const code = s.values.length ? valueKindCode(s.values[0], undefined) : valueKindCode(
    undefined,
    s.elemType,
  );
  const out = emptySequenceProto(name, code);
  for (const v of s.values) {
    if (valueKindCode(v, undefined) !== code) {
      throw new TypeError("Sequence elements must all be of the same kind");
    }
    if (v instanceof Tensor) out.tensorValues.push(tensorToProto(v));
    else if (v instanceof Sequence) out.sequenceValues.push(sequenceToProto(v));
    else if (v instanceof OnnxMap) out.mapValues.push(mapToProto(v));
    else out.optionalValues.push(optionalToProto(v));
  }
  return out;
}

/** Converts a runtime Optional to an OptionalProto. */
export function optionalToProto(o: Optional, name = ""): OptionalProto {
  const v = o.value;
  const out: OptionalProto = { name, elemType: valueKindCode(v, o.elemType) };
  if (v instanceof Tensor) out.tensorValue = tensorToProto(v);
  else if (v instanceof Sequence) out.sequenceValue = sequenceToProto(v);
  else if (v instanceof OnnxMap) out.mapValue = mapToProto(v);
  else if (v instanceof Optional) out.optionalValue = optionalToProto(v);
  return out;
}

/** Splits a tensor along axis 0 into tensors of rank - 1. */
function unstack(t: Tensor): Tensor[] {
  if (t.dims.length === 0) return [t];
  const count = t.dims[0];
  const inner = t.dims.slice(1);
  const per = shapeSize(inner) * slotsPerElement(t.type);
  const out: Tensor[] = [];
  for (let i = 0; i < count; i++) {
    const part = Array.isArray(t.data)
      ? t.data.slice(i * per, (i + 1) * per)
      : (t.data as NumericArray | BigArray).slice(i * per, (i + 1) * per);
    out.push(new Tensor(t.type, part, inner));
  }
  return out;
}

/**
 * Converts a runtime OnnxMap to a MapProto. Values given as one tensor are split along
 * axis 0, one element per key.
 */
export function mapToProto(m: OnnxMap, name = ""): MapProto {
  const keyType = m.keys.type;
  if (!MAP_KEY_TYPES.has(keyType)) throw new TypeError(`Map keys cannot be ${keyType}`);
  const out: MapProto = { name, keyType: dataTypeCode(keyType), keys: [], stringKeys: [] };
  if (keyType === "string") {
    const enc = new TextEncoder();
    out.stringKeys = (m.keys.data as string[]).map((s) => enc.encode(s));
  } else {
    out.keys = Array.from(m.keys.data as ArrayLike<number | bigint>, (k) => BigInt(k));
  }
  const values = m.values instanceof Tensor ? new Sequence(unstack(m.values)) : m.values;
  if (values instanceof Sequence) out.values = sequenceToProto(values);
  else {
    const seq = emptySequenceProto("", valueKindCode(values, undefined));
    if (values instanceof OnnxMap) seq.mapValues.push(mapToProto(values));
    else seq.optionalValues.push(optionalToProto(values));
    out.values = seq;
  }
  return out;
}

/**
 * Decodes a test-data `.pb` file (`input_K.pb` / `output_K.pb`) as the message its
 * expected type calls for: TensorProto (the default), SparseTensorProto (densified),
 * SequenceProto, OptionalProto or MapProto. `source` names the file in errors.
 */
export function decodeValueFile(bytes: Uint8Array, expected?: ValueType, source?: string): Value {
  switch (expected?.kind ?? "tensor") {
    case "tensor":
      return tensorFromProtoIn(decodeTensorProto(bytes, source), source);
    case "sparse_tensor":
      return withSource(
        () => sparseTensorFromProto(decodeSparseTensorProto(bytes, source)),
        source,
      );
    case "sequence":
      return withSource(
        () => valueFromSequenceProto(decodeSequenceProto(bytes, source), expected),
        source,
      );
    case "optional":
      return withSource(
        () => valueFromOptionalProto(decodeOptionalProto(bytes, source), expected),
        source,
      );
    case "map":
      return withSource(() => valueFromMapProto(decodeMapProto(bytes, source), expected), source);
    default:
      throw new UnsupportedError(
        `Cannot decode a value of opaque type from "${source ?? "<bytes>"}"`,
      );
  }
}

function tensorFromProtoIn(tp: TensorProto, source: string | undefined): Tensor {
  return withSource(() => tensorFromProto(tp), source);
}

/** Runs `f`, adding `source` to ModelFormatErrors that lack one. */
function withSource<T>(f: () => T, source: string | undefined): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ModelFormatError && e.source === undefined && source !== undefined) {
      throw new ModelFormatError(`${e.message} (in "${source}")`, { source, cause: e });
    }
    throw e;
  }
}

/** Serializes a runtime value as a test-data `.pb` file (the inverse of decodeValueFile). */
export function encodeValueFile(value: Value, name = ""): Uint8Array<ArrayBuffer> {
  if (value instanceof Tensor) return encodeTensorProto(tensorToProto(value, name));
  if (value instanceof Sequence) return encodeSequenceProto(sequenceToProto(value, name));
  if (value instanceof Optional) return encodeOptionalProto(optionalToProto(value, name));
  return encodeMapProto(mapToProto(value, name));
}
