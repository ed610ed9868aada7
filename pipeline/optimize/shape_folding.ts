/**
 * Shape folding: resolves the shape arithmetic exporters emit (`Shape → Gather → Unsqueeze →
 * Concat → Reshape`, with Cast, Slice, Squeeze and integer Add/Sub/Mul/Div on the way) from
 * the types the checker infers for the main graph, starting from the graph inputs.
 *
 * - A value of those ops whose every element is known (a static dim, or arithmetic on them)
 *   becomes an initializer, and its producer is removed (the chain feeding it becomes dead).
 * - A Reshape whose target is only partly known keeps the unknown part dynamic: an element
 *   that is provably the input's dim at the same position becomes 0 (copy that dim), and a
 *   single remaining unknown element becomes -1. So `Reshape(x[N,64,128], Concat(N, 64, 4,
 *   32))` gets the constant target `[0, 64, 4, 32]`, and the batch axis stays dynamic. (A -1
 *   is inferred from the element count, which assumes the tensor is not empty.)
 *
 * Value infos and declared output shapes are not trusted: exporters sometimes record the
 * shapes of the run they traced, with a fixed batch size.
 *
 * @module
 */

import type { Model, Node } from "../load/ir.ts";
import {
  symbolicFromTensor,
  symbolicOutput,
  type SymbolicValue,
  tensorFromSymbolic,
} from "../check/symbolic.ts";
import { getSchema } from "../../ops/schema/mod.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Dim } from "../tensor/value_type.ts";
import type { Pass, PassContext, PassResult } from "./mod.ts";
import {
  addInitializer,
  attrsOf,
  canonicalDomain,
  Constants,
  describeNode,
  inferTypes,
  Namer,
  opsetVersion,
  shapeOf,
} from "./_rewrite.ts";

/** Ops whose outputs symbolic.ts tracks. */
const SYMBOLIC = new Set([
  "Shape",
  "Identity",
  "Cast",
  "Gather",
  "Concat",
  "Unsqueeze",
  "Squeeze",
  "Slice",
]);

const ARITHMETIC = new Set(["Add", "Sub", "Mul", "Div"]);

function known(v: SymbolicValue): v is SymbolicValue & { values: number[] } {
  return v.values.every((d) => typeof d === "number");
}

/** Integer arithmetic on symbolic values; a side of one element broadcasts. */
function arithmetic(op: string, a: SymbolicValue, b: SymbolicValue): SymbolicValue | undefined {
  if (a.elemType !== b.elemType) return undefined;
  const n = Math.max(a.values.length, b.values.length);
  if (a.values.length !== n && a.values.length !== 1) return undefined;
  if (b.values.length !== n && b.values.length !== 1) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.values[a.values.length === 1 ? 0 : i];
    const y = b.values[b.values.length === 1 ? 0 : i];
    if (typeof x === "number" && typeof y === "number") {
      if (op === "Add") out.push(x + y);
      else if (op === "Sub") out.push(x - y);
      else if (op === "Mul") out.push(x * y);
      else {
        if (y === 0) return undefined;
        out.push(Math.trunc(x / y));
      }
    } else if (op === "Mul" && y === 1) out.push(x);
    else if (op === "Mul" && x === 1) out.push(y);
    else if ((op === "Add" || op === "Sub") && y === 0) out.push(x);
    else if (op === "Div" && y === 1) out.push(x);
    else out.push(undefined);
  }
  return { elemType: a.elemType, values: out, scalar: a.scalar && b.scalar };
}

/** The constant target of a partly known Reshape, or undefined when it cannot be written. */
function reshapeTarget(
  value: SymbolicValue,
  inputShape: readonly Dim[] | undefined,
): number[] | undefined {
  if (value.scalar) return undefined;
  const out: (number | undefined)[] = value.values.map((d, i) => {
    if (typeof d === "number") return d;
    if (typeof d === "string" && inputShape && i < inputShape.length && inputShape[i] === d) {
      return 0;
    }
    return undefined;
  });
  const unknown = out.filter((d) => d === undefined).length;
  const minusOnes = out.filter((d) => d === -1).length;
  if (unknown + minusOnes > 1) return undefined;
  return out.map((d) => d ?? -1);
}

/** Resolves Shape-derived values from inferred static dims. */
export const shapeFolding: Pass = {
  name: "shape-folding",
  description:
    "Replaces Shape/Gather/Concat/... chains whose values are known from inferred shapes by " +
    "constants, and gives partly dynamic Reshape targets a constant with 0 and -1",
  level: "basic",
  run(model: Model, ctx: PassContext): PassResult {
    const details: string[] = [];
    const g = model.graph;
    if (!g) return { changed: false, details };
    const opset = opsetVersion(model, "") ?? 1;
    const types = inferTypes(model, ctx.external);
    const consts = new Constants(model, g, ctx.external);
    const symbols = new Map<string, SymbolicValue>();
    const outputs = new Set(g.output.map((o) => o.name));
    const namer = new Namer(model);
    const removed = new Set<Node>();
    const newInits: [string, Tensor][] = [];
    const sym = (name: string): SymbolicValue | undefined => {
      if (!name) return undefined;
      return symbols.get(name) ?? symbolicFromTensor(consts.get(name));
    };
    for (const node of g.node) {
      if (canonicalDomain(node.domain) !== "") continue;
      const since = getSchema("", node.opType, opset)?.since ?? opset;
      let value: SymbolicValue | undefined;
      try {
        if (SYMBOLIC.has(node.opType)) {
          value = symbolicOutput(
            node,
            since,
            attrsOf(node),
            (i) => sym(node.input[i]),
            (i) => types.get(node.input[i]),
          );
        } else if (ARITHMETIC.has(node.opType)) {
          const a = sym(node.input[0]);
          const b = sym(node.input[1]);
          if (a && b) value = arithmetic(node.opType, a, b);
        }
      } catch {
        value = undefined;
      }
      const out = node.output[0];
      if (value && out) {
        symbols.set(out, value);
        const allConst = node.input.every((n) => n === "" || consts.has(n));
        if (known(value) && !allConst && !outputs.has(out) && node.output.length === 1) {
          const t = tensorFromSymbolic(value);
          if (t) {
            removed.add(node);
            newInits.push([out, t]);
            details.push(`resolved ${describeNode(node)} to [${value.values.join(", ")}]`);
            continue;
          }
        }
      }
      if (node.opType === "Reshape" && node.input[1] && !consts.has(node.input[1])) {
        const target = sym(node.input[1]);
        const allowzero = attrsOf(node).int("allowzero", 0);
        if (!target || allowzero !== 0) continue;
        const dims = reshapeTarget(target, shapeOf(types, node.input[0]));
        if (!dims) continue;
        const name = namer.fresh(`${node.output[0] || "reshape"}_shape`);
        newInits.push([name, new Tensor("int64", BigInt64Array.from(dims, BigInt), [dims.length])]);
        node.input[1] = name;
        details.push(`gave ${describeNode(node)} the constant target [${dims.join(", ")}]`);
      }
    }
    if (!details.length) return { changed: false, details };
    g.node = g.node.filter((n) => !removed.has(n));
    for (const [name, t] of newInits) addInitializer(model, g, t, name);
    return { changed: true, details };
  },
};
