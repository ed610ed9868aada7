/**
 * Tile sizes of the tiled shaders (matmul.wgsl, conv.wgsl), passed as override constants.
 * Hardware GPUs get 16x16 workgroups computing 4x4 blocks each (64x64 output tiles). A
 * software adapter gets 8x8 workgroups computing 2x4 blocks (16x32 tiles): llvmpipe takes
 * over 20 seconds to compile the large configuration and under one for this one, which
 * runs twice as fast there as one output per invocation.
 *
 * @module
 */

import type { GpuInfo } from "../device.ts";

/**
 * The register-blocked kernels without workgroup memory (matmul_direct.wgsl,
 * conv_blocked.wgsl) that software adapters use instead of tiles: each invocation computes
 * an RM x RN output block, WG invocations per workgroup.
 */
export interface DirectBlocking {
  /** Invocations per workgroup. */
  WG: number;
  /** Output rows per invocation (RM * RN <= 64, each <= 16). */
  RM: number;
  /** Output columns per invocation. */
  RN: number;
}

/** Override constants and output tile extents of a tiled shader. */
export interface Tiling {
  /** The override constants (WG_X, WG_Y, RM, RN, TILE_K). */
  constants: { WG_X: number; WG_Y: number; RM: number; RN: number; TILE_K: number };
  /** Output rows per workgroup. */
  tileM: number;
  /** Output columns per workgroup. */
  tileN: number;
}

let forced: Tiling["constants"] | undefined;

/**
 * Uses `c` for every device from now on (undefined: back to the default), for tuning and
 * for tests that check the register-blocked paths on a software adapter. RM * RN <= 16,
 * RN <= 4; WG_X * WG_Y <= 256.
 */
export function setTilingOverride(c: Tiling["constants"] | undefined): void {
  if (c && (c.RM * c.RN > 16 || c.RN > 4 || c.WG_X * c.WG_Y > 256)) {
    throw new RangeError("Tiling needs RM * RN <= 16, RN <= 4 and WG_X * WG_Y <= 256");
  }
  forced = c;
}

/**
 * The blocking of the workgroup-memory-free kernels on a software adapter (llvmpipe runs
 * them several times faster than any tiling), or undefined on hardware and while a tiling
 * override is set.
 */
export function directBlocking(info: GpuInfo): DirectBlocking | undefined {
  if (forced || !info.isFallbackAdapter) return undefined;
  return { WG: 64, RM: 8, RN: 8 };
}

/** The tiling for a device. */
export function tiling(info: GpuInfo): Tiling {
  const c = forced ??
    (info.isFallbackAdapter
      ? { WG_X: 8, WG_Y: 8, RM: 2, RN: 4, TILE_K: 8 }
      : { WG_X: 16, WG_Y: 16, RM: 4, RN: 4, TILE_K: 16 });
  return { constants: c, tileM: c.WG_Y * c.RM, tileN: c.WG_X * c.RN };
}

/**
 * Whether a row reduction (softmax, normalization, Reduce*) of `rows` rows of `n` elements
 * runs a workgroup per row (threads striding over the row, tree reductions with barriers)
 * rather than an invocation per row. On hardware long rows pay off; on a software adapter
 * every barrier switches between invocations, so only a few very long rows do.
 */
export function cooperativeRows(info: GpuInfo, rows: number, n: number): boolean {
  if (info.isFallbackAdapter) return rows < 16 && n >= 256;
  return n >= 32;
}
