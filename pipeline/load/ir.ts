/**
 * The model IR: a faithful, lossless mirror of onnx.proto's messages (IR version 14) in
 * TypeScript shapes. Decoding then encoding a model gives back an equal IR. int64 scalars
 * that can exceed 2^53 (attribute ints, int64_data) are bigint; dims and versions are
 * numbers. Tensor payloads stay as {@link TensorProto} (raw bytes are views into the file
 * when possible) and become runtime tensors through `tensorFromProto`.
 *
 * @module
 */

/** `domain` + `version` of an operator set the model imports. */
export interface OpsetId {
  /** "" (or "ai.onnx") is the default domain. */
  domain: string;
  /** Opset version. */
  version: number;
}

/** A key/value string pair (metadata_props, external_data, bindings). */
export interface StringEntry {
  /** Key. */
  key: string;
  /** Value. */
  value: string;
}

/** TensorProto.Segment. */
export interface Segment {
  /** First element index. */
  begin: bigint;
  /** One past the last element index. */
  end: bigint;
}

/** TensorProto: a tensor's metadata and payload in one of the storage fields. */
export interface TensorProto {
  /** Shape. */
  dims: number[];
  /** TensorProto.DataType code. */
  dataType: number;
  /** Present when this proto holds one segment of a larger tensor. */
  segment?: Segment;
  /** float, complex64, float16/bfloat16/float8 (as bits) payloads. */
  floatData: number[];
  /** int32, int16, int8, uint16, uint8, bool, float16 bits, int4 packed, ... payloads. */
  int32Data: number[];
  /** string payload, as raw bytes per element. */
  stringData: Uint8Array[];
  /** int64 payload. */
  int64Data: bigint[];
  /** Name (initializers need one). */
  name: string;
  /** Documentation. */
  docString: string;
  /** Little-endian packed payload; a view into the model bytes where possible. */
  rawData?: Uint8Array;
  /** Location of the payload when `dataLocation` is external. */
  externalData: StringEntry[];
  /** 0 = DEFAULT, 1 = EXTERNAL. */
  dataLocation: number;
  /** double and complex128 payloads. */
  doubleData: number[];
  /** uint32 and uint64 payloads. */
  uint64Data: bigint[];
  /** Metadata. */
  metadataProps: StringEntry[];
}

/** SparseTensorProto: COO values and indices of a dense shape. */
export interface SparseTensorProto {
  /** Non-default values, a 1-D tensor of NNZ elements. */
  values?: TensorProto;
  /** int64 indices, [NNZ, rank] or linearized [NNZ]. */
  indices?: TensorProto;
  /** Shape of the dense tensor. */
  dims: number[];
}

/** One dimension of a TensorShapeProto: a value, a symbolic parameter, or unknown. */
export interface DimProto {
  /** Fixed size (may be 0), when set. */
  dimValue?: number;
  /** Symbolic name, when set. */
  dimParam?: string;
  /** Dimension denotation. */
  denotation?: string;
}

/** TypeProto. Exactly one of the kinds is set (or none, meaning unknown). */
export interface TypeProto {
  /** A dense tensor. */
  tensorType?: { elemType: number; shape?: DimProto[] };
  /** A sequence of the element type. */
  sequenceType?: { elemType?: TypeProto };
  /** A map from a key element type to the value type. */
  mapType?: { keyType: number; valueType?: TypeProto };
  /** An optional of the element type. */
  optionalType?: { elemType?: TypeProto };
  /** A sparse tensor. */
  sparseTensorType?: { elemType: number; shape?: DimProto[] };
  /** An opaque type. */
  opaqueType?: { domain: string; name: string };
  /** Type denotation. */
  denotation?: string;
}

/** ValueInfoProto. */
export interface ValueInfo {
  /** Value name. */
  name: string;
  /** Declared type, when any. */
  type?: TypeProto;
  /** Documentation. */
  docString: string;
  /** Metadata. */
  metadataProps: StringEntry[];
}

/** AttributeProto.AttributeType names, in enum order of onnx.proto. */
export type AttributeType =
  | "UNDEFINED"
  | "FLOAT"
  | "INT"
  | "STRING"
  | "TENSOR"
  | "GRAPH"
  | "FLOATS"
  | "INTS"
  | "STRINGS"
  | "TENSORS"
  | "GRAPHS"
  | "SPARSE_TENSOR"
  | "SPARSE_TENSORS"
  | "TYPE_PROTO"
  | "TYPE_PROTOS";

/** AttributeProto. `type` tells which value field is meaningful. */
export interface Attribute {
  /** Attribute name. */
  name: string;
  /** In a function body: the name of the caller's attribute this one refers to. */
  refAttrName: string;
  /** Documentation. */
  docString: string;
  /** Which field holds the value. */
  type: AttributeType;
  /** FLOAT. */
  f: number;
  /** INT. */
  i: bigint;
  /** STRING, as bytes (usually UTF-8). */
  s: Uint8Array;
  /** TENSOR. */
  t?: TensorProto;
  /** GRAPH. */
  g?: Graph;
  /** SPARSE_TENSOR. */
  sparseTensor?: SparseTensorProto;
  /** TYPE_PROTO. */
  tp?: TypeProto;
  /** FLOATS. */
  floats: number[];
  /** INTS. */
  ints: bigint[];
  /** STRINGS. */
  strings: Uint8Array[];
  /** TENSORS. */
  tensors: TensorProto[];
  /** GRAPHS. */
  graphs: Graph[];
  /** SPARSE_TENSORS. */
  sparseTensors: SparseTensorProto[];
  /** TYPE_PROTOS. */
  typeProtos: TypeProto[];
}

/** IntIntListEntryProto (sharding). */
export interface IntIntListEntry {
  /** Key. */
  key: bigint;
  /** Values. */
  value: bigint[];
}

/** SimpleShardedDimProto. */
export interface SimpleShardedDim {
  /** Fixed dimension size, when set. */
  dimValue?: bigint;
  /** Symbolic dimension, when set. */
  dimParam?: string;
  /** Number of shards. */
  numShards: bigint;
}

/** ShardedDimProto. */
export interface ShardedDim {
  /** Axis. */
  axis: bigint;
  /** Shardings of that axis. */
  simpleSharding: SimpleShardedDim[];
}

/** ShardingSpecProto. */
export interface ShardingSpec {
  /** Value being sharded. */
  tensorName: string;
  /** Device ids or group ids. */
  device: bigint[];
  /** Device group map. */
  indexToDeviceGroupMap: IntIntListEntry[];
  /** Sharded dimensions. */
  shardedDim: ShardedDim[];
}

/** NodeDeviceConfigurationProto. */
export interface NodeDeviceConfiguration {
  /** Configuration id (refers to ModelProto.configuration). */
  configurationId: string;
  /** Sharding specs. */
  shardingSpec: ShardingSpec[];
  /** Pipeline stage, when set. */
  pipelineStage?: number;
}

/** DeviceConfigurationProto. */
export interface DeviceConfiguration {
  /** Name. */
  name: string;
  /** Number of devices. */
  numDevices: number;
  /** Device names. */
  device: string[];
}

/** NodeProto. */
export interface Node {
  /** Input value names; "" marks an omitted optional input. */
  input: string[];
  /** Output value names; "" marks an omitted optional output. */
  output: string[];
  /** Node name (may be empty). */
  name: string;
  /** Operator type. */
  opType: string;
  /** Operator domain ("" is ai.onnx). */
  domain: string;
  /** Function overload id. */
  overload: string;
  /** Attributes. */
  attribute: Attribute[];
  /** Documentation. */
  docString: string;
  /** Metadata. */
  metadataProps: StringEntry[];
  /** Multi-device configurations. */
  deviceConfigurations: NodeDeviceConfiguration[];
}

/** TensorAnnotation (quantization_annotation). */
export interface TensorAnnotation {
  /** Annotated value. */
  tensorName: string;
  /** Quantization parameter tensor names by key. */
  quantParameterTensorNames: StringEntry[];
}

/** GraphProto. */
export interface Graph {
  /** Nodes, in topological order in a valid model. */
  node: Node[];
  /** Graph name. */
  name: string;
  /** Constant tensors. */
  initializer: TensorProto[];
  /** Sparse constant tensors. */
  sparseInitializer: SparseTensorProto[];
  /** Documentation. */
  docString: string;
  /** Inputs (old models also list initializers here). */
  input: ValueInfo[];
  /** Outputs. */
  output: ValueInfo[];
  /** Types of intermediate values. */
  valueInfo: ValueInfo[];
  /** Quantization annotations. */
  quantizationAnnotation: TensorAnnotation[];
  /** Metadata. */
  metadataProps: StringEntry[];
}

/** TrainingInfoProto. */
export interface TrainingInfo {
  /** Initialization graph. */
  initialization?: Graph;
  /** Training algorithm graph. */
  algorithm?: Graph;
  /** Initialization bindings. */
  initializationBinding: StringEntry[];
  /** Update bindings. */
  updateBinding: StringEntry[];
}

/** FunctionProto: a model-local function. */
export interface FunctionProto {
  /** Function name (the op type that calls it). */
  name: string;
  /** Formal input names. */
  input: string[];
  /** Formal output names. */
  output: string[];
  /** Attribute names without defaults. */
  attribute: string[];
  /** Attributes with defaults. */
  attributeProto: Attribute[];
  /** Body. */
  node: Node[];
  /** Documentation. */
  docString: string;
  /** Opsets the body uses. */
  opsetImport: OpsetId[];
  /** Domain of the function (the op domain that calls it). */
  domain: string;
  /** Overload id. */
  overload: string;
  /** Types of values in the body. */
  valueInfo: ValueInfo[];
  /** Metadata. */
  metadataProps: StringEntry[];
}

/** ModelProto. */
export interface Model {
  /** IR version. */
  irVersion: number;
  /** Operator sets imported. */
  opsetImport: OpsetId[];
  /** Producer name. */
  producerName: string;
  /** Producer version. */
  producerVersion: string;
  /** Model domain. */
  domain: string;
  /** Model version. */
  modelVersion: bigint;
  /** Documentation. */
  docString: string;
  /** The main graph. */
  graph?: Graph;
  /** Metadata. */
  metadataProps: StringEntry[];
  /** Training information. */
  trainingInfo: TrainingInfo[];
  /** Model-local functions. */
  functions: FunctionProto[];
  /** Multi-device configurations. */
  configuration: DeviceConfiguration[];
}
