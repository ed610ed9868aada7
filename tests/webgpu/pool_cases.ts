/**
 * Pooling and BatchNormalization on the GPU against the CPU kernels: MaxPool and
 * AveragePool over 1 to 3 spatial dims with pads, strides, dilations, ceil_mode,
 * count_include_pad and automatic pads; the global pools; NaN inputs, which the GPU must
 * treat exactly as the CPU does.
 */

import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  type AttrValue,
  compareBackends,
  gpuTest,
  nodeModel,
  random,
  withSpecials,
} from "./_harness.ts";

const CASES: { x: number[]; attrs: Record<string, AttrValue>; opset?: number }[] = [
  { x: [1, 2, 9, 9], attrs: { kernel_shape: { ints: [3, 3] } } },
  {
    x: [2, 3, 10, 7],
    attrs: {
      kernel_shape: { ints: [3, 2] },
      strides: { ints: [2, 2] },
      pads: { ints: [1, 0, 1, 1] },
    },
  },
  {
    x: [1, 2, 11, 11],
    attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
  },
  {
    x: [1, 1, 9, 9],
    attrs: {
      kernel_shape: { ints: [2, 2] },
      dilations: { ints: [2, 2] },
      pads: { ints: [1, 1, 1, 1] },
    },
    opset: 19,
  },
  { x: [1, 2, 8, 8], attrs: { kernel_shape: { ints: [3, 3] }, auto_pad: { s: "SAME_UPPER" } } },
  {
    x: [1, 2, 8, 8],
    attrs: {
      kernel_shape: { ints: [2, 3] },
      strides: { ints: [2, 2] },
      auto_pad: { s: "SAME_LOWER" },
    },
  },
  {
    x: [2, 3, 17],
    attrs: { kernel_shape: { ints: [4] }, strides: { ints: [3] }, pads: { ints: [2, 1] } },
  },
  {
    x: [1, 2, 5, 6, 7],
    attrs: { kernel_shape: { ints: [2, 3, 2] }, pads: { ints: [1, 0, 1, 0, 1, 1] } },
  },
  { x: [1, 1, 4, 4], attrs: { kernel_shape: { ints: [5, 5] }, pads: { ints: [2, 2, 2, 2] } } },
];

gpuTest("webgpu MaxPool and AveragePool match the CPU", async () => {
  let seed = 1;
  for (const c of CASES) {
    for (const op of ["MaxPool", "AveragePool"]) {
      const variants: Record<string, AttrValue>[] = op === "AveragePool"
        ? [{}, { count_include_pad: { i: 1 } }]
        : [{}];
      for (const extra of variants) {
        const m = nodeModel(op, [random("float32", c.x, seed++)], { ...c.attrs, ...extra }, {
          opset: c.opset ?? 22,
        });
        await compareBackends(m.model, m.feeds, { rtol: 1e-5, atol: 1e-6 });
      }
    }
  }
});

gpuTest("webgpu pools treat NaN and infinities exactly as the CPU does", async () => {
  const x = withSpecials(random("float32", [2, 3, 6, 6], 5));
  const d = x.data as Float32Array;
  d[35] = NaN; // the last element of a plane
  d[50] = NaN;
  for (const op of ["MaxPool", "AveragePool"]) {
    const m = nodeModel(op, [x], { kernel_shape: { ints: [2, 2] }, pads: { ints: [0, 0, 1, 1] } });
    await compareBackends(m.model, m.feeds, { rtol: 1e-5, atol: 1e-6 });
  }
  for (const op of ["GlobalMaxPool", "GlobalAveragePool"]) {
    const m = nodeModel(op, [x]);
    await compareBackends(m.model, m.feeds, { rtol: 1e-5, atol: 1e-6 });
  }
});

gpuTest("webgpu GlobalMaxPool and GlobalAveragePool match the CPU", async () => {
  const shapes = [[1, 3, 7, 7], [2, 5, 100, 30], [2, 4, 1], [3, 2], [1, 2, 0, 3], [1, 1, 3, 2, 4]];
  let seed = 20;
  for (const s of shapes) {
    for (const op of ["GlobalMaxPool", "GlobalAveragePool"]) {
      const m = nodeModel(op, [random("float32", s, seed++)]);
      await compareBackends(m.model, m.feeds, { rtol: 1e-5, atol: 1e-6 });
    }
  }
});

gpuTest("webgpu BatchNormalization (inference) matches the CPU", async () => {
  for (
    const [dims, opset] of [[[2, 3, 4, 5], 15], [[3, 4], 9], [[1, 2, 7], 14], [
      [2, 3, 2, 2, 2],
      7,
    ]] as const
  ) {
    const C = dims[1];
    const m = nodeModel(
      "BatchNormalization",
      [
        random("float32", [...dims], 1),
        random("float32", [C], 2),
        random("float32", [C], 3),
        random("float32", [C], 4),
        random("float32", [C], 5, [0.1, 2]),
      ],
      { epsilon: { f: 1e-3 } },
      { opset },
    );
    await compareBackends(m.model, m.feeds, { rtol: 1e-5, atol: 1e-6 });
  }
  // A negative variance gives NaN on both sides.
  const neg = nodeModel("BatchNormalization", [
    random("float32", [1, 2, 3], 6),
    random("float32", [2], 7),
    random("float32", [2], 8),
    random("float32", [2], 9),
    new Tensor("float32", Float32Array.of(-5, 1), [2]),
  ]);
  await compareBackends(neg.model, neg.feeds, { rtol: 1e-5, atol: 1e-6 });
});
