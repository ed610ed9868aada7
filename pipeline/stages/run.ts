/**
 * The `run` stage: plans the current model once (a session kept while the model and options
 * stay the same), runs it `warmup + repeat` times on the prepared feeds, times the `repeat`
 * runs, writes outputs when asked and shows a classifier's top-k classes.
 *
 * @module
 */

import type { RunStage } from "../config.ts";
import { type TopKEntry, topKRows } from "../io/labels.ts";
import { InferenceSession } from "../run/session.ts";
import { describeValue, Sequence, Tensor, toNumbers, type Value } from "../tensor/tensor.ts";
import { formatBytes, formatMs, type PipelineState, type StageOutcome } from "./context.ts";
import type { PreparedRun } from "./inputs.ts";
import { writeOutputs } from "./outputs.ts";

/** Copies GPU tensors (also inside sequences) to the CPU. */
async function toCpu(v: Value): Promise<Value> {
  if (v instanceof Tensor) {
    return v.location === "cpu" ? v : new Tensor(v.type, await v.getData(), v.dims);
  }
  if (v instanceof Sequence) {
    return new Sequence(await Promise.all(v.values.map(toCpu)), v.elemType);
  }
  return v;
}

/** Timing statistics of the timed runs, in milliseconds. */
export interface RunTiming {
  /** Number of untimed runs. */
  warmup: number;
  /** Number of timed runs. */
  repeat: number;
  /** Mean. */
  meanMs: number;
  /** Median. */
  medianMs: number;
  /** Fastest. */
  minMs: number;
  /** Slowest. */
  maxMs: number;
}

function timing(times: number[], warmup: number): RunTiming {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    warmup,
    repeat: times.length,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    medianMs: median,
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
}

function range(v: Value): string {
  if (
    !(v instanceof Tensor) || v.size === 0 || v.type === "string" || v.type.startsWith("complex")
  ) {
    return "";
  }
  const xs = toNumbers(v);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < lo) lo = xs[i];
    if (xs[i] > hi) hi = xs[i];
  }
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
  return ` in [${f(lo)}, ${f(hi)}]`;
}

function topkLines(name: string, rows: TopKEntry[][], softmax: boolean): string[] {
  const lines = [`top-${rows[0]?.length ?? 0} of "${name}"${softmax ? " (softmax)" : ""}:`];
  for (const row of rows) {
    if (rows.length > 1) lines.push(`  row ${row[0]?.row ?? 0}:`);
    const labelWidth = Math.max(0, ...row.map((e) => (e.label ?? "").length));
    const indexWidth = Math.max(...row.map((e) => String(e.index).length));
    row.forEach((e, i) => {
      const label = e.label !== undefined ? `  ${e.label.padEnd(labelWidth)}` : "";
      const p = e.probability !== undefined ? `  p=${e.probability.toFixed(4)}` : "";
      const index = `#${e.index}`.padEnd(indexWidth + 1);
      lines.push(
        `  ${String(i + 1).padStart(2)}. ${index}${label}${p}  score=${e.score.toPrecision(5)}`,
      );
    });
  }
  return lines;
}

/** Runs the `run` stage with the feeds read ahead of time. */
export async function runStage(
  state: PipelineState,
  stage: RunStage,
  prepared: PreparedRun,
): Promise<StageOutcome> {
  const int8Accumulation = stage.int8Accumulation ?? "exact";
  const key = `${state.modelVersion}|${stage.backend}|${stage.seed ?? ""}|${int8Accumulation}`;
  let planMs = 0;
  if (state.session?.key !== key) {
    const t0 = performance.now();
    const session = await InferenceSession.create(
      { ...state.loaded!, model: state.model! },
      { backend: stage.backend, seed: stage.seed, int8Accumulation },
    );
    planMs = performance.now() - t0;
    state.session = { key, session };
  }
  const session = state.session!.session;
  const total = stage.warmup + stage.repeat;
  if (total > 1) {
    state.progress.start(
      `run: ${stage.warmup ? `${stage.warmup} warmup + ` : ""}${stage.repeat} timed run(s)`,
    );
  }
  const times: number[] = [];
  const byOp = new Map<string, { ms: number; count: number }>();
  let outputs: Record<string, Value> = {};
  try {
    for (let i = 0; i < total; i++) {
      const timed = i >= stage.warmup;
      const onNode = stage.profile && timed
        ? (info: { opType: string; ms: number }) => {
          const e = byOp.get(info.opType) ?? { ms: 0, count: 0 };
          e.ms += info.ms;
          e.count++;
          byOp.set(info.opType, e);
        }
        : undefined;
      const t0 = performance.now();
      outputs = await session.run(prepared.feeds, onNode ? { onNode } : undefined);
      const ms = performance.now() - t0;
      if (timed) times.push(ms);
      state.progress.update(i + 1, total);
    }
  } finally {
    if (total > 1) state.progress.end();
  }
  const cpu: Record<string, Value> = {};
  for (const [name, v] of Object.entries(outputs)) cpu[name] = await toCpu(v);
  const outputNames = [...session.outputNames];
  state.lastRun = { outputs: cpu, outputNames };
  const t = timing(times, stage.warmup);
  const lines: string[] = [];
  lines.push(
    stage.repeat > 1
      ? `run on ${session.backend}: ${t.repeat} timed run(s), median ${
        formatMs(t.medianMs)
      }, mean ${formatMs(t.meanMs)}, min ${formatMs(t.minMs)}, max ${formatMs(t.maxMs)}`
      : `run on ${session.backend}: ${formatMs(t.medianMs)}`,
  );
  const stats = session.lastRunStats;
  if (stats) {
    const cpuReasons = new Map<string, number>();
    for (const p of stats.placement) {
      if (p.backend === "cpu" && p.reason) {
        cpuReasons.set(p.reason, (cpuReasons.get(p.reason) ?? 0) + 1);
      }
    }
    lines.push(
      `  placement: ${stats.nodes.webgpu} node(s) on webgpu, ${stats.nodes.cpu} on cpu; ` +
        `${formatBytes(stats.bytesUploaded)} uploaded, ${
          formatBytes(stats.bytesDownloaded)
        } downloaded, ${stats.dispatches} dispatch(es), ${stats.submits} submit(s)`,
    );
    if (stats.nodes.webgpu === 0 && session.backend !== "cpu" && stats.placement[0]?.reason) {
      lines.push(`    all on cpu: ${stats.placement[0].reason}`);
    } else if (stats.nodes.webgpu > 0) {
      for (const [reason, n] of [...cpuReasons].sort((a, b) => b[1] - a[1]).slice(0, 5)) {
        lines.push(`    on cpu (${n}): ${reason}`);
      }
    }
  }
  for (const [name, origin] of Object.entries(prepared.origins)) {
    lines.push(`  input  ${name}: ${describeValue(prepared.feeds[name])} from ${origin}`);
  }
  for (const name of outputNames) {
    lines.push(`  output ${name}: ${describeValue(cpu[name])}${range(cpu[name])}`);
  }
  let profile: { opType: string; ms: number; count: number }[] | undefined;
  if (stage.profile) {
    profile = [...byOp].map(([opType, e]) => ({ opType, ...e })).sort((a, b) => b.ms - a.ms);
    const all = profile.reduce((a, e) => a + e.ms, 0) || 1;
    lines.push("  time by op type (all timed runs):");
    for (const e of profile.slice(0, 12)) {
      lines.push(
        `    ${e.opType.padEnd(24)} ${formatMs(e.ms).padStart(10)}  ${
          ((e.ms / all) * 100).toFixed(1).padStart(5)
        }%  (${e.count} node runs)`,
      );
    }
  }
  let topk: { output: string; rows: TopKEntry[][] } | undefined;
  if (stage.topk) {
    const name = stage.topk.output ?? outputNames[0];
    const v = cpu[name];
    if (v instanceof Tensor) {
      const rows = topKRows(v, stage.topk.k, {
        softmax: stage.topk.softmax,
        labels: prepared.labels,
      });
      topk = { output: name, rows };
      lines.push(...topkLines(name, rows, stage.topk.softmax));
    } else {
      lines.push(`top-k skipped: output "${name}" is ${describeValue(v)}, not a tensor`);
    }
  }
  let written: string[] = [];
  if (stage.outputs) {
    written = await writeOutputs(cpu, outputNames, stage.outputs, {
      pipeline: state.config,
      key: `${stage.key}.outputs`,
    });
    lines.push(`  wrote ${written.length} file(s) to ${stage.outputs.dir}`);
  }
  const best = topk?.rows[0]?.[0];
  const bestText = best
    ? `; top-1 ${best.label ?? `#${best.index}`}${
      best.probability !== undefined ? ` (${best.probability.toFixed(2)})` : ""
    }`
    : "";
  return {
    status: "ok",
    summary:
      (stage.repeat > 1
        ? `${t.repeat} runs, median ${formatMs(t.medianMs)}`
        : `1 run, ${formatMs(t.medianMs)}`) + bestText,
    lines,
    details: {
      backend: session.backend,
      planMs,
      inputs: Object.fromEntries(
        Object.entries(prepared.feeds).map((
          [n, v],
        ) => [n, { value: describeValue(v), from: prepared.origins[n] }]),
      ),
      outputs: Object.fromEntries(outputNames.map((n) => [n, describeValue(cpu[n])])),
      timing: t,
      placement: stats
        ? {
          nodes: stats.nodes,
          bytesUploaded: stats.bytesUploaded,
          bytesDownloaded: stats.bytesDownloaded,
          dispatches: stats.dispatches,
          submits: stats.submits,
        }
        : undefined,
      profile,
      topk,
      written,
    },
  };
}
