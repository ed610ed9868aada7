/**
 * `InferenceSession`: the library's entry point for running a model, shaped like
 * onnxruntime-web's so that switching needs few changes.
 *
 * @module
 */

import type { Model, ValueInfo } from "../load/ir.ts";
import { type LoadedModel, loadModel } from "../load/load.ts";
import { OnnxMap, Optional, Sequence, Tensor, type Value } from "../tensor/tensor.ts";
import {
  type Dim,
  formatValueType,
  type ValueType,
  valueTypeFromProto,
} from "../tensor/value_type.ts";
import { buildPlan, functionKey, opsetMap, type Plan, type PlanEnv, runPlan } from "./plan.ts";
import { ConfigError, InputError } from "../errors.ts";
import type { GpuExecutor, OutputLocation, RunStats } from "./webgpu/executor.ts";
import { cpuRunStats, createGpuExecutor, noticeDeviceLost } from "./webgpu/backend.ts";

export type { NodePlacement, OutputLocation, RunStats } from "./webgpu/executor.ts";
import type { Int8Accumulation } from "../../ops/types.ts";

/**
 * Where nodes run. `cpu`: everywhere on the CPU. `webgpu`: every node a WebGPU kernel
 * supports on the GPU (the rest on the CPU; everything on the CPU, after one notice, when
 * there is no adapter). `auto`: the GPU for heavy nodes and their GPU-side neighbours on a
 * hardware adapter, the CPU on a software adapter such as llvmpipe.
 */
export type Backend = "auto" | "cpu" | "webgpu";

/** Options of {@link InferenceSession.create}. */
export interface SessionOptions {
  /** Backend choice (default `cpu`). */
  backend?: Backend;
  /** onnxruntime-web style provider list; `["webgpu"]` means `backend: "webgpu"`. */
  executionProviders?: readonly (string | { name: string })[];
  /** Seed of the random source used by Random* ops without a seed attribute. */
  seed?: number;
  /** Base folder for external data when the model is given as bytes. */
  baseDir?: string;
  /**
   * How products of 8-bit integers are summed (default `exact`).
   *
   * - `exact`: the ONNX definition, an exact int32 sum. onnxruntime computes the same on ARM and
   *   on x86 CPUs with AVX512-VNNI or AVX-VNNI.
   * - `x86-u8s8`: reproduces onnxruntime's CPU results (MLAS) on x86 CPUs without VNNI (AVX2
   *   or AVX512BW only), whose uint8 × int8 kernels (`vpmaddubsw`) add the products of each
   *   pair of adjacent terms of the dot product into an int16 that saturates at
   *   [−32768, 32767] before the int32 sum. It applies where MLAS takes that path:
   *   QLinearConv with uint8 x and int8 w (pairs along the kernel taps × input channels in
   *   channels-last order; depthwise convolutions, one input and one output channel per
   *   group, stay exact), QLinearMatMul and MatMulInteger with uint8 A and int8 B (pairs
   *   along K), and ConvInteger with int8 x and uint8 w (pairs along input channels × kernel
   *   taps); every other op and type combination stays exact. Use it to compare against
   *   reference outputs made by onnxruntime on such machines, where a quantized model's
   *   outputs differ from the exact ones wherever a pair saturates.
   */
  int8Accumulation?: Int8Accumulation;
  /**
   * Where outputs computed on the GPU are delivered, for all outputs or per output name:
   * `cpu` (default) downloads them; `gpu-buffer` leaves them on the GPU as tensors with
   * `location: "gpu-buffer"` (read them with `getData()`, free them with `dispose()`), like
   * onnxruntime-web's option of the same name. Outputs computed on the CPU stay there.
   */
  preferredOutputLocation?: OutputLocation | Readonly<Record<string, OutputLocation>>;
}

/** Options of {@link InferenceSession.run}. */
export interface RunOptions {
  /** Called after each node with its name, op type and time in milliseconds. */
  onNode?: (info: { name: string; opType: string; ms: number; index: number }) => void;
}

/** Metadata of a graph input or output. */
export interface ValueMetadata {
  /** Name. */
  name: string;
  /** Declared type, when the model declares one. */
  type?: ValueType;
}

/** Feeds of {@link InferenceSession.run}: a value per input name. */
export type Feeds = Record<string, Value>;

/** Outputs of {@link InferenceSession.run}: a value per output name. */
export type Outputs = Record<string, Value>;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function describe(v: Value): string {
  if (v instanceof Tensor) return `${v.type}[${v.dims.join(",")}]`;
  if (v instanceof Sequence) return "sequence";
  if (v instanceof Optional) return "optional";
  return "map";
}

/**
 * Runs an ONNX model. Plans once at creation (errors about unsupported ops surface there),
 * then runs many times.
 *
 * @example
 * ```ts ignore
 * import { InferenceSession, Tensor } from "./mod.ts";
 * const session = await InferenceSession.create("model.onnx");
 * const out = await session.run({ input: new Tensor("float32", new Float32Array(4), [1, 4]) });
 * ```
 */
export class InferenceSession {
  /** The loaded model. */
  readonly model: Model;
  /** Names of the inputs to feed (graph inputs that are not initializers). */
  readonly inputNames: readonly string[];
  /** Names of the outputs. */
  readonly outputNames: readonly string[];
  /** Declared types of the inputs. */
  readonly inputMetadata: readonly ValueMetadata[];
  /** Declared types of the outputs. */
  readonly outputMetadata: readonly ValueMetadata[];
  /** The backend the session uses. */
  readonly backend: Backend;
  /**
   * What the last run did: nodes per backend, bytes that crossed between CPU and GPU,
   * per-node placement with the reason a node stayed on the CPU. Undefined before a run.
   */
  lastRunStats?: RunStats;
  #plan: Plan;
  #env: PlanEnv;
  #declared: Map<string, ValueInfo>;
  #executor?: GpuExecutor;
  #cpuReason = "cpu backend";
  #outputLocation: (name: string) => OutputLocation = () => "cpu";

  private constructor(loaded: LoadedModel, options: SessionOptions) {
    const model = loaded.model;
    if (!model.graph) throw new InputError("The model has no graph");
    const acc = options.int8Accumulation ?? "exact";
    if (acc !== "exact" && acc !== "x86-u8s8") {
      throw new ConfigError(`Unknown int8Accumulation "${acc}": use "exact" or "x86-u8s8"`);
    }
    this.model = model;
    const functions = new Map(
      model.functions.map((f) => [functionKey(f.domain, f.name, f.overload), f]),
    );
    this.#env = {
      opsets: opsetMap(model.opsetImport),
      functions,
      external: loaded.external,
      random: mulberry32(options.seed ?? 0x5eed),
      kernelOptions: { int8Accumulation: acc },
    };
    if (!this.#env.opsets.has("")) {
      // IR < 3 models have no opset import; treat them as opset 1 of the default domain.
      (this.#env.opsets as Map<string, number>).set("", 1);
    }
    this.#plan = buildPlan(model.graph, this.#env, { isSubgraph: false, outer: new Set() });
    const graph = model.graph;
    this.inputNames = this.#plan.feeds;
    this.outputNames = this.#plan.outputs;
    this.#declared = new Map(graph.input.map((i) => [i.name, i]));
    this.inputMetadata = this.#plan.feeds.map((n) => ({
      name: n,
      type: valueTypeFromProto(this.#declared.get(n)?.type),
    }));
    this.outputMetadata = graph.output.map((o) => ({
      name: o.name,
      type: valueTypeFromProto(o.type),
    }));
    this.backend = options.backend ??
      (options.executionProviders?.some((p) => (typeof p === "string" ? p : p.name) === "webgpu")
        ? "webgpu"
        : "cpu");
    const loc = options.preferredOutputLocation;
    if (loc !== undefined) {
      this.#outputLocation = typeof loc === "string" ? () => loc : (n) => loc[n] ?? "cpu";
    }
  }

  /** Opens the WebGPU backend when the session asks for it. */
  async #initBackend(): Promise<void> {
    if (this.backend === "cpu") return;
    const r = await createGpuExecutor(this.#plan, this.backend);
    if ("executor" in r) this.#executor = r.executor;
    else this.#cpuReason = `WebGPU not used: ${r.reason}`;
  }

  /** Loads a model from a path, URL, bytes or an already loaded model, and plans it. */
  static async create(
    source: string | URL | Uint8Array | ArrayBuffer | LoadedModel,
    options: SessionOptions = {},
  ): Promise<InferenceSession> {
    let loaded: LoadedModel;
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    if (typeof source === "string" || source instanceof URL || source instanceof Uint8Array) {
      loaded = await loadModel(source, { baseDir: options.baseDir });
    } else {
      loaded = source;
    }
    const session = new InferenceSession(loaded, options);
    await session.#initBackend();
    return session;
  }

  /** Checks feeds against the declared inputs; throws InputError naming the input. */
  validateFeeds(feeds: Feeds): void {
    const symbols = new Map<string, [number, string]>();
    for (const name of Object.keys(feeds)) {
      if (!this.#declared.has(name)) {
        throw new InputError(
          `Unknown input "${name}": the model's inputs are ${this.inputNames.join(", ")}`,
          { input: name },
        );
      }
    }
    for (const name of this.inputNames) {
      const v = feeds[name];
      const declared = valueTypeFromProto(this.#declared.get(name)?.type);
      if (v === undefined) {
        throw new InputError(
          `Missing input "${name}" (expected ${formatValueType(declared)})`,
          { input: name, expected: formatValueType(declared), got: "nothing" },
        );
      }
      if (!declared) continue;
      const fail = (what: string) =>
        new InputError(
          `Input "${name}": ${what} (expected ${formatValueType(declared)}, got ${describe(v)})`,
          { input: name, expected: formatValueType(declared), got: describe(v) },
        );
      if (declared.kind === "tensor") {
        if (!(v instanceof Tensor)) throw fail("expected a tensor");
        if (declared.elemType && v.type !== declared.elemType) throw fail("wrong element type");
        if (declared.shape) {
          if (declared.shape.length !== v.dims.length) throw fail("wrong rank");
          declared.shape.forEach((d: Dim, i) => {
            if (typeof d === "number" && d !== v.dims[i]) throw fail(`dimension ${i} differs`);
            if (typeof d === "string") {
              const seen = symbols.get(d);
              if (seen && seen[0] !== v.dims[i]) {
                throw fail(
                  `dimension ${i} ("${d}") is ${v.dims[i]} but "${d}" is ${seen[0]} in input "${
                    seen[1]
                  }"`,
                );
              }
              symbols.set(d, [v.dims[i], name]);
            }
          });
        }
      } else if (declared.kind === "sequence" && !(v instanceof Sequence)) {
        throw fail("expected a sequence");
      } else if (declared.kind === "optional" && !(v instanceof Optional)) {
        throw fail("expected an optional");
      } else if (declared.kind === "map" && !(v instanceof OnnxMap)) {
        throw fail("expected a map");
      }
    }
  }

  /** Runs the model; returns every output (or those named in `fetches`). */
  async run(feeds: Feeds, fetches?: readonly string[], options?: RunOptions): Promise<Outputs>;
  /** Runs the model with options. */
  async run(feeds: Feeds, options?: RunOptions): Promise<Outputs>;
  async run(
    feeds: Feeds,
    a?: readonly string[] | RunOptions,
    b?: RunOptions,
  ): Promise<Outputs> {
    const fetches = Array.isArray(a) ? a as readonly string[] : undefined;
    const options = (Array.isArray(a) ? b : a) as RunOptions | undefined;
    this.validateFeeds(feeds);
    if (fetches) {
      for (const f of fetches) {
        if (!this.outputNames.includes(f)) {
          throw new InputError(`Unknown output "${f}": outputs are ${this.outputNames}`);
        }
      }
    }
    const feedMap = new Map<string, Value>();
    for (const [k, v] of Object.entries(feeds)) feedMap.set(k, v);
    const env: PlanEnv = options?.onNode
      ? {
        ...this.#env,
        onNode: (step, ms) =>
          options.onNode!({ name: step.name, opType: step.node.opType, ms, index: step.index }),
      }
      : this.#env;
    const names = fetches ?? this.outputNames;
    const ex = this.#executor;
    if (ex && !ex.usable) this.#dropGpu();
    if (this.#executor) {
      try {
        return await this.#runGpu(this.#executor, feedMap, env, names);
      } catch (e) {
        // A lost device surfaces as a failed map or submit: finish the run on the CPU.
        await new Promise((r) => setTimeout(r, 0));
        if (this.#executor.usable) throw e;
        this.#dropGpu();
      }
    }
    const result = await runPlan(this.#plan, feedMap, undefined, env);
    this.lastRunStats = cpuRunStats(this.#plan, this.#cpuReason);
    const out: Outputs = {};
    for (const name of names) out[name] = result.get(name)!;
    return out;
  }

  async #runGpu(
    ex: GpuExecutor,
    feeds: Map<string, Value>,
    env: PlanEnv,
    names: readonly string[],
  ): Promise<Outputs> {
    ex.beginRun();
    try {
      const result = await runPlan(this.#plan, feeds, undefined, { ...env, executor: ex });
      const delivered = await ex.finishRun(result, names, this.#outputLocation);
      this.lastRunStats = ex.stats;
      const out: Outputs = {};
      for (const name of names) out[name] = delivered.get(name)!;
      return out;
    } finally {
      ex.endRun();
    }
  }

  #dropGpu(): void {
    noticeDeviceLost(this.#executor?.gpu.lostReason);
    this.#executor?.dispose();
    this.#executor = undefined;
    this.#cpuReason = "WebGPU device lost";
  }

  /** Releases resources (GPU buffers); the session cannot run afterwards. */
  release(): Promise<void> {
    this.#executor?.dispose();
    this.#executor = undefined;
    return Promise.resolve();
  }
}
