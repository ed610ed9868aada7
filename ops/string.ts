/**
 * String operators: StringNormalizer, RegexFullMatch (RE2 syntax, see `regex_re2.ts`),
 * StringConcat, StringSplit and TfIdfVectorizer.
 *
 * @module
 */

import type { BigArray } from "../pipeline/tensor/dtype.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { broadcastOffsets, broadcastShapes, shapeSize, tensorAt } from "./util.ts";
import { Re2SyntaxError, re2ToJsFullMatch } from "./regex_re2.ts";

function stringInput(ctx: OpContext, inputs: Parameters<OpDef["cpu"]>[1], i: number): Tensor {
  const t = tensorAt(ctx, inputs, i);
  if (t.type !== "string") throw ctx.fail(`input ${i} must be a string tensor, got ${t.type}`);
  return t;
}

function tensorShapeOf(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

// ------------------------------------------------------------------------------------------
// StringNormalizer.
// ------------------------------------------------------------------------------------------

/** BCP 47 form of a locale name such as `en_US` (what the ONNX spec's examples use). */
function jsLocale(ctx: OpContext, locale: string): string | undefined {
  if (locale === "") return undefined;
  const tag = locale.replace(/\..*$/, "").replace(/_/g, "-");
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    throw ctx.fail(`locale "${locale}" is not a valid locale name`);
  }
}

const stringNormalizer: OpDef["cpu"] = (ctx, inputs) => {
  const x = stringInput(ctx, inputs, 0);
  const rank = x.dims.length;
  if (!(rank === 1 || (rank === 2 && x.dims[0] === 1))) {
    throw ctx.fail(`input must have shape [C] or [1, C], got [${x.dims}]`);
  }
  const action = ctx.attrs.string("case_change_action", "NONE");
  if (action !== "NONE" && action !== "LOWER" && action !== "UPPER") {
    throw ctx.fail(`case_change_action must be NONE, LOWER or UPPER, got "${action}"`);
  }
  const caseSensitive = ctx.attrs.int("is_case_sensitive", 0) !== 0;
  const locale = jsLocale(ctx, ctx.attrs.string("locale", "en_US"));
  const fold = (s: string) => s.toLocaleLowerCase(locale);
  const stopwords = ctx.attrs.strings("stopwords", []);
  const stop = new Set(caseSensitive ? stopwords : stopwords.map(fold));
  const data = x.data as string[];
  const kept: string[] = [];
  for (const s of data) {
    if (stop.size > 0 && stop.has(caseSensitive ? s : fold(s))) continue;
    kept.push(
      action === "LOWER"
        ? s.toLocaleLowerCase(locale)
        : action === "UPPER"
        ? s.toLocaleUpperCase(locale)
        : s,
    );
  }
  // Everything filtered out: a single empty string, as onnxruntime and the reference do.
  if (kept.length === 0) return [new Tensor("string", [""], rank === 1 ? [1] : [1, 1])];
  return [new Tensor("string", kept, rank === 1 ? [kept.length] : [1, kept.length])];
};

function stringNormalizerInfer(ctx: InferContext): (ValueType | undefined)[] {
  const shape = tensorShapeOf(ctx.input(0));
  const noStop = ctx.attrs.strings("stopwords", []).length === 0;
  return [{
    kind: "tensor",
    elemType: "string",
    shape: shape
      ? shape.map((d, i) => (i === shape.length - 1 && !noStop ? undefined : d))
      : undefined,
  }];
}

// ------------------------------------------------------------------------------------------
// RegexFullMatch.
// ------------------------------------------------------------------------------------------

const regexCache = new Map<string, RegExp>();

function compileRe2(ctx: OpContext, pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re) return re;
  try {
    re = new RegExp(re2ToJsFullMatch(pattern), "u");
  } catch (e) {
    if (e instanceof Re2SyntaxError) throw ctx.fail(`pattern is not valid RE2: ${e.message}`);
    throw ctx.fail(`pattern /${pattern}/ is not valid: ${e instanceof Error ? e.message : e}`);
  }
  if (regexCache.size > 256) regexCache.clear();
  regexCache.set(pattern, re);
  return re;
}

const regexFullMatch: OpDef["cpu"] = (ctx, inputs) => {
  const x = stringInput(ctx, inputs, 0);
  const re = compileRe2(ctx, ctx.attrs.string("pattern"));
  const data = x.data as string[];
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = re.test(data[i]) ? 1 : 0;
  return [new Tensor("bool", out, x.dims)];
};

// ------------------------------------------------------------------------------------------
// StringConcat.
// ------------------------------------------------------------------------------------------

const stringConcat: OpDef["cpu"] = (ctx, inputs) => {
  const a = stringInput(ctx, inputs, 0);
  const b = stringInput(ctx, inputs, 1);
  const dims = broadcastShapes(a.dims, b.dims);
  if (!dims) throw ctx.fail(`shapes [${a.dims}] and [${b.dims}] cannot be broadcast`);
  const n = shapeSize(dims);
  const ia = broadcastOffsets(a.dims, dims);
  const ib = broadcastOffsets(b.dims, dims);
  const da = a.data as string[];
  const db = b.data as string[];
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = da[ia ? ia[i] : i] + db[ib ? ib[i] : i];
  return [new Tensor("string", out, dims)];
};

function stringConcatInfer(ctx: InferContext): (ValueType | undefined)[] {
  const a = tensorShapeOf(ctx.input(0));
  const b = tensorShapeOf(ctx.input(1));
  let shape: Dim[] | undefined;
  if (a && b) {
    const r = Math.max(a.length, b.length);
    shape = [];
    for (let i = 0; i < r; i++) {
      const x = a[a.length - r + i] ?? 1;
      const y = b[b.length - r + i] ?? 1;
      if (x === 1) shape.push(y);
      else if (y === 1 || x === y) shape.push(x);
      else if (typeof x === "number" && typeof y === "number") {
        ctx.error(`shapes [${a}] and [${b}] cannot be broadcast`);
        shape.push(undefined);
      } else shape.push(typeof x === "number" ? x : typeof y === "number" ? y : undefined);
    }
  }
  return [{ kind: "tensor", elemType: "string", shape }];
}

// ------------------------------------------------------------------------------------------
// StringSplit.
// ------------------------------------------------------------------------------------------

/** Python's `str.split(None, maxsplit)`: runs of whitespace separate, ends are trimmed. */
function splitWhitespace(s: string, maxsplit: number): string[] {
  const parts: string[] = [];
  const ws = /\s/u;
  const cps = Array.from(s);
  let i = 0;
  const n = cps.length;
  while (true) {
    while (i < n && ws.test(cps[i])) i++;
    if (i >= n) break;
    if (maxsplit >= 0 && parts.length === maxsplit) {
      // The rest, leading whitespace stripped, trailing whitespace kept (as Python does).
      parts.push(cps.slice(i).join(""));
      break;
    }
    const start = i;
    while (i < n && !ws.test(cps[i])) i++;
    parts.push(cps.slice(start, i).join(""));
  }
  return parts;
}

/** Python's `str.split(sep, maxsplit)` with a non-empty separator. */
function splitOn(s: string, sep: string, maxsplit: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (maxsplit < 0 || parts.length < maxsplit) {
    const at = s.indexOf(sep, start);
    if (at < 0) break;
    parts.push(s.slice(start, at));
    start = at + sep.length;
  }
  parts.push(s.slice(start));
  return parts;
}

const stringSplit: OpDef["cpu"] = (ctx, inputs) => {
  const x = stringInput(ctx, inputs, 0);
  const delimiter = ctx.attrs.string("delimiter", "");
  const maxsplit = ctx.attrs.has("maxsplit") ? ctx.attrs.int("maxsplit") : -1;
  if (ctx.attrs.has("maxsplit") && maxsplit < 0) {
    throw ctx.fail(`maxsplit must be ≥ 0, got ${maxsplit}`);
  }
  const data = x.data as string[];
  const pieces = data.map((s) =>
    delimiter === "" ? splitWhitespace(s, maxsplit) : splitOn(s, delimiter, maxsplit)
  );
  let width = 0;
  for (const p of pieces) width = Math.max(width, p.length);
  const y = new Array<string>(data.length * width).fill("");
  const z = new BigInt64Array(data.length);
  pieces.forEach((p, i) => {
    z[i] = BigInt(p.length);
    for (let j = 0; j < p.length; j++) y[i * width + j] = p[j];
  });
  return [new Tensor("string", y, [...x.dims, width]), new Tensor("int64", z, x.dims)];
};

function stringSplitInfer(ctx: InferContext): (ValueType | undefined)[] {
  const shape = tensorShapeOf(ctx.input(0));
  return [
    { kind: "tensor", elemType: "string", shape: shape ? [...shape, undefined] : undefined },
    { kind: "tensor", elemType: "int64", shape },
  ];
}

// ------------------------------------------------------------------------------------------
// TfIdfVectorizer.
// ------------------------------------------------------------------------------------------

interface TfIdfConfig {
  minN: number;
  maxN: number;
  maxSkip: number;
  mode: "TF" | "IDF" | "TFIDF";
  /** Per n-gram length n (index n), pool n-gram key → output column. */
  pools: Map<string, number>[];
  weights: number[];
  width: number;
  strings: boolean;
}

const configCache = new WeakMap<object, TfIdfConfig>();

function tfidfConfig(ctx: OpContext): TfIdfConfig {
  const cached = configCache.get(ctx.node);
  if (cached) return cached;
  const minN = ctx.attrs.int("min_gram_length");
  const maxN = ctx.attrs.int("max_gram_length");
  const maxSkip = ctx.attrs.int("max_skip_count");
  const mode = ctx.attrs.string("mode");
  if (mode !== "TF" && mode !== "IDF" && mode !== "TFIDF") {
    throw ctx.fail(`mode must be TF, IDF or TFIDF, got "${mode}"`);
  }
  if (minN < 1 || maxN < minN) {
    throw ctx.fail(`gram lengths must satisfy 1 ≤ min (${minN}) ≤ max (${maxN})`);
  }
  if (maxSkip < 0) throw ctx.fail(`max_skip_count must be ≥ 0, got ${maxSkip}`);
  const counts = ctx.attrs.ints("ngram_counts");
  const indexes = ctx.attrs.ints("ngram_indexes");
  const strings = ctx.attrs.has("pool_strings");
  const poolInts = strings ? [] : ctx.attrs.bigints("pool_int64s", []);
  const poolStrings = strings ? ctx.attrs.strings("pool_strings") : [];
  const poolLen = strings ? poolStrings.length : poolInts.length;
  if (!strings && !ctx.attrs.has("pool_int64s")) {
    throw ctx.fail("one of pool_int64s and pool_strings is required");
  }
  const pools: Map<string, number>[] = [];
  let ngram = 0;
  for (let g = 0; g < counts.length; g++) {
    const n = g + 1;
    const start = counts[g];
    const end = g + 1 < counts.length ? counts[g + 1] : poolLen;
    if (start < 0 || end > poolLen || end < start || (end - start) % n !== 0) {
      throw ctx.fail(`ngram_counts [${counts}] does not describe a pool of ${poolLen} items`);
    }
    const map = new Map<string, number>();
    for (let p = start; p < end; p += n) {
      const items = strings ? poolStrings.slice(p, p + n) : poolInts.slice(p, p + n).map(String);
      if (ngram >= indexes.length) {
        throw ctx.fail(
          `ngram_indexes has ${indexes.length} entries, fewer than the pool's n-grams`,
        );
      }
      map.set(gramKey(items), indexes[ngram++]);
    }
    pools[n] = map;
  }
  if (ngram !== indexes.length) {
    throw ctx.fail(`ngram_indexes has ${indexes.length} entries, the pool holds ${ngram} n-grams`);
  }
  let width = 0;
  for (const i of indexes) {
    if (i < 0) throw ctx.fail(`ngram_indexes must be ≥ 0, got ${i}`);
    width = Math.max(width, i + 1);
  }
  const weights = ctx.attrs.floats("weights", []);
  if (weights.length > 0 && weights.length < width) {
    throw ctx.fail(`weights has ${weights.length} entries, the output has ${width} columns`);
  }
  const cfg: TfIdfConfig = { minN, maxN, maxSkip, mode, pools, weights, width, strings };
  configCache.set(ctx.node, cfg);
  return cfg;
}

function gramKey(items: string[]): string {
  // Length-prefixed items: unambiguous for any string content.
  let k = "";
  for (const s of items) k += `${s.length}:${s}`;
  return k;
}

const tfidf: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const cfg = tfidfConfig(ctx);
  if (cfg.strings ? x.type !== "string" : x.type !== "int32" && x.type !== "int64") {
    throw ctx.fail(
      `input type ${x.type} does not match the ${cfg.strings ? "string" : "integer"} pool`,
    );
  }
  const rank = x.dims.length;
  if (rank !== 1 && rank !== 2) throw ctx.fail(`input must be [C] or [N, C], got [${x.dims}]`);
  const rows = rank === 1 ? 1 : x.dims[0];
  const cols = x.dims[rank - 1];
  const tokens: string[] = cfg.strings
    ? x.data as string[]
    : x.type === "int64"
    ? Array.from(x.data as BigArray, (v) => String(v))
    : Array.from(x.data as Int32Array, (v) => String(v));
  const keys = tokens.map((t) => `${t.length}:${t}`);
  const out = new Float32Array(rows * cfg.width);
  const { minN, maxN, maxSkip, pools } = cfg;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const counts = out.subarray(r * cfg.width, (r + 1) * cfg.width);
    let startN = minN;
    for (let d = 1; d <= maxSkip + 1; d++) {
      for (let s = 0; s < cols; s++) {
        if (s + d * (startN - 1) >= cols) break;
        let key = "";
        for (let n = 1, p = s; n <= maxN && p < cols; n++, p += d) {
          key += keys[base + p];
          if (n < startN) continue;
          const col = pools[n]?.get(key);
          if (col !== undefined) counts[col]++;
        }
      }
      // Unigrams do not depend on the skip distance: count them once.
      if (startN === 1) {
        startN = 2;
        if (startN > maxN) break;
      }
    }
  }
  const w = cfg.weights;
  if (cfg.mode === "IDF") {
    for (let i = 0; i < out.length; i++) {
      if (out[i] > 0) out[i] = w.length ? w[i % cfg.width] : 1;
    }
  } else if (cfg.mode === "TFIDF" && w.length) {
    for (let i = 0; i < out.length; i++) out[i] *= w[i % cfg.width];
  }
  return [new Tensor("float32", out, rank === 1 ? [cfg.width] : [rows, cfg.width])];
};

function tfidfInfer(ctx: InferContext): (ValueType | undefined)[] {
  const shape = tensorShapeOf(ctx.input(0));
  const indexes = ctx.attrs.ints("ngram_indexes", []);
  const width = indexes.length ? Math.max(...indexes) + 1 : undefined;
  let out: Dim[] | undefined;
  if (shape?.length === 1) out = [width];
  else if (shape?.length === 2) out = [shape[0], width];
  else if (shape) ctx.error(`input must be [C] or [N, C], got rank ${shape.length}`);
  return [{ kind: "tensor", elemType: "float32", shape: out }];
}

// ------------------------------------------------------------------------------------------
// Declarations.
// ------------------------------------------------------------------------------------------

/** Every string declaration. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "StringNormalizer",
    versions: [10],
    cpu: stringNormalizer,
    infer: stringNormalizerInfer,
  },
  {
    domain: "",
    opType: "RegexFullMatch",
    versions: [20],
    cpu: regexFullMatch,
    infer: (ctx) => [{ kind: "tensor", elemType: "bool", shape: tensorShapeOf(ctx.input(0)) }],
  },
  {
    domain: "",
    opType: "StringConcat",
    versions: [20],
    cpu: stringConcat,
    infer: stringConcatInfer,
  },
  {
    domain: "",
    opType: "StringSplit",
    versions: [20],
    cpu: stringSplit,
    infer: stringSplitInfer,
  },
  {
    domain: "",
    opType: "TfIdfVectorizer",
    versions: [9],
    cpu: tfidf,
    infer: tfidfInfer,
  },
];
