/**
 * The com.microsoft quantized operators on the GPU, bit for bit with `ops/contrib.ts`:
 * QLinearAdd and QLinearMul (`quant_binary.wgsl`), QLinearSigmoid (`quant_table.wgsl`) and
 * QLinearGlobalAveragePool (`quant_pool.wgsl`).
 *
 * Their scales and zero points are single values read on the host (`host`), where the float32
 * ratios (and QLinearSigmoid's 256-entry table) are computed with the CPU kernel's own
 * arithmetic and passed to the shaders as bits.
 *
 * @module
 */

import { saturateRound } from "../../../../ops/quantize.ts";
import { broadcastShapes, broadcastStrides, numbersOf } from "../../../../ops/util.ts";
import { shapeSize, type Tensor } from "../../../tensor/tensor.ts";
import type { GpuKernel, NodeView, TensorMeta } from "../kernel.ts";
import { paramWord, UniformWriter } from "../kernel.ts";
import { isInt8, QUANT_WG, rangeOf, sizeOf } from "./quant_shared.ts";

const WG = QUANT_WG;

/** Single-element scales (float32) and zero points (the data's type) at the given inputs. */
function paramsOk(
  node: NodeView,
  like: TensorMeta,
  scales: number[],
  zps: number[],
): true | string {
  for (const i of scales) {
    const s = node.inputs[i];
    if (!s) return `input ${i} is missing`;
    if (s.type !== "float32" || sizeOf(s) !== 1) return `input ${i} is not a float32 scalar`;
  }
  for (const i of zps) {
    const z = node.inputs[i];
    if (z && (z.type !== like.type || sizeOf(z) !== 1)) {
      return `input ${i} is not a ${like.type} scalar`;
    }
  }
  return true;
}

/** The value of a host scalar (0 when omitted). */
function scalar(t: Tensor | undefined): number {
  return t ? numbersOf(t)[0] : 0;
}

/** How the binary shader reads an input: 1 same shape, 2 one element, 0 strided. */
function readMode(dims: readonly number[], out: readonly number[]): number {
  if (dims.length === out.length && dims.every((d, i) => d === out[i])) return 1;
  if (shapeSize(dims) === 1) return 2;
  return 0;
}

function binary(op: "add" | "mul"): GpuKernel {
  return {
    packedBytes: true,
    host: [1, 2, 4, 5, 6, 7],
    supports(node) {
      const a = node.inputs[0], b = node.inputs[3];
      if (!a || !b) return "an input is missing";
      if (!isInt8(a)) return `A is ${a.type}`;
      if (b.type !== a.type) return "A and B have different types";
      const ok = paramsOk(node, a, [1, 4, 6], [2, 5, 7]);
      if (ok !== true) return ok;
      const out = broadcastShapes(a.dims, b.dims);
      if (!out) return "shapes cannot be broadcast";
      return out.length > 8 ? `rank ${out.length} is over 8` : true;
    },
    async run(k, inputs) {
      const [a, sa, za, b, sb, zb, sc, zc] = inputs;
      const outDims = broadcastShapes(a!.dims, b!.dims)!;
      const n = shapeSize(outDims);
      const [lo, hi] = rangeOf(a!.type);
      const SA = scalar(sa), SB = scalar(sb), SC = scalar(sc);
      const ZA = scalar(za), ZB = scalar(zb), ZC = scalar(zc);
      let mode: number, params: number[];
      if (op === "add") {
        const rA = Math.fround(SA / SC);
        const rB = Math.fround(SB / SC);
        const fixed = Math.fround(ZC - (rA * ZA + rB * ZB));
        mode = a!.size === 1 && n > 0 ? 1 : b!.size === 1 && n > 0 ? 2 : 0;
        params = [rA, rB, fixed, 0];
      } else {
        mode = 3;
        params = [0, 0, 0, Math.fround(Math.fround(SA * SB) / SC)];
      }
      const y = k.output(a!.type, outDims);
      const pipeline = await k.pipeline({
        shader: "quant_binary",
        constants: {
          WG,
          SIGNED: a!.type === "int8",
          MODE: mode,
          RANK: Math.max(1, outDims.length),
        },
        reads: 2,
        writes: 1,
        uniforms: true,
      });
      const od = outDims.length ? outDims : [1];
      const st = (t: Tensor) => (outDims.length ? broadcastStrides(t.dims, outDims) : [0]);
      k.dispatch(pipeline, {
        reads: [a!, b!],
        writes: [y],
        uniforms: new UniformWriter()
          .u32(n, readMode(a!.dims, outDims), readMode(b!.dims, outDims))
          .words(...params.map((v) => paramWord(v, "f32")))
          .i32(ZA, ZB, ZC)
          .i32(lo, hi)
          .list8(od)
          .list8(st(a!))
          .list8(st(b!))
          .finish(),
        groups: k.groups1d(Math.ceil(n / 4), WG),
      });
      return [y];
    },
  };
}

const sigmoid: GpuKernel = {
  packedBytes: true,
  host: [1, 2, 3, 4],
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    if (!isInt8(x)) return `X is ${x.type}`;
    return paramsOk(node, x, [1, 3], [2, 4]);
  },
  async run(k, [x, sx, zx, sy, zy]) {
    const [lo, hi] = rangeOf(x!.type);
    const SX = scalar(sx), ZX = scalar(zx), SY = scalar(sy), ZY = scalar(zy);
    // The CPU kernel's table: entry v - lo for every value v of the type.
    const bytes = new Uint8Array(256);
    for (let v = lo; v <= hi; v++) {
      const f = Math.fround(SX * (v - ZX));
      const s = Math.fround(1 / (1 + Math.exp(-f)));
      bytes[v - lo] = saturateRound(Math.fround(s / SY), ZY, lo, hi) & 0xff;
    }
    const table = new Uint32Array(bytes.buffer);
    const y = k.output(x!.type, x!.dims);
    const n = x!.size;
    const pipeline = await k.pipeline({
      shader: "quant_table",
      constants: { WG, SIGNED: x!.type === "int8" },
      reads: 1,
      writes: 1,
      uniforms: true,
    });
    const u = new UniformWriter().u32(n);
    for (let i = 0; i < 64; i += 4) u.words(table[i], table[i + 1], table[i + 2], table[i + 3]);
    k.dispatch(pipeline, {
      reads: [x!],
      writes: [y],
      uniforms: u.finish(),
      groups: k.groups1d(Math.ceil(n / 4), WG),
    });
    return [y];
  },
};

const globalAveragePool: GpuKernel = {
  packedBytes: true,
  host: [1, 2, 3, 4],
  supports(node) {
    const x = node.inputs[0];
    if (!x) return "input 0 is missing";
    if (!isInt8(x)) return `X is ${x.type}`;
    if (x.dims.length < 3) return "X has fewer than 3 dimensions";
    const ok = paramsOk(node, x, [1, 3], [2, 4]);
    if (ok !== true) return ok;
    const last = node.attrs.int("channels_last", 0) !== 0;
    const r = x.dims.length;
    const size = shapeSize(last ? x.dims.slice(1, r - 1) : x.dims.slice(2));
    return size * 256 < 2 ** 30 ? true : "planes too large for an int32 sum";
  },
  async run(k, [x, sx, zx, sy, zy]) {
    const last = k.attrs.int("channels_last", 0) !== 0;
    const r = x!.dims.length;
    const N = x!.dims[0];
    const C = last ? x!.dims[r - 1] : x!.dims[1];
    const spatial = last ? x!.dims.slice(1, r - 1) : x!.dims.slice(2);
    const size = shapeSize(spatial);
    const outDims = last ? [N, ...spatial.map(() => 1), C] : [N, C, ...spatial.map(() => 1)];
    const [lo, hi] = rangeOf(x!.type);
    // As the CPU: x_scale / (y_scale * size) in float32 (no scale for empty planes: y = y_zp).
    const scale = size === 0 ? 0 : Math.fround(scalar(sx) / Math.fround(scalar(sy) * size));
    const y = k.output(x!.type, outDims);
    const pipeline = await k.pipeline({
      shader: "quant_pool",
      constants: { WG, SIGNED: x!.type === "int8", CHANNELS_LAST: last },
      reads: 1,
      writes: 1,
      uniforms: true,
    });
    k.dispatch(pipeline, {
      reads: [x!],
      writes: [y],
      uniforms: new UniformWriter()
        .u32(N * C, size, C)
        .words(paramWord(scale, "f32"), paramWord(scalar(zx), "i32"), paramWord(scalar(zy), "i32"))
        .i32(lo, hi)
        .finish(),
      groups: k.groups1d(Math.ceil((N * C) / 4), WG),
    });
    return [y];
  },
};

/** The com.microsoft quantized kernels by op type. */
export function quantContribKernels(): Map<string, GpuKernel> {
  return new Map([
    ["QLinearAdd", binary("add")],
    ["QLinearMul", binary("mul")],
    ["QLinearSigmoid", sigmoid],
    ["QLinearGlobalAveragePool", globalAveragePool],
  ]);
}
