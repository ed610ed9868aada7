/**
 * BatchNormalization in inference mode (f32, one statistic per channel) with
 * `batchnorm.wgsl`. Training mode, the extra outputs and the per-element statistics of
 * `spatial = 0` stay on the CPU.
 *
 * @module
 */

import { shapeSize } from "../../../tensor/tensor.ts";
import { type GpuKernel, UniformWriter } from "../kernel.ts";

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

/** The normalization kernels by op type. */
export function normKernels(): Map<string, GpuKernel> {
  return new Map([["BatchNormalization", batchNormKernel]]);
}
