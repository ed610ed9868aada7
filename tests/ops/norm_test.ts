/**
 * Tests of ops/norm.ts on hand-computed cases the ONNX suite does not cover: BatchNormalization
 * with spatial=0 and the training outputs of opsets 9 and 15, GroupNormalization 18 vs 21,
 * LayerNormalization's broadcast scale and statistics outputs, RMSNormalization in float64,
 * LRN with even and odd sizes, MeanVarianceNormalization over custom axes.
 */

import assert from "node:assert/strict";
import { f32, inferOp, runOp, runTensor } from "./_op_harness.ts";
import { assertClose } from "./_window_ref.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { floatAttr, intAttr, intsAttr } from "../../pipeline/load/build.ts";

const vals = (t: unknown) => Array.from((t as Tensor).data as ArrayLike<number>);

Deno.test("BatchNormalization-7 with spatial=0 normalizes each (channel, position)", async () => {
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
  const p = (v: number[]) => f32(v, [2, 2]);
  const y = await runTensor("BatchNormalization", 7, [
    x,
    p([1, 1, 2, 2]),
    p([0, 1, 0, 1]),
    p([1, 2, 3, 4]),
    p([1, 4, 9, 16]),
  ], [intAttr("spatial", 0), floatAttr("epsilon", 0)]);
  assertClose(vals(y), [0, 1, 0, 1, 4, 3, 8 / 3, 3]);
});

Deno.test("BatchNormalization training mode updates running statistics (opsets 15 and 9)", async () => {
  const x = f32([1, 3, 5, 7], [2, 1, 2]);
  const ins = [x, f32([1]), f32([0]), f32([0]), f32([1])];
  const [y, rm, rv] = await runOp("BatchNormalization", 15, ins, [
    intAttr("training_mode", 1),
    floatAttr("epsilon", 0),
  ], 3);
  const s = Math.sqrt(5);
  assertClose(vals(y), [-3 / s, -1 / s, 1 / s, 3 / s]);
  assertClose(vals(rm), [0.4]);
  assertClose(vals(rv), [1.4]);
  const outs = await runOp("BatchNormalization", 9, ins, [floatAttr("epsilon", 0)], 5);
  assertClose(vals(outs[0]), [-3 / s, -1 / s, 1 / s, 3 / s]);
  assertClose(vals(outs[1]), [0.4]);
  assertClose(vals(outs[2]), [1.4]);
  assertClose(vals(outs[3]), [4]);
  assertClose(vals(outs[4]), [5]);
  // Inference (one output) uses the given statistics.
  const inf = await runTensor("BatchNormalization", 15, ins, [floatAttr("epsilon", 0)]);
  assertClose(vals(inf), [1, 3, 5, 7]);
});

Deno.test("GroupNormalization-18 scales per group, GroupNormalization-21 per channel", async () => {
  const x = f32([1, 3, 10, 20], [1, 4, 1]);
  const attrs = [intAttr("num_groups", 2), floatAttr("epsilon", 0)];
  const y18 = await runTensor("GroupNormalization", 18, [x, f32([2, 3]), f32([0, 1])], attrs);
  assertClose(vals(y18), [-2, 2, -2, 4]);
  const y21 = await runTensor(
    "GroupNormalization",
    21,
    [x, f32([1, 2, 3, 4]), f32([0, 0, 1, 1])],
    attrs,
  );
  assertClose(vals(y21), [-1, 2, -2, 5]);
  await assert.rejects(
    runTensor("GroupNormalization", 21, [x, f32([2, 3]), f32([0, 1])], attrs),
    /scale/,
  );
});

Deno.test("LayerNormalization broadcasts Scale and returns Mean and InvStdDev in the stash type", async () => {
  const xs = [0, 2, 4, 6, 1, 2, 3, 4];
  const [y, mean, inv] = await runOp(
    "LayerNormalization",
    17,
    [
      new Tensor("float16", xs, [2, 2, 2]),
      f32([1, 10]),
    ],
    [intAttr("axis", 1), floatAttr("epsilon", 0)],
    3,
  );
  const yt = y as Tensor, mt = mean as Tensor, it = inv as Tensor;
  assert.equal(yt.type, "float16");
  assert.equal(mt.type, "float32");
  assert.deepEqual(mt.dims, [2, 1, 1]);
  assert.deepEqual(it.dims, [2, 1, 1]);
  assertClose(vals(mt), [3, 2.5]);
  assertClose(vals(it), [1 / Math.sqrt(5), 1 / Math.sqrt(1.25)]);
  const k0 = 1 / Math.sqrt(5), k1 = 1 / Math.sqrt(1.25);
  const expected = [
    -3 * k0,
    10 * -1 * k0,
    1 * k0,
    10 * 3 * k0,
    -1.5 * k1,
    10 * -0.5 * k1,
    0.5 * k1,
    10 * 1.5 * k1,
  ];
  const got = Array.from(new Float16Array((yt.data as Uint16Array).buffer));
  assertClose(got, expected, 2e-3);
  const inferred = inferOp(
    "LayerNormalization",
    17,
    [
      { kind: "tensor", elemType: "float16", shape: ["B", 2, 2] },
    ],
    [intAttr("axis", -1)],
    [],
    3,
  );
  assert.deepEqual(inferred.types[1], { kind: "tensor", elemType: "float32", shape: ["B", 2, 1] });
});

Deno.test("RMSNormalization divides by the root mean square in float64", async () => {
  const y = await runTensor("RMSNormalization", 23, [
    new Tensor("float64", Float64Array.from([3, 4]), [1, 2]),
    new Tensor("float64", Float64Array.from([1, 2]), [2]),
  ], [floatAttr("epsilon", 0)]);
  assert.equal(y.type, "float64");
  const r = Math.sqrt(12.5);
  assert.deepEqual(vals(y), [3 / r, 8 / r]);
});

Deno.test("LRN sums squares over floor((size-1)/2) channels before and ceil((size-1)/2) after", async () => {
  const x = f32([1, 2, 3], [1, 3, 1, 1]);
  const odd = await runTensor("LRN", 13, [x], [
    intAttr("size", 3),
    floatAttr("alpha", 3),
    floatAttr("beta", 1),
  ]);
  assertClose(vals(odd), [1 / 6, 2 / 15, 3 / 14]);
  const even = await runTensor("LRN", 13, [x], [
    intAttr("size", 2),
    floatAttr("alpha", 2),
    floatAttr("beta", 1),
  ]);
  assertClose(vals(even), [1 / 6, 2 / 14, 3 / 10]);
});

Deno.test("MeanVarianceNormalization normalizes over the given axes", async () => {
  const y = await runTensor("MeanVarianceNormalization", 13, [f32([1, 3, 2, 2], [2, 2])], [
    intsAttr("axes", [1]),
  ]);
  assertClose(vals(y), [-1, 1, 0, 0]);
});

Deno.test("InstanceNormalization normalizes each (n, c) plane", async () => {
  const y = await runTensor("InstanceNormalization", 6, [
    f32([1, 3, 5, 7], [1, 2, 2]),
    f32([2, 1]),
    f32([1, 7]),
  ], [floatAttr("epsilon", 0)]);
  assertClose(vals(y), [-1, 3, 6, 8]);
});
