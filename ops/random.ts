/**
 * Random generators (ai.onnx): RandomUniform, RandomUniformLike, RandomNormal,
 * RandomNormalLike, Bernoulli and Multinomial.
 *
 * Without a `seed` attribute values come from the session's source (`ctx.random()`). With a
 * seed each run starts a fresh xoshiro128** stream seeded from the seed's bits, so a node with
 * a seed gives the same values on every run. Normal samples use the Box–Muller transform;
 * Multinomial samples each row's categorical distribution softmax(input) by inverse CDF.
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import { tensorFromNumbers, type Value } from "../pipeline/tensor/tensor.ts";
import {
  bfloat16ToNumber,
  float16ToNumber,
  numberToBfloat16,
  numberToFloat16,
} from "../pipeline/tensor/float.ts";
import { tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { inputElem, inputShape } from "./shape_infer.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, tensorAt, tensorFromComputed } from "./util.ts";

const FLOATS: readonly DataType[] = ["float16", "float32", "float64", "bfloat16"];

/** A source of doubles in [0, 1). */
type Source = () => number;

/**
 * A xoshiro128** generator seeded (through splitmix32) from the bits of `seed`; returns
 * doubles in [0, 1) with 53 random bits.
 */
export function seededSource(seed: number): Source {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, seed);
  let x = (bits.getUint32(0) ^ Math.imul(bits.getUint32(4), 0x9e3779b1)) >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix(), s1 = splitmix(), s2 = splitmix(), s3 = splitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3 >>> 0, 11);
    s0 >>>= 0;
    s1 >>>= 0;
    s2 >>>= 0;
    return r;
  };
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function sourceOf(ctx: OpContext): Source {
  return ctx.attrs.has("seed") ? seededSource(ctx.attrs.float("seed")) : () => ctx.random();
}

function floatTypeOf(ctx: OpContext, fallback?: DataType): DataType {
  let t: DataType | undefined = fallback;
  if (ctx.attrs.has("dtype")) {
    const code = ctx.attrs.int("dtype");
    t = dataTypeFromCode(code);
    if (!t) throw ctx.fail(`dtype ${code} is not an element type`);
  }
  if (!t) throw ctx.fail("the output type is unknown: set dtype");
  if (!FLOATS.includes(t)) throw ctx.unsupported(`output type ${t} is not supported`, t);
  return t;
}

function shapeAttr(ctx: OpContext): number[] {
  const shape = ctx.attrs.ints("shape");
  for (const d of shape) if (!(d >= 0)) throw ctx.fail(`shape [${shape}] has a negative dim`);
  return shape;
}

function uniform(ctx: OpContext, type: DataType, dims: readonly number[]): Value {
  const low = ctx.attrs.float("low", 0);
  const high = ctx.attrs.float("high", 1);
  if (!(high >= low)) throw ctx.fail(`high (${high}) must not be below low (${low})`);
  const src = sourceOf(ctx);
  const round = rounding(type);
  let size = 1;
  for (const d of dims) size *= d;
  const v = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    // Redraw the rare value that rounds up to `high` in the output precision.
    let x = low + (high - low) * src();
    for (let tries = 0; high > low && round(x) >= high && tries < 64; tries++) {
      x = low + (high - low) * src();
    }
    v[i] = x;
  }
  return tensorFromComputed(type, v, dims);
}

/** Rounds a number to the precision of a float output type. */
function rounding(type: DataType): (x: number) => number {
  switch (type) {
    case "float32":
      return Math.fround;
    case "float16":
      return (x) => float16ToNumber(numberToFloat16(x));
    case "bfloat16":
      return (x) => bfloat16ToNumber(numberToBfloat16(x));
    default:
      return (x) => x;
  }
}

function normal(ctx: OpContext, type: DataType, dims: readonly number[]): Value {
  const mean = ctx.attrs.float("mean", 0);
  const scale = ctx.attrs.float("scale", 1);
  const src = sourceOf(ctx);
  let size = 1;
  for (const d of dims) size *= d;
  const v = new Float64Array(size);
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - src(); // (0, 1]: log is finite
    const u2 = src();
    const r = Math.sqrt(-2 * Math.log(u1));
    v[i] = mean + scale * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) v[i + 1] = mean + scale * r * Math.sin(2 * Math.PI * u2);
  }
  return tensorFromComputed(type, v, dims);
}

function likeType(ctx: OpContext, inputs: (Value | undefined)[]) {
  const x = tensorAt(ctx, inputs, 0);
  return { type: floatTypeOf(ctx, ctx.attrs.has("dtype") ? undefined : x.type), dims: x.dims };
}

function bernoulliCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (!FLOATS.includes(x.type)) throw ctx.unsupported(`input type ${x.type}`, x.type);
  let type: DataType = x.type;
  if (ctx.attrs.has("dtype")) {
    const code = ctx.attrs.int("dtype");
    const t = dataTypeFromCode(code);
    if (!t) throw ctx.fail(`dtype ${code} is not an element type`);
    type = t;
  }
  const allowed: DataType[] = [
    ...FLOATS,
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
  ];
  if (!allowed.includes(type)) throw ctx.unsupported(`output type ${type} is not supported`, type);
  const p = numbersOf(x);
  const src = sourceOf(ctx);
  const v = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) v[i] = src() < p[i] ? 1 : 0;
  return [tensorFromNumbers(type, v, x.dims)];
}

function multinomialCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (!FLOATS.includes(x.type)) throw ctx.unsupported(`input type ${x.type}`, x.type);
  if (x.dims.length !== 2) throw ctx.fail(`input must be [batch, classes], got [${x.dims}]`);
  const [batch, classes] = x.dims;
  if (classes < 1) throw ctx.fail("input needs at least one class");
  const samples = ctx.attrs.int("sample_size", 1);
  if (samples < 0) throw ctx.fail(`sample_size must be ≥ 0, got ${samples}`);
  const code = ctx.attrs.int("dtype", 6);
  const type = dataTypeFromCode(code);
  if (type !== "int32" && type !== "int64") throw ctx.fail(`dtype must be int32 or int64`);
  const logits = numbersOf(x);
  const src = sourceOf(ctx);
  const cdf = new Float64Array(classes);
  const out = new Float64Array(batch * samples);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[b * classes + c]);
    let acc = 0;
    for (let c = 0; c < classes; c++) {
      const l = logits[b * classes + c];
      acc += max === -Infinity || Number.isNaN(l) ? 0 : Math.exp(l - max);
      cdf[c] = acc;
    }
    if (!(acc > 0) || !Number.isFinite(acc)) {
      throw ctx.fail(`row ${b} has no finite log-probability to sample from`);
    }
    for (let s = 0; s < samples; s++) {
      const u = src() * acc;
      let lo = 0, hi = classes - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      out[b * samples + s] = lo;
    }
  }
  return [tensorFromNumbers(type, out, [batch, samples])];
}

// ---------------------------------------------------------------------------------------------
// Inference

function dtypeInfer(ctx: InferContext, fallback?: DataType): DataType | undefined {
  if (!ctx.attrs.has("dtype")) return fallback;
  return dataTypeFromCode(ctx.attrs.int("dtype"));
}

function generatorInfer(ctx: InferContext): (ValueType | undefined)[] {
  const shape = ctx.attrs.has("shape") ? ctx.attrs.ints("shape") : undefined;
  return [tensorType(dtypeInfer(ctx, "float32"), shape)];
}

function likeInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [tensorType(dtypeInfer(ctx, inputElem(ctx, 0)), inputShape(ctx, 0))];
}

function multinomialInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  return [
    tensorType(dataTypeFromCode(ctx.attrs.int("dtype", 6)), [
      s?.[0],
      ctx.attrs.int("sample_size", 1),
    ]),
  ];
}

/** Random generators. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "RandomUniform",
    versions: [1, 22],
    cpu: (ctx) => [uniform(ctx, floatTypeOf(ctx, "float32"), shapeAttr(ctx))],
    infer: generatorInfer,
  },
  {
    domain: "",
    opType: "RandomNormal",
    versions: [1, 22],
    cpu: (ctx) => [normal(ctx, floatTypeOf(ctx, "float32"), shapeAttr(ctx))],
    infer: generatorInfer,
  },
  {
    domain: "",
    opType: "RandomUniformLike",
    versions: [1, 22],
    cpu: (ctx, inputs) => {
      const { type, dims } = likeType(ctx, inputs);
      return [uniform(ctx, type, dims)];
    },
    infer: likeInfer,
  },
  {
    domain: "",
    opType: "RandomNormalLike",
    versions: [1, 22],
    cpu: (ctx, inputs) => {
      const { type, dims } = likeType(ctx, inputs);
      return [normal(ctx, type, dims)];
    },
    infer: likeInfer,
  },
  { domain: "", opType: "Bernoulli", versions: [15, 22], cpu: bernoulliCpu, infer: likeInfer },
  {
    domain: "",
    opType: "Multinomial",
    versions: [7, 22],
    cpu: multinomialCpu,
    infer: multinomialInfer,
  },
];
