/**
 * BatchNormalization in inference mode (f32, one statistic per channel) with
 * `batchnorm.wgsl`. Training mode, the extra outputs and the per-element statistics of
 * `spatial = 0` stay on the CPU.
 *
 * LayerNormalization (with its Mean and InvStdDev outputs for stash_type float32),
 * RMSNormalization, InstanceNormalization and GroupNormalization (per-group affine before
 * opset 21, per-channel from 21) with `norm_rows.wgsl`, float32.
 *
 * @module
 */

import { broadcastStrides } from "../../../../ops/util.ts";
import { shapeSize, type Tensor } from "../../../tensor/tensor.ts";
import { type GpuKernel, type KernelContext, type NodeView, UniformWriter } from "../kernel.ts";
import { cooperativeRows } from "./tiling.ts";

const WG = 64;

const batchNormKernel: GpuKernel = {
  heavy: true,
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    if (node.inputs.length < 5 || node.inputs.slice(1, 5).some((t) => !t)) {
      return "an input is missing";
    }
    if (node.inputs.slice(0, 5).some((t) => t!.type !== "float32")) {
      return "BatchNormalization runs on the GPU for float32 only";
    }
    if (x.dims.length < 2) return "X has fewer than 2 dims";
    if (node.version < 7) return "BatchNormalization before opset 7";
    if (node.version < 9 && node.attrs.int("spatial", 1) === 0) return "spatial = 0";
    if (node.version >= 14 && node.attrs.int("training_mode", 0) !== 0) return "training mode";
    for (let i = 1; i < node.outputCount; i++) {
      if (node.wantsOutput(i)) return `output ${i} is requested`;
    }
    const C = x.dims[1];
    if (node.inputs.slice(1, 5).some((t) => shapeSize(t!.dims) !== C)) {
      return "a parameter's size differs from the channel count";
    }
    return true;
  },
  async run(k, [x, scale, bias, mean, variance]) {
    const y = k.output("float32", x!.dims);
    const pipeline = await k.pipeline({
      shader: "batchnorm",
      constants: { WG },
      reads: 5,
      writes: 1,
      uniforms: true,
    });
    const count = x!.size;
    k.dispatch(pipeline, {
      reads: [x!, scale!, bias!, mean!, variance!],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(count, x!.dims[1], shapeSize(x!.dims.slice(2)))
        .f32(k.attrs.float("epsilon", 1e-5))
        .finish(),
      groups: k.groups1d(count, WG),
    });
    return [y];
  },
};

/** How norm_rows.wgsl reads scale and bias. */
const PARAM = { element: 0, channel: 1, groupChannel: 2, group: 3 } as const;

interface RowsJob {
  x: Tensor;
  scale: Tensor;
  bias?: Tensor;
  rows: number;
  D: number;
  param: number;
  rms?: boolean;
  /** C or G (PARAM 1 to 3). */
  groups?: number;
  cpg?: number;
  inner?: number;
  /** PARAM 0: the normalized dims, for broadcast scale/bias. */
  normDims?: readonly number[];
  /** Outputs Mean and InvStdDev, with their dims. */
  stats?: readonly number[];
}

/** Read mode of a parameter over the normalized dims: 1 as is, 2 one value, 0 strided. */
function paramMode(t: Tensor | undefined, normDims: readonly number[]): number {
  if (!t) return 1;
  const D = shapeSize(normDims);
  if (shapeSize(t.dims) === D) return 1;
  if (shapeSize(t.dims) === 1) return 2;
  return 0;
}

async function runRows(k: KernelContext, j: RowsJob): Promise<Tensor[]> {
  const y = k.output("float32", j.x.dims);
  const mean = k.output("float32", j.stats ?? [1]);
  const inv = k.output("float32", j.stats ?? [1]);
  if (j.rows === 0) return [y, mean, inv];
  const coop = cooperativeRows(k.info, j.rows, j.D);
  const nd = j.normDims ?? [1];
  const sm = paramMode(j.scale, nd), bm = paramMode(j.bias, nd);
  const strided = j.param === PARAM.element && (sm === 0 || bm === 0);
  const pipeline = await k.pipeline({
    shader: "norm_rows",
    constants: {
      WG,
      COOP: coop,
      RMS: j.rms ?? false,
      PARAM: j.param,
      HAS_BIAS: j.bias !== undefined,
      STATS: j.stats !== undefined,
      PRANK: strided ? nd.length : 1,
    },
    reads: 3,
    writes: 3,
    uniforms: true,
  });
  const st = (t: Tensor | undefined) => (t && strided ? broadcastStrides(t.dims, nd) : []);
  k.dispatch(pipeline, {
    reads: [j.x, j.scale, j.bias ?? j.scale],
    writes: [y, mean, inv],
    uniforms: new UniformWriter()
      .u32(j.rows, j.D, j.groups ?? 1, j.cpg ?? 1)
      .words(
        new Uint32Array(Float32Array.of(k.attrs.float("epsilon", 1e-5)).buffer)[0],
        j.inner ?? 1,
        sm,
        bm,
      )
      .list8(strided ? nd : [])
      .list8(st(j.scale))
      .list8(st(j.bias))
      .finish(),
    groups: coop ? k.groups1d(j.rows, 1) : k.groups1d(j.rows, WG),
  });
  return [y, mean, inv];
}

function allFloat32(node: NodeView, count: number): string | undefined {
  for (let i = 0; i < count; i++) {
    const t = node.inputs[i];
    if (t && t.type !== "float32") return `${node.node.opType} runs on the GPU for float32 only`;
  }
  return undefined;
}

/** LayerNormalization's (or RMSNormalization's) normalized axis, or a reason. */
function normAxis(node: { attrs: NodeView["attrs"] }, rank: number): number | string {
  const r = Math.max(rank, 1);
  const a = node.attrs.int("axis", -1);
  if (a < -r || a >= r) return `axis ${a} is out of range`;
  return a < 0 ? a + r : a;
}

function layerNormKernel(rms: boolean): GpuKernel {
  return {
    supports(node) {
      const [x, scale] = node.inputs;
      if (!x || !scale) return "an input is missing";
      const bad = allFloat32(node, rms ? 2 : 3);
      if (bad) return bad;
      const axis = normAxis(node, x.dims.length);
      if (typeof axis === "string") return axis;
      const norm = x.dims.slice(axis);
      if (norm.length > 8) return "more than 8 normalized dims";
      for (const t of rms ? [scale] : [scale, node.inputs[2]]) {
        if (!t) continue;
        const d = t.dims, r = norm.length;
        const ok = d.length <= r && d.every((v, i) => v === 1 || v === norm[r - d.length + i]);
        if (!ok) return "a parameter does not broadcast to the normalized shape";
      }
      if (!rms && (node.wantsOutput(1) || node.wantsOutput(2))) {
        if (node.attrs.int("stash_type", 1) !== 1) {
          return "statistics of a stash_type other than float32";
        }
      }
      return true;
    },
    async run(k, [x, scale, bias]) {
      const axis = normAxis(k, x!.dims.length) as number;
      const normDims = x!.dims.slice(axis);
      const outer = shapeSize(x!.dims.slice(0, axis));
      const D = shapeSize(normDims);
      const wantStats = !rms && (k.wantsOutput(1) || k.wantsOutput(2));
      const [y, mean, inv] = await runRows(k, {
        x: x!,
        scale: scale!,
        bias: rms ? undefined : bias,
        rows: outer,
        D,
        param: PARAM.element,
        rms,
        normDims,
        stats: wantStats ? [...x!.dims.slice(0, axis), ...normDims.map(() => 1)] : undefined,
      });
      if (rms) return [y];
      return [y, k.wantsOutput(1) ? mean : undefined, k.wantsOutput(2) ? inv : undefined];
    },
  };
}

const instanceNormKernel: GpuKernel = {
  supports(node) {
    const [x, scale, bias] = node.inputs;
    if (!x || !scale || !bias) return "an input is missing";
    const bad = allFloat32(node, 3);
    if (bad) return bad;
    if (x.dims.length < 2) return "input has fewer than 2 dims";
    const C = x.dims[1];
    if (shapeSize(scale.dims) !== C || shapeSize(bias.dims) !== C) return "parameter sizes";
    return true;
  },
  async run(k, [x, scale, bias]) {
    const [N, C] = x!.dims;
    const D = shapeSize(x!.dims.slice(2));
    const [y] = await runRows(k, {
      x: x!,
      scale: scale!,
      bias: bias!,
      rows: D === 0 ? 0 : N * C,
      D,
      param: PARAM.channel,
      groups: C,
    });
    return [y];
  },
};

const groupNormKernel: GpuKernel = {
  supports(node) {
    const [x, scale, bias] = node.inputs;
    if (!x || !scale || !bias) return "an input is missing";
    const bad = allFloat32(node, 3);
    if (bad) return bad;
    if (x.dims.length < 2) return "input has fewer than 2 dims";
    const G = node.attrs.int("num_groups", 0);
    const C = x.dims[1];
    if (G < 1 || C % G !== 0) return "num_groups does not divide the channels";
    const P = node.version >= 21 ? C : G;
    if (shapeSize(scale.dims) !== P || shapeSize(bias.dims) !== P) return "parameter sizes";
    return true;
  },
  async run(k, [x, scale, bias]) {
    const [N, C] = x!.dims;
    const G = k.attrs.int("num_groups");
    const inner = shapeSize(x!.dims.slice(2));
    const cpg = C / G;
    const D = cpg * inner;
    const [y] = await runRows(k, {
      x: x!,
      scale: scale!,
      bias: bias!,
      rows: D === 0 ? 0 : N * G,
      D,
      param: k.version >= 21 ? PARAM.groupChannel : PARAM.group,
      groups: G,
      cpg,
      inner,
    });
    return [y];
  },
};

/** The normalization kernels by op type. */
export function normKernels(): Map<string, GpuKernel> {
  return new Map([
    ["BatchNormalization", batchNormKernel],
    ["LayerNormalization", layerNormKernel(false)],
    ["RMSNormalization", layerNormKernel(true)],
    ["InstanceNormalization", instanceNormKernel],
    ["GroupNormalization", groupNormKernel],
  ]);
}
