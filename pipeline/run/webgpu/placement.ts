/**
 * Placement: which backend runs a node. A node can run on the GPU only when a kernel exists
 * for its op, every input it reads on the device has a GPU element type (int64 shape
 * arithmetic, float64 and strings stay on the CPU) and the kernel supports its types and
 * attributes. Among those, `webgpu` takes them all; `auto` takes heavy kernels (MatMul,
 * Conv...) and light ones whose inputs already live on the GPU, so shape arithmetic and
 * small CPU-side chains do not bounce across the bus. On a software adapter the session
 * does not use the GPU at all under `auto`.
 *
 * @module
 */

import { gpuBytes, gpuElem, type GpuKernel, isPackedByte, type NodeView } from "./kernel.ts";

/** How eagerly nodes go to the GPU. */
export type PlacementMode = "auto" | "webgpu";

/** A placement decision. */
export interface Decision {
  /** True: run on the GPU. */
  gpu: boolean;
  /** Why the node stays on the CPU. */
  reason?: string;
}

/** Facts about the node's situation besides the node itself. */
export interface PlacementContext {
  /** Placement mode. */
  mode: PlacementMode;
  /** True when at least one input is already a GPU tensor. */
  inputsOnGpu: boolean;
  /** False for model-local function calls (they expand into a CPU subplan). */
  hasDef: boolean;
}

/** Decides where a node runs. */
export function decidePlacement(
  kernel: GpuKernel | undefined,
  node: NodeView,
  ctx: PlacementContext,
): Decision {
  if (!ctx.hasDef) return { gpu: false, reason: "model-local function" };
  if (!kernel) return { gpu: false, reason: `no WebGPU kernel for ${node.node.opType}` };
  const host = new Set(kernel.host ?? []);
  const f16 = node.info.features.shaderF16;
  const limit = node.info.limits.maxStorageBufferBindingSize;
  for (let i = 0; i < node.inputs.length; i++) {
    const t = node.inputs[i];
    if (!t || host.has(i)) continue;
    if (!gpuElem(t.type, f16) && !(kernel.packedBytes && isPackedByte(t.type))) {
      return { gpu: false, reason: `input ${i} is ${t.type}` };
    }
    const bytes = gpuBytes(t.type, t.dims.reduce((a, b) => a * b, 1));
    if (bytes > limit) {
      return { gpu: false, reason: `input ${i} (${bytes} bytes) exceeds the binding limit` };
    }
  }
  const ok = kernel.supports(node);
  if (ok !== true) return { gpu: false, reason: ok };
  if (ctx.mode === "auto" && !kernel.heavy && !ctx.inputsOnGpu) {
    return { gpu: false, reason: "light node with CPU inputs" };
  }
  return { gpu: true };
}
