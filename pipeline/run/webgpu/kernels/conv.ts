/**
 * Conv (1-D and 2-D, f32): groups (depthwise included), strides, dilations, explicit and
 * automatic pads. Convolutions with at least 16 output channels per group run as an
 * implicit GEMM (`conv.wgsl`); the others (depthwise, few channels) directly
 * (`conv_direct.wgsl`). Attributes are read with the CPU kernel's helpers, so both agree.
 *
 * @module
 */

import { windowAttrs, windowShape } from "../../../../ops/conv.ts";
import type { OpContext } from "../../../../ops/types.ts";
import { shapeSize } from "../../../tensor/tensor.ts";
import type { GpuKernel, NodeView } from "../kernel.ts";
import { UniformWriter } from "../kernel.ts";
import { directBlocking, tiling } from "./tiling.ts";

const WG = 64;
/** Output channels per group from which the implicit GEMM pays off. */
const GEMM_MIN_CHANNELS = 16;
/**
 * On a software adapter, output channels per group (or taps per output: Cg * KH * KW) from
 * which the register-blocked kernel beats one output per invocation.
 */
const BLOCKED_MIN_CHANNELS = 4;
const BLOCKED_MIN_TAPS = 64;

/** A 1-D or 2-D convolution's geometry, 1-D written as 2-D with H = 1. */
interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  M: number;
  group: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number];
  outDims: number[];
}

function geometry(op: OpContext, x: readonly number[], w: readonly number[]): ConvGeometry {
  const r = x.length - 2;
  const group = op.attrs.int("group", 1);
  const wk = w.slice(2);
  const a = windowAttrs(op, r, wk);
  if (a.kernel.some((v, i) => v !== wk[i])) {
    throw op.fail(`kernel_shape [${a.kernel}] does not match W's [${wk}]`);
  }
  const ws = windowShape(x.slice(2), a.kernel, a.strides, a.dilations, {
    autoPad: op.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
  });
  if (typeof ws === "string") throw op.fail(ws);
  const two = (v: number[], one: number): [number, number] => r === 1 ? [one, v[0]] : [v[0], v[1]];
  const [H, W] = two(x.slice(2), 1);
  const [KH, KW] = two(a.kernel, 1);
  const [OH, OW] = two(ws.out, 1);
  return {
    N: x[0],
    C: x[1],
    H,
    W,
    M: w[0],
    group,
    KH,
    KW,
    OH,
    OW,
    strides: two(a.strides, 1),
    dilations: two(a.dilations, 1),
    pads: two(ws.padsBegin, 0),
    outDims: [x[0], w[0], ...ws.out],
  };
}

/** com.microsoft.FusedConv activation codes of fused_activation (math.wgsl). */
export const ACTIVATIONS: Readonly<Record<string, number>> = {
  "": 0,
  Identity: 0,
  Relu: 1,
  Tanh: 2,
  Sigmoid: 3,
  LeakyRelu: 4,
  Clip: 5,
  HardSigmoid: 6,
};

/** The fused activation of a node: code and parameters, or a reason it stays on the CPU. */
function fusedActivation(
  attrs: NodeView["attrs"],
): { code: number; a: number; b: number } | string {
  const name = attrs.string("activation", "");
  const code = ACTIVATIONS[name];
  if (code === undefined) return `activation "${name}"`;
  const p = attrs.floats("activation_params", []);
  if (name === "Clip" && p.length < 2) return "Clip without its bounds";
  const [a, b] = name === "LeakyRelu"
    ? [p[0] ?? 0.01, 0]
    : name === "HardSigmoid"
    ? [p[0] ?? 0.2, p[1] ?? 0.5]
    : [p[0] ?? 0, p[1] ?? 0];
  return { code, a, b };
}

/** Conv, or com.microsoft.FusedConv (Z input and activation) when `fused`. */
function makeConv(fused: boolean): GpuKernel {
  return {
    heavy: true,
    supports(node) {
      const [x, w, b] = node.inputs;
      if (!x || !w) return "an input is missing";
      if (x.type !== "float32" || w.type !== "float32" || (b && b.type !== "float32")) {
        return "Conv runs on the GPU for float32 only";
      }
      if (x.dims.length !== 3 && x.dims.length !== 4) return `${x.dims.length - 2}-D convolution`;
      if (w.dims.length !== x.dims.length) return "W's rank differs from X's";
      let g: ConvGeometry;
      try {
        g = geometry(node.op, x.dims, w.dims);
      } catch (e) {
        return `attributes the CPU kernel reports on: ${(e as Error).message}`;
      }
      if (g.group < 1 || g.C !== w.dims[1] * g.group || g.M % g.group !== 0) {
        return "channels do not match the groups";
      }
      if (b && shapeSize(b.dims) !== g.M) return "B's size differs from the output channels";
      if (fused) {
        const act = fusedActivation(node.attrs);
        if (typeof act === "string") return act;
        const z = node.inputs[3];
        if (z && (z.type !== "float32" || z.dims.join() !== g.outDims.join())) {
          return "Z does not have the output's shape";
        }
      }
      const max = node.info.limits.maxComputeWorkgroupsPerDimension;
      if (directBlocking(node.info) && g.N * g.group > max) return "too large for one dispatch";
      if (g.M / g.group >= GEMM_MIN_CHANNELS) {
        const P = g.OH * g.OW;
        if (Math.ceil(P / tiling(node.info).tileN) > max || g.N * g.group > max) {
          return "too large for one dispatch";
        }
      }
      return true;
    },
    async run(k, [x, w, b, zIn]) {
      const g = geometry(k.op, x!.dims, w!.dims);
      const z = fused ? zIn : undefined;
      const act = fused
        ? fusedActivation(k.attrs) as { code: number; a: number; b: number }
        : { code: 0, a: 0, b: 0 };
      const epilogue = {
        HAS_Z: z !== undefined,
        ACT: act.code,
        ACT_A: act.a,
        ACT_B: act.b,
      };
      const y = k.output("float32", g.outDims);
      const Mg = g.M / g.group;
      const Cg = g.C / g.group;
      const P = g.OH * g.OW;
      const common = (u: UniformWriter) =>
        u.u32(g.C, g.H, g.W, Cg)
          .u32(g.M, g.OH, g.OW)
          .u32(g.KH, g.KW, g.pads[0], g.pads[1])
          .u32(g.strides[0], g.strides[1], g.dilations[0], g.dilations[1]);
      const d = directBlocking(k.info);
      if (d && (Mg >= BLOCKED_MIN_CHANNELS || Cg * g.KH * g.KW >= BLOCKED_MIN_TAPS)) {
        // Software adapter: register blocks without workgroup memory.
        const RM = Mg >= d.RM ? d.RM : Mg >= 4 ? 4 : Mg >= 2 ? 2 : 1;
        const RN = Math.min(16, Math.floor(64 / RM), d.RN * (d.RM / RM));
        const pipeline = await k.pipeline({
          shader: "conv_blocked",
          constants: { WG: d.WG, RM, RN, HAS_BIAS: b !== undefined, ...epilogue },
          reads: 4,
          writes: 1,
          uniforms: true,
        });
        const blocks = Math.ceil(Mg / RM) * Math.ceil(P / RN);
        const [gx, gy] = k.groups1d(blocks, d.WG);
        k.dispatch(pipeline, {
          reads: [x!, w!, b ?? w!, z ?? w!],
          writes: [y],
          uniforms: common(new UniformWriter().u32(Mg, P, Cg * g.KH * g.KW, g.group)).finish(),
          groups: P === 0 || Mg === 0 ? [0, 0, 0] : [gx, gy, g.N * g.group],
        });
        return [y];
      }
      if (Mg >= GEMM_MIN_CHANNELS) {
        const t = tiling(k.info);
        const pipeline = await k.pipeline({
          shader: "conv",
          constants: { ...t.constants, HAS_BIAS: b !== undefined, ...epilogue },
          reads: 4,
          writes: 1,
          uniforms: true,
        });
        const groups: [number, number, number] = [
          Math.ceil(P / t.tileN),
          Math.ceil(Mg / t.tileM),
          g.N * g.group,
        ];
        k.dispatch(pipeline, {
          reads: [x!, w!, b ?? w!, z ?? w!],
          writes: [y],
          uniforms: common(new UniformWriter().u32(Mg, P, Cg * g.KH * g.KW, g.group)).finish(),
          groups: P === 0 ? [0, 0, 0] : groups,
        });
        return [y];
      }
      const pipeline = await k.pipeline({
        shader: "conv_direct",
        constants: { WG, HAS_BIAS: b !== undefined, ...epilogue },
        reads: 4,
        writes: 1,
        uniforms: true,
      });
      const count = g.N * g.M * P;
      k.dispatch(pipeline, {
        reads: [x!, w!, b ?? w!, z ?? w!],
        writes: [y],
        uniforms: common(new UniformWriter().u32(count, Mg, P)).finish(),
        groups: k.groups1d(count, WG),
      });
      return [y];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------------------------

interface TransposeGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  out: number[];
  padsBegin: number[];
}

/** Output size and begin pads of a transposed convolution, as the CPU kernel computes them. */
function transposeGeometry(
  op: OpContext,
  inSp: readonly number[],
  wk: readonly number[],
): TransposeGeometry | string {
  const r = inSp.length;
  let a: ReturnType<typeof windowAttrs>;
  try {
    a = windowAttrs(op, r, wk);
  } catch (e) {
    return (e as Error).message;
  }
  if (a.kernel.some((v, i) => v !== wk[i])) return "kernel_shape does not match W";
  const { kernel, strides, dilations } = a;
  const outputPadding = op.attrs.ints("output_padding", []);
  const opad = outputPadding.length === 0 ? new Array<number>(r).fill(0) : outputPadding;
  if (opad.length !== r) return "output_padding";
  const autoPad = op.attrs.string("auto_pad", "NOTSET");
  let outputShape = op.attrs.ints("output_shape", []);
  if (outputShape.length === r + 2) outputShape = outputShape.slice(2);
  if (outputShape.length !== 0 && outputShape.length !== r) return "output_shape";
  const same = autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER";
  if (!same && autoPad !== "NOTSET" && autoPad !== "VALID" && autoPad !== "") return "auto_pad";
  const out = new Array<number>(r);
  const padsBegin = new Array<number>(r);
  const full = (i: number) =>
    strides[i] * (inSp[i] - 1) + opad[i] + (kernel[i] - 1) * dilations[i] + 1;
  if (outputShape.length === r || same) {
    for (let i = 0; i < r; i++) {
      out[i] = outputShape.length === r ? outputShape[i] : inSp[i] * strides[i];
      const total = full(i) - out[i];
      const half = Math.floor(total / 2);
      padsBegin[i] = autoPad === "SAME_UPPER" ? half : total - half;
    }
    return { kernel, strides, dilations, out, padsBegin };
  }
  const pads = autoPad === "VALID" ? [] : op.attrs.ints("pads", []);
  if (pads.length !== 0 && pads.length !== 2 * r) return "pads";
  for (let i = 0; i < r; i++) {
    const pb = pads.length ? pads[i] : 0;
    const pe = pads.length ? pads[i + r] : 0;
    padsBegin[i] = pb;
    out[i] = full(i) - pb - pe;
    if (out[i] < 0) return "negative output size";
  }
  return { kernel, strides, dilations, out, padsBegin };
}

const convTransposeKernel: GpuKernel = {
  heavy: true,
  supports(node) {
    const [x, w, b] = node.inputs;
    if (!x || !w) return "an input is missing";
    if (x.type !== "float32" || w.type !== "float32" || (b && b.type !== "float32")) {
      return "ConvTranspose runs on the GPU for float32 only";
    }
    const r = x.dims.length - 2;
    if (r < 1 || r > 3) return `${r}-D transposed convolution`;
    if (w.dims.length !== r + 2) return "W's rank differs from X's";
    const group = node.attrs.int("group", 1);
    const C = x.dims[1];
    if (group < 1 || C !== w.dims[0] || C % group !== 0) return "channels do not match the groups";
    const M = w.dims[1] * group;
    if (b && shapeSize(b.dims) !== M) return "B's size differs from the output channels";
    const g = transposeGeometry(node.op, x.dims.slice(2), w.dims.slice(2));
    if (typeof g === "string") return `attributes the CPU kernel reports on: ${g}`;
    return true;
  },
  async run(k, [x, w, b]) {
    const r = x!.dims.length - 2;
    const g = transposeGeometry(k.op, x!.dims.slice(2), w!.dims.slice(2)) as TransposeGeometry;
    const group = k.attrs.int("group", 1);
    const [N, C] = x!.dims;
    const Mg = w!.dims[1];
    const M = Mg * group;
    const y = k.output("float32", [N, M, ...g.out]);
    const count = N * M * shapeSize(g.out);
    if (count === 0) return [y];
    const three = (v: readonly number[], fill: number) => [
      ...new Array<number>(3 - r).fill(fill),
      ...v,
    ];
    const pipeline = await k.pipeline({
      shader: "conv_transpose",
      constants: { WG, HAS_BIAS: b !== undefined },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!, w!, b ?? w!],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(count, C, C / group, Mg)
        .u32(...three(x!.dims.slice(2), 1), M)
        .u32(...three(g.out, 1))
        .u32(...three(g.kernel, 1))
        .u32(...three(g.strides, 1))
        .u32(...three(g.dilations, 1))
        .i32(...three(g.padsBegin, 0))
        .finish(),
      groups: k.groups1d(count, WG),
    });
    return [y];
  },
};

/** The convolution kernels by op type. */
export function convKernels(): Map<string, GpuKernel> {
  return new Map([["Conv", makeConv(false)], ["ConvTranspose", convTransposeKernel]]);
}

/** com.microsoft.FusedConv: Conv + bias + Z + activation in one dispatch. */
export function fusedConvKernel(): GpuKernel {
  return makeConv(true);
}
