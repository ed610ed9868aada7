import assert from "node:assert/strict";
import { allclose } from "../pipeline/compare.ts";
import { OnnxMap, Optional, Sequence, Tensor } from "../pipeline/tensor/tensor.ts";

const f32 = (values: number[], dims?: number[]) => new Tensor("float32", values, dims);
const f64 = (values: number[], dims?: number[]) => new Tensor("float64", values, dims);

Deno.test("allclose: equal tensors, defaults rtol 1e-7 and atol 0", () => {
  const r = allclose(f32([1, 2, 3], [3]), f32([1, 2, 3], [3]));
  assert.equal(r.ok, true);
  assert.equal(r.maxAbsError, 0);
  assert.equal(r.maxRelError, 0);
  assert.equal(r.mismatched, 0);
  assert.equal(r.total, 3);
  assert.equal(r.worst, undefined);
  assert.match(r.message, /rtol=1e-7, atol=0/);
  // 1 + 2e-7 vs 1 is outside the default rtol.
  const tight = allclose(f64([1 + 2e-7]), f64([1]));
  assert.equal(tight.ok, false);
});

Deno.test("allclose: rtol/atol boundaries are inclusive (|a-e| <= atol + rtol*|e|)", () => {
  // Values exactly representable in binary so the boundary is exact: |a-e| = 0.25.
  assert.equal(allclose(f64([10.25]), f64([10]), { rtol: 0, atol: 0.25 }).ok, true);
  assert.equal(allclose(f64([10.25]), f64([10]), { rtol: 0, atol: 0.125 }).ok, false);
  // rtol is relative to |expected|: 0.25 <= 0.025 * 10 passes, not 0.025 * 9.75.
  assert.equal(allclose(f64([10.25]), f64([10]), { rtol: 0.025, atol: 0 }).ok, true);
  assert.equal(allclose(f64([10]), f64([9.75]), { rtol: 0.025, atol: 0 }).ok, false);
  // Both terms add: 0.25 <= 0.125 + 0.0125 * 10.
  assert.equal(allclose(f64([10.25]), f64([10]), { rtol: 0.0125, atol: 0.125 }).ok, true);
  assert.equal(allclose(f64([10.25]), f64([10]), { rtol: 0.0125, atol: 0.0625 }).ok, false);
});

Deno.test("allclose: max errors, mismatch count and worst element", () => {
  const actual = f32([1, 2.5, 3, 4, 0.5, 6], [2, 3]);
  const expected = f32([1, 2, 3, 4.25, 0, 6], [2, 3]);
  const r = allclose(actual, expected, { rtol: 1e-3, atol: 1e-7 });
  assert.equal(r.ok, false);
  assert.equal(r.mismatched, 3);
  assert.equal(r.total, 6);
  assert.equal(r.maxAbsError, 0.5);
  // Relative errors: 0.5/2 = 0.25 and 0.25/4.25; the 0.5-vs-0 element has no relative error.
  assert.equal(r.maxRelError, 0.25);
  // Worst by how far it misses its tolerance: [1,1] (0.5 - 1e-7) beats [0,1] (0.5 - 2e-3 - 1e-7).
  assert.deepEqual(r.worst, { path: "", index: [1, 1], flatIndex: 4, actual: 0.5, expected: 0 });
  assert.match(r.message, /mismatched elements 3 \/ 6 \(50%\)/);
  assert.match(r.message, /worst at \[1, 1\]: actual 0\.5, expected 0/);
});

Deno.test("allclose: NaN, infinities and signed zero", () => {
  assert.equal(allclose(f32([NaN, 1]), f32([NaN, 1])).ok, true);
  const noNan = allclose(f32([NaN]), f32([NaN]), { equalNan: false });
  assert.equal(noNan.ok, false);
  assert.equal(noNan.mismatched, 1);
  const oneNan = allclose(f32([1, NaN]), f32([1, 2]), { rtol: 1, atol: 1 });
  assert.equal(oneNan.ok, false);
  assert.deepEqual(oneNan.worst?.index, [1]);
  assert.equal(oneNan.maxAbsError, Infinity);
  assert.equal(allclose(f32([Infinity, -Infinity]), f32([Infinity, -Infinity])).ok, true);
  assert.equal(allclose(f32([-Infinity]), f32([Infinity]), { atol: Infinity }).ok, false);
  assert.equal(allclose(f32([Infinity]), f32([3e38]), { rtol: 1 }).ok, false);
  assert.equal(allclose(f32([-0]), f32([0])).ok, true);
  // A NaN mismatch outranks any finite one as the worst element.
  const both = allclose(f32([5, NaN]), f32([1, 1]));
  assert.deepEqual(both.worst?.index, [1]);
  assert.equal(both.mismatched, 2);
});

Deno.test("allclose: shape and dtype must match exactly", () => {
  const shape = allclose(f32([1, 2, 3, 4], [2, 2]), f32([1, 2, 3, 4], [4]));
  assert.equal(shape.ok, false);
  assert.match(shape.message, /shape mismatch: actual \[2,2\], expected \[4\]/);
  assert.equal(shape.structural, "shape mismatch: actual [2,2], expected [4]");
  const scalar = allclose(f32([1], []), f32([1], [1]));
  assert.equal(scalar.ok, false);
  const dtype = allclose(f32([1]), f64([1]));
  assert.equal(dtype.ok, false);
  assert.match(dtype.message, /dtype mismatch: actual float32, expected float64/);
  assert.equal(allclose(f32([], [0, 3]), f32([], [0, 3])).ok, true);
});

Deno.test("allclose: integers and bools exact; int64 beyond 2^53 differing by one", () => {
  const a = new Tensor("int64", new BigInt64Array([9007199254740993n]), [1]);
  const e = new Tensor("int64", new BigInt64Array([9007199254740992n]), [1]);
  const r = allclose(a, e, { rtol: 1e-3, atol: 1 });
  assert.equal(r.ok, false);
  assert.equal(r.maxAbsError, 1);
  assert.deepEqual(r.worst?.actual, 9007199254740993n);
  assert.match(r.message, /actual 9007199254740993, expected 9007199254740992/);
  assert.equal(allclose(a, a).ok, true);
  const i32 = allclose(new Tensor("int32", [100], [1]), new Tensor("int32", [101], [1]), {
    rtol: 0.5,
  });
  assert.equal(i32.ok, false);
  const b = allclose(new Tensor("bool", [true, false], [2]), new Tensor("bool", [true, true], [2]));
  assert.equal(b.ok, false);
  assert.deepEqual(b.worst, { path: "", index: [1], flatIndex: 1, actual: false, expected: true });
  const u64 = allclose(
    new Tensor("uint64", new BigUint64Array([2n ** 64n - 1n]), [1]),
    new Tensor("uint64", new BigUint64Array([2n ** 64n - 1n]), [1]),
  );
  assert.equal(u64.ok, true);
});

Deno.test("allclose: strings exactly", () => {
  const s = allclose(new Tensor("string", ["a", "b"], [2]), new Tensor("string", ["a", "B"], [2]));
  assert.equal(s.ok, false);
  assert.equal(s.mismatched, 1);
  assert.match(s.message, /actual "b", expected "B"/);
  assert.equal(
    allclose(new Tensor("string", ["x"], [1]), new Tensor("string", ["x"], [1])).ok,
    true,
  );
});

Deno.test("allclose: float16, bfloat16 and float8 are decoded first", () => {
  // float16 0x3c00 = 1, 0x3c01 = 1 + 2^-10; bfloat16 0x3f80 = 1, 0x3f81 = 1 + 2^-7.
  const h = (bits: number[]) => new Tensor("float16", new Uint16Array(bits), [bits.length]);
  assert.equal(allclose(h([0x3c01]), h([0x3c00]), { rtol: 1e-3 }).ok, true);
  const strict = allclose(h([0x3c01]), h([0x3c00]), { rtol: 1e-4 });
  assert.equal(strict.ok, false);
  assert.equal(strict.maxAbsError, 2 ** -10);
  const bf = (bits: number[]) => new Tensor("bfloat16", new Uint16Array(bits), [bits.length]);
  assert.equal(allclose(bf([0x3f81]), bf([0x3f80]), { rtol: 1e-2 }).ok, true);
  assert.equal(allclose(bf([0x3f81]), bf([0x3f80]), { rtol: 1e-3 }).ok, false);
  // float16 NaN (0x7e00) equals NaN by default.
  assert.equal(allclose(h([0x7e00]), h([0x7e00])).ok, true);
  // float8e4m3fn 0x38 = 1, 0x39 = 1.125.
  const f8 = (bits: number[]) => new Tensor("float8e4m3fn", new Uint8Array(bits), [bits.length]);
  const r8 = allclose(f8([0x39]), f8([0x38]), { rtol: 0.1 });
  assert.equal(r8.ok, false);
  assert.equal(r8.maxAbsError, 0.125);
});

Deno.test("allclose: complex numbers use the complex magnitude", () => {
  const c = (v: number[]) => new Tensor("complex64", new Float32Array(v), [v.length / 2]);
  // |(3+4j) - (0+0j)| = 5.
  const r = allclose(c([3, 4]), c([0, 0]), { atol: 5 });
  assert.equal(r.ok, true);
  assert.equal(r.maxAbsError, 5);
  assert.equal(allclose(c([3, 4]), c([0, 0]), { atol: 4.9 }).ok, false);
});

Deno.test("allclose: sequences, optionals and maps", () => {
  const seqA = new Sequence([f32([1]), f32([2, 3])]);
  const seqB = new Sequence([f32([1]), f32([2, 3.5])]);
  const r = allclose(seqA, seqB, { rtol: 1e-3 });
  assert.equal(r.ok, false);
  assert.equal(r.total, 3);
  assert.deepEqual(r.worst, { path: "[1]", index: [1], flatIndex: 1, actual: 3, expected: 3.5 });
  assert.match(r.message, /worst at \[1\]\[1\]/);
  assert.equal(allclose(seqA, new Sequence([f32([1]), f32([2, 3])])).ok, true);
  const len = allclose(seqA, new Sequence([f32([1])]));
  assert.equal(len.ok, false);
  assert.match(len.message, /sequence length mismatch: actual 2, expected 1/);
  assert.equal(allclose(new Sequence([]), new Sequence([])).ok, true);

  assert.equal(allclose(new Optional(undefined), new Optional(undefined)).ok, true);
  const opt = allclose(new Optional(undefined), new Optional(f32([1])));
  assert.equal(opt.ok, false);
  assert.match(opt.message, /optional mismatch: actual is empty, expected present/);
  assert.equal(allclose(new Optional(f32([1])), new Optional(f32([1]))).ok, true);

  const keys = new Tensor("int64", new BigInt64Array([1n, 2n]), [2]);
  const mapA = new OnnxMap(keys, f32([0.5, 0.25]));
  assert.equal(allclose(mapA, new OnnxMap(keys, f32([0.5, 0.2500001])), { rtol: 1e-3 }).ok, true);
  const otherKeys = new Tensor("int64", new BigInt64Array([1n, 3n]), [2]);
  const mk = allclose(mapA, new OnnxMap(otherKeys, f32([0.5, 0.25])));
  assert.equal(mk.ok, false);
  assert.equal(mk.worst?.path, ".keys");

  const kind = allclose(f32([1]), new Sequence([f32([1])]));
  assert.equal(kind.ok, false);
  assert.match(kind.message, /kind mismatch: actual is a tensor, expected a sequence/);
  assert.equal(allclose(undefined, f32([1])).ok, false);
});
