/**
 * The `compare` stage: compares the last run's outputs with references using
 * `numpy.testing.assert_allclose` semantics (|actual - expected| ≤ atol + rtol·|expected|)
 * and prints the largest absolute and relative error per output. A mismatch fails the stage,
 * which makes the pipeline exit with code 1 after its summary.
 *
 * @module
 */

import type { CompareStage } from "../config.ts";
import { allclose, type CompareResult } from "../compare.ts";
import { formatError, type PipelineState, type StageOutcome } from "./context.ts";
import type { PreparedCompare } from "./inputs.ts";

/** One output's comparison, as reported. */
export interface OutputComparison {
  /** Output name. */
  name: string;
  /** Within tolerance. */
  ok: boolean;
  /** Largest absolute error. */
  maxAbsError: number;
  /** Largest relative error. */
  maxRelError: number;
  /** Elements outside tolerance. */
  mismatched: number;
  /** Elements compared. */
  total: number;
  /** Where the reference came from. */
  expectedFrom: string;
  /** The comparison's own summary. */
  message: string;
  /** Set when shapes, types or structure differ (then the error sizes mean nothing). */
  structural?: string;
}

/** Runs the `compare` stage against references read ahead of time. */
export function compareStage(
  state: PipelineState,
  stage: CompareStage,
  prepared: PreparedCompare,
): StageOutcome {
  const run = state.lastRun!;
  const results: OutputComparison[] = [];
  for (const name of Object.keys(prepared.expected)) {
    const actual = run.outputs[name];
    let r: CompareResult;
    if (actual === undefined) {
      r = {
        ok: false,
        maxAbsError: Infinity,
        maxRelError: Infinity,
        mismatched: 1,
        total: 0,
        structural: "missing",
        message: `The run produced no output "${name}"`,
      };
    } else {
      r = allclose(actual, prepared.expected[name], {
        rtol: stage.rtol,
        atol: stage.atol,
        equalNan: stage.equalNan,
      });
    }
    results.push({
      name,
      ok: r.ok,
      maxAbsError: r.maxAbsError,
      maxRelError: r.maxRelError,
      mismatched: r.mismatched,
      total: r.total,
      expectedFrom: prepared.origins[name],
      message: r.message,
      structural: r.structural,
    });
  }
  const failed = results.filter((r) => !r.ok);
  const width = Math.max(6, ...results.map((r) => r.name.length));
  const lines = [`compare (rtol ${stage.rtol}, atol ${stage.atol}):`];
  for (const r of results) {
    if (r.structural !== undefined) {
      lines.push(`  ${r.name.padEnd(width)}  MISMATCH  ${r.structural}`);
      continue;
    }
    lines.push(
      `  ${r.name.padEnd(width)}  ${r.ok ? "ok      " : "MISMATCH"}  max abs ${
        formatError(r.maxAbsError).padEnd(8)
      }  max rel ${formatError(r.maxRelError).padEnd(8)}  (${r.total} elements)`,
    );
    if (!r.ok) lines.push(`    ${r.message.replaceAll("\n", "\n    ")}`);
  }
  const worstAbs = Math.max(0, ...results.map((r) => r.maxAbsError));
  const structural = failed.find((r) => r.structural !== undefined);
  return {
    status: failed.length ? "failed" : "ok",
    summary: failed.length
      ? `${failed.length} of ${results.length} output(s) differ; ${
        structural
          ? `"${structural.name}": ${structural.structural}`
          : `max abs ${formatError(worstAbs)}`
      }`
      : `${results.length} output(s) match; max abs ${formatError(worstAbs)}`,
    lines,
    details: { rtol: stage.rtol, atol: stage.atol, equalNan: stage.equalNan, outputs: results },
  };
}
