/**
 * Sampling: GridSample (opsets 16, 20, 22: nearest / n-linear / cubic with zeros, border and
 * reflection padding, any number of spatial dims from 20) and AffineGrid (20).
 *
 * GridSample resolves, once per output position, the taps (input offsets and weights) of the
 * interpolation, then applies them to every channel.
 *
 * @module
 */

import { allocate, isBig, isPackedFloat, type TensorData } from "../pipeline/tensor/dtype.ts";
import { fromNumbers, Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpDef } from "./types.ts";
import {
  computeBuffer,
  floatResult,
  floatView,
  inferElem,
  inferShape,
  requireFloat,
} from "./conv.ts";
import { numbersOf, shapeSize, stridesOf, tensorAt, toIntArray } from "./util.ts";

type Padding = "zeros" | "border" | "reflection";

/** Reflects `x` into [lo, hi] by repeated mirroring at the borders. */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Round half to even (numpy rint). */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function cubicCoeffs(t: number, out: Float64Array): void {
  const A = -0.75;
  const x = Math.abs(t);
  const x1 = x + 1, x2 = 1 - x, x3 = 2 - x;
  out[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
  out[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  out[2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
  out[3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
}

const gridSampleCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const grid = tensorAt(ctx, inputs, 1);
  requireFloat(ctx, grid, "grid");
  const r = x.dims.length - 2;
  if (r < 1) throw ctx.fail(`X must have at least 3 dimensions, got [${x.dims}]`);
  if (ctx.version < 20 && r !== 2) {
    throw ctx.fail(`GridSample-16 needs a 4-D input, got [${x.dims}]`);
  }
  if (grid.dims.length !== r + 2 || grid.dims[0] !== x.dims[0] || grid.dims[r + 1] !== r) {
    throw ctx.fail(
      `grid must have shape [N, ...${r} dims, ${r}], got [${grid.dims}] for X [${x.dims}]`,
    );
  }
  let mode = ctx.attrs.string("mode", ctx.version < 20 ? "bilinear" : "linear");
  if (mode === "bilinear") mode = "linear";
  if (mode === "bicubic") mode = "cubic";
  if (mode !== "linear" && mode !== "nearest" && mode !== "cubic") {
    throw ctx.fail(`mode "${mode}" is not linear, nearest or cubic`);
  }
  const padding = ctx.attrs.string("padding_mode", "zeros") as Padding;
  if (padding !== "zeros" && padding !== "border" && padding !== "reflection") {
    throw ctx.fail(`padding_mode "${padding}" is not zeros, border or reflection`);
  }
  const align = ctx.attrs.int("align_corners", 0) !== 0;
  const [N, C] = x.dims;
  const inSp = x.dims.slice(2);
  const outSp = grid.dims.slice(1, r + 1);
  const inSize = shapeSize(inSp);
  const outSize = shapeSize(outSp);
  const inStrides = stridesOf(inSp);
  const outDims = [N, C, ...outSp];
  const type = x.type;
  const numeric = type !== "string" && type !== "complex64" && type !== "complex128";
  if (mode !== "nearest" && (!numeric || type === "bool")) {
    throw ctx.unsupported(`GridSample ${mode} of ${type} elements`, type);
  }
  if (inSize === 0 && N * C * outSize > 0) {
    throw ctx.fail(`cannot sample the empty input [${x.dims}]`);
  }
  const gd = numbersOf(grid);
  const f32 = grid.type !== "float64";
  const fr = f32 ? Math.fround : (v: number) => v;
  const lo = inSp.map(() => (align ? 0 : -0.5));
  const hi = inSp.map((d) => (align ? d - 1 : d - 0.5));
  const tapsPerDim = mode === "nearest" ? 1 : mode === "linear" ? 2 : 4;
  // Per output position: resolved taps (offset, weight); -1 offsets read zero.
  const combos = tapsPerDim ** r;
  const dimIdx = new Int32Array(r * tapsPerDim);
  const dimW = new Float64Array(r * tapsPerDim);
  const cc = new Float64Array(4);
  const tapOff = new Int32Array(combos);
  const tapW = new Float64Array(combos);
  const coord = new Float64Array(r);
  const pick = new Int32Array(r);
  /** Resolves an integer index along dim d by the padding rule (-1 = reads zero). */
  const resolve = (i: number, d: number): number => {
    const len = inSp[d];
    if (padding === "zeros") return i >= 0 && i < len ? i : -1;
    if (padding === "border") return i < 0 ? 0 : i >= len ? len - 1 : i;
    const v = Math.trunc(reflect(i, lo[d], hi[d]));
    return v < 0 ? 0 : v >= len ? len - 1 : v;
  };
  // Nearest moves elements (any type); linear and cubic compute in float64.
  let yNum: Float64Array | undefined;
  let yAny: { [i: number]: unknown } | undefined;
  let xNum: ArrayLike<number> | undefined;
  if (mode === "nearest") {
    yAny = allocate(type, N * C * outSize) as unknown as { [i: number]: unknown };
  } else {
    xNum = numbersOf(x);
    yNum = new Float64Array(N * C * outSize);
  }
  const src = x.data as unknown as { [i: number]: unknown };
  const slots = type === "complex64" || type === "complex128" ? 2 : 1;
  const zero: unknown = type === "string" ? "" : isBig(type) ? 0n : 0;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < outSize; p++) {
      const g = (n * outSize + p) * r;
      for (let d = 0; d < r; d++) {
        const nv = gd[g + (r - 1 - d)];
        const len = inSp[d];
        let v = align ? fr(fr(fr(nv + 1) / 2) * (len - 1)) : fr(fr(fr(fr(nv + 1) * len) - 1) / 2);
        if (mode === "nearest") v = rint(v);
        if (v < lo[d] || v > hi[d]) {
          if (padding === "border") v = fr(v < 0 ? 0 : v > len - 1 ? len - 1 : v);
          else if (padding === "reflection") v = fr(reflect(v, lo[d], hi[d]));
        }
        coord[d] = v;
      }
      for (let d = 0; d < r; d++) {
        const v = coord[d];
        const q = d * tapsPerDim;
        if (mode === "nearest") {
          dimIdx[q] = resolve(Math.trunc(v), d);
          dimW[q] = 1;
        } else if (mode === "linear") {
          const x0 = Math.floor(v);
          const t = v - x0;
          dimIdx[q] = resolve(x0, d);
          dimIdx[q + 1] = resolve(x0 + 1, d);
          dimW[q] = 1 - t;
          dimW[q + 1] = t;
        } else {
          const x0 = Math.floor(v);
          cubicCoeffs(v - x0, cc);
          for (let k = 0; k < 4; k++) {
            dimIdx[q + k] = resolve(x0 - 1 + k, d);
            dimW[q + k] = cc[k];
          }
        }
      }
      // Combine per-dim taps.
      let nt = 0;
      pick.fill(0);
      for (let c = 0; c < combos; c++) {
        let off = 0;
        let w = 1;
        for (let d = 0; d < r; d++) {
          const q = d * tapsPerDim + pick[d];
          const i = dimIdx[q];
          if (i < 0) {
            off = -1;
            break;
          }
          off += i * inStrides[d];
          w *= dimW[q];
        }
        if (off >= 0) {
          tapOff[nt] = off;
          tapW[nt] = w;
          nt++;
        }
        for (let d = r - 1; d >= 0; d--) {
          if (++pick[d] < tapsPerDim) break;
          pick[d] = 0;
        }
      }
      for (let c = 0; c < C; c++) {
        const plane = (n * C + c) * inSize;
        const o = (n * C + c) * outSize + p;
        if (yNum && xNum) {
          let s = 0;
          for (let t = 0; t < nt; t++) s += tapW[t] * xNum[plane + tapOff[t]];
          yNum[o] = s;
        } else if (yAny) {
          for (let k = 0; k < slots; k++) {
            yAny[o * slots + k] = nt > 0 ? src[(plane + tapOff[0]) * slots + k] : zero;
          }
        }
      }
    }
  }
  if (yAny) return [new Tensor(type, yAny as unknown as TensorData, outDims)];
  const y = yNum!;
  if (type === "float64") return [new Tensor(type, y, outDims)];
  if (type === "float32" || isPackedFloat(type)) {
    return [new Tensor(type, fromNumbers(type, y), outDims)];
  }
  return [new Tensor(type, fromNumbers(type, y), outDims)];
};

function gridSampleInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const gs = inferShape(ctx, 1);
  if (!xs || !gs) return [{ kind: "tensor", elemType }];
  const shape: Dim[] = [xs[0], xs[1], ...gs.slice(1, gs.length - 1)];
  return [{ kind: "tensor", elemType, shape }];
}

// ---------------------------------------------------------------------------------------------
// AffineGrid
// ---------------------------------------------------------------------------------------------

const affineGridCpu: OpDef["cpu"] = (ctx, inputs) => {
  const theta = tensorAt(ctx, inputs, 0);
  const size = toIntArray(tensorAt(ctx, inputs, 1));
  requireFloat(ctx, theta, "theta");
  const align = ctx.attrs.int("align_corners", 0) !== 0;
  if (size.length !== 4 && size.length !== 5) {
    throw ctx.fail(`size must have 4 or 5 values, got [${size}]`);
  }
  const r = size.length - 2;
  const N = size[0];
  if (
    theta.dims.length !== 3 || theta.dims[0] !== N || theta.dims[1] !== r || theta.dims[2] !== r + 1
  ) {
    throw ctx.fail(`theta must have shape [${N}, ${r}, ${r + 1}], got [${theta.dims}]`);
  }
  const sp = size.slice(2);
  if (sp.some((d) => d < 1)) throw ctx.fail(`size has non-positive spatial dims [${size}]`);
  // Base coordinate along each spatial dim.
  const base = sp.map((len) => {
    const a = new Float64Array(len);
    if (align) {
      const step = 2 / (len - 1);
      for (let i = 0; i < len; i++) a[i] = len === 1 ? -1 : -1 + i * step;
    } else {
      const step = 2 / len;
      for (let i = 0; i < len; i++) a[i] = -1 + step / 2 + i * step;
    }
    return a;
  });
  const td = floatView(theta);
  const pts = shapeSize(sp);
  const y = computeBuffer(theta.type === "float64" ? "float64" : "float32", N * pts * r);
  const idx = new Int32Array(r);
  const h = new Float64Array(r + 1);
  for (let n = 0; n < N; n++) {
    idx.fill(0);
    for (let p = 0; p < pts; p++) {
      // Homogeneous point (x, y[, z], 1): x runs along the last spatial dim.
      for (let j = 0; j < r; j++) h[j] = base[r - 1 - j][idx[r - 1 - j]];
      h[r] = 1;
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let k = 0; k <= r; k++) s += td[(n * r + j) * (r + 1) + k] * h[k];
        y[(n * pts + p) * r + j] = s;
      }
      for (let d = r - 1; d >= 0; d--) {
        if (++idx[d] < sp[d]) break;
        idx[d] = 0;
      }
    }
  }
  return [floatResult(theta.type, y, [N, ...sp, r])];
};

function affineGridInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const size = ctx.constant(1);
  if (!size) {
    const ss = inferShape(ctx, 1);
    const n = ss && typeof ss[0] === "number" ? ss[0] : undefined;
    if (n === 4 || n === 5) {
      return [{
        kind: "tensor",
        elemType,
        shape: [...new Array<Dim>(n - 1).fill(undefined), n - 2],
      }];
    }
    return [{ kind: "tensor", elemType }];
  }
  const s = toIntArray(size);
  return [{ kind: "tensor", elemType, shape: [s[0], ...s.slice(2), s.length - 2] }];
}

/** The sampling family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "GridSample",
    versions: [16, 20, 22],
    cpu: gridSampleCpu,
    infer: gridSampleInfer,
  },
  {
    domain: "",
    opType: "AffineGrid",
    versions: [20],
    cpu: affineGridCpu,
    infer: affineGridInfer,
    hostInputs: [1],
  },
];
