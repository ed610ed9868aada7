/**
 * RNN, GRU and LSTM on the GPU against the CPU kernels: forward, reverse and bidirectional,
 * both layouts, biases, initial states, peepholes, input_forget, clip, per-batch sequence
 * lengths, GRU with and without linear_before_reset, non-default activations, and the
 * optional outputs.
 */

import type { LoadedModel } from "../../pipeline/load/load.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

/** Adds a STRINGS attribute to the first node (the harness builds the other kinds). */
function withStrings(loaded: LoadedModel, name: string, values: string[]): LoadedModel {
  const node = loaded.model.graph!.node[0];
  const like = node.attribute[0];
  const enc = new TextEncoder();
  node.attribute.push({
    ...like,
    name,
    type: "STRINGS",
    strings: values.map((v) => enc.encode(v)),
  });
  return loaded;
}

const G = { RNN: 1, GRU: 3, LSTM: 4 } as const;

interface Case {
  kind: keyof typeof G;
  direction?: string;
  layout?: number;
  bias?: boolean;
  init?: boolean;
  peep?: boolean;
  lens?: number[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
}

const SEQ = 5, BATCH = 3, IN = 4, H = 6;

async function check(c: Case, seed: number): Promise<void> {
  const dirs = c.direction === "bidirectional" ? 2 : 1;
  const layout = c.layout ?? 0;
  const g = G[c.kind];
  const x = random("float32", layout ? [BATCH, SEQ, IN] : [SEQ, BATCH, IN], seed, [-1, 1]);
  const inputs: (Tensor | undefined)[] = [
    x,
    random("float32", [dirs, g * H, IN], seed + 1, [-0.6, 0.6]),
    random("float32", [dirs, g * H, H], seed + 2, [-0.6, 0.6]),
    c.bias ? random("float32", [dirs, 2 * g * H], seed + 3, [-0.5, 0.5]) : undefined,
    c.lens ? new Tensor("int32", Int32Array.from(c.lens), [BATCH]) : undefined,
  ];
  const state = layout ? [BATCH, dirs, H] : [dirs, BATCH, H];
  inputs.push(c.init ? random("float32", state, seed + 4) : undefined);
  if (c.kind === "LSTM") {
    inputs.push(c.init ? random("float32", state, seed + 5) : undefined);
    inputs.push(c.peep ? random("float32", [dirs, 3 * H], seed + 6) : undefined);
  }
  while (inputs.length && inputs[inputs.length - 1] === undefined) inputs.pop();
  const attrs: Record<string, AttrValue> = { hidden_size: { i: H }, ...c.attrs };
  if (c.direction) attrs.direction = { s: c.direction };
  if (c.layout) attrs.layout = { i: c.layout };
  const { model, feeds } = nodeModel(c.kind, inputs, attrs, {
    opset: 22,
    outputs: c.outputs ?? (c.kind === "LSTM" ? 3 : 2),
  });
  await compareBackends(model, feeds, { rtol: 1e-4, atol: 2e-5 });
}

const CASES: Case[] = [];
for (const kind of ["RNN", "GRU", "LSTM"] as const) {
  CASES.push(
    { kind },
    { kind, direction: "reverse", bias: true, init: true },
    { kind, direction: "bidirectional", bias: true, peep: true, init: true },
    { kind, layout: 1, bias: true, init: true, peep: true },
    { kind, direction: "bidirectional", layout: 1, lens: [5, 2, 0] },
    { kind, bias: true, lens: [3, 5, 1], attrs: { clip: { f: 0.4 } } },
    { kind, outputs: 1 },
  );
}
CASES.push(
  { kind: "GRU", bias: true, init: true, attrs: { linear_before_reset: { i: 1 } } },
  {
    kind: "GRU",
    direction: "bidirectional",
    bias: true,
    lens: [1, 4, 5],
    attrs: { linear_before_reset: { i: 1 } },
  },
  { kind: "LSTM", bias: true, peep: true, init: true, attrs: { input_forget: { i: 1 } } },
);

gpuTest("webgpu RNN, GRU and LSTM match the CPU", async () => {
  let seed = 1;
  for (const c of CASES) await check(c, seed += 10);
});

gpuTest("webgpu recurrent activations with parameters match the CPU", async () => {
  const names = ["HardSigmoid", "ScaledTanh", "Affine", "LeakyRelu", "Elu", "Softsign"];
  for (const [i, f] of names.entries()) {
    const lstm = nodeModel("LSTM", [
      random("float32", [SEQ, BATCH, IN], i),
      random("float32", [1, 4 * H, IN], i + 1, [-0.5, 0.5]),
      random("float32", [1, 4 * H, H], i + 2, [-0.5, 0.5]),
    ], {
      hidden_size: { i: H },
      activation_alpha: { floats: [0.3, 0.7, 0.2] },
      activation_beta: { floats: [0.4, 0.1] },
    }, { outputs: 3 });
    withStrings(lstm.model, "activations", [f, "Softplus", "ThresholdedRelu"]);
    await compareBackends(lstm.model, lstm.feeds, { rtol: 1e-4, atol: 2e-5 });
  }
});
