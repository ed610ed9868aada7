/**
 * Pooling: MaxPool (with the Indices output), AveragePool, LpPool, their Global variants,
 * MaxUnpool, MaxRoiPool and RoiAlign, over any number of spatial dims.
 *
 * Windowed pools precompute, once per call, the list of in-bounds input offsets of every
 * output position (shared by all N x C planes), so the per-plane loops are flat.
 *
 * @module
 */

import type { DataType, NumericArray } from "../pipeline/tensor/dtype.ts";
import { isPackedFloat } from "../pipeline/tensor/dtype.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { Dim, ValueType } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import {
  computeBuffer,
  floatResult,
  floatView,
  inferElem,
  inferShape,
  inferWindowDims,
  requireFloat,
  windowAttrs,
  type WindowShape,
  windowShape,
} from "./conv.ts";
import { maxpool2dWasm } from "../pipeline/run/cpu/wasm/conv.ts";
import { numbersOf, optionalTensorAt, shapeSize, tensorAt, toIntArray } from "./util.ts";

/** Per-output-position input offsets of a pooling window, shared by every plane. */
interface PoolPlan {
  /** Output spatial dims. */
  out: number[];
  /** `offs[starts[p]..starts[p+1])` are the in-bounds input offsets of output `p`. */
  starts: Int32Array;
  /** Row-major spatial offsets into an input plane. */
  offs: Int32Array;
  /** Window positions inside the padded extent [-padBegin, in + padEnd), per output. */
  padCount: Int32Array;
}

function buildPlan(
  inSp: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
  padsBegin: readonly number[],
  padsEnd: readonly number[],
  out: readonly number[],
): PoolPlan {
  const r = inSp.length;
  // Per dim: valid input coordinates of each output index, and padded-extent counts.
  const dimStart: Int32Array[] = [];
  const dimIdx: Int32Array[] = [];
  const dimPad: Int32Array[] = [];
  for (let d = 0; d < r; d++) {
    const starts = new Int32Array(out[d] + 1);
    const idx: number[] = [];
    const pad = new Int32Array(out[d]);
    for (let o = 0; o < out[d]; o++) {
      starts[o] = idx.length;
      let cnt = 0;
      for (let k = 0; k < kernel[d]; k++) {
        const c = o * strides[d] - padsBegin[d] + k * dilations[d];
        if (c >= -padsBegin[d] && c < inSp[d] + padsEnd[d]) cnt++;
        if (c >= 0 && c < inSp[d]) idx.push(c);
      }
      pad[o] = cnt;
    }
    starts[out[d]] = idx.length;
    dimStart.push(starts);
    dimIdx.push(Int32Array.from(idx));
    dimPad.push(pad);
  }
  const outSize = shapeSize(out);
  const inStrides = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    inStrides[d] = acc;
    acc *= inSp[d];
  }
  const starts = new Int32Array(outSize + 1);
  const padCount = new Int32Array(outSize);
  let total = 0;
  const o = new Int32Array(r);
  for (let p = 0; p < outSize; p++) {
    let n = 1, pc = 1;
    for (let d = 0; d < r; d++) {
      n *= dimStart[d][o[d] + 1] - dimStart[d][o[d]];
      pc *= dimPad[d][o[d]];
    }
    starts[p] = total;
    padCount[p] = pc;
    total += n;
    for (let d = r - 1; d >= 0; d--) {
      if (++o[d] < out[d]) break;
      o[d] = 0;
    }
  }
  starts[outSize] = total;
  const offs = new Int32Array(total);
  o.fill(0);
  const pick = new Int32Array(r);
  let w = 0;
  for (let p = 0; p < outSize; p++) {
    const count = starts[p + 1] - starts[p];
    pick.fill(0);
    for (let t = 0; t < count; t++) {
      let off = 0;
      for (let d = 0; d < r; d++) off += dimIdx[d][dimStart[d][o[d]] + pick[d]] * inStrides[d];
      offs[w++] = off;
      for (let d = r - 1; d >= 0; d--) {
        if (++pick[d] < dimStart[d][o[d] + 1] - dimStart[d][o[d]]) break;
        pick[d] = 0;
      }
    }
    for (let d = r - 1; d >= 0; d--) {
      if (++o[d] < out[d]) break;
      o[d] = 0;
    }
  }
  return { out: [...out], starts, offs, padCount };
}

/** The resolved window of a pooling node: kernel, strides, dilations, pads and output size. */
interface PoolWindow {
  kernel: number[];
  strides: number[];
  dilations: number[];
  ws: WindowShape;
}

/** Reads the window attributes of a pooling node. */
function poolWindow(
  ctx: OpContext,
  x: Tensor,
  useDilations: boolean,
  useCeil: boolean,
): PoolWindow {
  const r = x.dims.length - 2;
  if (r < 1) throw ctx.fail(`X must have at least 3 dimensions, got [${x.dims}]`);
  const a = windowAttrs(ctx, r);
  const dil = useDilations ? a.dilations : new Array<number>(r).fill(1);
  const inSp = x.dims.slice(2);
  const ws = windowShape(inSp, a.kernel, a.strides, dil, {
    autoPad: ctx.attrs.string("auto_pad", "NOTSET"),
    pads: a.pads,
    ceilMode: useCeil && ctx.attrs.int("ceil_mode", 0) !== 0,
  });
  if (typeof ws === "string") throw ctx.fail(ws);
  return { kernel: a.kernel, strides: a.strides, dilations: dil, ws };
}

/** Reads the window attributes of a pooling node and builds its plan. */
function poolPlan(ctx: OpContext, x: Tensor, useDilations: boolean, useCeil: boolean): PoolPlan {
  const w = poolWindow(ctx, x, useDilations, useCeil);
  const { ws } = w;
  return buildPlan(
    x.dims.slice(2),
    w.kernel,
    w.strides,
    w.dilations,
    ws.padsBegin,
    ws.padsEnd,
    ws.out,
  );
}

/** Numeric view of an input for pooling (int8/uint8 and floats). */
function poolInput(ctx: OpContext, x: Tensor, allowInt8: boolean): NumericArray {
  if (allowInt8 && (x.type === "int8" || x.type === "uint8")) return x.data as NumericArray;
  requireFloat(ctx, x, "X");
  return floatView(x);
}

function poolOutput(type: DataType, size: number): NumericArray {
  if (type === "int8") return new Int8Array(size);
  if (type === "uint8") return new Uint8Array(size);
  return computeBuffer(type === "float64" ? "float64" : "float32", size);
}

function wrap(type: DataType, data: NumericArray, dims: number[]): Tensor {
  if (isPackedFloat(type)) return floatResult(type, data as Float32Array, dims);
  return new Tensor(type, data, dims);
}

// ---------------------------------------------------------------------------------------------
// MaxPool / AveragePool / LpPool
// ---------------------------------------------------------------------------------------------

const maxPoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const xd = poolInput(ctx, x, ctx.version >= 12);
  if (x.type === "float32" && x.dims.length === 4 && !(ctx.version >= 8 && ctx.wantsOutput(1))) {
    // 2-D float32 without indices: vectorized rows on the WebAssembly kernel module.
    const w = poolWindow(ctx, x, ctx.version >= 10, ctx.version >= 10);
    const [N, C, H, W] = x.dims;
    const [OH, OW] = w.ws.out;
    const y = new Float32Array(N * C * OH * OW);
    const win = {
      H,
      W,
      OH,
      OW,
      KH: w.kernel[0],
      KW: w.kernel[1],
      SH: w.strides[0],
      SW: w.strides[1],
      DH: w.dilations[0],
      DW: w.dilations[1],
      PH: w.ws.padsBegin[0],
      PW: w.ws.padsBegin[1],
    };
    if (maxpool2dWasm(xd as Float32Array, 0, y, 0, N * C, win)) {
      return [new Tensor("float32", y, [N, C, OH, OW])];
    }
  }
  const plan = poolPlan(ctx, x, ctx.version >= 10, ctx.version >= 10);
  const [N, C] = x.dims;
  const inSize = shapeSize(x.dims.slice(2));
  const outSize = shapeSize(plan.out);
  const planes = N * C;
  const y = poolOutput(x.type, planes * outSize);
  const wantIdx = ctx.version >= 8 && ctx.wantsOutput(1);
  const idx = wantIdx ? new BigInt64Array(planes * outSize) : undefined;
  let colMajor: Int32Array | undefined;
  if (wantIdx && ctx.attrs.int("storage_order", 0) === 1) {
    // Row-major spatial offset -> column-major spatial offset.
    const sp = x.dims.slice(2);
    colMajor = new Int32Array(inSize);
    const c = new Int32Array(sp.length);
    for (let i = 0; i < inSize; i++) {
      let off = 0, mul = 1;
      for (let d = 0; d < sp.length; d++) {
        off += c[d] * mul;
        mul *= sp[d];
      }
      colMajor[i] = off;
      for (let d = sp.length - 1; d >= 0; d--) {
        if (++c[d] < sp[d]) break;
        c[d] = 0;
      }
    }
  }
  const { starts, offs } = plan;
  for (let pl = 0; pl < planes; pl++) {
    const xb = pl * inSize;
    const yb = pl * outSize;
    for (let p = 0; p < outSize; p++) {
      const s = starts[p], e = starts[p + 1];
      let best = -Infinity;
      let bi = -1;
      for (let j = s; j < e; j++) {
        const v = xd[xb + offs[j]];
        if (j === s || v > best || best !== best) {
          best = v;
          bi = offs[j];
        }
      }
      y[yb + p] = best;
      if (idx) {
        idx[yb + p] = bi < 0 ? -1n : BigInt(xb + (colMajor ? colMajor[bi] : bi));
      }
    }
  }
  const dims = [N, C, ...plan.out];
  const outs: Tensor[] = [wrap(x.type, y, dims)];
  if (idx) outs.push(new Tensor("int64", idx, dims));
  return outs;
};

const averagePoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const xd = poolInput(ctx, x, false);
  const plan = poolPlan(ctx, x, ctx.version >= 19, ctx.version >= 10);
  const includePad = ctx.version >= 7 && ctx.attrs.int("count_include_pad", 0) !== 0;
  const [N, C] = x.dims;
  const inSize = shapeSize(x.dims.slice(2));
  const outSize = shapeSize(plan.out);
  const planes = N * C;
  const y = poolOutput(x.type, planes * outSize);
  const { starts, offs, padCount } = plan;
  for (let pl = 0; pl < planes; pl++) {
    const xb = pl * inSize;
    const yb = pl * outSize;
    for (let p = 0; p < outSize; p++) {
      const s = starts[p], e = starts[p + 1];
      let sum = 0;
      for (let j = s; j < e; j++) sum += xd[xb + offs[j]];
      const n = includePad ? padCount[p] : e - s;
      y[yb + p] = n > 0 ? sum / n : NaN;
    }
  }
  return [wrap(x.type, y, [N, C, ...plan.out])];
};

function lpP(ctx: OpContext): number {
  const p = ctx.version < 2 ? ctx.attrs.float("p", 2) : ctx.attrs.int("p", 2);
  if (!(p > 0)) throw ctx.fail(`p must be positive, got ${p}`);
  return p;
}

/** (sum |v|^p)^(1/p) with exact forms for p = 1 and 2. */
function lpNorm(sumPow: number, p: number): number {
  return p === 1 ? sumPow : p === 2 ? Math.sqrt(sumPow) : Math.pow(sumPow, 1 / p);
}

const lpPoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const xd = poolInput(ctx, x, false);
  const plan = poolPlan(ctx, x, ctx.version >= 18, ctx.version >= 18);
  const p = lpP(ctx);
  const [N, C] = x.dims;
  const inSize = shapeSize(x.dims.slice(2));
  const outSize = shapeSize(plan.out);
  const planes = N * C;
  const y = poolOutput(x.type, planes * outSize);
  const { starts, offs } = plan;
  for (let pl = 0; pl < planes; pl++) {
    const xb = pl * inSize;
    const yb = pl * outSize;
    for (let q = 0; q < outSize; q++) {
      let sum = 0;
      for (let j = starts[q]; j < starts[q + 1]; j++) {
        const v = Math.abs(xd[xb + offs[j]]);
        sum += p === 1 ? v : p === 2 ? v * v : Math.pow(v, p);
      }
      y[yb + q] = lpNorm(sum, p);
    }
  }
  return [wrap(x.type, y, [N, C, ...plan.out])];
};

function poolInfer(useCeil: (ctx: InferContext) => boolean, indices: boolean) {
  return (ctx: InferContext): (ValueType | undefined)[] => {
    const elemType = inferElem(ctx, 0);
    const xs = inferShape(ctx, 0);
    let shape: Dim[] | undefined;
    if (xs && xs.length >= 3) {
      const kernel = ctx.attrs.has("kernel_shape") ? ctx.attrs.ints("kernel_shape") : undefined;
      const ceil = useCeil(ctx) && ctx.attrs.int("ceil_mode", 0) !== 0;
      shape = [xs[0], xs[1], ...inferWindowDims(ctx, xs.slice(2), kernel, ceil)];
    }
    const out: ValueType[] = [{ kind: "tensor", elemType, shape }];
    if (indices && ctx.version >= 8) out.push({ kind: "tensor", elemType: "int64", shape });
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Global pools
// ---------------------------------------------------------------------------------------------

function globalPool(kind: "max" | "avg" | "lp"): OpDef["cpu"] {
  return (ctx, inputs) => {
    const x = tensorAt(ctx, inputs, 0);
    requireFloat(ctx, x, "X");
    if (x.dims.length < 2) throw ctx.fail(`X must have at least 2 dimensions, got [${x.dims}]`);
    const xd = floatView(x);
    const [N, C] = x.dims;
    const inSize = shapeSize(x.dims.slice(2));
    const planes = N * C;
    const y = computeBuffer(x.type === "float64" ? "float64" : "float32", planes);
    const p = kind === "lp" ? lpP(ctx) : 0;
    for (let pl = 0; pl < planes; pl++) {
      const b = pl * inSize;
      if (kind === "max") {
        let best = inSize > 0 ? xd[b] : -Infinity;
        for (let i = 1; i < inSize; i++) {
          const v = xd[b + i];
          if (v > best || best !== best) best = v;
        }
        y[pl] = best;
      } else if (kind === "avg") {
        let s = 0;
        for (let i = 0; i < inSize; i++) s += xd[b + i];
        y[pl] = s / inSize;
      } else {
        let s = 0;
        for (let i = 0; i < inSize; i++) {
          const v = Math.abs(xd[b + i]);
          s += p === 2 ? v * v : Math.pow(v, p);
        }
        y[pl] = lpNorm(s, p);
      }
    }
    return [floatResult(x.type, y, [N, C, ...x.dims.slice(2).map(() => 1)])];
  };
}

function globalInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  return [{
    kind: "tensor",
    elemType,
    shape: xs ? [xs[0], xs[1], ...xs.slice(2).map(() => 1)] : undefined,
  }];
}

// ---------------------------------------------------------------------------------------------
// MaxUnpool
// ---------------------------------------------------------------------------------------------

const maxUnpoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const ind = tensorAt(ctx, inputs, 1);
  const shapeT = optionalTensorAt(ctx, inputs, 2);
  requireFloat(ctx, x, "X");
  if (ind.type !== "int64") throw ctx.fail(`I must be int64, got ${ind.type}`);
  if (ind.size !== x.size) throw ctx.fail(`I [${ind.dims}] must have X's shape [${x.dims}]`);
  const r = x.dims.length - 2;
  if (r < 1) throw ctx.fail(`X must have at least 3 dimensions, got [${x.dims}]`);
  const a = windowAttrs(ctx, r);
  const pads = a.pads && a.pads.length ? a.pads : new Array<number>(2 * r).fill(0);
  const [N, C] = x.dims;
  const inSp = x.dims.slice(2);
  const defSp = inSp.map((d, i) => (d - 1) * a.strides[i] + a.kernel[i] - pads[i] - pads[i + r]);
  let outSp = defSp;
  if (shapeT) {
    const s = toIntArray(shapeT);
    if (s.length !== r + 2) throw ctx.fail(`output_shape must have ${r + 2} values, got [${s}]`);
    if (s[0] !== N || s[1] !== C) throw ctx.fail(`output_shape [${s}] must keep N and C of X`);
    outSp = s.slice(2);
  }
  if (defSp.some((d) => d < 0) || outSp.some((d) => d < 0)) {
    throw ctx.fail("output size is negative");
  }
  const defSize = shapeSize(defSp);
  const outSize = shapeSize(outSp);
  const inSize = shapeSize(inSp);
  const xd = floatView(x);
  const id = ind.data as BigInt64Array;
  const y = computeBuffer(x.type === "float64" ? "float64" : "float32", N * C * outSize);
  const coord = new Int32Array(r);
  for (let pl = 0; pl < N * C; pl++) {
    for (let i = 0; i < inSize; i++) {
      const t = Number(id[pl * inSize + i]);
      if (!Number.isFinite(t) || t < 0) throw ctx.fail(`index ${t} is negative`);
      let within = defSize > 0 ? t % defSize : 0;
      for (let d = r - 1; d >= 0; d--) {
        coord[d] = within % defSp[d];
        within = Math.floor(within / defSp[d]);
      }
      let off = 0;
      let inside = true;
      for (let d = 0; d < r; d++) {
        if (coord[d] >= outSp[d]) inside = false;
        off = off * outSp[d] + coord[d];
      }
      if (!inside) throw ctx.fail(`index ${t} falls outside the output shape [${outSp}]`);
      y[pl * outSize + off] = xd[pl * inSize + i];
    }
  }
  return [floatResult(x.type, y, [N, C, ...outSp])];
};

function maxUnpoolInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const st = ctx.hasInput(2) ? ctx.constant(2) : undefined;
  if (st) return [{ kind: "tensor", elemType, shape: toIntArray(st) }];
  if (ctx.hasInput(2) || !xs || xs.length < 3) return [{ kind: "tensor", elemType }];
  const r = xs.length - 2;
  const kernel = ctx.attrs.ints("kernel_shape", []);
  const strides = ctx.attrs.ints("strides", new Array<number>(r).fill(1));
  const pads = ctx.attrs.ints("pads", new Array<number>(2 * r).fill(0));
  const sp = xs.slice(2).map((d, i) =>
    typeof d === "number" && kernel.length === r
      ? (d - 1) * strides[i] + kernel[i] - pads[i] - pads[i + r]
      : undefined
  );
  return [{ kind: "tensor", elemType, shape: [xs[0], xs[1], ...sp] }];
}

// ---------------------------------------------------------------------------------------------
// MaxRoiPool
// ---------------------------------------------------------------------------------------------

/** std::round: halves away from zero. */
function roundHalfAway(v: number): number {
  return v >= 0 ? Math.floor(v + 0.5) : -Math.floor(-v + 0.5);
}

const maxRoiPoolCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const rois = tensorAt(ctx, inputs, 1);
  requireFloat(ctx, x, "X");
  if (x.dims.length !== 4) throw ctx.fail(`X must be 4-D, got [${x.dims}]`);
  if (rois.dims.length !== 2 || rois.dims[1] !== 5) {
    throw ctx.fail(`rois must have shape [num_rois, 5], got [${rois.dims}]`);
  }
  const pooled = ctx.attrs.ints("pooled_shape");
  if (pooled.length !== 2 || pooled.some((v) => v < 1)) {
    throw ctx.fail(`pooled_shape must be two positive values, got [${pooled}]`);
  }
  const scale = ctx.attrs.float("spatial_scale", 1);
  const [N, C, H, W] = x.dims;
  const [PH, PW] = pooled;
  const R = rois.dims[0];
  const xd = floatView(x);
  const rd = numbersOf(rois);
  const y = computeBuffer(x.type === "float64" ? "float64" : "float32", R * C * PH * PW);
  for (let ri = 0; ri < R; ri++) {
    const b = rd[ri * 5];
    if (!(b >= 0 && b < N) || !Number.isInteger(b)) {
      throw ctx.fail(`roi ${ri} has batch index ${b}`);
    }
    const x1 = roundHalfAway(rd[ri * 5 + 1] * scale);
    const y1 = roundHalfAway(rd[ri * 5 + 2] * scale);
    const x2 = roundHalfAway(rd[ri * 5 + 3] * scale);
    const y2 = roundHalfAway(rd[ri * 5 + 4] * scale);
    const rh = Math.max(y2 - y1 + 1, 1);
    const rw = Math.max(x2 - x1 + 1, 1);
    const bh = rh / PH;
    const bw = rw / PW;
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let ph = 0; ph < PH; ph++) {
        const hs = Math.min(Math.max(Math.floor(ph * bh) + y1, 0), H);
        const he = Math.min(Math.max(Math.ceil((ph + 1) * bh) + y1, 0), H);
        for (let pw = 0; pw < PW; pw++) {
          const ws = Math.min(Math.max(Math.floor(pw * bw) + x1, 0), W);
          const we = Math.min(Math.max(Math.ceil((pw + 1) * bw) + x1, 0), W);
          let best = -Infinity;
          const empty = he <= hs || we <= ws;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const v = xd[plane + h * W + w];
              if (v > best) best = v;
            }
          }
          y[((ri * C + c) * PH + ph) * PW + pw] = empty ? 0 : best;
        }
      }
    }
  }
  return [floatResult(x.type, y, [R, C, PH, PW])];
};

function maxRoiPoolInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const rs = inferShape(ctx, 1);
  const pooled = ctx.attrs.ints("pooled_shape", []);
  if (pooled.length !== 2) return [{ kind: "tensor", elemType }];
  return [{ kind: "tensor", elemType, shape: [rs?.[0], xs?.[1], pooled[0], pooled[1]] }];
}

// ---------------------------------------------------------------------------------------------
// RoiAlign
// ---------------------------------------------------------------------------------------------

const roiAlignCpu: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  const rois = tensorAt(ctx, inputs, 1);
  const bi = tensorAt(ctx, inputs, 2);
  requireFloat(ctx, x, "X");
  if (x.dims.length !== 4) throw ctx.fail(`X must be 4-D, got [${x.dims}]`);
  if (rois.dims.length !== 2 || rois.dims[1] !== 4) {
    throw ctx.fail(`rois must have shape [num_rois, 4], got [${rois.dims}]`);
  }
  const R = rois.dims[0];
  if (bi.size !== R) throw ctx.fail(`batch_indices must have ${R} elements, got [${bi.dims}]`);
  const mode = ctx.attrs.string("mode", "avg");
  if (mode !== "avg" && mode !== "max") throw ctx.fail(`mode must be avg or max, got "${mode}"`);
  const PH = ctx.attrs.int("output_height", 1);
  const PW = ctx.attrs.int("output_width", 1);
  const ratio = ctx.attrs.int("sampling_ratio", 0);
  const scale = ctx.attrs.float("spatial_scale", 1);
  const ctm = ctx.version >= 16
    ? ctx.attrs.string("coordinate_transformation_mode", "half_pixel")
    : "output_half_pixel";
  if (ctm !== "half_pixel" && ctm !== "output_half_pixel") {
    throw ctx.fail(
      `coordinate_transformation_mode "${ctm}" is not half_pixel or output_half_pixel`,
    );
  }
  const halfPixel = ctm === "half_pixel";
  const [N, C, H, W] = x.dims;
  const xd = floatView(x);
  const rd = numbersOf(rois);
  const bd = toIntArray(bi);
  const y = computeBuffer(x.type === "float64" ? "float64" : "float32", R * C * PH * PW);
  for (let ri = 0; ri < R; ri++) {
    const b = bd[ri];
    if (!(b >= 0 && b < N)) throw ctx.fail(`roi ${ri} has batch index ${b}, outside [0, ${N})`);
    const off = halfPixel ? 0.5 : 0;
    const sw = rd[ri * 4] * scale - off;
    const sh = rd[ri * 4 + 1] * scale - off;
    const ew = rd[ri * 4 + 2] * scale - off;
    const eh = rd[ri * 4 + 3] * scale - off;
    let rw = ew - sw;
    let rh = eh - sh;
    if (!halfPixel) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = rh / PH;
    const bw = rw / PW;
    const gh = ratio > 0 ? ratio : Math.ceil(rh / PH);
    const gw = ratio > 0 ? ratio : Math.ceil(rw / PW);
    const count = Math.max(gh * gw, 1);
    // Precompute the 4 taps of every sample point, shared by all channels.
    const nSamples = PH * PW * gh * gw;
    const pos = new Int32Array(nSamples * 4);
    const wts = new Float64Array(nSamples * 4);
    let s = 0;
    for (let ph = 0; ph < PH; ph++) {
      for (let pw = 0; pw < PW; pw++) {
        for (let iy = 0; iy < gh; iy++) {
          const yy0 = sh + ph * bh + (iy + 0.5) * bh / gh;
          for (let ix = 0; ix < gw; ix++, s++) {
            let xx = sw + pw * bw + (ix + 0.5) * bw / gw;
            let yy = yy0;
            if (yy < -1 || yy > H || xx < -1 || xx > W) continue; // all-zero weights
            if (yy < 0) yy = 0;
            if (xx < 0) xx = 0;
            let yl = Math.trunc(yy), xl = Math.trunc(xx);
            let yh: number, xh: number;
            if (yl >= H - 1) {
              yh = yl = H - 1;
              yy = yl;
            } else yh = yl + 1;
            if (xl >= W - 1) {
              xh = xl = W - 1;
              xx = xl;
            } else xh = xl + 1;
            const ly = yy - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
            const q = s * 4;
            pos[q] = yl * W + xl;
            pos[q + 1] = yl * W + xh;
            pos[q + 2] = yh * W + xl;
            pos[q + 3] = yh * W + xh;
            wts[q] = hy * hx;
            wts[q + 1] = hy * lx;
            wts[q + 2] = ly * hx;
            wts[q + 3] = ly * lx;
          }
        }
      }
    }
    const per = gh * gw;
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let bin = 0; bin < PH * PW; bin++) {
        let v = 0;
        for (let k = 0; k < per; k++) {
          const q = (bin * per + k) * 4;
          if (mode === "avg") {
            v += wts[q] * xd[plane + pos[q]] + wts[q + 1] * xd[plane + pos[q + 1]] +
              wts[q + 2] * xd[plane + pos[q + 2]] + wts[q + 3] * xd[plane + pos[q + 3]];
          } else {
            const m = Math.max(
              wts[q] * xd[plane + pos[q]],
              wts[q + 1] * xd[plane + pos[q + 1]],
              wts[q + 2] * xd[plane + pos[q + 2]],
              wts[q + 3] * xd[plane + pos[q + 3]],
            );
            v = k === 0 ? m : Math.max(v, m);
          }
        }
        y[(ri * C + c) * PH * PW + bin] = mode === "avg" ? v / count : v;
      }
    }
  }
  return [floatResult(x.type, y, [R, C, PH, PW])];
};

function roiAlignInfer(ctx: InferContext): (ValueType | undefined)[] {
  const elemType = inferElem(ctx, 0);
  const xs = inferShape(ctx, 0);
  const rs = inferShape(ctx, 1);
  return [{
    kind: "tensor",
    elemType,
    shape: [
      rs?.[0],
      xs?.[1],
      ctx.attrs.int("output_height", 1),
      ctx.attrs.int("output_width", 1),
    ],
  }];
}

/** The pooling family. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "MaxPool",
    versions: [1, 8, 10, 11, 12, 22],
    cpu: maxPoolCpu,
    infer: poolInfer((c) => c.version >= 10, true),
  },
  {
    domain: "",
    opType: "AveragePool",
    versions: [1, 7, 10, 11, 19, 22],
    cpu: averagePoolCpu,
    infer: poolInfer((c) => c.version >= 10, false),
  },
  {
    domain: "",
    opType: "LpPool",
    versions: [1, 2, 11, 18, 22],
    cpu: lpPoolCpu,
    infer: poolInfer((c) => c.version >= 18, false),
  },
  {
    domain: "",
    opType: "GlobalMaxPool",
    versions: [1, 22],
    cpu: globalPool("max"),
    infer: globalInfer,
  },
  {
    domain: "",
    opType: "GlobalAveragePool",
    versions: [1, 22],
    cpu: globalPool("avg"),
    infer: globalInfer,
  },
  {
    domain: "",
    opType: "GlobalLpPool",
    versions: [1, 2, 22],
    cpu: globalPool("lp"),
    infer: globalInfer,
  },
  {
    domain: "",
    opType: "MaxUnpool",
    versions: [9, 11, 22],
    cpu: maxUnpoolCpu,
    infer: maxUnpoolInfer,
    hostInputs: [2],
  },
  {
    domain: "",
    opType: "MaxRoiPool",
    versions: [1, 22],
    cpu: maxRoiPoolCpu,
    infer: maxRoiPoolInfer,
  },
  {
    domain: "",
    opType: "RoiAlign",
    versions: [10, 16, 22],
    cpu: roiAlignCpu,
    infer: roiAlignInfer,
  },
];
