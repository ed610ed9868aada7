/**
 * Attention-style operators: Attention (ai.onnx 23 and 24), RotaryEmbedding (23),
 * LinearAttention and CausalConvWithState (27), SwiGLU (28) and FlexAttention
 * (ai.onnx.preview 1). Every kernel computes in float64 and encodes its outputs in the
 * element type the spec gives them (float16/bfloat16 included); matrix products go through
 * `gemm`.
 *
 * @module
 */

import { type DataType, dataTypeFromCode, isBig } from "../pipeline/tensor/dtype.ts";
import { Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import { gemm } from "../pipeline/run/cpu/gemm.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  broadcastOffsets,
  broadcastShapes,
  isFloatType,
  numbersOf,
  optionalTensorAt,
  shapeSize,
  tensorAt,
  tensorFromComputed,
  toIntArray,
} from "./util.ts";

/** Reads a tensor's values as float64. */
function f64(t: Tensor): Float64Array {
  const n = numbersOf(t);
  return n instanceof Float64Array ? n : Float64Array.from(n);
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Softmax of `row[off .. off+n)` in place (a row of -inf only becomes NaN, as exp/sum does). */
function softmaxInPlace(row: Float64Array, off: number, n: number): void {
  let max = -Infinity;
  for (let j = off; j < off + n; j++) if (row[j] > max || Number.isNaN(row[j])) max = row[j];
  let sum = 0;
  for (let j = off; j < off + n; j++) {
    const e = Math.exp(row[j] - max);
    row[j] = e;
    sum += e;
  }
  for (let j = off; j < off + n; j++) row[j] /= sum;
}

function requireFloat(ctx: OpContext, t: Tensor, what: string): void {
  if (!isFloatType(t.type)) {
    throw ctx.unsupported(`${what} must be a float tensor, got ${t.type}`, t.type);
  }
}

// ------------------------------------------------------------------------------------------
// Attention
// ------------------------------------------------------------------------------------------

const attentionKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const Q = tensorAt(ctx, inputs, 0);
  const K = tensorAt(ctx, inputs, 1);
  const V = tensorAt(ctx, inputs, 2);
  const mask = optionalTensorAt(ctx, inputs, 3);
  const pastK = optionalTensorAt(ctx, inputs, 4);
  const pastV = optionalTensorAt(ctx, inputs, 5);
  const nonpad = ctx.version >= 24 ? optionalTensorAt(ctx, inputs, 6) : undefined;
  requireFloat(ctx, Q, "Q");
  requireFloat(ctx, K, "K");
  requireFloat(ctx, V, "V");
  const rank = Q.dims.length;
  if ((rank !== 3 && rank !== 4) || K.dims.length !== rank || V.dims.length !== rank) {
    throw ctx.fail(
      `Q, K and V must all be 3-D or all 4-D, got [${Q.dims}], [${K.dims}], [${V.dims}]`,
    );
  }
  const B = Q.dims[0];
  let Hq: number, Hkv: number, Sq: number, Skv: number, D: number, Dv: number;
  if (rank === 4) {
    [, Hq, Sq, D] = Q.dims;
    [, Hkv, Skv] = K.dims;
    if (K.dims[3] !== D) throw ctx.fail(`K head size ${K.dims[3]} differs from Q head size ${D}`);
    if (V.dims[1] !== Hkv || V.dims[2] !== Skv) {
      throw ctx.fail(`V has shape [${V.dims}], incompatible with K [${K.dims}]`);
    }
    Dv = V.dims[3];
  } else {
    if (!ctx.attrs.has("q_num_heads") || !ctx.attrs.has("kv_num_heads")) {
      throw ctx.fail("3-D inputs need the q_num_heads and kv_num_heads attributes");
    }
    Hq = ctx.attrs.int("q_num_heads");
    Hkv = ctx.attrs.int("kv_num_heads");
    Sq = Q.dims[1];
    Skv = K.dims[1];
    if (
      Hq <= 0 || Hkv <= 0 || Q.dims[2] % Hq !== 0 || K.dims[2] % Hkv !== 0 || V.dims[2] % Hkv !== 0
    ) {
      throw ctx.fail(
        `hidden sizes [${Q.dims[2]}, ${K.dims[2]}, ${
          V.dims[2]
        }] do not split into ${Hq}/${Hkv} heads`,
      );
    }
    D = Q.dims[2] / Hq;
    if (K.dims[2] / Hkv !== D) {
      throw ctx.fail(`K head size ${K.dims[2] / Hkv} differs from Q head size ${D}`);
    }
    if (V.dims[1] !== Skv) throw ctx.fail(`V sequence length ${V.dims[1]} differs from K's ${Skv}`);
    Dv = V.dims[2] / Hkv;
  }
  if (K.dims[0] !== B || V.dims[0] !== B) throw ctx.fail("Q, K and V have different batch sizes");
  if (Hq % Hkv !== 0) throw ctx.fail(`q_num_heads ${Hq} is not a multiple of kv_num_heads ${Hkv}`);
  const group = Hq / Hkv;
  const Sp = pastK ? pastK.dims[2] : 0;
  if (pastK) {
    if (
      pastK.dims.length !== 4 || pastK.dims[0] !== B || pastK.dims[1] !== Hkv || pastK.dims[3] !== D
    ) {
      throw ctx.fail(`past_key has shape [${pastK.dims}], expected [${B},${Hkv},past,${D}]`);
    }
  }
  if (pastV) {
    if (
      pastV.dims.length !== 4 || pastV.dims[0] !== B || pastV.dims[1] !== Hkv ||
      pastV.dims[2] !== Sp || pastV.dims[3] !== Dv
    ) {
      throw ctx.fail(`past_value has shape [${pastV.dims}], expected [${B},${Hkv},${Sp},${Dv}]`);
    }
  }
  if ((pastK === undefined) !== (pastV === undefined)) {
    throw ctx.fail("past_key and past_value must be given together");
  }
  const L = Sp + Skv;
  // present_key/value as (B, Hkv, L, D|Dv) float64.
  const kIn = f64(K);
  const vIn = f64(V);
  const presentK = new Float64Array(B * Hkv * L * D);
  const presentV = new Float64Array(B * Hkv * L * Dv);
  {
    const pk = pastK ? f64(pastK) : undefined;
    const pv = pastV ? f64(pastV) : undefined;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hkv; h++) {
        const baseK = (b * Hkv + h) * L * D;
        const baseV = (b * Hkv + h) * L * Dv;
        if (pk) {
          presentK.set(pk.subarray((b * Hkv + h) * Sp * D, (b * Hkv + h + 1) * Sp * D), baseK);
        }
        if (pv) {
          presentV.set(pv.subarray((b * Hkv + h) * Sp * Dv, (b * Hkv + h + 1) * Sp * Dv), baseV);
        }
        for (let s = 0; s < Skv; s++) {
          const srcK = rank === 4 ? ((b * Hkv + h) * Skv + s) * D : (b * Skv + s) * Hkv * D + h * D;
          const srcV = rank === 4
            ? ((b * Hkv + h) * Skv + s) * Dv
            : (b * Skv + s) * Hkv * Dv + h * Dv;
          for (let d = 0; d < D; d++) presentK[baseK + (Sp + s) * D + d] = kIn[srcK + d];
          for (let d = 0; d < Dv; d++) presentV[baseV + (Sp + s) * Dv + d] = vIn[srcV + d];
        }
      }
    }
  }
  // K^T per kv head: (B, Hkv, D, L).
  const kT = new Float64Array(B * Hkv * D * L);
  for (let bh = 0; bh < B * Hkv; bh++) {
    const src = bh * L * D;
    const dst = bh * D * L;
    for (let j = 0; j < L; j++) {
      for (let d = 0; d < D; d++) kT[dst + d * L + j] = presentK[src + j * D + d];
    }
  }
  // Attention bias pieces: mask (broadcast to [B, Hq, Sq, Lm], Lm <= L; columns past Lm are
  // -inf), causal and padding terms.
  let maskVals: Float64Array | undefined;
  let mStride = [0, 0, 0, 0];
  let Lm = L;
  if (mask) {
    if (mask.type === "string" || mask.type.startsWith("complex")) {
      throw ctx.fail(`attn_mask must be bool or numeric, got ${mask.type}`);
    }
    const md = mask.dims;
    if (md.length < 1 || md.length > 4) {
      throw ctx.fail(`attn_mask must have rank 1 to 4, got [${md}]`);
    }
    Lm = md[md.length - 1];
    if (Lm > L) {
      throw ctx.fail(`attn_mask's last dimension ${Lm} exceeds the total sequence length ${L}`);
    }
    const target = [B, Hq, Sq, Lm];
    const full = [...new Array(4 - md.length).fill(1), ...md];
    const strides = [0, 0, 0, 0];
    let acc = 1;
    for (let i = 3; i >= 0; i--) {
      if (full[i] !== 1 && full[i] !== target[i]) {
        throw ctx.fail(`attn_mask of shape [${md}] does not broadcast to [${target}]`);
      }
      strides[i] = full[i] === 1 ? 0 : acc;
      acc *= full[i];
    }
    mStride = strides;
    if (mask.type === "bool") {
      const src = mask.data as Uint8Array;
      maskVals = new Float64Array(src.length);
      for (let i = 0; i < src.length; i++) maskVals[i] = src[i] ? 0 : -Infinity;
    } else if (isBig(mask.type)) {
      maskVals = f64(mask);
    } else {
      // Float masks are cast to Q's type first (as the function body does).
      const m = numbersOf(mask);
      maskVals = mask.type === Q.type || !isFloatType(Q.type)
        ? Float64Array.from(m)
        : f64(tensorFromComputed(Q.type, Float64Array.from(m), mask.dims));
    }
  }
  const isCausal = ctx.attrs.int("is_causal", 0) !== 0;
  let nonpadLens: number[] | undefined;
  if (nonpad) {
    nonpadLens = toIntArray(nonpad);
    if (nonpadLens.length !== B) {
      throw ctx.fail(`nonpad_kv_seqlen has ${nonpadLens.length} values, expected ${B}`);
    }
  }
  const scale = ctx.attrs.has("scale") ? ctx.attrs.float("scale") : 1 / Math.sqrt(D);
  const softcap = ctx.attrs.float("softcap", 0);
  const mode = ctx.attrs.int("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) throw ctx.fail(`qk_matmul_output_mode must be 0..3, got ${mode}`);
  const wantQk = ctx.wantsOutput(3);
  const qIn = f64(Q);
  const y = new Float64Array(B * Hq * Sq * Dv);
  const qk = wantQk ? new Float64Array(B * Hq * Sq * L) : undefined;
  const scores = new Float64Array(Sq * L);
  const bias = new Float64Array(L);
  for (let b = 0; b < B; b++) {
    const offset = nonpadLens ? nonpadLens[b] - Sq : Sp;
    const valid = nonpadLens ? nonpadLens[b] : L;
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group);
      const qOff = rank === 4 ? (b * Hq + h) * Sq * D : b * Sq * Hq * D + h * D;
      const qLd = rank === 4 ? D : Hq * D;
      gemm(Sq, L, D, { data: qIn, offset: qOff, ld: qLd }, {
        data: kT,
        offset: (b * Hkv + kh) * D * L,
        ld: L,
      }, {
        data: scores,
        ld: L,
      }, { alpha: scale });
      for (let i = 0; i < Sq; i++) {
        const row = i * L;
        // Bias row.
        let allMasked = true;
        for (let j = 0; j < L; j++) {
          let v = 0;
          if (maskVals) {
            v = j < Lm
              ? maskVals[b * mStride[0] + h * mStride[1] + i * mStride[2] + j * mStride[3]]
              : -Infinity;
          }
          if (isCausal && i + offset < j) v += -Infinity;
          if (j >= valid) v += -Infinity;
          bias[j] = v;
          if (v !== -Infinity) allMasked = false;
        }
        const qkRow = qk ? ((b * Hq + h) * Sq + i) * L : 0;
        if (qk && mode === 0) qk.set(scores.subarray(row, row + L), qkRow);
        if (softcap > 0) {
          for (let j = 0; j < L; j++) {
            scores[row + j] = softcap * Math.tanh(scores[row + j] / softcap);
          }
        }
        if (qk && mode === 1) qk.set(scores.subarray(row, row + L), qkRow);
        for (let j = 0; j < L; j++) scores[row + j] += bias[j];
        if (qk && mode === 2) qk.set(scores.subarray(row, row + L), qkRow);
        if (allMasked) scores.fill(0, row, row + L);
        else softmaxInPlace(scores, row, L);
        if (qk && mode === 3) qk.set(scores.subarray(row, row + L), qkRow);
      }
      const yOff = rank === 4 ? (b * Hq + h) * Sq * Dv : b * Sq * Hq * Dv + h * Dv;
      const yLd = rank === 4 ? Dv : Hq * Dv;
      gemm(Sq, Dv, L, { data: scores, ld: L }, {
        data: presentV,
        offset: (b * Hkv + kh) * L * Dv,
        ld: Dv,
      }, {
        data: y,
        offset: yOff,
        ld: yLd,
      });
    }
  }
  const T1 = Q.type;
  const T2 = V.type;
  return [
    tensorFromComputed(T1, y, rank === 4 ? [B, Hq, Sq, Dv] : [B, Sq, Hq * Dv]),
    ctx.wantsOutput(1) ? tensorFromComputed(K.type, presentK, [B, Hkv, L, D]) : undefined,
    ctx.wantsOutput(2) ? tensorFromComputed(T2, presentV, [B, Hkv, L, Dv]) : undefined,
    qk ? tensorFromComputed(T1, qk, [B, Hq, Sq, L]) : undefined,
  ];
};

function tensorShape(t: ValueType | undefined): Dim[] | undefined {
  return t?.kind === "tensor" ? t.shape : undefined;
}

function elemOf(t: ValueType | undefined): DataType | undefined {
  return t?.kind === "tensor" ? t.elemType : undefined;
}

function dimMul(a: Dim, b: Dim): Dim {
  return typeof a === "number" && typeof b === "number" ? a * b : undefined;
}

function dimAdd(a: Dim, b: Dim): Dim {
  return typeof a === "number" && typeof b === "number" ? a + b : undefined;
}

function dimDiv(a: Dim, b: Dim): Dim {
  return typeof a === "number" && typeof b === "number" && b !== 0 ? a / b : undefined;
}

function attentionInfer(ctx: InferContext): (ValueType | undefined)[] {
  const q = tensorShape(ctx.input(0));
  const k = tensorShape(ctx.input(1));
  const v = tensorShape(ctx.input(2));
  const past = tensorShape(ctx.input(4));
  const T1 = elemOf(ctx.input(0));
  const T2 = elemOf(ctx.input(2));
  if (!q || !k || !v) {
    return [
      { kind: "tensor", elemType: T1 },
      { kind: "tensor", elemType: elemOf(ctx.input(1)) },
      { kind: "tensor", elemType: T2 },
      { kind: "tensor", elemType: T1 },
    ];
  }
  let B: Dim, Hq: Dim, Hkv: Dim, Sq: Dim, Skv: Dim, D: Dim, Dv: Dim;
  if (q.length === 4) {
    [B, Hq, Sq, D] = q;
    [, Hkv, Skv] = k;
    Dv = v[3];
  } else {
    Hq = ctx.attrs.has("q_num_heads") ? ctx.attrs.int("q_num_heads") : undefined;
    Hkv = ctx.attrs.has("kv_num_heads") ? ctx.attrs.int("kv_num_heads") : undefined;
    [B, Sq] = q;
    Skv = k[1];
    D = dimDiv(q[2], Hq);
    Dv = dimDiv(v[2], Hkv);
  }
  const L = past ? dimAdd(past[2], Skv) : Skv;
  return [
    {
      kind: "tensor",
      elemType: T1,
      shape: q.length === 4 ? [B, Hq, Sq, Dv] : [B, Sq, dimMul(Hq, Dv)],
    },
    { kind: "tensor", elemType: elemOf(ctx.input(1)), shape: [B, Hkv, L, D] },
    { kind: "tensor", elemType: T2, shape: [B, Hkv, L, Dv] },
    { kind: "tensor", elemType: T1, shape: [B, Hq, Sq, L] },
  ];
}

// ------------------------------------------------------------------------------------------
// RotaryEmbedding
// ------------------------------------------------------------------------------------------

const rotaryKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const X = tensorAt(ctx, inputs, 0);
  const cosT = tensorAt(ctx, inputs, 1);
  const sinT = tensorAt(ctx, inputs, 2);
  const posT = optionalTensorAt(ctx, inputs, 3);
  requireFloat(ctx, X, "X");
  const rank = X.dims.length;
  let B: number, S: number, H: number, D: number;
  if (rank === 4) {
    [B, H, S, D] = X.dims;
  } else if (rank === 3) {
    [B, S] = X.dims;
    H = ctx.attrs.int("num_heads", 0);
    if (H <= 0 || X.dims[2] % H !== 0) {
      throw ctx.fail(`3-D input needs num_heads dividing ${X.dims[2]}, got ${H}`);
    }
    D = X.dims[2] / H;
  } else {
    throw ctx.fail(`input must be 3-D or 4-D, got [${X.dims}]`);
  }
  let rot = ctx.attrs.int("rotary_embedding_dim", 0);
  if (rot === 0) rot = D;
  if (rot > D || rot % 2 !== 0) {
    throw ctx.fail(`rotary_embedding_dim ${rot} must be even and at most ${D}`);
  }
  const half = rot / 2;
  const interleaved = ctx.attrs.int("interleaved", 0) !== 0;
  const cos = f64(cosT);
  const sin = f64(sinT);
  let pos: number[] | undefined;
  if (posT) {
    pos = toIntArray(posT);
    if (pos.length !== B * S) {
      throw ctx.fail(`position_ids has shape [${posT.dims}], expected [${B},${S}]`);
    }
    if (cosT.dims.length !== 2 || cosT.dims[1] !== half) {
      throw ctx.fail(`cos_cache has shape [${cosT.dims}], expected [max_position, ${half}]`);
    }
  } else if (
    cosT.dims.length !== 3 || cosT.dims[0] !== B || cosT.dims[1] !== S || cosT.dims[2] !== half
  ) {
    throw ctx.fail(`cos_cache has shape [${cosT.dims}], expected [${B},${S},${half}]`);
  }
  if (sinT.size !== cosT.size) throw ctx.fail("sin_cache and cos_cache have different shapes");
  const maxPos = posT ? cosT.dims[0] : 0;
  const x = f64(X);
  const out = Float64Array.from(x);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      let cacheRow: number;
      if (pos) {
        const p = pos[b * S + s];
        if (p < 0 || p >= maxPos) throw ctx.fail(`position id ${p} is outside [0, ${maxPos})`);
        cacheRow = p * half;
      } else {
        cacheRow = (b * S + s) * half;
      }
      for (let h = 0; h < H; h++) {
        const base = rank === 4 ? ((b * H + h) * S + s) * D : (b * S + s) * H * D + h * D;
        for (let i = 0; i < half; i++) {
          const i1 = interleaved ? base + 2 * i : base + i;
          const i2 = interleaved ? base + 2 * i + 1 : base + i + half;
          const c = cos[cacheRow + i];
          const sn = sin[cacheRow + i];
          const x1 = x[i1];
          const x2 = x[i2];
          out[i1] = c * x1 - sn * x2;
          out[i2] = sn * x1 + c * x2;
        }
      }
    }
  }
  return [tensorFromComputed(X.type, out, X.dims)];
};

// ------------------------------------------------------------------------------------------
// LinearAttention
// ------------------------------------------------------------------------------------------

const linearAttentionKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const q = tensorAt(ctx, inputs, 0);
  const k = tensorAt(ctx, inputs, 1);
  const v = tensorAt(ctx, inputs, 2);
  const past = optionalTensorAt(ctx, inputs, 3);
  const decay = optionalTensorAt(ctx, inputs, 4);
  const beta = optionalTensorAt(ctx, inputs, 5);
  const erase = optionalTensorAt(ctx, inputs, 6);
  for (const [n, t] of [["query", q], ["key", k], ["value", v]] as const) {
    requireFloat(ctx, t, n);
    if (t.dims.length !== 3) throw ctx.fail(`${n} must be 3-D (B, T, H*D), got [${t.dims}]`);
  }
  const rule = ctx.attrs.string("update_rule", "gated_delta");
  if (rule !== "linear" && rule !== "gated" && rule !== "delta" && rule !== "gated_delta") {
    throw ctx.fail(`update_rule must be linear, gated, delta or gated_delta, got "${rule}"`);
  }
  const Hq = ctx.attrs.int("q_num_heads");
  const Hkv = ctx.attrs.int("kv_num_heads");
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv !== 0) {
    throw ctx.fail(`q_num_heads ${Hq} must be a positive multiple of kv_num_heads ${Hkv}`);
  }
  const gating = rule === "gated" || rule === "gated_delta";
  const deltaRule = rule === "delta" || rule === "gated_delta";
  if (gating !== (decay !== undefined)) {
    throw ctx.fail(`update_rule "${rule}" ${gating ? "requires" : "forbids"} the decay input`);
  }
  if (deltaRule !== (beta !== undefined)) {
    throw ctx.fail(`update_rule "${rule}" ${deltaRule ? "requires" : "forbids"} the beta input`);
  }
  if (erase && !deltaRule) throw ctx.fail(`update_rule "${rule}" forbids the erase_gate input`);
  const [B, T] = q.dims;
  if (q.dims[2] % Hq !== 0 || k.dims[2] % Hkv !== 0 || v.dims[2] % Hkv !== 0) {
    throw ctx.fail(
      `hidden sizes [${q.dims[2]}, ${k.dims[2]}, ${
        v.dims[2]
      }] do not split into ${Hq}/${Hkv} heads`,
    );
  }
  const dk = q.dims[2] / Hq;
  const dv = v.dims[2] / Hkv;
  if (k.dims[2] / Hkv !== dk) {
    throw ctx.fail(`key head size ${k.dims[2] / Hkv} differs from query head size ${dk}`);
  }
  for (const [n, t] of [["key", k], ["value", v]] as const) {
    if (t.dims[0] !== B || t.dims[1] !== T) {
      throw ctx.fail(`${n} has shape [${t.dims}], expected [${B},${T},...]`);
    }
  }
  const group = Hq / Hkv;
  let decayPerDim = false;
  if (decay) {
    if (decay.dims.length !== 3 || decay.dims[0] !== B || decay.dims[1] !== T) {
      throw ctx.fail(`decay has shape [${decay.dims}], expected [${B},${T},...]`);
    }
    if (decay.dims[2] === Hkv * dk && dk !== 1) decayPerDim = true;
    else if (decay.dims[2] !== Hkv) {
      throw ctx.fail(`decay's last dimension ${decay.dims[2]} must be ${Hkv} or ${Hkv * dk}`);
    }
  }
  let betaHeads = 0;
  if (beta) {
    if (beta.dims.length !== 3 || beta.dims[0] !== B || beta.dims[1] !== T) {
      throw ctx.fail(`beta has shape [${beta.dims}], expected [${B},${T},...]`);
    }
    betaHeads = beta.dims[2];
    if (betaHeads !== Hkv && betaHeads !== 1) {
      throw ctx.fail(`beta's last dimension ${betaHeads} must be ${Hkv} or 1`);
    }
  }
  if (erase && (erase.dims.length !== 3 || erase.dims[2] !== Hkv * dk)) {
    throw ctx.fail(`erase_gate has shape [${erase.dims}], expected [${B},${T},${Hkv * dk}]`);
  }
  const stateSize = B * Hkv * dk * dv;
  const S = past ? Float64Array.from(f64(past)) : new Float64Array(stateSize);
  if (
    past &&
    (past.dims.length !== 4 || past.dims[0] !== B || past.dims[1] !== Hkv || past.dims[2] !== dk ||
      past.dims[3] !== dv)
  ) {
    throw ctx.fail(`past_state has shape [${past.dims}], expected [${B},${Hkv},${dk},${dv}]`);
  }
  const scaleAttr = ctx.attrs.float("scale", 0);
  const scale = scaleAttr === 0 ? 1 / Math.sqrt(dk) : scaleAttr;
  const qv = f64(q);
  const kv = f64(k);
  const vv = f64(v);
  const dec = decay ? f64(decay) : undefined;
  const bet = beta ? f64(beta) : undefined;
  const er = erase ? f64(erase) : undefined;
  const out = new Float64Array(B * T * Hq * dv);
  const vt = new Float64Array(dv);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < Hkv; h++) {
        const s0 = (b * Hkv + h) * dk * dv;
        const kOff = (b * T + t) * Hkv * dk + h * dk;
        const vOff = (b * T + t) * Hkv * dv + h * dv;
        if (dec) {
          const dBase = (b * T + t) * decay!.dims[2];
          for (let i = 0; i < dk; i++) {
            const g = Math.exp(decayPerDim ? dec[dBase + h * dk + i] : dec[dBase + h]);
            for (let m = 0; m < dv; m++) S[s0 + i * dv + m] *= g;
          }
        }
        for (let m = 0; m < dv; m++) vt[m] = vv[vOff + m];
        if (bet) {
          const bt = bet[(b * T + t) * betaHeads + (betaHeads === 1 ? 0 : h)];
          for (let m = 0; m < dv; m++) {
            let r = 0;
            for (let i = 0; i < dk; i++) {
              const ki = er ? er[kOff + i] * kv[kOff + i] : kv[kOff + i];
              r += S[s0 + i * dv + m] * ki;
            }
            vt[m] = bt * (vt[m] - r);
          }
        }
        for (let i = 0; i < dk; i++) {
          const ki = kv[kOff + i];
          for (let m = 0; m < dv; m++) S[s0 + i * dv + m] += ki * vt[m];
        }
      }
      for (let hq = 0; hq < Hq; hq++) {
        const h = Math.floor(hq / group);
        const s0 = (b * Hkv + h) * dk * dv;
        const qOff = (b * T + t) * Hq * dk + hq * dk;
        const oOff = (b * T + t) * Hq * dv + hq * dv;
        for (let m = 0; m < dv; m++) {
          let acc = 0;
          for (let i = 0; i < dk; i++) acc += qv[qOff + i] * S[s0 + i * dv + m];
          out[oOff + m] = scale * acc;
        }
      }
    }
  }
  return [
    tensorFromComputed(q.type, out, [B, T, Hq * dv]),
    ctx.wantsOutput(1)
      ? tensorFromComputed(past ? past.type : q.type, S, [B, Hkv, dk, dv])
      : undefined,
  ];
};

function linearAttentionInfer(ctx: InferContext): (ValueType | undefined)[] {
  const q = tensorShape(ctx.input(0));
  const v = tensorShape(ctx.input(2));
  const Hq = ctx.attrs.has("q_num_heads") ? ctx.attrs.int("q_num_heads") : undefined;
  const Hkv = ctx.attrs.has("kv_num_heads") ? ctx.attrs.int("kv_num_heads") : undefined;
  const T = elemOf(ctx.input(0));
  const dk = q ? dimDiv(q[2], Hq) : undefined;
  const dv = v ? dimDiv(v[2], Hkv) : undefined;
  const past = ctx.input(3);
  return [
    { kind: "tensor", elemType: T, shape: q ? [q[0], q[1], dimMul(Hq, dv)] : undefined },
    {
      kind: "tensor",
      elemType: past ? elemOf(past) : T,
      shape: [q ? q[0] : undefined, Hkv, dk, dv],
    },
  ];
}

// ------------------------------------------------------------------------------------------
// CausalConvWithState
// ------------------------------------------------------------------------------------------

const causalConvKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const x = tensorAt(ctx, inputs, 0);
  const w = tensorAt(ctx, inputs, 1);
  const bias = optionalTensorAt(ctx, inputs, 2);
  const past = optionalTensorAt(ctx, inputs, 3);
  requireFloat(ctx, x, "input");
  const activation = ctx.attrs.string("activation", "none");
  if (activation !== "none" && activation !== "silu" && activation !== "swish") {
    throw ctx.fail(`activation must be none, silu or swish, got "${activation}"`);
  }
  if (x.dims.length !== 3) throw ctx.fail(`input must be 3-D (B, C, L), got [${x.dims}]`);
  const [B, C, L] = x.dims;
  if (w.dims.length !== 3 || w.dims[0] !== C || w.dims[1] !== 1) {
    throw ctx.fail(`weight has shape [${w.dims}], expected [${C},1,k]`);
  }
  const K = w.dims[2];
  if (K < 1) throw ctx.fail("kernel size must be at least 1");
  if (bias && (bias.dims.length !== 1 || bias.dims[0] !== C)) {
    throw ctx.fail(`bias has shape [${bias.dims}], expected [${C}]`);
  }
  if (
    past &&
    (past.dims.length !== 3 || past.dims[0] !== B || past.dims[1] !== C || past.dims[2] !== K - 1)
  ) {
    throw ctx.fail(`past_state has shape [${past.dims}], expected [${B},${C},${K - 1}]`);
  }
  const P = K - 1 + L;
  const xv = f64(x);
  const wv = f64(w);
  const bv = bias ? f64(bias) : undefined;
  const pv = past ? f64(past) : undefined;
  const padded = new Float64Array(B * C * P);
  for (let bc = 0; bc < B * C; bc++) {
    if (pv) padded.set(pv.subarray(bc * (K - 1), (bc + 1) * (K - 1)), bc * P);
    padded.set(xv.subarray(bc * L, (bc + 1) * L), bc * P + K - 1);
  }
  const out = new Float64Array(B * C * L);
  const silu = activation !== "none";
  // Round the convolution to the output type before the activation, as the function body does.
  const roundTo = x.type === "float64" ? undefined : x.type;
  const conv = new Float64Array(L);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * P;
      for (let t = 0; t < L; t++) {
        let acc = bv ? bv[c] : 0;
        for (let k = 0; k < K; k++) acc += wv[c * K + k] * padded[base + t + k];
        conv[t] = acc;
      }
      const rounded = silu && roundTo ? f64(tensorFromComputed(roundTo, conv, [L])) : conv;
      for (let t = 0; t < L; t++) {
        const v = rounded[t];
        out[(b * C + c) * L + t] = silu ? v * sigmoid(v) : v;
      }
    }
  }
  const state = new Float64Array(B * C * (K - 1));
  for (let bc = 0; bc < B * C; bc++) {
    state.set(padded.subarray(bc * P + P - (K - 1), (bc + 1) * P), bc * (K - 1));
  }
  return [
    tensorFromComputed(x.type, out, x.dims),
    ctx.wantsOutput(1) ? tensorFromComputed(x.type, state, [B, C, K - 1]) : undefined,
  ];
};

function causalConvInfer(ctx: InferContext): (ValueType | undefined)[] {
  const x = tensorShape(ctx.input(0));
  const w = tensorShape(ctx.input(1));
  const T = elemOf(ctx.input(0));
  const k = w ? w[2] : undefined;
  return [
    { kind: "tensor", elemType: T, shape: x },
    {
      kind: "tensor",
      elemType: T,
      shape: [
        x ? x[0] : undefined,
        x ? x[1] : undefined,
        typeof k === "number" ? k - 1 : undefined,
      ],
    },
  ];
}

// ------------------------------------------------------------------------------------------
// SwiGLU
// ------------------------------------------------------------------------------------------

const swigluKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const a = tensorAt(ctx, inputs, 0);
  const b = tensorAt(ctx, inputs, 1);
  requireFloat(ctx, a, "A");
  if (a.type !== b.type) throw ctx.fail(`A and B have different types ${a.type} and ${b.type}`);
  const alpha = ctx.attrs.float("alpha", 1);
  const dims = broadcastShapes(a.dims, b.dims);
  if (!dims) throw ctx.fail(`shapes [${a.dims}] and [${b.dims}] cannot be broadcast`);
  const n = shapeSize(dims);
  const ia = broadcastOffsets(a.dims, dims);
  const ib = broadcastOffsets(b.dims, dims);
  const av = numbersOf(a);
  const bv = numbersOf(b);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = av[ia ? ia[i] : i];
    out[i] = x * sigmoid(alpha * x) * bv[ib ? ib[i] : i];
  }
  return [tensorFromComputed(a.type, out, dims)];
};

function swigluInfer(ctx: InferContext): (ValueType | undefined)[] {
  const a = ctx.input(0);
  const b = ctx.input(1);
  const sa = tensorShape(a);
  const sb = tensorShape(b);
  let shape: Dim[] | undefined;
  if (sa && sb) {
    if (sa.every((d) => typeof d === "number") && sb.every((d) => typeof d === "number")) {
      shape = broadcastShapes(sa as number[], sb as number[]);
    } else if (sa.length === sb.length) {
      shape = sa.map((d, i) => (d === sb[i] ? d : d === 1 ? sb[i] : sb[i] === 1 ? d : undefined));
    }
  }
  return [{ kind: "tensor", elemType: elemOf(a), shape }];
}

// ------------------------------------------------------------------------------------------
// FlexAttention (ai.onnx.preview)
// ------------------------------------------------------------------------------------------

const flexAttentionKernel: OpDef["cpu"] = async (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const Q = tensorAt(ctx, inputs, 0);
  const K = tensorAt(ctx, inputs, 1);
  const V = tensorAt(ctx, inputs, 2);
  requireFloat(ctx, Q, "Q");
  if (Q.dims.length !== 4 || K.dims.length !== 4 || V.dims.length !== 4) {
    throw ctx.fail(`Q, K and V must be 4-D, got [${Q.dims}], [${K.dims}], [${V.dims}]`);
  }
  if (K.type !== Q.type || V.type !== Q.type) {
    throw ctx.fail("Q, K and V must have the same element type");
  }
  const [B, Hq, Lq, E] = Q.dims;
  const [, Hkv, S] = K.dims;
  const Ev = V.dims[3];
  if (
    K.dims[0] !== B || V.dims[0] !== B || K.dims[3] !== E || V.dims[1] !== Hkv || V.dims[2] !== S
  ) {
    throw ctx.fail(`incompatible shapes Q [${Q.dims}], K [${K.dims}], V [${V.dims}]`);
  }
  if (Hkv <= 0 || Hq % Hkv !== 0) {
    throw ctx.fail(`q_num_heads ${Hq} is not a multiple of kv_num_heads ${Hkv}`);
  }
  const group = Hq / Hkv;
  const scale = ctx.attrs.has("scale") ? ctx.attrs.float("scale") : 1 / Math.sqrt(E);
  let precision: DataType = Q.type === "float64" ? "float64" : "float32";
  if (ctx.attrs.has("softmax_precision")) {
    const code = ctx.attrs.int("softmax_precision");
    const t = dataTypeFromCode(code);
    if (!t || !isFloatType(t)) throw ctx.fail(`softmax_precision ${code} is not a float type`);
    precision = t;
  }
  const qv = f64(Q);
  const kv = f64(K);
  const vv = f64(V);
  // K^T per kv head.
  const kT = new Float64Array(B * Hkv * E * S);
  for (let bh = 0; bh < B * Hkv; bh++) {
    for (let j = 0; j < S; j++) {
      for (let d = 0; d < E; d++) kT[bh * E * S + d * S + j] = kv[(bh * S + j) * E + d];
    }
  }
  let scores: Float64Array = new Float64Array(B * Hq * Lq * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group);
      gemm(
        Lq,
        S,
        E,
        { data: qv, offset: (b * Hq + h) * Lq * E, ld: E },
        {
          data: kT,
          offset: (b * Hkv + kh) * E * S,
          ld: S,
        },
        { data: scores, offset: (b * Hq + h) * Lq * S, ld: S },
        { alpha: scale },
      );
    }
  }
  const sDims = [B, Hq, Lq, S];
  const applyMod = async (name: string, values: Float64Array): Promise<Float64Array> => {
    const g = ctx.attrs.graph(name);
    if (!g) return values;
    const [r] = await ctx.runGraph(g, [tensorFromComputed(precision, values, sDims)]);
    if (!(r instanceof Tensor)) throw ctx.fail(`${name} must produce a tensor`);
    if (r.size !== values.length) {
      throw ctx.fail(`${name} produced shape [${r.dims}], expected [${sDims}]`);
    }
    return f64(r);
  };
  // Round to the softmax precision (the type the modifier subgraphs see).
  const roundPrecision = (values: Float64Array) =>
    precision === "float64" ? values : f64(tensorFromComputed(precision, values, sDims));
  scores = roundPrecision(scores);
  scores = Float64Array.from(await applyMod("score_mod", scores));
  for (let r = 0; r < B * Hq * Lq; r++) softmaxInPlace(scores, r * S, S);
  let probs = roundPrecision(scores);
  probs = await applyMod("prob_mod", probs);
  const y = new Float64Array(B * Hq * Lq * Ev);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group);
      gemm(Lq, Ev, S, { data: probs, offset: (b * Hq + h) * Lq * S, ld: S }, {
        data: vv,
        offset: (b * Hkv + kh) * S * Ev,
        ld: Ev,
      }, { data: y, offset: (b * Hq + h) * Lq * Ev, ld: Ev });
    }
  }
  return [tensorFromComputed(Q.type, y, [B, Hq, Lq, Ev])];
};

function flexAttentionInfer(ctx: InferContext): (ValueType | undefined)[] {
  const q = tensorShape(ctx.input(0));
  const v = tensorShape(ctx.input(2));
  return [{
    kind: "tensor",
    elemType: elemOf(ctx.input(0)),
    shape: q && v ? [q[0], q[1], q[2], v[3]] : undefined,
  }];
}

/** The attention-family declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Attention",
    versions: [23, 24],
    cpu: attentionKernel,
    infer: attentionInfer,
  },
  {
    domain: "",
    opType: "RotaryEmbedding",
    versions: [23],
    cpu: rotaryKernel,
    infer: (ctx) => [ctx.input(0)],
  },
  {
    domain: "",
    opType: "LinearAttention",
    versions: [27],
    cpu: linearAttentionKernel,
    infer: linearAttentionInfer,
  },
  {
    domain: "",
    opType: "CausalConvWithState",
    versions: [27],
    cpu: causalConvKernel,
    infer: causalConvInfer,
  },
  { domain: "", opType: "SwiGLU", versions: [28], cpu: swigluKernel, infer: swigluInfer },
  {
    domain: "ai.onnx.preview",
    opType: "FlexAttention",
    versions: [1],
    cpu: flexAttentionKernel,
    infer: flexAttentionInfer,
  },
];
