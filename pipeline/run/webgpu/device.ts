/**
 * The WebGPU adapter and device, acquired once per process on first use (importing this
 * module touches nothing). When there is no adapter the caller falls back to the CPU and
 * one notice is printed; when the device is lost, sessions fall back to the CPU and say so.
 *
 * @module
 */

/** What the backend knows about the adapter and the device it opened. */
export interface GpuInfo {
  /** Adapter description, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  description: string;
  /** Adapter vendor. */
  vendor: string;
  /** Adapter architecture. */
  architecture: string;
  /** True for a software (fallback) adapter such as llvmpipe or SwiftShader. */
  isFallbackAdapter: boolean;
  /** Optional features the device was opened with. */
  features: {
    /** `shader-f16`: f16 in shaders and storage. */
    shaderF16: boolean;
    /** `subgroups`: subgroup operations. */
    subgroups: boolean;
  };
  /** Device limits the kernels size their work by. */
  limits: {
    /** Most workgroups in one dispatch dimension. */
    maxComputeWorkgroupsPerDimension: number;
    /** Largest storage buffer binding in bytes. */
    maxStorageBufferBindingSize: number;
    /** Largest buffer in bytes. */
    maxBufferSize: number;
    /** Workgroup memory per workgroup in bytes. */
    maxComputeWorkgroupStorageSize: number;
    /** Invocations per workgroup. */
    maxComputeInvocationsPerWorkgroup: number;
    /** Storage buffers per shader stage. */
    maxStorageBuffersPerShaderStage: number;
  };
}

/** An opened device with its description and loss state. */
export interface Gpu {
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter and device facts. */
  readonly info: GpuInfo;
  /** True once the device is lost (or destroyed). */
  lost: boolean;
  /** Why it was lost, when it was. */
  lostReason?: string;
}

let current: Gpu | undefined;
let pending: Promise<Gpu | undefined> | undefined;
let unavailable: string | undefined;
const noticed = new Set<string>();

/** Prints a notice once per process (per distinct text). */
export function noticeOnce(text: string): void {
  if (noticed.has(text)) return;
  noticed.add(text);
  console.warn(text);
}

function adapterIsFallback(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return Boolean(info?.isFallbackAdapter ?? legacy ?? false);
}

/** Requests an adapter; undefined (with `unavailable` set) when there is none. */
async function requestAdapter(): Promise<GPUAdapter | undefined> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    unavailable = "this runtime has no navigator.gpu";
    return undefined;
  }
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) unavailable = "no WebGPU adapter was found";
    return adapter ?? undefined;
  } catch (e) {
    unavailable = `requestAdapter failed: ${e instanceof Error ? e.message : e}`;
    return undefined;
  }
}

let probed: Promise<GPUAdapter | undefined> | undefined;

/**
 * Looks at the adapter without opening a device: undefined when there is none. `auto` uses
 * this to stay on the CPU on a software adapter without ever creating a device (a device
 * starts driver threads, and tearing those down at process exit can crash some drivers).
 */
export async function probeAdapter(): Promise<
  { description: string; isFallbackAdapter: boolean } | undefined
> {
  probed ??= requestAdapter();
  const adapter = await probed;
  if (!adapter) return undefined;
  return {
    description: adapter.info?.description ?? "",
    isFallbackAdapter: adapterIsFallback(adapter),
  };
}

async function open(): Promise<Gpu | undefined> {
  // A fresh adapter each time: an adapter that gave a device may not give another.
  const adapter = await requestAdapter();
  if (!adapter) return undefined;
  const wanted: GPUFeatureName[] = [];
  const f16 = adapter.features.has("shader-f16");
  const subgroups = adapter.features.has("subgroups" as GPUFeatureName);
  if (f16) wanted.push("shader-f16");
  if (subgroups) wanted.push("subgroups" as GPUFeatureName);
  const al = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: wanted,
      requiredLimits: {
        maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
        maxBufferSize: al.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(al.maxStorageBuffersPerShaderStage, 10),
      },
    });
  } catch (e) {
    unavailable = `requestDevice failed: ${e instanceof Error ? e.message : e}`;
    return undefined;
  }
  const ai = adapter.info;
  const dl = device.limits;
  const result: Gpu = {
    device,
    lost: false,
    info: {
      description: ai?.description ?? "",
      vendor: ai?.vendor ?? "",
      architecture: ai?.architecture ?? "",
      isFallbackAdapter: adapterIsFallback(adapter),
      features: { shaderF16: f16, subgroups },
      limits: {
        maxComputeWorkgroupsPerDimension: dl.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: dl.maxStorageBufferBindingSize,
        maxBufferSize: dl.maxBufferSize,
        maxComputeWorkgroupStorageSize: dl.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: dl.maxComputeInvocationsPerWorkgroup,
        maxStorageBuffersPerShaderStage: dl.maxStorageBuffersPerShaderStage,
      },
    },
  };
  // A validation error means a kernel bug: make it loud instead of a silently skipped dispatch.
  device.addEventListener("uncapturederror", (e) => {
    const err = (e as GPUUncapturedErrorEvent).error;
    console.error(`WebGPU error (a backend bug, please report it): ${err?.message ?? err}`);
  });
  device.lost.then((info) => {
    result.lost = true;
    result.lostReason = `${info.reason}${info.message ? `: ${info.message}` : ""}`;
    if (current === result) current = undefined;
  });
  return result;
}

/**
 * The process's WebGPU device, opened on first call; undefined (after one printed notice)
 * when WebGPU is unavailable. A lost device is replaced by a new one on the next call.
 */
export async function acquireGpu(): Promise<Gpu | undefined> {
  if (current && !current.lost) return current;
  if (unavailable !== undefined) return undefined;
  if (!pending) {
    pending = open().then((g) => {
      current = g;
      pending = undefined;
      if (!g) noticeOnce(`WebGPU is not available (${unavailable}): running on the CPU`);
      return g;
    });
  }
  return await pending;
}

/**
 * Destroys the process's device, if one is open (sessions using it continue on the CPU). Call
 * it before a worker that used WebGPU is terminated: tearing a live device down with its
 * thread can crash some drivers. A later {@link acquireGpu} opens a new device.
 */
export function closeGpu(): void {
  const g = current;
  current = undefined;
  if (g && !g.lost) {
    g.lost = true;
    g.lostReason = "closed";
    g.device.destroy();
  }
}

/** The device already opened, if any, without opening one. */
export function currentGpu(): Gpu | undefined {
  return current && !current.lost ? current : undefined;
}
