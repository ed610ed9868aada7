/**
 * The contract between operator declarations and the runtime: what a kernel receives and
 * returns, how it reads attributes, and how type/shape inference is declared.
 *
 * @module
 */

import type { Graph, Node } from "../pipeline/load/ir.ts";
import type { Tensor, Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";

/** Typed, memoized access to a node's attributes. Getters throw when a required one is missing. */
export interface Attributes {
  /** True when the node sets the attribute. */
  has(name: string): boolean;
  /** INT attribute as a number (int64 extremes become ±9.223372036854776e18). */
  int(name: string, fallback?: number): number;
  /** INT attribute as an exact bigint. */
  bigint(name: string, fallback?: bigint): bigint;
  /** FLOAT attribute. */
  float(name: string, fallback?: number): number;
  /** STRING attribute decoded as UTF-8. */
  string(name: string, fallback?: string): string;
  /** STRING attribute as raw bytes. */
  bytes(name: string): Uint8Array | undefined;
  /** INTS attribute as numbers. */
  ints(name: string, fallback?: number[]): number[];
  /** INTS attribute as exact bigints. */
  bigints(name: string, fallback?: bigint[]): bigint[];
  /** FLOATS attribute. */
  floats(name: string, fallback?: number[]): number[];
  /** STRINGS attribute decoded as UTF-8. */
  strings(name: string, fallback?: string[]): string[];
  /** TENSOR attribute as a runtime tensor. */
  tensor(name: string): Tensor | undefined;
  /** TENSORS attribute. */
  tensors(name: string): Tensor[];
  /** SPARSE_TENSOR attribute densified to a runtime tensor. */
  sparseTensor(name: string): Tensor | undefined;
  /** GRAPH attribute. */
  graph(name: string): Graph | undefined;
  /** GRAPHS attribute. */
  graphs(name: string): Graph[];
  /** TYPE_PROTO attribute. */
  type(name: string): ValueType | undefined;
  /** Names of every attribute the node sets. */
  names(): string[];
}

/**
 * How products of 8-bit integers are accumulated: `exact` (the ONNX definition), or
 * `x86-u8s8` (onnxruntime on x86 CPUs without VNNI; see `SessionOptions.int8Accumulation`).
 */
export type Int8Accumulation = "exact" | "x86-u8s8";

/** Session-wide settings kernels read; each changes results only where its doc says. */
export interface KernelOptions {
  /** Accumulation of 8-bit integer products (QLinearConv, QLinearMatMul, ...). */
  readonly int8Accumulation: Int8Accumulation;
}

/** What a CPU kernel can see besides its inputs. */
export interface OpContext {
  /** The node being run. */
  readonly node: Node;
  /**
   * The graph that contains the node (a model graph, a subgraph or a function body), for
   * kernels defined in terms of other nodes of that graph (Gradient). Absent where a kernel
   * runs outside a planned graph.
   */
  readonly graph?: Graph;
  /**
   * Opset versions of the graph by canonical domain ("" = ai.onnx), for kernels that
   * interpret other nodes of the graph (Gradient). Absent outside a planned graph.
   */
  readonly opsets?: ReadonlyMap<string, number>;
  /** The node's name, or `#<index>` when it has none: use it in messages. */
  readonly nodeName: string;
  /** The model's opset version for the node's domain. */
  readonly opset: number;
  /** The since-version of the op schema that applies (newest ≤ opset). */
  readonly version: number;
  /** Attribute access. */
  readonly attrs: Attributes;
  /** The session's kernel options. */
  readonly options: KernelOptions;
  /** Number of outputs the node declares (trailing omitted ones included as ""). */
  readonly outputCount: number;
  /** True when output `i` is declared and not "" (so it must be produced). */
  wantsOutput(i: number): boolean;
  /**
   * Runs a subgraph (If/Loop/Scan bodies, SequenceMap) with the given values bound to its
   * inputs, in order; names from enclosing graphs are visible. Returns its outputs in order.
   */
  runGraph(graph: Graph, inputs: (Value | undefined)[]): Promise<(Value | undefined)[]>;
  /** Seeded pseudo-random numbers in [0, 1) for Random* ops (seed attribute wins when set). */
  random(): number;
  /** Builds an UnsupportedError naming this node, its op and the given dtype. */
  unsupported(message: string, dtype?: string): Error;
  /** Builds a RuntimeError naming this node for invalid inputs or attributes. */
  fail(message: string): Error;
}

/** A CPU kernel: takes inputs (undefined where an optional input is omitted), returns outputs. */
export type CpuKernel = (
  ctx: OpContext,
  inputs: (Value | undefined)[],
) => (Value | undefined)[] | Promise<(Value | undefined)[]>;

/** What shape inference can see. */
export interface InferContext {
  /** The node. */
  readonly node: Node;
  /** The model's opset for the node's domain. */
  readonly opset: number;
  /** The resolved since-version. */
  readonly version: number;
  /** Attribute access. */
  readonly attrs: Attributes;
  /** Number of inputs the node lists (omitted optional ones included as ""). */
  readonly inputCount: number;
  /** Type of input `i`, when known; undefined when omitted or unknown. */
  input(i: number): ValueType | undefined;
  /** True when input `i` is given (not omitted). */
  hasInput(i: number): boolean;
  /** Value of input `i` when it is a known constant (initializer, Constant, folded). */
  constant(i: number): Tensor | undefined;
  /** Infers the output types of a subgraph given its input types (for If/Loop/Scan). */
  inferGraph(graph: Graph, inputs: (ValueType | undefined)[]): (ValueType | undefined)[];
  /** Records a problem found while inferring (shape mismatch, bad attribute). */
  error(message: string): void;
}

/** Type and shape inference: output types in order; undefined where unknown. */
export type InferFn = (ctx: InferContext) => (ValueType | undefined)[];

/** One operator declaration, serving every backend. */
export interface OpDef {
  /** "" for ai.onnx, else e.g. "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training". */
  readonly domain: string;
  /** Operator type. */
  readonly opType: string;
  /**
   * The schema since-versions whose semantics this declaration implements, ascending. The
   * registry resolves a model's opset to the newest schema version ≤ opset and uses this
   * declaration only when that version is listed here.
   */
  readonly versions: readonly number[];
  /**
   * Set when the kernel's semantics hold for every schema version of the op (elementwise
   * math whose versions only widened the type lists); `versions` is then ignored.
   */
  readonly allVersions?: boolean;
  /** The CPU kernel: mandatory, the reference every other backend is tested against. */
  readonly cpu: CpuKernel;
  /** Type and shape inference. */
  readonly infer?: InferFn;
  /** Input indices whose values must be on the CPU (shapes, axes, pads...). */
  readonly hostInputs?: readonly number[];
  /** The WebGPU kernel, when there is one (filled in by the WebGPU backend). */
  readonly webgpu?: unknown;
}
