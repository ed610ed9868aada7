/**
 * Gather and GatherElements with `gather.wgsl`. The indices (int32 or int64) are read on the
 * host, where every value is checked against the axis and normalized into an int32 table
 * that is uploaded for the run: an index out of range (int64 values beyond int32 included)
 * sends the node back to the CPU kernel, which reports it, so nothing is truncated
 * silently. The data stays on the GPU and moves as stored (any 4-byte type, or float16).
 *
 * @module
 */

import { stridesOf, Tensor } from "../../../tensor/tensor.ts";
import { GpuDecline, gpuElem, type GpuKernel, type NodeView, UniformWriter } from "../kernel.ts";

const WG = 64;

/** The index values of an int32 or int64 tensor as numbers (int64 through Number()). */
function indexNumbers(t: Tensor): ArrayLike<number> {
  if (t.type === "int32") return t.data as Int32Array;
  const big = t.data as BigInt64Array;
  const out = new Float64Array(big.length);
  for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
  return out;
}

function checkData(node: NodeView): true | string {
  const x = node.inputs[0];
  const idx = node.inputs[1];
  if (!x || !idx) return "an input is missing";
  if (!gpuElem(x.type, node.info.features.shaderF16)) return `data is ${x.type}`;
  if (idx.type !== "int32" && idx.type !== "int64") return `indices are ${idx.type}`;
  const r = x.dims.length;
  if (r === 0) return "data is a scalar";
  const a = node.attrs.int("axis", 0);
  if (a < -r || a >= r) return `axis ${a} is out of range`;
  return true;
}

function storeType(node: { info: NodeView["info"] }, x: Tensor): "u32" | "f16" {
  return gpuElem(x.type, node.info.features.shaderF16) === "f16" ? "f16" : "u32";
}

const gatherKernel: GpuKernel = {
  host: [1],
  supports: checkData,
  async run(k, [x, it]) {
    const r = x!.dims.length;
    const a = k.attrs.int("axis", 0);
    const axis = a < 0 ? a + r : a;
    const dim = x!.dims[axis];
    const values = indexNumbers(it!);
    const fixed = new Int32Array(values.length);
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      if (!(v >= -dim && v < dim)) throw new GpuDecline(`index ${v} is out of range`);
      fixed[j] = v < 0 ? v + dim : v;
    }
    const outer = x!.dims.slice(0, axis).reduce((p, d) => p * d, 1);
    const inner = x!.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
    const outDims = [...x!.dims.slice(0, axis), ...it!.dims, ...x!.dims.slice(axis + 1)];
    const y = k.output(x!.type, outDims);
    const count = outer * fixed.length * inner;
    if (count === 0) return [y];
    const idx = k.upload(new Tensor("int32", fixed, [fixed.length]));
    const t = storeType(k, x!);
    const pipeline = await k.pipeline({
      shader: "gather",
      aliases: { T: t },
      f16: t === "f16",
      constants: { WG, MODE: 0 },
      reads: 2,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!, idx],
      writes: [y],
      uniforms: new UniformWriter().u32(count, fixed.length, inner, dim).finish(),
      groups: k.groups1d(count, WG),
    });
    return [y];
  },
};

const gatherElementsKernel: GpuKernel = {
  host: [1],
  supports(node) {
    const ok = checkData(node);
    if (ok !== true) return ok;
    const x = node.inputs[0]!, idx = node.inputs[1]!;
    if (idx.dims.length !== x.dims.length) return "indices rank differs from data rank";
    return true;
  },
  async run(k, [x, it]) {
    const dims = x!.dims;
    const r = dims.length;
    const a = k.attrs.int("axis", 0);
    const axis = a < 0 ? a + r : a;
    const idxDims = it!.dims;
    for (let d = 0; d < r; d++) {
      if (d !== axis && idxDims[d] > dims[d]) throw new GpuDecline("indices exceed the data");
    }
    const values = indexNumbers(it!);
    const st = stridesOf(dims);
    const n = values.length;
    const offs = new Int32Array(n);
    const coord = new Array<number>(r).fill(0);
    const dimA = dims[axis];
    let base = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!(v >= -dimA && v < dimA)) throw new GpuDecline(`index ${v} is out of range`);
      offs[i] = base + (v < 0 ? v + dimA : v) * st[axis];
      for (let d = r - 1; d >= 0; d--) {
        coord[d]++;
        if (d !== axis) base += st[d];
        if (coord[d] < idxDims[d]) break;
        if (d !== axis) base -= st[d] * coord[d];
        coord[d] = 0;
      }
    }
    const y = k.output(x!.type, idxDims);
    if (n === 0) return [y];
    const idx = k.upload(new Tensor("int32", offs, [n]));
    const t = storeType(k, x!);
    const pipeline = await k.pipeline({
      shader: "gather",
      aliases: { T: t },
      f16: t === "f16",
      constants: { WG, MODE: 1 },
      reads: 2,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!, idx],
      writes: [y],
      uniforms: new UniformWriter().u32(n, n, 1, 1).finish(),
      groups: k.groups1d(n, WG),
    });
    return [y];
  },
};

/** The gather kernels by op type. */
export function gatherKernels(): Map<string, GpuKernel> {
  return new Map([
    ["Gather", gatherKernel],
    ["GatherElements", gatherElementsKernel],
  ]);
}
