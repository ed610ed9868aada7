/**
 * Comparison of runtime values against references with `numpy.testing.assert_allclose`
 * semantics, reporting how far apart they are.
 *
 * @module
 */

import { isBig, isFloat } from "./tensor/dtype.ts";
import {
  dataToNumbers,
  OnnxMap,
  Optional,
  Sequence,
  stridesOf,
  Tensor,
  type Value,
} from "./tensor/tensor.ts";

/** Tolerances of {@link allclose}. */
export interface CompareOptions {
  /** Relative tolerance; default 1e-7 (NumPy's default). */
  rtol?: number;
  /** Absolute tolerance; default 0 (NumPy's default). */
  atol?: number;
  /** Whether NaN equals NaN; default true (NumPy's default). */
  equalNan?: boolean;
}

/** An element value as shown in a comparison report. */
export type CompareScalar = number | bigint | string | boolean | [number, number];

/** The element that misses its tolerance by the most. */
export interface Mismatch {
  /** Where the tensor sits inside nested values, e.g. `[2]` in a sequence; "" at top level. */
  path: string;
  /** Multi-dimensional index within the tensor. */
  index: number[];
  /** Row-major flat index within the tensor. */
  flatIndex: number;
  /** The actual element. */
  actual: CompareScalar;
  /** The expected element. */
  expected: CompareScalar;
}

/** Outcome of {@link allclose}. */
export interface CompareResult {
  /** True when every element is within tolerance and shapes, types and structure agree. */
  ok: boolean;
  /** Largest |actual - expected| over elements where both are finite (0 when none). */
  maxAbsError: number;
  /**
   * Largest |actual - expected| / |expected| over elements where both are finite and
   * expected is not 0 (NumPy's definition); 0 when none.
   */
  maxRelError: number;
  /** Number of elements outside tolerance (a whole tensor counts once on shape/type errors). */
  mismatched: number;
  /** Number of elements compared. */
  total: number;
  /** The worst mismatch, when there is one at element level. */
  worst?: Mismatch;
  /** Structural problem (shape, type, kind, length), when that is why the values differ. */
  structural?: string;
  /** A readable one-paragraph summary. */
  message: string;
}

interface Acc {
  maxAbs: number;
  maxRel: number;
  mismatched: number;
  total: number;
  worst?: Mismatch;
  /** How badly the worst element misses: |a-e| - (atol + rtol |e|), Infinity for NaN/Inf. */
  worstExcess: number;
  structural?: string;
}

function fmtScalar(v: CompareScalar): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) {
    return `(${v[0]}${v[1] < 0 || Object.is(v[1], -0) ? "-" : "+"}${Math.abs(v[1])}j)`;
  }
  return String(v);
}

function unravel(flat: number, dims: readonly number[]): number[] {
  const strides = stridesOf(dims);
  return strides.map((s, i) => Math.floor(flat / s) % (dims[i] || 1));
}

function note(acc: Acc, problem: string, path: string): void {
  const where = path ? `at ${path}: ` : "";
  acc.structural ??= `${where}${problem}`;
  acc.mismatched++;
}

function record(
  acc: Acc,
  excess: number,
  path: string,
  flat: number,
  dims: readonly number[],
  actual: CompareScalar,
  expected: CompareScalar,
): void {
  acc.mismatched++;
  if (acc.worst === undefined || excess > acc.worstExcess) {
    acc.worstExcess = excess;
    acc.worst = { path, index: unravel(flat, dims), flatIndex: flat, actual, expected };
  }
}

function compareTensors(
  a: Tensor,
  e: Tensor,
  path: string,
  acc: Acc,
  rtol: number,
  atol: number,
  equalNan: boolean,
): void {
  if (a.location !== "cpu" || e.location !== "cpu") {
    note(acc, "cannot compare GPU tensors: download their data first", path);
    return;
  }
  if (a.type !== e.type) {
    note(acc, `dtype mismatch: actual ${a.type}, expected ${e.type}`, path);
    return;
  }
  if (a.dims.length !== e.dims.length || a.dims.some((d, i) => d !== e.dims[i])) {
    note(acc, `shape mismatch: actual [${a.dims}], expected [${e.dims}]`, path);
    return;
  }
  const n = a.size;
  acc.total += n;
  const dims = a.dims;
  const type = a.type;
  if (type === "string") {
    const x = a.data as string[];
    const y = e.data as string[];
    for (let i = 0; i < n; i++) {
      if (x[i] !== y[i]) record(acc, Infinity, path, i, dims, x[i], y[i]);
    }
    return;
  }
  if (isBig(type)) {
    const x = a.data as BigInt64Array | BigUint64Array;
    const y = e.data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const d = x[i] > y[i] ? x[i] - y[i] : y[i] - x[i];
      const abs = Number(d);
      if (abs > acc.maxAbs) acc.maxAbs = abs;
      if (y[i] !== 0n) {
        const rel = abs / Math.abs(Number(y[i]));
        if (rel > acc.maxRel) acc.maxRel = rel;
      }
      if (d !== 0n) record(acc, abs, path, i, dims, x[i], y[i]);
    }
    return;
  }
  if (type === "complex64" || type === "complex128") {
    const x = a.data as Float32Array | Float64Array;
    const y = e.data as Float32Array | Float64Array;
    for (let i = 0; i < n; i++) {
      const ar = x[2 * i], ai = x[2 * i + 1], er = y[2 * i], ei = y[2 * i + 1];
      const aNan = Number.isNaN(ar) || Number.isNaN(ai);
      const eNan = Number.isNaN(er) || Number.isNaN(ei);
      let excess: number | undefined;
      if (aNan || eNan) {
        if (!(aNan && eNan && equalNan)) excess = Infinity;
      } else if (![ar, ai, er, ei].every(Number.isFinite)) {
        if (!(ar === er && ai === ei)) excess = Infinity;
      } else {
        const abs = Math.hypot(ar - er, ai - ei);
        const mag = Math.hypot(er, ei);
        if (abs > acc.maxAbs) acc.maxAbs = abs;
        if (mag !== 0 && abs / mag > acc.maxRel) acc.maxRel = abs / mag;
        if (abs > atol + rtol * mag) excess = abs - (atol + rtol * mag);
      }
      if (excess !== undefined) record(acc, excess, path, i, dims, [ar, ai], [er, ei]);
    }
    return;
  }
  const x = dataToNumbers(type, a.data);
  const y = dataToNumbers(type, e.data);
  const exact = !isFloat(type);
  for (let i = 0; i < n; i++) {
    const av = x[i];
    const ev = y[i];
    const show = (v: number): CompareScalar => (type === "bool" ? v !== 0 : v);
    if (exact) {
      const abs = Math.abs(av - ev);
      if (abs > acc.maxAbs) acc.maxAbs = abs;
      if (ev !== 0 && abs / Math.abs(ev) > acc.maxRel) acc.maxRel = abs / Math.abs(ev);
      if (av !== ev) record(acc, abs, path, i, dims, show(av), show(ev));
      continue;
    }
    const aNan = Number.isNaN(av);
    const eNan = Number.isNaN(ev);
    if (aNan || eNan) {
      if (!(aNan && eNan && equalNan)) record(acc, Infinity, path, i, dims, av, ev);
      continue;
    }
    if (!Number.isFinite(av) || !Number.isFinite(ev)) {
      // Infinities are equal only to themselves (same sign); never within any tolerance.
      if (av !== ev) record(acc, Infinity, path, i, dims, av, ev);
      continue;
    }
    const abs = Math.abs(av - ev);
    if (abs > acc.maxAbs) acc.maxAbs = abs;
    if (ev !== 0) {
      const rel = abs / Math.abs(ev);
      if (rel > acc.maxRel) acc.maxRel = rel;
    }
    const tol = atol + rtol * Math.abs(ev);
    if (abs > tol) record(acc, abs - tol, path, i, dims, av, ev);
  }
}

function kindOf(v: Value | undefined): string {
  if (v === undefined) return "nothing";
  if (v instanceof Tensor) return "tensor";
  if (v instanceof Sequence) return "sequence";
  if (v instanceof Optional) return "optional";
  if (v instanceof OnnxMap) return "map";
  return "unknown value";
}

function compareValues(
  a: Value | undefined,
  e: Value | undefined,
  path: string,
  acc: Acc,
  rtol: number,
  atol: number,
  equalNan: boolean,
): void {
  const ka = kindOf(a);
  const ke = kindOf(e);
  if (ka !== ke) {
    note(acc, `kind mismatch: actual is a ${ka}, expected a ${ke}`, path);
    return;
  }
  if (a instanceof Tensor) {
    compareTensors(a, e as Tensor, path, acc, rtol, atol, equalNan);
  } else if (a instanceof Sequence) {
    const es = e as Sequence;
    if (a.values.length !== es.values.length) {
      note(
        acc,
        `sequence length mismatch: actual ${a.values.length}, expected ${es.values.length}`,
        path,
      );
      return;
    }
    a.values.forEach((v, i) =>
      compareValues(v, es.values[i], `${path}[${i}]`, acc, rtol, atol, equalNan)
    );
  } else if (a instanceof Optional) {
    const eo = e as Optional;
    if ((a.value === undefined) !== (eo.value === undefined)) {
      note(
        acc,
        `optional mismatch: actual is ${a.value === undefined ? "empty" : "present"}, expected ${
          eo.value === undefined ? "empty" : "present"
        }`,
        path,
      );
      return;
    }
    if (a.value !== undefined) {
      compareValues(a.value, eo.value, `${path}?`, acc, rtol, atol, equalNan);
    }
  } else if (a instanceof OnnxMap) {
    const em = e as OnnxMap;
    // Keys must match exactly, whatever the tolerances.
    compareValues(a.keys, em.keys, `${path}.keys`, acc, 0, 0, false);
    compareValues(a.values, em.values, `${path}.values`, acc, rtol, atol, equalNan);
  }
}

/**
 * Compares `actual` with `expected` as `numpy.testing.assert_allclose` does, without
 * throwing: shapes and element types must match exactly; floats (float16, bfloat16 and the
 * float8 kinds decoded first) pass when `|actual - expected| <= atol + rtol * |expected|`,
 * with NaN equal to NaN when `equalNan` (the default) and infinities equal only to the same
 * infinity; integers (int64 as exact bigints), bools and strings must be equal; complex
 * numbers use the complex magnitude. Sequences are compared element by element, optionals
 * must both be empty or both hold matching values, and maps need equal keys and close values.
 *
 * Defaults follow NumPy: rtol 1e-7, atol 0. The ONNX backend suite uses rtol 1e-3, atol 1e-7.
 *
 * @example
 * ```ts
 * import { allclose } from "./compare.ts";
 * import { Tensor } from "./tensor/tensor.ts";
 * const r = allclose(new Tensor("float32", [1, 2.0001]), new Tensor("float32", [1, 2]), {
 *   rtol: 1e-3,
 * });
 * console.log(r.ok, r.maxAbsError, r.message);
 * ```
 */
export function allclose(
  actual: Value | undefined,
  expected: Value | undefined,
  options?: CompareOptions,
): CompareResult {
  const rtol = options?.rtol ?? 1e-7;
  const atol = options?.atol ?? 0;
  const equalNan = options?.equalNan ?? true;
  const acc: Acc = {
    maxAbs: 0,
    maxRel: 0,
    mismatched: 0,
    total: 0,
    worstExcess: -Infinity,
  };
  compareValues(actual, expected, "", acc, rtol, atol, equalNan);
  const hasNonFinite = acc.worst !== undefined && acc.worstExcess === Infinity;
  const maxAbsError = hasNonFinite ? Infinity : acc.maxAbs;
  const maxRelError = hasNonFinite ? Infinity : acc.maxRel;
  const ok = acc.mismatched === 0;
  const tolText = `rtol=${rtol}, atol=${atol}`;
  let message: string;
  if (ok) {
    message = `Equal within ${tolText}: ${acc.total} element(s), max abs error ${
      fmtNum(maxAbsError)
    }, max rel error ${fmtNum(maxRelError)}`;
  } else if (acc.structural) {
    message = `Not equal: ${acc.structural}`;
    const others = acc.mismatched - 1;
    if (others > 0) message += `; and ${others} other mismatch(es)`;
  } else {
    const pct = acc.total ? (100 * acc.mismatched) / acc.total : 0;
    const w = acc.worst!;
    const where = `${w.path}[${w.index.join(", ")}]`;
    message =
      `Not equal to tolerance ${tolText}: mismatched elements ${acc.mismatched} / ${acc.total} (${
        fmtNum(pct)
      }%), max abs error ${fmtNum(maxAbsError)}, max rel error ${
        fmtNum(maxRelError)
      }; worst at ${where}: actual ${fmtScalar(w.actual)}, expected ${fmtScalar(w.expected)}`;
  }
  const result: CompareResult = {
    ok,
    maxAbsError,
    maxRelError,
    mismatched: acc.mismatched,
    total: acc.total,
    message,
  };
  if (acc.worst) result.worst = acc.worst;
  if (acc.structural) result.structural = acc.structural;
  return result;
}

function fmtNum(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6
    ? String(Number(x.toPrecision(6)))
    : x.toExponential(5);
}
