/**
 * NonMaxSuppression (ai.onnx 10 and 11): greedy per-class suppression by IoU with an
 * optional score threshold. Output rows are [batch, class, box] ordered by batch, then class,
 * then descending score (ties: lower box index first).
 *
 * @module
 */

import { Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { OpContext, OpDef } from "./types.ts";
import { isFloatType, numbersOf, optionalTensorAt, scalarOf, tensorAt } from "./util.ts";

const nmsKernel: OpDef["cpu"] = (ctx: OpContext, inputs: (Value | undefined)[]) => {
  const boxesT = tensorAt(ctx, inputs, 0);
  const scoresT = tensorAt(ctx, inputs, 1);
  if (!isFloatType(boxesT.type) || !isFloatType(scoresT.type)) {
    throw ctx.unsupported(
      `NonMaxSuppression needs float boxes and scores, got ${boxesT.type}`,
      boxesT.type,
    );
  }
  const maxT = optionalTensorAt(ctx, inputs, 2);
  const iouT = optionalTensorAt(ctx, inputs, 3);
  const scoreT = optionalTensorAt(ctx, inputs, 4);
  if (boxesT.dims.length !== 3 || boxesT.dims[2] !== 4) {
    throw ctx.fail(
      `boxes must have shape [num_batches, spatial_dimension, 4], got [${boxesT.dims}]`,
    );
  }
  const [numBatches, numBoxes] = boxesT.dims;
  if (scoresT.dims.length !== 3 || scoresT.dims[0] !== numBatches || scoresT.dims[2] !== numBoxes) {
    throw ctx.fail(
      `scores must have shape [${numBatches}, num_classes, ${numBoxes}], got [${scoresT.dims}]`,
    );
  }
  const numClasses = scoresT.dims[1];
  const maxPerClass = maxT && maxT.size > 0 ? scalarOf(maxT) : 0;
  const iouThreshold = iouT && iouT.size > 0 ? scalarOf(iouT) : 0;
  const hasScoreThreshold = scoreT !== undefined && scoreT.size > 0;
  const scoreThreshold = hasScoreThreshold ? scalarOf(scoreT!) : 0;
  if (iouThreshold < 0 || iouThreshold > 1) {
    throw ctx.fail(`iou_threshold ${iouThreshold} is outside [0, 1]`);
  }
  const centerPoint = ctx.attrs.int("center_point_box", 0);
  if (centerPoint !== 0 && centerPoint !== 1) {
    throw ctx.fail(`center_point_box must be 0 or 1, got ${centerPoint}`);
  }
  const raw = numbersOf(boxesT);
  const scores = numbersOf(scoresT);
  // Normalized corners per box: y1 <= y2, x1 <= x2.
  const corners = new Float64Array(numBatches * numBoxes * 4);
  for (let i = 0; i < numBatches * numBoxes; i++) {
    const a = raw[4 * i], b = raw[4 * i + 1], c = raw[4 * i + 2], d = raw[4 * i + 3];
    let y1: number, x1: number, y2: number, x2: number;
    if (centerPoint === 1) {
      // [x_center, y_center, width, height]
      x1 = a - c / 2;
      x2 = a + c / 2;
      y1 = b - d / 2;
      y2 = b + d / 2;
    } else {
      y1 = Math.min(a, c);
      y2 = Math.max(a, c);
      x1 = Math.min(b, d);
      x2 = Math.max(b, d);
    }
    corners[4 * i] = y1;
    corners[4 * i + 1] = x1;
    corners[4 * i + 2] = y2;
    corners[4 * i + 3] = x2;
  }
  const suppresses = (p: number, q: number): boolean => {
    const ay1 = corners[4 * p],
      ax1 = corners[4 * p + 1],
      ay2 = corners[4 * p + 2],
      ax2 = corners[4 * p + 3];
    const by1 = corners[4 * q],
      bx1 = corners[4 * q + 1],
      by2 = corners[4 * q + 2],
      bx2 = corners[4 * q + 3];
    const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
    const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
    if (ih <= 0 || iw <= 0) return false;
    const inter = ih * iw;
    const areaA = (ay2 - ay1) * (ax2 - ax1);
    const areaB = (by2 - by1) * (bx2 - bx1);
    const union = areaA + areaB - inter;
    if (areaA <= 0 || areaB <= 0 || union <= 0) return false;
    return inter / union > iouThreshold;
  };
  const selected: number[] = [];
  const order: number[] = [];
  for (let b = 0; b < numBatches; b++) {
    for (let cls = 0; cls < numClasses; cls++) {
      if (maxPerClass <= 0) continue;
      const sBase = (b * numClasses + cls) * numBoxes;
      order.length = 0;
      for (let i = 0; i < numBoxes; i++) {
        const s = scores[sBase + i];
        if (hasScoreThreshold && !(s > scoreThreshold)) continue;
        order.push(i);
      }
      // Descending score (NaN last), ties by ascending box index.
      const key = (i: number) => {
        const v = scores[sBase + i];
        return Number.isNaN(v) ? -Infinity : v;
      };
      order.sort((i, j) => {
        const a = key(i), b = key(j);
        return a > b ? -1 : a < b ? 1 : i - j;
      });
      const kept: number[] = [];
      for (const i of order) {
        if (kept.length >= maxPerClass) break;
        const bi = b * numBoxes + i;
        let keep = true;
        for (const k of kept) {
          if (suppresses(b * numBoxes + k, bi)) {
            keep = false;
            break;
          }
        }
        if (keep) {
          kept.push(i);
          selected.push(b, cls, i);
        }
      }
    }
  }
  const out = BigInt64Array.from(selected, (v) => BigInt(v));
  return [new Tensor("int64", out, [selected.length / 3, 3])];
};

/** NonMaxSuppression declaration. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "NonMaxSuppression",
    versions: [10, 11],
    cpu: nmsKernel,
    infer: (): (ValueType | undefined)[] => [{
      kind: "tensor",
      elemType: "int64",
      shape: [undefined, 3],
    }],
    hostInputs: [2, 3, 4],
  },
];
