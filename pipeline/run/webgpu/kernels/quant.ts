/**
 * The quantized and integer WebGPU kernels, bit for bit with the CPU kernels: ai.onnx
 * QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearConv, ConvInteger,
 * QLinearMatMul and MatMulInteger, and the com.microsoft QLinearAdd, QLinearMul,
 * QLinearSigmoid and QLinearGlobalAveragePool. int8/uint8 tensors are packed four per u32
 * word on the GPU (see `isPackedByte` in `../kernel.ts`).
 *
 * @module
 */

import type { GpuKernel } from "../kernel.ts";
import { quantLinearKernels } from "./quant_linear.ts";
import { quantProductKernels } from "./quant_products.ts";

export { quantContribKernels } from "./quant_contrib.ts";

/** The ai.onnx quantized and integer kernels by op type. */
export function quantKernels(): Map<string, GpuKernel> {
  return new Map([...quantLinearKernels(), ...quantProductKernels()]);
}
