/**
 * The quantized and integer WebGPU kernels against the CPU kernels, bit for bit: Quantize-,
 * Dequantize- and DynamicQuantizeLinear, QLinearConv, ConvInteger, QLinearMatMul,
 * MatMulInteger and the com.microsoft QLinearAdd, QLinearMul, QLinearSigmoid and
 * QLinearGlobalAveragePool, on random inputs with odd sizes, zero points at the extremes of
 * their types, saturating values, per-axis / per-channel parameters and special floats, in
 * both int8 accumulation modes (exact, and x86-u8s8 with int16 pair saturation). Then the
 * quantized models of ../shared: the three MobileNetV2 variants (exact outputs, class 258,
 * placement, and the stored onnxruntime reference in x86-u8s8 mode) and resnet18 quantized
 * dynamically by the optimizer.
 */

import assert from "node:assert/strict";
import type { LoadedModel } from "../../pipeline/load/load.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { quantizeModel } from "../../pipeline/optimize/quantize.ts";
import { allclose } from "../../pipeline/compare.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import type { RunStats } from "../../pipeline/run/webgpu/executor.ts";
import type { DataType } from "../../pipeline/tensor/dtype.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import type { Int8Accumulation } from "../../ops/types.ts";
import { setTilingOverride } from "../../pipeline/run/webgpu/kernels/tiling.ts";
import { SHARED } from "../_shared_root.ts";
import { type AttrValue, buildModel, gpuTest, rng } from "./_harness.ts";

const MS = "com.microsoft";
const MODES: Int8Accumulation[] = ["exact", "x86-u8s8"];

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const RANGES: Partial<Record<DataType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
};

/**
 * Random integers of an 8-bit (or int32) type in [lo, hi] (default: the type's range), a share
 * `extreme` of them at the ends of the type's range (to saturate sums and pairs).
 */
function ints(
  type: "int8" | "uint8" | "int32",
  dims: number[],
  seed: number,
  options: { range?: [number, number]; extreme?: number } = {},
): Tensor {
  const r = rng(seed);
  const [tlo, thi] = RANGES[type]!;
  const [lo, hi] = options.range ?? [tlo, thi];
  const n = dims.reduce((a, b) => a * b, 1);
  const ctor = type === "int8" ? Int8Array : type === "uint8" ? Uint8Array : Int32Array;
  const data = new ctor(n);
  for (let i = 0; i < n; i++) {
    const e = r();
    data[i] = e < (options.extreme ?? 0) / 2
      ? tlo
      : e < (options.extreme ?? 0)
      ? thi
      : Math.floor(lo + (hi - lo + 1) * r());
  }
  return new Tensor(type, data, dims);
}

/** Random float32 values in [lo, hi). */
function floats(dims: number[], seed: number, lo = -2, hi = 2): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor("float32", Float32Array.from({ length: n }, () => lo + (hi - lo) * r()), dims);
}

function f32(values: number[], dims = [values.length]): Tensor {
  return new Tensor("float32", Float32Array.from(values), dims);
}

function i8(type: "int8" | "uint8" | "int32", values: number[], dims = [values.length]): Tensor {
  const ctor = type === "int8" ? Int8Array : type === "uint8" ? Uint8Array : Int32Array;
  return new Tensor(type, ctor.from(values), dims);
}

/** Float32 special values written over `t` at fixed places. */
function specials(t: Tensor): Tensor {
  const d = Float32Array.from(t.data as Float32Array);
  const s = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30, 1e-30, -1.4e-45, 3.4e38];
  for (let i = 0; i < s.length && i * 5 < d.length; i++) d[i * 5] = s[i];
  return new Tensor("float32", d, t.dims);
}

// ---------------------------------------------------------------------------------------------
// Models and comparison
// ---------------------------------------------------------------------------------------------

interface OpOptions {
  domain?: string;
  opset?: number;
  outputs?: number;
  /** Input indices stored as initializers (the others are fed). */
  consts?: number[];
}

/** A one-node model: inputs x0, x1... (fed or initializers), outputs y0, y1... */
function opModel(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue> = {},
  options: OpOptions = {},
): { model: LoadedModel; feeds: Record<string, Tensor> } {
  const consts = new Set(options.consts ?? []);
  const names = inputs.map((t, i) => (t ? `x${i}` : ""));
  const outs = Array.from({ length: options.outputs ?? 1 }, (_, i) => `y${i}`);
  const feeds: Record<string, Tensor> = {};
  const initializers: Record<string, Tensor> = {};
  inputs.forEach((t, i) => {
    if (t && consts.has(i)) initializers[`x${i}`] = t;
    else if (t) feeds[`x${i}`] = t;
  });
  const model = buildModel({
    nodes: [{ op, inputs: names, outputs: outs, attrs }],
    inputs: inputs.flatMap((
      t,
      i,
    ) => (t && !consts.has(i) ? [{ name: `x${i}`, type: t.type }] : [])),
    initializers,
    outputs: outs,
    opset: options.opset,
  });
  if (options.domain) {
    (model.model.graph!.node[0] as { domain: string }).domain = options.domain;
    model.model.opsetImport.push({ domain: options.domain, version: 1 });
  }
  return { model, feeds };
}

/** Bitwise equality of two tensors (NaN equals NaN). */
function assertSame(actual: Value, expected: Value, what: string): void {
  assert.ok(actual instanceof Tensor && expected instanceof Tensor, `${what}: not tensors`);
  assert.equal(actual.type, expected.type, `${what}: type`);
  assert.deepEqual([...actual.dims], [...expected.dims], `${what}: dims`);
  const a = actual.data as ArrayLike<number>, e = expected.data as ArrayLike<number>;
  assert.equal(a.length, e.length, `${what}: size`);
  const fa = actual.type === "float32" ? new Uint32Array((a as Float32Array).slice().buffer) : a;
  const fe = expected.type === "float32" ? new Uint32Array((e as Float32Array).slice().buffer) : e;
  let bad = 0, first = -1;
  for (let i = 0; i < a.length; i++) {
    if (fa[i] === fe[i] || (a[i] !== a[i] && e[i] !== e[i])) continue;
    if (first < 0) first = i;
    bad++;
  }
  assert.equal(
    bad,
    0,
    `${what}: ${bad} of ${a.length} differ, first at ${first}: ${a[first]} vs ${e[first]}`,
  );
}

/**
 * Runs a model on the CPU and on WebGPU (twice: the second run reuses kept uploads) in the
 * given accumulation mode, checks every node ran on the GPU (or `gpuNodes`), and compares
 * every output bit for bit.
 */
async function expectSame(
  m: { model: LoadedModel; feeds: Record<string, Tensor> },
  what: string,
  options: { mode?: Int8Accumulation; gpuNodes?: number } = {},
): Promise<void> {
  const mode = options.mode ?? "exact";
  const cpu = await InferenceSession.create(m.model, { backend: "cpu", int8Accumulation: mode });
  const expected = await cpu.run(m.feeds);
  const gpu = await InferenceSession.create(m.model, {
    backend: "webgpu",
    int8Accumulation: mode,
  });
  const want = options.gpuNodes ?? m.model.model.graph!.node.length;
  for (let run = 0; run < 2; run++) {
    const actual = await gpu.run(m.feeds);
    const stats = gpu.lastRunStats!;
    const why = stats.placement.filter((p) => p.backend === "cpu").map((p) => p.reason);
    assert.equal(stats.nodes.webgpu, want, `${what} (${mode}): GPU nodes (${why.join("; ")})`);
    for (const name of cpu.outputNames) {
      assertSame(actual[name], expected[name], `${what} (${mode}) output ${name}`);
    }
  }
  await gpu.release();
  await cpu.release();
}

/**
 * Runs `fn` with the adapter's own kernels, then with the workgroup-memory tiles forced (a
 * software adapter otherwise takes the register-blocked kernels, hardware the tiles).
 */
async function withTilings(fn: (label: string) => Promise<void>): Promise<void> {
  for (const t of [undefined, { WG_X: 8, WG_Y: 8, RM: 2, RN: 4, TILE_K: 8 }]) {
    setTilingOverride(t);
    try {
      await fn(t ? "tiled" : "default kernels");
    } finally {
      setTilingOverride(undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear
// ---------------------------------------------------------------------------------------------

gpuTest("webgpu QuantizeLinear matches the CPU bit for bit", async () => {
  // Ties: x / 2 is an odd half for odd x. Near-ties: multiples of 0.05 over 0.1.
  const ties = f32(Array.from({ length: 41 }, (_, i) => i - 20));
  const nearTies = f32(Array.from({ length: 61 }, (_, i) => Math.fround((i - 30) * 0.05)));
  const cases: [string, (Tensor | undefined)[], Record<string, AttrValue>, number?][] = [
    ["uint8 per tensor, specials", [
      specials(floats([3, 5, 7], 1, -300, 300)),
      f32([1.7], []),
      i8("uint8", [0], []),
    ], {}],
    ["uint8 zero point 255", [
      floats([2, 9, 3], 2, -600, 100),
      f32([2.3], []),
      i8("uint8", [255], []),
    ], {}],
    [
      "int8 zero point -128",
      [floats([31], 3, -50, 400), f32([1.5], []), i8("int8", [-128], [])],
      {},
    ],
    [
      "int8 zero point 127",
      [floats([4, 4, 3], 4, -400, 60), f32([1.9], []), i8("int8", [127], [])],
      {},
    ],
    ["exact ties", [ties, f32([2], []), i8("int8", [3], [])], {}],
    ["near ties", [nearTies, f32([0.1], []), i8("uint8", [100], [])], {}],
    ["no zero point", [floats([7, 3], 5, -10, 300), f32([0.37], [])], {}],
    ["tiny scale (saturates)", [floats([9], 6), f32([3.7e-20], []), i8("int8", [1], [])], {}],
    ["subnormal scale", [floats([9], 7, -1e-37, 1e-37), f32([1e-39], []), i8("int8", [0], [])], {}],
    ["huge scale", [floats([9], 8, -1e38, 1e38), f32([1e37], []), i8("uint8", [7], [])], {}],
    ["negative scale", [floats([11], 9, -100, 100), f32([-0.7], []), i8("int8", [-3], [])], {}],
    [
      "per axis 1",
      [
        specials(floats([2, 5, 3, 7], 10, -200, 200)),
        f32([0.5, 1.25, 3, 0.07, 9]),
        i8("int8", [-128, 127, 0, 5, -7]),
      ],
      { axis: { i: 1 } },
    ],
    [
      "per axis -1",
      [
        floats([3, 7], 11, -100, 500),
        f32([0.5, 1.5, 2.5, 0.3, 7, 1e-3, 40]),
        i8("uint8", [0, 255, 128, 1, 254, 9, 77]),
      ],
      { axis: { i: -1 } },
    ],
    ["opset 10", [floats([13], 12, -100, 100), f32([0.9], []), i8("uint8", [17], [])], {}, 10],
    [
      "output_dtype int8",
      [floats([13], 13, -100, 100), f32([0.9], [])],
      { output_dtype: { i: 3 } },
      21,
    ],
    ["empty", [floats([0, 3], 14), f32([0.9], []), i8("uint8", [17], [])], {}],
  ];
  for (const [what, inputs, attrs, opset] of cases) {
    await expectSame(opModel("QuantizeLinear", inputs, attrs, { opset }), `QuantizeLinear ${what}`);
  }
  // Initializer scales and zero points (uploaded once per session).
  await expectSame(
    opModel(
      "QuantizeLinear",
      [floats([5, 6], 15, -9, 9), f32([0.04], []), i8("int8", [3], [])],
      {},
      {
        consts: [1, 2],
      },
    ),
    "QuantizeLinear initializers",
  );
});

gpuTest("webgpu DequantizeLinear matches the CPU bit for bit", async () => {
  const big = i8("int32", [
    2147483647,
    -2147483648,
    -2147483647,
    0,
    1,
    -1,
    123456789,
    16777217,
    33554435,
  ]);
  const cases: [string, (Tensor | undefined)[], Record<string, AttrValue>, number?][] = [
    [
      "uint8 per tensor",
      [ints("uint8", [3, 5, 7], 1), f32([0.02], []), i8("uint8", [128], [])],
      {},
    ],
    ["int8 zero point -128", [ints("int8", [29], 2), f32([0.37], []), i8("int8", [-128], [])], {}],
    ["int8 no zero point", [ints("int8", [2, 11], 3), f32([1.3], [])], {}],
    [
      "int8 per axis 0, odd scales",
      [
        ints("int8", [4, 3, 5], 4),
        f32([1e-40, 3e38, -0.5, 0.0125]),
        i8("int8", [127, -128, 0, 9]),
      ],
      { axis: { i: 0 } },
    ],
    [
      "uint8 per axis -1",
      [ints("uint8", [2, 3, 4], 5), f32([0.1, 0.2, 0.3, 0.4]), i8("uint8", [0, 255, 1, 128])],
      { axis: { i: -1 } },
    ],
    ["int32 extremes", [big, f32([1e-3], []), i8("int32", [-2147483643], [])], {}],
    ["int32 per axis", [
      ints("int32", [3, 4], 6),
      f32([1e-9, 2e-5, 3, 7]),
      i8("int32", [5, -2147483648, 2147483647, 0]),
    ], { axis: { i: 1 } }],
    ["opset 10", [ints("uint8", [17], 7), f32([0.5], []), i8("uint8", [3], [])], {}, 10],
    ["empty", [ints("uint8", [2, 0], 8), f32([0.5], []), i8("uint8", [3], [])], {}],
  ];
  for (const [what, inputs, attrs, opset] of cases) {
    await expectSame(
      opModel("DequantizeLinear", inputs, attrs, { opset }),
      `DequantizeLinear ${what}`,
    );
  }
});

gpuTest("webgpu Quantize/DequantizeLinear leave blocked and 16-bit forms to the CPU", async () => {
  const blocked = opModel(
    "DequantizeLinear",
    [
      ints("int8", [4, 6], 1),
      floats([4, 3], 2, 0.1, 1),
      ints("int8", [4, 3], 3),
    ],
    { axis: { i: 1 }, block_size: { i: 2 } },
    { opset: 21 },
  );
  await expectSame(blocked, "blocked DequantizeLinear", { gpuNodes: 0 });
  const q16 = opModel("QuantizeLinear", [floats([9], 4, -9, 9), f32([0.01], [])], {
    output_dtype: { i: 5 },
  }, { opset: 21 });
  await expectSame(q16, "QuantizeLinear to int16", { gpuNodes: 0 });
});

gpuTest("webgpu DynamicQuantizeLinear matches the CPU bit for bit", async () => {
  const cases: [string, Tensor][] = [
    ["odd shape", floats([3, 5, 7], 1, -3, 5)],
    ["many partial ranges", floats([100003], 2, -0.7, 11)],
    ["all positive", floats([41], 3, 2, 9)],
    ["all negative", floats([41], 4, -9, -2)],
    ["all zero", f32(new Array(10).fill(0))],
    ["single element", f32([-0.3])],
    ["with NaN", f32([NaN, 1.5, -2.25, NaN, 0.1, 7])],
    ["huge range", f32([3e38, -3e38, 1, -1, 0.5])],
    ["infinite", f32([Infinity, -2, 1, 3])],
    ["both infinities", f32([Infinity, -Infinity, 1])],
    ["empty", floats([0, 4], 5)],
  ];
  for (const [what, x] of cases) {
    await expectSame(
      opModel("DynamicQuantizeLinear", [x], {}, { outputs: 3 }),
      `DynamicQuantizeLinear ${what}`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Convolutions
// ---------------------------------------------------------------------------------------------

interface ConvCase {
  what: string;
  x: [DataType & ("int8" | "uint8"), number[]];
  w: [DataType & ("int8" | "uint8"), number[]];
  out?: "int8" | "uint8";
  bias?: boolean | number[];
  perChannel?: boolean;
  attrs?: Record<string, AttrValue>;
}

const CONV_CASES: ConvCase[] = [
  {
    what: "implicit GEMM, pads, per-channel w",
    x: ["uint8", [1, 32, 9, 9]],
    w: ["int8", [32, 32, 3, 3]],
    bias: true,
    perChannel: true,
    attrs: { pads: { ints: [1, 1, 1, 1] } },
  },
  {
    what: "implicit GEMM, odd K, strides",
    x: ["uint8", [2, 3, 11, 9]],
    w: ["int8", [17, 3, 3, 3]],
    bias: true,
    attrs: { strides: { ints: [2, 1] }, pads: { ints: [0, 1, 2, 1] } },
  },
  {
    what: "depthwise",
    x: ["uint8", [2, 8, 7, 9]],
    w: ["int8", [8, 1, 3, 3]],
    bias: true,
    perChannel: true,
    attrs: { group: { i: 8 }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } },
  },
  {
    what: "groups with few channels",
    x: ["uint8", [1, 6, 6, 5]],
    w: ["int8", [6, 3, 3, 2]],
    out: "int8",
    attrs: { group: { i: 2 }, auto_pad: { s: "SAME_UPPER" } },
  },
  {
    what: "1-D int8, dilation",
    x: ["int8", [2, 5, 11]],
    w: ["int8", [17, 5, 3]],
    bias: true,
    attrs: { dilations: { ints: [2] }, pads: { ints: [1, 2] } },
  },
  { what: "pointwise uint8 weights", x: ["uint8", [1, 4, 5, 5]], w: ["uint8", [20, 4, 1, 1]] },
  {
    what: "bias at the int32 extremes",
    x: ["uint8", [1, 16, 5, 5]],
    w: ["int8", [16, 16, 3, 3]],
    bias: [2147483647, -2147483648, 2147483000, -2147483000, 5, -5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10],
    out: "int8",
  },
];

function convInputs(c: ConvCase, seed: number, qlinear: boolean, rand: () => number) {
  const [xt, xd] = c.x;
  const [wt, wd] = c.w;
  const M = wd[0];
  const x = ints(xt, xd, seed, { extreme: 0.3 });
  const w = ints(wt, wd, seed + 1, { extreme: 0.3 });
  const zp = (t: "int8" | "uint8", n: number, s: number) =>
    ints(t, n === 1 ? [] : [n], s, { extreme: 0.5 });
  const xz = zp(xt, 1, seed + 2);
  const wz = zp(wt, c.perChannel ? M : 1, seed + 3);
  if (!qlinear) return [x, w, xz, wz];
  const out = c.out ?? xt;
  const ws = c.perChannel
    ? f32(Array.from({ length: M }, () => 0.001 + 0.02 * rand()))
    : f32([0.013], []);
  const bias = c.bias === undefined || c.bias === false
    ? undefined
    : Array.isArray(c.bias)
    ? i8("int32", c.bias)
    : ints("int32", [M], seed + 4, { range: [-20000, 20000] });
  return [x, f32([0.02], []), xz, w, ws, wz, f32([0.37], []), zp(out, 1, seed + 5), bias];
}

gpuTest("webgpu QLinearConv matches the CPU bit for bit in both accumulation modes", async () => {
  const rand = rng(7);
  let seed = 100;
  for (const c of CONV_CASES) {
    const inputs = convInputs(c, seed += 10, true, rand);
    await withTilings(async (tiles) => {
      for (const mode of MODES) {
        const what = `QLinearConv ${c.what} (${tiles})`;
        await expectSame(opModel("QLinearConv", inputs, c.attrs), what, { mode });
      }
    });
  }
  // Initializer weights and scales, as in real models (the scale table is kept).
  const c = CONV_CASES[0];
  await expectSame(
    opModel("QLinearConv", convInputs(c, 999, true, rand), c.attrs, {
      consts: [1, 3, 4, 5, 6, 7, 8],
    }),
    "QLinearConv initializers",
  );
});

gpuTest("webgpu ConvInteger matches the CPU bit for bit in both accumulation modes", async () => {
  const rand = rng(8);
  const cases: ConvCase[] = [
    {
      what: "int8 x, uint8 w (x86 pairs)",
      x: ["int8", [1, 5, 7, 7]],
      w: ["uint8", [18, 5, 3, 3]],
      perChannel: true,
      attrs: { pads: { ints: [1, 0, 1, 2] } },
    },
    {
      what: "depthwise int8 x, uint8 w",
      x: ["int8", [1, 4, 6, 6]],
      w: ["uint8", [4, 1, 3, 3]],
      attrs: { group: { i: 4 } },
    },
    {
      what: "uint8 x, int8 w",
      x: ["uint8", [2, 3, 8, 6]],
      w: ["int8", [16, 3, 2, 2]],
      attrs: { strides: { ints: [2, 2] } },
    },
    {
      what: "1-D, few channels",
      x: ["int8", [1, 3, 12]],
      w: ["uint8", [5, 3, 4]],
      perChannel: true,
      attrs: { pads: { ints: [2, 1] } },
    },
  ];
  let seed = 300;
  for (const c of cases) {
    const inputs = convInputs(c, seed += 10, false, rand);
    await withTilings(async (tiles) => {
      for (const mode of MODES) {
        const what = `ConvInteger ${c.what} (${tiles})`;
        await expectSame(opModel("ConvInteger", inputs, c.attrs), what, { mode });
      }
    });
  }
  // Omitted zero points.
  await expectSame(
    opModel("ConvInteger", [ints("uint8", [1, 2, 5, 5], 1), ints("int8", [3, 2, 3, 3], 2)]),
    "ConvInteger without zero points",
  );
});

// ---------------------------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------------------------

interface ProductCase {
  what: string;
  a: ["int8" | "uint8", number[]];
  b: ["int8" | "uint8", number[]];
  /** Zero points per row of A / column of B. */
  rows?: boolean;
  cols?: boolean;
}

const PRODUCT_CASES: ProductCase[] = [
  { what: "2-D", a: ["uint8", [5, 37]], b: ["int8", [37, 11]] },
  {
    what: "per row and column",
    a: ["uint8", [7, 33]],
    b: ["int8", [33, 9]],
    rows: true,
    cols: true,
  },
  {
    what: "batched broadcast",
    a: ["int8", [2, 3, 4, 9]],
    b: ["int8", [3, 9, 6]],
    rows: true,
    cols: true,
  },
  { what: "1-D A", a: ["uint8", [13]], b: ["int8", [13, 7]] },
  { what: "1-D B", a: ["uint8", [3, 13]], b: ["uint8", [13]] },
  { what: "int8 A, uint8 B", a: ["int8", [6, 40]], b: ["uint8", [40, 20]], cols: true },
  { what: "long K", a: ["uint8", [3, 1000]], b: ["int8", [1000, 5]] },
];

function productShape(c: ProductCase): [number, number] {
  const [, ad] = c.a, [, bd] = c.b;
  return [ad.length > 1 ? ad[ad.length - 2] : 1, bd.length > 1 ? bd[bd.length - 1] : 1];
}

gpuTest("webgpu MatMulInteger matches the CPU bit for bit in both accumulation modes", async () => {
  let seed = 500;
  for (const c of PRODUCT_CASES) {
    const [M, N] = productShape(c);
    seed += 10;
    const inputs = [
      ints(c.a[0], c.a[1], seed, { extreme: 0.4 }),
      ints(c.b[0], c.b[1], seed + 1, { extreme: 0.4 }),
      ints(c.a[0], c.rows ? [M] : [], seed + 2, { extreme: 0.5 }),
      ints(c.b[0], c.cols ? [N] : [], seed + 3, { extreme: 0.5 }),
    ];
    await withTilings(async (tiles) => {
      for (const mode of MODES) {
        const what = `MatMulInteger ${c.what} (${tiles})`;
        await expectSame(opModel("MatMulInteger", inputs), what, { mode });
      }
    });
  }
  await expectSame(
    opModel("MatMulInteger", [ints("uint8", [4, 6], 1), ints("int8", [6, 3], 2)]),
    "MatMulInteger without zero points",
  );
});

gpuTest("webgpu QLinearMatMul matches the CPU bit for bit in both accumulation modes", async () => {
  let seed = 700;
  const rand = rng(9);
  const scales = (n: number, base: number) =>
    n > 1 ? f32(Array.from({ length: n }, () => base * (0.5 + rand()))) : f32([base], []);
  for (const c of PRODUCT_CASES) {
    const [M, N] = productShape(c);
    seed += 10;
    const out = seed % 20 === 0 ? "int8" : "uint8";
    const inputs = [
      ints(c.a[0], c.a[1], seed, { extreme: 0.4 }),
      scales(c.rows ? M : 1, 0.02),
      ints(c.a[0], c.rows ? [M] : [], seed + 2, { extreme: 0.5 }),
      ints(c.b[0], c.b[1], seed + 1, { extreme: 0.4 }),
      scales(c.cols ? N : 1, 0.01),
      ints(c.b[0], c.cols ? [N] : [], seed + 3, { extreme: 0.5 }),
      scales(c.rows ? M : 1, c.what === "long K" ? 3 : 0.2),
      ints(out, c.rows ? [M] : [], seed + 4, { extreme: 0.5 }),
    ];
    await withTilings(async (tiles) => {
      for (const mode of MODES) {
        const what = `QLinearMatMul ${c.what} (${tiles})`;
        await expectSame(opModel("QLinearMatMul", inputs), what, { mode });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// com.microsoft
// ---------------------------------------------------------------------------------------------

gpuTest("webgpu QLinearAdd and QLinearMul match the CPU bit for bit", async () => {
  const cases: [string, "int8" | "uint8", number[], number[]][] = [
    ["same shape", "uint8", [3, 5, 7], [3, 5, 7]],
    ["broadcast", "int8", [2, 3, 5], [3, 1]],
    ["single A", "uint8", [1], [4, 9]],
    ["single B", "int8", [2, 11], []],
    ["empty", "uint8", [0, 3], [3]],
  ];
  let seed = 900;
  for (const op of ["QLinearAdd", "QLinearMul"]) {
    for (const [what, t, ad, bd] of cases) {
      seed += 10;
      const zp = (s: number) => ints(t, [], s, { extreme: 0.6 });
      const inputs = [
        ints(t, ad, seed, { extreme: 0.3 }),
        f32([0.031], []),
        zp(seed + 1),
        ints(t, bd, seed + 2, { extreme: 0.3 }),
        f32([op === "QLinearAdd" ? 0.047 : 0.0093], []),
        zp(seed + 3),
        f32([op === "QLinearAdd" ? 0.05 : 0.013], []),
        zp(seed + 4),
      ];
      await expectSame(opModel(op, inputs, {}, { domain: MS }), `${op} ${what}`);
    }
  }
  // Scales whose ratios make many results land near .5 (round half to even).
  await expectSame(
    opModel(
      "QLinearAdd",
      [
        ints("uint8", [64], 1),
        f32([0.5], []),
        i8("uint8", [0], []),
        ints("uint8", [64], 2),
        f32([0.25], []),
        i8("uint8", [1], []),
        f32([1], []),
        i8("uint8", [0], []),
      ],
      {},
      { domain: MS, consts: [1, 2, 4, 5, 6, 7] },
    ),
    "QLinearAdd ties",
  );
  // The CPU rounds a * rA + t to float64, then to float32: for a = 3, rA = 9786709 * 2^-23
  // (a * rA = 3.5 - 2^-23, a float32 tie) and a tiny negative t (b * rB - fround(b * rB)
  // for b = zB = 9), that gives 3.5 and then 4, where a single rounding would give 3.
  const doubleRounding = opModel(
    "QLinearAdd",
    [
      i8("uint8", [3, 3, 5, 3, 2]),
      f32([9786709 * 2 ** -23], []),
      i8("uint8", [0], []),
      i8("uint8", [9, 9, 9, 1, 9]),
      f32([1e-10], []),
      i8("uint8", [9], []),
      f32([1], []),
      i8("uint8", [0], []),
    ],
    {},
    { domain: MS },
  );
  const cpu = await InferenceSession.create(doubleRounding.model, { backend: "cpu" });
  const y = (await cpu.run(doubleRounding.feeds)).y0 as Tensor;
  assert.equal((y.data as Uint8Array)[0], 4, "the CPU kernel's double rounding");
  await cpu.release();
  await expectSame(doubleRounding, "QLinearAdd double rounding");
});

gpuTest(
  "webgpu QLinearSigmoid and QLinearGlobalAveragePool match the CPU bit for bit",
  async () => {
    for (const t of ["int8", "uint8"] as const) {
      await expectSame(
        opModel(
          "QLinearSigmoid",
          [
            ints(t, [4, 7], 1),
            f32([0.07], []),
            ints(t, [], 2),
            f32([1 / 256], []),
            i8(t, [t === "int8" ? -128 : 0], []),
          ],
          {},
          { domain: MS },
        ),
        `QLinearSigmoid ${t}`,
      );
    }
    const cases: [string, "int8" | "uint8", number[], number][] = [
      ["NCHW uint8", "uint8", [2, 5, 3, 3], 0],
      ["NCHW int8, 1-D", "int8", [3, 7, 10], 0],
      ["channels last int8", "int8", [2, 4, 3, 6], 1],
      ["large planes", "uint8", [1, 3, 40, 40], 0],
    ];
    let seed = 20;
    for (const [what, t, dims, last] of cases) {
      seed += 10;
      await expectSame(
        opModel(
          "QLinearGlobalAveragePool",
          [
            ints(t, dims, seed),
            f32([0.05], []),
            ints(t, [], seed + 1, { extreme: 0.5 }),
            f32([0.03], []),
            ints(t, [], seed + 2, { extreme: 0.5 }),
          ],
          { channels_last: { i: last } },
          { domain: MS },
        ),
        `QLinearGlobalAveragePool ${what}`,
      );
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

const PRETRAINED = `${SHARED}/pretrained`;
const RESNET18 = `${SHARED}/models/resnet18`;
const SAMOYED = 258;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Share of the nodes that are not shape plumbing that ran on the GPU. */
function gpuShare(stats: RunStats, model: LoadedModel): number {
  const shapeOps = new Set(["Shape", "Size", "Constant", "ConstantOfShape"]);
  const int64 = new Set<string>();
  // Values computed from shapes: outputs of shape ops and of nodes reading only those.
  const graph = model.model.graph!;
  for (const n of graph.node) {
    const fromShapes = shapeOps.has(n.opType) ||
      (n.input.some((i) => int64.has(i)) && n.input.every((i) =>
        !i || int64.has(i) ||
        graph.initializer.some((t) => t.name === i && t.dataType === 7)
      ));
    if (fromShapes) { for (const o of n.output) int64.add(o); }
  }
  const byName = new Map(graph.node.map((n, i) => [n.name || `#${i}`, n]));
  const counted = stats.placement.filter((p) => {
    const node = byName.get(p.node)!;
    return !(shapeOps.has(p.opType) || node.output.every((o) => int64.has(o)));
  });
  return counted.filter((p) => p.backend === "webgpu").length / counted.length;
}

function argmax(t: Tensor): number {
  const d = t.data as Float32Array;
  let best = 0;
  for (let i = 1; i < d.length; i++) if (d[i] > d[best]) best = i;
  return best;
}

for (const name of ["mobilenetv2_int8", "mobilenetv2_int8_stdops", "mobilenetv2_int8w_floatact"]) {
  const dir = `${PRETRAINED}/${name}`;
  const have = exists(`${dir}/model.onnx`);
  if (!have) console.log(`skip webgpu ${name}: ${dir} is absent`);
  const floatAct = name.endsWith("floatact");
  gpuTest(
    `webgpu ${name}: the CPU's output (exact), the reference (x86-u8s8), class 258`,
    async () => {
      if (!have) return;
      const loaded = await loadModel(`${dir}/model.onnx`);
      const x = decodeValueFile(Deno.readFileSync(`${dir}/test_data_set_0/input_0.pb`)) as Tensor;
      const ref = decodeValueFile(
        Deno.readFileSync(`${dir}/test_data_set_0/output_0.pb`),
      ) as Tensor;
      for (const mode of MODES) {
        const cpu = await InferenceSession.create(loaded, {
          backend: "cpu",
          int8Accumulation: mode,
        });
        const gpu = await InferenceSession.create(loaded, {
          backend: "webgpu",
          int8Accumulation: mode,
        });
        const feeds = { [cpu.inputNames[0]]: x };
        const expected = (await cpu.run(feeds))[cpu.outputNames[0]] as Tensor;
        const t0 = performance.now();
        const actual = (await gpu.run(feeds))[gpu.outputNames[0]] as Tensor;
        const ms = performance.now() - t0;
        const share = gpuShare(gpu.lastRunStats!, loaded);
        console.log(
          `${name} (${mode}): ${(100 * share).toFixed(1)}% of non-shape nodes on the GPU, ${
            ms.toFixed(0)
          } ms`,
        );
        assert.ok(share >= 0.9, `${name}: ${(100 * share).toFixed(1)}% on the GPU`);
        assert.equal(argmax(actual), SAMOYED);
        if (floatAct) {
          // Float convolutions and sums differ from the CPU's in the last bits (order of
          // additions); the int8 weights' DequantizeLinear outputs are checked exactly below.
          const r = allclose(actual, expected, { rtol: 1e-3, atol: 1e-4 });
          assert.ok(r.ok, `${name} (${mode}) against the CPU: ${r.message}`);
        } else {
          assertSame(actual, expected, `${name} (${mode}) against the CPU`);
        }
        if (mode === "x86-u8s8") {
          const r = allclose(actual, ref, { rtol: 1e-3, atol: 1e-4 });
          assert.ok(r.ok, `${name} (${mode}) against the stored reference: ${r.message}`);
        }
        await gpu.release();
        await cpu.release();
      }
      if (floatAct) {
        // Every DequantizeLinear output, exactly.
        const graph = loaded.model.graph!;
        const dq = graph.node.filter((n) => n.opType === "DequantizeLinear").map((n) =>
          n.output[0]
        );
        graph.output = dq.map((o) => ({ name: o, docString: "", metadataProps: [] }));
        const cpu = await InferenceSession.create(loaded, { backend: "cpu" });
        const gpu = await InferenceSession.create(loaded, { backend: "webgpu" });
        const expected = await cpu.run({ [cpu.inputNames[0]]: x });
        const actual = await gpu.run({ [gpu.inputNames[0]]: x });
        assert.equal(dq.length, 53);
        for (const o of dq) assertSame(actual[o], expected[o], `${name} ${o}`);
        assert.equal(
          gpu.lastRunStats!.placement.filter((p) =>
            p.opType === "DequantizeLinear" && p.backend === "webgpu"
          ).length,
          53,
        );
        await gpu.release();
        await cpu.release();
      }
    },
  );
}

const haveResnet = exists(`${RESNET18}/model.onnx`);
if (!haveResnet) console.log(`skip webgpu resnet18 dynamic int8: ${RESNET18} is absent`);

gpuTest(
  "webgpu resnet18 quantized dynamically: every node on the GPU, quantized nodes exact",
  async () => {
    if (!haveResnet) return;
    const loaded = await loadModel(`${RESNET18}/model.onnx`);
    await quantizeModel(loaded.model, { mode: "dynamic" }, loaded.external);
    const graph = loaded.model.graph!;
    const finalOutput = graph.output[0].name;
    // Every intermediate value is an output, so each node can be checked given equal inputs.
    const names = graph.node.flatMap((n) => n.output.filter((o) => o));
    graph.output = names.map((o) => ({ name: o, docString: "", metadataProps: [] }));
    const x = decodeValueFile(
      Deno.readFileSync(`${RESNET18}/test_data_set_0/input_0.pb`),
    ) as Tensor;
    const cpu = await InferenceSession.create(loaded, { backend: "cpu" });
    const gpu = await InferenceSession.create(loaded, { backend: "webgpu" });
    const expected = await cpu.run({ input: x });
    const t0 = performance.now();
    const actual = await gpu.run({ input: x });
    const ms = performance.now() - t0;
    const stats = gpu.lastRunStats!;
    console.log(
      `resnet18 dynamic int8: ${stats.nodes.webgpu} of ${graph.node.length} nodes on the GPU, ${
        ms.toFixed(0)
      } ms`,
    );
    assert.equal(stats.nodes.cpu, 0);
    const quantOps = new Set(["DynamicQuantizeLinear", "ConvInteger", "MatMulInteger"]);
    const same = (o: string) => {
      const a = actual[o] as Tensor, e = expected[o] as Tensor;
      const ad = a.data as ArrayLike<number>, ed = e.data as ArrayLike<number>;
      for (
        let i = 0;
        i < ad.length;
        i++
      ) if (ad[i] !== ed[i] && !(ad[i] !== ad[i] && ed[i] !== ed[i])) return false;
      return true;
    };
    let checked = 0;
    for (const n of graph.node) {
      if (!quantOps.has(n.opType)) continue;
      if (!n.input.every((i) => !i || !(i in expected) || same(i))) continue;
      for (const o of n.output) assertSame(actual[o], expected[o], `resnet18 ${n.opType} ${o}`);
      checked++;
    }
    // The float GlobalAveragePool adds in another order than the CPU: only the nodes after it
    // see different inputs.
    assert.ok(checked >= 38, `only ${checked} quantized nodes had the CPU's inputs`);
    const r = allclose(actual[finalOutput], expected[finalOutput], { rtol: 1e-3, atol: 1e-4 });
    assert.ok(r.ok, `resnet18 dynamic int8 output: ${r.message}`);
    await gpu.release();
    await cpu.release();
  },
);
