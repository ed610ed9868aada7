/**
 * Conv + Mul/Div/Add/Sub folding (main graph): when a Conv's output is read only by a Mul,
 * Div, Add or Sub with a constant that varies at most along the channel axis (a scalar, or a
 * shape like [M, 1, 1] or [1, M, 1, 1]), the constant is folded into the Conv:
 *
 * - `Mul(conv, c)`: W'[m] = W[m] * c[m], B'[m] = B[m] * c[m]; `Div(conv, c)` the same with 1/c;
 * - `Add(conv, c)`: B'[m] = B[m] + c[m]; `Sub(conv, c)` with -c.
 *
 * The constant must not widen the output (its rank is at most the Conv output's) and must
 * have the weights' float type. Arithmetic in float64, rounded once.
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  Constants,
  describeNode,
  indexGraph,
  isOp,
  Namer,
  onlyReadBy,
  replaceNodes,
} from "./_rewrite.ts";
import { convWeights, perChannel } from "./_conv.ts";
import { withWeights } from "./_conv.ts";

const OPS = new Set(["Mul", "Div", "Add", "Sub"]);

/** Per-channel values of `c` for a Conv output of rank `rank` and `M` channels. */
function channelValues(c: Tensor | undefined, rank: number, M: number, type: string) {
  if (!c || c.type !== type || c.dims.length > rank) return undefined;
  const off = rank - c.dims.length;
  const ok = c.dims.every((d, i) => d === 1 || (i + off === 1 && d === M));
  return ok ? perChannel(c, M) : undefined;
}

function foldOne(model: Model, ctx: PassContext, namer: Namer): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  for (const op of g.node) {
    if (!OPS.has(op.opType) || !isOp(op, op.opType)) continue;
    for (const side of [0, 1]) {
      if ((op.opType === "Div" || op.opType === "Sub") && side === 1) continue;
      const conv = ix.producer.get(op.input[side]);
      if (!isOp(conv, "Conv") || !onlyReadBy(ix, op.input[side], op)) continue;
      const w = convWeights(conv, consts);
      if (!w) continue;
      const M = w.weight.dims[0];
      const c = channelValues(
        consts.get(op.input[1 - side]),
        w.weight.dims.length,
        M,
        w.weight.type,
      );
      if (!c) continue;
      let scale: Float64Array | undefined;
      let bias: Float64Array | undefined;
      if (op.opType === "Mul" || op.opType === "Div") {
        scale = op.opType === "Mul" ? c : c.map((v) => 1 / v);
        if (!scale.every(Number.isFinite)) continue;
        if (w.bias) bias = w.bias.map((b, m) => b * scale![m]);
      } else {
        const sign = op.opType === "Add" ? 1 : -1;
        bias = (w.bias ?? new Float64Array(M)).map((b, m) => b + sign * c[m]);
      }
      const fused: Node = withWeights(
        conv,
        w,
        scale,
        bias,
        op.output[0],
        namer,
        (t, name) => addInitializer(model, g, t, name),
      );
      replaceNodes(g, [conv, op], [fused], op);
      return `folded ${describeNode(op)} into ${describeNode(conv)}`;
    }
  }
  return undefined;
}

/** Folds per-channel constant Mul/Div/Add/Sub after a Conv into its weights and bias. */
export const convScaleFolding: Pass = {
  name: "conv-mul-add-folding",
  description:
    "Folds a per-channel constant Mul, Div, Add or Sub after a Conv into its weights and bias",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph) return { changed: false, details };
    const namer = new Namer(model);
    for (let line = foldOne(model, ctx, namer); line; line = foldOne(model, ctx, namer)) {
      details.push(line);
    }
    return { changed: details.length > 0, details };
  },
};
