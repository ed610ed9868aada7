/**
 * Statistical tests of the random operators: ranges, means and variances of 10^5 samples,
 * Bernoulli and Multinomial frequencies, output types, and seed determinism.
 */

import assert from "node:assert/strict";
import { Tensor, toNumbers } from "../../pipeline/tensor/tensor.ts";
import { seededSource } from "../../ops/random.ts";
import { asTensor, f32, f64, i32 } from "./_op_harness.ts";
import { runOne } from "./_session_run.ts";
import { floatAttr, intAttr, intsAttr } from "../../pipeline/load/build.ts";

const N = 100_000;

function stats(v: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let s = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    min = Math.min(min, v[i]);
    max = Math.max(max, v[i]);
  }
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, variance: q / v.length, min, max };
}

function within(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual}, expected ${expected} ± ${tol}`,
  );
}

Deno.test("RandomUniform samples [low, high) with the uniform mean and variance", async () => {
  for (const seeded of [false, true]) {
    const attrs = [
      intsAttr("shape", [N]),
      floatAttr("low", -2),
      floatAttr("high", 3),
      ...(seeded ? [floatAttr("seed", 42)] : []),
    ];
    const [y] = await runOne("RandomUniform", [], attrs);
    const t = asTensor(y);
    assert.equal(t.type, "float32");
    assert.deepEqual(t.dims, [N]);
    const s = stats(t.data as Float32Array);
    assert.ok(s.min >= -2 && s.max < 3, `range [${s.min}, ${s.max}]`);
    within(s.mean, 0.5, 0.03, "mean");
    within(s.variance, 25 / 12, 0.05, "variance");
  }
});

Deno.test("RandomNormal and RandomNormalLike have the requested mean and scale", async () => {
  const [y] = await runOne("RandomNormal", [], [
    intsAttr("shape", [N / 2, 2]),
    floatAttr("mean", 1),
    floatAttr("scale", 2),
    intAttr("dtype", 11),
  ]);
  const t = asTensor(y);
  assert.equal(t.type, "float64");
  assert.deepEqual(t.dims, [N / 2, 2]);
  const s = stats(t.data as Float64Array);
  within(s.mean, 1, 0.04, "mean");
  within(s.variance, 4, 0.1, "variance");
  // About 95.4 % of normal samples lie within two standard deviations.
  let inside = 0;
  for (const v of t.data as Float64Array) if (Math.abs(v - 1) < 4) inside++;
  within(inside / N, 0.9545, 0.005, "two-sigma fraction");
  const [like] = await runOne("RandomNormalLike", [i32(new Array(N).fill(0))], [
    intAttr("dtype", 1),
    floatAttr("seed", 7),
  ]);
  const lt = asTensor(like);
  assert.equal(lt.type, "float32");
  const ls = stats(lt.data as Float32Array);
  within(ls.mean, 0, 0.02, "like mean");
  within(ls.variance, 1, 0.03, "like variance");
});

Deno.test("RandomUniformLike keeps the input's float type or uses dtype", async () => {
  const h = new Tensor("float16", new Uint16Array(1000), [10, 100]);
  const [y] = await runOne("RandomUniformLike", [h], [floatAttr("low", 5), floatAttr("high", 6)]);
  const t = asTensor(y);
  assert.equal(t.type, "float16");
  assert.deepEqual(t.dims, [10, 100]);
  const s = stats(toNumbers(t));
  assert.ok(s.min >= 5 && s.max < 6, `range [${s.min}, ${s.max}]`);
  await assert.rejects(() => runOne("RandomUniformLike", [i32([1, 2])], []));
});

Deno.test("a seed gives the same values on every run; different seeds differ", async () => {
  const attrs = (seed: number) => [intsAttr("shape", [64]), floatAttr("seed", seed)];
  const [a] = await runOne("RandomUniform", [], attrs(1.5));
  const [b] = await runOne("RandomUniform", [], attrs(1.5));
  const [c] = await runOne("RandomUniform", [], attrs(2.5));
  assert.deepEqual(asTensor(a).data, asTensor(b).data);
  assert.notDeepEqual(asTensor(a).data, asTensor(c).data);
  const src = seededSource(3);
  const xs = Array.from({ length: N }, () => src());
  const s = stats(xs);
  assert.ok(s.min >= 0 && s.max < 1);
  within(s.mean, 0.5, 0.005, "seeded source mean");
  within(s.variance, 1 / 12, 0.002, "seeded source variance");
});

Deno.test("Bernoulli draws ones with the given probability", async () => {
  const p = new Array(N).fill(0.3);
  const [y] = await runOne("Bernoulli", [f32(p)], []);
  const t = asTensor(y);
  assert.equal(t.type, "float32");
  const v = t.data as Float32Array;
  assert.ok(v.every((x) => x === 0 || x === 1));
  within(stats(v).mean, 0.3, 0.01, "mean");
  const [edges] = await runOne("Bernoulli", [f64([0, 1, 0, 1], [2, 2])], [
    intAttr("dtype", 9),
    floatAttr("seed", 5),
  ]);
  assert.equal(asTensor(edges).type, "bool");
  assert.deepEqual(Array.from(asTensor(edges).data as Uint8Array), [0, 1, 0, 1]);
});

Deno.test("Multinomial samples each row's softmax distribution", async () => {
  const probs = [0.2, 0.5, 0.3];
  const logits = f32([...probs.map(Math.log), 0, 0, -Infinity], [2, 3]);
  const [y] = await runOne("Multinomial", [logits], [
    intAttr("sample_size", N / 2),
    intAttr("dtype", 7),
  ]);
  const t = asTensor(y);
  assert.equal(t.type, "int64");
  assert.deepEqual(t.dims, [2, N / 2]);
  const d = t.data as BigInt64Array;
  const counts = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < N; i++) counts[(i < N / 2 ? 0 : 3) + Number(d[i])]++;
  probs.forEach((p, k) => within(counts[k] / (N / 2), p, 0.01, `class ${k}`));
  within(counts[3] / (N / 2), 0.5, 0.01, "row 1 class 0");
  assert.equal(counts[5], 0, "a class of probability 0 is never drawn");
  const [i32out] = await runOne("Multinomial", [f32([0, 0], [1, 2])], [intAttr("sample_size", 5)]);
  assert.equal(asTensor(i32out).type, "int32");
  assert.deepEqual(asTensor(i32out).dims, [1, 5]);
});
