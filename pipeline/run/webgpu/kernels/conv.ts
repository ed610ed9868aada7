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
import type { GpuKernel } from "../kernel.ts";
import { UniformWriter } from "../kernel.ts";
import { tiling } from "./tiling.ts";

const WG = 64;
/** Output channels per group from which the implicit GEMM pays off. */
const GEMM_MIN_CHANNELS = 16;

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

const convKernel: GpuKernel = {
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
    const max = node.info.limits.maxComputeWorkgroupsPerDimension;
    if (g.M / g.group >= GEMM_MIN_CHANNELS) {
      const P = g.OH * g.OW;
      if (Math.ceil(P / tiling(node.info).tileN) > max || g.N * g.group > max) {
        return "too large for one dispatch";
      }
    }
    return true;
  },
  async run(k, [x, w, b]) {
    const g = geometry(k.op, x!.dims, w!.dims);
    const y = k.output("float32", g.outDims);
    const Mg = g.M / g.group;
    const Cg = g.C / g.group;
    const P = g.OH * g.OW;
    const common = (u: UniformWriter) =>
      u.u32(g.C, g.H, g.W, Cg)
        .u32(g.M, g.OH, g.OW)
        .u32(g.KH, g.KW, g.pads[0], g.pads[1])
        .u32(g.strides[0], g.strides[1], g.dilations[0], g.dilations[1]);
    if (Mg >= GEMM_MIN_CHANNELS) {
      const t = tiling(k.info);
      const pipeline = await k.pipeline({
        shader: "conv",
        constants: { ...t.constants, HAS_BIAS: b !== undefined },
        reads: 3,
        writes: 1,
        uniforms: true,
      });
      const groups: [number, number, number] = [
        Math.ceil(P / t.tileN),
        Math.ceil(Mg / t.tileM),
        g.N * g.group,
      ];
      k.dispatch(pipeline, {
        reads: [x!, w!, b ?? w!],
        writes: [y],
        uniforms: common(new UniformWriter().u32(Mg, P, Cg * g.KH * g.KW, g.group)).finish(),
        groups: P === 0 ? [0, 0, 0] : groups,
      });
      return [y];
    }
    const pipeline = await k.pipeline({
      shader: "conv_direct",
      constants: { WG, HAS_BIAS: b !== undefined },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    const count = g.N * g.M * P;
    k.dispatch(pipeline, {
      reads: [x!, w!, b ?? w!],
      writes: [y],
      uniforms: common(new UniformWriter().u32(count, Mg, P)).finish(),
      groups: k.groups1d(count, WG),
    });
    return [y];
  },
};

/** The convolution kernels by op type. */
export function convKernels(): Map<string, GpuKernel> {
  return new Map([["Conv", convKernel]]);
}
