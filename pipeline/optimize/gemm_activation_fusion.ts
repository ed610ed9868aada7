/**
 * Gemm/MatMul + activation fusion into onnxruntime's contrib operator `com.microsoft.FusedGemm`
 * (Gemm-13 followed by an activation). Main graph, float32 only (the element type
 * onnxruntime's CPU FusedGemm takes), ai.onnx opset ≥ 7 (Gemm's current broadcasting).
 *
 * - `Gemm → act` becomes `FusedGemm(A, B, C)` with Gemm's alpha, beta, transA and transB.
 * - `MatMul → act`, with both operands and the result provably 2-D (inferred shapes), becomes
 *   `FusedGemm(A, B)` (no C). A 2-D Transpose feeding the MatMul, read by nothing else, is
 *   absorbed as transA/transB. MatMul + Add + act becomes Gemm + act first
 *   (`matmul-add-to-gemm`, which runs earlier in the list), then FusedGemm here.
 *
 * The activations are those onnxruntime's FusedGemm applies that the WebGPU backend also runs
 * in Gemm's epilogue: Relu, Tanh, Sigmoid, LeakyRelu (`activation_alpha`) and HardSigmoid
 * (`activation_alpha`, `activation_beta`); their parameters are always written, since
 * onnxruntime requires them. Clip is left alone: onnxruntime's FusedGemm has no Clip.
 *
 * The product's output must be read only by the activation and must not be a graph output.
 * The model gets a `com.microsoft` opset import (version 1) when it has none.
 *
 * @module
 */

import type { Attribute, Model, Node } from "../load/ir.ts";
import { floatAttr, intAttr, makeNode, stringAttr } from "../load/build.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  attrsOf,
  canonicalDomain,
  describeNode,
  elemTypeOf,
  ensureOpset,
  type GraphIndex,
  indexGraph,
  inferTypes,
  isOp,
  MS_DOMAIN,
  onlyReadBy,
  opsetVersion,
  replaceNodes,
  shapeOf,
  soleConsumer,
} from "./_rewrite.ts";

/** Gemm attributes FusedGemm shares; a Gemm with any other attribute is left alone. */
const GEMM_ATTRIBUTES = new Set(["alpha", "beta", "transA", "transB"]);

/**
 * The FusedGemm activation of a node: its name and the `activation_*` attributes (every
 * parameter written out with the ONNX op's default when the node leaves it unset), or
 * undefined when the node is not a fusable activation.
 */
function gemmActivationOf(node: Node): { name: string; attrs: Attribute[] } | undefined {
  if (canonicalDomain(node.domain) !== "") return undefined;
  if (node.input.length !== 1 || node.output.length !== 1) return undefined;
  const a = attrsOf(node);
  switch (node.opType) {
    case "Relu":
    case "Tanh":
    case "Sigmoid":
      return { name: node.opType, attrs: [] };
    case "LeakyRelu":
      return { name: "LeakyRelu", attrs: [floatAttr("activation_alpha", a.float("alpha", 0.01))] };
    case "HardSigmoid":
      return {
        name: "HardSigmoid",
        attrs: [
          floatAttr("activation_alpha", a.float("alpha", 0.2)),
          floatAttr("activation_beta", a.float("beta", 0.5)),
        ],
      };
    default:
      return undefined;
  }
}

/** The operand behind a 2-D Transpose read only by `mm`, or undefined. */
function transposed(ix: GraphIndex, name: string, mm: Node): Node | undefined {
  const t = ix.producer.get(name);
  if (!isOp(t, "Transpose") || !onlyReadBy(ix, name, mm)) return undefined;
  const perm = attrsOf(t).ints("perm", [1, 0]);
  return perm.length === 2 && perm[0] === 1 && perm[1] === 0 ? t : undefined;
}

function fuseOne(model: Model, types: ReadonlyMap<string, ValueType>): string | undefined {
  const g = model.graph!;
  const ix = indexGraph(g);
  for (const node of g.node) {
    if (canonicalDomain(node.domain) !== "") continue;
    if (node.opType !== "Gemm" && node.opType !== "MatMul") continue;
    const gemm = node.opType === "Gemm";
    if (elemTypeOf(types, node.input[0]) !== "float32") continue;
    const y = node.output[0];
    const next = soleConsumer(ix, y);
    if (!next || next.input[0] !== y) continue;
    const act = gemmActivationOf(next);
    if (!act) continue;
    let inputs: string[];
    const attrs: Attribute[] = [];
    const removed: Node[] = [node, next];
    if (gemm) {
      if (node.attribute.some((x) => !GEMM_ATTRIBUTES.has(x.name))) continue;
      inputs = [...node.input];
      while (inputs.length > 2 && inputs[inputs.length - 1] === "") inputs.pop();
      attrs.push(...node.attribute);
    } else {
      const [a, b] = node.input;
      if (shapeOf(types, a)?.length !== 2 || shapeOf(types, b)?.length !== 2) continue;
      if (shapeOf(types, y)?.length !== 2 || a === b) continue;
      const ta = transposed(ix, a, node);
      const tb = transposed(ix, b, node);
      inputs = [ta ? ta.input[0] : a, tb ? tb.input[0] : b];
      if (ta) attrs.push(intAttr("transA", 1));
      if (tb) attrs.push(intAttr("transB", 1));
      for (const t of [ta, tb]) if (t) removed.push(t);
    }
    attrs.push(stringAttr("activation", act.name), ...act.attrs);
    const fused = makeNode("FusedGemm", inputs, [next.output[0]], attrs, {
      name: node.name || next.name,
      domain: MS_DOMAIN,
    });
    replaceNodes(g, removed, [fused], next);
    ensureOpset(model, MS_DOMAIN, 1);
    const absorbed = removed.slice(2).map((t) => ` + ${describeNode(t)}`).join("");
    return `fused ${describeNode(node)}${absorbed} + ${
      describeNode(next)
    } into FusedGemm (${act.name})`;
  }
  return undefined;
}

/** Fuses Gemm or 2-D MatMul + Relu/Tanh/Sigmoid/LeakyRelu/HardSigmoid into com.microsoft.FusedGemm. */
export const gemmActivationFusion: Pass = {
  name: "gemm-activation-fusion",
  description: "Fuses Gemm or a 2-D MatMul + Relu/Tanh/Sigmoid/LeakyRelu/HardSigmoid into " +
    "com.microsoft.FusedGemm (float32)",
  level: "extended",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    if (!model.graph || (opsetVersion(model, "") ?? 1) < 7) return { changed: false, details };
    const types = inferTypes(model, ctx.external);
    for (let line = fuseOne(model, types); line; line = fuseOne(model, types)) details.push(line);
    return { changed: details.length > 0, details };
  },
};
