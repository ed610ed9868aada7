/**
 * Tests of int8 quantization (pipeline/optimize/quantize.ts, calibrate.ts, quantize_graph.ts)
 * and of the optimize stage's `quantize` options: hand-computed quantization parameters, an
 * exact reference of the dynamic MatMul pattern, closeness to the float model, the QDQ
 * structure, the opset 12 → 13 upgrade, YAML validation, and on the shared models resnet18
 * (size and error, here and in onnxruntime) and MobileNetV2 (top classes on four images).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { checkModel } from "../../pipeline/check/checker.ts";
import { ConfigError } from "../../pipeline/errors.ts";
import type { Model } from "../../pipeline/load/ir.ts";
import { floatAttr, intAttr, intsAttr, makeGraph, makeNode } from "../../pipeline/load/build.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import { parsePipeline } from "../../pipeline/config.ts";
import { runPipeline } from "../../pipeline/runner.ts";
import { cloneModel, graphStats, optimizeModel } from "../../pipeline/optimize/mod.ts";
import {
  activationParams,
  quantizationPass,
  quantizeModel,
  quantizeWeight,
} from "../../pipeline/optimize/quantize.ts";
import { calibrateRanges, RangeCollector } from "../../pipeline/optimize/calibrate.ts";
import {
  inferValueTypes,
  NameScope,
  upgradeOpsetTo13,
} from "../../pipeline/optimize/quantize_graph.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { roundHalfEven } from "../../ops/quantize.ts";
import { floatInfo, floatInit, model as suiteModel, ROOT } from "../pipeline/_helpers.ts";
import {
  argmax,
  exists,
  imagenetInput,
  IMAGES,
  IMAGES_DIR,
  loadOrt,
  MOBILENET,
  randomValues,
  relError,
  RESNET18,
  runOrt,
  runOurs,
  SAMOYED,
} from "./_quantize_shared.ts";

const haveResnet = exists(`${RESNET18}/model.onnx`);
const haveMobilenet = exists(`${MOBILENET}/model.onnx`) && exists(`${IMAGES_DIR}/dog.jpg`);
if (!haveResnet) console.log(`Skipping resnet18 quantization tests: ${RESNET18} is absent`);
if (!haveMobilenet) console.log(`Skipping MobileNetV2 quantization tests: ${MOBILENET} is absent`);
const { ort, reason: ortReason } = await loadOrt();
if (!ort) console.log(`Skipping onnxruntime checks: ${ortReason}`);

function assertValid(m: Model, what: string): void {
  const r = checkModel(m, { fullCheck: true });
  const errors = r.findings.filter((f) => f.severity === "error");
  assert.ok(r.ok, `${what}: ${errors.map((f) => f.message).join("; ")}`);
}

function tensorOf(values: number[], dims: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(values), dims);
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

Deno.test("quantizeWeight: int8 symmetric per tensor rounds half to even", () => {
  const q = quantizeWeight(Float32Array.from([-1, 0.5, 0.25, 1, 0]), [5], { type: "int8" });
  assert.equal(q.scales.length, 1);
  assert.equal(q.scales[0], Math.fround(1 / 127));
  // 0.5 · 127 = 63.5 → 64 (even); 0.25 · 127 = 31.75 → 32.
  assert.deepEqual(Array.from(q.values), [-127, 64, 32, 127, 0]);
  assert.deepEqual(Array.from(q.zeroPoints), [0]);
  const r = quantizeWeight(Float32Array.from([-1, 1]), [2], { type: "int8", reduceRange: true });
  assert.equal(r.scales[0], Math.fround(1 / 63));
  assert.deepEqual(Array.from(r.values), [-63, 63]);
});

Deno.test("quantizeWeight: uint8 asymmetric, symmetric around 128, and per channel", () => {
  // Range [-1, 3]: scale 4/255, zero point round(63.75) = 64.
  const u = quantizeWeight(Float32Array.from([-1, 0, 3, 1]), [4], { type: "uint8" });
  assert.equal(u.scales[0], Math.fround(4 / 255));
  assert.deepEqual(Array.from(u.zeroPoints), [64]);
  const s = u.scales[0];
  const expect = [-1, 0, 3, 1].map((w) =>
    Math.min(255, Math.max(0, roundHalfEven(Math.fround(w / s)) + 64))
  );
  assert.deepEqual(Array.from(u.values), expect);
  assert.deepEqual(expect.slice(0, 3), [0, 64, 255]);
  // Symmetric uint8: zero point 128, [1, 255].
  const sym = quantizeWeight(Float32Array.from([-2, 2, 1]), [3], {
    type: "uint8",
    symmetric: true,
  });
  assert.deepEqual(Array.from(sym.zeroPoints), [128]);
  assert.deepEqual(Array.from(sym.values), [1, 255, 128 + 64]);
  // Per channel along axis 1 of [2, 3]: columns (1, -4), (2, 0), (0, 0).
  const pc = quantizeWeight(Float32Array.from([1, 2, 0, -4, 0, 0]), [2, 3], {
    type: "int8",
    axis: 1,
  });
  assert.deepEqual(Array.from(pc.scales), [
    Math.fround(4 / 127),
    Math.fround(2 / 127),
    1, // an all-zero channel
  ]);
  assert.deepEqual(Array.from(pc.values), [32, 127, 0, -127, 0, 0]);
});

Deno.test("activationParams: uint8 asymmetric and int8 symmetric ranges include zero", () => {
  assert.deepEqual(activationParams({ min: -1, max: 3 }, "uint8"), {
    scale: Math.fround(4 / 255),
    zeroPoint: 64,
  });
  // A positive-only range still starts at 0.
  assert.deepEqual(activationParams({ min: 2, max: 6 }, "uint8"), {
    scale: Math.fround(6 / 255),
    zeroPoint: 0,
  });
  assert.deepEqual(activationParams({ min: -1, max: 3 }, "int8"), {
    scale: Math.fround(3 / 127),
    zeroPoint: 0,
  });
  assert.deepEqual(activationParams({ min: 0, max: 0 }, "uint8"), { scale: 1, zeroPoint: 0 });
});

Deno.test("RangeCollector: min/max and a percentile that ignores outliers", () => {
  const c = new RangeCollector(2048);
  c.add(Float32Array.from({ length: 1000 }, (_, i) => i + 1)); // 1..1000
  c.add(Float32Array.from([-3, 1e6, NaN]));
  assert.equal(c.count, 1002);
  assert.deepEqual(c.minMax(), { min: -3, max: 1e6 });
  // 99.8 % of 1002 values is 999.996: the 1000th value (1000) is where the share is reached.
  // The histogram widened to cover 1e6 (bins ~ 1e6 / 2048 ≈ 490 wide), so the threshold is
  // 1000 rounded up to a bin edge.
  const p = c.percentileRange(99.8);
  assert.equal(p.min, -3);
  assert.ok(p.max >= 1000 && p.max < 1600, `threshold ${p.max}`);
  assert.deepEqual(c.percentileRange(100), { min: -3, max: 1e6 });
  // All zeros first, then values: zeros stay counted.
  const z = new RangeCollector(16);
  z.add(new Float32Array(90));
  z.add(Float32Array.from({ length: 10 }, (_, i) => i + 1));
  // The 90th value is 0, in the first of 16 bins over [0, 10]: its upper edge.
  assert.equal(z.percentileRange(90).max, 10 / 16);
  assert.equal(z.percentileRange(100).max, 10);
});

// ---------------------------------------------------------------------------------------------
// Small models

/** X [2, 8] → MatMul W [8, 6] → Y. */
function matmulModel(): Model {
  const w = randomValues(48, 11);
  return suiteModel(
    makeGraph({
      node: [makeNode("MatMul", ["X", "W"], ["Y"], [], { name: "mm" })],
      input: [floatInfo("X", [2, 8])],
      output: [floatInfo("Y", [2, 6])],
      initializer: [floatInit("W", w, [8, 6])],
    }),
  );
}

Deno.test("dynamic: MatMul computes exactly DynamicQuantizeLinear → MatMulInteger → Cast → Mul", async () => {
  const m = matmulModel();
  const w = Float32Array.from(randomValues(48, 11));
  const xs = Array.from(Float32Array.from(randomValues(16, 12, -2, 3)));
  const q = cloneModel(m);
  const details = await quantizeModel(q, { mode: "dynamic", perChannel: true });
  assert.match(details[0], /quantized 1 MatMul dynamically with int8 symmetric per-channel/);
  assert.deepEqual(graphStats(q).opCounts, {
    Cast: 1,
    DynamicQuantizeLinear: 1,
    MatMulInteger: 1,
    Mul: 2,
  });
  assert.deepEqual(q.graph!.initializer.map((t) => t.name).includes("W"), false);
  assertValid(q, "quantized MatMul");
  // Independent reference, from the operator definitions.
  // DynamicQuantizeLinear in float32: scale (max(0, x) - min(0, x)) / 255, zero point
  // round(0 - min / scale).
  const lo = Math.min(0, ...xs), hi = Math.max(0, ...xs);
  const sx = Math.fround(Math.fround(hi - lo) / 255);
  const zx = Math.min(255, Math.max(0, roundHalfEven(Math.fround(-Math.fround(lo / sx)))));
  const qx = xs.map((v) => Math.min(255, Math.max(0, roundHalfEven(Math.fround(v / sx)) + zx)));
  const expected = new Float32Array(12);
  for (let c = 0; c < 6; c++) {
    let m = 0;
    for (let k = 0; k < 8; k++) m = Math.max(m, Math.abs(w[k * 6 + c]));
    const sw = Math.fround(m / 127);
    const qw = Array.from(
      { length: 8 },
      (_, k) => Math.max(-127, Math.min(127, roundHalfEven(Math.fround(w[k * 6 + c] / sw)))),
    );
    for (let i = 0; i < 2; i++) {
      let acc = 0;
      for (let k = 0; k < 8; k++) acc += (qx[i * 8 + k] - zx) * qw[k];
      expected[i * 6 + c] = Math.fround(acc * Math.fround(sx * sw));
    }
  }
  const y = (await runOurs(q, { X: tensorOf(xs, [2, 8]) })).Y as Tensor;
  assert.deepEqual(Array.from(y.data as Float32Array), Array.from(expected));
  // And it approximates the float model.
  const ref = (await runOurs(m, { X: tensorOf(xs, [2, 8]) })).Y;
  assert.ok(relError(ref, y) < 0.02, `relative error ${relError(ref, y)}`);
});

/** X [1, 3, 6, 6] → Conv(pads 1) → Relu → Flatten → Gemm(transB, alpha, beta) → Y [1, 5]. */
function convGemmModel(opset = 13): Model {
  return suiteModel(
    makeGraph({
      node: [
        makeNode("Conv", ["X", "CW", "CB"], ["c"], [
          intsAttr("pads", [1, 1, 1, 1]),
          intsAttr("kernel_shape", [3, 3]),
        ], { name: "conv" }),
        makeNode("Relu", ["c"], ["r"], [], { name: "relu" }),
        makeNode("Conv", ["r", "DW"], ["d"], [
          intAttr("group", 4),
          intsAttr("kernel_shape", [3, 3]),
        ], { name: "depthwise" }),
        makeNode("Flatten", ["d"], ["f"], [], { name: "flatten" }),
        makeNode("Gemm", ["f", "GW", "GC"], ["Y"], [
          intAttr("transB", 1),
          floatAttr("alpha", 0.5),
          floatAttr("beta", 2),
        ], { name: "gemm" }),
      ],
      input: [floatInfo("X", [1, 3, 6, 6])],
      output: [floatInfo("Y", [1, 5])],
      initializer: [
        floatInit("CW", randomValues(4 * 3 * 9, 21), [4, 3, 3, 3]),
        floatInit("CB", randomValues(4, 22), [4]),
        floatInit("DW", randomValues(4 * 9, 23).map((v, i) => v * (1 + (i % 9))), [4, 1, 3, 3]),
        floatInit("GW", randomValues(5 * 64, 24), [5, 64]),
        floatInit("GC", randomValues(5, 25), [5]),
      ],
    }),
    opset,
  );
}

Deno.test("dynamic: Conv (bias, depthwise) and Gemm (transB, alpha, beta) in every weight format", async () => {
  const m = convGemmModel();
  const x = tensorOf(randomValues(108, 26, -1, 2), [1, 3, 6, 6]);
  const ref = (await runOurs(m, { X: x })).Y;
  for (const perChannel of [true, false]) {
    for (const weightType of ["int8", "uint8"] as const) {
      const q = cloneModel(m);
      await quantizeModel(q, { mode: "dynamic", perChannel, weightType });
      const what = `${weightType} ${perChannel ? "per-channel" : "per-tensor"}`;
      assertValid(q, what);
      const ops = graphStats(q).opCounts;
      assert.equal(ops.ConvInteger, 2, what);
      assert.equal(ops.MatMulInteger, 1, what);
      assert.equal(ops.Conv ?? 0, 0, what);
      assert.equal(ops.Gemm ?? 0, 0, what);
      // The activation "r" feeds one Conv only; X, r, f each get one DynamicQuantizeLinear.
      assert.equal(ops.DynamicQuantizeLinear, 3, what);
      const y = (await runOurs(q, { X: x })).Y;
      const err = relError(ref, y);
      assert.ok(err < 0.03, `${what}: relative error ${err}`);
      // ConvInteger takes one weight zero point: per-channel uint8 is symmetric around 128.
      for (const n of q.graph!.node.filter((n) => n.opType === "ConvInteger")) {
        const zp = q.graph!.initializer.find((t) => t.name === n.input[3]);
        if (zp) assert.deepEqual(zp.dims, [], `${what}: ConvInteger zero point is a scalar`);
      }
    }
  }
});

Deno.test("static: QDQ activations, per-channel int8 weights, int32 biases; idempotent", async () => {
  const m = convGemmModel();
  const samples = [27, 28, 29].map((s) => ({
    X: tensorOf(randomValues(108, s, -1, 2), [1, 3, 6, 6]),
  }));
  const q = cloneModel(m);
  const pass = quantizationPass({ mode: "static", calibration: { samples } });
  const ctx = { opsets: new Map([["", 13]]) };
  const r = await pass.run(q, ctx);
  assert.ok(r.changed);
  assertValid(q, "QDQ model");
  const g = q.graph!;
  const ops = graphStats(q).opCounts;
  assert.equal(ops.QuantizeLinear, 3); // X, r, f
  assert.equal(ops.DequantizeLinear, 3 + 3 + 1); // activations, weights, the first Conv's bias
  assert.equal(ops.Conv, 2);
  assert.equal(ops.Gemm, 1);
  const conv = g.node.find((n) => n.name === "conv")!;
  const wdq = g.node.find((n) => n.output[0] === conv.input[1])!;
  assert.equal(wdq.opType, "DequantizeLinear");
  assert.equal(wdq.attribute.find((a) => a.name === "axis")?.i, 0n);
  assert.equal(g.initializer.find((t) => t.name === wdq.input[0])?.dataType, 3); // int8
  assert.deepEqual(g.initializer.find((t) => t.name === wdq.input[1])?.dims, [4]);
  const bdq = g.node.find((n) => n.output[0] === conv.input[2])!;
  assert.equal(g.initializer.find((t) => t.name === bdq.input[0])?.dataType, 6); // int32
  // Gemm's bias stays float (alpha and beta are not 1); its weight is per row (transB).
  const gemm = g.node.find((n) => n.name === "gemm")!;
  assert.equal(gemm.input[2], "GC");
  const gdq = g.node.find((n) => n.output[0] === gemm.input[1])!;
  assert.equal(gdq.attribute.find((a) => a.name === "axis")?.i, 0n);
  // The activation's scale and zero point come from the calibration ranges (minmax).
  const ranges = await calibrateRanges(m, ["X"], samples);
  const xq = g.node.find((n) => n.opType === "QuantizeLinear" && n.input[0] === "X")!;
  const expected = activationParams(ranges.get("X")!, "uint8");
  const scale = g.initializer.find((t) => t.name === xq.input[1])!;
  assert.equal(new Float32Array(scale.rawData!.slice().buffer)[0], expected.scale);
  // Graph outputs keep their names and stay float.
  assert.deepEqual(g.output.map((o) => [o.name, o.type?.tensorType?.elemType]), [["Y", 1]]);
  // Five outputs of a small random network: a few percent of the largest is the 8-bit noise.
  for (const s of samples) {
    const err = relError((await runOurs(m, s)).Y, (await runOurs(q, s)).Y);
    assert.ok(err < 0.05, `relative error ${err}`);
  }
  // A second application finds nothing left to quantize.
  const again = await pass.run(q, ctx);
  assert.equal(again.changed, false);
});

Deno.test("opset 12 → 13: Unsqueeze, Squeeze, Split, ReduceSum and Softmax keep their meaning", async () => {
  const m = suiteModel(
    makeGraph({
      node: [
        makeNode("Unsqueeze", ["X"], ["u"], [intsAttr("axes", [0])]), // [1, 2, 3, 4]
        makeNode("Softmax", ["u"], ["s"], [intAttr("axis", 2)]), // over dims 2..3
        makeNode("Squeeze", ["s"], ["q"], [intsAttr("axes", [0])]),
        makeNode("Split", ["q"], ["p1", "p2"], [intAttr("axis", 2), intsAttr("split", [1, 3])]),
        makeNode("ReduceSum", ["p2"], ["Y"], [intsAttr("axes", [2])]),
        makeNode("LogSoftmax", ["q"], ["Z"], [intAttr("axis", 2)]), // last axis
      ],
      input: [floatInfo("X", [2, 3, 4])],
      output: [floatInfo("Y"), floatInfo("Z"), floatInfo("p1")],
    }),
    12,
  );
  const up = cloneModel(m);
  const details = upgradeOpsetTo13(up, inferValueTypes(up, undefined), new NameScope(up));
  assert.equal(details[0], "raised the opset from 12 to 13");
  assert.equal(up.opsetImport[0].version, 13);
  assertValid(up, "upgraded model");
  const ops = graphStats(up).opCounts;
  assert.equal(ops.Flatten, 1); // only the Softmax over two axes is wrapped
  assert.equal(ops.Reshape, 1);
  for (const n of up.graph!.node) {
    assert.ok(!n.attribute.some((a) => a.name === "axes" || a.name === "split"), n.opType);
  }
  const x = tensorOf(randomValues(24, 31, -3, 3), [2, 3, 4]);
  const a = await runOurs(m, { X: x });
  const b = await runOurs(up, { X: x });
  for (const name of ["Y", "Z", "p1"]) {
    assert.deepEqual(
      Array.from((b[name] as Tensor).data as Float32Array),
      Array.from((a[name] as Tensor).data as Float32Array),
      name,
    );
  }
});

Deno.test("static on opset 12: the model is raised to 13 for per-channel weights", async () => {
  const m = convGemmModel(12);
  const q = cloneModel(m);
  const x = tensorOf(randomValues(108, 33, -1, 2), [1, 3, 6, 6]);
  const details = await quantizeModel(q, { mode: "static", calibration: { samples: [{ X: x }] } });
  assert.equal(details[0], "raised the opset from 12 to 13");
  assert.equal(q.opsetImport[0].version, 13);
  assertValid(q, "quantized opset-12 model");
  const err = relError((await runOurs(m, { X: x })).Y, (await runOurs(q, { X: x })).Y);
  assert.ok(err < 0.03, `relative error ${err}`);
  // Without per-channel weights the opset stays.
  const t = cloneModel(m);
  await quantizeModel(t, {
    mode: "static",
    perChannel: false,
    calibration: { samples: [{ X: x }] },
  });
  assert.equal(t.opsetImport[0].version, 12);
  assertValid(t, "per-tensor opset-12 model");
});

Deno.test("quantization leaves alone what it cannot quantize", async () => {
  // MatMul of two activations, a weight that is also a graph input, an excluded node.
  const m = suiteModel(makeGraph({
    node: [
      makeNode("MatMul", ["A", "B"], ["ab"], [], { name: "act_act" }),
      makeNode("MatMul", ["ab", "W"], ["c"], [], { name: "fed_weight" }),
      makeNode("MatMul", ["c", "V"], ["Y"], [], { name: "excluded" }),
    ],
    input: [floatInfo("A", [2, 3]), floatInfo("B", [3, 4]), floatInfo("W", [4, 4])],
    output: [floatInfo("Y", [2, 4])],
    initializer: [
      floatInit("W", randomValues(16, 41), [4, 4]),
      floatInit("V", randomValues(16, 42), [4, 4]),
    ],
  }));
  const q = cloneModel(m);
  const details = await quantizeModel(q, { mode: "dynamic", exclude: ["excluded"] });
  assert.deepEqual(details, []);
  assert.deepEqual(graphStats(q).opCounts, { MatMul: 3 });
});

// ---------------------------------------------------------------------------------------------
// The pipeline's YAML

function yamlError(text: string): ConfigError {
  try {
    parsePipeline(text, { file: join(ROOT, "examples", "quantize_test.yaml") });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("Expected a ConfigError");
}

const TINY = "models/tiny_cnn.onnx";

Deno.test("YAML: quantize, float16 and external_data options are validated", () => {
  const cases: [string, string, RegExp][] = [
    ["quantize: { mode: dynamik }", "stages[0].optimize.quantize.mode", /did you mean "dynamic"/],
    [
      "quantize: { mode: dynamic, per_chanel: true }",
      "stages[0].optimize.quantize.per_chanel",
      /did you mean "per_channel"/,
    ],
    [
      "quantize: { mode: static }",
      "stages[0].optimize.quantize.calibration",
      /needs "calibration"/,
    ],
    [
      "quantize: { mode: dynamic, calibration: { random: {} } }",
      "stages[0].optimize.quantize.calibration",
      /static quantization only/,
    ],
    [
      "quantize: { mode: static, calibration: { random: { count: 0 } } }",
      "stages[0].optimize.quantize.calibration.random.count",
      /≥ 1/,
    ],
    [
      "quantize: { mode: static, calibration: { random: {}, percentile: 99 } }",
      "stages[0].optimize.quantize.calibration.percentile",
      /method: percentile/,
    ],
    [
      "quantize: { mode: static, calibration: { random: {}, method: percentile, percentile: 120 } }",
      "stages[0].optimize.quantize.calibration.percentile",
      /\(0, 100\]/,
    ],
    [
      "quantize: { mode: static, calibration: {} }",
      "stages[0].optimize.quantize.calibration",
      /needs samples/,
    ],
    [
      "quantize: { mode: static, calibration: { inputs: [no_such_folder] } }",
      "stages[0].optimize.quantize.calibration.inputs[0]",
      /was not found/,
    ],
    [
      "quantize: { mode: dynamic, op_types: [Conv, Relu] }",
      "stages[0].optimize.quantize.op_types[1]",
      /Unknown value "Relu"/,
    ],
    [
      "quantize: { mode: dynamic, weight_type: int4 }",
      "stages[0].optimize.quantize.weight_type",
      /"int8", "uint8"/,
    ],
    [
      "float16: { keep_fp32: [Resize] }",
      "stages[0].optimize.float16.keep_fp32",
      /valid keys are "keep_float32"/,
    ],
    ["float16: { keep_io_types: 1 }", "stages[0].optimize.float16.keep_io_types", /true or false/],
    ["external_data: { threshold: 10 }", "stages[0].optimize.external_data", /needs "save"/],
    [
      "save: o.onnx\n      external_data: { location: ../x.data }",
      "stages[0].optimize.external_data.location",
      /leaves the saved model's folder/,
    ],
    [
      "save: o.onnx\n      external_data: { location: o.onnx }",
      "stages[0].optimize.external_data.location",
      /must differ/,
    ],
    ["verify: yes please", "stages[0].optimize.verify", /true or false/],
  ];
  for (const [opts, path, message] of cases) {
    const e = yamlError(`model: ${TINY}\nstages:\n  - optimize:\n      ${opts}\n`);
    assert.equal(e.path, path, `${opts}: ${e.message}`);
    assert.match(e.message, message, opts);
  }
  // A valid block, with defaults filled in.
  const config = parsePipeline(
    `model: ${TINY}
stages:
  - optimize:
      quantize:
        mode: static
        op_types: [Conv]
        calibration:
          inputs: [data/tiny_cnn/input.npy, { test_data_set: data/tiny_cnn }]
          random: { count: 2, seed: 5 }
          method: percentile
      float16: true
      save: out/q.onnx
      external_data: { threshold: 0 }
`,
    { file: join(ROOT, "examples", "quantize_test.yaml"), skipFileChecks: true },
  );
  const stage = config.stages[1];
  assert.equal(stage.stage, "optimize");
  if (stage.stage !== "optimize") return;
  assert.equal(stage.verify, true);
  assert.deepEqual(stage.externalData, { threshold: 0 });
  assert.deepEqual(stage.float16, { keepFloat32: [], keepIoTypes: true, defaultBlockList: true });
  const q = stage.quantize!;
  assert.equal(q.perChannel, true);
  assert.deepEqual(q.opTypes, ["Conv"]);
  assert.equal(q.calibration!.percentile, 99.99);
  assert.equal(q.calibration!.items.length, 2);
  assert.equal(q.calibration!.items[0].kind, "source");
  assert.equal(q.calibration!.items[1].kind, "test_data_set");
  assert.equal(q.calibration!.random!.count, 2);
});

Deno.test("pipeline: static quantization with random calibration, saved with external data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "quantize_test_" });
  try {
    await Deno.copyFile(join(ROOT, "examples", TINY), join(dir, "m.onnx"));
    await Deno.copyFile(join(ROOT, "examples/data/tiny_cnn/input.npy"), join(dir, "x.npy"));
    const text = `model: m.onnx
stages:
  - optimize:
      level: all
      quantize:
        mode: static
        calibration:
          inputs: [x.npy]
          random: { count: 3, seed: 1, dims: { N: 1 } }
      save: out/q.onnx
      external_data: { threshold: 64, location: q.weights }
  - run: { inputs: { image: x.npy } }
`;
    Deno.writeTextFileSync(join(dir, "p.yaml"), text);
    const config = parsePipeline(text, { file: join(dir, "p.yaml") });
    const lines: string[] = [];
    const report = await runPipeline(config, { stdout: (l) => lines.push(l), stderr: () => {} });
    assert.equal(report.exitCode, 0, lines.join("\n") + JSON.stringify(report.error));
    const opt = report.stages.find((s) => s.stage === "optimize")!;
    const d = opt.details as {
      parameterBytes: { before: number; after: number };
      outputDifferences: { name: string; relError: number; sameArgmax?: boolean }[];
      savedBytes: number;
      after: { opCounts: Record<string, number> };
    };
    assert.ok(
      d.parameterBytes.after < d.parameterBytes.before * 0.6,
      JSON.stringify(d.parameterBytes),
    );
    assert.equal(d.outputDifferences.length, 1);
    assert.ok(d.outputDifferences[0].relError < 0.05, JSON.stringify(d.outputDifferences));
    assert.equal(d.after.opCounts.QuantizeLinear, 3);
    assert.ok(lines.some((l) => /quantize-static: \d+ change/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /output difference from the unoptimized model/.test(l)));
    // The saved model keeps its weights in q.weights, loads, is valid and runs.
    assert.ok(exists(join(dir, "out/q.weights")));
    const loaded = await loadModel(join(dir, "out/q.onnx"));
    assert.ok(loaded.model.graph!.initializer.some((t) => t.dataLocation === 1));
    const check = checkModel(loaded.model, { fullCheck: true, external: loaded.external });
    assert.ok(check.ok, check.findings.map((f) => f.message).join("; "));
    const x = (await import("../../pipeline/io/npy.ts")).readNpy(
      Deno.readFileSync(join(dir, "x.npy")),
    );
    const ours = await runOurs(join(dir, "out/q.onnx"), { image: x });
    const ref = await runOurs(join(dir, "m.onnx"), { image: x });
    assert.ok(relError(ref.logits, ours.logits) < 0.05);
    if (ort) {
      const o = await runOrt(ort, join(dir, "out/q.onnx"), { image: x as Tensor });
      assert.ok(
        relError(ref.logits, o.logits) < 0.05,
        `onnxruntime: ${relError(ref.logits, o.logits)}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Shared models

Deno.test({
  name: "resnet18: dynamic int8 is ≤ 30% of the float file and within 5% here and in onnxruntime",
  ignore: !haveResnet,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "quantize_resnet_" });
    try {
      const loaded = await loadModel(`${RESNET18}/model.onnx`);
      const { model: q, report } = await optimizeModel(loaded.model, {
        level: "basic",
        external: loaded.external,
        finalPasses: [quantizationPass({ mode: "dynamic", perChannel: true, weightType: "int8" })],
      });
      const qReport = report.passes.at(-1)!;
      assert.equal(qReport.name, "quantize-dynamic");
      assert.match(qReport.details[0], /quantized 20 Conv, 1 Gemm/);
      const path = join(dir, "resnet18_int8.onnx");
      const { saveModel } = await import("../../pipeline/load/load.ts");
      await saveModel(q, path);
      const size = Deno.statSync(path).size;
      const floatSize = Deno.statSync(`${RESNET18}/model.onnx`).size;
      const ratio = size / floatSize;
      console.log(`resnet18 int8: ${size} bytes, ${(100 * ratio).toFixed(1)}% of ${floatSize}`);
      assert.ok(ratio <= 0.3, `size ratio ${ratio}`);
      const saved = await loadModel(path);
      assertValid(saved.model, "saved resnet18 int8");
      const x = decodeValueFile(Deno.readFileSync(`${RESNET18}/test_data_set_0/input_0.pb`));
      const ref = (await runOurs(`${RESNET18}/model.onnx`, { input: x })).output;
      const ours = (await runOurs(path, { input: x })).output;
      const err = relError(ref, ours);
      console.log(`resnet18 int8 error here: ${err.toExponential(3)}`);
      assert.ok(err <= 0.05, `error ${err}`);
      if (ort) {
        const o = (await runOrt(ort, path, { input: x as Tensor })).output;
        const e2 = relError(ref, o);
        console.log(`resnet18 int8 error in onnxruntime: ${e2.toExponential(3)}`);
        assert.ok(e2 <= 0.05, `onnxruntime error ${e2}`);
      } else console.log(`resnet18 onnxruntime check skipped: ${ortReason}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Top classes of a model file on the four images, here and in onnxruntime. */
async function topClasses(path: string): Promise<{ ours: number[]; ort?: number[] }> {
  const ours: number[] = [];
  const viaOrt: number[] = [];
  for (const img of IMAGES) {
    const x = imagenetInput(join(IMAGES_DIR, img));
    ours.push(argmax((await runOurs(path, { input: x })).output));
    if (ort) viaOrt.push(argmax((await runOrt(ort, path, { input: x })).output));
  }
  return { ours, ort: ort ? viaOrt : undefined };
}

Deno.test({
  name: "mobilenetv2: dynamic and static (QDQ) int8 keep the top class of four images",
  ignore: !haveMobilenet,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "quantize_mobilenet_" });
    try {
      const float = await topClasses(`${MOBILENET}/model.onnx`);
      console.log(`float top classes ${IMAGES.map((f, i) => `${f}: ${float.ours[i]}`).join(", ")}`);
      assert.equal(float.ours[0], SAMOYED);
      if (float.ort) assert.deepEqual(float.ort, float.ours);
      const prep =
        "{ resize: 256, center_crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }";
      const quantize = {
        dynamic: "{ mode: dynamic }",
        static: `
          mode: static
          calibration:
            inputs: [${IMAGES_DIR}]
            image: ${prep}
            method: percentile
            percentile: 99.99`,
      };
      for (const name of ["dynamic", "static"] as const) {
        const yaml = `model: ${MOBILENET}/model.onnx
stages:
  - optimize:
      level: all
      quantize: ${quantize[name]}
      save: ${name}.onnx
`;
        Deno.writeTextFileSync(join(dir, `${name}.yaml`), yaml);
        const config = parsePipeline(yaml, { file: join(dir, `${name}.yaml`) });
        const lines: string[] = [];
        const report = await runPipeline(config, {
          stdout: (l) => lines.push(l),
          stderr: () => {},
        });
        assert.equal(report.exitCode, 0, lines.join("\n") + JSON.stringify(report.error));
        const path = join(dir, `${name}.onnx`);
        const loaded = await loadModel(path);
        assertValid(loaded.model, `${name} MobileNetV2`);
        const size = Deno.statSync(path).size;
        const top = await topClasses(path);
        console.log(
          `mobilenetv2 ${name}: ${size} bytes, top classes here ${top.ours}, onnxruntime ${
            top.ort ?? "skipped"
          }`,
        );
        assert.ok(
          size < 0.3 * Deno.statSync(`${MOBILENET}/model.onnx`).size,
          `${name} size ${size}`,
        );
        assert.deepEqual(top.ours, float.ours, `${name} here`);
        if (top.ort) assert.deepEqual(top.ort, float.ours, `${name} in onnxruntime`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
