/**
 * Int8 quantization of a model's weights and activations, as standard ONNX that this runtime
 * and onnxruntime both run.
 *
 * **Dynamic** (like onnxruntime's `quantize_dynamic`): the weights of MatMul, Gemm and Conv
 * nodes become int8 (symmetric, zero point 0) or uint8 (asymmetric) initializers, per tensor
 * or per output channel; activations are quantized at run time. Each node becomes
 *
 * ```
 * x ─ DynamicQuantizeLinear ─ (x_q, x_scale, x_zp)
 * MatMulInteger(x_q, W_q, x_zp[, W_zp]) | ConvInteger(...) ─ Cast(float) ─ Mul(scale) [─ Add(bias)]
 * scale = Mul(x_scale, W_scale)        (W_scale [N] per column, or [M, 1, ..] per channel)
 * ```
 *
 * onnxruntime's ConvInteger takes a single weight zero point only, so uint8 Conv weights
 * quantized per channel are symmetric around 128.
 *
 * **Static** (QDQ format): the float model runs on calibration samples to get the range of
 * every activation that feeds a quantized node (see `calibrate.ts`); those activations then
 * go through QuantizeLinear → DequantizeLinear (uint8 asymmetric, or int8 symmetric), the
 * weights are stored as int8 behind DequantizeLinear (per output channel: axis 0 for Conv,
 * the column axis for MatMul/Gemm), and 1-D biases become int32 with scale
 * `x_scale · w_scale` behind DequantizeLinear. Graph outputs stay float. Per-axis
 * DequantizeLinear needs opset 13: models of opset 11 and 12 are raised to 13 (see
 * `quantize_graph.ts`), older ones fall back to per-tensor weights.
 *
 * Nodes whose weight is not a constant (initializer or Constant node), whose weight is also
 * a graph input (it can be fed), or whose activation is not known to be float32 are left
 * alone. Both passes are idempotent (quantized nodes are not quantized again).
 *
 * @module
 */

import type { Graph, Model, Node } from "../load/ir.ts";
import { intAttr, intsAttr, makeNode } from "../load/build.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { InputError, UnsupportedError } from "../errors.ts";
import type { Value } from "../tensor/tensor.ts";
import type { ValueType } from "../tensor/value_type.ts";
import { roundHalfEven } from "../../ops/quantize.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import { calibrateRanges, type CalibrationMethod, type TensorRange } from "./calibrate.ts";
import {
  attrFloat,
  attrInt,
  defaultOpset,
  dropUnusedInitializers,
  ensureIrVersion,
  ensureOpset,
  findConstant,
  floatTensor,
  floatValues,
  inferValueTypes,
  intTensor,
  isDefaultDomain,
  NameScope,
  tensorElemType,
} from "./quantize_graph.ts";

/** `dynamic` (activations quantized at run time) or `static` (QDQ with calibrated ranges). */
export type QuantizeMode = "dynamic" | "static";

/** The quantization modes. */
export const QUANTIZE_MODES: readonly QuantizeMode[] = ["dynamic", "static"];

/** Integer type of quantized weights: int8 is symmetric, uint8 asymmetric. */
export type WeightType = "int8" | "uint8";

/** Integer type of statically quantized activations: uint8 asymmetric, int8 symmetric. */
export type ActivationType = "uint8" | "int8";

/** Op types whose weights are quantized. */
export type QuantizableOp = "Conv" | "MatMul" | "Gemm";

/** The op types quantization handles (all by default). */
export const QUANTIZABLE_OPS: readonly QuantizableOp[] = ["Conv", "MatMul", "Gemm"];

/** Calibration data and method of static quantization. */
export interface CalibrationData {
  /** Samples: a value per model input each. */
  samples: readonly Record<string, Value>[];
  /** Default `minmax`. */
  method?: CalibrationMethod;
  /** For `percentile`: the share of absolute values kept (default 99.99). */
  percentile?: number;
}

/** Options of {@link quantizationPass} and {@link quantizeModel}. */
export interface QuantizeOptions {
  /** Dynamic or static (QDQ). */
  mode: QuantizeMode;
  /** One scale per output channel (default true); false gives one per tensor. */
  perChannel?: boolean;
  /** Weight type (default int8, symmetric). */
  weightType?: WeightType;
  /** Static only: activation type (default uint8, asymmetric). */
  activationType?: ActivationType;
  /** Use 7 bits of the 8 (for CPUs whose u8·s8 products saturate); default false. */
  reduceRange?: boolean;
  /** Op types to quantize (default Conv, MatMul and Gemm). */
  opTypes?: readonly QuantizableOp[];
  /** Names of nodes to leave in float. */
  exclude?: readonly string[];
  /** Static only: calibration samples and method (required). */
  calibration?: CalibrationData;
  /** Called after each calibration sample. */
  onCalibrationSample?: (done: number, total: number) => void;
}

// ---------------------------------------------------------------------------------------------
// Weight quantization arithmetic

/** A quantized weight tensor: integers, and a scale and zero point per tensor or channel. */
export interface QuantizedWeight {
  /** Element type of `values` and `zeroPoints`. */
  type: WeightType;
  /** Quantized values, in the weight's layout. */
  values: Int8Array | Uint8Array;
  /** One scale per tensor (length 1) or per index of the channel axis. */
  scales: Float32Array;
  /** Zero points, as many as scales. */
  zeroPoints: Int8Array | Uint8Array;
}

/** How {@link quantizeWeight} maps floats to integers. */
export interface WeightQuantization {
  /** Target type. */
  type: WeightType;
  /** Channel axis for per-channel scales; undefined for one scale. */
  axis?: number;
  /** uint8 only: center on 128 instead of fitting [min, max] (needed for one zero point). */
  symmetric?: boolean;
  /** Use 7 bits. */
  reduceRange?: boolean;
}

/**
 * Quantizes float weights: int8 symmetric (`q = round(w / s)` in [-127, 127], `s =
 * max|w| / 127`), uint8 asymmetric (`s = (max - min) / 255` over a range containing 0,
 * `zp = round(-min / s)`), or uint8 symmetric (zero point 128). Rounding is half to even,
 * the division in float32 as QuantizeLinear does. An all-zero channel gets scale 1.
 */
export function quantizeWeight(
  w: Float32Array,
  dims: readonly number[],
  how: WeightQuantization,
): QuantizedWeight {
  const axis = how.axis;
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const lo = new Float64Array(channels).fill(0);
  const hi = new Float64Array(channels).fill(0);
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (!Number.isFinite(v)) continue;
    const c = chanOf(i);
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  const scales = new Float32Array(channels);
  const isInt8 = how.type === "int8";
  const zeroPoints = isInt8 ? new Int8Array(channels) : new Uint8Array(channels);
  const symmetric = isInt8 || how.symmetric === true;
  const half = how.reduceRange ? 63 : 127;
  const full = how.reduceRange ? 127 : 255;
  for (let c = 0; c < channels; c++) {
    if (symmetric) {
      const m = Math.max(-lo[c], hi[c]);
      scales[c] = m > 0 ? Math.fround(m / half) : 1;
      zeroPoints[c] = isInt8 ? 0 : 128;
    } else {
      const span = hi[c] - lo[c];
      scales[c] = span > 0 ? Math.fround(span / full) : 1;
      const z = roundHalfEven(-lo[c] / scales[c]);
      zeroPoints[c] = Math.min(full, Math.max(0, z));
    }
  }
  const values = isInt8 ? new Int8Array(w.length) : new Uint8Array(w.length);
  const qlo = symmetric ? (isInt8 ? -half : 128 - half) : 0;
  const qhi = symmetric ? (isInt8 ? half : 128 + half) : full;
  for (let i = 0; i < w.length; i++) {
    const c = chanOf(i);
    const v = w[i];
    const q = Number.isNaN(v) ? zeroPoints[c] : roundHalfEven(Math.fround(v / scales[c])) +
      zeroPoints[c];
    values[i] = q < qlo ? qlo : q > qhi ? qhi : q;
  }
  return { type: how.type, values, scales, zeroPoints };
}

/** Scale and zero point of an activation range: uint8 asymmetric or int8 symmetric. */
export function activationParams(
  range: TensorRange,
  type: ActivationType,
  reduceRange = false,
): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, range.min);
  const hi = Math.max(0, range.max);
  if (type === "int8") {
    const m = Math.max(-lo, hi);
    const q = reduceRange ? 63 : 127;
    return { scale: m > 0 ? Math.fround(m / q) : 1, zeroPoint: 0 };
  }
  const q = reduceRange ? 127 : 255;
  if (!(hi - lo > 0)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / q);
  const zeroPoint = Math.min(q, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

/** Transposes a row-major [rows, cols] matrix. */
function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Finding what to quantize

/** A node whose weight can be quantized. */
interface Candidate {
  node: Node;
  /** The activation input (index 0). */
  x: string;
  /** The weight's name and values. */
  wName: string;
  w: Float32Array;
  wDims: number[];
}

function float32(types: ReadonlyMap<string, ValueType>, name: string): boolean {
  return tensorElemType(types, name) === "float32";
}

function findCandidates(
  g: Graph,
  types: ReadonlyMap<string, ValueType>,
  options: QuantizeOptions,
  external: ExternalDataReader | undefined,
): Candidate[] {
  const ops = new Set<string>(options.opTypes ?? QUANTIZABLE_OPS);
  const exclude = new Set(options.exclude ?? []);
  const producers = new Map<string, Node>();
  for (const n of g.node) for (const o of n.output) if (o) producers.set(o, n);
  const out: Candidate[] = [];
  for (const node of g.node) {
    if (!isDefaultDomain(node.domain) || !ops.has(node.opType)) continue;
    if (node.name && exclude.has(node.name)) continue;
    const x = node.input[0] ?? "";
    const wName = node.input[1] ?? "";
    if (!x || !wName || !float32(types, x)) continue;
    if (node.output.length !== 1 || !float32(types, node.output[0])) continue;
    if (producers.get(x)?.opType === "DequantizeLinear") continue;
    const ref = findConstant(g, wName);
    if (!ref) continue;
    const w = floatValues(ref.tensor, external);
    if (!w) continue;
    const wDims = [...ref.tensor.dims];
    if (node.opType === "Conv" && wDims.length < 3) continue;
    if (node.opType === "MatMul" && wDims.length < 2) continue;
    if (node.opType === "Gemm" && wDims.length !== 2) continue;
    out.push({ node, x, wName, w, wDims });
  }
  return out;
}

/** Constant nodes among `names`' producers that nobody reads any more are removed. */
function dropDeadConstants(g: Graph, names: Iterable<string>): void {
  const wanted = new Set(names);
  const reads = new Set<string>();
  for (const n of g.node) for (const x of n.input) reads.add(x);
  for (const o of g.output) reads.add(o.name);
  g.node = g.node.filter((n) =>
    !(n.opType === "Constant" && wanted.has(n.output[0]) && !reads.has(n.output[0]))
  );
}

function describeWeights(opts: QuantizeOptions, perChannel: boolean): string {
  const type = opts.weightType ?? "int8";
  return `${type} ${type === "int8" ? "symmetric" : "asymmetric"} ${
    perChannel ? "per-channel" : "per-tensor"
  }${opts.reduceRange ? " 7-bit" : ""} weights`;
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
}

function summarize(cands: readonly Candidate[]): string {
  const counts = new Map<string, number>();
  for (const c of cands) counts.set(c.node.opType, (counts.get(c.node.opType) ?? 0) + 1);
  return [...counts].map(([op, n]) => `${n} ${op}`).join(", ");
}

// ---------------------------------------------------------------------------------------------
// Dynamic quantization

function convAttributes(node: Node) {
  const keep = new Set(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"]);
  return node.attribute.filter((a) => keep.has(a.name));
}

function dynamicQuantize(
  model: Model,
  options: QuantizeOptions,
  ctx: PassContext,
): PassResult {
  const g = model.graph!;
  const types = inferValueTypes(model, ctx.external);
  const cands = findCandidates(g, types, options, ctx.external).filter((c) => {
    if (c.node.opType !== "Gemm") return true;
    if (attrInt(c.node, "transA", 0) !== 0) return false;
    const cIn = c.node.input[2] ?? "";
    return !cIn || attrFloat(c.node, "beta", 1) === 1 || !!findConstant(g, cIn);
  });
  if (!cands.length) return { changed: false, details: [] };
  const details: string[] = [];
  const opset = defaultOpset(model);
  if (opset < 11) {
    throw new UnsupportedError(
      `Dynamic quantization needs opset 11 or newer (DynamicQuantizeLinear); the model imports opset ${opset}`,
    );
  }
  const names = new NameScope(model);
  const perChannel = options.perChannel ?? true;
  const wType = options.weightType ?? "int8";
  const byNode = new Map(cands.map((c) => [c.node, c]));
  const dql = new Map<string, [string, string, string]>();
  const weights = new Map<string, { wq: string; zp?: string; scale: string }>();
  const replaced = new Set<string>();
  let floatBytes = 0, quantBytes = 0;
  const out: Node[] = [];
  for (const node of g.node) {
    const c = byNode.get(node);
    if (!c) {
      out.push(node);
      continue;
    }
    const base = node.name || `${node.opType}_${c.wName}`;
    let q = dql.get(c.x);
    if (!q) {
      q = [
        names.fresh(`${c.x}_quantized`),
        names.fresh(`${c.x}_scale`),
        names.fresh(`${c.x}_zero_point`),
      ];
      dql.set(c.x, q);
      out.push(
        makeNode("DynamicQuantizeLinear", [c.x], q, [], {
          name: names.fresh(`${c.x}_QuantizeLinear`),
        }),
      );
    }
    const [xq, xs, xzp] = q;
    const isConv = node.opType === "Conv";
    let w = c.w;
    let wDims = c.wDims;
    if (node.opType === "Gemm" && attrInt(node, "transB", 0) === 1) {
      w = transpose2d(w, wDims[0], wDims[1]);
      wDims = [wDims[1], wDims[0]];
    }
    const axis = perChannel ? (isConv ? 0 : wDims.length - 1) : undefined;
    const alpha = node.opType === "Gemm" ? attrFloat(node, "alpha", 1) : 1;
    const key = `${c.wName}|${node.opType}|${wDims}|${alpha}`;
    let qwNames = weights.get(key);
    if (!qwNames) {
      const qw = quantizeWeight(w, wDims, {
        type: wType,
        axis,
        symmetric: isConv && perChannel,
        reduceRange: options.reduceRange,
      });
      const wq = names.fresh(`${c.wName}_quantized`);
      g.initializer.push(intTensor(wq, wType, qw.values, wDims));
      let zpName: string | undefined;
      const uniformZp = qw.zeroPoints.every((z) => z === qw.zeroPoints[0]);
      if (qw.zeroPoints.some((z) => z !== 0)) {
        zpName = names.fresh(`${c.wName}_zero_point`);
        const zp = uniformZp ? [qw.zeroPoints[0]] : Array.from(qw.zeroPoints);
        g.initializer.push(intTensor(zpName, wType, zp, uniformZp ? [] : [zp.length]));
      }
      // Scales, with Gemm's alpha folded in; per channel they broadcast along the output channel.
      const scales = Array.from(qw.scales, (s) => Math.fround(s * alpha));
      const scaleDims = scales.length === 1
        ? []
        : isConv
        ? [scales.length, ...new Array<number>(wDims.length - 2).fill(1)]
        : [scales.length];
      const wsName = names.fresh(`${c.wName}_scale`);
      g.initializer.push(floatTensor(wsName, scales, scaleDims));
      floatBytes += c.w.length * 4;
      quantBytes += c.w.length + scales.length * 4 + (zpName ? qw.zeroPoints.length : 0);
      qwNames = { wq, zp: zpName, scale: wsName };
      weights.set(key, qwNames);
    }
    const inputs = [xq, qwNames.wq, xzp];
    if (qwNames.zp) inputs.push(qwNames.zp);
    const wsName = qwNames.scale;
    replaced.add(c.wName);
    const acc = names.fresh(`${base}_output_int32`);
    if (isConv) {
      out.push(
        makeNode("ConvInteger", inputs, [acc], convAttributes(node), {
          name: names.fresh(`${base}_quant`),
        }),
      );
    } else {
      out.push(
        makeNode("MatMulInteger", inputs, [acc], [], { name: names.fresh(`${base}_quant`) }),
      );
    }
    const accF = names.fresh(`${base}_output_float`);
    out.push(
      makeNode("Cast", [acc], [accF], [intAttr("to", 1)], { name: names.fresh(`${base}_cast`) }),
    );
    const scale = names.fresh(`${base}_combined_scale`);
    out.push(
      makeNode("Mul", [xs, wsName], [scale], [], { name: names.fresh(`${base}_scale_mul`) }),
    );
    const y = node.output[0];
    // Bias: Conv's B as [M, 1, ...], Gemm's C times beta.
    let bias: string | undefined;
    const bIn = node.input[2] ?? "";
    if (bIn) {
      const ref = findConstant(g, bIn);
      const bv = ref ? floatValues(ref.tensor, ctx.external) : undefined;
      if (isConv) {
        if (bv) {
          bias = names.fresh(`${bIn}_reshaped`);
          g.initializer.push(
            floatTensor(bias, bv, [bv.length, ...new Array<number>(wDims.length - 2).fill(1)]),
          );
          replaced.add(bIn);
        } else {
          const axes = names.fresh(`${base}_bias_axes`);
          const rank = wDims.length;
          const ax = Array.from({ length: rank - 2 }, (_, i) => i + 1);
          g.initializer.push(intTensor(axes, "int64", ax, [ax.length]));
          bias = names.fresh(`${bIn}_unsqueezed`);
          out.push(
            opset >= 13
              ? makeNode("Unsqueeze", [bIn, axes], [bias], [], {
                name: names.fresh(`${base}_bias_unsqueeze`),
              })
              : makeNode("Unsqueeze", [bIn], [bias], [
                intsAttr("axes", ax),
              ], { name: names.fresh(`${base}_bias_unsqueeze`) }),
          );
        }
      } else {
        const beta = attrFloat(node, "beta", 1);
        if (beta === 1) bias = bIn;
        else if (bv && ref) {
          bias = names.fresh(`${bIn}_times_beta`);
          g.initializer.push(
            floatTensor(bias, bv.map((v) => Math.fround(v * beta)), ref.tensor.dims),
          );
          replaced.add(bIn);
        }
      }
    }
    const scaled = bias ? names.fresh(`${base}_output_scaled`) : y;
    out.push(
      makeNode("Mul", [accF, scale], [scaled], [], { name: names.fresh(`${base}_output_mul`) }),
    );
    if (bias) {
      out.push(makeNode("Add", [scaled, bias], [y], [], { name: names.fresh(`${base}_bias_add`) }));
    }
  }
  g.node = out;
  dropUnusedInitializers(g, replaced);
  dropDeadConstants(g, replaced);
  ensureIrVersion(model);
  details.push(
    `quantized ${summarize(cands)} dynamically with ${describeWeights(options, perChannel)}: ${
      mib(floatBytes)
    } of float weights became ${mib(quantBytes)}`,
  );
  for (const c of cands) {
    details.push(
      `${
        c.node.name || c.node.opType
      } (${c.node.opType}): weight "${c.wName}" [${c.wDims}] → ${wType}, input "${c.x}" quantized at run time`,
    );
  }
  return { changed: true, details };
}

// ---------------------------------------------------------------------------------------------
// Static (QDQ) quantization

function staticQuantize(
  model: Model,
  options: QuantizeOptions,
  ctx: PassContext,
): Promise<PassResult> {
  return staticQuantizeAsync(model, options, ctx);
}

async function staticQuantizeAsync(
  model: Model,
  options: QuantizeOptions,
  ctx: PassContext,
): Promise<PassResult> {
  const cal = options.calibration;
  if (!cal || !cal.samples.length) {
    throw new InputError("Static quantization needs calibration samples");
  }
  const g0 = model.graph!;
  let types = inferValueTypes(model, ctx.external);
  const found = findCandidates(g0, types, options, ctx.external);
  if (!found.length) return { changed: false, details: [] };
  const details: string[] = [];
  const opset = defaultOpset(model);
  if (opset < 10) {
    throw new UnsupportedError(
      `Static quantization needs opset 10 or newer (QuantizeLinear); the model imports opset ${opset}`,
    );
  }
  // Ranges come from the float model as it is now.
  const activations = [...new Set(found.map((c) => c.x))];
  const ranges = await calibrateRanges(model, activations, cal.samples, {
    method: cal.method,
    percentile: cal.percentile,
    external: ctx.external,
    onSample: options.onCalibrationSample,
  });
  const names = new NameScope(model);
  let perChannel = options.perChannel ?? true;
  if (perChannel && opset < 13) {
    try {
      details.push(...ensureOpset(model, 13, types, names));
      types = inferValueTypes(model, ctx.external);
    } catch (e) {
      if (!(e instanceof UnsupportedError)) throw e;
      perChannel = false;
      details.push(`per-tensor weights: ${e.message}`);
    }
  }
  const g = model.graph!;
  // The upgrade may have rewritten nodes but keeps the candidate nodes' identity.
  const cands = found.filter((c) => g.node.includes(c.node) && ranges.has(c.x));
  const actType = options.activationType ?? "uint8";
  const wType = options.weightType ?? "int8";
  const byNode = new Map(cands.map((c) => [c.node, c]));
  const qdq = new Map<string, { dq: string; scale: number }>();
  const weights = new Map<string, { dq: string; scales: Float32Array }>();
  const replaced = new Set<string>();
  let floatBytes = 0, quantBytes = 0, biases = 0;
  const out: Node[] = [];
  for (const node of g.node) {
    const c = byNode.get(node);
    if (!c) {
      out.push(node);
      continue;
    }
    // Activation: QuantizeLinear → DequantizeLinear, shared by every consumer.
    let a = qdq.get(c.x);
    if (!a) {
      const { scale, zeroPoint } = activationParams(ranges.get(c.x)!, actType, false);
      const sName = names.fresh(`${c.x}_scale`);
      const zName = names.fresh(`${c.x}_zero_point`);
      const qName = names.fresh(`${c.x}_quantized`);
      const dqName = names.fresh(`${c.x}_dequantized`);
      g.initializer.push(floatTensor(sName, [scale], []));
      g.initializer.push(intTensor(zName, actType, [zeroPoint], []));
      out.push(
        makeNode("QuantizeLinear", [c.x, sName, zName], [qName], [], {
          name: names.fresh(`${c.x}_QuantizeLinear`),
        }),
      );
      out.push(
        makeNode("DequantizeLinear", [qName, sName, zName], [dqName], [], {
          name: names.fresh(`${c.x}_DequantizeLinear`),
        }),
      );
      a = { dq: dqName, scale };
      qdq.set(c.x, a);
    }
    node.input[0] = a.dq;
    // Weight: int8 behind DequantizeLinear, per output channel when asked.
    const isConv = node.opType === "Conv";
    const transB = node.opType === "Gemm" && attrInt(node, "transB", 0) === 1;
    const axis = !perChannel ? undefined : isConv || transB ? 0 : c.wDims.length - 1;
    const key = `${c.wName}|${axis}`;
    let wEntry = weights.get(key);
    if (!wEntry) {
      const qw = quantizeWeight(c.w, c.wDims, {
        type: wType,
        axis,
        reduceRange: options.reduceRange,
      });
      const wq = names.fresh(`${c.wName}_quantized`);
      const ws = names.fresh(`${c.wName}_scale`);
      const wz = names.fresh(`${c.wName}_zero_point`);
      const wdq = names.fresh(`${c.wName}_dequantized`);
      const pDims = qw.scales.length === 1 ? [] : [qw.scales.length];
      g.initializer.push(intTensor(wq, wType, qw.values, c.wDims));
      g.initializer.push(floatTensor(ws, qw.scales, pDims));
      g.initializer.push(intTensor(wz, wType, qw.zeroPoints, pDims));
      const axisAttr = axis === undefined ? [] : [intAttr("axis", axis)];
      out.push(
        makeNode("DequantizeLinear", [wq, ws, wz], [wdq], axisAttr, {
          name: names.fresh(`${c.wName}_DequantizeLinear`),
        }),
      );
      floatBytes += c.w.length * 4;
      quantBytes += c.w.length + qw.scales.length * 5;
      wEntry = { dq: wdq, scales: qw.scales };
      weights.set(key, wEntry);
    }
    const qw = wEntry;
    node.input[1] = wEntry.dq;
    replaced.add(c.wName);
    // Bias: int32 with scale x_scale · w_scale, when it is a 1-D constant along the channels.
    const bIn = node.input[2] ?? "";
    const gemmPlain = node.opType !== "Gemm" ||
      (attrFloat(node, "alpha", 1) === 1 && attrFloat(node, "beta", 1) === 1);
    const ref = bIn ? findConstant(g, bIn) : undefined;
    const bv = ref ? floatValues(ref.tensor, ctx.external) : undefined;
    const channels = isConv ? c.wDims[0] : transB ? c.wDims[0] : c.wDims[c.wDims.length - 1];
    if (bv && gemmPlain && ref!.tensor.dims.length === 1 && bv.length === channels) {
      const bScales = new Float32Array(channels);
      const bq = new Int32Array(channels);
      let ok = true;
      for (let m = 0; m < channels; m++) {
        const s = Math.fround(a.scale * qw.scales[qw.scales.length === 1 ? 0 : m]);
        bScales[m] = s;
        const q = roundHalfEven(bv[m] / s);
        if (!(s > 0) || !Number.isFinite(q) || Math.abs(q) > 2147483647) ok = false;
        bq[m] = q;
      }
      if (ok) {
        const bqName = names.fresh(`${bIn}_quantized`);
        const bsName = names.fresh(`${bIn}_scale`);
        const bdq = names.fresh(`${bIn}_dequantized`);
        const uniform = bScales.every((s) => s === bScales[0]);
        g.initializer.push(intTensor(bqName, "int32", bq, [channels]));
        g.initializer.push(
          floatTensor(bsName, uniform ? [bScales[0]] : bScales, uniform ? [] : [channels]),
        );
        out.push(
          makeNode(
            "DequantizeLinear",
            [bqName, bsName],
            [bdq],
            uniform ? [] : [intAttr("axis", 0)],
            { name: names.fresh(`${bIn}_DequantizeLinear`) },
          ),
        );
        node.input[2] = bdq;
        replaced.add(bIn);
        biases++;
      }
    }
    out.push(node);
  }
  g.node = out;
  dropUnusedInitializers(g, replaced);
  dropDeadConstants(g, replaced);
  ensureIrVersion(model);
  const method = cal.method === "percentile" ? `percentile ${cal.percentile ?? 99.99}` : "minmax";
  details.push(
    `quantized ${summarize(cands)} statically (QDQ) with ${
      describeWeights({ ...options, weightType: wType }, perChannel)
    }, ${actType} activations calibrated (${method}) on ${cal.samples.length} sample(s), ${biases} int32 bias(es): ${
      mib(floatBytes)
    } of float weights became ${mib(quantBytes)}`,
  );
  for (const [name, { scale }] of qdq) {
    const r = ranges.get(name)!;
    details.push(
      `activation "${name}": range [${r.min.toPrecision(4)}, ${r.max.toPrecision(4)}], scale ${
        scale.toPrecision(4)
      }`,
    );
  }
  return { changed: true, details };
}

// ---------------------------------------------------------------------------------------------
// Entry points

function checkOptions(options: QuantizeOptions): void {
  if (!QUANTIZE_MODES.includes(options.mode)) {
    throw new InputError(`Unknown quantization mode "${options.mode}": use dynamic or static`);
  }
  for (const op of options.opTypes ?? []) {
    if (!QUANTIZABLE_OPS.includes(op)) {
      throw new InputError(
        `Cannot quantize op type "${op}": quantizable op types are ${QUANTIZABLE_OPS.join(", ")}`,
      );
    }
  }
  if (options.mode === "static" && !options.calibration) {
    throw new InputError("Static quantization needs calibration samples");
  }
}

/**
 * A pass that quantizes the model (see the module documentation). It is meant to run once,
 * after the graph passes (as one of `optimizeModel`'s `finalPasses`); it is idempotent.
 */
export function quantizationPass(options: QuantizeOptions): Pass {
  checkOptions(options);
  return {
    name: options.mode === "dynamic" ? "quantize-dynamic" : "quantize-static",
    description: options.mode === "dynamic"
      ? "Quantizes MatMul, Gemm and Conv weights to 8 bits, activations at run time"
      : "Inserts QuantizeLinear/DequantizeLinear on calibrated activations and 8-bit weights",
    level: "all",
    run(model: Model, ctx: PassContext): PassResult | Promise<PassResult> {
      if (!model.graph) return { changed: false, details: [] };
      return options.mode === "dynamic"
        ? dynamicQuantize(model, options, ctx)
        : staticQuantize(model, options, ctx);
    },
  };
}

/**
 * Quantizes `model` in place and returns what changed, one sentence per change.
 *
 * @example
 * ```ts ignore
 * import { quantizeModel } from "./quantize.ts";
 * const details = await quantizeModel(model, { mode: "dynamic", perChannel: true });
 * ```
 */
export async function quantizeModel(
  model: Model,
  options: QuantizeOptions,
  external?: ExternalDataReader,
): Promise<string[]> {
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport) {
    opsets.set(isDefaultDomain(o.domain) ? "" : o.domain, o.version);
  }
  const r = await quantizationPass(options).run(model, { opsets, external });
  return r.details;
}
