/**
 * Reading what `run` feeds and what `compare` expects: `.npy`, `.pb`, JSON (files or inline),
 * images, seeded random tensors and `test_data_set_N` folders. Everything is read once, right
 * after the model is loaded and before any other stage runs, so a bad file stops the
 * pipeline before it writes anything. Problems become {@link ConfigError}s that name the
 * YAML key and line.
 *
 * @module
 */

import { join } from "node:path";
import type {
  CompareStage,
  ModelSignature,
  PipelineConfig,
  RandomInputOptions,
  RunStage,
  TensorSource,
} from "../config.ts";
import { ConfigError, OnnxError } from "../errors.ts";
import { decodeImage, preprocessImage } from "../io/image.ts";
import { tensorFromJson } from "../io/json.ts";
import { readLabels } from "../io/labels.ts";
import { readNpy } from "../io/npy.ts";
import { decodeValueFile } from "../load/tensor_proto.ts";
import { type DataType, isFloat } from "../tensor/dtype.ts";
import { describeValue, Tensor, tensorFromNumbers, type Value } from "../tensor/tensor.ts";
import { formatValueType, type ValueType } from "../tensor/value_type.ts";

/** Feeds of a `run` stage and its labels file's contents. */
export interface PreparedRun {
  /** A value per model input. */
  feeds: Record<string, Value>;
  /** Where each input came from, for the report. */
  origins: Record<string, string>;
  /** Labels for the top-k view. */
  labels?: string[];
}

/** References of a `compare` stage. */
export interface PreparedCompare {
  /** Expected value per output name. */
  expected: Record<string, Value>;
  /** Where each reference came from. */
  origins: Record<string, string>;
}

/** Everything read ahead of time, by stage index. */
export interface PreparedData {
  /** Run stages' feeds. */
  runs: Map<number, PreparedRun>;
  /** Compare stages' references. */
  compares: Map<number, PreparedCompare>;
}

/** mulberry32: small, fast, seedable, good enough for test inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded random tensor: floats uniform in [low, high) (default [0, 1)), integers uniform
 * in [low, high) (default [0, 10)), bools 0 or 1. Same seed, same values.
 */
export function randomTensor(
  type: DataType,
  dims: readonly number[],
  options: Pick<RandomInputOptions, "seed" | "low" | "high">,
): Value {
  const next = rng(options.seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  if (type === "bool") {
    for (let i = 0; i < n; i++) values[i] = next() < 0.5 ? 0 : 1;
  } else if (isFloat(type)) {
    const low = options.low ?? 0;
    const high = options.high ?? 1;
    for (let i = 0; i < n; i++) values[i] = low + (high - low) * next();
  } else {
    const low = Math.ceil(options.low ?? 0);
    const high = Math.ceil(options.high ?? 10);
    for (let i = 0; i < n; i++) {
      values[i] = Math.min(high - 1, low + Math.floor((high - low) * next()));
    }
  }
  return tensorFromNumbers(type, values, dims);
}

function tensorExpectation(t: ValueType | undefined) {
  return t?.kind === "tensor" ? { type: t.elemType, dims: t.shape } : undefined;
}

async function readBytes(path: string): Promise<Uint8Array> {
  return await Deno.readFile(path);
}

/** Reads one source; errors are turned into ConfigErrors at the source's key. */
async function readSource(
  config: PipelineConfig,
  source: TensorSource,
  declared: ValueType | undefined,
): Promise<{ value: Value; origin: string }> {
  try {
    switch (source.kind) {
      case "npy":
        return { value: readNpy(await readBytes(source.path), source.path), origin: source.path };
      case "pb":
        return {
          value: decodeValueFile(await readBytes(source.path), declared, source.path),
          origin: source.path,
        };
      case "json": {
        const text = await Deno.readTextFile(source.path);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          throw new ConfigError(`Invalid JSON in ${source.path}: ${(e as Error).message}`);
        }
        return { value: tensorFromJson(parsed, tensorExpectation(declared)), origin: source.path };
      }
      case "value":
        return {
          value: tensorFromJson(source.value, tensorExpectation(declared)),
          origin: "inline value",
        };
      case "image": {
        const o = source.options;
        const img = decodeImage(await readBytes(source.path), source.path, {
          keepGray: o.grayscale,
        });
        const value = preprocessImage(img, {
          grayscale: o.grayscale,
          resize: o.resize,
          centerCrop: o.centerCrop,
          scale: o.scale,
          mean: o.mean,
          std: o.std,
          layout: o.layout,
        });
        return { value, origin: `${source.path} (${img.width}x${img.height} image)` };
      }
      case "random": {
        const o = source.options;
        const t = declared?.kind === "tensor" ? declared : undefined;
        const type = (o.dtype ?? t?.elemType)!;
        const dims = o.shape ?? t!.shape!.map((d) => (typeof d === "number" ? d : o.dims[d!]));
        return {
          value: randomTensor(type, dims, o),
          origin: `random ${type}[${dims}] (seed ${o.seed})`,
        };
      }
    }
  } catch (e) {
    if (e instanceof ConfigError && e.path !== undefined) throw e;
    if (e instanceof OnnxError || e instanceof Deno.errors.NotFound || e instanceof RangeError) {
      const line = config.lines.get(source.key);
      const msg = (e as Error).message;
      throw new ConfigError(msg.charAt(0).toUpperCase() + msg.slice(1), {
        file: config.file,
        line,
        path: source.key,
      });
    }
    throw e;
  }
}

async function readDataSet(
  config: PipelineConfig,
  dir: string,
  prefix: "input" | "output",
  values: { name: string; type?: ValueType }[],
  key: string,
): Promise<{ name: string; value: Value; origin: string }[]> {
  const out: { name: string; value: Value; origin: string }[] = [];
  for (let k = 0; k < values.length; k++) {
    const file = join(dir, `${prefix}_${k}.pb`);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch {
      break;
    }
    try {
      out.push({
        name: values[k].name,
        value: decodeValueFile(bytes, values[k].type, file),
        origin: file,
      });
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      throw new ConfigError(e.message, {
        file: config.file,
        line: config.lines.get(key),
        path: key,
      });
    }
  }
  return out;
}

/**
 * Checks a feed against the input's declared type as the session will (element type, rank,
 * fixed sizes, one size per symbol), so a wrong file fails before any stage writes.
 */
function checkFeed(
  config: PipelineConfig,
  name: string,
  value: Value,
  declared: ValueType | undefined,
  key: string,
  symbols: Map<string, [number, string]>,
): void {
  if (declared?.kind !== "tensor" || !(value instanceof Tensor)) return;
  const fail = (what: string): never => {
    throw new ConfigError(
      `Input "${name}" is ${describeValue(value)} but the model declares ${
        formatValueType(declared)
      }: ${what}`,
      { file: config.file, line: config.lines.get(key), path: key },
    );
  };
  if (declared.elemType && declared.elemType !== value.type) fail("the element types differ");
  const shape = declared.shape;
  if (!shape) return;
  if (shape.length !== value.dims.length) fail("the ranks differ");
  shape.forEach((d, i) => {
    const got = value.dims[i];
    if (typeof d === "number" && d !== got) fail(`dimension ${i} differs`);
    if (typeof d === "string") {
      const seen = symbols.get(d);
      if (seen && seen[0] !== got) {
        fail(`dimension ${i} ("${d}") is ${got} but "${d}" is ${seen[0]} in input "${seen[1]}"`);
      }
      symbols.set(d, [got, name]);
    }
  });
}

async function prepareRun(
  config: PipelineConfig,
  stage: RunStage,
  sig: ModelSignature,
): Promise<PreparedRun> {
  const feeds: Record<string, Value> = {};
  const origins: Record<string, string> = {};
  if (stage.testDataSet) {
    const given = new Set(stage.inputs.map((i) => i.name));
    const key = `${stage.key}.test_data_set`;
    for (
      const { name, value, origin } of await readDataSet(
        config,
        stage.testDataSet,
        "input",
        sig.inputs,
        key,
      )
    ) {
      if (given.has(name)) continue;
      feeds[name] = value;
      origins[name] = origin;
    }
  }
  for (const { name, source } of stage.inputs) {
    const declared = sig.inputs.find((i) => i.name === name)?.type;
    const { value, origin } = await readSource(config, source, declared);
    feeds[name] = value;
    origins[name] = origin;
  }
  const symbols = new Map<string, [number, string]>();
  for (const input of sig.inputs) {
    const value = feeds[input.name];
    if (value === undefined) continue;
    const given = stage.inputs.find((i) => i.name === input.name);
    const key = given ? given.source.key : `${stage.key}.test_data_set`;
    checkFeed(config, input.name, value, input.type, key, symbols);
  }
  let labels: string[] | undefined;
  if (stage.topk?.labels) labels = readLabels(await Deno.readTextFile(stage.topk.labels));
  return { feeds, origins, labels };
}

async function prepareCompare(
  config: PipelineConfig,
  stage: CompareStage,
  sig: ModelSignature,
): Promise<PreparedCompare> {
  const expected: Record<string, Value> = {};
  const origins: Record<string, string> = {};
  if (stage.testDataSet) {
    const key = `${stage.key}.test_data_set`;
    for (
      const { name, value, origin } of await readDataSet(
        config,
        stage.testDataSet,
        "output",
        sig.outputs,
        key,
      )
    ) {
      expected[name] = value;
      origins[name] = origin;
    }
  }
  for (const { name, source } of stage.expected) {
    const declared = sig.outputs.find((o) => o.name === name)?.type;
    const { value, origin } = await readSource(config, source, declared);
    expected[name] = value;
    origins[name] = origin;
  }
  return { expected, origins };
}

/**
 * Reads every input, reference and labels file the stages name, using the model's declared
 * types (for `.pb` message kinds, JSON element types and random shapes).
 */
export async function prepareData(
  config: PipelineConfig,
  sig: ModelSignature,
): Promise<PreparedData> {
  const runs = new Map<number, PreparedRun>();
  const compares = new Map<number, PreparedCompare>();
  for (const stage of config.stages) {
    if (stage.stage === "run") runs.set(stage.index, await prepareRun(config, stage, sig));
    if (stage.stage === "compare") {
      compares.set(stage.index, await prepareCompare(config, stage, sig));
    }
  }
  return { runs, compares };
}
