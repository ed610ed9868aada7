/**
 * Indexed reads and writes: Gather, GatherElements, GatherND, Scatter (deprecated),
 * ScatterElements, ScatterND (reductions none/add/mul/max/min), TensorScatter and OneHot.
 * Indices may be int32 or int64 and negative where the spec allows it.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  isBig,
  isPackedFloat,
  type NumericArray,
  slotsPerElement,
  type TensorData,
} from "../pipeline/tensor/dtype.ts";
import {
  dataToNumbers,
  fromNumbers,
  shapeSize,
  stridesOf,
  Tensor,
  type Value,
} from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { optionalTensorAt, scalarOf, tensorAt } from "./util.ts";
import {
  cloneData,
  copyElement,
  copyRun,
  fillElements,
  indexValues,
  inferAxis,
  inputFacts,
  prod,
  type Store,
  tensorOf,
} from "./movement_common.ts";

function normAxis(ctx: OpContext, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) throw ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

function indicesOf(ctx: OpContext, t: Tensor, what = "indices"): ArrayLike<number> {
  if (t.type !== "int32" && t.type !== "int64") {
    throw ctx.unsupported(`${what} must be int32 or int64, got ${t.type}`, t.type);
  }
  return indexValues(t);
}

/** Normalizes index `v` for an axis of size `dim`; throws when out of [-dim, dim). */
function fixIndex(ctx: OpContext, v: number, dim: number): number {
  if (v < -dim || v >= dim) throw ctx.fail(`index ${v} is out of range for an axis of size ${dim}`);
  return v < 0 ? v + dim : v;
}

// ---------------------------------------------------------------------------------------------
// Gather
// ---------------------------------------------------------------------------------------------

function gatherCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const it = tensorAt(ctx, inputs, 1);
  const rank = x.dims.length;
  if (rank === 0) throw ctx.fail("data must have rank 1 or more");
  const axis = normAxis(ctx, ctx.attrs.int("axis", 0), rank);
  const idx = indicesOf(ctx, it);
  const dim = x.dims[axis];
  const slots = slotsPerElement(x.type);
  const outer = prod(x.dims, 0, axis);
  const inner = prod(x.dims, axis + 1) * slots;
  const outDims = [...x.dims.slice(0, axis), ...it.dims, ...x.dims.slice(axis + 1)];
  const out = allocate(x.type, shapeSize(outDims));
  const n = idx.length;
  const fixed = new Int32Array(n);
  for (let j = 0; j < n; j++) fixed[j] = fixIndex(ctx, idx[j], dim);
  if (inner > 0) {
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        copyRun(out, (o * n + j) * inner, x.data, (o * dim + fixed[j]) * inner, inner);
      }
    }
  }
  return [new Tensor(x.type, out, outDims)];
}

function gatherInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const i = inputFacts(ctx, 1);
  if (!x.shape || !i.shape) return [tensorOf(x.elemType)];
  const axis = inferAxis(ctx, ctx.attrs.int("axis", 0), x.shape.length);
  if (axis === undefined) return [tensorOf(x.elemType)];
  return [
    tensorOf(x.elemType, [...x.shape.slice(0, axis), ...i.shape, ...x.shape.slice(axis + 1)]),
  ];
}

// ---------------------------------------------------------------------------------------------
// GatherElements
// ---------------------------------------------------------------------------------------------

/**
 * For each element of `indices` (row-major over `idxDims`), the offset into data of `dims`
 * where the axis coordinate is replaced by the index value.
 */
function elementOffsets(
  ctx: OpContext,
  dims: readonly number[],
  idxDims: readonly number[],
  idx: ArrayLike<number>,
  axis: number,
): Int32Array | Float64Array {
  const rank = dims.length;
  if (idxDims.length !== rank) {
    throw ctx.fail(`indices rank ${idxDims.length} differs from data rank ${rank}`);
  }
  for (let d = 0; d < rank; d++) {
    if (d !== axis && idxDims[d] > dims[d]) {
      throw ctx.fail(`indices dim ${idxDims[d]} exceeds data dim ${dims[d]} on axis ${d}`);
    }
  }
  const st = stridesOf(dims);
  const n = idx.length;
  const out = shapeSize(dims) < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  const coord = new Array<number>(rank).fill(0);
  const dimA = dims[axis];
  const stA = st[axis];
  let base = 0;
  for (let i = 0; i < n; i++) {
    out[i] = base + fixIndex(ctx, idx[i], dimA) * stA;
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]++;
      if (d !== axis) base += st[d];
      if (coord[d] < idxDims[d]) break;
      if (d !== axis) base -= st[d] * coord[d];
      coord[d] = 0;
    }
  }
  return out;
}

function gatherElementsCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const it = tensorAt(ctx, inputs, 1);
  const rank = x.dims.length;
  if (rank === 0) throw ctx.fail("data must have rank 1 or more");
  const axis = normAxis(ctx, ctx.attrs.int("axis", 0), rank);
  const offs = elementOffsets(ctx, x.dims, it.dims, indicesOf(ctx, it), axis);
  const slots = slotsPerElement(x.type);
  const out = allocate(x.type, offs.length);
  if (slots === 1) {
    const o = out as unknown as Store;
    const s = x.data as unknown as Store;
    for (let i = 0; i < offs.length; i++) o[i] = s[offs[i]];
  } else {
    for (let i = 0; i < offs.length; i++) copyElement(out, i, x.data, offs[i], slots);
  }
  return [new Tensor(x.type, out, it.dims)];
}

// ---------------------------------------------------------------------------------------------
// GatherND
// ---------------------------------------------------------------------------------------------

interface NdPlan {
  /** Number of batches (product of the batch dims). */
  batches: number;
  /** Index tuples per batch. */
  tuples: number;
  /** Length of one index tuple. */
  k: number;
  /** Elements of one gathered/scattered slice. */
  slice: number;
  /** Elements of one data batch. */
  batchSize: number;
  /** Data strides of the indexed dims. */
  strides: number[];
  /** Sizes of the indexed dims. */
  sizes: number[];
}

function planNd(
  ctx: OpContext,
  dims: readonly number[],
  idxDims: readonly number[],
  b: number,
): NdPlan {
  const r = dims.length;
  const q = idxDims.length;
  if (r < 1 || q < 1) throw ctx.fail("data and indices must have rank 1 or more");
  if (b < 0 || b >= Math.min(r, q)) {
    throw ctx.fail(`batch_dims ${b} must be below min(rank) ${Math.min(r, q)}`);
  }
  for (let d = 0; d < b; d++) {
    if (dims[d] !== idxDims[d]) {
      throw ctx.fail(`batch dim ${d} differs: ${dims[d]} vs ${idxDims[d]}`);
    }
  }
  const k = idxDims[q - 1];
  if (k < 1 || k > r - b) throw ctx.fail(`indices last dim ${k} must be in [1, ${r - b}]`);
  const st = stridesOf(dims);
  const batches = prod(dims, 0, b);
  return {
    batches,
    tuples: batches === 0 ? 0 : prod(idxDims, 0, q - 1) / batches,
    k,
    slice: prod(dims, b + k),
    batchSize: prod(dims, b),
    strides: st.slice(b, b + k),
    sizes: dims.slice(b, b + k),
  };
}

/** Data offset (in elements) of each index tuple, batch offset included. */
function ndOffsets(ctx: OpContext, plan: NdPlan, idx: ArrayLike<number>): Float64Array {
  const n = plan.batches * plan.tuples;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const batch = Math.floor(t / plan.tuples);
    let off = batch * plan.batchSize;
    for (let j = 0; j < plan.k; j++) {
      off += fixIndex(ctx, idx[t * plan.k + j], plan.sizes[j]) * plan.strides[j];
    }
    out[t] = off;
  }
  return out;
}

function gatherNdCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const it = tensorAt(ctx, inputs, 1);
  const b = ctx.version >= 12 ? ctx.attrs.int("batch_dims", 0) : 0;
  const plan = planNd(ctx, x.dims, it.dims, b);
  const offs = ndOffsets(ctx, plan, indicesOf(ctx, it));
  const outDims = [...it.dims.slice(0, -1), ...x.dims.slice(b + plan.k)];
  const slots = slotsPerElement(x.type);
  const out = allocate(x.type, shapeSize(outDims));
  const len = plan.slice * slots;
  if (len > 0) {
    for (let t = 0; t < offs.length; t++) copyRun(out, t * len, x.data, offs[t] * slots, len);
  }
  return [new Tensor(x.type, out, outDims)];
}

function gatherNdInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const i = inputFacts(ctx, 1);
  const b = ctx.version >= 12 ? ctx.attrs.int("batch_dims", 0) : 0;
  if (!x.shape || !i.shape || i.shape.length < 1) return [tensorOf(x.elemType)];
  const k = i.shape[i.shape.length - 1];
  if (typeof k !== "number") return [tensorOf(x.elemType)];
  if (k + b > x.shape.length) {
    ctx.error(`indices last dim ${k} plus batch_dims ${b} exceeds the data rank ${x.shape.length}`);
    return [tensorOf(x.elemType)];
  }
  return [tensorOf(x.elemType, [...i.shape.slice(0, -1), ...x.shape.slice(b + k)])];
}

// ---------------------------------------------------------------------------------------------
// Scatter reductions
// ---------------------------------------------------------------------------------------------

type Reduction = "none" | "add" | "mul" | "max" | "min";

/**
 * A scatter target: a work copy of the data, an `apply(dst, src, j)` that combines update
 * element `j` into work element `dst`, and `finish()` that builds the output storage.
 */
interface ScatterWork {
  apply(dst: number, j: number): void;
  finish(): TensorData;
}

function scatterWork(
  ctx: OpContext,
  data: Tensor,
  updates: Tensor,
  reduction: Reduction,
): ScatterWork {
  const type = data.type;
  if (updates.type !== type) throw ctx.fail(`updates are ${updates.type}, data is ${type}`);
  const slots = slotsPerElement(type);
  if (reduction === "none") {
    const work = cloneData(data.data);
    const upd = updates.data;
    if (slots === 1) {
      const w = work as unknown as Store;
      const u = upd as unknown as Store;
      return { apply: (d, j) => (w[d] = u[j]), finish: () => work };
    }
    return { apply: (d, j) => copyElement(work, d, upd, j, slots), finish: () => work };
  }
  if (type === "string" || slots === 2) {
    throw ctx.unsupported(`reduction "${reduction}" on ${type}`, type);
  }
  if (isBig(type)) {
    const w = (data.data as BigArray).slice();
    const u = updates.data as BigArray;
    const f: Record<Exclude<Reduction, "none">, (a: bigint, b: bigint) => bigint> = {
      add: (a, b) => a + b,
      mul: (a, b) => a * b,
      max: (a, b) => (a > b ? a : b),
      min: (a, b) => (a < b ? a : b),
    };
    const g = f[reduction];
    return { apply: (d, j) => (w[d] = g(w[d], u[j])), finish: () => w };
  }
  if (type === "bool") {
    const w = (data.data as Uint8Array).slice();
    const u = updates.data as Uint8Array;
    const or = reduction === "add" || reduction === "max";
    return {
      apply: or ? (d, j) => (w[d] = w[d] | u[j]) : (d, j) => (w[d] = w[d] & u[j]),
      finish: () => w,
    };
  }
  const packed = isPackedFloat(type);
  const w: NumericArray = packed
    ? dataToNumbers(type, data.data).slice()
    : (data.data as NumericArray).slice();
  const u = dataToNumbers(type, updates.data);
  const round = packed
    ? (v: number) => dataToNumbers(type, fromNumbers(type, [v]))[0]
    : (v: number) => v;
  const imul = type === "int32" || type === "uint32";
  let g: (a: number, b: number) => number;
  switch (reduction) {
    case "add":
      g = (a, b) => a + b;
      break;
    case "mul":
      g = imul ? Math.imul : (a, b) => a * b;
      break;
    case "max":
      g = (a, b) => (Number.isNaN(a) || a > b ? a : Number.isNaN(b) ? b : b > a ? b : a);
      break;
    case "min":
      g = (a, b) => (Number.isNaN(a) || a < b ? a : Number.isNaN(b) ? b : b < a ? b : a);
      break;
    default:
      throw ctx.fail(`reduction "${reduction}" is not none, add, mul, max or min`);
  }
  return {
    apply: (d, j) => (w[d] = round(g(w[d], u[j]))),
    finish: () => (packed ? fromNumbers(type, w) : w),
  };
}

function reductionOf(ctx: OpContext): Reduction {
  if (ctx.node.opType === "Scatter" || ctx.version < 16) return "none";
  const r = ctx.attrs.string("reduction", "none");
  const allowed = ctx.version >= 18 ? ["none", "add", "mul", "max", "min"] : ["none", "add", "mul"];
  if (!allowed.includes(r)) throw ctx.fail(`reduction "${r}" is not one of ${allowed.join(", ")}`);
  return r as Reduction;
}

// ---------------------------------------------------------------------------------------------
// ScatterElements / Scatter
// ---------------------------------------------------------------------------------------------

function scatterElementsCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const it = tensorAt(ctx, inputs, 1);
  const up = tensorAt(ctx, inputs, 2);
  const rank = x.dims.length;
  if (rank === 0) throw ctx.fail("data must have rank 1 or more");
  if (up.dims.length !== it.dims.length || up.dims.some((d, i) => d !== it.dims[i])) {
    throw ctx.fail(`updates [${up.dims}] and indices [${it.dims}] differ in shape`);
  }
  const axis = normAxis(ctx, ctx.attrs.int("axis", 0), rank);
  const offs = elementOffsets(ctx, x.dims, it.dims, indicesOf(ctx, it), axis);
  const work = scatterWork(ctx, x, up, reductionOf(ctx));
  for (let j = 0; j < offs.length; j++) work.apply(offs[j], j);
  return [new Tensor(x.type, work.finish(), x.dims)];
}

// ---------------------------------------------------------------------------------------------
// ScatterND
// ---------------------------------------------------------------------------------------------

function scatterNdCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const it = tensorAt(ctx, inputs, 1);
  const up = tensorAt(ctx, inputs, 2);
  const plan = planNd(ctx, x.dims, it.dims, 0);
  const expect = [...it.dims.slice(0, -1), ...x.dims.slice(plan.k)];
  if (up.dims.length !== expect.length || up.dims.some((d, i) => d !== expect[i])) {
    throw ctx.fail(`updates shape [${up.dims}] must be [${expect}]`);
  }
  const offs = ndOffsets(ctx, plan, indicesOf(ctx, it));
  const work = scatterWork(ctx, x, up, reductionOf(ctx));
  const len = plan.slice;
  for (let t = 0; t < offs.length; t++) {
    const base = offs[t];
    for (let e = 0; e < len; e++) work.apply(base + e, t * len + e);
  }
  return [new Tensor(x.type, work.finish(), x.dims)];
}

// ---------------------------------------------------------------------------------------------
// TensorScatter
// ---------------------------------------------------------------------------------------------

function tensorScatterCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const past = tensorAt(ctx, inputs, 0);
  const up = tensorAt(ctx, inputs, 1);
  const wt = optionalTensorAt(ctx, inputs, 2);
  const rank = past.dims.length;
  if (rank < 2) throw ctx.fail(`past_cache must have rank 2 or more, got [${past.dims}]`);
  if (up.type !== past.type) throw ctx.fail(`update is ${up.type}, past_cache is ${past.type}`);
  const axis = normAxis(ctx, ctx.attrs.int("axis", -2), rank);
  if (axis === 0) throw ctx.fail("axis must not be 0 (the batch axis)");
  const mode = ctx.attrs.string("mode", "linear");
  if (mode !== "linear" && mode !== "circular") {
    throw ctx.fail(`mode "${mode}" is not linear or circular`);
  }
  if (up.dims.length !== rank || up.dims.some((d, i) => i !== axis && d !== past.dims[i])) {
    throw ctx.fail(
      `update shape [${up.dims}] does not match past_cache [${past.dims}] off axis ${axis}`,
    );
  }
  const maxSeq = past.dims[axis];
  const seq = up.dims[axis];
  if (seq > maxSeq) throw ctx.fail(`sequence length ${seq} exceeds the cache length ${maxSeq}`);
  const batch = past.dims[0];
  const w = wt ? indicesOf(ctx, wt, "write_indices") : new Float64Array(batch);
  if (w.length !== batch) {
    throw ctx.fail(`write_indices has ${w.length} entries for batch ${batch}`);
  }
  const slots = slotsPerElement(past.type);
  const inner = prod(past.dims, axis + 1) * slots;
  const prefix = prod(past.dims, 0, axis);
  const perBatch = batch === 0 ? 0 : prefix / batch;
  const out = cloneData(past.data);
  if (inner === 0) return [new Tensor(past.type, out, past.dims)];
  for (let p = 0; p < prefix; p++) {
    const start = w[Math.floor(p / perBatch)];
    for (let s = 0; s < seq; s++) {
      let pos = start + s;
      if (mode === "circular") pos = ((pos % maxSeq) + maxSeq) % maxSeq;
      else if (pos < 0 || pos >= maxSeq) {
        throw ctx.fail(`write index ${start} + ${s} is outside the cache length ${maxSeq}`);
      }
      copyRun(out, (p * maxSeq + pos) * inner, up.data, (p * seq + s) * inner, inner);
    }
  }
  return [new Tensor(past.type, out, past.dims)];
}

// ---------------------------------------------------------------------------------------------
// OneHot
// ---------------------------------------------------------------------------------------------

function oneHotCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const it = tensorAt(ctx, inputs, 0);
  const dt = tensorAt(ctx, inputs, 1);
  const vt = tensorAt(ctx, inputs, 2);
  if (dt.size !== 1) throw ctx.fail("depth must hold one element");
  if (vt.size !== 2) throw ctx.fail(`values must hold [off, on], got ${vt.size} elements`);
  if (it.type === "string" || dt.type === "string") {
    throw ctx.fail("indices and depth must be numeric");
  }
  const depth = Math.trunc(scalarOf(dt));
  if (depth < 1) throw ctx.fail(`depth ${depth} must be positive`);
  const r = it.dims.length;
  let axis = ctx.attrs.int("axis", -1);
  if (axis < -r - 1 || axis > r) {
    throw ctx.fail(`axis ${axis} is out of range for output rank ${r + 1}`);
  }
  if (axis < 0) axis += r + 1;
  const idx = isBig(it.type) ? indexValues(it) : dataToNumbers(it.type, it.data);
  const outDims = [...it.dims.slice(0, axis), depth, ...it.dims.slice(axis)];
  const outer = prod(it.dims, 0, axis);
  const inner = prod(it.dims, axis);
  const size = shapeSize(outDims);
  const slots = slotsPerElement(vt.type);
  const out = allocate(vt.type, size);
  fillElements(out, 0, size, vt.data, 0, slots);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let v = Math.trunc(idx[o * inner + i]);
      if (v < 0) v += depth;
      if (v < 0 || v >= depth || Number.isNaN(v)) continue;
      copyElement(out, (o * depth + v) * inner + i, vt.data, 1, slots);
    }
  }
  return [new Tensor(vt.type, out, outDims)];
}

function oneHotInfer(ctx: InferContext): (ValueType | undefined)[] {
  const i = inputFacts(ctx, 0);
  const v = inputFacts(ctx, 2);
  if (!i.shape) return [tensorOf(v.elemType)];
  const r = i.shape.length;
  let axis = ctx.attrs.int("axis", -1);
  if (axis < -r - 1 || axis > r) {
    ctx.error(`axis ${axis} is out of range for output rank ${r + 1}`);
    return [tensorOf(v.elemType)];
  }
  if (axis < 0) axis += r + 1;
  const d = ctx.constant(1);
  let depth: Dim;
  try {
    depth = d && d.size === 1 ? Math.trunc(scalarOf(d)) : undefined;
  } catch {
    depth = undefined;
  }
  return [tensorOf(v.elemType, [...i.shape.slice(0, axis), depth, ...i.shape.slice(axis)])];
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

function indicesShapeInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [tensorOf(inputFacts(ctx, 0).elemType, inputFacts(ctx, 1).shape)];
}

/** The gather/scatter operator declarations. */
export const ops: OpDef[] = [
  { domain: "", opType: "Gather", versions: [1, 11, 13], cpu: gatherCpu, infer: gatherInfer },
  {
    domain: "",
    opType: "GatherElements",
    versions: [11, 13],
    cpu: gatherElementsCpu,
    infer: indicesShapeInfer,
  },
  {
    domain: "",
    opType: "GatherND",
    versions: [11, 12, 13],
    cpu: gatherNdCpu,
    infer: gatherNdInfer,
  },
  { domain: "", opType: "Scatter", versions: [9, 11], cpu: scatterElementsCpu, infer: sameInfer },
  {
    domain: "",
    opType: "ScatterElements",
    versions: [11, 13, 16, 18],
    cpu: scatterElementsCpu,
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "ScatterND",
    versions: [11, 13, 16, 18],
    cpu: scatterNdCpu,
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "TensorScatter",
    versions: [24],
    cpu: tensorScatterCpu,
    infer: sameInfer,
    hostInputs: [2],
  },
  {
    domain: "",
    opType: "OneHot",
    versions: [9, 11],
    cpu: oneHotCpu,
    infer: oneHotInfer,
    hostInputs: [1],
  },
];
