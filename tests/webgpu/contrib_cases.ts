/**
 * The com.microsoft ops the optimizer emits, on the GPU against the CPU kernels: FusedConv
 * with every activation, bias and Z; FusedGemm with every activation the GPU applies, Gemm's
 * transposes, alpha, beta and C broadcasts (its other activations stay on the CPU); FusedMatMul with alpha and transposes (batched,
 * broadcast, 1-D operands); Gelu, BiasGelu and FastGelu with and without bias. Also Cast to
 * and from float16 bits as the GPU computes them (f16_bits), checked on this adapter even
 * without shader-f16.
 */

import assert from "node:assert/strict";
import type { LoadedModel } from "../../pipeline/load/load.ts";
import type { Tensor } from "../../pipeline/tensor/tensor.ts";
import { numberToFloat16 } from "../../pipeline/tensor/float.ts";
import { SHADER_REGIONS } from "../../pipeline/run/webgpu/shaders_gen.ts";
import { setTilingOverride } from "../../pipeline/run/webgpu/kernels/tiling.ts";
import {
  type AttrValue,
  compareBackends,
  gpu,
  gpuTest,
  nodeModel,
  random,
  withSpecials,
} from "./_harness.ts";

/** A one-node com.microsoft model. */
function msModel(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue> = {},
): { model: LoadedModel; feeds: Record<string, Tensor> } {
  const m = nodeModel(op, inputs, attrs, { opset: 17 });
  m.model.model.graph!.node[0].domain = "com.microsoft";
  m.model.model.opsetImport.push({ domain: "com.microsoft", version: 1 });
  return m;
}

gpuTest("webgpu com.microsoft.FusedConv matches the CPU for every activation", async () => {
  const acts: Record<string, AttrValue>[] = [
    {},
    { activation: { s: "Relu" } },
    { activation: { s: "Tanh" } },
    { activation: { s: "Sigmoid" } },
    { activation: { s: "LeakyRelu" }, activation_params: { floats: [0.2] } },
    { activation: { s: "Clip" }, activation_params: { floats: [-0.5, 0.7] } },
    { activation: { s: "HardSigmoid" }, activation_params: { floats: [0.3, 0.4] } },
  ];
  let seed = 1;
  for (const attrs of acts) {
    // Every kernel: tiled or register-blocked (8, 4, 2 or 1 output channels per invocation,
    // blocks cut at the edges) and one output per invocation (depthwise), with Z.
    const shapes = [
      [[1, 4, 9, 9], [32, 4, 3, 3], 1],
      [[2, 6, 7, 8], [6, 1, 3, 3], 6],
      [[1, 16, 7, 5], [6, 16, 3, 3], 1],
      [[1, 16, 6, 6], [4, 8, 3, 3], 2],
      [[1, 16, 5, 7], [2, 8, 3, 3], 2],
      [[2, 9, 5, 5], [12, 9, 3, 3], 1],
    ] as const;
    for (const [x, w, group] of shapes) {
      const a = { ...attrs, pads: { ints: [1, 1, 1, 1] }, group: { i: group } };
      const M = w[0];
      const X = random("float32", [...x], seed++);
      const W = random("float32", [...w], seed++, [-0.5, 0.5]);
      const B = random("float32", [M], seed++);
      const Z = random("float32", [x[0], M, x[2], x[3]], seed++);
      for (const inputs of [[X, W], [X, W, B], [X, W, B, Z], [X, W, undefined, Z]]) {
        const { model, feeds } = msModel("FusedConv", inputs, a);
        await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
      }
    }
  }
});

gpuTest("webgpu com.microsoft.FusedGemm matches the CPU for every activation", async () => {
  const acts: Record<string, AttrValue>[] = [
    {},
    { activation: { s: "Relu" } },
    { activation: { s: "Tanh" } },
    { activation: { s: "Sigmoid" } },
    { activation: { s: "LeakyRelu" }, activation_alpha: { f: 0.2 } },
    { activation: { s: "LeakyRelu" } },
    { activation: { s: "HardSigmoid" }, activation_alpha: { f: 0.3 }, activation_beta: { f: 0.4 } },
    { activation: { s: "HardSigmoid" } },
  ];
  // [A, B, C or undefined, Gemm attributes]: odd sizes around the tiles, every C broadcast.
  const shapes: [number[], number[], number[] | undefined, Record<string, AttrValue>][] = [
    [[5, 7], [7, 3], [3], {}],
    [[7, 5], [7, 3], [5, 1], { transA: { i: 1 }, alpha: { f: 0.5 } }],
    [[5, 7], [3, 7], [5, 3], { transB: { i: 1 }, beta: { f: -2 } }],
    [[33, 70], [65, 70], [65], { transB: { i: 1 }, alpha: { f: 0.25 }, beta: { f: 0.5 } }],
    [[9, 17], [17, 11], undefined, { alpha: { f: 2 } }],
    [[4, 6], [6, 5], [1], { transA: { i: 0 } }],
  ];
  let seed = 40;
  for (const attrs of acts) {
    for (const [a, b, c, gemm] of shapes) {
      const A = withSpecials(random("float32", a, seed++, [-3, 3]));
      const inputs = [
        A,
        random("float32", b, seed++),
        c ? random("float32", c, seed++) : undefined,
      ];
      const { model, feeds } = msModel("FusedGemm", inputs, { ...gemm, ...attrs });
      await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
    }
  }
  // The tiled kernel hardware adapters use (forced here, as a software adapter gets the
  // register-blocked one).
  setTilingOverride({ WG_X: 8, WG_Y: 8, RM: 4, RN: 4, TILE_K: 8 });
  try {
    for (const attrs of acts) {
      const { model, feeds } = msModel("FusedGemm", [
        withSpecials(random("float32", [19, 37], seed++, [-3, 3])),
        random("float32", [45, 19], seed++),
        random("float32", [45], seed++),
      ], { ...attrs, transA: { i: 1 }, transB: { i: 1 }, alpha: { f: 0.5 } });
      await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
    }
  } finally {
    setTilingOverride(undefined);
  }
  // Activations fused_activation lacks run on the CPU (the whole node).
  const { model, feeds } = msModel("FusedGemm", [
    random("float32", [3, 4], 60),
    random("float32", [4, 2], 61),
  ], { activation: { s: "Elu" }, activation_alpha: { f: 1 } });
  await compareBackends(model, feeds, { gpuNodes: 0 });
});

gpuTest("webgpu com.microsoft.FusedMatMul matches the CPU", async () => {
  const cases: [number[], number[], Record<string, AttrValue>][] = [
    [[5, 7], [7, 3], { alpha: { f: 0.5 } }],
    [[7, 5], [7, 3], { transA: { i: 1 } }],
    [[5, 7], [3, 7], { transB: { i: 1 }, alpha: { f: -2 } }],
    [[2, 3, 7, 5], [3, 4, 7], { transA: { i: 1 }, transB: { i: 1 }, alpha: { f: 0.125 } }],
    [[7], [2, 7, 3], {}],
    [[2, 1, 5, 6], [3, 6, 4], { alpha: { f: 3 } }],
    // B shared by every batch: the batches fold into M.
    [[4, 3, 5], [5, 6], {}],
    [[2, 3, 1, 9], [9, 7], { alpha: { f: 0.5 } }],
    [[4, 5, 3], [5, 6], { transA: { i: 1 } }],
  ];
  let seed = 10;
  for (const [a, b, attrs] of cases) {
    const { model, feeds } = msModel("FusedMatMul", [
      random("float32", a, seed++),
      random("float32", b, seed++),
    ], attrs);
    await compareBackends(model, feeds, { rtol: 1e-4, atol: 1e-5 });
  }
});

gpuTest("webgpu com.microsoft Gelu, BiasGelu and FastGelu match the CPU", async () => {
  const x = withSpecials(random("float32", [3, 4, 10], 20, [-6, 6]));
  const bias = random("float32", [10], 21);
  for (
    const [op, inputs] of [
      ["Gelu", [x]],
      ["BiasGelu", [x, bias]],
      ["FastGelu", [x]],
      ["FastGelu", [x, bias]],
      ["FastGelu", [random("float32", [10], 22), bias]],
    ] as const
  ) {
    const { model, feeds } = msModel(op, [...inputs]);
    await compareBackends(model, feeds, { rtol: 1e-5, atol: 1e-6 });
  }
});

gpuTest("f16_bits rounds float32 to float16 bits as the CPU's Cast does", async () => {
  const values: number[] = [
    0,
    -0,
    1,
    -1,
    0.1,
    65504,
    65519.99,
    65520,
    -65520,
    1e10,
    Infinity,
    -Infinity,
    NaN,
    6.1e-5,
    6.0e-5,
    5.96e-8,
    2.98e-8,
    2.99e-8,
    1e-9,
    1.00048828125,
    1.000732421875,
    3.14159,
  ];
  for (let i = 0; i < 2000; i++) values.push((Math.sin(i) * 10) ** 5 * 1e-4);
  const device = gpu!.device;
  const code = `${SHADER_REGIONS.f16_bits}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&x)) { y[id.x] = f16_bits(x[id.x]); }
}`;
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const input = Float32Array.from(values);
  const xb = device.createBuffer({ size: input.byteLength, usage: 0x80 | 0x08 });
  device.queue.writeBuffer(xb, 0, input);
  const yb = device.createBuffer({ size: input.byteLength, usage: 0x80 | 0x04 });
  const rb = device.createBuffer({ size: input.byteLength, usage: 0x01 | 0x08 });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: xb } }, { binding: 1, resource: { buffer: yb } }],
    }),
  );
  pass.dispatchWorkgroups(Math.ceil(input.length / 64));
  pass.end();
  enc.copyBufferToBuffer(yb, 0, rb, 0, input.byteLength);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(1);
  const got = new Uint32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of [xb, yb, rb]) b.destroy();
  for (let i = 0; i < input.length; i++) {
    const want = Number.isNaN(input[i]) ? 0x7e00 : numberToFloat16(input[i]);
    assert.equal(got[i], want, `f16_bits(${input[i]})`);
  }
});
