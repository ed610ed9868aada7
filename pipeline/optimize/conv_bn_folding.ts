/**
 * Conv + BatchNormalization folding (main graph): an inference BatchNormalization that is the
 * only reader of a Conv's output is folded into the Conv's weights and bias:
 *
 * ```
 * s = scale / sqrt(var + epsilon)
 * W'[m, ...] = W[m, ...] * s[m]
 * B'[m] = (B[m] - mean[m]) * s[m] + bias[m]      (B = 0 when the Conv has none)
 * ```
 *
 * Needs constant float weights and BN parameters of one value per output channel; a BN in
 * training mode, with more than one output, or with `spatial = 0` (opset < 9) is left alone.
 * The arithmetic is done in float64 and rounded once to the weights' type.
 *
 * @module
 */

import type { Model } from "../load/ir.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  attrsOf,
  Constants,
  describeNode,
  indexGraph,
  isOp,
  Namer,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
} from "./_rewrite.ts";
import { convWeights, perChannel, withWeights } from "./_conv.ts";

function foldOne(model: Model, ctx: PassContext, namer: Namer): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  const opset = opsetVersion(model, "") ?? 1;
  for (const bn of g.node) {
    if (!isOp(bn, "BatchNormalization")) continue;
    if (bn.output.slice(1).some((o) => o !== "")) continue;
    const a = attrsOf(bn);
    if (a.int("training_mode", 0) !== 0) continue;
    if (opset < 9 && a.int("spatial", 1) !== 1) continue;
    if (opset < 7 && a.int("is_test", 0) === 0) continue;
    const conv = ix.producer.get(bn.input[0]);
    if (!isOp(conv, "Conv") || !onlyReadBy(ix, bn.input[0], bn)) continue;
    const w = convWeights(conv, consts);
    if (!w) continue;
    const M = w.weight.dims[0];
    const params = [1, 2, 3, 4].map((i) => perChannel(consts.get(bn.input[i]), M));
    if (params.some((p) => p === undefined)) continue;
    const [scale, bias, mean, variance] = params as Float64Array[];
    const eps = a.float("epsilon", 1e-5);
    const s = new Float64Array(M);
    const b = new Float64Array(M);
    for (let m = 0; m < M; m++) {
      s[m] = scale[m] / Math.sqrt(variance[m] + eps);
      b[m] = ((w.bias?.[m] ?? 0) - mean[m]) * s[m] + bias[m];
    }
    const fused = withWeights(
      conv,
      w,
      s,
      b,
      bn.output[0],
      namer,
      (t: Tensor, name: string) => addInitializer(model, g, t, name),
    );
    replaceNodes(g, [conv, bn], [fused], bn);
    return `folded ${describeNode(bn)} into ${describeNode(conv)}`;
  }
  return undefined;
}

/** Folds inference BatchNormalization into the preceding Conv. */
export const convBnFolding: Pass = {
  name: "conv-bn-folding",
  description:
    "Folds an inference BatchNormalization into the weights and bias of the Conv before it",
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
