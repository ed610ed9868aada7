/**
 * No-op elimination: turns nodes that provably return their input unchanged into Identity
 * nodes, which `identity-elimination` then removes (or, where a graph output's name must
 * stay, keeps as a cheap copy). Main graph only; shapes and types come from the checker's
 * inference.
 *
 * - Dropout in inference (no `training_mode` input, or a constant false one; opset < 12:
 *   always) whose mask output is unused;
 * - Reshape to the shape the input already has (a constant target whose every element is the
 *   input's dim, 0 copying it, or a single -1 standing for the one remaining dim);
 * - Cast to the input's own element type;
 * - Transpose with the identity permutation;
 * - Expand to a constant shape of ones, or to the input's own static shape;
 * - Concat of a single input; Pad with all pads zero (constant mode); Slice that keeps every
 *   element (steps 1, starts 0, ends past the static dims).
 *
 * @module
 */

import type { Graph, Model, Node } from "../load/ir.ts";
import { dataTypeFromCode } from "../tensor/dtype.ts";
import type { ValueType } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  attrsOf,
  canonicalDomain,
  Constants,
  describeNode,
  elemTypeOf,
  indexGraph,
  inferTypes,
  intValues,
  numbersOfTensor,
  opsetVersion,
  shapeOf,
  useCount,
} from "./_rewrite.ts";

function isNoopReshape(
  node: Node,
  consts: Constants,
  types: ReadonlyMap<string, ValueType>,
): boolean {
  const target = intValues(consts.get(node.input[1]));
  const shape = shapeOf(types, node.input[0]);
  if (!target || !shape || target.length !== shape.length) return false;
  if (attrsOf(node).int("allowzero", 0) !== 0 && target.includes(0)) return false;
  let minusOne = -1;
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (t === 0 || (typeof shape[i] === "number" && t === shape[i])) continue;
    if (t === -1 && minusOne < 0) {
      minusOne = i;
      continue;
    }
    return false;
  }
  // A single -1 with every other dim matched stands for the remaining dim itself.
  return true;
}

function isNoopSlice(
  node: Node,
  consts: Constants,
  types: ReadonlyMap<string, ValueType>,
  opset: number,
): boolean {
  if (opset < 10) return false;
  const shape = shapeOf(types, node.input[0]);
  const starts = intValues(consts.get(node.input[1]));
  const ends = intValues(consts.get(node.input[2]));
  if (!shape || !starts || !ends) return false;
  const axes = node.input[3] ? intValues(consts.get(node.input[3])) : starts.map((_, i) => i);
  const steps = node.input[4] ? intValues(consts.get(node.input[4])) : starts.map(() => 1);
  if (!axes || !steps) return false;
  return axes.every((a, i) => {
    const axis = a < 0 ? a + shape.length : a;
    const dim = shape[axis];
    return steps[i] === 1 && starts[i] === 0 && typeof dim === "number" && ends[i] >= dim;
  });
}

function noopReason(
  node: Node,
  model: Model,
  g: Graph,
  consts: Constants,
  types: () => ReadonlyMap<string, ValueType>,
): string | undefined {
  if (canonicalDomain(node.domain) !== "" || !node.input[0]) return undefined;
  const opset = opsetVersion(model, "") ?? 1;
  switch (node.opType) {
    case "Dropout": {
      if (node.output.length > 1 && node.output[1] !== "") {
        const ix = indexGraph(g);
        if (useCount(ix, node.output[1]) > 0) return undefined;
      }
      if (opset >= 12 && node.input[2]) {
        const t = consts.get(node.input[2]);
        const v = t ? numbersOfTensor(t) : undefined;
        if (!v || v.length !== 1 || v[0] !== 0) return undefined;
      }
      if (opset < 7 && attrsOf(node).int("is_test", 0) === 0) return undefined;
      return "Dropout in inference";
    }
    case "Cast": {
      const to = dataTypeFromCode(attrsOf(node).int("to", 0));
      return to !== undefined && elemTypeOf(types(), node.input[0]) === to
        ? `Cast to its input's type ${to}`
        : undefined;
    }
    case "Transpose": {
      const perm = attrsOf(node).ints("perm", []);
      return perm.length > 0 && perm.every((p, i) => p === i) ? "identity Transpose" : undefined;
    }
    case "Reshape":
      return opset >= 5 && isNoopReshape(node, consts, types())
        ? "Reshape to the same shape"
        : undefined;
    case "Expand": {
      const target = intValues(consts.get(node.input[1]));
      const shape = shapeOf(types(), node.input[0]);
      if (!target || !shape || target.length > shape.length) return undefined;
      const off = shape.length - target.length;
      const ok = target.every((t, i) =>
        t === 1 || (typeof shape[off + i] === "number" && t === shape[off + i])
      );
      return ok ? "Expand that changes nothing" : undefined;
    }
    case "Concat":
      return node.input.length === 1 ? "Concat of one input" : undefined;
    case "Pad": {
      const mode = attrsOf(node).string("mode", "constant");
      if (mode !== "constant") return undefined;
      const pads = opset >= 11
        ? intValues(consts.get(node.input[1]))
        : attrsOf(node).ints("pads", []);
      return pads && pads.length > 0 && pads.every((p) => p === 0) ? "Pad by zero" : undefined;
    }
    case "Slice":
      return isNoopSlice(node, consts, types(), opset) ? "Slice of everything" : undefined;
    default:
      return undefined;
  }
}

/** Turns no-op nodes into Identity nodes. */
export const noopElimination: Pass = {
  name: "noop-elimination",
  description:
    "Turns inference Dropout and no-op Reshape, Cast, Transpose, Expand, Concat, Pad and " +
    "Slice nodes into Identity nodes for identity-elimination to remove",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    const g = model.graph;
    if (!g) return { changed: false, details };
    const consts = new Constants(model, g, ctx.external);
    let types: ReadonlyMap<string, ValueType> | undefined;
    const lazyTypes = () => (types ??= inferTypes(model, ctx.external));
    for (const node of g.node) {
      const reason = noopReason(node, model, g, consts, lazyTypes);
      if (!reason) continue;
      details.push(`made ${describeNode(node)} an Identity: ${reason}`);
      node.opType = "Identity";
      node.domain = "";
      node.input = [node.input[0]];
      node.output = [node.output[0]];
      node.attribute = [];
    }
    return { changed: details.length > 0, details };
  },
};
