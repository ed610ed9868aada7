/**
 * Hand-checked tests of the com.microsoft contrib ops in ops/contrib.ts, run through a real
 * InferenceSession: the quantized elementwise ops against quantize(f(dequantize(...)))
 * computed by hand, the float fusions against their definitions.
 */

import assert from "node:assert/strict";
import type { AttributeValue } from "../../pipeline/load/build.ts";
import { runNode } from "./_session_run.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";

const MS = { domain: "com.microsoft", opset: 1 };

function u8(v: number[], dims?: number[]): Tensor {
  return new Tensor("uint8", Uint8Array.from(v), dims ?? [v.length]);
}

function i8(v: number[], dims?: number[]): Tensor {
  return new Tensor("int8", Int8Array.from(v), dims ?? [v.length]);
}

function f32(v: number[], dims?: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(v), dims ?? [v.length]);
}

function s32(v: number): Tensor {
  return new Tensor("float32", Float32Array.of(v), []);
}

async function run(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttributeValue> = {},
  outputs = 1,
  skipOutputs?: number[],
): Promise<(Tensor | undefined)[]> {
  return await runNode(op, inputs, { ...MS, attrs, outputs, skipOutputs });
}

async function run1(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttributeValue> = {},
): Promise<Tensor> {
  const [y] = await run(op, inputs, attrs);
  if (!y) throw new Error("no output");
  return y;
}

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(
      d <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("QLinearAdd = quantize(dequantize(A) + dequantize(B))", async () => {
  // A: 0.1 * ([0, 100, 200, 255] - 100) = [-10, 0, 10, 15.5]
  // B: 0.2 * ([50, 60, 70, 80] - 60) = [-2, 0, 2, 4]; sum [-12, 0, 12, 19.5] / 0.25 + 128.
  const y = await run1("QLinearAdd", [
    u8([0, 100, 200, 255]),
    s32(0.1),
    u8([100], []),
    u8([50, 60, 70, 80]),
    s32(0.2),
    u8([60], []),
    s32(0.25),
    u8([128], []),
  ]);
  assert.equal(y.type, "uint8");
  assert.deepEqual(Array.from(y.data as Uint8Array), [80, 128, 176, 206]);
  // Scalar B broadcasts; saturation at both ends.
  const ys = await run1("QLinearAdd", [
    u8([0, 100, 200, 255]),
    s32(0.1),
    u8([100], []),
    u8([60], []),
    s32(0.2),
    u8([60], []),
    s32(0.05),
    u8([128], []),
  ]);
  // [-10, 0, 10, 15.5] / 0.05 = [-200, 0, 200, 310] + 128 -> [0, 128, 255, 255].
  assert.deepEqual(Array.from(ys.data as Uint8Array), [0, 128, 255, 255]);
  // Row broadcast [2, 2] + [2], int8, zero points omitted.
  const yb = await run1("QLinearAdd", [
    i8([1, 2, 3, 4], [2, 2]),
    s32(1),
    undefined,
    i8([10, -20]),
    s32(0.5),
    undefined,
    s32(1),
    undefined,
  ]);
  assert.deepEqual(yb.dims, [2, 2]);
  assert.deepEqual(Array.from(yb.data as Int8Array), [6, -8, 8, -6]);
});

Deno.test("QLinearMul = quantize(dequantize(A) * dequantize(B))", async () => {
  // A: 0.1 * ([110, 80] - 100) = [1, -2]; B: 0.5 * ([70, 30] - 50) = [10, -10].
  // Products [10, 20] / 0.5 + 10 = [30, 50].
  const y = await run1("QLinearMul", [
    u8([110, 80]),
    s32(0.1),
    u8([100], []),
    u8([70, 30]),
    s32(0.5),
    u8([50], []),
    s32(0.5),
    u8([10], []),
  ]);
  assert.deepEqual(Array.from(y.data as Uint8Array), [30, 50]);
  // int8 with a tie: 1.5 * 1 / 1 -> 1.5 -> 2 (even), 2.5 -> 2.
  const yt = await run1("QLinearMul", [
    i8([3, 5]),
    s32(0.5),
    undefined,
    i8([1], []),
    s32(1),
    undefined,
    s32(1),
    undefined,
  ]);
  assert.deepEqual(Array.from(yt.data as Int8Array), [2, 2]);
});

Deno.test("QLinearSigmoid = quantize(sigmoid(dequantize(X)))", async () => {
  // X: 0.1 * ([128, 0, 255, 138] - 128) = [0, -12.8, 12.7, 1]; sigmoid * 256:
  // 128, 0.0007 -> 0, 255.9992 -> 256 -> 255 (saturated), 187.13 -> 187.
  const y = await run1("QLinearSigmoid", [
    u8([128, 0, 255, 138]),
    s32(0.1),
    u8([128], []),
    s32(1 / 256),
    u8([0], []),
  ]);
  assert.deepEqual(Array.from(y.data as Uint8Array), [128, 0, 255, 187]);
});

Deno.test("QLinearGlobalAveragePool averages each channel, NCHW and channels_last", async () => {
  // Channel 0: 0.5 * ([10, 20, 30, 40] - 10) mean 7.5 -> / 0.25 = 30 + 50 = 80.
  // Channel 1: 0.5 * ([0, 0, 0, 1] - 10) mean -4.875 -> -19.5 -> -20 (even) + 50 = 30.
  const x = u8([10, 20, 30, 40, 0, 0, 0, 1], [1, 2, 2, 2]);
  const y = await run1("QLinearGlobalAveragePool", [
    x,
    s32(0.5),
    u8([10], []),
    s32(0.25),
    u8([50], []),
  ]);
  assert.deepEqual(y.dims, [1, 2, 1, 1]);
  assert.deepEqual(Array.from(y.data as Uint8Array), [80, 30]);
  // The same data laid out NHWC.
  const xl = u8([10, 0, 20, 0, 30, 0, 40, 1], [1, 2, 2, 2]);
  const yl = await run1(
    "QLinearGlobalAveragePool",
    [xl, s32(0.5), u8([10], []), s32(0.25), u8([50], [])],
    { channels_last: { i: 1 } },
  );
  assert.deepEqual(yl.dims, [1, 1, 1, 2]);
  assert.deepEqual(Array.from(yl.data as Uint8Array), [80, 30]);
});

// Standard normal CDF values: Phi(1) = 0.8413447460685429, Phi(2) = 0.9772498680518208.
const PHI1 = 0.8413447460685429, PHI2 = 0.9772498680518208;

Deno.test("Gelu and BiasGelu use the erf form x * Phi(x)", async () => {
  const y = await run1("Gelu", [f32([0, 1, -1, 2])]);
  close(y.data as Float32Array, [0, PHI1, -(1 - PHI1), 2 * PHI2], 1e-6, "Gelu");
  const yb = await run1("BiasGelu", [f32([0.5, -2, 1.5, 3], [2, 2]), f32([0.5, 1])]);
  // Inputs become [1, -1, 2, 4].
  close(
    yb.data as Float32Array,
    [PHI1, -(1 - PHI1), 2 * PHI2, 4 * 0.9999683287581669],
    1e-6,
    "BiasGelu",
  );
});

Deno.test("FastGelu uses the tanh approximation, with an optional bias", async () => {
  const ref = (x: number) =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const y = await run1("FastGelu", [f32([0, 1, -1, 2])]);
  close(y.data as Float32Array, [0, 1, -1, 2].map(ref), 1e-6, "FastGelu");
  // The approximation stays within 1e-3 of the exact Gelu here.
  close(y.data as Float32Array, [0, PHI1, -(1 - PHI1), 2 * PHI2], 1e-3, "FastGelu ~ Gelu");
  const yb = await run1("FastGelu", [f32([0, 1, -1, 2], [2, 2]), f32([1, -1])]);
  close(yb.data as Float32Array, [1, 0, 0, 1].map(ref), 1e-6, "FastGelu bias");
});

Deno.test("SkipLayerNormalization normalizes input + skip + bias and gives its outputs", async () => {
  // Row: [0, 1, 1, 2] + [0.5, 0.5, 1.5, 1.5] + bias [0.5, 0.5, 0.5, 0.5] = [1, 2, 3, 4]:
  // mean 2.5, variance 1.25, normalized [-1.5, -0.5, 0.5, 1.5] / sqrt(1.25).
  const input = f32([0, 1, 1, 2, 0, 1, 1, 2], [1, 2, 4]);
  const skip = f32([0.5, 0.5, 1.5, 1.5, 1.5, 1.5, 2.5, 2.5], [1, 2, 4]);
  const gamma = f32([2, 2, 2, 2]);
  const beta = f32([0.5, 0, 0, 0]);
  const bias = f32([0.5, 0.5, 0.5, 0.5]);
  const eps = 1e-5;
  const is = 1 / Math.sqrt(1.25 + eps);
  const norm = [-1.5, -0.5, 0.5, 1.5].map((v, h) => v * is * 2 + (h === 0 ? 0.5 : 0));
  const [y, mean, inv, sum] = await run(
    "SkipLayerNormalization",
    [input, skip, gamma, beta, bias],
    { epsilon: { f: eps } },
    4,
  );
  // The second row is the first plus 1 everywhere: same normalized values.
  close(y!.data as Float32Array, [...norm, ...norm], 1e-6, "output");
  assert.deepEqual(mean!.dims, [1, 2, 1]);
  close(mean!.data as Float32Array, [2.5, 3.5], 1e-7, "mean");
  close(inv!.data as Float32Array, [is, is], 1e-6, "inv_std_var");
  assert.deepEqual(Array.from(sum!.data as Float32Array), [1, 2, 3, 4, 2, 3, 4, 5]);
  // A (S, H) skip repeats over the batch; beta and bias omitted; default epsilon 1e-12.
  const [y2] = await run("SkipLayerNormalization", [
    f32([1, 3, 1, 3], [2, 1, 2]),
    f32([0, 0], [1, 2]),
    f32([1, 1]),
  ]);
  close(y2!.data as Float32Array, [-1, 1, -1, 1], 1e-6, "broadcast skip");
  // Only the sum output requested.
  const [y3, , , s3] = await run(
    "SkipLayerNormalization",
    [f32([1, 3], [1, 1, 2]), f32([1, 1], [1, 1, 2]), f32([1, 1])],
    {},
    4,
    [1, 2],
  );
  assert.ok(y3);
  assert.deepEqual(Array.from(s3!.data as Float32Array), [2, 4]);
});

Deno.test("FusedMatMul applies transA/transB/transBatch and alpha", async () => {
  // A^T with A stored [3, 2]; B [3, 1]; alpha 2.
  const a = f32([1, 4, 2, 5, 3, 6], [3, 2]); // A^T = [[1, 2, 3], [4, 5, 6]]
  const b = f32([1, 0, -1], [3, 1]);
  const y = await run1("FusedMatMul", [a, b], { transA: { i: 1 }, alpha: { f: 2 } });
  assert.deepEqual(y.dims, [2, 1]);
  assert.deepEqual(Array.from(y.data as Float32Array), [-4, -4]);
  // transB: B stored [1, 3].
  const yb = await run1("FusedMatMul", [f32([1, 2, 3], [1, 3]), f32([1, 1, 1, 0, 0, 1], [2, 3])], {
    transB: { i: 1 },
  });
  assert.deepEqual(Array.from(yb.data as Float32Array), [6, 3]);
  // transBatchA: A stored [M=2, batch=2, K=2] is used as [batch, M, K].
  const ab = f32([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
  // batch 0 rows: A[0,0,:] = [1, 2], A[1,0,:] = [5, 6]; batch 1: [3, 4], [7, 8].
  const bb = f32([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]); // identity and 2 * identity
  const yt = await run1("FusedMatMul", [ab, bb], { transBatchA: { i: 1 } });
  assert.deepEqual(yt.dims, [2, 2, 2]);
  assert.deepEqual(Array.from(yt.data as Float32Array), [1, 2, 5, 6, 6, 8, 14, 16]);
  // transBatchB with transB: B stored [N=2, batch=2, K=2] -> [batch, N, K] -> [batch, K, N].
  const bt = f32([1, 0, 1, 1, 0, 1, 2, 0], [2, 2, 2]);
  // batch 0: B rows (N) [1, 0], [0, 1] -> identity; batch 1: [1, 1], [2, 0] -> B^T [[1, 2], [1, 0]].
  const a2 = f32([1, 2, 3, 4], [2, 1, 2]);
  const ytb = await run1("FusedMatMul", [a2, bt], { transBatchB: { i: 1 }, transB: { i: 1 } });
  assert.deepEqual(ytb.dims, [2, 1, 2]);
  assert.deepEqual(Array.from(ytb.data as Float32Array), [1, 2, 7, 6]);
});

Deno.test("FusedConv adds Z, then applies the activation", async () => {
  // 3x3 input, 2x2 kernel of ones: window sums [12, 16, 24, 28]; bias -20.
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  const w = f32([1, 1, 1, 1], [1, 1, 2, 2]);
  const b = f32([-20]);
  const relu = await run1("FusedConv", [x, w, b], { activation: { s: "Relu" } });
  assert.deepEqual(relu.dims, [1, 1, 2, 2]);
  assert.deepEqual(Array.from(relu.data as Float32Array), [0, 0, 4, 8]);
  const z = f32([1, 1, 1, -10], [1, 1, 2, 2]);
  const withZ = await run1("FusedConv", [x, w, b, z], { activation: { s: "Relu" } });
  assert.deepEqual(Array.from(withZ.data as Float32Array), [0, 0, 5, 0]);
  const leaky = await run1("FusedConv", [x, w, b], {
    activation: { s: "LeakyRelu" },
    activation_params: { floats: [0.5] },
  });
  assert.deepEqual(Array.from(leaky.data as Float32Array), [-4, -2, 4, 8]);
  const clip = await run1("FusedConv", [x, w, b], {
    activation: { s: "Clip" },
    activation_params: { floats: [-3, 5] },
  });
  assert.deepEqual(Array.from(clip.data as Float32Array), [-3, -3, 4, 5]);
  const hs = await run1("FusedConv", [x, w, b], {
    activation: { s: "HardSigmoid" },
    activation_params: { floats: [0.1, 0.5] },
  });
  close(hs.data as Float32Array, [0, 0.1, 0.9, 1], 1e-6, "HardSigmoid");
  const sig = await run1("FusedConv", [x, w], { activation: { s: "Sigmoid" } });
  close(sig.data as Float32Array, [12, 16, 24, 28].map((v) => 1 / (1 + Math.exp(-v))), 1e-6);
  const th = await run1("FusedConv", [x, w, b], { activation: { s: "Tanh" } });
  close(th.data as Float32Array, [-8, -4, 4, 8].map(Math.tanh), 1e-6);
  await assert.rejects(run1("FusedConv", [x, w], { activation: { s: "Swish" } }), /Swish/);
});
