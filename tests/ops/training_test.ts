/**
 * Hand-checked tests of the training operators (ai.onnx.preview.training): Adagrad, Adam and
 * Momentum (standard and Nesterov) with several tensor groups and norm coefficients. Gradient
 * has its own tests in `gradient_test.ts`.
 */

import assert from "node:assert/strict";
import { asTensor, f32, f64, i64, near, nums } from "./_op_harness.ts";
import { runOne } from "./_session_run.ts";
import { floatAttr, stringAttr } from "../../pipeline/load/build.ts";

const TR = { domain: "ai.onnx.preview.training" };

Deno.test("Adagrad updates several groups with decay and norm_coefficient", async () => {
  // One element worked by hand: R = 0.1, T = 1, decay 1 → r = 0.05; x = 1, g = 0.5,
  // norm 0.5 → g' = 1; h = 3 → h' = 4; x' = 1 - 0.05 · 1 / (2 + 0) = 0.975.
  const [x1, x2, h1, h2] = await runOne(
    "Adagrad",
    [
      f32([0.1], []),
      i64([1], []),
      f32([1]),
      f64([2, -2]),
      f32([0.5]),
      f64([0, 2]),
      f32([3]),
      f64([
        0,
        0,
      ]),
    ],
    [
      floatAttr("decay_factor", 1),
      floatAttr("epsilon", 0),
      floatAttr("norm_coefficient", 0.5),
    ],
    { ...TR, outputs: 4 },
  );
  near(nums(x1), [0.975]);
  near(nums(h1), [4]);
  // Group 2 (float64): g' = [1, 1], h' = [1, 1], x' = [2 - 0.05, -2 - 0.05].
  assert.equal(asTensor(x2).type, "float64");
  near(nums(h2), [1, 1]);
  near(nums(x2), [1.95, -2.05]);
});

Deno.test("Adagrad with the default epsilon", async () => {
  const [x, h] = await runOne(
    "Adagrad",
    [f32([0.1], []), i64([0], []), f32([1, 2]), f32([-1, 1]), f32([2, 3])],
    [],
    { ...TR, outputs: 2 },
  );
  near(nums(h), [3, 4]);
  near(nums(x), [1 + 0.1 / (Math.sqrt(3) + 1e-6), 2 - 0.1 / (2 + 1e-6)]);
});

Deno.test("Momentum standard and Nesterov, first step and later steps", async () => {
  const inputs = (
    t: number,
  ) => [f32([0.1], []), i64([t], []), f32([1, 2]), f32([1, -1]), f32([2, 0])];
  const attrs = (mode: string) => [
    floatAttr("alpha", 0.9),
    floatAttr("beta", 0.5),
    floatAttr("norm_coefficient", 0),
    stringAttr("mode", mode),
  ];
  // T = 0: beta is taken as 1. v' = 0.9·v + g = [2.8, -1]; x' = x - 0.1·v' = [0.72, 2.1].
  const [x0, v0] = await runOne("Momentum", inputs(0), attrs("standard"), { ...TR, outputs: 2 });
  near(nums(v0), [2.8, -1]);
  near(nums(x0), [0.72, 2.1]);
  // T = 3: v' = 0.9·v + 0.5·g = [2.3, -0.5]; Nesterov x' = x - 0.1·(g + 0.9·v').
  const [x1, v1] = await runOne("Momentum", inputs(3), attrs("nesterov"), { ...TR, outputs: 2 });
  near(nums(v1), [2.3, -0.5]);
  near(nums(x1), [1 - 0.1 * (1 + 0.9 * 2.3), 2 - 0.1 * (-1 + 0.9 * -0.5)]);
  await assert.rejects(() => runOne("Momentum", inputs(0), attrs("heavy"), { ...TR, outputs: 2 }));
});

Deno.test("Adam with and without bias correction, two groups", async () => {
  const alpha = 0.9, beta = 0.999, eps = 1e-6;
  const ins = (t: number) => [
    f32([0.01], []),
    i64([t], []),
    f32([1]),
    f32([2, 3]),
    f32([0.5]),
    f32([-1, 0]),
    f32([0.1]),
    f32([0, 0.2]),
    f32([0.04]),
    f32([1, 0]),
  ];
  for (const t of [0, 2]) {
    const out = await runOne("Adam", ins(t), [floatAttr("norm_coefficient", 0.1)], {
      ...TR,
      outputs: 6,
    });
    // Group 1 by hand: g' = 0.1·1 + 0.5 = 0.6; v' = 0.09 + 0.06 = 0.15;
    // h' = 0.999·0.04 + 0.001·0.36 = 0.0403200.
    const v = 0.9 * 0.1 + 0.1 * 0.6;
    const h = 0.999 * 0.04 + 0.001 * 0.36;
    const r = t > 0 ? (0.01 * Math.sqrt(1 - beta ** t)) / (1 - alpha ** t) : 0.01;
    near(nums(out[2]), [v]);
    near(nums(out[4]), [h]);
    near(nums(out[0]), [1 - (r * v) / (Math.sqrt(h) + eps)]);
    assert.deepEqual(asTensor(out[1]).dims, [2]);
  }
  const [xp] = await runOne(
    "Adam",
    ins(0).slice(0, 2).concat([f32([1]), f32([0]), f32([0]), f32([0])]),
    [
      floatAttr("norm_coefficient_post", 0.25),
    ],
    { ...TR, outputs: 3 },
  );
  near(nums(xp), [0.75]);
});
