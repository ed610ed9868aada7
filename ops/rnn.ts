/**
 * Recurrent networks: RNN, GRU and LSTM (ai.onnx), every direction, both layouts (opset 14),
 * the activation functions the spec lists with their alpha/beta parameters, clip,
 * per-batch sequence lengths, initial states, peepholes, input_forget and
 * linear_before_reset. Every version computes in float64 and encodes the output in the
 * input's element type (float16/bfloat16 included). Matrix products go through `gemm`.
 *
 * @module
 */

import type { DataType } from "../pipeline/tensor/dtype.ts";
import type { Tensor, Value } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import { gemm } from "../pipeline/run/cpu/gemm.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  isFloatType,
  numbersOf,
  optionalTensorAt,
  tensorAt,
  tensorFromComputed,
  toIntArray,
} from "./util.ts";

/** The three recurrent cell kinds. */
type CellKind = "RNN" | "GRU" | "LSTM";

/** Activation function codes, applied by {@link applyActivation}. */
const enum Act {
  Relu,
  Tanh,
  Sigmoid,
  Affine,
  LeakyRelu,
  ThresholdedRelu,
  ScaledTanh,
  HardSigmoid,
  Elu,
  Softsign,
  Softplus,
}

/** One resolved activation: the function and its two parameters. */
interface Activation {
  act: Act;
  alpha: number;
  beta: number;
}

/** Name (lower case) → code, how many alpha and beta values it takes, and their defaults. */
const ACTIVATIONS: ReadonlyMap<
  string,
  { act: Act; nAlpha: number; nBeta: number; alpha: number; beta: number }
> = new Map([
  ["relu", { act: Act.Relu, nAlpha: 0, nBeta: 0, alpha: 0, beta: 0 }],
  ["tanh", { act: Act.Tanh, nAlpha: 0, nBeta: 0, alpha: 0, beta: 0 }],
  ["sigmoid", { act: Act.Sigmoid, nAlpha: 0, nBeta: 0, alpha: 0, beta: 0 }],
  ["affine", { act: Act.Affine, nAlpha: 1, nBeta: 1, alpha: 1, beta: 0 }],
  ["leakyrelu", { act: Act.LeakyRelu, nAlpha: 1, nBeta: 0, alpha: 0.01, beta: 0 }],
  ["thresholdedrelu", { act: Act.ThresholdedRelu, nAlpha: 1, nBeta: 0, alpha: 1, beta: 0 }],
  ["scaledtanh", { act: Act.ScaledTanh, nAlpha: 1, nBeta: 1, alpha: 1, beta: 1 }],
  ["hardsigmoid", { act: Act.HardSigmoid, nAlpha: 1, nBeta: 1, alpha: 0.2, beta: 0.5 }],
  ["elu", { act: Act.Elu, nAlpha: 1, nBeta: 0, alpha: 1, beta: 0 }],
  ["softsign", { act: Act.Softsign, nAlpha: 0, nBeta: 0, alpha: 0, beta: 0 }],
  ["softplus", { act: Act.Softplus, nAlpha: 0, nBeta: 0, alpha: 0, beta: 0 }],
]);

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Applies `a` in place to `data[off .. off+n)` with stride `step`. */
function applyActivation(
  a: Activation,
  data: Float64Array,
  off: number,
  n: number,
  step = 1,
): void {
  const end = off + n * step;
  const { alpha, beta } = a;
  switch (a.act) {
    case Act.Relu:
      for (let i = off; i < end; i += step) data[i] = data[i] > 0 ? data[i] : 0;
      return;
    case Act.Tanh:
      for (let i = off; i < end; i += step) data[i] = Math.tanh(data[i]);
      return;
    case Act.Sigmoid:
      for (let i = off; i < end; i += step) data[i] = sigmoid(data[i]);
      return;
    case Act.Affine:
      for (let i = off; i < end; i += step) data[i] = alpha * data[i] + beta;
      return;
    case Act.LeakyRelu:
      for (let i = off; i < end; i += step) data[i] = data[i] >= 0 ? data[i] : alpha * data[i];
      return;
    case Act.ThresholdedRelu:
      for (let i = off; i < end; i += step) data[i] = data[i] > alpha ? data[i] : 0;
      return;
    case Act.ScaledTanh:
      for (let i = off; i < end; i += step) data[i] = alpha * Math.tanh(beta * data[i]);
      return;
    case Act.HardSigmoid:
      for (let i = off; i < end; i += step) {
        data[i] = Math.max(0, Math.min(1, alpha * data[i] + beta));
      }
      return;
    case Act.Elu:
      for (let i = off; i < end; i += step) {
        data[i] = data[i] >= 0 ? data[i] : alpha * (Math.exp(data[i]) - 1);
      }
      return;
    case Act.Softsign:
      for (let i = off; i < end; i += step) data[i] = data[i] / (1 + Math.abs(data[i]));
      return;
    case Act.Softplus:
      for (let i = off; i < end; i += step) {
        const x = data[i];
        data[i] = x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
      }
      return;
  }
}

/** Clips `data[off .. off+n)` to [-clip, clip] when clip is set. */
function clipRange(data: Float64Array, off: number, n: number, clip: number): void {
  if (!(clip > 0) || clip === Infinity) return;
  for (let i = off; i < off + n; i++) {
    const v = data[i];
    data[i] = v < -clip ? -clip : v > clip ? clip : v;
  }
}

/** Default activations per direction. */
const DEFAULT_ACTS: Record<CellKind, string[]> = {
  RNN: ["Tanh"],
  GRU: ["Sigmoid", "Tanh"],
  LSTM: ["Sigmoid", "Tanh", "Tanh"],
};

/** Gates per cell kind (rows of W per direction = gates × hidden). */
const GATES: Record<CellKind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

/** Resolves the activation attributes into `dirs` lists of per-direction activations. */
function resolveActivations(ctx: OpContext, kind: CellKind, dirs: number): Activation[][] {
  const per = DEFAULT_ACTS[kind].length;
  let names = ctx.attrs.strings("activations", []);
  if (names.length === 0) {
    names = dirs === 2 ? [...DEFAULT_ACTS[kind], ...DEFAULT_ACTS[kind]] : DEFAULT_ACTS[kind];
  } else if (names.length === per && dirs === 2) names = [...names, ...names];
  if (names.length !== per * dirs) {
    throw ctx.fail(`activations lists ${names.length} functions, expected ${per * dirs}`);
  }
  const alphas = ctx.attrs.floats("activation_alpha", []);
  const betas = ctx.attrs.floats("activation_beta", []);
  let ai = 0;
  let bi = 0;
  const out: Activation[][] = [];
  for (let d = 0; d < dirs; d++) {
    const list: Activation[] = [];
    for (let k = 0; k < per; k++) {
      const name = names[d * per + k];
      const spec = ACTIVATIONS.get(name.toLowerCase());
      if (!spec) throw ctx.unsupported(`activation function "${name}" is not supported`);
      let alpha = spec.alpha;
      let beta = spec.beta;
      if (spec.nAlpha > 0 && ai < alphas.length) alpha = alphas[ai++];
      if (spec.nBeta > 0 && bi < betas.length) beta = betas[bi++];
      list.push({ act: spec.act, alpha, beta });
    }
    out.push(list);
  }
  return out;
}

/** Reads a float tensor as float64 values. */
function f64(t: Tensor): Float64Array {
  const n = numbersOf(t);
  return n instanceof Float64Array ? n : Float64Array.from(n);
}

/** Everything a direction's loop needs, shared by the three cell kinds. */
interface RnnProblem {
  kind: CellKind;
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  dirs: number;
  layout: number;
  /** Per-batch valid lengths. */
  lens: Int32Array;
  clip: number;
  acts: Activation[][];
  linearBeforeReset: boolean;
  inputForget: boolean;
  x: Float64Array;
  w: Float64Array;
  r: Float64Array;
  b?: Float64Array;
  p?: Float64Array;
  h0?: Float64Array;
  c0?: Float64Array;
  /** Outputs (allocated when wanted). */
  y?: Float64Array;
  yh: Float64Array;
  yc?: Float64Array;
}

/** Runs one direction `d` (0 forward, 1 reverse for bidirectional; `reverse` for direction="reverse"). */
function runDirection(pr: RnnProblem, d: number, reverse: boolean): void {
  const { kind, seq, batch, input, hidden: H, dirs, layout, lens, clip } = pr;
  const G = GATES[kind];
  const GH = G * H;
  const acts = pr.acts[d];
  // XW[row, :] = X[row, :] · W_d^T, rows in the input's own (layout) order.
  const rows = seq * batch;
  const xw = new Float64Array(rows * GH);
  gemm(rows, GH, input, { data: pr.x, ld: input }, {
    data: pr.w,
    offset: d * GH * input,
    ld: input,
    trans: true,
  }, { data: xw, ld: GH });
  // Biases: Wb (added to XW for every gate) and Rb (added per gate below).
  const wb = new Float64Array(GH);
  const rb = new Float64Array(GH);
  if (pr.b) {
    for (let j = 0; j < GH; j++) {
      wb[j] = pr.b[d * 2 * GH + j];
      rb[j] = pr.b[d * 2 * GH + GH + j];
    }
  }
  // R_d is [GH, H] row-major: used as the transposed B of H_prev · R_d^T (gate g's columns
  // are rows g·H… of R_d).
  const rOff = d * GH * H;
  // State.
  const h = new Float64Array(batch * H);
  const c = kind === "LSTM" ? new Float64Array(batch * H) : undefined;
  const hStateIdx = (b: number) => (layout === 0 ? (d * batch + b) * H : (b * dirs + d) * H);
  if (pr.h0) {
    for (let b = 0; b < batch; b++) h.set(pr.h0.subarray(hStateIdx(b), hStateIdx(b) + H), b * H);
  }
  if (c && pr.c0) {
    for (let b = 0; b < batch; b++) c.set(pr.c0.subarray(hStateIdx(b), hStateIdx(b) + H), b * H);
  }
  const pi = pr.p ? d * 3 * H : -1;
  const gates = new Float64Array(batch * GH);
  const hr = kind === "GRU" && !pr.linearBeforeReset ? new Float64Array(batch * H) : undefined;
  const hrr = hr ? new Float64Array(batch * H) : undefined;
  const active = new Uint8Array(batch);
  const tOf = new Int32Array(batch);
  let maxLen = 0;
  for (let b = 0; b < batch; b++) maxLen = Math.max(maxLen, lens[b]);
  const [fAct, gAct, hAct] = acts;
  for (let s = 0; s < maxLen; s++) {
    for (let b = 0; b < batch; b++) {
      active[b] = s < lens[b] ? 1 : 0;
      tOf[b] = reverse ? lens[b] - 1 - s : s;
    }
    // gates = H_prev · R^T (GRU without linear_before_reset: only the z and r columns now).
    const nCols = hr ? 2 * H : GH;
    gemm(batch, nCols, H, { data: h, ld: H }, { data: pr.r, offset: rOff, ld: H, trans: true }, {
      data: gates,
      ld: GH,
    });
    for (let b = 0; b < batch; b++) {
      if (!active[b]) continue;
      const t = tOf[b];
      const xRow = (layout === 0 ? t * batch + b : b * seq + t) * GH;
      const g0 = b * GH;
      const hb = b * H;
      if (kind === "RNN") {
        for (let j = 0; j < H; j++) gates[g0 + j] += xw[xRow + j] + wb[j] + rb[j];
        clipRange(gates, g0, H, clip);
        applyActivation(fAct, gates, g0, H);
        for (let j = 0; j < H; j++) h[hb + j] = gates[g0 + j];
      } else if (kind === "GRU") {
        // z, r
        for (let j = 0; j < 2 * H; j++) gates[g0 + j] += xw[xRow + j] + wb[j] + rb[j];
        clipRange(gates, g0, 2 * H, clip);
        applyActivation(fAct, gates, g0, 2 * H);
        if (hr) {
          for (let j = 0; j < H; j++) hr[hb + j] = gates[g0 + H + j] * h[hb + j];
        } else {
          for (let j = 0; j < H; j++) {
            gates[g0 + 2 * H + j] = xw[xRow + 2 * H + j] + wb[2 * H + j] +
              gates[g0 + H + j] * (gates[g0 + 2 * H + j] + rb[2 * H + j]);
          }
        }
      } else {
        for (let j = 0; j < GH; j++) gates[g0 + j] += xw[xRow + j] + wb[j] + rb[j];
        // Gate order i, o, f, c; peepholes Pi, Po, Pf.
        const cb = b * H;
        if (pr.p) {
          for (let j = 0; j < H; j++) {
            gates[g0 + j] += pr.p[pi + j] * c![cb + j];
            gates[g0 + 2 * H + j] += pr.p[pi + 2 * H + j] * c![cb + j];
          }
        }
        clipRange(gates, g0, H, clip); // i
        clipRange(gates, g0 + 2 * H, 2 * H, clip); // f, c~
        applyActivation(fAct, gates, g0, H); // i
        if (pr.inputForget) {
          for (let j = 0; j < H; j++) gates[g0 + 2 * H + j] = 1 - gates[g0 + j];
        } else {
          applyActivation(fAct, gates, g0 + 2 * H, H); // f
        }
        applyActivation(gAct, gates, g0 + 3 * H, H); // c~
        for (let j = 0; j < H; j++) {
          c![cb + j] = gates[g0 + 2 * H + j] * c![cb + j] + gates[g0 + j] * gates[g0 + 3 * H + j];
        }
        if (pr.p) {
          for (let j = 0; j < H; j++) gates[g0 + H + j] += pr.p[pi + H + j] * c![cb + j];
        }
        clipRange(gates, g0 + H, H, clip);
        applyActivation(fAct, gates, g0 + H, H); // o
        for (let j = 0; j < H; j++) gates[g0 + j] = c![cb + j];
        applyActivation(hAct, gates, g0, H);
        for (let j = 0; j < H; j++) h[hb + j] = gates[g0 + H + j] * gates[g0 + j];
      }
    }
    if (kind === "GRU") {
      if (hr) {
        // (r ⊙ H_prev) · Rh^T, then h~ = g(XWh + Wbh + that + Rbh).
        gemm(batch, H, H, { data: hr, ld: H }, {
          data: pr.r,
          offset: rOff + 2 * H * H,
          ld: H,
          trans: true,
        }, {
          data: hrr!,
          ld: H,
        });
        for (let b = 0; b < batch; b++) {
          if (!active[b]) continue;
          const t = tOf[b];
          const xRow = (layout === 0 ? t * batch + b : b * seq + t) * GH;
          const g0 = b * GH;
          for (let j = 0; j < H; j++) {
            gates[g0 + 2 * H + j] = xw[xRow + 2 * H + j] + wb[2 * H + j] + hrr![b * H + j] +
              rb[2 * H + j];
          }
        }
      }
      for (let b = 0; b < batch; b++) {
        if (!active[b]) continue;
        const g0 = b * GH;
        const hb = b * H;
        clipRange(gates, g0 + 2 * H, H, clip);
        applyActivation(gAct, gates, g0 + 2 * H, H);
        for (let j = 0; j < H; j++) {
          const z = gates[g0 + j];
          h[hb + j] = (1 - z) * gates[g0 + 2 * H + j] + z * h[hb + j];
        }
      }
    }
    if (pr.y) {
      for (let b = 0; b < batch; b++) {
        if (!active[b]) continue;
        const t = tOf[b];
        const yo = layout === 0 ? ((t * dirs + d) * batch + b) * H : ((b * seq + t) * dirs + d) * H;
        pr.y.set(h.subarray(b * H, b * H + H), yo);
      }
    }
  }
  for (let b = 0; b < batch; b++) {
    pr.yh.set(h.subarray(b * H, b * H + H), hStateIdx(b));
    if (pr.yc && c) pr.yc.set(c.subarray(b * H, b * H + H), hStateIdx(b));
  }
}

/** The shared kernel for RNN, GRU and LSTM. */
function recurrentKernel(kind: CellKind): OpDef["cpu"] {
  return (ctx: OpContext, inputs: (Value | undefined)[]) => {
    const X = tensorAt(ctx, inputs, 0);
    const W = tensorAt(ctx, inputs, 1);
    const R = tensorAt(ctx, inputs, 2);
    const B = optionalTensorAt(ctx, inputs, 3);
    const seqLens = optionalTensorAt(ctx, inputs, 4);
    const H0 = optionalTensorAt(ctx, inputs, 5);
    const C0 = kind === "LSTM" ? optionalTensorAt(ctx, inputs, 6) : undefined;
    const P = kind === "LSTM" ? optionalTensorAt(ctx, inputs, 7) : undefined;
    const type: DataType = X.type;
    if (!isFloatType(type)) throw ctx.unsupported(`${kind} does not accept ${type}`, type);
    for (
      const [name, t] of [["W", W], ["R", R], ["B", B], ["initial_h", H0], ["initial_c", C0], [
        "P",
        P,
      ]] as const
    ) {
      if (t && t.type !== type) {
        throw ctx.fail(`${name} has type ${t.type}, expected ${type} like X`);
      }
    }
    const layout = ctx.version >= 14 ? ctx.attrs.int("layout", 0) : 0;
    if (layout !== 0 && layout !== 1) throw ctx.fail(`layout must be 0 or 1, got ${layout}`);
    if (X.dims.length !== 3) throw ctx.fail(`X must have rank 3, got [${X.dims}]`);
    const seq = layout === 0 ? X.dims[0] : X.dims[1];
    const batch = layout === 0 ? X.dims[1] : X.dims[0];
    const inputSize = X.dims[2];
    const direction = ctx.attrs.string("direction", "forward");
    if (direction !== "forward" && direction !== "reverse" && direction !== "bidirectional") {
      throw ctx.fail(`direction must be forward, reverse or bidirectional, got "${direction}"`);
    }
    const dirs = direction === "bidirectional" ? 2 : 1;
    const G = GATES[kind];
    if (R.dims.length !== 3) throw ctx.fail(`R must have rank 3, got [${R.dims}]`);
    const hidden = ctx.attrs.int("hidden_size", R.dims[2]);
    if (
      W.dims.length !== 3 || W.dims[0] !== dirs || W.dims[1] !== G * hidden ||
      W.dims[2] !== inputSize
    ) {
      throw ctx.fail(`W has shape [${W.dims}], expected [${dirs},${G * hidden},${inputSize}]`);
    }
    if (R.dims[0] !== dirs || R.dims[1] !== G * hidden || R.dims[2] !== hidden) {
      throw ctx.fail(`R has shape [${R.dims}], expected [${dirs},${G * hidden},${hidden}]`);
    }
    if (B && B.size !== dirs * 2 * G * hidden) {
      throw ctx.fail(`B has shape [${B.dims}], expected [${dirs},${2 * G * hidden}]`);
    }
    if (P && P.size !== dirs * 3 * hidden) {
      throw ctx.fail(`P has shape [${P.dims}], expected [${dirs},${3 * hidden}]`);
    }
    const stateDims = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
    for (const [name, t] of [["initial_h", H0], ["initial_c", C0]] as const) {
      if (t && (t.dims.length !== 3 || t.dims.some((v, i) => v !== stateDims[i]))) {
        throw ctx.fail(`${name} has shape [${t.dims}], expected [${stateDims}]`);
      }
    }
    const lens = new Int32Array(batch).fill(seq);
    if (seqLens) {
      const l = toIntArray(seqLens);
      if (l.length !== batch) {
        throw ctx.fail(`sequence_lens has ${l.length} values, expected ${batch}`);
      }
      for (let b = 0; b < batch; b++) {
        if (l[b] < 0 || l[b] > seq) {
          throw ctx.fail(`sequence_lens[${b}] = ${l[b]} is outside [0, ${seq}]`);
        }
        lens[b] = l[b];
      }
    }
    const clip = ctx.attrs.has("clip") ? ctx.attrs.float("clip") : Infinity;
    const linearBeforeReset = kind === "GRU" && ctx.version >= 3 &&
      ctx.attrs.int("linear_before_reset", 0) !== 0;
    const inputForget = kind === "LSTM" && ctx.attrs.int("input_forget", 0) !== 0;
    const yDims = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
    const pr: RnnProblem = {
      kind,
      seq,
      batch,
      input: inputSize,
      hidden,
      dirs,
      layout,
      lens,
      clip,
      acts: resolveActivations(ctx, kind, dirs),
      linearBeforeReset,
      inputForget,
      x: f64(X),
      w: f64(W),
      r: f64(R),
      b: B ? f64(B) : undefined,
      p: P ? f64(P) : undefined,
      h0: H0 ? f64(H0) : undefined,
      c0: C0 ? f64(C0) : undefined,
      y: ctx.wantsOutput(0) ? new Float64Array(seq * dirs * batch * hidden) : undefined,
      yh: new Float64Array(dirs * batch * hidden),
      yc: kind === "LSTM" ? new Float64Array(dirs * batch * hidden) : undefined,
    };
    if (dirs === 2) {
      runDirection(pr, 0, false);
      runDirection(pr, 1, true);
    } else {
      runDirection(pr, 0, direction === "reverse");
    }
    const out: (Value | undefined)[] = [
      pr.y ? tensorFromComputed(type, pr.y, yDims) : undefined,
      ctx.wantsOutput(1) ? tensorFromComputed(type, pr.yh, stateDims) : undefined,
    ];
    if (kind === "LSTM") {
      out.push(ctx.wantsOutput(2) ? tensorFromComputed(type, pr.yc!, stateDims) : undefined);
    }
    return out;
  };
}

/** Shape inference shared by the three kinds. */
function recurrentInfer(kind: CellKind): (ctx: InferContext) => (ValueType | undefined)[] {
  return (ctx) => {
    const x = ctx.input(0);
    const elemType = x?.kind === "tensor" ? x.elemType : undefined;
    const xs = x?.kind === "tensor" ? x.shape : undefined;
    const layout = ctx.version >= 14 ? ctx.attrs.int("layout", 0) : 0;
    const direction = ctx.attrs.string("direction", "forward");
    const dirs = direction === "bidirectional" ? 2 : 1;
    let hidden: Dim = ctx.attrs.has("hidden_size") ? ctx.attrs.int("hidden_size") : undefined;
    if (hidden === undefined) {
      const r = ctx.input(2);
      if (r?.kind === "tensor" && r.shape && r.shape.length === 3) hidden = r.shape[2];
    }
    const seq: Dim = xs && xs.length === 3 ? (layout === 0 ? xs[0] : xs[1]) : undefined;
    const batch: Dim = xs && xs.length === 3 ? (layout === 0 ? xs[1] : xs[0]) : undefined;
    const y: ValueType = {
      kind: "tensor",
      elemType,
      shape: layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden],
    };
    const state: ValueType = {
      kind: "tensor",
      elemType,
      shape: layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden],
    };
    return kind === "LSTM" ? [y, state, state] : [y, state];
  };
}

/** RNN, GRU and LSTM declarations. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "RNN",
    versions: [1, 7, 14, 22],
    cpu: recurrentKernel("RNN"),
    infer: recurrentInfer("RNN"),
  },
  {
    domain: "",
    opType: "GRU",
    versions: [1, 3, 7, 14, 22],
    cpu: recurrentKernel("GRU"),
    infer: recurrentInfer("GRU"),
  },
  {
    domain: "",
    opType: "LSTM",
    versions: [1, 7, 14, 22],
    cpu: recurrentKernel("LSTM"),
    infer: recurrentInfer("LSTM"),
  },
];
