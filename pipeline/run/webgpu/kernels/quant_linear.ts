/**
 * QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear on `quant_linear.wgsl` and
 * `quant_dynamic.wgsl`, bit for bit with the CPU kernels of `ops/quantize.ts`.
 *
 * On the GPU: float32 x quantized to int8/uint8 and int8/uint8/int32 x dequantized to
 * float32, per tensor or per axis. Blocked layouts, 4/16-bit and float8/float4 types, float16
 * and bfloat16 scales or outputs, int32 input to QuantizeLinear (divided in float64 there)
 * and the opset-23 `precision` attribute stay on the CPU (`supports` says why).
 *
 * @module
 */

import { type DataType, dataTypeFromCode } from "../../../tensor/dtype.ts";
import type { Tensor } from "../../../tensor/tensor.ts";
import {
  type GpuKernel,
  isPackedByte,
  type KernelContext,
  type NodeView,
  type TensorMeta,
  UniformWriter,
} from "../kernel.ts";
import { QUANT_WG, rangeOf, sizeOf, zeroTensor } from "./quant_shared.ts";

const WG = QUANT_WG;

/** Per-axis layout: element i uses parameter ((i / inner) % axisLen) * perAxis. */
interface ParamLayout {
  inner: number;
  axisLen: number;
  perAxis: number;
}

/** The layout of scale (and zero point) against x as `quantLayout` reads it, or why not. */
function paramLayout(node: NodeView | KernelContext, x: TensorMeta, s: TensorMeta) {
  const block = node.version >= 21 ? node.attrs.int("block_size", 0) : 0;
  if (block !== 0) return "blocked quantization runs on the CPU";
  if (sizeOf(s) === 1) return { inner: 1, axisLen: 1, perAxis: 0 };
  if (node.version < 13) return "a per-axis scale before opset 13";
  const r = x.dims.length;
  const a = node.attrs.int("axis", 1);
  if (a < -r || a >= r) return `axis ${a} is out of range`;
  const axis = a < 0 ? a + r : a;
  if (s.dims.length !== 1 || s.dims[0] !== x.dims[axis]) return "the scale does not fit the axis";
  return {
    inner: sizeOf({ type: x.type, dims: x.dims.slice(axis + 1) }),
    axisLen: x.dims[axis],
    perAxis: 1,
  };
}

/** The zero point has the scale's shape (as the CPU kernels require). */
function zeroPointFits(s: TensorMeta, z: TensorMeta | undefined): boolean {
  if (!z) return true;
  return sizeOf(z) === sizeOf(s) && (sizeOf(z) === 1 || z.dims.join() === s.dims.join());
}

/** QuantizeLinear's output type (y_zero_point's, output_dtype's or uint8), or why not. */
function quantizeOutType(node: NodeView | KernelContext, z: TensorMeta | undefined) {
  const code = node.version >= 21 ? node.attrs.int("output_dtype", 0) : 0;
  const fromAttr = code !== 0 ? dataTypeFromCode(code) : undefined;
  if (code !== 0 && !fromAttr) return { reason: `unknown output_dtype ${code}` };
  if (z && fromAttr && fromAttr !== z.type) {
    return { reason: "output_dtype differs from y_zero_point" };
  }
  return { type: (z?.type ?? fromAttr ?? "uint8") as DataType };
}

const quantize: GpuKernel = {
  packedBytes: true,
  supports(node) {
    const [x, s, z] = node.inputs;
    if (!x || !s) return "an input is missing";
    if (x.type !== "float32") return `QuantizeLinear of ${x.type} runs on the CPU`;
    if (s.type !== "float32") return `a ${s.type} scale runs on the CPU`;
    if (node.version >= 23 && node.attrs.int("precision", 0) !== 0) {
      return "the precision attribute runs on the CPU";
    }
    const out = quantizeOutType(node, z);
    if (!out.type) return out.reason!;
    if (!isPackedByte(out.type)) return `QuantizeLinear to ${out.type} runs on the CPU`;
    const l = paramLayout(node, x, s);
    if (typeof l === "string") return l;
    return zeroPointFits(s, z) ? true : "the zero point's shape differs from the scale's";
  },
  async run(k, [x, s, z]) {
    const out = quantizeOutType(k, z).type!;
    const l = paramLayout(k, x!, s!) as ParamLayout;
    const [lo, hi] = rangeOf(out);
    const y = k.output(out, x!.dims);
    const n = x!.size;
    const pipeline = await k.pipeline({
      shader: "quant_linear",
      constants: { WG, MODE: 0, SIGNED: out === "int8", X_INT32: false },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!, s!, z ?? zeroTensor(k)],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(n, l.inner, l.axisLen, l.perAxis)
        .i32(lo, hi, z ? 1 : 0)
        .finish(),
      groups: k.groups1d(Math.ceil(n / 4), WG),
    });
    return [y];
  },
};

const dequantize: GpuKernel = {
  packedBytes: true,
  supports(node) {
    const [x, s, z] = node.inputs;
    if (!x || !s) return "an input is missing";
    if (!isPackedByte(x.type) && x.type !== "int32") {
      return `DequantizeLinear of ${x.type} runs on the CPU`;
    }
    if (s.type !== "float32") return `a ${s.type} scale runs on the CPU`;
    const code = node.version >= 23 ? node.attrs.int("output_dtype", 0) : 0;
    if (code !== 0 && code !== 1) return "a non-float32 output runs on the CPU";
    if (z && z.type !== x.type) return "the zero point's type differs from x's";
    const l = paramLayout(node, x, s);
    if (typeof l === "string") return l;
    return zeroPointFits(s, z) ? true : "the zero point's shape differs from the scale's";
  },
  async run(k, [x, s, z]) {
    const l = paramLayout(k, x!, s!) as ParamLayout;
    const y = k.output("float32", x!.dims);
    const n = x!.size;
    const pipeline = await k.pipeline({
      shader: "quant_linear",
      constants: { WG, MODE: 1, SIGNED: x!.type === "int8", X_INT32: x!.type === "int32" },
      reads: 3,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!, s!, z ?? zeroTensor(k)],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(n, l.inner, l.axisLen, l.perAxis)
        .i32(0, 0, z ? 1 : 0)
        .finish(),
      groups: k.groups1d(n, WG),
    });
    return [y];
  },
};

/** Partial min/max results of DynamicQuantizeLinear's first stage (one per workgroup). */
function partCount(n: number): number {
  return Math.max(1, Math.min(256, Math.ceil(n / (WG * 16))));
}

const dynamicQuantize: GpuKernel = {
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    return x.type === "float32" ? true : `DynamicQuantizeLinear of ${x.type} runs on the CPU`;
  },
  async run(k, [x]) {
    const n = x!.size;
    const parts = partCount(n);
    const part: Tensor = k.output("uint32", [2 * parts]);
    const y = k.output("uint8", x!.dims);
    const scale = k.output("float32", []);
    const zp = k.output("uint8", []);
    const uniforms = new UniformWriter().u32(n, parts).finish();
    const stage = (s: number) =>
      k.pipeline({
        shader: "quant_dynamic",
        constants: { WG, STAGE: s },
        reads: 1,
        writes: 4,
        uniforms: true,
      });
    const [p0, p1, p2] = await Promise.all([stage(0), stage(1), stage(2)]);
    const d = { reads: [x!], writes: [part, scale, zp, y], uniforms };
    k.dispatch(p0, { ...d, groups: [parts, 1, 1] });
    k.dispatch(p1, { ...d, groups: [1, 1, 1] });
    k.dispatch(p2, { ...d, groups: k.groups1d(Math.ceil(n / 4), WG) });
    return [y, scale, zp];
  },
};

/** QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear by op type. */
export function quantLinearKernels(): Map<string, GpuKernel> {
  return new Map([
    ["QuantizeLinear", quantize],
    ["DequantizeLinear", dequantize],
    ["DynamicQuantizeLinear", dynamicQuantize],
  ]);
}
