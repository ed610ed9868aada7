/**
 * Hand-checked tests of ops/reduce.ts beyond the ONNX suite: exact int64 reductions,
 * integer wrapping and truncation, empty reductions on integers, noop_with_empty_axes on
 * the functions that transform elements, axes as attribute vs input, ArgMax/ArgMin NaN rules,
 * CumSum on int64, TopK ordering with NaN and ties, and shape inference.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { f32, i32, i64, inferOp, runOp, runTensor, values } from "./_op_harness.ts";
import { intAttr, intsAttr } from "../../pipeline/load/build.ts";

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `element ${i}: ${a} is not NaN`);
    else if (!Number.isFinite(e)) assert.equal(a, e);
    else assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `element ${i}: ${a} != ${e}`);
  }
}

Deno.test("ReduceSum and ReduceProd on int64 are exact; int32 products wrap", async () => {
  const s = await runTensor("ReduceSum", 13, [i64([2n ** 60n, 1n, 2n])], [intAttr("keepdims", 0)]);
  assert.deepEqual(s.dims, []);
  assert.deepEqual(values(s), [2n ** 60n + 3n]);
  const p = await runTensor("ReduceProd", 18, [i64([2n ** 31n, 2n ** 31n, 3n])]);
  assert.deepEqual(p.dims, [1]);
  assert.deepEqual(values(p), [3n * 2n ** 62n - 2n ** 64n]); // wraps to -2^62
  const q = await runTensor("ReduceProd", 18, [i32([65536, 65536, 7])]);
  assert.deepEqual(values(q), [0]);
});

Deno.test("ReduceMean truncates on integers; empty Max/Min give the type's extremes", async () => {
  const m = await runTensor(
    "ReduceMean",
    18,
    [i32([1, 2, -1, -2], [2, 2])],
    [intAttr("keepdims", 0)],
    1,
  );
  // axes omitted: all axes -> (1 + 2 - 1 - 2) / 4 = 0
  assert.deepEqual(values(m), [0]);
  const rows = await runTensor("ReduceMean", 18, [i32([1, 2, -1, -2], [2, 2]), i64([1])]);
  assert.deepEqual(rows.dims, [2, 1]);
  assert.deepEqual(values(rows), [1, -1]);
  const emptyMax = await runTensor("ReduceMax", 20, [
    new Tensor("int32", new Int32Array(0), [2, 0]),
    i64([1]),
  ]);
  assert.deepEqual(emptyMax.dims, [2, 1]);
  assert.deepEqual(values(emptyMax), [-2147483648, -2147483648]);
  const emptyMin = await runTensor("ReduceMin", 20, [
    new Tensor("uint8", new Uint8Array(0), [0, 3]),
    i64([0]),
  ]);
  assert.deepEqual(values(emptyMin), [255, 255, 255]);
  const emptyMean = await runTensor("ReduceMean", 18, [f32([], [0]), i64([0])], [
    intAttr("keepdims", 0),
  ]);
  close(emptyMean.data as Float32Array, [NaN]);
});

Deno.test("ReduceMax propagates NaN; ReduceMin/Max on bool are all/any", async () => {
  const m = await runTensor("ReduceMax", 18, [f32([1, NaN, 3, 4, 5, 6], [2, 3]), i64([1])]);
  close(m.data as Float32Array, [NaN, 6]);
  const b = new Tensor("bool", Uint8Array.from([1, 0, 1, 1]), [2, 2]);
  const any = await runTensor("ReduceMax", 20, [b, i64([1])], [intAttr("keepdims", 0)]);
  const all = await runTensor("ReduceMin", 20, [b, i64([1])], [intAttr("keepdims", 0)]);
  assert.equal(any.type, "bool");
  assert.deepEqual(values(any), [1, 1]);
  assert.deepEqual(values(all), [0, 1]);
});

Deno.test("noop_with_empty_axes applies the per-element part of the reduction", async () => {
  const x = f32([-3, 4, 0.5], [3]);
  const noop = [intAttr("noop_with_empty_axes", 1)];
  const l2 = await runTensor("ReduceL2", 18, [x], noop);
  assert.deepEqual(l2.dims, [3]);
  close(l2.data as Float32Array, [3, 4, 0.5]);
  const sq = await runTensor("ReduceSumSquare", 18, [x, i64([])], noop);
  close(sq.data as Float32Array, [9, 16, 0.25]);
  const sum = await runTensor("ReduceSum", 13, [x], noop);
  close(sum.data as Float32Array, [-3, 4, 0.5]);
});

Deno.test("Axes are an attribute before the input versions, negative axes included", async () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const s11 = await runTensor("ReduceSum", 11, [x], [
    intsAttr("axes", [-1]),
    intAttr("keepdims", 0),
  ]);
  assert.deepEqual(s11.dims, [2]);
  close(s11.data as Float32Array, [6, 15]);
  const l1 = await runTensor("ReduceL1", 13, [f32([-1, 2, -3, 4], [2, 2])], [
    intsAttr("axes", [0]),
  ]);
  assert.deepEqual(l1.dims, [1, 2]);
  close(l1.data as Float32Array, [4, 6]);
  const lse = await runTensor("ReduceLogSumExp", 18, [f32([1000, 1000]), i64([0])]);
  close(lse.data as Float32Array, [1000 + Math.LN2]);
  const ls = await runTensor("ReduceLogSum", 18, [f32([1, 2, 3, 4], [2, 2]), i64([0, 1])], [
    intAttr("keepdims", 0),
  ]);
  close(ls.data as Float32Array, [Math.log(10)]);
});

Deno.test("ArgMax/ArgMin: NaN wins, select_last_index, exact int64 comparison", async () => {
  const x = f32([1, NaN, 3, NaN]);
  assert.deepEqual(values(await runTensor("ArgMax", 13, [x], [intAttr("keepdims", 0)])), [1n]);
  assert.deepEqual(
    values(
      await runTensor("ArgMax", 13, [x], [intAttr("keepdims", 0), intAttr("select_last_index", 1)]),
    ),
    [3n],
  );
  assert.deepEqual(values(await runTensor("ArgMin", 13, [x], [intAttr("keepdims", 0)])), [1n]);
  const big = await runTensor("ArgMax", 13, [i64([2n ** 60n + 1n, 2n ** 60n])]);
  assert.deepEqual(big.dims, [1]);
  assert.deepEqual(values(big), [0n]);
  const ties = await runTensor("ArgMin", 13, [f32([2, 1, 1, 5, 0, 0], [2, 3])], [
    intAttr("axis", -1),
    intAttr("select_last_index", 1),
  ]);
  assert.deepEqual(ties.dims, [2, 1]);
  assert.deepEqual(values(ties), [2n, 2n]);
});

Deno.test("CumSum on int64 (exclusive, reverse) and CumProd with a 1-D axis", async () => {
  const x = i64([2n ** 60n, 1n, 2n, 3n]);
  const y = await runTensor("CumSum", 14, [x, i32([0], [])], [
    intAttr("exclusive", 1),
    intAttr("reverse", 1),
  ]);
  assert.deepEqual(values(y), [6n, 5n, 3n, 0n]);
  const z = await runTensor("CumSum", 14, [x, i64([0])]);
  assert.deepEqual(values(z), [2n ** 60n, 2n ** 60n + 1n, 2n ** 60n + 3n, 2n ** 60n + 6n]);
  const p = await runTensor("CumProd", 26, [f32([1, 2, 3, 4, 5, 6], [2, 3]), i64([-1])], [
    intAttr("reverse", 1),
  ]);
  close(p.data as Float32Array, [6, 6, 3, 120, 30, 6]);
});

Deno.test("TopK: NaN is the largest, ties keep lower indices first, k = 0", async () => {
  const x = f32([1, NaN, 3, 3, -1]);
  const [v, i] = await runOp("TopK", 11, [x, i64([3])], [], 2) as Tensor[];
  close(v.data as Float32Array, [NaN, 3, 3]);
  assert.deepEqual(values(i), [1n, 2n, 3n]);
  const [sv, si] = await runOp("TopK", 11, [x, i64([2])], [intAttr("largest", 0)], 2) as Tensor[];
  close(sv.data as Float32Array, [-1, 1]);
  assert.deepEqual(values(si), [4n, 0n]);
  const [ev, ei] = await runOp("TopK", 24, [f32([1, 2], [1, 2]), i64([0])], [], 2) as Tensor[];
  assert.deepEqual(ev.dims, [1, 0]);
  assert.deepEqual(ei.dims, [1, 0]);
  // TopK-1: k is an attribute; along axis 0 of a [3,2] tensor.
  const [av, ai] = await runOp("TopK", 1, [f32([1, 6, 5, 2, 3, 4], [3, 2])], [
    intAttr("k", 2),
    intAttr("axis", 0),
  ], 2) as Tensor[];
  assert.deepEqual(av.dims, [2, 2]);
  close(av.data as Float32Array, [5, 6, 3, 4]);
  assert.deepEqual(values(ai), [1n, 0n, 2n, 2n]);
  // int64 values beyond float precision keep their order and exact values.
  const [bv] = await runOp(
    "TopK",
    24,
    [i64([2n ** 60n, 2n ** 60n + 1n]), i64([1])],
    [],
    2,
  ) as Tensor[];
  assert.deepEqual(values(bv), [2n ** 60n + 1n]);
});

Deno.test("Reductions, ArgMax and TopK infer shapes", () => {
  const t = (shape: (number | string)[]) => ({
    kind: "tensor" as const,
    elemType: "float32" as const,
    shape,
  });
  const r = inferOp(
    "ReduceSum",
    13,
    [t(["N", 3, 4]), { kind: "tensor", elemType: "int64", shape: [1] }],
    [],
    [
      undefined,
      i64([-1]),
    ],
  );
  assert.deepEqual(r.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 3, 1] });
  const r2 = inferOp("ReduceMean", 11, [t(["N", 3, 4])], [
    intsAttr("axes", [0, 2]),
    intAttr("keepdims", 0),
  ]);
  assert.deepEqual(r2.types[0], { kind: "tensor", elemType: "float32", shape: [3] });
  const a = inferOp("ArgMax", 13, [t(["N", 5])], [intAttr("axis", 1), intAttr("keepdims", 0)]);
  assert.deepEqual(a.types[0], { kind: "tensor", elemType: "int64", shape: ["N"] });
  const k = inferOp(
    "TopK",
    11,
    [t(["N", 10]), { kind: "tensor", elemType: "int64", shape: [1] }],
    [],
    [
      undefined,
      i64([3]),
    ],
    2,
  );
  assert.deepEqual(k.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 3] });
  assert.deepEqual(k.types[1], { kind: "tensor", elemType: "int64", shape: ["N", 3] });
});

Deno.test("TopK matches a stable-sort reference for small and large k, with NaN and ties", async () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const n = 40;
  const data = Array.from({ length: 3 * n }, () => {
    const r = rand();
    return r < 0.05 ? NaN : Math.floor(r * 10) - 5; // many ties
  });
  for (const largest of [1, 0]) {
    for (const k of [1, 3, 9, 20, 40]) {
      const [v, idx] = await runOp("TopK", 11, [f32(data, [3, n]), i64([k])], [
        intAttr("largest", largest),
      ], 2) as Tensor[];
      for (let r = 0; r < 3; r++) {
        const row = data.slice(r * n, (r + 1) * n);
        const key = (x: number) => (Number.isNaN(x) ? Infinity : x) * (largest ? -1 : 1);
        const want = row.map((_, j) => j).sort((p, q) => key(row[p]) - key(row[q]) || p - q).slice(
          0,
          k,
        );
        assert.deepEqual(
          values(idx).slice(r * k, (r + 1) * k),
          want.map(BigInt),
          `k=${k} largest=${largest}`,
        );
        const got = Array.from(v.data as Float32Array).slice(r * k, (r + 1) * k);
        assert.deepEqual(got.map(String), want.map((j) => String(row[j])));
      }
    }
  }
});
