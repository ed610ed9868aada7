/**
 * The `optimize` stage: applies graph passes (those named, or those of a level) until a
 * fixpoint, then the conversions asked for (quantization, float16) once each; reports which
 * passes ran and what changed, node counts by op type and parameter bytes before and after,
 * the largest output difference from the unoptimized model, and optionally saves the result
 * (with large initializers in an external file when asked).
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import type {
  CalibrationConfig,
  CalibrationItem,
  ModelSignature,
  OptimizeStage,
  PipelineConfig,
  RunStage,
  TensorSource,
} from "../config.ts";
import { validateAgainstModel } from "../config.ts";
import { checkModel } from "../check/checker.ts";
import { CheckError, ConfigError, ModelFormatError } from "../errors.ts";
import type { Model } from "../load/ir.ts";
import { type LoadedModel, saveModel } from "../load/load.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { type GraphStats, optimizeModel, type Pass, passesForLevel } from "../optimize/mod.ts";
import { quantizationPass } from "../optimize/quantize.ts";
import { float16Pass } from "../optimize/float16.ts";
import { parameterBytes } from "../optimize/quantize_graph.ts";
import { InferenceSession } from "../run/session.ts";
import { fromNumbers, Tensor, toNumbers, type Value } from "../tensor/tensor.ts";
import { formatBytes, formatError, type PipelineState, type StageOutcome } from "./context.ts";
import { prepareData } from "./inputs.ts";
import { modelSignature } from "./load.ts";

/** Lines comparing node counts by op type, only for op types whose count changed. */
function opCountChanges(before: GraphStats, after: GraphStats): string[] {
  const ops = new Set([...Object.keys(before.opCounts), ...Object.keys(after.opCounts)]);
  const out: string[] = [];
  for (const op of [...ops].sort()) {
    const a = before.opCounts[op] ?? 0;
    const b = after.opCounts[op] ?? 0;
    if (a !== b) out.push(`    ${op}: ${a} → ${b}`);
  }
  return out;
}

/** The largest difference of one output from the unoptimized model's. */
export interface OutputDifference {
  /** Output name. */
  name: string;
  /** Largest absolute difference. */
  maxAbsError: number;
  /** Largest absolute value of the unoptimized output. */
  maxAbs: number;
  /** `maxAbsError / maxAbs` (0 when both are 0). */
  relError: number;
  /** For outputs of shape [N, classes]: whether every row's best class is the same. */
  sameArgmax?: boolean;
}

// ---------------------------------------------------------------------------------------
// Calibration samples

const SAMPLE_EXTENSIONS = new Set([".npy", ".pb", ".json", ".jpg", ".jpeg", ".png"]);

function runLike(key: string, index: number, inputs: RunStage["inputs"], dir?: string): RunStage {
  return {
    index,
    key,
    stage: "run",
    backend: "cpu",
    warmup: 0,
    repeat: 1,
    profile: false,
    inputs,
    testDataSet: dir,
  };
}

function configFail(config: PipelineConfig, key: string, message: string): never {
  throw new ConfigError(message, { file: config.file, line: config.lines.get(key), path: key });
}

/** Expands a folder item into data sets and files (sorted by name). */
function expandFolder(
  config: PipelineConfig,
  cal: CalibrationConfig,
  item: Extract<CalibrationItem, { kind: "folder" }>,
): CalibrationItem[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(item.dir)];
  } catch (e) {
    configFail(
      config,
      item.key,
      `Cannot read the calibration folder ${item.dir}: ${(e as Error).message}`,
    );
  }
  if (entries.some((e) => e.isFile && e.name === "input_0.pb")) {
    return [{ kind: "test_data_set", dir: item.dir, key: item.key }];
  }
  const out: CalibrationItem[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(item.dir, e.name);
    if (e.isDirectory && e.name.startsWith("test_data_set_")) {
      out.push({ kind: "test_data_set", dir: path, key: item.key });
      continue;
    }
    const dot = e.name.lastIndexOf(".");
    const ext = dot >= 0 ? e.name.slice(dot).toLowerCase() : "";
    if (!e.isFile || !SAMPLE_EXTENSIONS.has(ext)) continue;
    const source: TensorSource = ext === ".npy" || ext === ".pb" || ext === ".json"
      ? { kind: ext.slice(1) as "npy" | "pb" | "json", path, key: item.key }
      : { kind: "image", path, options: cal.image, key: item.key };
    out.push({ kind: "source", source, key: item.key });
  }
  if (!out.length) {
    configFail(
      config,
      item.key,
      `The calibration folder ${item.dir} holds no test_data_set_* folder and no .npy, .pb, .json or image file`,
    );
  }
  return out;
}

/**
 * Reads the calibration samples of a `quantize.calibration` block: one feed per model input
 * each, checked against the model's declared inputs.
 */
export async function calibrationSamples(
  config: PipelineConfig,
  cal: CalibrationConfig,
  sig: ModelSignature,
): Promise<Record<string, Value>[]> {
  const items = cal.items.flatMap((it) =>
    it.kind === "folder" ? expandFolder(config, cal, it) : [it]
  );
  const runs: RunStage[] = [];
  for (const it of items) {
    const index = runs.length;
    if (it.kind === "test_data_set") runs.push(runLike(it.key, index, [], it.dir));
    else if (it.kind === "inputs") runs.push(runLike(it.key, index, it.inputs));
    else if (it.kind === "source") {
      if (sig.inputs.length !== 1) {
        configFail(
          config,
          it.key,
          `A single file feeds a model with one input, but this model has ${sig.inputs.length} (${
            sig.inputs.map((i) => `"${i.name}"`).join(", ")
          }): write the item as { inputs: { name: source, ... } }`,
        );
      }
      runs.push(runLike(it.key, index, [{ name: sig.inputs[0].name, source: it.source }]));
    }
  }
  if (cal.random) {
    for (let k = 0; k < cal.random.count; k++) {
      const options = { ...cal.random.options, seed: cal.random.options.seed + k };
      runs.push(
        runLike(
          cal.random.key,
          runs.length,
          sig.inputs.map((i) => ({
            name: i.name,
            source: { kind: "random", options, key: cal.random!.key },
          })),
        ),
      );
    }
  }
  const synthetic: PipelineConfig = { ...config, stages: runs };
  validateAgainstModel(synthetic, sig);
  const prepared = await prepareData(synthetic, sig);
  return runs.map((r) => prepared.runs.get(r.index)!.feeds);
}

// ---------------------------------------------------------------------------------------
// Output differences

function loadedOf(model: Model, external: ExternalDataReader | undefined): LoadedModel {
  return {
    model,
    source: "<optimize>",
    byteLength: 0,
    external: external ?? {
      read: () => {
        throw new ModelFormatError("The model refers to external data but none was loaded");
      },
    },
  };
}

/** Feeds converted to the element type the model declares (float32 → float16 inputs). */
function adaptFeeds(feeds: Record<string, Value>, sig: ModelSignature): Record<string, Value> {
  const out: Record<string, Value> = { ...feeds };
  for (const i of sig.inputs) {
    const v = feeds[i.name];
    const want = i.type?.kind === "tensor" ? i.type.elemType : undefined;
    if (v instanceof Tensor && want && want !== v.type && v.type === "float32") {
      out[i.name] = new Tensor(want, fromNumbers(want, toNumbers(v)), v.dims);
    }
  }
  return out;
}

/** Runs both models on `feeds` and measures each output's largest difference. */
export async function outputDifferences(
  before: Model,
  after: Model,
  feeds: Record<string, Value>,
  external?: ExternalDataReader,
): Promise<OutputDifference[]> {
  const s0 = await InferenceSession.create(loadedOf(before, external), { backend: "cpu" });
  const s1 = await InferenceSession.create(loadedOf(after, external), { backend: "cpu" });
  const r0 = await s0.run(feeds);
  const r1 = await s1.run(adaptFeeds(feeds, modelSignature(after)));
  const out: OutputDifference[] = [];
  for (const name of s0.outputNames) {
    const a = r0[name];
    const b = r1[name];
    if (!(a instanceof Tensor) || !(b instanceof Tensor) || a.type === "string") continue;
    const x = toNumbers(a);
    const y = toNumbers(b);
    let maxAbsError = 0, maxAbs = 0;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const d = Math.abs(x[i] - y[i]);
      if (d > maxAbsError || Number.isNaN(d)) maxAbsError = Number.isNaN(d) ? NaN : d;
      maxAbs = Math.max(maxAbs, Math.abs(x[i]));
    }
    if (x.length !== y.length) maxAbsError = Infinity;
    const diff: OutputDifference = {
      name,
      maxAbsError,
      maxAbs,
      relError: maxAbs > 0 ? maxAbsError / maxAbs : maxAbsError > 0 ? Infinity : 0,
    };
    if (a.dims.length === 2 && a.dims[1] > 1 && b.dims.join() === a.dims.join()) {
      const cols = a.dims[1];
      let same = true;
      for (let r = 0; r < a.dims[0]; r++) {
        let ia = 0, ib = 0;
        for (let c = 1; c < cols; c++) {
          if (x[r * cols + c] > x[r * cols + ia]) ia = c;
          if (y[r * cols + c] > y[r * cols + ib]) ib = c;
        }
        if (ia !== ib) same = false;
      }
      diff.sameArgmax = same;
    }
    out.push(diff);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The stage

/** Passes that fuse into com.microsoft contrib ops, left out of a level with conversions. */
const CONTRIB_FUSIONS = [
  "conv-activation-fusion",
  "gemm-activation-fusion",
  "matmul-transpose-fusion",
];

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Runs the `optimize` stage. */
export async function optimizeStage(
  state: PipelineState,
  stage: OptimizeStage,
): Promise<StageOutcome> {
  const config = state.config;
  const original = state.model!;
  const external = state.loaded?.external;
  const sig = modelSignature(original);
  const finalPasses: Pass[] = [];
  let firstSample: Record<string, Value> | undefined;
  const q = stage.quantize;
  if (q) {
    let calibration;
    if (q.calibration) {
      const samples = await calibrationSamples(config, q.calibration, sig);
      firstSample = samples[0];
      calibration = {
        samples,
        method: q.calibration.method,
        percentile: q.calibration.percentile,
      };
      state.progress.start(`optimize: calibrating on ${samples.length} sample(s)`);
    }
    finalPasses.push(quantizationPass({
      mode: q.mode,
      perChannel: q.perChannel,
      weightType: q.weightType,
      activationType: q.activationType,
      reduceRange: q.reduceRange,
      opTypes: q.opTypes,
      exclude: q.exclude,
      calibration,
      onCalibrationSample: (done, total) => state.progress.update(done, total),
    }));
  }
  if (stage.float16) {
    finalPasses.push(float16Pass({
      keepFloat32: stage.float16.keepFloat32,
      keepIoTypes: stage.float16.keepIoTypes,
      useDefaultBlockList: stage.float16.defaultBlockList,
    }));
  }
  // Fusions into onnxruntime contrib ops would hide Conv nodes from quantization and keep
  // them float32 under float16: with a conversion, a level's passes go without them.
  let passes: (string | Pass)[] | undefined = stage.passes;
  const skipped: string[] = [];
  if (!passes && finalPasses.length) {
    passes = passesForLevel(stage.level).filter((p) => {
      const contrib = CONTRIB_FUSIONS.includes(p.name);
      if (contrib) skipped.push(p.name);
      return !contrib;
    });
  }
  let optimized;
  try {
    optimized = await optimizeModel(original, {
      passes,
      level: passes ? undefined : stage.level,
      maxIterations: stage.maxIterations,
      external,
      finalPasses,
    });
  } finally {
    state.progress.end();
  }
  const { model, report } = optimized;
  if (finalPasses.length) {
    // A conversion must leave a valid model: never hand on (or save) one that is not.
    const check = checkModel(model, { fullCheck: true, external });
    if (!check.ok) throw new CheckError(check.findings);
  }
  const params = { before: parameterBytes(original), after: parameterBytes(model) };

  // Output differences on the next run's inputs (else the first calibration sample).
  let differences: OutputDifference[] | undefined;
  let verifiedOn: string | undefined;
  if (stage.verify) {
    const next = config.stages.find((s): s is RunStage =>
      s.stage === "run" && s.index > stage.index
    );
    let feeds: Record<string, Value> | undefined;
    if (next) {
      const prepared = await prepareData({ ...config, stages: [next] }, sig);
      feeds = prepared.runs.get(next.index)?.feeds;
      verifiedOn = `the inputs of ${next.key}`;
    } else if (firstSample) {
      feeds = firstSample;
      verifiedOn = "the first calibration sample";
    }
    if (feeds) differences = await outputDifferences(original, model, feeds, external);
  }

  state.model = model;
  state.modelVersion++;
  let savedBytes: number | undefined;
  if (stage.save) {
    await Deno.mkdir(dirname(stage.save), { recursive: true });
    await saveModel(model, stage.save, {
      external,
      externalData: stage.externalData
        ? { threshold: stage.externalData.threshold, location: stage.externalData.location }
        : undefined,
    });
    savedBytes = await fileSize(stage.save);
    if (stage.externalData) {
      const loc = stage.externalData.location ?? `${basename(stage.save)}.data`;
      savedBytes += await fileSize(resolve(dirname(stage.save), loc));
    }
  }

  const { before, after } = report;
  const changed = report.passes.filter((p) => p.changedRuns > 0);
  const lines = [
    `optimize: ${before.nodes} → ${after.nodes} nodes, ${before.initializers} → ${after.initializers} initializers in ${report.iterations} round(s)${
      report.converged ? "" : " (stopped before a fixpoint: raise max_iterations)"
    }`,
  ];
  for (const name of skipped) {
    lines.push(`  ${name}: skipped (it fuses into a com.microsoft op the conversions leave alone)`);
  }
  for (const p of report.passes) {
    const n = p.details.length;
    lines.push(`  ${p.name}: ${n ? `${n} change(s)` : "no change"}`);
    for (const d of p.details.slice(0, 10)) lines.push(`    - ${d}`);
    if (n > 10) lines.push(`    - ... and ${n - 10} more`);
  }
  const diff = opCountChanges(before, after);
  if (diff.length) lines.push("  node counts by op type:", ...diff);
  lines.push(`  parameters: ${formatBytes(params.before)} → ${formatBytes(params.after)}`);
  if (differences) {
    lines.push(`  output difference from the unoptimized model on ${verifiedOn}:`);
    for (const d of differences) {
      lines.push(
        `    ${d.name}: max abs error ${formatError(d.maxAbsError)} (${
          formatError(d.relError)
        } of max |output| ${formatError(d.maxAbs)})${
          d.sameArgmax === undefined
            ? ""
            : d.sameArgmax
            ? ", same top class"
            : ", top class differs"
        }`,
      );
    }
  } else if (stage.verify && finalPasses.length) {
    lines.push("  output difference not measured: no run stage follows to take inputs from");
  }
  if (stage.save) {
    lines.push(
      `  saved ${stage.save} (${formatBytes(savedBytes ?? 0)}${
        stage.externalData ? " with its external data" : ""
      })`,
    );
  }
  const paramNote = params.before !== params.after
    ? `, parameters ${formatBytes(params.before)} → ${formatBytes(params.after)}`
    : "";
  return {
    status: "ok",
    summary:
      `${before.nodes} → ${after.nodes} nodes, ${before.initializers} → ${after.initializers} initializers (${changed.length} of ${report.passes.length} passes changed it)${paramNote}`,
    lines,
    details: {
      passes: report.passes,
      skippedPasses: skipped,
      iterations: report.iterations,
      converged: report.converged,
      before,
      after,
      parameterBytes: params,
      outputDifferences: differences,
      verifiedOn,
      saved: stage.save,
      savedBytes,
    },
  };
}
