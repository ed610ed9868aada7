/**
 * Hand-checked tests of ops/matmul.ts for what the ONNX suite does not cover: integer
 * products (wrapping int32/uint32, exact int64), float16 rounding, N-D broadcasting against
 * a naive reference, Gemm attributes and integer Gemm, general Einsum equations, Det with
 * pivoting, and shape inference with symbolic dims.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import { f32, i32, i64, inferOp, runTensor, values } from "./_op_harness.ts";
import { floatAttr, intAttr, stringAttr } from "../../pipeline/load/build.ts";

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `element ${i}: ${actual[i]} != ${expected[i]}`,
    );
  }
}

/** Naive batched matmul with numpy broadcasting of batch dims (both operands ≥ 2-D). */
function naiveMatmul(
  a: number[],
  aDims: number[],
  b: number[],
  bDims: number[],
): { data: number[]; dims: number[] } {
  const M = aDims.at(-2)!, K = aDims.at(-1)!, N = bDims.at(-1)!;
  const ab = aDims.slice(0, -2), bb = bDims.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pa = [...new Array(r - ab.length).fill(1), ...ab];
  const pb = [...new Array(r - bb.length).fill(1), ...bb];
  const ob = pa.map((d, i) => Math.max(d, pb[i]));
  const count = ob.reduce((x, y) => x * y, 1);
  const data: number[] = [];
  for (let t = 0; t < count; t++) {
    const idx: number[] = [];
    let rem = t;
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = rem % ob[d];
      rem = Math.floor(rem / ob[d]);
    }
    let ai = 0, bi = 0;
    for (let d = 0; d < r; d++) {
      ai = ai * pa[d] + (pa[d] === 1 ? 0 : idx[d]);
      bi = bi * pb[d] + (pb[d] === 1 ? 0 : idx[d]);
    }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ai * M * K + i * K + k] * b[bi * K * N + k * N + j];
        data.push(s);
      }
    }
  }
  return { data, dims: [...ob, M, N] };
}

function seq(n: number, scale = 0.25, shift = 1): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7) % 11) * scale - shift);
}

Deno.test("MatMul int32 wraps like C and uint32 wraps modulo 2^32", async () => {
  const y = await runTensor("MatMul", 13, [i32([2 ** 30, 2], [1, 2]), i32([4, 3], [2, 1])]);
  assert.equal(y.type, "int32");
  assert.deepEqual(y.dims, [1, 1]);
  assert.deepEqual(values(y), [6]); // 2^32 + 6 wraps to 6
  const u = await runTensor("MatMul", 13, [
    new Tensor("uint32", Uint32Array.from([4294967295]), [1]),
    new Tensor("uint32", Uint32Array.from([2]), [1]),
  ]);
  assert.deepEqual(u.dims, []);
  assert.deepEqual(values(u), [4294967294]);
});

Deno.test("MatMul int64 is exact beyond 2^53", async () => {
  const y = await runTensor("MatMul", 13, [
    i64([2n ** 40n, 1n], [1, 2]),
    i64([2n ** 20n, 5n], [2, 1]),
  ]);
  assert.equal(y.type, "int64");
  assert.deepEqual(values(y), [2n ** 60n + 5n]);
});

Deno.test("MatMul float16 rounds the float result once to nearest even", async () => {
  const h = (v: number[], dims: number[]) => {
    const f = Float16Array.from(v);
    return new Tensor("float16", new Uint16Array(f.buffer), dims);
  };
  const y = await runTensor("MatMul", 13, [h([1, 2048], [1, 2]), h([1, 1], [2, 1])]);
  assert.equal(y.type, "float16");
  // 2049 is halfway between 2048 and 2050: ties to even gives 2048 (0x6800).
  assert.deepEqual(values(y), [0x6800]);
});

Deno.test("MatMul broadcasts batch dims and 1-D operands like numpy", async () => {
  const aDims = [2, 1, 2, 3], bDims = [3, 3, 2];
  const a = seq(12), b = seq(18, 0.5, 2);
  const y = await runTensor("MatMul", 13, [f32(a, aDims), f32(b, bDims)]);
  const ref = naiveMatmul(a, aDims, b, bDims);
  assert.deepEqual(y.dims, ref.dims);
  close(y.data as Float32Array, ref.data);
  // 1-D x 3-D: [3] · [2,3,4] -> [2,4]
  const v = [1, -2, 0.5], m = seq(24);
  const y2 = await runTensor("MatMul", 13, [f32(v), f32(m, [2, 3, 4])]);
  const ref2 = naiveMatmul(v, [1, 3], m, [2, 3, 4]);
  assert.deepEqual(y2.dims, [2, 4]);
  close(y2.data as Float32Array, ref2.data);
  // 3-D x 1-D: [2,3,4] · [4] -> [2,3]
  const w = [1, 2, 3, 4];
  const y3 = await runTensor("MatMul", 13, [f32(m, [2, 3, 4]), f32(w)]);
  const ref3 = naiveMatmul(m, [2, 3, 4], w, [4, 1]);
  assert.deepEqual(y3.dims, [2, 3]);
  close(y3.data as Float32Array, ref3.data);
});

Deno.test("MatMul rejects mismatched inner dims", async () => {
  await assert.rejects(
    () => runTensor("MatMul", 13, [f32([1, 2, 3], [1, 3]), f32([1, 2], [2, 1])]),
    RuntimeError,
  );
});

Deno.test("Gemm applies transA, transB, alpha, beta and broadcasts C", async () => {
  // A' = [[1,2],[3,4]] given as A = A'^T; B' = [[1,0,2],[0,1,3]] given as B = B'^T.
  const a = f32([1, 3, 2, 4], [2, 2]);
  const b = f32([1, 0, 0, 1, 2, 3], [3, 2]);
  const c = f32([10, 20, 30], [3]);
  const y = await runTensor("Gemm", 13, [a, b, c], [
    intAttr("transA", 1),
    intAttr("transB", 1),
    floatAttr("alpha", 2),
    floatAttr("beta", 0.5),
  ]);
  // A'B' = [[1,2,8],[3,4,18]]; 2*A'B' + 0.5*C
  assert.deepEqual(y.dims, [2, 3]);
  close(y.data as Float32Array, [7, 14, 31, 11, 18, 51]);
  // C of shape [2,1] broadcasts along columns; C omitted from opset 11.
  const y2 = await runTensor("Gemm", 13, [
    f32([1, 2, 3, 4], [2, 2]),
    f32([1, 0, 0, 1], [2, 2]),
    f32([1, -1], [2, 1]),
  ]);
  close(y2.data as Float32Array, [2, 3, 2, 3]);
  const y3 = await runTensor("Gemm", 11, [f32([1, 2], [1, 2]), f32([3, 4], [2, 1])]);
  close(y3.data as Float32Array, [11]);
});

Deno.test("Gemm on int64 is exact and int32 Gemm wraps", async () => {
  const y = await runTensor("Gemm", 13, [
    i64([2n ** 55n, 3n], [1, 2]),
    i64([2n, 1n], [2, 1]),
    i64([1n], [1]),
  ]);
  assert.deepEqual(values(y), [2n ** 56n + 4n]);
  const z = await runTensor("Gemm", 13, [i32([2 ** 30], [1, 1]), i32([8], [1, 1])], [
    intAttr("transA", 1),
  ]);
  assert.deepEqual(values(z), [0]);
});

Deno.test("Einsum: diagonal, trace, implicit output, outer product, sum", async () => {
  const m = f32([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]);
  const diag = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ii->i")]);
  assert.deepEqual(diag.dims, [3]);
  close(diag.data as Float32Array, [1, 5, 9]);
  const trace = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ii")]);
  assert.deepEqual(trace.dims, []);
  close(trace.data as Float32Array, [15]);
  const tr = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ij")]);
  close(tr.data as Float32Array, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const tt = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ji")]);
  close(tt.data as Float32Array, [1, 4, 7, 2, 5, 8, 3, 6, 9]); // implicit output "ij" (sorted)
  const outer = await runTensor("Einsum", 12, [f32([1, 2]), f32([3, 4, 5])], [
    stringAttr("equation", "i,j->ij"),
  ]);
  assert.deepEqual(outer.dims, [2, 3]);
  close(outer.data as Float32Array, [3, 4, 5, 6, 8, 10]);
  const all = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ij->")]);
  close(all.data as Float32Array, [45]);
  const rows = await runTensor("Einsum", 12, [m], [stringAttr("equation", "ij -> i")]);
  close(rows.data as Float32Array, [6, 15, 24]);
});

Deno.test("Einsum: ellipsis broadcasting, repeated labels across operands, uppercase order", async () => {
  const aDims = [2, 1, 2, 3], bDims = [3, 3, 2];
  const a = seq(12), b = seq(18, 0.5, 2);
  const y = await runTensor("Einsum", 12, [f32(a, aDims), f32(b, bDims)], [
    stringAttr("equation", "...ij,...jk->...ik"),
  ]);
  const ref = naiveMatmul(a, aDims, b, bDims);
  assert.deepEqual(y.dims, ref.dims);
  close(y.data as Float32Array, ref.data);
  // Implicit output with an ellipsis: "...ij,...jk" gives "...ik".
  const y2 = await runTensor("Einsum", 12, [f32(a, aDims), f32(b, bDims)], [
    stringAttr("equation", "...ij,...jk"),
  ]);
  close(y2.data as Float32Array, ref.data);
  // Three operands: sum_j,k x_i y_ij z_jk with "i,ij,jk->ik".
  const x = [1, 2], yv = [1, 0, 2, 1, 1, 1], z = [1, 2, 3, 4, 5, 6];
  const r = await runTensor("Einsum", 12, [f32(x), f32(yv, [2, 3]), f32(z, [3, 2])], [
    stringAttr("equation", "i,ij,jk->ik"),
  ]);
  // row 0: 1*([1,0,2]·Z) = [1+10, 2+12] = [11,14]; row 1: 2*([1,1,1]·Z) = 2*[9,12]
  close(r.data as Float32Array, [11, 14, 18, 24]);
  // "iij->j": diagonal over the first two axes then summed.
  const t = f32(Array.from({ length: 8 }, (_, i) => i), [2, 2, 2]);
  const d = await runTensor("Einsum", 12, [t], [stringAttr("equation", "iij->j")]);
  close(d.data as Float32Array, [0 + 6, 1 + 7]);
  // Implicit order sorts uppercase before lowercase: "Ba,aC" -> "BC".
  const u = await runTensor("Einsum", 12, [f32([1, 2], [1, 2]), f32([3, 4], [2, 1])], [
    stringAttr("equation", "Ba,aC"),
  ]);
  assert.deepEqual(u.dims, [1, 1]);
  close(u.data as Float32Array, [11]);
});

Deno.test("Einsum on int64 is exact", async () => {
  const y = await runTensor("Einsum", 12, [i64([2n ** 60n, 1n]), i64([1n, 3n])], [
    stringAttr("equation", "i,i"),
  ]);
  assert.equal(y.type, "int64");
  assert.deepEqual(values(y), [2n ** 60n + 3n]);
});

Deno.test("Einsum rejects equations that do not match the inputs", async () => {
  await assert.rejects(
    () => runTensor("Einsum", 12, [f32([1, 2])], [stringAttr("equation", "ij->i")]),
    RuntimeError,
  );
});

Deno.test("Det: pivoting, singular matrices and batches", async () => {
  const y = await runTensor("Det", 22, [f32([
    1,
    2,
    3,
    4, // -2
    0,
    1,
    1,
    0, // needs a row swap: -1
    1,
    2,
    2,
    4, // singular: 0
  ], [3, 2, 2])]);
  assert.deepEqual(y.dims, [3]);
  close(y.data as Float32Array, [-2, -1, 0]);
  const z = await runTensor("Det", 11, [
    new Tensor("float64", [6, 1, 1, 4, -2, 5, 2, 8, 7], [3, 3]),
  ]);
  assert.deepEqual(z.dims, []);
  close(z.data as Float64Array, [-306], 1e-12);
});

Deno.test("MatMul, Gemm, Einsum and Det infer shapes with symbolic dims", () => {
  const t = (shape: (number | string)[]) => ({
    kind: "tensor" as const,
    elemType: "float32" as const,
    shape,
  });
  const mm = inferOp("MatMul", 13, [t(["N", 1, 3, 4]), t([5, 4, 6])]);
  assert.deepEqual(mm.types[0], { kind: "tensor", elemType: "float32", shape: ["N", 5, 3, 6] });
  assert.deepEqual(mm.errors, []);
  const bad = inferOp("MatMul", 13, [t([3, 4]), t([5, 6])]);
  assert.equal(bad.errors.length, 1);
  const g = inferOp("Gemm", 13, [t([4, "M"]), t(["N", 4])], [
    intAttr("transA", 1),
    intAttr("transB", 1),
  ]);
  assert.deepEqual(g.types[0], { kind: "tensor", elemType: "float32", shape: ["M", "N"] });
  const e = inferOp("Einsum", 12, [t(["B", 2, 3]), t(["B", 3, 7])], [
    stringAttr("equation", "bij,bjk->bik"),
  ]);
  assert.deepEqual(e.types[0], { kind: "tensor", elemType: "float32", shape: ["B", 2, 7] });
  const d = inferOp("Det", 22, [t(["B", 3, 3])]);
  assert.deepEqual(d.types[0], { kind: "tensor", elemType: "float32", shape: ["B"] });
});
