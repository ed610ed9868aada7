/**
 * Tests of the float16 conversion (pipeline/optimize/float16.ts) and the optimize stage's
 * `float16` option: clamping, which nodes and inputs stay float32, Cast insertion at the
 * graph's inputs and outputs and around kept nodes and subgraphs, and on the shared models
 * MobileNetV2 (top classes here and in onnxruntime) and tiny_bert (loads in onnxruntime).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { checkModel } from "../../pipeline/check/checker.ts";
import type { Graph, Model } from "../../pipeline/load/ir.ts";
import {
  floatAttr,
  graphAttr,
  intAttr,
  intsAttr,
  makeGraph,
  makeNode,
  tensorAttr,
} from "../../pipeline/load/build.ts";
import { loadModel, saveModel } from "../../pipeline/load/load.ts";
import { tensorFromProto, tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { parsePipeline } from "../../pipeline/config.ts";
import { runPipeline } from "../../pipeline/runner.ts";
import { cloneModel, graphStats } from "../../pipeline/optimize/mod.ts";
import { quantizeModel } from "../../pipeline/optimize/quantize.ts";
import {
  convertToFloat16,
  DEFAULT_FLOAT16_BLOCK_LIST,
  float16Pass,
  tensorToFloat16,
} from "../../pipeline/optimize/float16.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { Tensor, toNumbers } from "../../pipeline/tensor/tensor.ts";
import { floatInfo, floatInit, model as suiteModel } from "../pipeline/_helpers.ts";
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
  runOrt,
  runOurs,
  SHARED,
} from "./_quantize_shared.ts";

const TINY_BERT = `${SHARED}/models/tiny_bert`;
const haveMobilenet = exists(`${MOBILENET}/model.onnx`) && exists(`${IMAGES_DIR}/dog.jpg`);
const haveBert = exists(`${TINY_BERT}/model.onnx`);
if (!haveMobilenet) console.log(`Skipping MobileNetV2 float16 tests: ${MOBILENET} is absent`);
if (!haveBert) console.log(`Skipping tiny_bert float16 test: ${TINY_BERT} is absent`);
const { ort, reason: ortReason } = await loadOrt();
if (!ort) console.log(`Skipping onnxruntime checks: ${ortReason}`);

function assertValid(m: Model, what: string): void {
  const r = checkModel(m, { fullCheck: true });
  const errors = r.findings.filter((f) => f.severity === "error");
  assert.ok(r.ok, `${what}: ${errors.map((f) => f.message).join("; ")}`);
}

function elemTypeOf(g: Graph, name: string): number | undefined {
  return g.initializer.find((t) => t.name === name)?.dataType;
}

Deno.test("tensorToFloat16: rounds to nearest, clamps beyond ±65504, counts flushed values", () => {
  const tp = tensorToProto(
    new Tensor("float32", Float32Array.from([1e5, -1e6, 1.5, 1e-9, Infinity, 65504, 0.1]), [7]),
    "w",
  );
  const { tensor, clamped, flushed } = tensorToFloat16(tp);
  assert.equal(tensor.name, "w");
  assert.equal(tensor.dataType, 10);
  assert.equal(clamped, 2);
  assert.equal(flushed, 1);
  const values = Array.from(toNumbers(tensorFromProto(tensor)));
  // 0.1 becomes the nearest float16, 0.0999755859375.
  assert.deepEqual(values, [65504, -65504, 1.5, 0, Infinity, 65504, 0.0999755859375]);
});

/**
 * X [1, 2, 4, 4] → Conv → Mul(Constant) → Resize(scales ×2) → Add(Range) → Y, with a
 * Cast(Shape → float) branch, a ConstantOfShape, a divisor beyond float16's range and a node
 * kept by name.
 */
function mixedModel(): Model {
  return suiteModel(makeGraph({
    node: [
      makeNode("Conv", ["X", "W", "B"], ["c"], [intsAttr("kernel_shape", [1, 1])], {
        name: "conv",
      }),
      makeNode("Constant", [], ["k"], [floatAttr("value_float", 0.5)]),
      makeNode("Mul", ["c", "k"], ["m"], [], { name: "mul" }),
      makeNode("Resize", ["m", "", "scales"], ["r"], [], { name: "resize" }), // [1, 2, 8, 8]
      makeNode("Constant", [], ["start"], [tensorAttr("value", new Tensor("float32", [0], []))]),
      makeNode("Constant", [], ["limit"], [tensorAttr("value", new Tensor("float32", [8], []))]),
      makeNode("Constant", [], ["delta"], [tensorAttr("value", new Tensor("float32", [1], []))]),
      makeNode("Range", ["start", "limit", "delta"], ["ramp"], [], { name: "range" }), // [8]
      makeNode("Add", ["r", "ramp"], ["a"], [], { name: "add" }),
      makeNode("Shape", ["X"], ["shape"], [], { name: "shape" }),
      makeNode("Cast", ["shape"], ["shape_f"], [intAttr("to", 1)], { name: "cast" }),
      makeNode("ReduceSum", ["shape_f"], ["n"], [intAttr("keepdims", 0)], { name: "sum" }),
      makeNode("Mul", ["a", "n"], ["an"], [], { name: "scale_by_n" }),
      makeNode("Div", ["an", "big"], ["ab"], [], { name: "over_big" }),
      makeNode("Identity", ["ab"], ["kept"], [], { name: "keep_me" }),
      makeNode("Shape", ["kept"], ["s2"], [], { name: "shape2" }),
      makeNode("ConstantOfShape", ["s2"], ["ones"], [
        tensorAttr("value", new Tensor("float32", [0.25], [1])),
      ], { name: "cos" }),
      makeNode("Add", ["kept", "ones"], ["Y"], [], { name: "final" }),
    ],
    input: [floatInfo("X", [1, 2, 4, 4])],
    output: [floatInfo("Y", [1, 2, 8, 8]), floatInfo("c")],
    initializer: [
      floatInit("W", randomValues(4, 51), [2, 2, 1, 1]),
      floatInit("B", [0.1, -0.2], [2]),
      floatInit("scales", [1, 1, 2, 2], [4]),
      floatInit("big", [1e5, 1e3], [2, 1, 1]),
    ],
  }));
}

Deno.test("float16: converts weights and computation, keeps float32 where needed", async () => {
  const m = mixedModel();
  const x = new Tensor("float32", Float32Array.from(randomValues(32, 52, 0, 2)), [1, 2, 4, 4]);
  const h = cloneModel(m);
  const r = convertToFloat16(h, { keepFloat32: ["keep_me"] });
  assertValid(h, "float16 model");
  const g = h.graph!;
  assert.equal(r.clamped, 1); // 1e5 in "big"
  // Weights became float16; Resize's scales stayed float32.
  assert.equal(elemTypeOf(g, "W"), 10);
  assert.equal(elemTypeOf(g, "B"), 10);
  assert.equal(elemTypeOf(g, "big"), 10);
  assert.equal(elemTypeOf(g, "scales"), 1);
  // Range is on the block list: its Constant inputs stay float32.
  const range = g.node.find((n) => n.name === "range")!;
  const constOf = (name: string) => g.node.find((n) => n.output[0] === name)!;
  for (const i of range.input) assert.equal(constOf(i).attribute[0].t?.dataType, 1, i);
  // The Constant read by a float16 Mul was converted (value_float became a float16 tensor).
  const k = constOf("k").attribute[0];
  assert.equal(k.name, "value");
  assert.equal(k.t?.dataType, 10);
  // Cast(to float) computes float16 now; ConstantOfShape's value too.
  assert.equal(g.node.find((n) => n.name === "cast")!.attribute[0].i, 10n);
  assert.equal(g.node.find((n) => n.name === "cos")!.attribute[0].t?.dataType, 10);
  assert.deepEqual(r.kept, { Range: 1, Identity: 1 });
  // Inputs and outputs keep their names and float32 types.
  assert.deepEqual(g.input.map((i) => [i.name, i.type?.tensorType?.elemType]), [["X", 1]]);
  assert.deepEqual(g.output.map((o) => [o.name, o.type?.tensorType?.elemType]), [["Y", 1], [
    "c",
    1,
  ]]);
  // Casts: X in, Range out, into and out of the kept Identity, and the two outputs.
  assert.equal(graphStats(h).opCounts.Cast, 1 + r.casts);
  assert.equal(r.casts, 6);
  const a = await runOurs(m, { X: x });
  const b = await runOurs(h, { X: x });
  for (const name of ["Y", "c"]) {
    assert.equal((b[name] as Tensor).type, "float32");
    // 65504 instead of 1e5 divides Y's first channel: compare the second one.
    const ya = toNumbers(a[name] as Tensor), yb = toNumbers(b[name] as Tensor);
    const from = name === "Y" ? ya.length / 2 : 0;
    let err = 0, mag = 0;
    for (let i = from; i < ya.length; i++) {
      err = Math.max(err, Math.abs(ya[i] - yb[i]));
      mag = Math.max(mag, Math.abs(ya[i]));
    }
    assert.ok(err / mag < 2e-3, `${name}: relative error ${err / mag}`);
  }
  if (ort) {
    const dir = await Deno.makeTempDir({ prefix: "float16_test_" });
    try {
      const path = join(dir, "h.onnx");
      await saveModel(h, path);
      const o = await runOrt(ort, path, { X: x });
      assert.ok(relError(b.c, o.c) < 1e-3, `onnxruntime c: ${relError(b.c, o.c)}`);
      assert.ok(relError(b.Y, o.Y) < 1e-3, `onnxruntime Y: ${relError(b.Y, o.Y)}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } else console.log(`onnxruntime check skipped: ${ortReason}`);
});

Deno.test("float16: keep_io_types false or a list of names", async () => {
  const m = suiteModel(makeGraph({
    node: [
      makeNode("Mul", ["A", "W"], ["P"], [], { name: "mul" }),
      makeNode("Relu", ["P"], ["Q"], [], { name: "relu" }),
    ],
    input: [floatInfo("A", [2, 3])],
    output: [floatInfo("P", [2, 3]), floatInfo("Q", [2, 3])],
    initializer: [floatInit("W", [1, -2, 3, 0.5, 0.25, -1], [2, 3])],
  }));
  const all = cloneModel(m);
  convertToFloat16(all, { keepIoTypes: false });
  assertValid(all, "float16 I/O");
  const g = all.graph!;
  assert.deepEqual(g.input.map((i) => i.type?.tensorType?.elemType), [10]);
  assert.deepEqual(g.output.map((o) => o.type?.tensorType?.elemType), [10, 10]);
  assert.equal(graphStats(all).opCounts.Cast ?? 0, 0);
  const a = new Tensor("float32", [1, 2, 3, -4, 5, -6], [2, 3]);
  const a16 = new Tensor(
    "float16",
    new Uint16Array(Float16Array.from([1, 2, 3, -4, 5, -6]).buffer),
    [2, 3],
  );
  const out = await runOurs(all, { A: a16 });
  assert.equal((out.Q as Tensor).type, "float16");
  assert.deepEqual(Array.from(toNumbers(out.Q as Tensor)), [1, 0, 9, 0, 1.25, 6]);
  // Only "Q" stays float32: "A" is fed float16, "P" comes out float16.
  const some = cloneModel(m);
  convertToFloat16(some, { keepIoTypes: ["Q"] });
  assertValid(some, "float16 with Q kept");
  const s = some.graph!;
  assert.deepEqual(s.input.map((i) => i.type?.tensorType?.elemType), [10]);
  assert.deepEqual(s.output.map((o) => [o.name, o.type?.tensorType?.elemType]), [["P", 10], [
    "Q",
    1,
  ]]);
  const r = await runOurs(some, { A: a16 });
  assert.equal((r.Q as Tensor).type, "float32");
  assert.deepEqual(Array.from(toNumbers(r.Q as Tensor)), [1, 0, 9, 0, 1.25, 6]);
  assert.deepEqual(Array.from(toNumbers(r.P as Tensor)), [1, -4, 9, -2, 1.25, 6]);
  // The float32 model agrees.
  const f = await runOurs(m, { A: a });
  assert.deepEqual(Array.from(toNumbers(f.Q as Tensor)), [1, 0, 9, 0, 1.25, 6]);
});

Deno.test("float16: subgraph nodes stay float32 and read float32 copies of outer values", async () => {
  const branch = (name: string, op: string) =>
    makeGraph({
      name,
      node: [makeNode(op, ["h", "h"], [`${name}_out`])],
      input: [],
      output: [floatInfo(`${name}_out`)],
    });
  const m = suiteModel(makeGraph({
    node: [
      makeNode("Mul", ["X", "W"], ["h"], [], { name: "mul" }),
      makeNode("ReduceSum", ["h"], ["s"], [intAttr("keepdims", 0)], { name: "sum" }),
      makeNode("Greater", ["s", "zero"], ["cond"], [], { name: "gt" }),
      makeNode("If", ["cond"], ["Y"], [
        graphAttr("then_branch", branch("then", "Add")),
        graphAttr("else_branch", branch("else", "Sub")),
      ], { name: "if" }),
    ],
    input: [floatInfo("X", [3])],
    output: [floatInfo("Y", [3])],
    initializer: [floatInit("W", [2, 3, 4], [3]), floatInit("zero", [0], [])],
  }));
  const h = cloneModel(m);
  const r = convertToFloat16(h, {});
  assertValid(h, "float16 model with If");
  assert.deepEqual(r.kept, { "If (subgraphs)": 1 });
  const ifNode = h.graph!.node.find((n) => n.name === "if")!;
  const read = ifNode.attribute[0].g!.node[0].input[0];
  assert.notEqual(read, "h"); // a float32 Cast of h
  const cast = h.graph!.node.find((n) => n.output[0] === read)!;
  assert.equal(cast.opType, "Cast");
  assert.equal(cast.attribute[0].i, 1n);
  for (const xs of [[1, 2, 3], [-1, -2, -3]]) {
    const x = new Tensor("float32", xs, [3]);
    const a = await runOurs(m, { X: x });
    const b = await runOurs(h, { X: x });
    assert.deepEqual(Array.from(toNumbers(b.Y as Tensor)), Array.from(toNumbers(a.Y as Tensor)));
  }
});

Deno.test("float16: Transpose feeding MatMul stays float32 (onnxruntime issue 28392)", async () => {
  const m = suiteModel(makeGraph({
    node: [
      makeNode("Transpose", ["X"], ["t"], [intsAttr("perm", [1, 0, 2])], { name: "t" }),
      makeNode("MatMul", ["t", "W"], ["Y"], [], { name: "mm" }),
    ],
    input: [floatInfo("X", [2, 3, 4])],
    output: [floatInfo("Y", [3, 2, 5])],
    initializer: [floatInit("W", randomValues(20, 61), [4, 5])],
  }));
  const h = cloneModel(m);
  const r = convertToFloat16(h, {});
  assertValid(h, "Transpose/MatMul");
  assert.deepEqual(Object.keys(r.kept), ["Transpose (feeds MatMul; onnxruntime issue 28392)"]);
  const x = new Tensor("float32", Float32Array.from(randomValues(24, 62)), [2, 3, 4]);
  const ours = await runOurs(h, { X: x });
  const ref = await runOurs(m, { X: x });
  assert.ok(relError(ref.Y, ours.Y) < 2e-3);
  if (ort) {
    const dir = await Deno.makeTempDir({ prefix: "float16_test_" });
    try {
      await saveModel(h, join(dir, "t.onnx"));
      const o = await runOrt(ort, join(dir, "t.onnx"), { X: x });
      assert.ok(relError(ref.Y, o.Y) < 2e-3);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("float16: without the default block list, schemas still keep float32-only ops", async () => {
  assert.ok(DEFAULT_FLOAT16_BLOCK_LIST.includes("Range"));
  assert.ok(DEFAULT_FLOAT16_BLOCK_LIST.includes("RandomUniform"));
  const h = cloneModel(mixedModel());
  const r = convertToFloat16(h, { useDefaultBlockList: false });
  // Range still stays float32: its schema has no float16.
  assert.deepEqual(r.kept, { "Range (no float16 in its schema)": 1 });
  assertValid(h, "no block list");
  const pass = float16Pass({});
  const m = cloneModel(mixedModel());
  const res = await pass.run(m, { opsets: new Map([["", 13]]) });
  assert.ok(res.changed);
  assert.match(res.details[0], /converted \d+ float32 tensor\(s\) to float16/);
  assert.ok(
    res.details.some((d) => /clamped 1 value\(s\) beyond float16's range to ±65504/.test(d)),
  );
});

Deno.test("float16 after dynamic quantization: int32 sums are scaled in float32", async () => {
  // 512-long dot products of 8-bit values reach millions: beyond float16's 65504.
  const m = suiteModel(
    makeGraph({
      node: [makeNode("MatMul", ["X", "W"], ["Y"], [], { name: "mm" })],
      input: [floatInfo("X", [1, 512])],
      output: [floatInfo("Y", [1, 4])],
      initializer: [floatInit("W", randomValues(2048, 71, 0, 1), [512, 4])],
    }),
  );
  const q = cloneModel(m);
  await quantizeModel(q, { mode: "dynamic" });
  const r = convertToFloat16(q, {});
  assertValid(q, "quantized float16 model");
  assert.equal(r.kept["Cast (of an integer accumulator)"], 1);
  assert.equal(r.kept["Mul (scales an integer accumulator)"], 1);
  assert.equal(r.kept.DynamicQuantizeLinear, 1);
  const x = new Tensor("float32", Float32Array.from(randomValues(512, 72, 1, 2)), [1, 512]);
  const ref = (await runOurs(m, { X: x })).Y;
  const got = (await runOurs(q, { X: x })).Y;
  assert.ok(relError(ref, got) < 0.01, `relative error ${relError(ref, got)}`);
});

// ---------------------------------------------------------------------------------------------
// Shared models

Deno.test({
  name:
    "mobilenetv2 float16 through the pipeline: half the size, same top classes here and in onnxruntime",
  ignore: !haveMobilenet,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "float16_mobilenet_" });
    try {
      const text = `model: ${MOBILENET}/model.onnx
stages:
  - optimize:
      level: all
      float16: { keep_float32: [Resize], keep_io_types: true }
      save: half.onnx
  - run:
      inputs:
        input:
          image:
            path: ${IMAGES_DIR}/dog.jpg
            resize: 256
            center_crop: 224
            mean: [0.485, 0.456, 0.406]
            std: [0.229, 0.224, 0.225]
      topk: { k: 1 }
`;
      Deno.writeTextFileSync(join(dir, "p.yaml"), text);
      const config = parsePipeline(text, { file: join(dir, "p.yaml") });
      const lines: string[] = [];
      const report = await runPipeline(config, { stdout: (l) => lines.push(l), stderr: () => {} });
      assert.equal(report.exitCode, 0, lines.join("\n") + JSON.stringify(report.error));
      assert.ok(lines.some((l) => /float16: \d+ change/.test(l)), lines.join("\n"));
      assert.ok(lines.some((l) => /same top class/.test(l)), lines.join("\n"));
      const path = join(dir, "half.onnx");
      const size = Deno.statSync(path).size;
      const floatSize = Deno.statSync(`${MOBILENET}/model.onnx`).size;
      console.log(`mobilenetv2 float16: ${size} bytes (${(100 * size / floatSize).toFixed(1)}%)`);
      assert.ok(size < 0.55 * floatSize, `size ${size}`);
      const loaded = await loadModel(path);
      assertValid(loaded.model, "float16 MobileNetV2");
      for (const img of IMAGES) {
        const x = imagenetInput(join(IMAGES_DIR, img));
        const ref = (await runOurs(`${MOBILENET}/model.onnx`, { input: x })).output;
        const ours = (await runOurs(path, { input: x })).output;
        const line = [`${img}: float ${argmax(ref)}, float16 ${argmax(ours)} here`];
        assert.equal(argmax(ours), argmax(ref), img);
        if (ort) {
          const o = (await runOrt(ort, path, { input: x })).output;
          line.push(`${argmax(o)} in onnxruntime (error ${relError(ref, o).toExponential(2)})`);
          assert.equal(argmax(o), argmax(ref), `${img} in onnxruntime`);
        }
        console.log(line.join(", "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tiny_bert float16: close to float here and loads and runs in onnxruntime",
  ignore: !haveBert,
  async fn() {
    const loaded = await loadModel(`${TINY_BERT}/model.onnx`);
    const h = cloneModel(loaded.model);
    const r = convertToFloat16(h, {}, loaded.external);
    assertValid(h, "float16 tiny_bert");
    assert.equal(r.kept.Range, 1);
    const x = decodeValueFile(
      Deno.readFileSync(`${TINY_BERT}/test_data_set_0/input_0.pb`),
    ) as Tensor;
    const ref = (await runOurs(loaded.model, { input_ids: x })).output;
    const ours = (await runOurs(h, { input_ids: x })).output;
    assert.ok(relError(ref, ours) < 1e-2, `error here ${relError(ref, ours)}`);
    if (ort) {
      const dir = await Deno.makeTempDir({ prefix: "float16_bert_" });
      try {
        await saveModel(h, join(dir, "bert16.onnx"));
        const o = (await runOrt(ort, join(dir, "bert16.onnx"), { input_ids: x })).output;
        assert.ok(relError(ref, o) < 1e-2, `error in onnxruntime ${relError(ref, o)}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});
