/**
 * Elementwise GPU kernels, driven by the elementwise table of `ops/elementwise.ts`: each
 * row's `wgsl` expression fills the `op` slot of `elementwise_unary.wgsl` or
 * `elementwise_binary.wgsl`. The table below adds expressions for rows without one, and
 * replaces those whose builtin is undefined where the CPU kernel is defined (NaN, domain
 * edges, integer division by zero) or that only fit float types. Also Where, Clip, Cast
 * and the two-input forms of Sum/Min/Max/Mean.
 *
 * Expressions use `x` (unary) or `a`, `b` (binary) of the computed types X / A, B; `pf(k)`,
 * `pi(k)`, `pu(k)` read parameter k as f32, i32 or u32. Helpers come from math.wgsl.
 *
 * @module
 */

import { BINARY, UNARY } from "../../../../ops/elementwise.ts";
import { broadcastShapes, broadcastStrides } from "../../../../ops/util.ts";
import type { Attributes } from "../../../../ops/types.ts";
import { type DataType, dataTypeFromCode } from "../../../tensor/dtype.ts";
import { shapeSize, Tensor } from "../../../tensor/tensor.ts";
import {
  type GpuElem,
  gpuElem,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  paramWord,
  storageOf,
  UniformWriter,
} from "../kernel.ts";

const WG = 64;

/** An elementwise op for the GPU: expression per element type, helpers, parameters. */
interface ExprRow {
  /** Expression per input element type (the types it runs for). */
  expr: Partial<Record<GpuElem, string>>;
  /** math.wgsl regions the expressions call, in dependency order. */
  helpers?: readonly string[];
  /** Parameter words (pf/pi/pu) from the attributes. */
  params?: (attrs: Attributes) => number[];
  /** NaN in gives NaN out without evaluating the expression (default for float types). */
  keepNan?: boolean;
  /** Output is bool. */
  bool?: boolean;
  /** Attribute check: a reason when these attribute values are not supported. */
  check?: (attrs: Attributes, version: number) => string | undefined;
}

function floats(e: string): Partial<Record<GpuElem, string>> {
  return { f32: e, f16: e };
}

function f(attrs: Attributes, name: string, fallback: number): number {
  return paramWord(attrs.float(name, fallback), "f32");
}

const LOG1P = ["log1p_f32"];
const EXPM1 = ["expm1_f32"];

/** Unary expressions beyond (or instead of) the table's `wgsl`. */
const UNARY_GPU: Readonly<Record<string, ExprRow>> = {
  Abs: { expr: { ...floats("abs(x)"), i32: "abs(x)", u32: "x" } },
  Neg: { expr: { ...floats("-x"), i32: "-x" } },
  Sqrt: { expr: floats("sqrt_f32(f32(x))"), helpers: ["sqrt_log_f32"] },
  Log: { expr: floats("log_f32(f32(x))"), helpers: ["sqrt_log_f32"] },
  Tanh: { expr: floats("tanh_f32(f32(x))"), helpers: [...EXPM1, "tanh_f32"] },
  Relu: { expr: { ...floats("select(x, X(0), x <= X(0))"), i32: "select(x, 0, x <= 0)" } },
  Sign: { expr: { ...floats("sign(x)"), i32: "sign(x)", u32: "select(0u, 1u, x > 0u)" } },
  Erf: { expr: floats("erf_f32(f32(x))"), helpers: ["erf_f32"] },
  Asin: { expr: floats("asin_f32(f32(x))"), helpers: ["asin_acos_f32"] },
  Acos: { expr: floats("acos_f32(f32(x))"), helpers: ["asin_acos_f32"] },
  Asinh: { expr: floats("asinh_f32(f32(x))"), helpers: [...LOG1P, "asinh_f32"] },
  Acosh: { expr: floats("acosh_f32(f32(x))"), helpers: [...LOG1P, "acosh_f32"] },
  Atanh: { expr: floats("atanh_f32(f32(x))"), helpers: [...LOG1P, "atanh_f32"] },
  Softplus: { expr: floats("softplus_f32(f32(x))"), helpers: [...LOG1P, "softplus_f32"] },
  Elu: {
    expr: floats("select(pf(0) * expm1_f32(f32(x)), f32(x), x >= X(0))"),
    helpers: EXPM1,
    params: (a) => [f(a, "alpha", 1)],
  },
  Selu: {
    expr: floats("select(pf(1) * pf(0) * expm1_f32(f32(x)), pf(1) * f32(x), x > X(0))"),
    helpers: EXPM1,
    params: (
      a,
    ) => [f(a, "alpha", 1.67326319217681884765625), f(a, "gamma", 1.05070102214813232421875)],
  },
  LeakyRelu: {
    expr: floats("select(pf(0) * f32(x), f32(x), x >= X(0))"),
    params: (a) => [f(a, "alpha", 0.01)],
  },
  HardSigmoid: {
    expr: floats("clamp_nan_f32(pf(0) * f32(x) + pf(1), 0.0, 1.0)"),
    helpers: ["clamp_nan_f32"],
    params: (a) => [f(a, "alpha", 0.2), f(a, "beta", 0.5)],
  },
  HardSwish: {
    expr: floats("f32(x) * clamp_nan_f32(f32(x) / 6.0 + 0.5, 0.0, 1.0)"),
    helpers: ["clamp_nan_f32"],
  },
  ThresholdedRelu: {
    expr: floats("select(0.0, f32(x), !is_nan(f32(x)) && f32(x) > pf(0))"),
    params: (a) => [f(a, "alpha", 1)],
    keepNan: false,
  },
  Celu: {
    expr: floats("max(0.0, f32(x)) + min(0.0, pf(0) * expm1_f32(f32(x) / pf(0)))"),
    helpers: EXPM1,
    params: (a) => [f(a, "alpha", 1)],
  },
  Mish: {
    expr: floats(
      "f32(x) * tanh_f32(select(softplus_f32(f32(x)), f32(x), f32(x) > 20.0))",
    ),
    helpers: [...EXPM1, "tanh_f32", ...LOG1P, "softplus_f32"],
  },
  Shrink: {
    expr: floats(
      "select(select(0.0, f32(x) - pf(1), f32(x) > pf(0)), f32(x) + pf(1), f32(x) < -pf(0))",
    ),
    params: (a) => [f(a, "lambd", 0.5), f(a, "bias", 0)],
    keepNan: false,
  },
  Gelu: {
    expr: {},
    helpers: ["erf_f32", ...EXPM1, "tanh_f32"],
    check: (a) =>
      ["none", "tanh"].includes(a.string("approximate", "none"))
        ? undefined
        : "unknown approximate",
  },
  Swish: {
    expr: floats("f32(x) / (1.0 + exp(-pf(0) * f32(x)))"),
    params: (a) => [f(a, "alpha", 1)],
  },
  IsNaN: { expr: floats("is_nan(f32(x))"), keepNan: false, bool: true },
  IsInf: {
    expr: floats(
      "is_inf(f32(x)) && ((f32(x) > 0.0 && pu(0) != 0u) || (f32(x) < 0.0 && pu(1) != 0u))",
    ),
    params: (a) => [a.int("detect_positive", 1) ? 1 : 0, a.int("detect_negative", 1) ? 1 : 0],
    keepNan: false,
    bool: true,
  },
  BitwiseNot: { expr: { i32: "~x", u32: "~x" } },
};

/** The Gelu expression for its `approximate` attribute. */
function geluExpr(attrs: Attributes): string {
  return attrs.string("approximate", "none") === "tanh"
    ? "0.5 * f32(x) * (1.0 + tanh_f32(0.7978845608028654 * (f32(x) + 0.044715 * f32(x) * f32(x) * f32(x))))"
    : "0.5 * f32(x) * (1.0 + erf_f32(f32(x) * 0.7071067811865476))";
}

const COMPARE_GUARD = "!is_nan(f32(a)) && !is_nan(f32(b))";

function compare(op: string): ExprRow {
  return {
    expr: { ...floats(`a ${op} b && ${COMPARE_GUARD}`), i32: `a ${op} b`, u32: `a ${op} b` },
    bool: true,
  };
}

const NAN_EITHER = "is_nan(f32(a)) || is_nan(f32(b))";

/** Binary expressions beyond (or instead of) the table's `wgsl`. */
const BINARY_GPU: Readonly<Record<string, ExprRow>> = {
  Add: { expr: { ...floats("a + b"), i32: "a + b", u32: "a + b" } },
  Sub: { expr: { ...floats("a - b"), i32: "a - b", u32: "a - b" } },
  Mul: { expr: { ...floats("a * b"), i32: "a * b", u32: "a * b" } },
  Div: {
    expr: { ...floats("a / b"), i32: "div_i32(a, b)", u32: "div_u32(a, b)" },
    helpers: ["int_div"],
  },
  Pow: { expr: floats("pow_f32(f32(a), f32(b))"), helpers: ["pow_f32"] },
  Mod: {
    expr: { i32: "mod_floor_i32(a, b)", u32: "rem_u32(a, b)" },
    helpers: ["int_div"],
  },
  PRelu: {
    expr: { ...floats("select(a, a * b, a < A(0))"), i32: "select(a, a * b, a < 0)", u32: "a" },
    check: (_a, v) => (v < 7 ? "PRelu before opset 7 broadcasts per channel" : undefined),
  },
  And: { expr: { bool: "a && b" } },
  Or: { expr: { bool: "a || b" } },
  Xor: { expr: { bool: "a != b" } },
  Equal: {
    expr: { ...floats(`a == b && ${COMPARE_GUARD}`), i32: "a == b", u32: "a == b", bool: "a == b" },
    bool: true,
  },
  Less: compare("<"),
  LessOrEqual: compare("<="),
  Greater: compare(">"),
  GreaterOrEqual: compare(">="),
  BitShift: {
    expr: { u32: "" },
    check: (a) =>
      ["LEFT", "RIGHT"].includes(a.string("direction", "")) ? undefined : "invalid direction",
  },
  BitwiseAnd: { expr: { i32: "a & b", u32: "a & b" } },
  BitwiseOr: { expr: { i32: "a | b", u32: "a | b" } },
  BitwiseXor: { expr: { i32: "a ^ b", u32: "a ^ b" } },
  // Two-input forms of the variadic ops (the CPU folds pairwise the same way).
  Sum: { expr: { ...floats("a + b"), i32: "a + b", u32: "a + b" } },
  Min: {
    expr: {
      ...floats(`select(select(b, a, a < b), A(nan_f32()), ${NAN_EITHER})`),
      i32: "min(a, b)",
      u32: "min(a, b)",
    },
  },
  Max: {
    expr: {
      ...floats(`select(select(b, a, a > b), A(nan_f32()), ${NAN_EITHER})`),
      i32: "max(a, b)",
      u32: "max(a, b)",
    },
  },
  Mean: { expr: floats("(f32(a) + f32(b)) * 0.5") },
};

/** The expression of a binary op for its attributes (BitShift and Mod depend on them). */
function binaryExpr(op: string, row: ExprRow, e: GpuElem, attrs: Attributes): string {
  if (op === "BitShift") {
    return attrs.string("direction", "") === "LEFT"
      ? "select(a << b, 0u, b >= 32u)"
      : "select(a >> b, 0u, b >= 32u)";
  }
  if (op === "Mod" && e === "i32" && attrs.int("fmod", 0) !== 0) return "rem_i32(a, b)";
  return row.expr[e]!;
}

/** Unary rows: the table's rows, with the table's `wgsl` for float types where not replaced. */
function unaryRows(): Map<string, ExprRow> {
  const rows = new Map<string, ExprRow>();
  for (const r of UNARY) {
    if (r.domain) continue;
    const own = UNARY_GPU[r.op];
    if (own) rows.set(r.op, own);
    else if (r.wgsl && r.types === "bool") rows.set(r.op, { expr: { bool: r.wgsl } });
    else if (r.wgsl) rows.set(r.op, { expr: floats(r.wgsl) });
  }
  return rows;
}

function binaryRows(): Map<string, ExprRow> {
  const rows = new Map<string, ExprRow>();
  for (const r of BINARY) {
    const own = BINARY_GPU[r.op];
    if (own) rows.set(r.op, own);
    else if (r.wgsl) rows.set(r.op, { expr: floats(r.wgsl) });
  }
  for (const op of ["Sum", "Min", "Max", "Mean"]) rows.set(op, BINARY_GPU[op]);
  return rows;
}

function elemOf(node: Pick<NodeView, "info">, t: { type: DataType }): GpuElem | undefined {
  return gpuElem(t.type, node.info.features.shaderF16);
}

function isFloat(e: GpuElem): boolean {
  return e === "f32" || e === "f16";
}

/** Wraps an expression as the op function; `keepNan` returns a NaN input unchanged first. */
function opFunction(kind: "unary" | "binary", expr: string, keepNan = false): string {
  const nan = keepNan ? "  if (is_nan(f32(x))) { return Y(x); }\n" : "";
  const args = kind === "unary" ? "x: X" : "a: A, b: B";
  return `fn op(${args}) -> Y {\n${nan}  return Y(${expr});\n}`;
}

// ---------------------------------------------------------------------------------------------
// Forms: what the kernels compute, shared with the fused kernel
// ---------------------------------------------------------------------------------------------

/**
 * How the elementwise kernels compute one node: the expression of its op for its element
 * types and attributes, the math helpers it calls, its parameter words and its output type.
 * The single-node kernels of this file run it; `fused.ts` composes several in one shader, so
 * a fused chain evaluates exactly the expressions the single kernels evaluate.
 */
export interface ElementwiseForm {
  /** `unary`: op(x: X) -> Y; `binary`: op(a: A, b: B) -> Y; `where`: select(y, x, cond). */
  readonly kind: "unary" | "binary" | "where";
  /** The expression over `x` (or `a`, `b`), aliases X, A, B, Y and pf/pi/pu(k); "" for where. */
  readonly expr: string;
  /** math.wgsl regions the expression calls, in dependency order. */
  readonly helpers: readonly string[];
  /** Parameter words the expression reads with pf/pi/pu (index 0 first). */
  readonly params: readonly number[];
  /** True when a NaN input is returned unchanged before the expression is evaluated. */
  readonly keepNan: boolean;
  /** Output element type. */
  readonly outType: DataType;
}

/** What a form needs of the node besides its inputs. */
export type FormContext = Pick<KernelContext, "attrs" | "version" | "info" | "fail">;

function unaryForm(
  op: string,
  row: ExprRow,
  k: FormContext,
  x: { type: DataType },
): ElementwiseForm {
  const e = elemOf(k, x)!;
  return {
    kind: "unary",
    expr: op === "Gelu" ? geluExpr(k.attrs) : row.expr[e]!,
    helpers: row.helpers ?? [],
    params: row.params?.(k.attrs) ?? [],
    keepNan: isFloat(e) && (row.keepNan ?? true),
    outType: row.bool ? "bool" : x.type,
  };
}

function binaryForm(
  op: string,
  row: ExprRow,
  k: FormContext,
  a: { type: DataType },
): ElementwiseForm {
  return {
    kind: "binary",
    expr: binaryExpr(op, row, elemOf(k, a)!, k.attrs),
    helpers: row.helpers ?? [],
    params: row.params?.(k.attrs) ?? [],
    keepNan: false,
    outType: row.bool ? "bool" : a.type,
  };
}

/** Clip as a unary form: the bounds (attributes before opset 11, else host inputs) as parameters. */
function clipForm(
  k: FormContext,
  x: { type: DataType },
  lo: Tensor | undefined,
  hi: Tensor | undefined,
): ElementwiseForm {
  const e = elemOf(k, x)!;
  let l: number, h: number;
  if (k.version < 11) {
    l = k.attrs.float("min", -Infinity);
    h = k.attrs.float("max", Infinity);
  } else {
    l = clipBound(lo) ?? (e === "i32" ? -2147483648 : e === "u32" ? 0 : -Infinity);
    h = clipBound(hi) ?? (e === "i32" ? 2147483647 : e === "u32" ? 4294967295 : Infinity);
  }
  const as = e === "i32" ? "i32" : e === "u32" ? "u32" : "f32";
  const p = as === "i32" ? "pi" : as === "u32" ? "pu" : "pf";
  const expr = isFloat(e) ? `min(max(x, X(${p}(0))), X(${p}(1)))` : `min(max(x, ${p}(0)), ${p}(1))`;
  if (!isFloat(e) && (!Number.isInteger(l) || !Number.isInteger(h))) {
    throw k.fail("integer Clip bounds must be integers");
  }
  return {
    kind: "unary",
    expr,
    helpers: [],
    params: [paramWord(l, as), paramWord(h, as)],
    keepNan: isFloat(e),
    outType: x.type,
  };
}

function castForm(k: FormContext, x: { type: DataType }): ElementwiseForm {
  const to = castTarget(k.attrs)!;
  const te = gpuElem(to, k.info.features.shaderF16)!;
  return {
    kind: "unary",
    expr: castExpr(elemOf(k, x)!, te)!,
    helpers: te === "f16" ? ["f16_bits"] : [],
    params: [],
    keepNan: false,
    outType: to,
  };
}

let rowTables: { unary: Map<string, ExprRow>; binary: Map<string, ExprRow> } | undefined;

function rowTable(): { unary: Map<string, ExprRow>; binary: Map<string, ExprRow> } {
  return rowTables ??= { unary: unaryRows(), binary: binaryRows() };
}

/**
 * The form of an elementwise node of the default domain (a unary or binary op of the table,
 * Where, Clip with its bounds as host tensors, Cast) for inputs of these types, or the reason
 * there is none. Call it for nodes the op's kernel `supports`.
 */
export function elementwiseForm(
  op: string,
  k: FormContext,
  inputs: readonly (Tensor | undefined)[],
): ElementwiseForm | string {
  const x = inputs[0];
  if (!x) return "input 0 is missing";
  const e = elemOf(k, x);
  if (!e) return `input 0 is ${x.type}`;
  if (op === "Where") {
    const v = inputs[1];
    if (!v || !inputs[2]) return "an input is missing";
    return { kind: "where", expr: "", helpers: [], params: [], keepNan: false, outType: v.type };
  }
  if (op === "Clip") return clipForm(k, x, inputs[1], inputs[2]);
  if (op === "Cast") {
    const to = castTarget(k.attrs);
    const te = to ? gpuElem(to, k.info.features.shaderF16) : undefined;
    if (!te || castExpr(e, te) === undefined) return `Cast ${x.type} to ${to ?? "unknown"}`;
    return castForm(k, x);
  }
  const { unary, binary } = rowTable();
  const u = unary.get(op);
  if (u) {
    if (op === "Gelu" ? !isFloat(e) : u.expr[e] === undefined) return `${op} of ${x.type}`;
    return unaryForm(op, u, k, x);
  }
  const b = binary.get(op);
  if (b) {
    if (b.expr[e] === undefined) return `${op} of ${x.type}`;
    return binaryForm(op, b, k, x);
  }
  return `${op} is not an elementwise op`;
}

/**
 * Op types of the default domain that have a float form (float32 and float16 in, the same type
 * out): the unary and binary ops of the table that compute on floats, without those whose
 * output is bool. Where, Clip and Cast are not included.
 */
export function floatElementwiseOps(): { unary: string[]; binary: string[] } {
  const { unary, binary } = rowTable();
  const keep = (m: Map<string, ExprRow>) =>
    [...m].filter(([op, r]) => !r.bool && (r.expr.f32 !== undefined || op === "Gelu")).map((
      [op],
    ) => op).sort();
  return { unary: keep(unary), binary: keep(binary) };
}

/** Runs the unary shader for a unary form. */
function runUnaryForm(k: KernelContext, x: Tensor, form: ElementwiseForm): Promise<Tensor> {
  return runUnary(k, x, form.outType, form.expr, {
    helpers: form.helpers,
    params: [...form.params],
    keepNan: form.keepNan,
  });
}

// ---------------------------------------------------------------------------------------------
// Unary
// ---------------------------------------------------------------------------------------------

/** Runs the unary shader: `expr` over x, output of type `outType`. */
async function runUnary(
  k: KernelContext,
  x: Tensor,
  outType: DataType,
  expr: string,
  options: { helpers?: readonly string[]; params?: number[]; keepNan?: boolean },
): Promise<Tensor> {
  const xe = elemOf(k, x)!;
  const ye = gpuElem(outType, k.info.features.shaderF16)!;
  const y = k.output(outType, x.dims);
  const pipeline = await k.pipeline({
    shader: "elementwise_unary",
    aliases: { X: xe, XS: storageOf(xe), Y: ye, YS: storageOf(ye) },
    slots: { op: opFunction("unary", expr, options.keepNan) },
    helpers: options.helpers,
    f16: xe === "f16" || ye === "f16",
    constants: { WG },
    reads: 1,
    writes: 1,
    uniforms: true,
  });
  const params = options.params ?? [];
  k.dispatch(pipeline, {
    reads: [x],
    writes: [y],
    uniforms: new UniformWriter().u32(x.size).words(...params).finish(),
    groups: k.groups1d(x.size, WG),
  });
  return y;
}

function unaryKernel(op: string, row: ExprRow): GpuKernel {
  return {
    supports(node) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      const e = elemOf(node, x)!;
      if (op !== "Gelu" && row.expr[e] === undefined) return `${op} has no GPU form for ${x.type}`;
      if (op === "Gelu" && !isFloat(e)) return `${op} has no GPU form for ${x.type}`;
      return row.check?.(node.attrs, node.version) ?? true;
    },
    async run(k, [x]) {
      return [await runUnaryForm(k, x!, unaryForm(op, row, k, x!))];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Broadcasting helpers
// ---------------------------------------------------------------------------------------------

/** How an input is read by the broadcasting shaders: 1 same shape, 2 one element, 0 strided. */
function readMode(dims: readonly number[], out: readonly number[]): number {
  if (dims.length === out.length && dims.every((d, i) => d === out[i])) return 1;
  if (shapeSize(dims) === 1) return 2;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Binary
// ---------------------------------------------------------------------------------------------

function binaryKernel(op: string, row: ExprRow): GpuKernel {
  return {
    supports(node) {
      if (node.inputs.length !== 2) return `${op} with ${node.inputs.length} inputs`;
      const [a, b] = node.inputs;
      if (!a || !b) return "an input is missing";
      const ea = elemOf(node, a)!;
      const eb = elemOf(node, b)!;
      if (op === "Pow") {
        if (!isFloat(ea) || !(isFloat(eb) || eb === "i32")) return `Pow of ${a.type}, ${b.type}`;
      } else if (a.type !== b.type) return "inputs have different types";
      if (row.expr[ea] === undefined) return `${op} has no GPU form for ${a.type}`;
      if (
        node.version < 7 && node.attrs.has("broadcast") &&
        !["Sum", "Min", "Max", "Mean"].includes(op)
      ) {
        return "legacy broadcast attribute";
      }
      const out = broadcastShapes(a.dims, b.dims);
      if (!out) return "shapes cannot be broadcast";
      if (out.length > 8) return `rank ${out.length} is over 8`;
      return row.check?.(node.attrs, node.version) ?? true;
    },
    async run(k, [a, b]) {
      const ea = elemOf(k, a!)!;
      const eb = elemOf(k, b!)!;
      const form = binaryForm(op, row, k, a!);
      const outType = form.outType;
      const ye = gpuElem(outType, k.info.features.shaderF16)!;
      const outDims = broadcastShapes(a!.dims, b!.dims)!;
      const y = k.output(outType, outDims);
      const pipeline = await k.pipeline({
        shader: "elementwise_binary",
        aliases: { A: ea, AS: storageOf(ea), B: eb, BS: storageOf(eb), Y: ye, YS: storageOf(ye) },
        slots: { op: opFunction("binary", form.expr) },
        helpers: form.helpers,
        f16: ea === "f16" || eb === "f16",
        constants: { WG, RANK: Math.max(1, outDims.length) },
        reads: 2,
        writes: 1,
        uniforms: true,
      });
      const size = shapeSize(outDims);
      const od = outDims.length ? outDims : [1];
      const as = outDims.length ? broadcastStrides(a!.dims, outDims) : [0];
      const bs = outDims.length ? broadcastStrides(b!.dims, outDims) : [0];
      k.dispatch(pipeline, {
        reads: [a!, b!],
        writes: [y],
        uniforms: new UniformWriter()
          .u32(size, readMode(a!.dims, outDims), readMode(b!.dims, outDims))
          .words(...form.params)
          .list8(od)
          .list8(as)
          .list8(bs)
          .finish(),
        groups: k.groups1d(size, WG),
      });
      return [y];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Where, Clip, Cast
// ---------------------------------------------------------------------------------------------

const whereKernel: GpuKernel = {
  supports(node) {
    const [c, x, y] = node.inputs;
    if (!c || !x || !y) return "an input is missing";
    if (c.type !== "bool") return "condition is not bool";
    if (x.type !== y.type) return "X and Y have different types";
    const out = broadcastShapes(c.dims, x.dims, y.dims);
    if (!out) return "shapes cannot be broadcast";
    if (out.length > 8) return `rank ${out.length} is over 8`;
    return true;
  },
  async run(k, [c, x, y]) {
    const e = elemOf(k, x!)!;
    const outDims = broadcastShapes(c!.dims, x!.dims, y!.dims)!;
    const out = k.output(x!.type, outDims);
    const pipeline = await k.pipeline({
      shader: "elementwise_where",
      aliases: { TS: storageOf(e) },
      f16: e === "f16",
      constants: { WG, RANK: Math.max(1, outDims.length) },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    const size = shapeSize(outDims);
    const od = outDims.length ? outDims : [1];
    const st = (t: Tensor) => (outDims.length ? broadcastStrides(t.dims, outDims) : [0]);
    k.dispatch(pipeline, {
      reads: [c!, x!, y!],
      writes: [out],
      uniforms: new UniformWriter()
        .u32(
          size,
          readMode(c!.dims, outDims),
          readMode(x!.dims, outDims),
          readMode(y!.dims, outDims),
        )
        .list8(od)
        .list8(st(c!))
        .list8(st(x!))
        .list8(st(y!))
        .finish(),
      groups: k.groups1d(size, WG),
    });
    return [out];
  },
};

/** The bound of a Clip as a number (undefined when absent). */
function clipBound(t: Tensor | undefined): number | undefined {
  if (!t) return undefined;
  return Number((t.data as ArrayLike<number>)[0]);
}

const clipKernel: GpuKernel = {
  host: [1, 2],
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    const e = elemOf(node, x)!;
    if (e === "bool") return "Clip of bool";
    for (const i of [1, 2]) {
      const b = node.inputs[i];
      if (!b) continue;
      if (b.type !== x.type) return `bound ${i} is ${b.type}`;
      if (shapeSize(b.dims) !== 1) return `bound ${i} is not a scalar`;
    }
    return true;
  },
  async run(k, [x, lo, hi]) {
    return [await runUnaryForm(k, x!, clipForm(k, x!, lo, hi))];
  },
};

/**
 * Cast expressions between GPU element types, as the CPU's castTensor converts. float16
 * converts through f32 (exact from f16; to f16 with f16_bits, rounding to nearest even).
 */
function castExpr(from: GpuElem, to: GpuElem): string | undefined {
  if (from === to) return "x";
  if (to === "f16") {
    return from === "bool" ? "f16(x)" : "bitcast<vec2<f16>>(f16_bits(f32(x))).x";
  }
  if (from === "f16") {
    if (to === "f32") return "f32(x)";
    return castExpr("f32", to)?.replaceAll(/\bx\b/g, "f32(x)");
  }
  const table: Record<string, string> = {
    "f32>i32":
      "select(i32(x), i32(-2147483648), is_nan(x) || x >= 2147483648.0 || x < -2147483648.0)",
    "f32>u32": "select(select(select(u32(x), bitcast<u32>(i32(x)), x < 0.0), 0u, " +
      "x >= 4294967296.0), 2147483648u, is_nan(x) || x < -2147483648.0)",
    "f32>bool": "(bitcast<u32>(x) & 0x7fffffffu) != 0u",
    "i32>f32": "f32(x)",
    "u32>f32": "f32(x)",
    "i32>u32": "bitcast<u32>(x)",
    "u32>i32": "bitcast<i32>(x)",
    "i32>bool": "x != 0",
    "u32>bool": "x != 0u",
    "bool>f32": "f32(x)",
    "bool>i32": "i32(x)",
    "bool>u32": "u32(x)",
  };
  return table[`${from}>${to}`];
}

function castTarget(attrs: Attributes): DataType | undefined {
  return dataTypeFromCode(attrs.int("to", 0));
}

const castKernel: GpuKernel = {
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    if (node.version < 6) return "Cast before opset 6 names its target as a string";
    const to = castTarget(node.attrs);
    const te = to ? gpuElem(to, node.info.features.shaderF16) : undefined;
    if (!to || !te) return `target type ${to ?? "unknown"} has no GPU storage`;
    if (castExpr(elemOf(node, x)!, te) === undefined) return `Cast ${x.type} to ${to}`;
    return true;
  },
  async run(k, [x]) {
    return [await runUnaryForm(k, x!, castForm(k, x!))];
  },
};

/** Every elementwise GPU kernel by op type. */
export function elementwiseKernels(): Map<string, GpuKernel> {
  const m = new Map<string, GpuKernel>();
  for (const [op, row] of unaryRows()) m.set(op, unaryKernel(op, row));
  for (const [op, row] of binaryRows()) m.set(op, binaryKernel(op, row));
  m.set("Where", whereKernel);
  m.set("Clip", clipKernel);
  m.set("Cast", castKernel);
  return m;
}
