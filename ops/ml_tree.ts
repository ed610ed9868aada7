/**
 * Tree ensembles of ai.onnx.ml: TreeEnsembleRegressor and TreeEnsembleClassifier (ml 1 and
 * 3, the `*_as_tensor` double attributes of ml 3) and TreeEnsemble (ml 5, nodes and leaves
 * as separate tuples, set-membership splits).
 *
 * The attributes are parsed once per node into flat typed arrays (every leaf is a node of
 * mode LEAF whose target weights sit in a CSR table) and cached; evaluation walks each tree
 * per row. Semantics follow the spec and, where the spec is silent, the ONNX reference
 * implementation:
 * - a NaN feature takes the branch named by `nodes_missing_value_tracks_true` (ml 5: a
 *   comparison that is true for NaN, BRANCH_NEQ, takes the true branch);
 * - aggregate AVERAGE divides by the number of trees; base values are added after
 *   aggregation; with MIN/MAX a target no leaf voted for keeps its base value (0);
 * - the classifier's binary case (all class weights for one class id, at most two labels)
 *   produces two score columns `[1 - s, s]` (NONE, PROBIT) or `[-s, s]` (other transforms)
 *   before the post-transform; the label is the arg-max of the final scores.
 *
 * @module
 */

import type { DataType } from "../pipeline/tensor/dtype.ts";
import type { Value } from "../pipeline/tensor/tensor.ts";
import { tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { inputElem, inputShape } from "./shape_infer.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { numbersOf, tensorAt, tensorFromComputed } from "./util.ts";
import {
  applyPostTransform,
  argmaxRow,
  cachedFor,
  classLabelsOf,
  featureRows,
  float32Tensor,
  floatsOrTensor,
  hasStrings,
  labelTensor,
  type PostTransform,
  postTransformFromCode,
  postTransformOf,
} from "./ml_common.ts";

/** Node modes; LEAF marks a terminal node. */
const LEQ = 0, LT = 1, GTE = 2, GT = 3, EQ = 4, NEQ = 5, MEMBER = 6, LEAF = 7;

const MODE_NAMES: Record<string, number> = {
  BRANCH_LEQ: LEQ,
  BRANCH_LT: LT,
  BRANCH_GTE: GTE,
  BRANCH_GT: GT,
  BRANCH_EQ: EQ,
  BRANCH_NEQ: NEQ,
  LEAF,
};

/** A parsed ensemble: one flat node table (interior and leaf nodes) and tree roots. */
interface Ensemble {
  /** Feature index per node. */
  feature: Int32Array;
  /** Mode per node (LEQ ... LEAF). */
  mode: Uint8Array;
  /** Threshold per node. */
  value: Float64Array;
  /** Next node index when the comparison holds. */
  trueNext: Int32Array;
  /** Next node index otherwise. */
  falseNext: Int32Array;
  /** Branch taken for a NaN feature: 1 = true branch. */
  missingTrue: Uint8Array;
  /** ml 5 semantics for NaN (the comparison itself is evaluated, NEQ is true for NaN). */
  nanCompares: boolean;
  /** Set members of BRANCH_MEMBER nodes. */
  members: (Set<number> | undefined)[];
  /** Root node index of each tree. */
  roots: Int32Array;
  /** Leaf votes: node i votes for targets leafTarget[leafStart[i] .. leafStart[i+1]). */
  leafStart: Int32Array;
  /** Target (or class) index of each vote. */
  leafTarget: Int32Array;
  /** Weight of each vote. */
  leafWeight: Float64Array;
  /** Largest feature index used by a split. */
  maxFeature: number;
  /** Largest target index voted for. */
  maxTarget: number;
}

function intsAttr(ctx: OpContext, name: string): number[] {
  return ctx.attrs.has(name) ? ctx.attrs.ints(name) : [];
}

function buildVotes(
  ctx: OpContext,
  nNodes: number,
  voteNode: ArrayLike<number>,
  voteTarget: ArrayLike<number>,
  voteWeight: ArrayLike<number>,
): { leafStart: Int32Array; leafTarget: Int32Array; leafWeight: Float64Array; maxTarget: number } {
  const count = new Int32Array(nNodes + 1);
  for (let k = 0; k < voteNode.length; k++) count[voteNode[k] + 1]++;
  for (let i = 0; i < nNodes; i++) count[i + 1] += count[i];
  const leafStart = count.slice();
  const fill = count.slice(0, nNodes);
  const leafTarget = new Int32Array(voteNode.length);
  const leafWeight = new Float64Array(voteNode.length);
  let maxTarget = -1;
  for (let k = 0; k < voteNode.length; k++) {
    const t = voteTarget[k];
    if (!Number.isInteger(t) || t < 0) throw ctx.fail(`target/class id ${t} is negative`);
    if (t > maxTarget) maxTarget = t;
    const p = fill[voteNode[k]]++;
    leafTarget[p] = t;
    leafWeight[p] = voteWeight[k];
  }
  return { leafStart, leafTarget, leafWeight, maxTarget };
}

/**
 * Parses the ml 1/3 encoding: nodes identified by (tree id, node id), votes by
 * `${prefix}_treeids/_nodeids/_ids/_weights` (prefix "target" or "class").
 */
function parseClassic(ctx: OpContext, prefix: "target" | "class"): Ensemble {
  const treeIds = intsAttr(ctx, "nodes_treeids");
  const nodeIds = intsAttr(ctx, "nodes_nodeids");
  const featureIds = intsAttr(ctx, "nodes_featureids");
  const modes = ctx.attrs.has("nodes_modes") ? ctx.attrs.strings("nodes_modes") : [];
  const values = floatsOrTensor(ctx, "nodes_values", ctx.version >= 3) ?? new Float64Array(0);
  const trueIds = intsAttr(ctx, "nodes_truenodeids");
  const falseIds = intsAttr(ctx, "nodes_falsenodeids");
  const mvtt = intsAttr(ctx, "nodes_missing_value_tracks_true");
  const n = nodeIds.length;
  const check = (name: string, len: number, optional = false) => {
    if (len !== n && !(optional && len === 0)) {
      throw ctx.fail(`attribute ${name} has ${len} entries, expected ${n} (one per node)`);
    }
  };
  check("nodes_treeids", treeIds.length);
  check("nodes_modes", modes.length);
  check("nodes_featureids", featureIds.length, true);
  check("nodes_values", values.length, true);
  check("nodes_truenodeids", trueIds.length, true);
  check("nodes_falsenodeids", falseIds.length, true);
  check("nodes_missing_value_tracks_true", mvtt.length, true);

  const index = new Map<number, Map<number, number>>();
  const treeOrder: number[] = [];
  for (let i = 0; i < n; i++) {
    let m = index.get(treeIds[i]);
    if (!m) {
      m = new Map();
      index.set(treeIds[i], m);
      treeOrder.push(treeIds[i]);
    }
    if (m.has(nodeIds[i])) {
      throw ctx.fail(`node id ${nodeIds[i]} appears twice in tree ${treeIds[i]}`);
    }
    m.set(nodeIds[i], i);
  }
  const lookup = (tree: number, node: number, what: string): number => {
    const i = index.get(tree)?.get(node);
    if (i === undefined) throw ctx.fail(`${what} refers to node ${node} missing from tree ${tree}`);
    return i;
  };

  const feature = new Int32Array(n);
  const mode = new Uint8Array(n);
  const value = new Float64Array(n);
  const trueNext = new Int32Array(n).fill(-1);
  const falseNext = new Int32Array(n).fill(-1);
  const missingTrue = new Uint8Array(n);
  const isChild = new Uint8Array(n);
  let maxFeature = -1;
  for (let i = 0; i < n; i++) {
    const m = MODE_NAMES[modes[i]];
    if (m === undefined) throw ctx.fail(`unknown node mode "${modes[i]}"`);
    mode[i] = m;
    if (m === LEAF) continue;
    const f = featureIds[i] ?? 0;
    if (f < 0) throw ctx.fail(`node ${nodeIds[i]} of tree ${treeIds[i]} has feature id ${f}`);
    feature[i] = f;
    if (f > maxFeature) maxFeature = f;
    value[i] = values[i] ?? 0;
    missingTrue[i] = (mvtt[i] ?? 0) >= 1 ? 1 : 0;
    trueNext[i] = lookup(treeIds[i], trueIds[i], "nodes_truenodeids");
    falseNext[i] = lookup(treeIds[i], falseIds[i], "nodes_falsenodeids");
    isChild[trueNext[i]] = 1;
    isChild[falseNext[i]] = 1;
  }
  const roots = new Int32Array(treeOrder.length);
  treeOrder.forEach((tree, t) => {
    const nodes = [...index.get(tree)!.values()];
    const root = nodes.find((i) => !isChild[i]);
    if (root === undefined) throw ctx.fail(`tree ${tree} has no root (its nodes form a cycle)`);
    roots[t] = root;
  });

  const vTrees = intsAttr(ctx, `${prefix}_treeids`);
  const vNodes = intsAttr(ctx, `${prefix}_nodeids`);
  const vIds = intsAttr(ctx, `${prefix}_ids`);
  const vWeights = floatsOrTensor(ctx, `${prefix}_weights`, ctx.version >= 3) ??
    new Float64Array(0);
  const nv = vIds.length;
  if (vTrees.length !== nv || vNodes.length !== nv || vWeights.length !== nv) {
    throw ctx.fail(
      `attributes ${prefix}_treeids, ${prefix}_nodeids, ${prefix}_ids and ${prefix}_weights ` +
        `must have the same length`,
    );
  }
  const voteNode = new Int32Array(nv);
  for (let k = 0; k < nv; k++) {
    voteNode[k] = lookup(vTrees[k], vNodes[k], `${prefix}_nodeids`);
  }
  const votes = buildVotes(ctx, n, voteNode, vIds, vWeights);
  return {
    feature,
    mode,
    value,
    trueNext,
    falseNext,
    missingTrue,
    nanCompares: false,
    members: [],
    roots,
    ...votes,
    maxFeature,
  };
}

/** Parses the ml 5 encoding (TreeEnsemble): interior nodes then leaves in one table. */
function parseV5(ctx: OpContext): Ensemble & { weightType: DataType } {
  const splitsT = ctx.attrs.tensor("nodes_splits");
  const modesT = ctx.attrs.tensor("nodes_modes");
  const weightsT = ctx.attrs.tensor("leaf_weights");
  if (!splitsT || !modesT || !weightsT) {
    throw ctx.fail("attributes nodes_splits, nodes_modes and leaf_weights are required");
  }
  const splits = numbersOf(splitsT);
  const modes = numbersOf(modesT);
  const featureIds = ctx.attrs.ints("nodes_featureids");
  const trueIds = ctx.attrs.ints("nodes_truenodeids");
  const falseIds = ctx.attrs.ints("nodes_falsenodeids");
  const trueLeafs = ctx.attrs.ints("nodes_trueleafs");
  const falseLeafs = ctx.attrs.ints("nodes_falseleafs");
  const mvtt = intsAttr(ctx, "nodes_missing_value_tracks_true");
  const treeRoots = ctx.attrs.ints("tree_roots");
  const leafTargets = ctx.attrs.ints("leaf_targetids");
  const leafWeights = numbersOf(weightsT);
  const ni = splits.length;
  const nl = leafWeights.length;
  for (
    const [name, len] of [
      ["nodes_modes", modes.length],
      ["nodes_featureids", featureIds.length],
      ["nodes_truenodeids", trueIds.length],
      ["nodes_falsenodeids", falseIds.length],
      ["nodes_trueleafs", trueLeafs.length],
      ["nodes_falseleafs", falseLeafs.length],
    ] as const
  ) {
    if (len !== ni) throw ctx.fail(`attribute ${name} has ${len} entries, expected ${ni}`);
  }
  if (mvtt.length !== 0 && mvtt.length !== ni) {
    throw ctx.fail(`attribute nodes_missing_value_tracks_true has ${mvtt.length} entries`);
  }
  if (leafTargets.length !== nl) {
    throw ctx.fail(`leaf_targetids has ${leafTargets.length} entries, leaf_weights ${nl}`);
  }
  const n = ni + nl;
  const feature = new Int32Array(n);
  const mode = new Uint8Array(n).fill(LEAF);
  const value = new Float64Array(n);
  const trueNext = new Int32Array(n).fill(-1);
  const falseNext = new Int32Array(n).fill(-1);
  const missingTrue = new Uint8Array(n);
  const members: (Set<number> | undefined)[] = [];
  const memberValues = ctx.attrs.has("membership_values")
    ? numbersOf(ctx.attrs.tensor("membership_values")!)
    : new Float64Array(0);
  let mp = 0;
  let maxFeature = -1;
  const target = (id: number, leaf: number): number => {
    const limit = leaf ? nl : ni;
    if (id < 0 || id >= limit) {
      throw ctx.fail(`branch target ${id} is out of range for ${leaf ? "leaves" : "nodes"}`);
    }
    return leaf ? ni + id : id;
  };
  for (let i = 0; i < ni; i++) {
    const m = modes[i];
    if (!(m >= 0 && m <= 6 && Number.isInteger(m))) throw ctx.fail(`unknown node mode ${m}`);
    mode[i] = m;
    feature[i] = featureIds[i];
    if (featureIds[i] < 0) throw ctx.fail(`node ${i} has feature id ${featureIds[i]}`);
    if (featureIds[i] > maxFeature) maxFeature = featureIds[i];
    value[i] = splits[i];
    missingTrue[i] = (mvtt[i] ?? 0) >= 1 ? 1 : 0;
    trueNext[i] = target(trueIds[i], trueLeafs[i]);
    falseNext[i] = target(falseIds[i], falseLeafs[i]);
    if (m === MEMBER) {
      if (mp >= memberValues.length) {
        throw ctx.fail(`BRANCH_MEMBER node ${i} has no set in membership_values`);
      }
      const set = new Set<number>();
      while (mp < memberValues.length && !Number.isNaN(memberValues[mp])) {
        set.add(memberValues[mp++]);
      }
      mp++; // the NaN delimiter
      members[i] = set;
    }
  }
  const roots = new Int32Array(treeRoots.length);
  treeRoots.forEach((r, t) => {
    if (r < 0 || r >= ni) throw ctx.fail(`tree root ${r} is out of range`);
    // A tree that is a single leaf: both branches name the same leaf.
    roots[t] = trueLeafs[r] && falseLeafs[r] && trueIds[r] === falseIds[r] ? ni + trueIds[r] : r;
  });
  const voteNode = new Int32Array(nl);
  for (let j = 0; j < nl; j++) voteNode[j] = ni + j;
  const votes = buildVotes(ctx, n, voteNode, leafTargets, leafWeights);
  return {
    feature,
    mode,
    value,
    trueNext,
    falseNext,
    missingTrue,
    nanCompares: true,
    members,
    roots,
    ...votes,
    maxFeature,
    weightType: weightsT.type,
  };
}

/** Walks tree `t` for the row at `off`; returns the leaf node index. */
function walk(ctx: OpContext, e: Ensemble, x: ArrayLike<number>, off: number, t: number): number {
  let i = e.roots[t];
  let steps = 0;
  const limit = e.mode.length;
  while (e.mode[i] !== LEAF) {
    const v = x[off + e.feature[i]];
    const th = e.value[i];
    let cond: boolean;
    const m = e.mode[i];
    if (v !== v && (!e.nanCompares || m !== NEQ)) {
      cond = e.missingTrue[i] === 1;
    } else {
      switch (m) {
        case LEQ:
          cond = v <= th;
          break;
        case LT:
          cond = v < th;
          break;
        case GTE:
          cond = v >= th;
          break;
        case GT:
          cond = v > th;
          break;
        case EQ:
          cond = v === th;
          break;
        case NEQ:
          cond = v !== th;
          break;
        default:
          cond = e.members[i]?.has(v) ?? false;
      }
    }
    i = cond ? e.trueNext[i] : e.falseNext[i];
    if (++steps > limit) throw ctx.fail(`tree ${t} does not reach a leaf (its nodes form a cycle)`);
  }
  return i;
}

type Aggregate = "SUM" | "AVERAGE" | "MIN" | "MAX";

/**
 * Evaluates the ensemble on `n` rows of `f` features; returns [n, nTargets] aggregated
 * scores plus base values.
 */
function evaluate(
  ctx: OpContext,
  e: Ensemble,
  x: ArrayLike<number>,
  n: number,
  f: number,
  nTargets: number,
  agg: Aggregate,
  base: Float64Array | undefined,
): Float64Array {
  if (e.maxFeature >= f) {
    throw ctx.fail(`a split uses feature ${e.maxFeature} but the input has ${f} features`);
  }
  if (e.maxTarget >= nTargets) {
    throw ctx.fail(`a leaf votes for target ${e.maxTarget} but there are ${nTargets} targets`);
  }
  if (base && base.length !== nTargets && base.length !== 1 && base.length !== 0) {
    throw ctx.fail(`base_values has ${base.length} entries, expected ${nTargets}`);
  }
  const out = new Float64Array(n * nTargets);
  const seen = agg === "MIN" || agg === "MAX" ? new Uint8Array(nTargets) : undefined;
  const nTrees = e.roots.length;
  for (let r = 0; r < n; r++) {
    const o = r * nTargets;
    seen?.fill(0);
    for (let t = 0; t < nTrees; t++) {
      const leaf = walk(ctx, e, x, r * f, t);
      for (let k = e.leafStart[leaf]; k < e.leafStart[leaf + 1]; k++) {
        const j = e.leafTarget[k];
        const w = e.leafWeight[k];
        if (seen) {
          if (!seen[j]) {
            out[o + j] = w;
            seen[j] = 1;
          } else if (agg === "MIN" ? w < out[o + j] : w > out[o + j]) {
            out[o + j] = w;
          }
        } else {
          out[o + j] += w;
        }
      }
    }
    if (agg === "AVERAGE" && nTrees > 0) {
      for (let j = 0; j < nTargets; j++) out[o + j] /= nTrees;
    }
    if (base && base.length > 0) {
      for (let j = 0; j < nTargets; j++) out[o + j] += base.length === 1 ? base[0] : base[j];
    }
  }
  return out;
}

function aggregateOf(ctx: OpContext): Aggregate {
  const a = ctx.attrs.string("aggregate_function", "SUM");
  if (a !== "SUM" && a !== "AVERAGE" && a !== "MIN" && a !== "MAX") {
    throw ctx.fail(`aggregate_function must be SUM, AVERAGE, MIN or MAX, got "${a}"`);
  }
  return a;
}

function regressorCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const e = cachedFor(ctx, "regressor", () => parseClassic(ctx, "target"));
  const nTargets = ctx.attrs.int("n_targets", e.maxTarget + 1);
  const base = floatsOrTensor(ctx, "base_values", ctx.version >= 3);
  const post = postTransformOf(ctx);
  const scores = evaluate(ctx, e, values, n, f, nTargets, aggregateOf(ctx), base);
  for (let r = 0; r < n; r++) applyPostTransform(post, scores, r * nTargets, nTargets);
  return [float32Tensor(scores, [n, nTargets])];
}

function classifierCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const labels = classLabelsOf(ctx, "classlabels_int64s", "classlabels_strings")!;
  const nClasses = labels.values.length;
  const e = cachedFor(ctx, "classifier", () => parseClassic(ctx, "class"));
  const base = floatsOrTensor(ctx, "base_values", ctx.version >= 3);
  const post = postTransformOf(ctx);
  const binary = isBinary(ctx);
  if (binary && nClasses > 2) throw ctx.fail("binary classification needs at most two labels");
  const width = Math.max(nClasses, e.maxTarget + 1);
  const raw = evaluate(ctx, e, values, n, f, width, "SUM", base);
  let cols = width;
  let scores = raw;
  if (binary) {
    const c = e.maxTarget;
    cols = 2;
    scores = new Float64Array(n * 2);
    for (let r = 0; r < n; r++) {
      const s = raw[r * width + c];
      scores[r * 2] = post === "NONE" || post === "PROBIT" ? 1 - s : -s;
      scores[r * 2 + 1] = s;
    }
  } else if (width > nClasses) {
    throw ctx.fail(`class id ${e.maxTarget} is out of range for ${nClasses} class labels`);
  }
  const picks = new Int32Array(n);
  const literal = nClasses === 1 ? new Uint8Array(n).fill(1) : undefined;
  for (let r = 0; r < n; r++) {
    applyPostTransform(post, scores, r * cols, cols);
    picks[r] = argmaxRow(scores, r * cols, cols);
  }
  if (nClasses === 1) {
    // One label: the reference maps the positive column to label 1, anything else to 0.
    if (labels.kind !== "int64" || labels.values[0] !== 1n) {
      throw ctx.unsupported("a single class label other than the integer 1 is not supported");
    }
  }
  return [labelTensor(labels, picks, [n], literal), float32Tensor(scores, [n, cols])];
}

/** True when every class weight is for one class id (the binary encoding). */
function isBinary(ctx: Pick<OpContext, "attrs">): boolean {
  const ids = ctx.attrs.has("class_ids") ? ctx.attrs.ints("class_ids") : [];
  if (ids.length === 0) return false;
  return ids.every((v) => v === ids[0]);
}

function treeEnsembleCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  if (x.type !== "float32" && x.type !== "float64" && x.type !== "float16") {
    throw ctx.unsupported(`input type ${x.type} is not supported`, x.type);
  }
  if (x.dims.length !== 2) throw ctx.fail(`input must be 2-D [N, F], got [${x.dims}]`);
  const e = cachedFor(ctx, "tree5", () => parseV5(ctx));
  const nTargets = ctx.attrs.int("n_targets", e.maxTarget + 1);
  const aggCode = ctx.attrs.int("aggregate_function", 1);
  const aggs: Aggregate[] = ["AVERAGE", "SUM", "MIN", "MAX"];
  const agg = aggs[aggCode];
  if (!agg) throw ctx.fail(`aggregate_function must be in [0, 3], got ${aggCode}`);
  const post: PostTransform = postTransformFromCode(ctx, ctx.attrs.int("post_transform", 0));
  const [n, f] = x.dims;
  const scores = evaluate(ctx, e, numbersOf(x), n, f, nTargets, agg, undefined);
  for (let r = 0; r < n; r++) applyPostTransform(post, scores, r * nTargets, nTargets);
  return [tensorFromComputed(x.type, scores, [n, nTargets])];
}

function rowsDim(ctx: InferContext): number | string | undefined {
  const s = inputShape(ctx, 0);
  if (!s) return undefined;
  return s.length <= 1 ? 1 : s[0];
}

function regressorInfer(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.attrs.has("n_targets") ? ctx.attrs.int("n_targets") : undefined;
  return [tensorType("float32", [rowsDim(ctx), t])];
}

function classifierInfer(ctx: InferContext): (ValueType | undefined)[] {
  const strings = hasStrings(ctx.node, "classlabels_strings");
  const nLabels = strings
    ? ctx.attrs.strings("classlabels_strings").length
    : ctx.attrs.has("classlabels_int64s")
    ? ctx.attrs.ints("classlabels_int64s").length
    : undefined;
  const cols = nLabels !== undefined && isBinary(ctx) ? 2 : nLabels;
  const n = rowsDim(ctx);
  return [tensorType(strings ? "string" : "int64", [n]), tensorType("float32", [n, cols])];
}

function treeEnsembleInfer(ctx: InferContext): (ValueType | undefined)[] {
  const s = inputShape(ctx, 0);
  if (s && s.length !== 2) ctx.error(`input must be 2-D [N, F], got rank ${s.length}`);
  const t = ctx.attrs.has("n_targets") ? ctx.attrs.int("n_targets") : undefined;
  return [tensorType(inputElem(ctx, 0), [s?.[0], t])];
}

/** Tree ensemble operators. */
export const ops: OpDef[] = [
  {
    domain: "ai.onnx.ml",
    opType: "TreeEnsembleRegressor",
    versions: [1, 3],
    cpu: regressorCpu,
    infer: regressorInfer,
  },
  {
    domain: "ai.onnx.ml",
    opType: "TreeEnsembleClassifier",
    versions: [1, 3],
    cpu: classifierCpu,
    infer: classifierInfer,
  },
  {
    domain: "ai.onnx.ml",
    opType: "TreeEnsemble",
    versions: [5],
    cpu: treeEnsembleCpu,
    infer: treeEnsembleInfer,
  },
];
