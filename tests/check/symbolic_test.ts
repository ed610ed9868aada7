/**
 * Tests of symbolic shape values (Shape → Gather/Slice/Concat/... with symbolic dims).
 */

import assert from "node:assert/strict";
import {
  symbolicFromTensor,
  symbolicOutput,
  type SymbolicValue,
  tensorFromSymbolic,
} from "../../pipeline/check/symbolic.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";
import type { Node } from "../../pipeline/load/ir.ts";
import { intAttr, intsAttr, makeNode } from "../../pipeline/load/build.ts";

function run(
  n: Node,
  version: number,
  inputs: (SymbolicValue | undefined)[],
  type0?: ValueType,
): SymbolicValue | undefined {
  return symbolicOutput(n, version, new NodeAttributes(n), (i) => inputs[i], () => type0);
}

const shapeOfX: SymbolicValue = { elemType: "int64", values: ["N", 3, "L", 64], scalar: false };
const vec = (...v: number[]): SymbolicValue => ({ elemType: "int64", values: v, scalar: false });
const scalar = (v: number): SymbolicValue => ({ elemType: "int64", values: [v], scalar: true });

Deno.test("Shape gives the symbolic dims, honouring start/end from version 15", () => {
  const x: ValueType = { kind: "tensor", elemType: "float32", shape: ["N", 3, "L", 64] };
  assert.deepEqual(run(makeNode("Shape", ["x"], ["s"]), 13, [], x), shapeOfX);
  const sliced = makeNode("Shape", ["x"], ["s"], [intAttr("start", 1), intAttr("end", -1)]);
  assert.deepEqual(run(sliced, 15, [], x)?.values, [3, "L"]);
  assert.equal(run(makeNode("Shape", ["x"], ["s"]), 13, [], { kind: "tensor" }), undefined);
});

Deno.test("Gather, Slice, Concat, Unsqueeze, Squeeze and Cast follow the values", () => {
  const g = makeNode("Gather", ["s", "i"], ["o"], [intAttr("axis", 0)]);
  assert.deepEqual(run(g, 13, [shapeOfX, scalar(-1)]), {
    elemType: "int64",
    values: [64],
    scalar: true,
  });
  assert.deepEqual(run(g, 13, [shapeOfX, vec(0, 2)])?.values, ["N", "L"]);
  assert.equal(run(g, 13, [shapeOfX, vec(4)]), undefined); // out of range
  const sl = makeNode("Slice", ["s", "a", "b", "c", "d"], ["o"]);
  assert.deepEqual(run(sl, 13, [shapeOfX, vec(-1), vec(0), vec(0), vec(-1)])?.values, [64, "L", 3]);
  assert.deepEqual(run(sl, 13, [shapeOfX, vec(1), vec(9e18), vec(0), vec(2)])?.values, [3, 64]);
  const sl9 = makeNode("Slice", ["s"], ["o"], [intsAttr("starts", [0]), intsAttr("ends", [2])]);
  assert.deepEqual(run(sl9, 9, [shapeOfX])?.values, ["N", 3]);
  const cat = makeNode("Concat", ["a", "b"], ["o"], [intAttr("axis", 0)]);
  assert.deepEqual(run(cat, 13, [vec(1, 2), shapeOfX])?.values, [1, 2, "N", 3, "L", 64]);
  assert.equal(run(cat, 13, [vec(1), scalar(2)]), undefined);
  const unsq = makeNode("Unsqueeze", ["a", "axes"], ["o"]);
  assert.deepEqual(run(unsq, 13, [scalar(5), vec(0)]), vec(5));
  const unsq11 = makeNode("Unsqueeze", ["a"], ["o"], [intsAttr("axes", [0])]);
  assert.deepEqual(run(unsq11, 11, [scalar(5)]), vec(5));
  assert.deepEqual(run(makeNode("Squeeze", ["a"], ["o"]), 13, [vec(7)]), scalar(7));
  const cast = makeNode("Cast", ["a"], ["o"], [intAttr("to", 6)]);
  assert.deepEqual(run(cast, 13, [vec(2, 3)]), {
    elemType: "int32",
    values: [2, 3],
    scalar: false,
  });
  const castF = makeNode("Cast", ["a"], ["o"], [intAttr("to", 1)]);
  assert.equal(run(castF, 13, [vec(2, 3)]), undefined);
});

Deno.test("tensors convert to and from symbolic values", () => {
  const t = new Tensor("int64", BigInt64Array.of(2n, -1n), [2]);
  assert.deepEqual(symbolicFromTensor(t), vec(2, -1));
  assert.equal(symbolicFromTensor(new Tensor("float32", [1, 2], [2])), undefined);
  const back = tensorFromSymbolic(scalar(9))!;
  assert.equal(back.type, "int64");
  assert.deepEqual(back.dims, []);
  assert.equal((back.data as BigInt64Array)[0], 9n);
  const i32 = tensorFromSymbolic({ elemType: "int32", values: [4, 5], scalar: false })!;
  assert.deepEqual(Array.from(i32.data as Int32Array), [4, 5]);
  assert.equal(tensorFromSymbolic(shapeOfX), undefined);
});
