/**
 * The com.microsoft contrib ops the optimizer emits, so that optimized models stay on the
 * GPU: FusedConv (Conv + bias + Z + activation in the convolution's epilogue), FusedGemm
 * (Gemm + activation in the product's epilogue), FusedMatMul
 * (alpha, transA/transB through strides; transBatchA/B stay on the CPU), Gelu, FastGelu
 * (with its optional bias) and BiasGelu, all float32.
 *
 * @module
 */

import { broadcastShapes, broadcastStrides } from "../../../../ops/util.ts";
import { shapeSize, type Tensor } from "../../../tensor/tensor.ts";
import { type GpuKernel, type KernelContext, UniformWriter } from "../kernel.ts";
import { fusedConvKernel } from "./conv.ts";
import { fusedGemmKernel, runTransposedProduct, transposedProduct } from "./matmul.ts";

const WG = 64;

const fusedMatMulKernel: GpuKernel = {
  heavy: true,
  supports(node) {
    const [a, b] = node.inputs;
    if (!a || !b) return "an input is missing";
    if (a.type !== "float32" || b.type !== "float32") return "FusedMatMul of non-float32";
    if (node.attrs.int("transBatchA", 0) !== 0 || node.attrs.int("transBatchB", 0) !== 0) {
      return "transBatchA/transBatchB";
    }
    const s = transposedProduct(
      node,
      a.dims,
      b.dims,
      node.attrs.int("transA", 0) !== 0,
      node.attrs.int("transB", 0) !== 0,
    );
    return typeof s === "string" ? s : true;
  },
  async run(k, [a, b]) {
    return [
      await runTransposedProduct(
        k,
        a!,
        b!,
        k.attrs.int("transA", 0) !== 0,
        k.attrs.int("transB", 0) !== 0,
        k.attrs.float("alpha", 1),
      ),
    ];
  },
};

const ERF_GELU = "0.5 * v * (1.0 + erf_f32(v * 0.7071067811865476))";
const TANH_GELU = "0.5 * v * (1.0 + tanh_f32(0.7978845608028654 * (v + 0.044715 * v * v * v)))";
const GELU_HELPERS = ["erf_f32", "expm1_f32", "tanh_f32"];

/** y = gelu(x + bias) with the binary elementwise shader (bias broadcast along the last dim). */
async function runGelu(
  k: KernelContext,
  x: Tensor,
  bias: Tensor | undefined,
  form: string,
): Promise<Tensor> {
  const y = k.output("float32", x.dims);
  const size = x.size;
  if (size === 0) return y;
  const b = bias ?? x;
  const outDims = x.dims.length ? [...x.dims] : [1];
  const pipeline = await k.pipeline({
    shader: "elementwise_binary",
    slots: {
      op: `fn op(a: A, b: B) -> Y {\n  let v = ${bias ? "a + b" : "a"};\n  return ${form};\n}`,
    },
    helpers: GELU_HELPERS,
    constants: { WG, RANK: outDims.length },
    reads: 2,
    writes: 1,
    uniforms: true,
  });
  const bMode = bias ? (shapeSize(bias.dims) === size ? 1 : 0) : 1;
  k.dispatch(pipeline, {
    reads: [x, b],
    writes: [y],
    uniforms: new UniformWriter()
      .u32(size, 1, bMode)
      .words()
      .list8(outDims)
      .list8(new Array(outDims.length).fill(0))
      .list8(bias ? broadcastStrides(bias.dims, outDims) : new Array(outDims.length).fill(0))
      .finish(),
    groups: k.groups1d(size, WG),
  });
  return y;
}

function geluKernel(form: string, biasInput: "none" | "required" | "optional"): GpuKernel {
  return {
    supports(node) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      if (x.type !== "float32") return `${node.node.opType} of ${x.type}`;
      if (x.dims.length > 8) return "rank over 8";
      const bias = biasInput === "none" ? undefined : node.inputs[1];
      if (biasInput === "required" && !bias) return "bias is missing";
      if (bias) {
        const H = x.dims.length ? x.dims[x.dims.length - 1] : 1;
        if (bias.type !== "float32" || bias.dims.length !== 1 || bias.dims[0] !== H) {
          return "bias is not 1-D along the last dim";
        }
        if (!broadcastShapes(x.dims, bias.dims)) return "bias does not broadcast";
      }
      return true;
    },
    async run(k, [x, bias]) {
      return [await runGelu(k, x!, biasInput === "none" ? undefined : bias, form)];
    },
  };
}

/** The com.microsoft kernels by op type. */
export function contribKernels(): Map<string, GpuKernel> {
  return new Map([
    ["FusedConv", fusedConvKernel()],
    ["FusedGemm", fusedGemmKernel()],
    ["FusedMatMul", fusedMatMulKernel],
    ["Gelu", geluKernel(ERF_GELU, "none")],
    ["BiasGelu", geluKernel(ERF_GELU, "required")],
    ["FastGelu", geluKernel(TANH_GELU, "optional")],
  ]);
}
