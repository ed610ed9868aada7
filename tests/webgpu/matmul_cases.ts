/**
 * MatMul and Gemm on the GPU against the CPU kernels: odd sizes around the tile edges,
 * 1-D operands, broadcast batch dims, empty dims, int32/uint32 with wrapping, Gemm's
 * transposes, alpha, beta and C broadcasts; also the register-blocked tiling that hardware
 * adapters use (forced here, as a software adapter gets the small one).
 */

import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { setTilingOverride } from "../../pipeline/run/webgpu/kernels/tiling.ts";
import { compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

const TOL = { rtol: 1e-4, atol: 1e-5 };

const MATMUL_SHAPES: [number[], number[]][] = [
  [[1, 1], [1, 1]],
  [[7, 13], [13, 5]],
  [[17, 65], [65, 33]],
  [[2, 3, 9, 4], [4, 11]],
  [[3, 1, 5, 6], [2, 6, 7]],
  [[9], [9, 4]],
  [[5, 9], [9]],
  [[9], [9]],
  [[2, 0, 3], [3, 4]],
  [[4, 0], [0, 3]],
  [[1, 70, 40], [3, 40, 1]],
];

gpuTest("webgpu MatMul float32 matches the CPU on odd, batched and empty shapes", async () => {
  let seed = 1;
  for (const [a, b] of MATMUL_SHAPES) {
    const m = nodeModel("MatMul", [random("float32", a, seed++), random("float32", b, seed++)]);
    await compareBackends(m.model, m.feeds, TOL);
  }
});

gpuTest("webgpu MatMul int32 and uint32 wrap like the CPU", async () => {
  const big = new Tensor("int32", Int32Array.from({ length: 12 }, (_, i) => 2 ** 20 + i * 7919), [
    3,
    4,
  ]);
  const m = nodeModel("MatMul", [big, random("int32", [4, 5], 2, [-3000, 3000])]);
  await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
  const u = nodeModel("MatMul", [
    random("uint32", [2, 6, 7], 3, [0, 1e6]),
    random("uint32", [7, 3], 4, [0, 1e6]),
  ]);
  await compareBackends(u.model, u.feeds, { rtol: 0, atol: 0 });
});

const GEMMS: {
  a: number[];
  b: number[];
  c?: number[];
  attrs: Record<string, { i: number } | { f: number }>;
}[] = [
  { a: [7, 5], b: [5, 9], c: [9], attrs: {} },
  { a: [5, 7], b: [5, 9], c: [7, 1], attrs: { transA: { i: 1 }, alpha: { f: 0.5 } } },
  { a: [7, 5], b: [9, 5], c: [7, 9], attrs: { transB: { i: 1 }, beta: { f: -2 } } },
  { a: [5, 7], b: [9, 5], c: [], attrs: { transA: { i: 1 }, transB: { i: 1 }, alpha: { f: 3 } } },
  { a: [66, 3], b: [3, 67], attrs: {} },
  { a: [4, 3], b: [3, 2], c: [4, 2], attrs: { beta: { f: 0 } } },
];

gpuTest("webgpu Gemm matches the CPU with transposes, alpha, beta and broadcast C", async () => {
  let seed = 10;
  for (const g of GEMMS) {
    const c = g.c ? random("float32", g.c, seed++) : undefined;
    const m = nodeModel(
      "Gemm",
      [random("float32", g.a, seed++), random("float32", g.b, seed++), c],
      g.attrs,
    );
    await compareBackends(m.model, m.feeds, TOL);
  }
});

gpuTest("webgpu MatMul and Gemm with the hardware tiling (4x4 blocks) match the CPU", async () => {
  setTilingOverride({ WG_X: 8, WG_Y: 8, RM: 4, RN: 4, TILE_K: 8 });
  try {
    const m = nodeModel("MatMul", [
      random("float32", [2, 37, 19], 1),
      random("float32", [19, 45], 2),
    ]);
    await compareBackends(m.model, m.feeds, TOL);
    const g = nodeModel("Gemm", [
      random("float32", [19, 37], 3),
      random("float32", [45, 19], 4),
      random("float32", [45], 5),
    ], {
      transA: { i: 1 },
      transB: { i: 1 },
      alpha: { f: 0.5 },
    });
    await compareBackends(g.model, g.feeds, TOL);
  } finally {
    setTilingOverride(undefined);
  }
});
