/**
 * Shape operators and value generators: Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size,
 * Identity, Constant, ConstantOfShape, Range, Dropout (inference) and EyeLike.
 *
 * Ops that only change the shape share the input's storage: tensors are never mutated in
 * place, so no copy is needed.
 *
 * @module
 */

import {
  allocate,
  type BigArray,
  type DataType,
  dataTypeFromCode,
  isBig,
  isPackedFloat,
  slotsPerElement,
  type TensorData,
} from "../pipeline/tensor/dtype.ts";
import { fromNumbers, shapeSize, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { int64Tensor, optionalTensorAt, scalarOf, tensorAt, toIntArray } from "./util.ts";
import {
  constInts,
  dimProduct,
  fillElements,
  foldDims,
  inferAxis,
  inputFacts,
  tensorOf,
  unknownShape,
} from "./movement_common.ts";

// ---------------------------------------------------------------------------------------------
// Reshape
// ---------------------------------------------------------------------------------------------

/**
 * Resolves a Reshape target: 0 copies the input dim (unless `allowZero`), -1 is inferred.
 * Throws an Error with a message when the shape is invalid.
 */
export function reshapeDims(
  inDims: readonly number[],
  shape: readonly number[],
  allowZero: boolean,
): number[] {
  const out = new Array<number>(shape.length);
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (s === -1) {
      if (infer >= 0) throw new Error("shape has more than one -1");
      infer = i;
      out[i] = 1;
      continue;
    }
    if (s < -1) throw new Error(`shape value ${s} is invalid`);
    if (s === 0 && !allowZero) {
      if (i >= inDims.length) throw new Error(`shape has 0 at index ${i} beyond the input rank`);
      out[i] = inDims[i];
    } else out[i] = s;
    known *= out[i];
  }
  const size = shapeSize(inDims);
  if (infer >= 0) {
    if (known === 0) {
      if (size !== 0) throw new Error("shape has -1 together with a zero dim");
      out[infer] = 0;
    } else {
      if (size % known !== 0) {
        throw new Error(`cannot reshape ${size} elements to [${shape}]`);
      }
      out[infer] = size / known;
    }
  } else if (known !== size) {
    throw new Error(`cannot reshape [${inDims}] (${size} elements) to [${out}]`);
  }
  return out;
}

function reshapeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const shape = ctx.version < 5 ? ctx.attrs.ints("shape") : toIntArray(tensorAt(ctx, inputs, 1));
  const allowZero = ctx.version >= 14 && ctx.attrs.int("allowzero", 0) !== 0;
  let dims: number[];
  try {
    dims = reshapeDims(x.dims, shape, allowZero);
  } catch (e) {
    throw ctx.fail((e as Error).message);
  }
  return [new Tensor(x.type, x.data, dims)];
}

function reshapeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const shape = ctx.version < 5 ? ctx.attrs.ints("shape", []) : constInts(ctx, 1);
  if (!shape) {
    const st = ctx.version >= 5 ? inputFacts(ctx, 1).shape : undefined;
    const rank = st && typeof st[0] === "number" ? st[0] : undefined;
    return [tensorOf(x.elemType, rank === undefined ? undefined : unknownShape(rank))];
  }
  const allowZero = ctx.version >= 14 && ctx.attrs.int("allowzero", 0) !== 0;
  const out: Dim[] = [];
  let inferAt = -1;
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i];
    if (s === 0 && !allowZero) out.push(x.shape ? x.shape[i] : undefined);
    else if (s === -1) {
      inferAt = i;
      out.push(undefined);
    } else out.push(s);
  }
  if (inferAt >= 0 && x.shape) {
    const total = dimProduct(x.shape);
    const rest = dimProduct(out.filter((_, i) => i !== inferAt));
    if (total !== undefined && rest !== undefined && rest !== 0) {
      if (total % rest !== 0) {
        ctx.error(`cannot reshape ${total} elements to [${shape}]`);
      } else out[inferAt] = total / rest;
    }
  }
  return [tensorOf(x.elemType, out)];
}

// ---------------------------------------------------------------------------------------------
// Flatten
// ---------------------------------------------------------------------------------------------

function flattenCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const r = x.dims.length;
  let axis = ctx.attrs.int("axis", 1);
  if (axis < 0) {
    if (ctx.version < 11) throw ctx.fail(`axis ${axis} must not be negative before opset 11`);
    axis += r;
  }
  if (axis < 0 || axis > r) throw ctx.fail(`axis ${ctx.attrs.int("axis", 1)} is out of range`);
  let a = 1;
  for (let i = 0; i < axis; i++) a *= x.dims[i];
  let b = 1;
  for (let i = axis; i < r; i++) b *= x.dims[i];
  return [new Tensor(x.type, x.data, [a, b])];
}

function flattenInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf(x.elemType, [undefined, undefined])];
  const r = x.shape.length;
  let axis = ctx.attrs.int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) {
    ctx.error(`axis ${ctx.attrs.int("axis", 1)} is out of range for rank ${r}`);
    return [tensorOf(x.elemType, [undefined, undefined])];
  }
  return [
    tensorOf(x.elemType, [foldDims(x.shape.slice(0, axis)), foldDims(x.shape.slice(axis))]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Squeeze / Unsqueeze
// ---------------------------------------------------------------------------------------------

function axesInput(ctx: OpContext, inputs: (Value | undefined)[]): number[] | undefined {
  if (ctx.version >= 13) {
    const t = optionalTensorAt(ctx, inputs, 1);
    return t ? toIntArray(t) : undefined;
  }
  return ctx.attrs.has("axes") ? ctx.attrs.ints("axes") : undefined;
}

function squeezeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const r = x.dims.length;
  const axes = axesInput(ctx, inputs);
  let dims: number[];
  if (axes === undefined) dims = x.dims.filter((d) => d !== 1);
  else {
    const drop = new Set<number>();
    for (const a of axes) {
      if (a < -r || a >= r) throw ctx.fail(`axis ${a} is out of range for rank ${r}`);
      const n = a < 0 ? a + r : a;
      if (x.dims[n] !== 1) throw ctx.fail(`cannot squeeze axis ${a} of size ${x.dims[n]}`);
      drop.add(n);
    }
    dims = x.dims.filter((_, i) => !drop.has(i));
  }
  return [new Tensor(x.type, x.data, dims)];
}

function squeezeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const axes = ctx.version >= 13
    ? (ctx.hasInput(1) ? constInts(ctx, 1) : [])
    : ctx.attrs.ints("axes", []);
  if (!x.shape || axes === undefined) return [tensorOf(x.elemType)];
  const r = x.shape.length;
  if (axes.length === 0) {
    if (x.shape.some((d) => typeof d !== "number")) return [tensorOf(x.elemType)];
    return [tensorOf(x.elemType, x.shape.filter((d) => d !== 1))];
  }
  const drop = new Set<number>();
  for (const a of axes) {
    const n = inferAxis(ctx, a, r);
    if (n === undefined) return [tensorOf(x.elemType)];
    const d = x.shape[n];
    if (typeof d === "number" && d !== 1) ctx.error(`cannot squeeze axis ${a} of size ${d}`);
    drop.add(n);
  }
  return [tensorOf(x.elemType, x.shape.filter((_, i) => !drop.has(i)))];
}

/** Output dims of Unsqueeze; throws an Error with a message on invalid axes. */
function unsqueezeDims<D>(dims: readonly D[], axes: readonly number[], one: D): D[] {
  const r = dims.length + axes.length;
  const at = new Set<number>();
  for (const a of axes) {
    if (a < -r || a >= r) throw new Error(`axis ${a} is out of range for output rank ${r}`);
    const n = a < 0 ? a + r : a;
    if (at.has(n)) throw new Error(`axis ${a} is repeated`);
    at.add(n);
  }
  const out: D[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(at.has(i) ? one : dims[j++]);
  return out;
}

function unsqueezeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const axes = ctx.version >= 13 ? toIntArray(tensorAt(ctx, inputs, 1)) : ctx.attrs.ints("axes");
  try {
    return [new Tensor(x.type, x.data, unsqueezeDims(x.dims, axes, 1))];
  } catch (e) {
    throw ctx.fail((e as Error).message);
  }
}

function unsqueezeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  const axes = ctx.version >= 13 ? constInts(ctx, 1) : ctx.attrs.ints("axes", []);
  if (!x.shape || !axes) return [tensorOf(x.elemType)];
  try {
    return [tensorOf(x.elemType, unsqueezeDims<Dim>(x.shape, axes, 1))];
  } catch (e) {
    ctx.error((e as Error).message);
    return [tensorOf(x.elemType)];
  }
}

// ---------------------------------------------------------------------------------------------
// Shape / Size / Identity
// ---------------------------------------------------------------------------------------------

function shapeRange(
  ctx: { version: number; attrs: OpContext["attrs"] },
  r: number,
): [number, number] {
  if (ctx.version < 15) return [0, r];
  const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  const start = clamp(ctx.attrs.int("start", 0));
  const end = ctx.attrs.has("end") ? clamp(ctx.attrs.int("end")) : r;
  return [start, Math.max(start, end)];
}

function shapeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const [s, e] = shapeRange(ctx, x.dims.length);
  return [int64Tensor(x.dims.slice(s, e))];
}

function shapeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (!x.shape) return [tensorOf("int64", [undefined])];
  const [s, e] = shapeRange(ctx, x.shape.length);
  return [tensorOf("int64", [e - s])];
}

function sizeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  return [new Tensor("int64", BigInt64Array.of(BigInt(x.size)), [])];
}

function identityCpu(ctx: OpContext, inputs: (Value | undefined)[]): (Value | undefined)[] {
  if (inputs[0] === undefined) throw ctx.fail("input 0 is required");
  return [inputs[0]];
}

// ---------------------------------------------------------------------------------------------
// Constant / ConstantOfShape
// ---------------------------------------------------------------------------------------------

const CONSTANT_ATTRS = [
  "value",
  "sparse_value",
  "value_float",
  "value_floats",
  "value_int",
  "value_ints",
  "value_string",
  "value_strings",
];

function constantValue(ctx: OpContext | InferContext): Tensor | undefined {
  const set = CONSTANT_ATTRS.filter((n) => ctx.attrs.has(n));
  if (set.length !== 1) return undefined;
  switch (set[0]) {
    case "value":
      return ctx.attrs.tensor("value");
    case "sparse_value":
      return ctx.attrs.sparseTensor("sparse_value");
    case "value_float":
      return new Tensor("float32", Float32Array.of(ctx.attrs.float("value_float")), []);
    case "value_floats": {
      const v = ctx.attrs.floats("value_floats");
      return new Tensor("float32", Float32Array.from(v), [v.length]);
    }
    case "value_int":
      return new Tensor("int64", BigInt64Array.of(ctx.attrs.bigint("value_int")), []);
    case "value_ints": {
      const v = ctx.attrs.bigints("value_ints");
      return new Tensor("int64", BigInt64Array.from(v), [v.length]);
    }
    case "value_string":
      return new Tensor("string", [ctx.attrs.string("value_string")], []);
    default: {
      const v = ctx.attrs.strings("value_strings");
      return new Tensor("string", v, [v.length]);
    }
  }
}

function constantCpu(ctx: OpContext): Value[] {
  const set = CONSTANT_ATTRS.filter((n) => ctx.attrs.has(n));
  if (set.length !== 1) {
    throw ctx.fail(`exactly one value attribute must be set, found ${set.length}`);
  }
  const t = constantValue(ctx);
  if (!t) throw ctx.fail(`attribute "${set[0]}" holds no value`);
  return [t];
}

function constantInfer(ctx: InferContext): (ValueType | undefined)[] {
  const set = CONSTANT_ATTRS.filter((n) => ctx.attrs.has(n));
  if (set.length !== 1) {
    ctx.error(`exactly one value attribute must be set, found ${set.length}`);
    return [tensorOf(undefined)];
  }
  try {
    const t = constantValue(ctx);
    return [t ? tensorOf(t.type, [...t.dims]) : tensorOf(undefined)];
  } catch {
    return [tensorOf(undefined)];
  }
}

function constantOfShapeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const dims = toIntArray(tensorAt(ctx, inputs, 0));
  for (const d of dims) if (d < 0) throw ctx.fail(`shape value ${d} is negative`);
  const value = ctx.attrs.tensor("value");
  if (!value) return [new Tensor("float32", new Float32Array(shapeSize(dims)), dims)];
  if (value.size !== 1) {
    throw ctx.fail(`attribute "value" must hold one element, got ${value.size}`);
  }
  const size = shapeSize(dims);
  const out = allocate(value.type, size);
  fillElements(out, 0, size, value.data, 0, slotsPerElement(value.type));
  return [new Tensor(value.type, out, dims)];
}

function constantOfShapeInfer(ctx: InferContext): (ValueType | undefined)[] {
  let elemType: DataType | undefined = "float32";
  if (ctx.attrs.has("value")) {
    try {
      elemType = ctx.attrs.tensor("value")?.type;
    } catch {
      elemType = undefined;
    }
  }
  const dims = constInts(ctx, 0);
  if (dims) return [tensorOf(elemType, dims)];
  const s = inputFacts(ctx, 0).shape;
  const rank = s && typeof s[0] === "number" ? s[0] : undefined;
  return [tensorOf(elemType, rank === undefined ? undefined : unknownShape(rank))];
}

// ---------------------------------------------------------------------------------------------
// Range
// ---------------------------------------------------------------------------------------------

const RANGE_TYPES = new Set<DataType>([
  "float32",
  "float64",
  "int16",
  "int32",
  "int64",
  "float16",
  "bfloat16",
]);

function rangeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const s = tensorAt(ctx, inputs, 0);
  const l = tensorAt(ctx, inputs, 1);
  const d = tensorAt(ctx, inputs, 2);
  const type = s.type;
  if (l.type !== type || d.type !== type) {
    throw ctx.fail(`start, limit and delta must share one type, got ${type}, ${l.type}, ${d.type}`);
  }
  if (!RANGE_TYPES.has(type) || (isPackedFloat(type) && ctx.version < 27)) {
    throw ctx.unsupported(`Range does not accept ${type}`, type);
  }
  for (const t of [s, l, d]) {
    if (t.size !== 1) throw ctx.fail("start, limit and delta must be scalars");
  }
  if (type === "int64") {
    const start = (s.data as BigArray)[0];
    const limit = (l.data as BigArray)[0];
    const delta = (d.data as BigArray)[0];
    if (delta === 0n) throw ctx.fail("delta must not be zero");
    const diff = limit - start;
    let n = 0n;
    if (delta > 0n && diff > 0n) n = (diff + delta - 1n) / delta;
    else if (delta < 0n && diff < 0n) n = (-diff - delta - 1n) / -delta;
    const count = Number(n);
    const out = new BigInt64Array(count);
    for (let i = 0; i < count; i++) out[i] = start + BigInt(i) * delta;
    return [new Tensor("int64", out, [count])];
  }
  const start = scalarOf(s);
  const limit = scalarOf(l);
  const delta = scalarOf(d);
  if (delta === 0) throw ctx.fail("delta must not be zero");
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  if (!Number.isFinite(count)) throw ctx.fail("the range has no finite length");
  const values = new Float64Array(count);
  if (isPackedFloat(type)) {
    // Range-27: float16/bfloat16 compute in the stash type (float32 by default).
    const stash = ctx.attrs.int("stash_type", 1);
    if (stash !== 1) throw ctx.unsupported(`stash_type ${stash} is not supported`, type);
    const fs = Math.fround(start);
    const fd = Math.fround(delta);
    for (let i = 0; i < count; i++) values[i] = Math.fround(fs + Math.fround(i * fd));
  } else {
    for (let i = 0; i < count; i++) values[i] = start + i * delta;
  }
  return [new Tensor(type, fromNumbers(type, values), [count])];
}

function rangeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = inputFacts(ctx, 0).elemType;
  const vals = [0, 1, 2].map((i) => ctx.constant(i));
  if (vals.every((v) => v !== undefined && v.size === 1) && t !== "int64") {
    try {
      const [s, l, d] = vals.map((v) => scalarOf(v!));
      if (d !== 0) return [tensorOf(t, [Math.max(Math.ceil((l - s) / d), 0)])];
    } catch {
      // fall through to the unknown length
    }
  }
  return [tensorOf(t, [undefined])];
}

// ---------------------------------------------------------------------------------------------
// Dropout (inference)
// ---------------------------------------------------------------------------------------------

function onesOf(type: DataType, dims: readonly number[]): Tensor {
  const n = shapeSize(dims);
  if (type === "string") throw new TypeError("A string mask has no ones");
  if (isBig(type)) {
    const out = allocate(type, n) as BigArray;
    out.fill(1n);
    return new Tensor(type, out, dims);
  }
  const one = fromNumbers(
    type === "complex64" ? "float32" : type === "complex128" ? "float64" : type,
    [1],
  );
  const out = allocate(type, n);
  if (slotsPerElement(type) === 2) {
    const o = out as Float32Array;
    for (let i = 0; i < n; i++) o[2 * i] = 1;
  } else fillElements(out, 0, n, one as TensorData, 0, 1);
  return new Tensor(type, out, dims);
}

function dropoutCpu(ctx: OpContext, inputs: (Value | undefined)[]): (Value | undefined)[] {
  const x = tensorAt(ctx, inputs, 0);
  let ratio: number;
  let training: boolean;
  if (ctx.version >= 12) {
    const r = optionalTensorAt(ctx, inputs, 1);
    ratio = r ? scalarOf(r) : 0.5;
    const tm = optionalTensorAt(ctx, inputs, 2);
    training = tm ? scalarOf(tm) !== 0 : false;
  } else {
    ratio = ctx.attrs.float("ratio", 0.5);
    training = ctx.version < 7 ? ctx.attrs.int("is_test", 0) === 0 : false;
  }
  if (training && ratio !== 0) {
    throw ctx.unsupported(
      ctx.version < 7
        ? `Dropout-${ctx.version} with is_test=0 (training mode) and ratio ${ratio} is random`
        : `Dropout in training mode with ratio ${ratio} is random`,
    );
  }
  const out: (Value | undefined)[] = [x];
  if (ctx.wantsOutput(1)) {
    out.push(ctx.version >= 10 ? onesOf("bool", x.dims) : onesOf(x.type, x.dims));
  }
  return out;
}

function dropoutInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  return [
    tensorOf(x.elemType, x.shape),
    tensorOf(ctx.version >= 10 ? "bool" : x.elemType, x.shape),
  ];
}

// ---------------------------------------------------------------------------------------------
// EyeLike
// ---------------------------------------------------------------------------------------------

function eyeLikeType(
  ctx: OpContext | InferContext,
  input: DataType | undefined,
): DataType | undefined {
  if (!ctx.attrs.has("dtype")) return input;
  return dataTypeFromCode(ctx.attrs.int("dtype"));
}

function eyeLikeCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (x.dims.length !== 2) throw ctx.fail(`input must be 2-D, got [${x.dims}]`);
  const type = eyeLikeType(ctx, x.type);
  if (!type) throw ctx.fail(`dtype ${ctx.attrs.int("dtype")} is not a known element type`);
  if (type === "string" || slotsPerElement(type) === 2) {
    throw ctx.unsupported(`EyeLike does not produce ${type}`, type);
  }
  const [rows, cols] = x.dims;
  const k = ctx.attrs.int("k", 0);
  const out = allocate(type, rows * cols);
  const one = (isBig(type) ? BigInt64Array.of(1n) : fromNumbers(type, [1])) as TensorData;
  for (let i = 0; i < rows; i++) {
    const j = i + k;
    if (j >= 0 && j < cols) fillElements(out, i * cols + j, i * cols + j + 1, one, 0, 1);
  }
  return [new Tensor(type, out, x.dims)];
}

function eyeLikeInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = inputFacts(ctx, 0);
  if (x.shape && x.shape.length !== 2) ctx.error(`input must be 2-D, got rank ${x.shape.length}`);
  return [tensorOf(eyeLikeType(ctx, x.elemType), x.shape)];
}

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

function sameInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [ctx.input(0)];
}

/** The shape operator declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Reshape",
    versions: [1, 5, 13, 14, 19, 21, 23, 24, 25],
    cpu: reshapeCpu,
    infer: reshapeInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Flatten",
    versions: [1, 9, 11, 13, 21, 23, 24, 25],
    cpu: flattenCpu,
    infer: flattenInfer,
  },
  {
    domain: "",
    opType: "Squeeze",
    versions: [1, 11, 13, 21, 23, 24, 25],
    cpu: squeezeCpu,
    infer: squeezeInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Unsqueeze",
    versions: [1, 11, 13, 21, 23, 24, 25],
    cpu: unsqueezeCpu,
    infer: unsqueezeInfer,
    hostInputs: [1],
  },
  {
    domain: "",
    opType: "Shape",
    versions: [1, 13, 15, 19, 21, 23, 24, 25],
    cpu: shapeCpu,
    infer: shapeInfer,
  },
  {
    domain: "",
    opType: "Size",
    versions: [1, 13, 19, 21, 23, 24, 25],
    cpu: sizeCpu,
    infer: () => [tensorOf("int64", [])],
  },
  {
    domain: "",
    opType: "Identity",
    versions: [1, 13, 14, 16, 19, 21, 23, 24, 25],
    cpu: identityCpu,
    infer: sameInfer,
  },
  {
    domain: "",
    opType: "Constant",
    versions: [1, 9, 11, 12, 13, 19, 21, 23, 24, 25],
    cpu: constantCpu,
    infer: constantInfer,
  },
  {
    domain: "",
    opType: "ConstantOfShape",
    versions: [9, 20, 21, 23, 24, 25],
    cpu: constantOfShapeCpu,
    infer: constantOfShapeInfer,
    hostInputs: [0],
  },
  {
    domain: "",
    opType: "Range",
    versions: [11, 27],
    cpu: rangeCpu,
    infer: rangeInfer,
    hostInputs: [0, 1, 2],
  },
  {
    domain: "",
    opType: "Dropout",
    versions: [1, 6, 7, 10, 12, 13, 22],
    cpu: dropoutCpu,
    infer: dropoutInfer,
    hostInputs: [1, 2],
  },
  {
    domain: "",
    opType: "EyeLike",
    versions: [9, 22],
    cpu: eyeLikeCpu,
    infer: eyeLikeInfer,
  },
];
