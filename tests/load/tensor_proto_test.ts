import { deepStrictEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import { ModelFormatError, UnsupportedError } from "../../pipeline/errors.ts";
import type { TensorProto } from "../../pipeline/load/ir.ts";
import {
  decodeModel,
  decodeTensorProto,
  emptyTensorProto,
  encodeTensorProto,
} from "../../pipeline/load/proto.ts";
import {
  decodeValueFile,
  encodeValueFile,
  sparseTensorFromProto,
  tensorFromProto,
  tensorToProto,
} from "../../pipeline/load/tensor_proto.ts";
import { ALL_DATA_TYPES, type DataType, dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import {
  OnnxMap,
  Optional,
  Sequence,
  Tensor,
  toNumbers,
  type Value,
} from "../../pipeline/tensor/tensor.ts";
import { formatValueType, valueTypeFromProto } from "../../pipeline/tensor/value_type.ts";
import { exists, SHARED, sharedPresent } from "./_shared.ts";

const HAVE_SHARED = sharedPresent();

function tp(type: DataType, dims: number[], fields: Partial<TensorProto> = {}): TensorProto {
  return { ...emptyTensorProto(dataTypeCode(type), dims, `t_${type}`), ...fields };
}

function raw(...bytes: number[]): Partial<TensorProto> {
  return { rawData: new Uint8Array(bytes) };
}

/** [proto, expected storage as a plain array, expected decoded numbers (packed floats)] */
const CASES: [string, TensorProto, unknown[], number[]?][] = [
  ["float32 raw", tp("float32", [2], raw(0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0)), [1, -2.5]],
  ["float32 float_data", tp("float32", [1, 2], { floatData: [1.5, 2] }), [1.5, 2]],
  ["uint8 raw", tp("uint8", [2], raw(0, 255)), [0, 255]],
  ["uint8 int32_data", tp("uint8", [2], { int32Data: [255, 7] }), [255, 7]],
  ["int8 raw", tp("int8", [2], raw(0xff, 0x80)), [-1, -128]],
  ["int8 int32_data", tp("int8", [2], { int32Data: [-1, 127] }), [-1, 127]],
  ["uint16 raw", tp("uint16", [1], raw(0x34, 0x12)), [0x1234]],
  ["uint16 int32_data", tp("uint16", [1], { int32Data: [65535] }), [65535]],
  ["int16 raw", tp("int16", [1], raw(0xfe, 0xff)), [-2]],
  ["int16 int32_data", tp("int16", [2], { int32Data: [-32768, 5] }), [-32768, 5]],
  ["int32 raw", tp("int32", [1], raw(0xff, 0xff, 0xff, 0xff)), [-1]],
  ["int32 int32_data", tp("int32", [2], { int32Data: [7, -8] }), [7, -8]],
  ["int64 raw", tp("int64", [1], raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), [-1n]],
  [
    "int64 int64_data",
    tp("int64", [2], { int64Data: [9223372036854775807n, -3n] }),
    [9223372036854775807n, -3n],
  ],
  [
    "string string_data",
    tp("string", [2], { stringData: [new Uint8Array([0x68, 0xc3, 0xa9]), new Uint8Array(0)] }),
    ["hé", ""],
  ],
  ["bool raw", tp("bool", [3], raw(1, 0, 1)), [1, 0, 1]],
  ["bool raw nonzero", tp("bool", [2], raw(2, 0)), [1, 0]],
  ["bool int32_data", tp("bool", [3], { int32Data: [1, 0, 5] }), [1, 0, 1]],
  ["float16 raw", tp("float16", [2], raw(0x00, 0x3c, 0x00, 0xc0)), [0x3c00, 0xc000], [1, -2]],
  ["float16 int32_data", tp("float16", [2], { int32Data: [0x3c00, 0x3800] }), [0x3c00, 0x3800], [
    1,
    0.5,
  ]],
  ["float64 raw", tp("float64", [1], raw(0, 0, 0, 0, 0, 0, 0xf0, 0x3f)), [1]],
  ["float64 double_data", tp("float64", [2], { doubleData: [0.1, -0] }), [0.1, -0]],
  ["uint32 raw", tp("uint32", [1], raw(0xff, 0xff, 0xff, 0xff)), [4294967295]],
  ["uint32 uint64_data", tp("uint32", [1], { uint64Data: [4294967295n] }), [4294967295]],
  ["uint64 raw", tp("uint64", [1], raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), [
    18446744073709551615n,
  ]],
  ["uint64 uint64_data", tp("uint64", [1], { uint64Data: [18446744073709551615n] }), [
    18446744073709551615n,
  ]],
  ["complex64 float_data", tp("complex64", [2], { floatData: [1, 2, 3, 4] }), [1, 2, 3, 4]],
  ["complex64 raw", tp("complex64", [1], raw(0, 0, 0x80, 0x3f, 0, 0, 0, 0x40)), [1, 2]],
  ["complex128 double_data", tp("complex128", [1], { doubleData: [0.5, -1] }), [0.5, -1]],
  ["bfloat16 raw", tp("bfloat16", [2], raw(0x80, 0x3f, 0x00, 0xc0)), [0x3f80, 0xc000], [1, -2]],
  ["bfloat16 int32_data", tp("bfloat16", [1], { int32Data: [0x3f80] }), [0x3f80], [1]],
  // float8: e4m3fn bias 7, e4m3fnuz bias 8, e5m2 bias 15, e5m2fnuz bias 16.
  ["float8e4m3fn raw", tp("float8e4m3fn", [2], raw(0x38, 0xb8)), [0x38, 0xb8], [1, -1]],
  ["float8e4m3fn int32_data", tp("float8e4m3fn", [1], { int32Data: [0x40] }), [0x40], [2]],
  ["float8e4m3fnuz raw", tp("float8e4m3fnuz", [1], raw(0x40)), [0x40], [1]],
  ["float8e5m2 raw", tp("float8e5m2", [1], raw(0x3c)), [0x3c], [1]],
  ["float8e5m2fnuz int32_data", tp("float8e5m2fnuz", [1], { int32Data: [0x40] }), [0x40], [1]],
  ["float8e8m0 raw", tp("float8e8m0", [2], raw(127, 128)), [127, 128], [1, 2]],
  // 4-bit: two per byte, first element in the low nibble.
  ["uint4 raw", tp("uint4", [3], raw(0x21, 0x0f)), [1, 2, 15]],
  ["uint4 int32_data", tp("uint4", [3], { int32Data: [0x21, 0x0f] }), [1, 2, 15]],
  ["int4 raw", tp("int4", [3], raw(0xf7, 0x08)), [7, -1, -8]],
  ["int4 int32_data", tp("int4", [4], { int32Data: [0xf7, 0x18] }), [7, -1, -8, 1]],
  // e2m1: 0x1 is the subnormal 0.5, 0x2 is 1.0, 0xf is -6.
  ["float4e2m1 raw", tp("float4e2m1", [3], raw(0x21, 0x0f)), [1, 2, 15], [0.5, 1, -6]],
  // 2-bit: four per byte, first element in the lowest two bits.
  ["uint2 raw", tp("uint2", [5], raw(0b11100100, 0b10)), [0, 1, 2, 3, 2]],
  ["int2 raw", tp("int2", [4], raw(0b11100100)), [0, 1, -2, -1]],
  ["int2 int32_data", tp("int2", [2], { int32Data: [0b1101] }), [1, -1]],
  ["empty float32", tp("float32", [0, 3]), []],
  ["empty raw", tp("int64", [2, 0], raw()), []],
];

Deno.test("tensorFromProto decodes every element type from raw_data and typed fields", () => {
  const covered = new Set<string>();
  for (const [what, proto, storage, numbers] of CASES) {
    const t = tensorFromProto(proto);
    const type = ALL_DATA_TYPES[proto.dataType - 1];
    equal(t.type, type, what);
    deepStrictEqual(t.dims, proto.dims, what);
    deepStrictEqual(Array.from(t.data as ArrayLike<unknown>), storage, what);
    if (numbers) deepStrictEqual(Array.from(toNumbers(t)), numbers, what);
    covered.add(type);
  }
  deepStrictEqual([...ALL_DATA_TYPES].filter((t) => !covered.has(t)), [], "every dtype tested");
});

Deno.test("payloads that do not match the dims are refused naming the tensor", () => {
  const bad: [TensorProto, RegExp][] = [
    [tp("float32", [3], raw(0, 0, 0x80, 0x3f)), /t_float32.*4 bytes.*needs 12/],
    [tp("int4", [3], raw(0x21)), /t_int4.*needs 2/],
    [tp("float32", [2], { floatData: [1] }), /t_float32.*float_data/],
    [tp("int64", [2], { int32Data: [1, 2] }), /t_int64.*int64_data, got 0/],
    [tp("string", [1], raw(1)), /string_data/],
    [tp("uint8", [-1]), /invalid dimension -1/],
    [tp("float32", [2 ** 20, 2 ** 20]), /elements/],
    [{ ...tp("float32", [1]), dataType: 99 }, /unknown data type 99/],
    [{ ...tp("float32", [1], raw(0, 0, 0, 0)), dataLocation: 1 }, /external/],
  ];
  for (const [proto, pattern] of bad) {
    throws(() => tensorFromProto(proto), (e: unknown) => {
      ok(e instanceof ModelFormatError, `${proto.name}: ${e}`);
      ok(pattern.test(e.message), e.message);
      return true;
    });
  }
  throws(
    () => tensorFromProto(tp("int32", [1], { segment: { begin: 0n, end: 1n }, int32Data: [1] })),
    UnsupportedError,
  );
});

Deno.test("aligned raw_data becomes a zero-copy view; misaligned data is copied", () => {
  const buf = new Uint8Array(13);
  new DataView(buf.buffer).setFloat32(4, 3.5, true);
  new DataView(buf.buffer).setFloat32(8, -1, true);
  const aligned = tensorFromProto(tp("float32", [2], { rawData: buf.subarray(4, 12) }));
  equal((aligned.data as Float32Array).buffer, buf.buffer);
  deepStrictEqual(Array.from(aligned.data as Float32Array), [3.5, -1]);
  const odd = new Uint8Array(9);
  odd.set(buf.subarray(4, 12), 1);
  const copied = tensorFromProto(tp("float32", [2], { rawData: odd.subarray(1, 9) }));
  notEqual((copied.data as Float32Array).buffer, odd.buffer);
  deepStrictEqual(Array.from(copied.data as Float32Array), [3.5, -1]);
});

Deno.test({
  name: "resnet18 initializers are Float32Array views sharing the model's ArrayBuffer",
  ignore: !exists(`${SHARED}/models/resnet18/model.onnx`),
  fn() {
    const bytes = Deno.readFileSync(`${SHARED}/models/resnet18/model.onnx`);
    const m = decodeModel(bytes);
    let views = 0;
    for (const init of m.graph!.initializer) {
      const t = tensorFromProto(init);
      if (t.type !== "float32") continue;
      const data = t.data as Float32Array;
      ok(data instanceof Float32Array);
      if (init.rawData!.byteOffset % 4 === 0) {
        equal(data.buffer, bytes.buffer, init.name);
        views++;
      }
      equal(data.length, t.size);
    }
    ok(views > 0, "at least one initializer is aligned");
    const fc = tensorFromProto(m.graph!.initializer.find((t) => t.name === "fc.weight")!);
    deepStrictEqual(fc.dims, [1000, 512]);
    const dv = new DataView(bytes.buffer);
    const at = m.graph!.initializer.find((t) => t.name === "fc.weight")!.rawData!.byteOffset;
    equal((fc.data as Float32Array)[1], dv.getFloat32(at + 4, true));
  },
});

function sample(type: DataType, n: number): Tensor {
  const values = Array.from({ length: n }, (_, i) => (i * 7) % 13 - 6);
  switch (type) {
    case "string":
      return new Tensor("string", values.map((v) => `s${v}é`), [n]);
    case "complex64":
      return new Tensor(type, Float32Array.from([...values, ...values]), [n]);
    case "complex128":
      return new Tensor(type, Float64Array.from([...values, ...values]), [n]);
    case "bool":
      return new Tensor(type, Uint8Array.from(values, (v) => (v > 0 ? 1 : 0)), [n]);
    case "float16":
    case "bfloat16":
      return new Tensor(type, Uint16Array.from(values, (v) => (v & 0xff) | 0x3c00), [n]);
    default:
      if (
        type.startsWith("float8") || type === "float4e2m1" || type === "uint4" || type === "uint2"
      ) {
        const mask = type === "float4e2m1" || type === "uint4" ? 15 : type === "uint2" ? 3 : 255;
        return new Tensor(type, Uint8Array.from(values, (v) => v & mask), [n]);
      }
      if (type === "int4") {
        return new Tensor(type, Int8Array.from(values, (v) => Math.max(-8, v)), [n]);
      }
      if (type === "int2") {
        return new Tensor(type, Int8Array.from(values, (v) => Math.max(-2, Math.min(1, v))), [n]);
      }
      return new Tensor(type, values, [n]);
  }
}

Deno.test("tensorToProto then tensorFromProto gives back every element type", () => {
  for (const type of ALL_DATA_TYPES) {
    for (const n of [0, 1, 5]) {
      const t = sample(type, n);
      const p = tensorToProto(t, "x");
      equal(p.name, "x");
      equal(p.dataType, dataTypeCode(type));
      const back = tensorFromProto(decodeTensorProto(encodeTensorProto(p)));
      equal(back.type, type);
      deepStrictEqual(back.dims, t.dims);
      deepStrictEqual(
        Array.from(back.data as ArrayLike<unknown>),
        Array.from(t.data as ArrayLike<unknown>),
        `${type} ${n}`,
      );
    }
  }
  // Packing follows the wire rules: int4 [7, -1, -8] → 0xf7, 0x08.
  deepStrictEqual(
    Array.from(tensorToProto(new Tensor("int4", Int8Array.of(7, -1, -8), [3])).rawData!),
    [0xf7, 0x08],
  );
  deepStrictEqual(
    Array.from(tensorToProto(new Tensor("uint2", Uint8Array.of(0, 1, 2, 3, 2), [5])).rawData!),
    [0b11100100, 2],
  );
});

Deno.test("sparse tensors densify from linear and coordinate indices", () => {
  const values = tp("float32", [2], { floatData: [5, 6] });
  const linear = sparseTensorFromProto({
    dims: [2, 3],
    values,
    indices: tp("int64", [2], { int64Data: [1n, 5n] }),
  });
  deepStrictEqual(Array.from(linear.data as Float32Array), [0, 5, 0, 0, 0, 6]);
  const coo = sparseTensorFromProto({
    dims: [2, 3],
    values,
    indices: tp("int64", [2, 2], { int64Data: [0n, 2n, 1n, 0n] }),
  });
  deepStrictEqual(Array.from(coo.data as Float32Array), [0, 0, 5, 6, 0, 0]);
  throws(
    () =>
      sparseTensorFromProto({
        dims: [2],
        values,
        indices: tp("int64", [2], { int64Data: [0n, 9n] }),
      }),
    ModelFormatError,
  );
});

/** Describes a decoded value like the manifest does: `float32[3,4]`, `seq(...)`, `optional(...)`. */
function describe(v: Value | undefined): string {
  if (v === undefined) return "none";
  if (v instanceof Tensor) return `${v.type}[${v.dims.join(",")}]`;
  if (v instanceof Sequence) return `seq(${v.values.map(describe).join(";")})`;
  if (v instanceof Optional) return `optional(${describe(v.value)})`;
  return `map(${v.keys.type})`;
}

/** True when a decoded value fits a manifest type (symbolic dims match any size). */
function fits(v: Value | undefined, declared: string): boolean {
  const seq = /^seq\((.*)\)$/.exec(declared);
  if (seq) return v instanceof Sequence && v.values.every((e) => fits(e, seq[1]));
  const opt = /^optional\((.*)\)$/.exec(declared);
  if (opt) return v instanceof Optional && (v.value === undefined || fits(v.value, opt[1]));
  const m = /^([a-z0-9]+)(?:\[(.*)\])?$/.exec(declared);
  if (!m || !(v instanceof Tensor) || v.type !== m[1]) return false;
  if (m[2] === undefined) return true;
  const dims = m[2] === "" ? [] : m[2].split(",");
  return dims.length === v.dims.length &&
    dims.every((d, i) => !/^\d+$/.test(d) || Number(d) === v.dims[i]);
}

function readManifest(): Map<string, { inputs: string[]; outputs: string[]; nonTensor: boolean }> {
  const text = Deno.readTextFileSync(`${SHARED}/onnx-backend/manifest.tsv`);
  const out = new Map<string, { inputs: string[]; outputs: string[]; nonTensor: boolean }>();
  for (const line of text.split("\n").slice(1)) {
    const c = line.split("\t");
    if (c[0] !== "node") continue;
    out.set(c[1], {
      inputs: c[10] ? c[10].split(";") : [],
      outputs: c[11] ? c[11].split(";") : [],
      nonTensor: c[12] !== "",
    });
  }
  return out;
}

/** Decodes every .pb file of a node test against the model's declared types. */
function checkNodeTest(test: string, manifest: ReturnType<typeof readManifest>): number {
  const dir = `${SHARED}/onnx-backend/node/${test}`;
  const m = decodeModel(Deno.readFileSync(`${dir}/model.onnx`), test);
  const g = m.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const feeds = g.input.filter((i) => !inits.has(i.name));
  const row = manifest.get(test)!;
  let files = 0;
  for (const ds of Deno.readDirSync(dir)) {
    if (!ds.isDirectory) continue;
    for (const f of Deno.readDirSync(`${dir}/${ds.name}`)) {
      const match = /^(input|output)_(\d+)\.pb$/.exec(f.name);
      if (!match) continue;
      const k = Number(match[2]);
      const info = match[1] === "input" ? feeds[k] : g.output[k];
      const declared = (match[1] === "input" ? row.inputs : row.outputs)[k];
      const type = valueTypeFromProto(info.type);
      const path = `${dir}/${ds.name}/${f.name}`;
      const value = decodeValueFile(Deno.readFileSync(path), type, path);
      ok(fits(value, declared), `${path}: ${describe(value)} does not fit ${declared}`);
      if (value instanceof Tensor) {
        const n = value.dims.reduce((a, b) => a * b, 1);
        equal(value.size, n);
        equal(
          Array.isArray(value.data) ? value.data.length : (value.data as ArrayLike<number>).length,
          n * (value.type.startsWith("complex") ? 2 : 1),
        );
      } else {
        ok(type && type.kind !== "tensor", `${path}: a ${formatValueType(type)} value`);
      }
      files++;
    }
  }
  return files;
}

Deno.test({
  name: "test-data .pb files of 50 sampled node tests decode to values matching the manifest",
  ignore: !HAVE_SHARED,
  fn() {
    const manifest = readManifest();
    const tests = [...manifest.keys()].sort();
    const step = Math.floor(tests.length / 50);
    let files = 0;
    for (let i = 0; i < 50; i++) files += checkNodeTest(tests[i * step], manifest);
    ok(files >= 100, `${files} files`);
  },
});

Deno.test({
  name: "sequence and optional test data (every node test with non-tensor I/O) decodes",
  ignore: !HAVE_SHARED,
  fn() {
    const manifest = readManifest();
    const tests = [...manifest].filter(([, r]) => r.nonTensor).map(([t]) => t);
    equal(tests.length, 29);
    for (const t of tests) checkNodeTest(t, manifest);
  },
});

Deno.test("value files round-trip: tensors, sequences, optionals and maps", () => {
  const t = new Tensor("float32", [1, 2, 3], [3]);
  const values: Value[] = [
    t,
    new Tensor("string", ["a", "é"], [2]),
    new Sequence([t, new Tensor("float32", [4], [1])]),
    new Sequence([], { kind: "tensor", elemType: "int64" }),
    new Sequence([new Sequence([t])]),
    new Optional(t),
    new Optional(undefined, { kind: "tensor", elemType: "float32" }),
    new Optional(new Sequence([t])),
    new OnnxMap(new Tensor("int64", [1n, -5n], [2]), new Sequence([t, t])),
    new OnnxMap(new Tensor("string", ["x"], [1]), new Sequence([t])),
  ];
  const expectedTypes = [
    undefined,
    undefined,
    { kind: "sequence" as const },
    { kind: "sequence" as const },
    { kind: "sequence" as const },
    { kind: "optional" as const },
    { kind: "optional" as const },
    { kind: "optional" as const },
    { kind: "map" as const },
    { kind: "map" as const },
  ];
  values.forEach((v, i) => {
    const back = decodeValueFile(encodeValueFile(v), expectedTypes[i]);
    equal(describe(back), describe(v));
    if (v instanceof OnnxMap) {
      deepStrictEqual(
        Array.from((back as OnnxMap).keys.data as ArrayLike<unknown>),
        Array.from(v.keys.data as ArrayLike<unknown>),
      );
    }
    if (v instanceof Tensor) {
      deepStrictEqual(
        Array.from((back as Tensor).data as ArrayLike<unknown>),
        Array.from(v.data as ArrayLike<unknown>),
      );
    }
  });
  // A map whose values are one tensor is split into one element per key.
  const split = decodeValueFile(
    encodeValueFile(
      new OnnxMap(new Tensor("int32", [3, 4], [2]), new Tensor("float32", [0.5, 1.5], [2])),
    ),
    { kind: "map" },
  ) as OnnxMap;
  equal(describe(split.values), "seq(float32[];float32[])");
  throws(() => decodeValueFile(new Uint8Array([0x0a, 0x09]), undefined, "x.pb"), (e: unknown) => {
    ok(e instanceof ModelFormatError);
    equal(e.source, "x.pb");
    return true;
  });
});
