import assert from "node:assert/strict";
import { readNpy, writeNpy } from "../../pipeline/io/npy.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { ModelFormatError, UnsupportedError } from "../../pipeline/errors.ts";
import { readFloatTensorProto } from "./tiny_tensor_proto.ts";
import { SHARED } from "../_shared_root.ts";

/** Builds a .npy file by hand: magic, version, header length, header text, payload. */
function npy(major: number, header: string, payload: number[], pad = true): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const text = new TextEncoder().encode(header);
  let len = text.length + 1;
  if (pad) len = Math.ceil((prefix + len) / 64) * 64 - prefix;
  const out = new Uint8Array(prefix + len + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) {
    out[8] = len & 0xff;
    out[9] = len >> 8;
  } else {
    out[8] = len & 0xff;
    out[9] = (len >> 8) & 0xff;
    out[10] = (len >> 16) & 0xff;
    out[11] = len >>> 24;
  }
  out.set(text, prefix);
  out.fill(0x20, prefix + text.length, prefix + len - 1);
  out[prefix + len - 1] = 0x0a;
  out.set(payload, prefix + len);
  return out;
}

const hdr = (descr: string, shape: string, fortran = false) =>
  `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': ${shape}, }`;

Deno.test("readNpy: little-endian float32 [2,2], version 1.0", () => {
  // 1.0 = 0x3f800000, -2.0 = 0xc0000000, 0.5 = 0x3f000000, 3.0 = 0x40400000 (little-endian).
  const bytes = npy(1, hdr("<f4", "(2, 2)"), [
    0x00,
    0x00,
    0x80,
    0x3f,
    0x00,
    0x00,
    0x00,
    0xc0,
    0x00,
    0x00,
    0x00,
    0x3f,
    0x00,
    0x00,
    0x40,
    0x40,
  ]);
  const t = readNpy(bytes, "a.npy");
  assert.equal(t.type, "float32");
  assert.deepEqual(t.dims, [2, 2]);
  assert.deepEqual(Array.from(t.data as Float32Array), [1, -2, 0.5, 3]);
});

Deno.test("readNpy: big-endian float32, int16 and int64 beyond 2^53", () => {
  const f = readNpy(npy(1, hdr(">f4", "(2,)"), [0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]));
  assert.deepEqual(Array.from(f.data as Float32Array), [1, -2]);
  // -2 as big-endian int16 is ff fe; 258 is 01 02.
  const s = readNpy(npy(1, hdr(">i2", "(2,)"), [0xff, 0xfe, 0x01, 0x02]));
  assert.equal(s.type, "int16");
  assert.deepEqual(Array.from(s.data as Int16Array), [-2, 258]);
  // 2^53 + 1 = 0x0020000000000001; -1 = all ones.
  const big = readNpy(
    npy(1, hdr(">i8", "(2,)"), [0x00, 0x20, 0, 0, 0, 0, 0, 0x01, ...new Array(8).fill(0xff)]),
  );
  assert.equal(big.type, "int64");
  assert.ok(big.data instanceof BigInt64Array);
  assert.deepEqual(Array.from(big.data as BigInt64Array), [9007199254740993n, -1n]);
});

Deno.test("readNpy: version 2.0 and 3.0 headers", () => {
  const v2 = readNpy(npy(2, hdr("<i4", "(3,)"), [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0]));
  assert.equal(v2.type, "int32");
  assert.deepEqual(Array.from(v2.data as Int32Array), [1, -1, 256]);
  const v3 = readNpy(npy(3, hdr("<u2", "(1, 2)"), [0x34, 0x12, 0xff, 0xff]));
  assert.equal(v3.type, "uint16");
  assert.deepEqual(v3.dims, [1, 2]);
  assert.deepEqual(Array.from(v3.data as Uint16Array), [0x1234, 65535]);
  // An unpadded header (older writers) is accepted too.
  const unpadded = readNpy(npy(1, hdr("|u1", "(2,)"), [7, 200], false));
  assert.deepEqual(Array.from(unpadded.data as Uint8Array), [7, 200]);
});

Deno.test("readNpy: every numeric dtype and bool", () => {
  const cases: [string, number[], string, unknown[]][] = [
    ["|i1", [0x80, 0x7f], "int8", [-128, 127]],
    ["|u1", [0x80, 0x7f], "uint8", [128, 127]],
    ["<u4", [0xff, 0xff, 0xff, 0xff], "uint32", [4294967295]],
    ["<u8", new Array(8).fill(0xff), "uint64", [18446744073709551615n]],
    ["<i8", [0xfe, ...new Array(7).fill(0xff)], "int64", [-2n]],
    // 1.5 as float64 is 0x3ff8000000000000.
    ["<f8", [0, 0, 0, 0, 0, 0, 0xf8, 0x3f], "float64", [1.5]],
    // float16 bits stay bits: 1.0 = 0x3c00, -2.0 = 0xc000.
    ["<f2", [0x00, 0x3c, 0x00, 0xc0], "float16", [0x3c00, 0xc000]],
    [">f2", [0x3c, 0x00, 0xc0, 0x00], "float16", [0x3c00, 0xc000]],
    ["|b1", [1, 0, 1], "bool", [1, 0, 1]],
  ];
  for (const [descr, payload, type, values] of cases) {
    const n = values.length;
    const t = readNpy(npy(1, hdr(descr, `(${n},)`), payload));
    assert.equal(t.type, type, descr);
    assert.deepEqual(Array.from(t.data as ArrayLike<unknown>), values, descr);
  }
});

Deno.test("readNpy: unicode strings, scalars and empty arrays", () => {
  // '<U2': "ab", "€" (U+20AC) padded with a NUL code point.
  const u = readNpy(
    npy(1, hdr("<U2", "(2,)"), [0x61, 0, 0, 0, 0x62, 0, 0, 0, 0xac, 0x20, 0, 0, 0, 0, 0, 0]),
  );
  assert.equal(u.type, "string");
  assert.deepEqual(u.data, ["ab", "€"]);
  const be = readNpy(npy(1, hdr(">U1", "(1,)"), [0, 1, 0xf6, 0x00]));
  assert.deepEqual(be.data, ["😀"]);
  const scalar = readNpy(npy(1, hdr("<f8", "()"), [0, 0, 0, 0, 0, 0, 0xf8, 0x3f]));
  assert.deepEqual(scalar.dims, []);
  assert.deepEqual(Array.from(scalar.data as Float64Array), [1.5]);
  const empty = readNpy(npy(1, hdr("<f4", "(0, 3)"), []));
  assert.deepEqual(empty.dims, [0, 3]);
  assert.equal(empty.data.length, 0);
});

Deno.test("readNpy: Fortran order is transposed into C order", () => {
  // A 2x3 matrix [[0,1,2],[3,4,5]] stored column-major: 0 3 1 4 2 5.
  const t = readNpy(npy(1, hdr("|u1", "(2, 3)", true), [0, 3, 1, 4, 2, 5]));
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual(Array.from(t.data as Uint8Array), [0, 1, 2, 3, 4, 5]);
  // 2x2x2 with value 100*i + 10*j + k stored with i fastest.
  const f: number[] = [];
  for (let k = 0; k < 2; k++) {
    for (let j = 0; j < 2; j++) for (let i = 0; i < 2; i++) f.push(100 * i + 10 * j + k);
  }
  const t3 = readNpy(npy(1, hdr("<i2", "(2, 2, 2)", true), f.flatMap((v) => [v & 0xff, v >> 8])));
  assert.deepEqual(Array.from(t3.data as Int16Array), [0, 1, 10, 11, 100, 101, 110, 111]);
});

Deno.test("readNpy: malformed files raise ModelFormatError naming the file", () => {
  const bad: [string, Uint8Array][] = [
    ["bad magic", new TextEncoder().encode("NUMPY\x01\x00xxxxxxxx")],
    ["too short", new Uint8Array([0x93, 0x4e])],
    ["truncated data", npy(1, hdr("<f4", "(2,)"), [0, 0, 0x80, 0x3f])],
    ["trailing bytes", npy(1, hdr("|u1", "(1,)"), [1, 2])],
    ["version 4", npy(1, hdr("<f4", "(0,)"), []).map((b, i) => (i === 6 ? 4 : b))],
    ["not a dict", npy(1, "[1, 2]", [])],
    ["missing shape", npy(1, "{'descr': '<f4', 'fortran_order': False}", [])],
    ["bad fortran", npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", [0, 0, 0, 0])],
    ["negative dim", npy(1, hdr("<f4", "(-1,)"), [])],
    ["garbage", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) @", [])],
    ["extra key", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", [])],
  ];
  // Header length pointing past the end of the file.
  const past = npy(1, hdr("<f4", "()"), [0, 0, 0, 0]);
  past[8] = 0xff;
  past[9] = 0x7f;
  bad.push(["header past end", past]);
  for (const [what, bytes] of bad) {
    assert.throws(
      () => readNpy(bytes, "bad.npy"),
      (e: unknown) => e instanceof ModelFormatError && e.message.includes("bad.npy"),
      what,
    );
  }
});

Deno.test("readNpy: object arrays are refused; structured dtypes are unsupported", () => {
  assert.throws(
    () => readNpy(npy(1, hdr("|O", "(1,)"), [0, 0, 0, 0, 0, 0, 0, 0]), "obj.npy"),
    (e: unknown) =>
      e instanceof ModelFormatError && /obj\.npy/.test(e.message) &&
      /object arrays/.test(e.message),
  );
  assert.throws(
    () =>
      readNpy(
        npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]),
      ),
    UnsupportedError,
  );
  assert.throws(
    () => readNpy(npy(1, hdr("<m8", "(1,)"), new Array(8).fill(0)), "td.npy"),
    (e: unknown) => e instanceof UnsupportedError && /td\.npy/.test(e.message),
  );
});

Deno.test("writeNpy: exact bytes of a float32 vector", () => {
  const bytes = writeNpy(new Tensor("float32", [1, -2], [2]));
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  // 10 prefix bytes + 58 header characters + "\n" = 69, padded to 128 as NumPy does.
  assert.equal(bytes.length, 128 + 8);
  assert.deepEqual(Array.from(bytes.subarray(0, 10)), [
    0x93,
    0x4e,
    0x55,
    0x4d,
    0x50,
    0x59,
    1,
    0,
    118,
    0,
  ]);
  const text = new TextDecoder().decode(bytes.subarray(10, 128));
  assert.equal(text, header + " ".repeat(118 - header.length - 1) + "\n");
  assert.deepEqual(Array.from(bytes.subarray(128)), [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
});

Deno.test("writeNpy then readNpy round-trips every NumPy type", () => {
  const tensors = [
    new Tensor("float32", [1.5, -0, NaN, Infinity], [2, 2]),
    new Tensor("float64", [Math.PI], []),
    new Tensor("float16", new Uint16Array([0x3c00, 0x7e00]), [2]),
    new Tensor("int8", [-128, 127], [2]),
    new Tensor("int16", [-32768, 32767], [2]),
    new Tensor("int32", [-1, 2147483647], [1, 2]),
    new Tensor("int64", new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n]), [2]),
    new Tensor("uint8", [0, 255], [2]),
    new Tensor("uint16", [65535], [1]),
    new Tensor("uint32", [4294967295], [1]),
    new Tensor("uint64", new BigUint64Array([2n ** 64n - 1n]), [1]),
    new Tensor("bool", [true, false, true], [3]),
    new Tensor("string", ["", "héllo", "😀x"], [3]),
    new Tensor("complex64", new Float32Array([1, -2, 3, 4]), [2]),
    new Tensor("float32", new Float32Array(0), [0, 5]),
  ];
  for (const t of tensors) {
    const back = readNpy(writeNpy(t));
    assert.equal(back.type, t.type);
    assert.deepEqual(back.dims, t.dims);
    assert.deepEqual(
      Array.from(back.data as ArrayLike<unknown>),
      Array.from(t.data as ArrayLike<unknown>),
    );
  }
});

Deno.test("writeNpy: types NumPy lacks raise UnsupportedError", () => {
  assert.throws(() => writeNpy(new Tensor("bfloat16", new Uint16Array(1), [1])), UnsupportedError);
  assert.throws(
    () => writeNpy(new Tensor("float8e4m3fn", new Uint8Array(1), [1])),
    UnsupportedError,
  );
});

const resnetDir = `${SHARED}/models/resnet18`;
let haveResnet = false;
try {
  haveResnet = Deno.statSync(`${resnetDir}/input_0.npy`).isFile;
} catch {
  console.log(`Skipping the resnet18 .npy check: ${resnetDir}/input_0.npy is absent`);
}

Deno.test({
  name: "readNpy: resnet18 input_0.npy is float32 [1,3,224,224] and equals input_0.pb",
  ignore: !haveResnet,
  fn() {
    const t = readNpy(Deno.readFileSync(`${resnetDir}/input_0.npy`), "input_0.npy");
    assert.equal(t.type, "float32");
    assert.deepEqual(t.dims, [1, 3, 224, 224]);
    const pb = readFloatTensorProto(Deno.readFileSync(`${resnetDir}/test_data_set_0/input_0.pb`));
    assert.deepEqual(pb.dims, [1, 3, 224, 224]);
    assert.deepEqual(t.data, pb.data);
    const out = readNpy(Deno.readFileSync(`${resnetDir}/output_0.npy`), "output_0.npy");
    assert.equal(out.type, "float32");
    assert.deepEqual(out.dims, [1, 1000]);
  },
});
