/**
 * Calibration for static quantization: runs the float model on sample inputs with chosen
 * intermediate values added as graph outputs, and collects each value's range.
 *
 * Methods:
 * - `minmax`: the smallest and largest value seen over all samples.
 * - `percentile`: a histogram of absolute values (2048 bins, widened by doubling as larger
 *   values arrive) gives the threshold `t` below which `percentile` % of the values lie; the
 *   range is the min/max seen, clipped to [-t, t]. Outliers no longer stretch the range.
 *
 * @module
 */

import type { Model } from "../load/ir.ts";
import { makeValueInfo } from "../load/build.ts";
import type { LoadedModel } from "../load/load.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { InputError, ModelFormatError } from "../errors.ts";
import { InferenceSession } from "../run/session.ts";
import { Tensor, toNumbers, type Value } from "../tensor/tensor.ts";

/** How activation ranges are derived from the calibration data. */
export type CalibrationMethod = "minmax" | "percentile";

/** A value's range: `min ≤ max`. */
export interface TensorRange {
  /** Smallest value kept. */
  min: number;
  /** Largest value kept. */
  max: number;
}

/** Options of {@link calibrateRanges}. */
export interface CalibrationOptions {
  /** Default `minmax`. */
  method?: CalibrationMethod;
  /** For `percentile`: the share of absolute values kept, in (0, 100]; default 99.99. */
  percentile?: number;
  /** Histogram bins for `percentile` (default 2048). */
  bins?: number;
  /** Reads tensors the model keeps in external files. */
  external?: ExternalDataReader;
  /** Called after each sample with the count done and the total. */
  onSample?: (done: number, total: number) => void;
}

/**
 * Accumulates the range of one value over many batches: its min and max and, for the
 * percentile method, a histogram of absolute values.
 */
export class RangeCollector {
  #min = Infinity;
  #max = -Infinity;
  #count = 0;
  #zerosPending = 0;
  #top = 0;
  readonly #hist: Float64Array | undefined;

  /** A collector; `bins` > 0 keeps a histogram (needed for {@link percentileRange}). */
  constructor(bins = 0) {
    this.#hist = bins > 0 ? new Float64Array(bins) : undefined;
  }

  /** Number of finite values seen. */
  get count(): number {
    return this.#count;
  }

  /** Adds values; NaN and infinities are ignored. */
  add(values: ArrayLike<number>): void {
    let mn = this.#min, mx = this.#max, maxAbs = 0, n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      n++;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
      const a = v < 0 ? -v : v;
      if (a > maxAbs) maxAbs = a;
    }
    this.#min = mn;
    this.#max = mx;
    this.#count += n;
    const hist = this.#hist;
    if (!hist || n === 0) return;
    if (this.#top === 0 && maxAbs === 0) {
      this.#zerosPending += n;
      return;
    }
    if (this.#top === 0) {
      this.#top = maxAbs;
      hist[0] += this.#zerosPending;
      this.#zerosPending = 0;
    }
    while (maxAbs > this.#top) this.#widen();
    const B = hist.length;
    const k = B / this.#top;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      const b = Math.floor((v < 0 ? -v : v) * k);
      hist[b >= B ? B - 1 : b]++;
    }
  }

  /** Doubles the histogram's span, merging pairs of bins. */
  #widen(): void {
    const h = this.#hist!;
    const half = h.length >> 1;
    for (let i = 0; i < half; i++) h[i] = h[2 * i] + h[2 * i + 1];
    h.fill(0, half);
    this.#top *= 2;
  }

  /** The smallest and largest values seen ({0, 0} when none). */
  minMax(): TensorRange {
    return this.#count ? { min: this.#min, max: this.#max } : { min: 0, max: 0 };
  }

  /**
   * The range clipped to the threshold below which `percentile` % of the absolute values lie
   * (the upper edge of the histogram bin where that share is reached).
   */
  percentileRange(percentile: number): TensorRange {
    const { min, max } = this.minMax();
    const h = this.#hist;
    if (!h || this.#top === 0 || percentile >= 100) return { min, max };
    const target = (percentile / 100) * this.#count;
    let cum = this.#zerosPending;
    let t = this.#top;
    for (let i = 0; i < h.length; i++) {
      cum += h[i];
      if (cum >= target) {
        t = ((i + 1) / h.length) * this.#top;
        break;
      }
    }
    return { min: Math.max(min, -t), max: Math.min(max, t) };
  }
}

function noExternal(): ExternalDataReader {
  return {
    read(): Uint8Array {
      throw new ModelFormatError(
        "The model keeps tensors in external files, but no external data reader was given",
      );
    },
  };
}

/**
 * Runs `model` on every sample (a feed per model input) and returns the range of each value
 * named in `names` (intermediate values, graph inputs or outputs of float type). Values
 * that no sample produced get no entry.
 */
export async function calibrateRanges(
  model: Model,
  names: readonly string[],
  samples: readonly Record<string, Value>[],
  options: CalibrationOptions = {},
): Promise<Map<string, TensorRange>> {
  const g = model.graph;
  if (!g) throw new InputError("Calibration needs a model with a graph");
  if (!samples.length) throw new InputError("Calibration needs at least one sample");
  const method = options.method ?? "minmax";
  const percentile = options.percentile ?? 99.99;
  if (!(percentile > 0 && percentile <= 100)) {
    throw new InputError(`The calibration percentile must be in (0, 100], got ${percentile}`);
  }
  const bins = method === "percentile" ? options.bins ?? 2048 : 0;
  const inputNames = new Set(g.input.map((i) => i.name));
  const outputNames = new Set(g.output.map((o) => o.name));
  const extra = names.filter((n) => !outputNames.has(n) && !inputNames.has(n));
  const probe: Model = {
    ...model,
    graph: {
      ...g,
      output: [...g.output, ...extra.map((name) => makeValueInfo(name))],
    },
  };
  const loaded: LoadedModel = {
    model: probe,
    source: "<calibration>",
    byteLength: 0,
    external: options.external ?? noExternal(),
  };
  const session = await InferenceSession.create(loaded, { backend: "cpu" });
  const collectors = new Map<string, RangeCollector>();
  for (const n of names) collectors.set(n, new RangeCollector(bins));
  const fetch = names.filter((n) => !inputNames.has(n));
  for (let s = 0; s < samples.length; s++) {
    const feeds = samples[s];
    const out = fetch.length ? await session.run(feeds, fetch) : {};
    for (const n of names) {
      const v = inputNames.has(n) ? feeds[n] : out[n];
      if (v instanceof Tensor && v.type !== "string") collectors.get(n)!.add(toNumbers(v));
    }
    options.onSample?.(s + 1, samples.length);
  }
  await session.release();
  const ranges = new Map<string, TensorRange>();
  for (const [n, c] of collectors) {
    if (!c.count) continue;
    ranges.set(n, method === "percentile" ? c.percentileRange(percentile) : c.minMax());
  }
  return ranges;
}
