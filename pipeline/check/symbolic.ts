/**
 * Symbolic shape values: the contents of small int64/int32 tensors that carry shapes
 * (`Shape(x)` and what Gather, Slice, Concat, Unsqueeze, Squeeze, Cast and Identity make of
 * it), with symbolic dims kept. When such a value ends up fully known, e.g.
 * `Gather(Shape(x[N,64]), 1)` is 64, the checker turns it into a constant that later
 * inference (Range, Reshape, Expand ...) can read.
 *
 * @module
 */

import type { Node } from "../load/ir.ts";
import { type DataType, dataTypeFromCode } from "../tensor/dtype.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Dim, ValueType } from "../tensor/value_type.ts";
import type { Attributes } from "../../ops/types.ts";

/** The known contents of a small integer tensor of rank 0 or 1. */
export interface SymbolicValue {
  /** int64 or int32. */
  elemType: DataType;
  /** The elements; symbolic where they come from symbolic dims. */
  values: Dim[];
  /** Rank 0 (one element) rather than rank 1. */
  scalar: boolean;
}

/** Largest symbolic value tracked (shapes are short). */
const MAX_VALUES = 64;

/** The symbolic value of a constant tensor when it is a small int32/int64 scalar or vector. */
export function symbolicFromTensor(t: Tensor | undefined): SymbolicValue | undefined {
  if (!t || t.location !== "cpu" || t.dims.length > 1 || t.size > MAX_VALUES) return undefined;
  if (t.type !== "int64" && t.type !== "int32") return undefined;
  return {
    elemType: t.type,
    values: Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)),
    scalar: t.dims.length === 0,
  };
}

/** The constant tensor of a fully known symbolic value; undefined while a value is symbolic. */
export function tensorFromSymbolic(v: SymbolicValue): Tensor | undefined {
  if (!v.values.every((d): d is number => typeof d === "number")) return undefined;
  const nums = v.values as number[];
  const dims = v.scalar ? [] : [nums.length];
  if (v.elemType === "int64") {
    return new Tensor("int64", BigInt64Array.from(nums, (d) => BigInt(Math.trunc(d))), dims);
  }
  return new Tensor("int32", Int32Array.from(nums), dims);
}

function ints(v: SymbolicValue | undefined): number[] | undefined {
  if (!v || !v.values.every((d) => typeof d === "number")) return undefined;
  return v.values as number[];
}

function sliceIndices(len: number, start: number, end: number, step: number): number[] {
  const out: number[] = [];
  if (step === 0) return out;
  let s = start < 0 ? start + len : start;
  let e = end < 0 ? end + len : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), len);
    e = Math.min(Math.max(e, 0), len);
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    s = Math.min(Math.max(s, -1), len - 1);
    e = Math.min(Math.max(e, -1), len - 1);
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

/**
 * The symbolic value of a default-domain node's first output, from the symbolic values of
 * its inputs (`input(i)`) and, for Shape, the type of its input. Undefined when the node is
 * not one of the shape-carrying ops or its inputs are not known well enough.
 */
export function symbolicOutput(
  node: Node,
  version: number,
  attrs: Attributes,
  input: (i: number) => SymbolicValue | undefined,
  inputType: (i: number) => ValueType | undefined,
): SymbolicValue | undefined {
  switch (node.opType) {
    case "Shape": {
      const t = inputType(0);
      if (t?.kind !== "tensor" || !t.shape) return undefined;
      let dims = t.shape;
      if (version >= 15) {
        const r = dims.length;
        const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
        const start = clamp(attrs.int("start", 0));
        const end = clamp(attrs.int("end", r));
        dims = dims.slice(start, Math.max(start, end));
      }
      return { elemType: "int64", values: [...dims], scalar: false };
    }
    case "Identity":
      return input(0);
    case "Cast": {
      const a = input(0);
      const to = dataTypeFromCode(attrs.int("to", 0));
      if (!a || (to !== "int64" && to !== "int32")) return undefined;
      return { ...a, elemType: to };
    }
    case "Gather": {
      const a = input(0);
      const idx = input(1);
      const at = ints(idx);
      if (!a || a.scalar || !idx || !at) return undefined;
      const axis = attrs.int("axis", 0);
      if (axis !== 0 && axis !== -1) return undefined;
      const n = a.values.length;
      const picked: Dim[] = [];
      for (const i of at) {
        const j = i < 0 ? i + n : i;
        if (!(j >= 0 && j < n)) return undefined;
        picked.push(a.values[j]);
      }
      return { elemType: a.elemType, values: picked, scalar: idx.scalar };
    }
    case "Concat": {
      const parts: Dim[] = [];
      let elemType: DataType | undefined;
      for (let i = 0; i < node.input.length; i++) {
        const a = input(i);
        if (!a || a.scalar) return undefined;
        elemType ??= a.elemType;
        parts.push(...a.values);
      }
      if (!elemType || parts.length > MAX_VALUES) return undefined;
      return { elemType, values: parts, scalar: false };
    }
    case "Unsqueeze": {
      const a = input(0);
      const axes = version >= 13 ? ints(input(1)) : attrs.ints("axes", []);
      if (!a || !a.scalar || !axes || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) {
        return undefined;
      }
      return { ...a, scalar: false };
    }
    case "Squeeze": {
      const a = input(0);
      if (!a || a.scalar || a.values.length !== 1) return undefined;
      return { ...a, scalar: true };
    }
    case "Slice": {
      const a = input(0);
      if (!a || a.scalar) return undefined;
      let starts: number[] | undefined;
      let ends: number[] | undefined;
      let axes: number[] | undefined;
      let steps: number[] | undefined;
      if (version < 10) {
        starts = attrs.ints("starts", []);
        ends = attrs.ints("ends", []);
        axes = attrs.ints("axes", [0]);
      } else {
        starts = ints(input(1));
        ends = ints(input(2));
        axes = node.input[3] ? ints(input(3)) : [0];
        steps = node.input[4] ? ints(input(4)) : [1];
      }
      if (!starts || !ends || !axes || starts.length !== 1 || ends.length !== 1) return undefined;
      if (axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) return undefined;
      const step = steps?.[0] ?? 1;
      if (steps && steps.length !== 1) return undefined;
      const picked = sliceIndices(a.values.length, starts[0], ends[0], step).map((i) =>
        a.values[i]
      );
      return { elemType: a.elemType, values: picked, scalar: false };
    }
    default:
      return undefined;
  }
}
