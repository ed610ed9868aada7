/**
 * Hand-checked tests of com.microsoft.FusedGemm (ops/contrib.ts) through a real
 * InferenceSession: Gemm's transposes, alpha, beta and broadcast C, then every activation
 * onnxruntime's FusedGemm names, with parameters from `activation_alpha/beta/gamma`.
 *
 * A = [[1, 2, 3], [4, 5, 6]], B = [[1, -1], [0, 2], [-2, 1]]: A·B = [[-5, 6], [-8, 12]];
 * with alpha 0.5, beta 2 and C = [1, -1] (broadcast over rows) Gemm gives
 * [[-0.5, 1], [-2, 4]], the values every activation below is applied to.
 */

import assert from "node:assert/strict";
import type { AttributeValue } from "../../pipeline/load/build.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { runNode } from "./_session_run.ts";

function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

async function fusedGemm(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttributeValue>,
): Promise<Tensor> {
  const [y] = await runNode("FusedGemm", inputs, { domain: "com.microsoft", opset: 1, attrs });
  if (!(y instanceof Tensor)) throw new Error("no tensor output");
  return y;
}

function close(actual: ArrayLike<number>, expected: number[], what: string, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(
      d <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

const A = f32([1, 2, 3, 4, 5, 6], [2, 3]);
const B = f32([1, -1, 0, 2, -2, 1], [3, 2]);
const C = f32([1, -1], [2]);
const GEMM = { alpha: { f: 0.5 }, beta: { f: 2 } };
/** Gemm(A, B, C) with alpha 0.5 and beta 2. */
const PRE = [-0.5, 1, -2, 4];

Deno.test("FusedGemm without an activation is Gemm (transposes, alpha, beta, broadcast C)", async () => {
  const y = await fusedGemm([A, B, C], GEMM);
  assert.deepEqual(y.dims, [2, 2]);
  assert.equal(y.type, "float32");
  assert.deepEqual(Array.from(y.data as Float32Array), PRE);
  // The same operands stored transposed.
  const at = f32([1, 4, 2, 5, 3, 6], [3, 2]);
  const bt = f32([1, 0, -2, -1, 2, 1], [2, 3]);
  const t = await fusedGemm([at, bt, C], { ...GEMM, transA: { i: 1 }, transB: { i: 1 } });
  assert.deepEqual(Array.from(t.data as Float32Array), PRE);
  // No C (optional as in Gemm-13): alpha · A·B.
  const noC = await fusedGemm([A, B], { alpha: { f: 0.5 }, activation: { s: "Relu" } });
  assert.deepEqual(Array.from(noC.data as Float32Array), [0, 3, 0, 6]);
  // A C of shape [2, 1] broadcasts along the columns.
  const col = await fusedGemm([A, B, f32([10, -10], [2, 1])], {});
  assert.deepEqual(Array.from(col.data as Float32Array), [5, 16, -18, 2]);
});

Deno.test("FusedGemm applies each of onnxruntime's activations to Gemm's result", async () => {
  const cases: [string, Record<string, number>, (x: number) => number][] = [
    ["Relu", {}, (x) => Math.max(0, x)],
    ["Tanh", {}, Math.tanh],
    ["Sigmoid", {}, (x) => 1 / (1 + Math.exp(-x))],
    ["LeakyRelu", { activation_alpha: 0.1 }, (x) => (x < 0 ? 0.1 * x : x)],
    ["LeakyRelu", {}, (x) => (x < 0 ? 0.01 * x : x)],
    [
      "HardSigmoid",
      { activation_alpha: 0.25, activation_beta: 0.6 },
      (x) => Math.min(1, Math.max(0, 0.25 * x + 0.6)),
    ],
    ["Elu", { activation_alpha: 2 }, (x) => (x < 0 ? 2 * (Math.exp(x) - 1) : x)],
    [
      "Selu",
      { activation_alpha: 1.5, activation_gamma: 1.25 },
      (x) => x > 0 ? 1.25 * x : 1.25 * 1.5 * (Math.exp(x) - 1),
    ],
    ["Softplus", {}, (x) => Math.log(1 + Math.exp(x))],
    ["Softsign", {}, (x) => x / (1 + Math.abs(x))],
    ["ThresholdedRelu", { activation_alpha: 1.5 }, (x) => (x > 1.5 ? x : 0)],
    ["ScaledTanh", { activation_alpha: 2, activation_beta: 0.5 }, (x) => 2 * Math.tanh(0.5 * x)],
    [
      "ParametricSoftplus",
      { activation_alpha: 2, activation_beta: 3 },
      (x) => 2 * Math.log(1 + Math.exp(3 * x)),
    ],
  ];
  for (const [name, params, f] of cases) {
    const attrs: Record<string, AttributeValue> = { ...GEMM, activation: { s: name } };
    for (const [k, v] of Object.entries(params)) attrs[k] = { f: v };
    const y = await fusedGemm([A, B, C], attrs);
    close(y.data as Float32Array, PRE.map(f), name);
  }
  // Spot values worked by hand: Relu [0, 1, 0, 4]; Softsign [-1/3, 1/2, -2/3, 4/5].
  const relu = await fusedGemm([A, B, C], { ...GEMM, activation: { s: "Relu" } });
  assert.deepEqual(Array.from(relu.data as Float32Array), [0, 1, 0, 4]);
  const ss = await fusedGemm([A, B, C], { ...GEMM, activation: { s: "Softsign" } });
  close(ss.data as Float32Array, [-1 / 3, 0.5, -2 / 3, 0.8], "Softsign by hand");
});

Deno.test("FusedGemm computes float64 in float64", async () => {
  const a = new Tensor("float64", Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = new Tensor("float64", Float64Array.from([1, -1, 0, 2, -2, 1]), [3, 2]);
  const c = new Tensor("float64", Float64Array.from([1, -1]), [2]);
  const y = await fusedGemm([a, b, c], { ...GEMM, activation: { s: "Sigmoid" } });
  assert.equal(y.type, "float64");
  const expected = PRE.map((x) => 1 / (1 + Math.exp(-x)));
  const got = y.data as Float64Array;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-15);
});

Deno.test("FusedGemm rejects activations onnxruntime's FusedGemm lacks, and missing params", async () => {
  // Clip is a FusedConv activation only.
  await assert.rejects(fusedGemm([A, B, C], { activation: { s: "Clip" } }), /Clip/);
  await assert.rejects(fusedGemm([A, B, C], { activation: { s: "Swish" } }), /Swish/);
  await assert.rejects(
    fusedGemm([A, B, C], { activation: { s: "ScaledTanh" }, activation_alpha: { f: 1 } }),
    /beta/,
  );
  const i32 = new Tensor("int32", Int32Array.from([1, 2, 3, 4]), [2, 2]);
  await assert.rejects(fusedGemm([i32, i32], { activation: { s: "Relu" } }), /int32/);
  await assert.rejects(fusedGemm([A, A], {}), /inner dimensions/);
});
