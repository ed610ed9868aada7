/**
 * MaxPool and AveragePool over 1 to 3 spatial dims (f32; MaxPool's Indices output stays on
 * the CPU) with `pool.wgsl`, and GlobalMaxPool / GlobalAveragePool with `pool_global.wgsl`.
 * Window attributes are read with the CPU kernel's helpers, per opset version as it does.
 *
 * @module
 */

import { windowAttrs, windowShape } from "../../../../ops/conv.ts";
import type { OpContext } from "../../../../ops/types.ts";
import { shapeSize } from "../../../tensor/tensor.ts";
import { type GpuKernel, type NodeView, UniformWriter } from "../kernel.ts";

const WG = 64;

interface PoolGeometry {
  inSp: number[];
  outSp: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
}

/** The window of a pooling node, as the CPU kernel's poolPlan reads it. */
function poolGeometry(op: OpContext, dims: readonly number[], max: boolean): PoolGeometry {
  const r = dims.length - 2;
  const v = op.version;
  const useDilations = max ? v >= 10 : v >= 19;
  const a = windowAttrs(op, r);
  const dil = useDilations ? a.dilations : new Array<number>(r).fill(1);
  const inSp = dims.slice(2);
  const ws = windowShape(inSp, a.kernel, a.strides, dil, {
    autoPad: op.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
    ceilMode: v >= 10 && op.attrs.int("ceil_mode", 0) !== 0,
  });
  if (typeof ws === "string") throw op.fail(ws);
  return {
    inSp,
    outSp: ws.out,
    kernel: a.kernel,
    strides: a.strides,
    dilations: dil,
    padsBegin: ws.padsBegin,
    padsEnd: ws.padsEnd,
  };
}

/** Pads a per-dim list in front to three values. */
function three(v: readonly number[], fill: number): number[] {
  return [...new Array<number>(3 - v.length).fill(fill), ...v];
}

function windowPool(max: boolean): GpuKernel {
  return {
    heavy: true,
    supports(node: NodeView) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      if (x.type !== "float32") return `${node.node.opType} runs on the GPU for float32 only`;
      if (x.dims.length < 3 || x.dims.length > 5) return `${x.dims.length - 2}-D pooling`;
      if (max && node.version >= 8 && node.wantsOutput(1)) return "the Indices output is int64";
      try {
        poolGeometry(node.op, x.dims, max);
      } catch (e) {
        return `attributes the CPU kernel reports on: ${(e as Error).message}`;
      }
      return true;
    },
    async run(k, [x]) {
      const g = poolGeometry(k.op, x!.dims, max);
      const outDims = [x!.dims[0], x!.dims[1], ...g.outSp];
      const y = k.output("float32", outDims);
      const includePad = !max && k.version >= 7 && k.attrs.int("count_include_pad", 0) !== 0;
      const pipeline = await k.pipeline({
        shader: "pool",
        constants: { WG, MODE: max ? 0 : 1, COUNT_PAD: includePad },
        reads: 1,
        writes: 1,
        uniforms: true,
      });
      const count = shapeSize(outDims);
      k.dispatch(pipeline, {
        reads: [x!],
        writes: [y],
        uniforms: new UniformWriter()
          .u32(count, shapeSize(g.inSp), shapeSize(g.outSp))
          .u32(...three(g.inSp, 1))
          .u32(...three(g.outSp, 1))
          .u32(...three(g.kernel, 1))
          .u32(...three(g.strides, 1))
          .u32(...three(g.dilations, 1))
          .u32(...three(g.padsBegin, 0))
          .u32(...three(g.padsEnd, 0))
          .finish(),
        groups: k.groups1d(count, WG),
      });
      return [y];
    },
  };
}

function globalPool(max: boolean): GpuKernel {
  return {
    heavy: true,
    supports(node: NodeView) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      if (x.type !== "float32") return `${node.node.opType} runs on the GPU for float32 only`;
      if (x.dims.length < 2) return "X has fewer than 2 dims";
      return true;
    },
    async run(k, [x]) {
      const [N, C] = x!.dims;
      const y = k.output("float32", [N, C, ...x!.dims.slice(2).map(() => 1)]);
      const pipeline = await k.pipeline({
        shader: "pool_global",
        constants: { WG, MODE: max ? 0 : 1 },
        reads: 1,
        writes: 1,
        uniforms: true,
      });
      const planes = N * C;
      k.dispatch(pipeline, {
        reads: [x!],
        writes: [y],
        uniforms: new UniformWriter().u32(planes, shapeSize(x!.dims.slice(2))).finish(),
        groups: k.groups1d(planes, 1),
      });
      return [y];
    },
  };
}

/** The pooling kernels by op type. */
export function poolKernels(): Map<string, GpuKernel> {
  return new Map([
    ["MaxPool", windowPool(true)],
    ["AveragePool", windowPool(false)],
    ["GlobalMaxPool", globalPool(true)],
    ["GlobalAveragePool", globalPool(false)],
  ]);
}
