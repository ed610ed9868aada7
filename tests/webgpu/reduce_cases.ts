/**
 * Reductions on the GPU against the CPU kernels: every Reduce* op over axis sets (leading,
 * trailing, middle, several, all, none with noop_with_empty_axes), keepdims on and off,
 * axes as attribute (old opsets) and input, size-0 and size-1 dims, NaN and infinities;
 * int32/uint32 where the GPU runs them; ArgMax/ArgMin with select_last_index and NaN.
 */

import type { DataType } from "../../pipeline/tensor/dtype.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { type AttrValue, compareBackends, gpuTest, nodeModel, random } from "./_harness.ts";

function i64(values: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(values.map(BigInt)), [values.length]);
}

const OPS = [
  "ReduceSum",
  "ReduceMean",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL1",
  "ReduceL2",
  "ReduceLogSum",
  "ReduceLogSumExp",
  "ReduceSumSquare",
];

const INT_OPS = [
  "ReduceSum",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL1",
  "ReduceSumSquare",
];

/** NaN, infinities and signed zeros at fixed places (no huge finite values: Prod and SumSquare
 * would overflow float32 where the CPU's float64 does not). */
function specials(t: Tensor): Tensor {
  const d = Float32Array.from(t.data as Float32Array);
  const s = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < s.length && i * 11 < d.length; i++) d[i * 11] = s[i];
  return new Tensor("float32", d, t.dims);
}

async function check(
  op: string,
  x: Tensor,
  axes: number[] | undefined,
  keepdims: number,
  opset = 18,
  noop = 0,
): Promise<void> {
  const attrs: Record<string, AttrValue> = { keepdims: { i: keepdims } };
  const fromInput = opset >= (op === "ReduceSum" ? 13 : 18);
  const inputs: (Tensor | undefined)[] = [x];
  if (axes) {
    if (fromInput) inputs.push(i64(axes));
    else attrs.axes = { ints: axes };
  }
  if (noop) attrs.noop_with_empty_axes = { i: 1 };
  const { model, feeds } = nodeModel(op, inputs, attrs, { opset });
  await compareBackends(model, feeds, { rtol: 2e-4, atol: 1e-4 });
}

const SHAPES: { dims: number[]; axes?: number[] }[] = [
  { dims: [3, 5, 7], axes: [2] },
  { dims: [3, 5, 7], axes: [0] },
  { dims: [3, 5, 7], axes: [1] },
  { dims: [3, 5, 7], axes: [0, -1] },
  { dims: [3, 5, 7] },
  { dims: [4, 300], axes: [1] },
  { dims: [2, 70, 3], axes: [1] },
  { dims: [6, 1, 5], axes: [1, 2] },
  { dims: [2, 0, 3], axes: [1] },
  { dims: [2, 0, 3], axes: [0] },
  { dims: [], axes: undefined },
];

for (const op of OPS) {
  gpuTest(`webgpu ${op} float32 matches the CPU`, async () => {
    let seed = op.length;
    for (const s of SHAPES) {
      const range: [number, number] = op === "ReduceLogSum" ? [0.1, 2] : [-2, 2];
      const x = random("float32", s.dims, seed++, range);
      for (const keep of [1, 0]) await check(op, x, s.axes, keep);
    }
    await check(op, random("float32", [3, 4], seed++), [1], 1, op === "ReduceSum" ? 11 : 13);
    await check(op, random("float32", [3, 4], seed++), undefined, 1, 18, 1);
    await check(op, specials(random("float32", [6, 23], seed++)), [1], 0);
    await check(op, specials(random("float32", [6, 40], seed++)), [1], 0);
  });
}

for (const op of INT_OPS) {
  for (const type of ["int32", "uint32"] as DataType[]) {
    gpuTest(`webgpu ${op} ${type} matches the CPU`, async () => {
      const x = random(type, [4, 9, 5], op.length, [-50, 50]);
      const d = x.data as Int32Array;
      d[0] = type === "int32" ? -2147483648 : -1;
      d[1] = 2147483647;
      for (const axes of [[1], [0, 2], [2]]) await check(op, x, axes, 1);
      await check(op, x, undefined, 0);
    });
  }
}

gpuTest("webgpu ArgMax and ArgMin match the CPU", async () => {
  const x = random("float32", [4, 6, 5], 7, [-3, 3]);
  const xd = x.data as Float32Array;
  xd[3] = NaN;
  xd[40] = NaN;
  xd[45] = NaN;
  // Ties.
  xd[60] = 9;
  xd[65] = 9;
  const ties = new Tensor("float32", Float32Array.of(1, 3, 3, 2, 3, 0, 0, 1), [2, 4]);
  for (const op of ["ArgMax", "ArgMin"]) {
    for (const axis of [0, 1, -1]) {
      for (const keep of [1, 0]) {
        for (const last of [0, 1]) {
          const attrs = {
            axis: { i: axis },
            keepdims: { i: keep },
            select_last_index: { i: last },
          };
          for (const t of [x, ties, random("int32", [3, 7], axis + 5, [-3, 3])]) {
            const { model, feeds } = nodeModel(op, [t], attrs, { opset: 13 });
            await compareBackends(model, feeds, { rtol: 0, atol: 0 });
          }
        }
      }
    }
    const { model, feeds } = nodeModel(op, [random("float32", [0, 3], 9)], { axis: { i: 1 } });
    await compareBackends(model, feeds);
  }
});
