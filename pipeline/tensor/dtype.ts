/**
 * ONNX element types: names, enum codes (TensorProto.DataType) and in-memory storage.
 *
 * Storage per type (one element per array slot unless noted):
 * - float32 `Float32Array`, float64 `Float64Array`
 * - int8/16/32 `Int8Array`/`Int16Array`/`Int32Array`, uint8/16/32 likewise
 * - int64 `BigInt64Array`, uint64 `BigUint64Array` (exact)
 * - bool `Uint8Array` of 0/1
 * - string `string[]`
 * - float16 and bfloat16: `Uint16Array` of raw bits (as onnxruntime-web does for float16)
 * - float8 kinds, float8e8m0 and float4e2m1: `Uint8Array` of raw bits, one element per byte
 * - int4/int2: `Int8Array`, uint4/uint2: `Uint8Array`, unpacked (one element per byte)
 * - complex64/complex128: `Float32Array`/`Float64Array` of interleaved (re, im) pairs
 *
 * @module
 */

/** Name of an ONNX tensor element type. */
export type DataType =
  | "float32"
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "int32"
  | "int64"
  | "string"
  | "bool"
  | "float16"
  | "float64"
  | "uint32"
  | "uint64"
  | "complex64"
  | "complex128"
  | "bfloat16"
  | "float8e4m3fn"
  | "float8e4m3fnuz"
  | "float8e5m2"
  | "float8e5m2fnuz"
  | "uint4"
  | "int4"
  | "float4e2m1"
  | "float8e8m0"
  | "uint2"
  | "int2";

/** Typed storage of a tensor's elements (see the module doc for which type uses which). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** Storage whose elements read as JavaScript numbers. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Storage whose elements read as bigints (int64, uint64). */
export type BigArray = BigInt64Array | BigUint64Array;

/** TensorProto.DataType enum code → type name, in enum order (index = code). */
const BY_CODE: readonly (DataType | undefined)[] = [
  undefined,
  "float32",
  "uint8",
  "int8",
  "uint16",
  "int16",
  "int32",
  "int64",
  "string",
  "bool",
  "float16",
  "float64",
  "uint32",
  "uint64",
  "complex64",
  "complex128",
  "bfloat16",
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
  "uint4",
  "int4",
  "float4e2m1",
  "float8e8m0",
  "uint2",
  "int2",
];

const CODE_OF: ReadonlyMap<DataType, number> = new Map(
  BY_CODE.flatMap((t, i) => (t ? [[t, i] as [DataType, number]] : [])),
);

/** Every element type, in enum order. */
export const ALL_DATA_TYPES: readonly DataType[] = BY_CODE.filter((t): t is DataType =>
  t !== undefined
);

/** Returns the type name of a TensorProto.DataType code, or undefined when unknown. */
export function dataTypeFromCode(code: number): DataType | undefined {
  return BY_CODE[code];
}

/** Returns the TensorProto.DataType code of a type name. */
export function dataTypeCode(type: DataType): number {
  const c = CODE_OF.get(type);
  if (c === undefined) throw new TypeError(`Unknown element type: ${type}`);
  return c;
}

/** True when `s` names an element type. */
export function isDataType(s: string): s is DataType {
  return CODE_OF.has(s as DataType);
}

/** The ONNX spelling used in type constraints, e.g. `float` for float32, `double` for float64. */
export function onnxTypeName(type: DataType): string {
  return type === "float32" ? "float" : type === "float64" ? "double" : type;
}

/** Parses the ONNX spelling of a type (`float`, `double`, `int64`, ...). */
export function dataTypeFromOnnxName(name: string): DataType | undefined {
  if (name === "float") return "float32";
  if (name === "double") return "float64";
  return isDataType(name) ? name : undefined;
}

/** Bytes of one element in its in-memory storage (strings: 0, complex64: 8). */
export function storageBytes(type: DataType): number {
  switch (type) {
    case "float64":
    case "int64":
    case "uint64":
    case "complex64":
      return 8;
    case "complex128":
      return 16;
    case "float32":
    case "int32":
    case "uint32":
      return 4;
    case "float16":
    case "bfloat16":
    case "int16":
    case "uint16":
      return 2;
    case "string":
      return 0;
    default:
      return 1;
  }
}

/** Bits of one element in the ONNX wire format (raw_data); int4 packs two per byte. */
export function wireBits(type: DataType): number {
  switch (type) {
    case "int4":
    case "uint4":
    case "float4e2m1":
      return 4;
    case "int2":
    case "uint2":
      return 2;
    case "string":
      return 0;
    default:
      return storageBytes(type) * 8;
  }
}

/** Allocates zeroed storage for `size` elements of `type`. */
export function allocate(type: DataType, size: number): TensorData {
  switch (type) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int8":
    case "int4":
    case "int2":
      return new Int8Array(size);
    case "uint8":
    case "bool":
    case "uint4":
    case "uint2":
    case "float8e4m3fn":
    case "float8e4m3fnuz":
    case "float8e5m2":
    case "float8e5m2fnuz":
    case "float8e8m0":
    case "float4e2m1":
      return new Uint8Array(size);
    case "int16":
      return new Int16Array(size);
    case "uint16":
    case "float16":
    case "bfloat16":
      return new Uint16Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "int64":
      return new BigInt64Array(size);
    case "uint64":
      return new BigUint64Array(size);
    case "string":
      return new Array<string>(size).fill("");
    case "complex64":
      return new Float32Array(size * 2);
    case "complex128":
      return new Float64Array(size * 2);
  }
}

/** The storage constructor name expected for `type`, used in error messages and checks. */
export function storageName(type: DataType): string {
  const d = allocate(type, 0);
  return Array.isArray(d) ? "string[]" : d.constructor.name;
}

/** True when the storage `data` is the right kind for `type` (not checking length). */
export function storageMatches(type: DataType, data: unknown): boolean {
  if (type === "string") return Array.isArray(data);
  const expected = allocate(type, 0);
  return (data as object)?.constructor === (expected as object).constructor;
}

/** Number of storage slots per element (2 for complex, 1 otherwise). */
export function slotsPerElement(type: DataType): number {
  return type === "complex64" || type === "complex128" ? 2 : 1;
}

/** Float types whose storage holds raw bits and must be decoded to compute. */
export function isPackedFloat(type: DataType): boolean {
  return type === "float16" || type === "bfloat16" || type.startsWith("float8") ||
    type === "float4e2m1";
}

/** float16, bfloat16, float32, float64 and the float8/float4 kinds. */
export function isFloat(type: DataType): boolean {
  return type === "float32" || type === "float64" || isPackedFloat(type);
}

/** Signed and unsigned integer types of every width (not bool). */
export function isInteger(type: DataType): boolean {
  return /^u?int(2|4|8|16|32|64)$/.test(type);
}

/** int64 and uint64, whose storage is bigint. */
export function isBig(type: DataType): boolean {
  return type === "int64" || type === "uint64";
}

/** Inclusive range of an integer type, as numbers (int64 ends are approximate). */
export function integerRange(type: DataType): [number, number] {
  switch (type) {
    case "int2":
      return [-2, 1];
    case "uint2":
      return [0, 3];
    case "int4":
      return [-8, 7];
    case "uint4":
      return [0, 15];
    case "int8":
      return [-128, 127];
    case "uint8":
      return [0, 255];
    case "int16":
      return [-32768, 32767];
    case "uint16":
      return [0, 65535];
    case "int32":
      return [-2147483648, 2147483647];
    case "uint32":
      return [0, 4294967295];
    case "int64":
      return [-9223372036854775808, 9223372036854775807];
    case "uint64":
      return [0, 18446744073709551615];
    default:
      throw new TypeError(`Not an integer type: ${type}`);
  }
}
