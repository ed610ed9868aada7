/**
 * RNN, GRU and LSTM (float32) on the GPU: one `rnn.wgsl` dispatch per time step (two for a
 * GRU without linear_before_reset) covering every direction, batch entry and hidden unit,
 * all encoded into the run's command encoder. Every direction, both layouts, the spec's
 * activation functions with alpha/beta (the same for both directions), clip, per-batch
 * sequence lengths, initial states, peepholes and input_forget run here, as in the CPU
 * kernel; the states of all steps are kept so that Y is assembled in one pass at the end.
 *
 * @module
 */

import { toIntArray } from "../../../../ops/util.ts";
import { Tensor } from "../../../tensor/tensor.ts";
import {
  GpuDecline,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  UniformWriter,
} from "../kernel.ts";
import { COPY_MODE, runCopy } from "./movement.ts";

const WG = 64;

type CellKind = "RNN" | "GRU" | "LSTM";

const GATES: Record<CellKind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const KIND_CODE: Record<CellKind, number> = { RNN: 0, GRU: 1, LSTM: 2 };
const DEFAULT_ACTS: Record<CellKind, string[]> = {
  RNN: ["Tanh"],
  GRU: ["Sigmoid", "Tanh"],
  LSTM: ["Sigmoid", "Tanh", "Tanh"],
};

/** Activation name → shader code, parameter counts and defaults (as the CPU kernel reads them). */
const ACTIVATIONS: Record<string, [number, number, number, number, number]> = {
  relu: [0, 0, 0, 0, 0],
  tanh: [1, 0, 0, 0, 0],
  sigmoid: [2, 0, 0, 0, 0],
  affine: [3, 1, 1, 1, 0],
  leakyrelu: [4, 1, 0, 0.01, 0],
  thresholdedrelu: [5, 1, 0, 1, 0],
  scaledtanh: [6, 1, 1, 1, 1],
  hardsigmoid: [7, 1, 1, 0.2, 0.5],
  elu: [8, 1, 0, 1, 0],
  softsign: [9, 0, 0, 0, 0],
  softplus: [10, 0, 0, 0, 0],
};

interface Act {
  code: number;
  alpha: number;
  beta: number;
}

/** The activations of each direction; a string when the CPU would reject them. */
function activations(attrs: NodeView["attrs"], kind: CellKind, dirs: number): Act[][] | string {
  const per = DEFAULT_ACTS[kind].length;
  let names = attrs.strings("activations", []);
  if (names.length === 0) {
    names = dirs === 2 ? [...DEFAULT_ACTS[kind], ...DEFAULT_ACTS[kind]] : DEFAULT_ACTS[kind];
  } else if (names.length === per && dirs === 2) names = [...names, ...names];
  if (names.length !== per * dirs) return "activation count";
  const alphas = attrs.floats("activation_alpha", []);
  const betas = attrs.floats("activation_beta", []);
  let ai = 0, bi = 0;
  const out: Act[][] = [];
  for (let d = 0; d < dirs; d++) {
    const list: Act[] = [];
    for (let k = 0; k < per; k++) {
      const spec = ACTIVATIONS[names[d * per + k].toLowerCase()];
      if (!spec) return `activation ${names[d * per + k]}`;
      const [code, nA, nB, a0, b0] = spec;
      let alpha = a0, beta = b0;
      if (nA > 0 && ai < alphas.length) alpha = alphas[ai++];
      if (nB > 0 && bi < betas.length) beta = betas[bi++];
      list.push({ code, alpha, beta });
    }
    out.push(list);
  }
  return out;
}

interface Shape {
  layout: number;
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  dirs: number;
  direction: string;
}

/** Shapes and attributes checked as the CPU kernel checks them. */
function problem(
  node: NodeView | KernelContext,
  kind: CellKind,
  metas: readonly ({ dims: readonly number[] } | undefined)[],
): Shape | string {
  const [X, W, R, B, , H0, C0, P] = metas;
  if (!X || !W || !R) return "an input is missing";
  const layout = node.version >= 14 ? node.attrs.int("layout", 0) : 0;
  if (layout !== 0 && layout !== 1) return "layout";
  if (X.dims.length !== 3 || R.dims.length !== 3 || W.dims.length !== 3) return "ranks";
  const seq = layout === 0 ? X.dims[0] : X.dims[1];
  const batch = layout === 0 ? X.dims[1] : X.dims[0];
  const input = X.dims[2];
  const direction = node.attrs.string("direction", "forward");
  if (!["forward", "reverse", "bidirectional"].includes(direction)) return "direction";
  const dirs = direction === "bidirectional" ? 2 : 1;
  const G = GATES[kind];
  const hidden = node.attrs.int("hidden_size", R.dims[2]);
  if (W.dims[0] !== dirs || W.dims[1] !== G * hidden || W.dims[2] !== input) return "W's shape";
  if (R.dims[0] !== dirs || R.dims[1] !== G * hidden || R.dims[2] !== hidden) return "R's shape";
  const size = (t: { dims: readonly number[] }) => t.dims.reduce((a, b) => a * b, 1);
  if (B && size(B) !== dirs * 2 * G * hidden) return "B's shape";
  if (P && size(P) !== dirs * 3 * hidden) return "P's shape";
  const stateDims = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
  for (const t of [H0, C0]) {
    if (t && (t.dims.length !== 3 || t.dims.some((v, i) => v !== stateDims[i]))) {
      return "initial state's shape";
    }
  }
  return { layout, seq, batch, input, hidden, dirs, direction };
}

function recurrentKernel(kind: CellKind): GpuKernel {
  const stateInputs = kind === "LSTM" ? [5, 6, 7] : [5];
  return {
    host: [4],
    heavy: true,
    supports(node) {
      for (const i of [0, 1, 2, 3, ...stateInputs]) {
        const t = node.inputs[i];
        if (t && t.type !== "float32") return `${kind} runs on the GPU for float32 only`;
      }
      const lens = node.inputs[4];
      if (lens && lens.type !== "int32" && lens.type !== "int64") return "sequence_lens type";
      const p = problem(node, kind, node.inputs);
      if (typeof p === "string") return `shapes or attributes the CPU reports on (${p})`;
      const acts = activations(node.attrs, kind, p.dirs);
      if (typeof acts === "string") return acts;
      if (acts.length === 2 && JSON.stringify(acts[0]) !== JSON.stringify(acts[1])) {
        return "different activations per direction";
      }
      return true;
    },
    async run(k, inputs) {
      const [x, w, r, b, lensT, h0] = inputs;
      const c0 = kind === "LSTM" ? inputs[6] : undefined;
      const peep = kind === "LSTM" ? inputs[7] : undefined;
      const p = problem(k, kind, inputs) as Shape;
      const { layout, seq, batch, input, hidden: H, dirs } = p;
      const lens = new Int32Array(batch).fill(seq);
      if (lensT) {
        const l = toIntArray(lensT);
        if (l.length !== batch || l.some((v) => v < 0 || v > seq)) {
          throw new GpuDecline("sequence_lens the CPU rejects");
        }
        lens.set(l);
      }
      const maxLen = Math.max(0, ...lens);
      if (maxLen === 0 || H === 0) throw new GpuDecline("no step to run");
      const acts = activations(k.attrs, kind, dirs) as Act[][];
      const [fa, ga, ha] = [acts[0][0], acts[0][1] ?? acts[0][0], acts[0][2] ?? acts[0][0]];
      const clipAttr = k.attrs.has("clip") ? k.attrs.float("clip") : 0;
      const clip = clipAttr > 0 && clipAttr !== Infinity ? clipAttr : 0;
      const lbr = kind === "GRU" && k.version >= 3 && k.attrs.int("linear_before_reset", 0) !== 0;
      const twoPhase = kind === "GRU" && !lbr;
      const reverseMask = p.direction === "reverse" ? 1 : p.direction === "bidirectional" ? 2 : 0;
      const slice = dirs * batch * H;
      const stateStrides = layout === 0 ? [batch * H, H, 1] : [H, dirs * H, 1];
      const contiguous = [batch * H, H, 1];
      // States of every step; slice 0 is the initial state.
      const hist = k.output("float32", [maxLen + 1, dirs, batch, H]);
      const initState = async (dst: Tensor, src: Tensor | undefined) => {
        await runCopy(k, src ?? x!, dst, {
          mode: src ? COPY_MODE.strided : COPY_MODE.constant,
          dims: [dirs, batch, H],
          read: src ? stateStrides : [0, 0, 0],
          write: contiguous,
          lens: [0, 0, 0],
          pads: [0, 0, 0],
          readBase: 0,
          writeBase: 0,
        });
      };
      await initState(hist, h0);
      const cell = k.output(
        "float32",
        kind === "LSTM" ? [dirs, batch, H] : twoPhase ? [dirs, batch, 2 * H] : [1],
      );
      if (kind === "LSTM") await initState(cell, c0);
      const lensG = k.upload(new Tensor("int32", lens, [batch]));
      const pipeline = (phase: number) =>
        k.pipeline({
          shader: "rnn",
          constants: {
            WG,
            KIND: KIND_CODE[kind],
            PHASE: phase,
            HAS_B: b !== undefined,
            HAS_P: peep !== undefined,
            INPUT_FORGET: kind === "LSTM" && k.attrs.int("input_forget", 0) !== 0,
            F_ACT: fa.code,
            G_ACT: ga.code,
            H_ACT: ha.code,
          },
          reads: 6,
          writes: 2,
          uniforms: true,
        });
      const phases = twoPhase ? [1, 2] : [0];
      const pipes = await Promise.all(phases.map((ph) => pipeline(ph)));
      const xt = layout === 0 ? batch * input : input;
      const xb = layout === 0 ? input : seq * input;
      for (let s = 0; s < maxLen; s++) {
        for (const pipe of pipes) {
          k.dispatch(pipe, {
            reads: [x!, w!, r!, b ?? x!, peep ?? x!, lensG],
            writes: [hist, cell],
            uniforms: new UniformWriter()
              .u32(slice, s, input, H)
              .u32(dirs, batch, reverseMask, xt)
              .u32(xb)
              .f32(fa.alpha, fa.beta, ga.alpha, ga.beta)
              .f32(ha.alpha, ha.beta, clip)
              .finish(),
            groups: k.groups1d(slice, WG),
          });
        }
      }
      const stateDims = layout === 0 ? [dirs, batch, H] : [batch, dirs, H];
      const outs: (Tensor | undefined)[] = [];
      if (k.wantsOutput(0)) {
        const yDims = layout === 0 ? [seq, dirs, batch, H] : [batch, seq, dirs, H];
        const y = k.output("float32", yDims);
        const count = seq * dirs * batch * H;
        const strides = layout === 0
          ? [dirs * batch * H, batch * H, H]
          : [dirs * H, H, seq * dirs * H];
        const out = await k.pipeline({
          shader: "rnn_output",
          constants: { WG },
          reads: 2,
          writes: 1,
          uniforms: true,
        });
        k.dispatch(out, {
          reads: [hist, lensG],
          writes: [y],
          uniforms: new UniformWriter()
            .u32(count, H, batch, dirs)
            .u32(...strides)
            .u32(reverseMask, seq)
            .finish(),
          groups: k.groups1d(count, WG),
        });
        outs.push(y);
      } else outs.push(undefined);
      const finalState = async (src: Tensor, base: number) => {
        const t = k.output("float32", stateDims);
        await runCopy(k, src, t, {
          mode: COPY_MODE.strided,
          dims: [dirs, batch, H],
          read: contiguous,
          write: stateStrides,
          readBase: base,
          writeBase: 0,
        });
        return t;
      };
      outs.push(k.wantsOutput(1) ? await finalState(hist, maxLen * slice) : undefined);
      if (kind === "LSTM") outs.push(k.wantsOutput(2) ? await finalState(cell, 0) : undefined);
      return outs;
    },
  };
}

/** The recurrent kernels by op type. */
export function rnnKernels(): Map<string, GpuKernel> {
  return new Map([
    ["RNN", recurrentKernel("RNN")],
    ["GRU", recurrentKernel("GRU")],
    ["LSTM", recurrentKernel("LSTM")],
  ]);
}
