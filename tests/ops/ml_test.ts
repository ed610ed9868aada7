/**
 * Hand-checked tests of the ai.onnx.ml operators: small trees, linear models and SVMs whose
 * outputs are worked out by hand from the spec (labels and scores, post-transforms), plus
 * the feature transforms.
 */

import assert from "node:assert/strict";
import { OnnxMap, Sequence, Tensor } from "../../pipeline/tensor/tensor.ts";
import { UnsupportedError } from "../../pipeline/errors.ts";
import { probit } from "../../ops/ml_common.ts";
import { multiclassProbability } from "../../ops/ml_linear.ts";
import { asTensor, f32, f64, i32, i64, near, nums, str, values } from "./_op_harness.ts";
import { runOne } from "./_session_run.ts";
import {
  floatAttr,
  floatsAttr,
  intAttr,
  intsAttr,
  stringAttr,
  stringsAttr,
  tensorAttr,
} from "../../pipeline/load/build.ts";

const ML = { domain: "ai.onnx.ml" };

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------------------------
// Tree ensembles

/**
 * Two trees (node ids listed out of order in tree 1):
 * tree 0: x0 <= 0.5 ? 1 : (x1 < 2 ? 2 : 3); tree 1: x1 > 1 (NaN → true) ? 10 : 20.
 */
function regressorAttrs(agg: string, extra: ReturnType<typeof intAttr>[] = [], v3 = false) {
  const values = [0.5, 0, 2, 0, 0, 0, 1, 0];
  const weights = [1, 2, 3, 10, 20];
  return [
    intsAttr("nodes_treeids", [0, 0, 0, 0, 0, 1, 1, 1]),
    intsAttr("nodes_nodeids", [0, 1, 2, 3, 4, 1, 0, 2]),
    intsAttr("nodes_featureids", [0, 0, 1, 0, 0, 0, 1, 0]),
    stringsAttr("nodes_modes", [
      "BRANCH_LEQ",
      "LEAF",
      "BRANCH_LT",
      "LEAF",
      "LEAF",
      "LEAF",
      "BRANCH_GT",
      "LEAF",
    ]),
    v3 ? tensorAttr("nodes_values_as_tensor", f64(values)) : floatsAttr("nodes_values", values),
    intsAttr("nodes_truenodeids", [1, 0, 3, 0, 0, 0, 1, 0]),
    intsAttr("nodes_falsenodeids", [2, 0, 4, 0, 0, 0, 2, 0]),
    intsAttr("nodes_missing_value_tracks_true", [0, 0, 0, 0, 0, 0, 1, 0]),
    intsAttr("target_treeids", [0, 0, 0, 1, 1]),
    intsAttr("target_nodeids", [1, 3, 4, 1, 2]),
    intsAttr("target_ids", [0, 0, 0, 0, 0]),
    v3
      ? tensorAttr("target_weights_as_tensor", f64(weights))
      : floatsAttr("target_weights", weights),
    intAttr("n_targets", 1),
    stringAttr("aggregate_function", agg),
    ...extra,
  ];
}

const TREE_X = f32([0, 0, 1, 1.5, 1, 3, NaN, NaN], [4, 2]);

Deno.test("TreeEnsembleRegressor aggregates SUM, AVERAGE, MIN and MAX", async () => {
  const cases: [string, number[]][] = [
    ["SUM", [21, 12, 13, 13]],
    ["AVERAGE", [10.5, 6, 6.5, 6.5]],
    ["MIN", [1, 2, 3, 3]],
    ["MAX", [20, 10, 10, 10]],
  ];
  for (const [agg, want] of cases) {
    for (const v3 of [false, true]) {
      const [y] = await runOne("TreeEnsembleRegressor", [TREE_X], regressorAttrs(agg, [], v3), {
        ...ML,
        opset: v3 ? 3 : 1,
      });
      assert.deepEqual(asTensor(y).dims, [4, 1]);
      assert.equal(asTensor(y).type, "float32");
      near(nums(y), want, 1e-6, 0, `${agg} v3=${v3}`);
    }
  }
});

Deno.test("TreeEnsembleRegressor adds base values after aggregation and accepts int input", async () => {
  const [y] = await runOne(
    "TreeEnsembleRegressor",
    [i64([0, 0, 1, 1], [2, 2])],
    regressorAttrs("AVERAGE", [floatsAttr("base_values", [100])]),
    ML,
  );
  // Row [0, 0]: (1 + 20) / 2 + 100; row [1, 1]: (2 + 20) / 2 + 100 (1 > 1 is false).
  near(nums(y), [110.5, 111]);
});

Deno.test("TreeEnsembleRegressor with two targets and SOFTMAX / LOGISTIC post-transforms", async () => {
  const base = regressorAttrs("SUM").filter((a) =>
    a.name !== "target_ids" && a.name !== "n_targets"
  );
  const two = [...base, intsAttr("target_ids", [0, 0, 0, 1, 1]), intAttr("n_targets", 2)];
  const [plain] = await runOne("TreeEnsembleRegressor", [TREE_X], two, ML);
  near(nums(plain), [1, 20, 2, 10, 3, 10, 3, 10]);
  const [soft] = await runOne(
    "TreeEnsembleRegressor",
    [TREE_X],
    [...two, stringAttr("post_transform", "SOFTMAX")],
    ML,
  );
  near(nums(soft), [
    ...softmax([1, 20]),
    ...softmax([2, 10]),
    ...softmax([3, 10]),
    ...softmax([3, 10]),
  ]);
  const [logi] = await runOne(
    "TreeEnsembleRegressor",
    [f32([0, 0], [1, 2])],
    [...two, stringAttr("post_transform", "LOGISTIC")],
    ML,
  );
  near(nums(logi), [sig(1), sig(20)]);
});

Deno.test("TreeEnsembleRegressor evaluates every branch mode", async () => {
  // x0 == 2 ? 5 : (x0 != 3 ? (x0 >= 10 ? 7 : 6) : 8)
  const attrs = [
    intsAttr("nodes_treeids", [0, 0, 0, 0, 0, 0, 0]),
    intsAttr("nodes_nodeids", [0, 1, 2, 3, 4, 5, 6]),
    intsAttr("nodes_featureids", [0, 0, 0, 0, 0, 0, 0]),
    stringsAttr("nodes_modes", [
      "BRANCH_EQ",
      "LEAF",
      "BRANCH_NEQ",
      "BRANCH_GTE",
      "LEAF",
      "LEAF",
      "LEAF",
    ]),
    floatsAttr("nodes_values", [2, 0, 3, 10, 0, 0, 0]),
    intsAttr("nodes_truenodeids", [1, 0, 3, 4, 0, 0, 0]),
    intsAttr("nodes_falsenodeids", [2, 0, 6, 5, 0, 0, 0]),
    intsAttr("target_treeids", [0, 0, 0, 0]),
    intsAttr("target_nodeids", [1, 4, 5, 6]),
    intsAttr("target_ids", [0, 0, 0, 0]),
    floatsAttr("target_weights", [5, 7, 6, 8]),
    intAttr("n_targets", 1),
  ];
  const [y] = await runOne("TreeEnsembleRegressor", [f64([2, 3, 10, 4, 11], [5, 1])], attrs, ML);
  near(nums(y), [5, 8, 7, 6, 7]);
});

/** Three classes; tree 0 splits on x0 <= 0, tree 1 on x1 <= 0. */
function classifierAttrs(extra: ReturnType<typeof intAttr>[], v3 = false) {
  const weights = [0.6, 0.4, 1.0, 0.2, 0.8];
  return [
    intsAttr("nodes_treeids", [0, 0, 0, 1, 1, 1]),
    intsAttr("nodes_nodeids", [0, 1, 2, 0, 1, 2]),
    intsAttr("nodes_featureids", [0, 0, 0, 1, 0, 0]),
    stringsAttr("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"]),
    floatsAttr("nodes_values", [0, 0, 0, 0, 0, 0]),
    intsAttr("nodes_truenodeids", [1, 0, 0, 1, 0, 0]),
    intsAttr("nodes_falsenodeids", [2, 0, 0, 2, 0, 0]),
    intsAttr("class_treeids", [0, 0, 0, 1, 1]),
    intsAttr("class_nodeids", [1, 1, 2, 1, 2]),
    intsAttr("class_ids", [0, 1, 2, 0, 1]),
    v3 ? tensorAttr("class_weights_as_tensor", f64(weights)) : floatsAttr("class_weights", weights),
    floatsAttr("base_values", [0.1, 0.2, 0.3]),
    ...extra,
  ];
}

const CLS_X = f32([-1, -1, 1, 1, -1, 1], [3, 2]);
// Row scores: [0.8, 0.4, 0] + base, [0, 0.8, 1] + base, [0.6, 1.2, 0] + base.
const CLS_SCORES = [[0.9, 0.6, 0.3], [0.1, 1.0, 1.3], [0.7, 1.4, 0.3]];

Deno.test("TreeEnsembleClassifier multi-class labels and scores (int and string labels)", async () => {
  for (const v3 of [false, true]) {
    const [y, z] = await runOne(
      "TreeEnsembleClassifier",
      [CLS_X],
      classifierAttrs([intsAttr("classlabels_int64s", [10, 20, 30])], v3),
      { ...ML, outputs: 2, opset: v3 ? 3 : 1 },
    );
    assert.equal(asTensor(y).type, "int64");
    assert.deepEqual(nums(y), [10, 30, 20]);
    assert.deepEqual(asTensor(z).dims, [3, 3]);
    near(nums(z), CLS_SCORES.flat());
  }
  const [ys, zs] = await runOne(
    "TreeEnsembleClassifier",
    [CLS_X],
    classifierAttrs([
      stringsAttr("classlabels_strings", ["a", "b", "c"]),
      stringAttr("post_transform", "SOFTMAX"),
    ]),
    { ...ML, outputs: 2 },
  );
  assert.deepEqual(values(ys), ["a", "c", "b"]);
  near(nums(zs), CLS_SCORES.flatMap(softmax));
});

Deno.test("TreeEnsembleClassifier SOFTMAX_ZERO and LOGISTIC post-transforms", async () => {
  const [, z] = await runOne(
    "TreeEnsembleClassifier",
    [f32([-1, -1], [1, 2])],
    classifierAttrs([
      intsAttr("classlabels_int64s", [0, 1, 2]),
      stringAttr("post_transform", "LOGISTIC"),
    ]),
    { ...ML, outputs: 2 },
  );
  near(nums(z), CLS_SCORES[0].map(sig));
  // Without base values row 0 scores [0.8, 0.4, 0]: the zero stays zero under SOFTMAX_ZERO.
  const noBase = classifierAttrs([
    intsAttr("classlabels_int64s", [0, 1, 2]),
    stringAttr("post_transform", "SOFTMAX_ZERO"),
  ]).filter((a) => a.name !== "base_values");
  const [y2, z2] = await runOne("TreeEnsembleClassifier", [f32([-1, -1], [1, 2])], noBase, {
    ...ML,
    outputs: 2,
  });
  const e1 = Math.exp(0.8 - 0.8), e2 = Math.exp(0.4 - 0.8);
  near(nums(z2), [e1 / (e1 + e2), e2 / (e1 + e2), 0]);
  assert.deepEqual(nums(y2), [0]);
});

/** Binary boosting-style model: one class id, one tree x0 <= 0 ? -1 : 2, base 0.5. */
function binaryAttrs(post: string) {
  return [
    intsAttr("nodes_treeids", [0, 0, 0]),
    intsAttr("nodes_nodeids", [0, 1, 2]),
    intsAttr("nodes_featureids", [0, 0, 0]),
    stringsAttr("nodes_modes", ["BRANCH_LEQ", "LEAF", "LEAF"]),
    floatsAttr("nodes_values", [0, 0, 0]),
    intsAttr("nodes_truenodeids", [1, 0, 0]),
    intsAttr("nodes_falsenodeids", [2, 0, 0]),
    intsAttr("class_treeids", [0, 0]),
    intsAttr("class_nodeids", [1, 2]),
    intsAttr("class_ids", [0, 0]),
    floatsAttr("class_weights", [-1, 2]),
    floatsAttr("base_values", [0.5]),
    intsAttr("classlabels_int64s", [0, 1]),
    stringAttr("post_transform", post),
  ];
}

Deno.test("TreeEnsembleClassifier binary case with a single class weight", async () => {
  const x = f32([-1, 1], [2, 1]);
  // s = -0.5 and 2.5.
  const [yl, zl] = await runOne("TreeEnsembleClassifier", [x], binaryAttrs("LOGISTIC"), {
    ...ML,
    outputs: 2,
  });
  assert.deepEqual(nums(yl), [0, 1]);
  assert.deepEqual(asTensor(zl).dims, [2, 2]);
  near(nums(zl), [sig(0.5), sig(-0.5), sig(-2.5), sig(2.5)]);
  const [yn, zn] = await runOne("TreeEnsembleClassifier", [x], binaryAttrs("NONE"), {
    ...ML,
    outputs: 2,
  });
  assert.deepEqual(nums(yn), [0, 1]);
  near(nums(zn), [1.5, -0.5, -1.5, 2.5]);
});

Deno.test("TreeEnsemble (ml 5) matches the classic encoding and supports set membership", async () => {
  const attrs = [
    tensorAttr("nodes_splits", f32([0.5, 2, 1])),
    tensorAttr("nodes_modes", new Tensor("uint8", Uint8Array.of(0, 1, 3), [3])),
    intsAttr("nodes_featureids", [0, 1, 1]),
    intsAttr("nodes_truenodeids", [0, 1, 3]),
    intsAttr("nodes_trueleafs", [1, 1, 1]),
    intsAttr("nodes_falsenodeids", [1, 2, 4]),
    intsAttr("nodes_falseleafs", [0, 1, 1]),
    intsAttr("nodes_missing_value_tracks_true", [0, 0, 1]),
    intsAttr("tree_roots", [0, 2]),
    intsAttr("leaf_targetids", [0, 0, 0, 0, 0]),
    tensorAttr("leaf_weights", f32([1, 2, 3, 10, 20])),
    intAttr("n_targets", 1),
  ];
  const [y] = await runOne("TreeEnsemble", [TREE_X], attrs, { ...ML, opset: 5 });
  near(nums(y), [21, 12, 13, 13]);
  const [avg] = await runOne("TreeEnsemble", [TREE_X], [
    ...attrs,
    intAttr("aggregate_function", 0),
  ], {
    ...ML,
    opset: 5,
  });
  near(nums(avg), [10.5, 6, 6.5, 6.5]);

  const member = [
    tensorAttr("nodes_splits", f64([0])),
    tensorAttr("nodes_modes", new Tensor("uint8", Uint8Array.of(6), [1])),
    intsAttr("nodes_featureids", [0]),
    intsAttr("nodes_truenodeids", [0]),
    intsAttr("nodes_trueleafs", [1]),
    intsAttr("nodes_falsenodeids", [1]),
    intsAttr("nodes_falseleafs", [1]),
    intsAttr("tree_roots", [0]),
    tensorAttr("membership_values", f64([1, 3, 5, NaN])),
    intsAttr("leaf_targetids", [0, 0]),
    tensorAttr("leaf_weights", f64([1, 0])),
    intAttr("n_targets", 1),
  ];
  const [m] = await runOne("TreeEnsemble", [f64([1, 2, 5, NaN], [4, 1])], member, {
    ...ML,
    opset: 5,
  });
  assert.equal(asTensor(m).type, "float64");
  near(nums(m), [1, 0, 1, 0]);
});

// ---------------------------------------------------------------------------------------------
// Linear models

Deno.test("LinearClassifier multi-class labels and scores with post-transforms", async () => {
  const attrs = [
    floatsAttr("coefficients", [1, 0, 0, 1, -1, -1]),
    floatsAttr("intercepts", [0, 0.5, 1]),
    intsAttr("classlabels_ints", [7, 8, 9]),
  ];
  const x = f32([2, 1, 0, 3, -1, -1], [3, 2]);
  const raw = [[2, 1.5, -2], [0, 3.5, -2], [-1, -0.5, 3]];
  const [y, z] = await runOne("LinearClassifier", [x], attrs, { ...ML, outputs: 2 });
  assert.deepEqual(nums(y), [7, 8, 9]);
  near(nums(z), raw.flat());
  const [, zs] = await runOne(
    "LinearClassifier",
    [x],
    [...attrs, stringAttr("post_transform", "SOFTMAX")],
    { ...ML, outputs: 2 },
  );
  near(nums(zs), raw.flatMap(softmax));
  const [yl, zl] = await runOne(
    "LinearClassifier",
    [i32([2, 1, 0, 3, -1, -1], [3, 2])],
    [...attrs, stringAttr("post_transform", "LOGISTIC")],
    { ...ML, outputs: 2 },
  );
  assert.deepEqual(nums(yl), [7, 8, 9]);
  near(nums(zl), raw.flat().map(sig));
});

Deno.test("LinearClassifier binary with one coefficient row scores [-s, s]", async () => {
  const attrs = [
    floatsAttr("coefficients", [1, -1]),
    floatsAttr("intercepts", [0.5]),
    stringsAttr("classlabels_strings", ["neg", "pos"]),
  ];
  const x = f32([1, 0, 0, 2], [2, 2]);
  const [y, z] = await runOne("LinearClassifier", [x], attrs, { ...ML, outputs: 2 });
  assert.deepEqual(values(y), ["pos", "neg"]);
  near(nums(z), [-1.5, 1.5, 1.5, -1.5]);
  const [, zl] = await runOne(
    "LinearClassifier",
    [x],
    [...attrs, stringAttr("post_transform", "LOGISTIC")],
    { ...ML, outputs: 2 },
  );
  near(nums(zl), [sig(-1.5), sig(1.5), sig(1.5), sig(-1.5)]);
});

Deno.test("LinearRegressor with several targets, intercepts and post-transforms", async () => {
  const attrs = [
    floatsAttr("coefficients", [1, 2, 3, 4]),
    floatsAttr("intercepts", [0.5, -0.5]),
    intAttr("targets", 2),
  ];
  const [y] = await runOne("LinearRegressor", [f32([1, 1, 0, 2], [2, 2])], attrs, ML);
  assert.deepEqual(asTensor(y).dims, [2, 2]);
  near(nums(y), [3.5, 6.5, 4.5, 7.5]);
  const [y1] = await runOne(
    "LinearRegressor",
    [i64([1, 2, 3])],
    [floatsAttr("coefficients", [1, 1, 1]), floatsAttr("intercepts", [-6])],
    ML,
  );
  near(nums(y1), [0]);
  const [sz] = await runOne(
    "LinearRegressor",
    [f32([0, 1, 2], [1, 3])],
    [
      floatsAttr("coefficients", [1, 0, 0, 0, 1, 0, 0, 0, 1]),
      intAttr("targets", 3),
      stringAttr("post_transform", "SOFTMAX_ZERO"),
    ],
    ML,
  );
  const a = Math.exp(-1), b = 1;
  near(nums(sz), [0, a / (a + b), b / (a + b)]);
  const [pr] = await runOne(
    "LinearRegressor",
    [f32([0.975, 0.5, 0.1587], [3, 1])],
    [floatsAttr("coefficients", [1]), stringAttr("post_transform", "PROBIT")],
    ML,
  );
  // Inverse normal CDF: 1.96, 0, -1.0 (within the erfinv approximation's error).
  near(nums(pr), [1.96, 0, -1.0], 5e-3, 3e-3);
});

Deno.test("probit approximates the inverse normal CDF", () => {
  near([probit(0.8413447), probit(0.5), probit(0.0227501)], [1, 0, -2], 3e-3, 3e-3);
});

// ---------------------------------------------------------------------------------------------
// SVMs

Deno.test("SVMRegressor with linear, RBF, POLY and SIGMOID kernels and one-class output", async () => {
  const [lin] = await runOne(
    "SVMRegressor",
    [f32([1, 1, 2, 0], [2, 2])],
    [floatsAttr("coefficients", [2, -1]), floatsAttr("rho", [0.5])],
    ML,
  );
  near(nums(lin), [1.5, 4.5]);
  const rbf = [
    intAttr("n_supports", 2),
    floatsAttr("support_vectors", [0, 0, 1, 1]),
    floatsAttr("coefficients", [1, -1]),
    floatsAttr("rho", [0.1]),
    stringAttr("kernel_type", "RBF"),
    floatsAttr("kernel_params", [0.5, 0, 0]),
  ];
  const [r] = await runOne("SVMRegressor", [f32([0, 0, 1, 0], [2, 2])], rbf, ML);
  near(nums(r), [1 - Math.exp(-1) + 0.1, 0.1]);
  const [oc] = await runOne("SVMRegressor", [f32([0, 0, 5, 5], [2, 2])], [
    ...rbf.filter((a) => a.name !== "rho"),
    floatsAttr("rho", [-0.5]),
    intAttr("one_class", 1),
  ], ML);
  // Row 0: 1 - e^-1 - 0.5 > 0 → 1; row 1: e^-25 - e^-16 - 0.5 < 0 → -1.
  near(nums(oc), [1, -1]);
  const poly = [
    intAttr("n_supports", 1),
    floatsAttr("support_vectors", [1, 2]),
    floatsAttr("coefficients", [0.5]),
    floatsAttr("rho", [0]),
    stringAttr("kernel_type", "POLY"),
    floatsAttr("kernel_params", [1, 1, 2]),
  ];
  const [p] = await runOne("SVMRegressor", [f32([1, 1], [1, 2])], poly, ML);
  near(nums(p), [8]);
  const sigm = poly.map((a) =>
    a.name === "kernel_type"
      ? stringAttr("kernel_type", "SIGMOID")
      : a.name === "kernel_params"
      ? floatsAttr("kernel_params", [0.5, 0, 0])
      : a
  );
  const [s] = await runOne("SVMRegressor", [f32([1, 1], [1, 2])], sigm, ML);
  near(nums(s), [0.5 * Math.tanh(1.5)]);
});

Deno.test("SVMClassifier binary SVC: votes, labels and [-s, s] scores", async () => {
  const attrs = [
    intsAttr("vectors_per_class", [1, 1]),
    floatsAttr("support_vectors", [0, 0, 2, 2]),
    floatsAttr("coefficients", [1, -1]),
    floatsAttr("rho", [0]),
    stringAttr("kernel_type", "RBF"),
    floatsAttr("kernel_params", [0.5, 0, 0]),
    stringsAttr("classlabels_strings", ["cat", "dog"]),
  ];
  const x = f32([0, 0, 2, 2], [2, 2]);
  const s = 1 - Math.exp(-4); // K(x, sv0) - K(x, sv1) for row 0; the negative for row 1
  const [y, z] = await runOne("SVMClassifier", [x], attrs, { ...ML, outputs: 2 });
  assert.deepEqual(values(y), ["cat", "dog"]);
  near(nums(z), [-s, s, s, -s]);
  // Platt scaling: p(0 vs 1) = 1 - σ(A·s + B) with A = -2, B = 0.
  const [yp, zp] = await runOne(
    "SVMClassifier",
    [x],
    [...attrs, floatsAttr("prob_a", [-2]), floatsAttr("prob_b", [0])],
    { ...ML, outputs: 2 },
  );
  assert.deepEqual(values(yp), ["cat", "dog"]);
  const p0 = sig(2 * s);
  near(nums(zp), [p0, 1 - p0, 1 - p0, p0], 5e-3, 0);
});

Deno.test("SVMClassifier three-class one-vs-one voting", async () => {
  const attrs = [
    intsAttr("vectors_per_class", [1, 1, 1]),
    floatsAttr("support_vectors", [0, 0, 4, 0, 0, 4]),
    floatsAttr("coefficients", [1, -1, -1, 1, 1, -1]),
    floatsAttr("rho", [0, 0, 0]),
    stringAttr("kernel_type", "RBF"),
    floatsAttr("kernel_params", [0.1, 0, 0]),
    intsAttr("classlabels_ints", [5, 6, 7]),
  ];
  const [y, z] = await runOne("SVMClassifier", [f32([4, 0, 0, 4, 0, 0], [3, 2])], attrs, {
    ...ML,
    outputs: 2,
  });
  assert.deepEqual(nums(y), [6, 7, 5]);
  const k0 = Math.exp(-1.6), k1 = 1, k2 = Math.exp(-3.2);
  // Pairs (0,1), (0,2), (1,2) for row 0: K0 - K1, K0 - K2, K1 - K2.
  near(nums(z).slice(0, 3), [k0 - k1, k0 - k2, k1 - k2]);
});

Deno.test("SVMClassifier linear mode (no support vectors)", async () => {
  const attrs = [
    floatsAttr("coefficients", [1, 0, -1, 0]),
    floatsAttr("rho", [0]),
    intsAttr("classlabels_ints", [3, 4]),
  ];
  const [y, z] = await runOne("SVMClassifier", [f32([2, 0, -1, 0], [2, 2])], attrs, {
    ...ML,
    outputs: 2,
  });
  assert.deepEqual(nums(y), [3, 4]);
  near(nums(z), [2, -2, -1, 1]);
});

Deno.test("multiclassProbability recovers consistent pairwise probabilities", () => {
  // True p = [0.5, 0.3, 0.2]; r[i][j] = p_i / (p_i + p_j).
  const p = [0.5, 0.3, 0.2];
  const r = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) if (i !== j) r[i * 3 + j] = p[i] / (p[i] + p[j]);
  }
  near(multiclassProbability(3, r), p, 5e-3, 0);
});

// ---------------------------------------------------------------------------------------------
// Feature transforms

Deno.test("Scaler, Normalizer and Binarizer", async () => {
  const [s] = await runOne(
    "Scaler",
    [f64([3, 4, 1, 0], [2, 2])],
    [floatsAttr("offset", [1, 2]), floatsAttr("scale", [2, 0.5])],
    ML,
  );
  assert.equal(asTensor(s).type, "float32");
  near(nums(s), [4, 1, 0, -1]);
  const x = f32([1, -4, 2, 0, 0, 0], [2, 3]);
  const [mx] = await runOne("Normalizer", [x], [stringAttr("norm", "MAX")], ML);
  near(nums(mx), [0.25, -1, 0.5, 0, 0, 0]);
  const [l1] = await runOne("Normalizer", [x], [stringAttr("norm", "L1")], ML);
  near(nums(l1), [1 / 7, -4 / 7, 2 / 7, 0, 0, 0]);
  const [l2] = await runOne("Normalizer", [i32([1, -4, 2, 0, 0, 0], [2, 3])], [
    stringAttr("norm", "L2"),
  ], ML);
  const n = Math.sqrt(21);
  near(nums(l2), [1 / n, -4 / n, 2 / n, 0, 0, 0]);
  const [b] = await runOne("Binarizer", [f32([0.2, 0.5, 0.7])], [floatAttr("threshold", 0.5)], ML);
  near(nums(b), [0, 0, 1]);
  const [bi] = await runOne("Binarizer", [i64([0, 1, 2])], [floatAttr("threshold", 0.5)], ML);
  assert.equal(asTensor(bi).type, "int64");
  assert.deepEqual(nums(bi), [0, 1, 1]);
});

Deno.test("Imputer replaces NaN or a sentinel per feature", async () => {
  const [y] = await runOne(
    "Imputer",
    [f32([1, NaN, NaN, 4], [2, 2])],
    [floatsAttr("imputed_value_floats", [10, 20]), floatAttr("replaced_value_float", NaN)],
    ML,
  );
  near(nums(y), [1, 20, 10, 4]);
  const [yi] = await runOne(
    "Imputer",
    [i64([-1, 5, 3, -1], [2, 2])],
    [intsAttr("imputed_value_int64s", [0]), intAttr("replaced_value_int64", -1)],
    ML,
  );
  assert.deepEqual(nums(yi), [0, 5, 3, 0]);
});

Deno.test("OneHotEncoder for integers and strings; zeros=0 rejects unknown values", async () => {
  const [y] = await runOne(
    "OneHotEncoder",
    [i64([1, 3, 5])],
    [intsAttr("cats_int64s", [1, 3])],
    ML,
  );
  assert.deepEqual(asTensor(y).dims, [3, 2]);
  near(nums(y), [1, 0, 0, 1, 0, 0]);
  const [yf] = await runOne("OneHotEncoder", [f64([3.7], [1, 1])], [
    intsAttr("cats_int64s", [1, 3]),
  ], ML);
  assert.deepEqual(asTensor(yf).dims, [1, 1, 2]);
  near(nums(yf), [0, 1]);
  const [ys] = await runOne(
    "OneHotEncoder",
    [str(["b", "a"])],
    [stringsAttr("cats_strings", ["a", "b", "c"])],
    ML,
  );
  near(nums(ys), [0, 1, 0, 1, 0, 0]);
  await assert.rejects(() =>
    runOne("OneHotEncoder", [i64([2])], [intsAttr("cats_int64s", [1]), intAttr("zeros", 0)], ML)
  );
});

Deno.test("LabelEncoder ml 1, 2 and 4 mappings with defaults", async () => {
  const [v1] = await runOne(
    "LabelEncoder",
    [str(["b", "z", "a"])],
    [stringsAttr("classes_strings", ["a", "b"])],
    ML,
  );
  assert.deepEqual(nums(v1), [1, -1, 0]);
  const [v1b] = await runOne(
    "LabelEncoder",
    [i64([1, 7])],
    [stringsAttr("classes_strings", ["a", "b"]), stringAttr("default_string", "?")],
    ML,
  );
  assert.deepEqual(values(v1b), ["b", "?"]);
  const [v2] = await runOne(
    "LabelEncoder",
    [str(["x", "q", "y"], [1, 3])],
    [
      stringsAttr("keys_strings", ["x", "y"]),
      floatsAttr("values_floats", [1.5, 2.5]),
    ],
    { ...ML, opset: 2 },
  );
  assert.deepEqual(asTensor(v2).dims, [1, 3]);
  assert.deepEqual(nums(v2), [1.5, -0, 2.5]);
  assert.ok(Object.is(nums(v2)[1], -0), "default_float is -0.0");
  const [nan] = await runOne(
    "LabelEncoder",
    [f32([NaN, 2, 3])],
    [
      floatsAttr("keys_floats", [NaN, 2]),
      intsAttr("values_int64s", [7, 8]),
      intAttr("default_int64", 9),
    ],
    { ...ML, opset: 2 },
  );
  assert.deepEqual(nums(nan), [7, 8, 9]);
  const [v4] = await runOne(
    "LabelEncoder",
    [i64([3, 4, 3, 5])],
    [
      tensorAttr("keys_tensor", i64([3, 5, 3])),
      tensorAttr("values_tensor", f64([0.5, 1.5, 2.5])),
      tensorAttr("default_tensor", f64([-7])),
    ],
    { ...ML, opset: 4 },
  );
  assert.equal(asTensor(v4).type, "float64");
  assert.deepEqual(nums(v4), [2.5, -7, 2.5, 1.5]); // the repeated key 3: the last wins
});

Deno.test("CategoryMapper maps strings to integers and back", async () => {
  const attrs = [
    stringsAttr("cats_strings", ["cat", "dog"]),
    intsAttr("cats_int64s", [1, 2]),
  ];
  const [a] = await runOne("CategoryMapper", [str(["dog", "cow"])], [
    ...attrs,
    intAttr("default_int64", 0),
  ], ML);
  assert.deepEqual(nums(a), [2, 0]);
  const [b] = await runOne("CategoryMapper", [i64([1, 3], [1, 2])], attrs, ML);
  assert.deepEqual(values(b), ["cat", "_Unused"]);
  assert.deepEqual(asTensor(b).dims, [1, 2]);
});

Deno.test("ArrayFeatureExtractor selects on the last axis", async () => {
  const [y] = await runOne("ArrayFeatureExtractor", [str(["a", "b", "c"]), i64([2, 0])], [], ML);
  assert.deepEqual(asTensor(y).dims, [1, 2]);
  assert.deepEqual(values(y), ["c", "a"]);
  const [y3] = await runOne(
    "ArrayFeatureExtractor",
    [i64([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), i64([1])],
    [],
    ML,
  );
  assert.deepEqual(asTensor(y3).dims, [2, 2, 1]);
  assert.deepEqual(nums(y3), [2, 4, 6, 8]);
  await assert.rejects(() => runOne("ArrayFeatureExtractor", [f32([1, 2]), i64([2])], [], ML));
});

Deno.test("FeatureVectorizer concatenates, truncates and pads", async () => {
  const [y] = await runOne(
    "FeatureVectorizer",
    [f32([1, 2, 3, 4], [2, 2]), i64([5, 6, 7, 8, 9, 10], [2, 3]), f64([11, 12], [2, 1])],
    [intsAttr("inputdimensions", [2, 2, 2])],
    ML,
  );
  assert.deepEqual(asTensor(y).dims, [2, 6]);
  near(nums(y), [1, 2, 5, 6, 11, 0, 3, 4, 8, 9, 12, 0]);
});

Deno.test("DictVectorizer fills a [1, V] row from a map", async () => {
  const m = new OnnxMap(str(["c", "a", "q"]), f32([8, 4, 1]));
  const [y] = await runOne("DictVectorizer", [m], [
    stringsAttr("string_vocabulary", ["a", "c", "b", "z"]),
  ], ML);
  assert.deepEqual(asTensor(y).dims, [1, 4]);
  near(nums(y), [4, 8, 0, 0]);
  const mi = new OnnxMap(i64([2, 7]), str(["two", "seven"]));
  const [ys] = await runOne("DictVectorizer", [mi], [intsAttr("int64_vocabulary", [7, 1, 2])], ML);
  assert.deepEqual(values(ys), ["seven", "", "two"]);
});

Deno.test("ZipMap returns one map per row", async () => {
  const [z] = await runOne(
    "ZipMap",
    [f32([0.1, 0.9, 0.7, 0.3], [2, 2])],
    [stringsAttr("classlabels_strings", ["no", "yes"])],
    ML,
  );
  assert.ok(z instanceof Sequence);
  assert.equal(z.values.length, 2);
  const m1 = z.values[1];
  assert.ok(m1 instanceof OnnxMap);
  assert.deepEqual(values(m1.keys), ["no", "yes"]);
  near(nums(m1.values), [0.7, 0.3]);
  const [zi] = await runOne("ZipMap", [f32([0.25, 0.75])], [
    intsAttr("classlabels_int64s", [4, 9]),
  ], ML);
  assert.ok(zi instanceof Sequence);
  const m0 = zi.values[0] as OnnxMap;
  assert.deepEqual(nums(m0.keys), [4, 9]);
  near(nums(m0.values), [0.25, 0.75]);
});

Deno.test("ML ops report unsupported input types as UnsupportedError", async () => {
  await assert.rejects(
    () => runOne("TreeEnsembleRegressor", [str(["a"], [1, 1])], regressorAttrs("SUM"), ML),
    UnsupportedError,
  );
  await assert.rejects(() => runOne("Binarizer", [str(["a"])], [], ML), UnsupportedError);
});
