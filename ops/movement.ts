/**
 * Data-movement operators: Transpose, Concat, Split, Slice, Expand, Tile, Pad,
 * DepthToSpace, SpaceToDepth, CenterCropPad, ReverseSequence, Compress, NonZero, Trilu
 * and Unique. Elements are copied as storage (never decoded), so every element type works,
 * strings, int64 and complex included.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  isBig,
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
import {
  broadcastShapes,
  broadcastStrides,
  optionalTensorAt,
  scalarOf,
  tensorAt,
  toIntArray,
} from "./util.ts";
import {
  constInts,
  copyElement,
  copyRun,
  fillElements,
  indexValues,
  inferAxis,
  inputFacts,
  prod,
  type Store,
  stridedCopy,
  tensorOf,
  transposeAny,
  unknownShape,
} from "./movement_common.ts";

function normAxis(ctx: OpContext, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) throw ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

// ---------------------------------------------------------------------------------------------
// Transpose
// ---------------------------------------------------------------------------------------------

function permOf(ctx: { attrs: OpContext["attrs"] }, rank: number): number[] {
  if (!ctx.attrs.has("perm")) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return ctx.attrs.ints("perm");
}

function validPerm(perm: readonly number[], rank: number): boolean {
  if (perm.length !== rank) return false;
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= rank || seen.has(p)) return false;
    seen.add(p);
  }
  return true;
}

function transposeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const perm = permOf(ctx, x.dims.length);
  if (!validPerm(perm, x.dims.length)) {
    throw ctx.fail(`perm [${perm}] is not a permutation of the ${x.dims.length} axes`);
  }
  const data = transposeAny(x.data, x.type, x.dims, perm);
  return [new Tensor(x.type, data, perm.map((p) => x.dims[p]))];
}

function transposeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType)];
  const perm = permOf(ctx, x.shape.length);
  if (!validPerm(perm, x.shape.length)) {
    ctx.error(`perm [${perm}] is not a permutation of the ${x.shape.length} axes`);
    return [tensorOf(x.elemType)];
  }
  return [tensorOf(x.elemType, perm.map((p) => x.shape![p]))];
}

// ---------------------------------------------------------------------------------------------
// Concat
// ---------------------------------------------------------------------------------------------

function concatAxis(ctx: { version: number; attrs: OpContext["attrs"] }): number {
  return ctx.version < 4 ? ctx.attrs.int("axis", 1) : ctx.attrs.int("axis");
}

/** Concatenates tensors of one type along `axis` (already normalized). */
export function concatTensors(tensors: readonly Tensor[], axis: number): Tensor {
  const first = tensors[0];
  const rank = first.dims.length;
  const outDims = [...first.dims];
  outDims[axis] = 0;
  for (const t of tensors) outDims[axis] += t.dims[axis];
  const slots = slotsPerElement(first.type);
  const outer = prod(outDims, 0, axis);
  const inner = prod(outDims, axis + 1, rank) * slots;
  const total = outDims[axis] * inner;
  const out = allocate(first.type, shapeSize(outDims));
  let at = 0;
  for (const t of tensors) {
    const block = t.dims[axis] * inner;
    if (block > 0) {
      for (let o = 0; o < outer; o++) copyRun(out, o * total + at, t.data, o * block, block);
    }
    at += block;
  }
  return new Tensor(first.type, out, outDims);
}

function concatCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  if (inputs.length === 0) throw ctx.fail("Concat needs at least one input");
  const ts = inputs.map((_, i) => tensorAt(ctx, inputs, i));
  const rank = ts[0].dims.length;
  if (rank === 0) throw ctx.fail("cannot concatenate scalars");
  const axis = normAxis(ctx, concatAxis(ctx), rank);
  for (const t of ts) {
    if (t.type !== ts[0].type) throw ctx.fail(`inputs mix ${ts[0].type} and ${t.type}`);
    if (t.dims.length !== rank || t.dims.some((d, i) => i !== axis && d !== ts[0].dims[i])) {
      throw ctx.fail(`input shapes [${ts[0].dims}] and [${t.dims}] differ outside axis ${axis}`);
    }
  }
  return [concatTensors(ts, axis)];
}

function concatInfer(ctx: InferContext): (ValueType | undefined)[] {
  const facts = Array.from({ length: ctx.inputCount }, (_, i) => inputFacts(ctx, i));
  const elemType = facts.find((f) => f.elemType)?.elemType;
  const shaped = facts.find((f) => f.shape);
  if (!shaped?.shape) return [tensorOf(elemType)];
  const rank = shaped.shape.length;
  const axis = inferAxis(ctx, concatAxis(ctx), rank);
  if (axis === undefined) return [tensorOf(elemType)];
  const out: Dim[] = unknownShape(rank);
  let sum: number | undefined = 0;
  for (let d = 0; d < rank; d++) {
    for (const f of facts) {
      if (!f.shape) continue;
      if (f.shape.length !== rank) {
        ctx.error(`inputs have ranks ${rank} and ${f.shape.length}`);
        return [tensorOf(elemType)];
      }
      if (d === axis) continue;
      const v = f.shape[d];
      if (out[d] === undefined) out[d] = v;
      else if (typeof v === "number" && typeof out[d] === "number" && v !== out[d]) {
        ctx.error(`input dims ${out[d]} and ${v} differ on axis ${d}`);
      }
    }
  }
  for (const f of facts) {
    const v = f.shape?.[axis];
    sum = typeof v === "number" && sum !== undefined ? sum + v : undefined;
  }
  out[axis] = sum;
  return [tensorOf(elemType, out)];
}

// ---------------------------------------------------------------------------------------------
// Split
// ---------------------------------------------------------------------------------------------

function splitSizes(
  dim: number,
  count: number,
  split: number[] | undefined,
  numOutputs: number | undefined,
): number[] | string {
  if (split) {
    if (split.length !== count) return `split has ${split.length} entries for ${count} outputs`;
    if (split.some((s) => s < 0)) return `split [${split}] has a negative entry`;
    const sum = split.reduce((a, b) => a + b, 0);
    if (sum !== dim) return `split [${split}] sums to ${sum}, not the axis size ${dim}`;
    return split;
  }
  if (numOutputs !== undefined) {
    if (numOutputs !== count) return `num_outputs ${numOutputs} differs from the ${count} outputs`;
    const chunk = Math.ceil(dim / numOutputs);
    const sizes: number[] = [];
    let left = dim;
    for (let i = 0; i < numOutputs; i++) {
      const s = Math.min(chunk, left);
      sizes.push(s);
      left -= s;
    }
    return sizes;
  }
  if (dim % count !== 0) return `axis size ${dim} does not split evenly into ${count} outputs`;
  return new Array<number>(count).fill(dim / count);
}

function splitCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const rank = x.dims.length;
  const axis = normAxis(ctx, ctx.attrs.int("axis", 0), rank);
  let split: number[] | undefined;
  if (ctx.version >= 13 || ctx.version === 1) {
    const t = optionalTensorAt(ctx, inputs, 1);
    if (t) split = toIntArray(t);
  }
  if (!split && ctx.version < 13 && ctx.attrs.has("split")) split = ctx.attrs.ints("split");
  const numOutputs = ctx.version >= 18 && ctx.attrs.has("num_outputs")
    ? ctx.attrs.int("num_outputs")
    : undefined;
  const count = ctx.outputCount;
  const sizes = splitSizes(x.dims[axis], count, split, numOutputs);
  if (typeof sizes === "string") throw ctx.fail(sizes);
  const st = stridesOf(x.dims);
  const out: Value[] = [];
  let at = 0;
  for (const s of sizes) {
    const dims = [...x.dims];
    dims[axis] = s;
    out.push(new Tensor(x.type, stridedCopy(x.data, x.type, at * st[axis], dims, st), dims));
    at += s;
  }
  return out;
}

function splitInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const count = ctx.node.output.length;
  const unknown = () =>
    Array.from(
      { length: count },
      () => tensorOf(x.elemType, x.shape ? unknownShape(x.shape.length) : undefined),
    );
  if (!x.shape) return unknown();
  const axis = inferAxis(ctx, ctx.attrs.int("axis", 0), x.shape.length);
  if (axis === undefined) return unknown();
  let split: number[] | undefined;
  if (ctx.version >= 13 || ctx.version === 1) split = constInts(ctx, 1);
  if (ctx.version >= 13 && ctx.hasInput(1) && !split) {
    return unknown().map((t) => ({
      ...t,
      shape: x.shape!.map((d, i) => (i === axis ? undefined : d)),
    }));
  }
  if (!split && ctx.version < 13 && ctx.attrs.has("split")) split = ctx.attrs.ints("split");
  const numOutputs = ctx.version >= 18 && ctx.attrs.has("num_outputs")
    ? ctx.attrs.int("num_outputs")
    : undefined;
  const dim = x.shape[axis];
  let sizes: (number | undefined)[];
  if (split) sizes = split;
  else if (typeof dim !== "number") sizes = new Array(count).fill(undefined);
  else {
    const s = splitSizes(dim, count, undefined, numOutputs);
    if (typeof s === "string") {
      ctx.error(s);
      return unknown();
    }
    sizes = s;
  }
  return sizes.map((s) => tensorOf(x.elemType, x.shape!.map((d, i) => (i === axis ? s : d))));
}

// ---------------------------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------------------------

interface SliceSpec {
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
}

/** Resolved per-axis start, step and count of a slice. */
interface SlicePlan {
  start: number[];
  step: number[];
  count: number[];
}

function planSlice(dims: readonly number[], spec: SliceSpec): SlicePlan | string {
  const rank = dims.length;
  const n = spec.starts.length;
  if (spec.ends.length !== n) return `starts has ${n} entries and ends ${spec.ends.length}`;
  const axes = spec.axes ?? Array.from({ length: n }, (_, i) => i);
  const steps = spec.steps ?? new Array<number>(n).fill(1);
  if (axes.length !== n || steps.length !== n) {
    return "starts, ends, axes and steps differ in length";
  }
  const plan: SlicePlan = {
    start: new Array<number>(rank).fill(0),
    step: new Array<number>(rank).fill(1),
    count: [...dims],
  };
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    let a = axes[i];
    if (a < -rank || a >= rank) return `axis ${a} is out of range for rank ${rank}`;
    if (a < 0) a += rank;
    if (seen.has(a)) return `axis ${axes[i]} is repeated`;
    seen.add(a);
    const dim = dims[a];
    const step = steps[i];
    if (step === 0 || !Number.isFinite(step)) return "steps must not be zero";
    let s = spec.starts[i];
    let e = spec.ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    let count: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      count = e > s ? Math.ceil((e - s) / step) : 0;
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      count = s > e ? Math.ceil((s - e) / -step) : 0;
    }
    plan.start[a] = count > 0 ? s : 0;
    plan.step[a] = step;
    plan.count[a] = count;
  }
  return plan;
}

function sliceSpec(ctx: OpContext, inputs: (Value | undefined)[]): SliceSpec {
  if (ctx.version < 10) {
    return {
      starts: ctx.attrs.ints("starts"),
      ends: ctx.attrs.ints("ends"),
      axes: ctx.attrs.has("axes") ? ctx.attrs.ints("axes") : undefined,
    };
  }
  const axes = optionalTensorAt(ctx, inputs, 3);
  const steps = optionalTensorAt(ctx, inputs, 4);
  return {
    starts: toIntArray(tensorAt(ctx, inputs, 1)),
    ends: toIntArray(tensorAt(ctx, inputs, 2)),
    axes: axes ? toIntArray(axes) : undefined,
    steps: steps ? toIntArray(steps) : undefined,
  };
}

function sliceCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const plan = planSlice(x.dims, sliceSpec(ctx, inputs));
  if (typeof plan === "string") throw ctx.fail(plan);
  const st = stridesOf(x.dims);
  let offset = 0;
  for (let d = 0; d < st.length; d++) offset += plan.start[d] * st[d];
  const strides = st.map((s, d) => s * plan.step[d]);
  return [new Tensor(x.type, stridedCopy(x.data, x.type, offset, plan.count, strides), plan.count)];
}

function sliceInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType)];
  let spec: SliceSpec | undefined;
  if (ctx.version < 10) {
    spec = {
      starts: ctx.attrs.ints("starts", []),
      ends: ctx.attrs.ints("ends", []),
      axes: ctx.attrs.has("axes") ? ctx.attrs.ints("axes") : undefined,
    };
  } else {
    const starts = constInts(ctx, 1);
    const ends = constInts(ctx, 2);
    const axes = ctx.hasInput(3) ? constInts(ctx, 3) : undefined;
    const steps = ctx.hasInput(4) ? constInts(ctx, 4) : undefined;
    if (starts && ends && (axes || !ctx.hasInput(3)) && (steps || !ctx.hasInput(4))) {
      spec = { starts, ends, axes, steps };
    }
  }
  if (!spec) return [tensorOf(x.elemType, unknownShape(x.shape.length))];
  const rank = x.shape.length;
  const axes = (spec.axes ?? spec.starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const out: Dim[] = [...x.shape];
  const known = x.shape.map((d) => (typeof d === "number" ? d : 0));
  const plan = planSlice(known, spec);
  if (typeof plan === "string") {
    ctx.error(plan);
    return [tensorOf(x.elemType, unknownShape(rank))];
  }
  for (const a of axes) out[a] = typeof x.shape[a] === "number" ? plan.count[a] : undefined;
  return [tensorOf(x.elemType, out)];
}

// ---------------------------------------------------------------------------------------------
// Expand / Tile
// ---------------------------------------------------------------------------------------------

function expandCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const shape = toIntArray(tensorAt(ctx, inputs, 1));
  const outDims = broadcastShapes(x.dims, shape);
  if (!outDims) throw ctx.fail(`cannot expand [${x.dims}] to [${shape}]`);
  const strides = broadcastStrides(x.dims, outDims);
  return [new Tensor(x.type, stridedCopy(x.data, x.type, 0, outDims, strides), outDims)];
}

function expandInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const shape = constInts(ctx, 1);
  if (!shape) {
    const s = inputFacts(ctx, 1).shape;
    const n = s && typeof s[0] === "number" ? s[0] : undefined;
    if (n === undefined || !x.shape) return [tensorOf(x.elemType)];
    return [tensorOf(x.elemType, unknownShape(Math.max(n, x.shape.length)))];
  }
  if (!x.shape) return [tensorOf(x.elemType, unknownShape(shape.length))];
  const rank = Math.max(shape.length, x.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const a = x.shape[i - (rank - x.shape.length)] ?? 1;
    const b = shape[i - (rank - shape.length)] ?? 1;
    if (b === 1) out.push(a);
    else if (a === 1 || a === b) out.push(b);
    else if (typeof a === "number") {
      ctx.error(`cannot expand dim ${a} to ${b}`);
      out.push(undefined);
    } else out.push(b);
  }
  return [tensorOf(x.elemType, out)];
}

/** Tiles `x` by `reps` per axis. */
function tileTensor(x: Tensor, reps: readonly number[]): Tensor {
  const st = stridesOf(x.dims);
  const dims: number[] = [];
  const strides: number[] = [];
  for (let d = 0; d < x.dims.length; d++) {
    dims.push(reps[d], x.dims[d]);
    strides.push(0, st[d]);
  }
  const outDims = x.dims.map((d, i) => d * reps[i]);
  return new Tensor(x.type, stridedCopy(x.data, x.type, 0, dims, strides), outDims);
}

function tileCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const rank = x.dims.length;
  let reps: number[];
  if (ctx.version < 6) {
    const tiles = scalarOf(tensorAt(ctx, inputs, 1));
    const axis = normAxis(ctx, scalarOf(tensorAt(ctx, inputs, 2)), rank);
    reps = new Array<number>(rank).fill(1);
    reps[axis] = tiles;
  } else reps = toIntArray(tensorAt(ctx, inputs, 1));
  if (reps.length !== rank) throw ctx.fail(`repeats has ${reps.length} entries for rank ${rank}`);
  if (reps.some((r) => r < 0 || !Number.isInteger(r))) {
    throw ctx.fail(`repeats [${reps}] is invalid`);
  }
  return [tileTensor(x, reps)];
}

function tileInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType)];
  if (ctx.version < 6) return [tensorOf(x.elemType, unknownShape(x.shape.length))];
  const reps = constInts(ctx, 1);
  if (!reps || reps.length !== x.shape.length) {
    if (reps) ctx.error(`repeats has ${reps.length} entries for rank ${x.shape.length}`);
    return [tensorOf(x.elemType, unknownShape(x.shape.length))];
  }
  return [
    tensorOf(
      x.elemType,
      x.shape.map((d, i) => (typeof d === "number" ? d * reps[i] : reps[i] === 1 ? d : undefined)),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Pad
// ---------------------------------------------------------------------------------------------

type PadMode = "constant" | "reflect" | "edge" | "wrap";

/**
 * Pads (or crops, for negative pads) `x`. `begin`/`end` are per axis; `fill` is a
 * one-element storage of x's type (constant mode).
 */
function padTensor(
  x: Tensor,
  begin: readonly number[],
  end: readonly number[],
  mode: PadMode,
  fill: TensorData | undefined,
): Tensor | string {
  const rank = x.dims.length;
  const slots = slotsPerElement(x.type);
  const outDims: number[] = [];
  const maps: Int32Array[] = [];
  for (let d = 0; d < rank; d++) {
    const dim = x.dims[d];
    // Negative pads crop first; the positive rest pads the cropped extent.
    const lo = Math.max(0, -begin[d]);
    const hi = dim - Math.max(0, -end[d]);
    const len = hi - lo;
    const pb = Math.max(0, begin[d]);
    const pe = Math.max(0, end[d]);
    if (len < 0) return `pads [${begin[d]}, ${end[d]}] crop more than axis ${d} of size ${dim}`;
    const od = len + pb + pe;
    outDims.push(od);
    if (len === 0 && od > 0 && mode !== "constant") {
      return `${mode} padding of an empty axis ${d} is undefined`;
    }
    const map = new Int32Array(od);
    for (let o = 0; o < od; o++) {
      let c = o - pb;
      if (c < 0 || c >= len) {
        if (mode === "constant") c = -1;
        else if (mode === "edge") c = c < 0 ? 0 : len - 1;
        else if (mode === "wrap") c = ((c % len) + len) % len;
        else if (len === 1) c = 0;
        else {
          const period = 2 * (len - 1);
          c = ((c % period) + period) % period;
          if (c >= len) c = period - c;
        }
      }
      map[o] = c < 0 ? -1 : c + lo;
    }
    maps.push(map);
  }
  const size = shapeSize(outDims);
  const out = allocate(x.type, size);
  if (size === 0) return new Tensor(x.type, out, outDims);
  if (fill) fillElements(out, 0, size, fill, 0, slots);
  if (rank === 0) {
    copyElement(out, 0, x.data, 0, slots);
    return new Tensor(x.type, out, outDims);
  }
  const st = stridesOf(x.dims);
  const last = rank - 1;
  const width = outDims[last];
  const lastMap = maps[last];
  const rows = size / width;
  const idx = new Array<number>(rank).fill(0);
  const o = out as unknown as Store;
  const s = x.data as unknown as Store;
  for (let r = 0; r < rows; r++) {
    let base = 0;
    let inside = true;
    for (let d = 0; d < last; d++) {
      const m = maps[d][idx[d]];
      if (m < 0) {
        inside = false;
        break;
      }
      base += m * st[d];
    }
    if (inside) {
      const row = r * width;
      if (slots === 1) {
        for (let k = 0; k < width; k++) {
          const m = lastMap[k];
          if (m >= 0) o[row + k] = s[base + m];
        }
      } else {
        for (let k = 0; k < width; k++) {
          const m = lastMap[k];
          if (m >= 0) copyElement(out, row + k, x.data, base + m, slots);
        }
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return new Tensor(x.type, out, outDims);
}

function padCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const rank = x.dims.length;
  const mode = ctx.attrs.string("mode", "constant");
  if (
    mode !== "constant" && mode !== "reflect" && mode !== "edge" &&
    !(mode === "wrap" && ctx.version >= 19)
  ) {
    throw ctx.fail(`mode "${mode}" is not a Pad mode`);
  }
  let pads: number[];
  let axes: number[] = Array.from({ length: rank }, (_, i) => i);
  let fill: TensorData | undefined;
  if (ctx.version < 11) {
    pads = ctx.attrs.ints(ctx.version < 2 ? "paddings" : "pads");
    const v = ctx.attrs.float("value", 0);
    if (v !== 0 && mode === "constant") {
      if (x.type === "string" || slotsPerElement(x.type) === 2) {
        throw ctx.unsupported(`a float pad value for ${x.type}`, x.type);
      }
      fill = fromNumbers(x.type, [v]);
    }
  } else {
    pads = toIntArray(tensorAt(ctx, inputs, 1));
    const cv = optionalTensorAt(ctx, inputs, 2);
    if (cv && mode === "constant") {
      if (cv.type !== x.type) throw ctx.fail(`constant_value is ${cv.type}, data is ${x.type}`);
      if (cv.size < 1) throw ctx.fail("constant_value is empty");
      fill = cv.data;
    }
    if (ctx.version >= 18) {
      const a = optionalTensorAt(ctx, inputs, 3);
      if (a) axes = toIntArray(a).map((v) => normAxis(ctx, v, rank));
    }
  }
  if (pads.length !== 2 * axes.length) {
    throw ctx.fail(`pads has ${pads.length} entries for ${axes.length} axes`);
  }
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    begin[a] = pads[i];
    end[a] = pads[i + axes.length];
  });
  const r = padTensor(x, begin, end, mode as PadMode, fill);
  if (typeof r === "string") throw ctx.fail(r);
  return [r];
}

function padInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType)];
  const rank = x.shape.length;
  let pads: number[] | undefined;
  let axes: number[] | undefined = Array.from({ length: rank }, (_, i) => i);
  if (ctx.version < 11) pads = ctx.attrs.ints(ctx.version < 2 ? "paddings" : "pads", []);
  else {
    pads = constInts(ctx, 1);
    if (ctx.version >= 18 && ctx.hasInput(3)) {
      axes = constInts(ctx, 3)?.map((a) => (a < 0 ? a + rank : a));
    }
  }
  if (!pads || !axes || pads.length !== 2 * axes.length) {
    if (pads && axes) ctx.error(`pads has ${pads.length} entries for ${axes.length} axes`);
    return [tensorOf(x.elemType, unknownShape(rank))];
  }
  const out: Dim[] = [...x.shape];
  axes.forEach((a, i) => {
    const d = out[a];
    out[a] = typeof d === "number"
      ? d + pads![i] + pads![i + axes!.length]
      : pads![i] + pads![i + axes!.length] === 0
      ? d
      : undefined;
  });
  return [tensorOf(x.elemType, out)];
}

// ---------------------------------------------------------------------------------------------
// CenterCropPad
// ---------------------------------------------------------------------------------------------

function centerCropPadCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const shape = toIntArray(tensorAt(ctx, inputs, 1));
  const rank = x.dims.length;
  const axes = ctx.attrs.has("axes")
    ? ctx.attrs.ints("axes").map((a) => normAxis(ctx, a, rank))
    : Array.from({ length: rank }, (_, i) => i);
  if (shape.length !== axes.length) {
    throw ctx.fail(`shape has ${shape.length} entries for ${axes.length} axes`);
  }
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    const diff = shape[i] - x.dims[a];
    if (shape[i] < 0) throw ctx.fail(`target size ${shape[i]} is negative`);
    if (diff >= 0) {
      begin[a] = Math.floor(diff / 2);
      end[a] = diff - begin[a];
    } else {
      const crop = -diff;
      begin[a] = -Math.floor(crop / 2);
      end[a] = -(crop - Math.floor(crop / 2));
    }
  });
  const r = padTensor(x, begin, end, "constant", undefined);
  if (typeof r === "string") throw ctx.fail(r);
  return [r];
}

function centerCropPadInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType)];
  const rank = x.shape.length;
  const shape = constInts(ctx, 1);
  const axes = ctx.attrs.has("axes")
    ? ctx.attrs.ints("axes").map((a) => (a < 0 ? a + rank : a))
    : Array.from({ length: rank }, (_, i) => i);
  const out: Dim[] = [...x.shape];
  axes.forEach((a, i) => (out[a] = shape ? shape[i] : undefined));
  return [tensorOf(x.elemType, out)];
}

// ---------------------------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth
// ---------------------------------------------------------------------------------------------

function depthToSpaceCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (x.dims.length !== 4) throw ctx.fail(`input must be 4-D, got [${x.dims}]`);
  const b = ctx.attrs.int("blocksize");
  const mode = ctx.version >= 11 ? ctx.attrs.string("mode", "DCR") : "DCR";
  const [n, c, h, w] = x.dims;
  if (b <= 0 || c % (b * b) !== 0) {
    throw ctx.fail(`channels ${c} are not divisible by blocksize² (${b}²)`);
  }
  const c2 = c / (b * b);
  let dims: number[];
  let perm: number[];
  if (mode === "DCR") {
    dims = [n, b, b, c2, h, w];
    perm = [0, 3, 4, 1, 5, 2];
  } else if (mode === "CRD") {
    dims = [n, c2, b, b, h, w];
    perm = [0, 1, 4, 2, 5, 3];
  } else throw ctx.fail(`mode "${mode}" is not DCR or CRD`);
  const data = transposeAny(x.data, x.type, dims, perm);
  return [new Tensor(x.type, data, [n, c2, h * b, w * b])];
}

function spaceToDepthCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (x.dims.length !== 4) throw ctx.fail(`input must be 4-D, got [${x.dims}]`);
  const b = ctx.attrs.int("blocksize");
  const [n, c, h, w] = x.dims;
  if (b <= 0 || h % b !== 0 || w % b !== 0) {
    throw ctx.fail(`height ${h} and width ${w} must be divisible by blocksize ${b}`);
  }
  const data = transposeAny(x.data, x.type, [n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4]);
  return [new Tensor(x.type, data, [n, c * b * b, h / b, w / b])];
}

function blockInfer(toSpace: boolean) {
  return (ctx: InferContext): (ValueType | undefined)[] => {
    const x = inputFacts(ctx, 0);
    if (!x.shape) return [tensorOf(x.elemType, unknownShape(4))];
    if (x.shape.length !== 4) {
      ctx.error(`input must be 4-D, got rank ${x.shape.length}`);
      return [tensorOf(x.elemType)];
    }
    const b = ctx.attrs.int("blocksize", 0);
    const [n, c, h, w] = x.shape;
    const f = (d: Dim, k: number, div: boolean): Dim =>
      typeof d === "number" ? (div ? d / k : d * k) : undefined;
    return toSpace
      ? [tensorOf(x.elemType, [n, f(c, b * b, true), f(h, b, false), f(w, b, false)])]
      : [tensorOf(x.elemType, [n, f(c, b * b, false), f(h, b, true), f(w, b, true)])];
  };
}

// ---------------------------------------------------------------------------------------------
// ReverseSequence
// ---------------------------------------------------------------------------------------------

function reverseSequenceCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const lens = indexValues(tensorAt(ctx, inputs, 1));
  const rank = x.dims.length;
  if (rank < 2) throw ctx.fail(`input must have rank 2 or more, got [${x.dims}]`);
  const batchAxis = ctx.attrs.int("batch_axis", 1);
  const timeAxis = ctx.attrs.int("time_axis", 0);
  if (!((batchAxis === 0 && timeAxis === 1) || (batchAxis === 1 && timeAxis === 0))) {
    throw ctx.fail(`batch_axis ${batchAxis} and time_axis ${timeAxis} must be 0 and 1`);
  }
  const batch = x.dims[batchAxis];
  const time = x.dims[timeAxis];
  if (lens.length !== batch) {
    throw ctx.fail(`sequence_lens has ${lens.length} entries for batch ${batch}`);
  }
  const slots = slotsPerElement(x.type);
  const inner = prod(x.dims, 2) * slots;
  const st = stridesOf(x.dims);
  const bs = st[batchAxis] * slots;
  const ts = st[timeAxis] * slots;
  const out = allocate(x.type, x.size);
  for (let b = 0; b < batch; b++) {
    const len = lens[b];
    if (len < 0 || len > time) {
      throw ctx.fail(`sequence length ${len} is out of range [0, ${time}]`);
    }
    for (let t = 0; t < time; t++) {
      const from = t < len ? len - 1 - t : t;
      copyRun(out, b * bs + t * ts, x.data, b * bs + from * ts, inner);
    }
  }
  return [new Tensor(x.type, out, x.dims)];
}

// ---------------------------------------------------------------------------------------------
// Compress
// ---------------------------------------------------------------------------------------------

/** Copies the `picks` positions of axis `axis` of `x` (gather by a list of positions). */
export function takeAlongAxis(x: Tensor, axis: number, picks: ArrayLike<number>): Tensor {
  const slots = slotsPerElement(x.type);
  const outer = prod(x.dims, 0, axis);
  const dim = x.dims[axis];
  const inner = prod(x.dims, axis + 1) * slots;
  const outDims = [...x.dims];
  outDims[axis] = picks.length;
  const out = allocate(x.type, shapeSize(outDims));
  const n = picks.length;
  if (inner > 0) {
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        copyRun(out, (o * n + j) * inner, x.data, (o * dim + picks[j]) * inner, inner);
      }
    }
  }
  return new Tensor(x.type, out, outDims);
}

function compressCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  let x = tensorAt(ctx, inputs, 0);
  const cond = tensorAt(ctx, inputs, 1);
  if (cond.dims.length !== 1) throw ctx.fail(`condition must be 1-D, got [${cond.dims}]`);
  const c = cond.type === "bool" ? (cond.data as Uint8Array) : indexValues(cond);
  let axis: number;
  if (ctx.attrs.has("axis")) axis = normAxis(ctx, ctx.attrs.int("axis"), x.dims.length);
  else {
    x = new Tensor(x.type, x.data, [x.size]);
    axis = 0;
  }
  const dim = x.dims[axis];
  if (c.length > dim) {
    throw ctx.fail(`condition has ${c.length} entries for an axis of size ${dim}`);
  }
  const picks: number[] = [];
  for (let i = 0; i < c.length; i++) if (c[i]) picks.push(i);
  return [takeAlongAxis(x, axis, picks)];
}

function compressInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!ctx.attrs.has("axis")) return [tensorOf(x.elemType, [undefined])];
  if (!x.shape) return [tensorOf(x.elemType)];
  const axis = inferAxis(ctx, ctx.attrs.int("axis"), x.shape.length);
  return [tensorOf(x.elemType, x.shape.map((d, i) => (i === axis ? undefined : d)))];
}

// ---------------------------------------------------------------------------------------------
// NonZero
// ---------------------------------------------------------------------------------------------

function nonZeroFlags(x: Tensor): Uint8Array {
  const n = x.size;
  const flags = new Uint8Array(n);
  if (x.type === "string") {
    const s = x.data as string[];
    for (let i = 0; i < n; i++) flags[i] = s[i] !== "" ? 1 : 0;
  } else if (isBig(x.type)) {
    const b = x.data as BigArray;
    for (let i = 0; i < n; i++) flags[i] = b[i] !== 0n ? 1 : 0;
  } else if (slotsPerElement(x.type) === 2) {
    const f = x.data as Float32Array;
    for (let i = 0; i < n; i++) flags[i] = f[2 * i] !== 0 || f[2 * i + 1] !== 0 ? 1 : 0;
  } else {
    const v = dataToNumbers(x.type, x.data);
    for (let i = 0; i < n; i++) flags[i] = v[i] !== 0 ? 1 : 0;
  }
  return flags;
}

function nonZeroCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const flags = nonZeroFlags(x);
  let nnz = 0;
  for (let i = 0; i < flags.length; i++) nnz += flags[i];
  const dims = x.dims.length === 0 ? [1] : x.dims;
  const rank = dims.length;
  const out = new BigInt64Array(rank * nnz);
  const idx = new Array<number>(rank).fill(0);
  let j = 0;
  for (let i = 0; i < flags.length; i++) {
    if (flags[i]) {
      for (let d = 0; d < rank; d++) out[d * nnz + j] = BigInt(idx[d]);
      j++;
    }
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return [new Tensor("int64", out, [rank, nnz])];
}

// ---------------------------------------------------------------------------------------------
// Trilu
// ---------------------------------------------------------------------------------------------

function triluCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const rank = x.dims.length;
  if (rank < 2) throw ctx.fail(`input must have rank 2 or more, got [${x.dims}]`);
  const kt = optionalTensorAt(ctx, inputs, 1);
  const k = kt ? scalarOf(kt) : 0;
  const upper = ctx.attrs.int("upper", 1) !== 0;
  const rows = x.dims[rank - 2];
  const cols = x.dims[rank - 1];
  const mats = prod(x.dims, 0, rank - 2);
  const slots = slotsPerElement(x.type);
  const out = allocate(x.type, x.size);
  for (let m = 0; m < mats; m++) {
    for (let i = 0; i < rows; i++) {
      // Kept columns: j >= i + k (upper) or j <= i + k (lower).
      const lo = upper ? Math.max(0, Math.min(cols, i + k)) : 0;
      const hi = upper ? cols : Math.max(0, Math.min(cols, i + k + 1));
      const at = ((m * rows + i) * cols + lo) * slots;
      if (hi > lo) copyRun(out, at, x.data, at, (hi - lo) * slots);
    }
  }
  return [new Tensor(x.type, out, x.dims)];
}

// ---------------------------------------------------------------------------------------------
// Unique
// ---------------------------------------------------------------------------------------------

type Key = number | bigint | string;

/** Comparable per-element keys of a tensor: numbers, bigints or strings. */
function elementKeys(x: Tensor): ArrayLike<Key> {
  if (x.type === "string") return x.data as string[];
  if (isBig(x.type)) return x.data as BigArray;
  if (slotsPerElement(x.type) === 2) {
    const f = x.data as Float32Array;
    return Array.from({ length: x.size }, (_, i) => `${f[2 * i]},${f[2 * i + 1]}`);
  }
  return dataToNumbers(x.type, x.data);
}

function compareKeys(a: Key, b: Key): number {
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
    if (Number.isNaN(b)) return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  let x = tensorAt(ctx, inputs, 0);
  const sorted = ctx.attrs.int("sorted", 1) !== 0;
  let axis: number;
  if (ctx.attrs.has("axis")) axis = normAxis(ctx, ctx.attrs.int("axis"), x.dims.length);
  else {
    x = new Tensor(x.type, x.data, [x.size]);
    axis = 0;
  }
  const keys = elementKeys(x);
  const dim = x.dims[axis];
  const outer = prod(x.dims, 0, axis);
  const inner = prod(x.dims, axis + 1);
  // Each slice along the axis becomes a tuple of element keys.
  const sliceKeys: Key[][] = [];
  for (let j = 0; j < dim; j++) {
    const t: Key[] = [];
    for (let o = 0; o < outer; o++) {
      const base = (o * dim + j) * inner;
      for (let k = 0; k < inner; k++) t.push(keys[base + k]);
    }
    sliceKeys.push(t);
  }
  const id = (t: Key[]): string | Key =>
    t.length === 1 && typeof t[0] !== "string"
      ? (typeof t[0] === "number" && Number.isNaN(t[0]) ? "NaN" : t[0])
      : JSON.stringify(
        t.map((
          v,
        ) => (typeof v === "bigint"
          ? `${v}n`
          : typeof v === "number" && !Number.isFinite(v)
          ? String(v)
          : v)
        ),
      );
  const firstOf = new Map<string | Key, number>();
  const order: number[] = [];
  const slot: number[] = new Array(dim);
  const counts: number[] = [];
  for (let j = 0; j < dim; j++) {
    const k = id(sliceKeys[j]);
    let u = firstOf.get(k);
    if (u === undefined) {
      u = order.length;
      firstOf.set(k, u);
      order.push(j);
      counts.push(0);
    }
    slot[j] = u;
    counts[u]++;
  }
  // rank[u] = position of unique u in the output order.
  let perm = order.map((_, u) => u);
  if (sorted) {
    perm = perm.sort((a, b) => {
      const ta = sliceKeys[order[a]];
      const tb = sliceKeys[order[b]];
      for (let i = 0; i < ta.length; i++) {
        const c = compareKeys(ta[i], tb[i]);
        if (c !== 0) return c;
      }
      return 0;
    });
  }
  const pos = new Array<number>(perm.length);
  perm.forEach((u, p) => (pos[u] = p));
  const picks = perm.map((u) => order[u]);
  const y = takeAlongAxis(x, axis, picks);
  const big = (v: number[]) =>
    new Tensor("int64", BigInt64Array.from(v, (n) => BigInt(n)), [v.length]);
  return [
    y,
    big(picks),
    big(slot.map((u) => pos[u])),
    big(perm.map((u) => counts[u])),
  ];
}

function uniqueInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  let y: ValueType;
  if (!ctx.attrs.has("axis")) y = tensorOf(x.elemType, [undefined]);
  else if (!x.shape) y = tensorOf(x.elemType);
  else {
    const axis = inferAxis(ctx, ctx.attrs.int("axis"), x.shape.length);
    y = tensorOf(x.elemType, x.shape.map((d, i) => (i === axis ? undefined : d)));
  }
  return [
    y,
    tensorOf("int64", [undefined]),
    tensorOf("int64", [undefined]),
    tensorOf("int64", [undefined]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

/** The data-movement operator declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Transpose",
    versions: [1, 13, 21, 23, 24, 25],
    cpu: transposeCpu,
    infer: transposeInfer,
  },
  { domain: "", opType: "Concat", versions: [1, 4, 11, 13], cpu: concatCpu, infer: concatInfer },
  {
    domain: "",
    opType: "Split",
    versions: [1, 2, 11, 13, 18],
    cpu: splitCpu,
    infer: splitInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Slice",
    versions: [1, 10, 11, 13],
    cpu: sliceCpu,
    infer: sliceInfer,
    hostInputs: [1, 2, 3, 4],
  },
  {
    domain: "",
    opType: "Expand",
    versions: [8, 13],
    cpu: expandCpu,
    infer: expandInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Tile",
    versions: [1, 6, 13],
    cpu: tileCpu,
    infer: tileInfer,
    hostInputs: [1, 2],
  },
  {
    domain: "",
    opType: "Pad",
    versions: [1, 2, 11, 13, 18, 19, 21, 23, 24, 25],
    cpu: padCpu,
    infer: padInfer,
    hostInputs: [1, 2, 3],
  },
  {
    domain: "",
    opType: "CenterCropPad",
    versions: [18],
    cpu: centerCropPadCpu,
    infer: centerCropPadInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "DepthToSpace",
    versions: [1, 11, 13],
    cpu: depthToSpaceCpu,
    infer: blockInfer(true),
  },
  {
    domain: "",
    opType: "SpaceToDepth",
    versions: [1, 13],
    cpu: spaceToDepthCpu,
    infer: blockInfer(false),
  },
  {
    domain: "",
    opType: "ReverseSequence",
    versions: [10],
    cpu: reverseSequenceCpu,
    infer: sameInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Compress",
    versions: [9, 11],
    cpu: compressCpu,
    infer: compressInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "NonZero",
    versions: [9, 13],
    cpu: nonZeroCpu,
    infer: (ctx) => {
      const s = inputFacts(ctx, 0).shape;
      return [tensorOf("int64", [s ? Math.max(1, s.length) : undefined, undefined])];
    },
  },
  { domain: "", opType: "Trilu", versions: [14], cpu: triluCpu, infer: sameInfer, hostInputs: [1] },
  { domain: "", opType: "Unique", versions: [11], cpu: uniqueCpu, infer: uniqueInfer },
];
