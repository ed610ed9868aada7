/**
 * Conv on the GPU against the CPU kernel: 1-D and 2-D, groups (depthwise and channel
 * multipliers), strides, dilations, explicit and automatic pads, with and without bias,
 * through both the implicit-GEMM shader (many output channels per group) and the direct
 * one; also the register-blocked tiling of hardware adapters.
 */

import { setTilingOverride } from "../../pipeline/run/webgpu/kernels/tiling.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

const TOL = { rtol: 1e-4, atol: 1e-5 };

interface ConvCase {
  x: number[];
  w: number[];
  bias?: boolean;
  attrs?: Record<string, AttrValue>;
}

const CASES: ConvCase[] = [
  { x: [1, 3, 9, 9], w: [16, 3, 3, 3], bias: true, attrs: { pads: { ints: [1, 1, 1, 1] } } },
  {
    x: [2, 4, 11, 7],
    w: [20, 2, 3, 2],
    bias: true,
    attrs: { group: { i: 2 }, strides: { ints: [2, 1] } },
  },
  {
    x: [1, 5, 10, 10],
    w: [18, 5, 3, 3],
    attrs: { dilations: { ints: [2, 2] }, pads: { ints: [2, 1, 0, 2] } },
  },
  {
    x: [1, 6, 8, 8],
    w: [6, 1, 3, 3],
    bias: true,
    attrs: { group: { i: 6 }, auto_pad: { s: "SAME_UPPER" } },
  },
  {
    x: [2, 4, 7, 9],
    w: [8, 1, 3, 3],
    attrs: { group: { i: 4 }, strides: { ints: [2, 2] }, auto_pad: { s: "SAME_LOWER" } },
  },
  { x: [1, 3, 5, 5], w: [4, 3, 1, 1], bias: true },
  {
    x: [1, 2, 6, 6],
    w: [3, 2, 3, 3],
    attrs: { auto_pad: { s: "VALID" }, strides: { ints: [2, 2] } },
  },
  {
    x: [2, 3, 20],
    w: [17, 3, 4],
    bias: true,
    attrs: { pads: { ints: [1, 2] }, dilations: { ints: [2] } },
  },
  { x: [1, 4, 15], w: [4, 1, 5], attrs: { group: { i: 4 }, strides: { ints: [3] } } },
  { x: [1, 2, 1, 1], w: [16, 2, 3, 3], bias: true, attrs: { pads: { ints: [1, 1, 1, 1] } } },
  { x: [0, 2, 5, 5], w: [16, 2, 3, 3], bias: true },
];

gpuTest("webgpu Conv matches the CPU on 1-D, 2-D, grouped and depthwise convolutions", async () => {
  let seed = 1;
  for (const c of CASES) {
    const b = c.bias ? random("float32", [c.w[0]], seed++) : undefined;
    const m = nodeModel(
      "Conv",
      [random("float32", c.x, seed++), random("float32", c.w, seed++), b],
      c.attrs,
    );
    await compareBackends(m.model, m.feeds, TOL);
  }
});

gpuTest("webgpu Conv with the hardware tiling (4x4 blocks) matches the CPU", async () => {
  setTilingOverride({ WG_X: 8, WG_Y: 8, RM: 4, RN: 4, TILE_K: 8 });
  try {
    const m = nodeModel("Conv", [
      random("float32", [2, 6, 9, 7], 1),
      random("float32", [34, 3, 3, 3], 2),
      random("float32", [34], 3),
    ], { group: { i: 2 }, pads: { ints: [1, 0, 2, 1] } });
    await compareBackends(m.model, m.feeds, TOL);
  } finally {
    setTilingOverride(undefined);
  }
});
