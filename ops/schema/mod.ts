/**
 * ONNX operator schemas: every schema version of the domains "" (ai.onnx, opsets 1..28),
 * "ai.onnx.ml" (1..5), "ai.onnx.preview.training" (1) and "ai.onnx.preview" (1), as data.
 *
 * The table lives in `schemas.json`, generated once by the developer tool `gen_schemas.py`
 * (onnx 1.12's schema dump plus the later versions recorded in `post_1_12.txt`). Nothing here
 * touches the file system or network; the lookup maps are built on the first call.
 *
 * Type strings are canonical ONNX type strings: `tensor(float)`, `seq(tensor(int64))`,
 * `optional(seq(tensor(uint8)))`, `map(string,tensor(float))`, `sparse_tensor(float)`.
 * A formal parameter's `type` is either such a string or the name of a type parameter that
 * appears in `typeConstraints`.
 *
 * @example
 * ```ts
 * import { getSchema } from "./mod.ts";
 * const conv = getSchema("", "Conv", 13); // Conv-11
 * console.log(conv?.since, conv?.inputs.map((p) => p.name)); // 11 ["X", "W", "B"]
 * ```
 *
 * @module
 */

import data from "./schemas.json" with { type: "json" };
import { RuntimeError } from "../../pipeline/errors.ts";

/** Maximum input/output count of a schema whose last parameter is variadic (INT32_MAX, as in onnx). */
export const UNBOUNDED = 2147483647;

/** An input or output declared by an operator schema. */
export interface FormalParameter {
  /** Parameter name from the spec (informative; nodes bind by position). */
  name: string;
  /** A canonical type string such as `tensor(int64)`, or a type parameter name such as `T`. */
  type: string;
  /** `single` (exactly one), `optional` (may be omitted or ""), `variadic` (the last, repeated). */
  option: "single" | "optional" | "variadic";
  /** For variadic parameters: whether all values must share one type. True otherwise. */
  homogeneous: boolean;
  /** For variadic parameters: the minimum number of values (1 unless the spec says 0). */
  minArity: number;
}

/** An attribute declared by an operator schema. */
export interface AttributeSchema {
  /** Attribute name. */
  name: string;
  /** AttributeProto type name: "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", ... */
  type: string;
  /** True when a node must set it. */
  required: boolean;
  /**
   * Default value when the spec gives one: numbers for INT/FLOAT, strings for STRING, arrays for
   * INTS/FLOATS/STRINGS, and `{ dataType, dims, values }` for TENSOR.
   */
  default?: unknown;
}

/** One version of an operator's schema. */
export interface OpSchema {
  /** Domain: "" for ai.onnx, otherwise e.g. "ai.onnx.ml". */
  domain: string;
  /** Operator type, e.g. "Conv". */
  opType: string;
  /** Opset version that introduced this schema version. */
  since: number;
  /** Declared inputs, in order. */
  inputs: FormalParameter[];
  /** Declared outputs, in order. */
  outputs: FormalParameter[];
  /** Fewest inputs a node may list. */
  minInputs: number;
  /** Most inputs a node may list ({@link UNBOUNDED} when the last input is variadic). */
  maxInputs: number;
  /** Fewest outputs a node may list. */
  minOutputs: number;
  /** Most outputs a node may list ({@link UNBOUNDED} when the last output is variadic). */
  maxOutputs: number;
  /** Declared attributes, sorted by name. */
  attributes: AttributeSchema[];
  /** Type parameter name → allowed canonical type strings. */
  typeConstraints: Record<string, string[]>;
  /** True when this version marks the operator deprecated (models may not use it at this opset). */
  deprecated?: boolean;
  /** True when the spec defines the operator as a function (a body of other operators). */
  hasFunction?: boolean;
}

/** A formal parameter as stored: [name, type, flags?, minArity?]; flags "o", "v" or "vh". */
type RawParam = (string | number)[];
/** An attribute as stored: [name, TYPE], [name, TYPE, 1] (required), [name, TYPE, 0, default]. */
type RawAttr = unknown[];

/** One schema as stored in schemas.json (see gen_schemas.py for the format). */
interface RawOp {
  d?: string;
  n: string;
  s: number;
  i?: RawParam[];
  o?: RawParam[];
  a?: RawAttr[];
  t?: Record<string, number>;
  x?: number;
  f?: number;
  c?: number[];
}

/** The whole stored table. */
interface RawTable {
  format: number;
  types: string[][];
  ops: RawOp[];
}

interface Index {
  all: OpSchema[];
  byOp: Map<string, OpSchema[]>;
  domains: string[];
}

let index: Index | undefined;

function normalizeDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

function keyOf(domain: string, opType: string): string {
  return `${domain}\u0000${opType}`;
}

function decodeParam(raw: RawParam): FormalParameter {
  const flags = typeof raw[2] === "string" ? raw[2] : "";
  const option = flags.startsWith("v") ? "variadic" : flags === "o" ? "optional" : "single";
  return Object.freeze({
    name: String(raw[0]),
    type: String(raw[1]),
    option,
    homogeneous: flags !== "vh",
    minArity: typeof raw[3] === "number" ? raw[3] : 1,
  });
}

function decodeAttr(raw: RawAttr): AttributeSchema {
  const attr: AttributeSchema = {
    name: String(raw[0]),
    type: String(raw[1]),
    required: raw[2] === 1,
  };
  if (raw.length > 3) attr.default = deepFreeze(raw[3]);
  return Object.freeze(attr);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** min/max count implied by formal parameters, as onnx's OpSchema::Finalize computes it. */
function impliedCounts(params: FormalParameter[]): [number, number] {
  let min = 0;
  let max = 0;
  for (const p of params) {
    if (p.option === "single") {
      max += 1;
      min = max;
    } else if (p.option === "optional") {
      max += 1;
    } else {
      min = max + p.minArity;
      max = UNBOUNDED;
    }
  }
  return [min, max];
}

function decodeOp(raw: RawOp, types: string[][]): OpSchema {
  const inputs = Object.freeze((raw.i ?? []).map(decodeParam)) as FormalParameter[];
  const outputs = Object.freeze((raw.o ?? []).map(decodeParam)) as FormalParameter[];
  const [minIn, maxIn] = impliedCounts(inputs);
  const [minOut, maxOut] = impliedCounts(outputs);
  const counts = raw.c ?? [minIn, maxIn, minOut, maxOut];
  const typeConstraints: Record<string, string[]> = {};
  for (const [param, listIndex] of Object.entries(raw.t ?? {})) {
    const list = types[listIndex];
    if (list === undefined) {
      throw new RuntimeError(
        `Schema table is corrupt: ${raw.n}-${raw.s} refers to missing type list ${listIndex}`,
        { opType: raw.n },
      );
    }
    typeConstraints[param] = list;
  }
  const schema: OpSchema = {
    domain: raw.d ?? "",
    opType: raw.n,
    since: raw.s,
    inputs,
    outputs,
    minInputs: counts[0],
    maxInputs: counts[1],
    minOutputs: counts[2],
    maxOutputs: counts[3],
    attributes: Object.freeze((raw.a ?? []).map(decodeAttr)) as AttributeSchema[],
    typeConstraints: Object.freeze(typeConstraints),
  };
  if (raw.x === 1) schema.deprecated = true;
  if (raw.f === 1) schema.hasFunction = true;
  return Object.freeze(schema);
}

function build(): Index {
  if (index) return index;
  const table = data as unknown as RawTable;
  const types = table.types.map((list) => Object.freeze(list.slice()) as string[]);
  const all: OpSchema[] = [];
  const byOp = new Map<string, OpSchema[]>();
  const domains = new Set<string>();
  for (const raw of table.ops) {
    const schema = decodeOp(raw, types);
    all.push(schema);
    domains.add(schema.domain);
    const key = keyOf(schema.domain, schema.opType);
    const versions = byOp.get(key);
    if (versions) versions.push(schema);
    else byOp.set(key, [schema]);
  }
  for (const versions of byOp.values()) versions.sort((a, b) => a.since - b.since);
  index = { all: Object.freeze(all) as OpSchema[], byOp, domains: [...domains].sort() };
  return index;
}

/**
 * The schema that applies to `opType` of `domain` in a model importing that domain at `opset`:
 * the newest version whose since-version is ≤ `opset`. Domain "" and "ai.onnx" are the same.
 * Returns undefined when the operator is unknown or only introduced after `opset`. A returned
 * schema may be marked `deprecated`, meaning the operator is removed at that opset.
 * The returned object is shared and frozen.
 */
export function getSchema(domain: string, opType: string, opset: number): OpSchema | undefined {
  const versions = build().byOp.get(keyOf(normalizeDomain(domain), opType));
  if (!versions) return undefined;
  let found: OpSchema | undefined;
  for (const schema of versions) {
    if (schema.since <= opset) found = schema;
    else break;
  }
  return found;
}

/** The since-versions of every schema version of `opType` in `domain`, ascending ([] if unknown). */
export function schemaVersions(domain: string, opType: string): number[] {
  const versions = build().byOp.get(keyOf(normalizeDomain(domain), opType));
  return versions ? versions.map((s) => s.since) : [];
}

/** Every schema version in the table, sorted by domain, operator type and since-version. */
export function allSchemas(): OpSchema[] {
  return build().all.slice();
}

/** The domains the table covers, sorted; the default domain is reported as "". */
export function knownDomains(): string[] {
  return build().domains.slice();
}

/** onnx element type names used in type strings, indexed by TensorProto.DataType code. */
const ELEMENT_NAMES: readonly (string | undefined)[] = [
  undefined,
  "float",
  "uint8",
  "int8",
  "uint16",
  "int16",
  "int32",
  "int64",
  "string",
  "bool",
  "float16",
  "double",
  "uint32",
  "uint64",
  "complex64",
  "complex128",
  "bfloat16",
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
  "uint4",
  "int4",
  "float4e2m1",
  "float8e8m0",
  "uint2",
  "int2",
];

/** The parts of a TypeProto that {@link typeStringOf} reads; the IR's `TypeProto` fits it. */
export interface TypeDescription {
  /** A dense tensor of the given TensorProto.DataType code. */
  tensorType?: { elemType: number };
  /** A sequence of the element type. */
  sequenceType?: { elemType?: TypeDescription };
  /** An optional of the element type. */
  optionalType?: { elemType?: TypeDescription };
  /** A map from a key element type code to the value type. */
  mapType?: { keyType: number; valueType?: TypeDescription };
  /** A sparse tensor of the given element type code. */
  sparseTensorType?: { elemType: number };
}

/**
 * The canonical type string of a value's declared type, in the form the schemas use
 * (`tensor(float)`, `seq(tensor(int64))`, `optional(tensor(bool))`, `map(string,tensor(float))`,
 * `sparse_tensor(float)`), or undefined when the type is unknown, opaque or incomplete.
 */
export function typeStringOf(type: TypeDescription | undefined): string | undefined {
  if (!type) return undefined;
  if (type.tensorType) {
    const elem = ELEMENT_NAMES[type.tensorType.elemType];
    return elem === undefined ? undefined : `tensor(${elem})`;
  }
  if (type.sequenceType) {
    const inner = typeStringOf(type.sequenceType.elemType);
    return inner === undefined ? undefined : `seq(${inner})`;
  }
  if (type.optionalType) {
    const inner = typeStringOf(type.optionalType.elemType);
    return inner === undefined ? undefined : `optional(${inner})`;
  }
  if (type.mapType) {
    const key = ELEMENT_NAMES[type.mapType.keyType];
    const value = typeStringOf(type.mapType.valueType);
    return key === undefined || value === undefined ? undefined : `map(${key},${value})`;
  }
  if (type.sparseTensorType) {
    const elem = ELEMENT_NAMES[type.sparseTensorType.elemType];
    return elem === undefined ? undefined : `sparse_tensor(${elem})`;
  }
  return undefined;
}
