/**
 * Softmax, LogSoftmax and Hardmax (float32) with `softmax.wgsl`, with each version's axis
 * semantics: versions 1 and 11 coerce the input to 2-D at `axis` (default 1) and normalize
 * over everything after it, version 13 normalizes along one axis (default -1).
 *
 * @module
 */

import { shapeSize } from "../../../tensor/tensor.ts";
import { type GpuKernel, type NodeView, UniformWriter } from "../kernel.ts";
import { cooperativeRows } from "./tiling.ts";

const WG = 64;

/** Rows of the normalization: `outer` blocks of `n` elements `inner` apart. */
function layout(
  node: { version: number; attrs: NodeView["attrs"] },
  dims: readonly number[],
): { outer: number; n: number; inner: number } | string {
  const rank = dims.length;
  const coerce = node.version < 13;
  const a = node.attrs.int("axis", coerce ? 1 : -1);
  if (coerce) {
    if (a < -rank || a > rank) return `axis ${a} is out of range`;
    const axis = a < 0 ? a + rank : a;
    return { outer: shapeSize(dims.slice(0, axis)), n: shapeSize(dims.slice(axis)), inner: 1 };
  }
  if (rank === 0) return { outer: 1, n: 1, inner: 1 };
  if (a < -rank || a >= rank) return `axis ${a} is out of range`;
  const axis = a < 0 ? a + rank : a;
  return {
    outer: shapeSize(dims.slice(0, axis)),
    n: dims[axis],
    inner: shapeSize(dims.slice(axis + 1)),
  };
}

function softmaxKernel(kind: number): GpuKernel {
  return {
    supports(node) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      if (x.type !== "float32") return `${node.node.opType} runs on the GPU for float32 only`;
      const l = layout(node, x.dims);
      return typeof l === "string" ? l : true;
    },
    async run(k, [x]) {
      const l = layout(k, x!.dims) as { outer: number; n: number; inner: number };
      const y = k.output("float32", x!.dims);
      const rows = l.outer * l.inner;
      if (rows === 0 || l.n === 0) return [y];
      const coop = cooperativeRows(k.info, rows, l.n);
      const pipeline = await k.pipeline({
        shader: "softmax",
        constants: { WG, KIND: kind, COOP: coop },
        reads: 1,
        writes: 1,
        uniforms: true,
      });
      k.dispatch(pipeline, {
        reads: [x!],
        writes: [y],
        uniforms: new UniformWriter().u32(rows, l.n, l.inner).finish(),
        groups: coop ? k.groups1d(rows, 1) : k.groups1d(rows, WG),
      });
      return [y];
    },
  };
}

/** The softmax-family kernels by op type. */
export function softmaxKernels(): Map<string, GpuKernel> {
  return new Map([
    ["Softmax", softmaxKernel(0)],
    ["LogSoftmax", softmaxKernel(1)],
    ["Hardmax", softmaxKernel(2)],
  ]);
}
