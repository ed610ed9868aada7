/**
 * What the pipeline stages share: the state passed from stage to stage, what a stage returns,
 * and the progress display on stderr.
 *
 * @module
 */

import type { PipelineConfig } from "../config.ts";
import type { Model } from "../load/ir.ts";
import type { LoadedModel } from "../load/load.ts";
import type { InferenceSession } from "../run/session.ts";
import type { Value } from "../tensor/tensor.ts";

/** How a stage ended. */
export type StageStatus = "ok" | "failed" | "skipped";

/** What a stage returns to the runner. */
export interface StageOutcome {
  /** `failed` makes the pipeline's exit code 1 (check errors, compare mismatch). */
  status: StageStatus;
  /** The key numbers in a few words, for the summary table. */
  summary: string;
  /** Human-readable lines printed after the stage (not in `--json` mode). */
  lines: string[];
  /** Machine-readable details for the JSON report. */
  details: Record<string, unknown>;
  /** True when the pipeline must stop after this stage (a check with errors). */
  stop?: boolean;
}

/** Outputs of the last `run`. */
export interface RunResult {
  /** Output values by name, on the CPU. */
  outputs: Record<string, Value>;
  /** Output names in model order. */
  outputNames: string[];
}

/** State passed from stage to stage. */
export interface PipelineState {
  /** The validated pipeline. */
  readonly config: PipelineConfig;
  /** The loaded model (set by `load`). */
  loaded?: LoadedModel;
  /** The model the next stages use (the optimized one after `optimize`). */
  model?: Model;
  /** Bumped whenever `model` changes, so a cached session is not reused. */
  modelVersion: number;
  /** A session kept between `run` stages while the model and options stay the same. */
  session?: { key: string; session: InferenceSession };
  /** The last run's outputs. */
  lastRun?: RunResult;
  /** Progress display. */
  readonly progress: Progress;
}

/** Where progress goes and how it looks. */
export interface ProgressOptions {
  /** Writes text to stderr (no newline added). */
  write: (text: string) => void;
  /** Animate a single updating line (stderr is a terminal). */
  tty: boolean;
  /** Print nothing. */
  quiet: boolean;
}

/**
 * Progress of long stages on stderr: on a terminal, one line rewritten in place (at most ten
 * times a second) and erased at the end; otherwise a single quiet line when the work starts.
 */
export class Progress {
  readonly #options: ProgressOptions;
  #active = false;
  #last = 0;
  #label = "";

  /** Creates a progress display. */
  constructor(options: ProgressOptions) {
    this.#options = options;
  }

  /** Announces long work, e.g. `run: 20 timed runs`. */
  start(label: string): void {
    if (this.#options.quiet) return;
    this.#label = label;
    if (this.#options.tty) {
      this.#active = true;
      this.#last = 0;
      this.#draw(`${label}…`);
    } else {
      this.#options.write(`${label}…\n`);
    }
  }

  /** Updates the line with `done` of `total` steps (terminal only, throttled). */
  update(done: number, total: number): void {
    if (!this.#active) return;
    const now = performance.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const width = 20;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    this.#draw(`${this.#label} ${bar} ${done}/${total}`);
  }

  /** Erases the line. */
  end(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#options.write("\r\x1b[2K");
  }

  #draw(text: string): void {
    this.#options.write(`\r\x1b[2K${text}`);
  }
}

/** Formats milliseconds for people: `0.42 ms`, `12.3 ms`, `1.52 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Formats a byte count: `812 B`, `14.2 KiB`, `13.3 MiB`. */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Formats an error size for tables: `0`, `3.1e-6`, `inf`. */
export function formatError(x: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : "inf";
  return x.toExponential(2);
}
