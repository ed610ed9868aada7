/**
 * Resize on the GPU against the CPU kernel: nearest (every nearest_mode, int32 and bool
 * data) and linear over every coordinate_transformation_mode, scales and sizes, axes and
 * keep_aspect_ratio_policy, tf_crop_and_resize extrapolation, exclude_outside, opset 10,
 * downsampling and NaN inputs; cubic stays on the CPU.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

function f32(values: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(values), [values.length]);
}

function i64(values: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(values.map(BigInt)), [values.length]);
}

const CTMS = [
  "half_pixel",
  "half_pixel_symmetric",
  "pytorch_half_pixel",
  "align_corners",
  "asymmetric",
];

async function check(
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue>,
  opset = 19,
): Promise<void> {
  const { model, feeds } = nodeModel("Resize", inputs, attrs, { opset });
  await compareBackends(model, feeds, { rtol: 1e-5, atol: 1e-5 });
}

gpuTest("webgpu Resize linear matches the CPU", async () => {
  const x = random("float32", [1, 2, 5, 7], 1, [-3, 3]);
  (x.data as Float32Array)[9] = NaN;
  for (const ctm of CTMS) {
    const attrs = { mode: { s: "linear" }, coordinate_transformation_mode: { s: ctm } };
    await check([x, undefined, f32([1, 1, 2, 1.5])], attrs);
    await check([x, undefined, f32([1, 1, 0.6, 0.5])], attrs);
    await check([x, undefined, undefined, i64([1, 2, 9, 3])], attrs);
    await check([x, undefined, undefined, i64([1, 1, 1, 1])], attrs);
    await check([x, undefined, f32([1, 1, 2, 1.5])], { ...attrs, exclude_outside: { i: 1 } });
  }
  await check([x, f32([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.2]), undefined, i64([1, 2, 6, 6])], {
    mode: { s: "linear" },
    coordinate_transformation_mode: { s: "tf_crop_and_resize" },
    extrapolation_value: { f: -5 },
  });
  await check([x, undefined, undefined, i64([8, 4])], {
    mode: { s: "linear" },
    axes: { ints: [2, 3] },
    keep_aspect_ratio_policy: { s: "not_larger" },
  });
  await check([x, f32([1, 1, 2, 3])], { mode: { s: "linear" } }, 10);
  await check([random("float32", [3, 10], 2), undefined, f32([0.5, 2.5])], {
    mode: { s: "linear" },
  });
});

gpuTest("webgpu Resize nearest matches the CPU for every nearest_mode and type", async () => {
  const inputs = [
    random("float32", [1, 3, 4, 5], 3),
    random("int32", [2, 1, 3, 3], 4, [-9, 9]),
    random("bool", [1, 1, 4, 4], 5),
  ];
  for (const x of inputs) {
    for (const nm of ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]) {
      for (const ctm of [...CTMS, "tf_half_pixel_for_nn"]) {
        const attrs = { nearest_mode: { s: nm }, coordinate_transformation_mode: { s: ctm } };
        const opset = ctm === "tf_half_pixel_for_nn" ? 11 : 19;
        await check([x, undefined, f32([1, 1, 2.5, 1.7])], attrs, opset);
        await check([x, undefined, f32([1, 1, 0.5, 0.75])], attrs, opset);
      }
    }
    await check([x, f32([1, 1, 2, 0.5])], { mode: { s: "nearest" } }, 10);
  }
  await check([inputs[0], f32([0, 0, -0.2, 0.1, 1, 1, 1.1, 0.8]), undefined, i64([1, 3, 5, 4])], {
    coordinate_transformation_mode: { s: "tf_crop_and_resize" },
    extrapolation_value: { f: 7 },
  });
});

gpuTest("webgpu Resize leaves cubic and antialias to the CPU", async () => {
  const x = random("float32", [1, 1, 4, 4], 6);
  const variants: Record<string, AttrValue>[] = [
    { mode: { s: "cubic" } },
    { mode: { s: "linear" }, antialias: { i: 1 } },
  ];
  for (const attrs of variants) {
    const { model, feeds } = nodeModel("Resize", [x, undefined, f32([1, 1, 0.5, 0.5])], attrs, {
      opset: 19,
    });
    const s = await InferenceSession.create(model, { backend: "webgpu" });
    await s.run(feeds);
    assert.equal(s.lastRunStats!.nodes.webgpu, 0);
  }
});
