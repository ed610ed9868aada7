/**
 * Class labels and top-k selection over classifier scores.
 *
 * @module
 */

import { Tensor, toNumbers } from "../tensor/tensor.ts";
import { InputError } from "../errors.ts";

/**
 * Splits a labels file into one label per line (line N is class N - 1). Windows line ends
 * and a leading byte order mark are removed, as are trailing empty lines; lines are kept
 * otherwise as they are, so synset lines such as `n01440764 tench, Tinca tinca` stay whole.
 *
 * @example
 * ```ts
 * import { readLabels } from "./labels.ts";
 * readLabels("tench\ngoldfish\n"); // ["tench", "goldfish"]
 * ```
 */
export function readLabels(text: string): string[] {
  const body = text.startsWith("\ufeff") ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  return lines;
}

/** One of the best-scoring classes of a row. */
export interface TopKEntry {
  /** Class index within the row. */
  index: number;
  /** The raw score. */
  score: number;
  /** Softmax probability over the row, when asked for. */
  probability?: number;
  /** `labels[index]`, when labels are given and long enough. */
  label?: string;
  /** Batch row the entry belongs to (0 for 1-D scores). */
  row: number;
}

/** Options of {@link topK}. */
export interface TopKOptions {
  /** Also compute softmax probabilities over each row. */
  softmax?: boolean;
  /** Class names, indexed by class. */
  labels?: string[];
}

/** Softmax of a row that tolerates NaN (probability NaN, excluded) and infinities. */
function softmaxRow(row: Float64Array): Float64Array {
  const out = new Float64Array(row.length);
  let max = -Infinity;
  let valid = 0;
  for (const v of row) {
    if (Number.isNaN(v)) continue;
    valid++;
    if (v > max) max = v;
  }
  if (valid === 0) return out.fill(NaN);
  if (max === Infinity || max === -Infinity) {
    // Every +Inf (or, when all are -Inf, every valid entry) shares the whole mass.
    let n = 0;
    for (const v of row) if (v === max) n++;
    for (let i = 0; i < row.length; i++) {
      out[i] = Number.isNaN(row[i]) ? NaN : row[i] === max ? 1 / n : 0;
    }
    return out;
  }
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    if (Number.isNaN(row[i])) continue;
    out[i] = Math.exp(row[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < row.length; i++) out[i] = Number.isNaN(row[i]) ? NaN : out[i] / sum;
  return out;
}

/** Orders scores descending; NaN sorts after every number; ties keep the lower index first. */
function compareScores(row: Float64Array): (a: number, b: number) => number {
  return (a, b) => {
    const x = row[a];
    const y = row[b];
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1;
    if (x !== y) return x > y ? -1 : 1;
    return a - b;
  };
}

/**
 * The `k` best classes of each row, best first, as one list per row. Scores are `[C]`,
 * `[N, C]` or any shape whose last dimension holds the classes (size-1 trailing dimensions,
 * as in `[N, C, 1, 1]`, are ignored). `k` larger than the class count is clamped.
 *
 * @example
 * ```ts
 * import { topKRows } from "./labels.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * topKRows(new Tensor("float32", [0.1, 0.7, 0.2, 0.5, 0.4, 0.1], [2, 3]), 1);
 * // [[{ index: 1, score: 0.7, row: 0 }], [{ index: 0, score: 0.5, row: 1 }]]
 * ```
 */
export function topKRows(scores: Tensor, k: number, options?: TopKOptions): TopKEntry[][] {
  if (!Number.isInteger(k) || k < 0) {
    throw new InputError(`Top-k needs a non-negative integer k, got ${k}`);
  }
  if (scores.type === "string" || scores.type === "complex64" || scores.type === "complex128") {
    throw new InputError(`Top-k needs numeric scores, got ${scores}`, { got: scores.type });
  }
  if (scores.location !== "cpu") {
    throw new InputError("Top-k needs scores on the CPU: download the tensor first");
  }
  const dims = [...scores.dims];
  while (dims.length > 2 && dims[dims.length - 1] === 1) dims.pop();
  const classes = dims.length === 0 ? 1 : dims[dims.length - 1];
  const rows = classes === 0 ? 0 : scores.size / classes;
  const values = toNumbers(scores);
  const keep = Math.min(k, classes);
  const result: TopKEntry[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = Float64Array.from(values.subarray(r * classes, (r + 1) * classes));
    const probs = options?.softmax ? softmaxRow(row) : undefined;
    const order = Array.from({ length: classes }, (_, i) => i).sort(compareScores(row));
    result.push(
      order.slice(0, keep).map((index) => {
        const entry: TopKEntry = { index, score: row[index], row: r };
        if (probs) entry.probability = probs[index];
        const label = options?.labels?.[index];
        if (label !== undefined) entry.label = label;
        return entry;
      }),
    );
  }
  return result;
}

/**
 * The `k` best classes of every row of `scores`, flattened: row 0's entries best first, then
 * row 1's, and so on (each entry carries its `row`). See {@link topKRows} for the shapes
 * accepted. Ties are broken by the lower index; NaN scores rank below every number.
 *
 * @example
 * ```ts
 * import { topK } from "./labels.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const best = topK(new Tensor("float32", [1, 3, 2], [1, 3]), 2, { softmax: true });
 * console.log(best[0].index, best[0].probability); // 1 0.665...
 * ```
 */
export function topK(scores: Tensor, k: number, options?: TopKOptions): TopKEntry[] {
  return topKRows(scores, k, options).flat();
}
