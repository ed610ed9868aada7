/**
 * An ONNX toolkit and inference runtime for Deno: load, check, optimize and run `.onnx`
 * models, and compare their outputs against a reference.
 *
 * The API follows onnxruntime-web's so that switching needs few changes:
 *
 * ```ts ignore
 * import { InferenceSession, Tensor } from "./mod.ts";
 *
 * const session = await InferenceSession.create("model.onnx");
 * const input = new Tensor("float32", new Float32Array(1 * 3 * 224 * 224), [1, 3, 224, 224]);
 * const outputs = await session.run({ [session.inputNames[0]]: input });
 * console.log(outputs[session.outputNames[0]]);
 * ```
 *
 * Importing this module has no side effects: nothing touches files, the network or the GPU
 * until a function is called.
 *
 * @module
 */

export {
  CheckError,
  ConfigError,
  type Finding,
  InputError,
  ModelFormatError,
  OnnxError,
  RuntimeError,
  UnsupportedError,
} from "./pipeline/errors.ts";
export {
  ALL_DATA_TYPES,
  type BigArray,
  type DataType,
  dataTypeCode,
  dataTypeFromCode,
  type NumericArray,
  type TensorData,
} from "./pipeline/tensor/dtype.ts";
export {
  type DataLocation,
  type ElementTypeHint,
  type FromNumbersOptions,
  OnnxMap,
  Optional,
  Sequence,
  Tensor,
  tensorFromNumbers,
  toNumbers,
  type Value,
} from "./pipeline/tensor/tensor.ts";
export { type Dim, formatValueType, type ValueType } from "./pipeline/tensor/value_type.ts";
export { fromNdarray, type NdArray, toNdarray } from "./pipeline/tensor/ndarray.ts";
export type * from "./pipeline/load/ir.ts";
export {
  type LoadedModel,
  loadModel,
  type LoadOptions,
  saveModel,
  type SaveOptions,
  serializeModel,
} from "./pipeline/load/load.ts";
export { decodeModel, encodeModel } from "./pipeline/load/proto.ts";
export {
  decodeValueFile,
  encodeValueFile,
  type ExternalDataReader,
  tensorFromProto,
  tensorToProto,
} from "./pipeline/load/tensor_proto.ts";
export {
  type AttributeValue,
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET,
  type ElemType,
  emptyAttribute,
  floatAttr,
  floatsAttr,
  type FunctionParts,
  graphAttr,
  intAttr,
  intsAttr,
  makeAttribute,
  makeAttributes,
  makeFunction,
  makeGraph,
  makeModel,
  makeNode,
  makeRefAttribute,
  makeTensorProto,
  makeTensorType,
  makeValueInfo,
  type ModelOptions,
  type NodeAttrs,
  type NodeOptions,
  type OpsetImports,
  stringAttr,
  stringsAttr,
  tensorAttr,
} from "./pipeline/load/build.ts";
export {
  type Backend,
  type Feeds,
  InferenceSession,
  type NodePlacement,
  type OutputLocation,
  type Outputs,
  type RunOptions,
  type RunStats,
  type SessionOptions,
  type ValueMetadata,
} from "./pipeline/run/session.ts";
export {
  allclose,
  type CompareOptions,
  type CompareResult,
  type CompareScalar,
  type Mismatch,
} from "./pipeline/compare.ts";
export {
  assertValidModel,
  checkModel,
  type CheckOptions,
  type CheckReport,
  formatFinding,
} from "./pipeline/check/checker.ts";
export { readNpy, writeNpy } from "./pipeline/io/npy.ts";
export {
  type JsonScalar,
  type JsonTensor,
  type JsonTensorExpectation,
  tensorFromJson,
  tensorToJson,
} from "./pipeline/io/json.ts";
export {
  type DecodedImage,
  decodeImage,
  type DecodeImageOptions,
  preprocessImage,
  type PreprocessOptions,
} from "./pipeline/io/image.ts";
export {
  readLabels,
  topK,
  type TopKEntry,
  type TopKOptions,
  topKRows,
} from "./pipeline/io/labels.ts";
export { registeredOps } from "./ops/registry.ts";
export type {
  Attributes,
  CpuKernel,
  InferContext,
  InferFn,
  Int8Accumulation,
  KernelOptions,
  OpContext,
  OpDef,
} from "./ops/types.ts";
export {
  type GraphStats,
  graphStats,
  OPTIMIZATION_LEVELS,
  type OptimizationLevel,
  optimizeModel,
  type OptimizeOptions,
  type OptimizeReport,
  type Pass,
  type PassContext,
  passNames,
  type PassReport,
  type PassResult,
} from "./pipeline/optimize/mod.ts";
export {
  type ActivationType,
  type CalibrationData,
  type QuantizableOp,
  quantizationPass,
  type QuantizeMode,
  quantizeModel,
  type QuantizeOptions,
  type WeightType,
} from "./pipeline/optimize/quantize.ts";
export type { CalibrationMethod } from "./pipeline/optimize/calibrate.ts";
export {
  convertToFloat16,
  type Float16Options,
  float16Pass,
  type Float16Report,
} from "./pipeline/optimize/float16.ts";
export { loadPipeline, parsePipeline } from "./pipeline/config.ts";
export type * from "./pipeline/config.ts";
export type { ReportError } from "./pipeline/stages/report.ts";
export type { StageStatus } from "./pipeline/stages/context.ts";
export type { CheckModelFn } from "./pipeline/stages/check.ts";
export {
  type PipelineReport,
  type RunnerOptions,
  runPipeline,
  runPipelineFile,
  type StageReport,
} from "./pipeline/runner.ts";
