/**
 * Tests of the symbolic shape helpers against hand-computed shapes.
 */

import assert from "node:assert/strict";
import {
  broadcastShapes,
  concatShapes,
  constantInts,
  dimProduct,
  formatShape,
  inputElem,
  inputShape,
  isStaticShape,
  mergeDim,
  mergeShapes,
  mergeTypes,
  normalizeAxis,
  reduceShape,
  reshapeShape,
  squeezeShape,
  transposeShape,
  unsqueezeShape,
  windowOutputDim,
  withoutShape,
} from "../../ops/shape_infer.ts";
import type { InferContext } from "../../ops/types.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";

Deno.test("mergeDim: numbers win, names keep the first, different numbers conflict", () => {
  assert.equal(mergeDim(3, 3), 3);
  assert.equal(mergeDim(3, 4), null);
  assert.equal(mergeDim("N", 5), 5);
  assert.equal(mergeDim(5, "N"), 5);
  assert.equal(mergeDim("N", "M"), "N");
  assert.equal(mergeDim(undefined, "M"), "M");
  assert.equal(mergeDim(undefined, undefined), undefined);
});

Deno.test("mergeShapes and mergeTypes report rank, dim and element conflicts", () => {
  assert.deepEqual(mergeShapes(["N", 3], [2, undefined]).value, [2, 3]);
  assert.equal(mergeShapes([1, 2], [1, 2, 3]).conflict, "shape");
  assert.equal(mergeShapes([1, 2], [1, 3]).conflict, "shape");
  assert.deepEqual(mergeShapes(undefined, [4]).value, [4]);
  const f = (shape?: (number | string | undefined)[]): ValueType => ({
    kind: "tensor",
    elemType: "float32",
    shape,
  });
  assert.deepEqual(mergeTypes(f(["N", 3]), f([8, undefined])).value, f([8, 3]));
  assert.equal(mergeTypes(f([1]), { kind: "tensor", elemType: "int64" }).conflict, "element");
  assert.equal(mergeTypes(f([1]), { kind: "sequence", elem: f() }).conflict, "element");
  const seq = mergeTypes({ kind: "sequence", elem: f([2]) }, { kind: "sequence", elem: f([3]) });
  assert.equal(seq.conflict, "shape");
  assert.deepEqual(mergeTypes(undefined, f([1])).value, f([1]));
  assert.deepEqual(withoutShape({ kind: "sequence", elem: f([2]) }), {
    kind: "sequence",
    elem: { kind: "tensor", elemType: "float32" },
  });
});

Deno.test("broadcastShapes follows numpy rules with symbolic dims", () => {
  assert.deepEqual(broadcastShapes([[2, 3, 4], [4]]).shape, [2, 3, 4]);
  assert.deepEqual(broadcastShapes([[2, 1, 4], [3, 1]]).shape, [2, 3, 4]);
  assert.deepEqual(broadcastShapes([["N", 3], [1, 3]]).shape, ["N", 3]);
  assert.deepEqual(broadcastShapes([["N", 3], ["N", 1]]).shape, ["N", 3]);
  assert.deepEqual(broadcastShapes([["N"], ["M"]]).shape, [undefined]);
  assert.deepEqual(broadcastShapes([["N"], [5]]).shape, [5]);
  assert.deepEqual(broadcastShapes([[undefined], [1]]).shape, [undefined]);
  assert.deepEqual(broadcastShapes([[0], [1]]).shape, [0]);
  assert.deepEqual(broadcastShapes([[], []]).shape, []);
  assert.equal(broadcastShapes([[2], undefined]).shape, undefined);
  assert.match(broadcastShapes([[2, 3], [4]]).error!, /cannot be broadcast/);
  assert.match(broadcastShapes([[0], [2]]).error!, /cannot be broadcast/);
});

Deno.test("reshapeShape handles 0, -1, symbolic cancellation and bad counts", () => {
  assert.deepEqual(reshapeShape([2, 3, 4], [0, -1]).shape, [2, 12]);
  assert.deepEqual(reshapeShape(["N", 3, 4], [0, -1]).shape, ["N", 12]);
  assert.deepEqual(reshapeShape(["N", 3, 4], [-1, 12]).shape, ["N", 12]);
  assert.deepEqual(reshapeShape(["N", 3, 4], [-1, 6]).shape, [undefined, 6]);
  assert.deepEqual(reshapeShape([2, 3, 4], [4, -1, 2]).shape, [4, 3, 2]);
  assert.deepEqual(reshapeShape(undefined, [0, 5]).shape, [undefined, 5]);
  assert.deepEqual(reshapeShape([2, 0], [0, 3], true).shape, [0, 3]);
  assert.match(reshapeShape([2, 3, 4], [5, -1]).error!, /cannot reshape/);
  assert.match(reshapeShape([2, 3, 4], [5, 5]).error!, /24 elements/);
  assert.match(reshapeShape([2, 3], [-1, -1]).error!, /more than one -1/);
  assert.match(reshapeShape([2, 3], [0, 0, 0]).error!, /copies dimension 2/);
  assert.match(reshapeShape([2, 3], [-2]).error!, /invalid value -2/);
});

Deno.test("reduce, concat, transpose, unsqueeze and squeeze shapes", () => {
  assert.deepEqual(reduceShape(["N", 3, 4], [1], true).shape, ["N", 1, 4]);
  assert.deepEqual(reduceShape(["N", 3, 4], [-1, 0], false).shape, [3]);
  assert.deepEqual(reduceShape(["N", 3], [], false).shape, []);
  assert.deepEqual(reduceShape(["N", 3], [], true).shape, [1, 1]);
  assert.deepEqual(reduceShape(["N", 3], [], false, true).shape, ["N", 3]);
  assert.match(reduceShape([2], [1], true).error!, /out of range/);

  assert.deepEqual(concatShapes([["N", 2], ["N", 3]], 1).shape, ["N", 5]);
  assert.deepEqual(concatShapes([["N", 2], [4, "K"]], -1).shape, [4, undefined]);
  assert.deepEqual(concatShapes([[1, 2], undefined], 0).shape, [undefined, 2]);
  assert.match(concatShapes([[1, 2], [1, 2, 3]], 0).error!, /ranks/);
  assert.match(concatShapes([[1, 2], [3, 4]], 0).error!, /dimension 1 differs/);

  assert.deepEqual(transposeShape(["N", 3, 4]).shape, [4, 3, "N"]);
  assert.deepEqual(transposeShape(["N", 3, 4], [0, 2, 1]).shape, ["N", 4, 3]);
  assert.match(transposeShape([1, 2], [0, 0]).error!, /not a permutation/);

  assert.deepEqual(unsqueezeShape([3, 4], [0, -1]).shape, [1, 3, 4, 1]);
  assert.deepEqual(unsqueezeShape([3, 4], [1]).shape, [3, 1, 4]);
  assert.match(unsqueezeShape([3], [0, 0]).error!, /repeated/);
  assert.deepEqual(squeezeShape([1, 3, 1]).shape, [3]);
  assert.equal(squeezeShape([1, "N"]).shape, undefined);
  assert.deepEqual(squeezeShape([1, "N", 1], [-1]).shape, [1, "N"]);
  assert.match(squeezeShape([2, 3], [0]).error!, /size 2/);
});

Deno.test("windowOutputDim matches the conv/pool formulas (floor and ceil)", () => {
  assert.equal(windowOutputDim(224, 7, 2, 3, 3), 112); // resnet stem conv
  assert.equal(windowOutputDim(112, 3, 2, 1, 1), 56); // resnet max pool
  assert.equal(windowOutputDim(8, 3, 1, 1, 1), 8);
  assert.equal(windowOutputDim(5, 2, 2, 0, 0, 1, false), 2);
  assert.equal(windowOutputDim(5, 2, 2, 0, 0, 1, true), 3);
  // Ceil mode never starts a window in the end padding: (6 + 1 - 3) / 2 -> ceil 2 + 1 = 3
  // windows would start at 0, 2, 4 (4 < 6 + 0), so 3.
  assert.equal(windowOutputDim(6, 3, 2, 0, 1, 1, true), 3);
  assert.equal(windowOutputDim(10, 3, 1, 0, 0, 2), 6); // dilation 2 spans 5
  assert.equal(windowOutputDim("H", 3), undefined);
});

Deno.test("small dim utilities", () => {
  assert.equal(formatShape(["N", undefined, 3]), "[N,?,3]");
  assert.equal(formatShape(undefined), "unknown");
  assert.equal(isStaticShape([1, 2]), true);
  assert.equal(isStaticShape([1, "N"]), false);
  assert.equal(dimProduct([2, 3, 4]), 24);
  assert.equal(dimProduct([]), 1);
  assert.equal(dimProduct([2, "N"]), undefined);
  assert.equal(normalizeAxis(-1, 3), 2);
  assert.equal(normalizeAxis(3, 3), undefined);
  assert.equal(normalizeAxis(-4, 3), undefined);
});

Deno.test("InferContext readers: inputShape, inputElem, constantInts", () => {
  const types: (ValueType | undefined)[] = [
    { kind: "tensor", elemType: "float32", shape: ["N", 3] },
    { kind: "tensor", elemType: "int64", shape: [2] },
    { kind: "sequence" },
  ];
  const consts = [undefined, new Tensor("int64", BigInt64Array.of(4n, -1n), [2])];
  const ctx = {
    input: (i: number) => types[i],
    hasInput: (i: number) => i < types.length,
    constant: (i: number) => consts[i],
  } as unknown as InferContext;
  assert.deepEqual(inputShape(ctx, 0), ["N", 3]);
  assert.equal(inputElem(ctx, 0), "float32");
  assert.equal(inputShape(ctx, 2), undefined);
  assert.deepEqual(constantInts(ctx, 1), [4, -1]);
  assert.equal(constantInts(ctx, 0), undefined);
  assert.equal(constantInts(ctx, 5), undefined);
});
