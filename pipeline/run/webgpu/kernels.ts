/**
 * The WebGPU kernel table: (domain, op type) → GPU kernel. Kept here rather than in the
 * `webgpu` slot of the op declarations so that the op files stay CPU-only; adding a kernel
 * is one entry (see shaders/README.md).
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
import { movementKernels } from "./kernels/movement.ts";
import { gatherKernels } from "./kernels/gather.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { softmaxKernels } from "./kernels/softmax.ts";
import { resizeKernels } from "./kernels/resize.ts";
import { rnnKernels } from "./kernels/rnn.ts";
import { attentionKernels } from "./kernels/attention.ts";
import { contribKernels } from "./kernels/contrib.ts";
import { quantContribKernels, quantKernels } from "./kernels/quant.ts";

/** The com.microsoft domain of onnxruntime's contrib operators. */
const MS = "com.microsoft";

let table: Map<string, GpuKernel> | undefined;

function key(domain: string, opType: string): string {
  return `${domain === "ai.onnx" ? "" : domain}::${opType}`;
}

function kernels(): Map<string, GpuKernel> {
  if (!table) {
    table = new Map();
    const families: [string, Map<string, GpuKernel>][] = [
      ["", elementwiseKernels()],
      ["", matmulKernels()],
      ["", convKernels()],
      ["", poolKernels()],
      ["", normKernels()],
      ["", viewKernels()],
      ["", movementKernels()],
      ["", gatherKernels()],
      ["", reduceKernels()],
      ["", softmaxKernels()],
      ["", resizeKernels()],
      ["", rnnKernels()],
      ["", attentionKernels()],
      [MS, contribKernels()],
      ["", quantKernels()],
      [MS, quantContribKernels()],
    ];
    for (const [domain, family] of families) {
      for (const [op, k] of family) table.set(key(domain, op), k);
    }
  }
  return table;
}

/** The GPU kernel of an op type in a domain ("" or "ai.onnx" by default), if there is one. */
export function gpuKernelFor(opType: string, domain = ""): GpuKernel | undefined {
  return kernels().get(key(domain, opType));
}

/** `domain::opType` keys ("" domain for ai.onnx) of every op with a GPU kernel, sorted. */
export function gpuOpKeys(): Iterable<string> {
  return [...kernels().keys()].sort();
}
