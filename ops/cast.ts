/**
 * Type conversion: Cast and CastLike among every element type the schemas allow (floats,
 * integers of every width, bool, strings, float16/bfloat16, the float8 kinds with
 * `saturate`, float8e8m0 with `round_mode`, float4e2m1, int4/uint4/int2/uint2), and BitCast
 * (reinterpreting the bits of same-width types).
 *
 * Conventions follow the ONNX reference (NumPy/ml_dtypes `astype`): floats round to nearest
 * even, float → integer truncates toward zero, integer → narrower integer wraps, numbers
 * format as strings like NumPy's `str()` (shortest round-trip digits), strings parse like
 * Python's `float()`.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  type DataType,
  dataTypeFromCode,
  isBig,
  isDataType,
  isFloat,
  type TensorData,
  wireBits,
} from "../pipeline/tensor/dtype.ts";
import {
  type E8M0Rounding,
  encodeE8M0,
  encodeMiniFloat,
  type MiniFloatType,
  numberToBfloat16,
} from "../pipeline/tensor/float.ts";
import { dataToNumbers, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { tensorAt } from "./util.ts";

// ---------------------------------------------------------------------------------------------
// Narrow float encoders (bit-exact with the ONNX reference data).
// ---------------------------------------------------------------------------------------------

/** Encodes a number as float8/float4e2m1 bits with Cast's saturation rules (see float.ts). */
export function encodeNarrowFloat(type: DataType, x: number, saturate: boolean): number {
  return encodeMiniFloat(type as MiniFloatType, x, saturate);
}

// ---------------------------------------------------------------------------------------------
// Number ↔ string.
// ---------------------------------------------------------------------------------------------

const f16buf = new Float16Array(1);

/** Rounds a double to the nearest value of a float type (for round-trip checks). */
function roundTo(type: DataType, v: number): number {
  switch (type) {
    case "float32":
      return Math.fround(v);
    case "float16":
      f16buf[0] = v;
      return f16buf[0];
    case "bfloat16": {
      const bits = numberToBfloat16(v);
      const u = new Uint32Array([bits << 16]);
      return new Float32Array(u.buffer)[0];
    }
    default:
      return v;
  }
}

/** Decimal exponent k with 10^k <= num/den < 10^(k+1), for positive rationals. */
function decimalExponent(num: bigint, den: bigint, estimate: number): number {
  const atLeast = (k: number) =>
    k >= 0 ? num >= 10n ** BigInt(k) * den : num * 10n ** BigInt(-k) >= den;
  let k = estimate;
  while (!atLeast(k)) k--;
  while (atLeast(k + 1)) k++;
  return k;
}

/** The `p`-digit decimal nearest to `a` > 0 (ties to even): digits without trailing zeros. */
function roundDigits(a: number, p: number): { digits: string; exp: number } {
  // a = mant * 2^e exactly.
  const f64 = new Float64Array([a]);
  const bits = new BigUint64Array(f64.buffer)[0];
  const expField = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = expField === 0 ? frac : frac | (1n << 52n);
  const e = (expField === 0 ? 1 : expField) - 1075;
  const num = e >= 0 ? mant << BigInt(e) : mant;
  const den = e >= 0 ? 1n : 1n << BigInt(-e);
  const k = decimalExponent(num, den, Math.floor(Math.log10(a)));
  const s = k - p + 1;
  const n = s >= 0 ? num : num * 10n ** BigInt(-s);
  const d = s >= 0 ? den * 10n ** BigInt(s) : den;
  let q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) q++;
  let digits = q.toString();
  let exp = k;
  if (digits.length > p) {
    digits = digits.slice(0, p);
    exp++;
  }
  return { digits: digits.replace(/0+$/, "") || "0", exp };
}

/**
 * Shortest decimal digits that round-trip `a` > 0 in `type`, nearest to `a` with ties to
 * even (NumPy's Dragon4 "unique" mode): `a` ≈ d.ddd × 10^exp.
 */
function shortestDigits(type: DataType, a: number): { digits: string; exp: number } {
  if (type === "float64") {
    // ECMAScript's shortest round-trip formatting picks the nearest, ties to even.
    const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(a.toExponential())!;
    return { digits: m[1] + (m[2] ?? ""), exp: Number(m[3]) };
  }
  for (let p = 1; p < 17; p++) {
    const c = roundDigits(a, p);
    if (roundTo(type, Number(`${c.digits}e${c.exp - c.digits.length + 1}`)) === a) return c;
  }
  return roundDigits(a, 17);
}

/** NumPy prints floats of magnitude at least this in scientific notation. */
function scientificFrom(type: DataType): number {
  return type === "float64" ? 1e16 : type === "float16" ? 1e3 : 1e6;
}

/**
 * Formats a float like NumPy's `str()` of a scalar of `type`: shortest round-trip digits,
 * positional for 1e-4 <= |v| < 10^k (k = 16 for float64, 6 for float32, 3 for float16; always
 * with a fractional part), else scientific with a two-digit exponent; `nan`, `inf`, `-inf`.
 */
export function formatFloat(type: DataType, v: number): string {
  if (v !== v) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  const a = Math.abs(v);
  if (a === 0) return `${sign}0.0`;
  const { digits, exp } = shortestDigits(type, a);
  if (a < 1e-4 || a >= scientificFrom(type)) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  if (exp >= 0) {
    const intPart = digits.length > exp + 1
      ? digits.slice(0, exp + 1)
      : digits.padEnd(exp + 1, "0");
    const frac = digits.length > exp + 1 ? digits.slice(exp + 1) : "0";
    return `${sign}${intPart}.${frac}`;
  }
  return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
}

const DECIMAL = /^[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?$/;
const INTEGER = /^[+-]?\d+(_\d+)*$/;

/** Parses a string like Python's float(): decimals, exponents, inf/infinity/nan in any case. */
export function parseNumber(s: string): number | undefined {
  const t = s.trim();
  const low = t.toLowerCase();
  const body = low.replace(/^[+-]/, "");
  if (body === "inf" || body === "infinity") return low.startsWith("-") ? -Infinity : Infinity;
  if (body === "nan") return NaN;
  if (!DECIMAL.test(t)) return undefined;
  return Number(t.replaceAll("_", ""));
}

// ---------------------------------------------------------------------------------------------
// Conversions.
// ---------------------------------------------------------------------------------------------

/** Bits of each integer type (bool excluded). */
const INT_BITS: Partial<Record<DataType, [number, boolean]>> = {
  int2: [2, true],
  uint2: [2, false],
  int4: [4, true],
  uint4: [4, false],
  int8: [8, true],
  uint8: [8, false],
  int16: [16, true],
  uint16: [16, false],
  int32: [32, true],
  uint32: [32, false],
  int64: [64, true],
  uint64: [64, false],
};

const TWO31 = 2 ** 31, TWO32 = 2 ** 32, TWO63 = 2 ** 63, TWO64 = 2 ** 64;

/** Wraps an integral number (|v| < 2^53 or exact) into a `bits`-wide integer. */
function wrapNumber(v: number, bits: number, signed: boolean): number {
  if (bits === 32) return signed ? v | 0 : v >>> 0;
  const m = 2 ** bits;
  let r = ((v % m) + m) % m;
  if (signed && r >= m / 2) r -= m;
  return r;
}

/**
 * Float → integer as NumPy's astype does on x86-64: truncation toward zero; values the
 * target cannot hold go through the CPU's conversion (NaN and out-of-range give the
 * "integer indefinite" value, then the low bits).
 */
function floatToInt(v: number, bits: number, signed: boolean): number {
  const t = Math.trunc(v);
  if (bits <= 16) return t !== t || Math.abs(t) >= TWO31 ? 0 : wrapNumber(t, bits, signed);
  if (signed) return t !== t || t < -TWO31 || t >= TWO31 ? -TWO31 : t;
  // uint32: negatives down to -2^31 wrap, NaN and lower values give 2^31, values from 2^32
  // up give 0 (what NumPy 2 does on x86-64).
  if (t !== t) return TWO31;
  if (t >= TWO32) return 0;
  if (t < -TWO31) return TWO31;
  return t < 0 ? t + TWO32 : t;
}

/** Float → int64/uint64 as NumPy's astype on x86-64. */
function floatToBig(v: number, signed: boolean): bigint {
  const t = Math.trunc(v);
  if (signed) return t !== t || t < -TWO63 || t >= TWO63 ? -(1n << 63n) : BigInt(t);
  if (t !== t || t < -TWO63) return 1n << 63n;
  if (t >= TWO64) return 0n;
  return BigInt.asUintN(64, BigInt(t));
}

/** Options of {@link castTensor}. */
export interface CastOptions {
  /** float8 targets: clamp out-of-range values (default true). */
  saturate?: boolean;
  /** float8e8m0 targets: rounding (default "up"). */
  roundMode?: E8M0Rounding;
}

/** Encodes numbers (doubles) into the storage of a float type. */
function encodeFloats(to: DataType, vals: ArrayLike<number>, opts: CastOptions): TensorData {
  const n = vals.length;
  switch (to) {
    case "float32":
      return Float32Array.from(vals);
    case "float64":
      return Float64Array.from(vals);
    case "float16": {
      const f = Float16Array.from(vals);
      return new Uint16Array(f.buffer, f.byteOffset, f.length);
    }
    case "bfloat16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = numberToBfloat16(vals[i]);
      return out;
    }
    case "float8e8m0": {
      const out = new Uint8Array(n);
      const sat = opts.saturate ?? true, rm = opts.roundMode ?? "up";
      for (let i = 0; i < n; i++) out[i] = encodeE8M0(vals[i], sat, rm);
      return out;
    }
    default: {
      const out = new Uint8Array(n);
      const sat = opts.saturate ?? true;
      for (let i = 0; i < n; i++) out[i] = encodeNarrowFloat(to, vals[i], sat);
      return out;
    }
  }
}

/** Converts one tensor to another element type (shape unchanged). */
export function castTensor(x: Tensor, to: DataType, opts: CastOptions = {}): Tensor {
  const from = x.type;
  const n = x.size;
  if (from === to) return x;
  if (from === "complex64" || from === "complex128" || to === "complex64" || to === "complex128") {
    throw new TypeError(`Cast between ${from} and ${to} is not supported`);
  }
  if (to === "string") return new Tensor(to, toStrings(x), x.dims);
  if (from === "string") return new Tensor(to, fromStrings(x.data as string[], to, opts), x.dims);
  const intTarget = INT_BITS[to];
  if (isBig(from)) {
    const src = x.data as BigArray;
    if (to === "bool") {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] !== 0n ? 1 : 0;
      return new Tensor(to, out, x.dims);
    }
    if (intTarget) {
      const [bits, signed] = intTarget;
      const out = allocate(to, n) as { [i: number]: number | bigint };
      for (let i = 0; i < n; i++) {
        const w = signed ? BigInt.asIntN(bits, src[i]) : BigInt.asUintN(bits, src[i]);
        out[i] = bits === 64 ? w : Number(w);
      }
      return new Tensor(to, out, x.dims);
    }
    const nums = new Float64Array(n);
    for (let i = 0; i < n; i++) nums[i] = Number(src[i]);
    return new Tensor(to, encodeFloats(to, nums, opts), x.dims);
  }
  const vals = dataToNumbers(from, x.data);
  if (to === "bool") {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = vals[i] !== 0 ? 1 : 0;
    return new Tensor(to, out, x.dims);
  }
  if (intTarget) {
    const [bits, signed] = intTarget;
    const fromFloat = isFloat(from);
    if (bits === 64) {
      const out = allocate(to, n) as BigArray;
      for (let i = 0; i < n; i++) {
        out[i] = fromFloat
          ? floatToBig(vals[i], signed)
          : signed
          ? BigInt(vals[i])
          : BigInt.asUintN(64, BigInt(vals[i]));
      }
      return new Tensor(to, out, x.dims);
    }
    const out = allocate(to, n) as Int32Array;
    for (let i = 0; i < n; i++) {
      out[i] = fromFloat ? floatToInt(vals[i], bits, signed) : wrapNumber(vals[i], bits, signed);
    }
    return new Tensor(to, out, x.dims);
  }
  return new Tensor(to, encodeFloats(to, vals, opts), x.dims);
}

/** Formats every element of a tensor as NumPy's `astype(str)` does. */
function toStrings(x: Tensor): string[] {
  const n = x.size;
  const out = new Array<string>(n);
  if (isBig(x.type)) {
    const src = x.data as BigArray;
    for (let i = 0; i < n; i++) out[i] = src[i].toString();
    return out;
  }
  const vals = dataToNumbers(x.type, x.data);
  if (x.type === "bool") {
    for (let i = 0; i < n; i++) out[i] = vals[i] ? "True" : "False";
  } else if (isFloat(x.type)) {
    const fmtType = x.type === "float32" || x.type === "float64" || x.type === "float16" ||
        x.type === "bfloat16"
      ? x.type
      : "float32";
    for (let i = 0; i < n; i++) out[i] = formatFloat(fmtType, vals[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = String(vals[i]);
  }
  return out;
}

/** Parses strings into the storage of `to`. */
function fromStrings(src: string[], to: DataType, opts: CastOptions): TensorData {
  const n = src.length;
  const parse = (s: string): number => {
    const v = parseNumber(s);
    if (v === undefined) throw new RangeError(`cannot parse "${s}" as a number`);
    return v;
  };
  if (to === "bool") {
    // NumPy's astype(bool) on strings: any non-empty string is true.
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = src[i].length > 0 ? 1 : 0;
    return out;
  }
  const intTarget = INT_BITS[to];
  if (intTarget) {
    const [bits, signed] = intTarget;
    const out = allocate(to, n) as { [i: number]: number | bigint };
    for (let i = 0; i < n; i++) {
      const t = src[i].trim();
      if (INTEGER.test(t)) {
        const b = BigInt(t.replaceAll("_", ""));
        const w = signed ? BigInt.asIntN(bits, b) : BigInt.asUintN(bits, b);
        out[i] = bits === 64 ? w : Number(w);
      } else {
        const v = parse(t);
        out[i] = bits === 64 ? floatToBig(v, signed) : floatToInt(v, bits, signed);
      }
    }
    return out as TensorData;
  }
  const nums = new Float64Array(n);
  for (let i = 0; i < n; i++) nums[i] = parse(src[i]);
  return encodeFloats(to, nums, opts);
}

// ---------------------------------------------------------------------------------------------
// Kernels.
// ---------------------------------------------------------------------------------------------

/** TensorProto.DataType names (Cast-1 spells the target as a string). */
const NAMES: Record<string, DataType> = {
  FLOAT: "float32",
  UINT8: "uint8",
  INT8: "int8",
  UINT16: "uint16",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  STRING: "string",
  BOOL: "bool",
  FLOAT16: "float16",
  DOUBLE: "float64",
  UINT32: "uint32",
  UINT64: "uint64",
  BFLOAT16: "bfloat16",
};

function targetType(ctx: { version: number; attrs: OpContext["attrs"] }): DataType | string {
  if (ctx.version < 6) {
    const name = ctx.attrs.string("to");
    return NAMES[name.toUpperCase()] ?? `"${name}"`;
  }
  const code = ctx.attrs.int("to");
  return dataTypeFromCode(code) ?? `code ${code}`;
}

function castOptions(ctx: OpContext): CastOptions {
  const rm = ctx.attrs.string("round_mode", "up");
  if (rm !== "up" && rm !== "down" && rm !== "nearest") {
    throw ctx.fail(`round_mode must be "up", "down" or "nearest", got "${rm}"`);
  }
  return { saturate: ctx.attrs.int("saturate", 1) !== 0, roundMode: rm };
}

function runCast(ctx: OpContext, x: Tensor, to: DataType): Tensor {
  if (
    x.type === "complex64" || x.type === "complex128" || to === "complex64" || to === "complex128"
  ) {
    throw ctx.unsupported(`casting between ${x.type} and ${to} is not supported`, x.type);
  }
  try {
    return castTensor(x, to, castOptions(ctx));
  } catch (e) {
    if (e instanceof RangeError) throw ctx.fail(e.message);
    throw e;
  }
}

function castCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const to = targetType(ctx);
  if (!isKnown(to)) throw ctx.fail(`unknown target type ${to}`);
  return [runCast(ctx, x, to)];
}

function castLikeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const like = tensorAt(ctx, inputs, 1);
  return [runCast(ctx, x, like.type)];
}

function isKnown(t: DataType | string): t is DataType {
  return isDataType(t);
}

/** Reinterprets the bits of each element as another type of the same width. */
export function bitcastTensor(x: Tensor, to: DataType): Tensor {
  const bits = wireBits(x.type);
  if (bits === 0 || wireBits(to) !== bits || to === "string") {
    throw new RangeError(
      `cannot bit-cast ${x.type} (${bits} bits) to ${to} (${wireBits(to)} bits)`,
    );
  }
  const n = x.size;
  if (bits < 8) {
    const mask = (1 << bits) - 1;
    const src = x.data as Int8Array | Uint8Array;
    const signed = to === "int4" || to === "int2";
    const shift = 32 - bits;
    const out = allocate(to, n) as Int8Array | Uint8Array;
    for (let i = 0; i < n; i++) {
      const code = src[i] & mask;
      out[i] = signed ? (code << shift) >> shift : code;
    }
    return new Tensor(to, out, x.dims);
  }
  const src = x.data as Exclude<TensorData, string[]>;
  const out = allocate(to, n) as Exclude<TensorData, string[]>;
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(
    new Uint8Array(src.buffer, src.byteOffset, src.byteLength),
  );
  if (to === "bool") {
    const b = out as Uint8Array;
    for (let i = 0; i < n; i++) b[i] = b[i] ? 1 : 0;
  }
  return new Tensor(to, out, x.dims);
}

function bitcastCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const code = ctx.attrs.int("to");
  const to = dataTypeFromCode(code);
  if (!to) throw ctx.fail(`unknown target type code ${code}`);
  if (x.type === "string" || to === "string") throw ctx.fail("strings cannot be bit-cast");
  try {
    return [bitcastTensor(x, to)];
  } catch (e) {
    if (e instanceof RangeError) throw ctx.fail(e.message);
    throw e;
  }
}

function shapeOf(t: ValueType | undefined) {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function castInfer(ctx: InferContext): (ValueType | undefined)[] {
  const to = ctx.version < 6
    ? NAMES[ctx.attrs.string("to", "").toUpperCase()]
    : dataTypeFromCode(ctx.attrs.int("to", 0));
  if (!to) ctx.error("Cast has an unknown target type");
  return [{ kind: "tensor", elemType: to, shape: shapeOf(ctx.input(0)) }];
}

function castLikeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const like = ctx.input(1);
  return [{
    kind: "tensor",
    elemType: like?.kind === "tensor" ? like.elemType : undefined,
    shape: shapeOf(ctx.input(0)),
  }];
}

function bitcastInfer(ctx: InferContext): (ValueType | undefined)[] {
  const to = dataTypeFromCode(ctx.attrs.int("to", 0));
  const x = ctx.input(0);
  const from = x?.kind === "tensor" ? x.elemType : undefined;
  if (!to) ctx.error("BitCast has an unknown target type");
  else if (from && wireBits(from) !== wireBits(to)) {
    ctx.error(`BitCast from ${from} to ${to} changes the bit width`);
  }
  return [{ kind: "tensor", elemType: to, shape: shapeOf(x) }];
}

/** Cast-family declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Cast",
    versions: [1, 6, 9, 13, 19, 21, 23, 24, 25],
    cpu: castCpu,
    infer: castInfer,
  },
  {
    domain: "",
    opType: "CastLike",
    versions: [15, 19, 21, 23, 24, 25],
    cpu: castLikeCpu,
    infer: castLikeInfer,
  },
  { domain: "", opType: "BitCast", versions: [26], cpu: bitcastCpu, infer: bitcastInfer },
];
