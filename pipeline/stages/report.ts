/**
 * The pipeline report: its shape (also what `--json` prints), the summary table, the
 * markdown and text renderings, and the `report` stage that writes one to a file.
 *
 * @module
 */

import { dirname } from "node:path";
import type { ReportStage, StageName } from "../config.ts";
import { formatMs, type PipelineState, type StageOutcome, type StageStatus } from "./context.ts";

/** One stage in the report. */
export interface StageReport {
  /** Position in the file's `stages` (-1 for an implied `load`). */
  index: number;
  /** Stage name. */
  stage: StageName;
  /** `ok`, `failed` (exit 1), `skipped`, `error` (it threw) or `not run` (an earlier stage stopped the pipeline). */
  status: StageStatus | "error" | "not run";
  /** Wall time in milliseconds. */
  ms: number;
  /** Key numbers in a few words. */
  summary: string;
  /** Human-readable lines. */
  lines: string[];
  /** Machine-readable details (stage-specific). */
  details: Record<string, unknown>;
}

/** Why a pipeline stopped early. */
export interface ReportError {
  /** Error class, e.g. `ConfigError`, `UnsupportedError`. */
  type: string;
  /** One-line message. */
  message: string;
  /** YAML key path (ConfigError). */
  path?: string;
  /** YAML line (ConfigError). */
  line?: number;
  /** Node name (UnsupportedError, RuntimeError). */
  node?: string;
  /** Op type (UnsupportedError, RuntimeError). */
  opType?: string;
}

/** The whole report, as `--json` prints it. */
export interface PipelineReport {
  /** True when the exit code is 0. */
  ok: boolean;
  /** 0 ok, 1 compare mismatch or check errors, 2 config or usage error, 3 runtime error. */
  exitCode: number;
  /** The pipeline file. */
  pipeline: { file: string; name?: string; description?: string };
  /** Every stage, in order, including those not run. */
  stages: StageReport[];
  /** Total wall time in milliseconds. */
  totalMs: number;
  /** Set when the pipeline stopped on an error. */
  error?: ReportError;
}

/** JSON with non-finite numbers as strings and bigints as decimal strings. */
export function reportToJson(report: PipelineReport): string {
  return JSON.stringify(
    report,
    (_k, v) => {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "number" && !Number.isFinite(v)) {
        return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
      }
      return v;
    },
    2,
  );
}

function pad(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r.map((cell, c) => c === r.length - 1 ? cell : cell.padEnd(widths[c])).join("  ").trimEnd()
  );
}

/** The summary table: one row per stage with status, time and key numbers. */
export function formatSummaryTable(report: PipelineReport): string[] {
  const rows = [["stage", "status", "time", "result"]];
  for (const s of report.stages) {
    const name = s.index < 0 ? `${s.stage} (implied)` : s.stage;
    const summary = s.summary.length > 90 ? `${s.summary.slice(0, 89)}…` : s.summary;
    rows.push([name, s.status, s.status === "not run" ? "" : formatMs(s.ms), summary]);
  }
  const lines = pad(rows);
  const rule = "─".repeat(Math.max(...lines.map((l) => l.length)));
  const verdict = report.ok
    ? `pipeline ok in ${formatMs(report.totalMs)}`
    : `pipeline failed (exit code ${report.exitCode}) after ${formatMs(report.totalMs)}`;
  return [rule, lines[0], rule, ...lines.slice(1), rule, verdict];
}

/** The report as markdown: a stage table and each stage's lines. */
export function formatReportMarkdown(report: PipelineReport): string {
  const title = report.pipeline.name ?? report.pipeline.file;
  const out = [`# Pipeline report: ${title}`, ""];
  if (report.pipeline.description) out.push(report.pipeline.description, "");
  out.push(`File: \`${report.pipeline.file}\`  `);
  out.push(
    `Result: ${report.ok ? "ok" : `failed (exit code ${report.exitCode})`} in ${
      formatMs(report.totalMs)
    }`,
    "",
  );
  out.push("| stage | status | time | result |", "|---|---|---:|---|");
  for (const s of report.stages) {
    const cell = (x: string) => x.replaceAll("|", "\\|");
    out.push(
      `| ${s.stage} | ${s.status} | ${s.status === "not run" ? "" : formatMs(s.ms)} | ${
        cell(s.summary)
      } |`,
    );
  }
  for (const s of report.stages) {
    if (!s.lines.length) continue;
    out.push(
      "",
      `## ${s.stage}${s.index >= 0 ? ` (stages[${s.index}])` : ""}`,
      "",
      "```",
      ...s.lines,
      "```",
    );
  }
  if (report.error) out.push("", `**${report.error.type}**: ${report.error.message}`);
  return out.join("\n") + "\n";
}

/** The report as plain text: each stage's lines, then the summary table. */
export function formatReportText(report: PipelineReport): string {
  const out: string[] = [];
  for (const s of report.stages) out.push(...s.lines);
  out.push(...formatSummaryTable(report));
  if (report.error) out.push(`${report.error.type}: ${report.error.message}`);
  return out.join("\n") + "\n";
}

/**
 * Runs the `report` stage: writes the report so far to `stage.path` in the format of its
 * extension, or returns it as markdown lines to print when no path is given.
 */
export async function reportStage(
  _state: PipelineState,
  stage: ReportStage,
  report: PipelineReport,
): Promise<StageOutcome> {
  if (!stage.path) {
    return {
      status: "ok",
      summary: "printed",
      lines: formatReportMarkdown(report).trimEnd().split("\n"),
      details: {},
    };
  }
  const text = stage.format === "json"
    ? reportToJson(report) + "\n"
    : stage.format === "markdown"
    ? formatReportMarkdown(report)
    : formatReportText(report);
  await Deno.mkdir(dirname(stage.path), { recursive: true });
  await Deno.writeTextFile(stage.path, text);
  return {
    status: "ok",
    summary: `wrote ${stage.path}`,
    lines: [`report written to ${stage.path}`],
    details: { path: stage.path, format: stage.format },
  };
}
