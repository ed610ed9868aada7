/**
 * Reshape → Gemm → Reshape back → MatMul (+ Add), main graph. Exporters flatten a [..., K]
 * tensor to [P, K] for a Linear layer (Gemm) and unflatten the [P, N] result to [..., N];
 * MatMul with a 2-D weight does the same on the unflattened tensor:
 *
 * ```
 * Reshape(Gemm(Reshape(x[d0..dk, K], [-1, K]), B, C, transB), [d0..dk, N])
 *   → Add(MatMul(x, B or Bᵀ), C)
 * ```
 *
 * Conditions: x has a known rank ≥ 3 and a static last dim K; the first target is 2-D with
 * K last (its first element not 0); the final target has x's rank, ends with N and matches
 * x's static leading dims except for at most one -1 (no 0); the Gemm has transA = 0,
 * alpha = 1 and beta = 1, a constant 2-D B (transposed into a new initializer when transB = 1)
 * and no C or a C of shape [N], [1, N] or a single value; every intermediate is read only by
 * the next node. The element order is the same, so the outputs are equal.
 *
 * @module
 */

import type { Model } from "../load/ir.ts";
import { makeNode } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  attrsOf,
  Constants,
  describeNode,
  indexGraph,
  inferTypes,
  intValues,
  isOp,
  Namer,
  onlyReadBy,
  replaceNodes,
  shapeOf,
  soleConsumer,
} from "./_rewrite.ts";
import { transposeTensor } from "./_tensor_math.ts";

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
  namer: Namer,
): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  for (const gemm of g.node) {
    if (!isOp(gemm, "Gemm")) continue;
    const a = attrsOf(gemm);
    if (a.int("transA", 0) !== 0 || a.float("alpha", 1) !== 1 || a.float("beta", 1) !== 1) continue;
    const r1 = ix.producer.get(gemm.input[0]);
    if (!isOp(r1, "Reshape") || !onlyReadBy(ix, gemm.input[0], gemm)) continue;
    const r2 = soleConsumer(ix, gemm.output[0]);
    if (!isOp(r2, "Reshape") || r2.input[0] !== gemm.output[0]) continue;
    const x = r1.input[0];
    const xs = shapeOf(types, x);
    const K = xs?.[xs.length - 1];
    if (!xs || xs.length < 3 || typeof K !== "number") continue;
    const t1 = intValues(consts.get(r1.input[1]));
    if (!t1 || t1.length !== 2 || t1[1] !== K || t1[0] === 0) continue;
    const B = consts.get(gemm.input[1]);
    if (!B || B.dims.length !== 2 || (B.type !== "float32" && B.type !== "float64")) continue;
    const transB = a.int("transB", 0) !== 0;
    const [bk, N] = transB ? [B.dims[1], B.dims[0]] : B.dims;
    if (bk !== K) continue;
    const t2 = intValues(consts.get(r2.input[1]));
    if (!t2 || t2.length !== xs.length || t2[t2.length - 1] !== N || t2.includes(0)) continue;
    let minusOnes = 0;
    const leadOk = t2.slice(0, -1).every((d, i) => {
      if (d === -1) return ++minusOnes <= 1;
      return typeof xs[i] === "number" && xs[i] === d;
    });
    if (!leadOk) continue;
    let cName = gemm.input[2] ?? "";
    if (cName) {
      const c = consts.get(cName);
      if (!c || c.type !== B.type) continue;
      const ok = c.size === 1 ||
        (c.size === N && c.dims[c.dims.length - 1] === N && c.dims.length <= 2);
      if (!ok) continue;
    }
    let bName = gemm.input[1];
    if (transB) {
      bName = namer.fresh(`${gemm.input[1]}_transposed`);
      addInitializer(model, g, transposeTensor(B, [1, 0]), bName);
    }
    const out = r2.output[0];
    const nodes = [];
    if (cName) {
      const mid = namer.fresh(`${out}_matmul`);
      nodes.push(makeNode("MatMul", [x, bName], [mid], [], { name: gemm.name }));
      nodes.push(
        makeNode("Add", [mid, cName], [out], [], { name: gemm.name ? `${gemm.name}_bias` : "" }),
      );
    } else {
      nodes.push(makeNode("MatMul", [x, bName], [out], [], { name: gemm.name }));
      cName = "";
    }
    replaceNodes(g, [r1, gemm, r2], nodes, r2);
    return `replaced ${describeNode(r1)} + ${describeNode(gemm)} + ${describeNode(r2)} by MatMul${
      cName ? " + Add" : ""
    }`;
  }
  return undefined;
}

/** Replaces flatten → Gemm → unflatten by MatMul (+ Add). */
export const reshapeGemmFusion: Pass = {
  name: "reshape-gemm-to-matmul",
  description:
    "Replaces Reshape to 2-D → Gemm → Reshape back by a MatMul (+ Add) on the unflattened tensor",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    const namer = new Namer(model);
    for (
      let line = fuseOne(model, ctx, types, namer);
      line;
      line = fuseOne(model, ctx, types, namer)
    ) {
      details.push(line);
    }
    return { changed: details.length > 0, details };
  },
};
