/**
 * Data movement on the GPU with `copy.wgsl`: Transpose, Concat, Split, Slice, Expand, Tile,
 * Pad (constant, reflect, edge, wrap; negative pads crop), DepthToSpace and SpaceToDepth.
 * Every op becomes one or more region copies with per-dim read and write strides; adjacent
 * dims that move together are merged first, so most copies run with rank 1 or 2. Elements
 * move as stored: every 4-byte type shares a pipeline, float16 has its own.
 *
 * Values the CPU kernel would reject (bad pads, slice specs, repeats) are checked on the
 * host before anything is encoded; the node then declines to the CPU, which reports them.
 *
 * @module
 */

import { broadcastShapes, broadcastStrides, toIntArray } from "../../../../ops/util.ts";
import type { DataType } from "../../../tensor/dtype.ts";
import { fromNumbers, shapeSize, stridesOf, type Tensor } from "../../../tensor/tensor.ts";
import {
  GpuDecline,
  gpuElem,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  UniformWriter,
} from "../kernel.ts";

const WG = 64;

/** Copy modes of copy.wgsl (`constant` with input extents of 0 fills the whole region). */
export const COPY_MODE = {
  strided: 0,
  tile: 1,
  constant: 2,
  reflect: 3,
  edge: 4,
  wrap: 5,
} as const;
const MODE = COPY_MODE;

/** One region copy: y[writeBase + Σ j·write] = x[readBase + Σ map(j)·read]. */
export interface CopyPlan {
  /** copy.wgsl MODE. */
  mode: number;
  /** Region dims. */
  dims: number[];
  /** Read strides (may be negative). */
  read: number[];
  /** Write strides. */
  write: number[];
  /** Input extents (Tile, Pad). */
  lens?: number[];
  /** Pad before per dim (Pad). */
  pads?: number[];
  /** Read base offset. */
  readBase: number;
  /** Write base offset. */
  writeBase: number;
  /** Fill value bits (Pad constant). */
  fill?: number;
}

/**
 * Drops size-1 dims and merges neighbours whose strides chain in every list, so that a
 * contiguous run becomes one dim.
 */
export function coalesce(
  dims: readonly number[],
  lists: readonly (readonly number[])[],
): { dims: number[]; lists: number[][] } {
  const outDims: number[] = [];
  const outLists: number[][] = lists.map(() => []);
  for (let d = 0; d < dims.length; d++) {
    if (dims[d] === 1) continue;
    const last = outDims.length - 1;
    if (last >= 0 && lists.every((l, i) => outLists[i][last] === l[d] * dims[d])) {
      outDims[last] *= dims[d];
      lists.forEach((l, i) => (outLists[i][last] = l[d]));
      continue;
    }
    outDims.push(dims[d]);
    lists.forEach((l, i) => outLists[i].push(l[d]));
  }
  if (outDims.length === 0) return { dims: [1], lists: lists.map(() => [0]) };
  return { dims: outDims, lists: outLists };
}

/** The storage type a tensor moves as: u32 for 4-byte types, f16 for float16. */
function moveType(k: KernelContext | NodeView, type: DataType): "u32" | "f16" | undefined {
  const e = gpuElem(type, k.info.features.shaderF16);
  if (!e) return undefined;
  return e === "f16" ? "f16" : "u32";
}

/** Encodes one region copy from x into y. */
export async function runCopy(
  k: KernelContext,
  x: Tensor,
  y: Tensor,
  plan: CopyPlan,
): Promise<void> {
  let { dims, read, write } = plan;
  let lens = plan.lens ?? [];
  let pads = plan.pads ?? [];
  if (plan.mode === MODE.strided) {
    const c = coalesce(dims, [read, write]);
    dims = c.dims;
    [read, write] = c.lists;
  } else if (dims.length === 0) {
    dims = [1];
    read = [0];
    write = [0];
    lens = [1];
    pads = [0];
  }
  const count = shapeSize(dims);
  if (count === 0) return;
  if (dims.length > 8) throw new GpuDecline(`a copy of rank ${dims.length} is over 8`);
  const t = moveType(k, x.type)!;
  const pipeline = await k.pipeline({
    shader: "copy",
    aliases: { T: t },
    slots: t === "f16"
      ? { fill: "fn fill_value() -> T {\n  return bitcast<vec2<f16>>(u.sizes.w).x;\n}" }
      : undefined,
    f16: t === "f16",
    constants: { WG, RANK: dims.length, MODE: plan.mode },
    reads: 1,
    writes: 1,
    uniforms: true,
  });
  const i32 = (v: readonly number[]) => v.map((s) => s | 0);
  k.dispatch(pipeline, {
    reads: [x],
    writes: [y],
    uniforms: new UniformWriter()
      .u32(count, plan.readBase | 0, plan.writeBase, plan.fill ?? 0)
      .list8(dims)
      .list8(i32(read))
      .list8(write)
      .list8(lens)
      .list8(i32(pads))
      .finish(),
    groups: k.groups1d(count, WG),
  });
}

/** Checks the data input can move on the GPU; returns a reason when not. */
function movable(node: NodeView, i = 0): true | string {
  const x = node.inputs[i];
  if (!x) return `input ${i} is missing`;
  if (!moveType(node, x.type)) return `input ${i} is ${x.type}`;
  if (x.dims.length > 8) return `rank ${x.dims.length} is over 8`;
  return true;
}

/** A contiguous copy of the permuted x. */
async function transposeInto(
  k: KernelContext,
  x: Tensor,
  dims: readonly number[],
  perm: readonly number[],
  outDims: readonly number[],
): Promise<Tensor> {
  const y = k.output(x.type, outDims);
  const st = stridesOf(dims);
  const od = perm.map((p) => dims[p]);
  await runCopy(k, x, y, {
    mode: MODE.strided,
    dims: od,
    read: perm.map((p) => st[p]),
    write: stridesOf(od),
    readBase: 0,
    writeBase: 0,
  });
  return y;
}

// ---------------------------------------------------------------------------------------------
// Transpose, DepthToSpace, SpaceToDepth
// ---------------------------------------------------------------------------------------------

function permOf(node: { attrs: NodeView["attrs"] }, rank: number): number[] {
  if (!node.attrs.has("perm")) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return node.attrs.ints("perm");
}

function validPerm(perm: readonly number[], rank: number): boolean {
  if (perm.length !== rank) return false;
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= rank || seen.has(p)) return false;
    seen.add(p);
  }
  return true;
}

const transposeKernel: GpuKernel = {
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    const r = node.inputs[0]!.dims.length;
    if (!validPerm(permOf(node, r), r)) return "perm is not a permutation of the axes";
    return true;
  },
  async run(k, [x]) {
    const perm = permOf(k, x!.dims.length);
    return [await transposeInto(k, x!, x!.dims, perm, perm.map((p) => x!.dims[p]))];
  },
};

/** DepthToSpace (DCR, CRD) and SpaceToDepth as 6-D transposes. */
function blockKernel(toSpace: boolean): GpuKernel {
  const layout = (v: number, attrs: NodeView["attrs"], d: readonly number[]) => {
    const b = attrs.int("blocksize", 0);
    const [n, c, h, w] = d;
    if (toSpace) {
      const mode = v >= 11 ? attrs.string("mode", "DCR") : "DCR";
      if (b <= 0 || c % (b * b) !== 0 || (mode !== "DCR" && mode !== "CRD")) return undefined;
      const c2 = c / (b * b);
      return mode === "DCR"
        ? { dims: [n, b, b, c2, h, w], perm: [0, 3, 4, 1, 5, 2], out: [n, c2, h * b, w * b] }
        : { dims: [n, c2, b, b, h, w], perm: [0, 1, 4, 2, 5, 3], out: [n, c2, h * b, w * b] };
    }
    if (b <= 0 || h % b !== 0 || w % b !== 0) return undefined;
    return {
      dims: [n, c, h / b, b, w / b, b],
      perm: [0, 3, 5, 1, 2, 4],
      out: [n, c * b * b, h / b, w / b],
    };
  };
  return {
    supports(node) {
      const ok = movable(node);
      if (ok !== true) return ok;
      const x = node.inputs[0]!;
      if (x.dims.length !== 4) return "input is not 4-D";
      if (!layout(node.version, node.attrs, x.dims)) return "blocksize or mode the CPU rejects";
      return true;
    },
    async run(k, [x]) {
      const l = layout(k.version, k.attrs, x!.dims)!;
      return [await transposeInto(k, x!, l.dims, l.perm, l.out)];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Concat, Split
// ---------------------------------------------------------------------------------------------

function concatAxis(node: { version: number; attrs: NodeView["attrs"] }): number {
  return node.version < 4 ? node.attrs.int("axis", 1) : node.attrs.int("axis", 0);
}

const concatKernel: GpuKernel = {
  supports(node) {
    if (node.inputs.length === 0) return "no inputs";
    if (node.version >= 4 && !node.attrs.has("axis")) return "axis is required";
    for (let i = 0; i < node.inputs.length; i++) {
      const ok = movable(node, i);
      if (ok !== true) return ok;
    }
    const first = node.inputs[0]!;
    const r = first.dims.length;
    if (r === 0) return "scalars cannot be concatenated";
    const a = concatAxis(node);
    if (a < -r || a >= r) return `axis ${a} is out of range`;
    const axis = a < 0 ? a + r : a;
    for (const t of node.inputs) {
      if (t!.type !== first.type) return "inputs mix types";
      if (t!.dims.length !== r || t!.dims.some((d, i) => i !== axis && d !== first.dims[i])) {
        return "input shapes differ outside the axis";
      }
    }
    return true;
  },
  async run(k, inputs) {
    const ts = inputs as Tensor[];
    const r = ts[0].dims.length;
    const a = concatAxis(k);
    const axis = a < 0 ? a + r : a;
    const outDims = [...ts[0].dims];
    outDims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
    const y = k.output(ts[0].type, outDims);
    const ost = stridesOf(outDims);
    let at = 0;
    for (const t of ts) {
      await runCopy(k, t, y, {
        mode: MODE.strided,
        dims: [...t.dims],
        read: stridesOf(t.dims),
        write: ost,
        readBase: 0,
        writeBase: at * ost[axis],
      });
      at += t.dims[axis];
    }
    return [y];
  },
};

function splitSizes(
  dim: number,
  count: number,
  split: number[] | undefined,
  numOutputs: number | undefined,
): number[] | undefined {
  if (split) {
    if (split.length !== count || split.some((s) => s < 0)) return undefined;
    return split.reduce((a, b) => a + b, 0) === dim ? split : undefined;
  }
  if (numOutputs !== undefined) {
    if (numOutputs !== count) return undefined;
    const chunk = Math.ceil(dim / numOutputs);
    const sizes: number[] = [];
    let left = dim;
    for (let i = 0; i < numOutputs; i++) {
      const s = Math.min(chunk, left);
      sizes.push(s);
      left -= s;
    }
    return sizes;
  }
  if (count === 0 || dim % count !== 0) return undefined;
  return new Array<number>(count).fill(dim / count);
}

const splitKernel: GpuKernel = {
  host: [1],
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    const r = node.inputs[0]!.dims.length;
    const a = node.attrs.int("axis", 0);
    if (a < -r || a >= r) return `axis ${a} is out of range`;
    return true;
  },
  async run(k, [x, splitT]) {
    const r = x!.dims.length;
    const a = k.attrs.int("axis", 0);
    const axis = a < 0 ? a + r : a;
    let split: number[] | undefined;
    if ((k.version >= 13 || k.version === 1) && splitT) split = toIntArray(splitT);
    if (!split && k.version < 13 && k.attrs.has("split")) split = k.attrs.ints("split");
    const numOutputs = k.version >= 18 && k.attrs.has("num_outputs")
      ? k.attrs.int("num_outputs")
      : undefined;
    const count = k.node.output.length;
    const sizes = splitSizes(x!.dims[axis], count, split, numOutputs);
    if (!sizes) throw new GpuDecline("split sizes the CPU rejects");
    const st = stridesOf(x!.dims);
    const outs: (Tensor | undefined)[] = [];
    let at = 0;
    for (let i = 0; i < sizes.length; i++) {
      const dims = [...x!.dims];
      dims[axis] = sizes[i];
      if (k.wantsOutput(i)) {
        const y = k.output(x!.type, dims);
        await runCopy(k, x!, y, {
          mode: MODE.strided,
          dims,
          read: st,
          write: stridesOf(dims),
          readBase: at * st[axis],
          writeBase: 0,
        });
        outs.push(y);
      } else outs.push(undefined);
      at += sizes[i];
    }
    return outs;
  },
};

// ---------------------------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------------------------

interface SlicePlan {
  start: number[];
  step: number[];
  count: number[];
}

/** Resolves starts/ends/axes/steps as the CPU kernel does; undefined when it would fail. */
function planSlice(
  dims: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  axesIn?: readonly number[],
  stepsIn?: readonly number[],
): SlicePlan | undefined {
  const rank = dims.length;
  const n = starts.length;
  const axes = axesIn ?? Array.from({ length: n }, (_, i) => i);
  const steps = stepsIn ?? new Array<number>(n).fill(1);
  if (ends.length !== n || axes.length !== n || steps.length !== n) return undefined;
  const plan: SlicePlan = {
    start: new Array<number>(rank).fill(0),
    step: new Array<number>(rank).fill(1),
    count: [...dims],
  };
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    let a = axes[i];
    if (a < -rank || a >= rank) return undefined;
    if (a < 0) a += rank;
    if (seen.has(a)) return undefined;
    seen.add(a);
    const dim = dims[a];
    const step = steps[i];
    if (step === 0 || !Number.isFinite(step)) return undefined;
    let s = starts[i];
    let e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    let count: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      count = e > s ? Math.ceil((e - s) / step) : 0;
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      count = s > e ? Math.ceil((s - e) / -step) : 0;
    }
    plan.start[a] = count > 0 ? s : 0;
    plan.step[a] = step;
    plan.count[a] = count;
  }
  return plan;
}

const sliceKernel: GpuKernel = {
  host: [1, 2, 3, 4],
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    if (node.version >= 10 && (!node.inputs[1] || !node.inputs[2])) return "starts or ends missing";
    return true;
  },
  async run(k, [x, starts, ends, axes, steps]) {
    const plan = k.version < 10
      ? planSlice(
        x!.dims,
        k.attrs.ints("starts"),
        k.attrs.ints("ends"),
        k.attrs.has("axes") ? k.attrs.ints("axes") : undefined,
      )
      : planSlice(
        x!.dims,
        toIntArray(starts!),
        toIntArray(ends!),
        axes ? toIntArray(axes) : undefined,
        steps ? toIntArray(steps) : undefined,
      );
    if (!plan) throw new GpuDecline("a slice the CPU rejects");
    if (plan.start.some((v) => Math.abs(v) > 2 ** 31 - 1)) throw new GpuDecline("huge start");
    const st = stridesOf(x!.dims);
    let base = 0;
    for (let d = 0; d < st.length; d++) base += plan.start[d] * st[d];
    const y = k.output(x!.type, plan.count);
    await runCopy(k, x!, y, {
      mode: MODE.strided,
      dims: plan.count,
      read: st.map((s, d) => s * plan.step[d]),
      write: stridesOf(plan.count),
      readBase: base,
      writeBase: 0,
    });
    return [y];
  },
};

// ---------------------------------------------------------------------------------------------
// Expand, Tile
// ---------------------------------------------------------------------------------------------

const expandKernel: GpuKernel = {
  host: [1],
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    if (!node.inputs[1]) return "shape is missing";
    if (node.inputs[1].dims.length !== 1 || node.inputs[1].dims[0] > 8) return "shape over rank 8";
    return true;
  },
  async run(k, [x, shapeT]) {
    const outDims = broadcastShapes(x!.dims, toIntArray(shapeT!));
    if (!outDims) throw new GpuDecline("shapes the CPU cannot expand");
    const y = k.output(x!.type, outDims);
    await runCopy(k, x!, y, {
      mode: MODE.strided,
      dims: outDims,
      read: broadcastStrides(x!.dims, outDims),
      write: stridesOf(outDims),
      readBase: 0,
      writeBase: 0,
    });
    return [y];
  },
};

const tileKernel: GpuKernel = {
  host: [1, 2],
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    if (node.version < 6) return "Tile before opset 6";
    if (!node.inputs[1]) return "repeats is missing";
    return true;
  },
  async run(k, [x, repsT]) {
    const reps = toIntArray(repsT!);
    const r = x!.dims.length;
    if (reps.length !== r || reps.some((v) => v < 0 || !Number.isInteger(v))) {
      throw new GpuDecline("repeats the CPU rejects");
    }
    const outDims = x!.dims.map((d, i) => d * reps[i]);
    const y = k.output(x!.type, outDims);
    await runCopy(k, x!, y, {
      mode: r === 0 ? MODE.strided : MODE.tile,
      dims: outDims,
      read: stridesOf(x!.dims),
      write: stridesOf(outDims),
      lens: [...x!.dims],
      readBase: 0,
      writeBase: 0,
    });
    return [y];
  },
};

// ---------------------------------------------------------------------------------------------
// Pad
// ---------------------------------------------------------------------------------------------

/** The stored bits of one value of `type` (bool 0/1, f16 bits in the low half). */
function valueBits(type: DataType, data: ArrayLike<number> | ArrayLike<bigint>): number {
  switch (type) {
    case "float32":
      return new Uint32Array(Float32Array.of(Number(data[0])).buffer)[0];
    case "int32":
      return Number(data[0]) >>> 0;
    case "uint32":
      return Number(data[0]) >>> 0;
    case "bool":
      return Number(data[0]) ? 1 : 0;
    case "float16":
      return Number(data[0]) & 0xffff;
    default:
      throw new GpuDecline(`no GPU value of ${type}`);
  }
}

const padKernel: GpuKernel = {
  host: [1, 2, 3],
  supports(node) {
    const ok = movable(node);
    if (ok !== true) return ok;
    const mode = node.attrs.string("mode", "constant");
    if (
      !["constant", "reflect", "edge"].includes(mode) && !(mode === "wrap" && node.version >= 19)
    ) {
      return `mode "${mode}"`;
    }
    if (node.version >= 11 && !node.inputs[1]) return "pads is missing";
    const cv = node.inputs[2];
    if (node.version >= 11 && cv && mode === "constant") {
      if (cv.type !== node.inputs[0]!.type || shapeSize(cv.dims) < 1) return "constant_value";
    }
    return true;
  },
  async run(k, [x, padsT, cv, axesT]) {
    const rank = x!.dims.length;
    const mode = k.attrs.string("mode", "constant") as keyof typeof MODE;
    let pads: number[];
    let axes = Array.from({ length: rank }, (_, i) => i);
    let fill = 0;
    if (k.version < 11) {
      pads = k.attrs.ints(k.version < 2 ? "paddings" : "pads");
      const v = k.attrs.float("value", 0);
      if (mode === "constant" && v !== 0) {
        if (x!.type === "float16") throw new GpuDecline("a float pad value for float16");
        fill = valueBits(x!.type, fromNumbers(x!.type, [v]) as ArrayLike<number>);
      }
    } else {
      pads = toIntArray(padsT!);
      if (cv && mode === "constant") fill = valueBits(x!.type, cv.data as ArrayLike<number>);
      if (k.version >= 18 && axesT) {
        axes = toIntArray(axesT);
        if (axes.some((a) => a < -rank || a >= rank)) throw new GpuDecline("axes out of range");
        axes = axes.map((a) => (a < 0 ? a + rank : a));
      }
    }
    if (pads.length !== 2 * axes.length) throw new GpuDecline("pads of the wrong length");
    const begin = new Array<number>(rank).fill(0);
    const end = new Array<number>(rank).fill(0);
    axes.forEach((a, i) => {
      begin[a] = pads[i];
      end[a] = pads[i + axes.length];
    });
    const st = stridesOf(x!.dims);
    const outDims: number[] = [];
    const lens: number[] = [];
    const pb: number[] = [];
    let base = 0;
    for (let d = 0; d < rank; d++) {
      const lo = Math.max(0, -begin[d]);
      const len = x!.dims[d] - lo - Math.max(0, -end[d]);
      if (len < 0) throw new GpuDecline("pads crop more than the axis");
      const od = len + Math.max(0, begin[d]) + Math.max(0, end[d]);
      if (len === 0 && od > 0 && mode !== "constant") throw new GpuDecline("empty axis");
      outDims.push(od);
      lens.push(len);
      pb.push(Math.max(0, begin[d]));
      base += lo * st[d];
    }
    const y = k.output(x!.type, outDims);
    await runCopy(k, x!, y, {
      mode: rank === 0 ? MODE.strided : MODE[mode],
      dims: outDims,
      read: st,
      write: stridesOf(outDims),
      lens,
      pads: pb,
      readBase: base,
      writeBase: 0,
      fill,
    });
    return [y];
  },
};

/** The data-movement kernels by op type. */
export function movementKernels(): Map<string, GpuKernel> {
  return new Map([
    ["Transpose", transposeKernel],
    ["DepthToSpace", blockKernel(true)],
    ["SpaceToDepth", blockKernel(false)],
    ["Concat", concatKernel],
    ["Split", splitKernel],
    ["Slice", sliceKernel],
    ["Expand", expandKernel],
    ["Tile", tileKernel],
    ["Pad", padKernel],
  ]);
}
