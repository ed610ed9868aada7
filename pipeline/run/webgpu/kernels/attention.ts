/**
 * Attention (opsets 23 and 24, float32) with `attention.wgsl`: 3-D and 4-D inputs, grouped
 * query heads, past key/value (present_key/present_value are produced), bool or float
 * masks broadcast from any rank, is_causal, scale, softcap and nonpad_kv_seqlen. The
 * qk_matmul_output output stays on the CPU. K and V are first gathered into the present
 * layout [B, Hkv, L, D] with region copies (skipped for 4-D inputs without a past).
 *
 * @module
 */

import { toIntArray } from "../../../../ops/util.ts";
import { stridesOf, Tensor } from "../../../tensor/tensor.ts";
import {
  GpuDecline,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  type TensorMeta,
  UniformWriter,
} from "../kernel.ts";
import { COPY_MODE, runCopy } from "./movement.ts";

const WG = 64;

interface Geometry {
  rank: number;
  B: number;
  Hq: number;
  Hkv: number;
  Sq: number;
  Skv: number;
  Sp: number;
  D: number;
  Dv: number;
  L: number;
  /** Mask strides over (b, h, i, j) and its column count. */
  mStrides: number[];
  Lm: number;
}

/** Shapes as the CPU kernel checks them; a string when it would fail. */
function geometry(
  node: { attrs: NodeView["attrs"] },
  ins: readonly (TensorMeta | undefined)[],
): Geometry | string {
  const [Q, K, V, mask, pastK, pastV] = ins;
  if (!Q || !K || !V) return "an input is missing";
  const rank = Q.dims.length;
  if ((rank !== 3 && rank !== 4) || K.dims.length !== rank || V.dims.length !== rank) {
    return "Q, K and V ranks";
  }
  const B = Q.dims[0];
  let Hq: number, Hkv: number, Sq: number, Skv: number, D: number, Dv: number;
  if (rank === 4) {
    [, Hq, Sq, D] = Q.dims;
    [, Hkv, Skv] = K.dims;
    if (K.dims[3] !== D || V.dims[1] !== Hkv || V.dims[2] !== Skv) return "K or V shape";
    Dv = V.dims[3];
  } else {
    if (!node.attrs.has("q_num_heads") || !node.attrs.has("kv_num_heads")) return "head counts";
    Hq = node.attrs.int("q_num_heads");
    Hkv = node.attrs.int("kv_num_heads");
    Sq = Q.dims[1];
    Skv = K.dims[1];
    if (
      Hq <= 0 || Hkv <= 0 || Q.dims[2] % Hq !== 0 || K.dims[2] % Hkv !== 0 || V.dims[2] % Hkv !== 0
    ) {
      return "hidden sizes";
    }
    D = Q.dims[2] / Hq;
    if (K.dims[2] / Hkv !== D || V.dims[1] !== Skv) return "K or V shape";
    Dv = V.dims[2] / Hkv;
  }
  if (K.dims[0] !== B || V.dims[0] !== B || Hq % Hkv !== 0) return "batch or heads";
  if ((pastK === undefined) !== (pastV === undefined)) return "past_key without past_value";
  const Sp = pastK ? pastK.dims[2] : 0;
  if (pastK && pastV) {
    const pk = pastK.dims, pv = pastV.dims;
    if (pk.length !== 4 || pk[0] !== B || pk[1] !== Hkv || pk[3] !== D) return "past_key";
    if (pv.length !== 4 || pv[0] !== B || pv[1] !== Hkv || pv[2] !== Sp || pv[3] !== Dv) {
      return "past_value";
    }
  }
  const L = Sp + Skv;
  let Lm = L;
  const mStrides = [0, 0, 0, 0];
  if (mask) {
    const md = mask.dims;
    if (md.length < 1 || md.length > 4) return "mask rank";
    Lm = md[md.length - 1];
    if (Lm > L) return "mask columns";
    const target = [B, Hq, Sq, Lm];
    const full = [...new Array<number>(4 - md.length).fill(1), ...md];
    let acc = 1;
    for (let i = 3; i >= 0; i--) {
      if (full[i] !== 1 && full[i] !== target[i]) return "mask broadcast";
      mStrides[i] = full[i] === 1 ? 0 : acc;
      acc *= full[i];
    }
  }
  return { rank, B, Hq, Hkv, Sq, Skv, Sp, D, Dv, L, mStrides, Lm };
}

/** K or V gathered into [B, Hkv, L, E] after the past rows. */
async function present(
  k: KernelContext,
  g: Geometry,
  cur: Tensor,
  past: Tensor | undefined,
  E: number,
): Promise<Tensor> {
  if (!past && g.rank === 4) return cur;
  const out = k.output("float32", [g.B, g.Hkv, g.L, E]);
  const write = [g.Hkv * g.L * E, g.L * E, E, 1];
  if (past && g.Sp > 0) {
    await runCopy(k, past, out, {
      mode: COPY_MODE.strided,
      dims: [g.B, g.Hkv, g.Sp, E],
      read: stridesOf([g.B, g.Hkv, g.Sp, E]),
      write,
      readBase: 0,
      writeBase: 0,
    });
  }
  const read = g.rank === 4
    ? stridesOf([g.B, g.Hkv, g.Skv, E])
    : [g.Skv * g.Hkv * E, E, g.Hkv * E, 1];
  await runCopy(k, cur, out, {
    mode: COPY_MODE.strided,
    dims: [g.B, g.Hkv, g.Skv, E],
    read,
    write,
    readBase: 0,
    writeBase: g.Sp * E,
  });
  return out;
}

const attentionKernel: GpuKernel = {
  host: [6],
  heavy: true,
  supports(node) {
    for (const i of [0, 1, 2, 4, 5]) {
      const t = node.inputs[i];
      if (t && t.type !== "float32") return "Attention runs on the GPU for float32 only";
    }
    const mask = node.inputs[3];
    if (mask && mask.type !== "float32" && mask.type !== "bool") return `mask of ${mask.type}`;
    const g = geometry(node, node.inputs);
    if (typeof g === "string") return `shapes the CPU kernel reports on (${g})`;
    if (node.wantsOutput(3)) return "the qk_matmul_output output";
    const mode = node.attrs.int("qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return "qk_matmul_output_mode";
    return true;
  },
  async run(k, inputs) {
    const [Q, K, V, mask, pastK, pastV] = inputs;
    const nonpad = k.version >= 24 ? inputs[6] : undefined;
    const g = geometry(k, inputs) as Geometry;
    let lens: Tensor | undefined;
    if (nonpad) {
      const l = toIntArray(nonpad);
      if (l.length !== g.B) throw new GpuDecline("nonpad_kv_seqlen of the wrong length");
      lens = k.upload(new Tensor("int32", Int32Array.from(l), [g.B]));
    }
    const pk = await present(k, g, K!, pastK, g.D);
    const pv = await present(k, g, V!, pastV, g.Dv);
    const { B, Hq, Sq, L, D, Dv } = g;
    const rows = B * Hq * Sq;
    const yDims = g.rank === 4 ? [B, Hq, Sq, Dv] : [B, Sq, Hq * Dv];
    const y = k.output("float32", yDims);
    const scores = k.output("float32", [rows, L]);
    const scale = k.attrs.has("scale") ? k.attrs.float("scale") : 1 / Math.sqrt(D);
    const softcap = k.attrs.float("softcap", 0);
    const qStrides = g.rank === 4 ? [Hq * Sq * D, Sq * D, D] : [Sq * Hq * D, D, Hq * D];
    const yStrides = g.rank === 4 ? [Hq * Sq * Dv, Sq * Dv, Dv] : [Sq * Hq * Dv, Dv, Hq * Dv];
    const bool = mask?.type === "bool";
    const uniforms = new UniformWriter()
      .u32(B, Hq, Sq, L)
      .u32(D, Dv, Hq / g.Hkv, g.Lm)
      .u32(...qStrides)
      .u32(...yStrides)
      .u32(...g.mStrides)
      .f32(scale, softcap, g.Sp)
      .finish();
    const counts = [rows * L, rows, rows * Dv];
    for (let pass = 0; pass < 3; pass++) {
      const pipeline = await k.pipeline({
        shader: "attention",
        aliases: { M: bool ? "u32" : "f32" },
        slots: bool
          ? {
            mask_value:
              "fn mask_value(m: M) -> f32 {\n  return select(-inf_f32(), 0.0, m != 0u);\n}",
          }
          : undefined,
        constants: {
          WG,
          PASS: pass,
          HAS_MASK: mask !== undefined,
          CAUSAL: k.attrs.int("is_causal", 0) !== 0,
          HAS_LENS: lens !== undefined,
        },
        reads: 5,
        writes: 2,
        uniforms: true,
      });
      k.dispatch(pipeline, {
        reads: [Q!, pk, pv, mask ?? Q!, lens ?? Q!],
        writes: [scores, y],
        uniforms,
        groups: k.groups1d(counts[pass], WG),
      });
    }
    return [y, k.wantsOutput(1) ? pk : undefined, k.wantsOutput(2) ? pv : undefined];
  },
};

/** The attention kernels by op type. */
export function attentionKernels(): Map<string, GpuKernel> {
  return new Map([["Attention", attentionKernel]]);
}
