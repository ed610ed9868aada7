/**
 * Tests of ops/qlinear.ts: MatMulInteger and QLinearMatMul on hand-computed products,
 * ConvInteger and QLinearConv against a direct loop over the ONNX definition (exact int32
 * sums, then x_scale * w_scale / y_scale in float32, rounded half to even and saturated).
 */

import assert from "node:assert/strict";
import { f32, inferOp, runTensor } from "./_op_harness.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { intAttr, intsAttr, stringAttr } from "../../pipeline/load/build.ts";

function u8(v: number[], dims?: number[]): Tensor {
  return new Tensor("uint8", Uint8Array.from(v), dims ?? [v.length]);
}

function i8(v: number[], dims?: number[]): Tensor {
  return new Tensor("int8", Int8Array.from(v), dims ?? [v.length]);
}

/** Deterministic integers in [lo, hi]. */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    out.push(lo + ((a >>> 8) % (hi - lo + 1)));
  }
  return out;
}

function halfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

Deno.test("MatMulInteger with per-row A and per-column B zero points", async () => {
  // A - azp = [[10, 11, 12], [19, 20, 21]]; B - bzp = [[1, 0], [2, 3], [4, 5]].
  const a = u8([11, 12, 13, 21, 22, 23], [2, 3]);
  const b = u8([4, 4, 5, 7, 7, 9], [3, 2]);
  const y = await runTensor("MatMulInteger", 10, [a, b, u8([1, 2]), u8([3, 4])]);
  assert.equal(y.type, "int32");
  assert.deepEqual(y.dims, [2, 2]);
  assert.deepEqual(Array.from(y.data as Int32Array), [80, 93, 143, 165]);
});

Deno.test("MatMulInteger int8 x uint8, scalar zero point, batch broadcast", async () => {
  // A is [2, 1, 2] int8, B is [2, 1] uint8 with zero point 1.
  const a = i8([-128, 127, 3, -4], [2, 1, 2]);
  const b = u8([2, 255], [2, 1]);
  const y = await runTensor("MatMulInteger", 10, [a, b, undefined, u8([1])]);
  // B - 1 = [1, 254]: -128 + 127*254 = 32130; 3 - 4*254 = -1013.
  assert.deepEqual(y.dims, [2, 1, 1]);
  assert.deepEqual(Array.from(y.data as Int32Array), [32130, -1013]);
  // Without zero points.
  const y0 = await runTensor("MatMulInteger", 10, [i8([1, 2], [1, 2]), i8([3, 4], [2, 1])]);
  assert.deepEqual(Array.from(y0.data as Int32Array), [11]);
  await assert.rejects(runTensor("MatMulInteger", 10, [a, b, i8([0, 0, 0])]), /a_zero_point/);
});

Deno.test("QLinearMatMul with a per-column b_scale requantizes per column", async () => {
  // a - 128 = [2, -2]; b = [[10, 20], [30, 40]]: sums [-40, -40]; scales 0.05 and 0.1 give
  // -2 and -4, plus zero point 100.
  const y = await runTensor("QLinearMatMul", 10, [
    u8([130, 126], [1, 2]),
    f32([0.5], []),
    u8([128], []),
    i8([10, 20, 30, 40], [2, 2]),
    f32([0.1, 0.2]),
    i8([0, 0]),
    f32([1], []),
    u8([100], []),
  ]);
  assert.equal(y.type, "uint8");
  assert.deepEqual(Array.from(y.data as Uint8Array), [98, 96]);
});

Deno.test("QLinearMatMul saturates and rounds ties to even", async () => {
  // Sums: [1*1, 1*3] = [1, 3] with scale 0.5 -> 0.5 -> 0, 1.5 -> 2; then + zp 127 (int8).
  const y = await runTensor("QLinearMatMul", 21, [
    i8([1], [1, 1]),
    f32([1], []),
    i8([0], []),
    i8([1, 3, 127], [1, 3]),
    f32([0.5], []),
    i8([0], []),
    f32([1], []),
    i8([127], []),
  ]);
  assert.deepEqual(Array.from(y.data as Int8Array), [127, 127, 127]);
  const y2 = await runTensor("QLinearMatMul", 21, [
    i8([1], [1, 1]),
    f32([1], []),
    i8([0], []),
    i8([1, 3, -127], [1, 3]),
    f32([0.5], []),
    i8([0], []),
    f32([1], []),
    i8([0], []),
  ]);
  assert.deepEqual(Array.from(y2.data as Int8Array), [0, 2, -64]);
});

Deno.test("QLinearMatMul-21 with float16 scales and float8 operands", async () => {
  const h = (bits: number) => new Tensor("float16", Uint16Array.of(bits), [1]);
  // float16 0x3800 = 0.5, 0x3C00 = 1.
  const y = await runTensor("QLinearMatMul", 21, [
    u8([132], [1, 1]),
    h(0x3800),
    u8([128]),
    u8([131, 125], [1, 2]),
    h(0x3c00),
    u8([128]),
    h(0x3c00),
    u8([10]),
  ]);
  // (4) * (3, -3) * 0.5 = 6, -6 -> 16, 4.
  assert.deepEqual(Array.from(y.data as Uint8Array), [16, 4]);
  // float8e4m3fn: 1.0 = 0x38, 2.0 = 0x40, 3.0 = 0x44.
  const f8 = (codes: number[], dims: number[]) =>
    new Tensor("float8e4m3fn", Uint8Array.from(codes), dims);
  const y8 = await runTensor("QLinearMatMul", 21, [
    f8([0x38, 0x40], [1, 2]),
    f32([1], [1]),
    f8([0], [1]),
    f8([0x38, 0x38], [2, 1]),
    f32([1], [1]),
    f8([0], [1]),
    f32([1], [1]),
    f8([0], [1]),
  ]);
  assert.equal(y8.type, "float8e4m3fn");
  assert.deepEqual(Array.from(y8.data as Uint8Array), [0x44]);
});

interface QConvCase {
  x: number[];
  xd: number[];
  w: number[];
  wd: number[];
  group: number;
  strides: number[];
  pads: number[];
  dilations: number[];
}

/** Direct convolution sums: sum (x - xz) * (w - wz[m]) + bias[m] over each window. */
function naiveSums(c: QConvCase, xz: number, wz: number[], bias: number[]): number[] {
  const [N, C, H, W] = c.xd;
  const [M, Cg, KH, KW] = c.wd;
  const [sh, sw] = c.strides, [dh, dw] = c.dilations;
  const OH = Math.floor((H + c.pads[0] + c.pads[2] - ((KH - 1) * dh + 1)) / sh) + 1;
  const OW = Math.floor((W + c.pads[1] + c.pads[3] - ((KW - 1) * dw + 1)) / sw) + 1;
  const Mg = M / c.group;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = bias[m] ?? 0;
          for (let ci = 0; ci < Cg; ci++) {
            for (let i = 0; i < KH; i++) {
              for (let j = 0; j < KW; j++) {
                const ih = oh * sh - c.pads[0] + i * dh, iw = ow * sw - c.pads[1] + j * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xv = c.x[((n * C + g * Cg + ci) * H + ih) * W + iw];
                const wv = c.w[((m * Cg + ci) * KH + i) * KW + j];
                acc += (xv - xz) * (wv - (wz.length > 1 ? wz[m] : wz[0]));
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

function convAttrs(c: QConvCase) {
  return [
    intAttr("group", c.group),
    intsAttr("strides", c.strides),
    intsAttr("pads", c.pads),
    intsAttr("dilations", c.dilations),
    intsAttr("kernel_shape", c.wd.slice(2)),
  ];
}

const CASES: Omit<QConvCase, "x" | "w">[] = [
  // Stem-like: 3 channels, stride 2, pads 1.
  {
    xd: [1, 3, 9, 8],
    wd: [5, 3, 3, 3],
    group: 1,
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
  // Depthwise with asymmetric pads and stride 2.
  {
    xd: [2, 4, 7, 6],
    wd: [4, 1, 3, 3],
    group: 4,
    strides: [2, 2],
    pads: [1, 0, 2, 1],
    dilations: [1, 1],
  },
  // Pointwise.
  {
    xd: [1, 6, 5, 5],
    wd: [7, 6, 1, 1],
    group: 1,
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
  },
  // Grouped with channel multiplier 2 and dilation.
  {
    xd: [1, 4, 8, 8],
    wd: [8, 2, 2, 3],
    group: 2,
    strides: [1, 2],
    pads: [1, 1, 0, 2],
    dilations: [2, 1],
  },
  // Depthwise with a channel multiplier.
  {
    xd: [1, 2, 5, 5],
    wd: [4, 1, 3, 3],
    group: 2,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
];

Deno.test("ConvInteger matches the direct sum with per-channel weight zero points", async () => {
  let seed = 1;
  for (const base of CASES) {
    const c: QConvCase = {
      ...base,
      x: ints(base.xd.reduce((a, b) => a * b), 0, 255, seed++),
      w: ints(base.wd.reduce((a, b) => a * b), 0, 255, seed++),
    };
    const M = c.wd[0];
    const wz = ints(M, 100, 150, seed++);
    const y = await runTensor(
      "ConvInteger",
      10,
      [u8(c.x, c.xd), u8(c.w, c.wd), u8([117], []), u8(wz)],
      convAttrs(c),
    );
    assert.equal(y.type, "int32");
    assert.deepEqual(Array.from(y.data as Int32Array), naiveSums(c, 117, wz, []), `case ${seed}`);
  }
});

Deno.test("QLinearConv matches the direct definition for uint8/int8 and per-channel scales", async () => {
  let seed = 100;
  for (const signed of [false, true]) {
    for (const base of CASES) {
      const c: QConvCase = {
        ...base,
        x: signed
          ? ints(base.xd.reduce((a, b) => a * b), -128, 127, seed++)
          : ints(base.xd.reduce((a, b) => a * b), 0, 255, seed++),
        w: ints(base.wd.reduce((a, b) => a * b), -128, 127, seed++),
      };
      const M = c.wd[0];
      const xs = 0.0187, ys = 0.0523;
      const ws = Array.from({ length: M }, (_, m) => Math.fround(0.0011 * (m + 1)));
      const wz = signed ? ints(M, -3, 3, seed++) : new Array<number>(M).fill(0);
      const bias = ints(M, -5000, 5000, seed++);
      const xz = signed ? -7 : 114, yz = signed ? 3 : 128;
      const xT = signed ? i8(c.x, c.xd) : u8(c.x, c.xd);
      const zT = (v: number) => (signed ? i8([v], []) : u8([v], []));
      const y = await runTensor("QLinearConv", 10, [
        xT,
        f32([xs], []),
        zT(xz),
        i8(c.w, c.wd),
        f32(ws),
        i8(wz),
        f32([ys], []),
        zT(yz),
        new Tensor("int32", Int32Array.from(bias), [M]),
      ], convAttrs(c));
      const sums = naiveSums(c, xz, wz, bias);
      const plane = sums.length / (c.xd[0] * M);
      const [lo, hi] = signed ? [-128, 127] : [0, 255];
      const expected = sums.map((s, i) => {
        const m = Math.floor(i / plane) % M;
        const scale = Math.fround(Math.fround(Math.fround(xs) * ws[m]) / Math.fround(ys));
        const q = halfEven(Math.fround(s * scale)) + yz;
        return Math.min(hi, Math.max(lo, q));
      });
      assert.equal(y.type, signed ? "int8" : "uint8");
      assert.deepEqual(Array.from(y.data as ArrayLike<number>), expected, `case ${seed}`);
    }
  }
});

Deno.test("QLinearConv with auto_pad SAME_UPPER keeps the spatial size", async () => {
  const x = u8(ints(25, 0, 255, 7), [1, 1, 5, 5]);
  const y = await runTensor("QLinearConv", 10, [
    x,
    f32([1], []),
    u8([0], []),
    i8(new Array(9).fill(1), [1, 1, 3, 3]),
    f32([1], []),
    i8([0], []),
    f32([64], []),
    u8([0], []),
  ], [stringAttr("auto_pad", "SAME_UPPER")]);
  assert.deepEqual(y.dims, [1, 1, 5, 5]);
  const c: QConvCase = {
    x: Array.from(x.data as Uint8Array),
    xd: [1, 1, 5, 5],
    w: new Array(9).fill(1),
    wd: [1, 1, 3, 3],
    group: 1,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  };
  const expected = naiveSums(c, 0, [0], []).map((s) => Math.min(255, halfEven(s / 64)));
  assert.deepEqual(Array.from(y.data as Uint8Array), expected);
});

Deno.test("QLinearConv/ConvInteger/QLinearMatMul/MatMulInteger inference", () => {
  const t = (elemType: Tensor["type"], shape?: (number | string)[]) => ({
    kind: "tensor" as const,
    elemType,
    shape,
  });
  const s = t("float32", []);
  let r = inferOp("QLinearConv", 10, [
    t("uint8", ["N", 3, 224, 224]),
    s,
    t("uint8", []),
    t("int8", [32, 3, 3, 3]),
    t("float32", [32]),
    t("int8", [32]),
    s,
    t("uint8", []),
  ], [intsAttr("strides", [2, 2]), intsAttr("pads", [1, 1, 1, 1])]);
  assert.deepEqual(r.types, [t("uint8", ["N", 32, 112, 112])]);
  r = inferOp("ConvInteger", 10, [t("int8", [1, 2, 5, 5]), t("int8", [4, 2, 2, 2])]);
  assert.deepEqual(r.types, [t("int32", [1, 4, 4, 4])]);
  r = inferOp("MatMulInteger", 10, [t("uint8", ["B", 3, 4]), t("int8", [4, 6])]);
  assert.deepEqual(r.types, [t("int32", ["B", 3, 6])]);
  r = inferOp("QLinearMatMul", 10, [
    t("uint8", [2, 4]),
    s,
    t("uint8", []),
    t("int8", [4, 3]),
    s,
    t("int8", []),
    s,
    t("int8", []),
  ]);
  assert.deepEqual(r.types, [t("int8", [2, 3])]);
});
