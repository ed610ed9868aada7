/**
 * Tests of the integer GEMM primitive: exact sums with zero points against a direct
 * definition, and the x86 u8s8 int16 pair saturation against hand-computed sums.
 */

import assert from "node:assert/strict";
import { igemm, saturateInt16 } from "../../../../pipeline/run/cpu/igemm.ts";

/** Deterministic pseudo-random integers in [lo, hi]. */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** Σ_k (a[m,k] - za[m]) (b[k,n] - zb[n]) straight from the definition. */
function direct(
  M: number,
  N: number,
  K: number,
  a: number[],
  b: number[],
  za: number[],
  zb: number[],
): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (a[m * K + k] - za[m]) * (b[k * N + n] - zb[n]);
      out.push(s);
    }
  }
  return out;
}

Deno.test("igemm exact: per-row and per-column zero points match the definition", () => {
  const M = 5, N = 7, K = 13;
  const a = ints(M * K, 0, 255, 1), b = ints(K * N, -128, 127, 2);
  const za = ints(M, 0, 255, 3), zb = ints(N, -128, 127, 4);
  const c = new Int32Array(M * N);
  igemm(M, N, K, { data: Uint8Array.from(a), ld: K }, { data: Int8Array.from(b), ld: N }, {
    data: c,
    ld: N,
  }, { zeroPointA: za, zeroPointB: zb });
  assert.deepEqual(Array.from(c), direct(M, N, K, a, b, za, zb));
});

Deno.test("igemm exact: offsets, strides, scalar zero points and accumulate", () => {
  // A is the 2x3 block at (1, 1) of a 4x5 matrix; B the 3x2 block at (0, 2) of a 3x4 one.
  const aBig = ints(20, 0, 255, 5), bBig = ints(12, -128, 127, 6);
  const a = [1, 2].flatMap((r) => aBig.slice(r * 5 + 1, r * 5 + 4));
  const b = [0, 1, 2].flatMap((r) => bBig.slice(r * 4 + 2, r * 4 + 4));
  const c = new Float64Array([100, 200, 300, 400]);
  igemm(
    2,
    2,
    3,
    { data: Uint8Array.from(aBig), offset: 6, ld: 5 },
    {
      data: Int8Array.from(bBig),
      offset: 2,
      ld: 4,
    },
    { data: c, ld: 2 },
    { zeroPointA: 7, zeroPointB: -3, accumulate: true },
  );
  const want = direct(2, 2, 3, a, b, [7, 7], [-3, -3]).map((v, i) => v + [100, 200, 300, 400][i]);
  assert.deepEqual(Array.from(c), want);
});

Deno.test("saturateInt16 clamps to [-32768, 32767]", () => {
  assert.equal(saturateInt16(64770), 32767);
  assert.equal(saturateInt16(-65280), -32768);
  assert.equal(saturateInt16(-32768), -32768);
  assert.equal(saturateInt16(1234), 1234);
});

Deno.test("igemm saturatePairs: hand-computed pair sums", () => {
  const run = (a: number[], b: number[], opts = {}) => {
    const c = new Int32Array(1);
    igemm(
      1,
      1,
      a.length,
      { data: Uint8Array.from(a), ld: a.length },
      {
        data: Int8Array.from(b),
        ld: 1,
      },
      { data: c, ld: 1 },
      { saturatePairs: true, ...opts },
    );
    return c[0];
  };
  // Two pairs of 255*127 + 255*127 = 64770, each clamped to 32767 (exact: 129540).
  assert.equal(run([255, 255, 255, 255], [127, 127, 127, 127]), 65534);
  // Negative side: 255*-128 * 2 = -65280 -> -32768 per pair.
  assert.equal(run([255, 255, 255, 255], [-128, -128, -128, -128]), -65536);
  // Pairs are (0,1), (2,3): the zero sits in the first pair, so only the second clamps.
  assert.equal(run([255, 0, 255, 255], [127, 127, 127, 127]), 32385 + 32767);
  // The walk decides which terms meet: (0,1), (2,3) keep the large terms apart (exact
  // 64770); the walk 0, 2, 1, 3 pairs them, and that pair clamps.
  assert.equal(run([255, 0, 255, 0], [127, 127, 127, 127]), 64770);
  assert.equal(run([255, 0, 255, 0], [127, 127, 127, 127], { kOrder: [0, 2, 1, 3] }), 32767);
  assert.equal(run([255, 0, 255, 0], [127, 127, 127, 127], { kOrder: [1, 2, 3, 0] }), 64770);
  assert.equal(run([255, 0, 255, 0], [127, 127, 127, 127], { kOrder: [2, 0, 3, 1] }), 32767);
  // Odd K: the last term pairs with zero padding (a single u8*s8 product fits int16).
  assert.equal(run([255, 255, 255], [127, 127, 127]), 32767 + 32385);
  // Zero points enter exactly after the saturated raw sum:
  // 65534 - zb*sum(a) - za*sum(b) + K*za*zb with za = 5, zb = -3.
  assert.equal(
    run([255, 255, 255, 255], [127, 127, 127, 127], { zeroPointA: 5, zeroPointB: -3 }),
    65534 + 3 * 1020 - 5 * 508 + 4 * 5 * -3,
  );
});

Deno.test("igemm saturatePairs equals exact when no pair leaves the int16 range", () => {
  const M = 4, N = 6, K = 9;
  // |a*b| <= 120*127 = 15240, so a pair stays within 30480.
  const a = ints(M * K, 0, 120, 7), b = ints(K * N, -127, 127, 8);
  const c = new Float64Array(M * N);
  igemm(M, N, K, { data: Uint8Array.from(a), ld: K }, { data: Int8Array.from(b), ld: N }, {
    data: c,
    ld: N,
  }, { zeroPointA: 3, zeroPointB: 1, saturatePairs: true });
  assert.deepEqual(Array.from(c), direct(M, N, K, a, b, [3, 3, 3, 3], [1, 1, 1, 1, 1, 1]));
});

Deno.test("igemm saturatePairs matches a per-element pairing of random 8-bit data", () => {
  const M = 3, N = 5, K = 11;
  const a = ints(M * K, 150, 255, 9), b = ints(K * N, -128, 127, 10);
  const order = [3, 0, 10, 7, 1, 2, 9, 4, 6, 5, 8];
  const c = new Int32Array(M * N);
  igemm(M, N, K, { data: Uint8Array.from(a), ld: K }, { data: Int8Array.from(b), ld: N }, {
    data: c,
    ld: N,
  }, { saturatePairs: true, kOrder: order });
  let clamped = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let p = 0; p < K; p += 2) {
        const t0 = a[m * K + order[p]] * b[order[p] * N + n];
        const t1 = p + 1 < K ? a[m * K + order[p + 1]] * b[order[p + 1] * N + n] : 0;
        const pair = Math.max(-32768, Math.min(32767, t0 + t1));
        if (pair !== t0 + t1) clamped++;
        s += pair;
      }
      assert.equal(c[m * N + n], s, `C[${m},${n}]`);
    }
  }
  assert.ok(clamped > 0, "the data should make some pairs saturate");
});
