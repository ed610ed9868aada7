/**
 * The CPU's WebAssembly kernel module: generated from TypeScript (no binary is committed),
 * compiled and instantiated lazily on first use (importing this file does nothing), with one
 * linear memory that grows on demand. The memory is shared (a SharedArrayBuffer) where the
 * platform allows, so worker threads can run the same kernels on the same data.
 *
 * Functions: the float32 GEMM (`pack_a`, `pack_b`, `kernel`, `gemm_tiles`: see
 * `sgemm_module.ts`), 2-D
 * convolution helpers (`im2col2d`, `depthwise2d`, `maxpool2d`: `conv_module.ts`) and elementwise helpers
 * (`relu`, `clip`, `minmax`, `quantize_u8`: `vector_module.ts`).
 *
 * @module
 */

import { assembleModule } from "./emit.ts";
import {
  buildSgemmFunctions,
  SGEMM_SHAPE,
  SGEMM_SHAPE_NO_FMA,
  type SgemmShape,
} from "./sgemm_module.ts";
import { depthwise2d, im2col2d, maxpool2d } from "./conv_module.ts";
import { clipFunction, minmaxFunction, quantizeU8Function, reluFunction } from "./vector_module.ts";

/** The exported functions (all addresses are byte offsets). */
export interface KernelExports {
  /** Packs A (see `sgemm_module.ts`). */
  pack_a(
    src: number,
    si: number,
    sk: number,
    mc: number,
    kc: number,
    dst: number,
    alpha: number,
  ): void;
  /** Packs B. */
  pack_b(
    src: number,
    sj: number,
    sk: number,
    nc: number,
    kc: number,
    dst: number,
    alpha: number,
  ): void;
  /** The GEMM micro-kernel loop. */
  kernel(
    mp: number,
    np: number,
    kc: number,
    pa: number,
    pb: number,
    pc: number,
    ldc: number,
    mode: number,
  ): void;
  /** Computes tiles of C taken from a shared counter (see `sgemm_module.ts`). */
  gemm_tiles(
    counter: number,
    tilesN: number,
    tiles: number,
    mt: number,
    nt: number,
    M: number,
    N: number,
    K: number,
    a: number,
    aSi: number,
    aSk: number,
    alpha: number,
    b: number,
    bSj: number,
    bSk: number,
    pa: number,
    pb: number,
    pc: number,
    ldc: number,
    betaNonzero: number,
    kcMax: number,
    intMode: number,
  ): void;
  /** im2col of 2-D images (see `conv_module.ts`). */
  im2col2d(
    src: number,
    C: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    SW: number,
    DH: number,
    PH: number,
    tab: number,
    dst: number,
  ): void;
  /** One plane of a depthwise 2-D convolution. */
  depthwise2d(
    x: number,
    y: number,
    w: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    DH: number,
    PH: number,
    SW: number,
    tab: number,
  ): void;
  /** One plane of a 2-D max pooling (see `conv_module.ts`). */
  maxpool2d(
    x: number,
    y: number,
    H: number,
    W: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    SH: number,
    DH: number,
    PH: number,
    SW: number,
    tab: number,
  ): void;
  /** In-place Relu of n floats. */
  relu(p: number, n: number): void;
  /** In-place Clip of n floats. */
  clip(p: number, n: number, lo: number, hi: number): void;
  /** Min and max (with 0) of n floats, stored as two float32 at `out`. */
  minmax(p: number, n: number, out: number): void;
  /** DynamicQuantizeLinear's uint8 quantization of n floats. */
  quantize_u8(src: number, dst: number, n: number, scale: number, zp: number): void;
}

/** An instantiated kernel module. */
export interface Kernels {
  /** The compiled module (workers instantiate it on the same memory). */
  module: WebAssembly.Module;
  /** The memory. */
  memory: WebAssembly.Memory;
  /** True when the memory is shared. */
  shared: boolean;
  /** The functions. */
  fns: KernelExports;
  /** A float32 view of the whole memory (refreshed by {@link reserve}). */
  f32: Float32Array;
  /** An int32 view of the whole memory (refreshed by {@link reserve}). */
  i32: Int32Array;
  /** The GEMM micro-kernel shape. */
  shape: SgemmShape;
}

/** Largest memory the module may use (bytes); stays below 2 GiB so addresses are positive. */
export const MAX_BYTES = 1 << 30;
const PAGE = 65536;

let state: Kernels | null | undefined;
let shapeOverride: SgemmShape | undefined;
let sharedOverride: boolean | undefined;
let disabled = false;

/** Options of {@link configureKernels}. */
export interface KernelConfig {
  /** GEMM micro-kernel shape (default: {@link SGEMM_SHAPE}, or 4×8 without relaxed SIMD). */
  shape?: SgemmShape;
  /** Shared memory (default: where SharedArrayBuffer exists). */
  shared?: boolean;
  /** False makes {@link kernels} return null, so every caller takes its TypeScript path. */
  enabled?: boolean;
}

/**
 * Reconfigures the module (for tuning and tests); it is rebuilt on next use. Omitted options
 * restore the defaults.
 */
export function configureKernels(options: KernelConfig = {}): void {
  shapeOverride = options.shape;
  sharedOverride = options.shared;
  disabled = options.enabled === false;
  state = undefined;
}

function build(shape: SgemmShape, shared: boolean): Uint8Array<ArrayBuffer> {
  return assembleModule(
    { module: "env", field: "mem", initial: 1, maximum: MAX_BYTES / PAGE, shared },
    [
      ...buildSgemmFunctions(shape),
      im2col2d(),
      depthwise2d(),
      maxpool2d(),
      reluFunction(),
      clipFunction(),
      minmaxFunction(),
      quantizeU8Function(),
    ],
  );
}

/** The kernel module, instantiated on first call; null when WebAssembly SIMD is unavailable. */
export function kernels(): Kernels | null {
  if (state !== undefined) return state;
  state = null;
  if (disabled) return null;
  try {
    if (typeof WebAssembly !== "object") return null;
    const shared = sharedOverride ?? typeof SharedArrayBuffer === "function";
    let shape = shapeOverride ?? SGEMM_SHAPE;
    let bytes = build(shape, shared);
    if (!WebAssembly.validate(bytes) && shape.fma) {
      // No relaxed SIMD: plain multiply and add.
      shape = shapeOverride ? { ...shape, fma: false } : SGEMM_SHAPE_NO_FMA;
      bytes = build(shape, shared);
    }
    if (!WebAssembly.validate(bytes)) return null;
    const module = new WebAssembly.Module(bytes);
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_BYTES / PAGE, shared });
    const inst = new WebAssembly.Instance(module, { env: { mem: memory } });
    const fns = inst.exports as unknown as KernelExports;
    state = {
      module,
      memory,
      shared,
      fns,
      f32: new Float32Array(memory.buffer),
      i32: new Int32Array(memory.buffer),
      shape,
    };
  } catch {
    state = null;
  }
  return state;
}

/**
 * Makes the memory at least `bytes` long and refreshes the views; false when that exceeds
 * {@link MAX_BYTES} or the memory cannot grow.
 */
export function reserve(k: Kernels, bytes: number): boolean {
  if (bytes > MAX_BYTES) return false;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      k.memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch {
      return false;
    }
  }
  const buf = k.memory.buffer;
  if (k.f32.buffer !== buf || k.f32.length * 4 !== buf.byteLength) {
    k.f32 = new Float32Array(buf);
    k.i32 = new Int32Array(buf);
  }
  return true;
}

/** Bytes at address 0 that no region uses (small shared slots live there). */
export const BASE_BYTES = 1024;

/** Byte address of the i32 tile counter of `gemm_tiles`. */
export const TILE_COUNTER = 256;
