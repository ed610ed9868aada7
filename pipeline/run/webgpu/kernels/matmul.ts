/**
 * MatMul (batched, numpy-broadcast batch dims, 1-D operands; f32, i32, u32 with wrapping
 * integer arithmetic like the CPU) and Gemm (f32: transposes, alpha, beta, broadcast C) on
 * the tiled `matmul.wgsl`; com.microsoft.FusedGemm is Gemm with its activation applied in
 * the same dispatch (`fused_activation`, as FusedConv).
 *
 * @module
 */

import { broadcastShapes, broadcastStrides } from "../../../../ops/util.ts";
import { shapeSize, type Tensor } from "../../../tensor/tensor.ts";
import type { GpuInfo } from "../device.ts";
import {
  gpuElem,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  UniformWriter,
} from "../kernel.ts";
import { ACTIVATIONS } from "./conv.ts";
import { directBlocking, tiling } from "./tiling.ts";

interface Product {
  M: number;
  N: number;
  K: number;
  /** Output batch dims. */
  batch: number[];
  /** A's and B's element strides over the output batch dims. */
  aBatch: number[];
  bBatch: number[];
  /** A's strides along m and k, B's along k and n. */
  aMK: [number, number];
  bKN: [number, number];
  /** C (Gemm): tensor and its strides along m and n. */
  c?: Tensor;
  cMN?: [number, number];
  alpha: number;
  beta: number;
  /** FusedGemm's activation: fused_activation code and parameters. */
  act?: FusedActivation;
}

/** A fused_activation code (math.wgsl) with its two parameters. */
interface FusedActivation {
  code: number;
  a: number;
  b: number;
}

/** Workgroup counts of a product, or why it does not fit one dispatch. */
function groups(
  k: { info: GpuInfo },
  M: number,
  N: number,
  batch: number,
): [number, number, number] | string {
  const max = k.info.limits.maxComputeWorkgroupsPerDimension;
  const d = directBlocking(k.info);
  if (d) {
    const total = Math.ceil(Math.ceil(M / d.RM) * Math.ceil(N / d.RN) / d.WG);
    const y = Math.ceil(total / max);
    const g: [number, number, number] = [Math.ceil(total / y), y, batch];
    if (g.some((v) => v > max)) return `a ${M}x${N} product over ${batch} batches is too large`;
    return g;
  }
  const t = tiling(k.info);
  const g: [number, number, number] = [Math.ceil(N / t.tileN), Math.ceil(M / t.tileM), batch];
  if (g.some((v) => v > max)) return `a ${M}x${N} product over ${batch} batches is too large`;
  return g;
}

/**
 * The same product with A's batch dims folded into M when B is shared by every batch and A's
 * batches are consecutive row blocks ([64, 1, 128] x [128, 384] is one 64 x 384 product).
 */
function foldBatch(p: Product): Product {
  if (p.batch.length === 0 || p.c || p.aMK[1] !== 1 || p.aMK[0] !== p.K) return p;
  if (p.bBatch.some((s) => s !== 0)) return p;
  let stride = p.M * p.K;
  for (let i = p.batch.length - 1; i >= 0; i--) {
    if (p.batch[i] !== 1 && p.aBatch[i] !== stride) return p;
    stride *= p.batch[i];
  }
  return { ...p, M: p.M * shapeSize(p.batch), batch: [], aBatch: [], bBatch: [] };
}

async function runProduct(k: KernelContext, a: Tensor, b: Tensor, q: Product, outDims: number[]) {
  const p = foldBatch(q);
  const e = gpuElem(a.type, k.info.features.shaderF16)!;
  const y = k.output(a.type, outDims);
  const batch = shapeSize(p.batch);
  const g = groups(k, p.M, p.N, batch);
  if (typeof g === "string") throw k.fail(g);
  const d = directBlocking(k.info);
  const pipeline = await k.pipeline({
    shader: d ? "matmul_direct" : "matmul",
    aliases: { T: e },
    constants: {
      ...(d ?? tiling(k.info).constants),
      BATCH_RANK: p.batch.length,
      HAS_C: p.c !== undefined,
      SCALED: p.alpha !== 1,
      ...(p.act && p.act.code !== 0 ? { ACT: p.act.code, ACT_A: p.act.a, ACT_B: p.act.b } : {}),
    },
    reads: 3,
    writes: 1,
    uniforms: true,
  });
  k.dispatch(pipeline, {
    reads: [a, b, p.c ?? a],
    writes: [y],
    uniforms: new UniformWriter()
      .u32(p.M, p.N, p.K, batch)
      .u32(...p.aMK)
      .u32(...p.bKN)
      .u32(...(p.cMN ?? [0, 0]))
      .f32(p.alpha, p.beta)
      .list8(p.batch)
      .list8(p.aBatch)
      .list8(p.bBatch)
      .finish(),
    groups: p.M * p.N === 0 ? [0, 0, 0] : g,
  });
  return y;
}

interface MatMulShape {
  M: number;
  N: number;
  K: number;
  batch: number[];
  aBatch: number[];
  bBatch: number[];
  out: number[];
}

function matmulShape(ad: readonly number[], bd: readonly number[]): MatMulShape | string {
  if (ad.length === 0 || bd.length === 0) return "scalar operand";
  const aDims = ad.length === 1 ? [1, ad[0]] : [...ad];
  const bDims = bd.length === 1 ? [bd[0], 1] : [...bd];
  const M = aDims[aDims.length - 2], K = aDims[aDims.length - 1];
  const N = bDims[bDims.length - 1];
  if (bDims[bDims.length - 2] !== K) return "inner dimensions differ";
  const aB = aDims.slice(0, -2), bB = bDims.slice(0, -2);
  const batch = broadcastShapes(aB, bB);
  if (!batch) return "batch dims cannot be broadcast";
  if (batch.length > 8) return `batch rank ${batch.length} is over 8`;
  const out = [...batch];
  if (ad.length > 1) out.push(M);
  if (bd.length > 1) out.push(N);
  return {
    M,
    N,
    K,
    batch,
    aBatch: broadcastStrides(aB, batch).map((s) => s * M * K),
    bBatch: broadcastStrides(bB, batch).map((s) => s * K * N),
    out,
  };
}

const matmulKernel: GpuKernel = {
  heavy: true,
  supports(node) {
    const [a, b] = node.inputs;
    if (!a || !b) return "an input is missing";
    if (a.type !== b.type) return "inputs have different types";
    if (!["float32", "int32", "uint32"].includes(a.type)) return `MatMul of ${a.type}`;
    const s = matmulShape(a.dims, b.dims);
    if (typeof s === "string") return s;
    const g = groups(node, s.M, s.N, shapeSize(s.batch));
    return typeof g === "string" ? g : true;
  },
  async run(k, [a, b]) {
    const s = matmulShape(a!.dims, b!.dims) as MatMulShape;
    return [
      await runProduct(k, a!, b!, {
        ...s,
        aMK: [s.K, 1],
        bKN: [s.N, 1],
        alpha: 1,
        beta: 0,
      }, s.out),
    ];
  },
};

/** FusedGemm activations fused_activation computes (onnxruntime's FusedGemm has no Clip). */
const GEMM_ACTIVATIONS = new Set(["", "Relu", "Tanh", "Sigmoid", "LeakyRelu", "HardSigmoid"]);

/**
 * FusedGemm's activation as a fused_activation code and parameters (from activation_alpha
 * and activation_beta, with the CPU kernel's defaults), or why it stays on the CPU.
 */
function gemmActivation(attrs: NodeView["attrs"]): FusedActivation | string {
  const name = attrs.string("activation", "");
  if (!GEMM_ACTIVATIONS.has(name)) return `activation "${name}"`;
  const alpha = attrs.has("activation_alpha") ? attrs.float("activation_alpha") : undefined;
  const beta = attrs.has("activation_beta") ? attrs.float("activation_beta") : undefined;
  const [a, b] = name === "LeakyRelu"
    ? [alpha ?? 0.01, 0]
    : name === "HardSigmoid"
    ? [alpha ?? 0.2, beta ?? 0.5]
    : [0, 0];
  return { code: ACTIVATIONS[name], a, b };
}

/** Gemm, or com.microsoft.FusedGemm (Gemm-13 semantics plus an activation) when `fused`. */
function makeGemm(fused: boolean): GpuKernel {
  return {
    heavy: true,
    supports(node) {
      const [a, b, c] = node.inputs;
      if (!a || !b) return "an input is missing";
      if (a.type !== "float32" || b.type !== "float32" || (c && c.type !== "float32")) {
        return `${node.node.opType} runs on the GPU for float32 only`;
      }
      if (fused) {
        const act = gemmActivation(node.attrs);
        if (typeof act === "string") return act;
      } else {
        if (node.version < 7) return "Gemm before opset 7 has its own broadcast rules";
        if (!c && node.version < 11) return "input C is required before opset 11";
      }
      if (a.dims.length !== 2 || b.dims.length !== 2) return "A and B must be 2-D";
      const tA = node.attrs.int("transA", 0) !== 0, tB = node.attrs.int("transB", 0) !== 0;
      const M = tA ? a.dims[1] : a.dims[0], K = tA ? a.dims[0] : a.dims[1];
      const N = tB ? b.dims[0] : b.dims[1], K2 = tB ? b.dims[1] : b.dims[0];
      if (K !== K2) return "inner dimensions differ";
      if (c) {
        const bc = broadcastShapes(c.dims, [M, N]);
        if (!bc || bc.length !== 2 || bc[0] !== M || bc[1] !== N) return "C cannot be broadcast";
      }
      const g = groups(node, M, N, 1);
      return typeof g === "string" ? g : true;
    },
    async run(k, [a, b, c]) {
      const tA = k.attrs.int("transA", 0) !== 0, tB = k.attrs.int("transB", 0) !== 0;
      const alpha = k.attrs.float("alpha", 1), beta = k.attrs.float("beta", 1);
      const M = tA ? a!.dims[1] : a!.dims[0], K = tA ? a!.dims[0] : a!.dims[1];
      const N = tB ? b!.dims[0] : b!.dims[1];
      const useC = c !== undefined && beta !== 0;
      const cs = useC ? broadcastStrides(c!.dims, [M, N]) : [0, 0];
      return [
        await runProduct(k, a!, b!, {
          M,
          N,
          K,
          batch: [],
          aBatch: [],
          bBatch: [],
          aMK: tA ? [1, M] : [K, 1],
          bKN: tB ? [1, K] : [N, 1],
          c: useC ? c : undefined,
          cMN: [cs[0], cs[1]],
          alpha,
          beta,
          act: fused ? gemmActivation(k.attrs) as FusedActivation : undefined,
        }, [M, N]),
      ];
    },
  };
}

/**
 * alpha · op(A) · op(B) with MatMul's shapes and broadcasting, op an optional transpose of
 * the last two dims of an operand of rank 2 or more (com.microsoft.FusedMatMul); a string
 * when the shapes do not multiply or the product does not fit one dispatch.
 */
export function transposedProduct(
  k: { info: GpuInfo },
  ad: readonly number[],
  bd: readonly number[],
  transA: boolean,
  transB: boolean,
): (MatMulShape & { aMK: [number, number]; bKN: [number, number] }) | string {
  const swap = (d: readonly number[], t: boolean) =>
    t && d.length >= 2 ? [...d.slice(0, -2), d[d.length - 1], d[d.length - 2]] : d;
  const tA = transA && ad.length >= 2, tB = transB && bd.length >= 2;
  const s = matmulShape(swap(ad, tA), swap(bd, tB));
  if (typeof s === "string") return s;
  const g = groups(k, s.M, s.N, shapeSize(s.batch));
  if (typeof g === "string") return g;
  return {
    ...s,
    aMK: tA ? [1, s.M] : [s.K, 1],
    bKN: tB ? [1, s.K] : [s.N, 1],
  };
}

/** Encodes alpha · op(A) · op(B) (see {@link transposedProduct}); float32, int32 or uint32. */
export async function runTransposedProduct(
  k: KernelContext,
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  alpha: number,
): Promise<Tensor> {
  const s = transposedProduct(k, a.dims, b.dims, transA, transB);
  if (typeof s === "string") throw k.fail(s);
  return await runProduct(k, a, b, { ...s, alpha, beta: 0 }, s.out);
}

/** The matrix-product kernels by op type. */
export function matmulKernels(): Map<string, GpuKernel> {
  return new Map([["MatMul", matmulKernel], ["Gemm", makeGemm(false)]]);
}

/** com.microsoft.FusedGemm: Gemm with its activation in the same dispatch. */
export function fusedGemmKernel(): GpuKernel {
  return makeGemm(true);
}
