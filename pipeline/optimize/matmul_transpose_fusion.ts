/**
 * MatMul + Transpose/scale fusion into onnxruntime's contrib `com.microsoft.FusedMatMul`
 * (`Y = alpha · op(A) · op(B)`, op a transpose of the last two axes when transA/transB is set).
 * Main graph, float32 only (the type onnxruntime's CPU kernel takes).
 *
 * A MatMul (or an existing FusedMatMul without transBatch) absorbs:
 * - a Transpose on A or B that swaps the last two axes and keeps the others, read only by it;
 * - Mul or Div by a scalar constant on A, on B (read only by it) or on its output (its only
 *   reader) into alpha.
 * Plain MatMul nodes with nothing to absorb are left alone. The model gets a `com.microsoft`
 * opset import when it has none.
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import { floatAttr, intAttr, makeNode } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  attrsOf,
  canonicalDomain,
  Constants,
  describeNode,
  elemTypeOf,
  ensureOpset,
  type GraphIndex,
  indexGraph,
  inferTypes,
  isOp,
  MS_DOMAIN,
  onlyReadBy,
  replaceNodes,
  soleConsumer,
} from "./_rewrite.ts";

function isSwapLast(perm: readonly number[]): boolean {
  const r = perm.length;
  if (r < 2) return false;
  for (let i = 0; i < r - 2; i++) if (perm[i] !== i) return false;
  return perm[r - 2] === r - 1 && perm[r - 1] === r - 2;
}

/** A constant of one value and rank ≤ 1 (so multiplying by it never widens a tensor). */
function scalarConstant(consts: Constants, name: string): number | undefined {
  const t = consts.get(name);
  return t && t.dims.length <= 1 ? consts.scalar(name) : undefined;
}

/** The scalar factor of Mul/Div-by-constant node `n` applied to its input `name`, if any. */
function scaleOf(n: Node, name: string, consts: Constants): number | undefined {
  if (isOp(n, "Mul")) {
    const i = n.input.indexOf(name);
    if (i < 0 || n.input[1 - i] === name) return undefined;
    return scalarConstant(consts, n.input[1 - i]);
  }
  if (isOp(n, "Div") && n.input[0] === name && n.input[1] !== name) {
    const c = scalarConstant(consts, n.input[1]);
    return c === undefined || c === 0 ? undefined : 1 / c;
  }
  return undefined;
}

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
): string | undefined {
  const g = model.graph!;
  const ix: GraphIndex = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  for (const mm of g.node) {
    const fused = mm.opType === "FusedMatMul" && canonicalDomain(mm.domain) === MS_DOMAIN;
    if (!isOp(mm, "MatMul") && !fused) continue;
    const a = attrsOf(mm);
    if (fused && (a.int("transBatchA", 0) !== 0 || a.int("transBatchB", 0) !== 0)) continue;
    if (elemTypeOf(types, mm.input[0]) !== "float32") continue;
    let alpha = fused ? a.float("alpha", 1) : 1;
    const trans = [fused ? a.int("transA", 0) : 0, fused ? a.int("transB", 0) : 0];
    const inputs = [mm.input[0], mm.input[1]];
    const removed: Node[] = [];
    for (const i of [0, 1]) {
      let reader: Node = mm;
      for (let guard = 0; guard < 4; guard++) {
        const p = ix.producer.get(inputs[i]);
        if (!p || !onlyReadBy(ix, inputs[i], reader)) break;
        if (isOp(p, "Transpose") && isSwapLast(attrsOf(p).ints("perm", []))) {
          trans[i] ^= 1;
          inputs[i] = p.input[0];
          removed.push(p);
          reader = p;
          continue;
        }
        const data = isOp(p, "Mul") || isOp(p, "Div")
          ? p.input.find((x) => !consts.has(x))
          : undefined;
        const s = data !== undefined ? scaleOf(p, data, consts) : undefined;
        if (s === undefined || data === undefined) break;
        alpha *= s;
        inputs[i] = data;
        removed.push(p);
        reader = p;
      }
    }
    let out = mm.output[0];
    let last: Node = mm;
    const after = soleConsumer(ix, out);
    if (after) {
      const s = scaleOf(after, out, consts);
      if (s !== undefined) {
        alpha *= s;
        removed.push(after);
        out = after.output[0];
        last = after;
      }
    }
    if (!removed.length) continue;
    const node = makeNode("FusedMatMul", inputs, [out], [
      floatAttr("alpha", alpha),
      intAttr("transA", trans[0]),
      intAttr("transB", trans[1]),
    ], { name: mm.name, domain: MS_DOMAIN });
    replaceNodes(g, [mm, ...removed], [node], last, [out]);
    ensureOpset(model, MS_DOMAIN, 1);
    return `fused ${describeNode(mm)} with ${
      removed.map(describeNode).join(", ")
    } into FusedMatMul (alpha ${alpha.toPrecision(6)}, transA ${trans[0]}, transB ${trans[1]})`;
  }
  return undefined;
}

/** Folds Transposes and scalar scales around MatMul into com.microsoft.FusedMatMul. */
export const matmulTransposeFusion: Pass = {
  name: "matmul-transpose-fusion",
  description: "Folds last-two-axes Transposes and scalar Mul/Div around MatMul into " +
    "com.microsoft.FusedMatMul (float32)",
  level: "extended",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    for (let line = fuseOne(model, ctx, types); line; line = fuseOne(model, ctx, types)) {
      details.push(line);
    }
    return { changed: details.length > 0, details };
  },
};
