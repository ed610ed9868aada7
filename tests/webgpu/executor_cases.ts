/**
 * The WebGPU executor inside a session: GPU tensors stay on the GPU between GPU nodes, one
 * submit per run for an all-GPU graph, only feeds/outputs cross the bus, initializers are
 * uploaded once, buffers and pipelines are reused across runs and shapes, GPU-resident
 * outputs, views, mixed CPU/GPU graphs, placement reasons and `auto` on a software adapter.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { GpuExecutor, pipelineCount } from "../../pipeline/run/webgpu/executor.ts";
import type { Gpu } from "../../pipeline/run/webgpu/device.ts";
import { setTilingOverride } from "../../pipeline/run/webgpu/kernels/tiling.ts";
import { buildPlan, opsetMap, runPlan } from "../../pipeline/run/plan.ts";
import { buildModel, compareBackends, gpu, gpuTest, random } from "./_harness.ts";

/** x → MatMul(W) → Add(b) → Relu → Reshape → Sigmoid, W and b initializers. */
function chain() {
  return buildModel({
    nodes: [
      { op: "MatMul", inputs: ["x", "W"], outputs: ["h"] },
      { op: "Add", inputs: ["h", "b"], outputs: ["hb"] },
      { op: "Relu", inputs: ["hb"], outputs: ["r"] },
      { op: "Reshape", inputs: ["r", "shape"], outputs: ["rs"] },
      { op: "Sigmoid", inputs: ["rs"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    initializers: {
      W: random("float32", [6, 8], 1),
      b: random("float32", [8], 2),
      shape: new Tensor("int64", BigInt64Array.of(-1n, 4n), [2]),
    },
    outputs: ["y"],
  });
}

gpuTest("an all-GPU chain runs in one submit and moves only feeds and outputs", async () => {
  const model = chain();
  const x = random("float32", [3, 6], 3);
  const { gpuSession: s } = await compareBackends(model, { x }, { rtol: 1e-5, atol: 1e-6 });
  const first = s.lastRunStats!;
  assert.equal(first.nodes.webgpu, 5);
  assert.equal(first.nodes.cpu, 0);
  assert.equal(first.submits, 1);
  assert.equal(first.dispatches, 4); // Reshape is a view
  // First run: x (72 B) + W (192 B) + b (32 B) up; y (96 B) down. The shape is read on the host.
  assert.equal(first.bytesUploaded, 72 + 192 + 32);
  assert.equal(first.bytesDownloaded, 96);
  await s.run({ x });
  const second = s.lastRunStats!;
  assert.equal(second.bytesUploaded, 72, "initializers are uploaded once per session");
  assert.equal(second.bytesDownloaded, 96);
  await s.release();
});

gpuTest(
  "buffers and pipelines are reused across runs, and new shapes compile nothing",
  async () => {
    const s = await InferenceSession.create(chain(), { backend: "webgpu" });
    await s.run({ x: random("float32", [3, 6], 4) });
    const pipelines = pipelineCount(gpu!.device);
    for (const rows of [5, 1, 9, 2]) {
      const out = await s.run({ x: random("float32", [rows, 6], rows) });
      assert.deepEqual((out.y as Tensor).dims, [rows * 2, 4]);
    }
    assert.equal(pipelineCount(gpu!.device), pipelines, "a new input shape compiled a pipeline");
    for (let i = 0; i < 5; i++) {
      await s.run({ x: random("float32", [3, 6], i) });
      assert.equal(s.lastRunStats!.buffersCreated, 0, "a repeated run allocated buffers");
    }
    await s.release();
  },
);

gpuTest("outputs can stay on the GPU (preferredOutputLocation: gpu-buffer)", async () => {
  const x = random("float32", [3, 6], 5);
  const cpu = await InferenceSession.create(chain(), { backend: "cpu" });
  const expected = (await cpu.run({ x })).y as Tensor;
  const s = await InferenceSession.create(chain(), {
    backend: "webgpu",
    preferredOutputLocation: "gpu-buffer",
  });
  const y = (await s.run({ x })).y as Tensor;
  assert.equal(y.location, "gpu-buffer");
  assert.ok(y.gpuBuffer);
  assert.deepEqual(y.dims, [6, 4]);
  assert.equal(s.lastRunStats!.bytesDownloaded, 0);
  const data = await y.getData() as Float32Array;
  const e = expected.data as Float32Array;
  for (let i = 0; i < e.length; i++) assert.ok(Math.abs(data[i] - e[i]) < 1e-5);
  y.dispose();
  await s.release();
});

gpuTest("a GPU output fed back as an input is used in place", async () => {
  const model = buildModel({
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["y"],
  });
  const s = await InferenceSession.create(model, {
    backend: "webgpu",
    preferredOutputLocation: { y: "gpu-buffer" },
  });
  const x = random("float32", [40], 9);
  const y1 = (await s.run({ x })).y as Tensor;
  assert.equal(s.lastRunStats!.bytesUploaded, 160);
  const y2 = (await s.run({ x: y1 })).y as Tensor;
  assert.equal(s.lastRunStats!.bytesUploaded, 0, "the GPU feed was uploaded again");
  assert.equal(s.lastRunStats!.bytesDownloaded, 0);
  const want = (x.data as Float32Array).map((v) => Math.max(v, 0));
  assert.deepEqual(await y2.getData(), want);
  y1.dispose();
  y2.dispose();
  await s.release();
});

gpuTest("a graph mixing CPU and GPU nodes reads back only what CPU nodes need", async () => {
  // TopK has no GPU kernel: its input is read back; the int64 result feeds a Cast on the CPU.
  const model = buildModel({
    nodes: [
      { op: "Mul", inputs: ["x", "x"], outputs: ["sq"] },
      { op: "TopK", inputs: ["sq", "k"], outputs: ["top", "am"], attrs: { axis: { i: 1 } } },
      { op: "Cast", inputs: ["am"], outputs: ["amf"], attrs: { to: { i: 1 } } },
      { op: "Shape", inputs: ["sq"], outputs: ["shp"] },
      { op: "Exp", inputs: ["sq"], outputs: ["e"] },
      { op: "Add", inputs: ["e", "amf"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    initializers: { k: new Tensor("int64", BigInt64Array.of(1n), [1]) },
    outputs: ["y", "shp"],
  });
  const x = random("float32", [4, 5], 6);
  const { gpuSession: s } = await compareBackends(model, { x }, { gpuNodes: 3 });
  const st = s.lastRunStats!;
  const where = Object.fromEntries(st.placement.map((p) => [p.opType, p]));
  assert.equal(where.Mul.backend, "webgpu");
  assert.equal(where.TopK.backend, "cpu");
  assert.match(where.TopK.reason!, /no WebGPU kernel/);
  assert.equal(where.Cast.backend, "cpu");
  assert.match(where.Cast.reason!, /int64/);
  assert.equal(where.Shape.backend, "cpu");
  // Down: sq once (80 B) for TopK (Shape reads dims only), y (80 B). Up: x, amf.
  assert.equal(st.bytesDownloaded, 80 + 80);
  assert.equal(st.bytesUploaded, 80 + 16);
  await s.release();
});

gpuTest("views (Flatten, Squeeze, Unsqueeze, Identity) keep data on the GPU", async () => {
  const model = buildModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Unsqueeze", inputs: ["r", "ax"], outputs: ["u"] },
      { op: "Squeeze", inputs: ["u", "ax"], outputs: ["s"] },
      { op: "Flatten", inputs: ["s"], outputs: ["f"], attrs: { axis: { i: 2 } } },
      { op: "Identity", inputs: ["f"], outputs: ["i"] },
      { op: "Neg", inputs: ["i"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    initializers: { ax: new Tensor("int64", BigInt64Array.of(1n), [1]) },
    outputs: ["y", "r"],
  });
  const x = random("float32", [2, 3, 4], 7);
  const { gpuSession: s } = await compareBackends(model, { x });
  assert.equal(s.lastRunStats!.dispatches, 2);
  assert.equal(s.lastRunStats!.submits, 1);
  await s.release();
});

gpuTest("auto keeps everything on the CPU on a software adapter", async () => {
  const s = await InferenceSession.create(chain(), { backend: "auto" });
  await s.run({ x: random("float32", [3, 6], 8) });
  const st = s.lastRunStats!;
  if (gpu!.info.isFallbackAdapter) {
    assert.equal(st.nodes.webgpu, 0);
    assert.equal(st.nodes.cpu, 5);
    assert.match(st.placement[0].reason!, /WebGPU not used/);
  } else {
    assert.equal(st.nodes.webgpu, 5);
  }
  await s.release();
});

gpuTest("kernels with the same bindings but different uniform sizes run back to back", async () => {
  // Relu's uniforms are 32 bytes, GlobalAveragePool's 16, MaxPool's 128: one compute pass.
  const model = buildModel({
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "GlobalAveragePool", inputs: ["r"], outputs: ["g"] },
      { op: "MaxPool", inputs: ["r"], outputs: ["m"], attrs: { kernel_shape: { ints: [2, 2] } } },
      { op: "Neg", inputs: ["m"], outputs: ["y"] },
    ],
    inputs: [{ name: "x", type: "float32" }],
    outputs: ["g", "y"],
  });
  const { gpuSession: s } = await compareBackends(model, { x: random("float32", [1, 4, 5, 5], 3) });
  assert.equal(s.lastRunStats!.submits, 1);
  await s.release();
});

gpuTest("the cpu backend reports its runs too", async () => {
  const s = await InferenceSession.create(chain(), { backend: "cpu" });
  await s.run({ x: random("float32", [3, 6], 8) });
  assert.deepEqual(s.lastRunStats!.nodes, { cpu: 5, webgpu: 0 });
  assert.equal(s.lastRunStats!.bytesUploaded, 0);
});

gpuTest("a failing GPU node reports like a CPU one and the next run still works", async () => {
  const model = buildModel({
    nodes: [{ op: "MatMul", inputs: ["a", "b"], outputs: ["y"] }],
    inputs: [{ name: "a", type: "float32" }, { name: "b", type: "float32" }],
    outputs: ["y"],
  });
  const s = await InferenceSession.create(model, { backend: "webgpu" });
  await assert.rejects(
    s.run({ a: random("float32", [2, 3], 1), b: random("float32", [4, 2], 2) }),
    /inner dimensions differ/,
  );
  const ok = await s.run({ a: random("float32", [2, 3], 1), b: random("float32", [3, 2], 2) });
  assert.deepEqual((ok.y as Tensor).dims, [2, 2]);
  await s.release();
});

gpuTest("auto on a hardware adapter runs heavy nodes and their GPU-side neighbours", async () => {
  // Pretend the adapter is hardware; keep the software tiling so nothing slow compiles.
  const hw: Gpu = { ...gpu!, info: { ...gpu!.info, isFallbackAdapter: false } };
  setTilingOverride({ WG_X: 8, WG_Y: 8, RM: 2, RN: 4, TILE_K: 8 });
  try {
    const loaded = buildModel({
      nodes: [
        { op: "Neg", inputs: ["x"], outputs: ["n"] }, // light, CPU inputs: CPU
        { op: "MatMul", inputs: ["n", "W"], outputs: ["h"] }, // heavy: GPU
        { op: "Relu", inputs: ["h"], outputs: ["y"] }, // light, GPU input: GPU
      ],
      inputs: [{ name: "x", type: "float32" }],
      initializers: { W: random("float32", [4, 3], 1) },
      outputs: ["y"],
    });
    const env = {
      opsets: opsetMap(loaded.model.opsetImport),
      functions: new Map(),
      random: Math.random,
    };
    const plan = buildPlan(loaded.model.graph!, env, { isSubgraph: false, outer: new Set() });
    const ex = new GpuExecutor(hw, plan, { mode: "auto" });
    ex.beginRun();
    const x = random("float32", [2, 4], 2);
    const result = await runPlan(plan, new Map([["x", x]]), undefined, { ...env, executor: ex });
    const out = await ex.finishRun(result, ["y"], () => "cpu");
    ex.endRun();
    assert.deepEqual(ex.stats.placement.map((p) => p.backend), ["cpu", "webgpu", "webgpu"]);
    assert.match(ex.stats.placement[0].reason!, /light node with CPU inputs/);
    const cpu = await InferenceSession.create(loaded, { backend: "cpu" });
    const want = (await cpu.run({ x })).y as Tensor;
    const got = out.get("y") as Tensor;
    const w = want.data as Float32Array, g = got.data as Float32Array;
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - g[i]) < 1e-5);
    ex.dispose();
  } finally {
    setTilingOverride(undefined);
  }
});
