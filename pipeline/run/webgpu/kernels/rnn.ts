/**
 * WebGPU kernels (work in progress).
 *
 * @module
 */

import type { GpuKernel } from "../kernel.ts";

/** The kernels of this family by op type. */
export function rnnKernels(): Map<string, GpuKernel> {
  return new Map();
}
