/**
 * Tests of the signal operators: the FFT against a naive DFT for power-of-two, short and
 * long (Bluestein) lengths; DFT attributes and inputs (axis, dft_length, onesided, inverse,
 * the inverse real FFT); STFT against framed DFTs; windows and MelWeightMatrix by hand.
 */

import assert from "node:assert/strict";
import { FftPlan } from "../../ops/signal.ts";
import { Tensor, toNumbers } from "../../pipeline/tensor/tensor.ts";
import { asTensor, attr, f32, f64, i64, near, nums, runOne } from "./_family_run.ts";
import { randomValues } from "./_single_node.ts";

/** Naive DFT of complex x (sign −1 forward, +1 inverse), no normalization. */
function naive(re: number[], im: number[], inverse: boolean): [number[], number[]] {
  const n = re.length;
  const oRe: number[] = [];
  const oIm: number[] = [];
  const s = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let a = 0, b = 0;
    for (let t = 0; t < n; t++) {
      const ang = (s * 2 * Math.PI * ((k * t) % n)) / n;
      a += re[t] * Math.cos(ang) - im[t] * Math.sin(ang);
      b += re[t] * Math.sin(ang) + im[t] * Math.cos(ang);
    }
    oRe.push(a);
    oIm.push(b);
  }
  return [oRe, oIm];
}

Deno.test("FftPlan matches a naive DFT for power-of-two, short and Bluestein lengths", () => {
  for (const n of [1, 2, 3, 5, 8, 12, 30, 64, 65, 97, 100, 128, 243, 1000]) {
    for (const inverse of [false, true]) {
      const re = randomValues(n, n * 7 + 1);
      const im = randomValues(n, n * 13 + 5);
      const [eRe, eIm] = naive(re, im, inverse);
      const aRe = Float64Array.from(re);
      const aIm = Float64Array.from(im);
      new FftPlan(n).transform(aRe, aIm, inverse);
      const tol = 1e-9 * n;
      near(aRe, eRe, tol, 0, `re n=${n} inverse=${inverse}`);
      near(aIm, eIm, tol, 0, `im n=${n} inverse=${inverse}`);
    }
  }
});

Deno.test("FftPlan handles a long prime length in n log n time", () => {
  const n = 40009; // prime: O(n²) would take billions of operations
  const re = Float64Array.from(randomValues(n, 3));
  const im = new Float64Array(n);
  const copy = re.slice();
  const t0 = performance.now();
  new FftPlan(n).transform(re, im, false);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms} ms`);
  for (const k of [0, 1, 12345, n - 1]) {
    let a = 0, b = 0;
    for (let t = 0; t < n; t++) {
      const ang = (-2 * Math.PI * ((k * t) % n)) / n;
      a += copy[t] * Math.cos(ang);
      b += copy[t] * Math.sin(ang);
    }
    near([re[k], im[k]], [a, b], 1e-7, 0, `bin ${k}`);
  }
});

Deno.test("DFT-20 on a real signal along axis 1 with dft_length padding and truncation", async () => {
  const sig = [1, 2, 3, 4, 0.5];
  const x = f32([...sig, ...sig.map((v) => -v)], [2, 5, 1]);
  for (const len of [5, 8, 3]) {
    const [y] = await runOne("DFT", [x, i64([len], []), i64([1], [])], [], { opset: 20 });
    assert.deepEqual(asTensor(y).dims, [2, len, 2]);
    const padded = Array.from({ length: len }, (_, t) => (t < 5 ? sig[t] : 0));
    const [eRe, eIm] = naive(padded, padded.map(() => 0), false);
    const want = eRe.flatMap((r, k) => [r, eIm[k]]);
    near(nums(y), [...want, ...want.map((v) => -v)], 1e-5, 1e-5, `len ${len}`);
  }
});

Deno.test("DFT-17 axis attribute, onesided and inverse on complex input", async () => {
  // [1, 2 (axis 1), 4 (axis 2), 2]: transform along axis 2 with the attribute.
  const re = [1, 0, -1, 2, 3, 1, 0, 0];
  const im = [0, 1, 0, -1, 2, 0, 0, 1];
  const data: number[] = [];
  for (let i = 0; i < 8; i++) data.push(re[i], im[i]);
  const x = f64(data, [1, 2, 4, 2]);
  const [y] = await runOne("DFT", [x], [attr.int("axis", 2), attr.int("inverse", 1)], {
    opset: 17,
  });
  assert.equal(asTensor(y).type, "float64");
  const want: number[] = [];
  for (const row of [0, 1]) {
    const [a, b] = naive(re.slice(row * 4, row * 4 + 4), im.slice(row * 4, row * 4 + 4), true);
    for (let k = 0; k < 4; k++) want.push(a[k] / 4, b[k] / 4);
  }
  near(nums(y), want, 1e-12, 0);
  const [one] = await runOne(
    "DFT",
    [f32([1, 2, 3, 4, 5, 6], [1, 6, 1])],
    [attr.int("onesided", 1)],
    {
      opset: 17,
    },
  );
  assert.deepEqual(asTensor(one).dims, [1, 4, 2]);
  const [a, b] = naive([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0], false);
  near(nums(one), [0, 1, 2, 3].flatMap((k) => [a[k], b[k]]), 1e-5, 1e-5);
});

Deno.test("DFT inverse real FFT reconstructs the signal (even and odd lengths)", async () => {
  for (const n of [8, 7]) {
    const sig = randomValues(n, n);
    const x = f64(sig, [1, n, 1]);
    const [spec] = await runOne("DFT", [x], [attr.int("onesided", 1)], { opset: 20 });
    const bins = (n >> 1) + 1;
    assert.deepEqual(asTensor(spec).dims, [1, bins, 2]);
    const inputs = [spec, n === 8 ? undefined : i64([n], [])];
    const [back] = await runOne("DFT", inputs, [attr.int("onesided", 1), attr.int("inverse", 1)], {
      opset: 20,
    });
    assert.deepEqual(asTensor(back).dims, [1, n, 1]);
    near(nums(back), sig, 1e-12, 0, `n=${n}`);
  }
});

Deno.test("DFT keeps float16 and rejects an axis on the complex dimension", async () => {
  const h = new Tensor("float16", Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400]), [1, 4, 1]);
  const [y] = await runOne("DFT", [h], [], { opset: 20 });
  assert.equal(asTensor(y).type, "float16");
  near(toNumbers(asTensor(y)), [10, 0, -2, 2, -2, 0, -2, -2]);
  await assert.rejects(() =>
    runOne("DFT", [f32([1, 2], [1, 2, 1]), undefined, i64([-1], [])], [], { opset: 20 })
  );
});

Deno.test("STFT equals windowed DFTs of each frame", async () => {
  const len = 16, step = 4, frame = 8;
  const sig = randomValues(len, 11);
  const win = Array.from(
    { length: frame },
    (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame),
  );
  const [y] = await runOne("STFT", [f64(sig, [1, len, 1]), i64([step], []), f64(win)], []);
  const frames = 1 + (len - frame) / step;
  const bins = frame / 2 + 1;
  assert.deepEqual(asTensor(y).dims, [1, frames, bins, 2]);
  const want: number[] = [];
  for (let f = 0; f < frames; f++) {
    const seg = win.map((w, t) => w * sig[f * step + t]);
    const [a, b] = naive(seg, seg.map(() => 0), false);
    for (let k = 0; k < bins; k++) want.push(a[k], b[k]);
  }
  near(nums(y), want, 1e-12, 0);
  // No window, frame_length given, two-sided.
  const [y2] = await runOne(
    "STFT",
    [f64(sig, [1, len, 1]), i64([step], []), undefined, i64([frame], [])],
    [attr.int("onesided", 0)],
  );
  assert.deepEqual(asTensor(y2).dims, [1, frames, frame, 2]);
  const [a, b] = naive(sig.slice(4, 12), new Array(8).fill(0), false);
  near(nums(y2).slice(frame * 2, frame * 4), a.flatMap((r, k) => [r, b[k]]), 1e-12, 0);
});

Deno.test("Hann, Hamming and Blackman windows (periodic, symmetric, output types)", async () => {
  const size = (n: number) => i64([n], []);
  const [hp] = await runOne("HannWindow", [size(4)], []);
  near(nums(hp), [0, 0.5, 1, 0.5]);
  const [hs] = await runOne("HannWindow", [size(5)], [attr.int("periodic", 0)]);
  near(nums(hs), [0, 0.5, 1, 0.5, 0]);
  const [hm] = await runOne("HammingWindow", [size(4)], [attr.int("output_datatype", 11)]);
  assert.equal(asTensor(hm).type, "float64");
  near(nums(hm), [4 / 46, 25 / 46, 1, 25 / 46], 1e-12, 0);
  const [bs] = await runOne("BlackmanWindow", [size(3)], [attr.int("periodic", 0)]);
  near(nums(bs), [0, 1, 0]);
  const [bp] = await runOne("BlackmanWindow", [size(4)], []);
  near(nums(bp), [0, 0.42 + 0.08 * -1, 0.42 + 0.5 + 0.08, 0.42 - 0.08]);
  const [one] = await runOne("HannWindow", [size(1)], [attr.int("periodic", 0)]);
  near(nums(one), [1]);
  const [ints] = await runOne("HannWindow", [size(4)], [attr.int("output_datatype", 7)]);
  assert.equal(asTensor(ints).type, "int64");
  assert.deepEqual(nums(ints), [0, 0, 1, 0]);
});

Deno.test("MelWeightMatrix places triangular filters on integer bins", async () => {
  const [y] = await runOne("MelWeightMatrix", [
    i64([2], []),
    i64([8], []),
    i64([8000], []),
    f32([0], []),
    f32([4000], []),
  ], []);
  // Edges (Hz → bin): 0 → 0, 426.8 → 0, 1113.9 → 1, 2219.9 → 2.
  assert.deepEqual(asTensor(y).dims, [5, 2]);
  near(nums(y), [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
});
