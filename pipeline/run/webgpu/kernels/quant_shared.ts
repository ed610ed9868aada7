/**
 * Helpers shared by the quantized WebGPU kernels (`quant_*.ts`): the packed int8/uint8
 * layout (four elements per u32 word, see `isPackedByte`), a zero tensor standing in for
 * omitted zero points, the checks of scale and zero-point shapes the CPU kernels make, and
 * the convolution geometry.
 *
 * @module
 */

import { windowAttrs, windowShape } from "../../../../ops/conv.ts";
import type { OpContext } from "../../../../ops/types.ts";
import { type DataType, integerRange } from "../../../tensor/dtype.ts";
import { shapeSize, Tensor } from "../../../tensor/tensor.ts";
import { isPackedByte, type KernelContext, type TensorMeta } from "../kernel.ts";

/** Invocations per workgroup of the 1-D quantized kernels. */
export const QUANT_WG = 64;

/** Most terms of an integer sum before products of centered 8-bit values may leave i32. */
export const MAX_TERMS = 16384;

let zeros: Tensor | undefined;

/**
 * A GPU tensor of zero bytes (one word) standing in for an omitted zero point or bias:
 * read as int8, uint8 or int32 it is 0. Uploaded once per session.
 */
export function zeroTensor(k: KernelContext): Tensor {
  zeros ??= new Tensor("uint8", new Uint8Array(4), [4]);
  return k.upload(zeros, true);
}

/** True for int8 and uint8. */
export function isInt8(t: TensorMeta | undefined): boolean {
  return t !== undefined && isPackedByte(t.type);
}

/** The saturation range of an 8-bit type. */
export function rangeOf(type: DataType): [number, number] {
  return integerRange(type);
}

/** Number of elements of a tensor's dims. */
export function sizeOf(t: TensorMeta): number {
  return shapeSize(t.dims);
}

/** True when `t` is absent or holds a single element. */
export function isScalarParam(t: TensorMeta | undefined): boolean {
  return t === undefined || sizeOf(t) === 1;
}

/**
 * True when `t` is absent, a single element, or 1-D of `len` (one per row, column or channel,
 * as the CPU kernels' vector parameters allow).
 */
export function isVectorParam(t: TensorMeta | undefined, len: number): boolean {
  return isScalarParam(t) || (t!.dims.length === 1 && t!.dims[0] === len);
}

/** A 1-D or 2-D convolution's geometry, 1-D written as 2-D with H = 1. */
export interface ConvGeometry {
  /** Images. */
  N: number;
  /** Input channels. */
  C: number;
  /** Input height (1 for 1-D). */
  H: number;
  /** Input width. */
  W: number;
  /** Output channels. */
  M: number;
  /** Groups. */
  group: number;
  /** Kernel height (1 for 1-D). */
  KH: number;
  /** Kernel width. */
  KW: number;
  /** Output height (1 for 1-D). */
  OH: number;
  /** Output width. */
  OW: number;
  /** Strides (H, W). */
  strides: [number, number];
  /** Dilations (H, W). */
  dilations: [number, number];
  /** Leading pads (H, W). */
  pads: [number, number];
  /** Output dims. */
  outDims: number[];
}

/**
 * The geometry of a convolution of x by w with the node's attributes, read with the CPU
 * kernels' helpers; a message when the CPU kernel would report an error (the node then
 * stays on the CPU, which reports it).
 */
export function convGeometry(
  op: OpContext,
  x: readonly number[],
  w: readonly number[],
): ConvGeometry | string {
  const r = x.length - 2;
  if (r !== 1 && r !== 2) return `${r}-D convolution`;
  if (w.length !== x.length) return "w's rank differs from x's";
  const group = op.attrs.int("group", 1);
  const [N, C] = x;
  const M = w[0];
  if (group < 1 || C !== w[1] * group || M % group !== 0) return "channels do not match the groups";
  const wk = w.slice(2);
  let a: ReturnType<typeof windowAttrs>;
  try {
    a = windowAttrs(op, r, wk);
  } catch (e) {
    return (e as Error).message;
  }
  if (a.kernel.some((v, i) => v !== wk[i])) return "kernel_shape does not match w";
  const ws = windowShape(x.slice(2), a.kernel, a.strides, a.dilations, {
    autoPad: op.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
  });
  if (typeof ws === "string") return ws;
  const two = (v: number[], one: number): [number, number] => r === 1 ? [one, v[0]] : [v[0], v[1]];
  const [H, W] = two(x.slice(2), 1);
  const [KH, KW] = two(a.kernel, 1);
  const [OH, OW] = two(ws.out, 1);
  return {
    N,
    C,
    H,
    W,
    M,
    group,
    KH,
    KW,
    OH,
    OW,
    strides: two(a.strides, 1),
    dilations: two(a.dilations, 1),
    pads: two(ws.padsBegin, 0),
    outDims: [N, M, ...ws.out],
  };
}
