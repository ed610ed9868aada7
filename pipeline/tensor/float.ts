/**
 * Encoding and decoding of the narrow float formats ONNX uses: float16, bfloat16, the four
 * float8 kinds (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ), float8e8m0 and float4e2m1. All encoders
 * round to nearest, ties to even, as the ONNX Cast operator specifies.
 *
 * @module
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f16 = new Float16Array(1);
const u16 = new Uint16Array(f16.buffer);

/** Decodes float16 bits to a number. */
export function float16ToNumber(bits: number): number {
  u16[0] = bits;
  return f16[0];
}

/** Encodes a number as float16 bits (round to nearest even; overflow gives ±Inf). */
export function numberToFloat16(x: number): number {
  f16[0] = x;
  return u16[0];
}

/** Decodes bfloat16 bits to a number. */
export function bfloat16ToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** Encodes a number as bfloat16 bits (round to nearest even; NaN stays NaN). */
export function numberToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(x)) return ((b >>> 16) & 0x8000) | 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Parameters of a sign/exponent/mantissa minifloat format. */
interface MiniFloat {
  expBits: number;
  manBits: number;
  bias: number;
  /** Largest finite code (positive). */
  maxCode: number;
  /** Code of +Inf, when the format has infinities. */
  infCode?: number;
  /** Code of NaN (positive sign where a sign exists). */
  nanCode: number;
  /** Formats without negative zero (FNUZ): -0 encodes as 0 and NaN is 0x80. */
  unsignedZero: boolean;
  /** Total bits (8 or 4). */
  bits: number;
}

const FORMATS: Record<string, MiniFloat> = {
  float8e4m3fn: {
    expBits: 4,
    manBits: 3,
    bias: 7,
    maxCode: 0x7e,
    nanCode: 0x7f,
    unsignedZero: false,
    bits: 8,
  },
  float8e4m3fnuz: {
    expBits: 4,
    manBits: 3,
    bias: 8,
    maxCode: 0x7f,
    nanCode: 0x80,
    unsignedZero: true,
    bits: 8,
  },
  float8e5m2: {
    expBits: 5,
    manBits: 2,
    bias: 15,
    maxCode: 0x7b,
    infCode: 0x7c,
    nanCode: 0x7e,
    unsignedZero: false,
    bits: 8,
  },
  float8e5m2fnuz: {
    expBits: 5,
    manBits: 2,
    bias: 16,
    maxCode: 0x7f,
    nanCode: 0x80,
    unsignedZero: true,
    bits: 8,
  },
  float4e2m1: {
    expBits: 2,
    manBits: 1,
    bias: 1,
    maxCode: 0x7,
    nanCode: 0x7,
    unsignedZero: false,
    bits: 4,
  },
};

/** The narrow float formats handled by {@link encodeMiniFloat} and {@link decodeMiniFloat}. */
export type MiniFloatType =
  | "float8e4m3fn"
  | "float8e4m3fnuz"
  | "float8e5m2"
  | "float8e5m2fnuz"
  | "float4e2m1";

function decodeWith(fmt: MiniFloat, code: number): number {
  const signBit = 1 << (fmt.bits - 1);
  if (fmt.unsignedZero && code === 0x80) return NaN;
  const sign = code & signBit ? -1 : 1;
  const mag = code & (signBit - 1);
  if (fmt.infCode !== undefined) {
    if (mag === fmt.infCode) return sign * Infinity;
    if (mag > fmt.infCode) return NaN;
  } else if (!fmt.unsignedZero && fmt.bits === 8 && mag === fmt.nanCode) {
    return NaN;
  }
  const e = mag >> fmt.manBits;
  const m = mag & ((1 << fmt.manBits) - 1);
  if (e === 0) return sign * m * 2 ** (1 - fmt.bias - fmt.manBits);
  return sign * (1 + m / (1 << fmt.manBits)) * 2 ** (e - fmt.bias);
}

const decodeTables = new Map<string, Float32Array>();

/** Returns the table of decoded values of every code of a narrow float format. */
export function miniFloatTable(type: MiniFloatType): Float32Array {
  let t = decodeTables.get(type);
  if (!t) {
    const fmt = FORMATS[type];
    t = new Float32Array(1 << fmt.bits);
    for (let c = 0; c < t.length; c++) t[c] = decodeWith(fmt, c);
    decodeTables.set(type, t);
  }
  return t;
}

/** Decodes one code of a narrow float format. */
export function decodeMiniFloat(type: MiniFloatType, code: number): number {
  return miniFloatTable(type)[code & ((1 << FORMATS[type].bits) - 1)];
}

function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Encodes a number in a narrow float format, rounding to nearest even. With `saturate`
 * (Cast's default), values beyond the largest finite value, infinities included, become
 * ±max; without it they become Inf where the format has one, else NaN.
 */
export function encodeMiniFloat(type: MiniFloatType, x: number, saturate = true): number {
  const fmt = FORMATS[type];
  const signBit = 1 << (fmt.bits - 1);
  // float4e2m1 has neither NaN nor Inf: NaN encodes as 0x8 (as ml_dtypes does) and every
  // overflow saturates.
  const alwaysSaturate = type === "float4e2m1";
  if (Number.isNaN(x)) return alwaysSaturate ? 0x8 : fmt.nanCode;
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const sign = negative ? signBit : 0;
  const overflow = (): number => {
    if (saturate || alwaysSaturate) return fmt.maxCode | sign;
    if (fmt.infCode !== undefined) return fmt.infCode | sign;
    return fmt.unsignedZero ? fmt.nanCode : fmt.nanCode | sign;
  };
  if (a === Infinity) return overflow();
  let mag: number;
  const minNormal = 2 ** (1 - fmt.bias);
  if (a < minNormal) {
    mag = roundHalfEven(a / 2 ** (1 - fmt.bias - fmt.manBits));
  } else {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    let r = roundHalfEven((a / 2 ** e - 1) * (1 << fmt.manBits));
    if (r === 1 << fmt.manBits) {
      r = 0;
      e++;
    }
    const biased = e + fmt.bias;
    mag = biased >= 1 << fmt.expBits ? Infinity : (biased << fmt.manBits) | r;
  }
  if (mag > fmt.maxCode) return overflow();
  if (mag === 0 && fmt.unsignedZero) return 0;
  return mag | sign;
}

/** Rounding used when encoding float8e8m0 (Cast's `round_mode`). */
export type E8M0Rounding = "up" | "down" | "nearest";

/** Decodes a float8e8m0 code: 2^(code-127), 0xFF is NaN. */
export function decodeE8M0(code: number): number {
  return code === 0xff ? NaN : 2 ** (code - 127);
}

/**
 * Encodes a number as float8e8m0 (a power of two, no sign). NaN, Inf and values beyond
 * 2^127 give NaN without `saturate` and the largest/smallest code with it.
 */
export function encodeE8M0(x: number, saturate = true, round: E8M0Rounding = "up"): number {
  if (Number.isNaN(x)) return 0xff;
  const a = Math.abs(x);
  if (a === Infinity) return saturate ? 0xfe : 0xff;
  if (a === 0) return 0;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const exact = 2 ** e === a;
  if (!exact) {
    if (round === "up") e++;
    else if (round === "nearest") {
      // Halfway between 2^e and 2^(e+1) in value is 1.5 * 2^e; ties go up.
      if (a >= 1.5 * 2 ** e) e++;
    }
  }
  let code = e + 127;
  if (code < 0) code = 0;
  if (code > 0xfe) return saturate ? 0xfe : 0xff;
  return code;
}
