/**
 * Tests of the GEMM primitive against a float64 definition: both kernels (TypeScript and the
 * WebAssembly SIMD one, with several micro-kernel shapes), every operand layout (transposed,
 * offsets, leading dimensions), alpha/beta, empty and unit sizes, NaN/∞ propagation, worker
 * threads (bitwise equal to one thread), and the exact integer products.
 */

import assert from "node:assert/strict";
import { gemm, setGemmKernel } from "../../../../pipeline/run/cpu/gemm.ts";
import { configureKernels, kernels } from "../../../../pipeline/run/cpu/wasm/kernels.ts";
import { igemmExactWasm } from "../../../../pipeline/run/cpu/wasm/sgemm.ts";
import {
  availableThreads,
  setCpuThreads,
  stopWorkers,
} from "../../../../pipeline/run/cpu/wasm/threads.ts";

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

interface Case {
  M: number;
  N: number;
  K: number;
  ta: boolean;
  tb: boolean;
  lda: number;
  ldb: number;
  ldc: number;
  oa: number;
  ob: number;
  oc: number;
  alpha: number;
  beta: number;
}

/** Runs one case with `gemm` and checks every element of C (outside the result too). */
function check(cs: Case, seed: number, f64 = false): void {
  const { M, N, K, ta, tb, lda, ldb, ldc, oa, ob, oc, alpha, beta } = cs;
  const mk = (n: number, s: number) => (f64 ? Float64Array.from(rand(n, s)) : rand(n, s));
  const A = mk(oa + (ta ? K : M) * lda, seed);
  const B = mk(ob + (tb ? N : K) * ldb, seed + 1);
  const C = mk(oc + M * ldc + 3, seed + 2);
  const ref = Float64Array.from(C);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        s += A[oa + (ta ? k * lda + i : i * lda + k)] * B[ob + (tb ? j * ldb + k : k * ldb + j)];
      }
      const c0 = C[oc + i * ldc + j];
      ref[oc + i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c0);
    }
  }
  gemm(
    M,
    N,
    K,
    { data: A, offset: oa, ld: lda, trans: ta },
    {
      data: B,
      offset: ob,
      ld: ldb,
      trans: tb,
    },
    { data: C, offset: oc, ld: ldc },
    { alpha, beta },
  );
  for (let i = 0; i < C.length; i++) {
    const tol = 1e-5 * (K + 1);
    if (!(Math.abs(C[i] - ref[i]) <= tol)) {
      assert.fail(`${JSON.stringify(cs)}: C[${i}] = ${C[i]}, expected ${ref[i]}`);
    }
  }
}

/** Random cases, odd sizes included, with every layout option. */
function cases(count: number, seed: number, maxDim: number, maxK: number): Case[] {
  const r = rand(count * 16, seed);
  const pick = (i: number, n: number) => Math.floor(((r[i] + 1) / 2) * n);
  const out: Case[] = [];
  for (let t = 0; t < count; t++) {
    const b = t * 16;
    const M = 1 + pick(b, maxDim), N = 1 + pick(b + 1, maxDim), K = 1 + pick(b + 2, maxK);
    const ta = r[b + 3] > 0, tb = r[b + 4] > 0;
    const pad = (i: number) => (r[b + i] > 0.3 ? pick(b + i + 5, 9) : 0);
    out.push({
      M,
      N,
      K,
      ta,
      tb,
      lda: (ta ? M : K) + pad(5),
      ldb: (tb ? K : N) + pad(6),
      ldc: N + pad(7),
      oa: pick(b + 8, 5),
      ob: pick(b + 9, 5),
      oc: pick(b + 10, 5),
      alpha: [1, 0.5, -2, 0][pick(b + 11, 4)],
      beta: [0, 1, 0.25][pick(b + 12, 3)],
    });
  }
  return out;
}

const EDGE: Case[] = [];
for (const [M, N, K] of [[0, 3, 4], [3, 0, 4], [3, 4, 0], [1, 1, 1], [1, 9, 1], [7, 1, 300]]) {
  for (const beta of [0, 1, 0.5]) {
    EDGE.push({
      M,
      N,
      K,
      ta: false,
      tb: true,
      lda: Math.max(1, K),
      ldb: Math.max(1, K),
      ldc: Math.max(1, N),
      oa: 0,
      ob: 0,
      oc: 0,
      alpha: 1,
      beta,
    });
  }
}

Deno.test("gemm: the TypeScript kernel matches the definition (float32 and float64)", () => {
  setGemmKernel("ts");
  try {
    for (const cs of [...EDGE, ...cases(150, 11, 20, 40)]) {
      check(cs, 3);
      check(cs, 4, true);
    }
  } finally {
    setGemmKernel("auto");
  }
});

Deno.test("gemm: the WebAssembly kernel matches the definition for several micro-kernel shapes", () => {
  const shapes = [
    undefined,
    { mr: 4, nrv: 2, unroll: 2, fma: false },
    { mr: 5, nrv: 2, unroll: 3, fma: true },
    { mr: 3, nrv: 4, unroll: 1, fma: false },
    { mr: 1, nrv: 1, unroll: 2, fma: true },
  ];
  setGemmKernel("wasm");
  try {
    for (const shape of shapes) {
      configureKernels({ shape });
      assert.ok(kernels(), "WebAssembly SIMD is available here");
      for (const cs of [...EDGE, ...cases(120, 17, 30, 40)]) check(cs, 5);
      // K beyond one K block (256), M and N beyond one tile.
      for (const cs of cases(6, 23, 70, 700)) check(cs, 6);
      check({
        M: 400,
        N: 2100,
        K: 3,
        ta: false,
        tb: false,
        lda: 3,
        ldb: 2100,
        ldc: 2100,
        oa: 0,
        ob: 0,
        oc: 0,
        alpha: 1,
        beta: 1,
      }, 7);
    }
  } finally {
    configureKernels();
    setGemmKernel("auto");
  }
});

Deno.test("gemm: NaN and infinity propagate (0 · NaN is NaN), beta = 0 ignores old C", () => {
  for (const kernel of ["ts", "wasm"] as const) {
    setGemmKernel(kernel);
    try {
      const M = 9, N = 20, K = 33;
      const A = rand(M * K, 1), B = rand(K * N, 2);
      // Row 2 of A has a NaN; column 3 of B is all zero except an infinity in row 5.
      A[2 * K + 7] = NaN;
      for (let k = 0; k < K; k++) B[k * N + 3] = 0;
      B[5 * N + 3] = Infinity;
      const C = new Float32Array(M * N).fill(NaN);
      gemm(M, N, K, { data: A }, { data: B }, { data: C });
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const v = C[i * N + j];
          if (i === 2) assert.ok(Number.isNaN(v), `${kernel}: C[2,${j}] = ${v} must be NaN`);
          else if (j === 3) {
            // A[i,5] · ∞ is ±∞ (A has no zeros here).
            assert.equal(Math.abs(v), Infinity, `${kernel}: C[${i},3] = ${v}`);
          } else assert.ok(Number.isFinite(v), `${kernel}: C[${i},${j}] = ${v} must be finite`);
        }
      }
      // A zero times an infinity is NaN.
      const Z = new Float32Array(4 * 16), I = new Float32Array(16 * 8).fill(Infinity);
      const C2 = new Float32Array(4 * 8);
      gemm(4, 8, 16, { data: Z }, { data: I }, { data: C2 });
      assert.ok(C2.every(Number.isNaN), `${kernel}: 0 · ∞ must give NaN`);
    } finally {
      setGemmKernel("auto");
    }
  }
});

Deno.test("gemm: worker threads give bitwise the same result as one thread", async () => {
  const M = 70, N = 530, K = 600;
  const A = rand(M * K, 31), B = rand(K * N, 32);
  const one = new Float32Array(M * N), many = new Float32Array(M * N);
  setCpuThreads(1);
  gemm(M, N, K, { data: A }, { data: B }, { data: one });
  setCpuThreads(2);
  try {
    gemm(M, N, K, { data: A }, { data: B }, { data: many }); // starts the worker
    const k = kernels()!;
    for (let i = 0; i < 100 && availableThreads(k) < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (availableThreads(k) < 2) {
      console.log("gemm threads: no worker became ready here; checked one thread only");
    }
    for (let rep = 0; rep < 3; rep++) {
      many.fill(0);
      gemm(M, N, K, { data: A }, { data: B }, { data: many });
      assert.deepEqual(many, one);
    }
  } finally {
    setCpuThreads(undefined);
    stopWorkers();
  }
});

Deno.test("igemmExactWasm: integer products are exact for long K and accumulate in int32", () => {
  const M = 7, N = 13, K = 1000;
  // Extreme 8-bit differences: every partial sum of a 256-term block is at the float32 limit.
  const a = new Float32Array(M * K), b = new Float32Array(K * N);
  for (let i = 0; i < a.length; i++) a[i] = i % 3 === 0 ? -255 : 255;
  for (let i = 0; i < b.length; i++) b[i] = i % 5 === 0 ? 255 : -255 + (i % 7);
  const c = new Int32Array(M * N).fill(5);
  assert.ok(
    igemmExactWasm(
      M,
      N,
      K,
      { data: a, offset: 0, ld: K, trans: false },
      {
        data: b,
        offset: 0,
        ld: N,
        trans: false,
      },
      { data: c, offset: 0, ld: N },
      true,
    ),
  );
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 5;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      assert.equal(c[i * N + j], s, `C[${i},${j}]`);
    }
  }
});

Deno.test("kernels: disabling the WebAssembly module falls back to TypeScript", () => {
  configureKernels({ enabled: false });
  try {
    assert.equal(kernels(), null);
    check({
      M: 10,
      N: 11,
      K: 12,
      ta: true,
      tb: false,
      lda: 10,
      ldb: 11,
      ldc: 11,
      oa: 0,
      ob: 0,
      oc: 0,
      alpha: 2,
      beta: 0.5,
    }, 9);
  } finally {
    configureKernels();
  }
});
