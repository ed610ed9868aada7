/**
 * Session-side setup of the WebGPU backend: opens the device (once per process), decides
 * whether a session uses it, and describes runs that did not.
 *
 * @module
 */

import type { Plan } from "../plan.ts";
import { acquireGpu, noticeOnce, probeAdapter } from "./device.ts";
import { GpuExecutor, type RunStats } from "./executor.ts";

/**
 * The executor for a session asking for `backend`, or why the session runs on the CPU: no
 * adapter (one notice is printed), or `auto` on a software adapter, where the CPU is faster
 * for everything.
 */
export async function createGpuExecutor(
  plan: Plan,
  backend: "auto" | "webgpu",
): Promise<{ executor: GpuExecutor } | { reason: string }> {
  if (backend === "auto") {
    const adapter = await probeAdapter();
    if (!adapter) return { reason: "no WebGPU adapter" };
    if (adapter.isFallbackAdapter) {
      return { reason: `auto on a software adapter (${adapter.description || "fallback"})` };
    }
  }
  const gpu = await acquireGpu();
  if (!gpu) return { reason: "no WebGPU adapter" };
  return { executor: new GpuExecutor(gpu, plan, { mode: backend }) };
}

/** Says once that a session lost its device and continues on the CPU. */
export function noticeDeviceLost(reason: string | undefined): void {
  noticeOnce(`WebGPU device lost (${reason ?? "unknown reason"}): running on the CPU from now on`);
}

/** Run statistics of a run made entirely on the CPU. */
export function cpuRunStats(plan: Plan, reason: string): RunStats {
  return {
    nodes: { cpu: plan.steps.length, webgpu: 0 },
    bytesUploaded: 0,
    bytesDownloaded: 0,
    dispatches: 0,
    submits: 0,
    buffersCreated: 0,
    placement: plan.steps.map((s) => ({
      node: s.name,
      opType: s.node.opType,
      backend: "cpu" as const,
      reason,
    })),
  };
}
