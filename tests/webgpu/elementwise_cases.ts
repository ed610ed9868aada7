/**
 * Every elementwise GPU kernel against the CPU kernel: each unary and binary op of the
 * elementwise table in every element type it runs for on the GPU, on random inputs with
 * NaN, infinities and signed zeros mixed in, broadcast shapes, size-0 and size-1 dims, a
 * dispatch over more than 65,535 workgroups, plus Where, Clip and Cast.
 */

import assert from "node:assert/strict";
import { BINARY, UNARY } from "../../ops/elementwise.ts";
import { gpuKernelFor } from "../../pipeline/run/webgpu/kernels.ts";
import type { DataType } from "../../pipeline/tensor/dtype.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  type AttrValue,
  compareBackends,
  gpu,
  gpuTest,
  nodeModel,
  random,
  withSpecials,
} from "./_harness.ts";

const OPSET = 24;

/** GPU element types each unary op runs in, the input range, and attributes. */
const UNARY_CASES: Record<
  string,
  { types: DataType[]; range?: [number, number]; attrs?: Record<string, AttrValue> }
> = {
  Abs: { types: ["float32", "int32", "uint32"] },
  Neg: { types: ["float32", "int32"] },
  Floor: { types: ["float32"] },
  Ceil: { types: ["float32"] },
  Round: { types: ["float32"], range: [-4, 4] },
  Sqrt: { types: ["float32"], range: [-1, 9] },
  Exp: { types: ["float32"], range: [-20, 20] },
  Log: { types: ["float32"], range: [-1, 100] },
  Reciprocal: { types: ["float32"] },
  Sigmoid: { types: ["float32"], range: [-30, 30] },
  Tanh: { types: ["float32"], range: [-12, 12] },
  Relu: { types: ["float32", "int32"] },
  Sign: { types: ["float32", "int32", "uint32"] },
  Erf: { types: ["float32"], range: [-4, 4] },
  Sin: { types: ["float32"], range: [-3, 3] },
  Cos: { types: ["float32"], range: [-3, 3] },
  Tan: { types: ["float32"], range: [-1.5, 1.5] },
  Asin: { types: ["float32"], range: [-1.2, 1.2] },
  Acos: { types: ["float32"], range: [-1.2, 1.2] },
  Atan: { types: ["float32"], range: [-10, 10] },
  Sinh: { types: ["float32"], range: [-5, 5] },
  Cosh: { types: ["float32"], range: [-5, 5] },
  Asinh: { types: ["float32"], range: [-50, 50] },
  Acosh: { types: ["float32"], range: [0.5, 50] },
  Atanh: { types: ["float32"], range: [-1.1, 1.1] },
  Softplus: { types: ["float32"], range: [-30, 30] },
  Softsign: { types: ["float32"] },
  Elu: { types: ["float32"], attrs: { alpha: { f: 0.7 } } },
  Selu: { types: ["float32"], attrs: { alpha: { f: 1.5 }, gamma: { f: 2 } } },
  LeakyRelu: { types: ["float32"], attrs: { alpha: { f: 0.1 } } },
  HardSigmoid: { types: ["float32"], range: [-8, 8], attrs: { alpha: { f: 0.3 } } },
  HardSwish: { types: ["float32"], range: [-8, 8] },
  ThresholdedRelu: { types: ["float32"], attrs: { alpha: { f: 0.5 } } },
  Celu: { types: ["float32"], attrs: { alpha: { f: 2 } } },
  Mish: { types: ["float32"], range: [-25, 25] },
  Shrink: { types: ["float32"], attrs: { lambd: { f: 0.7 }, bias: { f: 0.2 } } },
  Gelu: { types: ["float32"], range: [-6, 6] },
  Swish: { types: ["float32"], range: [-20, 20], attrs: { alpha: { f: 1.5 } } },
  Not: { types: ["bool"] },
  IsNaN: { types: ["float32"] },
  IsInf: { types: ["float32"], attrs: { detect_negative: { i: 0 } } },
  BitwiseNot: { types: ["int32", "uint32"] },
};

/** GPU element types each binary op runs in. */
const BINARY_CASES: Record<string, { types: DataType[]; attrs?: Record<string, AttrValue> }> = {
  Add: { types: ["float32", "int32", "uint32"] },
  Sub: { types: ["float32", "int32", "uint32"] },
  Mul: { types: ["float32", "int32", "uint32"] },
  Div: { types: ["float32", "int32", "uint32"] },
  Pow: { types: ["float32"] },
  Mod: { types: ["int32", "uint32"] },
  PRelu: { types: ["float32", "int32", "uint32"] },
  And: { types: ["bool"] },
  Or: { types: ["bool"] },
  Xor: { types: ["bool"] },
  Equal: { types: ["float32", "int32", "uint32", "bool"] },
  Less: { types: ["float32", "int32", "uint32"] },
  LessOrEqual: { types: ["float32", "int32", "uint32"] },
  Greater: { types: ["float32", "int32", "uint32"] },
  GreaterOrEqual: { types: ["float32", "int32", "uint32"] },
  BitShift: { types: ["uint32"], attrs: { direction: { s: "LEFT" } } },
  BitwiseAnd: { types: ["int32", "uint32"] },
  BitwiseOr: { types: ["int32", "uint32"] },
  BitwiseXor: { types: ["int32", "uint32"] },
};

/** Rows of the table without a GPU form, and why. */
const CPU_ONLY: Record<string, string> = {
  Mod: "float Mod has no exact WGSL form (a - b * trunc(a / b) loses digits); integer Mod runs",
};

Deno.test("every elementwise table row has a GPU kernel and a test here", () => {
  for (const r of UNARY) {
    if (r.domain) continue;
    assert.ok(gpuKernelFor(r.op), `${r.op} has no GPU kernel`);
    assert.ok(UNARY_CASES[r.op], `${r.op} is not tested`);
  }
  for (const r of BINARY) {
    assert.ok(gpuKernelFor(r.op), `${r.op} has no GPU kernel`);
    assert.ok(BINARY_CASES[r.op], `${r.op} is not tested`);
  }
  assert.ok(CPU_ONLY.Mod);
});

/**
 * Ops whose WGSL builtins have unbounded error for huge arguments (WGSL specifies sin, cos
 * and tan to 2^-11 absolute inside [-π, π] only): tested without the ±1e30 specials.
 */
const HUGE_ARGUMENT_EXEMPT = new Set(["Sin", "Cos", "Tan"]);

function input(
  type: DataType,
  dims: number[],
  seed: number,
  range?: [number, number],
  op = "",
): Tensor {
  if (type === "float32") {
    const t = withSpecials(random(type, dims, seed, range ?? [-3, 3]));
    if (HUGE_ARGUMENT_EXEMPT.has(op)) {
      const d = t.data as Float32Array;
      for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) > 1e20) d[i] = 0.25;
    }
    return t;
  }
  if (type === "int32") {
    const t = random(type, dims, seed, [-40, 40]);
    const d = t.data as Int32Array;
    if (d.length > 3) [d[0], d[1], d[2]] = [-2147483648, 2147483647, 0];
    return t;
  }
  if (type === "uint32") {
    const t = random(type, dims, seed, [0, 80]);
    const d = t.data as Uint32Array;
    if (d.length > 2) [d[0], d[1]] = [4294967295, 0];
    return t;
  }
  return random(type, dims, seed);
}

for (const [op, c] of Object.entries(UNARY_CASES)) {
  for (const type of c.types) {
    gpuTest(`webgpu ${op} ${type} matches the CPU`, async () => {
      const x = input(type, [7, 37], op.length * 31 + type.length, c.range, op);
      const { model, feeds } = nodeModel(op, [x], c.attrs, { opset: OPSET });
      await compareBackends(model, feeds, { rtol: 2e-5, atol: 1e-6 });
    });
  }
}

for (const [op, c] of Object.entries(BINARY_CASES)) {
  for (const type of c.types) {
    gpuTest(`webgpu ${op} ${type} matches the CPU, with broadcasting`, async () => {
      const seed = op.length * 17 + type.length;
      let b = input(type, [1, 37], seed + 1);
      if (op === "BitShift") b = random("uint32", [1, 37], seed, [0, 40]);
      if (op === "Pow") b = random("float32", [1, 37], seed, [-3, 3]);
      const cases: [Tensor, Tensor][] = [
        [input(type, [5, 37], seed), b],
        [input(type, [3, 1, 4], seed + 2), input(type, [2, 1], seed + 3)],
        [input(type, [4], seed + 4), input(type, [], seed + 5)],
      ];
      for (const [a, bb] of cases) {
        const { model, feeds } = nodeModel(op, [a, bb], c.attrs, { opset: OPSET });
        await compareBackends(model, feeds, { rtol: 2e-5, atol: 1e-6 });
      }
    });
  }
}

gpuTest("webgpu Pow matches Math.pow on its special cases", async () => {
  const vals = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 1e-3];
  const a: number[] = [], b: number[] = [];
  for (const x of vals) for (const y of vals) (a.push(x), b.push(y));
  const { model, feeds } = nodeModel(
    "Pow",
    [
      new Tensor("float32", Float32Array.from(a), [a.length]),
      new Tensor("float32", Float32Array.from(b), [b.length]),
    ],
    {},
    { opset: OPSET },
  );
  await compareBackends(model, feeds, { rtol: 1e-5, atol: 0 });
  // float32 base, int32 exponent: mixed types.
  const mixed = nodeModel(
    "Pow",
    [
      random("float32", [6, 5], 3),
      new Tensor("int32", Int32Array.from([-3, -1, 0, 2, 5]), [5]),
    ],
    {},
    { opset: OPSET },
  );
  await compareBackends(mixed.model, mixed.feeds, { rtol: 1e-5, atol: 1e-6 });
});

gpuTest("webgpu Mod with fmod=1 and BitShift RIGHT match the CPU", async () => {
  const a = input("int32", [40], 5), b = input("int32", [40], 6);
  const m = nodeModel("Mod", [a, b], { fmod: { i: 1 } }, { opset: OPSET });
  await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
  const s = nodeModel("BitShift", [
    random("uint32", [40], 7, [0, 1e9]),
    random("uint32", [40], 8, [0, 40]),
  ], {
    direction: { s: "RIGHT" },
  }, { opset: OPSET });
  await compareBackends(s.model, s.feeds, { rtol: 0, atol: 0 });
});

gpuTest("webgpu Gelu tanh approximation and the two-input Sum/Min/Max/Mean", async () => {
  const g = nodeModel("Gelu", [withSpecials(random("float32", [50], 9, [-6, 6]))], {
    approximate: { s: "tanh" },
  }, { opset: OPSET });
  await compareBackends(g.model, g.feeds, { rtol: 2e-5, atol: 1e-6 });
  for (const op of ["Sum", "Min", "Max", "Mean"]) {
    for (
      const type of op === "Mean" ? ["float32"] as const : ["float32", "int32", "uint32"] as const
    ) {
      const v = nodeModel(op, [input(type, [3, 8], 10), input(type, [8], 11)], {}, {
        opset: OPSET,
      });
      await compareBackends(v.model, v.feeds, { rtol: 1e-6, atol: 0 });
    }
  }
});

gpuTest("webgpu elementwise handles size-0 and size-1 dims", async () => {
  const shapes: [number[], number[]][] = [
    [[0, 3], [3]],
    [[2, 0, 4], [1, 4]],
    [[1], [1]],
    [[1, 1, 1], []],
    [[3, 1], [1, 0]],
  ];
  for (const [sa, sb] of shapes) {
    const m = nodeModel("Add", [random("float32", sa, 1), random("float32", sb, 2)], {}, {
      opset: OPSET,
    });
    await compareBackends(m.model, m.feeds);
  }
  const u = nodeModel("Exp", [random("float32", [4, 0], 3)], {}, { opset: OPSET });
  await compareBackends(u.model, u.feeds);
});

gpuTest("webgpu splits a dispatch of more than 65,535 workgroups over two dimensions", async () => {
  const n = 65535 * 64 + 1000;
  const x = random("float32", [n], 12, [-5, 5]);
  const m = nodeModel("Neg", [x], {}, { opset: OPSET });
  const { outputs } = await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
  const y = outputs.y0.data as Float32Array;
  assert.equal(y[n - 1], -(x.data as Float32Array)[n - 1]);
  const b = nodeModel("Mul", [x, random("float32", [1], 13)], {}, { opset: OPSET });
  await compareBackends(b.model, b.feeds, { rtol: 0, atol: 0 });
});

gpuTest("webgpu Where broadcasts three ways in every element type", async () => {
  for (const type of ["float32", "int32", "uint32", "bool"] as const) {
    const m = nodeModel(
      "Where",
      [
        random("bool", [3, 1, 5], 1),
        input(type, [4, 5], 2),
        input(type, [1, 4, 1], 3),
      ],
      {},
      { opset: OPSET },
    );
    await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
  }
});

gpuTest("webgpu Clip matches the CPU for attributes, inputs, omitted bounds and ints", async () => {
  const x = input("float32", [6, 7], 4, [-5, 5]);
  const old = nodeModel("Clip", [x], { min: { f: -1 }, max: { f: 2 } }, { opset: 6 });
  await compareBackends(old.model, old.feeds, { rtol: 0, atol: 0 });
  const lo = new Tensor("float32", Float32Array.of(-0.5), []);
  const hi = new Tensor("float32", Float32Array.of(0.5), []);
  for (const bounds of [[lo, hi], [lo, undefined], [undefined, hi], [hi, lo]]) {
    const m = nodeModel("Clip", [x, ...bounds], {}, { opset: 13 });
    await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
  }
  const xi = input("int32", [50], 5);
  const m = nodeModel(
    "Clip",
    [
      xi,
      new Tensor("int32", Int32Array.of(-7), []),
      new Tensor("int32", Int32Array.of(9), []),
    ],
    {},
    { opset: 13 },
  );
  await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
});

gpuTest("webgpu Cast converts among float32, int32, uint32 and bool like the CPU", async () => {
  const codes: Record<string, number> = { float32: 1, int32: 6, uint32: 12, bool: 9 };
  const f = withSpecials(random("float32", [200], 6, [-3e9, 5e9]));
  const small = random("float32", [60], 7, [-3, 3]);
  const sources: Tensor[] = [
    f,
    small,
    input("int32", [60], 8),
    input("uint32", [60], 9),
    random("bool", [60], 10),
  ];
  for (const x of sources) {
    for (const to of Object.keys(codes)) {
      const m = nodeModel("Cast", [x], { to: { i: codes[to] } }, { opset: OPSET });
      await compareBackends(m.model, m.feeds, { rtol: 0, atol: 0 });
    }
  }
});

const f16 = gpu?.info.features.shaderF16 ?? false;
if (gpu && !f16) console.log("skip float16 elementwise test: the adapter has no shader-f16");
Deno.test({
  name: "webgpu float16 elementwise ops match the CPU (shader-f16 adapters)",
  ignore: !f16,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const half = (t: Tensor) => {
      const h = Float16Array.from(t.data as Float32Array);
      return new Tensor("float16", new Uint16Array(h.buffer), t.dims);
    };
    for (const op of ["Relu", "Exp", "Sigmoid", "Tanh", "Neg", "Erf", "IsNaN"]) {
      const m = nodeModel(op, [half(withSpecials(random("float32", [5, 9], 1)))], {}, {
        opset: OPSET,
      });
      await compareBackends(m.model, m.feeds, { rtol: 2e-3, atol: 1e-3 });
    }
    for (const op of ["Add", "Mul", "Div", "Less", "Max"]) {
      const m = nodeModel(
        op,
        [half(random("float32", [4, 6], 2)), half(random("float32", [6], 3))],
        {},
        {
          opset: OPSET,
        },
      );
      await compareBackends(m.model, m.feeds, { rtol: 2e-3, atol: 1e-3 });
    }
  },
});
