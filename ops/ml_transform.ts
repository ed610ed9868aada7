/**
 * Feature transforms of ai.onnx.ml: ArrayFeatureExtractor, Binarizer, Scaler, Normalizer,
 * Imputer, OneHotEncoder, LabelEncoder (ml 1, 2 and 4), CategoryMapper, FeatureVectorizer,
 * DictVectorizer and ZipMap (a sequence of maps, one per row).
 *
 * Where the spec is terse these follow the ONNX reference implementation and onnxruntime:
 * - ArrayFeatureExtractor selects along the last axis; a 1-D input gives a [1, K] output;
 * - Normalizer MAX divides by the largest absolute value of the row (as scikit-learn and the
 *   reference do), L1 by the sum of absolute values, L2 by the Euclidean norm; a zero
 *   divisor leaves the row unchanged;
 * - DictVectorizer outputs [1, V] (V = vocabulary size), keys outside the vocabulary are
 *   ignored and absent keys give 0 ("" for strings);
 * - FeatureVectorizer treats a 1-D input as one row and pads or truncates each input to its
 *   `inputdimensions` entry.
 *
 * @module
 */

import type { BigArray, DataType, NumericArray, TensorData } from "../pipeline/tensor/dtype.ts";
import { allocate, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import { OnnxMap, Sequence, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import { tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { inputElem, inputShape } from "./shape_infer.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, tensorAt } from "./util.ts";
import { cachedFor, featureRows, hasStrings, ML_NUMERIC } from "./ml_common.ts";

const ML = "ai.onnx.ml";

function sameShapeInfer(elem?: DataType) {
  return (ctx: InferContext): (ValueType | undefined)[] => [
    tensorType(elem ?? inputElem(ctx, 0), inputShape(ctx, 0)),
  ];
}

function requireType(ctx: OpContext, t: Tensor, allowed: readonly DataType[]): void {
  if (!allowed.includes(t.type)) {
    throw ctx.unsupported(`input type ${t.type} is not supported`, t.type);
  }
}

// ---------------------------------------------------------------------------------------------
// ArrayFeatureExtractor

function arrayFeatureExtractorCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const y = tensorAt(ctx, inputs, 1);
  requireType(ctx, x, ["float32", "float64", "int64", "int32", "string"]);
  if (y.type !== "int64") throw ctx.fail(`indices must be int64, got ${y.type}`);
  if (x.dims.length === 0) throw ctx.fail("input must have at least one dimension");
  const last = x.dims[x.dims.length - 1];
  const idx = Array.from(y.data as BigArray, (v) => Number(v));
  for (const i of idx) {
    if (!(i >= 0 && i < last)) {
      throw ctx.fail(`index ${i} is out of range for a last dimension of ${last}`);
    }
  }
  const k = idx.length;
  const rows = last === 0 ? 0 : x.size / last;
  const outDims = x.dims.length === 1 ? [1, k] : [...x.dims.slice(0, -1), k];
  const src = x.data as ArrayLike<unknown>;
  const out = allocate(x.type, rows * k) as unknown as { [i: number]: unknown };
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) out[r * k + j] = src[r * last + idx[j]];
  }
  return [new Tensor(x.type, out as TensorData, outDims)];
}

function arrayFeatureExtractorInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  const ys = inputShape(ctx, 1);
  let k: number | undefined;
  if (ys && ys.every((d) => typeof d === "number")) k = (ys as number[]).reduce((a, b) => a * b, 1);
  const shape = s ? (s.length === 1 ? [1, k] : [...s.slice(0, -1), k]) : undefined;
  return [tensorType(inputElem(ctx, 0), shape)];
}

// ---------------------------------------------------------------------------------------------
// Binarizer, Scaler, Normalizer, Imputer

function binarizerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  requireType(ctx, x, ML_NUMERIC);
  const th = ctx.attrs.float("threshold", 0);
  const out = allocate(x.type, x.size);
  if (x.type === "int64") {
    const src = x.data as BigInt64Array;
    const dst = out as BigInt64Array;
    for (let i = 0; i < src.length; i++) dst[i] = src[i] > th ? 1n : 0n;
  } else {
    const src = x.data as NumericArray;
    const dst = out as NumericArray;
    for (let i = 0; i < src.length; i++) dst[i] = src[i] > th ? 1 : 0;
  }
  return [new Tensor(x.type, out, x.dims)];
}

function perFeature(ctx: OpContext, name: string, f: number): Float64Array {
  const v = ctx.attrs.has(name) ? ctx.attrs.floats(name) : [];
  if (v.length !== 1 && v.length !== f) {
    throw ctx.fail(`${name} has ${v.length} entries, expected 1 or ${f} (one per feature)`);
  }
  const out = new Float64Array(f);
  for (let j = 0; j < f; j++) out[j] = v.length === 1 ? v[0] : v[j];
  return out;
}

function scalerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const offset = perFeature(ctx, "offset", f);
  const scale = perFeature(ctx, "scale", f);
  const out = new Float32Array(n * f);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < f; j++) out[r * f + j] = (values[r * f + j] - offset[j]) * scale[j];
  }
  return [new Tensor("float32", out, x.dims)];
}

function normalizerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const norm = ctx.attrs.string("norm", "MAX");
  if (norm !== "MAX" && norm !== "L1" && norm !== "L2") {
    throw ctx.fail(`norm must be MAX, L1 or L2, got "${norm}"`);
  }
  const out = new Float32Array(n * f);
  for (let r = 0; r < n; r++) {
    const o = r * f;
    let d = 0;
    if (norm === "MAX") {
      for (let j = 0; j < f; j++) d = Math.max(d, Math.abs(values[o + j]));
    } else if (norm === "L1") {
      for (let j = 0; j < f; j++) d += Math.abs(values[o + j]);
    } else {
      for (let j = 0; j < f; j++) d += values[o + j] * values[o + j];
      d = Math.sqrt(d);
    }
    for (let j = 0; j < f; j++) out[o + j] = d !== 0 ? values[o + j] / d : values[o + j];
  }
  return [new Tensor("float32", out, x.dims)];
}

function imputerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  requireType(ctx, x, ML_NUMERIC);
  const f = x.dims.length === 0 ? 1 : x.dims[x.dims.length - 1];
  const isFloat = x.type === "float32" || x.type === "float64";
  const name = isFloat ? "imputed_value_floats" : "imputed_value_int64s";
  if (!ctx.attrs.has(name)) throw ctx.fail(`attribute ${name} is required for ${x.type} input`);
  const out = (x.data as NumericArray | BigInt64Array).slice();
  if (x.type === "int64") {
    const imputed = ctx.attrs.bigints(name);
    if (imputed.length !== 1 && imputed.length !== f) {
      throw ctx.fail(`${name} has ${imputed.length} entries, expected 1 or ${f}`);
    }
    const rep = ctx.attrs.bigint("replaced_value_int64", 0n);
    const d = out as BigInt64Array;
    for (let i = 0; i < d.length; i++) {
      if (d[i] === rep) d[i] = imputed.length === 1 ? imputed[0] : imputed[i % f];
    }
  } else {
    const imputed = isFloat ? ctx.attrs.floats(name) : ctx.attrs.ints(name);
    if (imputed.length !== 1 && imputed.length !== f) {
      throw ctx.fail(`${name} has ${imputed.length} entries, expected 1 or ${f}`);
    }
    const rep = isFloat
      ? ctx.attrs.float("replaced_value_float", 0)
      : ctx.attrs.int("replaced_value_int64", 0);
    const d = out as NumericArray;
    const nan = Number.isNaN(rep);
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (nan ? v !== v : v === rep) d[i] = imputed.length === 1 ? imputed[0] : imputed[i % f];
    }
  }
  return [new Tensor(x.type, out, x.dims)];
}

// ---------------------------------------------------------------------------------------------
// OneHotEncoder, CategoryMapper, LabelEncoder

function oneHotEncoderCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  requireType(ctx, x, ["string", "int64", "int32", "float32", "float64"]);
  const strs = ctx.attrs.has("cats_strings") ? ctx.attrs.strings("cats_strings") : [];
  const ints = ctx.attrs.has("cats_int64s") ? ctx.attrs.bigints("cats_int64s") : [];
  if ((strs.length > 0) === (ints.length > 0)) {
    throw ctx.fail("exactly one of cats_int64s and cats_strings must be set");
  }
  const zeros = ctx.attrs.int("zeros", 1) !== 0;
  const c = strs.length || ints.length;
  const n = x.size;
  const out = new Float32Array(n * c);
  const miss = (v: unknown) => {
    if (!zeros) throw ctx.fail(`value ${v} is not one of the categories`);
  };
  if (x.type === "string") {
    if (strs.length === 0) throw ctx.fail("string input needs cats_strings");
    const map = new Map(strs.map((s, i) => [s, i]));
    const src = x.data as string[];
    for (let i = 0; i < n; i++) {
      const j = map.get(src[i]);
      if (j === undefined) miss(src[i]);
      else out[i * c + j] = 1;
    }
  } else {
    if (ints.length === 0) throw ctx.fail(`${x.type} input needs cats_int64s`);
    const map = new Map(ints.map((v, i) => [v, i]));
    const big = x.type === "int64" ? (x.data as BigInt64Array) : undefined;
    const num = big ? undefined : numbersOf(x);
    for (let i = 0; i < n; i++) {
      let key: bigint | undefined;
      if (big) key = big[i];
      else if (Number.isFinite(num![i])) key = BigInt(Math.trunc(num![i]));
      const j = key === undefined ? undefined : map.get(key);
      if (j === undefined) miss(big ? big[i] : num![i]);
      else out[i * c + j] = 1;
    }
  }
  return [new Tensor("float32", out, [...x.dims, c])];
}

function oneHotEncoderInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  const c = ctx.attrs.has("cats_strings")
    ? ctx.attrs.strings("cats_strings").length
    : ctx.attrs.has("cats_int64s")
    ? ctx.attrs.ints("cats_int64s").length
    : undefined;
  return [tensorType("float32", s ? [...s, c] : undefined)];
}

function categoryMapperCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const strs = ctx.attrs.has("cats_strings") ? ctx.attrs.strings("cats_strings") : [];
  const ints = ctx.attrs.has("cats_int64s") ? ctx.attrs.bigints("cats_int64s") : [];
  if (strs.length !== ints.length) {
    throw ctx.fail(`cats_strings has ${strs.length} entries, cats_int64s ${ints.length}`);
  }
  if (x.type === "string") {
    const map = cachedFor(ctx, "s2i", () => new Map(strs.map((s, i) => [s, ints[i]])));
    const def = ctx.attrs.bigint("default_int64", -1n);
    const src = x.data as string[];
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = map.get(src[i]) ?? def;
    return [new Tensor("int64", out, x.dims)];
  }
  if (x.type === "int64") {
    const map = cachedFor(ctx, "i2s", () => new Map(ints.map((v, i) => [v, strs[i]])));
    const def = ctx.attrs.string("default_string", "_Unused");
    const src = x.data as BigInt64Array;
    const out = new Array<string>(src.length);
    for (let i = 0; i < src.length; i++) out[i] = map.get(src[i]) ?? def;
    return [new Tensor("string", out, x.dims)];
  }
  throw ctx.unsupported(`input type ${x.type} is not supported`, x.type);
}

function categoryMapperInfer(ctx: InferContext): (ValueType | undefined)[] {
  const e = inputElem(ctx, 0);
  const out = e === "string" ? "int64" : e === "int64" ? "string" : undefined;
  return [tensorType(out, inputShape(ctx, 0))];
}

type Key = string | number | bigint;

/** A parsed LabelEncoder: key → value index, the values as output storage, the default. */
interface Encoder {
  keyType: DataType;
  valueType: DataType;
  index: Map<Key, number>;
  values: ArrayLike<unknown>;
  fallback: unknown;
}

function attrTensorOf(ctx: OpContext, name: string): Tensor | undefined {
  return ctx.version >= 4 && ctx.attrs.has(name) ? ctx.attrs.tensor(name) : undefined;
}

function keysOf(ctx: OpContext): { type: DataType; keys: Key[] } {
  const choices: { type: DataType; keys: Key[] }[] = [];
  if (ctx.attrs.has("keys_strings")) {
    choices.push({ type: "string", keys: ctx.attrs.strings("keys_strings") });
  }
  if (ctx.attrs.has("keys_int64s")) {
    choices.push({ type: "int64", keys: ctx.attrs.bigints("keys_int64s") });
  }
  if (ctx.attrs.has("keys_floats")) {
    choices.push({ type: "float32", keys: ctx.attrs.floats("keys_floats") });
  }
  const kt = attrTensorOf(ctx, "keys_tensor");
  if (kt) choices.push({ type: kt.type, keys: tensorKeys(kt) });
  if (choices.length !== 1) throw ctx.fail("exactly one keys_* attribute must be set");
  return choices[0];
}

function tensorKeys(t: Tensor): Key[] {
  if (t.type === "string") return [...(t.data as string[])];
  if (t.type === "int64" || t.type === "uint64") return [...(t.data as BigArray)];
  return Array.from(numbersOf(t));
}

function valuesOf(ctx: OpContext): { type: DataType; values: ArrayLike<unknown> } {
  const choices: { type: DataType; values: ArrayLike<unknown> }[] = [];
  if (ctx.attrs.has("values_strings")) {
    choices.push({ type: "string", values: ctx.attrs.strings("values_strings") });
  }
  if (ctx.attrs.has("values_int64s")) {
    choices.push({ type: "int64", values: ctx.attrs.bigints("values_int64s") });
  }
  if (ctx.attrs.has("values_floats")) {
    choices.push({ type: "float32", values: ctx.attrs.floats("values_floats") });
  }
  const vt = attrTensorOf(ctx, "values_tensor");
  if (vt) choices.push({ type: vt.type, values: vt.data as ArrayLike<unknown> });
  if (choices.length !== 1) throw ctx.fail("exactly one values_* attribute must be set");
  return choices[0];
}

const ENCODER_TYPES: readonly DataType[] = [
  "string",
  "int64",
  "float32",
  "int32",
  "int16",
  "float64",
];

function defaultFor(ctx: OpContext, type: DataType): unknown {
  const dt = attrTensorOf(ctx, "default_tensor");
  if (dt) {
    if (dt.size < 1) throw ctx.fail("default_tensor is empty");
    if (dt.type !== type) {
      throw ctx.fail(`default_tensor has type ${dt.type}, the values have type ${type}`);
    }
    return (dt.data as ArrayLike<unknown>)[0];
  }
  switch (type) {
    case "string":
      return ctx.attrs.string("default_string", "_Unused");
    case "int64":
      return ctx.attrs.bigint("default_int64", -1n);
    case "int32":
    case "int16":
      return ctx.attrs.int("default_int64", -1);
    default:
      return ctx.attrs.float("default_float", -0);
  }
}

function parseEncoder(ctx: OpContext): Encoder {
  const { type: keyType, keys } = keysOf(ctx);
  const { type: valueType, values } = valuesOf(ctx);
  if (!ENCODER_TYPES.includes(keyType) || !ENCODER_TYPES.includes(valueType)) {
    throw ctx.unsupported(`keys of ${keyType} or values of ${valueType} are not supported`);
  }
  if (keys.length !== values.length) {
    throw ctx.fail(`${keys.length} keys but ${values.length} values`);
  }
  const index = new Map<Key, number>();
  keys.forEach((k, i) => index.set(k, i)); // a repeated key: the last one wins
  return { keyType, valueType, index, values, fallback: defaultFor(ctx, valueType) };
}

function labelEncoderCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (ctx.version === 1) return labelEncoderV1(ctx, x);
  const enc = cachedFor(ctx, "encoder", () => parseEncoder(ctx));
  const intKeys = enc.keyType === "int64" || enc.keyType === "int32" || enc.keyType === "int16";
  const compatible = x.type === enc.keyType ||
    (intKeys && (x.type === "int64" || x.type === "int32" || x.type === "int16"));
  if (!compatible) {
    throw ctx.fail(`input type ${x.type} does not match the key type ${enc.keyType}`);
  }
  const n = x.size;
  const out = allocate(enc.valueType, n) as unknown as { [i: number]: unknown };
  const src = x.data as ArrayLike<Key>;
  const bigKeys = enc.keyType === "int64";
  const bigIn = x.type === "int64";
  for (let i = 0; i < n; i++) {
    let key = src[i];
    if (bigKeys && !bigIn) key = BigInt(key as number);
    else if (!bigKeys && bigIn && intKeys) key = Number(key as bigint);
    const j = enc.index.get(key);
    out[i] = j === undefined ? enc.fallback : enc.values[j];
  }
  return [new Tensor(enc.valueType, out as TensorData, x.dims)];
}

function labelEncoderV1(ctx: OpContext, x: Tensor): Value[] {
  const classes = ctx.attrs.has("classes_strings") ? ctx.attrs.strings("classes_strings") : [];
  if (x.type === "string") {
    const map = cachedFor(ctx, "v1", () => {
      const m = new Map<string, number>();
      classes.forEach((s, i) => {
        if (!m.has(s)) m.set(s, i);
      });
      return m;
    });
    const def = ctx.attrs.bigint("default_int64", -1n);
    const src = x.data as string[];
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const j = map.get(src[i]);
      out[i] = j === undefined ? def : BigInt(j);
    }
    return [new Tensor("int64", out, x.dims)];
  }
  if (x.type === "int64") {
    const def = ctx.attrs.string("default_string", "_Unused");
    const src = x.data as BigInt64Array;
    const out = new Array<string>(src.length);
    for (let i = 0; i < src.length; i++) {
      const j = src[i];
      out[i] = j >= 0n && j < BigInt(classes.length) ? classes[Number(j)] : def;
    }
    return [new Tensor("string", out, x.dims)];
  }
  throw ctx.unsupported(`input type ${x.type} is not supported`, x.type);
}

function labelEncoderInfer(ctx: InferContext): (ValueType | undefined)[] {
  let out: DataType | undefined;
  if (ctx.version === 1) {
    const e = inputElem(ctx, 0);
    out = e === "string" ? "int64" : e === "int64" ? "string" : undefined;
  } else if (ctx.attrs.has("values_strings")) out = "string";
  else if (ctx.attrs.has("values_int64s")) out = "int64";
  else if (ctx.attrs.has("values_floats")) out = "float32";
  else if (ctx.attrs.has("values_tensor")) {
    const a = ctx.node.attribute.find((x) => x.name === "values_tensor");
    out = a?.t ? dataTypeFromCode(a.t.dataType) : undefined;
  }
  return [tensorType(out, inputShape(ctx, 0))];
}

// ---------------------------------------------------------------------------------------------
// FeatureVectorizer, DictVectorizer, ZipMap

function featureVectorizerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const xs = inputs.map((_, i) => tensorAt(ctx, inputs, i));
  if (xs.length === 0) throw ctx.fail("at least one input is required");
  const dimsAttr = ctx.attrs.has("inputdimensions") ? ctx.attrs.ints("inputdimensions") : [];
  if (dimsAttr.length !== 0 && dimsAttr.length !== xs.length) {
    throw ctx.fail(`inputdimensions has ${dimsAttr.length} entries for ${xs.length} inputs`);
  }
  const parts = xs.map((x) => featureRows(ctx, x, ["int32", "int64", "float32", "float64"]));
  const n = parts[0].n;
  for (const p of parts) {
    if (p.n !== n) throw ctx.fail(`inputs have different batch sizes (${n} and ${p.n})`);
  }
  const widths = parts.map((p, i) => dimsAttr[i] ?? p.f);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(n * total);
  let col = 0;
  parts.forEach((p, i) => {
    const w = widths[i];
    const c = Math.min(w, p.f);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < c; j++) out[r * total + col + j] = p.values[r * p.f + j];
    }
    col += w;
  });
  return [new Tensor("float32", out, [n, total])];
}

function featureVectorizerInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  const dims = ctx.attrs.has("inputdimensions") ? ctx.attrs.ints("inputdimensions") : undefined;
  const total = dims ? dims.reduce((a, b) => a + b, 0) : undefined;
  return [tensorType("float32", [s ? (s.length <= 1 ? 1 : s[0]) : undefined, total])];
}

function dictVectorizerCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const m = inputs[0];
  if (!(m instanceof OnnxMap)) throw ctx.fail("input must be a map");
  const vals = m.values;
  if (!(vals instanceof Tensor)) throw ctx.fail("map values must be a tensor");
  const strVocab = ctx.attrs.has("string_vocabulary") ? ctx.attrs.strings("string_vocabulary") : [];
  const intVocab = ctx.attrs.has("int64_vocabulary") ? ctx.attrs.bigints("int64_vocabulary") : [];
  if ((strVocab.length > 0) === (intVocab.length > 0)) {
    throw ctx.fail("exactly one of string_vocabulary and int64_vocabulary must be set");
  }
  const useStrings = strVocab.length > 0;
  if (useStrings !== (m.keys.type === "string")) {
    throw ctx.fail(`map keys of ${m.keys.type} do not match the vocabulary`);
  }
  const vocab: Key[] = useStrings ? strVocab : intVocab;
  const index = new Map<Key, number>(vocab.map((k, i) => [k, i]));
  const out = allocate(vals.type, vocab.length) as unknown as { [i: number]: unknown };
  const keys = m.keys.data as ArrayLike<Key>;
  const src = vals.data as ArrayLike<unknown>;
  for (let i = 0; i < keys.length; i++) {
    const j = index.get(useStrings ? keys[i] : BigInt(keys[i] as bigint | number));
    if (j !== undefined) out[j] = src[i];
  }
  return [new Tensor(vals.type, out as TensorData, [1, vocab.length])];
}

function dictVectorizerInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.input(0);
  const elem = t?.kind === "map" && t.value?.kind === "tensor" ? t.value.elemType : undefined;
  const v = ctx.attrs.has("string_vocabulary")
    ? ctx.attrs.strings("string_vocabulary").length
    : ctx.attrs.has("int64_vocabulary")
    ? ctx.attrs.ints("int64_vocabulary").length
    : undefined;
  return [tensorType(elem, [1, v])];
}

function zipMapCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (x.type !== "float32") throw ctx.unsupported(`input type ${x.type} is not supported`, x.type);
  const strs = ctx.attrs.has("classlabels_strings") ? ctx.attrs.strings("classlabels_strings") : [];
  const ints = ctx.attrs.has("classlabels_int64s") ? ctx.attrs.bigints("classlabels_int64s") : [];
  if ((strs.length > 0) === (ints.length > 0)) {
    throw ctx.fail("exactly one of classlabels_int64s and classlabels_strings must be set");
  }
  const c = strs.length || ints.length;
  if (x.dims.length !== 1 && x.dims.length !== 2) {
    throw ctx.fail(`input must be [N, C] or [C], got [${x.dims}]`);
  }
  const n = x.dims.length === 1 ? 1 : x.dims[0];
  const cols = x.dims[x.dims.length - 1];
  if (cols !== c) throw ctx.fail(`input has ${cols} columns for ${c} class labels`);
  const keys = strs.length > 0
    ? new Tensor("string", strs, [c])
    : new Tensor("int64", BigInt64Array.from(ints), [c]);
  const src = x.data as Float32Array;
  const maps: Value[] = [];
  for (let r = 0; r < n; r++) {
    maps.push(new OnnxMap(keys, new Tensor("float32", src.slice(r * c, r * c + c), [c])));
  }
  return [new Sequence(maps, zipMapElem(strs.length > 0))];
}

function zipMapElem(strings: boolean): ValueType {
  return { kind: "map", keyType: strings ? "string" : "int64", value: tensorType("float32") };
}

function zipMapInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [{ kind: "sequence", elem: zipMapElem(hasStrings(ctx.node, "classlabels_strings")) }];
}

/** Feature transforms of ai.onnx.ml. */
export const ops: OpDef[] = [
  {
    domain: ML,
    opType: "ArrayFeatureExtractor",
    versions: [1],
    cpu: arrayFeatureExtractorCpu,
    infer: arrayFeatureExtractorInfer,
  },
  { domain: ML, opType: "Binarizer", versions: [1], cpu: binarizerCpu, infer: sameShapeInfer() },
  { domain: ML, opType: "Scaler", versions: [1], cpu: scalerCpu, infer: sameShapeInfer("float32") },
  {
    domain: ML,
    opType: "Normalizer",
    versions: [1],
    cpu: normalizerCpu,
    infer: sameShapeInfer("float32"),
  },
  { domain: ML, opType: "Imputer", versions: [1], cpu: imputerCpu, infer: sameShapeInfer() },
  {
    domain: ML,
    opType: "OneHotEncoder",
    versions: [1],
    cpu: oneHotEncoderCpu,
    infer: oneHotEncoderInfer,
  },
  {
    domain: ML,
    opType: "CategoryMapper",
    versions: [1],
    cpu: categoryMapperCpu,
    infer: categoryMapperInfer,
  },
  {
    domain: ML,
    opType: "LabelEncoder",
    versions: [1, 2, 4],
    cpu: labelEncoderCpu,
    infer: labelEncoderInfer,
  },
  {
    domain: ML,
    opType: "FeatureVectorizer",
    versions: [1],
    cpu: featureVectorizerCpu,
    infer: featureVectorizerInfer,
  },
  {
    domain: ML,
    opType: "DictVectorizer",
    versions: [1],
    cpu: dictVectorizerCpu,
    infer: dictVectorizerInfer,
  },
  { domain: ML, opType: "ZipMap", versions: [1], cpu: zipMapCpu, infer: zipMapInfer },
];
