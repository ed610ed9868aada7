/**
 * Runs one node on constant inputs with the runtime's CPU kernel (through the same planner
 * the session uses), for constant folding.
 *
 * @module
 */

import type { Node } from "../load/ir.ts";
import { makeGraph, makeValueInfo } from "../load/build.ts";
import type { ExternalDataReader } from "../load/tensor_proto.ts";
import { buildPlan, type PlanEnv, runPlan } from "../run/plan.ts";
import { Tensor, type Value } from "../tensor/tensor.ts";

/**
 * Evaluates `node` on `inputs` (undefined where an optional input is omitted) and returns its
 * outputs ("" outputs give undefined). Throws what the kernel throws (unsupported op, bad
 * input); callers that fold constants treat any error as "leave the node alone".
 */
export async function evaluateNode(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  opsets: ReadonlyMap<string, number>,
  external?: ExternalDataReader,
): Promise<(Value | undefined)[]> {
  const inNames = node.input.map((n, i) => (n === "" ? "" : `in${i}`));
  const outNames = node.output.map((n, i) => (n === "" ? "" : `out${i}`));
  const g = makeGraph({
    node: [{ ...node, input: inNames, output: outNames }],
    name: "fold",
    input: inNames.filter((n) => n !== "").map((n) => makeValueInfo(n)),
    output: outNames.filter((n) => n !== "").map((n) => makeValueInfo(n)),
  });
  const env: PlanEnv = {
    opsets,
    functions: new Map(),
    external,
    random: () => {
      throw new Error("random numbers are not available while folding constants");
    },
  };
  const plan = buildPlan(g, env, { isSubgraph: false, outer: new Set() });
  const feeds = new Map<string, Value>();
  inputs.forEach((t, i) => {
    if (t !== undefined && inNames[i] !== "") feeds.set(inNames[i], t);
  });
  const result = await runPlan(plan, feeds, undefined, env);
  return outNames.map((n) => (n === "" ? undefined : result.get(n)));
}

/** True when every value is a CPU tensor. */
export function allTensors(
  values: readonly (Value | undefined)[],
): values is (Tensor | undefined)[] {
  return values.every((v) => v === undefined || (v instanceof Tensor && v.location === "cpu"));
}
