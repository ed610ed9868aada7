/**
 * Elementwise operators from one table: unary math and activations, binary arithmetic,
 * comparison, logic and bitwise ops, the variadic Sum/Min/Max/Mean, Where and Clip.
 * Each row gives the number function, the bigint function for int64/uint64 where the op
 * applies to them, and the WGSL expression used by the WebGPU backend.
 *
 * @module
 */

import {
  type BigArray,
  type DataType,
  isBig,
  isPackedFloat,
  type NumericArray,
  type TensorData,
} from "../pipeline/tensor/dtype.ts";
import { dataToNumbers, fromNumbers, Tensor } from "../pipeline/tensor/tensor.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import { alloc, broadcastOffsets, broadcastShapes, shapeSize, tensorAt } from "./util.ts";
import { clipWasm, reluWasm } from "../pipeline/run/cpu/wasm/vector.ts";
import { broadcastArith, isArithOp } from "../pipeline/run/cpu/broadcast.ts";

type NumFn = (x: number) => number;
type BigFn = (x: bigint) => bigint;
type NumFn2 = (a: number, b: number) => number;
type BigFn2 = (a: bigint, b: bigint) => bigint;

const FLOAT_TYPES = new Set<DataType>([
  "float32",
  "float64",
  "float16",
  "bfloat16",
]);
const SIGNED_INT = new Set<DataType>(["int8", "int16", "int32", "int64"]);
const UNSIGNED_INT = new Set<DataType>(["uint8", "uint16", "uint32", "uint64"]);

/** Which element types a row accepts. */
type TypeClass = "float" | "signed" | "numeric" | "bool" | "int" | "uint" | "any";

function accepts(cls: TypeClass, t: DataType): boolean {
  switch (cls) {
    case "float":
      return FLOAT_TYPES.has(t);
    case "signed":
      return FLOAT_TYPES.has(t) || SIGNED_INT.has(t);
    case "numeric":
      return FLOAT_TYPES.has(t) || SIGNED_INT.has(t) || UNSIGNED_INT.has(t);
    case "int":
      return SIGNED_INT.has(t) || UNSIGNED_INT.has(t);
    case "uint":
      return UNSIGNED_INT.has(t);
    case "bool":
      return t === "bool";
    case "any":
      return true;
  }
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction to ~1e-15.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc continued fraction (Lentz) for large |x|.
  const z = ax;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = z + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** Exported for kernels elsewhere (Gelu, LayerNorm fusions). */
export { erf };

/** Cubic Hermite table of erf(t)/t on [0, 6]: value and derivative at every 1/128. */
let erfTable: Float64Array | undefined;
const ERF_STEPS = 128;

function buildErfTable(): Float64Array {
  const tab = new Float64Array(2 * (6 * ERF_STEPS + 2));
  const c = 2 / Math.sqrt(Math.PI);
  for (let i = 0; i <= 6 * ERF_STEPS + 1; i++) {
    const t = i / ERF_STEPS;
    // g(t) = erf(t)/t and g'(t) = (t·erf'(t) − erf(t))/t², with g(0) = 2/√π, g'(0) = 0.
    const e = erf(t);
    tab[2 * i] = i === 0 ? c : e / t;
    tab[2 * i + 1] = i === 0 ? 0 : (t * c * Math.exp(-t * t) - e) / (t * t) / ERF_STEPS;
  }
  return tab;
}

/**
 * erf to about 1e-10 relative (x times a cubic Hermite interpolation of the smooth even
 * function erf(t)/t, branch-free on the sign): for float32 results, well under a float32 ulp.
 */
function erfFast(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < 6)) return x !== x ? x : x < 0 ? -1 : 1;
  const tab = erfTable ??= buildErfTable();
  const t = ax * ERF_STEPS;
  const i = t | 0;
  const u = t - i;
  const v0 = tab[2 * i], m0 = tab[2 * i + 1], v1 = tab[2 * i + 2], m1 = tab[2 * i + 3];
  const u2 = u * u, u3 = u2 * u;
  return x * ((2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0 + (3 * u2 - 2 * u3) * v1 +
    (u3 - u2) * m1);
}

function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** A unary row: the op, its accepted types, and its function (possibly using attributes). */
interface UnaryRow {
  op: string;
  types: TypeClass;
  f: (ctx: OpContext) => NumFn;
  big?: BigFn;
  out?: "bool";
  wgsl?: string;
  domain?: string;
}

const abs = (x: number) => Math.abs(x);

/** The unary table. */
export const UNARY: readonly UnaryRow[] = [
  { op: "Abs", types: "numeric", f: () => abs, big: (x) => (x < 0n ? -x : x), wgsl: "abs(x)" },
  { op: "Neg", types: "signed", f: () => (x) => -x, big: (x) => -x, wgsl: "-x" },
  { op: "Floor", types: "float", f: () => Math.floor, wgsl: "floor(x)" },
  { op: "Ceil", types: "float", f: () => Math.ceil, wgsl: "ceil(x)" },
  { op: "Round", types: "float", f: () => roundHalfEven, wgsl: "round(x)" },
  { op: "Sqrt", types: "float", f: () => Math.sqrt, wgsl: "sqrt(x)" },
  { op: "Exp", types: "float", f: () => Math.exp, wgsl: "exp(x)" },
  { op: "Log", types: "float", f: () => Math.log, wgsl: "log(x)" },
  { op: "Reciprocal", types: "float", f: () => (x) => 1 / x, wgsl: "1.0 / x" },
  {
    op: "Sigmoid",
    types: "float",
    f: () => (x) => x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)),
    wgsl: "1.0 / (1.0 + exp(-x))",
  },
  { op: "Tanh", types: "float", f: () => Math.tanh, wgsl: "tanh(x)" },
  {
    op: "Relu",
    types: "signed",
    f: () => (x) => (x > 0 ? x : (x === 0 || x < 0 ? 0 : x)),
    big: (x) => (x > 0n ? x : 0n),
    wgsl: "max(x, 0.0)",
  },
  {
    op: "Sign",
    types: "numeric",
    f: () => (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
    big: (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n),
    wgsl: "sign(x)",
  },
  { op: "Erf", types: "numeric", f: () => erf },
  { op: "Sin", types: "float", f: () => Math.sin, wgsl: "sin(x)" },
  { op: "Cos", types: "float", f: () => Math.cos, wgsl: "cos(x)" },
  { op: "Tan", types: "float", f: () => Math.tan, wgsl: "tan(x)" },
  { op: "Asin", types: "float", f: () => Math.asin, wgsl: "asin(x)" },
  { op: "Acos", types: "float", f: () => Math.acos, wgsl: "acos(x)" },
  { op: "Atan", types: "float", f: () => Math.atan, wgsl: "atan(x)" },
  { op: "Sinh", types: "float", f: () => Math.sinh, wgsl: "sinh(x)" },
  { op: "Cosh", types: "float", f: () => Math.cosh, wgsl: "cosh(x)" },
  { op: "Asinh", types: "float", f: () => Math.asinh, wgsl: "asinh(x)" },
  { op: "Acosh", types: "float", f: () => Math.acosh, wgsl: "acosh(x)" },
  { op: "Atanh", types: "float", f: () => Math.atanh, wgsl: "atanh(x)" },
  {
    op: "Softplus",
    types: "float",
    f: () => (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
    wgsl: "log(1.0 + exp(x))",
  },
  {
    op: "Softsign",
    types: "float",
    f: () => (x) => x / (1 + Math.abs(x)),
    wgsl: "x / (1.0 + abs(x))",
  },
  {
    op: "Elu",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 1);
      return (x) => (x >= 0 ? x : a * (Math.exp(x) - 1));
    },
  },
  {
    op: "Selu",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 1.67326319217681884765625);
      const g = ctx.attrs.float("gamma", 1.05070102214813232421875);
      return (x) => (x > 0 ? g * x : g * a * (Math.exp(x) - 1));
    },
  },
  {
    op: "LeakyRelu",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 0.01);
      return (x) => (x >= 0 ? x : a * x);
    },
  },
  {
    op: "HardSigmoid",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 0.2);
      const b = ctx.attrs.float("beta", 0.5);
      return (x) => Math.max(0, Math.min(1, a * x + b));
    },
  },
  {
    op: "HardSwish",
    types: "float",
    f: () => (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
  },
  {
    op: "ThresholdedRelu",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 1);
      return (x) => (x > a ? x : 0);
    },
  },
  {
    op: "Celu",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 1);
      return (x) => Math.max(0, x) + Math.min(0, a * (Math.exp(x / a) - 1));
    },
  },
  {
    op: "Mish",
    types: "float",
    f: () => (x) => x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x))),
  },
  {
    op: "Shrink",
    types: "numeric",
    f: (ctx) => {
      const l = ctx.attrs.float("lambd", 0.5);
      const b = ctx.attrs.float("bias", 0);
      return (x) => (x < -l ? x + b : x > l ? x - b : 0);
    },
  },
  {
    op: "Gelu",
    types: "float",
    f: (ctx) => {
      const approx = ctx.attrs.string("approximate", "none");
      if (approx === "tanh") {
        const k = Math.sqrt(2 / Math.PI);
        return (x) => 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x * x * x)));
      }
      if (approx !== "none") throw ctx.fail(`unknown approximate "${approx}"`);
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    },
  },
  {
    op: "Swish",
    types: "float",
    f: (ctx) => {
      const a = ctx.attrs.float("alpha", 1);
      return (x) => x / (1 + Math.exp(-a * x));
    },
  },
  { op: "Not", types: "bool", f: () => (x) => (x ? 0 : 1), wgsl: "!x" },
  { op: "IsNaN", types: "float", f: () => (x) => (Number.isNaN(x) ? 1 : 0), out: "bool" },
  {
    op: "IsInf",
    types: "float",
    f: (ctx) => {
      const neg = ctx.attrs.int("detect_negative", 1);
      const pos = ctx.attrs.int("detect_positive", 1);
      return (x) => ((x === Infinity && pos) || (x === -Infinity && neg) ? 1 : 0);
    },
    out: "bool",
  },
  { op: "BitwiseNot", types: "int", f: () => (x) => ~x, big: (x) => ~x },
];

function unaryKernel(row: UnaryRow): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    if (!accepts(row.types, x.type) && !(row.types === "float" && isPackedFloat(x.type))) {
      throw ctx.unsupported(`${row.op} does not accept ${x.type}`, x.type);
    }
    const outType: DataType = row.out ?? x.type;
    const n = x.size;
    if (isBig(x.type) && row.out === undefined) {
      if (!row.big) throw ctx.unsupported(`${row.op} does not accept ${x.type}`, x.type);
      const src = x.data as BigArray;
      const out = alloc(x.type, n) as BigArray;
      const g = row.big;
      for (let i = 0; i < n; i++) out[i] = g(src[i]);
      return [new Tensor(outType, out, x.dims)];
    }
    if (row.op === "Erf" && x.type === "float32") {
      const src = x.data as Float32Array;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = erfFast(src[i]);
      return [new Tensor(outType, out, x.dims)];
    }
    if (
      row.op === "Gelu" && x.type === "float32" &&
      ctx.attrs.string("approximate", "none") === "none"
    ) {
      const src = x.data as Float32Array;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        const z = v / Math.SQRT2;
        // Below −2, 1 + erf(z) < 0.005 cancels: the series keeps its relative accuracy.
        out[i] = 0.5 * v * (1 + (z < -2 ? erf(z) : erfFast(z)));
      }
      return [new Tensor(outType, out, x.dims)];
    }
    if (row.op === "Relu" && x.type === "float32") {
      // Branch-free SIMD (the select below mispredicts on mixed signs).
      const out = new Float32Array(n);
      if (reluWasm(x.data as Float32Array, out)) return [new Tensor(outType, out, x.dims)];
    }
    const f = row.f(ctx);
    if (x.type === "uint32" && row.op === "BitwiseNot") {
      const src = x.data as Uint32Array;
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = ~src[i] >>> 0;
      return [new Tensor(outType, out, x.dims)];
    }
    const src = dataToNumbers(x.type, x.data);
    if (!isPackedFloat(outType) && !isBig(outType)) {
      const out = alloc(outType, n) as NumericArray;
      for (let i = 0; i < n; i++) out[i] = f(src[i]);
      return [new Tensor(outType, out, x.dims)];
    }
    const tmp = new Float64Array(n);
    for (let i = 0; i < n; i++) tmp[i] = f(src[i]);
    return [new Tensor(outType, fromNumbers(outType, tmp), x.dims)];
  };
}

function sameTypeInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

/** Numpy-broadcast output type of inputs, with the element type `elem` (or input 0's). */
function broadcastInfer(ctx: InferContext, elem?: DataType): ValueType | undefined {
  const types = Array.from({ length: ctx.inputCount }, (_, i) => ctx.input(i));
  const first = types[0];
  const elemType = elem ?? (first?.kind === "tensor" ? first.elemType : undefined);
  const shapes = types.map((t) => (t?.kind === "tensor" ? t.shape : undefined));
  if (shapes.some((s) => s === undefined)) return { kind: "tensor", elemType };
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: (number | string | undefined)[] = new Array(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s!.length;
    s!.forEach((d, i) => {
      const o = out[off + i];
      if (d === 1) return;
      if (o === 1) out[off + i] = d;
      else if (typeof o === "number" && typeof d === "number" && o !== d) {
        ctx.error(`shapes [${shapes.map((x) => `[${x}]`)}] cannot be broadcast`);
      } else if (o !== d) {
        out[off + i] = typeof o === "number" ? o : typeof d === "number" ? d : undefined;
      }
    });
  }
  return { kind: "tensor", elemType, shape: out };
}

/** A binary row. */
interface BinaryRow {
  op: string;
  types: TypeClass;
  f: (ctx: OpContext, type: DataType) => NumFn2;
  big?: (ctx: OpContext) => BigFn2;
  str?: (a: string, b: string) => number;
  out?: "bool";
  wgsl?: string;
}

function truncDiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

/** The binary table. */
export const BINARY: readonly BinaryRow[] = [
  {
    op: "Add",
    types: "numeric",
    f: () => (a, b) => a + b,
    big: () => (a, b) => a + b,
    wgsl: "a + b",
  },
  {
    op: "Sub",
    types: "numeric",
    f: () => (a, b) => a - b,
    big: () => (a, b) => a - b,
    wgsl: "a - b",
  },
  {
    op: "Mul",
    types: "numeric",
    f: (_c, t) => (t === "int32" || t === "uint32" ? Math.imul : (a, b) => a * b),
    big: () => (a, b) => a * b,
    wgsl: "a * b",
  },
  {
    op: "Div",
    types: "numeric",
    f: (_c, t) => (FLOAT_TYPES.has(t) || isPackedFloat(t) ? (a, b) => a / b : truncDiv),
    big: () => (a, b) => (b === 0n ? 0n : a / b),
    wgsl: "a / b",
  },
  {
    op: "Pow",
    types: "numeric",
    f: () => (a, b) => Math.pow(a, b),
    big: () => (a, b) => (b < 0n ? (a === 1n ? 1n : a === -1n ? (b % 2n ? -1n : 1n) : 0n) : a ** b),
  },
  {
    op: "Mod",
    types: "numeric",
    f: (ctx, t) => {
      const fmod = ctx.attrs.int("fmod", 0);
      const isF = FLOAT_TYPES.has(t) || isPackedFloat(t);
      if (fmod) return (a, b) => (isF ? a % b : b === 0 ? 0 : a % b);
      return (a, b) => {
        if (b === 0) return isF ? NaN : 0;
        const r = a % b;
        return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
      };
    },
    big: (ctx) => {
      const fmod = ctx.attrs.int("fmod", 0);
      return (a, b) => {
        if (b === 0n) return 0n;
        const r = a % b;
        if (fmod) return r;
        return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
      };
    },
  },
  {
    op: "PRelu",
    types: "numeric",
    f: () => (x, s) => (x < 0 ? x * s : x),
    big: () => (x, s) => (x < 0n ? x * s : x),
  },
  { op: "And", types: "bool", f: () => (a, b) => a & b, wgsl: "a && b" },
  { op: "Or", types: "bool", f: () => (a, b) => a | b, wgsl: "a || b" },
  { op: "Xor", types: "bool", f: () => (a, b) => a ^ b, wgsl: "a != b" },
  {
    op: "Equal",
    types: "any",
    f: () => (a, b) => (a === b ? 1 : 0),
    big: () => (a, b) => (a === b ? 1n : 0n),
    str: (a, b) => (a === b ? 1 : 0),
    out: "bool",
  },
  {
    op: "Less",
    types: "numeric",
    f: () => (a, b) => (a < b ? 1 : 0),
    big: () => (a, b) => (a < b ? 1n : 0n),
    out: "bool",
  },
  {
    op: "LessOrEqual",
    types: "numeric",
    f: () => (a, b) => (a <= b ? 1 : 0),
    big: () => (a, b) => (a <= b ? 1n : 0n),
    out: "bool",
  },
  {
    op: "Greater",
    types: "numeric",
    f: () => (a, b) => (a > b ? 1 : 0),
    big: () => (a, b) => (a > b ? 1n : 0n),
    out: "bool",
  },
  {
    op: "GreaterOrEqual",
    types: "numeric",
    f: () => (a, b) => (a >= b ? 1 : 0),
    big: () => (a, b) => (a >= b ? 1n : 0n),
    out: "bool",
  },
  {
    op: "BitShift",
    types: "uint",
    f: (ctx) => {
      const dir = ctx.attrs.string("direction");
      if (dir === "LEFT") return (a, b) => (b >= 32 ? 0 : a * 2 ** b);
      if (dir === "RIGHT") return (a, b) => (b >= 32 ? 0 : Math.floor(a / 2 ** b));
      throw ctx.fail(`direction must be LEFT or RIGHT, got "${dir}"`);
    },
    big: (ctx) => {
      const dir = ctx.attrs.string("direction");
      return dir === "LEFT"
        ? (a, b) => (b >= 64n ? 0n : a << b)
        : (a, b) => (b >= 64n ? 0n : a >> b);
    },
  },
  { op: "BitwiseAnd", types: "int", f: () => (a, b) => a & b, big: () => (a, b) => a & b },
  { op: "BitwiseOr", types: "int", f: () => (a, b) => a | b, big: () => (a, b) => a | b },
  { op: "BitwiseXor", types: "int", f: () => (a, b) => a ^ b, big: () => (a, b) => a ^ b },
];

/** Applies a binary function with numpy broadcasting; returns output data and dims. */
function broadcastBinary(
  ctx: OpContext,
  row: BinaryRow,
  a: Tensor,
  b: Tensor,
  outType: DataType,
  legacyAxis?: number,
): Tensor {
  let bDims = b.dims;
  if (legacyAxis !== undefined) {
    // Opset < 7 broadcast: B's dims align with A's starting at `axis`.
    const pad = a.dims.length - legacyAxis - b.dims.length;
    bDims = [...b.dims, ...new Array(Math.max(0, pad)).fill(1)];
  }
  const outDims = broadcastShapes(a.dims, bDims);
  if (!outDims) {
    throw ctx.fail(`shapes [${a.dims}] and [${b.dims}] cannot be broadcast`);
  }
  const n = shapeSize(outDims);
  const opType = a.type;
  if (
    (opType === "float32" || opType === "float64") && b.type === opType && outType === opType &&
    isArithOp(row.op)
  ) {
    // Flat, operator-specialized loops over broadcast runs.
    const out = alloc(opType, n) as Float32Array | Float64Array;
    broadcastArith(
      row.op,
      a.data as Float32Array | Float64Array,
      a.dims,
      b.data as Float32Array | Float64Array,
      bDims,
      out,
      outDims,
    );
    return new Tensor(outType, out, outDims);
  }
  const ia = broadcastOffsets(a.dims, outDims);
  const ib = broadcastOffsets(bDims, outDims);
  if (opType === "string") {
    if (!row.str) throw ctx.unsupported(`${row.op} does not accept strings`, "string");
    const sa = a.data as string[];
    const sb = b.data as string[];
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = row.str(sa[ia ? ia[i] : i], sb[ib ? ib[i] : i]);
    return new Tensor(outType, out, outDims);
  }
  if (isBig(opType) && isBig(b.type)) {
    if (!row.big) throw ctx.unsupported(`${row.op} does not accept ${opType}`, opType);
    const g = row.big(ctx);
    const da = a.data as BigArray;
    const db = b.data as BigArray;
    if (row.out === "bool") {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(g(da[ia ? ia[i] : i], db[ib ? ib[i] : i]));
      return new Tensor(outType, out, outDims);
    }
    const out = alloc(outType, n) as BigArray;
    for (let i = 0; i < n; i++) out[i] = g(da[ia ? ia[i] : i], db[ib ? ib[i] : i]);
    return new Tensor(outType, out, outDims);
  }
  const f = row.f(ctx, opType);
  const da = dataToNumbers(a.type, a.data);
  const db = dataToNumbers(b.type, b.data);
  const direct = !isPackedFloat(outType) && !isBig(outType);
  const out: NumericArray = direct ? alloc(outType, n) as NumericArray : new Float64Array(n);
  if (!ia && !ib) {
    for (let i = 0; i < n; i++) out[i] = f(da[i], db[i]);
  } else if (!ia && ib && b.size === 1) {
    const s = db[0];
    for (let i = 0; i < n; i++) out[i] = f(da[i], s);
  } else {
    for (let i = 0; i < n; i++) out[i] = f(da[ia ? ia[i] : i], db[ib ? ib[i] : i]);
  }
  if (direct) return new Tensor(outType, out as TensorData, outDims);
  return new Tensor(outType, fromNumbers(outType, out), outDims);
}

function binaryKernel(row: BinaryRow): OpDef["cpu"] {
  return (ctx, inputs) => {
    const a = tensorAt(ctx, inputs, 0);
    const b = tensorAt(ctx, inputs, 1);
    const floatLike = (t: DataType) => FLOAT_TYPES.has(t) || isPackedFloat(t);
    if (!accepts(row.types, a.type) && !(row.types !== "bool" && floatLike(a.type))) {
      throw ctx.unsupported(`${row.op} does not accept ${a.type}`, a.type);
    }
    if (row.op !== "Pow" && a.type !== b.type) {
      throw ctx.fail(`inputs have different types ${a.type} and ${b.type}`);
    }
    let legacyAxis: number | undefined;
    if (ctx.version > 0 && ctx.version < 7 && ctx.attrs.has("broadcast")) {
      if (ctx.attrs.int("broadcast", 0) === 1) {
        legacyAxis = ctx.attrs.has("axis")
          ? (ctx.attrs.int("axis") + a.dims.length) % Math.max(1, a.dims.length)
          : a.dims.length - b.dims.length;
      }
    }
    const outType: DataType = row.out ?? a.type;
    if (row.op === "PRelu" && ctx.version < 7 && b.dims.length === 1 && a.dims.length > 2) {
      // PRelu-1/6: a 1-D slope of size C applies per channel (axis 1).
      if (b.dims[0] === a.dims[1]) {
        const slope = b.reshape([b.dims[0], ...new Array(a.dims.length - 2).fill(1)]);
        return [broadcastBinary(ctx, row, a, slope, outType)];
      }
    }
    if (row.op === "Pow" && a.type !== b.type) {
      // Mixed types: compute in float64, result has the base's type.
      const bb = new Tensor("float64", Float64Array.from(dataToNumbers(b.type, b.data)), b.dims);
      const aa = isBig(a.type)
        ? new Tensor("float64", Float64Array.from(dataToNumbers(a.type, a.data)), a.dims)
        : a;
      const r = broadcastBinary(
        ctx,
        row,
        aa,
        bb,
        aa.type === "float64" ? "float64" : a.type,
        legacyAxis,
      );
      if (r.type === a.type) return [r];
      return [new Tensor(a.type, fromNumbers(a.type, dataToNumbers(r.type, r.data)), r.dims)];
    }
    return [broadcastBinary(ctx, row, a, b, outType, legacyAxis)];
  };
}

/** Variadic ops (Sum, Min, Max, Mean): fold pairwise with broadcasting. */
function variadicKernel(op: "Sum" | "Min" | "Max" | "Mean"): OpDef["cpu"] {
  return (ctx, inputs) => {
    const ts = inputs.map((_, i) => tensorAt(ctx, inputs, i));
    if (ts.length === 0) throw ctx.fail("needs at least one input");
    const type = ts[0].type;
    if (!accepts("numeric", type) && !isPackedFloat(type)) {
      throw ctx.unsupported(`${op} does not accept ${type}`, type);
    }
    const isF = FLOAT_TYPES.has(type) || isPackedFloat(type);
    const nanMin = (a: number, b: number) => (a !== a || b !== b ? NaN : a < b ? a : b);
    const nanMax = (a: number, b: number) => (a !== a || b !== b ? NaN : a > b ? a : b);
    const row: BinaryRow = {
      op,
      types: "numeric",
      f: () => op === "Min" ? nanMin : op === "Max" ? nanMax : (a: number, b: number) => a + b,
      big: () =>
        op === "Min"
          ? (a: bigint, b: bigint) => (a < b ? a : b)
          : op === "Max"
          ? (a: bigint, b: bigint) => (a > b ? a : b)
          : (a: bigint, b: bigint) => a + b,
    };
    // Accumulate in float64 for float inputs so Sum/Mean round once.
    let acc = isF && type !== "float64"
      ? new Tensor("float64", Float64Array.from(dataToNumbers(type, ts[0].data)), ts[0].dims)
      : ts[0];
    for (let i = 1; i < ts.length; i++) {
      if (ts[i].type !== type) {
        throw ctx.fail(`inputs have different types ${type} and ${ts[i].type}`);
      }
      const t = isF && type !== "float64"
        ? new Tensor("float64", Float64Array.from(dataToNumbers(type, ts[i].data)), ts[i].dims)
        : ts[i];
      acc = broadcastBinary(ctx, row, acc, t, acc.type);
    }
    if (op === "Mean") {
      const n = ts.length;
      if (isBig(type)) {
        const d = acc.data as BigArray;
        const out = alloc(type, d.length) as BigArray;
        for (let i = 0; i < d.length; i++) out[i] = d[i] / BigInt(n);
        return [new Tensor(type, out, acc.dims)];
      }
      const d = dataToNumbers(acc.type, acc.data);
      const out = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = isF ? d[i] / n : Math.trunc(d[i] / n);
      return [new Tensor(type, fromNumbers(type, out), acc.dims)];
    }
    if (acc.type === type) {
      return [
        acc === ts[0]
          ? new Tensor(type, (acc.data as TensorData).slice() as TensorData, acc.dims)
          : acc,
      ];
    }
    return [new Tensor(type, fromNumbers(type, acc.data as Float64Array), acc.dims)];
  };
}

/** Where(cond, x, y) with three-way broadcasting; any element type. */
const whereKernel: OpDef["cpu"] = (ctx, inputs) => {
  const c = tensorAt(ctx, inputs, 0);
  const x = tensorAt(ctx, inputs, 1);
  const y = tensorAt(ctx, inputs, 2);
  if (c.type !== "bool") throw ctx.fail(`condition must be bool, got ${c.type}`);
  if (x.type !== y.type) throw ctx.fail(`X and Y have different types ${x.type} and ${y.type}`);
  const outDims = broadcastShapes(c.dims, x.dims, y.dims);
  if (!outDims) throw ctx.fail(`shapes [${c.dims}], [${x.dims}], [${y.dims}] cannot be broadcast`);
  const n = shapeSize(outDims);
  const ic = broadcastOffsets(c.dims, outDims);
  const ix = broadcastOffsets(x.dims, outDims);
  const iy = broadcastOffsets(y.dims, outDims);
  const cd = c.data as Uint8Array;
  const xd = x.data as unknown as { [i: number]: unknown };
  const yd = y.data as unknown as { [i: number]: unknown };
  const out = alloc(x.type, n) as unknown as { [i: number]: unknown };
  const slots = x.type === "complex64" || x.type === "complex128" ? 2 : 1;
  for (let i = 0; i < n; i++) {
    const take = cd[ic ? ic[i] : i];
    const src = take ? xd : yd;
    const j = take ? (ix ? ix[i] : i) : (iy ? iy[i] : i);
    if (slots === 1) out[i] = src[j];
    else {
      out[2 * i] = src[2 * j];
      out[2 * i + 1] = src[2 * j + 1];
    }
  }
  return [new Tensor(x.type, out as unknown as TensorData, outDims)];
};

/** Clip: min/max as attributes before opset 11, as optional inputs from 11. */
const clipKernel: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  let lo: number | bigint | undefined;
  let hi: number | bigint | undefined;
  const scalar = (i: number) => {
    const t = inputs[i];
    if (!(t instanceof Tensor)) return undefined;
    if (t.size !== 1) throw ctx.fail(`input ${i} must be a scalar`);
    return isBig(t.type) ? (t.data as BigArray)[0] : dataToNumbers(t.type, t.data)[0];
  };
  if (ctx.version < 11) {
    lo = ctx.attrs.float("min", -Infinity);
    hi = ctx.attrs.float("max", Infinity);
  } else {
    lo = scalar(1);
    hi = scalar(2);
  }
  const n = x.size;
  if (isBig(x.type)) {
    const src = x.data as BigArray;
    const out = alloc(x.type, n) as BigArray;
    for (let i = 0; i < n; i++) {
      let v = src[i];
      if (lo !== undefined && v < (lo as bigint)) v = lo as bigint;
      if (hi !== undefined && v > (hi as bigint)) v = hi as bigint;
      out[i] = v;
    }
    return [new Tensor(x.type, out, x.dims)];
  }
  const l = lo === undefined ? -Infinity : Number(lo);
  const h = hi === undefined ? Infinity : Number(hi);
  if (x.type === "float32") {
    // Branch-free SIMD; float32 bounds give the same float32 results.
    const out = new Float32Array(n);
    if (clipWasm(x.data as Float32Array, out, l, h)) return [new Tensor(x.type, out, x.dims)];
  }
  const src = dataToNumbers(x.type, x.data);
  const direct = !isPackedFloat(x.type);
  const out: NumericArray = direct ? alloc(x.type, n) as NumericArray : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = src[i];
    // max then min: when min > max every value becomes max, as the spec says.
    const m = v < l ? l : v;
    out[i] = m > h ? h : m;
  }
  return [new Tensor(x.type, direct ? out as TensorData : fromNumbers(x.type, out), x.dims)];
};

function boolInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [broadcastInfer(ctx, "bool")];
}

/** Every elementwise declaration. */
export const ops: OpDef[] = [
  ...UNARY.map((row): OpDef => ({
    domain: row.domain ?? "",
    opType: row.op,
    versions: [],
    allVersions: true,
    cpu: unaryKernel(row),
    infer: row.out === "bool"
      ? (ctx) => {
        const t = ctx.input(0);
        return [
          t?.kind === "tensor" ? { ...t, elemType: "bool" } : { kind: "tensor", elemType: "bool" },
        ];
      }
      : sameTypeInfer,
  })),
  ...BINARY.map((row): OpDef => ({
    domain: "",
    opType: row.op,
    versions: [],
    allVersions: true,
    cpu: binaryKernel(row),
    // PRelu broadcasts the slope to X (unidirectionally), so Y has X's type and shape.
    infer: row.out === "bool"
      ? boolInfer
      : row.op === "PRelu"
      ? sameTypeInfer
      : (ctx) => [broadcastInfer(ctx)],
  })),
  ...(["Sum", "Min", "Max", "Mean"] as const).map((op): OpDef => ({
    domain: "",
    opType: op,
    versions: [],
    allVersions: true,
    cpu: variadicKernel(op),
    infer: (ctx) => [broadcastInfer(ctx)],
  })),
  {
    domain: "",
    opType: "Where",
    versions: [],
    allVersions: true,
    cpu: whereKernel,
    infer: (ctx) => {
      const t = broadcastInfer(ctx);
      const x = ctx.input(1);
      return [
        t && x?.kind === "tensor" && t.kind === "tensor" ? { ...t, elemType: x.elemType } : t,
      ];
    },
  },
  {
    domain: "",
    opType: "Clip",
    versions: [],
    allVersions: true,
    cpu: clipKernel,
    infer: sameTypeInfer,
  },
];

/** Re-exported for shape-inference helpers in other op files. */
export { broadcastInfer };
