/**
 * Elementwise fusion on the WebGPU backend: groups marked by the `elementwise-fusion` pass run
 * as one dispatch each, with outputs bit-identical to the unfused GPU kernels on a software
 * adapter (within float rounding elsewhere) and equal to the CPU backend, on random inputs with
 * NaN, infinities and signed zeros: chains with broadcast operands, every float unary and
 * binary op of the table, Where/Clip/Cast, diamonds and graph outputs in the middle, marks the
 * executor must refuse at plan time or give up on at run time (the nodes then run one by one),
 * GPU inputs released mid-group, pipelines that never depend on dims, and the optimized
 * tiny_bert and mobilenet_v2 of ../shared/models (dispatches and run times before and after).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Model } from "../../pipeline/load/ir.ts";
import type { LoadedModel } from "../../pipeline/load/load.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { optimizeModel, type OptimizeReport, passesForLevel } from "../../pipeline/optimize/mod.ts";
import { InferenceSession, type RunStats } from "../../pipeline/run/session.ts";
import { pipelineCount } from "../../pipeline/run/webgpu/executor.ts";
import { floatElementwiseOps } from "../../pipeline/run/webgpu/kernels/elementwise.ts";
import { FUSION_GROUP_KEY, FUSION_INDEX_KEY } from "../../pipeline/run/webgpu/fusion.ts";
import { allclose } from "../../pipeline/compare.ts";
import type { DataType } from "../../pipeline/tensor/dtype.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { SHARED } from "../_shared_root.ts";
import {
  type AttrValue,
  buildModel,
  gpu,
  gpuTest,
  type NodeSpec,
  random,
  withSpecials,
} from "./_harness.ts";

const OPSET = 24;

/** Bit-identical on a software adapter; other compilers may contract a * b + c into an fma. */
const EXACT = gpu?.info.isFallbackAdapter ?? false;

/** The model with the pass's marks. */
async function marked(
  loaded: LoadedModel,
): Promise<{ fused: LoadedModel; report: OptimizeReport }> {
  const { model, report } = await optimizeModel(loaded.model, { passes: ["elementwise-fusion"] });
  return { fused: { ...loaded, model }, report };
}

interface Runs {
  cpu: Record<string, Value>;
  unfused: Record<string, Value>;
  fused: Record<string, Value>;
  unfusedStats: RunStats;
  fusedStats: RunStats;
}

/** Runs `loaded` on the CPU and on the GPU as it is, and `fused` on the GPU. */
async function runAll(
  loaded: LoadedModel,
  fused: LoadedModel,
  feeds: Record<string, Tensor>,
): Promise<Runs> {
  const cpu = await (await InferenceSession.create(loaded, { backend: "cpu" })).run(feeds);
  const su = await InferenceSession.create(loaded, { backend: "webgpu" });
  const unfused = await su.run(feeds);
  const sf = await InferenceSession.create(fused, { backend: "webgpu" });
  const out = await sf.run(feeds);
  const runs = {
    cpu,
    unfused,
    fused: out,
    unfusedStats: su.lastRunStats!,
    fusedStats: sf.lastRunStats!,
  };
  await su.release();
  await sf.release();
  return runs;
}

/** Asserts fused equals unfused bit for bit (NaN equals NaN) or, on hardware, within rounding. */
function assertSameAsUnfused(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual([...a.dims], [...b.dims], `${what}: dims`);
  if (!EXACT) {
    const r = allclose(a, b, { rtol: 1e-5, atol: 1e-6 });
    assert.ok(r.ok, `${what}: ${r.message}`);
    return;
  }
  const x = a.data as Float32Array, y = b.data as Float32Array;
  const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]) && Number.isNaN(y[i])) continue;
    assert.equal(xb[i], yb[i], `${what}: element ${i} is ${x[i]}, unfused ${y[i]}`);
  }
}

/** Asserts every output: fused as unfused, and both as the CPU within the tolerance. */
function assertOutputs(runs: Runs, rtol = 2e-5, atol = 1e-6): void {
  for (const name of Object.keys(runs.cpu)) {
    const f = runs.fused[name] as Tensor, u = runs.unfused[name] as Tensor;
    assertSameAsUnfused(f, u, name);
    const r = allclose(f, runs.cpu[name], { rtol, atol });
    assert.ok(r.ok, `output "${name}" against the CPU: ${r.message}`);
  }
}

/** Asserts every node ran on the GPU, in fusion groups as the marks say. */
function assertPlacement(stats: RunStats, groups: number): void {
  const cpu = stats.placement.filter((p) => p.backend === "cpu");
  assert.deepEqual(cpu.map((p) => `${p.node}: ${p.reason}`), []);
  const ids = new Set(stats.placement.map((p) => p.fusionGroup).filter((g) => g !== undefined));
  assert.equal(ids.size, groups, "fusion groups run");
}

/** x·s + b → Sigmoid → ·x → −c → Clip → Tanh → /c: eight nodes, four inputs broadcast. */
function chain(): LoadedModel {
  return buildModel({
    nodes: [
      { op: "Mul", inputs: ["x", "s"], outputs: ["h1"] },
      { op: "Add", inputs: ["h1", "b"], outputs: ["h2"] },
      { op: "Sigmoid", inputs: ["h2"], outputs: ["h3"] },
      { op: "Mul", inputs: ["h3", "x"], outputs: ["h4"] },
      { op: "Sub", inputs: ["h4", "c"], outputs: ["h5"] },
      { op: "Clip", inputs: ["h5", "lo", "hi"], outputs: ["h6"] },
      { op: "Tanh", inputs: ["h6"], outputs: ["h7"] },
      { op: "Div", inputs: ["h7", "c"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }, { name: "c", type: "float32" }],
    initializers: {
      s: random("float32", [], 5),
      b: random("float32", [7], 6),
      lo: new Tensor("float32", Float32Array.of(-0.8), []),
      hi: new Tensor("float32", Float32Array.of(0.9), []),
    },
    outputs: ["y"],
    opset: OPSET,
  });
}

gpuTest("webgpu fuses a chain with broadcast operands into one dispatch", async () => {
  const loaded = chain();
  const { fused, report } = await marked(loaded);
  assert.match(report.passes[0].details[0], /1 elementwise fusion group\(s\) of 8 nodes/);
  const feeds = {
    x: withSpecials(random("float32", [2, 3, 5, 7], 1)),
    c: withSpecials(random("float32", [3, 1, 1], 2, [0.5, 2])),
  };
  const runs = await runAll(loaded, fused, feeds);
  assert.equal(runs.unfusedStats.dispatches, 8);
  assert.equal(runs.fusedStats.dispatches, 1);
  assert.equal(runs.fusedStats.nodes.webgpu, 8);
  assertPlacement(runs.fusedStats, 1);
  assertOutputs(runs);
});

/** Input ranges and attributes of the unary ops (default range [-3, 3]). */
const UNARY: Record<string, { range?: [number, number]; attrs?: Record<string, AttrValue> }> = {
  Sqrt: { range: [-1, 9] },
  Exp: { range: [-20, 20] },
  Log: { range: [-1, 100] },
  Sigmoid: { range: [-30, 30] },
  Tanh: { range: [-12, 12] },
  Erf: { range: [-4, 4] },
  Tan: { range: [-1.5, 1.5] },
  Asin: { range: [-1.2, 1.2] },
  Acos: { range: [-1.2, 1.2] },
  Atan: { range: [-10, 10] },
  Sinh: { range: [-5, 5] },
  Cosh: { range: [-5, 5] },
  Asinh: { range: [-50, 50] },
  Acosh: { range: [0.5, 50] },
  Atanh: { range: [-1.1, 1.1] },
  Softplus: { range: [-30, 30] },
  Elu: { attrs: { alpha: { f: 0.7 } } },
  Selu: { attrs: { alpha: { f: 1.5 }, gamma: { f: 2 } } },
  LeakyRelu: { attrs: { alpha: { f: 0.1 } } },
  HardSigmoid: { range: [-8, 8], attrs: { alpha: { f: 0.3 } } },
  HardSwish: { range: [-8, 8] },
  ThresholdedRelu: { attrs: { alpha: { f: 0.5 } } },
  Celu: { attrs: { alpha: { f: 2 } } },
  Mish: { range: [-25, 25] },
  Shrink: { attrs: { lambd: { f: 0.7 }, bias: { f: 0.2 } } },
  Gelu: { range: [-6, 6], attrs: { approximate: { s: "tanh" } } },
  Swish: { range: [-20, 20], attrs: { alpha: { f: 1.5 } } },
};

/** WGSL specifies sin, cos and tan only near [-π, π]: no ±1e30 specials for them. */
const NO_HUGE = new Set(["Sin", "Cos", "Tan"]);

function floatInput(dims: number[], seed: number, range: [number, number], op = ""): Tensor {
  const t = withSpecials(random("float32", dims, seed, range));
  if (NO_HUGE.has(op)) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) > 1e20) d[i] = 0.25;
  }
  return t;
}

gpuTest(
  "webgpu fuses every float unary op after an Add, as the unfused kernels compute",
  async () => {
    const ops = floatElementwiseOps().unary;
    assert.ok(ops.length >= 35, `${ops.length} unary ops`);
    const nodes: NodeSpec[] = [];
    const feeds: Record<string, Tensor> = {};
    ops.forEach((op, i) => {
      const c = UNARY[op] ?? {};
      feeds[`x${i}`] = floatInput([7, 37], 100 + i, c.range ?? [-3, 3], op);
      nodes.push({ op: "Add", inputs: [`x${i}`, "b"], outputs: [`h${i}`] });
      nodes.push({ op, inputs: [`h${i}`], outputs: [`y${i}`], attrs: c.attrs });
    });
    const loaded = buildModel({
      nodes,
      inputs: ops.map((_, i) => ({ name: `x${i}`, type: "float32" as DataType })),
      initializers: { b: random("float32", [37], 7, [-0.01, 0.01]) },
      outputs: ops.map((_, i) => `y${i}`),
      opset: OPSET,
    });
    const { fused } = await marked(loaded);
    const runs = await runAll(loaded, fused, feeds);
    assert.equal(runs.unfusedStats.dispatches, 2 * ops.length);
    assert.equal(runs.fusedStats.dispatches, ops.length);
    assertPlacement(runs.fusedStats, ops.length);
    assertOutputs(runs);
  },
);

gpuTest("webgpu fuses every float binary op with an intermediate on either side", async () => {
  const ops = floatElementwiseOps().binary;
  assert.deepEqual(ops, ["Add", "Div", "Max", "Mean", "Min", "Mul", "PRelu", "Pow", "Sub", "Sum"]);
  const nodes: NodeSpec[] = [];
  const feeds: Record<string, Tensor> = {};
  ops.forEach((op, i) => {
    feeds[`a${i}`] = floatInput([5, 37], 200 + i, [-3, 3]);
    feeds[`b${i}`] = op === "Pow"
      ? random("float32", [1, 37], 300 + i, [-3, 3])
      : floatInput([1, 37], 300 + i, [-3, 3]);
    // op(Neg(a), b) and op(b, Abs(a)): the intermediate in slot 0, then slot 1.
    nodes.push({ op: "Neg", inputs: [`a${i}`], outputs: [`n${i}`] });
    nodes.push({ op, inputs: [`n${i}`, `b${i}`], outputs: [`y${i}`] });
    nodes.push({ op: "Abs", inputs: [`a${i}`], outputs: [`m${i}`] });
    nodes.push({ op, inputs: [`b${i}`, `m${i}`], outputs: [`z${i}`] });
  });
  const loaded = buildModel({
    nodes,
    inputs: ops.flatMap((_, i) => [
      { name: `a${i}`, type: "float32" as DataType },
      { name: `b${i}`, type: "float32" as DataType },
    ]),
    outputs: ops.flatMap((_, i) => [`y${i}`, `z${i}`]),
    opset: OPSET,
  });
  const { fused } = await marked(loaded);
  const runs = await runAll(loaded, fused, feeds);
  assert.equal(runs.unfusedStats.dispatches, 4 * ops.length);
  assert.equal(runs.fusedStats.dispatches, 2 * ops.length);
  assertPlacement(runs.fusedStats, 2 * ops.length);
  assertOutputs(runs);
});

gpuTest("webgpu fuses Where (three-way broadcasting), Clip and Cast", async () => {
  const loaded = buildModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Neg", inputs: ["y"], outputs: ["n"] },
      { op: "Where", inputs: ["c", "r", "n"], outputs: ["w"] },
      { op: "Clip", inputs: ["w", "", "hi"], outputs: ["k"] },
      { op: "Cast", inputs: ["k"], outputs: ["f"], attrs: { to: { i: 1 } } },
      { op: "Sqrt", inputs: ["f"], outputs: ["out"] },
    ],
    inputs: [
      { name: "c", type: "bool" },
      { name: "x", type: "float32" },
      { name: "y", type: "float32" },
    ],
    initializers: { hi: new Tensor("float32", Float32Array.of(1.5), []) },
    outputs: ["out"],
    opset: 13,
  });
  const { fused } = await marked(loaded);
  const feeds = {
    c: random("bool", [3, 1, 5], 1),
    x: withSpecials(random("float32", [4, 5], 2)),
    y: withSpecials(random("float32", [1, 4, 1], 3)),
  };
  const runs = await runAll(loaded, fused, feeds);
  assert.equal(runs.unfusedStats.dispatches, 6);
  assert.equal(runs.fusedStats.dispatches, 1);
  assertOutputs(runs);
  assert.deepEqual([...(runs.fused.out as Tensor).dims], [3, 4, 5]);
  // Clip with attribute bounds (opset 10).
  const old = buildModel({
    nodes: [
      { op: "Exp", inputs: ["x"], outputs: ["e"] },
      { op: "Clip", inputs: ["e"], outputs: ["y"], attrs: { min: { f: 0.5 }, max: { f: 2 } } },
    ],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["y"],
    opset: 10,
  });
  const o = await runAll(old, (await marked(old)).fused, {
    x: withSpecials(random("float32", [40], 4)),
  });
  assert.equal(o.fusedStats.dispatches, 1);
  assertOutputs(o);
});

const f16 = gpu?.info.features.shaderF16 ?? false;
if (gpu && !f16) console.log("skip the float16 fusion test: the adapter has no shader-f16");
Deno.test({
  name: "webgpu fuses float16 chains and Casts between float32 and float16 (shader-f16)",
  ignore: !f16,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const loaded = buildModel({
      nodes: [
        { op: "Cast", inputs: ["x"], outputs: ["h"], attrs: { to: { i: 10 } } },
        { op: "Sigmoid", inputs: ["h"], outputs: ["s"] },
        { op: "Mul", inputs: ["s", "h"], outputs: ["m"] },
        { op: "Cast", inputs: ["m"], outputs: ["y"], attrs: { to: { i: 1 } } },
      ],
      inputs: [{ name: "x", type: "float32" }],
      outputs: ["y"],
      opset: OPSET,
    });
    const { fused } = await marked(loaded);
    const runs = await runAll(loaded, fused, {
      x: withSpecials(random("float32", [9, 11], 5)),
    });
    assert.equal(runs.fusedStats.dispatches, 1);
    assertOutputs(runs, 2e-3, 1e-3);
  },
});

gpuTest("webgpu leaves diamonds and graph outputs in the middle out of groups", async () => {
  // Exp's output is read twice: {Add, Mul, Div} fuse, Exp runs alone.
  const diamond = buildModel({
    nodes: [
      { op: "Exp", inputs: ["x"], outputs: ["e"] },
      { op: "Add", inputs: ["e", "one"], outputs: ["p"] },
      { op: "Mul", inputs: ["e", "x"], outputs: ["q"] },
      { op: "Div", inputs: ["p", "q"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    initializers: { one: new Tensor("float32", Float32Array.of(1), []) },
    outputs: ["y"],
    opset: OPSET,
  });
  const d = await runAll(diamond, (await marked(diamond)).fused, {
    x: withSpecials(random("float32", [6, 9], 6)),
  });
  assert.equal(d.unfusedStats.dispatches, 4);
  assert.equal(d.fusedStats.dispatches, 2);
  assert.equal(d.fusedStats.placement[0].fusionGroup, undefined);
  assertOutputs(d);
  // b is a graph output: {Relu, Neg} ends there, {Exp, Sin} starts after it.
  const middle = buildModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["a"] },
      { op: "Neg", inputs: ["a"], outputs: ["b"] },
      { op: "Exp", inputs: ["b"], outputs: ["c"] },
      { op: "Sin", inputs: ["c"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["b", "y"],
    opset: OPSET,
  });
  const m = await runAll(middle, (await marked(middle)).fused, {
    x: floatInput([50], 7, [-3, 3], "Sin"),
  });
  assert.equal(m.unfusedStats.dispatches, 4);
  assert.equal(m.fusedStats.dispatches, 2);
  assertPlacement(m.fusedStats, 2);
  assertOutputs(m);
});

/** A copy of `loaded` with hand-written marks `[node index, group, "k/n"]`. */
function handMarked(loaded: LoadedModel, marks: [number, string, string][]): LoadedModel {
  const model = structuredClone(loaded.model);
  for (const [i, group, index] of marks) {
    model.graph!.node[i].metadataProps = [
      { key: FUSION_GROUP_KEY, value: group },
      { key: FUSION_INDEX_KEY, value: index },
    ];
  }
  return { ...loaded, model };
}

gpuTest("webgpu runs invalid or unfusable marked groups node by node", async () => {
  // Refused at plan time: Exp's output is read twice.
  const diamond = buildModel({
    nodes: [
      { op: "Exp", inputs: ["x"], outputs: ["e"] },
      { op: "Add", inputs: ["e", "x"], outputs: ["p"] },
      { op: "Mul", inputs: ["e", "x"], outputs: ["q"] },
      { op: "Div", inputs: ["p", "q"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["y"],
    opset: OPSET,
  });
  const bad = handMarked(diamond, [[0, "g", "0/4"], [1, "g", "1/4"], [2, "g", "2/4"], [
    3,
    "g",
    "3/4",
  ]]);
  const d = await runAll(diamond, bad, { x: withSpecials(random("float32", [30], 8)) });
  assert.equal(d.fusedStats.dispatches, 4);
  assertPlacement(d.fusedStats, 0);
  assertOutputs(d);
  // Given up at the root: int32 has no fused form (the members run one by one on the GPU).
  const ints = buildModel({
    nodes: [
      { op: "Abs", inputs: ["x"], outputs: ["a"] },
      { op: "Neg", inputs: ["a"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "int32" }],
    outputs: ["y"],
    opset: OPSET,
  });
  const i = await runAll(ints, handMarked(ints, [[0, "g", "0/2"], [1, "g", "1/2"]]), {
    x: random("int32", [40], 9, [-50, 50]),
  });
  assert.equal(i.fusedStats.dispatches, 2);
  assert.deepEqual(i.fusedStats.placement.map((p) => p.backend), ["webgpu", "webgpu"]);
  assertOutputs(i, 0, 0);
  // Given up in the middle: the Cast to float64 runs on the CPU, after the Relu ran alone.
  const wide = buildModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Cast", inputs: ["r"], outputs: ["d"], attrs: { to: { i: 11 } } },
      { op: "Neg", inputs: ["d"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["y"],
    opset: OPSET,
  });
  const w = await runAll(
    wide,
    handMarked(wide, [[0, "g", "0/3"], [1, "g", "1/3"], [2, "g", "2/3"]]),
    { x: withSpecials(random("float32", [25], 10)) },
  );
  assert.deepEqual(w.fusedStats.placement.map((p) => p.backend), ["webgpu", "cpu", "cpu"]);
  assert.equal(w.fusedStats.dispatches, 1);
  const got = w.fused.y as Tensor, want = w.cpu.y as Tensor;
  assert.equal(got.type, "float64");
  assert.ok(allclose(got, want, { rtol: 0, atol: 0 }).ok);
});

gpuTest("webgpu keeps a GPU-made input alive until its group's dispatch", async () => {
  // mm is last read by the group's first member; the root's output must not reuse its buffer.
  const loaded = buildModel({
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["mm"] },
      { op: "Relu", inputs: ["mm"], outputs: ["r"] },
      { op: "Exp", inputs: ["x"], outputs: ["e"] },
      { op: "Add", inputs: ["r", "e"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    initializers: { w: random("float32", [8, 8], 11) },
    outputs: ["y"],
    opset: OPSET,
  });
  const { fused, report } = await marked(loaded);
  assert.match(report.passes[0].details[1], /Relu → Exp → Add/);
  for (let run = 0; run < 3; run++) {
    const runs = await runAll(loaded, fused, { x: random("float32", [8, 8], 12 + run) });
    assert.equal(runs.fusedStats.dispatches, 2);
    assertOutputs(runs, 1e-5, 1e-5);
  }
});

gpuTest("webgpu fused pipelines depend on ops, types and rank only, never on dims", async () => {
  const { fused } = await marked(chain());
  const s = await InferenceSession.create(fused, { backend: "webgpu" });
  const cpu = await InferenceSession.create(chain(), { backend: "cpu" });
  // One run per output rank (RANK is an override constant, as in the binary kernel).
  for (const dims of [[2, 3, 5, 7], [3, 7], [7]]) {
    await s.run({ x: random("float32", dims, 1), c: random("float32", [1], 2) });
  }
  const pipelines = pipelineCount(gpu!.device);
  const shapes: [number[], number[]][] = [
    [[9, 7], [1]],
    [[4, 1, 2, 7], [3, 1, 1]],
    [[7], []],
    [[0, 7], [1]],
    [[600_000, 7], [1]], // more than 65,535 workgroups of 64
    [[6, 7], [6, 1]],
  ];
  for (const [xs, cs] of shapes) {
    const feeds = { x: random("float32", xs, 3), c: random("float32", cs, 4, [0.5, 2]) };
    const got = await s.run(feeds);
    assert.equal(s.lastRunStats!.dispatches, xs.includes(0) ? 0 : 1);
    const r = allclose(got.y, (await cpu.run(feeds)).y, { rtol: 2e-5, atol: 1e-6 });
    assert.ok(r.ok, `[${xs}]: ${r.message}`);
  }
  assert.equal(pipelineCount(gpu!.device), pipelines, "a new shape compiled a pipeline");
  await s.run({ x: random("float32", [9, 7], 5), c: random("float32", [1], 6) });
  assert.equal(s.lastRunStats!.buffersCreated, 0);
  await s.release();
});

// ---------------------------------------------------------------------------------------------
// Real models
// ---------------------------------------------------------------------------------------------

interface ModelRun {
  dispatches: number;
  ms: number;
  output: Tensor;
}

/** Runs a model on the GPU: one warm-up run, then the median of `runs` timed runs. */
async function timed(loaded: LoadedModel, input: Tensor, runs: number): Promise<ModelRun> {
  const s = await InferenceSession.create(loaded, { backend: "webgpu" });
  const feeds = { [s.inputNames[0]]: input };
  let out = await s.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = await s.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const cpu = s.lastRunStats!.placement.filter((p) => p.backend === "cpu");
  assert.deepEqual(cpu.map((p) => `${p.node}: ${p.reason}`), []);
  const run = {
    dispatches: s.lastRunStats!.dispatches,
    ms: times[Math.floor(runs / 2)],
    output: out[s.outputNames[0]] as Tensor,
  };
  await s.release();
  return run;
}

/** tiny_bert has 12 Add→Add and Add→Gelu chains left after level all; mobilenet_v2 none. */
const MODELS: { name: string; minGroups: number; runs: number }[] = [
  { name: "tiny_bert", minGroups: 12, runs: 9 },
  { name: "mobilenet_v2", minGroups: 0, runs: 3 },
];

for (const m of MODELS) {
  const root = join(SHARED, "models", m.name);
  let have = false;
  try {
    have = Deno.statSync(join(root, "model.onnx")).isFile;
  } catch {
    have = false;
  }
  const name = `webgpu runs ${m.name} optimized at level all, with and without elementwise fusion`;
  if (!have) console.log(`skip ${name}: ${root} is absent`);
  else if (!gpu) console.log(`skip ${name}: no WebGPU adapter`);
  Deno.test({
    name,
    ignore: !have || !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const loaded = await loadModel(join(root, "model.onnx"));
      const set = join(root, "test_data_set_0");
      const input = decodeValueFile(await Deno.readFile(join(set, "input_0.pb"))) as Tensor;
      const expected = decodeValueFile(await Deno.readFile(join(set, "output_0.pb"))) as Tensor;
      const all = passesForLevel("all");
      const without = await optimizeModel(loaded.model, {
        passes: all.filter((p) => p.name !== "elementwise-fusion"),
        external: loaded.external,
      });
      const withFusion = await optimizeModel(loaded.model, {
        level: "all",
        external: loaded.external,
      });
      const details = withFusion.report.passes.find((p) =>
        p.name === "elementwise-fusion"
      )!.details;
      const summary = details.filter((d) => d.startsWith("marked")).at(-1) ?? "no group";
      const groups = Number(/marked (\d+)/.exec(summary)?.[1] ?? 0);
      assert.ok(groups >= m.minGroups, summary);
      const before = await timed({ ...loaded, model: without.model }, input, m.runs);
      const after = await timed({ ...loaded, model: withFusion.model }, input, m.runs);
      for (const r of [before, after]) {
        const c = allclose(r.output, expected, { rtol: 1e-3, atol: 1e-4 });
        assert.ok(c.ok, c.message);
      }
      assertSameAsUnfused(after.output, before.output, m.name);
      // Each member alone is one dispatch: a group of n saves n - 1.
      assert.equal(after.dispatches, before.dispatches - fusedSaving(withFusion.model));
      console.log(
        `${m.name} (${gpu!.info.description}): ${summary}; dispatches ${before.dispatches} → ` +
          `${after.dispatches}; median run ${before.ms.toFixed(1)} → ${after.ms.toFixed(1)} ms`,
      );
      if (groups === 0) {
        console.log(
          `  ${m.name}: no elementwise chain is left after level all (its Clips fuse into ` +
            `FusedConv, each residual Add stands alone between Convs), so nothing drops`,
        );
      } else assert.ok(after.dispatches < before.dispatches);
    },
  });
}

/** Dispatches a marked model saves: (members − 1) per group. */
function fusedSaving(model: Model): number {
  let saved = 0;
  for (const n of model.graph!.node) {
    for (const e of n.metadataProps) {
      if (e.key !== FUSION_INDEX_KEY) continue;
      const [k, size] = e.value.split("/").map(Number);
      if (k === size - 1) saved += size - 1;
    }
  }
  return saved;
}
