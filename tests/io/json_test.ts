import assert from "node:assert/strict";
import { tensorFromJson, tensorToJson } from "../../pipeline/io/json.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InputError, ModelFormatError } from "../../pipeline/errors.ts";

const values = (t: Tensor) => Array.from(t.data as ArrayLike<unknown>);

Deno.test("tensorFromJson: object form with type, dims and flat data", () => {
  const t = tensorFromJson({ type: "float32", dims: [2, 2], data: [1, 2, 3, 4] });
  assert.equal(t.type, "float32");
  assert.deepEqual(t.dims, [2, 2]);
  assert.deepEqual(values(t), [1, 2, 3, 4]);
  // ONNX spellings and "shape" are accepted; nested data must agree with the dims.
  const d = tensorFromJson({ type: "double", shape: [2, 1], data: [[0.1], [0.2]] });
  assert.equal(d.type, "float64");
  assert.deepEqual(d.dims, [2, 1]);
  assert.deepEqual(values(d), [0.1, 0.2]);
  assert.throws(
    () => tensorFromJson({ type: "float32", dims: [3], data: [1, 2] }),
    ModelFormatError,
  );
  assert.throws(
    () => tensorFromJson({ type: "float32", dims: [1, 4], data: [[1, 2], [3, 4]] }),
    ModelFormatError,
  );
});

Deno.test("tensorFromJson: nested arrays infer shape and type", () => {
  const t = tensorFromJson([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.type, "float32");
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual(values(t), [1, 2, 3, 4, 5, 6]);
  const s = tensorFromJson(2.5);
  assert.deepEqual(s.dims, []);
  assert.deepEqual(values(s), [2.5]);
  const b = tensorFromJson([true, false]);
  assert.equal(b.type, "bool");
  assert.deepEqual(values(b), [1, 0]);
  const str = tensorFromJson([["a"], ["b"]]);
  assert.equal(str.type, "string");
  assert.deepEqual(str.dims, [2, 1]);
  assert.deepEqual(str.data, ["a", "b"]);
  const empty = tensorFromJson([]);
  assert.deepEqual(empty.dims, [0]);
  assert.throws(() => tensorFromJson([[1, 2], [3]]), ModelFormatError);
  assert.throws(() => tensorFromJson([[1, 2], 3]), ModelFormatError);
  assert.throws(() => tensorFromJson({ dims: [1] }), ModelFormatError);
  assert.throws(() => tensorFromJson([1, "x"]), ModelFormatError);
});

Deno.test("tensorFromJson: the expected type wins over inference", () => {
  const i = tensorFromJson([[1, 2]], { type: "int64" });
  assert.equal(i.type, "int64");
  assert.deepEqual(values(i), [1n, 2n]);
  const h = tensorFromJson([1.5, -2], { type: "float16" });
  assert.equal(h.type, "float16");
  // float16 bits: 1.5 = 0x3e00, -2 = 0xc000.
  assert.deepEqual(values(h), [0x3e00, 0xc000]);
  const u = tensorFromJson([255, 0], { type: "uint8" });
  assert.ok(u.data instanceof Uint8Array);
  assert.throws(() => tensorFromJson([256], { type: "uint8" }), ModelFormatError);
  assert.throws(() => tensorFromJson([-129], { type: "int8" }), ModelFormatError);
  assert.throws(() => tensorFromJson([1.5], { type: "int32" }), ModelFormatError);
  assert.throws(
    () => tensorFromJson({ type: "int32", data: [1] }, { type: "float32" }),
    InputError,
  );
});

Deno.test("tensorFromJson: int64 strings beyond 2^53 stay exact", () => {
  const t = tensorFromJson({
    type: "int64",
    dims: [3],
    data: ["9007199254740993", "-9223372036854775808", 7],
  });
  assert.deepEqual(values(t), [9007199254740993n, -9223372036854775808n, 7n]);
  const u = tensorFromJson(["18446744073709551615"], { type: "uint64" });
  assert.deepEqual(values(u), [18446744073709551615n]);
  assert.throws(() => tensorFromJson(["9223372036854775808"], { type: "int64" }), ModelFormatError);
  assert.throws(() => tensorFromJson(["-1"], { type: "uint64" }), ModelFormatError);
});

Deno.test("tensorFromJson: NaN and infinities as strings or null", () => {
  const t = tensorFromJson(["NaN", "Infinity", "-Infinity", null, 1]);
  assert.equal(t.type, "float32");
  const v = values(t) as number[];
  assert.ok(Number.isNaN(v[0]));
  assert.equal(v[1], Infinity);
  assert.equal(v[2], -Infinity);
  assert.ok(Number.isNaN(v[3]));
  assert.equal(v[4], 1);
});

Deno.test("tensorFromJson: expected dims reshape flat data or reject mismatches", () => {
  const t = tensorFromJson([1, 2, 3, 4], { type: "float32", dims: [1, 4] });
  assert.deepEqual(t.dims, [1, 4]);
  const sym = tensorFromJson([1, 2, 3, 4, 5, 6], { dims: ["N", 3] });
  assert.deepEqual(sym.dims, [2, 3]);
  const ok = tensorFromJson([[1, 2, 3]], { dims: ["batch", 3] });
  assert.deepEqual(ok.dims, [1, 3]);
  assert.throws(
    () => tensorFromJson([[1, 2], [3, 4]], { dims: [1, 4] }),
    (e: unknown) => e instanceof InputError && /\[2,2\]/.test(e.message),
  );
  assert.throws(() => tensorFromJson([1, 2, 3], { dims: [2, 2] }), InputError);
});

Deno.test("tensorFromJson: complex pairs", () => {
  const c = tensorFromJson({ type: "complex64", dims: [2], data: [[1, -2], [3, 4]] });
  assert.deepEqual(values(c), [1, -2, 3, 4]);
});

Deno.test("tensorToJson: int64, NaN/Infinity, float16 and bool", () => {
  const big = tensorToJson(
    new Tensor("int64", new BigInt64Array([2n ** 53n, 2n ** 53n + 1n, -(2n ** 60n)]), [3]),
  );
  assert.deepEqual(big, {
    type: "int64",
    dims: [3],
    data: [9007199254740992, "9007199254740993", "-1152921504606846976"],
  });
  const f = tensorToJson(new Tensor("float32", [NaN, Infinity, -Infinity, 0.5], [2, 2]));
  assert.deepEqual(f.data, ["NaN", "Infinity", "-Infinity", 0.5]);
  // float16 0x3555 is 0.333251953125; bfloat16 0x4049 is 3.140625; float8e4m3fn 0x38 is 1.
  assert.deepEqual(tensorToJson(new Tensor("float16", new Uint16Array([0x3555]), [1])).data, [
    0.333251953125,
  ]);
  assert.deepEqual(tensorToJson(new Tensor("bfloat16", new Uint16Array([0x4049]), [1])).data, [
    3.140625,
  ]);
  assert.deepEqual(
    tensorToJson(new Tensor("float8e4m3fn", new Uint8Array([0x38]), [1])).data,
    [1],
  );
  assert.deepEqual(tensorToJson(new Tensor("bool", [true, false], [2])).data, [true, false]);
  assert.deepEqual(tensorToJson(new Tensor("string", ["x"], [1, 1])), {
    type: "string",
    dims: [1, 1],
    data: ["x"],
  });
});

Deno.test("tensorToJson then tensorFromJson round-trips through JSON text", () => {
  const tensors = [
    new Tensor("float32", [NaN, -Infinity, 1.25, -0.5], [2, 2]),
    new Tensor("int64", new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 3n]), [3]),
    new Tensor("uint8", [0, 255], [2]),
    new Tensor("bool", [true], []),
    new Tensor("complex128", new Float64Array([1, NaN]), [1]),
  ];
  for (const t of tensors) {
    const back = tensorFromJson(JSON.parse(JSON.stringify(tensorToJson(t))));
    assert.equal(back.type, t.type);
    assert.deepEqual(back.dims, t.dims);
    assert.deepEqual(values(back), values(t));
  }
});
