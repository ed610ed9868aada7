/**
 * Reshape, Flatten, Squeeze, Unsqueeze and Identity of GPU tensors: no shader, the output
 * shares the input's buffer with new dims, so data that is on the GPU stays there. Packed
 * int8/uint8 tensors keep their layout under a view, so these take them too.
 *
 * @module
 */

import { reshapeDims } from "../../../../ops/shape.ts";
import { toIntArray } from "../../../../ops/util.ts";
import type { Tensor } from "../../../tensor/tensor.ts";
import type { GpuKernel, KernelContext } from "../kernel.ts";

function view(
  dimsOf: (k: KernelContext, x: Tensor, inputs: readonly (Tensor | undefined)[]) => number[],
  host?: number[],
): GpuKernel {
  return {
    host,
    packedBytes: true,
    supports(node) {
      if (!node.inputs[0]) return "input 0 is missing";
      return true;
    },
    run(k, inputs) {
      const x = inputs[0]!;
      return Promise.resolve([k.view(x, dimsOf(k, x, inputs))]);
    },
  };
}

function failing(k: KernelContext, f: () => number[]): number[] {
  try {
    return f();
  } catch (e) {
    throw k.fail((e as Error).message);
  }
}

function axesOf(k: KernelContext, inputs: readonly (Tensor | undefined)[]): number[] | undefined {
  if (k.version >= 13) return inputs[1] ? toIntArray(inputs[1]) : undefined;
  return k.attrs.has("axes") ? k.attrs.ints("axes") : undefined;
}

const reshape = view((k, x, inputs) =>
  failing(k, () => {
    if (k.version >= 5 && !inputs[1]) throw new Error("input 1 is required");
    const shape = k.version < 5 ? k.attrs.ints("shape") : toIntArray(inputs[1]!);
    const allowZero = k.version >= 14 && k.attrs.int("allowzero", 0) !== 0;
    return reshapeDims(x.dims, shape, allowZero);
  }), [1]);

const flatten = view((k, x) => {
  const r = x.dims.length;
  let axis = k.attrs.int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r || (k.version < 11 && k.attrs.int("axis", 1) < 0)) {
    throw k.fail(`axis ${k.attrs.int("axis", 1)} is out of range`);
  }
  const a = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  return [a, x.dims.slice(axis).reduce((p, d) => p * d, 1)];
});

const squeeze = view((k, x, inputs) => {
  const r = x.dims.length;
  const axes = axesOf(k, inputs);
  if (axes === undefined) return x.dims.filter((d) => d !== 1);
  const drop = new Set<number>();
  for (const a of axes) {
    if (a < -r || a >= r) throw k.fail(`axis ${a} is out of range for rank ${r}`);
    const n = a < 0 ? a + r : a;
    if (x.dims[n] !== 1) throw k.fail(`cannot squeeze axis ${a} of size ${x.dims[n]}`);
    drop.add(n);
  }
  return x.dims.filter((_, i) => !drop.has(i));
}, [1]);

const unsqueeze = view((k, x, inputs) => {
  const axes = axesOf(k, inputs);
  if (axes === undefined) throw k.fail("the axes are required");
  const r = x.dims.length + axes.length;
  const at = new Set<number>();
  for (const a of axes) {
    if (a < -r || a >= r) throw k.fail(`axis ${a} is out of range for output rank ${r}`);
    const n = a < 0 ? a + r : a;
    if (at.has(n)) throw k.fail(`axis ${a} is repeated`);
    at.add(n);
  }
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(at.has(i) ? 1 : x.dims[j++]);
  return out;
}, [1]);

const identity: GpuKernel = {
  packedBytes: true,
  supports(node) {
    return node.inputs[0] ? true : "input 0 is missing";
  },
  run(_k, [x]) {
    return Promise.resolve([x]);
  },
};

/** The view kernels by op type. */
export function viewKernels(): Map<string, GpuKernel> {
  return new Map([
    ["Reshape", reshape],
    ["Flatten", flatten],
    ["Squeeze", squeeze],
    ["Unsqueeze", unsqueeze],
    ["Identity", identity],
  ]);
}
