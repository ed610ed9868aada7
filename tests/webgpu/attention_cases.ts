/**
 * Attention (opsets 23 and 24) on the GPU against the CPU kernel: 4-D and 3-D inputs, grouped
 * query heads, bool and float masks of several ranks (some rows fully masked), is_causal,
 * scale, softcap, past key/value with the present outputs, and nonpad_kv_seqlen.
 */

import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

interface Case {
  q: number[];
  k: number[];
  v: number[];
  mask?: { dims: number[]; bool?: boolean };
  past?: [number[], number[]];
  nonpad?: number[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  opset?: number;
}

const CASES: Case[] = [
  { q: [2, 3, 5, 4], k: [2, 3, 6, 4], v: [2, 3, 6, 7] },
  { q: [2, 4, 5, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 3], attrs: { is_causal: { i: 1 } } },
  {
    q: [1, 2, 4, 8],
    k: [1, 2, 4, 8],
    v: [1, 2, 4, 8],
    mask: { dims: [4, 4], bool: true },
    attrs: { scale: { f: 0.3 } },
  },
  {
    q: [2, 2, 3, 4],
    k: [2, 2, 5, 4],
    v: [2, 2, 5, 4],
    mask: { dims: [2, 1, 3, 4] },
    attrs: { softcap: { f: 2 } },
  },
  {
    q: [2, 5, 16],
    k: [2, 6, 8],
    v: [2, 6, 4],
    attrs: { q_num_heads: { i: 4 }, kv_num_heads: { i: 2 }, is_causal: { i: 1 } },
  },
  {
    q: [1, 2, 3, 4],
    k: [1, 2, 3, 4],
    v: [1, 2, 3, 5],
    past: [[1, 2, 4, 4], [1, 2, 4, 5]],
    mask: { dims: [3, 7] },
    attrs: { is_causal: { i: 1 } },
    outputs: 3,
  },
  { q: [2, 2, 3, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], nonpad: [3, 5], opset: 24 },
];

gpuTest("webgpu Attention matches the CPU", async () => {
  let seed = 1;
  for (const c of CASES) {
    const inputs: (Tensor | undefined)[] = [
      random("float32", c.q, seed++),
      random("float32", c.k, seed++),
      random("float32", c.v, seed++),
    ];
    if (c.mask) {
      let m = random(c.mask.bool ? "bool" : "float32", c.mask.dims, seed++, [-2, 2]);
      if (c.mask.bool) {
        // Row 1 fully masked.
        const d = Uint8Array.from(m.data as Uint8Array);
        const n = c.mask.dims[c.mask.dims.length - 1];
        for (let j = 0; j < n; j++) d[n + j] = 0;
        m = new Tensor("bool", d, m.dims);
      } else {
        const d = Float32Array.from(m.data as Float32Array);
        d[2] = -Infinity;
        m = new Tensor("float32", d, m.dims);
      }
      inputs.push(m);
    } else inputs.push(undefined);
    if (c.past) {
      inputs.push(random("float32", c.past[0], seed++), random("float32", c.past[1], seed++));
    } else inputs.push(undefined, undefined);
    if (c.nonpad) {
      inputs.push(new Tensor("int64", BigInt64Array.from(c.nonpad.map(BigInt)), [c.nonpad.length]));
    }
    while (inputs[inputs.length - 1] === undefined) inputs.pop();
    const { model, feeds } = nodeModel("Attention", inputs, c.attrs ?? {}, {
      opset: c.opset ?? 23,
      outputs: c.outputs ?? 1,
    });
    await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
});
