/**
 * Tests of ops/conv.ts (Conv, ConvTranspose, DeformConv, Col2Im) and the im2col primitive
 * against naive direct implementations of the ONNX definitions, plus the resnet18 model.
 */

import assert from "node:assert/strict";
import { f32, i64, inferOp, runTensor } from "./_op_harness.ts";
import {
  assertClose,
  type NaiveConv,
  naiveConv,
  naiveConvTranspose,
  randoms,
} from "./_window_ref.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { col2im, im2col, windowIndexMap } from "../../pipeline/run/cpu/im2col.ts";
import { windowShape } from "../../ops/conv.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { decodeTensorProto } from "../../pipeline/load/proto.ts";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import { intAttr, intsAttr, stringAttr } from "../../pipeline/load/build.ts";
import { SHARED } from "../_shared_root.ts";

function size(d: number[]): number {
  return d.reduce((a, b) => a * b, 1);
}

interface ConvCase {
  xd: number[];
  wd: number[];
  group: number;
  strides: number[];
  dilations: number[];
  pads: number[];
  bias: boolean;
}

async function checkConv(c: ConvCase, seed: number): Promise<void> {
  const r = c.xd.length - 2;
  const x = randoms(size(c.xd), seed);
  const w = randoms(size(c.wd), seed + 1);
  const b = c.bias ? randoms(c.wd[0], seed + 2) : undefined;
  const ws = windowShape(c.xd.slice(2), c.wd.slice(2), c.strides, c.dilations, {
    autoPad: "NOTSET",
    pads: c.pads,
  });
  if (typeof ws === "string") throw new Error(ws);
  const geo: NaiveConv = {
    group: c.group,
    strides: c.strides,
    dilations: c.dilations,
    padsBegin: c.pads.slice(0, r),
    out: ws.out,
  };
  const expected = naiveConv(x, c.xd, w, c.wd, b, geo);
  const inputs = [f32(x, c.xd), f32(w, c.wd), ...(b ? [f32(b)] : [])];
  const y = await runTensor("Conv", 13, inputs, [
    intAttr("group", c.group),
    intsAttr("strides", c.strides),
    intsAttr("dilations", c.dilations),
    intsAttr("pads", c.pads),
  ]);
  assert.deepEqual(y.dims, [c.xd[0], c.wd[0], ...ws.out]);
  assertClose(y.data as Float32Array, expected, 1e-5);
}

Deno.test("Conv 2-D with groups, strides, dilations and asymmetric pads matches the definition", async () => {
  await checkConv({
    xd: [2, 4, 7, 6],
    wd: [6, 2, 3, 2],
    group: 2,
    strides: [2, 1],
    dilations: [1, 2],
    pads: [1, 0, 2, 1],
    bias: true,
  }, 1);
});

Deno.test("Conv depthwise with a channel multiplier, stride and dilation matches the definition", async () => {
  await checkConv({
    xd: [1, 3, 9, 8],
    wd: [6, 1, 3, 3],
    group: 3,
    strides: [2, 2],
    dilations: [2, 1],
    pads: [2, 1, 1, 2],
    bias: true,
  }, 7);
});

Deno.test("Conv 1x1 (pointwise GEMM path) and 1-D and 3-D convolutions match the definition", async () => {
  await checkConv({
    xd: [2, 5, 4, 3],
    wd: [4, 5, 1, 1],
    group: 1,
    strides: [1, 1],
    dilations: [1, 1],
    pads: [0, 0, 0, 0],
    bias: false,
  }, 11);
  await checkConv({
    xd: [2, 3, 11],
    wd: [4, 3, 3],
    group: 1,
    strides: [2],
    dilations: [2],
    pads: [1, 2],
    bias: true,
  }, 13);
  await checkConv({
    xd: [1, 2, 4, 5, 3],
    wd: [2, 2, 2, 3, 2],
    group: 1,
    strides: [1, 2, 1],
    dilations: [1, 1, 2],
    pads: [0, 1, 1, 1, 0, 0],
    bias: true,
  }, 17);
});

Deno.test("Conv SAME_LOWER puts the odd pad first, SAME_UPPER last", async () => {
  // 1-D input 1..4, kernel [1, 1] (sum of two neighbours), stride 1: total pad 1.
  const x = f32([1, 2, 3, 4], [1, 1, 4]);
  const w = f32([1, 1], [1, 1, 2]);
  const lower = await runTensor("Conv", 11, [x, w], [stringAttr("auto_pad", "SAME_LOWER")]);
  assert.deepEqual(Array.from(lower.data as Float32Array), [1, 3, 5, 7]);
  const upper = await runTensor("Conv", 11, [x, w], [stringAttr("auto_pad", "SAME_UPPER")]);
  assert.deepEqual(Array.from(upper.data as Float32Array), [3, 5, 7, 4]);
});

Deno.test("Conv computes float16 in float32 and keeps float64 precision", async () => {
  const x = [0.5, -1.25, 2, 3.5, -0.75, 1];
  const w = [0.25, -2];
  const h = await runTensor("Conv", 22, [
    new Tensor("float16", x, [1, 1, 6]),
    new Tensor("float16", w, [1, 1, 2]),
  ]);
  assert.equal(h.type, "float16");
  const expected = [
    0.5 * 0.25 + 1.25 * 2,
    -1.25 * 0.25 - 4,
    2 * 0.25 - 7,
    3.5 * 0.25 + 1.5,
    -0.75 * 0.25 - 2,
  ];
  const got = Array.from(new Float16Array((h.data as Uint16Array).buffer));
  assert.deepEqual(got, expected);
  const d = await runTensor("Conv", 11, [
    new Tensor("float64", Float64Array.from([1e-9, 1, 1]), [1, 1, 3]),
    new Tensor("float64", Float64Array.from([1, 1]), [1, 1, 2]),
  ]);
  assert.equal(d.type, "float64");
  assert.equal((d.data as Float64Array)[0], 1 + 1e-9);
});

Deno.test("Conv rejects integer inputs and mismatched channels", async () => {
  await assert.rejects(
    runTensor("Conv", 11, [
      new Tensor("int32", [1, 2], [1, 1, 2]),
      new Tensor("int32", [1], [1, 1, 1]),
    ]),
    /does not accept int32/,
  );
  await assert.rejects(
    runTensor("Conv", 11, [f32([1, 2], [1, 2, 1]), f32([1], [1, 1, 1])]),
    /channels/,
  );
});

async function checkConvTranspose(
  xd: number[],
  wd: number[],
  group: number,
  strides: number[],
  dilations: number[],
  pads: number[],
  outputPadding: number[],
  seed: number,
): Promise<void> {
  const r = xd.length - 2;
  const x = randoms(size(xd), seed);
  const w = randoms(size(wd), seed + 1);
  const b = randoms(wd[1] * group, seed + 2);
  const out = xd.slice(2).map((v, i) =>
    strides[i] * (v - 1) + outputPadding[i] + (wd[2 + i] - 1) * dilations[i] + 1 - pads[i] -
    pads[i + r]
  );
  const expected = naiveConvTranspose(x, xd, w, wd, b, {
    group,
    strides,
    dilations,
    padsBegin: pads.slice(0, r),
    out,
  });
  const y = await runTensor("ConvTranspose", 11, [f32(x, xd), f32(w, wd), f32(b)], [
    intAttr("group", group),
    intsAttr("strides", strides),
    intsAttr("dilations", dilations),
    intsAttr("pads", pads),
    intsAttr("output_padding", outputPadding),
  ]);
  assert.deepEqual(y.dims, [xd[0], wd[1] * group, ...out]);
  assertClose(y.data as Float32Array, expected, 1e-5);
}

Deno.test("ConvTranspose matches the scatter definition (groups, strides, dilations, pads, output_padding)", async () => {
  await checkConvTranspose([2, 4, 3, 4], [4, 3, 3, 2], 2, [2, 3], [1, 2], [1, 0, 0, 2], [1, 0], 3);
  await checkConvTranspose([1, 2, 5], [2, 2, 3], 1, [3], [1], [0, 0], [2], 5);
  await checkConvTranspose([1, 2, 2, 3, 2], [2, 1, 2, 2, 3], 2, [1, 2, 2], [2, 1, 1], [
    0,
    1,
    0,
    1,
    0,
    1,
  ], [
    0,
    1,
    1,
  ], 9);
});

Deno.test("ConvTranspose output_shape derives pads (SAME_UPPER puts the odd pad at the end)", async () => {
  // x = [1, 2, 3], kernel [1, 1, 1], stride 1: full output [1, 3, 6, 5, 3]; total pad 2 for 3.
  const x = f32([1, 2, 3], [1, 1, 3]);
  const w = f32([1, 1, 1], [1, 1, 3]);
  const y = await runTensor("ConvTranspose", 11, [x, w], [intsAttr("output_shape", [3])]);
  assert.deepEqual(Array.from(y.data as Float32Array), [3, 6, 5]);
  // Total pad 1 for output 4: NOTSET puts it first, SAME_UPPER last.
  const a = await runTensor("ConvTranspose", 11, [x, w], [intsAttr("output_shape", [4])]);
  assert.deepEqual(Array.from(a.data as Float32Array), [3, 6, 5, 3]);
  const bU = await runTensor("ConvTranspose", 11, [x, w], [
    intsAttr("output_shape", [4]),
    stringAttr("auto_pad", "SAME_UPPER"),
  ]);
  assert.deepEqual(Array.from(bU.data as Float32Array), [1, 3, 6, 5]);
});

Deno.test("DeformConv with zero offsets equals Conv; integer offsets shift the taps; mask scales them", async () => {
  const xd = [1, 2, 5, 4], wd = [3, 2, 2, 2];
  const x = randoms(size(xd), 21), w = randoms(size(wd), 22), b = randoms(3, 23);
  const conv = await runTensor("Conv", 11, [f32(x, xd), f32(w, wd), f32(b)], [
    intsAttr("pads", [1, 0, 0, 1]),
  ]);
  const outSp = conv.dims.slice(2);
  const offDims = [1, 2 * 4, ...outSp];
  const zero = f32(new Array(size(offDims)).fill(0), offDims);
  const d = await runTensor("DeformConv", 19, [f32(x, xd), f32(w, wd), zero, f32(b)], [
    intsAttr("pads", [1, 0, 0, 1]),
  ]);
  assertClose(d.data as Float32Array, conv.data as Float32Array, 1e-6);
  // Offset every tap by +1 row: same as convolving the input shifted up by one row.
  // (No top pad here: a tap moved from the top pad row would read real data.)
  const sp2 = [5, 4];
  const offDims2 = [1, 8, ...sp2];
  const off = new Array(size(offDims2)).fill(0);
  const plane = size(sp2);
  for (let k = 0; k < 4; k++) off.fill(1, (2 * k) * plane, (2 * k + 1) * plane);
  const shifted = x.slice();
  for (let c = 0; c < 2; c++) {
    for (let h = 0; h < 5; h++) {
      for (let ww = 0; ww < 4; ww++) {
        shifted[(c * 5 + h) * 4 + ww] = h + 1 < 5 ? x[(c * 5 + h + 1) * 4 + ww] : 0;
      }
    }
  }
  const convShift = await runTensor("Conv", 11, [f32(shifted, xd), f32(w, wd), f32(b)], [
    intsAttr("pads", [0, 0, 1, 1]),
  ]);
  const ds = await runTensor(
    "DeformConv",
    19,
    [f32(x, xd), f32(w, wd), f32(off, offDims2), f32(b)],
    [
      intsAttr("pads", [0, 0, 1, 1]),
    ],
  );
  assertClose(ds.data as Float32Array, convShift.data as Float32Array, 1e-6);
  // Half offsets interpolate: a 1-D ramp sampled at +0.5 reads the midpoints.
  const ramp = f32([0, 2, 4, 6], [1, 1, 4]);
  const one = f32([1], [1, 1, 1]);
  const half = f32([0.5, 0.5, 0.5, 0.5], [1, 1, 4]);
  const mask = f32([1, 0.5, 2, 1], [1, 1, 4]);
  const y = await runTensor("DeformConv", 19, [ramp, one, half, undefined, mask]);
  assert.deepEqual(Array.from(y.data as Float32Array), [1, 1.5, 10, 0.5 * 6]);
});

Deno.test("Col2Im sums overlapping blocks for float and integer types alike", async () => {
  // 1 channel, image 3x3, block 2x2, stride 1: 4 blocks; every block value 1.
  const data = new Array(4 * 4).fill(1);
  const y = await runTensor("Col2Im", 18, [f32(data, [1, 4, 4]), i64([3, 3]), i64([2, 2])]);
  assert.deepEqual(Array.from(y.data as Float32Array), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
  const yi = await runTensor("Col2Im", 18, [
    new Tensor("int64", BigInt64Array.from(data.map(() => 3n)), [1, 4, 4]),
    i64([3, 3]),
    i64([2, 2]),
  ]);
  assert.equal(yi.type, "int64");
  assert.deepEqual(Array.from(yi.data as BigInt64Array), [3n, 6n, 3n, 6n, 12n, 6n, 3n, 6n, 3n]);
  const y8 = await runTensor("Col2Im", 18, [
    new Tensor("int32", Int32Array.from(data), [1, 4, 4]),
    i64([3, 3]),
    i64([2, 2]),
  ]);
  assert.equal(y8.type, "int32");
  assert.deepEqual(Array.from(y8.data as Int32Array), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
  await assert.rejects(
    runTensor("Col2Im", 18, [
      new Tensor("string", data.map(String), [1, 4, 4]),
      i64([3, 3]),
      i64([2, 2]),
    ]),
    /string/,
  );
});

Deno.test("im2col and col2im are adjoint and agree with windowIndexMap", () => {
  const g = {
    image: [4, 5, 3],
    grid: [3, 2, 3],
    kernel: [2, 3, 2],
    strides: [1, 2, 1],
    dilations: [2, 1, 1],
    padsBegin: [1, 1, 1],
  };
  const C = 2;
  const img = Float64Array.from(randoms(C * 60, 31));
  const rows = C * 12, cols = 18;
  const col = new Float64Array(rows * cols);
  im2col(img, 0, C, g, col, 0);
  const map = windowIndexMap(C, g);
  for (let i = 0; i < col.length; i++) assert.equal(col[i], map[i] < 0 ? 0 : img[map[i]]);
  // <im2col(a), b> == <a, col2im(b)>
  const b = Float64Array.from(randoms(rows * cols, 32));
  const back = new Float64Array(C * 60);
  col2im(b, 0, C, g, back, 0);
  let lhs = 0, rhs = 0;
  for (let i = 0; i < col.length; i++) lhs += col[i] * b[i];
  for (let i = 0; i < img.length; i++) rhs += img[i] * back[i];
  assert.ok(Math.abs(lhs - rhs) < 1e-9);
});

Deno.test("Conv and ConvTranspose infer output shapes with symbolic batch", () => {
  const t = (shape: (number | string)[]) => ({
    kind: "tensor" as const,
    elemType: "float32" as const,
    shape,
  });
  const conv = inferOp("Conv", 13, [t(["N", 3, 224, 224]), t([64, 3, 7, 7])], [
    intsAttr("strides", [2, 2]),
    intsAttr("pads", [3, 3, 3, 3]),
  ]);
  assert.deepEqual(conv.types[0], {
    kind: "tensor",
    elemType: "float32",
    shape: ["N", 64, 112, 112],
  });
  const ct = inferOp("ConvTranspose", 13, [t(["N", 4, 5, 5]), t([4, 3, 3, 3])], [
    intAttr("group", 2),
    intsAttr("strides", [2, 2]),
  ]);
  assert.deepEqual(ct.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 6, 11, 11] });
});

const RESNET = `${SHARED}/models/resnet18`;
const haveResnet = await Deno.stat(`${RESNET}/model.onnx`).then(() => true, () => false);
if (!haveResnet) console.log(`Skipping the resnet18 test: ${RESNET} is absent`);

Deno.test({
  name: "resnet18 matches PyTorch's output (Conv, MaxPool, GlobalAveragePool end to end)",
  ignore: !haveResnet,
  fn: async () => {
    const s = await InferenceSession.create(`${RESNET}/model.onnx`);
    const read = async (f: string) => tensorFromProto(decodeTensorProto(await Deno.readFile(f)));
    const x = await read(`${RESNET}/test_data_set_0/input_0.pb`);
    const ref = await read(`${RESNET}/test_data_set_0/output_0.pb`);
    const out = await s.run({ [s.inputNames[0]]: x });
    const y = out[s.outputNames[0]] as Tensor;
    assert.deepEqual(y.dims, ref.dims);
    const a = y.data as Float32Array, e = ref.data as Float32Array;
    for (let i = 0; i < a.length; i++) {
      assert.ok(
        Math.abs(a[i] - e[i]) <= 1e-4 + 1e-3 * Math.abs(e[i]),
        `element ${i}: ${a[i]} vs ${e[i]}`,
      );
    }
  },
});

Deno.test("the family declares exactly the schema versions of its ops (Upsample-10 is deprecated)", async () => {
  const { schemaVersions } = await import("../../ops/schema/mod.ts");
  const families = await Promise.all(
    ["conv", "pool", "norm", "resize", "sample"].map((f) => import(`../../ops/${f}.ts`)),
  );
  for (const fam of families) {
    for (const def of fam.ops as { opType: string; versions: number[] }[]) {
      const want = schemaVersions("", def.opType).filter((v) =>
        !(def.opType === "Upsample" && v === 10)
      );
      assert.deepEqual(def.versions, want, def.opType);
    }
  }
});
