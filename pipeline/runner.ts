/**
 * The pipeline runner: chains the stages of a validated {@link PipelineConfig}, prints each
 * stage's lines and a summary table (or nothing, for `--json`), and returns a
 * {@link PipelineReport} whose `exitCode` follows the CLI's contract:
 *
 * - 0: every stage ran and passed;
 * - 1: a comparison mismatched or the checker found errors (after the summary);
 * - 2: the pipeline file or its inputs are invalid (ConfigError, InputError, usage);
 * - 3: the model could not be loaded or run (unsupported op, bad model, runtime failure).
 *
 * Right after `load`, the stages are checked against the model's inputs and outputs and every
 * input, reference and labels file is read, so bad input stops the pipeline before any stage
 * writes a file.
 *
 * @example
 * ```ts ignore
 * import { loadPipeline } from "./config.ts";
 * import { runPipeline } from "./runner.ts";
 * const report = await runPipeline(await loadPipeline("examples/default.yaml"));
 * Deno.exit(report.exitCode);
 * ```
 *
 * @module
 */

import {
  loadPipeline,
  type PipelineConfig,
  type PipelineOptions,
  validateAgainstModel,
} from "./config.ts";
import { CheckError, ConfigError, InputError, RuntimeError, UnsupportedError } from "./errors.ts";
import { type CheckModelFn, checkStage } from "./stages/check.ts";
import { compareStage } from "./stages/compare.ts";
import { type PipelineState, Progress, type StageOutcome } from "./stages/context.ts";
import { prepareData, type PreparedData } from "./stages/inputs.ts";
import { loadStage, modelSignature } from "./stages/load.ts";
import { optimizeStage } from "./stages/optimize.ts";
import {
  formatSummaryTable,
  type PipelineReport,
  type ReportError,
  reportStage,
  type StageReport,
} from "./stages/report.ts";
import { runStage } from "./stages/run.ts";

export type { PipelineReport, ReportError, StageReport } from "./stages/report.ts";

/** Options of {@link runPipeline}. */
export interface RunnerOptions {
  /** Machine-readable mode: print nothing on stdout (the caller prints the report). */
  json?: boolean;
  /** No progress display on stderr. */
  quiet?: boolean;
  /** Receives each stdout line (default: console.log). */
  stdout?: (line: string) => void;
  /** Receives stderr text, progress included (default: written to Deno.stderr). */
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal (default: asked of Deno.stderr). */
  tty?: boolean;
  /** Replaces the checker (for tests). */
  checker?: CheckModelFn;
  /** Only load the model and read every input and reference; run no other stage. */
  validateOnly?: boolean;
  /** Called with the error that stopped the pipeline (the CLI prints its stack with --debug). */
  onError?: (error: unknown) => void;
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The exit code an error maps to (see the module doc). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CheckError) return 1;
  if (error instanceof ConfigError || error instanceof InputError) return 2;
  return 3;
}

/** The report entry of an error: its class, first message line and location fields. */
export function describeError(error: unknown): ReportError {
  const e = error instanceof Error ? error : new Error(String(error));
  const out: ReportError = {
    type: e.name || "Error",
    message: e.message.split("\n")[0],
  };
  if (e instanceof ConfigError) {
    if (e.path !== undefined) out.path = e.path;
    if (e.line !== undefined) out.line = e.line;
  }
  if (e instanceof UnsupportedError || e instanceof RuntimeError) {
    if (e.node !== undefined) out.node = e.node;
    if (e.opType !== undefined) out.opType = e.opType;
  }
  return out;
}

const encoder = new TextEncoder();

function defaultStderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** A report for a pipeline that failed before it could start (bad file, bad usage). */
export function failedReport(file: string, error: unknown): PipelineReport {
  return {
    ok: false,
    exitCode: exitCodeFor(error),
    pipeline: { file },
    stages: [],
    totalMs: 0,
    error: describeError(error),
  };
}

/** Runs a validated pipeline; never throws for errors of the model or inputs. */
export async function runPipeline(
  config: PipelineConfig,
  options: RunnerOptions = {},
): Promise<PipelineReport> {
  const print = options.json ? () => {} : (options.stdout ?? ((l: string) => console.log(l)));
  const stderr = options.stderr ?? defaultStderr;
  const progress = new Progress({
    write: stderr,
    tty: options.tty ?? stderrIsTerminal(),
    quiet: options.quiet ?? false,
  });
  const state: PipelineState = { config, modelVersion: 0, progress };
  const report: PipelineReport = {
    ok: false,
    exitCode: 0,
    pipeline: { file: config.file, name: config.name, description: config.description },
    stages: config.stages.map((s) => ({
      index: s.index,
      stage: s.stage,
      status: "not run",
      ms: 0,
      summary: "",
      lines: [],
      details: {},
    })),
    totalMs: 0,
  };
  const start = performance.now();
  const finish = () => {
    report.totalMs = roundMs(performance.now() - start);
    const failed = report.stages.some((s) => s.status === "failed");
    report.exitCode = report.error ? report.exitCode : failed ? 1 : 0;
    report.ok = report.exitCode === 0;
  };
  if (config.name) print(`pipeline ${config.name}`);
  let prepared: PreparedData | undefined;
  for (let i = 0; i < config.stages.length; i++) {
    const stage = config.stages[i];
    const entry: StageReport = report.stages[i];
    const t0 = performance.now();
    let outcome: StageOutcome;
    try {
      switch (stage.stage) {
        case "load":
          outcome = await loadStage(state, stage);
          break;
        case "check":
          outcome = checkStage(state, stage, options.checker);
          break;
        case "optimize":
          outcome = await optimizeStage(state, stage);
          break;
        case "run":
          outcome = await runStage(state, stage, prepared!.runs.get(stage.index)!);
          break;
        case "compare":
          outcome = compareStage(state, stage, prepared!.compares.get(stage.index)!);
          break;
        case "report":
          finish();
          outcome = await reportStage(state, stage, {
            ...report,
            stages: report.stages.filter((s) => s !== entry),
          });
          break;
      }
    } catch (e) {
      entry.status = "error";
      entry.ms = roundMs(performance.now() - t0);
      entry.summary = `${e instanceof Error ? e.name : "Error"}`;
      report.error = describeError(e);
      report.exitCode = exitCodeFor(e);
      options.onError?.(e);
      break;
    }
    entry.status = outcome.status;
    entry.ms = roundMs(performance.now() - t0);
    entry.summary = outcome.summary;
    entry.lines = outcome.lines;
    entry.details = outcome.details;
    for (const line of outcome.lines) print(line);
    if (stage.stage === "load") {
      try {
        const sig = modelSignature(state.model!);
        validateAgainstModel(config, sig);
        prepared = await prepareData(config, sig);
      } catch (e) {
        // Blame the stage whose options are wrong, so the table points at it.
        const path = e instanceof ConfigError ? e.path ?? "" : "";
        const at = config.stages.findIndex((s) => path.startsWith(`${s.key}.`) || path === s.key);
        const blamed = report.stages[at >= 0 ? at : i];
        blamed.status = "error";
        blamed.summary = e instanceof Error ? e.name : "Error";
        report.error = describeError(e);
        report.exitCode = exitCodeFor(e);
        options.onError?.(e);
        break;
      }
    }
    if (outcome.stop || options.validateOnly) break;
  }
  finish();
  for (const line of formatSummaryTable(report)) print(line);
  return report;
}

/**
 * Reads, validates and runs a pipeline file. Problems with the file itself come back as a
 * report with exit code 2 (nothing runs); see {@link runPipeline} for the rest.
 */
export async function runPipelineFile(
  path: string,
  options: RunnerOptions & Pick<PipelineOptions, "model" | "vars"> = {},
): Promise<PipelineReport> {
  let config: PipelineConfig;
  try {
    config = await loadPipeline(path, { model: options.model, vars: options.vars });
  } catch (e) {
    if (e instanceof ConfigError) return failedReport(path, e);
    throw e;
  }
  return await runPipeline(config, options);
}
