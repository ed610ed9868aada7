/**
 * The contract between the WebGPU executor and its kernels: what a kernel sees when it
 * decides whether it can run a node (`supports`), and what it may do when it runs one
 * (allocate outputs, get cached pipelines, encode dispatches). Also the element-type
 * mapping and a uniform writer shared by the kernels.
 *
 * @module
 */

import type { Node } from "../../load/ir.ts";
import type { DataType } from "../../tensor/dtype.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import type { Attributes, OpContext } from "../../../ops/types.ts";
import type { GpuInfo } from "./device.ts";
import type { ShaderSpec } from "./shader.ts";

/** WGSL element types tensors are kept in on the GPU. */
export type GpuElem = "f32" | "f16" | "i32" | "u32" | "bool";

/**
 * The GPU element type of a tensor type, or undefined when it has none (int64, float64,
 * strings...: those stay on the CPU). float16 needs the shader-f16 feature.
 */
export function gpuElem(type: DataType, f16: boolean): GpuElem | undefined {
  switch (type) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "uint32":
      return "u32";
    case "bool":
      return "bool";
    case "float16":
      return f16 ? "f16" : undefined;
    default:
      return undefined;
  }
}

/** The WGSL type an element is stored as: bool is stored as u32 (0 or 1). */
export function storageOf(e: GpuElem): string {
  return e === "bool" ? "u32" : e;
}

/**
 * True for int8 and uint8: kernels that declare `packedBytes` read and write them packed four
 * per u32 word (element i in byte i % 4 of word i / 4, little-endian), the CPU's bytes as is.
 */
export function isPackedByte(type: DataType): boolean {
  return type === "int8" || type === "uint8";
}

/**
 * Bytes of a GPU tensor's data (4 per element, 2 for f16, 8 for int64, 1 for int8/uint8,
 * rounded up to 4). int64 tensors (ArgMax's indices) are stored as two u32 words per element,
 * low word first, as the CPU stores them; kernels do not compute on them. int8/uint8 tensors
 * are packed four per word (see {@link isPackedByte}).
 */
export function gpuBytes(type: DataType, size: number): number {
  const n = type === "float16"
    ? size * 2
    : type === "int64"
    ? size * 8
    : isPackedByte(type)
    ? size
    : size * 4;
  return Math.ceil(n / 4) * 4;
}

/** Shape and type of a tensor input, as kernels see it when deciding. */
export interface TensorMeta {
  /** Element type. */
  readonly type: DataType;
  /** Dims. */
  readonly dims: readonly number[];
}

/** What a kernel sees of a node when deciding whether it can run it. */
export interface NodeView {
  /** The node. */
  readonly node: Node;
  /** Resolved schema version. */
  readonly version: number;
  /** Attributes. */
  readonly attrs: Attributes;
  /** Type and dims of each input; undefined where omitted. */
  readonly inputs: readonly (TensorMeta | undefined)[];
  /** Number of declared outputs. */
  readonly outputCount: number;
  /** True when output `i` is declared and not "". */
  wantsOutput(i: number): boolean;
  /** Adapter and device facts (features, limits). */
  readonly info: GpuInfo;
  /** The CPU-side context, for sharing attribute helpers with the CPU kernels. */
  readonly op: OpContext;
}

/** A pipeline to build (cached by everything here; never by dims). */
export interface PipelineSpec extends ShaderSpec {
  /** Override constants: workgroup and tile sizes, ranks, attribute switches. */
  constants?: Readonly<Record<string, number | boolean>>;
  /** Number of read-only storage bindings (inputs), bound first. */
  reads: number;
  /** Number of read-write storage bindings (outputs), bound after the inputs. */
  writes: number;
  /** True when a uniform buffer is bound last. */
  uniforms: boolean;
}

/** One dispatch: buffers in binding order, uniform data, workgroup counts. */
export interface Dispatch {
  /** Input tensors (GPU), in binding order. */
  reads: readonly Tensor[];
  /** Output tensors (GPU), in binding order after the inputs. */
  writes: readonly Tensor[];
  /** Uniform data (bound last), when the pipeline has uniforms. */
  uniforms?: Uint32Array<ArrayBuffer>;
  /** Workgroup counts in x, y, z. */
  groups: readonly [number, number, number];
}

/** What a kernel may do while running a node. */
export interface KernelContext {
  /** The node. */
  readonly node: Node;
  /** Name for messages. */
  readonly nodeName: string;
  /** Resolved schema version. */
  readonly version: number;
  /** Attributes. */
  readonly attrs: Attributes;
  /** True when output `i` is declared and not "". */
  wantsOutput(i: number): boolean;
  /** Adapter and device facts. */
  readonly info: GpuInfo;
  /** The CPU-side context, for sharing attribute helpers with the CPU kernels. */
  readonly op: OpContext;
  /** Allocates a GPU output tensor (contents undefined until a dispatch writes it). */
  output(type: DataType, dims: readonly number[]): Tensor;
  /**
   * A GPU copy of a CPU tensor the kernel made (converted indices, lookup tables), released
   * when the run ends; with `keep`, kept for the session and reused while the kernel passes
   * the same tensor object (for tables derived from constants or shapes only).
   */
  upload(t: Tensor, keep?: boolean): Tensor;
  /** A tensor sharing `t`'s buffer with other dims of the same size (Reshape and kin). */
  view(t: Tensor, dims: readonly number[]): Tensor;
  /** The compiled pipeline of a spec (cached per device). */
  pipeline(spec: PipelineSpec): Promise<GPUComputePipeline>;
  /** Encodes a dispatch into the run's command encoder. */
  dispatch(pipeline: GPUComputePipeline, d: Dispatch): void;
  /** Workgroup counts covering `count` invocations of workgroups of `wg` (split over y past the limit). */
  groups1d(count: number, wg: number): [number, number, number];
  /** Builds a RuntimeError naming the node. */
  fail(message: string): Error;
}

/** A WebGPU kernel for one op type. */
export interface GpuKernel {
  /** Input indices whose values the kernel reads on the host (Clip's bounds, Reshape's shape). */
  readonly host?: readonly number[];
  /** Worth running on a hardware GPU by itself (`auto` runs light kernels only next to GPU work). */
  readonly heavy?: boolean;
  /**
   * Accepts int8/uint8 inputs, packed four per u32 word (see {@link isPackedByte}); without
   * it placement keeps nodes with such inputs on the CPU.
   */
  readonly packedBytes?: boolean;
  /** Whether this node can run here: true, or why not. */
  supports(node: NodeView): true | string;
  /** Encodes the node and returns its outputs (GPU tensors; undefined for unwanted ones). */
  run(k: KernelContext, inputs: readonly (Tensor | undefined)[]): Promise<(Tensor | undefined)[]>;
}

/** A kernel's decision to leave a node to the CPU after all (e.g. a buffer over the limit). */
export class GpuDecline extends Error {
  /** Creates the decline with its reason. */
  constructor(reason: string) {
    super(reason);
    this.name = "GpuDecline";
  }
}

/** Builds uniform data: every field is a vec4 or an array of vec4s, as in the shaders. */
export class UniformWriter {
  readonly #words: number[] = [];
  readonly #f32 = new Float32Array(1);
  readonly #u32 = new Uint32Array(this.#f32.buffer);

  /** Appends a vec4<u32> (missing lanes are 0). */
  u32(...v: number[]): this {
    return this.#vec4(v.map((x) => x >>> 0));
  }

  /** Appends a vec4<u32> holding the bits of i32 values. */
  i32(...v: number[]): this {
    return this.#vec4(v.map((x) => x | 0).map((x) => x >>> 0));
  }

  /** Appends a vec4<f32> (or f32 bits read with bitcast in the shader). */
  f32(...v: number[]): this {
    return this.#vec4(v.map((x) => this.#bits(x)));
  }

  /** Appends raw 32-bit words as one vec4 (e.g. mixed f32/i32 parameters). */
  words(...v: number[]): this {
    return this.#vec4(v);
  }

  /** Appends an `array<vec4<u32>, 2>` of up to 8 values (dims or strides), zero-padded. */
  list8(values: readonly number[]): this {
    if (values.length > 8) throw new RangeError(`At most 8 values fit, got ${values.length}`);
    for (let i = 0; i < 8; i++) this.#words.push((values[i] ?? 0) >>> 0);
    return this;
  }

  /** The bits of an f32 value as a u32 word. */
  #bits(x: number): number {
    this.#f32[0] = x;
    return this.#u32[0];
  }

  #vec4(v: number[]): this {
    if (v.length > 4) throw new RangeError(`A vec4 holds 4 values, got ${v.length}`);
    for (let i = 0; i < 4; i++) this.#words.push(v[i] ?? 0);
    return this;
  }

  /** The data. */
  finish(): Uint32Array<ArrayBuffer> {
    return Uint32Array.from(this.#words);
  }
}

/** The bits of a number as an f32, i32 or u32 parameter word for the pf/pi/pu helpers. */
export function paramWord(value: number, as: "f32" | "i32" | "u32"): number {
  if (as === "f32") return new Uint32Array(Float32Array.of(value).buffer)[0];
  if (as === "i32") return (value | 0) >>> 0;
  return value >>> 0;
}
