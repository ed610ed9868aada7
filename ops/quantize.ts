/**
 * Linear quantization: QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, plus the
 * numeric helpers the quantized kernels (qlinear.ts, contrib.ts) share: round half to even,
 * saturation ranges, per-tensor / per-axis / blocked parameter layouts and the float32
 * requantization step onnxruntime uses.
 *
 * Rounding is round-half-to-even and saturation clamps to the target's range, as the spec
 * says. The division `x / y_scale` runs in the precision NumPy's reference gives it (the
 * common type of `x` and `y_scale`, float64 when either is int32) unless the `precision`
 * attribute (opset 23+) names one.
 *
 * @module
 */

import {
  type DataType,
  dataTypeFromCode,
  integerRange,
  type NumericArray,
} from "../pipeline/tensor/dtype.ts";
import {
  bfloat16ToNumber,
  encodeMiniFloat,
  float16ToNumber,
  type MiniFloatType,
  numberToBfloat16,
  numberToFloat16,
} from "../pipeline/tensor/float.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { minMaxWasm, quantizeU8Wasm } from "../pipeline/run/cpu/wasm/vector.ts";
import {
  alloc,
  numbersOf,
  optionalTensorAt,
  shapeSize,
  tensorAt,
  tensorFromComputed,
} from "./util.ts";

// ---------------------------------------------------------------------------------------------
// Shared numeric helpers
// ---------------------------------------------------------------------------------------------

/** Rounds to the nearest integer, ties to even (NaN and infinities pass through). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds ties up; pull exact ties that landed on an odd number back down.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The integer types quantized tensors use (8/16-bit, 4-bit and 2-bit, signed and unsigned). */
const INT_QUANT = new Set<DataType>([
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int4",
  "uint4",
  "int2",
  "uint2",
]);

/** The float8 kinds QuantizeLinear targets with `saturate`. */
const FLOAT8 = new Set<DataType>([
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
]);

/** True for the four float8 kinds (not float8e8m0). */
export function isFloat8(type: DataType): boolean {
  return FLOAT8.has(type);
}

/**
 * Saturating round of `v` into an integer type with zero point `zp`: round half to even,
 * add the zero point, clamp to the type's range. NaN becomes the range's minimum (what
 * onnxruntime and the NumPy reference give).
 */
export function saturateRound(v: number, zp: number, lo: number, hi: number): number {
  if (v !== v) return lo;
  const q = roundHalfEven(v) + zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/**
 * onnxruntime's requantization of an int32 accumulator (MlasRequantizeOutput): the sum is
 * converted to float32, multiplied by the float32 scale, clamped to the range shifted by the
 * zero point, rounded half to even and shifted back.
 */
export function requantize(acc: number, scale: number, zp: number, lo: number, hi: number): number {
  const v = Math.fround(Math.fround(acc) * scale);
  return saturateRound(v, zp, lo, hi);
}

/** Rounding of a computed value to a float precision. */
export type Precision = "float64" | "float32" | "float16" | "bfloat16";

/** Rounds `v` to `p` (float64 leaves it as is). */
export function roundTo(p: Precision, v: number): number {
  switch (p) {
    case "float32":
      return Math.fround(v);
    case "float16":
      return float16ToNumber(numberToFloat16(v));
    case "bfloat16":
      return bfloat16ToNumber(numberToBfloat16(v));
    default:
      return v;
  }
}

/** The precision a stored float type computes in (int32 and others: float64). */
export function precisionOf(type: DataType): Precision {
  if (type === "float32" || type === "float16" || type === "bfloat16") return type;
  if (type === "float8e8m0") return "float32";
  return "float64";
}

/** NumPy's result precision for an operation between an `a` and a `b` array. */
export function commonPrecision(a: DataType, b: DataType): Precision {
  if (a === "int32" || b === "int32" || a === "float64" || b === "float64") return "float64";
  const pa = precisionOf(a), pb = precisionOf(b);
  return pa === pb ? pa : "float32";
}

/**
 * How scale/zero-point elements map onto the elements of the quantized tensor: one for all
 * (per-tensor), one per index of `axis` (per-axis), or one per block of `block` indices along
 * `axis` (blocked, the scale having the input's shape with that dim divided).
 */
export interface QuantLayout {
  /** Granularity. */
  kind: "tensor" | "axis" | "block";
  /** Product of the dims before the axis. */
  outer: number;
  /** Length of the axis. */
  axisLen: number;
  /** Product of the dims after the axis. */
  inner: number;
  /** Block size (blocked only). */
  block: number;
  /** Length of the scale's axis (blocked only). */
  scaleAxisLen: number;
}

/**
 * Works out the layout of `scale` against a tensor of `dims` (spec: a scalar or a single
 * element is per-tensor, a 1-D tensor is per-axis, `blockSize > 0` is blocked). Throws a
 * message naming the mismatch.
 */
export function quantLayout(
  ctx: OpContext,
  dims: readonly number[],
  scale: Tensor,
  axisAttr: number,
  blockSize: number,
): QuantLayout {
  const rank = dims.length;
  if (scale.size === 1) {
    return { kind: "tensor", outer: 1, axisLen: 1, inner: 1, block: 0, scaleAxisLen: 1 };
  }
  if (axisAttr < -rank || axisAttr >= rank) {
    throw ctx.fail(`axis ${axisAttr} is out of range for an input of rank ${rank}`);
  }
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const outer = shapeSize(dims.slice(0, axis));
  const inner = shapeSize(dims.slice(axis + 1));
  const axisLen = dims[axis];
  if (blockSize <= 0) {
    if (scale.dims.length !== 1 || scale.dims[0] !== axisLen) {
      throw ctx.fail(
        `per-axis scale must be 1-D of length ${axisLen} (dim ${axis} of [${dims}]), got [${scale.dims}]`,
      );
    }
    return { kind: "axis", outer, axisLen, inner, block: 0, scaleAxisLen: axisLen };
  }
  const sd = scale.dims;
  const ok = sd.length === rank && sd.every((d, i) => i === axis || d === dims[i]);
  const S = ok ? sd[axis] : -1;
  if (!ok || Math.ceil(axisLen / blockSize) !== S) {
    throw ctx.fail(
      `blocked scale [${sd}] does not fit input [${dims}] with block_size ${blockSize} on axis ${axis}`,
    );
  }
  return { kind: "block", outer, axisLen, inner, block: blockSize, scaleAxisLen: S };
}

/** For each element of the quantized tensor, the index of its scale/zero point. */
export function layoutIndex(l: QuantLayout): Int32Array | undefined {
  if (l.kind === "tensor") return undefined;
  const out = new Int32Array(l.outer * l.axisLen * l.inner);
  let i = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let a = 0; a < l.axisLen; a++) {
      const base = l.kind === "axis" ? a : (o * l.scaleAxisLen + Math.floor(a / l.block)) * l.inner;
      if (l.kind === "axis") {
        out.fill(base, i, i + l.inner);
        i += l.inner;
      } else {
        for (let j = 0; j < l.inner; j++) out[i++] = base + j;
      }
    }
  }
  return out;
}

/** Checks that `zp` has the scale's shape. */
function checkZeroPointShape(ctx: OpContext, scale: Tensor, zp: Tensor | undefined): void {
  if (!zp) return;
  if (zp.size !== scale.size || (zp.size !== 1 && zp.dims.join() !== scale.dims.join())) {
    throw ctx.fail(`zero point shape [${zp.dims}] differs from scale shape [${scale.dims}]`);
  }
}

/** Reads a scalar-or-single-element quantization parameter as a number (0 when absent). */
export function scalarParam(ctx: OpContext, t: Tensor | undefined, name: string): number {
  if (!t) return 0;
  if (t.size !== 1) throw ctx.fail(`${name} must be a scalar, got shape [${t.dims}]`);
  return numbersOf(t)[0];
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear
// ---------------------------------------------------------------------------------------------

const Q_INPUT = new Set<DataType>(["float32", "float16", "bfloat16", "int32"]);
const Q_OUTPUT_BY_VERSION: [number, DataType[]][] = [
  [10, ["int8", "uint8"]],
  [19, ["int8", "uint8", ...FLOAT8]],
  [21, ["int8", "uint8", "int16", "uint16", ...FLOAT8, "int4", "uint4"]],
  [23, ["int8", "uint8", "int16", "uint16", ...FLOAT8, "int4", "uint4", "float4e2m1"]],
  [25, [
    "int8",
    "uint8",
    "int16",
    "uint16",
    ...FLOAT8,
    "int4",
    "uint4",
    "float4e2m1",
    "int2",
    "uint2",
  ]],
];

function allowedFor(table: [number, DataType[]][], version: number): DataType[] {
  let out = table[0][1];
  for (const [v, list] of table) if (v <= version) out = list;
  return out;
}

/** The output type of QuantizeLinear: y_zero_point's type, else output_dtype, else uint8. */
function quantizeOutType(
  ctx: { version: number; attrs: OpContext["attrs"] },
  zpType: DataType | undefined,
  fail: (m: string) => void,
): DataType | undefined {
  const code = ctx.version >= 21 ? ctx.attrs.int("output_dtype", 0) : 0;
  const fromAttr = code !== 0 ? dataTypeFromCode(code) : undefined;
  if (code !== 0 && !fromAttr) fail(`output_dtype ${code} is not a known element type`);
  if (zpType) {
    if (fromAttr && fromAttr !== zpType) {
      fail(`output_dtype ${fromAttr} does not match y_zero_point's type ${zpType}`);
    }
    return zpType;
  }
  return fromAttr ?? "uint8";
}

function precisionAttr(ctx: OpContext | InferContext): Precision | undefined {
  if (ctx.version < 23) return undefined;
  const code = ctx.attrs.int("precision", 0);
  if (code === 0) return undefined;
  const t = dataTypeFromCode(code);
  if (t === "float32" || t === "float16" || t === "bfloat16" || t === "float64") return t;
  throw new RangeError(`precision ${t ?? code} is not a float type`);
}

const quantizeCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const scale = tensorAt(ctx, inputs, 1);
  const zp = optionalTensorAt(ctx, inputs, 2);
  if (!Q_INPUT.has(x.type)) {
    throw ctx.unsupported(`QuantizeLinear does not accept ${x.type} x`, x.type);
  }
  const scaleTypes = ctx.version >= 23
    ? ["float32", "float16", "bfloat16", "int32", ...(ctx.version >= 24 ? ["float8e8m0"] : [])]
    : ctx.version >= 19
    ? [x.type]
    : ["float32"];
  if (!scaleTypes.includes(scale.type)) {
    throw ctx.unsupported(
      `QuantizeLinear does not accept a ${scale.type} y_scale here`,
      scale.type,
    );
  }
  const outType = quantizeOutType(ctx, zp?.type, (m) => {
    throw ctx.fail(m);
  })!;
  if (!allowedFor(Q_OUTPUT_BY_VERSION, ctx.version).includes(outType)) {
    throw ctx.unsupported(`QuantizeLinear-${ctx.version} cannot produce ${outType}`, outType);
  }
  const blockSize = ctx.version >= 21 ? ctx.attrs.int("block_size", 0) : 0;
  if (blockSize < 0) throw ctx.fail(`block_size must be positive, got ${blockSize}`);
  if (ctx.version < 13 && scale.size !== 1) {
    throw ctx.fail(`QuantizeLinear-${ctx.version} needs a scalar y_scale, got [${scale.dims}]`);
  }
  const layout = quantLayout(ctx, x.dims, scale, ctx.attrs.int("axis", 1), blockSize);
  checkZeroPointShape(ctx, scale, zp);
  let prec: Precision;
  try {
    prec = precisionAttr(ctx) ?? commonPrecision(x.type, scale.type);
  } catch (e) {
    throw ctx.unsupported((e as Error).message);
  }
  const explicit = precisionAttr(ctx) !== undefined;
  const xs = numbersOf(x);
  const ss = numbersOf(scale);
  const zs = zp ? numbersOf(zp) : undefined;
  const idx = layoutIndex(layout);
  const n = x.size;
  const out = alloc(outType, n) as NumericArray;
  // q(i) = x[i] / scale[p] in the chosen precision (operands converted to it when explicit).
  const quot = (i: number, p: number): number => {
    const a = explicit ? roundTo(prec, xs[i]) : xs[i];
    const b = explicit ? roundTo(prec, ss[p]) : ss[p];
    return roundTo(prec, a / b);
  };
  if (INT_QUANT.has(outType)) {
    const [lo, hi] = integerRange(outType);
    if (!idx && prec === "float32" && !explicit) {
      const s = ss[0], z = zs ? zs[0] : 0;
      for (let i = 0; i < n; i++) out[i] = saturateRound(Math.fround(xs[i] / s), z, lo, hi);
    } else {
      for (let i = 0; i < n; i++) {
        const p = idx ? idx[i] : 0;
        out[i] = saturateRound(quot(i, p), zs ? zs[p] : 0, lo, hi);
      }
    }
    return [new Tensor(outType, out, x.dims)];
  }
  // float8 / float4 targets.
  const saturate = ctx.version >= 19 ? ctx.attrs.int("saturate", 1) !== 0 : true;
  const mini = outType as MiniFloatType;
  const addZp = outType === "float4e2m1";
  for (let i = 0; i < n; i++) {
    const p = idx ? idx[i] : 0;
    let v = quot(i, p);
    if (addZp) v += zs ? zs[p] : 0;
    else if (zs && zs[p] !== 0) v += zs[p];
    out[i] = encodeMiniFloat(mini, v, saturate);
  }
  return [new Tensor(outType, out, x.dims)];
};

function quantizeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  const zp = ctx.hasInput(2) ? ctx.input(2) : undefined;
  const zpType = zp?.kind === "tensor" ? zp.elemType : undefined;
  const unknownZp = ctx.hasInput(2) && !zpType;
  const elemType = unknownZp ? undefined : quantizeOutType(ctx, zpType, (m) => ctx.error(m));
  return [{ kind: "tensor", elemType, shape: x?.kind === "tensor" ? x.shape : undefined }];
}

// ---------------------------------------------------------------------------------------------
// DequantizeLinear
// ---------------------------------------------------------------------------------------------

const DQ_INPUT_BY_VERSION: [number, DataType[]][] = [
  [10, ["int8", "uint8", "int32"]],
  [19, ["int8", "uint8", "int32", ...FLOAT8]],
  [21, ["int8", "uint8", "int16", "uint16", "int32", ...FLOAT8, "uint4", "int4"]],
  [23, ["int8", "uint8", "int16", "uint16", "int32", ...FLOAT8, "uint4", "int4", "float4e2m1"]],
  [25, [
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    ...FLOAT8,
    "uint4",
    "int4",
    "float4e2m1",
    "uint2",
    "int2",
  ]],
];

const FLOAT_OUT = new Set<DataType>(["float32", "float16", "bfloat16"]);

/** DequantizeLinear's output type: output_dtype (23+), else x_scale's type (19+), else float32. */
function dequantizeOutType(
  ctx: { version: number; attrs: OpContext["attrs"] },
  scaleType: DataType | undefined,
): DataType | undefined {
  const code = ctx.version >= 23 ? ctx.attrs.int("output_dtype", 0) : 0;
  if (code !== 0) return dataTypeFromCode(code);
  if (ctx.version < 19) return "float32";
  return scaleType;
}

const dequantizeCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const scale = tensorAt(ctx, inputs, 1);
  const zp = optionalTensorAt(ctx, inputs, 2);
  if (!allowedFor(DQ_INPUT_BY_VERSION, ctx.version).includes(x.type)) {
    throw ctx.unsupported(`DequantizeLinear-${ctx.version} does not accept ${x.type} x`, x.type);
  }
  const scaleOk = ctx.version >= 19
    ? FLOAT_OUT.has(scale.type) || (ctx.version >= 24 && scale.type === "float8e8m0")
    : scale.type === "float32";
  if (!scaleOk) {
    throw ctx.unsupported(
      `DequantizeLinear does not accept a ${scale.type} x_scale here`,
      scale.type,
    );
  }
  const outType = dequantizeOutType(ctx, scale.type);
  if (!outType || !FLOAT_OUT.has(outType)) {
    throw ctx.fail(
      `the output type ${outType ?? "(unknown)"} is not float, float16 or bfloat16` +
        (scale.type === "float8e8m0" ? " (set output_dtype with a float8e8m0 x_scale)" : ""),
    );
  }
  const floatX = isFloat8(x.type) || x.type === "float4e2m1";
  if (zp && !floatX && zp.type !== x.type) {
    throw ctx.fail(`x_zero_point is ${zp.type} but x is ${x.type}`);
  }
  const blockSize = ctx.version >= 21 ? ctx.attrs.int("block_size", 0) : 0;
  if (blockSize < 0) throw ctx.fail(`block_size must be positive, got ${blockSize}`);
  if (ctx.version < 13 && scale.size !== 1) {
    throw ctx.fail(`DequantizeLinear-${ctx.version} needs a scalar x_scale, got [${scale.dims}]`);
  }
  const layout = quantLayout(ctx, x.dims, scale, ctx.attrs.int("axis", 1), blockSize);
  checkZeroPointShape(ctx, scale, zp);
  const xs = numbersOf(x);
  const ss = numbersOf(scale);
  // float8/float4 inputs carry their value; their zero point is 0 by definition.
  const zs = zp && !floatX ? numbersOf(zp) : undefined;
  const idx = layoutIndex(layout);
  const n = x.size;
  const y = new Float32Array(n);
  // As onnxruntime: the difference is converted to float32, then multiplied in float32.
  if (!idx) {
    const s = ss[0], z = zs ? zs[0] : 0;
    for (let i = 0; i < n; i++) y[i] = Math.fround(xs[i] - z) * s;
  } else {
    for (let i = 0; i < n; i++) {
      const p = idx[i];
      y[i] = Math.fround(xs[i] - (zs ? zs[p] : 0)) * ss[p];
    }
  }
  return [tensorFromComputed(outType, y, x.dims)];
};

function dequantizeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  const s = ctx.input(1);
  const elemType = dequantizeOutType(ctx, s?.kind === "tensor" ? s.elemType : undefined);
  if (elemType && !FLOAT_OUT.has(elemType)) {
    ctx.error(`the output type ${elemType} is not float, float16 or bfloat16`);
  }
  return [{ kind: "tensor", elemType, shape: x?.kind === "tensor" ? x.shape : undefined }];
}

// ---------------------------------------------------------------------------------------------
// DynamicQuantizeLinear
// ---------------------------------------------------------------------------------------------

const dynamicQuantizeCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  if (x.type !== "float32") {
    throw ctx.unsupported(`DynamicQuantizeLinear does not accept ${x.type} x`, x.type);
  }
  const xs = x.data as Float32Array;
  let mn = 0, mx = 0;
  const range = minMaxWasm(xs);
  if (range) [mn, mx] = range;
  else {
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i];
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
  }
  // The adjusted range contains 0; it is empty only when every element is 0, and the scale
  // is then 1 (zero point 0, y all 0).
  const scale = mx === mn ? 1 : Math.fround(Math.fround(mx - mn) / 255);
  const zpF = Math.fround(0 - Math.fround(mn / scale));
  const zp = roundHalfEven(zpF < 0 ? 0 : zpF > 255 ? 255 : zpF);
  const y = new Uint8Array(xs.length);
  if (!quantizeU8Wasm(xs, y, scale, zp)) {
    for (let i = 0; i < xs.length; i++) {
      y[i] = saturateRound(Math.fround(xs[i] / scale), zp, 0, 255);
    }
  }
  return [
    new Tensor("uint8", y, x.dims),
    new Tensor("float32", Float32Array.of(scale), []),
    new Tensor("uint8", Uint8Array.of(zp), []),
  ];
};

function dynamicQuantizeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  return [
    { kind: "tensor", elemType: "uint8", shape: x?.kind === "tensor" ? x.shape : undefined },
    { kind: "tensor", elemType: "float32", shape: [] },
    { kind: "tensor", elemType: "uint8", shape: [] },
  ];
}

/** The quantization family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "QuantizeLinear",
    versions: [10, 13, 19, 21, 23, 24, 25],
    cpu: quantizeCpu,
    infer: quantizeInfer,
  },
  {
    domain: "",
    opType: "DequantizeLinear",
    versions: [10, 13, 19, 21, 23, 24, 25],
    cpu: dequantizeCpu,
    infer: dequantizeInfer,
  },
  {
    domain: "",
    opType: "DynamicQuantizeLinear",
    versions: [11],
    cpu: dynamicQuantizeCpu,
    infer: dynamicQuantizeInfer,
  },
];
