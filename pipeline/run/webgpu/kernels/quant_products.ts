/**
 * The integer products on the GPU, bit for bit with `ops/qlinear.ts`: ConvInteger and
 * MatMulInteger (int32 sums of packed int8/uint8 operands) and QLinearConv and QLinearMatMul
 * (the same sums, then requantized by `quant_requant.wgsl`).
 *
 * Sums run in i32 on `quant_conv.wgsl` (implicit GEMM), `quant_conv_direct.wgsl` (depthwise
 * and few channels per group) and `quant_matmul.wgsl`; software adapters use the register
 * blocks of `quant_conv_blocked.wgsl` and `quant_matmul_blocked.wgsl` instead of the tiles
 * (see `directBlocking`). With `int8Accumulation: "x86-u8s8"` they emulate onnxruntime's x86
 * u8 × s8 kernels exactly where the CPU kernel does (int16 pair saturation in the same K
 * order: QLinearConv with uint8 x and int8 w except depthwise, K walked channels-last;
 * ConvInteger with int8 x and uint8 w, channels-first; QLinearMatMul and MatMulInteger with
 * uint8 A and int8 B, along K).
 *
 * The requantization scales (`x_scale * w_scale / y_scale` in float32) are computed on the
 * host from the scale inputs exactly as the CPU kernels compute them and uploaded as a table,
 * kept for the session while the scale tensors are the same objects (initializers).
 * QLinear sums are bounded (at most {@link MAX_TERMS} terms) so that they never leave i32,
 * where the CPU's float64 sums would differ from wrapped ones.
 *
 * @module
 */

import { broadcastShapes, broadcastStrides, numbersOf } from "../../../../ops/util.ts";
import { shapeSize, Tensor } from "../../../tensor/tensor.ts";
import type { GpuInfo } from "../device.ts";
import type { GpuKernel, KernelContext, NodeView, TensorMeta } from "../kernel.ts";
import { UniformWriter } from "../kernel.ts";
import { directBlocking, tiling } from "./tiling.ts";
import {
  type ConvGeometry,
  convGeometry,
  isInt8,
  isScalarParam,
  isVectorParam,
  MAX_TERMS,
  QUANT_WG,
  rangeOf,
  sizeOf,
  zeroTensor,
} from "./quant_shared.ts";

const WG = QUANT_WG;
/** Output channels per group from which the implicit GEMM pays off (as for float Conv). */
const GEMM_MIN_CHANNELS = 16;
/**
 * On a software adapter, output channels per group (or terms per output) from which the
 * register-blocked kernel beats four outputs per invocation (as for float Conv).
 */
const BLOCKED_MIN_CHANNELS = 4;
const BLOCKED_MIN_TERMS = 64;

/** True when the session emulates x86 u8s8 kernels and `u` × `s` goes through them. */
function x86Pairs(k: NodeView | KernelContext, u: TensorMeta, s: TensorMeta): boolean {
  return k.op.options.int8Accumulation === "x86-u8s8" && u.type === "uint8" &&
    s.type === "int8";
}

/** Pair-saturation K order of a convolution's sums (undefined: exact). */
type PairOrder = "channels-last" | "channels-first" | undefined;

function tooLarge(info: GpuInfo, groups: readonly number[]): boolean {
  const max = info.limits.maxComputeWorkgroupsPerDimension;
  return groups.some((g) => g > max);
}

// ---------------------------------------------------------------------------------------------
// Convolutions
// ---------------------------------------------------------------------------------------------

/** Workgroup counts of the implicit GEMM of a convolution. */
function convGroups(info: GpuInfo, g: ConvGeometry): [number, number, number] {
  const t = tiling(info);
  return [Math.ceil((g.OH * g.OW) / t.tileN), Math.ceil(g.M / g.group / t.tileM), g.N * g.group];
}

/** Checks the convolution fits the dispatch limits; a reason when it does not. */
function convFits(node: NodeView, g: ConvGeometry): true | string {
  if (g.N * g.group > node.info.limits.maxComputeWorkgroupsPerDimension) {
    return "too many images and groups for one dispatch";
  }
  if (
    !directBlocking(node.info) && g.M / g.group >= GEMM_MIN_CHANNELS &&
    tooLarge(node.info, convGroups(node.info, g))
  ) {
    return "too large for one dispatch";
  }
  return g.N * g.M * g.OH * g.OW > 2 ** 31 ? "too many outputs" : true;
}

const termTables = new Map<string, Tensor>();

/**
 * The K walk of a convolution's implicit GEMM, per term: index in a weight row, input
 * channel, kh * dilation H, kw * dilation W (channels-last order for those x86 pairs).
 */
function convTerms(g: ConvGeometry, channelsLast: boolean): Tensor {
  const Cg = g.C / g.group, KHW = g.KH * g.KW;
  const key = [Cg, g.KH, g.KW, ...g.dilations, channelsLast].join();
  let t = termTables.get(key);
  if (!t) {
    const Kc = Cg * KHW;
    const d = new Int32Array(4 * Kc);
    for (let k = 0; k < Kc; k++) {
      const i = channelsLast ? (k % Cg) * KHW + Math.floor(k / Cg) : k;
      const r = i % KHW;
      d.set([
        i,
        Math.floor(i / KHW),
        Math.floor(r / g.KW) * g.dilations[0],
        (r % g.KW) * g.dilations[1],
      ], 4 * k);
    }
    t = new Tensor("int32", d, [Kc, 4]);
    termTables.set(key, t);
  }
  return t;
}

/** Encodes the int32 sums of a convolution into `y`. */
async function convSums(
  k: KernelContext,
  g: ConvGeometry,
  x: Tensor,
  w: Tensor,
  xZp: Tensor | undefined,
  wZp: Tensor | undefined,
  pairs: PairOrder,
  y: Tensor,
): Promise<void> {
  const Mg = g.M / g.group;
  const Cg = g.C / g.group;
  const P = g.OH * g.OW;
  const Kc = Cg * g.KH * g.KW;
  const constants = {
    X_SIGNED: x.type === "int8",
    W_SIGNED: w.type === "int8",
    W_ZP_PER_CHANNEL: wZp !== undefined && wZp.size > 1,
    PAIRS: pairs !== undefined,
    CHANNELS_LAST: pairs === "channels-last",
  };
  const zero = zeroTensor(k);
  const reads = [x, w, xZp ?? zero, wZp ?? zero];
  const common = (u: UniformWriter) =>
    u.u32(g.C, g.H, g.W, Cg)
      .u32(g.M, g.OH, g.OW)
      .u32(g.KH, g.KW, g.pads[0], g.pads[1])
      .u32(g.strides[0], g.strides[1], g.dilations[0], g.dilations[1]);
  const d = directBlocking(k.info);
  if (d && (Mg >= BLOCKED_MIN_CHANNELS || Kc >= BLOCKED_MIN_TERMS)) {
    // Software adapter: register blocks without workgroup memory.
    const RM = Mg >= d.RM ? d.RM : Mg >= 4 ? 4 : Mg >= 2 ? 2 : 1;
    const RN = Math.min(16, Math.floor(64 / RM), d.RN * (d.RM / RM));
    const { CHANNELS_LAST: _, ...blocked } = constants;
    const pipeline = await k.pipeline({
      shader: "quant_conv_blocked",
      constants: { WG: d.WG, RM, RN, ...blocked },
      reads: 5,
      writes: 1,
      uniforms: true,
    });
    const [gx, gy] = k.groups1d(Math.ceil(Mg / RM) * Math.ceil(P / RN), d.WG);
    k.dispatch(pipeline, {
      reads: [...reads, k.upload(convTerms(g, pairs === "channels-last"), true)],
      writes: [y],
      uniforms: common(new UniformWriter().u32(Mg, P, Kc, g.group)).finish(),
      groups: P * g.N * Mg === 0 ? [0, 0, 0] : [gx, gy, g.N * g.group],
    });
    return;
  }
  if (Mg >= GEMM_MIN_CHANNELS) {
    const t = tiling(k.info);
    const pipeline = await k.pipeline({
      shader: "quant_conv",
      constants: { ...t.constants, ...constants },
      reads: 5,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [...reads, k.upload(convTerms(g, pairs === "channels-last"), true)],
      writes: [y],
      uniforms: common(new UniformWriter().u32(Mg, P, Kc, g.group)).finish(),
      groups: P * g.N === 0 ? [0, 0, 0] : convGroups(k.info, g),
    });
    return;
  }
  const pipeline = await k.pipeline({
    shader: "quant_conv_direct",
    constants: { WG, ...constants },
    reads: 4,
    writes: 1,
    uniforms: true,
  });
  const OWq = Math.ceil(g.OW / 4);
  const count = g.N * g.M * g.OH * OWq;
  k.dispatch(pipeline, {
    reads,
    writes: [y],
    uniforms: common(new UniformWriter().u32(count, Mg, OWq, Kc)).finish(),
    groups: k.groups1d(count, WG),
  });
}

const convInteger: GpuKernel = {
  heavy: true,
  packedBytes: true,
  supports(node) {
    const [x, w, xz, wz] = node.inputs;
    if (!x || !w) return "an input is missing";
    if (!isInt8(x) || !isInt8(w)) return `ConvInteger of ${x.type} and ${w.type}`;
    if (xz && (xz.type !== x.type || sizeOf(xz) !== 1)) {
      return "x_zero_point is not a scalar of x's type";
    }
    if (wz && (wz.type !== w.type || !isVectorParam(wz, w.dims[0]))) {
      return "w_zero_point is not a scalar or one per output channel of w's type";
    }
    const g = convGeometry(node.op, x.dims, w.dims);
    if (typeof g === "string") return g;
    return convFits(node, g);
  },
  async run(k, [x, w, xz, wz]) {
    const g = convGeometry(k.op, x!.dims, w!.dims) as ConvGeometry;
    const y = k.output("int32", g.outDims);
    // onnxruntime multiplies w (its GEMM's A operand) by x: the u8s8 kernels take uint8 w.
    const pairs = x86Pairs(k, w!, x!) ? "channels-first" : undefined;
    await convSums(k, g, x!, w!, xz, wz, pairs, y);
    return [y];
  },
};

/** Scale tables by the scale tensors they came from (kept on the GPU while they recur). */
interface ScaleEntry {
  keys: readonly Tensor[];
  /** The keys' values when the table was made (a fed tensor may be refilled in place). */
  values: number[][];
  table: Tensor;
  /** Uploads seen: the second use of the same tensors keeps the table for the session. */
  uses: number;
}

/** A table of float32 scales made by `make` from `keys`, cached per first key. */
function scaleTable(
  k: KernelContext,
  cache: WeakMap<Tensor, ScaleEntry>,
  keys: readonly Tensor[],
  make: () => Float32Array,
): Tensor {
  const values = keys.map((t) => Array.from(numbersOf(t)));
  let e = cache.get(keys[0]);
  const same = e !== undefined && e.keys.every((t, i) => t === keys[i]) &&
    e.values.every((v, i) =>
      v.length === values[i].length && v.every((x, j) => x === values[i][j])
    );
  if (!e || !same) {
    const data = make();
    e = { keys, values, table: new Tensor("float32", data, [data.length]), uses: 0 };
    cache.set(keys[0], e);
  }
  e.uses++;
  return k.upload(e.table, e.uses > 1);
}

/** Encodes the requantization of int32 sums `acc` into the packed `y`. */
async function requantize(
  k: KernelContext,
  acc: Tensor,
  y: Tensor,
  scales: Tensor,
  yZp: Tensor | undefined,
  bias: Tensor | undefined,
  index: {
    scale: [number, number, number, number, number, number];
    zp: [number, number, number];
    bias: [number, number];
  },
): Promise<void> {
  const [lo, hi] = rangeOf(y.type);
  const pipeline = await k.pipeline({
    shader: "quant_requant",
    constants: { WG, SIGNED: y.type === "int8", HAS_BIAS: bias !== undefined },
    reads: 4,
    writes: 1,
    uniforms: true,
  });
  const n = y.size;
  const [d1, l1, s1, d2, l2, s2] = index.scale;
  k.dispatch(pipeline, {
    reads: [acc, bias ?? acc, scales, yZp ?? zeroTensor(k)],
    writes: [y],
    uniforms: new UniformWriter()
      .u32(n)
      .i32(lo, hi)
      .u32(Math.max(1, d1), Math.max(1, l1), s1, Math.max(1, d2))
      .u32(Math.max(1, l2), s2)
      .u32(...index.zp.map((v, i) => (i < 2 ? Math.max(1, v) : v)))
      .u32(...index.bias.map((v) => Math.max(1, v)))
      .finish(),
    groups: k.groups1d(Math.ceil(n / 4), WG),
  });
}

const convScales = new WeakMap<Tensor, ScaleEntry>();

const qlinearConv: GpuKernel = {
  heavy: true,
  packedBytes: true,
  host: [1, 4, 6],
  supports(node) {
    const [x, xs, xz, w, ws, wz, ys, yz, b] = node.inputs;
    if (!x || !xs || !w || !ws || !ys) return "an input is missing";
    if (!isInt8(x) || !isInt8(w)) return `QLinearConv of ${x.type} and ${w.type}`;
    const out = yz?.type ?? x.type;
    if (!isInt8({ type: out, dims: [] })) return `QLinearConv to ${out}`;
    if ([xs, ws, ys].some((s) => s.type !== "float32")) return "scales are not float32";
    if (xz && xz.type !== x.type) return "x_zero_point's type differs from x's";
    if (wz && wz.type !== w.type) return "w_zero_point's type differs from w's";
    if (b && b.type !== "int32") return "B is not int32";
    const M = w.dims[0] ?? 0;
    if (!isScalarParam(xs) || !isScalarParam(xz) || !isScalarParam(ys) || !isScalarParam(yz)) {
      return "x and y scales and zero points must be single values";
    }
    if (!isVectorParam(ws, M) || !isVectorParam(wz, M)) {
      return "w_scale and w_zero_point must be single or per output channel";
    }
    if (b && sizeOf(b) !== M) return "B's size differs from the output channels";
    const g = convGeometry(node.op, x.dims, w.dims);
    if (typeof g === "string") return g;
    if ((g.C / g.group) * g.KH * g.KW > MAX_TERMS) return "too many terms per output";
    return convFits(node, g);
  },
  async run(k, [x, xs, xz, w, ws, wz, ys, yz, b]) {
    const g = convGeometry(k.op, x!.dims, w!.dims) as ConvGeometry;
    const out = yz?.type ?? x!.type;
    const depthwise = w!.dims[1] === 1 && g.M === g.group;
    const pairs = x86Pairs(k, x!, w!) && !depthwise ? "channels-last" : undefined;
    const acc = k.output("int32", g.outDims);
    await convSums(k, g, x!, w!, xz, wz, pairs, acc);
    // Per output channel: x_scale * w_scale[m] / y_scale in float32, as the CPU computes it.
    const scales = scaleTable(k, convScales, [ws!, xs!, ys!], () => {
      const xv = numbersOf(xs!)[0], yv = numbersOf(ys!)[0], wv = numbersOf(ws!);
      return Float32Array.from(wv, (s) => Math.fround(Math.fround(xv * s) / yv));
    });
    const y = k.output(out, g.outDims);
    const P = g.OH * g.OW;
    await requantize(k, acc, y, scales, yz, b, {
      scale: [P, g.M, ws!.size > 1 ? 1 : 0, 1, 1, 0],
      zp: [1, 1, 0],
      bias: [P, g.M],
    });
    return [y];
  },
};

// ---------------------------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------------------------

interface ProductShape {
  M: number;
  N: number;
  K: number;
  batch: number[];
  aBatch: number[];
  bBatch: number[];
  out: number[];
}

function productShape(ad: readonly number[], bd: readonly number[]): ProductShape | string {
  if (ad.length === 0 || bd.length === 0) return "scalar operand";
  const aDims = ad.length === 1 ? [1, ad[0]] : [...ad];
  const bDims = bd.length === 1 ? [bd[0], 1] : [...bd];
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const N = bDims[bDims.length - 1];
  if (bDims[bDims.length - 2] !== K) return "inner dimensions differ";
  const aB = aDims.slice(0, -2), bB = bDims.slice(0, -2);
  const batch = broadcastShapes(aB, bB);
  if (!batch) return "batch dims cannot be broadcast";
  if (batch.length > 8) return `batch rank ${batch.length} is over 8`;
  const out = [...batch];
  if (ad.length > 1) out.push(M);
  if (bd.length > 1) out.push(N);
  return {
    M,
    N,
    K,
    batch,
    aBatch: broadcastStrides(aB, batch).map((s) => s * M * K),
    bBatch: broadcastStrides(bB, batch).map((s) => s * K * N),
    out,
  };
}

/** Zero points the GPU reads: one, or 1-D per row of A / column of B (rank >= 2). */
function zeroPointOk(t: TensorMeta, zp: TensorMeta | undefined, len: number): boolean {
  if (!zp || sizeOf(zp) === 1) return true;
  return t.dims.length >= 2 && zp.dims.length === 1 && zp.dims[0] === len;
}

/** Checks shared by MatMulInteger and QLinearMatMul; the product's shape or a reason. */
function productChecks(
  node: NodeView,
  a: TensorMeta,
  b: TensorMeta,
  aZp: TensorMeta | undefined,
  bZp: TensorMeta | undefined,
): ProductShape | string {
  if (!isInt8(a) || !isInt8(b)) return `a product of ${a.type} and ${b.type}`;
  if (aZp && aZp.type !== a.type) return "a_zero_point's type differs from A's";
  if (bZp && bZp.type !== b.type) return "b_zero_point's type differs from B's";
  const s = productShape(a.dims, b.dims);
  if (typeof s === "string") return s;
  if (!zeroPointOk(a, aZp, s.M)) return "a_zero_point is neither single nor per row";
  if (!zeroPointOk(b, bZp, s.N)) return "b_zero_point is neither single nor per column";
  const g = productGroups(node.info, s);
  return typeof g === "string" ? g : s;
}

/** Workgroup counts of a matrix product's sums, or why it does not fit one dispatch. */
function productGroups(info: GpuInfo, s: ProductShape): [number, number, number] | string {
  const batch = shapeSize(s.batch);
  const d = directBlocking(info);
  let g: [number, number, number];
  if (d) {
    const max = info.limits.maxComputeWorkgroupsPerDimension;
    const total = Math.ceil((Math.ceil(s.M / d.RM) * Math.ceil(s.N / d.RN)) / d.WG);
    const y = Math.ceil(total / max);
    g = [Math.ceil(total / y), y, batch];
  } else {
    const t = tiling(info);
    g = [Math.ceil(s.N / t.tileN), Math.ceil(s.M / t.tileM), batch];
  }
  return tooLarge(info, g) ? "too large for one dispatch" : g;
}

/** Encodes the int32 sums of a matrix product into `y`. */
async function productSums(
  k: KernelContext,
  s: ProductShape,
  a: Tensor,
  b: Tensor,
  aZp: Tensor | undefined,
  bZp: Tensor | undefined,
  y: Tensor,
): Promise<void> {
  const d = directBlocking(k.info);
  const batch = shapeSize(s.batch);
  const pipeline = await k.pipeline({
    shader: d ? "quant_matmul_blocked" : "quant_matmul",
    constants: {
      ...(d ?? tiling(k.info).constants),
      BATCH_RANK: s.batch.length,
      A_SIGNED: a.type === "int8",
      B_SIGNED: b.type === "int8",
      A_ZP_PER_ROW: aZp !== undefined && aZp.size > 1,
      B_ZP_PER_COL: bZp !== undefined && bZp.size > 1,
      PAIRS: x86Pairs(k, a, b),
    },
    reads: 4,
    writes: 1,
    uniforms: true,
  });
  const zero = zeroTensor(k);
  k.dispatch(pipeline, {
    reads: [a, b, aZp ?? zero, bZp ?? zero],
    writes: [y],
    uniforms: new UniformWriter()
      .u32(s.M, s.N, s.K, batch)
      .list8(s.batch)
      .list8(s.aBatch)
      .list8(s.bBatch)
      .finish(),
    groups: s.M * s.N * batch === 0
      ? [0, 0, 0]
      : productGroups(k.info, s) as [number, number, number],
  });
}

const matmulInteger: GpuKernel = {
  heavy: true,
  packedBytes: true,
  supports(node) {
    const [a, b, aZp, bZp] = node.inputs;
    if (!a || !b) return "an input is missing";
    const s = productChecks(node, a, b, aZp, bZp);
    return typeof s === "string" ? s : true;
  },
  async run(k, [a, b, aZp, bZp]) {
    const s = productShape(a!.dims, b!.dims) as ProductShape;
    const y = k.output("int32", s.out);
    await productSums(k, s, a!, b!, aZp, bZp, y);
    return [y];
  },
};

const matmulScales = new WeakMap<Tensor, ScaleEntry>();

const qlinearMatmul: GpuKernel = {
  heavy: true,
  packedBytes: true,
  host: [1, 4, 6],
  supports(node) {
    const [a, as, aZp, b, bs, bZp, ys, yZp] = node.inputs;
    if (!a || !as || !b || !bs || !ys) return "an input is missing";
    const out = yZp?.type ?? a.type;
    if (!isInt8({ type: out, dims: [] })) return `QLinearMatMul to ${out}`;
    if ([as, bs, ys].some((t) => t.type !== "float32")) return "scales are not float32";
    const s = productChecks(node, a, b, aZp, bZp);
    if (typeof s === "string") return s;
    const M = a.dims.length > 1 ? a.dims[a.dims.length - 2] : 1;
    const N = b.dims.length > 1 ? b.dims[b.dims.length - 1] : 1;
    if (!isVectorParam(as, M) || !isVectorParam(ys, M) || !isVectorParam(yZp, M)) {
      return "a_scale, y_scale and y_zero_point must be single or per row";
    }
    if (!isVectorParam(bs, N)) return "b_scale must be single or per column";
    if (s.K > MAX_TERMS) return "too many terms per output";
    return true;
  },
  async run(k, [a, as, aZp, b, bs, bZp, ys, yZp]) {
    const s = productShape(a!.dims, b!.dims) as ProductShape;
    const out = yZp?.type ?? a!.type;
    const acc = k.output("int32", s.out);
    await productSums(k, s, a!, b!, aZp, bZp, acc);
    const M = s.M, N = s.N;
    const rows = as!.size > 1 || ys!.size > 1 ? M : 1;
    const cols = bs!.size > 1 ? N : 1;
    // scale(i, j) = fround(fround(a_scale[i] * b_scale[j]) / y_scale[i]), as the CPU.
    const scales = scaleTable(k, matmulScales, [as!, bs!, ys!], () => {
      const av = numbersOf(as!), bv = numbersOf(bs!), yv = numbersOf(ys!);
      const at = (v: ArrayLike<number>, i: number) => (v.length === 1 ? v[0] : v[i]);
      const t = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          t[i * cols + j] = Math.fround(Math.fround(at(av, i) * at(bv, j)) / at(yv, i));
        }
      }
      return t;
    });
    const y = k.output(out, s.out);
    await requantize(k, acc, y, scales, yZp, undefined, {
      scale: [N, M, rows > 1 ? cols : 0, 1, N, cols > 1 ? 1 : 0],
      zp: [N, M, yZp && yZp.size > 1 ? 1 : 0],
      bias: [1, 1],
    });
    return [y];
  },
};

/** QLinearConv, ConvInteger, QLinearMatMul and MatMulInteger by op type. */
export function quantProductKernels(): Map<string, GpuKernel> {
  return new Map([
    ["QLinearConv", qlinearConv],
    ["ConvInteger", convInteger],
    ["QLinearMatMul", qlinearMatmul],
    ["MatMulInteger", matmulInteger],
  ]);
}
