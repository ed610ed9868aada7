/**
 * Reductions on the GPU: the Reduce* family with `reduce.wgsl` (axes from the attribute or
 * the input by version, keepdims, noop_with_empty_axes) for float32, and for int32/uint32
 * where the CPU uses wrapping 32-bit arithmetic (Sum, Prod, SumSquare, L1) or exact
 * comparisons (Max, Min); ArgMax/ArgMin with `argmax.wgsl`, whose int64 indices stay on the
 * GPU as pairs of u32 words. Float sums accumulate in float32 (the CPU uses float64).
 *
 * @module
 */

import { toIntArray } from "../../../../ops/util.ts";
import { shapeSize, stridesOf, type Tensor } from "../../../tensor/tensor.ts";
import { GpuDecline, type GpuKernel, type NodeView, UniformWriter } from "../kernel.ts";
import { coalesce } from "./movement.ts";
import { cooperativeRows } from "./tiling.ts";

const WG = 64;

/** OP codes of reduce.wgsl by op type. */
const REDUCE_OPS: Record<string, number> = {
  ReduceSum: 0,
  ReduceMean: 1,
  ReduceMax: 2,
  ReduceMin: 3,
  ReduceProd: 4,
  ReduceL1: 5,
  ReduceL2: 6,
  ReduceLogSum: 7,
  ReduceLogSumExp: 8,
  ReduceSumSquare: 9,
};

/** Ops that run for int32/uint32 with the CPU's wrapping or exact integer arithmetic. */
const INTEGER_OPS = new Set([
  "ReduceSum",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL1",
  "ReduceSumSquare",
]);

function axesInputSince(opType: string): number {
  return opType === "ReduceSum" ? 13 : 18;
}

function elemOf(type: string): "f32" | "i32" | "u32" | undefined {
  return type === "float32"
    ? "f32"
    : type === "int32"
    ? "i32"
    : type === "uint32"
    ? "u32"
    : undefined;
}

/** The Max/Min identities of an element type, as WGSL. */
function limits(e: "f32" | "i32" | "u32"): string {
  const [lo, hi] = e === "f32"
    ? ["-inf_f32()", "inf_f32()"]
    : e === "i32"
    ? ["i32(-2147483647) - 1", "2147483647"]
    : ["0u", "4294967295u"];
  return `fn lowest() -> T { return ${lo}; }\nfn highest() -> T { return ${hi}; }`;
}

function reduceKernel(opType: string): GpuKernel {
  const op = REDUCE_OPS[opType];
  return {
    host: [1],
    supports(node: NodeView) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      const e = elemOf(x.type);
      if (!e) return `${opType} runs on the GPU for float32, int32 and uint32 only`;
      if (e !== "f32" && !INTEGER_OPS.has(opType)) {
        return `${opType} of ${x.type} stays on the CPU`;
      }
      if (x.dims.length > 8) return `rank ${x.dims.length} is over 8`;
      return true;
    },
    async run(k, [x, axesT]) {
      const rank = x!.dims.length;
      const fromInput = k.version >= axesInputSince(opType);
      const noop = fromInput && k.attrs.int("noop_with_empty_axes", 0) !== 0;
      let given: number[] | undefined;
      if (fromInput) {
        if (axesT && axesT.size > 0) given = toIntArray(axesT);
      } else if (k.attrs.has("axes")) {
        const a = k.attrs.ints("axes");
        if (a.length) given = a;
      }
      let axes: number[];
      if (given === undefined) {
        // noop_with_empty_axes still applies the op to each element alone (L1 takes abs).
        axes = noop ? [] : Array.from({ length: rank }, (_, i) => i);
      } else {
        axes = [];
        for (const a of given) {
          if (a < -rank || a >= rank) throw new GpuDecline(`axis ${a} is out of range`);
          const n = a < 0 ? a + rank : a;
          if (!axes.includes(n)) axes.push(n);
        }
      }
      const keepdims = k.attrs.int("keepdims", 1) !== 0;
      const reduced = x!.dims.map((_, i) => axes.includes(i));
      const outDims = keepdims
        ? x!.dims.map((d, i) => (reduced[i] ? 1 : d))
        : x!.dims.filter((_, i) => !reduced[i]);
      const y = k.output(x!.type, outDims);
      const outputs = shapeSize(outDims);
      if (outputs === 0) return [y];
      const st = stridesOf(x!.dims);
      const kept = coalesce(
        x!.dims.filter((_, i) => !reduced[i]),
        [st.filter((_, i) => !reduced[i])],
      );
      const red = coalesce(x!.dims.filter((_, i) => reduced[i]), [st.filter((_, i) => reduced[i])]);
      const R = x!.dims.filter((_, i) => reduced[i]).reduce((p, d) => p * d, 1);
      const e = elemOf(x!.type)!;
      const coop = cooperativeRows(k.info, outputs, R);
      const pipeline = await k.pipeline({
        shader: "reduce",
        aliases: { T: e },
        slots: { limits: limits(e) },
        constants: {
          WG,
          OP: op,
          COOP: coop,
          KEPT_RANK: kept.dims.length,
          RED_RANK: red.dims.length,
          UNSIGNED: e === "u32",
        },
        reads: 1,
        writes: 1,
        uniforms: true,
      });
      k.dispatch(pipeline, {
        reads: [x!],
        writes: [y],
        uniforms: new UniformWriter()
          .u32(outputs, R)
          .list8(kept.dims)
          .list8(kept.lists[0])
          .list8(red.dims)
          .list8(red.lists[0])
          .finish(),
        groups: coop ? k.groups1d(outputs, 1) : k.groups1d(outputs, WG),
      });
      return [y];
    },
  };
}

function argKernel(isMax: boolean): GpuKernel {
  return {
    supports(node) {
      const x = node.inputs[0];
      if (!x) return "input 0 is missing";
      if (!elemOf(x.type)) return `${node.node.opType} runs on the GPU for 32-bit types only`;
      const rank = x.dims.length;
      const a = node.attrs.int("axis", 0);
      if (a < -Math.max(rank, 1) || a >= Math.max(rank, 1)) return `axis ${a} is out of range`;
      const axis = rank === 0 ? 0 : a < 0 ? a + rank : a;
      const dims = rank === 0 ? [1] : x.dims;
      const others = dims.filter((_, i) => i !== axis).reduce((p, d) => p * d, 1);
      // The CPU reports an empty axis when there is something to index.
      if (dims[axis] === 0 && others > 0) return "empty axis";
      return true;
    },
    async run(k, [x]) {
      const rank = x!.dims.length;
      const a = k.attrs.int("axis", 0);
      const axis = rank === 0 ? 0 : a < 0 ? a + rank : a;
      const keepdims = k.attrs.int("keepdims", 1) !== 0;
      const last = k.version >= 12 && k.attrs.int("select_last_index", 0) !== 0;
      const dims = rank === 0 ? [1] : x!.dims;
      const n = dims[axis];
      const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
      const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
      const outDims = rank === 0
        ? []
        : keepdims
        ? x!.dims.map((d, i) => (i === axis ? 1 : d))
        : x!.dims.filter((_, i) => i !== axis);
      if (n === 0 && outer * inner > 0) throw new GpuDecline("empty axis");
      const y: Tensor = k.output("int64", outDims);
      const count = outer * inner;
      if (count === 0) return [y];
      const pipeline = await k.pipeline({
        shader: "argmax",
        aliases: { T: elemOf(x!.type)! },
        constants: { WG, IS_MAX: isMax, LAST: last },
        reads: 1,
        writes: 1,
        uniforms: true,
      });
      k.dispatch(pipeline, {
        reads: [x!],
        writes: [y],
        uniforms: new UniformWriter().u32(count, n, inner).finish(),
        groups: k.groups1d(count, WG),
      });
      return [y];
    },
  };
}

/** The reduction kernels by op type. */
export function reduceKernels(): Map<string, GpuKernel> {
  const m = new Map<string, GpuKernel>();
  for (const op of Object.keys(REDUCE_OPS)) m.set(op, reduceKernel(op));
  m.set("ArgMax", argKernel(true));
  m.set("ArgMin", argKernel(false));
  return m;
}
