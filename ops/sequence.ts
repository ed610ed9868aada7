/**
 * Sequence operators: SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt,
 * SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence and SequenceMap.
 * Sequences are {@link Sequence} values that keep their element type when it is known (so
 * that an empty sequence still knows what it would hold).
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../pipeline/tensor/dtype.ts";
import {
  describeValue,
  OnnxMap,
  Optional,
  Sequence,
  Tensor,
  type Value,
} from "../pipeline/tensor/tensor.ts";
import { type Dim, type ValueType, valueTypeFromProto } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { int64Tensor, normalizeAxis, scalarOf, tensorAt, toIntArray } from "./util.ts";
import { concatAlongAxis, concatMismatch, splitAlongAxis, stackAlongAxis } from "./stack.ts";

// ------------------------------------------------------------------------------------------
// Value types shared by the sequence, optional and control-flow families.
// ------------------------------------------------------------------------------------------

/** The type of a runtime value (tensor shapes exact; sequences typed by their elements). */
export function valueTypeOf(v: Value): ValueType {
  if (v instanceof Tensor) return { kind: "tensor", elemType: v.type, shape: [...v.dims] };
  if (v instanceof Sequence) {
    if (v.elemType) return { kind: "sequence", elem: v.elemType };
    let elem: ValueType | undefined;
    for (const x of v.values) {
      const t = valueTypeOf(x);
      elem = elem ? unionType(elem, t) : t;
    }
    return { kind: "sequence", elem };
  }
  if (v instanceof Optional) {
    return {
      kind: "optional",
      elem: v.elemType ?? (v.value !== undefined ? valueTypeOf(v.value) : undefined),
    };
  }
  const m = v as OnnxMap;
  return {
    kind: "map",
    keyType: m.keys.type,
    value: valueTypeOf(m.values) ?? undefined,
  };
}

/** Drops tensor shapes (keeping element types) at every nesting level. */
export function withoutShapes(t: ValueType | undefined): ValueType | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case "tensor":
    case "sparse_tensor":
      return { kind: t.kind, elemType: t.elemType };
    case "sequence":
    case "optional":
      return { kind: t.kind, elem: withoutShapes(t.elem) };
    default:
      return t;
  }
}

function unionShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length !== b.length) return undefined;
  return a.map((d, i) => (d === b[i] ? d : undefined));
}

/**
 * The most precise type covering both `a` and `b`: element types must agree (else undefined
 * there), differing dims become unknown, differing ranks drop the shape.
 */
export function unionType(
  a: ValueType | undefined,
  b: ValueType | undefined,
): ValueType | undefined {
  if (!a || !b || a.kind !== b.kind) return undefined;
  switch (a.kind) {
    case "tensor":
    case "sparse_tensor": {
      const bt = b as typeof a;
      return {
        kind: a.kind,
        elemType: a.elemType === bt.elemType ? a.elemType : undefined,
        shape: unionShape(a.shape, bt.shape),
      };
    }
    case "sequence":
    case "optional": {
      const bt = b as typeof a;
      return { kind: a.kind, elem: unionType(a.elem, bt.elem) ?? a.elem ?? bt.elem };
    }
    default:
      return a;
  }
}

/** Element type hint of a sequence built from tensors (element type only, no shape). */
function tensorElem(type: DataType): ValueType {
  return { kind: "tensor", elemType: type };
}

// ------------------------------------------------------------------------------------------
// Input helpers.
// ------------------------------------------------------------------------------------------

function sequenceAt(ctx: OpContext, inputs: (Value | undefined)[], i: number): Sequence {
  const v = inputs[i];
  if (!(v instanceof Sequence)) {
    throw ctx.fail(`input ${i} must be a sequence, got ${describeValue(v)}`);
  }
  return v;
}

function elemDataType(s: Sequence): DataType | undefined {
  const first = s.values[0];
  if (first instanceof Tensor) return first.type;
  return s.elemType?.kind === "tensor" ? s.elemType.elemType : undefined;
}

/** Reads a position input (int32/int64 scalar) and normalizes it to [0, n) or [0, n]. */
function position(ctx: OpContext, t: Tensor, n: number, inclusiveEnd: boolean): number {
  if (t.type !== "int32" && t.type !== "int64") {
    throw ctx.fail(`position must be int32 or int64, got ${t.type}`);
  }
  if (t.size !== 1) throw ctx.fail(`position must be a scalar, got shape [${t.dims}]`);
  const p = scalarOf(t);
  const hi = inclusiveEnd ? n : n - 1;
  if (p < -n || p > hi) {
    throw ctx.fail(`position ${p} is out of range [${-n}, ${hi}] for a sequence of ${n}`);
  }
  return p < 0 ? p + n : p;
}

// ------------------------------------------------------------------------------------------
// Kernels.
// ------------------------------------------------------------------------------------------

const sequenceEmpty: OpDef["cpu"] = (ctx) => {
  const code = ctx.attrs.int("dtype", 1);
  const type = dataTypeFromCode(code);
  if (!type) throw ctx.fail(`dtype ${code} is not a tensor element type`);
  return [new Sequence([], tensorElem(type))];
};

const sequenceConstruct: OpDef["cpu"] = (ctx, inputs) => {
  const tensors = inputs.map((_, i) => tensorAt(ctx, inputs, i));
  if (tensors.length === 0) throw ctx.fail("needs at least one input");
  const type = tensors[0].type;
  tensors.forEach((t, i) => {
    if (t.type !== type) throw ctx.fail(`input ${i} has type ${t.type}, input 0 has ${type}`);
  });
  return [new Sequence(tensors, tensorElem(type))];
};

const sequenceInsert: OpDef["cpu"] = (ctx, inputs) => {
  const s = sequenceAt(ctx, inputs, 0);
  const t = tensorAt(ctx, inputs, 1);
  const type = elemDataType(s);
  if (type !== undefined && t.type !== type) {
    throw ctx.fail(`cannot insert a ${t.type} tensor into a sequence of ${type}`);
  }
  const n = s.values.length;
  const p = inputs[2] ? position(ctx, tensorAt(ctx, inputs, 2), n, true) : n;
  const values = s.values.slice();
  values.splice(p, 0, t);
  return [new Sequence(values, s.elemType ?? tensorElem(t.type))];
};

const sequenceAt_: OpDef["cpu"] = (ctx, inputs) => {
  const s = sequenceAt(ctx, inputs, 0);
  const p = position(ctx, tensorAt(ctx, inputs, 1), s.values.length, false);
  return [s.values[p]];
};

const sequenceErase: OpDef["cpu"] = (ctx, inputs) => {
  const s = sequenceAt(ctx, inputs, 0);
  const n = s.values.length;
  if (n === 0) throw ctx.fail("cannot erase from an empty sequence");
  const p = inputs[1] ? position(ctx, tensorAt(ctx, inputs, 1), n, false) : n - 1;
  const values = s.values.slice();
  values.splice(p, 1);
  return [new Sequence(values, s.elemType ?? seqElem(valueTypeOf(s)))];
};

const sequenceLength: OpDef["cpu"] = (ctx, inputs) => {
  const s = sequenceAt(ctx, inputs, 0);
  return [int64Tensor([s.values.length], [])];
};

const splitToSequence: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  if (x.dims.length === 0) throw ctx.fail("input must have rank ≥ 1");
  const axis = normalizeAxis(ctx, ctx.attrs.int("axis", 0), x.dims.length);
  const keepdims = ctx.attrs.int("keepdims", 1) !== 0;
  const n = x.dims[axis];
  const splitT = inputs[1];
  let sizes: number[];
  let squeeze = false;
  if (splitT === undefined) {
    sizes = new Array<number>(n).fill(1);
    squeeze = !keepdims;
  } else {
    if (!(splitT instanceof Tensor)) throw ctx.fail("split must be a tensor");
    if (splitT.type !== "int32" && splitT.type !== "int64") {
      throw ctx.fail(`split must be int32 or int64, got ${splitT.type}`);
    }
    const values = toIntArray(splitT);
    if (splitT.dims.length === 0) {
      const chunk = values[0];
      if (!(chunk > 0)) throw ctx.fail(`split must be positive, got ${chunk}`);
      sizes = [];
      for (let done = 0; done < n; done += chunk) sizes.push(Math.min(chunk, n - done));
    } else if (splitT.dims.length === 1) {
      sizes = values;
      if (sizes.some((s) => s < 0)) throw ctx.fail(`split sizes must be ≥ 0, got [${sizes}]`);
      const sum = sizes.reduce((a, b) => a + b, 0);
      if (sum !== n) {
        throw ctx.fail(`split sizes [${sizes}] sum to ${sum}, but axis ${axis} has size ${n}`);
      }
    } else {
      throw ctx.fail(`split must be a scalar or 1-D, got shape [${splitT.dims}]`);
    }
  }
  return [new Sequence(splitAlongAxis(x, axis, sizes, squeeze), tensorElem(x.type))];
};

const concatFromSequence: OpDef["cpu"] = (ctx, inputs) => {
  const s = sequenceAt(ctx, inputs, 0);
  const newAxis = ctx.attrs.int("new_axis", 0) === 1;
  const axisAttr = ctx.attrs.int("axis");
  if (s.values.length === 0) throw ctx.fail("cannot concatenate an empty sequence");
  const tensors = s.values.map((v, i) => {
    if (!(v instanceof Tensor)) throw ctx.fail(`sequence element ${i} is not a tensor`);
    return v;
  });
  const rank = tensors[0].dims.length;
  const axis = normalizeAxis(ctx, axisAttr, newAxis ? rank + 1 : rank);
  const why = concatMismatch(tensors, newAxis ? -1 : axis, newAxis);
  if (why) throw ctx.fail(`cannot concatenate along axis ${axisAttr}: ${why}`);
  return [newAxis ? stackAlongAxis(tensors, axis) : concatAlongAxis(tensors, axis)];
};

const sequenceMap: OpDef["cpu"] = async (ctx, inputs) => {
  const body = ctx.attrs.graph("body");
  if (!body) throw ctx.fail('attribute "body" is required');
  const first = sequenceAt(ctx, inputs, 0);
  const n = first.values.length;
  inputs.forEach((v, i) => {
    if (v instanceof Sequence && v.values.length !== n) {
      throw ctx.fail(`input ${i} is a sequence of ${v.values.length}, input 0 of ${n}`);
    }
  });
  if (body.input.length !== inputs.length) {
    throw ctx.fail(`body has ${body.input.length} inputs, the node passes ${inputs.length}`);
  }
  const outCount = body.output.length;
  const results: Value[][] = Array.from({ length: outCount }, () => []);
  for (let k = 0; k < n; k++) {
    const args = inputs.map((v) => (v instanceof Sequence ? v.values[k] : v));
    const outs = await ctx.runGraph(body, args);
    for (let j = 0; j < outCount; j++) {
      const o = outs[j];
      if (o === undefined) throw ctx.fail(`body output ${j} was not produced`);
      results[j].push(o);
    }
  }
  return results.map((values, j) => {
    let elem: ValueType | undefined;
    for (const v of values) elem = elem ? unionType(elem, valueTypeOf(v)) : valueTypeOf(v);
    return new Sequence(values, withoutShapes(elem ?? valueTypeFromProto(body.output[j]?.type)));
  });
};

// ------------------------------------------------------------------------------------------
// Inference.
// ------------------------------------------------------------------------------------------

function seqElem(t: ValueType | undefined): ValueType | undefined {
  return t?.kind === "sequence" ? t.elem : undefined;
}

function tensorShape(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function tensorElemType(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

function splitToSequenceInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = ctx.input(0);
  const shape = tensorShape(x);
  let elemShape: Dim[] | undefined;
  if (shape && shape.length > 0) {
    const r = shape.length;
    let axis = ctx.attrs.int("axis", 0);
    if (axis < -r || axis >= r) ctx.error(`axis ${axis} is out of range for rank ${r}`);
    else {
      axis = axis < 0 ? axis + r : axis;
      elemShape = [...shape];
      if (!ctx.hasInput(1)) {
        if (ctx.attrs.int("keepdims", 1) === 0) elemShape.splice(axis, 1);
        else elemShape[axis] = 1;
      } else {
        const split = ctx.constant(1);
        elemShape[axis] = split && split.dims.length === 0 && typeof shape[axis] === "number" &&
            (shape[axis] as number) % toIntArray(split)[0] === 0
          ? toIntArray(split)[0]
          : undefined;
      }
    }
  }
  return [{
    kind: "sequence",
    elem: { kind: "tensor", elemType: tensorElemType(x), shape: elemShape },
  }];
}

function concatFromSequenceInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elem = seqElem(ctx.input(0));
  const shape = tensorShape(elem);
  let out: Dim[] | undefined;
  if (shape) {
    const newAxis = ctx.attrs.int("new_axis", 0) === 1;
    const r = newAxis ? shape.length + 1 : shape.length;
    let axis = ctx.attrs.int("axis", 0);
    if (axis < -r || axis >= r) ctx.error(`axis ${axis} is out of range for rank ${r}`);
    else {
      axis = axis < 0 ? axis + r : axis;
      out = [...shape];
      if (newAxis) out.splice(axis, 0, undefined);
      else out[axis] = undefined;
    }
  }
  return [{ kind: "tensor", elemType: tensorElemType(elem), shape: out }];
}

function sequenceMapInfer(ctx: InferContext): (ValueType | undefined)[] {
  const body = ctx.attrs.graph("body");
  if (!body) return [];
  const argTypes: (ValueType | undefined)[] = [];
  for (let i = 0; i < ctx.inputCount; i++) {
    const t = ctx.input(i);
    argTypes.push(t?.kind === "sequence" ? t.elem : t);
  }
  return ctx.inferGraph(body, argTypes).map((t) => ({ kind: "sequence", elem: t }));
}

// ------------------------------------------------------------------------------------------
// Declarations.
// ------------------------------------------------------------------------------------------

/** Every sequence declaration. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "SequenceEmpty",
    versions: [11],
    cpu: sequenceEmpty,
    infer: (ctx) => {
      const t = dataTypeFromCode(ctx.attrs.int("dtype", 1));
      return [{ kind: "sequence", elem: { kind: "tensor", elemType: t } }];
    },
  },
  {
    domain: "",
    opType: "SequenceConstruct",
    versions: [11],
    cpu: sequenceConstruct,
    infer: (ctx) => {
      let elem = ctx.input(0);
      for (let i = 1; i < ctx.inputCount; i++) elem = unionType(elem, ctx.input(i));
      return [{ kind: "sequence", elem }];
    },
  },
  {
    domain: "",
    opType: "SequenceInsert",
    versions: [11],
    cpu: sequenceInsert,
    hostInputs: [2],
    infer: (ctx) => {
      const s = ctx.input(0);
      const elem = seqElem(s);
      const t = ctx.input(1);
      if (
        tensorElemType(elem) && tensorElemType(t) && tensorElemType(elem) !== tensorElemType(t)
      ) {
        ctx.error(
          `cannot insert a ${tensorElemType(t)} tensor into a sequence of ${tensorElemType(elem)}`,
        );
      }
      return [{ kind: "sequence", elem: elem && t ? unionType(elem, t) : elem ?? t }];
    },
  },
  {
    domain: "",
    opType: "SequenceAt",
    versions: [11],
    cpu: sequenceAt_,
    hostInputs: [1],
    infer: (ctx) => [seqElem(ctx.input(0))],
  },
  {
    domain: "",
    opType: "SequenceErase",
    versions: [11],
    cpu: sequenceErase,
    hostInputs: [1],
    infer: (ctx) => [ctx.input(0) ?? { kind: "sequence" }],
  },
  {
    domain: "",
    opType: "SequenceLength",
    versions: [11],
    cpu: sequenceLength,
    infer: () => [{ kind: "tensor", elemType: "int64", shape: [] }],
  },
  {
    domain: "",
    opType: "SplitToSequence",
    versions: [11, 24],
    cpu: splitToSequence,
    hostInputs: [1],
    infer: splitToSequenceInfer,
  },
  {
    domain: "",
    opType: "ConcatFromSequence",
    versions: [11],
    cpu: concatFromSequence,
    infer: concatFromSequenceInfer,
  },
  {
    domain: "",
    opType: "SequenceMap",
    versions: [17],
    cpu: sequenceMap,
    infer: sequenceMapInfer,
  },
];
