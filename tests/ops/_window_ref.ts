/**
 * Naive reference implementations used by the convolution and pooling tests: direct
 * transcriptions of the ONNX definitions (one loop per index), independent of the kernels'
 * im2col/GEMM paths.
 *
 * @module
 */

/** Row-major multi-index iteration over `dims`, calling `f` with the index array. */
export function forEachIndex(dims: readonly number[], f: (idx: number[]) => void): void {
  const n = dims.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    f(idx);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

/** Flat row-major offset of `idx` in `dims`. */
export function flat(dims: readonly number[], idx: readonly number[]): number {
  let o = 0;
  for (let d = 0; d < dims.length; d++) o = o * dims[d] + idx[d];
  return o;
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randoms(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s / 2 ** 31 - 1);
  }
  return out;
}

/** Geometry of a naive convolution. */
export interface NaiveConv {
  group: number;
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  out: number[];
}

/** Direct N-D convolution: y[n,m,o] = b[m] + sum_{c,k} x[n,c,o*s-p+k*d] w[m,c,k]. */
export function naiveConv(
  x: number[],
  xd: number[],
  w: number[],
  wd: number[],
  b: number[] | undefined,
  g: NaiveConv,
): number[] {
  const [N, C] = xd;
  const M = wd[0];
  const Cg = C / g.group, Mg = M / g.group;
  const r = xd.length - 2;
  const yd = [N, M, ...g.out];
  const y = new Array<number>(yd.reduce((a, v) => a * v, 1)).fill(0);
  forEachIndex(yd, (yi) => {
    const [n, m] = yi;
    const gi = Math.floor(m / Mg);
    let s = b ? b[m] : 0;
    for (let cl = 0; cl < Cg; cl++) {
      forEachIndex(wd.slice(2), (k) => {
        const coord: number[] = [];
        for (let d = 0; d < r; d++) {
          coord.push(yi[2 + d] * g.strides[d] - g.padsBegin[d] + k[d] * g.dilations[d]);
        }
        if (coord.some((c, d) => c < 0 || c >= xd[2 + d])) return;
        s += x[flat(xd, [n, gi * Cg + cl, ...coord])] * w[flat(wd, [m, cl, ...k])];
      });
    }
    y[flat(yd, yi)] = s;
  });
  return y;
}

/** Direct N-D transposed convolution by scattering every input element. */
export function naiveConvTranspose(
  x: number[],
  xd: number[],
  w: number[],
  wd: number[],
  b: number[] | undefined,
  g: NaiveConv,
): number[] {
  const [N, C] = xd;
  const Mg = wd[1];
  const M = Mg * g.group;
  const Cg = C / g.group;
  const r = xd.length - 2;
  const yd = [N, M, ...g.out];
  const y = new Array<number>(yd.reduce((a, v) => a * v, 1)).fill(0);
  if (b) forEachIndex(yd, (yi) => (y[flat(yd, yi)] = b[yi[1]]));
  forEachIndex(xd, (xi) => {
    const [n, c] = xi;
    const gi = Math.floor(c / Cg);
    for (let mo = 0; mo < Mg; mo++) {
      forEachIndex(wd.slice(2), (k) => {
        const coord: number[] = [];
        for (let d = 0; d < r; d++) {
          coord.push(xi[2 + d] * g.strides[d] - g.padsBegin[d] + k[d] * g.dilations[d]);
        }
        if (coord.some((v, d) => v < 0 || v >= g.out[d])) return;
        y[flat(yd, [n, gi * Mg + mo, ...coord])] += x[flat(xd, xi)] * w[flat(wd, [c, mo, ...k])];
      });
    }
  });
  return y;
}

/** Asserts two numeric arrays agree within tolerance, naming the first bad element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e))) && !(Number.isNaN(a) && Number.isNaN(e))) {
      throw new Error(`element ${i}: ${a} != expected ${e}`);
    }
  }
}
