/**
 * Decoding and encoding ONNX protobuf messages (ModelProto, TensorProto and the onnx-data
 * messages) to and from the IR of `ir.ts`, through protobufjs and the schema of
 * `onnx_proto.ts`.
 *
 * Decoding keeps proto2 field presence where the IR can express it (a dimension of value 0,
 * an empty `raw_data`, a tensor type without a shape), and `raw_data`/`string_data`/`s`
 * bytes are zero-copy views into the input. Encoding writes only fields that are set or
 * differ from their default, so `decodeModel(encodeModel(decodeModel(x)))` deep-equals
 * `decodeModel(x)`. Malformed input of any kind raises {@link ModelFormatError} naming the
 * source.
 *
 * @module
 */

import protobuf from "npm:protobufjs@8.8.1";
import { ModelFormatError } from "../errors.ts";
import type {
  Attribute,
  AttributeType,
  DeviceConfiguration,
  DimProto,
  FunctionProto,
  Graph,
  IntIntListEntry,
  Model,
  Node,
  NodeDeviceConfiguration,
  OpsetId,
  ShardedDim,
  ShardingSpec,
  SimpleShardedDim,
  SparseTensorProto,
  StringEntry,
  TensorAnnotation,
  TensorProto,
  TrainingInfo,
  TypeProto,
  ValueInfo,
} from "./ir.ts";
import { type OnnxMessageName, onnxType } from "./onnx_proto.ts";

/**
 * Graphs nested deeper than this (through GRAPH/GRAPHS attributes) are refused. Real models
 * nest a few levels; protobufjs' own message recursion limit (100) allows about 33.
 */
export const MAX_GRAPH_NESTING = 24;

/** TypeProto nesting (sequence of map of optional ...) deeper than this is refused. */
export const MAX_TYPE_NESTING = 32;

/** onnx-data nesting (sequence of sequences ...) deeper than this is refused. */
export const MAX_VALUE_NESTING = 32;

/** SequenceProto / OptionalProto `elem_type` codes (onnx-data.proto). */
export const VALUE_ELEM_TYPE = {
  UNDEFINED: 0,
  TENSOR: 1,
  SPARSE_TENSOR: 2,
  SEQUENCE: 3,
  MAP: 4,
  OPTIONAL: 5,
} as const;

/** SequenceProto (onnx-data.proto): a list of values of one kind. */
export interface SequenceProto {
  /** Name. */
  name: string;
  /** {@link VALUE_ELEM_TYPE} code of the elements. */
  elemType: number;
  /** TENSOR elements. */
  tensorValues: TensorProto[];
  /** SPARSE_TENSOR elements. */
  sparseTensorValues: SparseTensorProto[];
  /** SEQUENCE elements. */
  sequenceValues: SequenceProto[];
  /** MAP elements. */
  mapValues: MapProto[];
  /** OPTIONAL elements. */
  optionalValues: OptionalProto[];
}

/** MapProto (onnx-data.proto): keys and a sequence of values of the same length. */
export interface MapProto {
  /** Name. */
  name: string;
  /** TensorProto.DataType code of the keys. */
  keyType: number;
  /** Integer keys. */
  keys: bigint[];
  /** String keys, as bytes. */
  stringKeys: Uint8Array[];
  /** Values, one per key. */
  values?: SequenceProto;
}

/** OptionalProto (onnx-data.proto): a value or nothing. */
export interface OptionalProto {
  /** Name. */
  name: string;
  /** {@link VALUE_ELEM_TYPE} code of the held value. */
  elemType: number;
  /** TENSOR value. */
  tensorValue?: TensorProto;
  /** SPARSE_TENSOR value. */
  sparseTensorValue?: SparseTensorProto;
  /** SEQUENCE value. */
  sequenceValue?: SequenceProto;
  /** MAP value. */
  mapValue?: MapProto;
  /** OPTIONAL value. */
  optionalValue?: OptionalProto;
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/** A decoded protobufjs message: own properties are the fields present on the wire. */
type Msg = Record<string, unknown>;
/** int64 as protobufjs returns it: a Long-like object or a number. */
type LongLike = number | { low: number; high: number };

const ATTRIBUTE_TYPES: readonly (AttributeType | undefined)[] = [
  "UNDEFINED",
  "FLOAT",
  "INT",
  "STRING",
  "TENSOR",
  "GRAPH",
  "FLOATS",
  "INTS",
  "STRINGS",
  "TENSORS",
  "GRAPHS",
  "SPARSE_TENSOR",
  "SPARSE_TENSORS",
  "TYPE_PROTO",
  "TYPE_PROTOS",
];
const ATTRIBUTE_CODES: ReadonlyMap<AttributeType, number> = new Map(
  ATTRIBUTE_TYPES.map((t, i) => [t as AttributeType, i]),
);

/** The AttributeProto.AttributeType code of a type name. */
export function attributeTypeCode(type: AttributeType): number {
  const code = ATTRIBUTE_CODES.get(type);
  if (code === undefined) throw new TypeError(`Unknown attribute type: ${type}`);
  return code;
}

/** The AttributeType name of a code, or undefined when the code is not in the enum. */
export function attributeTypeFromCode(code: number): AttributeType | undefined {
  return ATTRIBUTE_TYPES[code];
}

const hasOwn = Object.prototype.hasOwnProperty;

function has(m: Msg, key: string): boolean {
  return hasOwn.call(m, key) && m[key] !== null && m[key] !== undefined;
}

function str(m: Msg, key: string): string {
  return hasOwn.call(m, key) ? (m[key] as string) : "";
}

function num(m: Msg, key: string): number {
  return hasOwn.call(m, key) ? (m[key] as number) : 0;
}

/** An own repeated field (a fresh array from the decoder) or a new empty array. */
function list<T>(m: Msg, key: string): T[] {
  return hasOwn.call(m, key) ? (m[key] as T[]) : [];
}

function msg(m: Msg, key: string): Msg {
  return m[key] as Msg;
}

function longToNumber(v: LongLike): number {
  if (typeof v === "number") return v;
  return v.high * 4294967296 + (v.low >>> 0);
}

function longToBigInt(v: LongLike): bigint {
  if (typeof v === "number") return BigInt(v);
  const { low, high } = v;
  if (high === 0 && low >= 0) return BigInt(low);
  if (high === -1 && low < 0) return BigInt(low);
  return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0));
}

function longToBigUint(v: LongLike): bigint {
  return BigInt.asUintN(64, longToBigInt(v));
}

function int64(m: Msg, key: string): bigint {
  return hasOwn.call(m, key) ? longToBigInt(m[key] as LongLike) : 0n;
}

function int64AsNumber(m: Msg, key: string): number {
  return hasOwn.call(m, key) ? longToNumber(m[key] as LongLike) : 0;
}

function longsToNumbers(m: Msg, key: string): number[] {
  const a = list<LongLike>(m, key);
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = longToNumber(a[i]);
  return out;
}

function longsToBigInts(m: Msg, key: string, unsigned = false): bigint[] {
  const a = list<LongLike>(m, key);
  const out = new Array<bigint>(a.length);
  if (unsigned) { for (let i = 0; i < a.length; i++) out[i] = longToBigUint(a[i]); }
  else for (let i = 0; i < a.length; i++) out[i] = longToBigInt(a[i]);
  return out;
}

/** bigint → what protobufjs' int64/uint64 writers accept (a number when exact, else bits). */
function toLong(v: bigint): LongLike {
  if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}

function toLongs(a: readonly bigint[]): LongLike[] {
  const out = new Array<LongLike>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = toLong(a[i]);
  return out;
}

/** Context of one decode call: where the bytes came from, for error messages. */
interface Ctx {
  source: string;
}

function fail(ctx: Ctx, message: string): ModelFormatError {
  return new ModelFormatError(`Cannot decode "${ctx.source}": ${message}`, {
    source: ctx.source,
  });
}

/** Translates a protobufjs (or stack) failure into a ModelFormatError naming the source. */
function wrapDecodeError(e: unknown, ctx: Ctx, what: string): ModelFormatError {
  if (e instanceof ModelFormatError) return e;
  const text = e instanceof Error ? e.message : String(e);
  let reason: string;
  if (/index out of range/i.test(text)) {
    reason = "the data is truncated or a length field points past its end";
  } else if (/max depth|call stack/i.test(text)) {
    reason = "messages are nested too deeply";
  } else {
    reason = `the data is not a valid ${what} (${text})`;
  }
  return new ModelFormatError(`Cannot decode ${what} "${ctx.source}": ${reason}`, {
    source: ctx.source,
    cause: e,
  });
}

/** A plain Uint8Array view of `bytes` (a Node Buffer would make protobufjs return Buffers). */
function plainBytes(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("Expected the encoded message as a Uint8Array");
  }
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeMessage<T>(
  type: OnnxMessageName,
  bytes: Uint8Array,
  ctx: Ctx,
  what: string,
  convert: (m: Msg) => T,
): T {
  try {
    const m = onnxType(type).decode(new protobuf.Reader(plainBytes(bytes))) as unknown as Msg;
    return convert(m);
  } catch (e) {
    throw wrapDecodeError(e, ctx, what);
  }
}

function encodeMessage(type: OnnxMessageName, m: Msg, what: string): Uint8Array<ArrayBuffer> {
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = onnxType(type).encode(m, new protobuf.Writer()).finish() as Uint8Array<ArrayBuffer>;
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    const text = e instanceof Error ? e.message : String(e);
    throw new ModelFormatError(`Cannot encode ${what}: ${text}`, { cause: e });
  }
  // Small results come from protobufjs' shared slab: give the caller its own buffer.
  return out.byteOffset === 0 && out.buffer.byteLength === out.byteLength ? out : out.slice();
}

// ---------------------------------------------------------------------------------------
// Decoding: protobufjs message → IR

function entriesFrom(m: Msg, key: string): StringEntry[] {
  return list<Msg>(m, key).map((e) => ({ key: str(e, "key"), value: str(e, "value") }));
}

function tensorFrom(m: Msg, ctx: Ctx): TensorProto {
  const dataLocation = num(m, "dataLocation");
  const name = str(m, "name");
  if (dataLocation !== 0 && dataLocation !== 1) {
    throw fail(ctx, `tensor "${name}" has an unknown data_location ${dataLocation}`);
  }
  const t: TensorProto = {
    dims: longsToNumbers(m, "dims"),
    dataType: num(m, "dataType"),
    floatData: list<number>(m, "floatData"),
    int32Data: list<number>(m, "int32Data"),
    stringData: list<Uint8Array>(m, "stringData"),
    int64Data: longsToBigInts(m, "int64Data"),
    name,
    docString: str(m, "docString"),
    externalData: entriesFrom(m, "externalData"),
    dataLocation,
    doubleData: list<number>(m, "doubleData"),
    uint64Data: longsToBigInts(m, "uint64Data", true),
    metadataProps: entriesFrom(m, "metadataProps"),
  };
  if (has(m, "segment")) {
    const s = msg(m, "segment");
    t.segment = { begin: int64(s, "begin"), end: int64(s, "end") };
  }
  if (has(m, "rawData")) t.rawData = m.rawData as Uint8Array;
  return t;
}

function sparseFrom(m: Msg, ctx: Ctx): SparseTensorProto {
  const s: SparseTensorProto = { dims: longsToNumbers(m, "dims") };
  if (has(m, "values")) s.values = tensorFrom(msg(m, "values"), ctx);
  if (has(m, "indices")) s.indices = tensorFrom(msg(m, "indices"), ctx);
  return s;
}

function shapeFrom(m: Msg): DimProto[] {
  return list<Msg>(m, "dim").map((d) => {
    const out: DimProto = {};
    if (has(d, "dimValue")) out.dimValue = longToNumber(d.dimValue as LongLike);
    else if (has(d, "dimParam")) out.dimParam = d.dimParam as string;
    if (has(d, "denotation")) out.denotation = d.denotation as string;
    return out;
  });
}

function typeFrom(m: Msg, ctx: Ctx, depth: number): TypeProto {
  if (depth > MAX_TYPE_NESTING) {
    throw fail(ctx, `type protos are nested more than ${MAX_TYPE_NESTING} levels deep`);
  }
  const t: TypeProto = {};
  if (has(m, "tensorType")) {
    const tt = msg(m, "tensorType");
    t.tensorType = { elemType: num(tt, "elemType") };
    if (has(tt, "shape")) t.tensorType.shape = shapeFrom(msg(tt, "shape"));
  } else if (has(m, "sequenceType")) {
    const st = msg(m, "sequenceType");
    t.sequenceType = {};
    if (has(st, "elemType")) {
      t.sequenceType.elemType = typeFrom(msg(st, "elemType"), ctx, depth + 1);
    }
  } else if (has(m, "mapType")) {
    const mt = msg(m, "mapType");
    t.mapType = { keyType: num(mt, "keyType") };
    if (has(mt, "valueType")) t.mapType.valueType = typeFrom(msg(mt, "valueType"), ctx, depth + 1);
  } else if (has(m, "optionalType")) {
    const ot = msg(m, "optionalType");
    t.optionalType = {};
    if (has(ot, "elemType")) {
      t.optionalType.elemType = typeFrom(msg(ot, "elemType"), ctx, depth + 1);
    }
  } else if (has(m, "sparseTensorType")) {
    const st = msg(m, "sparseTensorType");
    t.sparseTensorType = { elemType: num(st, "elemType") };
    if (has(st, "shape")) t.sparseTensorType.shape = shapeFrom(msg(st, "shape"));
  } else if (has(m, "opaqueType")) {
    const ot = msg(m, "opaqueType");
    t.opaqueType = { domain: str(ot, "domain"), name: str(ot, "name") };
  }
  if (has(m, "denotation")) t.denotation = m.denotation as string;
  return t;
}

function valueInfoFrom(m: Msg, ctx: Ctx): ValueInfo {
  const v: ValueInfo = {
    name: str(m, "name"),
    docString: str(m, "docString"),
    metadataProps: entriesFrom(m, "metadataProps"),
  };
  if (has(m, "type")) v.type = typeFrom(msg(m, "type"), ctx, 0);
  return v;
}

/** Which value field an IR-version-1 attribute without a `type` uses, if exactly one. */
function inferAttributeType(m: Msg): AttributeType {
  const found: AttributeType[] = [];
  if (has(m, "f")) found.push("FLOAT");
  if (has(m, "i")) found.push("INT");
  if (has(m, "s")) found.push("STRING");
  if (has(m, "t")) found.push("TENSOR");
  if (has(m, "g")) found.push("GRAPH");
  if (has(m, "sparseTensor")) found.push("SPARSE_TENSOR");
  if (has(m, "tp")) found.push("TYPE_PROTO");
  if (list(m, "floats").length) found.push("FLOATS");
  if (list(m, "ints").length) found.push("INTS");
  if (list(m, "strings").length) found.push("STRINGS");
  if (list(m, "tensors").length) found.push("TENSORS");
  if (list(m, "graphs").length) found.push("GRAPHS");
  if (list(m, "sparseTensors").length) found.push("SPARSE_TENSORS");
  if (list(m, "typeProtos").length) found.push("TYPE_PROTOS");
  return found.length === 1 ? found[0] : "UNDEFINED";
}

function attributeFrom(m: Msg, ctx: Ctx, depth: number): Attribute {
  const name = str(m, "name");
  const code = num(m, "type");
  let type = attributeTypeFromCode(code);
  if (type === undefined) throw fail(ctx, `attribute "${name}" has an unknown type ${code}`);
  if (type === "UNDEFINED" && !str(m, "refAttrName")) type = inferAttributeType(m);
  const a: Attribute = {
    name,
    refAttrName: str(m, "refAttrName"),
    docString: str(m, "docString"),
    type,
    f: num(m, "f"),
    i: int64(m, "i"),
    s: has(m, "s") ? (m.s as Uint8Array) : new Uint8Array(0),
    floats: list<number>(m, "floats"),
    ints: longsToBigInts(m, "ints"),
    strings: list<Uint8Array>(m, "strings"),
    tensors: list<Msg>(m, "tensors").map((t) => tensorFrom(t, ctx)),
    graphs: list<Msg>(m, "graphs").map((g) => graphFrom(g, ctx, depth + 1)),
    sparseTensors: list<Msg>(m, "sparseTensors").map((s) => sparseFrom(s, ctx)),
    typeProtos: list<Msg>(m, "typeProtos").map((t) => typeFrom(t, ctx, 0)),
  };
  if (has(m, "t")) a.t = tensorFrom(msg(m, "t"), ctx);
  if (has(m, "g")) a.g = graphFrom(msg(m, "g"), ctx, depth + 1);
  if (has(m, "sparseTensor")) a.sparseTensor = sparseFrom(msg(m, "sparseTensor"), ctx);
  if (has(m, "tp")) a.tp = typeFrom(msg(m, "tp"), ctx, 0);
  return a;
}

function simpleShardedDimFrom(m: Msg): SimpleShardedDim {
  const s: SimpleShardedDim = { numShards: int64(m, "numShards") };
  if (has(m, "dimValue")) s.dimValue = longToBigInt(m.dimValue as LongLike);
  else if (has(m, "dimParam")) s.dimParam = m.dimParam as string;
  return s;
}

function shardingSpecFrom(m: Msg): ShardingSpec {
  return {
    tensorName: str(m, "tensorName"),
    device: longsToBigInts(m, "device"),
    indexToDeviceGroupMap: list<Msg>(m, "indexToDeviceGroupMap").map((e): IntIntListEntry => ({
      key: int64(e, "key"),
      value: longsToBigInts(e, "value"),
    })),
    shardedDim: list<Msg>(m, "shardedDim").map((d): ShardedDim => ({
      axis: int64(d, "axis"),
      simpleSharding: list<Msg>(d, "simpleSharding").map(simpleShardedDimFrom),
    })),
  };
}

function nodeDeviceConfigurationFrom(m: Msg): NodeDeviceConfiguration {
  const c: NodeDeviceConfiguration = {
    configurationId: str(m, "configurationId"),
    shardingSpec: list<Msg>(m, "shardingSpec").map(shardingSpecFrom),
  };
  if (has(m, "pipelineStage")) c.pipelineStage = m.pipelineStage as number;
  return c;
}

function nodeFrom(m: Msg, ctx: Ctx, depth: number): Node {
  return {
    input: list<string>(m, "input"),
    output: list<string>(m, "output"),
    name: str(m, "name"),
    opType: str(m, "opType"),
    domain: str(m, "domain"),
    overload: str(m, "overload"),
    attribute: list<Msg>(m, "attribute").map((a) => attributeFrom(a, ctx, depth)),
    docString: str(m, "docString"),
    metadataProps: entriesFrom(m, "metadataProps"),
    deviceConfigurations: list<Msg>(m, "deviceConfigurations").map(nodeDeviceConfigurationFrom),
  };
}

function graphFrom(m: Msg, ctx: Ctx, depth: number): Graph {
  if (depth > MAX_GRAPH_NESTING) {
    throw fail(ctx, `graphs are nested more than ${MAX_GRAPH_NESTING} levels deep`);
  }
  return {
    node: list<Msg>(m, "node").map((n) => nodeFrom(n, ctx, depth)),
    name: str(m, "name"),
    initializer: list<Msg>(m, "initializer").map((t) => tensorFrom(t, ctx)),
    sparseInitializer: list<Msg>(m, "sparseInitializer").map((s) => sparseFrom(s, ctx)),
    docString: str(m, "docString"),
    input: list<Msg>(m, "input").map((v) => valueInfoFrom(v, ctx)),
    output: list<Msg>(m, "output").map((v) => valueInfoFrom(v, ctx)),
    valueInfo: list<Msg>(m, "valueInfo").map((v) => valueInfoFrom(v, ctx)),
    quantizationAnnotation: list<Msg>(m, "quantizationAnnotation").map((q): TensorAnnotation => ({
      tensorName: str(q, "tensorName"),
      quantParameterTensorNames: entriesFrom(q, "quantParameterTensorNames"),
    })),
    metadataProps: entriesFrom(m, "metadataProps"),
  };
}

function opsetFrom(m: Msg): OpsetId {
  return { domain: str(m, "domain"), version: int64AsNumber(m, "version") };
}

function trainingInfoFrom(m: Msg, ctx: Ctx): TrainingInfo {
  const t: TrainingInfo = {
    initializationBinding: entriesFrom(m, "initializationBinding"),
    updateBinding: entriesFrom(m, "updateBinding"),
  };
  if (has(m, "initialization")) t.initialization = graphFrom(msg(m, "initialization"), ctx, 0);
  if (has(m, "algorithm")) t.algorithm = graphFrom(msg(m, "algorithm"), ctx, 0);
  return t;
}

function functionFrom(m: Msg, ctx: Ctx): FunctionProto {
  return {
    name: str(m, "name"),
    input: list<string>(m, "input"),
    output: list<string>(m, "output"),
    attribute: list<string>(m, "attribute"),
    attributeProto: list<Msg>(m, "attributeProto").map((a) => attributeFrom(a, ctx, 0)),
    node: list<Msg>(m, "node").map((n) => nodeFrom(n, ctx, 0)),
    docString: str(m, "docString"),
    opsetImport: list<Msg>(m, "opsetImport").map(opsetFrom),
    domain: str(m, "domain"),
    overload: str(m, "overload"),
    valueInfo: list<Msg>(m, "valueInfo").map((v) => valueInfoFrom(v, ctx)),
    metadataProps: entriesFrom(m, "metadataProps"),
  };
}

function deviceConfigurationFrom(m: Msg): DeviceConfiguration {
  return {
    name: str(m, "name"),
    numDevices: num(m, "numDevices"),
    device: list<string>(m, "device"),
  };
}

function modelFrom(m: Msg, ctx: Ctx): Model {
  const model: Model = {
    irVersion: int64AsNumber(m, "irVersion"),
    opsetImport: list<Msg>(m, "opsetImport").map(opsetFrom),
    producerName: str(m, "producerName"),
    producerVersion: str(m, "producerVersion"),
    domain: str(m, "domain"),
    modelVersion: int64(m, "modelVersion"),
    docString: str(m, "docString"),
    metadataProps: entriesFrom(m, "metadataProps"),
    trainingInfo: list<Msg>(m, "trainingInfo").map((t) => trainingInfoFrom(t, ctx)),
    functions: list<Msg>(m, "functions").map((f) => functionFrom(f, ctx)),
    configuration: list<Msg>(m, "configuration").map(deviceConfigurationFrom),
  };
  if (has(m, "graph")) model.graph = graphFrom(msg(m, "graph"), ctx, 0);
  return model;
}

function sequenceFrom(m: Msg, ctx: Ctx, depth: number): SequenceProto {
  if (depth > MAX_VALUE_NESTING) {
    throw fail(ctx, `values are nested more than ${MAX_VALUE_NESTING} levels deep`);
  }
  return {
    name: str(m, "name"),
    elemType: num(m, "elemType"),
    tensorValues: list<Msg>(m, "tensorValues").map((t) => tensorFrom(t, ctx)),
    sparseTensorValues: list<Msg>(m, "sparseTensorValues").map((s) => sparseFrom(s, ctx)),
    sequenceValues: list<Msg>(m, "sequenceValues").map((s) => sequenceFrom(s, ctx, depth + 1)),
    mapValues: list<Msg>(m, "mapValues").map((s) => mapFrom(s, ctx, depth + 1)),
    optionalValues: list<Msg>(m, "optionalValues").map((s) => optionalFrom(s, ctx, depth + 1)),
  };
}

function mapFrom(m: Msg, ctx: Ctx, depth: number): MapProto {
  if (depth > MAX_VALUE_NESTING) {
    throw fail(ctx, `values are nested more than ${MAX_VALUE_NESTING} levels deep`);
  }
  const out: MapProto = {
    name: str(m, "name"),
    keyType: num(m, "keyType"),
    keys: longsToBigInts(m, "keys"),
    stringKeys: list<Uint8Array>(m, "stringKeys"),
  };
  if (has(m, "values")) out.values = sequenceFrom(msg(m, "values"), ctx, depth + 1);
  return out;
}

function optionalFrom(m: Msg, ctx: Ctx, depth: number): OptionalProto {
  if (depth > MAX_VALUE_NESTING) {
    throw fail(ctx, `values are nested more than ${MAX_VALUE_NESTING} levels deep`);
  }
  const out: OptionalProto = { name: str(m, "name"), elemType: num(m, "elemType") };
  if (has(m, "tensorValue")) out.tensorValue = tensorFrom(msg(m, "tensorValue"), ctx);
  if (has(m, "sparseTensorValue")) {
    out.sparseTensorValue = sparseFrom(msg(m, "sparseTensorValue"), ctx);
  }
  if (has(m, "sequenceValue")) {
    out.sequenceValue = sequenceFrom(msg(m, "sequenceValue"), ctx, depth + 1);
  }
  if (has(m, "mapValue")) out.mapValue = mapFrom(msg(m, "mapValue"), ctx, depth + 1);
  if (has(m, "optionalValue")) {
    out.optionalValue = optionalFrom(msg(m, "optionalValue"), ctx, depth + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding: IR → plain objects for protobufjs

function entriesTo(entries: readonly StringEntry[]): Msg[] {
  return entries.map((e) => {
    const m: Msg = {};
    if (e.key) m.key = e.key;
    if (e.value) m.value = e.value;
    return m;
  });
}

/** Sets `m[key] = value` when the value differs from the proto default. */
function put(m: Msg, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (value === "" || value === 0 || value === 0n) return;
  if (Array.isArray(value) && value.length === 0) return;
  m[key] = value;
}

function tensorTo(t: TensorProto): Msg {
  const m: Msg = {};
  put(m, "dims", t.dims);
  put(m, "dataType", t.dataType);
  if (t.segment) {
    const s: Msg = {};
    if (t.segment.begin !== 0n) s.begin = toLong(t.segment.begin);
    if (t.segment.end !== 0n) s.end = toLong(t.segment.end);
    m.segment = s;
  }
  put(m, "floatData", t.floatData);
  put(m, "int32Data", t.int32Data);
  put(m, "stringData", t.stringData);
  if (t.int64Data.length) m.int64Data = toLongs(t.int64Data);
  put(m, "name", t.name);
  put(m, "docString", t.docString);
  if (t.rawData !== undefined) m.rawData = t.rawData;
  if (t.externalData.length) m.externalData = entriesTo(t.externalData);
  put(m, "dataLocation", t.dataLocation);
  put(m, "doubleData", t.doubleData);
  if (t.uint64Data.length) m.uint64Data = toLongs(t.uint64Data);
  if (t.metadataProps.length) m.metadataProps = entriesTo(t.metadataProps);
  return m;
}

function sparseTo(s: SparseTensorProto): Msg {
  const m: Msg = {};
  if (s.values) m.values = tensorTo(s.values);
  if (s.indices) m.indices = tensorTo(s.indices);
  put(m, "dims", s.dims);
  return m;
}

function shapeTo(dims: readonly DimProto[]): Msg {
  return {
    dim: dims.map((d) => {
      const m: Msg = {};
      if (d.dimValue !== undefined) m.dimValue = d.dimValue;
      else if (d.dimParam !== undefined) m.dimParam = d.dimParam;
      if (d.denotation !== undefined) m.denotation = d.denotation;
      return m;
    }),
  };
}

function encodeDepthError(what: string, limit: number): ModelFormatError {
  return new ModelFormatError(`Cannot encode: ${what} are nested more than ${limit} levels deep`);
}

function typeTo(t: TypeProto, depth: number): Msg {
  if (depth > MAX_TYPE_NESTING) throw encodeDepthError("type protos", MAX_TYPE_NESTING);
  const m: Msg = {};
  if (t.tensorType) {
    const tt: Msg = {};
    put(tt, "elemType", t.tensorType.elemType);
    if (t.tensorType.shape) tt.shape = shapeTo(t.tensorType.shape);
    m.tensorType = tt;
  } else if (t.sequenceType) {
    const st: Msg = {};
    if (t.sequenceType.elemType) st.elemType = typeTo(t.sequenceType.elemType, depth + 1);
    m.sequenceType = st;
  } else if (t.mapType) {
    const mt: Msg = {};
    put(mt, "keyType", t.mapType.keyType);
    if (t.mapType.valueType) mt.valueType = typeTo(t.mapType.valueType, depth + 1);
    m.mapType = mt;
  } else if (t.optionalType) {
    const ot: Msg = {};
    if (t.optionalType.elemType) ot.elemType = typeTo(t.optionalType.elemType, depth + 1);
    m.optionalType = ot;
  } else if (t.sparseTensorType) {
    const st: Msg = {};
    put(st, "elemType", t.sparseTensorType.elemType);
    if (t.sparseTensorType.shape) st.shape = shapeTo(t.sparseTensorType.shape);
    m.sparseTensorType = st;
  } else if (t.opaqueType) {
    const ot: Msg = {};
    put(ot, "domain", t.opaqueType.domain);
    put(ot, "name", t.opaqueType.name);
    m.opaqueType = ot;
  }
  if (t.denotation !== undefined) m.denotation = t.denotation;
  return m;
}

function valueInfoTo(v: ValueInfo): Msg {
  const m: Msg = {};
  put(m, "name", v.name);
  if (v.type) m.type = typeTo(v.type, 0);
  put(m, "docString", v.docString);
  if (v.metadataProps.length) m.metadataProps = entriesTo(v.metadataProps);
  return m;
}

function attributeTo(a: Attribute, depth: number): Msg {
  const m: Msg = {};
  put(m, "name", a.name);
  put(m, "refAttrName", a.refAttrName);
  put(m, "docString", a.docString);
  const code = attributeTypeCode(a.type);
  put(m, "type", code);
  // The field that `type` names is always written (as onnx does); others only when set.
  const own = a.type;
  if (own === "FLOAT" || a.f !== 0 || Object.is(a.f, -0)) m.f = a.f;
  if (own === "INT" || a.i !== 0n) m.i = toLong(a.i);
  if (own === "STRING" || a.s.length) m.s = a.s;
  if (a.t) m.t = tensorTo(a.t);
  if (a.g) m.g = graphTo(a.g, depth + 1);
  if (a.sparseTensor) m.sparseTensor = sparseTo(a.sparseTensor);
  if (a.tp) m.tp = typeTo(a.tp, 0);
  put(m, "floats", a.floats);
  if (a.ints.length) m.ints = toLongs(a.ints);
  put(m, "strings", a.strings);
  if (a.tensors.length) m.tensors = a.tensors.map(tensorTo);
  if (a.graphs.length) m.graphs = a.graphs.map((g) => graphTo(g, depth + 1));
  if (a.sparseTensors.length) m.sparseTensors = a.sparseTensors.map(sparseTo);
  if (a.typeProtos.length) m.typeProtos = a.typeProtos.map((t) => typeTo(t, 0));
  return m;
}

function simpleShardedDimTo(s: SimpleShardedDim): Msg {
  const m: Msg = {};
  if (s.dimValue !== undefined) m.dimValue = toLong(s.dimValue);
  else if (s.dimParam !== undefined) m.dimParam = s.dimParam;
  if (s.numShards !== 0n) m.numShards = toLong(s.numShards);
  return m;
}

function shardingSpecTo(s: ShardingSpec): Msg {
  const m: Msg = {};
  put(m, "tensorName", s.tensorName);
  if (s.device.length) m.device = toLongs(s.device);
  if (s.indexToDeviceGroupMap.length) {
    m.indexToDeviceGroupMap = s.indexToDeviceGroupMap.map((e) => {
      const em: Msg = {};
      if (e.key !== 0n) em.key = toLong(e.key);
      if (e.value.length) em.value = toLongs(e.value);
      return em;
    });
  }
  if (s.shardedDim.length) {
    m.shardedDim = s.shardedDim.map((d) => {
      const dm: Msg = {};
      if (d.axis !== 0n) dm.axis = toLong(d.axis);
      if (d.simpleSharding.length) dm.simpleSharding = d.simpleSharding.map(simpleShardedDimTo);
      return dm;
    });
  }
  return m;
}

function nodeDeviceConfigurationTo(c: NodeDeviceConfiguration): Msg {
  const m: Msg = {};
  put(m, "configurationId", c.configurationId);
  if (c.shardingSpec.length) m.shardingSpec = c.shardingSpec.map(shardingSpecTo);
  if (c.pipelineStage !== undefined) m.pipelineStage = c.pipelineStage;
  return m;
}

function nodeTo(n: Node, depth: number): Msg {
  const m: Msg = {};
  put(m, "input", n.input);
  put(m, "output", n.output);
  put(m, "name", n.name);
  put(m, "opType", n.opType);
  put(m, "domain", n.domain);
  put(m, "overload", n.overload);
  if (n.attribute.length) m.attribute = n.attribute.map((a) => attributeTo(a, depth));
  put(m, "docString", n.docString);
  if (n.metadataProps.length) m.metadataProps = entriesTo(n.metadataProps);
  if (n.deviceConfigurations.length) {
    m.deviceConfigurations = n.deviceConfigurations.map(nodeDeviceConfigurationTo);
  }
  return m;
}

function graphTo(g: Graph, depth: number): Msg {
  if (depth > MAX_GRAPH_NESTING) throw encodeDepthError("graphs", MAX_GRAPH_NESTING);
  const m: Msg = {};
  if (g.node.length) m.node = g.node.map((n) => nodeTo(n, depth));
  put(m, "name", g.name);
  if (g.initializer.length) m.initializer = g.initializer.map(tensorTo);
  if (g.sparseInitializer.length) m.sparseInitializer = g.sparseInitializer.map(sparseTo);
  put(m, "docString", g.docString);
  if (g.input.length) m.input = g.input.map(valueInfoTo);
  if (g.output.length) m.output = g.output.map(valueInfoTo);
  if (g.valueInfo.length) m.valueInfo = g.valueInfo.map(valueInfoTo);
  if (g.quantizationAnnotation.length) {
    m.quantizationAnnotation = g.quantizationAnnotation.map((q) => {
      const qm: Msg = {};
      put(qm, "tensorName", q.tensorName);
      if (q.quantParameterTensorNames.length) {
        qm.quantParameterTensorNames = entriesTo(q.quantParameterTensorNames);
      }
      return qm;
    });
  }
  if (g.metadataProps.length) m.metadataProps = entriesTo(g.metadataProps);
  return m;
}

function opsetTo(o: OpsetId): Msg {
  // onnx always writes the domain, "" included; doing the same keeps files byte-identical.
  const m: Msg = { domain: o.domain };
  put(m, "version", o.version);
  return m;
}

function functionTo(f: FunctionProto): Msg {
  const m: Msg = {};
  put(m, "name", f.name);
  put(m, "input", f.input);
  put(m, "output", f.output);
  put(m, "attribute", f.attribute);
  if (f.attributeProto.length) m.attributeProto = f.attributeProto.map((a) => attributeTo(a, 0));
  if (f.node.length) m.node = f.node.map((n) => nodeTo(n, 0));
  put(m, "docString", f.docString);
  if (f.opsetImport.length) m.opsetImport = f.opsetImport.map(opsetTo);
  put(m, "domain", f.domain);
  put(m, "overload", f.overload);
  if (f.valueInfo.length) m.valueInfo = f.valueInfo.map(valueInfoTo);
  if (f.metadataProps.length) m.metadataProps = entriesTo(f.metadataProps);
  return m;
}

function modelTo(model: Model): Msg {
  const m: Msg = {};
  put(m, "irVersion", model.irVersion);
  if (model.opsetImport.length) m.opsetImport = model.opsetImport.map(opsetTo);
  put(m, "producerName", model.producerName);
  put(m, "producerVersion", model.producerVersion);
  put(m, "domain", model.domain);
  if (model.modelVersion !== 0n) m.modelVersion = toLong(model.modelVersion);
  put(m, "docString", model.docString);
  if (model.graph) m.graph = graphTo(model.graph, 0);
  if (model.metadataProps.length) m.metadataProps = entriesTo(model.metadataProps);
  if (model.trainingInfo.length) {
    m.trainingInfo = model.trainingInfo.map((t) => {
      const tm: Msg = {};
      if (t.initialization) tm.initialization = graphTo(t.initialization, 0);
      if (t.algorithm) tm.algorithm = graphTo(t.algorithm, 0);
      if (t.initializationBinding.length) {
        tm.initializationBinding = entriesTo(t.initializationBinding);
      }
      if (t.updateBinding.length) tm.updateBinding = entriesTo(t.updateBinding);
      return tm;
    });
  }
  if (model.functions.length) m.functions = model.functions.map(functionTo);
  if (model.configuration.length) {
    m.configuration = model.configuration.map((c) => {
      const cm: Msg = {};
      put(cm, "name", c.name);
      put(cm, "numDevices", c.numDevices);
      put(cm, "device", c.device);
      return cm;
    });
  }
  return m;
}

function sequenceTo(s: SequenceProto, depth: number): Msg {
  if (depth > MAX_VALUE_NESTING) throw encodeDepthError("values", MAX_VALUE_NESTING);
  const m: Msg = {};
  put(m, "name", s.name);
  put(m, "elemType", s.elemType);
  if (s.tensorValues.length) m.tensorValues = s.tensorValues.map(tensorTo);
  if (s.sparseTensorValues.length) m.sparseTensorValues = s.sparseTensorValues.map(sparseTo);
  if (s.sequenceValues.length) {
    m.sequenceValues = s.sequenceValues.map((v) => sequenceTo(v, depth + 1));
  }
  if (s.mapValues.length) m.mapValues = s.mapValues.map((v) => mapTo(v, depth + 1));
  if (s.optionalValues.length) {
    m.optionalValues = s.optionalValues.map((v) => optionalTo(v, depth + 1));
  }
  return m;
}

function mapTo(p: MapProto, depth: number): Msg {
  if (depth > MAX_VALUE_NESTING) throw encodeDepthError("values", MAX_VALUE_NESTING);
  const m: Msg = {};
  put(m, "name", p.name);
  put(m, "keyType", p.keyType);
  if (p.keys.length) m.keys = toLongs(p.keys);
  put(m, "stringKeys", p.stringKeys);
  if (p.values) m.values = sequenceTo(p.values, depth + 1);
  return m;
}

function optionalTo(o: OptionalProto, depth: number): Msg {
  if (depth > MAX_VALUE_NESTING) throw encodeDepthError("values", MAX_VALUE_NESTING);
  const m: Msg = {};
  put(m, "name", o.name);
  put(m, "elemType", o.elemType);
  if (o.tensorValue) m.tensorValue = tensorTo(o.tensorValue);
  if (o.sparseTensorValue) m.sparseTensorValue = sparseTo(o.sparseTensorValue);
  if (o.sequenceValue) m.sequenceValue = sequenceTo(o.sequenceValue, depth + 1);
  if (o.mapValue) m.mapValue = mapTo(o.mapValue, depth + 1);
  if (o.optionalValue) m.optionalValue = optionalTo(o.optionalValue, depth + 1);
  return m;
}

// ---------------------------------------------------------------------------------------
// Public API

/**
 * Decodes a serialized ModelProto. `source` (a path, URL or "<bytes>") names the input in
 * errors. Tensor payloads stay views into `bytes`; do not modify the bytes afterwards. Empty
 * input is refused; a model without a graph is not (the checker reports that).
 *
 * @example
 * ```ts
 * import { decodeModel, encodeModel } from "./proto.ts";
 * const model = decodeModel(encodeModel({
 *   irVersion: 10, opsetImport: [{ domain: "", version: 21 }], producerName: "", producerVersion: "",
 *   domain: "", modelVersion: 0n, docString: "", metadataProps: [], trainingInfo: [], functions: [],
 *   configuration: [],
 * }));
 * console.log(model.irVersion);
 * ```
 */
export function decodeModel(bytes: Uint8Array, source?: string): Model {
  const ctx = { source: source ?? "<bytes>" };
  if (bytes.byteLength === 0) {
    throw new ModelFormatError(`Cannot decode model "${ctx.source}": the data is empty`, {
      source: ctx.source,
    });
  }
  return decodeMessage("ModelProto", bytes, ctx, "model", (m) => modelFrom(m, ctx));
}

/** Serializes a model IR to ModelProto bytes (only set, non-default fields are written). */
export function encodeModel(model: Model): Uint8Array<ArrayBuffer> {
  return encodeMessage("ModelProto", modelTo(model), "model");
}

/** Decodes a serialized TensorProto (e.g. a test-data `.pb` file). */
export function decodeTensorProto(bytes: Uint8Array, source?: string): TensorProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("TensorProto", bytes, ctx, "tensor", (m) => tensorFrom(m, ctx));
}

/** Serializes a TensorProto. */
export function encodeTensorProto(tensor: TensorProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("TensorProto", tensorTo(tensor), "tensor");
}

/** Decodes a serialized SparseTensorProto. */
export function decodeSparseTensorProto(bytes: Uint8Array, source?: string): SparseTensorProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("SparseTensorProto", bytes, ctx, "sparse tensor", (m) => sparseFrom(m, ctx));
}

/** Serializes a SparseTensorProto. */
export function encodeSparseTensorProto(sparse: SparseTensorProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("SparseTensorProto", sparseTo(sparse), "sparse tensor");
}

/** Decodes a serialized SequenceProto (onnx-data.proto). */
export function decodeSequenceProto(bytes: Uint8Array, source?: string): SequenceProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("SequenceProto", bytes, ctx, "sequence", (m) => sequenceFrom(m, ctx, 0));
}

/** Serializes a SequenceProto. */
export function encodeSequenceProto(sequence: SequenceProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("SequenceProto", sequenceTo(sequence, 0), "sequence");
}

/** Decodes a serialized MapProto (onnx-data.proto). */
export function decodeMapProto(bytes: Uint8Array, source?: string): MapProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("MapProto", bytes, ctx, "map", (m) => mapFrom(m, ctx, 0));
}

/** Serializes a MapProto. */
export function encodeMapProto(map: MapProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("MapProto", mapTo(map, 0), "map");
}

/** Decodes a serialized OptionalProto (onnx-data.proto). */
export function decodeOptionalProto(bytes: Uint8Array, source?: string): OptionalProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("OptionalProto", bytes, ctx, "optional", (m) => optionalFrom(m, ctx, 0));
}

/** Serializes an OptionalProto. */
export function encodeOptionalProto(optional: OptionalProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("OptionalProto", optionalTo(optional, 0), "optional");
}

/** Decodes a serialized TypeProto. */
export function decodeTypeProto(bytes: Uint8Array, source?: string): TypeProto {
  const ctx = { source: source ?? "<bytes>" };
  return decodeMessage("TypeProto", bytes, ctx, "type", (m) => typeFrom(m, ctx, 0));
}

/** Serializes a TypeProto. */
export function encodeTypeProto(type: TypeProto): Uint8Array<ArrayBuffer> {
  return encodeMessage("TypeProto", typeTo(type, 0), "type");
}

/** An empty TensorProto of the given type and dims, with every list field empty. */
export function emptyTensorProto(dataType = 0, dims: number[] = [], name = ""): TensorProto {
  return {
    dims,
    dataType,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    name,
    docString: "",
    externalData: [],
    dataLocation: 0,
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}
