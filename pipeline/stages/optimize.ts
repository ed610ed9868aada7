/**
 * The `optimize` stage: applies graph passes (those named, or those of a level) until a
 * fixpoint, reports which ran and what changed, and optionally saves the result.
 *
 * @module
 */

import { dirname } from "node:path";
import type { OptimizeStage } from "../config.ts";
import { saveModel } from "../load/load.ts";
import { type GraphStats, optimizeModel } from "../optimize/mod.ts";
import type { PipelineState, StageOutcome } from "./context.ts";

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

/** Runs the `optimize` stage. */
export async function optimizeStage(
  state: PipelineState,
  stage: OptimizeStage,
): Promise<StageOutcome> {
  const { model, report } = await optimizeModel(state.model!, {
    passes: stage.passes,
    level: stage.passes ? undefined : stage.level,
    maxIterations: stage.maxIterations,
    external: state.loaded?.external,
  });
  state.model = model;
  state.modelVersion++;
  if (stage.save) {
    await Deno.mkdir(dirname(stage.save), { recursive: true });
    await saveModel(model, stage.save, { external: state.loaded?.external });
  }
  const { before, after } = report;
  const changed = report.passes.filter((p) => p.changedRuns > 0);
  const lines = [
    `optimize: ${before.nodes} → ${after.nodes} nodes, ${before.initializers} → ${after.initializers} initializers in ${report.iterations} round(s)${
      report.converged ? "" : " (stopped before a fixpoint: raise max_iterations)"
    }`,
  ];
  for (const p of report.passes) {
    const n = p.details.length;
    lines.push(`  ${p.name}: ${n ? `${n} change(s)` : "no change"}`);
    for (const d of p.details.slice(0, 10)) lines.push(`    - ${d}`);
    if (n > 10) lines.push(`    - ... and ${n - 10} more`);
  }
  const diff = opCountChanges(before, after);
  if (diff.length) lines.push("  node counts by op type:", ...diff);
  if (stage.save) lines.push(`  saved ${stage.save}`);
  return {
    status: "ok",
    summary:
      `${before.nodes} → ${after.nodes} nodes, ${before.initializers} → ${after.initializers} initializers (${changed.length} of ${report.passes.length} passes changed it)`,
    lines,
    details: {
      passes: report.passes,
      iterations: report.iterations,
      converged: report.converged,
      before,
      after,
      saved: stage.save,
    },
  };
}
