/**
 * Tensors to and from JSON.
 *
 * Accepted input forms:
 * - an object `{ "type": "float32", "dims": [2, 2], "data": [1, 2, 3, 4] }` (`shape` is
 *   accepted for `dims`; `data` may be flat or nested; `type` accepts ONNX spellings such as
 *   `float` and `double` too);
 * - plain (possibly nested) arrays or a bare scalar, whose shape is inferred from the
 *   nesting.
 *
 * The element type comes from the object's `type`, else from the expected type, else from
 * the values: numbers → float32, booleans → bool, strings → string. Float values may be the
 * strings `"NaN"`, `"Infinity"`, `"-Infinity"` (and `null` reads as NaN, which is what
 * `JSON.stringify` writes for NaN); int64/uint64 values may be decimal strings, exact beyond
 * 2^53. Complex values are `[re, im]` pairs.
 *
 * @module
 */

import { type DataType, dataTypeFromOnnxName, isBig, isFloat, isInteger } from "../tensor/dtype.ts";
import { dataToNumbers, fromNumbers, shapeSize, Tensor } from "../tensor/tensor.ts";
import { InputError, ModelFormatError, UnsupportedError } from "../errors.ts";

/** What a model expects for an input, used to pick the type and check the shape. */
export interface JsonTensorExpectation {
  /** Element type to produce when the JSON does not name one. */
  type?: DataType;
  /** Expected dims: numbers must match, strings (symbolic) and undefined match anything. */
  dims?: (number | string | undefined)[];
}

/** One element as written to JSON. */
export type JsonScalar = number | string | boolean;

/** The JSON form of a tensor written by {@link tensorToJson}. */
export interface JsonTensor {
  /** Element type name. */
  type: DataType;
  /** Shape. */
  dims: number[];
  /** Elements in row-major order; complex elements are `[re, im]` pairs. */
  data: (JsonScalar | [JsonScalar, JsonScalar])[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isComplex(type: DataType): boolean {
  return type === "complex64" || type === "complex128";
}

/** Walks nested arrays, returning their rectangular shape and the leaves in order. */
function flatten(
  value: unknown,
  complex: boolean,
  fail: (msg: string) => never,
): { dims: number[]; leaves: unknown[] } {
  const leaves: unknown[] = [];
  let dims: number[] | undefined;
  const isLeaf = (v: unknown): boolean =>
    !Array.isArray(v) ||
    (complex && v.length === 2 && !Array.isArray(v[0]) && !Array.isArray(v[1]));
  const walk = (v: unknown, depth: number, prefix: number[]): void => {
    if (isLeaf(v)) {
      if (dims === undefined) dims = prefix.slice();
      else if (dims.length !== depth) {
        fail(`nested arrays are ragged: a value sits at depth ${depth}, another at ${dims.length}`);
      }
      leaves.push(v);
      return;
    }
    const arr = v as unknown[];
    if (dims !== undefined) {
      if (depth >= dims.length) {
        fail(`nested arrays are ragged: an array sits where a value was expected`);
      }
      if (dims[depth] !== arr.length) {
        fail(
          `nested arrays are ragged: lengths ${dims[depth]} and ${arr.length} at depth ${depth}`,
        );
      }
    }
    if (arr.length === 0) {
      if (dims === undefined) dims = [...prefix, 0];
      else if (dims.length !== depth + 1) fail("nested arrays are ragged around an empty array");
      return;
    }
    for (const item of arr) walk(item, depth + 1, [...prefix, arr.length]);
  };
  walk(value, 0, []);
  return { dims: dims ?? [], leaves };
}

function inferType(leaves: unknown[]): DataType {
  for (const v of leaves) {
    if (typeof v === "boolean") return "bool";
    if (typeof v === "string") {
      return /^(nan|-?inf(inity)?)$/i.test(v) ? "float32" : "string";
    }
    if (typeof v === "bigint") return "int64";
    if (typeof v === "number" || v === null) return "float32";
  }
  return "float32";
}

function parseFloatLeaf(v: unknown, where: () => string, fail: (msg: string) => never): number {
  if (typeof v === "number") return v;
  if (v === null) return NaN;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") {
    const s = v.trim();
    if (/^nan$/i.test(s)) return NaN;
    if (/^\+?inf(inity)?$/i.test(s)) return Infinity;
    if (/^-inf(inity)?$/i.test(s)) return -Infinity;
    const n = Number(s);
    if (s !== "" && !Number.isNaN(n)) return n;
  }
  return fail(`${where()} is ${JSON.stringify(v)}, not a number`);
}

function parseIntLeaf(
  v: unknown,
  type: DataType,
  where: () => string,
  fail: (msg: string) => never,
): bigint {
  let b: bigint | undefined;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "boolean") b = v ? 1n : 0n;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) b = BigInt(v.trim());
  if (b === undefined) return fail(`${where()} is ${JSON.stringify(v)}, not an integer`);
  const bits = { int2: 2, int4: 4, int8: 8, int16: 16, int32: 32, int64: 64 }[type as string];
  const ubits = { uint2: 2, uint4: 4, uint8: 8, uint16: 16, uint32: 32, uint64: 64 }[
    type as string
  ];
  const ok = bits !== undefined
    ? b >= -(1n << BigInt(bits - 1)) && b < 1n << BigInt(bits - 1)
    : b >= 0n && b < 1n << BigInt(ubits ?? 64);
  if (!ok) fail(`${where()} = ${b} is out of range for ${type}`);
  return b;
}

function buildData(
  type: DataType,
  leaves: unknown[],
  fail: (msg: string) => never,
): unknown {
  const where = (i: number) => () => `element ${i}`;
  if (type === "string") {
    return leaves.map((v, i) => {
      if (typeof v !== "string") fail(`${where(i)()} is ${JSON.stringify(v)}, not a string`);
      return v as string;
    });
  }
  if (type === "bool") {
    const out = new Uint8Array(leaves.length);
    leaves.forEach((v, i) => {
      if (v === true || v === 1) out[i] = 1;
      else if (v === false || v === 0) out[i] = 0;
      else fail(`${where(i)()} is ${JSON.stringify(v)}, not a boolean`);
    });
    return out;
  }
  if (isComplex(type)) {
    const out = type === "complex64"
      ? new Float32Array(leaves.length * 2)
      : new Float64Array(leaves.length * 2);
    leaves.forEach((v, i) => {
      if (Array.isArray(v) && v.length === 2) {
        out[2 * i] = parseFloatLeaf(v[0], where(i), fail);
        out[2 * i + 1] = parseFloatLeaf(v[1], where(i), fail);
      } else {
        out[2 * i] = parseFloatLeaf(v, where(i), fail);
      }
    });
    return out;
  }
  if (isBig(type)) {
    const out = type === "int64"
      ? new BigInt64Array(leaves.length)
      : new BigUint64Array(leaves.length);
    leaves.forEach((v, i) => {
      out[i] = parseIntLeaf(v, type, where(i), fail);
    });
    return out;
  }
  if (isInteger(type)) {
    const nums = leaves.map((v, i) => Number(parseIntLeaf(v, type, where(i), fail)));
    return fromNumbers(type, nums);
  }
  if (isFloat(type)) {
    const nums = leaves.map((v, i) => parseFloatLeaf(v, where(i), fail));
    return fromNumbers(type, nums);
  }
  throw new UnsupportedError(`Cannot read ${type} tensors from JSON`, { dtype: type });
}

function parseTypeName(name: unknown, fail: (msg: string) => never): DataType {
  if (typeof name !== "string") return fail(`"type" must be a string, got ${JSON.stringify(name)}`);
  const t = dataTypeFromOnnxName(name.toLowerCase()) ??
    { bool_: "bool", boolean: "bool", str: "string", half: "float16" }[name.toLowerCase()] as
      | DataType
      | undefined;
  if (!t) return fail(`unknown element type "${name}"`);
  return t;
}

function dimsMatch(dims: readonly number[], expected: (number | string | undefined)[]): boolean {
  return dims.length === expected.length &&
    dims.every((d, i) => typeof expected[i] !== "number" || expected[i] === d);
}

/**
 * Builds a tensor from a JSON value (see the module documentation for the accepted forms).
 *
 * With `expected.dims`, a flat list whose length fits the expected shape is reshaped to it
 * (a single unknown dimension is solved for); any other shape mismatch throws
 * {@link InputError}. Malformed JSON structures throw {@link ModelFormatError}.
 *
 * @example
 * ```ts
 * import { tensorFromJson } from "./json.ts";
 * const t = tensorFromJson({ type: "int64", dims: [2], data: [1, "9007199254740993"] });
 * ```
 */
export function tensorFromJson(value: unknown, expected?: JsonTensorExpectation): Tensor {
  const fail = (msg: string): never => {
    throw new ModelFormatError(`Invalid JSON tensor: ${msg}`, { source: "<json>" });
  };
  let type: DataType | undefined;
  let declaredDims: number[] | undefined;
  let payload: unknown = value;
  if (isPlainObject(value)) {
    if (!("data" in value)) {
      fail(`an object needs a "data" field, found keys ${Object.keys(value)}`);
    }
    payload = value.data;
    if (value.type !== undefined) type = parseTypeName(value.type, fail);
    const d = value.dims ?? value.shape;
    if (d !== undefined) {
      if (
        !Array.isArray(d) || !d.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)
      ) {
        fail(`"dims" must be a list of non-negative integers, got ${JSON.stringify(d)}`);
      }
      declaredDims = d as number[];
    }
    if (type && expected?.type && type !== expected.type) {
      throw new InputError(`JSON tensor has type ${type} but ${expected.type} is expected`, {
        expected: expected.type,
        got: type,
      });
    }
  }
  const provisional = type ?? expected?.type;
  const { dims: nestedDims, leaves } = flatten(
    payload,
    provisional !== undefined && isComplex(provisional),
    fail,
  );
  type = provisional ?? inferType(leaves);
  let dims = nestedDims;
  if (declaredDims) {
    if (shapeSize(declaredDims) !== leaves.length) {
      fail(
        `"dims" [${declaredDims}] needs ${
          shapeSize(declaredDims)
        } values, "data" has ${leaves.length}`,
      );
    }
    if (nestedDims.length > 1 && !dimsMatch(nestedDims, declaredDims)) {
      fail(`"dims" [${declaredDims}] disagree with the nesting of "data" [${nestedDims}]`);
    }
    dims = declaredDims;
  }
  const want = expected?.dims;
  if (want && !dimsMatch(dims, want)) {
    const unknown = want.filter((d) => typeof d !== "number").length;
    const known = want.reduce<number>((acc, d) => acc * (typeof d === "number" ? d : 1), 1);
    const canReshape = dims.length <= 1 && !declaredDims &&
      (unknown === 0 ? known === leaves.length : unknown === 1 && known > 0 &&
        leaves.length % known === 0);
    if (canReshape) {
      dims = want.map((d) => (typeof d === "number" ? d : leaves.length / known));
    } else {
      throw new InputError(
        `JSON tensor has shape [${dims}] but [${want.map((d) => d ?? "?")}] is expected`,
        { expected: `[${want.map((d) => d ?? "?")}]`, got: `[${dims}]` },
      );
    }
  }
  return new Tensor(type, buildData(type, leaves, fail), dims);
}

function floatToJson(x: number): number | string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

/**
 * Converts a tensor to `{ type, dims, data }` with flat row-major data: int64/uint64 values
 * are numbers when exactly representable (|x| ≤ 2^53) and decimal strings otherwise; NaN and
 * ±Infinity become the strings "NaN", "Infinity", "-Infinity"; float16, bfloat16 and the
 * float8/float4 kinds are decoded to numbers; bool values are `true`/`false`; complex values
 * are `[re, im]` pairs. The result survives `JSON.stringify` and {@link tensorFromJson}.
 *
 * @example
 * ```ts
 * import { tensorToJson } from "./json.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * JSON.stringify(tensorToJson(new Tensor("float32", [1, NaN], [2])));
 * // {"type":"float32","dims":[2],"data":[1,"NaN"]}
 * ```
 */
export function tensorToJson(t: Tensor): JsonTensor {
  if (t.location !== "cpu") {
    throw new UnsupportedError("Cannot convert a GPU tensor to JSON: download its data first");
  }
  const type = t.type;
  const dims = [...t.dims];
  let data: JsonTensor["data"];
  if (type === "string") {
    data = [...(t.data as string[])];
  } else if (type === "bool") {
    data = Array.from(t.data as Uint8Array, (v) => v !== 0);
  } else if (isBig(type)) {
    const limit = 2n ** 53n;
    data = Array.from(
      t.data as BigInt64Array | BigUint64Array,
      (v) => v <= limit && v >= -limit ? Number(v) : v.toString(),
    );
  } else if (isComplex(type)) {
    const f = t.data as Float32Array | Float64Array;
    data = [];
    for (let i = 0; i < f.length; i += 2) data.push([floatToJson(f[i]), floatToJson(f[i + 1])]);
  } else {
    data = Array.from(dataToNumbers(type, t.data), floatToJson);
  }
  return { type, dims, data };
}
