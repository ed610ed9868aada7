/**
 * The `check` stage: validates the model with the checker (`pipeline/check/checker.ts`),
 * collecting every finding. Errors fail the stage (exit code 1) and, unless
 * `stop_on_error: false`, stop the pipeline.
 *
 * @module
 */

import type { CheckStage } from "../config.ts";
import type { Finding } from "../errors.ts";
import type { Model } from "../load/ir.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import type { PipelineState, StageOutcome } from "./context.ts";
import { checkModel } from "../check/checker.ts";

/** The checker's entry point as this stage calls it. */
export type CheckModelFn = (
  model: Model,
  options?: { fullCheck?: boolean; external?: ExternalDataReader },
) => { ok: boolean; findings: Finding[] };

function describe(f: Finding): string {
  const where = [
    f.graph && f.graph !== "main" ? f.graph : undefined,
    f.node ? `node ${f.node}${f.opType ? ` (${f.opType})` : ""}` : undefined,
  ].filter(Boolean).join(", ");
  return `${f.severity}${f.code ? ` [${f.code}]` : ""}: ${where ? `${where}: ` : ""}${f.message}`;
}

/** Runs the `check` stage; `checker` replaces the imported checker (for tests). */
export function checkStage(
  state: PipelineState,
  stage: CheckStage,
  checker?: CheckModelFn,
): StageOutcome {
  const check = checker ?? checkModel;
  const result = check(state.model!, { fullCheck: stage.full, external: state.loaded?.external });
  const count = (s: Finding["severity"]) => result.findings.filter((f) => f.severity === s).length;
  const errors = count("error");
  const warnings = count("warning");
  const failed = errors > 0 || !result.ok;
  const shown = result.findings.filter((f) => f.severity !== "info");
  const lines = shown.slice(0, 20).map((f) => `  ${describe(f)}`);
  if (shown.length > 20) lines.push(`  ... and ${shown.length - 20} more`);
  return {
    status: failed ? "failed" : "ok",
    summary: `${errors} error(s), ${warnings} warning(s)`,
    lines: lines.length ? [`check findings:`, ...lines] : [],
    details: {
      available: true,
      full: stage.full,
      errors,
      warnings,
      findings: result.findings,
    },
    stop: failed && stage.stopOnError,
  };
}
