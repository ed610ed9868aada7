/**
 * The `int8Accumulation: "x86-u8s8"` session option on the integer product ops, through a
 * real session: hand-computed cases where a pair of uint8 x int8 products leaves the int16
 * range, checking which ops and type combinations saturate, in which K order, with padding
 * reading the input zero point, and that exact mode and the exempt cases sum exactly.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import type { Int8Accumulation } from "../../ops/types.ts";
import { runModel, runNode, type RunNodeOptions, singleNodeModel } from "./_session_run.ts";

async function run(
  mode: Int8Accumulation,
  opType: string,
  inputs: (Tensor | undefined)[],
  options: RunNodeOptions = {},
): Promise<number[]> {
  const [y] = await runNode(opType, inputs, {
    opset: 21,
    ...options,
    session: { int8Accumulation: mode },
  });
  assert.ok(y instanceof Tensor);
  return Array.from(y.data as ArrayLike<number>);
}

const u8 = (v: number[], dims: number[]) => new Tensor("uint8", Uint8Array.from(v), dims);
const i8 = (v: number[], dims: number[]) => new Tensor("int8", Int8Array.from(v), dims);
const f32 = (v: number) => new Tensor("float32", Float32Array.of(v), []);

Deno.test("MatMulInteger uint8 x int8: pairs along K saturate in x86-u8s8 mode only", async () => {
  // Row 0: two pairs of 255*127*2 = 64770 -> 32767 each. Row 1: 255, 0, 255, 0 keeps the
  // large terms in different pairs (no clamp). Zero points 5 and -3 are applied exactly:
  // x86 = raw - zb*sum(a) - za*sum(b) + K*za*zb.
  const a = u8([255, 255, 255, 255, 255, 0, 255, 0], [2, 4]);
  const b = i8([127, 127, 127, 127], [4, 1]);
  const zps = [u8([5], []), i8([-3], [])];
  const exact = await run("exact", "MatMulInteger", [a, b, ...zps]);
  assert.deepEqual(exact, [250 * 130 * 4, (250 + -5 + 250 + -5) * 130]);
  const x86 = await run("x86-u8s8", "MatMulInteger", [a, b, ...zps]);
  assert.deepEqual(x86, [
    32767 * 2 + 3 * 1020 - 5 * 508 - 60,
    (250 + -5 + 250 + -5) * 130,
  ]);
});

Deno.test("MatMulInteger: other type pairs and batches", async () => {
  // uint8 x uint8 (MLAS's exact u8u8 kernel) stays exact.
  const uu = await run("x86-u8s8", "MatMulInteger", [
    u8([255, 255], [1, 2]),
    u8([255, 255], [2, 1]),
  ]);
  assert.deepEqual(uu, [2 * 255 * 255]);
  // int8 x int8 stays exact.
  const ss = await run("x86-u8s8", "MatMulInteger", [
    i8([-128, -128], [1, 2]),
    i8([-128, -128], [2, 1]),
  ]);
  assert.deepEqual(ss, [2 * 16384]);
  // Broadcast batches: A [2,1,2] against B [2,1] (shared), 1-D per-row a_zero_point.
  const y = await run("x86-u8s8", "MatMulInteger", [
    u8([255, 255, 100, 100], [2, 1, 2]),
    i8([127, 127], [2, 1]),
    u8([0], [1]),
  ]);
  assert.deepEqual(y, [32767, 25400]);
});

Deno.test("QLinearMatMul uint8 x int8: saturated accumulator is requantized", async () => {
  // Accumulators: exact 129540, x86 65534; y_scale 2048 -> 63.25 -> 63 and 31.999 -> 32.
  const ins = [
    u8([255, 255, 255, 255], [1, 4]),
    f32(1),
    u8([0], []),
    i8([127, 127, 127, 127], [4, 1]),
    f32(1),
    i8([0], []),
    f32(2048),
    u8([0], []),
  ];
  assert.deepEqual(await run("exact", "QLinearMatMul", ins), [63]);
  assert.deepEqual(await run("x86-u8s8", "QLinearMatMul", ins), [32]);
});

/** QLinearConv inputs with unit x/w scales, y_scale 256 and y_zero_point 128. */
function qconv(x: Tensor, xZp: number, w: Tensor): Tensor[] {
  return [x, f32(1), u8([xZp], []), w, f32(1), i8([0], []), f32(256), u8([128], [])];
}

Deno.test("QLinearConv uint8 x int8: pairs run taps outer, channels inner", async () => {
  // x all 255, C = 3, kernel 1x2. w[c][t]: c0 = (127, -128), c1 = (127, -128), c2 = (0, 0).
  // Channels-last walk (t0c0, t0c1), (t0c2, t1c0), (t1c1, t1c2): 32767 - 32640 - 32640 =
  // -32513 -> -127 + 128 = 1. Exact (and a channels-first walk): -510 -> -2 + 128 = 126.
  const x = u8([255, 255, 255, 255, 255, 255], [1, 3, 1, 2]);
  const w = i8([127, -128, 127, -128, 0, 0], [1, 3, 1, 2]);
  assert.deepEqual(await run("exact", "QLinearConv", qconv(x, 0, w)), [126]);
  assert.deepEqual(await run("x86-u8s8", "QLinearConv", qconv(x, 0, w)), [1]);
});

Deno.test("QLinearConv x86-u8s8: padding reads the input zero point", async () => {
  // C = 2, kernel 1x2, left pad 1: tap 0 reads the padding (raw 200 = x_zero_point), tap 1
  // reads x = (210, 190). w: tap 0 = 127 for both channels, tap 1 = (1, 2).
  // Raw pairs: 200*127*2 = 50800 -> 32767, and 210 + 380 = 590; minus 200 * sum(w) = 51400:
  // -18043 -> -70.48 -> -70 + 128 = 58. Exact: 10 - 20 = -10 -> 0 + 128 = 128.
  const x = u8([210, 190], [1, 2, 1, 1]);
  const w = i8([127, 1, 127, 2], [1, 2, 1, 2]);
  const opts = { attrs: { pads: { ints: [0, 1, 0, 0] } } };
  assert.deepEqual(await run("exact", "QLinearConv", qconv(x, 200, w), opts), [128]);
  assert.deepEqual(await run("x86-u8s8", "QLinearConv", qconv(x, 200, w), opts), [58]);
});

Deno.test("QLinearConv x86-u8s8: depthwise stays exact, a channel multiplier does not", async () => {
  // Two channels of 255, 255 against 127, 127: 64770 exact, 32767 saturated; y_scale 512
  // and zero point 0: 126.504 -> 127 or 63.998 -> 64.
  const x = u8([255, 255, 255, 255], [1, 2, 1, 2]);
  const ins = (w: Tensor) => [x, f32(1), u8([0], []), w, f32(1), i8([0], []), f32(512)];
  const dw = i8([127, 127, 127, 127], [2, 1, 1, 2]);
  const group = { attrs: { group: { i: 2 } } };
  assert.deepEqual(await run("x86-u8s8", "QLinearConv", ins(dw), group), [127, 127]);
  // Two output channels per group: MLAS runs a GEMM per group, which saturates.
  const mult = i8([127, 127, 127, 127, 127, 127, 127, 127], [4, 1, 1, 2]);
  assert.deepEqual(await run("x86-u8s8", "QLinearConv", ins(mult), group), [64, 64, 64, 64]);
  assert.deepEqual(await run("exact", "QLinearConv", ins(mult), group), [127, 127, 127, 127]);
});

Deno.test("ConvInteger x86-u8s8: int8 x with uint8 w saturates, channels outer", async () => {
  // w all 255 (uint8), x[c][t]: c0 = (127, 127), c1 = (-128, -128), c2 = (0, 0).
  // Channels-first walk (c0t0, c0t1), (c1t0, c1t1), (c2t0, c2t1): 32767 - 32768 + 0 = -1.
  // Exact (and a channels-last walk, which clamps nothing): 255 * (254 - 256) = -510.
  const x = i8([127, 127, -128, -128, 0, 0], [1, 3, 1, 2]);
  const w = u8([255, 255, 255, 255, 255, 255], [1, 3, 1, 2]);
  assert.deepEqual(await run("exact", "ConvInteger", [x, w]), [-510]);
  assert.deepEqual(await run("x86-u8s8", "ConvInteger", [x, w]), [-1]);
  // uint8 x with int8 w: onnxruntime's GEMM gets int8 A and uint8 B, which it sums exactly.
  const xu = u8([255, 255, 255, 255, 255, 255], [1, 3, 1, 2]);
  const wi = i8([127, 127, -128, -128, 0, 0], [1, 3, 1, 2]);
  assert.deepEqual(await run("x86-u8s8", "ConvInteger", [xu, wi]), [-510]);
});

Deno.test("InferenceSession rejects an unknown int8Accumulation", async () => {
  const m = singleNodeModel("MatMulInteger", [u8([1], [1, 1]), u8([1], [1, 1])]);
  await assert.rejects(
    () => runModel(m, {}, { int8Accumulation: "avx2" as unknown as Int8Accumulation }),
    /Unknown int8Accumulation "avx2"/,
  );
});
