/**
 * Elementwise float32 helpers on the WebAssembly kernel module (see `vector_module.ts`),
 * processed in cache-sized chunks: copy in, transform in place, copy out.
 *
 * @module
 */

import { BASE_BYTES, kernels, reserve } from "./kernels.ts";

/** Floats per chunk (256 KiB: stays in L2 between the copies). */
const CHUNK = 65536;
/** Byte address of small results (in the module's reserved low bytes). */
const RESULT = 512;

function chunked(
  src: Float32Array,
  out: Float32Array,
  apply: (addr: number, n: number) => void,
): boolean {
  const k = kernels();
  if (!k || !reserve(k, BASE_BYTES + CHUNK * 4)) return false;
  const at = BASE_BYTES / 4;
  const n = src.length;
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    const f32 = k.f32;
    f32.set(m === n ? src : src.subarray(i, i + m), at);
    apply(at * 4, m);
    out.set(m === CHUNK ? f32.subarray(at, at + CHUNK) : f32.subarray(at, at + m), i);
  }
  return true;
}

/**
 * out[i] = max(src[i], 0) (NaN kept, −0 → +0), out may be src. False (nothing done) when
 * the module is unavailable.
 */
export function reluWasm(src: Float32Array, out: Float32Array): boolean {
  const k = kernels();
  return k !== null && chunked(src, out, (p, n) => k.fns.relu(p, n));
}

/**
 * out[i] = min′(max′(src[i], lo), hi) with max′(x, lo) = x < lo ? lo : x and min′(m, hi) =
 * m > hi ? hi : m (NaN kept; lo and hi rounded to float32). False when unavailable.
 */
export function clipWasm(src: Float32Array, out: Float32Array, lo: number, hi: number): boolean {
  const k = kernels();
  return k !== null && chunked(src, out, (p, n) => k.fns.clip(p, n, lo, hi));
}

/**
 * [min, max] of 0 and the values (NaN ignored, as `v < mn` / `v > mx` scans), or undefined
 * when the module is unavailable.
 */
export function minMaxWasm(src: Float32Array): [number, number] | undefined {
  const k = kernels();
  if (!k || !reserve(k, BASE_BYTES + CHUNK * 4)) return undefined;
  const at = BASE_BYTES / 4;
  const res = RESULT / 4;
  let mn = 0, mx = 0;
  for (let i = 0; i < src.length; i += CHUNK) {
    const m = Math.min(CHUNK, src.length - i);
    k.f32.set(src.subarray(i, i + m), at);
    k.fns.minmax(at * 4, m, RESULT);
    const a = k.f32[res], b = k.f32[res + 1];
    if (a < mn) mn = a;
    if (b > mx) mx = b;
  }
  return [mn, mx];
}

/**
 * out[i] = clamp(roundHalfEven(fround(src[i] / scale)) + zp, 0, 255), NaN → 0
 * (DynamicQuantizeLinear); false when the module is unavailable.
 */
export function quantizeU8Wasm(
  src: Float32Array,
  out: Uint8Array,
  scale: number,
  zp: number,
): boolean {
  const k = kernels();
  if (!k || !reserve(k, BASE_BYTES + CHUNK * 5)) return false;
  const at = BASE_BYTES / 4;
  const dst = BASE_BYTES + CHUNK * 4;
  const u8 = new Uint8Array(k.memory.buffer, dst, CHUNK);
  for (let i = 0; i < src.length; i += CHUNK) {
    const m = Math.min(CHUNK, src.length - i);
    k.f32.set(src.subarray(i, i + m), at);
    k.fns.quantize_u8(at * 4, dst, m, scale, zp);
    out.set(m === CHUNK ? u8 : u8.subarray(0, m), i);
  }
  return true;
}
