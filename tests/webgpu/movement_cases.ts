/**
 * Data movement and gathers on the GPU against the CPU kernels: Transpose, Concat, Split,
 * Slice (negative steps, clamped ends), Expand, Tile, Pad in every mode (negative pads
 * crop), DepthToSpace, SpaceToDepth, Gather and GatherElements with int32 and int64
 * indices (negative ones normalized; out-of-range ones fall back to the CPU, which reports
 * them), over float32, int32, bool, size-0 and size-1 dims.
 */

import assert from "node:assert/strict";
import type { DataType } from "../../pipeline/tensor/dtype.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import {
  type AttrValue,
  compareBackends,
  gpuTest,
  nodeModel,
  random,
  withSpecials,
} from "./_harness.ts";

function i64(values: number[], dims = [values.length]): Tensor {
  return new Tensor("int64", BigInt64Array.from(values.map(BigInt)), dims);
}

function i32(values: number[], dims = [values.length]): Tensor {
  return new Tensor("int32", Int32Array.from(values), dims);
}

function data(type: DataType, dims: number[], seed: number): Tensor {
  const t = random(type, dims, seed, type === "int32" ? [-1000, 1000] : [-3, 3]);
  return type === "float32" ? withSpecials(t) : t;
}

async function check(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue> = {},
  opset = 22,
  outputs = 1,
): Promise<void> {
  const { model, feeds } = nodeModel(op, inputs, attrs, { opset, outputs });
  await compareBackends(model, feeds, { rtol: 0, atol: 0 });
}

const TYPES: DataType[] = ["float32", "int32", "bool"];

gpuTest("webgpu Transpose matches the CPU", async () => {
  for (const type of TYPES) {
    await check("Transpose", [data(type, [2, 3, 5], 1)], { perm: { ints: [2, 0, 1] } });
    await check("Transpose", [data(type, [3, 7], 2)]);
    await check("Transpose", [data(type, [2, 1, 4, 3, 2], 3)], {
      perm: { ints: [4, 2, 0, 3, 1] },
    });
  }
  await check("Transpose", [data("float32", [0, 3], 4)], { perm: { ints: [1, 0] } });
  await check("Transpose", [data("float32", [1, 1], 5)]);
  await check("Transpose", [data("float32", [], 6)]);
  await check("Transpose", [data("float32", [67, 131], 7)]);
});

gpuTest("webgpu DepthToSpace and SpaceToDepth match the CPU", async () => {
  const x = data("float32", [2, 8, 3, 5], 8);
  await check("DepthToSpace", [x], { blocksize: { i: 2 } });
  await check("DepthToSpace", [x], { blocksize: { i: 2 }, mode: { s: "CRD" } });
  await check("SpaceToDepth", [data("int32", [1, 3, 4, 6], 9)], { blocksize: { i: 2 } });
});

gpuTest("webgpu Concat matches the CPU", async () => {
  for (const type of TYPES) {
    const a = data(type, [2, 3, 4], 10), b = data(type, [2, 1, 4], 11);
    const c = data(type, [2, 0, 4], 12), d = data(type, [2, 5, 4], 13);
    await check("Concat", [a, b, c, d], { axis: { i: 1 } });
    await check("Concat", [a, data(type, [2, 3, 4], 14)], { axis: { i: -1 } });
    await check("Concat", [data(type, [3, 5], 15), data(type, [1, 5], 16)], { axis: { i: 0 } });
  }
  await check("Concat", [data("float32", [7], 17)], { axis: { i: 0 } });
  await check("Concat", [data("float32", [2, 3], 18), data("float32", [2, 3], 19)], {}, 1);
});

gpuTest("webgpu Split matches the CPU", async () => {
  const x = data("float32", [4, 9, 2], 20);
  await check("Split", [x, i64([2, 3, 4])], { axis: { i: 1 } }, 18, 3);
  await check("Split", [x], { axis: { i: 1 }, num_outputs: { i: 2 } }, 18, 2);
  await check("Split", [x], { axis: { i: -1 } }, 13, 2);
  await check("Split", [x], { axis: { i: 0 }, split: { ints: [1, 3] } }, 11, 2);
  await check("Split", [data("int32", [5, 3], 21), i64([0, 5, 0])], {}, 13, 3);
});

gpuTest("webgpu Slice matches the CPU", async () => {
  const x = data("float32", [5, 7, 6], 22);
  const cases: Tensor[][] = [
    [i64([1, 2]), i64([4, 100]), i64([0, 2])],
    [i64([-1]), i64([-1000]), i64([1]), i64([-2])],
    [i64([0, 1, 5]), i64([5, 6, 0]), i64([0, 1, 2]), i64([2, 3, -1])],
    [i64([3]), i64([3]), i64([0])],
    [i32([-4]), i32([7]), i32([1]), i32([1])],
  ];
  for (const c of cases) await check("Slice", [x, ...c]);
  await check("Slice", [data("bool", [4, 4], 23), i64([1]), i64([3])]);
  await check("Slice", [x], { starts: { ints: [1] }, ends: { ints: [3] }, axes: { ints: [2] } }, 9);
});

gpuTest("webgpu Expand and Tile match the CPU", async () => {
  await check("Expand", [data("float32", [3, 1], 24), i64([2, 3, 5])]);
  await check("Expand", [data("int32", [1], 25), i64([4, 1])]);
  await check("Expand", [data("bool", [2, 1, 3], 26), i64([2, 0, 3])]);
  await check("Expand", [data("float32", [4, 5], 27), i64([1])]);
  await check("Tile", [data("float32", [2, 3], 28), i64([3, 2])]);
  await check("Tile", [data("int32", [1, 3, 2], 29), i64([2, 1, 3])]);
  await check("Tile", [data("float32", [2, 3], 30), i64([0, 2])]);
});

gpuTest("webgpu Pad matches the CPU in every mode", async () => {
  const x = data("float32", [2, 3, 4], 31);
  for (const mode of ["constant", "reflect", "edge", "wrap"]) {
    await check("Pad", [x, i64([0, 1, 2, 1, 0, 3])], { mode: { s: mode } });
    await check("Pad", [x, i64([1, -1, 0, 0, 2, -2])], { mode: { s: mode } });
    await check("Pad", [x, i64([3, 4]), undefined, i64([-1])], { mode: { s: mode } });
  }
  const v = new Tensor("float32", Float32Array.of(-7.5), []);
  await check("Pad", [x, i64([1, 1, 1, 1, 1, 1]), v]);
  await check("Pad", [data("int32", [3, 3], 32), i64([2, 0, 0, 2]), i32([42], [])]);
  await check("Pad", [data("bool", [2, 2], 33), i64([1, 1, 1, 1])]);
  await check("Pad", [x], { pads: { ints: [0, 0, 1, 0, 0, 1] }, value: { f: 2.5 } }, 2);
  await check("Pad", [data("float32", [0, 2], 34), i64([1, 0, 1, 1])]);
});

gpuTest("webgpu Gather and GatherElements match the CPU, with int64 indices", async () => {
  const x = data("float32", [5, 4, 3], 35);
  await check("Gather", [x, i64([4, -1, 0, 2], [2, 2])]);
  await check("Gather", [x, i32([3, -4, 1])], { axis: { i: 1 } });
  await check("Gather", [x, i64([2], [])], { axis: { i: -1 } });
  await check("Gather", [x, i64([], [0])]);
  await check("Gather", [data("int32", [7], 36), i64([6, 0, -7])]);
  await check("GatherElements", [x, i64([0, 4, -1, 2, 3, 1], [2, 1, 3])]);
  await check("GatherElements", [data("bool", [3, 3], 37), i32([2, 0, 1, 1], [2, 2])], {
    axis: { i: 1 },
  });
});

gpuTest("webgpu Gather leaves out-of-range and beyond-int32 indices to the CPU", async () => {
  const x = data("float32", [5, 2], 38);
  for (const bad of [i64([5]), i64([2 ** 32 + 1]), i64([-6])]) {
    const { model, feeds } = nodeModel("Gather", [x, bad]);
    const s = await InferenceSession.create(model, { backend: "webgpu" });
    await assert.rejects(s.run(feeds), /out of range/);
    assert.equal(s.lastRunStats?.nodes.webgpu ?? 0, 0);
  }
});
