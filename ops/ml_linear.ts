/**
 * Linear and kernel models of ai.onnx.ml: LinearClassifier, LinearRegressor, SVMClassifier
 * and SVMRegressor (kernels LINEAR, POLY, RBF, SIGMOID; one-class SVMs; Platt-scaled
 * probabilities from prob_a/prob_b with libsvm's pairwise coupling).
 *
 * Products of the feature matrix with coefficient or support-vector matrices go through
 * gemm in float64; scores are written as float32. Where the spec is silent the semantics
 * follow the ONNX reference implementation:
 * - LinearClassifier with one coefficient row and two labels scores `[-s, s]`;
 * - SVMClassifier in SVC mode (vectors_per_class set) picks the class by one-vs-one votes and
 *   outputs the pairwise decision values, or class probabilities when prob_a/prob_b are set;
 *   with a single rho (binary) the label follows libsvm's sign rules and a single decision
 *   value is widened to `[-s, s]` (or `[σ(-s), σ(s)]` for LOGISTIC).
 *
 * @module
 */

import type { Value } from "../pipeline/tensor/tensor.ts";
import { tensorType, type ValueType } from "../pipeline/tensor/value_type.ts";
import { inputShape } from "./shape_infer.ts";
import { gemm } from "../pipeline/run/cpu/gemm.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { tensorAt } from "./util.ts";
import {
  applyPostTransform,
  argmaxRow,
  cachedFor,
  type ClassLabels,
  classLabelsOf,
  featureRows,
  float32Tensor,
  hasStrings,
  labelTensor,
  logistic,
  type PostTransform,
  postTransformOf,
  probit,
} from "./ml_common.ts";

function floatsAttr(ctx: OpContext, name: string): Float64Array {
  return Float64Array.from(ctx.attrs.has(name) ? ctx.attrs.floats(name) : []);
}

/** X · Wᵀ for X [n, f] and W [e, f]: returns [n, e] in float64. */
function matmulT(x: ArrayLike<number>, n: number, f: number, w: Float64Array, e: number) {
  const xa = x instanceof Float64Array ? x : Float64Array.from(x);
  const out = new Float64Array(n * e);
  gemm(n, e, f, { data: xa }, { data: w, trans: true, ld: f }, { data: out });
  return out;
}

function linearClassifierCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const labels = classLabelsOf(ctx, "classlabels_ints", "classlabels_strings")!;
  const nClasses = labels.values.length;
  const coef = Float64Array.from(ctx.attrs.floats("coefficients"));
  if (f === 0 || coef.length % f !== 0) {
    throw ctx.fail(`${coef.length} coefficients do not split into rows of ${f} features`);
  }
  const e = coef.length / f;
  const icpt = floatsAttr(ctx, "intercepts");
  if (icpt.length !== 0 && icpt.length !== e) {
    throw ctx.fail(`intercepts has ${icpt.length} entries, expected ${e}`);
  }
  const post = postTransformOf(ctx);
  const raw = matmulT(values, n, f, coef, e);
  if (icpt.length) {
    for (let r = 0; r < n; r++) for (let j = 0; j < e; j++) raw[r * e + j] += icpt[j];
  }
  let cols = e;
  let scores = raw;
  if (e === 1 && nClasses === 2) {
    cols = 2;
    scores = new Float64Array(n * 2);
    for (let r = 0; r < n; r++) {
      scores[r * 2] = -raw[r];
      scores[r * 2 + 1] = raw[r];
    }
  } else if (e > 1 && e !== nClasses) {
    throw ctx.fail(`${e} coefficient rows do not match ${nClasses} class labels`);
  }
  const picks = new Int32Array(n);
  let literal: Uint8Array | undefined;
  if (cols === 1) {
    // One score per row and not two labels: label[0] when the score passes the threshold.
    if (labels.kind === "string") {
      throw ctx.unsupported("a single coefficient row with string labels other than two");
    }
    literal = new Uint8Array(n);
    const threshold = post === "NONE" ? 0 : 0.5;
    for (let r = 0; r < n; r++) {
      applyPostTransform(post, scores, r, 1);
      if (!(scores[r] >= threshold)) literal[r] = 1; // literal label 0
    }
  } else {
    for (let r = 0; r < n; r++) {
      applyPostTransform(post, scores, r * cols, cols);
      picks[r] = argmaxRow(scores, r * cols, cols);
    }
  }
  return [labelTensor(labels, picks, [n], literal), float32Tensor(scores, [n, cols])];
}

function linearRegressorCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const targets = ctx.attrs.int("targets", 1);
  const coef = floatsAttr(ctx, "coefficients");
  if (coef.length !== targets * f) {
    throw ctx.fail(`${coef.length} coefficients, expected ${targets} targets × ${f} features`);
  }
  const icpt = floatsAttr(ctx, "intercepts");
  if (icpt.length !== 0 && icpt.length !== targets) {
    throw ctx.fail(`intercepts has ${icpt.length} entries, expected ${targets}`);
  }
  const post = postTransformOf(ctx);
  const out = matmulT(values, n, f, coef, targets);
  for (let r = 0; r < n; r++) {
    if (icpt.length) { for (let j = 0; j < targets; j++) out[r * targets + j] += icpt[j]; }
    applyPostTransform(post, out, r * targets, targets);
  }
  return [float32Tensor(out, [n, targets])];
}

// ---------------------------------------------------------------------------------------------
// SVM

type Kernel = "LINEAR" | "POLY" | "RBF" | "SIGMOID";

interface KernelSpec {
  kind: Kernel;
  gamma: number;
  coef0: number;
  degree: number;
}

function kernelOf(ctx: OpContext): KernelSpec {
  const kind = ctx.attrs.string("kernel_type", "LINEAR");
  if (kind !== "LINEAR" && kind !== "POLY" && kind !== "RBF" && kind !== "SIGMOID") {
    throw ctx.fail(`kernel_type must be LINEAR, POLY, RBF or SIGMOID, got "${kind}"`);
  }
  const p = ctx.attrs.has("kernel_params") ? ctx.attrs.floats("kernel_params") : [];
  return { kind, gamma: p[0] ?? 0, coef0: p[1] ?? 0, degree: Math.trunc(p[2] ?? 0) };
}

/** Kernel values K[r, j] = k(x_r, sv_j) for n rows and v support vectors of f features. */
function kernelMatrix(
  k: KernelSpec,
  x: ArrayLike<number>,
  n: number,
  f: number,
  sv: Float64Array,
  v: number,
): Float64Array {
  const xa = x instanceof Float64Array ? x : Float64Array.from(x);
  const dots = matmulT(xa, n, f, sv, v);
  switch (k.kind) {
    case "LINEAR":
      return dots;
    case "POLY":
      for (let i = 0; i < dots.length; i++) {
        dots[i] = Math.pow(dots[i] * k.gamma + k.coef0, k.degree);
      }
      return dots;
    case "SIGMOID":
      for (let i = 0; i < dots.length; i++) dots[i] = Math.tanh(dots[i] * k.gamma + k.coef0);
      return dots;
    case "RBF": {
      const xn = new Float64Array(n);
      const sn = new Float64Array(v);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let c = 0; c < f; c++) s += xa[r * f + c] * xa[r * f + c];
        xn[r] = s;
      }
      for (let j = 0; j < v; j++) {
        let s = 0;
        for (let c = 0; c < f; c++) s += sv[j * f + c] * sv[j * f + c];
        sn[j] = s;
      }
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < v; j++) {
          const d2 = Math.max(0, xn[r] + sn[j] - 2 * dots[r * v + j]);
          dots[r * v + j] = Math.exp(-k.gamma * d2);
        }
      }
      return dots;
    }
  }
}

/**
 * libsvm's pairwise coupling: class probabilities from the pairwise estimates r[i][j]
 * (k×k, row-major), by the fixed-point iteration of Wu, Lin and Weng (2004).
 */
export function multiclassProbability(k: number, r: Float64Array): Float64Array {
  const q = new Float64Array(k * k);
  const qp = new Float64Array(k);
  const p = new Float64Array(k).fill(1 / k);
  const maxIter = Math.max(100, k);
  const eps = 0.005 / k;
  for (let t = 0; t < k; t++) {
    q[t * k + t] = 0;
    for (let j = 0; j < t; j++) {
      q[t * k + t] += r[j * k + t] * r[j * k + t];
      q[t * k + j] = q[j * k + t];
    }
    for (let j = t + 1; j < k; j++) {
      q[t * k + t] += r[j * k + t] * r[j * k + t];
      q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (let iter = 0; iter < maxIter; iter++) {
    let pqp = 0;
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += q[t * k + j] * p[j];
      qp[t] = s;
      pqp += p[t] * s;
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(qp[t] - pqp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-qp[t] + pqp) / q[t * k + t];
      p[t] += diff;
      pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / ((1 + diff) * (1 + diff));
      for (let j = 0; j < k; j++) {
        qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
        p[j] /= 1 + diff;
      }
    }
  }
  return p;
}

/** The scores row written for one example (the reference's `write_scores`). */
function finalScores(raw: Float64Array, post: PostTransform, addSecond: number): Float64Array {
  if (raw.length >= 2) {
    const out = raw.slice();
    applyPostTransform(post, out, 0, out.length);
    return out;
  }
  const s = raw[0];
  if (post === "PROBIT") return Float64Array.of(probit(s));
  if (addSecond === 0 || addSecond === 1) return Float64Array.of(1 - s, s);
  if (addSecond === 2 || addSecond === 3) {
    if (post === "LOGISTIC") return Float64Array.of(logistic(-s), logistic(s));
    const out = Float64Array.of(-s, s);
    if (post === "SOFTMAX" || post === "SOFTMAX_ZERO") applyPostTransform(post, out, 0, 2);
    return out;
  }
  return Float64Array.of(s);
}

interface SvmModel {
  mode: "SVC" | "LINEAR";
  kernel: KernelSpec;
  classCount: number;
  vectorCount: number;
  starts: Int32Array;
  perClass: Int32Array;
  sv: Float64Array;
  coefs: Float64Array;
  rho: Float64Array;
  probA: Float64Array;
  probB: Float64Array;
  allPositive: boolean;
  features: number;
}

function parseSvmClassifier(ctx: OpContext, labels: ClassLabels | undefined): SvmModel {
  const classCount = Math.max(labels?.values.length ?? 0, 1);
  const perClass = Int32Array.from(
    ctx.attrs.has("vectors_per_class") ? ctx.attrs.ints("vectors_per_class") : [],
  );
  const starts = new Int32Array(perClass.length);
  let vectorCount = 0;
  perClass.forEach((c, i) => {
    starts[i] = vectorCount;
    vectorCount += c;
  });
  const coefs = floatsAttr(ctx, "coefficients");
  const sv = floatsAttr(ctx, "support_vectors");
  const rho = floatsAttr(ctx, "rho");
  const probA = floatsAttr(ctx, "prob_a");
  const probB = floatsAttr(ctx, "prob_b");
  if (probA.length !== probB.length) throw ctx.fail("prob_a and prob_b must have the same length");
  let allPositive = true;
  for (const c of coefs) if (c < 0) allPositive = false;
  if (rho.length === 0) throw ctx.fail("attribute rho is required");
  if (vectorCount > 0) {
    if (perClass.length !== classCount) {
      throw ctx.fail(`vectors_per_class has ${perClass.length} entries for ${classCount} classes`);
    }
    if (sv.length % vectorCount !== 0) {
      throw ctx.fail(`${sv.length} support vector values do not split into ${vectorCount} vectors`);
    }
    if (coefs.length !== (classCount - 1) * vectorCount) {
      throw ctx.fail(
        `${coefs.length} coefficients, expected (${classCount} - 1) × ${vectorCount} vectors`,
      );
    }
    const pairs = (classCount * (classCount - 1)) / 2;
    if (rho.length !== pairs) throw ctx.fail(`rho has ${rho.length} entries, expected ${pairs}`);
    if (probA.length !== 0 && probA.length !== pairs) {
      throw ctx.fail(`prob_a has ${probA.length} entries, expected ${pairs}`);
    }
    return {
      mode: "SVC",
      kernel: kernelOf(ctx),
      classCount,
      vectorCount,
      starts,
      perClass,
      sv,
      coefs,
      rho,
      probA,
      probB,
      allPositive,
      features: sv.length / vectorCount,
    };
  }
  if (coefs.length % classCount !== 0) {
    throw ctx.fail(`${coefs.length} coefficients do not split into ${classCount} class rows`);
  }
  return {
    mode: "LINEAR",
    kernel: { kind: "LINEAR", gamma: 0, coef0: 0, degree: 0 },
    classCount,
    vectorCount: 0,
    starts,
    perClass,
    sv,
    coefs,
    rho,
    probA,
    probB,
    allPositive,
    features: coefs.length / classCount,
  };
}

function svmClassifierCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const labels = classLabelsOf(ctx, "classlabels_ints", "classlabels_strings", true);
  const m = cachedFor(ctx, "svc", () => parseSvmClassifier(ctx, labels));
  if (m.features !== f) {
    throw ctx.fail(`the model expects ${m.features} features, the input has ${f}`);
  }
  const post = postTransformOf(ctx);
  const k = m.classCount;
  const picks = new Int32Array(n);
  const literal = new Uint8Array(n);
  const rows: Float64Array[] = [];
  const nLabels = labels?.values.length ?? 0;
  let kmat: Float64Array | undefined;
  let linear: Float64Array | undefined;
  if (m.mode === "SVC") kmat = kernelMatrix(m.kernel, values, n, f, m.sv, m.vectorCount);
  else linear = matmulT(values, n, f, m.coefs, k);
  const hasProba = m.mode === "SVC" && m.probA.length > 0;
  const votes = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    let raw: Float64Array;
    let maxClass: number;
    let maxWeight: number;
    if (kmat) {
      const v = m.vectorCount;
      const pairs = (k * (k - 1)) / 2;
      raw = new Float64Array(pairs);
      votes.fill(0);
      let e = 0;
      for (let i = 0; i < k; i++) {
        const si = m.starts[i], ci = m.perClass[i];
        for (let j = i + 1; j < k; j++) {
          const sj = m.starts[j], cj = m.perClass[j];
          let s = m.rho[e];
          for (let t = 0; t < ci; t++) s += m.coefs[(j - 1) * v + si + t] * kmat[r * v + si + t];
          for (let t = 0; t < cj; t++) s += m.coefs[i * v + sj + t] * kmat[r * v + sj + t];
          raw[e++] = s;
          if (s > 0) votes[i]++;
          else votes[j]++;
        }
      }
      if (hasProba) {
        const pr = new Float64Array(k * k);
        let idx = 0;
        for (let i = 0; i < k; i++) {
          for (let j = i + 1; j < k; j++) {
            const val = 1 - logistic(raw[idx] * m.probA[idx] + m.probB[idx]);
            const c = Math.min(Math.max(val, 1e-7), 1 - 1e-7);
            pr[i * k + j] = c;
            pr[j * k + i] = 1 - c;
            idx++;
          }
        }
        raw = multiclassProbability(k, pr);
      }
      maxClass = argmaxRow(votes, 0, k);
      maxWeight = votes[maxClass];
    } else {
      raw = new Float64Array(k);
      for (let j = 0; j < k; j++) raw[j] = linear![r * k + j] + m.rho[0];
      maxClass = argmaxRow(raw, 0, k);
      maxWeight = raw[maxClass];
    }
    let addSecond = -1;
    if (m.rho.length === 1) {
      // libsvm's rules for one decision function (the reference's set_score_svm).
      if (nLabels === 2) {
        addSecond = 2;
        picks[r] = !hasProba && m.allPositive && maxWeight >= 0.5 ? 1 : maxClass;
      } else {
        picks[r] = maxWeight > 0 ? 1 : 0;
        if (labels?.kind !== "string") literal[r] = 1;
      }
    } else {
      picks[r] = maxClass;
      if (nLabels === 0) literal[r] = 1;
    }
    rows.push(finalScores(raw, post, addSecond));
  }
  const cols = rows.length
    ? rows[0].length
    : m.mode === "SVC" && !hasProba
    ? Math.max(1, (k * (k - 1)) / 2)
    : k;
  const scores = new Float64Array(n * cols);
  rows.forEach((row, r) => scores.set(row, r * cols));
  return [labelTensor(labels, picks, [n], literal), float32Tensor(scores, [n, cols])];
}

function svmRegressorCpu(ctx: OpContext, inputs: (Value | undefined)[]): Value[] {
  const x = tensorAt(ctx, inputs, 0);
  const { values, n, f } = featureRows(ctx, x);
  const nSupports = ctx.attrs.int("n_supports", 0);
  const coefs = floatsAttr(ctx, "coefficients");
  const rho = floatsAttr(ctx, "rho");
  const oneClass = ctx.attrs.int("one_class", 0) !== 0;
  const post = postTransformOf(ctx);
  const bias = rho[0] ?? 0;
  let s: Float64Array;
  if (nSupports > 0) {
    const sv = floatsAttr(ctx, "support_vectors");
    if (sv.length !== nSupports * f) {
      throw ctx.fail(`${sv.length} support vector values, expected ${nSupports} × ${f} features`);
    }
    if (coefs.length !== nSupports) {
      throw ctx.fail(`${coefs.length} coefficients, expected ${nSupports}`);
    }
    const km = kernelMatrix(kernelOf(ctx), values, n, f, sv, nSupports);
    s = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let acc = 0;
      for (let j = 0; j < nSupports; j++) acc += coefs[j] * km[r * nSupports + j];
      s[r] = acc + bias;
    }
  } else {
    if (coefs.length !== f) throw ctx.fail(`${coefs.length} coefficients, expected ${f}`);
    s = matmulT(values, n, f, coefs, 1);
    for (let r = 0; r < n; r++) s[r] += bias;
  }
  for (let r = 0; r < n; r++) {
    if (oneClass) s[r] = s[r] > 0 ? 1 : -1;
    else applyPostTransform(post, s, r, 1);
  }
  return [float32Tensor(s, [n, 1])];
}

// ---------------------------------------------------------------------------------------------
// Inference

function rowsDim(ctx: InferContext): number | string | undefined {
  const s = inputShape(ctx, 0);
  if (!s) return undefined;
  return s.length <= 1 ? 1 : s[0];
}

function labelType(ctx: InferContext, stringsName: string): "string" | "int64" {
  return hasStrings(ctx.node, stringsName) ? "string" : "int64";
}

function linearClassifierInfer(ctx: InferContext): (ValueType | undefined)[] {
  const n = rowsDim(ctx);
  return [
    tensorType(labelType(ctx, "classlabels_strings"), [n]),
    tensorType("float32", [n, undefined]),
  ];
}

function linearRegressorInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [tensorType("float32", [rowsDim(ctx), ctx.attrs.int("targets", 1)])];
}

function svmRegressorInfer(ctx: InferContext): (ValueType | undefined)[] {
  return [tensorType("float32", [rowsDim(ctx), 1])];
}

/** Linear and SVM models. */
export const ops: OpDef[] = [
  {
    domain: "ai.onnx.ml",
    opType: "LinearClassifier",
    versions: [1],
    cpu: linearClassifierCpu,
    infer: linearClassifierInfer,
  },
  {
    domain: "ai.onnx.ml",
    opType: "LinearRegressor",
    versions: [1],
    cpu: linearRegressorCpu,
    infer: linearRegressorInfer,
  },
  {
    domain: "ai.onnx.ml",
    opType: "SVMClassifier",
    versions: [1],
    cpu: svmClassifierCpu,
    infer: linearClassifierInfer,
  },
  {
    domain: "ai.onnx.ml",
    opType: "SVMRegressor",
    versions: [1],
    cpu: svmRegressorCpu,
    infer: svmRegressorInfer,
  },
];
