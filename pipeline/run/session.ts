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
import { InputError } from "../errors.ts";

/** Where nodes run. `auto` picks WebGPU for heavy ops only when the adapter is worth it. */
export type Backend = "auto" | "cpu" | "webgpu";

/** Options of {@link InferenceSession.create}. */
export interface SessionOptions {
  /** Backend choice (default `cpu` until the WebGPU backend is available). */
  backend?: Backend;
  /** onnxruntime-web style provider list; `["webgpu"]` means `backend: "webgpu"`. */
  executionProviders?: readonly (string | { name: string })[];
  /** Seed of the random source used by Random* ops without a seed attribute. */
  seed?: number;
  /** Base folder for external data when the model is given as bytes. */
  baseDir?: string;
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
  #plan: Plan;
  #env: PlanEnv;
  #declared: Map<string, ValueInfo>;

  private constructor(loaded: LoadedModel, options: SessionOptions) {
    const model = loaded.model;
    if (!model.graph) throw new InputError("The model has no graph");
    this.model = model;
    const functions = new Map(
      model.functions.map((f) => [functionKey(f.domain, f.name, f.overload), f]),
    );
    this.#env = {
      opsets: opsetMap(model.opsetImport),
      functions,
      external: loaded.external,
      random: mulberry32(options.seed ?? 0x5eed),
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
    return new InferenceSession(loaded, options);
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
    const result = await runPlan(this.#plan, feedMap, undefined, env);
    const out: Outputs = {};
    for (const name of fetches ?? this.outputNames) out[name] = result.get(name)!;
    return out;
  }

  /** Releases resources (GPU buffers); the session cannot run afterwards. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
