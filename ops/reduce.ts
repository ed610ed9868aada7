/**
 * Reductions: the Reduce* family (axes as attribute or input by version, keepdims,
 * noop_with_empty_axes, empty reduction sets), ArgMax/ArgMin, CumSum/CumProd and TopK.
 * Float inputs accumulate in float64; int64/uint64 are exact (bigint); narrower integers use
 * wrapping 32-bit arithmetic for sums and products.
 *
 * @module
 */

import {
  type BigArray,
  type DataType,
  isBig,
  type NumericArray,
} from "../pipeline/tensor/dtype.ts";
import { dataToNumbers, fromNumbers, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { alloc, optionalTensorAt, shapeSize, tensorAt, toIntArray } from "./util.ts";

const FLOATS = new Set<DataType>(["float32", "float64", "float16", "bfloat16"]);
const SMALL_INTS = new Set<DataType>([
  "int8",
  "int16",
  "int32",
  "uint8",
  "uint16",
  "uint32",
]);

function isFloatish(t: DataType): boolean {
  return FLOATS.has(t);
}

function tensorShape(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function elemOf(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

/** Smallest and largest finite value of an integer type as numbers (bool: 0 and 1). */
function intLimits(type: DataType): [number, number] {
  switch (type) {
    case "bool":
      return [0, 1];
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
    default:
      throw new TypeError(`No limits for ${type}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reduce*
// ---------------------------------------------------------------------------------------------

/** The reduction a Reduce* op performs. */
export type ReduceOp =
  | "sum"
  | "mean"
  | "max"
  | "min"
  | "prod"
  | "l1"
  | "l2"
  | "logsum"
  | "logsumexp"
  | "sumsquare";

const REDUCE_OPS: Record<string, ReduceOp> = {
  ReduceSum: "sum",
  ReduceMean: "mean",
  ReduceMax: "max",
  ReduceMin: "min",
  ReduceProd: "prod",
  ReduceL1: "l1",
  ReduceL2: "l2",
  ReduceLogSum: "logsum",
  ReduceLogSumExp: "logsumexp",
  ReduceSumSquare: "sumsquare",
};

/** Version from which the op takes axes as an input instead of an attribute. */
function axesInputSince(opType: string): number {
  return opType === "ReduceSum" ? 13 : 18;
}

/** Element types each reduction accepts. */
function reduceAccepts(op: ReduceOp, type: DataType): boolean {
  if (isFloatish(type)) return true;
  if (type === "int32" || type === "int64" || type === "uint32" || type === "uint64") return true;
  if (op === "max" || op === "min") return type === "int8" || type === "uint8" || type === "bool";
  return false;
}

/** Which axes to reduce; undefined = "empty" (all, or none with noop_with_empty_axes). */
function reduceAxesOf(
  ctx: OpContext,
  inputs: (Value | undefined)[],
): number[] | undefined {
  if (ctx.version >= axesInputSince(ctx.node.opType)) {
    const t = optionalTensorAt(ctx, inputs, 1);
    if (!t || t.size === 0) return undefined;
    if (t.type !== "int64" && t.type !== "int32") {
      throw ctx.fail(`axes must be int64, got ${t.type}`);
    }
    return toIntArray(t);
  }
  if (!ctx.attrs.has("axes")) return undefined;
  const a = ctx.attrs.ints("axes");
  return a.length ? a : undefined;
}

/** For each input element, the index of the output element it reduces into. */
function reductionMap(dims: readonly number[], reduced: readonly boolean[]): {
  map: Int32Array;
  outCount: number;
  groupSize: number;
} {
  const rank = dims.length;
  const outStrides = new Array<number>(rank).fill(0);
  let acc = 1;
  let group = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (reduced[d]) {
      group *= dims[d];
      continue;
    }
    outStrides[d] = acc;
    acc *= dims[d];
  }
  const n = shapeSize(dims);
  const map = new Int32Array(n);
  if (n === 0 || rank === 0) return { map, outCount: acc, groupSize: group };
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const inner = dims[last];
  const innerStride = outStrides[last];
  let off = 0;
  for (let i = 0; i < n; i += inner) {
    let p = off;
    for (let k = 0; k < inner; k++, p += innerStride) map[i + k] = p;
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += outStrides[d];
      if (idx[d] < dims[d]) break;
      off -= outStrides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return { map, outCount: acc, groupSize: group };
}

/** Reduces number data (float math in float64). */
function reduceNumbers(
  op: ReduceOp,
  src: NumericArray,
  map: Int32Array,
  outCount: number,
  groupSize: number,
  emptyMax: number,
  emptyMin: number,
): Float64Array {
  const n = src.length;
  const out = new Float64Array(outCount);
  switch (op) {
    case "max": {
      out.fill(emptyMax);
      for (let i = 0; i < n; i++) {
        const x = src[i], o = map[i], a = out[o];
        if (x > a || (x !== x && a === a)) out[o] = x;
      }
      return out;
    }
    case "min": {
      out.fill(emptyMin);
      for (let i = 0; i < n; i++) {
        const x = src[i], o = map[i], a = out[o];
        if (x < a || (x !== x && a === a)) out[o] = x;
      }
      return out;
    }
    case "prod": {
      out.fill(1);
      for (let i = 0; i < n; i++) out[map[i]] *= src[i];
      return out;
    }
    case "l1":
      for (let i = 0; i < n; i++) out[map[i]] += Math.abs(src[i]);
      return out;
    case "l2":
    case "sumsquare":
      for (let i = 0; i < n; i++) {
        const x = src[i];
        out[map[i]] += x * x;
      }
      if (op === "l2") { for (let o = 0; o < outCount; o++) out[o] = Math.sqrt(out[o]); }
      return out;
    case "logsumexp": {
      const mx = new Float64Array(outCount).fill(-Infinity);
      for (let i = 0; i < n; i++) {
        const x = src[i], o = map[i];
        if (x > mx[o] || x !== x) mx[o] = x;
      }
      for (let o = 0; o < outCount; o++) if (!Number.isFinite(mx[o])) mx[o] = 0;
      for (let i = 0; i < n; i++) out[map[i]] += Math.exp(src[i] - mx[map[i]]);
      for (let o = 0; o < outCount; o++) out[o] = Math.log(out[o]) + mx[o];
      return out;
    }
    default: {
      for (let i = 0; i < n; i++) out[map[i]] += src[i];
      if (op === "logsum") { for (let o = 0; o < outCount; o++) out[o] = Math.log(out[o]); }
      if (op === "mean") { for (let o = 0; o < outCount; o++) out[o] /= groupSize; }
      return out;
    }
  }
}

/** Sum/product/sum of squares/L1 of 32-bit-or-narrower integers with wrapping arithmetic. */
function reduceIntWrapping(
  op: "sum" | "prod" | "sumsquare" | "l1",
  src: NumericArray,
  map: Int32Array,
  outCount: number,
): Int32Array {
  const n = src.length;
  const out = new Int32Array(outCount);
  if (op === "prod") {
    out.fill(1);
    for (let i = 0; i < n; i++) out[map[i]] = Math.imul(out[map[i]], src[i]);
  } else if (op === "sumsquare") {
    for (let i = 0; i < n; i++) out[map[i]] = (out[map[i]] + Math.imul(src[i], src[i])) | 0;
  } else if (op === "l1") {
    for (let i = 0; i < n; i++) out[map[i]] = (out[map[i]] + Math.abs(src[i])) | 0;
  } else {
    for (let i = 0; i < n; i++) out[map[i]] = (out[map[i]] + src[i]) | 0;
  }
  return out;
}

/** Reduces int64/uint64 data exactly; float-valued results (l2, logs) round toward zero. */
function reduceBig(
  op: ReduceOp,
  type: DataType,
  src: BigArray,
  map: Int32Array,
  outCount: number,
  groupSize: number,
): BigArray {
  const n = src.length;
  const out = alloc(type, outCount) as BigArray;
  const wrap = type === "int64"
    ? (v: bigint) => BigInt.asIntN(64, v)
    : (v: bigint) => BigInt.asUintN(64, v);
  switch (op) {
    case "max":
    case "min": {
      const lo = type === "int64" ? -(1n << 63n) : 0n;
      const hi = type === "int64" ? (1n << 63n) - 1n : (1n << 64n) - 1n;
      out.fill(op === "max" ? lo : hi);
      for (let i = 0; i < n; i++) {
        const x = src[i], o = map[i];
        if (op === "max" ? x > out[o] : x < out[o]) out[o] = x;
      }
      return out;
    }
    case "prod":
      out.fill(1n);
      for (let i = 0; i < n; i++) out[map[i]] = wrap(out[map[i]] * src[i]);
      return out;
    case "sum":
    case "mean":
    case "l1":
    case "sumsquare": {
      const acc = new Array<bigint>(outCount).fill(0n);
      for (let i = 0; i < n; i++) {
        const x = src[i];
        acc[map[i]] += op === "l1" ? (x < 0n ? -x : x) : op === "sumsquare" ? x * x : x;
      }
      for (let o = 0; o < outCount; o++) {
        out[o] = wrap(op === "mean" ? (groupSize ? acc[o] / BigInt(groupSize) : 0n) : acc[o]);
      }
      return out;
    }
    default: {
      const f = reduceNumbers(
        op,
        dataToNumbers(type, src),
        map,
        outCount,
        groupSize,
        -Infinity,
        Infinity,
      );
      for (let o = 0; o < outCount; o++) {
        out[o] = Number.isFinite(f[o]) ? wrap(BigInt(Math.trunc(f[o]))) : 0n;
      }
      return out;
    }
  }
}

/** Reduces `x` over `axes` (normalized) with op `op`; keepdims keeps reduced axes as 1. */
export function reduceTensor(
  op: ReduceOp,
  x: Tensor,
  axes: readonly number[],
  keepdims: boolean,
): Tensor {
  const rank = x.dims.length;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  const outDims = keepdims
    ? x.dims.map((d, i) => (reduced[i] ? 1 : d))
    : x.dims.filter((_, i) => !reduced[i]);
  const { map, outCount, groupSize } = reductionMap(x.dims, reduced);
  const type = x.type;
  if (isBig(type)) {
    return new Tensor(
      type,
      reduceBig(op, type, x.data as BigArray, map, outCount, groupSize),
      outDims,
    );
  }
  const src = dataToNumbers(type, x.data);
  if (isFloatish(type)) {
    const r = reduceNumbers(op, src, map, outCount, groupSize, -Infinity, Infinity);
    return new Tensor(type, fromNumbers(type, r), outDims);
  }
  // Integers narrower than 64 bits and bool.
  if (op === "sum" || op === "prod" || op === "sumsquare" || op === "l1") {
    const r = reduceIntWrapping(op, src, map, outCount);
    return new Tensor(type, fromNumbers(type, r), outDims);
  }
  const [lo, hi] = intLimits(type);
  const r = reduceNumbers(op, src, map, outCount, groupSize, lo, hi);
  for (let o = 0; o < outCount; o++) r[o] = Number.isFinite(r[o]) ? Math.trunc(r[o]) : 0;
  return new Tensor(type, fromNumbers(type, r), outDims);
}

function reduceCpu(op: ReduceOp): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    if (!reduceAccepts(op, x.type)) {
      throw ctx.unsupported(`${ctx.node.opType} does not accept ${x.type}`, x.type);
    }
    const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
    const noop = ctx.version >= axesInputSince(ctx.node.opType) &&
      ctx.attrs.int("noop_with_empty_axes", 0) !== 0;
    const given = reduceAxesOf(ctx, inputs);
    const rank = x.dims.length;
    let axes: number[];
    if (given === undefined) axes = noop ? [] : Array.from({ length: rank }, (_, i) => i);
    else {
      axes = [];
      for (const a of given) {
        if (a < -rank || a >= rank) throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
        const n = a < 0 ? a + rank : a;
        if (!axes.includes(n)) axes.push(n);
      }
    }
    return [reduceTensor(op, x, axes, keepdims)];
  };
}

function reduceInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.input(0);
  const elemType = elemOf(t);
  const shape = tensorShape(t);
  const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
  const fromInput = ctx.version >= axesInputSince(ctx.node.opType);
  const noop = fromInput && ctx.attrs.int("noop_with_empty_axes", 0) !== 0;
  if (!shape) return [{ kind: "tensor", elemType }];
  const rank = shape.length;
  let axes: number[] | undefined;
  if (fromInput) {
    if (!ctx.hasInput(1)) axes = [];
    else {
      const c = ctx.constant(1);
      if (c) axes = toIntArray(c);
    }
  } else axes = ctx.attrs.has("axes") ? ctx.attrs.ints("axes") : [];
  if (axes === undefined) {
    return [{
      kind: "tensor",
      elemType,
      shape: keepdims ? shape.map((d) => (d === 1 ? 1 : undefined)) : undefined,
    }];
  }
  let norm: number[];
  if (axes.length === 0) norm = noop ? [] : shape.map((_, i) => i);
  else {
    norm = [];
    for (const a of axes) {
      if (a < -rank || a >= rank) {
        ctx.error(`axis ${a} is out of range for rank ${rank}`);
        return [{ kind: "tensor", elemType }];
      }
      norm.push(a < 0 ? a + rank : a);
    }
  }
  const out = keepdims
    ? shape.map((d, i) => (norm.includes(i) ? 1 : d))
    : shape.filter((_, i) => !norm.includes(i));
  return [{ kind: "tensor", elemType, shape: out }];
}

// ---------------------------------------------------------------------------------------------
// ArgMax / ArgMin
// ---------------------------------------------------------------------------------------------

function argCpu(isMax: boolean): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    if (x.type === "string" || x.type === "complex64" || x.type === "complex128") {
      throw ctx.unsupported(`${ctx.node.opType} does not accept ${x.type}`, x.type);
    }
    const rank = x.dims.length;
    const axisAttr = ctx.attrs.int("axis", 0);
    if (axisAttr < -Math.max(rank, 1) || axisAttr >= Math.max(rank, 1)) {
      throw ctx.fail(`axis ${axisAttr} is out of range for rank ${rank}`);
    }
    const axis = rank === 0 ? 0 : axisAttr < 0 ? axisAttr + rank : axisAttr;
    const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
    const last = ctx.version >= 12 && ctx.attrs.int("select_last_index", 0) !== 0;
    const dims = rank === 0 ? [1] : x.dims;
    const n = dims[axis];
    const outer = shapeSize(dims.slice(0, axis));
    const inner = shapeSize(dims.slice(axis + 1));
    const outDims = rank === 0
      ? []
      : keepdims
      ? x.dims.map((d, i) => (i === axis ? 1 : d))
      : x.dims.filter((_, i) => i !== axis);
    if (n === 0 && outer * inner > 0) {
      throw ctx.fail(`cannot take ${ctx.node.opType} of an empty axis`);
    }
    const out = new BigInt64Array(outer * inner);
    if (isBig(x.type)) {
      const src = x.data as BigArray;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          let best = src[base];
          let bi = 0;
          for (let k = 1; k < n; k++) {
            const v = src[base + k * inner];
            if (isMax ? (v > best || (last && v === best)) : (v < best || (last && v === best))) {
              best = v;
              bi = k;
            }
          }
          out[o * inner + i] = BigInt(bi);
        }
      }
    } else {
      const src = dataToNumbers(x.type, x.data);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          let best = src[base];
          let bi = 0;
          for (let k = 1; k < n; k++) {
            const v = src[base + k * inner];
            if (best !== best) {
              // NaN wins: the first one, or the last one with select_last_index.
              if (last && v !== v) bi = k;
              continue;
            }
            if (v !== v) {
              best = v;
              bi = k;
              continue;
            }
            if (isMax ? (v > best || (last && v === best)) : (v < best || (last && v === best))) {
              best = v;
              bi = k;
            }
          }
          out[o * inner + i] = BigInt(bi);
        }
      }
    }
    return [new Tensor("int64", out, outDims)];
  };
}

function argInfer(ctx: InferContext): (ValueType | undefined)[] {
  const shape = tensorShape(ctx.input(0));
  if (!shape) return [{ kind: "tensor", elemType: "int64" }];
  const rank = shape.length;
  const a = ctx.attrs.int("axis", 0);
  if (rank > 0 && (a < -rank || a >= rank)) {
    ctx.error(`axis ${a} is out of range for rank ${rank}`);
    return [{ kind: "tensor", elemType: "int64" }];
  }
  const axis = a < 0 ? a + rank : a;
  const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
  const out = keepdims
    ? shape.map((d, i) => (i === axis ? 1 : d))
    : shape.filter((_, i) => i !== axis);
  return [{ kind: "tensor", elemType: "int64", shape: out }];
}

// ---------------------------------------------------------------------------------------------
// CumSum / CumProd
// ---------------------------------------------------------------------------------------------

function cumCpu(isProd: boolean): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    const at = tensorAt(ctx, inputs, 1);
    const op = ctx.node.opType;
    if (!(isFloatish(x.type) || SMALL_INTS.has(x.type) || isBig(x.type))) {
      throw ctx.unsupported(`${op} does not accept ${x.type}`, x.type);
    }
    if (at.size !== 1 || at.dims.length > 1 || (at.type !== "int32" && at.type !== "int64")) {
      throw ctx.fail(`axis must be an int32 or int64 scalar, got ${at}`);
    }
    const rank = x.dims.length;
    const a = toIntArray(at)[0];
    if (rank === 0 || a < -rank || a >= rank) {
      throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
    }
    const axis = a < 0 ? a + rank : a;
    const exclusive = ctx.attrs.int("exclusive", 0) !== 0;
    const reverse = ctx.attrs.int("reverse", 0) !== 0;
    const n = x.dims[axis];
    const outer = shapeSize(x.dims.slice(0, axis));
    const inner = shapeSize(x.dims.slice(axis + 1));
    const total = x.size;
    const step = reverse ? -inner : inner;
    if (isBig(x.type)) {
      const src = x.data as BigArray;
      const out = alloc(x.type, total) as BigArray;
      const wrap = x.type === "int64"
        ? (v: bigint) => BigInt.asIntN(64, v)
        : (v: bigint) => BigInt.asUintN(64, v);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let p = o * n * inner + i + (reverse ? (n - 1) * inner : 0);
          let acc = isProd ? 1n : 0n;
          for (let k = 0; k < n; k++, p += step) {
            if (exclusive) {
              out[p] = acc;
              acc = wrap(isProd ? acc * src[p] : acc + src[p]);
            } else {
              acc = wrap(isProd ? acc * src[p] : acc + src[p]);
              out[p] = acc;
            }
          }
        }
      }
      return [new Tensor(x.type, out, x.dims)];
    }
    const src = dataToNumbers(x.type, x.data);
    const floaty = isFloatish(x.type);
    const res = floaty ? new Float64Array(total) : new Int32Array(total);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let p = o * n * inner + i + (reverse ? (n - 1) * inner : 0);
        let acc = isProd ? 1 : 0;
        for (let k = 0; k < n; k++, p += step) {
          const v = src[p];
          const next = floaty
            ? (isProd ? acc * v : acc + v)
            : (isProd ? Math.imul(acc, v) : (acc + v) | 0);
          if (exclusive) {
            res[p] = acc;
            acc = next;
          } else {
            acc = next;
            res[p] = acc;
          }
        }
      }
    }
    return [new Tensor(x.type, fromNumbers(x.type, res), x.dims)];
  };
}

// ---------------------------------------------------------------------------------------------
// TopK
// ---------------------------------------------------------------------------------------------

function topkCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (
    x.type === "string" || x.type === "bool" || x.type === "complex64" || x.type === "complex128"
  ) {
    throw ctx.unsupported(`TopK does not accept ${x.type}`, x.type);
  }
  let k: number;
  if (ctx.version < 10) k = ctx.attrs.int("k");
  else {
    const kt = tensorAt(ctx, inputs, 1);
    if (kt.size !== 1) throw ctx.fail(`K must hold one value, got ${kt}`);
    k = toIntArray(kt)[0];
  }
  const rank = x.dims.length;
  const a = ctx.attrs.int("axis", -1);
  if (rank === 0 || a < -rank || a >= rank) {
    throw ctx.fail(`axis ${a} is out of range for rank ${rank}`);
  }
  const axis = a < 0 ? a + rank : a;
  const largest = ctx.version < 11 || ctx.attrs.int("largest", 1) !== 0;
  const n = x.dims[axis];
  if (!Number.isInteger(k) || k < 0 || k > n) throw ctx.fail(`K = ${k} is out of range [0, ${n}]`);
  const outer = shapeSize(x.dims.slice(0, axis));
  const inner = shapeSize(x.dims.slice(axis + 1));
  const outDims = x.dims.map((d, i) => (i === axis ? k : d));
  const outSize = outer * k * inner;
  const indices = new BigInt64Array(outSize);
  const big = isBig(x.type);
  const bsrc = big ? (x.data as BigArray) : undefined;
  const nsrc = big ? undefined : dataToNumbers(x.type, x.data);
  const vals: (number | bigint)[] | Float64Array = big ? new Array<bigint>(n) : new Float64Array(n);
  // True when element p ranks strictly before element q: larger first (smaller first when
  // !largest), NaN counts as the largest value, ties go to the lower index.
  const before = (p: number, q: number): boolean => {
    const u = vals[p], v = vals[q];
    if (u === v) return p < q;
    const uNaN = u !== u, vNaN = v !== v;
    if (uNaN || vNaN) {
      if (uNaN && vNaN) return p < q;
      return uNaN === largest;
    }
    return largest ? u > v : u < v;
  };
  const cmp = (p: number, q: number): number => (p === q ? 0 : before(p, q) ? -1 : 1);
  // Small k: keep a sorted buffer of the best k (one pass); otherwise sort everything.
  const useBuffer = k <= 64 && k * 4 < n;
  const order = useBuffer ? new Int32Array(k) : new Array<number>(n);
  const outIdxFlat = new Int32Array(outSize);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) vals[j] = big ? bsrc![base + j * inner] : nsrc![base + j * inner];
      if (useBuffer) {
        let count = 0;
        for (let j = 0; j < n; j++) {
          if (count === k && !before(j, order[k - 1])) continue;
          let pos = count < k ? count++ : k - 1;
          while (pos > 0 && before(j, order[pos - 1])) {
            order[pos] = order[pos - 1];
            pos--;
          }
          order[pos] = j;
        }
      } else {
        for (let j = 0; j < n; j++) order[j] = j;
        (order as number[]).sort(cmp);
      }
      for (let j = 0; j < k; j++) {
        const q = o * k * inner + j * inner + i;
        indices[q] = BigInt(order[j]);
        outIdxFlat[q] = base + order[j] * inner;
      }
    }
  }
  const values = alloc(x.type, outSize) as unknown as { [i: number]: unknown };
  const src = x.data as unknown as { [i: number]: unknown };
  for (let q = 0; q < outSize; q++) values[q] = src[outIdxFlat[q]];
  return [
    new Tensor(x.type, values, outDims),
    new Tensor("int64", indices, outDims),
  ];
}

function topkInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.input(0);
  const elemType = elemOf(t);
  const shape = tensorShape(t);
  if (!shape) return [{ kind: "tensor", elemType }, { kind: "tensor", elemType: "int64" }];
  const rank = shape.length;
  const a = ctx.attrs.int("axis", -1);
  if (a < -rank || a >= rank) {
    ctx.error(`axis ${a} is out of range for rank ${rank}`);
    return [{ kind: "tensor", elemType }, { kind: "tensor", elemType: "int64" }];
  }
  const axis = a < 0 ? a + rank : a;
  let k: Dim;
  if (ctx.version < 10) k = ctx.attrs.int("k");
  else {
    const c = ctx.constant(1);
    k = c ? toIntArray(c)[0] : undefined;
  }
  const out = shape.map((d, i) => (i === axis ? k : d));
  return [{ kind: "tensor", elemType, shape: out }, {
    kind: "tensor",
    elemType: "int64",
    shape: [...out],
  }];
}

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

/** Reduction declarations. */
export const ops: OpDef[] = [
  ...Object.entries(REDUCE_OPS).map(([opType, op]): OpDef => ({
    domain: "",
    opType,
    versions: opType === "ReduceSum"
      ? [1, 11, 13]
      : opType === "ReduceMax" || opType === "ReduceMin"
      ? [1, 11, 12, 13, 18, 20]
      : [1, 11, 13, 18],
    cpu: reduceCpu(op),
    infer: reduceInfer,
    hostInputs: [1],
  })),
  { domain: "", opType: "ArgMax", versions: [1, 11, 12, 13], cpu: argCpu(true), infer: argInfer },
  { domain: "", opType: "ArgMin", versions: [1, 11, 12, 13], cpu: argCpu(false), infer: argInfer },
  {
    domain: "",
    opType: "CumSum",
    versions: [11, 14],
    cpu: cumCpu(false),
    infer: sameInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "CumProd",
    versions: [26],
    cpu: cumCpu(true),
    infer: sameInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "TopK",
    versions: [1, 10, 11, 24],
    cpu: topkCpu,
    infer: topkInfer,
    hostInputs: [1],
  },
];
