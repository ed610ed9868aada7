/**
 * ConvTranspose on the GPU against the CPU kernel: 1-D, 2-D and 3-D, strides, dilations,
 * pads, output_padding, output_shape, auto_pad, groups and bias.
 */

import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

const CASES: { x: number[]; w: number[]; bias?: boolean; attrs: Record<string, AttrValue> }[] = [
  { x: [1, 2, 5, 5], w: [2, 3, 3, 3], attrs: {} },
  { x: [2, 3, 4, 6], w: [3, 2, 3, 2], bias: true, attrs: { strides: { ints: [2, 3] } } },
  {
    x: [1, 4, 5, 4],
    w: [4, 1, 3, 3],
    bias: true,
    attrs: { group: { i: 2 }, pads: { ints: [1, 0, 1, 2] }, dilations: { ints: [2, 1] } },
  },
  {
    x: [1, 2, 3, 3],
    w: [2, 2, 3, 3],
    attrs: { strides: { ints: [2, 2] }, output_padding: { ints: [1, 0] } },
  },
  {
    x: [1, 2, 3, 3],
    w: [2, 2, 3, 3],
    attrs: { strides: { ints: [2, 2] }, output_shape: { ints: [8, 7] } },
  },
  {
    x: [1, 1, 4, 4],
    w: [1, 2, 2, 2],
    attrs: { strides: { ints: [2, 2] }, auto_pad: { s: "SAME_UPPER" } },
  },
  {
    x: [1, 1, 4, 4],
    w: [1, 2, 3, 3],
    attrs: { strides: { ints: [2, 2] }, auto_pad: { s: "SAME_LOWER" } },
  },
  {
    x: [2, 3, 7],
    w: [3, 4, 3],
    bias: true,
    attrs: { strides: { ints: [2] }, pads: { ints: [1, 1] } },
  },
  { x: [1, 2, 3, 4, 3], w: [2, 2, 2, 3, 2], attrs: { strides: { ints: [1, 2, 2] } } },
  { x: [1, 2, 0, 4], w: [2, 2, 3, 3], attrs: {} },
];

gpuTest("webgpu ConvTranspose matches the CPU", async () => {
  let seed = 1;
  for (const c of CASES) {
    const inputs = [random("float32", c.x, seed++), random("float32", c.w, seed++)];
    const group = c.attrs.group && "i" in c.attrs.group ? c.attrs.group.i : 1;
    if (c.bias) inputs.push(random("float32", [c.w[1] * group], seed++));
    const { model, feeds } = nodeModel("ConvTranspose", inputs, c.attrs);
    await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
});
