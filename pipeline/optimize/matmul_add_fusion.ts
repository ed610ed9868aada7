/**
 * MatMul + Add → Gemm (main graph, opset ≥ 7): `Add(MatMul(A, B), C)` becomes `Gemm(A, B, C)`
 * when A and B are provably 2-D (inferred ranks), the MatMul's output is read only by the Add,
 * the element type is float32 or float64, and C broadcasts to the [M, N] result without
 * widening it (rank ≤ 2, every dim 1 or provably the result's).
 *
 * @module
 */

import type { Model } from "../load/ir.ts";
import { makeNode } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  describeNode,
  elemTypeOf,
  indexGraph,
  inferTypes,
  isOp,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
  sameDim,
  shapeOf,
} from "./_rewrite.ts";

function fuseOne(model: Model, types: ReadonlyMap<string, ValueType>): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  for (const add of g.node) {
    if (!isOp(add, "Add") || add.input.length !== 2) continue;
    for (const side of [0, 1]) {
      const mm = ix.producer.get(add.input[side]);
      if (!isOp(mm, "MatMul") || !onlyReadBy(ix, mm.output[0], add)) continue;
      if (add.input[0] === add.input[1]) continue;
      const a = shapeOf(types, mm.input[0]);
      const b = shapeOf(types, mm.input[1]);
      const y = shapeOf(types, mm.output[0]);
      const type = elemTypeOf(types, mm.input[0]);
      if (a?.length !== 2 || b?.length !== 2 || y?.length !== 2) continue;
      if (type !== "float32" && type !== "float64") continue;
      const cName = add.input[1 - side];
      const c = shapeOf(types, cName);
      if (!c || c.length > 2 || elemTypeOf(types, cName) !== type) continue;
      const off = 2 - c.length;
      if (!c.every((d, i) => d === 1 || sameDim(d, y[off + i]))) continue;
      const gemm = makeNode("Gemm", [mm.input[0], mm.input[1], cName], [add.output[0]], [], {
        name: mm.name || add.name,
      });
      replaceNodes(g, [mm, add], [gemm], add);
      return `fused ${describeNode(mm)} + ${describeNode(add)} into Gemm`;
    }
  }
  return undefined;
}

/** Turns 2-D MatMul + Add into Gemm. */
export const matmulAddFusion: Pass = {
  name: "matmul-add-to-gemm",
  description: "Fuses a 2-D MatMul followed by a broadcastable Add into Gemm",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph || (opsetVersion(model, "") ?? 1) < 7) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    for (let line = fuseOne(model, types); line; line = fuseOne(model, types)) details.push(line);
    return { changed: details.length > 0, details };
  },
};
