/**
 * Hand-computed checks of the attention family beyond the ONNX backend suite: Attention's
 * short-mask padding, fully masked rows, GQA head grouping, nonpad_kv_seqlen and causal
 * offsets with a KV cache; RotaryEmbedding, SwiGLU, CausalConvWithState and LinearAttention
 * on values small enough to compute by hand; shape inference with symbolic dims.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { numbersOf } from "../../ops/util.ts";
import { ops } from "../../ops/attention.ts";
import type { InferContext } from "../../ops/types.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import type { AttributeValue } from "../../pipeline/load/build.ts";
import { assertClose, f32 } from "./_op_harness.ts";
import { runNode, singleNodeModel } from "./_session_run.ts";

function values(t: Tensor | undefined): number[] {
  assert.ok(t, "missing output");
  return Array.from(numbersOf(t));
}

const e1 = Math.exp(1), e2 = Math.exp(2);

Deno.test("Attention: 4-D single head by hand", async () => {
  // scores = [1, 2] (scale 1/sqrt(1)); Y = softmax · [10, 20].
  const [y] = await runNode("Attention", [
    f32([1], [1, 1, 1, 1]),
    f32([1, 2], [1, 1, 2, 1]),
    f32([10, 20], [1, 1, 2, 1]),
  ], {
    opset: 23,
  });
  assert.deepEqual(y!.dims, [1, 1, 1, 1]);
  assertClose(values(y), [(10 * e1 + 20 * e2) / (e1 + e2)]);
});

Deno.test("Attention: a mask shorter than the KV length masks the rest", async () => {
  const [y] = await runNode("Attention", [
    f32([1], [1, 1, 1, 1]),
    f32([1, 2, 3], [1, 1, 3, 1]),
    f32([10, 20, 30], [1, 1, 3, 1]),
    f32([0, 0], [1, 2]),
  ], { opset: 24 });
  assertClose(values(y), [(10 * e1 + 20 * e2) / (e1 + e2)]);
});

Deno.test("Attention: a fully masked row gives zeros in Y and in the softmax output", async () => {
  const mask = new Tensor("bool", Uint8Array.from([0, 0, 1, 0]), [2, 2]);
  const [y, , , qk] = await runNode("Attention", [
    f32([1, 1], [1, 1, 2, 1]),
    f32([1, 2], [1, 1, 2, 1]),
    f32([10, 20], [1, 1, 2, 1]),
    mask,
  ], { opset: 23, outputs: 4, skipOutputs: [1, 2], attrs: { qk_matmul_output_mode: { i: 3 } } });
  assertClose(values(y), [0, 10]);
  assertClose(values(qk), [0, 0, 1, 0]);
});

Deno.test("Attention: GQA shares each KV head with a contiguous group of query heads", async () => {
  // Q = 0 gives uniform weights, so each head's output is the mean of its KV head's V.
  const q = f32(new Array(4).fill(0), [1, 4, 1, 1]);
  const k = f32([1, 2, 3, 4], [1, 2, 2, 1]);
  const v = f32([1, 3, 10, 30], [1, 2, 2, 1]);
  const [y] = await runNode("Attention", [q, k, v], { opset: 23 });
  assertClose(values(y), [2, 2, 20, 20]);
});

Deno.test("Attention: nonpad_kv_seqlen masks padded KV positions per batch", async () => {
  const q = f32([0, 0], [2, 1, 1, 1]);
  const k = f32(new Array(8).fill(0), [2, 1, 4, 1]);
  const v = f32([1, 2, 3, 4, 1, 2, 3, 4], [2, 1, 4, 1]);
  const lens = new Tensor("int64", BigInt64Array.from([2n, 3n]), [2]);
  const [y] = await runNode("Attention", [q, k, v, undefined, undefined, undefined, lens], {
    opset: 24,
  });
  assertClose(values(y), [1.5, 2]);
});

Deno.test("Attention: is_causal with a KV cache offsets the diagonal by the past length", async () => {
  // past length 2, 2 new queries: query 0 sees positions 0..2, query 1 sees 0..3.
  const q = f32([0, 0], [1, 1, 2, 1]);
  const pastK = f32([0, 0], [1, 1, 2, 1]);
  const pastV = f32([1, 2], [1, 1, 2, 1]);
  const k = f32([0, 0], [1, 1, 2, 1]);
  const v = f32([3, 4], [1, 1, 2, 1]);
  const [y, pk, pv] = await runNode("Attention", [q, k, v, undefined, pastK, pastV], {
    opset: 23,
    outputs: 3,
    attrs: { is_causal: { i: 1 } },
  });
  assertClose(values(y), [2, 2.5]);
  assert.deepEqual(pk!.dims, [1, 1, 4, 1]);
  assertClose(values(pv), [1, 2, 3, 4]);
});

Deno.test("Attention: 3-D inputs with softcap and explicit scale", async () => {
  // One head of size 2; scores = scale * q·k, then softcap * tanh(s / softcap).
  const q = f32([1, 2], [1, 1, 2]);
  const k = f32([1, 0, 0, 1], [1, 2, 2]);
  const v = f32([5, 6, 7, 8], [1, 2, 2]);
  const [y] = await runNode("Attention", [q, k, v], {
    opset: 23,
    attrs: {
      q_num_heads: { i: 1 },
      kv_num_heads: { i: 1 },
      scale: { f: 0.5 },
      softcap: { f: 0.75 },
    },
  });
  const s = [0.5, 1].map((x) => 0.75 * Math.tanh(x / 0.75));
  const w = s.map(Math.exp);
  const p = w.map((x) => x / (w[0] + w[1]));
  assertClose(values(y), [5 * p[0] + 7 * p[1], 6 * p[0] + 8 * p[1]]);
});

Deno.test("RotaryEmbedding: rotates halves or interleaved pairs by the cached angle", async () => {
  const th = 0.3;
  const cos = f32([1, Math.cos(th)], [2, 1]);
  const sin = f32([0, Math.sin(th)], [2, 1]);
  const pos = new Tensor("int64", BigInt64Array.from([1n]), [1, 1]);
  const [y] = await runNode("RotaryEmbedding", [f32([2, 3], [1, 1, 1, 2]), cos, sin, pos], {
    opset: 23,
  });
  const c = Math.cos(th), s = Math.sin(th);
  assertClose(values(y), [c * 2 - s * 3, s * 2 + c * 3]);
  // rotary_embedding_dim 2 of head size 4, interleaved: only elements 0, 1 rotate.
  const [z] = await runNode("RotaryEmbedding", [f32([2, 3, 4, 5], [1, 1, 1, 4]), cos, sin, pos], {
    opset: 23,
    attrs: { interleaved: { i: 1 }, rotary_embedding_dim: { i: 2 } },
  });
  assertClose(values(z), [c * 2 - s * 3, s * 2 + c * 3, 4, 5]);
});

Deno.test("SwiGLU: a * sigmoid(alpha * a) * b", async () => {
  const [y] = await runNode("SwiGLU", [f32([1, -2], [2]), f32([2, 3], [2])], {
    opset: 28,
    attrs: { alpha: { f: 0.5 } },
  });
  const sg = (x: number) => 1 / (1 + Math.exp(-x));
  assertClose(values(y), [1 * sg(0.5) * 2, -2 * sg(-1) * 3]);
});

Deno.test("CausalConvWithState: past state, bias and present state by hand", async () => {
  // padded = [5, 1, 2, 3]; w = [1, 2]; bias 0.5.
  const [y, st] = await runNode("CausalConvWithState", [
    f32([1, 2, 3], [1, 1, 3]),
    f32([1, 2], [1, 1, 2]),
    f32([0.5], [1]),
    f32([5], [1, 1, 1]),
  ], { opset: 27, outputs: 2 });
  assertClose(values(y), [7.5, 5.5, 8.5]);
  assertClose(values(st), [3]);
  const [ys] = await runNode("CausalConvWithState", [
    f32([1, 2, 3], [1, 1, 3]),
    f32([1, 2], [1, 1, 2]),
  ], {
    opset: 27,
    attrs: { activation: { s: "silu" } },
  });
  const silu = (x: number) => x / (1 + Math.exp(-x));
  assertClose(values(ys), [silu(2), silu(5), silu(8)]);
});

Deno.test("LinearAttention: linear and delta rules by hand", async () => {
  const q = f32([1, 1], [1, 2, 1]);
  const k = f32([1, 2], [1, 2, 1]);
  const v = f32([3, 4], [1, 2, 1]);
  const attrs: Record<string, AttributeValue> = {
    q_num_heads: { i: 1 },
    kv_num_heads: { i: 1 },
    scale: { f: 1 },
  };
  const [o, s] = await runNode("LinearAttention", [q, k, v], {
    opset: 27,
    outputs: 2,
    attrs: { ...attrs, update_rule: { s: "linear" } },
  });
  // S1 = 1*3 = 3, o1 = 3; S2 = 3 + 2*4 = 11, o2 = 11.
  assertClose(values(o), [3, 11]);
  assertClose(values(s), [11]);
  // delta, beta = 0.5: v1' = 0.5*(3 - 0) = 1.5, S1 = 1.5; v2' = 0.5*(4 - 1.5*2) = 0.5, S2 = 1.5 + 1.
  const beta = f32([0.5, 0.5], [1, 2, 1]);
  const [o2, s2] = await runNode("LinearAttention", [q, k, v, undefined, undefined, beta], {
    opset: 27,
    outputs: 2,
    attrs: { ...attrs, update_rule: { s: "delta" } },
  });
  assertClose(values(o2), [1.5, 2.5]);
  assertClose(values(s2), [2.5]);
  await assert.rejects(
    () => runNode("LinearAttention", [q, k, v], { opset: 27, outputs: 2, attrs }),
    /requires the decay input/,
  );
});

/** Runs an op's infer function on symbolic input types. */
function infer(
  opType: string,
  inputs: (ValueType | undefined)[],
  attrs: Record<string, AttributeValue> = {},
  version = 23,
) {
  const def = ops.find((d) => d.opType === opType)!;
  const model = singleNodeModel(opType, inputs.map(() => undefined), { attrs });
  const node = model.graph!.node[0];
  const ctx: InferContext = {
    node,
    opset: version,
    version,
    attrs: new NodeAttributes(node),
    inputCount: inputs.length,
    input: (i) => inputs[i],
    hasInput: (i) => inputs[i] !== undefined,
    constant: () => undefined,
    inferGraph: () => [],
    error: (m) => {
      throw new Error(m);
    },
  };
  return def.infer!(ctx);
}

Deno.test("Attention and LinearAttention shape inference keeps symbolic dims", () => {
  const t = (shape: (number | string)[]): ValueType => ({
    kind: "tensor",
    elemType: "float32",
    shape,
  });
  const out = infer("Attention", [
    t(["B", 4, 5, 8]),
    t(["B", 2, "S", 8]),
    t(["B", 2, "S", 16]),
    undefined,
    t([
      "B",
      2,
      3,
      8,
    ]),
  ]);
  assert.deepEqual((out[0] as { shape: unknown }).shape, ["B", 4, 5, 16]);
  assert.deepEqual((out[1] as { shape: unknown }).shape, ["B", 2, undefined, 8]);
  const out3 = infer("Attention", [t(["B", 5, 32]), t(["B", 7, 16]), t(["B", 7, 8])], {
    q_num_heads: { i: 4 },
    kv_num_heads: { i: 2 },
  });
  assert.deepEqual((out3[0] as { shape: unknown }).shape, ["B", 5, 16]);
  assert.deepEqual((out3[3] as { shape: unknown }).shape, ["B", 4, 5, 7]);
  const la = infer("LinearAttention", [t(["B", "T", 64]), t(["B", "T", 32]), t(["B", "T", 32])], {
    q_num_heads: { i: 8 },
    kv_num_heads: { i: 4 },
  }, 27);
  assert.deepEqual((la[0] as { shape: unknown }).shape, ["B", "T", 64]);
  assert.deepEqual((la[1] as { shape: unknown }).shape, ["B", 4, 8, 8]);
});
