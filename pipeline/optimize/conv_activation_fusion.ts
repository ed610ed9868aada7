/**
 * Conv + activation fusion into onnxruntime's contrib operator `com.microsoft.FusedConv`
 * (standard ONNX has no Conv with a fused activation). Main graph, float32 only (the element
 * type onnxruntime's CPU FusedConv takes).
 *
 * - `Conv → act` becomes `FusedConv(X, W, B)` with `activation` = Relu, Tanh, Sigmoid,
 *   LeakyRelu (`activation_params` [alpha]), Clip ([min, max]; a missing bound is ±FLT_MAX)
 *   or HardSigmoid ([alpha, beta]).
 * - `Conv → Add(·, Z) → act`, where Z has the Conv output's shape (provably, from inferred
 *   shapes), becomes `FusedConv(X, W, B, Z)`: act(conv + Z), the residual form of ResNets.
 *
 * Every intermediate value must be read only by the next node of the pattern. The model gets a
 * `com.microsoft` opset import (version 1) when it has none.
 *
 * @module
 */

import type { Attribute, Model, Node } from "../load/ir.ts";
import { floatsAttr, makeNode, stringAttr } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  attrsOf,
  Constants,
  describeNode,
  elemTypeOf,
  ensureOpset,
  indexGraph,
  inferTypes,
  isOp,
  MS_DOMAIN,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
  sameShape,
  shapeOf,
  soleConsumer,
} from "./_rewrite.ts";

const FLT_MAX = 3.4028234663852886e38;

/** The FusedConv activation name and parameters for an activation node, or undefined. */
export function activationOf(
  node: Node,
  consts: Constants,
  opset: number,
): { name: string; params: number[] } | undefined {
  if (node.domain !== "" && node.domain !== "ai.onnx") return undefined;
  const a = attrsOf(node);
  switch (node.opType) {
    case "Relu":
    case "Tanh":
    case "Sigmoid":
      return { name: node.opType, params: [] };
    case "LeakyRelu":
      return { name: "LeakyRelu", params: [a.float("alpha", 0.01)] };
    case "HardSigmoid":
      return { name: "HardSigmoid", params: [a.float("alpha", 0.2), a.float("beta", 0.5)] };
    case "Clip": {
      if (opset < 11) {
        return { name: "Clip", params: [a.float("min", -FLT_MAX), a.float("max", FLT_MAX)] };
      }
      const bound = (i: number, fallback: number) => {
        if (!node.input[i]) return fallback;
        return consts.scalar(node.input[i]);
      };
      const lo = bound(1, -FLT_MAX);
      const hi = bound(2, FLT_MAX);
      if (lo === undefined || hi === undefined) return undefined;
      return { name: "Clip", params: [lo, hi] };
    }
    default:
      return undefined;
  }
}

function fuseOne(
  model: Model,
  ctx: PassContext,
  types: ReadonlyMap<string, ValueType>,
): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  const consts = new Constants(model, g, ctx.external);
  const opset = opsetVersion(model, "") ?? 1;
  for (const conv of g.node) {
    if (!isOp(conv, "Conv") || elemTypeOf(types, conv.input[0]) !== "float32") continue;
    const y = conv.output[0];
    let next = soleConsumer(ix, y);
    if (!next) continue;
    let z: string | undefined;
    let add: Node | undefined;
    if (isOp(next, "Add") && next.input.filter((n) => n === y).length === 1) {
      const other = next.input[0] === y ? next.input[1] : next.input[0];
      const after = soleConsumer(ix, next.output[0]);
      if (!after || !sameShape(shapeOf(types, other), shapeOf(types, y))) continue;
      if (elemTypeOf(types, other) !== "float32") continue;
      z = other;
      add = next;
      next = after;
    }
    const act = activationOf(next, consts, opset);
    if (!act || next.input[0] !== (add ? add.output[0] : y)) continue;
    if (add && !onlyReadBy(ix, add.output[0], next)) continue;
    const inputs = [conv.input[0], conv.input[1], conv.input[2] ?? ""];
    if (z) inputs.push(z);
    while (inputs.length > 1 && inputs[inputs.length - 1] === "") inputs.pop();
    const attrs: Attribute[] = [...conv.attribute, stringAttr("activation", act.name)];
    if (act.params.length) attrs.push(floatsAttr("activation_params", act.params));
    const fused = makeNode("FusedConv", inputs, [next.output[0]], attrs, {
      name: conv.name,
      domain: MS_DOMAIN,
    });
    replaceNodes(g, add ? [conv, add, next] : [conv, next], [fused], next);
    ensureOpset(model, MS_DOMAIN, 1);
    return `fused ${describeNode(conv)}${add ? ` + ${describeNode(add)}` : ""} + ${
      describeNode(next)
    } into FusedConv (${act.name}${act.params.length ? ` [${act.params.join(", ")}]` : ""})`;
  }
  return undefined;
}

/** Fuses Conv (+ Add) + activation into com.microsoft.FusedConv. */
export const convActivationFusion: Pass = {
  name: "conv-activation-fusion",
  description:
    "Fuses Conv (+ a same-shape Add) + Relu/Tanh/Sigmoid/LeakyRelu/Clip/HardSigmoid into " +
    "com.microsoft.FusedConv (float32)",
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
