/**
 * Tests of the WebAssembly convolution, pooling and elementwise kernels against direct
 * definitions written here: im2col + GEMM (float32 and exact integer), depthwise convolution,
 * max pooling (with its NaN rule and empty windows), Relu and Clip (NaN, −0, ∞), the min/max
 * scan and uint8 quantization of DynamicQuantizeLinear, and the LEB128 encoders.
 */

import assert from "node:assert/strict";
import { sleb, uleb } from "../../../../pipeline/run/cpu/wasm/emit.ts";
import {
  igemmIm2colExactWasm,
  type Im2colOperand,
  sgemmIm2colWasm,
} from "../../../../pipeline/run/cpu/wasm/sgemm.ts";
import {
  depthwise2dWasm,
  maxpool2dWasm,
  type Window2d,
} from "../../../../pipeline/run/cpu/wasm/conv.ts";
import {
  clipWasm,
  minMaxWasm,
  quantizeU8Wasm,
  reluWasm,
} from "../../../../pipeline/run/cpu/wasm/vector.ts";

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Windows to test: strides 1–3, dilations, positive, zero and negative pads. */
function windows(): Window2d[] {
  const out: Window2d[] = [];
  const specs = [
    [7, 9, 3, 3, 1, 1, 1, 1, 1, 1],
    [8, 8, 3, 3, 2, 2, 1, 1, 1, 1],
    [9, 11, 3, 2, 2, 3, 2, 1, 2, 0],
    [5, 6, 1, 1, 1, 1, 1, 1, 0, 0],
    [10, 13, 5, 5, 3, 2, 1, 2, 2, 3],
    [6, 20, 2, 3, 1, 2, 1, 1, -1, 1],
    [4, 4, 3, 3, 1, 1, 1, 1, 4, 4],
    [3, 37, 1, 7, 1, 2, 1, 1, 0, 3],
  ];
  for (const [H, W, KH, KW, SH, SW, DH, DW, PH, PW] of specs) {
    const OH = Math.floor((H + 2 * PH - (DH * (KH - 1) + 1)) / SH) + 1;
    const OW = Math.floor((W + 2 * PW - (DW * (KW - 1) + 1)) / SW) + 1;
    if (OH > 0 && OW > 0) out.push({ H, W, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW });
  }
  return out;
}

/** Tap value of channel c at output (oh, ow), kernel (kh, kw), or undefined outside. */
function tap(
  x: Float32Array,
  off: number,
  c: number,
  g: Window2d,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
): number | undefined {
  const ih = oh * g.SH + kh * g.DH - g.PH, iw = ow * g.SW + kw * g.DW - g.PW;
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return undefined;
  return x[off + (c * g.H + ih) * g.W + iw];
}

Deno.test("sgemmIm2colWasm: convolution as GEMM matches the definition", () => {
  for (const [wi, g] of windows().entries()) {
    const C = 3, M = 5, K = C * g.KH * g.KW, N = g.OH * g.OW, off = 2;
    const x = rand(off + C * g.H * g.W, wi), w = rand(M * K, wi + 50);
    for (const beta of [0, 1]) {
      const y = rand(M * N, wi + 100);
      const ref = Float64Array.from(y);
      for (let m = 0; m < M; m++) {
        for (let oh = 0; oh < g.OH; oh++) {
          for (let ow = 0; ow < g.OW; ow++) {
            let s = 0;
            for (let c = 0; c < C; c++) {
              for (let kh = 0; kh < g.KH; kh++) {
                for (let kw = 0; kw < g.KW; kw++) {
                  const v = tap(x, off, c, g, oh, ow, kh, kw) ?? 0;
                  s += w[m * K + (c * g.KH + kh) * g.KW + kw] * v;
                }
              }
            }
            const i = m * N + oh * g.OW + ow;
            ref[i] = 0.5 * s + beta * y[i];
          }
        }
      }
      const im: Im2colOperand = { data: x, offset: off, channels: C, ...g };
      assert.ok(
        sgemmIm2colWasm(
          M,
          { data: w, offset: 0, ld: K, trans: false },
          im,
          {
            data: y,
            offset: 0,
            ld: N,
          },
          0.5,
          beta,
        ),
      );
      for (let i = 0; i < y.length; i++) {
        assert.ok(Math.abs(y[i] - ref[i]) < 1e-5, `window ${wi} beta ${beta}: y[${i}]`);
      }
    }
  }
});

Deno.test("igemmIm2colExactWasm: integer convolution sums are exact", () => {
  const g = windows()[1];
  const C = 40, M = 3, K = C * g.KH * g.KW, N = g.OH * g.OW;
  const x = rand(C * g.H * g.W, 7).map((v) => Math.round(v * 255));
  const w = rand(M * K, 8).map((v) => Math.round(v * 255));
  const y = new Int32Array(M * N);
  assert.ok(
    igemmIm2colExactWasm(
      M,
      { data: w, offset: 0, ld: K, trans: false },
      {
        data: x,
        offset: 0,
        channels: C,
        ...g,
      },
      { data: y, offset: 0, ld: N },
      false,
    ),
  );
  for (let m = 0; m < M; m++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        let s = 0;
        for (let c = 0; c < C; c++) {
          for (let kh = 0; kh < g.KH; kh++) {
            for (let kw = 0; kw < g.KW; kw++) {
              s += w[m * K + (c * g.KH + kh) * g.KW + kw] * (tap(x, 0, c, g, oh, ow, kh, kw) ?? 0);
            }
          }
        }
        assert.equal(y[m * N + oh * g.OW + ow], s);
      }
    }
  }
});

Deno.test("depthwise2dWasm: per-channel convolution, bias kept, NaN through zero weights", () => {
  for (const [wi, g] of windows().entries()) {
    const C = 3, mult = 2, M = C * mult, ks = g.KH * g.KW, N = g.OH * g.OW;
    const x = rand(C * g.H * g.W, wi + 3), w = rand(M * ks, wi + 4);
    x[1] = NaN;
    w[0] = 0; // channel 0's first tap is 0: a NaN under it must still give NaN.
    const y = rand(M * N, wi + 5);
    const ref = Float64Array.from(y);
    for (let m = 0; m < M; m++) {
      const c = Math.floor(m / mult);
      for (let oh = 0; oh < g.OH; oh++) {
        for (let ow = 0; ow < g.OW; ow++) {
          let s = ref[m * N + oh * g.OW + ow];
          for (let kh = 0; kh < g.KH; kh++) {
            for (let kw = 0; kw < g.KW; kw++) {
              const v = tap(x, 0, c, g, oh, ow, kh, kw);
              if (v !== undefined) s += w[m * ks + kh * g.KW + kw] * v;
            }
          }
          ref[m * N + oh * g.OW + ow] = s;
        }
      }
    }
    assert.ok(depthwise2dWasm(x, 0, C, w, y, 0, M, (m) => Math.floor(m / mult), g));
    for (let i = 0; i < y.length; i++) {
      if (Number.isNaN(ref[i])) assert.ok(Number.isNaN(y[i]), `window ${wi}: y[${i}] not NaN`);
      else assert.ok(Math.abs(y[i] - ref[i]) < 1e-5, `window ${wi}: y[${i}] ${y[i]} ${ref[i]}`);
    }
  }
});

Deno.test("maxpool2dWasm: first tap then larger ones, NaN only when all NaN, empty is -∞", () => {
  for (const [wi, g] of windows().entries()) {
    const C = 2, N = g.OH * g.OW;
    const x = rand(C * g.H * g.W, wi + 9);
    x[0] = NaN;
    x[3] = NaN;
    x[g.W + 1] = -0;
    x[g.H * g.W + 2] = Infinity;
    const y = new Float32Array(C * N);
    assert.ok(maxpool2dWasm(x, 0, y, 0, C, g));
    for (let c = 0; c < C; c++) {
      for (let oh = 0; oh < g.OH; oh++) {
        for (let ow = 0; ow < g.OW; ow++) {
          let best = -Infinity, first = true;
          for (let kh = 0; kh < g.KH; kh++) {
            for (let kw = 0; kw < g.KW; kw++) {
              const v = tap(x, 0, c, g, oh, ow, kh, kw);
              if (v === undefined) continue;
              if (first || v > best || best !== best) best = v;
              first = false;
            }
          }
          const got = y[c * N + oh * g.OW + ow];
          assert.ok(Object.is(got, Math.fround(best)), `window ${wi}: ${got} vs ${best}`);
        }
      }
    }
  }
});

Deno.test("reluWasm and clipWasm: NaN kept, −0, ∞, bounds, long arrays", () => {
  const specials = [NaN, -0, 0, -Infinity, Infinity, -1e-30, 1e-30, 3, -3, 6, 6.5];
  const x = new Float32Array(70000 + 3);
  x.set(rand(x.length, 1).map((v) => v * 10));
  x.set(specials, 65530);
  const relu = new Float32Array(x.length);
  assert.ok(reluWasm(x, relu));
  const clip = new Float32Array(x.length);
  assert.ok(clipWasm(x, clip, 0, 6));
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const r = v > 0 ? v : (v === 0 || v < 0 ? 0 : v);
    assert.ok(Object.is(relu[i], r), `relu(${v}) = ${relu[i]}`);
    const m = v < 0 ? 0 : v;
    assert.ok(Object.is(clip[i], m > 6 ? 6 : m), `clip(${v}) = ${clip[i]}`);
  }
  // In place, and lo > hi makes everything hi.
  const y = Float32Array.from([1, -5, 9]);
  assert.ok(clipWasm(y, y, 4, 2));
  assert.deepEqual([...y], [2, 2, 2]);
});

Deno.test("minMaxWasm and quantizeU8Wasm follow DynamicQuantizeLinear's scalar definition", () => {
  for (const n of [0, 3, 16, 21, 65536 + 7]) {
    const x = rand(n, n + 1).map((v) => v * 7 - 1);
    if (n > 5) x.set([NaN, Infinity, -Infinity, -0, 2.5], 1);
    let mn = 0, mx = 0;
    for (const v of x) {
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    assert.deepEqual(minMaxWasm(x), [mn, mx]);
    const scale = Math.fround(0.05), zp = 100;
    const y = new Uint8Array(n);
    assert.ok(quantizeU8Wasm(x, y, scale, zp));
    for (let i = 0; i < n; i++) {
      const v = Math.fround(x[i] / scale);
      let q: number;
      if (v !== v) q = 0;
      else {
        const r = Math.round(v);
        q = (r - v === 0.5 && r % 2 !== 0 ? r - 1 : r) + zp;
        q = q < 0 ? 0 : q > 255 ? 255 : q;
      }
      assert.equal(y[i], q, `x = ${x[i]}`);
    }
  }
});

Deno.test("emit: LEB128 encodings", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [127]);
  assert.deepEqual(uleb(128), [0x80, 1]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [63]);
  assert.deepEqual(sleb(64), [0xc0, 0]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
});
