/**
 * Tests of the signal operators: the FFT against a naive DFT for power-of-two, short and
 * long (Bluestein) lengths; bit-exact agreement with numpy 2's pocketfft (expected values below
 * were produced by numpy 2.4.6: float32 inverse transforms, float64 forward transforms rounded
 * to float32, pocketfft's factor order, plan choice and twiddle angle); DFT attributes and
 * inputs (axis, dft_length, onesided, inverse, the inverse real FFT); STFT against framed DFTs;
 * windows and MelWeightMatrix by hand.
 */

import assert from "node:assert/strict";
import { FftPlan, RealFftPlan } from "../../ops/signal.ts";
import { fftInternals } from "../../ops/signal_fft.ts";
import { Tensor, toNumbers } from "../../pipeline/tensor/tensor.ts";
import { asTensor, f32, f64, i64, near, nums, randomValues } from "./_op_harness.ts";
import { runOne } from "./_session_run.ts";
import { intAttr } from "../../pipeline/load/build.ts";

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
  const [y] = await runOne("DFT", [x], [intAttr("axis", 2), intAttr("inverse", 1)], {
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
    [intAttr("onesided", 1)],
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
    const [spec] = await runOne("DFT", [x], [intAttr("onesided", 1)], { opset: 20 });
    const bins = (n >> 1) + 1;
    assert.deepEqual(asTensor(spec).dims, [1, bins, 2]);
    const inputs = [spec, n === 8 ? undefined : i64([n], [])];
    const [back] = await runOne("DFT", inputs, [intAttr("onesided", 1), intAttr("inverse", 1)], {
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
    [intAttr("onesided", 0)],
  );
  assert.deepEqual(asTensor(y2).dims, [1, frames, frame, 2]);
  const [a, b] = naive(sig.slice(4, 12), new Array(8).fill(0), false);
  near(nums(y2).slice(frame * 2, frame * 4), a.flatMap((r, k) => [r, b[k]]), 1e-12, 0);
});

/** Exactly-float32 test signal: re_t = ((7t mod 11) − 5)/4, im_t = ((5t mod 13) − 6)/8. */
function pattern(n: number): { re: number[]; im: number[] } {
  const re = Array.from({ length: n }, (_, t) => (((7 * t) % 11) - 5) / 4);
  const im = Array.from({ length: n }, (_, t) => (((5 * t) % 13) - 6) / 8);
  return { re, im };
}

/** Asserts bit equality (Object.is, so −0 ≠ 0), naming the first differing index. */
function same(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Object.is(actual[i], expected[i]),
      `${what}[${i}]: got ${actual[i]}, numpy gives ${expected[i]}`,
    );
  }
}

// numpy 2.4.6, x = pattern(n) as complex64: bins 0..3 and n−1 of np.fft.ifft(x) (computed in
// float32) and bins 0..2 of np.fft.fft(x) (computed in float64, result complex64), as
// [re..., im...]. 8, 12, 16: radix 4/8/2/3 passes; 10, 15: radix 5 and 3; 49: radix 7;
// 97: the generic prime pass; 101: Bluestein.
const NUMPY_IFFT: Record<number, { inv: number[]; last: number[]; fwd: number[] }> = {
  8: {
    inv: [
      0.0625,
      -0.12657038867473602,
      -0.28125,
      0.06092961132526398,
      0.015625,
      -0.07590413093566895,
      -0.296875,
      0.29909586906433105,
    ],
    last: [-0.24842961132526398, -0.14284586906433105],
    fwd: [0.5, -1.9874368906021118, -0.75, 0.125, -1.1427669525146484, 0.625],
  },
  10: {
    inv: [
      0.02500000037252903,
      -0.17345072329044342,
      -0.172524556517601,
      0.1633979082107544,
      -0.05000000074505806,
      -0.0423436164855957,
      0.015968933701515198,
      -0.34796810150146484,
    ],
    last: [-0.09650862962007523, -0.25765639543533325],
    fwd: [
      0.25,
      -0.9650862812995911,
      -0.32516101002693176,
      -0.5,
      -2.576563596725464,
      0.09031067788600922,
    ],
  },
  12: {
    inv: [
      -0.1041666716337204,
      -0.21698050200939178,
      -0.11533121764659882,
      -0.28125,
      -0.02083333395421505,
      0.06426951289176941,
      0.03050212189555168,
      -0.1354166716337204,
    ],
    last: [-0.1580195128917694, -0.24673472344875336],
    fwd: [
      -1.25,
      -1.896234154701233,
      -3.116025447845459,
      -0.25,
      -2.9608166217803955,
      -1.366025447845459,
    ],
  },
  15: {
    inv: [
      0,
      -0.032991208136081696,
      -0.04706820100545883,
      -0.15501777827739716,
      -0.05833333730697632,
      0.025624539703130722,
      -0.1384917050600052,
      -0.050344452261924744,
    ],
    last: [0.08462456613779068, -0.2172912061214447],
    fwd: [
      0,
      1.2693681716918945,
      0.13624106347560883,
      -0.875,
      -3.2593679428100586,
      -0.7976247072219849,
    ],
  },
  16: {
    inv: [
      0.015625,
      -0.004406703636050224,
      -0.07685194909572601,
      -0.12385828793048859,
      -0.0234375,
      0.03356082737445831,
      -0.12562258541584015,
      -0.003139168955385685,
    ],
    last: [0.10470414161682129, -0.12691840529441833],
    fwd: [
      0.25,
      1.6752662658691406,
      -0.8812815546989441,
      -0.375,
      -2.0306944847106934,
      0.8080582618713379,
    ],
  },
  49: {
    inv: [
      0.005102040711790323,
      0.0030760958325117826,
      0.0023209366481751204,
      0.0034566144458949566,
      -0.010204081423580647,
      -0.004933281801640987,
      0.003623256692662835,
      0.025878900662064552,
    ],
    last: [0.008454225026071072, -0.014564345590770245],
    fwd: [
      0.25,
      0.4142574369907379,
      0.6962065100669861,
      -0.5,
      -0.7136525511741638,
      -0.9399001598358154,
    ],
  },
  97: {
    inv: [
      -0.005154639016836882,
      -0.0060046277940273285,
      -0.0067667290568351746,
      -0.007521853782236576,
      0,
      0.0005306754028424621,
      0.0011251501273363829,
      0.0018003219738602638,
    ],
    last: [-0.004140298813581467, -0.00047026947140693665],
    fwd: [
      -0.5,
      -0.4016086161136627,
      -0.27721983194351196,
      0,
      -0.04561641067266464,
      -0.08454564958810806,
    ],
  },
  101: {
    inv: [
      -0.00742573756724596,
      -0.008074553683400154,
      -0.00880892388522625,
      -0.009672189131379128,
      -0.004950485657900572,
      -0.0039693317376077175,
      -0.002825886942446232,
      -0.0014117712853476405,
    ],
    last: [-0.0068349880166351795, -0.0058340393006801605],
    fwd: [
      -0.75,
      -0.6903340220451355,
      -0.6344263553619385,
      -0.5,
      -0.5892374515533447,
      -0.6727867126464844,
    ],
  },
};

Deno.test("float32 DFT matches numpy's complex64 fft/ifft bit for bit", async () => {
  for (const [key, want] of Object.entries(NUMPY_IFFT)) {
    const n = Number(key);
    const { re, im } = pattern(n);
    const x = f32(re.flatMap((r, t) => [r, im[t]]), [1, n, 2]);
    const [inv] = await runOne("DFT", [x], [intAttr("inverse", 1)], { opset: 20 });
    const y = nums(inv);
    const pick = (k: number[], part: number) => k.map((b) => y[2 * b + part]);
    same([...pick([0, 1, 2, 3], 0), ...pick([0, 1, 2, 3], 1)], want.inv, `ifft n=${n}`);
    same([y[2 * (n - 1)], y[2 * (n - 1) + 1]], want.last, `ifft n=${n} last bin`);
    const [fwd] = await runOne("DFT", [x], [], { opset: 20 });
    const z = nums(fwd);
    same([z[0], z[2], z[4], z[1], z[3], z[5]], want.fwd, `fft n=${n}`);
  }
});

Deno.test("FftPlan in float32 reproduces numpy's ifft of the whole signal", () => {
  // numpy 2.4.6: np.fft.ifft(pattern(n) as complex64), interleaved (re, im). The float32
  // rounding shows, e.g. −0.32500001788… for −0.325 and −0.21874998… for −0.21875.
  const want: Record<number, number[]> = {
    10: [
      0.02500000037252903,
      -0.05000000074505806,
      -0.17345072329044342,
      -0.0423436164855957,
      -0.172524556517601,
      0.015968933701515198,
      0.1633979082107544,
      -0.34796810150146484,
      -0.1903790980577469,
      0.11321850121021271,
      -0.32500001788139343,
      -0.15000000596046448,
      -0.6295802593231201,
      -0.08821850270032883,
      0.1815614551305771,
      0.04796807840466499,
      -0.03251609951257706,
      0.009031066671013832,
      -0.09650862962007523,
      -0.25765639543533325,
    ],
    12: [
      -0.1041666716337204,
      -0.02083333395421505,
      -0.21698050200939178,
      0.06426951289176941,
      -0.11533121764659882,
      0.03050212189555168,
      -0.28125,
      -0.1354166716337204,
      0.2167067527770996,
      0.11159180104732513,
      -0.1267695128917694,
      0.1544804871082306,
      -0.1875,
      -0.0416666679084301,
      -0.24823050200939178,
      0.13215139508247375,
      0.324959933757782,
      -0.4657585024833679,
      -0.09375,
      -0.2187499850988388,
      -0.2596687972545624,
      -0.11383545398712158,
      -0.1580195128917694,
      -0.24673472344875336,
    ],
  };
  for (const [key, expected] of Object.entries(want)) {
    const n = Number(key);
    const { re, im } = pattern(n);
    const c = Float64Array.from(re.flatMap((r, t) => [r, im[t]]));
    new FftPlan(n, "float32").exec(c, false, Math.fround(1 / n));
    same(c, expected, `ifft n=${n}`);
  }
});

Deno.test("onesided float32 DFT matches numpy's rfft and irfft bit for bit", async () => {
  // numpy 2.4.6: np.fft.rfft(re) (float64 inside, first 4 bins as (re, im)) and
  // np.fft.irfft(re[:n//2+1] + 1j·im[:n//2+1], n) in float32, for re, im = pattern(n).
  const rfft: Record<number, number[]> = {
    12: [-1.25, 0, -2.25, -1.866025447845459, -2.25, -0.8660253882408142, -2.25, -0.5],
    15: [
      0,
      0,
      0.38725000619888306,
      -1.8218680620193481,
      -0.2848908305168152,
      0.6398752927780151,
      -1.2752032279968262,
      1.75516676902771,
    ],
    16: [
      0.25,
      0,
      0.8023794293403625,
      -1.2838338613510132,
      -1.0554563999176025,
      1.4090096950531006,
      -2.7906687259674072,
      1.4265308380126953,
    ],
  };
  const irfft: Record<number, number[]> = {
    12: [
      0.1041666716337204,
      -0.12853902578353882,
      -0.1569978892803192,
      -0.25,
      0.40958863496780396,
      -0.3089609742164612,
      -0.2291666716337204,
      -0.5518829822540283,
      0.048744719475507736,
      0.1249999925494194,
      -0.3013354539871216,
      -0.010617057792842388,
    ],
    15: [
      0.15000000596046448,
      -0.15023033320903778,
      -0.04402223601937294,
      -0.23648793995380402,
      -0.1097913309931755,
      0.35103631019592285,
      -0.12765620648860931,
      -0.31665390729904175,
      -0.14489765465259552,
      -0.5547482967376709,
      0.14896371960639954,
      0.10777808725833893,
      -0.14777423441410065,
      -0.1719675362110138,
      -0.0035484633408486843,
    ],
    16: [
      0.078125,
      -0.07334637641906738,
      -0.11094538867473602,
      -0.11347910761833191,
      -0.265625,
      0.31356939673423767,
      0.07655461132526398,
      -0.3047288656234741,
      -0.171875,
      -0.29851284623146057,
      -0.4203045964241028,
      0.33444997668266296,
      -0.078125,
      -0.06671017408370972,
      -0.23280461132526398,
      0.08375798165798187,
    ],
  };
  for (const n of [12, 15, 16]) {
    const { re, im } = pattern(n);
    const [spec] = await runOne("DFT", [f32(re, [1, n, 1])], [intAttr("onesided", 1)], {
      opset: 20,
    });
    assert.deepEqual(asTensor(spec).dims, [1, (n >> 1) + 1, 2]);
    same(nums(spec).slice(0, 8), rfft[n], `rfft n=${n}`);
    const bins = (n >> 1) + 1;
    const half = f32(re.slice(0, bins).flatMap((r, k) => [r, im[k]]), [1, bins, 2]);
    const [back] = await runOne(
      "DFT",
      [half, i64([n], [])],
      [intAttr("onesided", 1), intAttr("inverse", 1)],
      { opset: 20 },
    );
    assert.deepEqual(asTensor(back).dims, [1, n, 1]);
    same(nums(back), irfft[n], `irfft n=${n}`);
  }
  // The half-complex layout of RealFftPlan itself: [r0, r1, i1, r2] for a length-4 signal.
  const c = Float64Array.of(1, 2, 3, 4);
  new RealFftPlan(4).exec(c, true);
  assert.deepEqual([...c], [10, -2, 2, -2]);
});

Deno.test("STFT on float32 multiplies by the window in float32, as numpy does", async () => {
  // numpy 2.4.6: np.fft.fft(sig[8f:8f+16] * win)[:9] with float32 sig = pattern(32).re and
  // win = float32((i + 1) / 7); 22 of these 54 values differ from a float64 product.
  const want = [
    1.428571343421936,
    0,
    3.0470926761627197,
    -0.5849276185035706,
    0.8630900382995605,
    3.6796226501464844,
    -2.6524267196655273,
    2.9265332221984863,
    -3.4285712242126465,
    -0.42857128381729126,
    2.240316152572632,
    2.305213212966919,
    -6.005947113037109,
    -4.891805648803711,
    1.7935893535614014,
    -4.206247806549072,
    3.999999761581421,
    0,
    -1.1785712242126465,
    0,
    -2.0068602561950684,
    -1.863613247871399,
    1.6885437965393066,
    -0.4122910499572754,
    2.680548667907715,
    -1.414103627204895,
    2.1785712242126465,
    -1.7142857313156128,
    4.669670104980469,
    6.061640739440918,
    -7.402829170227051,
    2.2305657863616943,
    -2.0576441287994385,
    1.4692741632461548,
    -0.6071428060531616,
    0,
    0.9285717010498047,
    0,
    -0.34803104400634766,
    1.5173132419586182,
    1.4028295278549194,
    -2.472515821456909,
    0.4502907693386078,
    0.9580416083335876,
    4.642857074737549,
    -1.428571343421936,
    2.4394123554229736,
    4.308005332946777,
    -7.688543796539307,
    5.098912715911865,
    -0.3988148868083954,
    -0.4184371829032898,
    -3.642857313156128,
    0,
  ];
  const sig = f32(pattern(32).re, [1, 32, 1]);
  const win = f32(Array.from({ length: 16 }, (_, i) => (i + 1) / 7));
  const [y] = await runOne("STFT", [sig, i64([8], []), win], []);
  assert.deepEqual(asTensor(y).dims, [1, 3, 9, 2]);
  same(nums(y), want, "stft");
});

Deno.test("pocketfft plan structure: factor order, Bluestein choice, long double angle", () => {
  // cfftp: 8s, then 4s, a lone 2 swapped to the front, then odd primes.
  assert.deepEqual(fftInternals.complexFactors(16), [2, 8]);
  assert.deepEqual(fftInternals.complexFactors(64), [8, 8]);
  assert.deepEqual(fftInternals.complexFactors(12), [4, 3]);
  assert.deepEqual(fftInternals.complexFactors(10), [2, 5]);
  assert.deepEqual(fftInternals.complexFactors(30030), [2, 3, 5, 7, 11, 13]);
  // rfftp: no radix 8.
  assert.deepEqual(fftInternals.realFactors(8), [2, 4]);
  assert.deepEqual(fftInternals.realFactors(32), [2, 4, 4]);
  // Bluestein only where 1.5·2·cost(good size of 2n − 1) beats the direct cost.
  assert.equal(fftInternals.usesBluestein(49, false), false); // below 50: never
  assert.equal(fftInternals.usesBluestein(97, false), false); // generic radix 97
  assert.equal(fftInternals.usesBluestein(101, false), true);
  assert.equal(fftInternals.usesBluestein(101, true), false); // real transforms: half cost
  assert.equal(fftInternals.goodSizeComplex(201), 210);
  // 0.25L·π/n in x87 long double, then rounded to double (numpy.longdouble gives the same);
  // Math.PI / 4 / n is one unit lower for these n.
  assert.equal(fftInternals.quarterPiOver(3), 0.26179938779914946);
  assert.equal(fftInternals.quarterPiOver(13), 0.060415243338265257);
  assert.equal(fftInternals.quarterPiOver(97), 0.008096888282447921);
  assert.notEqual(Math.PI / 4 / 3, 0.26179938779914946);
});

Deno.test("Hann, Hamming and Blackman windows (periodic, symmetric, output types)", async () => {
  const size = (n: number) => i64([n], []);
  const [hp] = await runOne("HannWindow", [size(4)], []);
  near(nums(hp), [0, 0.5, 1, 0.5]);
  const [hs] = await runOne("HannWindow", [size(5)], [intAttr("periodic", 0)]);
  near(nums(hs), [0, 0.5, 1, 0.5, 0]);
  const [hm] = await runOne("HammingWindow", [size(4)], [intAttr("output_datatype", 11)]);
  assert.equal(asTensor(hm).type, "float64");
  near(nums(hm), [4 / 46, 25 / 46, 1, 25 / 46], 1e-12, 0);
  const [bs] = await runOne("BlackmanWindow", [size(3)], [intAttr("periodic", 0)]);
  near(nums(bs), [0, 1, 0]);
  const [bp] = await runOne("BlackmanWindow", [size(4)], []);
  near(nums(bp), [0, 0.42 + 0.08 * -1, 0.42 + 0.5 + 0.08, 0.42 - 0.08]);
  const [one] = await runOne("HannWindow", [size(1)], [intAttr("periodic", 0)]);
  near(nums(one), [1]);
  const [ints] = await runOne("HannWindow", [size(4)], [intAttr("output_datatype", 7)]);
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
