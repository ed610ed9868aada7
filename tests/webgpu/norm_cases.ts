/**
 * Softmax-family and row normalizations on the GPU against the CPU kernels: Softmax,
 * LogSoftmax and Hardmax for opsets 11 (2-D coercion) and 13 (one axis), short and long
 * rows, NaN and infinities; LayerNormalization (broadcast parameters, Mean/InvStdDev
 * outputs), RMSNormalization, InstanceNormalization and GroupNormalization (opsets 18 and
 * 21).
 */

import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

function specials(t: Tensor): Tensor {
  const d = Float32Array.from(t.data as Float32Array);
  // Row 0: a NaN; row 1: +inf; row 2: -inf; row 3: two +inf; row 4: all -inf.
  const n = t.dims[t.dims.length - 1];
  d[3] = NaN;
  d[n + 2] = Infinity;
  d[2 * n + 1] = -Infinity;
  d[3 * n] = Infinity;
  d[3 * n + 4] = Infinity;
  for (let i = 0; i < n; i++) d[4 * n + i] = -Infinity;
  return new Tensor("float32", d, t.dims);
}

for (const op of ["Softmax", "LogSoftmax", "Hardmax"]) {
  gpuTest(`webgpu ${op} matches the CPU for every axis rule`, async () => {
    const cases: { x: Tensor; attrs: Record<string, AttrValue>; opset: number }[] = [
      { x: random("float32", [3, 4, 5], 1, [-5, 5]), attrs: {}, opset: 13 },
      { x: random("float32", [3, 4, 5], 2, [-5, 5]), attrs: { axis: { i: 1 } }, opset: 13 },
      { x: random("float32", [3, 4, 5], 3, [-5, 5]), attrs: { axis: { i: 0 } }, opset: 13 },
      { x: random("float32", [3, 4, 5], 4, [-5, 5]), attrs: {}, opset: 11 },
      { x: random("float32", [3, 4, 5], 5, [-5, 5]), attrs: { axis: { i: 2 } }, opset: 11 },
      { x: random("float32", [3, 4, 5], 6, [-5, 5]), attrs: { axis: { i: 0 } }, opset: 1 },
      { x: random("float32", [5, 300], 7, [-30, 30]), attrs: {}, opset: 13 },
      { x: specials(random("float32", [6, 7], 8)), attrs: {}, opset: 13 },
      { x: specials(random("float32", [6, 45], 9)), attrs: {}, opset: 13 },
      { x: random("float32", [2, 0, 3], 10), attrs: { axis: { i: 1 } }, opset: 13 },
      { x: random("float32", [4, 1], 11), attrs: {}, opset: 13 },
      { x: random("float32", [], 12), attrs: {}, opset: 13 },
    ];
    // Ties: the first maximum wins (Hardmax).
    cases.push({
      x: new Tensor("float32", Float32Array.of(1, 3, 3, 2, 5, 5, 5, 5), [2, 4]),
      attrs: {},
      opset: 13,
    });
    for (const c of cases) {
      const { model, feeds } = nodeModel(op, [c.x], c.attrs, { opset: c.opset });
      await compareBackends(model, feeds, { rtol: 1e-5, atol: 1e-6 });
    }
  });
}

gpuTest("webgpu LayerNormalization and RMSNormalization match the CPU", async () => {
  const x = random("float32", [2, 3, 40], 20, [-3, 3]);
  const cases: { inputs: Tensor[]; attrs: Record<string, AttrValue>; outputs: number }[] = [
    {
      inputs: [x, random("float32", [40], 21), random("float32", [40], 22)],
      attrs: {},
      outputs: 3,
    },
    { inputs: [x, random("float32", [3, 40], 23)], attrs: { axis: { i: 1 } }, outputs: 1 },
    {
      inputs: [x, random("float32", [3, 1], 24), random("float32", [1], 25)],
      attrs: { axis: { i: -2 }, epsilon: { f: 1e-3 } },
      outputs: 3,
    },
    { inputs: [random("float32", [5, 7], 26), random("float32", [7], 27)], attrs: {}, outputs: 2 },
    { inputs: [random("float32", [4, 0], 28), random("float32", [0], 29)], attrs: {}, outputs: 1 },
    // A NaN and an infinity poison their rows only.
    {
      inputs: [
        new Tensor("float32", Float32Array.from([1, NaN, 3, 4, 5, 6, Infinity, 8, 9, 1, 2, 3]), [
          3,
          4,
        ]),
        random("float32", [4], 30),
      ],
      attrs: {},
      outputs: 3,
    },
  ];
  for (const c of cases) {
    const { model, feeds } = nodeModel("LayerNormalization", c.inputs, c.attrs, {
      opset: 17,
      outputs: c.outputs,
    });
    await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
  for (const c of cases.slice(0, 4)) {
    const { model, feeds } = nodeModel("RMSNormalization", c.inputs.slice(0, 2), c.attrs, {
      opset: 23,
    });
    await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
});

gpuTest("webgpu InstanceNormalization and GroupNormalization match the CPU", async () => {
  const x = random("float32", [2, 6, 5, 7], 30, [-3, 3]);
  const c6 = () => random("float32", [6], 31);
  for (const xx of [x, random("float32", [3, 6, 3], 32), random("float32", [1, 6, 50, 3], 33)]) {
    const inst = nodeModel("InstanceNormalization", [xx, c6(), random("float32", [6], 34)], {
      epsilon: { f: 1e-4 },
    });
    await compareBackends(inst.model, inst.feeds, { rtol: 1e-4, atol: 1e-5 });
    for (const G of [1, 2, 3, 6]) {
      const g21 = nodeModel("GroupNormalization", [xx, c6(), random("float32", [6], 35)], {
        num_groups: { i: G },
      }, { opset: 21 });
      await compareBackends(g21.model, g21.feeds, { rtol: 1e-4, atol: 1e-5 });
      const g18 = nodeModel(
        "GroupNormalization",
        [xx, random("float32", [G], 36), random("float32", [G], 37)],
        { num_groups: { i: G } },
        { opset: 18 },
      );
      await compareBackends(g18.model, g18.feeds, { rtol: 1e-4, atol: 1e-5 });
    }
  }
});
