/**
 * Tests of the broadcast arithmetic fast path against per-element numpy broadcasting written
 * here, over random shapes of rank 0–4 with size-1 and missing dims on either side.
 */

import assert from "node:assert/strict";
import { broadcastArith } from "../../../../pipeline/run/cpu/broadcast.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Offset into an operand of `dims` (right-aligned, size-1 dims broadcast) of output index. */
function offsetOf(dims: number[], out: number[], idx: number[]): number {
  let off = 0, stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    const o = d + out.length - dims.length;
    if (dims[d] !== 1) off += idx[o] * stride;
    stride *= dims[d];
  }
  return off;
}

Deno.test("broadcastArith: every operator and broadcast layout matches the definition", () => {
  const rnd = lcg(5);
  for (let t = 0; t < 600; t++) {
    const rank = Math.floor(rnd() * 5);
    const out = Array.from({ length: rank }, () => 1 + Math.floor(rnd() * 4));
    const operand = () => {
      const r = Math.floor(rnd() * (rank + 1));
      return out.slice(rank - r).map((d) => (rnd() < 0.4 ? 1 : d));
    };
    const ad = operand(), bd = operand();
    // The output is the broadcast of the two (out may have dims neither reaches).
    const len = Math.max(ad.length, bd.length);
    const od: number[] = [];
    for (let i = 0; i < len; i++) {
      const x = ad[i - (len - ad.length)] ?? 1, z = bd[i - (len - bd.length)] ?? 1;
      od.push(Math.max(x, z));
    }
    const size = (d: number[]) => d.reduce((x, y) => x * y, 1);
    const a = Float32Array.from({ length: size(ad) }, () => rnd() * 4 - 2);
    const b = Float64Array.from({ length: size(bd) }, () => rnd() * 4 + 0.5);
    for (const op of ["Add", "Sub", "Mul", "Div"] as const) {
      const y = new Float32Array(size(od));
      broadcastArith(op, a, ad, Float32Array.from(b), bd, y, od);
      const idx = new Array<number>(od.length).fill(0);
      for (let i = 0; i < y.length; i++) {
        const x = a[offsetOf(ad, od, idx)], z = Math.fround(b[offsetOf(bd, od, idx)]);
        const e = op === "Add" ? x + z : op === "Sub" ? x - z : op === "Mul" ? x * z : x / z;
        assert.equal(y[i], Math.fround(e), `${op} [${ad}] [${bd}] at ${i}`);
        for (let d = od.length - 1; d >= 0; d--) {
          if (++idx[d] < od[d]) break;
          idx[d] = 0;
        }
      }
    }
  }
});

Deno.test("broadcastArith: float64 keeps full precision and empty outputs are fine", () => {
  const a = Float64Array.from([1e-17, 1, 2]), b = Float64Array.from([1]);
  const y = new Float64Array(3);
  broadcastArith("Add", a, [3], b, [], y, [3]);
  assert.deepEqual([...y], [1 + 1e-17, 2, 3]);
  broadcastArith("Mul", new Float64Array(0), [0, 3], b, [1], new Float64Array(0), [0, 3]);
});
