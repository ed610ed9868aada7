/**
 * float32 → float16 conversion of a model, in the manner of onnxconverter-common's
 * `convert_float_to_float16`: float32 initializers and Constant values become float16, the
 * nodes that compute on them run in float16, and Cast nodes are inserted wherever a float16
 * value meets a consumer that must stay float32.
 *
 * What stays float32:
 * - nodes whose op type is in {@link DEFAULT_FLOAT16_BLOCK_LIST} (ops without float16
 *   kernels or whose meaning needs float32: Range, TopK, NonMaxSuppression, Random*, the
 *   quantization ops, the ai.onnx.ml ops, ...) or in the user's `keepFloat32` list (op types
 *   or node names);
 * - nodes of other domains, nodes with subgraphs (If, Loop, Scan: their bodies are left as
 *   they are, outer values they read are cast back to float32), and nodes whose value types
 *   the checker's inference cannot tell;
 * - the Cast to float of a MatMulInteger or ConvInteger result (int32 sums exceed 65504) and
 *   the Mul that scales it;
 * - Transpose nodes that feed MatMul or Gemm: onnxruntime 1.24 to 1.30 crashes on x86-64
 *   when loading a float16 Transpose → Cast → MatMul chain (issue 28392), which its float32
 *   fallback for MatMul creates;
 * - nodes whose schema (at the model's opset) does not allow float16 where they take or give
 *   float32 (e.g. Range); inputs and outputs the schema fixes to float32 (Resize's and
 *   Upsample's scales, DynamicQuantizeLinear's scale) stay float32 in converted nodes;
 * - the graph's inputs and outputs when `keepIoTypes` is true (the default): Casts convert
 *   them at the boundary and the outputs keep their names.
 *
 * Initializer and Constant values beyond float16's range are clamped to ±65504 (never turned
 * into infinities silently) and counted; nonzero values too small for float16 become zero and
 * are counted too. Initializers read only by float32 consumers are not converted.
 *
 * @module
 */

import type { Model, Node, TensorProto, ValueInfo } from "../load/ir.ts";
import { intAttr, makeNode, tensorAttr } from "../load/build.ts";
import { type ExternalDataReader, tensorFromProto, tensorToProto } from "../load/tensor_proto.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import { outerReads, renameReads, subgraphsOf } from "./_graph.ts";
import { formalAt } from "../check/schema_check.ts";
import { getSchema, type OpSchema } from "../../ops/schema/mod.ts";
import {
  defaultOpset,
  DT,
  inferValueTypes,
  isDefaultDomain,
  NameScope,
  tensorBytes,
} from "./quantize_graph.ts";

/**
 * Op types kept in float32 by default: onnxconverter-common's block list (without Resize and
 * Upsample, whose float32-only inputs are handled one by one) plus the random generators,
 * the quantization ops (their scales are float32 before opset 19) and TfIdfVectorizer.
 */
export const DEFAULT_FLOAT16_BLOCK_LIST: readonly string[] = [
  "ArrayFeatureExtractor",
  "Binarizer",
  "CastMap",
  "CategoryMapper",
  "DictVectorizer",
  "FeatureVectorizer",
  "Imputer",
  "LabelEncoder",
  "LinearClassifier",
  "LinearRegressor",
  "Normalizer",
  "OneHotEncoder",
  "SVMClassifier",
  "SVMRegressor",
  "Scaler",
  "TreeEnsembleClassifier",
  "TreeEnsembleRegressor",
  "ZipMap",
  "NonMaxSuppression",
  "TopK",
  "RoiAlign",
  "Range",
  "CumSum",
  "Min",
  "Max",
  "RandomUniform",
  "RandomNormal",
  "RandomUniformLike",
  "RandomNormalLike",
  "Multinomial",
  "Bernoulli",
  "QuantizeLinear",
  "DequantizeLinear",
  "DynamicQuantizeLinear",
  "TfIdfVectorizer",
];

/** How a node of the default domain converts, from its schema at the model's opset. */
interface SchemaPlan {
  /** False when a type parameter bound to a float32 value does not allow float16. */
  convertible: boolean;
  /** Positions whose parameter is fixed to tensor(float) (e.g. Resize's scales). */
  float32Inputs: Set<number>;
  /** Outputs fixed to tensor(float) (e.g. DynamicQuantizeLinear's y_scale). */
  float32Outputs: Set<number>;
}

function schemaPlan(
  node: Node,
  opset: number,
  isF32: (name: string) => boolean,
): SchemaPlan | undefined {
  const schema = getSchema(node.domain, node.opType, opset);
  if (!schema) return undefined;
  const plan: SchemaPlan = {
    convertible: true,
    float32Inputs: new Set(),
    float32Outputs: new Set(),
  };
  const visit = (names: readonly string[], params: OpSchema["inputs"], fixed: Set<number>) => {
    names.forEach((name, i) => {
      if (!name || !isF32(name)) return;
      const formal = formalAt(params, i);
      if (!formal) return;
      if (formal.type.startsWith("tensor(")) fixed.add(i);
      else if (!schema.typeConstraints[formal.type]?.includes("tensor(float16)")) {
        plan.convertible = false;
      }
    });
  };
  visit(node.input, schema.inputs, plan.float32Inputs);
  visit(node.output, schema.outputs, plan.float32Outputs);
  return plan;
}

/** Largest finite float16. */
export const FLOAT16_MAX = 65504;

/** Options of {@link float16Pass} and {@link convertToFloat16}. */
export interface Float16Options {
  /** Op types or node names to keep in float32 (added to the default block list). */
  keepFloat32?: readonly string[];
  /** Keep graph inputs and outputs float32 (default true), or only those named. */
  keepIoTypes?: boolean | readonly string[];
  /** Start from {@link DEFAULT_FLOAT16_BLOCK_LIST} (default true). */
  useDefaultBlockList?: boolean;
}

/** What {@link convertToFloat16} did. */
export interface Float16Report {
  /** One sentence per kind of change. */
  details: string[];
  /** Initializers and Constant values converted. */
  convertedTensors: number;
  /** Values beyond ±65504 that were clamped. */
  clamped: number;
  /** Nonzero values that became zero. */
  flushed: number;
  /** Cast nodes inserted. */
  casts: number;
  /** Nodes kept in float32, by reason (op type, domain, subgraphs, unknown types). */
  kept: Record<string, number>;
  /** Nodes that compute in float16 now. */
  float16Nodes: number;
  /** True when some value became float16. */
  changed: boolean;
}

/** Converts a float32 TensorProto to float16, clamping values beyond ±65504. */
export function tensorToFloat16(
  tp: TensorProto,
  external?: ExternalDataReader,
): { tensor: TensorProto; clamped: number; flushed: number } {
  const src = tensorFromProto(tp, external).data as Float32Array;
  const clampedValues = new Float32Array(src.length);
  let clamped = 0;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > FLOAT16_MAX && v !== Infinity) {
      clampedValues[i] = FLOAT16_MAX;
      clamped++;
    } else if (v < -FLOAT16_MAX && v !== -Infinity) {
      clampedValues[i] = -FLOAT16_MAX;
      clamped++;
    } else clampedValues[i] = v;
  }
  const half = Float16Array.from(clampedValues);
  let flushed = 0;
  for (let i = 0; i < src.length; i++) if (half[i] === 0 && src[i] !== 0) flushed++;
  const bits = new Uint16Array(half.buffer, half.byteOffset, half.length);
  const out = tensorToProto(new Tensor("float16", bits, tp.dims), tp.name);
  out.docString = tp.docString;
  out.metadataProps = tp.metadataProps;
  return { tensor: out, clamped, flushed };
}

type Prec = 16 | 32;

function setElemType(v: ValueInfo, elemType: number): ValueInfo {
  if (!v.type?.tensorType) return v;
  return { ...v, type: { ...v.type, tensorType: { ...v.type.tensorType, elemType } } };
}

/** Integer types whose values can exceed float16's range. */
const WIDE_INTEGERS = new Set<string>(["int32", "uint32", "int64", "uint64"]);

/** Attributes naming an output element type, by op type. */
const DTYPE_ATTRS = new Set(["to", "dtype", "output_dtype", "output_datatype"]);

/**
 * Converts the model's main graph to float16 in place (see the module documentation) and
 * reports what changed.
 */
export function convertToFloat16(
  model: Model,
  options: Float16Options = {},
  external?: ExternalDataReader,
): Float16Report {
  const report: Float16Report = {
    details: [],
    convertedTensors: 0,
    clamped: 0,
    flushed: 0,
    casts: 0,
    kept: {},
    float16Nodes: 0,
    changed: false,
  };
  const g = model.graph;
  if (!g) return report;
  const types = inferValueTypes(model, external);
  const isF32 = (name: string) => {
    const t: ValueType | undefined = types.get(name);
    return t?.kind === "tensor" && t.elemType === "float32";
  };
  const known = (name: string) => name === "" || types.has(name);
  const block = new Set([
    ...(options.useDefaultBlockList === false ? [] : DEFAULT_FLOAT16_BLOCK_LIST),
    ...(options.keepFloat32 ?? []),
  ]);
  const keepIo = (name: string) => {
    const k = options.keepIoTypes ?? true;
    return typeof k === "boolean" ? k : k.includes(name);
  };
  const names = new NameScope(model);
  const opset = defaultOpset(model);
  const plans = new Map<Node, SchemaPlan>();

  // Which nodes stay float32, and why.
  const isConstant = (n: Node) => n.opType === "Constant" && isDefaultDomain(n.domain);
  const keptReason = new Map<Node, string>();
  for (const n of g.node) {
    const byList = block.has(n.opType) || (n.name !== "" && block.has(n.name));
    if (isConstant(n)) {
      if (byList) keptReason.set(n, "Constant");
      continue;
    }
    if (byList) keptReason.set(n, n.opType);
    else if (!isDefaultDomain(n.domain)) keptReason.set(n, `${n.domain}.${n.opType}`);
    else if (subgraphsOf(n).length) keptReason.set(n, `${n.opType} (subgraphs)`);
    else if (![...n.input, ...n.output].every(known)) {
      keptReason.set(n, `${n.opType} (types unknown)`);
    } else {
      const plan = schemaPlan(n, opset, isF32);
      if (!plan) keptReason.set(n, `${n.opType} (no schema)`);
      else if (!plan.convertible) keptReason.set(n, `${n.opType} (no float16 in its schema)`);
      else plans.set(n, plan);
    }
  }
  // onnxruntime 1.24–1.30 crashes on x86-64 when loading Transpose(float16) → Cast → MatMul
  // (its NCHWc transformer, issue #28392), a chain its own float32 fallback for MatMul
  // creates: such Transposes stay float32.
  const readers = new Map<string, Node[]>();
  for (const n of g.node) {
    for (const x of n.input) if (x) readers.set(x, [...readers.get(x) ?? [], n]);
  }
  for (const n of g.node) {
    if (keptReason.has(n) || n.opType !== "Transpose" || !isDefaultDomain(n.domain)) continue;
    const feedsMatMul = (readers.get(n.output[0] ?? "") ?? []).some((r) =>
      r.opType === "MatMul" || r.opType === "Gemm"
    );
    if (feedsMatMul) keptReason.set(n, "Transpose (feeds MatMul; onnxruntime issue 28392)");
  }
  // Integer accumulators (MatMulInteger, ConvInteger: int32) easily exceed 65504: their Cast
  // to float and the Mul that scales them back stay float32.
  for (const n of g.node) {
    if (keptReason.has(n) || n.opType !== "Cast" || !isDefaultDomain(n.domain)) continue;
    const from = types.get(n.input[0] ?? "");
    if (from?.kind !== "tensor" || !WIDE_INTEGERS.has(from.elemType ?? "float32")) continue;
    if (!isF32(n.output[0] ?? "")) continue;
    const producer = g.node.find((p) => p.output.includes(n.input[0]));
    if (producer?.opType !== "MatMulInteger" && producer?.opType !== "ConvInteger") continue;
    keptReason.set(n, "Cast (of an integer accumulator)");
    for (const r of readers.get(n.output[0]) ?? []) {
      if (!keptReason.has(r) && r.opType === "Mul") {
        keptReason.set(r, "Mul (scales an integer accumulator)");
      }
    }
  }
  const wantsF16 = (n: Node, i: number) =>
    !keptReason.has(n) && !(plans.get(n)?.float32Inputs.has(i) ?? false);

  // Precision of every float32 value after conversion.
  const prec = new Map<string, Prec>();
  const initializers = new Map(g.initializer.map((t) => [t.name, t]));
  const outputs = new Set(g.output.map((o) => o.name));
  const constantNodes = new Map<string, Node>();
  for (const n of g.node) if (isConstant(n) && n.output[0]) constantNodes.set(n.output[0], n);
  const consumersWantF16 = (name: string) =>
    g.node.some((n) => n.input.some((x, i) => x === name && wantsF16(n, i))) ||
    (outputs.has(name) && !keepIo(name));
  for (const i of g.input) {
    if (isF32(i.name) && !initializers.has(i.name)) prec.set(i.name, keepIo(i.name) ? 32 : 16);
  }
  for (const t of g.initializer) {
    if (t.dataType === DT.float32) prec.set(t.name, consumersWantF16(t.name) ? 16 : 32);
  }
  for (const n of g.node) {
    n.output.forEach((o, i) => {
      if (!o || !isF32(o)) return;
      if (isConstant(n)) {
        prec.set(o, !keptReason.has(n) && consumersWantF16(o) ? 16 : 32);
      } else {
        const fixed = plans.get(n)?.float32Outputs.has(i) ?? false;
        prec.set(o, keptReason.has(n) || fixed ? 32 : 16);
      }
    });
  }

  // Initializers and Constant values.
  let bytesBefore = 0, bytesAfter = 0;
  const convert = (tp: TensorProto): TensorProto => {
    const r = tensorToFloat16(tp, external);
    report.convertedTensors++;
    report.clamped += r.clamped;
    report.flushed += r.flushed;
    bytesBefore += tensorBytes(tp);
    bytesAfter += tensorBytes(r.tensor);
    return r.tensor;
  };
  g.initializer = g.initializer.map((t) => (prec.get(t.name) === 16 ? convert(t) : t));
  for (const [name, n] of constantNodes) {
    if (prec.get(name) !== 16) continue;
    n.attribute = n.attribute.map((a) => {
      if (a.name === "value" && a.t && a.t.dataType === DT.float32) {
        return tensorAttr("value", convert(a.t));
      }
      if (a.name === "value_float" || a.name === "value_floats") {
        const values = a.name === "value_float" ? [a.f] : a.floats;
        const dims = a.name === "value_float" ? [] : [values.length];
        const tp = tensorToProto(new Tensor("float32", Float32Array.from(values), dims), name);
        return tensorAttr("value", convert(tp));
      }
      return a;
    });
  }

  // Converted nodes: element-type attributes and float32 tensor attributes.
  for (const n of g.node) {
    if (keptReason.has(n) || isConstant(n)) continue;
    n.attribute = n.attribute.map((a) => {
      if (a.type === "INT" && DTYPE_ATTRS.has(a.name) && a.i === BigInt(DT.float32)) {
        return intAttr(a.name, DT.float16);
      }
      if (a.type === "TENSOR" && a.t && a.t.dataType === DT.float32) {
        return tensorAttr(a.name, convert(a.t));
      }
      return a;
    });
  }

  // Casts where a value's precision differs from what its consumer needs.
  const casts = new Map<string, string>();
  const inserted = new Set<Node>();
  const out: Node[] = [];
  const castOf = (name: string, to: Prec): string => {
    const key = `${name}|${to}`;
    let c = casts.get(key);
    if (!c) {
      c = names.fresh(`${name}_float${to}`);
      casts.set(key, c);
      const cast = makeNode("Cast", [name], [c], [
        intAttr("to", to === 16 ? DT.float16 : DT.float32),
      ], { name: names.fresh(`${name}_cast_float${to}`) });
      out.push(cast);
      inserted.add(cast);
      report.casts++;
    }
    return c;
  };
  for (const n of g.node) {
    n.input = n.input.map((x, i) => {
      const have = prec.get(x);
      if (!x || have === undefined) return x;
      const want: Prec = wantsF16(n, i) ? 16 : 32;
      return have === want ? x : castOf(x, want);
    });
    for (const sg of subgraphsOf(n)) {
      for (const r of outerReads(sg)) {
        if (prec.get(r) === 16) renameReads(sg, r, castOf(r, 32), true);
      }
    }
    out.push(n);
  }
  g.node = out;

  // Graph outputs keep their names: their producer writes a new name, a Cast the old one.
  const producers = new Map<string, Node>();
  for (const n of g.node) for (const o of n.output) if (o) producers.set(o, n);
  g.output = g.output.map((o) => {
    const have = prec.get(o.name);
    if (have === undefined) return o;
    const want: Prec = keepIo(o.name) ? 32 : 16;
    const p = producers.get(o.name);
    if (have !== want && p) {
      const inner = names.fresh(`${o.name}_float${have}`);
      p.output = p.output.map((x) => (x === o.name ? inner : x));
      renameReads(g, o.name, inner, false);
      prec.set(inner, have);
      const cast = makeNode("Cast", [inner], [o.name], [
        intAttr("to", want === 16 ? DT.float16 : DT.float32),
      ], { name: names.fresh(`${o.name}_cast_float${want}`) });
      g.node.push(cast);
      inserted.add(cast);
      report.casts++;
      prec.set(o.name, want);
    }
    return setElemType(o, prec.get(o.name) === 16 ? DT.float16 : DT.float32);
  });
  g.input = g.input.map((i) => prec.get(i.name) === 16 ? setElemType(i, DT.float16) : i);
  g.valueInfo = g.valueInfo.map((v) => prec.get(v.name) === 16 ? setElemType(v, DT.float16) : v);

  // Report.
  for (const reason of keptReason.values()) report.kept[reason] = (report.kept[reason] ?? 0) + 1;
  const mib = (b: number) => `${(b / (1 << 20)).toFixed(2)} MiB`;
  report.details.push(
    `converted ${report.convertedTensors} float32 tensor(s) to float16: ${mib(bytesBefore)} → ${
      mib(bytesAfter)
    }`,
  );
  report.changed = [...prec.values()].some((p) => p === 16);
  report.float16Nodes =
    g.node.filter((n) =>
      !keptReason.has(n) && !isConstant(n) && !inserted.has(n) &&
      n.output.some((o) => prec.get(o) === 16)
    ).length;
  report.details.push(
    `${report.float16Nodes} node(s) compute in float16; inserted ${report.casts} Cast node(s)`,
  );
  const keptList = Object.entries(report.kept).map(([k, v]) => `${v} ${k}`);
  if (keptList.length) report.details.push(`kept in float32: ${keptList.join(", ")}`);
  if (report.clamped) {
    report.details.push(
      `clamped ${report.clamped} value(s) beyond float16's range to ±${FLOAT16_MAX}`,
    );
  }
  if (report.flushed) {
    report.details.push(`${report.flushed} nonzero value(s) too small for float16 became 0`);
  }
  const io = (options.keepIoTypes ?? true) === true
    ? "inputs and outputs stay float32"
    : options.keepIoTypes === false
    ? "float32 inputs and outputs became float16"
    : `inputs and outputs kept float32: ${(options.keepIoTypes as readonly string[]).join(", ")}`;
  report.details.push(io);
  return report;
}

/** The float16 conversion as a pass (meant for `optimizeModel`'s `finalPasses`). */
export function float16Pass(options: Float16Options = {}): Pass {
  return {
    name: "float16",
    description:
      "Converts float32 weights and computation to float16, keeping float32 where needed",
    level: "all",
    run(model: Model, ctx: PassContext): PassResult {
      if (!model.graph) return { changed: false, details: [] };
      const r = convertToFloat16(model, options, ctx.external);
      return { changed: r.changed, details: r.changed ? r.details : [] };
    },
  };
}
