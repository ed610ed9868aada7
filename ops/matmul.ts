/**
 * Matrix products: MatMul (N-D, numpy broadcasting of batch dims and 1-D operands), Gemm,
 * Einsum (any equation: repeated labels, ellipsis, implicit output) and Det (LU with partial
 * pivoting). Float products go through `gemm()`; integer products are exact (int32/uint32 wrap
 * like C, int64/uint64 use bigints); float16/bfloat16 compute in float64 and round once.
 *
 * @module
 */

import { gemm } from "../pipeline/run/cpu/gemm.ts";
import type { BigArray, DataType, TensorData } from "../pipeline/tensor/dtype.ts";
import { dataToNumbers, fromNumbers, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  broadcastOffsets,
  broadcastShapes,
  optionalTensorAt,
  shapeSize,
  stridesOf,
  tensorAt,
} from "./util.ts";

// ---------------------------------------------------------------------------------------------
// Compute arrays: the storage products and sums run on, chosen per element type.
// ---------------------------------------------------------------------------------------------

/** Storage a product is computed in. */
export type ComputeArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Element types the products in this file accept. */
const PRODUCT_TYPES = new Set<DataType>([
  "float32",
  "float64",
  "float16",
  "bfloat16",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
]);

/**
 * Converts tensor data to its compute storage: float32 stays float32, float64 and packed
 * floats become float64, int32/uint32/int64/uint64 keep their storage (wrapping arithmetic),
 * narrower integers become float64 (exact, wrapped when encoded).
 */
export function toCompute(type: DataType, data: TensorData): ComputeArray {
  switch (type) {
    case "float32":
      return data as Float32Array;
    case "float64":
      return data as Float64Array;
    case "int32":
      return data as Int32Array;
    case "uint32":
      return data as Uint32Array;
    case "int64":
      return data as BigInt64Array;
    case "uint64":
      return data as BigUint64Array;
    default:
      return Float64Array.from(dataToNumbers(type, data));
  }
}

/** Allocates compute storage like `like` for `n` elements. */
function allocLike(like: ComputeArray, n: number): ComputeArray {
  const Ctor = like.constructor as new (n: number) => ComputeArray;
  return new Ctor(n);
}

/** Encodes compute storage as tensor data of `type` (rounding packed floats, wrapping ints). */
export function fromCompute(type: DataType, c: ComputeArray): TensorData {
  switch (type) {
    case "float32":
    case "float64":
    case "int32":
    case "uint32":
      return c as TensorData;
    case "int64": {
      const b = c as BigInt64Array;
      for (let i = 0; i < b.length; i++) b[i] = BigInt.asIntN(64, b[i]);
      return b;
    }
    case "uint64": {
      const b = c as BigUint64Array;
      for (let i = 0; i < b.length; i++) b[i] = BigInt.asUintN(64, b[i]);
      return b;
    }
    default:
      return fromNumbers(type, c as Float64Array);
  }
}

/**
 * Copies `src` (from `offset`) into a new array of shape `outDims`, where output axis `d`
 * advances the source by `strides[d]` (0 broadcasts, sums of strides take diagonals).
 */
function gatherStrided(
  src: ComputeArray,
  offset: number,
  outDims: readonly number[],
  strides: readonly number[],
): ComputeArray {
  const n = shapeSize(outDims);
  const out = allocLike(src, n) as { [i: number]: number | bigint };
  const s = src as { [i: number]: number | bigint };
  if (n === 0) return out as ComputeArray;
  const rank = outDims.length;
  if (rank === 0) {
    out[0] = s[offset];
    return out as ComputeArray;
  }
  const last = rank - 1;
  const inner = outDims[last];
  const innerStride = strides[last];
  const idx = new Array<number>(rank).fill(0);
  let off = offset;
  for (let o = 0; o < n; o += inner) {
    let p = off;
    for (let k = 0; k < inner; k++, p += innerStride) out[o + k] = s[p];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outDims[d]) break;
      off -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out as ComputeArray;
}

/** Sums contiguous groups of `group` elements: out[i] = sum(src[i*group .. (i+1)*group)). */
function sumGroups(src: ComputeArray, count: number, group: number): ComputeArray {
  const out = allocLike(src, count);
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    const o = out as BigArray;
    for (let i = 0; i < count; i++) {
      let acc = 0n;
      for (let k = 0, p = i * group; k < group; k++, p++) acc += src[p];
      o[i] = acc;
    }
  } else if (src instanceof Int32Array || src instanceof Uint32Array) {
    const o = out as Int32Array | Uint32Array;
    for (let i = 0; i < count; i++) {
      let acc = 0;
      for (let k = 0, p = i * group; k < group; k++, p++) acc = (acc + src[p]) | 0;
      o[i] = acc;
    }
  } else {
    const o = out as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) {
      let acc = 0;
      for (let k = 0, p = i * group; k < group; k++, p++) acc += src[p];
      o[i] = acc;
    }
  }
  return out;
}

/**
 * Batched product: for t in [0, batch), C[t] (M×N) = A[aIdx[t]] (M×K) · B[bIdx[t]] (K×N), all
 * row-major and contiguous. `aIdx`/`bIdx` map output batches to operand matrices (undefined
 * = identity). Floats use gemm(); integers are exact with wrapping.
 */
export function batchedProduct(
  a: ComputeArray,
  b: ComputeArray,
  batch: number,
  M: number,
  K: number,
  N: number,
  aIdx?: ArrayLike<number>,
  bIdx?: ArrayLike<number>,
): ComputeArray {
  const out = allocLike(a, batch * M * N);
  const mk = M * K, kn = K * N, mn = M * N;
  if (a instanceof Float32Array || a instanceof Float64Array) {
    const A = a, B = b as Float32Array | Float64Array, C = out as Float32Array | Float64Array;
    // One big product when B is shared and A is not broadcast.
    let bShared = bIdx !== undefined || batch === 1;
    if (bIdx) { for (let t = 1; t < batch && bShared; t++) bShared = bIdx[t] === bIdx[0]; }
    if (!aIdx && bShared && batch > 1) {
      gemm(batch * M, N, K, { data: A }, { data: B, offset: bIdx ? bIdx[0] * kn : 0 }, { data: C });
      return out;
    }
    for (let t = 0; t < batch; t++) {
      const ai = aIdx ? aIdx[t] : t, bi = bIdx ? bIdx[t] : t;
      gemm(M, N, K, { data: A, offset: ai * mk }, { data: B, offset: bi * kn }, {
        data: C,
        offset: t * mn,
      });
    }
    return out;
  }
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
    const A = a, B = b as BigArray, C = out as BigArray;
    const row = new Array<bigint>(N);
    for (let t = 0; t < batch; t++) {
      const ao = (aIdx ? aIdx[t] : t) * mk, bo = (bIdx ? bIdx[t] : t) * kn, co = t * mn;
      for (let i = 0; i < M; i++) {
        row.fill(0n);
        for (let k = 0; k < K; k++) {
          const av = A[ao + i * K + k];
          if (av === 0n) continue;
          const br = bo + k * N;
          for (let j = 0; j < N; j++) row[j] += av * B[br + j];
        }
        for (let j = 0; j < N; j++) C[co + i * N + j] = row[j];
      }
    }
    return out;
  }
  // int32 / uint32: wrapping multiply-add.
  const A = a as Int32Array | Uint32Array, B = b as Int32Array | Uint32Array;
  const C = out as Int32Array | Uint32Array;
  const row = new Int32Array(N);
  for (let t = 0; t < batch; t++) {
    const ao = (aIdx ? aIdx[t] : t) * mk, bo = (bIdx ? bIdx[t] : t) * kn, co = t * mn;
    for (let i = 0; i < M; i++) {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const av = A[ao + i * K + k];
        if (av === 0) continue;
        const br = bo + k * N;
        for (let j = 0; j < N; j++) row[j] = (row[j] + Math.imul(av, B[br + j])) | 0;
      }
      for (let j = 0; j < N; j++) C[co + i * N + j] = row[j];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shape inference helpers.
// ---------------------------------------------------------------------------------------------

function tensorShape(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function elemOf(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

/** Numpy broadcast of symbolic dims; reports incompatible numeric dims. */
export function broadcastDims(
  ctx: InferContext,
  a: readonly Dim[],
  b: readonly Dim[],
): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
    const y = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === "number" && typeof y === "number") {
      ctx.error(`dims ${x} and ${y} cannot be broadcast`);
      out.push(undefined);
    } else out.push(typeof x === "number" ? x : typeof y === "number" ? y : undefined);
  }
  return out;
}

function sameDim(ctx: InferContext, x: Dim, y: Dim, what: string): void {
  if (typeof x === "number" && typeof y === "number" && x !== y) {
    ctx.error(`${what}: ${x} != ${y}`);
  }
}

// ---------------------------------------------------------------------------------------------
// MatMul
// ---------------------------------------------------------------------------------------------

function checkProductType(ctx: OpContext, t: Tensor, op: string): void {
  if (!PRODUCT_TYPES.has(t.type)) throw ctx.unsupported(`${op} does not accept ${t.type}`, t.type);
}

/** MatMul of two tensors with numpy semantics; returns the output tensor. */
export function matmulTensors(ctx: OpContext, a: Tensor, b: Tensor): Tensor {
  checkProductType(ctx, a, "MatMul");
  if (a.type !== b.type) throw ctx.fail(`inputs have different types ${a.type} and ${b.type}`);
  if (a.dims.length === 0 || b.dims.length === 0) throw ctx.fail("inputs must not be scalars");
  const aDims = a.dims.length === 1 ? [1, a.dims[0]] : [...a.dims];
  const bDims = b.dims.length === 1 ? [b.dims[0], 1] : [...b.dims];
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const K2 = bDims[bDims.length - 2], N = bDims[bDims.length - 1];
  if (K !== K2) {
    throw ctx.fail(`inner dimensions differ: A is [${a.dims}] and B is [${b.dims}]`);
  }
  const aBatch = aDims.slice(0, -2), bBatch = bDims.slice(0, -2);
  const outBatch = broadcastShapes(aBatch, bBatch);
  if (!outBatch) throw ctx.fail(`batch dims of [${a.dims}] and [${b.dims}] cannot be broadcast`);
  const batch = shapeSize(outBatch);
  const aIdx = broadcastOffsets(aBatch, outBatch);
  const bIdx = broadcastOffsets(bBatch, outBatch);
  const c = batchedProduct(
    toCompute(a.type, a.data),
    toCompute(b.type, b.data),
    batch,
    M,
    K,
    N,
    aIdx,
    bIdx,
  );
  const outDims = [...outBatch];
  if (a.dims.length > 1) outDims.push(M);
  if (b.dims.length > 1) outDims.push(N);
  return new Tensor(a.type, fromCompute(a.type, c), outDims);
}

function matmulCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  return [matmulTensors(ctx, tensorAt(ctx, inputs, 0), tensorAt(ctx, inputs, 1))];
}

function matmulInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = elemOf(ctx.input(0));
  const a = tensorShape(ctx.input(0)), b = tensorShape(ctx.input(1));
  if (!a || !b) return [{ kind: "tensor", elemType }];
  if (a.length === 0 || b.length === 0) {
    ctx.error("MatMul inputs must not be scalars");
    return [{ kind: "tensor", elemType }];
  }
  const aa = a.length === 1 ? [1, a[0]] : a;
  const bb = b.length === 1 ? [b[0], 1] : b;
  sameDim(ctx, aa[aa.length - 1], bb[bb.length - 2], "MatMul inner dimensions differ");
  const out = broadcastDims(ctx, aa.slice(0, -2), bb.slice(0, -2));
  if (a.length > 1) out.push(aa[aa.length - 2]);
  if (b.length > 1) out.push(bb[bb.length - 1]);
  return [{ kind: "tensor", elemType, shape: out }];
}

// ---------------------------------------------------------------------------------------------
// Gemm
// ---------------------------------------------------------------------------------------------

function transpose2d(c: ComputeArray, rows: number, cols: number): ComputeArray {
  return gatherStrided(c, 0, [cols, rows], [1, cols]);
}

function gemmCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const a = tensorAt(ctx, inputs, 0);
  const b = tensorAt(ctx, inputs, 1);
  const c = optionalTensorAt(ctx, inputs, 2);
  checkProductType(ctx, a, "Gemm");
  if (a.type !== b.type || (c && c.type !== a.type)) {
    throw ctx.fail(`inputs have different types ${a.type}, ${b.type}${c ? `, ${c.type}` : ""}`);
  }
  if (a.dims.length !== 2 || b.dims.length !== 2) {
    throw ctx.fail(`A and B must be 2-D, got [${a.dims}] and [${b.dims}]`);
  }
  const transA = ctx.attrs.int("transA", 0) !== 0;
  const transB = ctx.attrs.int("transB", 0) !== 0;
  const alpha = ctx.attrs.float("alpha", 1);
  const beta = ctx.attrs.float("beta", 1);
  const M = transA ? a.dims[1] : a.dims[0];
  const K = transA ? a.dims[0] : a.dims[1];
  const K2 = transB ? b.dims[1] : b.dims[0];
  const N = transB ? b.dims[0] : b.dims[1];
  if (K !== K2) throw ctx.fail(`inner dimensions differ: A' is ${M}x${K}, B' is ${K2}x${N}`);
  let cIdx: Int32Array | undefined;
  if (!c && ctx.version < 11) throw ctx.fail("input C is required before opset 11");
  if (c && ctx.version < 7 && ctx.attrs.int("broadcast", 0) === 0) {
    // Gemm-1/6 without `broadcast`: C must already be M×N.
    if (c.dims.length !== 2 || c.dims[0] !== M || c.dims[1] !== N) {
      throw ctx.fail(`C has shape [${c.dims}] but must be [${M},${N}] when broadcast is 0`);
    }
  }
  if (c) {
    const bc = broadcastShapes(c.dims, [M, N]);
    if (!bc || bc.length !== 2 || bc[0] !== M || bc[1] !== N) {
      throw ctx.fail(`C of shape [${c.dims}] cannot be broadcast to [${M},${N}]`);
    }
    cIdx = broadcastOffsets(c.dims, [M, N]);
  }
  const type = a.type;
  const A = toCompute(type, a.data), B = toCompute(type, b.data);
  const useC = c !== undefined && beta !== 0;
  if (A instanceof Float32Array || A instanceof Float64Array) {
    const Y = allocLike(A, M * N) as Float32Array | Float64Array;
    if (useC) {
      const C = toCompute(type, c!.data) as Float32Array | Float64Array;
      for (let i = 0; i < M * N; i++) Y[i] = C[cIdx ? cIdx[i] : i];
    }
    gemm(
      M,
      N,
      K,
      { data: A, trans: transA, ld: transA ? M : K },
      { data: B as Float32Array | Float64Array, trans: transB, ld: transB ? K : N },
      { data: Y },
      { alpha, beta: useC ? beta : 0 },
    );
    return [new Tensor(type, fromCompute(type, Y), [M, N])];
  }
  // Integer Gemm: exact product, then alpha/beta (exact when they are integers).
  const At = transA ? transpose2d(A, K, M) : A;
  const Bt = transB ? transpose2d(B, N, K) : B;
  const P = batchedProduct(At, Bt, 1, M, K, N);
  const C = useC ? toCompute(type, c!.data) : undefined;
  const n = M * N;
  if (P instanceof BigInt64Array || P instanceof BigUint64Array) {
    const Cb = C as BigArray | undefined;
    const intCoef = Number.isInteger(alpha) && Number.isInteger(beta);
    for (let i = 0; i < n; i++) {
      const cv = Cb ? Cb[cIdx ? cIdx[i] : i] : 0n;
      if (intCoef) P[i] = BigInt(alpha) * P[i] + BigInt(beta) * cv;
      else P[i] = BigInt(Math.trunc(alpha * Number(P[i]) + beta * Number(cv)));
    }
  } else {
    const Pn = P as Int32Array | Uint32Array, Cn = C as Int32Array | Uint32Array | undefined;
    const intCoef = Number.isInteger(alpha) && Number.isInteger(beta);
    for (let i = 0; i < n; i++) {
      const cv = Cn ? Cn[cIdx ? cIdx[i] : i] : 0;
      if (intCoef) Pn[i] = (Math.imul(alpha | 0, Pn[i]) + Math.imul(beta | 0, cv)) | 0;
      else Pn[i] = Math.trunc(alpha * Pn[i] + beta * cv);
    }
  }
  return [new Tensor(type, fromCompute(type, P), [M, N])];
}

function gemmInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = elemOf(ctx.input(0));
  const a = tensorShape(ctx.input(0)), b = tensorShape(ctx.input(1));
  if (!a || !b) return [{ kind: "tensor", elemType }];
  if (a.length !== 2 || b.length !== 2) {
    ctx.error("Gemm inputs A and B must be 2-D");
    return [{ kind: "tensor", elemType }];
  }
  const transA = ctx.attrs.int("transA", 0) !== 0;
  const transB = ctx.attrs.int("transB", 0) !== 0;
  sameDim(ctx, transA ? a[0] : a[1], transB ? b[1] : b[0], "Gemm inner dimensions differ");
  return [{ kind: "tensor", elemType, shape: [transA ? a[1] : a[0], transB ? b[0] : b[1]] }];
}

// ---------------------------------------------------------------------------------------------
// Einsum
// ---------------------------------------------------------------------------------------------

/** A parsed einsum equation: per-input labels and output labels (letters as char codes, ellipsis dims as 1000 + index). */
export interface ParsedEinsum {
  /** Labels of each input's axes, in order. */
  inputs: number[][];
  /** Labels of the output's axes, in order. */
  output: number[];
}

const ELLIPSIS_BASE = 1000;

function parseTerm(term: string, what: string): { labels: number[]; ellipsisAt: number } {
  const labels: number[] = [];
  let ellipsisAt = -1;
  for (let i = 0; i < term.length; i++) {
    const ch = term[i];
    if (ch === ".") {
      if (term.slice(i, i + 3) !== "..." || ellipsisAt >= 0) {
        throw new Error(`${what} "${term}" has a malformed ellipsis`);
      }
      ellipsisAt = labels.length;
      i += 2;
    } else if (/[A-Za-z]/.test(ch)) {
      labels.push(ch.charCodeAt(0));
    } else {
      throw new Error(`${what} "${term}" has an invalid character "${ch}"`);
    }
  }
  return { labels, ellipsisAt };
}

/** Parses an einsum equation for operands of the given ranks. Throws Error on bad input. */
export function parseEinsum(equation: string, ranks: readonly number[]): ParsedEinsum {
  const eq = equation.replace(/\s+/g, "");
  const arrow = eq.indexOf("->");
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(",");
  if (terms.length !== ranks.length) {
    throw new Error(`equation "${equation}" has ${terms.length} terms for ${ranks.length} inputs`);
  }
  const parsed = terms.map((t) => parseTerm(t, "term"));
  let ell = 0;
  parsed.forEach((p, i) => {
    const e = ranks[i] - p.labels.length;
    if (p.ellipsisAt < 0 ? e !== 0 : e < 0) {
      throw new Error(`term "${terms[i]}" does not match input ${i} of rank ${ranks[i]}`);
    }
    ell = Math.max(ell, p.ellipsisAt < 0 ? 0 : e);
  });
  const inputs = parsed.map((p, i) => {
    if (p.ellipsisAt < 0) return p.labels;
    const e = ranks[i] - p.labels.length;
    const ellLabels = Array.from({ length: e }, (_, j) => ELLIPSIS_BASE + ell - e + j);
    return [...p.labels.slice(0, p.ellipsisAt), ...ellLabels, ...p.labels.slice(p.ellipsisAt)];
  });
  const allEll = Array.from({ length: ell }, (_, j) => ELLIPSIS_BASE + j);
  let output: number[];
  if (arrow >= 0) {
    const o = parseTerm(eq.slice(arrow + 2), "output");
    if (new Set(o.labels).size !== o.labels.length) {
      throw new Error(`output of "${equation}" repeats a label`);
    }
    const seen = new Set(inputs.flat());
    for (const l of o.labels) {
      if (!seen.has(l)) {
        throw new Error(`output label "${String.fromCharCode(l)}" is not in any input`);
      }
    }
    output = o.ellipsisAt < 0
      ? o.labels
      : [...o.labels.slice(0, o.ellipsisAt), ...allEll, ...o.labels.slice(o.ellipsisAt)];
  } else {
    const count = new Map<number, number>();
    for (const p of parsed) for (const l of p.labels) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, c]) => c === 1).map(([l]) => l).sort((x, y) => x - y);
    output = [...allEll, ...once];
  }
  return { inputs, output };
}

/** An operand during contraction: data, one label per axis (unique), dims. */
interface Operand {
  data: ComputeArray;
  labels: number[];
  dims: number[];
}

/** Rearranges `x` to `labels` order with `dims` (broadcasting size-1 axes, summing none). */
function arrange(x: Operand, labels: readonly number[], size: Map<number, number>): ComputeArray {
  const st = stridesOf(x.dims);
  const dims = labels.map((l) => size.get(l)!);
  const strides = labels.map((l) => {
    const ax = x.labels.indexOf(l);
    if (ax < 0) return 0;
    return x.dims[ax] === 1 && size.get(l)! !== 1 ? 0 : st[ax];
  });
  return gatherStrided(x.data, 0, dims, strides);
}

/** Sums out the axes of `x` whose labels are not in `keep`. */
function sumOut(x: Operand, keep: ReadonlySet<number>): Operand {
  const kept = x.labels.filter((l) => keep.has(l));
  if (kept.length === x.labels.length) return x;
  const gone = x.labels.filter((l) => !keep.has(l));
  const size = new Map(x.labels.map((l, i) => [l, x.dims[i]]));
  const moved = arrange(x, [...kept, ...gone], size);
  const group = shapeSize(gone.map((l) => size.get(l)!));
  const keptDims = kept.map((l) => size.get(l)!);
  return { data: sumGroups(moved, shapeSize(keptDims), group), labels: kept, dims: keptDims };
}

/** Takes diagonals so each label appears once. */
function diagonal(data: ComputeArray, labels: number[], dims: readonly number[]): Operand {
  const st = stridesOf(dims);
  const uniq: number[] = [];
  const udims: number[] = [];
  const ustr: number[] = [];
  labels.forEach((l, i) => {
    const j = uniq.indexOf(l);
    if (j < 0) {
      uniq.push(l);
      udims.push(dims[i]);
      ustr.push(st[i]);
    } else {
      if (udims[j] !== dims[i]) {
        throw new Error(`repeated label has sizes ${udims[j]} and ${dims[i]}`);
      }
      ustr[j] += st[i];
    }
  });
  if (uniq.length === labels.length) return { data, labels, dims: [...dims] };
  return { data: gatherStrided(data, 0, udims, ustr), labels: uniq, dims: udims };
}

/** Contracts two operands, keeping labels in `keep`. */
function contractPair(x: Operand, y: Operand, keep: ReadonlySet<number>): Operand {
  const size = new Map<number, number>();
  for (const o of [x, y]) {
    o.labels.forEach((l, i) => size.set(l, Math.max(size.get(l) ?? 1, o.dims[i])));
  }
  const inY = new Set(y.labels), inX = new Set(x.labels);
  const batch = x.labels.filter((l) => inY.has(l) && keep.has(l));
  const contracted = x.labels.filter((l) => inY.has(l) && !keep.has(l));
  const xOnly = x.labels.filter((l) => !inY.has(l));
  const yOnly = y.labels.filter((l) => !inX.has(l));
  const xa = arrange(x, [...batch, ...xOnly, ...contracted], size);
  const ya = arrange(y, [...batch, ...contracted, ...yOnly], size);
  const dimsOf = (ls: number[]) => ls.map((l) => size.get(l)!);
  const B = shapeSize(dimsOf(batch));
  const M = shapeSize(dimsOf(xOnly)), K = shapeSize(dimsOf(contracted));
  const N = shapeSize(dimsOf(yOnly));
  const labels = [...batch, ...xOnly, ...yOnly];
  return { data: batchedProduct(xa, ya, B, M, K, N), labels, dims: dimsOf(labels) };
}

function einsumCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const ts = inputs.map((_, i) => tensorAt(ctx, inputs, i));
  if (ts.length === 0) throw ctx.fail("needs at least one input");
  const type = ts[0].type;
  checkProductType(ctx, ts[0], "Einsum");
  for (const t of ts) {
    if (t.type !== type) throw ctx.fail(`inputs have different types ${type} and ${t.type}`);
  }
  const equation = ctx.attrs.string("equation");
  let parsed: ParsedEinsum;
  try {
    parsed = parseEinsum(equation, ts.map((t) => t.dims.length));
  } catch (e) {
    throw ctx.fail(`equation "${equation}": ${(e as Error).message}`);
  }
  // Sizes of every label (size-1 axes broadcast).
  const size = new Map<number, number>();
  parsed.inputs.forEach((ls, i) => {
    ls.forEach((l, ax) => {
      const d = ts[i].dims[ax];
      const s = size.get(l);
      if (s === undefined || s === 1) size.set(l, d);
      else if (d !== s && d !== 1) {
        throw ctx.fail(`label ${labelName(l)} has sizes ${s} and ${d}`);
      }
    });
  });
  let ops: Operand[];
  try {
    ops = ts.map((t, i) => diagonal(toCompute(type, t.data), parsed.inputs[i], t.dims));
  } catch (e) {
    throw ctx.fail(`equation "${equation}": ${(e as Error).message}`);
  }
  const outSet = new Set(parsed.output);
  const neededAfter = (i: number): Set<number> => {
    const s = new Set(outSet);
    for (let j = i; j < ops.length; j++) for (const l of ops[j].labels) s.add(l);
    return s;
  };
  // Sum labels that only one operand uses (and the output does not).
  ops = ops.map((o, i) => {
    const others = new Set(outSet);
    ops.forEach((p, j) => {
      if (j !== i) { for (const l of p.labels) others.add(l); }
    });
    return sumOut(o, others);
  });
  let acc = ops[0];
  for (let i = 1; i < ops.length; i++) acc = contractPair(acc, ops[i], neededAfter(i + 1));
  acc = sumOut(acc, outSet);
  const outData = arrange(acc, parsed.output, size);
  const outDims = parsed.output.map((l) => size.get(l)!);
  // arrange() may return the accumulator itself only through a copy, so the output is fresh.
  return [new Tensor(type, fromCompute(type, outData), outDims)];
}

function labelName(l: number): string {
  return l >= ELLIPSIS_BASE ? `...[${l - ELLIPSIS_BASE}]` : `"${String.fromCharCode(l)}"`;
}

function einsumInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = elemOf(ctx.input(0));
  const shapes = Array.from({ length: ctx.inputCount }, (_, i) => tensorShape(ctx.input(i)));
  if (shapes.some((s) => s === undefined)) return [{ kind: "tensor", elemType }];
  let parsed: ParsedEinsum;
  try {
    parsed = parseEinsum(ctx.attrs.string("equation"), shapes.map((s) => s!.length));
  } catch (e) {
    ctx.error((e as Error).message);
    return [{ kind: "tensor", elemType }];
  }
  const size = new Map<number, Dim>();
  parsed.inputs.forEach((ls, i) => {
    ls.forEach((l, ax) => {
      const d = shapes[i]![ax];
      if (!size.has(l) || size.get(l) === 1) size.set(l, d);
      else if (
        typeof d === "number" && d !== 1 && typeof size.get(l) === "number" && size.get(l) !== d
      ) {
        ctx.error(`einsum label ${labelName(l)} has sizes ${size.get(l)} and ${d}`);
      } else if (typeof d === "number" && d !== 1 && typeof size.get(l) !== "number") {
        size.set(l, d);
      }
    });
  });
  return [{ kind: "tensor", elemType, shape: parsed.output.map((l) => size.get(l)) }];
}

// ---------------------------------------------------------------------------------------------
// Det
// ---------------------------------------------------------------------------------------------

/** Determinant of the n×n row-major matrix `m` (overwritten) by LU with partial pivoting. */
function determinant(m: Float64Array, n: number): number {
  let det = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(m[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(m[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (best === 0 || Number.isNaN(best)) {
      if (Number.isNaN(best)) return NaN;
      return 0;
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[p * n + j];
        m[p * n + j] = t;
      }
      det = -det;
    }
    const piv = m[k * n + k];
    det *= piv;
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / piv;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  return det;
}

function detCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (
    !(x.type === "float32" || x.type === "float64" || x.type === "float16" || x.type === "bfloat16")
  ) {
    throw ctx.unsupported(`Det does not accept ${x.type}`, x.type);
  }
  const r = x.dims.length;
  if (r < 2 || x.dims[r - 1] !== x.dims[r - 2]) {
    throw ctx.fail(`input must be [*, M, M], got [${x.dims}]`);
  }
  const n = x.dims[r - 1];
  const outDims = x.dims.slice(0, -2);
  const batch = shapeSize(outDims);
  const src = dataToNumbers(x.type, x.data);
  const out = new Float64Array(batch);
  const m = new Float64Array(n * n);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n * n; i++) m[i] = src[b * n * n + i];
    out[b] = determinant(m, n);
  }
  return [new Tensor(x.type, fromNumbers(x.type, out), outDims)];
}

function detInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.input(0);
  const s = tensorShape(t);
  if (s && s.length < 2) ctx.error("Det input must have rank >= 2");
  return [{
    kind: "tensor",
    elemType: elemOf(t),
    shape: s && s.length >= 2 ? s.slice(0, -2) : undefined,
  }];
}

/** Matrix-product declarations. */
export const ops: OpDef[] = [
  { domain: "", opType: "MatMul", versions: [1, 9, 13], cpu: matmulCpu, infer: matmulInfer },
  { domain: "", opType: "Gemm", versions: [1, 6, 7, 9, 11, 13], cpu: gemmCpu, infer: gemmInfer },
  { domain: "", opType: "Einsum", versions: [12], cpu: einsumCpu, infer: einsumInfer },
  { domain: "", opType: "Det", versions: [11, 22], cpu: detCpu, infer: detInfer },
];
