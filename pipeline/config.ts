/**
 * The pipeline file: its schema, and its validation into a typed {@link PipelineConfig}.
 *
 * Validation happens before anything runs. Every unknown key, wrong type, missing required
 * key or missing file raises a {@link ConfigError} naming the YAML file, the line and the key
 * path (e.g. `stages[3].run.inputs.input.image.mean`), and suggests the closest valid key or
 * stage name for typos. Paths are resolved relative to the YAML file. What can only be known
 * from the model (input names, symbolic dimensions) is checked by
 * {@link validateAgainstModel} right after loading, still before any stage runs.
 *
 * The reference for the format is `examples/README.md`.
 *
 * @module
 */

import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
} from "npm:yaml@2.9.1";
import type { Alias, Document, Node as YamlNode } from "npm:yaml@2.9.1";
import { ConfigError } from "./errors.ts";
import { type DataType, dataTypeFromOnnxName } from "./tensor/dtype.ts";
import type { ValueType } from "./tensor/value_type.ts";
import { OPTIMIZATION_LEVELS, type OptimizationLevel, passNames } from "./optimize/mod.ts";

// ---------------------------------------------------------------------------------------
// Types

/** Stage names, in the order a pipeline usually lists them. */
export const STAGE_NAMES = ["load", "check", "optimize", "run", "compare", "report"] as const;

/** Name of a stage. */
export type StageName = typeof STAGE_NAMES[number];

/** Where `run` executes nodes (passed to the inference session). */
export type BackendChoice = "auto" | "cpu" | "webgpu";

/** Where the model comes from. */
export interface ModelRef {
  /** Absolute file path, or an `http:`/`https:` URL. */
  source: string;
  /** `file` for local paths (and `file:` URLs), `url` for http(s). */
  kind: "file" | "url";
  /** The model's folder, for local models (where `test_data_set: N` looks). */
  dir?: string;
}

/** Options of an image input, applied as torchvision does (see `pipeline/io/image.ts`). */
export interface ImageInputOptions {
  /** Shorter side to resize to, or `[height, width]`. */
  resize?: number | [number, number];
  /** Center crop size, or `[height, width]`. */
  centerCrop?: number | [number, number];
  /** Factor applied to 0..255 pixel values (default 1/255). */
  scale?: number;
  /** Per-channel mean. */
  mean?: number[];
  /** Per-channel standard deviation. */
  std?: number[];
  /** Tensor layout (default NCHW). */
  layout: "NCHW" | "NHWC";
  /** Convert to one grey channel first. */
  grayscale: boolean;
}

/** Options of a random input. */
export interface RandomInputOptions {
  /** Seed of the generator (default 0). */
  seed: number;
  /** Lower bound (inclusive); default 0. */
  low?: number;
  /** Upper bound (exclusive); default 1 for floats, 10 for integers. */
  high?: number;
  /** Sizes of symbolic dimensions, by name. */
  dims: Record<string, number>;
  /** Explicit shape, overriding the declared one. */
  shape?: number[];
  /** Element type, overriding the declared one. */
  dtype?: DataType;
}

/** Where a tensor comes from. `key` is its key path in the YAML file. */
export type TensorSource =
  | { kind: "npy" | "pb" | "json"; path: string; key: string }
  | { kind: "value"; value: unknown; key: string }
  | { kind: "image"; path: string; options: ImageInputOptions; key: string }
  | { kind: "random"; options: RandomInputOptions; key: string };

/** One named input or expected output. */
export interface NamedSource {
  /** Input or output name in the model. */
  name: string;
  /** Its source. */
  source: TensorSource;
}

/** Common fields of every stage. */
export interface StageBase {
  /** Position in `stages` (-1 for the implied `load`). */
  index: number;
  /** Key path of the stage, e.g. `stages[2].run`. */
  key: string;
}

/** `load`: reads the model and its external data. */
export interface LoadStage extends StageBase {
  /** Discriminant. */
  stage: "load";
  /** True when the file did not list `load` and it was added in front. */
  implicit: boolean;
}

/** `check`: validates the model against the ONNX specification. */
export interface CheckStage extends StageBase {
  /** Discriminant. */
  stage: "check";
  /** Also run type and shape inference (default true). */
  full: boolean;
  /** Stop the pipeline when the model has errors (default true). */
  stopOnError: boolean;
}

/** `optimize`: applies graph passes. */
export interface OptimizeStage extends StageBase {
  /** Discriminant. */
  stage: "optimize";
  /** Level whose passes run when `passes` is not given (default basic). */
  level: OptimizationLevel;
  /** Passes to run, in this order. */
  passes?: string[];
  /** Most rounds over the passes (default 8). */
  maxIterations: number;
  /** Absolute path to save the optimized model to. */
  save?: string;
  /** Quantization applied once after the passes. */
  quantize?: QuantizeConfig;
  /** float16 conversion applied once after the passes (and after quantization). */
  float16?: Float16Config;
  /** With `save`: initializers larger than `threshold` bytes go to the file `location`. */
  externalData?: { threshold: number; location?: string };
  /**
   * Compare the outputs with the unoptimized model's on the inputs of the next `run` stage
   * (default true; without a later `run` stage only a calibration sample can serve).
   */
  verify: boolean;
}

/** Where one calibration sample (or a folder of them) comes from. */
export type CalibrationItem =
  /** A `test_data_set_N` folder: `input_K.pb` feeds the K-th input. */
  | { kind: "test_data_set"; dir: string; key: string }
  /** A folder: its `test_data_set_*` folders and its .npy/.pb/.json/image files, sorted. */
  | { kind: "folder"; dir: string; key: string }
  /** One tensor for a model with one input. */
  | { kind: "source"; source: TensorSource; key: string }
  /** One value per named input. */
  | { kind: "inputs"; inputs: NamedSource[]; key: string };

/** Calibration data and method of static quantization. */
export interface CalibrationConfig {
  /** Key path, e.g. `stages[1].optimize.quantize.calibration`. */
  key: string;
  /** Samples from files and folders. */
  items: CalibrationItem[];
  /** Seeded random samples: `count` of them, seeds `seed`, `seed + 1`, ... */
  random?: { count: number; options: RandomInputOptions; key: string };
  /** Preprocessing of image files named by path (in `inputs` or inside folders). */
  image: ImageInputOptions;
  /** Range method (default minmax). */
  method: "minmax" | "percentile";
  /** For `percentile`: the share of absolute values kept (default 99.99). */
  percentile: number;
}

/** `optimize.quantize`. */
export interface QuantizeConfig {
  /** Dynamic (activations quantized at run time) or static (QDQ, calibrated). */
  mode: "dynamic" | "static";
  /** One scale per output channel (default true). */
  perChannel: boolean;
  /** Weight type (default int8, symmetric; uint8 is asymmetric). */
  weightType: "int8" | "uint8";
  /** Static only: activation type (default uint8). */
  activationType: "uint8" | "int8";
  /** 7-bit weights (default false). */
  reduceRange: boolean;
  /** Op types to quantize (default Conv, MatMul, Gemm). */
  opTypes?: ("Conv" | "MatMul" | "Gemm")[];
  /** Node names left in float. */
  exclude: string[];
  /** Static only: calibration. */
  calibration?: CalibrationConfig;
}

/** `optimize.float16`. */
export interface Float16Config {
  /** Op types or node names kept in float32. */
  keepFloat32: string[];
  /** Keep graph inputs and outputs float32 (default true), or only those named. */
  keepIoTypes: boolean | string[];
  /** Start from the default block list (default true). */
  defaultBlockList: boolean;
}

/** Where and how `run` writes its outputs. */
export interface OutputsConfig {
  /** Absolute folder. */
  dir: string;
  /** File format. */
  format: "npy" | "pb" | "json";
  /** Outputs to write (default all). */
  names?: string[];
}

/** A classifier's top-k view. */
export interface TopKConfig {
  /** How many classes (default 5). */
  k: number;
  /** Absolute path of a labels file, one label per line. */
  labels?: string;
  /** Show softmax probabilities (default false). */
  softmax: boolean;
  /** Output to read (default the first). */
  output?: string;
}

/** `run`: runs the model on inputs. */
export interface RunStage extends StageBase {
  /** Discriminant. */
  stage: "run";
  /** Backend (default auto). */
  backend: BackendChoice;
  /** Seed of the session's random source (for Random* ops). */
  seed?: number;
  /**
   * Accumulation of 8-bit integer products (default `exact`); `x86-u8s8` reproduces
   * onnxruntime on x86 CPUs without VNNI (see `SessionOptions.int8Accumulation`).
   */
  int8Accumulation?: "exact" | "x86-u8s8";
  /** Untimed runs first (default 0). */
  warmup: number;
  /** Timed runs (default 1); outputs come from the last. */
  repeat: number;
  /** Collect time per op type. */
  profile: boolean;
  /** Inputs given one by one. */
  inputs: NamedSource[];
  /** Absolute path of a `test_data_set_N` folder feeding the inputs not given one by one. */
  testDataSet?: string;
  /** Where to write outputs. */
  outputs?: OutputsConfig;
  /** Top-k view. */
  topk?: TopKConfig;
}

/** `compare`: compares the last run's outputs with references. */
export interface CompareStage extends StageBase {
  /** Discriminant. */
  stage: "compare";
  /** Relative tolerance (default 1e-3). */
  rtol: number;
  /** Absolute tolerance (default 1e-4). */
  atol: number;
  /** Whether NaN equals NaN (default true). */
  equalNan: boolean;
  /** Expected outputs given one by one. */
  expected: NamedSource[];
  /** Absolute path of a `test_data_set_N` folder with `output_K.pb` references. */
  testDataSet?: string;
}

/** `report`: prints a detailed report and optionally writes it to a file. */
export interface ReportStage extends StageBase {
  /** Discriminant. */
  stage: "report";
  /** Absolute path of the report file. */
  path?: string;
  /** File format (from the extension: `.json` → json, `.md` → markdown, else text). */
  format: "json" | "markdown" | "text";
}

/** One stage. */
export type StageConfig =
  | LoadStage
  | CheckStage
  | OptimizeStage
  | RunStage
  | CompareStage
  | ReportStage;

/** A validated pipeline. */
export interface PipelineConfig {
  /** Absolute path of the YAML file ("<string>" when parsed from text without a file). */
  file: string;
  /** Folder that relative paths resolve against. */
  dir: string;
  /** Display name. */
  name?: string;
  /** Description. */
  description?: string;
  /** The model. */
  model: ModelRef;
  /** Stages in order; `load` is always first. */
  stages: StageConfig[];
  /** 1-based YAML line of every key path seen, for later errors. */
  lines: ReadonlyMap<string, number>;
}

/** Options of {@link parsePipeline} and {@link loadPipeline}. */
export interface PipelineOptions {
  /** Path of the YAML file (used for messages and to resolve relative paths). */
  file?: string;
  /** Replaces the file's `model` (a path relative to the current folder, or a URL). */
  model?: string;
  /** Skip checks that files exist (for tools that only read the schema). */
  skipFileChecks?: boolean;
  /** Values replacing those of the file's `vars` (the CLI's `--set name=value`). */
  vars?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------
// Suggestions

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word` (case-insensitive edit distance, `-` and `_` alike), or
 * undefined when none is close enough to be a likely typo.
 *
 * @example
 * ```ts
 * import { closestMatch } from "./config.ts";
 * closestMatch("rtoll", ["rtol", "atol"]); // "rtol"
 * ```
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll("-", "_");
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(norm(word), norm(c));
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

function suggestion(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return "; this map takes no keys";
  const best = closestMatch(word, candidates);
  return best !== undefined
    ? ` (did you mean "${best}"?)`
    : `; valid keys are ${candidates.map((c) => `"${c}"`).join(", ")}`;
}

// ---------------------------------------------------------------------------------------
// A located YAML tree

/** A YAML value with the line it starts on. */
type Y =
  | { kind: "map"; entries: Map<string, { keyLine: number; value: Y }>; line: number }
  | { kind: "seq"; items: Y[]; line: number }
  | { kind: "scalar"; value: string | number | boolean | null; line: number };

function describeY(y: Y): string {
  if (y.kind === "map") return "a map";
  if (y.kind === "seq") return "a list";
  if (y.value === null) return "nothing (null)";
  if (typeof y.value === "string") return `the string "${y.value}"`;
  if (typeof y.value === "boolean") return `the boolean ${y.value}`;
  return `the number ${y.value}`;
}

/** Plain JavaScript value of a located tree (for inline tensor values). */
function plain(y: Y): unknown {
  if (y.kind === "scalar") return y.value;
  if (y.kind === "seq") return y.items.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, v] of y.entries) out[k] = plain(v.value);
  return out;
}

/** Formats a key path segment: `.name`, or `["odd.name"]` for names that need quoting. */
function keyPath(parent: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

class Reader {
  readonly file: string;
  readonly dir: string;
  readonly lines = new Map<string, number>();
  readonly checkFiles: boolean;

  constructor(file: string, dir: string, checkFiles: boolean) {
    this.file = file;
    this.dir = dir;
    this.checkFiles = checkFiles;
  }

  fail(message: string, path: string, line: number | undefined): never {
    throw new ConfigError(message, { file: this.file, line, path });
  }

  seen(path: string, y: Y): void {
    this.lines.set(path, y.line);
  }

  /** Reads a map, rejecting keys not in `allowed` and requiring those in `required`. */
  map(
    y: Y,
    path: string,
    allowed: readonly string[],
    required: readonly string[] = [],
    what = "a map",
  ): Map<string, Y> {
    this.seen(path, y);
    if (y.kind !== "map") {
      this.fail(`Expected ${what}, got ${describeY(y)}`, path, y.line);
    }
    const out = new Map<string, Y>();
    for (const [k, { keyLine, value }] of y.entries) {
      const p = keyPath(path, k);
      if (!allowed.includes(k)) {
        this.fail(`Unknown key "${k}"${suggestion(k, allowed)}`, p, keyLine);
      }
      this.seen(p, value);
      out.set(k, value);
    }
    for (const k of required) {
      if (!out.has(k)) this.fail(`Missing required key "${k}"`, keyPath(path, k), y.line);
    }
    return out;
  }

  string(y: Y, path: string): string {
    if (y.kind !== "scalar" || typeof y.value !== "string") {
      this.fail(`Expected a string, got ${describeY(y)}`, path, y.line);
    }
    if (y.value === "") this.fail("Expected a non-empty string", path, y.line);
    return y.value;
  }

  bool(y: Y, path: string): boolean {
    if (y.kind !== "scalar" || typeof y.value !== "boolean") {
      this.fail(`Expected true or false, got ${describeY(y)}`, path, y.line);
    }
    return y.value;
  }

  number(
    y: Y,
    path: string,
    opts: { min?: number; positive?: boolean; integer?: boolean } = {},
  ): number {
    const kind = opts.integer ? "an integer" : "a number";
    if (y.kind !== "scalar" || typeof y.value !== "number" || !Number.isFinite(y.value)) {
      this.fail(`Expected ${kind}, got ${describeY(y)}`, path, y.line);
    }
    const v = y.value;
    if (opts.integer && !Number.isSafeInteger(v)) {
      this.fail(`Expected an integer, got ${v}`, path, y.line);
    }
    if (opts.positive && !(v > 0)) this.fail(`Expected a positive number, got ${v}`, path, y.line);
    if (opts.min !== undefined && v < opts.min) {
      this.fail(`Expected a number ≥ ${opts.min}, got ${v}`, path, y.line);
    }
    return v;
  }

  choice<T extends string>(y: Y, path: string, choices: readonly T[]): T {
    const s = this.string(y, path);
    if (!choices.includes(s as T)) {
      const best = closestMatch(s, choices);
      this.fail(
        `Unknown value "${s}"${best ? ` (did you mean "${best}"?)` : ""}; expected one of ${
          choices.map((c) => `"${c}"`).join(", ")
        }`,
        path,
        y.line,
      );
    }
    return s as T;
  }

  list(y: Y, path: string): Y[] {
    this.seen(path, y);
    if (y.kind !== "seq") this.fail(`Expected a list, got ${describeY(y)}`, path, y.line);
    y.items.forEach((item, i) => this.seen(`${path}[${i}]`, item));
    return y.items;
  }

  numbers(y: Y, path: string, opts: { positive?: boolean; integer?: boolean } = {}): number[] {
    return this.list(y, path).map((item, i) => this.number(item, `${path}[${i}]`, opts));
  }

  /** A positive integer, or `[height, width]` of positive integers. */
  size(y: Y, path: string): number | [number, number] {
    if (y.kind === "seq") {
      const v = this.numbers(y, path, { positive: true, integer: true });
      if (v.length !== 2) {
        this.fail(`Expected [height, width], got a list of ${v.length}`, path, y.line);
      }
      return [v[0], v[1]];
    }
    return this.number(y, path, { positive: true, integer: true });
  }

  resolvePath(p: string): string {
    return isAbsolute(p) ? p : resolve(this.dir, p);
  }

  /** A path to an existing file, resolved relative to the YAML file. */
  existingFile(y: Y, path: string, what = "file"): string {
    const p = this.string(y, path);
    const abs = this.resolvePath(p);
    if (this.checkFiles) {
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.statSync(abs);
      } catch {
        this.fail(`The ${what} "${p}" was not found (looked for ${abs})`, path, y.line);
      }
      if (!info.isFile) this.fail(`The ${what} "${p}" is not a file (${abs})`, path, y.line);
    }
    return abs;
  }

  /** A path to be written: its parent may not exist yet, but it must not be a folder. */
  outFile(y: Y, path: string): string {
    const p = this.string(y, path);
    const abs = this.resolvePath(p);
    if (this.checkFiles) {
      try {
        if (Deno.statSync(abs).isDirectory) {
          this.fail(`"${p}" is a folder; give a file name to write (${abs})`, path, y.line);
        }
      } catch (e) {
        if (e instanceof ConfigError) throw e;
      }
      this.checkParents(abs, p, path, y.line);
    }
    return abs;
  }

  /** A folder to be written into: it must not be a file. */
  outDir(y: Y, path: string): string {
    const p = this.string(y, path);
    const abs = this.resolvePath(p);
    if (this.checkFiles) {
      try {
        if (!Deno.statSync(abs).isDirectory) {
          this.fail(`"${p}" exists and is not a folder (${abs})`, path, y.line);
        }
      } catch (e) {
        if (e instanceof ConfigError) throw e;
      }
      this.checkParents(abs, p, path, y.line);
    }
    return abs;
  }

  /** Fails when some existing ancestor of `abs` is a file (the write could not succeed). */
  checkParents(abs: string, shown: string, path: string, line: number): void {
    for (let d = dirname(abs); d !== dirname(d); d = dirname(d)) {
      try {
        const info = Deno.statSync(d);
        if (!info.isDirectory) {
          this.fail(`Cannot write "${shown}": ${d} is a file, not a folder`, path, line);
        }
        return;
      } catch (e) {
        if (e instanceof ConfigError) throw e;
      }
    }
  }
}

/** Converts a parsed YAML node to a located tree; aliases are resolved. */
function toY(
  node: unknown,
  lc: LineCounter,
  doc: Document,
  fail: (msg: string, line: number) => never,
): Y {
  let n = node as YamlNode | null | undefined;
  if (n && isAlias(n)) n = (n as Alias).resolve(doc) ?? null;
  const range = (n as { range?: [number, number, number] } | null | undefined)?.range;
  const line = range ? lc.linePos(range[0]).line : 0;
  if (n === null || n === undefined) return { kind: "scalar", value: null, line };
  if (isMap(n)) {
    const entries = new Map<string, { keyLine: number; value: Y }>();
    for (const pair of n.items) {
      if (!isPair(pair)) continue;
      const keyY = toY(pair.key, lc, doc, fail);
      if (keyY.kind !== "scalar" || keyY.value === null || typeof keyY.value === "boolean") {
        fail(`Map keys must be plain names, got ${describeY(keyY)}`, keyY.line || line);
      }
      const value = toY(pair.value, lc, doc, fail);
      if (value.line === 0) value.line = keyY.line;
      entries.set(String(keyY.value), { keyLine: keyY.line, value });
    }
    return { kind: "map", entries, line };
  }
  if (isSeq(n)) return { kind: "seq", items: n.items.map((i) => toY(i, lc, doc, fail)), line };
  if (isScalar(n)) {
    const v = n.value;
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      return { kind: "scalar", value: v, line };
    }
    if (typeof v === "bigint") return { kind: "scalar", value: Number(v), line };
    return { kind: "scalar", value: String(v), line };
  }
  return { kind: "scalar", value: null, line };
}

// ---------------------------------------------------------------------------------------
// Sources of tensors

const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"];
const SOURCE_KEYS = ["npy", "pb", "json", "value", "image", "random"] as const;
const IMAGE_KEYS = [
  "path",
  "resize",
  "center_crop",
  "scale",
  "mean",
  "std",
  "layout",
  "grayscale",
] as const;
const RANDOM_KEYS = ["seed", "low", "high", "dims", "shape", "dtype"] as const;

function defaultImageOptions(): ImageInputOptions {
  return { layout: "NCHW", grayscale: false };
}

function readScale(r: Reader, y: Y, path: string): number {
  if (y.kind === "scalar" && typeof y.value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(y.value);
    if (m && Number(m[2]) !== 0) return Number(m[1]) / Number(m[2]);
    r.fail(`Expected a number or a fraction such as 1/255, got "${y.value}"`, path, y.line);
  }
  return r.number(y, path, { positive: true });
}

function readImage(r: Reader, y: Y, path: string): TensorSource {
  if (y.kind === "scalar") {
    return {
      kind: "image",
      path: r.existingFile(y, path, "image"),
      options: defaultImageOptions(),
      key: path,
    };
  }
  const m = r.map(y, path, IMAGE_KEYS, ["path"]);
  const imagePath = r.existingFile(m.get("path")!, keyPath(path, "path"), "image");
  return { kind: "image", path: imagePath, options: readImageOptions(r, m, path), key: path };
}

/** The preprocessing options of an image map (every key of {@link IMAGE_KEYS} but `path`). */
function readImageOptions(r: Reader, m: Map<string, Y>, path: string): ImageInputOptions {
  const p = (k: string) => keyPath(path, k);
  const options = defaultImageOptions();
  if (m.has("resize")) options.resize = r.size(m.get("resize")!, p("resize"));
  if (m.has("center_crop")) options.centerCrop = r.size(m.get("center_crop")!, p("center_crop"));
  if (m.has("scale")) options.scale = readScale(r, m.get("scale")!, p("scale"));
  for (const k of ["mean", "std"] as const) {
    const v = m.get(k);
    if (!v) continue;
    const values = v.kind === "seq"
      ? r.numbers(v, p(k), k === "std" ? { positive: true } : {})
      : [r.number(v, p(k), k === "std" ? { positive: true } : {})];
    if (values.length === 0) r.fail(`Expected at least one value`, p(k), v.line);
    options[k] = values;
  }
  if (m.has("layout")) options.layout = r.choice(m.get("layout")!, p("layout"), ["NCHW", "NHWC"]);
  if (m.has("grayscale")) options.grayscale = r.bool(m.get("grayscale")!, p("grayscale"));
  const channels = options.grayscale ? 1 : 3;
  for (const k of ["mean", "std"] as const) {
    const v = options[k];
    if (v && v.length !== 1 && v.length !== channels) {
      r.fail(
        `Expected 1 or ${channels} values (one per channel${
          options.grayscale ? " of a grayscale image" : ""
        }), got ${v.length}`,
        p(k),
        m.get(k)!.line,
      );
    }
  }
  return options;
}

function readRandom(r: Reader, y: Y, path: string): TensorSource {
  const options: RandomInputOptions = { seed: 0, dims: {} };
  if (y.kind === "scalar" && y.value === null) return { kind: "random", options, key: path };
  const m = r.map(y, path, RANDOM_KEYS);
  const p = (k: string) => keyPath(path, k);
  if (m.has("seed")) options.seed = r.number(m.get("seed")!, p("seed"), { integer: true, min: 0 });
  if (m.has("low")) options.low = r.number(m.get("low")!, p("low"));
  if (m.has("high")) options.high = r.number(m.get("high")!, p("high"));
  if (options.low !== undefined && options.high !== undefined && !(options.low < options.high)) {
    r.fail(
      `"high" (${options.high}) must be greater than "low" (${options.low})`,
      p("high"),
      m.get("high")!.line,
    );
  }
  if (m.has("dims")) {
    const dy = m.get("dims")!;
    r.seen(p("dims"), dy);
    if (dy.kind !== "map") {
      r.fail(`Expected a map of dimension sizes, got ${describeY(dy)}`, p("dims"), dy.line);
    }
    for (const [name, { value }] of dy.entries) {
      const dp = keyPath(p("dims"), name);
      r.seen(dp, value);
      options.dims[name] = r.number(value, dp, { integer: true, min: 0 });
    }
  }
  if (m.has("shape")) {
    options.shape = r.numbers(m.get("shape")!, p("shape"), { integer: true }).map((d, i) => {
      if (d < 0) {
        r.fail(`Expected a size ≥ 0, got ${d}`, `${p("shape")}[${i}]`, m.get("shape")!.line);
      }
      return d;
    });
  }
  if (m.has("dtype")) {
    const dy = m.get("dtype")!;
    const s = r.string(dy, p("dtype"));
    const t = dataTypeFromOnnxName(s);
    if (!t) {
      const all = [
        "float32",
        "float64",
        "float16",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
      ];
      r.fail(
        `Unknown element type "${s}"${suggestion(s, all).replace("valid keys", "for example")}`,
        p("dtype"),
        dy.line,
      );
    }
    options.dtype = t;
  }
  return { kind: "random", options, key: path };
}

/** Reads a tensor source; `forInput` allows images and random values. */
function readSource(r: Reader, y: Y, path: string, forInput: boolean): TensorSource {
  const keys = forInput ? SOURCE_KEYS : SOURCE_KEYS.filter((k) => k !== "image" && k !== "random");
  if (y.kind === "scalar" && typeof y.value === "string") {
    const ext = extname(y.value).toLowerCase();
    if (ext === ".npy" || ext === ".pb" || ext === ".json") {
      const kind = ext.slice(1) as "npy" | "pb" | "json";
      return { kind, path: r.existingFile(y, path), key: path };
    }
    if (forInput && IMAGE_EXTENSIONS.includes(ext)) return readImage(r, y, path);
    r.fail(
      `Cannot tell the format of "${y.value}" from its extension; write it as a map with one of ${
        keys.map((k) => `"${k}"`).join(", ")
      }`,
      path,
      y.line,
    );
  }
  if (y.kind !== "map") {
    r.fail(
      `Expected a file name or a map with one of ${keys.map((k) => `"${k}"`).join(", ")}, got ${
        describeY(y)
      }`,
      path,
      y.line,
    );
  }
  const m = r.map(y, path, keys);
  const given = [...m.keys()];
  if (given.length !== 1) {
    r.fail(
      given.length === 0
        ? `Expected one of ${keys.map((k) => `"${k}"`).join(", ")}`
        : `Give only one source, got ${given.map((k) => `"${k}"`).join(" and ")}`,
      path,
      y.line,
    );
  }
  const kind = given[0] as typeof SOURCE_KEYS[number];
  const v = m.get(kind)!;
  const p = keyPath(path, kind);
  switch (kind) {
    case "npy":
    case "pb":
      return { kind, path: r.existingFile(v, p), key: p };
    case "json":
      if (v.kind === "scalar" && typeof v.value === "string") {
        return { kind, path: r.existingFile(v, p), key: p };
      }
      if (v.kind === "scalar" && v.value === null) {
        r.fail("Expected a file name or a value", p, v.line);
      }
      return { kind: "value", value: plain(v), key: p };
    case "value":
      if (v.kind === "scalar" && v.value === null) r.fail("Expected a value", p, v.line);
      return { kind: "value", value: plain(v), key: p };
    case "image":
      return readImage(r, v, p);
    case "random":
      return readRandom(r, v, p);
  }
}

function readNamedSources(r: Reader, y: Y, path: string, forInput: boolean): NamedSource[] {
  r.seen(path, y);
  if (y.kind !== "map") {
    r.fail(
      `Expected a map from ${forInput ? "input" : "output"} names to sources, got ${describeY(y)}`,
      path,
      y.line,
    );
  }
  const out: NamedSource[] = [];
  for (const [name, { value }] of y.entries) {
    const p = keyPath(path, name);
    r.seen(p, value);
    out.push({ name, source: readSource(r, value, p, forInput) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Stages

const STAGE_KEYS: Record<StageName, readonly string[]> = {
  load: [],
  check: ["full", "stop_on_error"],
  optimize: [
    "level",
    "passes",
    "max_iterations",
    "save",
    "quantize",
    "float16",
    "external_data",
    "verify",
  ],
  run: [
    "backend",
    "seed",
    "int8_accumulation",
    "warmup",
    "repeat",
    "profile",
    "inputs",
    "test_data_set",
    "outputs",
    "topk",
  ],
  compare: ["rtol", "atol", "equal_nan", "expected", "test_data_set"],
  report: ["path"],
};

/** Default tolerances of `compare` in pipelines. */
export const DEFAULT_TOLERANCES = { rtol: 1e-3, atol: 1e-4 } as const;

function readDataSet(
  r: Reader,
  y: Y,
  path: string,
  model: ModelRef,
  want: "input" | "output",
): string {
  let dir: string;
  let shown: string;
  if (y.kind === "scalar" && typeof y.value === "number") {
    const n = r.number(y, path, { integer: true, min: 0 });
    if (model.kind !== "file" || !model.dir) {
      r.fail(
        "A data set number refers to the model's folder, but the model is a URL: give a folder path",
        path,
        y.line,
      );
    }
    dir = join(model.dir, `test_data_set_${n}`);
    shown = `test_data_set_${n} next to the model`;
  } else {
    shown = r.string(y, path);
    dir = r.resolvePath(shown);
  }
  if (r.checkFiles) {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(dir);
    } catch {
      r.fail(`The data set folder ${shown} was not found (looked for ${dir})`, path, y.line);
    }
    if (!info.isDirectory) r.fail(`The data set ${shown} is not a folder (${dir})`, path, y.line);
    try {
      Deno.statSync(join(dir, `${want}_0.pb`));
    } catch {
      r.fail(`The data set folder ${shown} has no ${want}_0.pb (${dir})`, path, y.line);
    }
  }
  return dir;
}

function readCheck(r: Reader, m: Map<string, Y>, base: StageBase): CheckStage {
  const out: CheckStage = { ...base, stage: "check", full: true, stopOnError: true };
  if (m.has("full")) out.full = r.bool(m.get("full")!, `${base.key}.full`);
  if (m.has("stop_on_error")) {
    out.stopOnError = r.bool(m.get("stop_on_error")!, `${base.key}.stop_on_error`);
  }
  return out;
}

function readOptimize(
  r: Reader,
  m: Map<string, Y>,
  base: StageBase,
  model: ModelRef,
): OptimizeStage {
  const k = (s: string) => `${base.key}.${s}`;
  const out: OptimizeStage = {
    ...base,
    stage: "optimize",
    level: "basic",
    maxIterations: 8,
    verify: false,
  };
  if (m.has("level")) out.level = r.choice(m.get("level")!, k("level"), OPTIMIZATION_LEVELS);
  if (m.has("passes")) {
    const known = passNames();
    out.passes = r.list(m.get("passes")!, k("passes")).map((item, i) => {
      const p = `${k("passes")}[${i}]`;
      const name = r.string(item, p);
      if (!known.includes(name)) {
        const best = closestMatch(name, known);
        r.fail(
          `Unknown pass "${name}"${best ? ` (did you mean "${best}"?)` : ""}; known passes are ${
            known.map((n) => `"${n}"`).join(", ")
          }`,
          p,
          item.line,
        );
      }
      return name;
    });
    if (m.has("level")) {
      r.fail(`Give either "level" or "passes", not both`, k("passes"), m.get("passes")!.line);
    }
  }
  if (m.has("max_iterations")) {
    out.maxIterations = r.number(m.get("max_iterations")!, k("max_iterations"), {
      integer: true,
      min: 1,
    });
  }
  if (m.has("save")) {
    const y = m.get("save")!;
    out.save = r.outFile(y, k("save"));
    if (model.kind === "file" && resolve(out.save) === resolve(model.source)) {
      r.fail(
        "Saving would overwrite the model being optimized; choose another file",
        k("save"),
        y.line,
      );
    }
  }
  if (m.has("quantize")) out.quantize = readQuantize(r, m.get("quantize")!, k("quantize"), model);
  if (m.has("float16")) out.float16 = readFloat16(r, m.get("float16")!, k("float16"));
  if (m.has("external_data")) {
    const y = m.get("external_data")!;
    if (!out.save) {
      r.fail(
        `"external_data" needs "save" (the model file it goes with)`,
        k("external_data"),
        y.line,
      );
    }
    out.externalData = readExternalData(r, y, k("external_data"), out.save);
  }
  out.verify = m.has("verify") ? r.bool(m.get("verify")!, k("verify")) : true;
  return out;
}

const QUANTIZE_KEYS = [
  "mode",
  "per_channel",
  "weight_type",
  "activation_type",
  "reduce_range",
  "op_types",
  "exclude",
  "calibration",
] as const;
const CALIBRATION_KEYS = ["inputs", "random", "image", "method", "percentile"] as const;
const CALIBRATION_EXTENSIONS = [".npy", ".pb", ".json", ...IMAGE_EXTENSIONS];

function readStrings(r: Reader, y: Y, path: string): string[] {
  return r.list(y, path).map((item, i) => r.string(item, `${path}[${i}]`));
}

function readQuantize(r: Reader, y: Y, path: string, model: ModelRef): QuantizeConfig {
  const m = r.map(y, path, QUANTIZE_KEYS, ["mode"], "a map of quantization options");
  const p = (k: string) => keyPath(path, k);
  const mode = r.choice(m.get("mode")!, p("mode"), ["dynamic", "static"]);
  const out: QuantizeConfig = {
    mode,
    perChannel: true,
    weightType: "int8",
    activationType: "uint8",
    reduceRange: false,
    exclude: [],
  };
  if (m.has("per_channel")) out.perChannel = r.bool(m.get("per_channel")!, p("per_channel"));
  if (m.has("weight_type")) {
    out.weightType = r.choice(m.get("weight_type")!, p("weight_type"), ["int8", "uint8"]);
  }
  if (m.has("reduce_range")) out.reduceRange = r.bool(m.get("reduce_range")!, p("reduce_range"));
  if (m.has("op_types")) {
    const items = r.list(m.get("op_types")!, p("op_types"));
    if (!items.length) {
      r.fail("Expected at least one op type", p("op_types"), m.get("op_types")!.line);
    }
    out.opTypes = items.map((item, i) =>
      r.choice(item, `${p("op_types")}[${i}]`, ["Conv", "MatMul", "Gemm"] as const)
    );
  }
  if (m.has("exclude")) out.exclude = readStrings(r, m.get("exclude")!, p("exclude"));
  for (const k of ["activation_type", "calibration"] as const) {
    if (mode === "dynamic" && m.has(k)) {
      r.fail(
        `"${k}" applies to static quantization only (mode: static); dynamic quantization computes activation ranges at run time`,
        p(k),
        m.get(k)!.line,
      );
    }
  }
  if (m.has("activation_type")) {
    out.activationType = r.choice(m.get("activation_type")!, p("activation_type"), [
      "uint8",
      "int8",
    ]);
  }
  if (mode === "static") {
    if (!m.has("calibration")) {
      r.fail(
        `Static quantization needs "calibration" (inputs: a list of files, folders or data sets, or random: { count, seed })`,
        p("calibration"),
        y.line,
      );
    }
    out.calibration = readCalibration(r, m.get("calibration")!, p("calibration"), model);
  }
  return out;
}

function readCalibration(r: Reader, y: Y, path: string, model: ModelRef): CalibrationConfig {
  const m = r.map(y, path, CALIBRATION_KEYS, [], "a map of calibration options");
  const p = (k: string) => keyPath(path, k);
  const out: CalibrationConfig = {
    key: path,
    items: [],
    image: defaultImageOptions(),
    method: "minmax",
    percentile: 99.99,
  };
  if (m.has("method")) {
    out.method = r.choice(m.get("method")!, p("method"), ["minmax", "percentile"]);
  }
  if (m.has("percentile")) {
    const py = m.get("percentile")!;
    if (out.method !== "percentile") {
      r.fail(`"percentile" applies to method: percentile`, p("percentile"), py.line);
    }
    out.percentile = r.number(py, p("percentile"), { positive: true });
    if (out.percentile > 100) {
      r.fail(`Expected a percentile in (0, 100], got ${out.percentile}`, p("percentile"), py.line);
    }
  }
  if (m.has("image")) {
    const iy = m.get("image")!;
    const im = r.map(iy, p("image"), IMAGE_KEYS.filter((k) => k !== "path"));
    out.image = readImageOptions(r, im, p("image"));
  }
  if (m.has("inputs")) {
    const items = r.list(m.get("inputs")!, p("inputs"));
    items.forEach((item, i) => {
      out.items.push(readCalibrationItem(r, item, `${p("inputs")}[${i}]`, model, out.image));
    });
  }
  if (m.has("random")) {
    const ry = m.get("random")!;
    const rp = p("random");
    let count = 8;
    let body: Y = ry;
    if (ry.kind === "map") {
      r.map(ry, rp, [...RANDOM_KEYS, "count"]);
      const c = ry.entries.get("count");
      if (c) count = r.number(c.value, keyPath(rp, "count"), { integer: true, min: 1 });
      body = { ...ry, entries: new Map([...ry.entries].filter(([k]) => k !== "count")) };
    }
    const src = readRandom(r, body, rp);
    if (src.kind === "random") out.random = { count, options: src.options, key: rp };
  }
  if (!out.items.length && !out.random) {
    r.fail(
      `Calibration needs samples: give "inputs" (files, folders or data sets) or "random"`,
      path,
      y.line,
    );
  }
  return out;
}

function readCalibrationItem(
  r: Reader,
  y: Y,
  path: string,
  model: ModelRef,
  image: ImageInputOptions,
): CalibrationItem {
  if (y.kind === "scalar" && typeof y.value === "number") {
    return { kind: "test_data_set", dir: readDataSet(r, y, path, model, "input"), key: path };
  }
  if (y.kind === "scalar" && typeof y.value === "string") {
    const ext = extname(y.value).toLowerCase();
    if (ext === ".npy" || ext === ".pb" || ext === ".json") {
      return {
        kind: "source",
        source: {
          kind: ext.slice(1) as "npy" | "pb" | "json",
          path: r.existingFile(y, path),
          key: path,
        },
        key: path,
      };
    }
    if (IMAGE_EXTENSIONS.includes(ext)) {
      const source: TensorSource = {
        kind: "image",
        path: r.existingFile(y, path, "image"),
        options: image,
        key: path,
      };
      return { kind: "source", source, key: path };
    }
    const dir = r.resolvePath(y.value);
    if (r.checkFiles) {
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.statSync(dir);
      } catch {
        r.fail(
          `The calibration folder "${y.value}" was not found (looked for ${dir})`,
          path,
          y.line,
        );
      }
      if (!info.isDirectory) {
        r.fail(
          `"${y.value}" is neither a folder nor a file ending in ${
            CALIBRATION_EXTENSIONS.join(", ")
          }`,
          path,
          y.line,
        );
      }
    }
    return { kind: "folder", dir, key: path };
  }
  if (y.kind === "map" && y.entries.has("test_data_set") && y.entries.size === 1) {
    const v = y.entries.get("test_data_set")!.value;
    const p = keyPath(path, "test_data_set");
    r.seen(p, v);
    return { kind: "test_data_set", dir: readDataSet(r, v, p, model, "input"), key: p };
  }
  if (y.kind === "map" && y.entries.has("inputs") && y.entries.size === 1) {
    const v = y.entries.get("inputs")!.value;
    const p = keyPath(path, "inputs");
    return { kind: "inputs", inputs: readNamedSources(r, v, p, true), key: p };
  }
  if (
    y.kind === "map" && [...y.entries.keys()].some((k) => k === "test_data_set" || k === "inputs")
  ) {
    r.fail(`Give "test_data_set" or "inputs" alone in a calibration item`, path, y.line);
  }
  if (y.kind !== "map") {
    r.fail(
      `Expected a file, a folder, a data set number, or a map (test_data_set, inputs, or a source such as npy or image), got ${
        describeY(y)
      }`,
      path,
      y.line,
    );
  }
  return { kind: "source", source: readSource(r, y, path, true), key: path };
}

const FLOAT16_KEYS = ["keep_float32", "keep_io_types", "default_block_list"] as const;

function readFloat16(r: Reader, y: Y, path: string): Float16Config | undefined {
  const out: Float16Config = { keepFloat32: [], keepIoTypes: true, defaultBlockList: true };
  if (y.kind === "scalar" && typeof y.value === "boolean") return y.value ? out : undefined;
  const m = r.map(y, path, FLOAT16_KEYS, [], "a map of float16 options (or true)");
  const p = (k: string) => keyPath(path, k);
  if (m.has("keep_float32")) {
    out.keepFloat32 = readStrings(r, m.get("keep_float32")!, p("keep_float32"));
  }
  if (m.has("keep_io_types")) {
    const ky = m.get("keep_io_types")!;
    out.keepIoTypes = ky.kind === "seq"
      ? readStrings(r, ky, p("keep_io_types"))
      : r.bool(ky, p("keep_io_types"));
  }
  if (m.has("default_block_list")) {
    out.defaultBlockList = r.bool(m.get("default_block_list")!, p("default_block_list"));
  }
  return out;
}

function readExternalData(
  r: Reader,
  y: Y,
  path: string,
  save: string,
): { threshold: number; location?: string } {
  const out: { threshold: number; location?: string } = { threshold: 1024 };
  if (y.kind === "scalar" && typeof y.value === "boolean") {
    if (!y.value) {
      r.fail(`Leave "external_data" out to keep the data inside the model`, path, y.line);
    }
    return out;
  }
  const m = r.map(
    y,
    path,
    ["threshold", "location"],
    [],
    "a map of external data options (or true)",
  );
  if (m.has("threshold")) {
    out.threshold = r.number(m.get("threshold")!, keyPath(path, "threshold"), {
      integer: true,
      min: 0,
    });
  }
  if (m.has("location")) {
    const ly = m.get("location")!;
    const lp = keyPath(path, "location");
    const loc = r.string(ly, lp);
    if (isAbsolute(loc) || /^[A-Za-z]:/.test(loc) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(loc)) {
      r.fail(
        `The location must be a path relative to the saved model's folder, got "${loc}"`,
        lp,
        ly.line,
      );
    }
    const segs: string[] = [];
    for (const seg of loc.split(/[\\/]+/)) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (!segs.length) {
          r.fail(`The location "${loc}" leaves the saved model's folder`, lp, ly.line);
        }
        segs.pop();
      } else segs.push(seg);
    }
    if (!segs.length) r.fail(`The location "${loc}" names no file`, lp, ly.line);
    if (resolve(dirname(save), ...segs) === resolve(save)) {
      r.fail("The external data file must differ from the saved model file", lp, ly.line);
    }
    out.location = loc;
  }
  return out;
}

function readRun(r: Reader, m: Map<string, Y>, base: StageBase, model: ModelRef): RunStage {
  const k = (s: string) => `${base.key}.${s}`;
  const out: RunStage = {
    ...base,
    stage: "run",
    backend: "auto",
    warmup: 0,
    repeat: 1,
    profile: false,
    inputs: [],
  };
  if (m.has("backend")) {
    out.backend = r.choice(m.get("backend")!, k("backend"), ["auto", "cpu", "webgpu"]);
  }
  if (m.has("seed")) out.seed = r.number(m.get("seed")!, k("seed"), { integer: true, min: 0 });
  if (m.has("int8_accumulation")) {
    const choices = ["exact", "x86-u8s8"] as const;
    out.int8Accumulation = r.choice(m.get("int8_accumulation")!, k("int8_accumulation"), choices);
  }
  if (m.has("warmup")) {
    out.warmup = r.number(m.get("warmup")!, k("warmup"), { integer: true, min: 0 });
  }
  if (m.has("repeat")) {
    out.repeat = r.number(m.get("repeat")!, k("repeat"), { integer: true, min: 1 });
  }
  if (m.has("profile")) out.profile = r.bool(m.get("profile")!, k("profile"));
  if (m.has("inputs")) out.inputs = readNamedSources(r, m.get("inputs")!, k("inputs"), true);
  if (m.has("test_data_set")) {
    out.testDataSet = readDataSet(r, m.get("test_data_set")!, k("test_data_set"), model, "input");
  }
  if (!m.has("inputs") && !m.has("test_data_set")) {
    r.fail(
      `Missing required key "inputs" (or "test_data_set")`,
      k("inputs"),
      r.lines.get(base.key),
    );
  }
  if (m.has("outputs")) {
    const y = m.get("outputs")!;
    const p = k("outputs");
    if (y.kind === "scalar") {
      out.outputs = { dir: r.outDir(y, p), format: "npy" };
    } else {
      const om = r.map(y, p, ["dir", "format", "names"], ["dir"]);
      out.outputs = {
        dir: r.outDir(om.get("dir")!, `${p}.dir`),
        format: om.has("format")
          ? r.choice(om.get("format")!, `${p}.format`, ["npy", "pb", "json"])
          : "npy",
      };
      if (om.has("names")) {
        out.outputs.names = r.list(om.get("names")!, `${p}.names`).map((n, i) =>
          r.string(n, `${p}.names[${i}]`)
        );
      }
    }
  }
  if (m.has("topk")) {
    const y = m.get("topk")!;
    const p = k("topk");
    const tm = r.map(y, p, ["k", "labels", "softmax", "output"]);
    const topk: TopKConfig = { k: 5, softmax: false };
    if (tm.has("k")) topk.k = r.number(tm.get("k")!, `${p}.k`, { integer: true, min: 1 });
    if (tm.has("labels")) {
      topk.labels = r.existingFile(tm.get("labels")!, `${p}.labels`, "labels file");
    }
    if (tm.has("softmax")) topk.softmax = r.bool(tm.get("softmax")!, `${p}.softmax`);
    if (tm.has("output")) topk.output = r.string(tm.get("output")!, `${p}.output`);
    out.topk = topk;
  }
  return out;
}

function readCompare(
  r: Reader,
  m: Map<string, Y>,
  base: StageBase,
  model: ModelRef,
  lastRun: RunStage | undefined,
): CompareStage {
  const k = (s: string) => `${base.key}.${s}`;
  const out: CompareStage = {
    ...base,
    stage: "compare",
    rtol: DEFAULT_TOLERANCES.rtol,
    atol: DEFAULT_TOLERANCES.atol,
    equalNan: true,
    expected: [],
  };
  if (m.has("rtol")) out.rtol = r.number(m.get("rtol")!, k("rtol"), { min: 0 });
  if (m.has("atol")) out.atol = r.number(m.get("atol")!, k("atol"), { min: 0 });
  if (m.has("equal_nan")) out.equalNan = r.bool(m.get("equal_nan")!, k("equal_nan"));
  if (m.has("expected")) {
    out.expected = readNamedSources(r, m.get("expected")!, k("expected"), false);
  }
  if (m.has("test_data_set")) {
    out.testDataSet = readDataSet(r, m.get("test_data_set")!, k("test_data_set"), model, "output");
  }
  if (!m.has("expected") && !m.has("test_data_set")) {
    if (lastRun?.testDataSet) {
      out.testDataSet = lastRun.testDataSet;
      if (r.checkFiles) {
        try {
          Deno.statSync(join(out.testDataSet, "output_0.pb"));
        } catch {
          r.fail(
            `The run's data set has no output_0.pb to compare with (${out.testDataSet}); give "expected"`,
            k("expected"),
            r.lines.get(base.key),
          );
        }
      }
    } else {
      r.fail(
        `Missing required key "expected" (or "test_data_set"): there are no references to compare with`,
        k("expected"),
        r.lines.get(base.key),
      );
    }
  }
  return out;
}

function readReport(r: Reader, m: Map<string, Y>, base: StageBase): ReportStage {
  const out: ReportStage = { ...base, stage: "report", format: "text" };
  if (m.has("path")) {
    out.path = r.outFile(m.get("path")!, `${base.key}.path`);
    const ext = extname(out.path).toLowerCase();
    out.format = ext === ".json" ? "json" : ext === ".md" ? "markdown" : "text";
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The whole file

const TOP_KEYS = ["name", "description", "vars", "model", "stages"] as const;

type VarValue = string | number | boolean;

/** A command-line value as YAML would read it: numbers and booleans keep their type. */
function fromText(text: string): VarValue {
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

/** Reads `vars` and applies overrides; every value must be a string, number or boolean. */
function readVars(
  r: Reader,
  y: Y | undefined,
  overrides: Record<string, string>,
): Map<string, VarValue> {
  const vars = new Map<string, VarValue>();
  if (y) {
    r.seen("vars", y);
    if (y.kind !== "map") {
      r.fail(`Expected a map of variables, got ${describeY(y)}`, "vars", y.line);
    }
    for (const [name, { value, keyLine }] of y.entries) {
      const p = keyPath("vars", name);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        r.fail(`Variable names are letters, digits and "_", got "${name}"`, p, keyLine);
      }
      r.seen(p, value);
      if (value.kind !== "scalar" || value.value === null) {
        r.fail(`Expected a string, number or boolean, got ${describeY(value)}`, p, value.line);
      }
      vars.set(name, value.value);
    }
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (!vars.has(name)) {
      const known = [...vars.keys()];
      const best = closestMatch(name, known);
      r.fail(
        `--set ${name}: the pipeline has no variable "${name}"${
          best ? ` (did you mean "${best}"?)` : ""
        }${known.length ? `; its variables are ${known.map((k) => `"${k}"`).join(", ")}` : ""}`,
        "vars",
        y?.line,
      );
    }
    vars.set(name, fromText(value));
  }
  return vars;
}

const VAR_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${name}` in string scalars and map keys; a lone reference keeps the value's type. */
function substitute(r: Reader, y: Y, vars: Map<string, VarValue>, path: string): Y {
  const text = (s: string, line: number, at: string): VarValue => {
    const lookup = (name: string): VarValue => {
      const v = vars.get(name);
      if (v === undefined) {
        const known = [...vars.keys()];
        const best = closestMatch(name, known);
        r.fail(
          `Unknown variable "\${${name}}"${best ? ` (did you mean "${best}"?)` : ""}; ${
            known.length ? `define it under "vars"` : `add a "vars" map that defines it`
          }`,
          at,
          line,
        );
      }
      return v;
    };
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(s);
    if (whole) return lookup(whole[1]);
    return s.replace(VAR_REF, (_m, name: string) => String(lookup(name)));
  };
  if (y.kind === "scalar") {
    return typeof y.value === "string" && y.value.includes("${")
      ? { ...y, value: text(y.value, y.line, path) }
      : y;
  }
  if (y.kind === "seq") {
    return { ...y, items: y.items.map((item, i) => substitute(r, item, vars, `${path}[${i}]`)) };
  }
  const entries = new Map<string, { keyLine: number; value: Y }>();
  for (const [k, { keyLine, value }] of y.entries) {
    const key = k.includes("${") ? String(text(k, keyLine, keyPath(path, k))) : k;
    entries.set(key, { keyLine, value: substitute(r, value, vars, keyPath(path, key)) });
  }
  return { ...y, entries };
}

function readModel(r: Reader, y: Y, override?: string): ModelRef {
  if (override !== undefined) {
    return modelRef(override, Deno.cwd(), r, "model", y.line, "--model");
  }
  const s = r.string(y, "model");
  return modelRef(s, r.dir, r, "model", y.line, "model");
}

function modelRef(
  s: string,
  base: string,
  r: Reader,
  path: string,
  line: number,
  what: string,
): ModelRef {
  if (/^https?:\/\//i.test(s)) {
    try {
      new URL(s);
    } catch {
      r.fail(`"${s}" is not a valid URL`, path, line);
    }
    return { source: s, kind: "url" };
  }
  let p = s;
  if (/^file:/i.test(s)) {
    try {
      p = fileURLToPath(s);
    } catch {
      r.fail(`"${s}" is not a valid file URL`, path, line);
    }
  } else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) {
    r.fail(`Unsupported URL scheme in "${s}": use a path, file:, http: or https:`, path, line);
  }
  const abs = isAbsolute(p) ? p : resolve(base, p);
  if (r.checkFiles) {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(abs);
    } catch {
      r.fail(
        `The model file "${s}"${
          what === "--model" ? " (from --model)" : ""
        } was not found (looked for ${abs})`,
        path,
        line,
      );
    }
    if (!info.isFile) r.fail(`The model "${s}" is not a file (${abs})`, path, line);
  }
  return { source: abs, kind: "file", dir: dirname(abs) };
}

/**
 * Validates pipeline YAML text into a {@link PipelineConfig}; throws {@link ConfigError}
 * naming the file, line and key path of the first problem. Relative paths resolve against
 * the folder of `options.file` (the current folder when not given), and files it names must
 * exist unless `skipFileChecks` is set.
 *
 * @example
 * ```ts ignore
 * import { parsePipeline } from "./config.ts";
 * const config = parsePipeline("model: m.onnx\nstages: [load, check]\n", { file: "p.yaml" });
 * ```
 */
export function parsePipeline(text: string, options: PipelineOptions = {}): PipelineConfig {
  const file = options.file !== undefined ? resolve(options.file) : "<string>";
  const dir = options.file !== undefined ? dirname(file) : Deno.cwd();
  const shownFile = options.file ?? "<string>";
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError) {
    const lastLine = text.trimEnd().split("\n").length;
    const line = Math.min(lc.linePos(firstError.pos[0]).line, lastLine);
    const msg = firstError.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`Invalid YAML: ${msg}`, { file: shownFile, line });
  }
  const r: Reader = new Reader(shownFile, dir, !options.skipFileChecks);
  const root = toY(doc.contents, lc, doc, (msg, line) => r.fail(msg, "", line));
  if (root.kind === "scalar" && root.value === null) {
    r.fail('The pipeline file is empty: it needs at least "model" and "stages"', "", 1);
  }
  const raw = r.map(root, "", TOP_KEYS, ["model", "stages"], 'a map with "model" and "stages"');
  const vars = readVars(r, raw.get("vars"), options.vars ?? {});
  const top = new Map<string, Y>();
  for (const [k, v] of raw) top.set(k, k === "vars" ? v : substitute(r, v, vars, k));
  const name = top.has("name") ? r.string(top.get("name")!, "name") : undefined;
  const description = top.has("description")
    ? r.string(top.get("description")!, "description")
    : undefined;
  const model = readModel(r, top.get("model")!, options.model);
  const stagesY = r.list(top.get("stages")!, "stages");
  if (stagesY.length === 0) {
    r.fail("Expected at least one stage", "stages", top.get("stages")!.line);
  }
  const stages: StageConfig[] = [];
  let lastRun: RunStage | undefined;
  stagesY.forEach((item, index) => {
    const at = `stages[${index}]`;
    let stageName: string;
    let body: Y | undefined;
    if (item.kind === "scalar" && typeof item.value === "string") {
      stageName = item.value;
    } else if (item.kind === "map" && item.entries.size === 1) {
      const [[k, v]] = [...item.entries];
      stageName = k;
      body = v.value;
    } else {
      r.fail(
        `Expected a stage name or a map with one stage name as its key, got ${
          item.kind === "map" ? `a map with ${item.entries.size} keys` : describeY(item)
        }`,
        at,
        item.line,
      );
    }
    if (!(STAGE_NAMES as readonly string[]).includes(stageName)) {
      const best = closestMatch(stageName, STAGE_NAMES);
      r.fail(
        `Unknown stage "${stageName}"${best ? ` (did you mean "${best}"?)` : ""}; stages are ${
          STAGE_NAMES.join(", ")
        }`,
        at,
        item.line,
      );
    }
    const sname = stageName as StageName;
    const key = `${at}.${sname}`;
    r.lines.set(key, body?.line ?? item.line);
    const empty: Y = { kind: "map", entries: new Map(), line: item.line };
    const bodyY = body === undefined || (body.kind === "scalar" && body.value === null)
      ? empty
      : body;
    const m = r.map(bodyY, key, STAGE_KEYS[sname], [], `a map of ${sname} options`);
    const base: StageBase = { index, key };
    switch (sname) {
      case "load":
        if (index !== 0) r.fail(`"load" must be the first stage`, at, item.line);
        stages.push({ ...base, stage: "load", implicit: false });
        break;
      case "check":
        stages.push(readCheck(r, m, base));
        break;
      case "optimize":
        stages.push(readOptimize(r, m, base, model));
        break;
      case "run":
        lastRun = readRun(r, m, base, model);
        stages.push(lastRun);
        break;
      case "compare":
        if (!lastRun) r.fail(`"compare" needs a "run" stage before it`, at, item.line);
        stages.push(readCompare(r, m, base, model, lastRun));
        break;
      case "report":
        if (index !== stagesY.length - 1) r.fail(`"report" must be the last stage`, at, item.line);
        stages.push(readReport(r, m, base));
        break;
    }
  });
  if (stages[0].stage !== "load") {
    stages.unshift({ index: -1, key: "stages", stage: "load", implicit: true });
  }
  return {
    file: options.file !== undefined ? file : "<string>",
    dir,
    name,
    description,
    model,
    stages,
    lines: r.lines,
  };
}

/**
 * Reads and validates a pipeline file (see {@link parsePipeline}). A file that cannot be read
 * is a {@link ConfigError} too.
 */
export async function loadPipeline(
  path: string,
  options: Omit<PipelineOptions, "file"> = {},
): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : (e as Error).message;
    throw new ConfigError(`Cannot read the pipeline file: ${why}`, { file: path });
  }
  return parsePipeline(text, { ...options, file: path });
}

// ---------------------------------------------------------------------------------------
// Checks against the loaded model

/** Inputs and outputs of a loaded model, as {@link validateAgainstModel} needs them. */
export interface ModelSignature {
  /** Inputs to feed (initializers excluded), in order, with declared types. */
  inputs: { name: string; type?: ValueType }[];
  /** Outputs, in order, with declared types. */
  outputs: { name: string; type?: ValueType }[];
}

function countDataSetFiles(dir: string, prefix: string): number {
  let n = 0;
  while (true) {
    try {
      Deno.statSync(join(dir, `${prefix}_${n}.pb`));
    } catch {
      return n;
    }
    n++;
  }
}

/**
 * Checks the stages against the model's inputs and outputs: input and output names exist,
 * every input has a source, random inputs have a known type and every symbolic dimension a
 * size, image inputs feed float tensors. Throws {@link ConfigError} with the YAML location.
 */
export function validateAgainstModel(config: PipelineConfig, sig: ModelSignature): void {
  const fail: (message: string, path: string) => never = (message, path) => {
    let line = config.lines.get(path);
    for (let p = path; line === undefined && p.includes("."); p = p.slice(0, p.lastIndexOf("."))) {
      line = config.lines.get(p);
    }
    throw new ConfigError(message, { file: config.file, line, path });
  };
  const inputNames = sig.inputs.map((i) => i.name);
  const outputNames = sig.outputs.map((o) => o.name);
  const unknown = (what: string, name: string, known: string[]) => {
    const best = closestMatch(name, known);
    return `The model has no ${what} "${name}"${
      best ? ` (did you mean "${best}"?)` : ""
    }; its ${what}s are ${known.map((n) => `"${n}"`).join(", ")}`;
  };
  for (const stage of config.stages) {
    if (stage.stage === "run") {
      const fromSet = stage.testDataSet ? countDataSetFiles(stage.testDataSet, "input") : 0;
      if (fromSet > inputNames.length) {
        fail(
          `The data set has ${fromSet} input files but the model has ${inputNames.length} input(s)`,
          `${stage.key}.test_data_set`,
        );
      }
      for (const { name, source } of stage.inputs) {
        const key = keyPath(`${stage.key}.inputs`, name);
        const decl = sig.inputs.find((i) => i.name === name);
        if (!decl) fail(unknown("input", name, inputNames), key);
        const t = decl!.type;
        if (source.kind === "random") {
          const o = source.options;
          const elem = o.dtype ?? (t?.kind === "tensor" ? t.elemType : undefined);
          if (!elem) {
            fail(
              `The model does not declare the element type of "${name}": give "dtype"`,
              source.key,
            );
          }
          if (elem === "string" || elem === "complex64" || elem === "complex128") {
            fail(`Random values of type ${elem} are not supported`, source.key);
          }
          if (!o.shape) {
            const symbols = t?.kind === "tensor" && t.shape
              ? t.shape.filter((d): d is string => typeof d === "string")
              : [];
            for (const d of Object.keys(o.dims)) {
              if (!symbols.includes(d)) {
                const best = closestMatch(d, symbols);
                fail(
                  `"${d}" is not a symbolic dimension of "${name}"${
                    best ? ` (did you mean "${best}"?)` : ""
                  }; its symbols are ${symbols.map((x) => `"${x}"`).join(", ") || "none"}`,
                  keyPath(`${source.key}.dims`, d),
                );
              }
            }
            if (t?.kind !== "tensor" || !t.shape) {
              fail(`The model does not declare the shape of "${name}": give "shape"`, source.key);
            }
            t!.shape!.forEach((d, i) => {
              if (d === undefined) {
                fail(`Dimension ${i} of "${name}" has no declared size: give "shape"`, source.key);
              }
              if (typeof d === "string" && o.dims[d] === undefined) {
                fail(
                  `Dimension ${i} of "${name}" is the symbol "${d}": give its size in "dims" (e.g. dims: { ${d}: 1 })`,
                  source.key,
                );
              }
            });
          }
        }
        if (
          source.kind === "image" && t?.kind === "tensor" && t.elemType && t.elemType !== "float32"
        ) {
          fail(`Images become float32 tensors but "${name}" is ${t.elemType}`, source.key);
        }
      }
      const given = new Set(stage.inputs.map((i) => i.name));
      inputNames.forEach((name, i) => {
        if (!given.has(name) && i >= fromSet) {
          fail(
            `The model input "${name}" has no source: add it under "inputs"${
              stage.testDataSet ? ` (the data set has only ${fromSet} input file(s))` : ""
            }`,
            `${stage.key}.inputs`,
          );
        }
      });
      for (const n of stage.outputs?.names ?? []) {
        if (!outputNames.includes(n)) {
          fail(unknown("output", n, outputNames), `${stage.key}.outputs.names`);
        }
      }
      if (stage.topk?.output !== undefined && !outputNames.includes(stage.topk.output)) {
        fail(unknown("output", stage.topk.output, outputNames), `${stage.key}.topk.output`);
      }
    } else if (stage.stage === "compare") {
      for (const { name } of stage.expected) {
        if (!outputNames.includes(name)) {
          fail(unknown("output", name, outputNames), keyPath(`${stage.key}.expected`, name));
        }
      }
      if (stage.testDataSet) {
        const n = countDataSetFiles(stage.testDataSet, "output");
        if (n > outputNames.length) {
          fail(
            `The data set has ${n} output files but the model has ${outputNames.length} output(s)`,
            `${stage.key}.test_data_set`,
          );
        }
      }
    }
  }
}
