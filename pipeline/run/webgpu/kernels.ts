/**
 * The WebGPU kernel table: op type (ai.onnx domain) → GPU kernel. Kept here rather than in
 * the `webgpu` slot of the op declarations so that the op files stay CPU-only; adding a
 * kernel is one entry (see shaders/README.md).
 *
 * @module
 */

import type { GpuKernel } from "./kernel.ts";
import { convKernels } from "./kernels/conv.ts";
import { elementwiseKernels } from "./kernels/elementwise.ts";
import { matmulKernels } from "./kernels/matmul.ts";
import { normKernels } from "./kernels/norm.ts";
import { poolKernels } from "./kernels/pool.ts";
import { viewKernels } from "./kernels/views.ts";

let table: Map<string, GpuKernel> | undefined;

function kernels(): Map<string, GpuKernel> {
  if (!table) {
    table = new Map();
    for (
      const family of [
        elementwiseKernels(),
        matmulKernels(),
        convKernels(),
        poolKernels(),
        normKernels(),
        viewKernels(),
      ]
    ) {
      for (const [op, k] of family) table.set(op, k);
    }
  }
  return table;
}

/** The GPU kernel of an ai.onnx op type, if there is one. */
export function gpuKernelFor(opType: string): GpuKernel | undefined {
  return kernels().get(opType);
}

/** Op types that have a GPU kernel, sorted. */
export function gpuOpTypes(): string[] {
  return [...kernels().keys()].sort();
}
