/**
 * Helpers for type and shape inference over symbolic shapes, shared by the checker and by
 * the `infer` functions of operator declarations.
 *
 * A dimension ({@link Dim}) is a number, a symbolic name (`"N"`, `"batch"`) or undefined
 * (unknown). A shape is `Dim[]`; an undefined shape means the rank is unknown too. The
 * helpers never throw on bad shapes: they return `{ error }` so that inference can report a
 * finding and go on.
 *
 * - Dims: {@link mergeDim}, {@link dimProduct}, {@link isStaticShape}, {@link formatShape}
 * - Types: {@link mergeShapes}, {@link mergeTypes}, {@link withoutShape}, {@link tensorOf}
 * - Shapes of common operations: {@link broadcastShapes}, {@link reshapeShape},
 *   {@link reduceShape}, {@link concatShapes}, {@link transposeShape},
 *   {@link unsqueezeShape}, {@link squeezeShape}, {@link windowOutputDim}
 * - Reading an InferContext: {@link inputShape}, {@link inputElem}, {@link constantInts},
 *   {@link normalizeAxis}
 *
 * @module
 */

import type { DataType } from "../pipeline/tensor/dtype.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext } from "./types.ts";

/** A computed shape, or why it cannot be computed (the shape is then unknown). */
export interface ShapeResult {
  /** The shape, when its rank is known. */
  shape?: Dim[];
  /** A problem with the inputs (incompatible dims, bad axis), in sentence case. */
  error?: string;
}

/** Formats a shape for messages: `[N,3,?,224]`, or `unknown` when the rank is unknown. */
export function formatShape(shape: readonly Dim[] | undefined): string {
  return shape ? `[${shape.map((d) => d ?? "?").join(",")}]` : "unknown";
}

/** True when every dimension is a known number. */
export function isStaticShape(shape: readonly Dim[] | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === "number");
}

/** Product of the dims when all are numbers; undefined otherwise (1 for a scalar). */
export function dimProduct(shape: readonly Dim[] | undefined): number | undefined {
  if (!shape) return undefined;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number") return undefined;
    n *= d;
  }
  return n;
}

/**
 * Merges what two sources say about one dimension. A number wins over a symbolic name or an
 * unknown; two names keep the first (`a`); two different numbers are a conflict (`null`).
 */
export function mergeDim(a: Dim, b: Dim): Dim | null {
  if (typeof a === "number") {
    if (typeof b === "number" && b !== a) return null;
    return a;
  }
  if (typeof b === "number") return b;
  return a ?? b;
}

/** The result of merging two types: the merged type and, on a conflict, what differs. */
export interface MergeResult<T> {
  /** The merged value (the first argument's value on a conflict). */
  value: T;
  /** `element` (kind or element type differ) or `shape` (rank or a fixed dim differs). */
  conflict?: "element" | "shape";
  /** Sentence-case description of the conflict. */
  message?: string;
}

/**
 * Merges two shapes: unknown rank takes the other; equal ranks merge dim by dim
 * ({@link mergeDim}); a different rank or two different fixed dims is a conflict.
 */
export function mergeShapes(
  a: readonly Dim[] | undefined,
  b: readonly Dim[] | undefined,
): MergeResult<Dim[] | undefined> {
  if (!a) return { value: b ? [...b] : undefined };
  if (!b) return { value: [...a] };
  if (a.length !== b.length) {
    return {
      value: [...a],
      conflict: "shape",
      message: `rank ${a.length} ${formatShape(a)} differs from rank ${b.length} ${formatShape(b)}`,
    };
  }
  const out: Dim[] = [];
  for (let i = 0; i < a.length; i++) {
    const m = mergeDim(a[i], b[i]);
    if (m === null) {
      return {
        value: [...a],
        conflict: "shape",
        message: `dimension ${i} is ${a[i]} in ${formatShape(a)} but ${b[i]} in ${formatShape(b)}`,
      };
    }
    out.push(m);
  }
  return { value: out };
}

function kindLabel(t: ValueType): string {
  const name = t.kind === "sparse_tensor" ? "sparse tensor" : t.kind;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * Merges a declared type (`a`, e.g. from value_info) with an inferred one (`b`): the result
 * keeps everything either knows. Different kinds, element types, ranks or fixed dims are a
 * conflict; a symbolic dim against a fixed one is not (the fixed one wins).
 */
export function mergeTypes(
  a: ValueType | undefined,
  b: ValueType | undefined,
): MergeResult<ValueType | undefined> {
  if (!a) return { value: b };
  if (!b) return { value: a };
  if (a.kind !== b.kind) {
    return {
      value: a,
      conflict: "element",
      message: `${kindLabel(a)} type differs from ${kindLabel(b)} type`,
    };
  }
  switch (a.kind) {
    case "tensor":
    case "sparse_tensor": {
      const bt = b as typeof a;
      if (a.elemType && bt.elemType && a.elemType !== bt.elemType) {
        return {
          value: a,
          conflict: "element",
          message: `element type ${a.elemType} differs from ${bt.elemType}`,
        };
      }
      const s = mergeShapes(a.shape, bt.shape);
      if (s.conflict) return { value: a, conflict: s.conflict, message: s.message };
      return { value: { kind: a.kind, elemType: a.elemType ?? bt.elemType, shape: s.value } };
    }
    case "sequence":
    case "optional": {
      const bt = b as typeof a;
      const m = mergeTypes(a.elem, bt.elem);
      if (m.conflict) {
        return { value: a, conflict: m.conflict, message: `${a.kind} element: ${m.message}` };
      }
      return { value: { kind: a.kind, elem: m.value } };
    }
    case "map": {
      const bt = b as typeof a;
      if (a.keyType && bt.keyType && a.keyType !== bt.keyType) {
        return {
          value: a,
          conflict: "element",
          message: `map key type ${a.keyType} differs from ${bt.keyType}`,
        };
      }
      const m = mergeTypes(a.value, bt.value);
      if (m.conflict) {
        return { value: a, conflict: m.conflict, message: `map value: ${m.message}` };
      }
      return { value: { kind: "map", keyType: a.keyType ?? bt.keyType, value: m.value } };
    }
    case "opaque": {
      const bt = b as typeof a;
      if (a.domain !== bt.domain || a.name !== bt.name) {
        return {
          value: a,
          conflict: "element",
          message: `opaque type ${a.domain}.${a.name} differs from ${bt.domain}.${bt.name}`,
        };
      }
      return { value: a };
    }
  }
}

/** The same type with every tensor shape (also inside sequences, optionals, maps) dropped. */
export function withoutShape(t: ValueType | undefined): ValueType | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case "tensor":
    case "sparse_tensor":
      return { kind: t.kind, elemType: t.elemType };
    case "sequence":
    case "optional":
      return { kind: t.kind, elem: withoutShape(t.elem) };
    case "map":
      return { kind: "map", keyType: t.keyType, value: withoutShape(t.value) };
    case "opaque":
      return t;
  }
}

/** A tensor type. */
export function tensorOf(elemType: DataType | undefined, shape?: Dim[]): ValueType {
  return { kind: "tensor", elemType, shape };
}

/**
 * Multidirectional (numpy) broadcasting of symbolic shapes. Per aligned dimension: a fixed
 * size other than 1 wins (two different ones are an error); otherwise one symbolic name
 * shared by every non-1 input wins; otherwise the dim is 1 when all are 1, else unknown.
 * Any unknown-rank input makes the result's rank unknown.
 */
export function broadcastShapes(shapes: readonly (readonly Dim[] | undefined)[]): ShapeResult {
  if (shapes.some((s) => s === undefined)) return {};
  const list = shapes as readonly (readonly Dim[])[];
  const rank = list.reduce((m, s) => Math.max(m, s.length), 0);
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let fixed: number | undefined;
    let name: string | undefined;
    let names = 0;
    let unknown = false;
    for (const s of list) {
      const i = k - (rank - s.length);
      if (i < 0) continue;
      const d = s[i];
      if (typeof d === "number") {
        if (d === 1) continue;
        if (fixed !== undefined && fixed !== d) {
          return {
            error: `shapes ${list.map(formatShape).join(", ")} cannot be broadcast: ` +
              `dimension ${k} of the result would be both ${fixed} and ${d}`,
          };
        }
        fixed = d;
      } else if (typeof d === "string") {
        if (name === undefined) name = d;
        else if (name !== d) names++;
      } else unknown = true;
    }
    if (fixed !== undefined) out.push(fixed);
    else if (name !== undefined && names === 0 && !unknown) out.push(name);
    else if (name === undefined && !unknown) out.push(1);
    else out.push(undefined);
  }
  return { shape: out };
}

/** An axis in [-rank, rank) made non-negative; undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) return undefined;
  return axis < 0 ? axis + rank : axis;
}

/**
 * Output shape of Reshape. `target` holds the requested dims: 0 copies the input dim at the
 * same index (unless `allowzero`), -1 is inferred from the element count. Symbolic input dims
 * cancel against copied ones, so `[N,3,4]` reshaped by `[0,-1]` gives `[N,12]`.
 */
export function reshapeShape(
  input: readonly Dim[] | undefined,
  target: readonly number[],
  allowzero = false,
): ShapeResult {
  const out: Dim[] = [];
  let inferAt = -1;
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (!Number.isInteger(t) || t < -1) {
      return { error: `reshape target ${formatShape(target)} has an invalid value ${t}` };
    }
    if (t === -1) {
      if (inferAt >= 0) {
        return { error: `reshape target ${formatShape(target)} has more than one -1` };
      }
      inferAt = i;
      out.push(undefined);
    } else if (t === 0 && !allowzero) {
      if (!input) out.push(undefined);
      else if (i >= input.length) {
        return {
          error: `reshape target ${formatShape(target)} copies dimension ${i} (0) of an input ` +
            `of rank ${input.length}`,
        };
      } else out.push(input[i]);
    } else out.push(t);
  }
  if (allowzero && inferAt >= 0 && target.includes(0)) {
    return { error: `reshape target ${formatShape(target)} has both 0 and -1 with allowzero` };
  }
  if (!input) return { shape: out };
  // Element count bookkeeping: numeric product and multiset of symbolic names per side.
  const count = (dims: readonly Dim[], skip: number) => {
    let num = 1;
    const names = new Map<string, number>();
    let unknown = false;
    dims.forEach((d, i) => {
      if (i === skip) return;
      if (typeof d === "number") num *= d;
      else if (typeof d === "string") names.set(d, (names.get(d) ?? 0) + 1);
      else unknown = true;
    });
    return { num, names, unknown };
  };
  const a = count(input, -1);
  const b = count(out, inferAt);
  const rest = new Map(a.names);
  let extraOnOut = false;
  for (const [n, c] of b.names) {
    const have = rest.get(n) ?? 0;
    if (have >= c) rest.set(n, have - c);
    else extraOnOut = true;
  }
  const leftover = [...rest.entries()].filter(([, c]) => c > 0);
  if (inferAt >= 0) {
    if (a.unknown || b.unknown || extraOnOut) return { shape: out };
    if (leftover.length === 0) {
      if (b.num === 0) {
        if (a.num !== 0) {
          return {
            error: `cannot reshape ${formatShape(input)} to ${
              formatShape(target)
            }: -1 is ambiguous with a 0 dimension`,
          };
        }
        return { shape: out };
      }
      if (a.num % b.num !== 0) {
        return {
          error: `cannot reshape ${formatShape(input)} (${a.num} elements) to ${
            formatShape(target)
          }`,
        };
      }
      out[inferAt] = a.num / b.num;
    } else if (leftover.length === 1 && leftover[0][1] === 1 && a.num === b.num) {
      out[inferAt] = leftover[0][0];
    }
    return { shape: out };
  }
  if (!a.unknown && !b.unknown && !extraOnOut && leftover.length === 0 && a.num !== b.num) {
    return {
      error: `cannot reshape ${formatShape(input)} (${a.num} elements) to ${
        formatShape(out)
      } (${b.num} elements)`,
    };
  }
  return { shape: out };
}

/**
 * Output shape of a reduction over `axes` (negative allowed). Empty `axes` reduces every
 * axis, unless `noopWithEmptyAxes`, which returns the input shape.
 */
export function reduceShape(
  input: readonly Dim[] | undefined,
  axes: readonly number[],
  keepdims: boolean,
  noopWithEmptyAxes = false,
): ShapeResult {
  if (!input) return {};
  if (axes.length === 0) {
    if (noopWithEmptyAxes) return { shape: [...input] };
    return { shape: keepdims ? input.map(() => 1) : [] };
  }
  const set = new Set<number>();
  for (const a of axes) {
    const n = normalizeAxis(a, input.length);
    if (n === undefined) {
      return { error: `axis ${a} is out of range for rank ${input.length}` };
    }
    set.add(n);
  }
  const out: Dim[] = [];
  input.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return { shape: out };
}

/**
 * Output shape of Concat along `axis`: the axis dims add up (unknown when one is not a
 * number), the other dims must agree.
 */
export function concatShapes(
  shapes: readonly (readonly Dim[] | undefined)[],
  axis: number,
): ShapeResult {
  const known = shapes.filter((s): s is readonly Dim[] => s !== undefined);
  if (known.length === 0) return {};
  const rank = known[0].length;
  for (const s of known) {
    if (s.length !== rank) {
      return {
        error: `inputs of ranks ${known.map((x) => x.length).join(", ")} cannot be concatenated`,
      };
    }
  }
  const ax = normalizeAxis(axis, rank);
  if (ax === undefined) return { error: `axis ${axis} is out of range for rank ${rank}` };
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    if (i === ax) {
      if (known.length !== shapes.length) {
        out.push(undefined);
        continue;
      }
      let sum = 0;
      let ok = true;
      for (const s of known) {
        const d = s[i];
        if (typeof d === "number") sum += d;
        else ok = false;
      }
      out.push(ok ? sum : undefined);
      continue;
    }
    let d: Dim = known[0][i];
    for (const s of known.slice(1)) {
      const m = mergeDim(d, s[i]);
      if (m === null) {
        return {
          error: `dimension ${i} differs between inputs ${
            known.map(formatShape).join(", ")
          } (only axis ${ax} may differ)`,
        };
      }
      d = m;
    }
    out.push(d);
  }
  return { shape: out };
}

/** Output shape of Transpose; `perm` defaults to reversing the axes. */
export function transposeShape(
  input: readonly Dim[] | undefined,
  perm?: readonly number[],
): ShapeResult {
  if (!input) return {};
  if (!perm || perm.length === 0) return { shape: [...input].reverse() };
  if (perm.length !== input.length) {
    return { error: `perm ${formatShape(perm)} does not match rank ${input.length}` };
  }
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= input.length || seen.has(p)) {
      return { error: `perm ${formatShape(perm)} is not a permutation of 0..${input.length - 1}` };
    }
    seen.add(p);
  }
  return { shape: perm.map((p) => input[p]) };
}

/** Output shape of Unsqueeze: `axes` index the output (rank + axes.length), negative allowed. */
export function unsqueezeShape(
  input: readonly Dim[] | undefined,
  axes: readonly number[],
): ShapeResult {
  if (!input) return {};
  const rank = input.length + axes.length;
  const set = new Set<number>();
  for (const a of axes) {
    const n = normalizeAxis(a, rank);
    if (n === undefined) return { error: `axis ${a} is out of range for output rank ${rank}` };
    if (set.has(n)) return { error: `axis ${a} is repeated` };
    set.add(n);
  }
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : input[j++]);
  return { shape: out };
}

/**
 * Output shape of Squeeze. Without `axes`, removes every dim that is 1 (the rank is unknown
 * when a dim is not a number). A squeezed dim that is a number other than 1 is an error.
 */
export function squeezeShape(
  input: readonly Dim[] | undefined,
  axes?: readonly number[],
): ShapeResult {
  if (!input) return {};
  if (!axes || axes.length === 0) {
    if (!input.every((d) => typeof d === "number")) return {};
    return { shape: input.filter((d) => d !== 1) };
  }
  const set = new Set<number>();
  for (const a of axes) {
    const n = normalizeAxis(a, input.length);
    if (n === undefined) return { error: `axis ${a} is out of range for rank ${input.length}` };
    const d = input[n];
    if (typeof d === "number" && d !== 1) {
      return { error: `cannot squeeze dimension ${n} of size ${d}` };
    }
    set.add(n);
  }
  return { shape: input.filter((_, i) => !set.has(i)) };
}

/**
 * Output size of one spatial dim of a convolution or pooling window:
 * `floor_or_ceil((in + padBegin + padEnd - dilation*(kernel-1) - 1) / stride) + 1`.
 * Unknown when the input dim is not a number.
 */
export function windowOutputDim(
  input: Dim,
  kernel: number,
  stride = 1,
  padBegin = 0,
  padEnd = 0,
  dilation = 1,
  ceilMode = false,
): Dim {
  if (typeof input !== "number") return undefined;
  const span = input + padBegin + padEnd - dilation * (kernel - 1) - 1;
  const q = span / stride;
  const out = (ceilMode ? Math.ceil(q) : Math.floor(q)) + 1;
  // With ceil mode, the last window must start inside the input or its begin padding.
  if (ceilMode && (out - 1) * stride >= input + padBegin) return Math.max(0, out - 1);
  return Math.max(0, out);
}

/** Shape of input `i` of an inference context when it is a tensor with a known rank. */
export function inputShape(ctx: InferContext, i: number): Dim[] | undefined {
  const t = ctx.input(i);
  return t && (t.kind === "tensor" || t.kind === "sparse_tensor") ? t.shape : undefined;
}

/** Element type of input `i` of an inference context when it is a tensor of a known type. */
export function inputElem(ctx: InferContext, i: number): DataType | undefined {
  const t = ctx.input(i);
  return t && (t.kind === "tensor" || t.kind === "sparse_tensor") ? t.elemType : undefined;
}

/**
 * Values of input `i` as numbers when it is a known integer constant (int32/int64/...);
 * undefined otherwise. int64 values beyond 2^53 become their nearest number.
 */
export function constantInts(ctx: InferContext, i: number): number[] | undefined {
  if (!ctx.hasInput(i)) return undefined;
  const t = ctx.constant(i);
  if (!t || t.location !== "cpu") return undefined;
  if (!/^u?int(8|16|32|64)$/.test(t.type)) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}
