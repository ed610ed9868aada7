/**
 * Raising a model's default-domain (ai.onnx) opset import, for fusions that need a newer
 * operator (the opset-23 Attention). The raise is done only when every node of the default
 * domain, in every graph, means the same at the new opset:
 *
 * - an op with no new schema version between the two opsets is unchanged;
 * - a new version that only widened the type lists, or added an attribute or optional input
 *   whose default keeps the old behaviour, is compatible (the table below, from the ONNX
 *   changelog);
 * - a few changes are converted mechanically: the reductions' `axes` attribute became an
 *   input in opset 18, Split-18 wants `num_outputs` when it has no `split` input, and
 *   RoiAlign-16 changed the default `coordinate_transformation_mode`;
 * - anything else (GridSample-20's renamed modes, DFT-20, GroupNormalization-21, every op
 *   version at or below 13, model-local functions) refuses the raise.
 *
 * The runtime must also implement each op at the new opset. The IR version is raised to the
 * one released with the new opset when it is lower.
 *
 * @module
 */

import type { Graph, Model, Node } from "../load/ir.ts";
import { intAttr, stringAttr } from "../load/build.ts";
import { schemaVersions } from "../../ops/schema/mod.ts";
import { resolveOp } from "../../ops/registry.ts";
import { Tensor } from "../tensor/tensor.ts";
import { addInitializer, attrsOf, canonicalDomain, Namer, opsetVersion } from "./_rewrite.ts";
import { subgraphsOf } from "./_graph.ts";

/** Schema versions (op@since) whose changes keep the meaning of nodes valid before them. */
const COMPATIBLE = new Set(
  [
    "Acos@22 Acosh@22 Add@14 Asin@22 Asinh@22 Atan@22 Atanh@22 AveragePool@19 AveragePool@22",
    "BatchNormalization@15 Bernoulli@22 Cast@19 Cast@21 Cast@23 CastLike@19 CastLike@21",
    "CastLike@23 Constant@19 Constant@21 Constant@23 ConstantOfShape@20 ConstantOfShape@21",
    "ConstantOfShape@23 Conv@22 ConvTranspose@22 Cos@22 Cosh@22 CumSum@14 DeformConv@22",
    "DequantizeLinear@19 DequantizeLinear@21 DequantizeLinear@23 Det@22 Div@14 Dropout@22",
    "Elu@22 Equal@19 EyeLike@22 Flatten@21 Flatten@23 GRU@14 GRU@22 GlobalAveragePool@22",
    "GlobalLpPool@22 GlobalMaxPool@22 GreaterOrEqual@16 HardSigmoid@22 HardSwish@22",
    "Identity@14 Identity@16 Identity@19 Identity@21 Identity@23 If@16 If@19 If@21 If@23",
    "InstanceNormalization@22 IsInf@20 IsNaN@20 LSTM@14 LSTM@22 LeakyRelu@16 LessOrEqual@16",
    "Loop@16 Loop@19 Loop@21 Loop@23 LpNormalization@22 LpPool@18 LpPool@22 MaxPool@22",
    "MaxRoiPool@22 MaxUnpool@22 Mish@22 Mul@14 Multinomial@22 NegativeLogLikelihoodLoss@22",
    "OptionalGetElement@18 OptionalHasElement@18 PRelu@16 Pad@18 Pad@19 Pad@21 Pad@23",
    "Pow@15 QLinearMatMul@21 QuantizeLinear@19 QuantizeLinear@21 QuantizeLinear@23 RNN@14",
    "RNN@22 RandomNormal@22 RandomNormalLike@22 RandomUniform@22 RandomUniformLike@22",
    "ReduceMax@20 ReduceMin@20 Relu@14 Reshape@14 Reshape@19 Reshape@21 Reshape@23",
    "Resize@18 Resize@19 RoiAlign@22 Round@22 Scan@16 Scan@19 Scan@21 Scan@23",
    "ScatterElements@16 ScatterElements@18 ScatterND@16 ScatterND@18 Selu@22 Shape@15",
    "Shape@19 Shape@21 Shape@23 Sin@22 Sinh@22 Size@19 Size@21 Size@23 Softplus@22",
    "Softsign@22 Squeeze@21 Squeeze@23 Sub@14 Tan@22 ThresholdedRelu@22 Transpose@21",
    "Transpose@23 Unsqueeze@21 Unsqueeze@23 Where@16",
  ].join(" ").split(" "),
);

const REDUCTIONS_18 = new Set([
  "ReduceL1",
  "ReduceL2",
  "ReduceLogSum",
  "ReduceLogSumExp",
  "ReduceMax",
  "ReduceMean",
  "ReduceMin",
  "ReduceProd",
  "ReduceSumSquare",
]);

/** The IR version released with each opset (onnx/helper.py's VERSION_TABLE). */
function irVersionFor(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  return 7;
}

/** A change a node needs at the new opset, applied only when the whole raise is possible. */
type Conversion = (model: Model, g: Graph, namer: Namer) => void;

/** Why `node` blocks the raise, or the conversion it needs (undefined when none). */
function check(node: Node, from: number, to: number): string | Conversion | undefined {
  const versions = schemaVersions("", node.opType).filter((v) => v > from && v <= to);
  const conversions: Conversion[] = [];
  for (const v of versions) {
    const key = `${node.opType}@${v}`;
    if (COMPATIBLE.has(key)) continue;
    if (node.opType === "BatchNormalization" && v === 14) {
      if (node.output.filter((o) => o !== "").length > 1) {
        return "BatchNormalization-14 changed the training-mode outputs";
      }
      continue;
    }
    if (REDUCTIONS_18.has(node.opType) && v === 18) {
      const axes = attrsOf(node).ints("axes", []);
      if (!node.attribute.some((a) => a.name === "axes")) continue;
      conversions.push((model, g, namer) => {
        const name = namer.fresh(`${node.output[0] || node.opType}_axes`);
        addInitializer(
          model,
          g,
          new Tensor("int64", BigInt64Array.from(axes, BigInt), [axes.length]),
          name,
        );
        node.attribute = node.attribute.filter((a) => a.name !== "axes");
        node.input = [node.input[0], name];
      });
      continue;
    }
    if (node.opType === "Split" && v === 18) {
      if (node.input[1]) continue;
      conversions.push(() => {
        node.attribute.push(intAttr("num_outputs", node.output.length));
      });
      continue;
    }
    if (node.opType === "RoiAlign" && v === 16) {
      if (node.attribute.some((a) => a.name === "coordinate_transformation_mode")) continue;
      conversions.push(() => {
        node.attribute.push(stringAttr("coordinate_transformation_mode", "output_half_pixel"));
      });
      continue;
    }
    return `${node.opType}-${v} changed its meaning`;
  }
  if (!resolveOpOk(node, to)) {
    return `this runtime does not implement ${node.opType} at opset ${to}`;
  }
  if (!conversions.length) return undefined;
  return (model, g, namer) => conversions.forEach((c) => c(model, g, namer));
}

function resolveOpOk(node: Node, opset: number): boolean {
  return "def" in resolveOp("", node.opType, opset);
}

/**
 * Raises the model's ai.onnx opset import to `target` when every default-domain node keeps
 * its meaning (see the module doc); returns undefined on success (or when the opset is
 * already at least `target`), else the reason it was refused. Nothing changes on refusal.
 */
export function raiseDefaultOpset(model: Model, target: number): string | undefined {
  const from = opsetVersion(model, "") ?? 1;
  if (from >= target) return undefined;
  if (!model.graph) return "the model has no graph";
  if (model.functions.length) return "the model has local functions with their own opset imports";
  const pending: [Graph, Conversion][] = [];
  let refusal: string | undefined;
  const walk = (g: Graph) => {
    for (const node of g.node) {
      if (refusal) return;
      if (canonicalDomain(node.domain) === "") {
        const r = check(node, from, target);
        if (typeof r === "string") {
          refusal = `${node.name || node.opType}: ${r}`;
          return;
        }
        if (r) pending.push([g, r]);
      }
      for (const sg of subgraphsOf(node)) walk(sg);
    }
  };
  walk(model.graph);
  if (refusal) return refusal;
  const namer = new Namer(model);
  for (const [g, convert] of pending) convert(model, g, namer);
  const entry = model.opsetImport.find((o) => canonicalDomain(o.domain) === "");
  if (entry) entry.version = target;
  else model.opsetImport.push({ domain: "", version: target });
  model.irVersion = Math.max(model.irVersion, irVersionFor(target));
  return undefined;
}
