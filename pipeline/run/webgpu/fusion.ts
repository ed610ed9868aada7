/**
 * Elementwise fusion groups: the contract between the optimizer pass `elementwise-fusion`
 * (`pipeline/optimize/elementwise_fusion.ts`), which marks groups of elementwise nodes with
 * NodeProto metadata, and the WebGPU executor, which runs a valid group as one dispatch of a
 * generated kernel (`kernels/fused.ts`). The graph itself never changes, so a marked model is
 * plain ONNX that every runtime runs as before.
 *
 * A group is a tree of elementwise nodes whose root's output is the group's result: every
 * other member's output is read by exactly one node, a later member, and is not a graph
 * output. Members are consecutive in the node list, in execution order, and each carries
 *
 * - `onnx_deno.fusion_group`: the group's id (unique in the graph), and
 * - `onnx_deno.fusion_index`: `k/n`, its position k in the group of n members (the root is
 *   `n-1/n`).
 *
 * Members are float32/float16 elementwise nodes of the default domain: the unary and binary
 * ops of the elementwise table that compute on floats (binary and Sum/Min/Max/Mean with two
 * inputs, numpy broadcasting), Where (a bool condition), Clip (constant bounds) and Cast
 * between float types.
 *
 * Nothing here touches the GPU, so the optimizer may import it.
 *
 * @module
 */

import type { Node } from "../../load/ir.ts";
import { normalizeDomain } from "../../../ops/registry.ts";
import type { Plan, Step } from "../plan.ts";
import { nodeReads } from "../plan.ts";
import { floatElementwiseOps } from "./kernels/elementwise.ts";

/** Metadata key holding a member's group id. */
export const FUSION_GROUP_KEY = "onnx_deno.fusion_group";

/** Metadata key holding a member's position in its group as `k/n`. */
export const FUSION_INDEX_KEY = "onnx_deno.fusion_index";

/**
 * Most distinct tensor inputs a group reads (Clip bounds not counted): with the output, eight
 * storage buffers, the least every WebGPU device binds per shader stage.
 */
export const MAX_FUSED_INPUTS = 7;

/** Most members in a group (their parameters must fit the fused kernel's 32 words). */
export const MAX_FUSED_NODES = 16;

/** Most parameter words of a group (two per member at most). */
export const MAX_FUSED_PARAMS = 32;

/** How a fusable op reads its inputs. */
export type FusedOpKind = "unary" | "binary" | "where" | "clip" | "cast";

let opTable: Map<string, FusedOpKind> | undefined;

/** Fusable op types of the default domain and how each reads its inputs. */
export function fusedOpKinds(): ReadonlyMap<string, FusedOpKind> {
  if (!opTable) {
    opTable = new Map();
    const { unary, binary } = floatElementwiseOps();
    for (const op of unary) opTable.set(op, "unary");
    for (const op of binary) opTable.set(op, "binary");
    opTable.set("Where", "where");
    opTable.set("Clip", "clip");
    opTable.set("Cast", "cast");
  }
  return opTable;
}

/** The input slots of a fusable op that carry data (Clip's bounds are parameters). */
export function dataSlots(kind: FusedOpKind): number[] {
  switch (kind) {
    case "binary":
      return [0, 1];
    case "where":
      return [0, 1, 2];
    default:
      return [0];
  }
}

/**
 * The fusable kind of a node judged by its op alone (domain, op type, one output, input
 * count), or undefined. Types and values are checked by the pass and at run time.
 */
export function fusedOpKind(node: Node): FusedOpKind | undefined {
  if (normalizeDomain(node.domain) !== "") return undefined;
  if (node.output.length !== 1 || node.output[0] === "") return undefined;
  const kind = fusedOpKinds().get(node.opType);
  if (!kind) return undefined;
  const used = node.input.filter((x) => x !== "").length;
  switch (kind) {
    case "binary":
      return node.input.length === 2 && used === 2 ? kind : undefined;
    case "where":
      return node.input.length === 3 && used === 3 ? kind : undefined;
    case "clip":
      return node.input[0] ? kind : undefined;
    default:
      return node.input.length === 1 && used === 1 ? kind : undefined;
  }
}

/** A node's fusion mark, or undefined when it has none or a malformed one. */
export function fusionMark(node: Node): { group: string; index: number; size: number } | undefined {
  let group: string | undefined;
  let position: string | undefined;
  for (const e of node.metadataProps) {
    if (e.key === FUSION_GROUP_KEY) group = e.value;
    else if (e.key === FUSION_INDEX_KEY) position = e.value;
  }
  if (group === undefined || position === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(position);
  if (!m) return undefined;
  const index = Number(m[1]), size = Number(m[2]);
  if (index >= size) return undefined;
  return { group, index, size };
}

/** A validated group of a plan: its steps in execution order. */
export interface PlannedGroup {
  /** Group id from the metadata. */
  readonly id: string;
  /** Member steps, consecutive in the plan, the root last. */
  readonly steps: readonly Step[];
  /** The op kind of each member. */
  readonly kinds: readonly FusedOpKind[];
}

/** The groups of a plan, and why the marked ones that were not accepted were not. */
export interface PlannedFusion {
  /** Each member step's group and position. */
  readonly members: ReadonlyMap<Step, { group: PlannedGroup; index: number }>;
  /** Groups accepted. */
  readonly groups: readonly PlannedGroup[];
  /** Marked groups left unfused, with the reason. */
  readonly rejected: readonly { id: string; reason: string }[];
}

/**
 * Finds the marked groups of a plan's top-level steps and checks them again (the metadata may
 * be stale or hand-written): members consecutive and in order, fusable op types, every
 * intermediate value read once, by a later member, and not a graph output, at most
 * {@link MAX_FUSED_INPUTS} distinct inputs. A group failing any check runs node by node.
 */
export function planFusion(plan: Plan): PlannedFusion {
  const marked = new Map<string, { step: Step; index: number; size: number }[]>();
  for (const step of plan.steps) {
    const mark = fusionMark(step.node);
    if (!mark) continue;
    const list = marked.get(mark.group) ?? [];
    list.push({ step, index: mark.index, size: mark.size });
    marked.set(mark.group, list);
  }
  const members = new Map<Step, { group: PlannedGroup; index: number }>();
  const groups: PlannedGroup[] = [];
  const rejected: { id: string; reason: string }[] = [];
  if (marked.size === 0) return { members, groups, rejected };
  const reads = new Map<string, Step[]>();
  for (const step of plan.steps) {
    for (const r of nodeReads(step.node)) {
      const list = reads.get(r) ?? [];
      list.push(step);
      reads.set(r, list);
    }
  }
  const outputs = new Set(plan.outputs);
  for (const [id, list] of marked) {
    const reason = checkGroup(list, reads, outputs);
    if (reason) {
      rejected.push({ id, reason });
      continue;
    }
    const steps = list.map((m) => m.step);
    const group: PlannedGroup = { id, steps, kinds: steps.map((s) => fusedOpKind(s.node)!) };
    groups.push(group);
    steps.forEach((s, index) => members.set(s, { group, index }));
  }
  return { members, groups, rejected };
}

/** Why a marked group cannot be fused, or undefined when it can. */
function checkGroup(
  list: readonly { step: Step; index: number; size: number }[],
  reads: ReadonlyMap<string, Step[]>,
  outputs: ReadonlySet<string>,
): string | undefined {
  const size = list[0].size;
  if (size < 2) return "a group needs two members";
  if (list.length !== size || list.some((m) => m.size !== size)) {
    return `${list.length} member(s) of a group of ${size}`;
  }
  if (size > MAX_FUSED_NODES) return `${size} members exceed ${MAX_FUSED_NODES}`;
  for (let k = 0; k < size; k++) {
    if (list[k].index !== k) return "members are not in execution order";
    if (k > 0 && list[k].step.index !== list[k - 1].step.index + 1) {
      return "members are not consecutive";
    }
  }
  const inGroup = new Set(list.map((m) => m.step));
  const produced = new Set<string>();
  const external = new Set<string>();
  for (const { step } of list) {
    const kind = fusedOpKind(step.node);
    if (!kind || !step.def) return `${step.node.opType} node "${step.name}" cannot be fused`;
    for (const slot of dataSlots(kind)) {
      const name = step.node.input[slot];
      if (!produced.has(name)) external.add(name);
    }
    for (const slot of [1, 2]) {
      if (kind === "clip" && produced.has(step.node.input[slot] ?? "")) {
        return `Clip node "${step.name}" reads a bound computed in the group`;
      }
    }
    produced.add(step.node.output[0]);
  }
  if (external.size > MAX_FUSED_INPUTS) {
    return `${external.size} inputs exceed ${MAX_FUSED_INPUTS}`;
  }
  for (const { step } of list.slice(0, -1)) {
    const name = step.node.output[0];
    if (outputs.has(name)) return `"${name}" is a graph output`;
    const readers = reads.get(name) ?? [];
    if (readers.length !== 1) return `"${name}" is read ${readers.length} times`;
    if (!inGroup.has(readers[0]) || readers[0].index <= step.index) {
      return `"${name}" is read outside the group`;
    }
  }
  return undefined;
}
