/**
 * Tests of attention_fusion.ts and of the opset raise it relies on (_opset.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Model, Node } from "../../pipeline/load/ir.ts";
import { intAttr, intsAttr, makeGraph, makeNode, stringAttr } from "../../pipeline/load/build.ts";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import { raiseDefaultOpset } from "../../pipeline/optimize/_opset.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import {
  assertChecks,
  assertClose,
  floatInfo,
  floatInit,
  int64Init,
  model,
  opCounts,
  optimizeAndCompare,
  randomFloats,
  randomTensor,
  runModel,
} from "./_passes_helpers.ts";

const S = 5;
const E = 8;

function weights(name: string, rows: number, cols: number, seed: number) {
  return floatInit(name, [...randomFloats(rows * cols, seed)].map((v) => v * 0.5), [rows, cols]);
}

/** BERT-style attention on x[B, S, E] with 2 heads of 4 and an additive mask [B, 1, 1, S]. */
function bertAttention(opset: number, extra: Node[] = []): Model {
  const split = (src: string, out: string, perm: number[], tag: string): Node[] => [
    makeNode("Reshape", [src, "heads"], [`${tag}_r`], [], { name: `${tag}_reshape` }),
    makeNode("Transpose", [`${tag}_r`], [out], [intsAttr("perm", perm)], {
      name: `${tag}_transpose`,
    }),
  ];
  return model(
    makeGraph({
      node: [
        makeNode("MatMul", ["x", "Wq"], ["q"], [], { name: "q_proj" }),
        makeNode("MatMul", ["x", "Wk"], ["k"], [], { name: "k_proj" }),
        makeNode("MatMul", ["x", "Wv"], ["v"], [], { name: "v_proj" }),
        ...split("q", "qh", [0, 2, 1, 3], "q"),
        ...split("k", "kt", [0, 2, 3, 1], "k"),
        ...split("v", "vh", [0, 2, 1, 3], "v"),
        makeNode("MatMul", ["qh", "kt"], ["scores"], [], { name: "qk" }),
        makeNode("Div", ["scores", "sqrt_d"], ["scaled"], [], { name: "scale" }),
        makeNode("Add", ["scaled", "mask"], ["masked"], [], { name: "add_mask" }),
        makeNode("Softmax", ["masked"], ["probs"], [intAttr("axis", -1)], { name: "softmax" }),
        makeNode("MatMul", ["probs", "vh"], ["ctx"], [], { name: "pv" }),
        makeNode("Transpose", ["ctx"], ["ctx_t"], [intsAttr("perm", [0, 2, 1, 3])], {
          name: "merge_t",
        }),
        makeNode("Reshape", ["ctx_t", "merged"], ["y"], [], { name: "merge" }),
        ...extra,
      ],
      input: [floatInfo("x", ["B", S, E]), floatInfo("mask", ["B", 1, 1, S])],
      output: [floatInfo("y", ["B", S, E]), ...extra.map((n) => floatInfo(n.output[0]))],
      initializer: [
        weights("Wq", E, E, 11),
        weights("Wk", E, E, 12),
        weights("Wv", E, E, 13),
        int64Init("heads", [0, 0, 2, 4], [4]),
        int64Init("merged", [0, 0, E], [3]),
        floatInit("sqrt_d", [2], []),
      ],
    }),
    opset,
  );
}

function mask(batch: number): Tensor {
  const m = new Float32Array(batch * S);
  m[S - 1] = -10000; // the first sequence ignores its last token
  return new Tensor("float32", m, [batch, 1, 1, S]);
}

Deno.test("attention-fusion: BERT-style attention becomes Attention and the opset goes 13 → 23", async () => {
  const reduce = makeNode("ReduceMax", ["x"], ["peak"], [
    intsAttr("axes", [-1]),
    intAttr("keepdims", 1),
  ], { name: "peak" });
  const m = bertAttention(13, [reduce]);
  const { model: out, report } = await optimizeAndCompare(
    m,
    {
      passes: ["attention-fusion", "dead-node-elimination", "unused-initializer-removal"],
    },
    { x: randomTensor([2, S, E]), mask: mask(2) },
    { rtol: 1e-5, atol: 1e-6 },
  );
  assert.deepEqual(opCounts(out), { MatMul: 3, Attention: 1, ReduceMax: 1 });
  assert.equal(out.opsetImport.find((o) => o.domain === "")!.version, 23);
  assert.ok(out.irVersion >= 11);
  const att = out.graph!.node.find((n) => n.opType === "Attention")!;
  assert.deepEqual(att.input, ["q", "k", "v", "mask"]);
  assert.deepEqual(att.output, ["y"]);
  const attrs = Object.fromEntries(
    att.attribute.map((a) => [a.name, a.type === "INT" ? Number(a.i) : a.f]),
  );
  assert.deepEqual(attrs, { q_num_heads: 2, kv_num_heads: 2, scale: 0.5 });
  // ReduceMax-18 takes its axes as an input: the raise converted the attribute.
  const peak = out.graph!.node.find((n) => n.opType === "ReduceMax")!;
  assert.equal(peak.input.length, 2);
  assert.equal(peak.attribute.some((a) => a.name === "axes"), false);
  assert.match(report.passes[0].details[0], /raised the ai\.onnx opset from 13 to 23/);
});

/** PyTorch nn.MultiheadAttention's sequence-first export around x[B, S, E]. */
function torchAttention(): Model {
  const heads = (src: string, out: string, perm: number[], tag: string): Node[] => [
    makeNode("Reshape", [src, "split"], [`${tag}_r`], [], { name: `${tag}_reshape` }),
    makeNode("Transpose", [`${tag}_r`], [out], [intsAttr("perm", perm)], { name: `${tag}_t` }),
  ];
  return model(
    makeGraph({
      node: [
        makeNode("Transpose", ["x"], ["xs"], [intsAttr("perm", [1, 0, 2])], { name: "to_sbe" }),
        makeNode("MatMul", ["xs", "Win"], ["proj"], [], { name: "in_proj" }),
        makeNode("Add", ["bin", "proj"], ["qkv"], [], { name: "in_bias" }),
        makeNode("Slice", ["qkv", "s0", "s1", "axis"], ["q"], [], { name: "slice_q" }),
        makeNode("Slice", ["qkv", "s1", "s2", "axis"], ["k"], [], { name: "slice_k" }),
        makeNode("Slice", ["qkv", "s2", "s3", "axis"], ["v"], [], { name: "slice_v" }),
        ...heads("q", "qh", [1, 0, 2], "q"),
        ...heads("k", "kt", [1, 2, 0], "k"),
        ...heads("v", "vh", [1, 0, 2], "v"),
        makeNode("Div", ["qh", "sqrt_d"], ["qs"], [], { name: "scale_q" }),
        makeNode("MatMul", ["qs", "kt"], ["scores"], [], { name: "qk" }),
        makeNode("Softmax", ["scores"], ["probs"], [intAttr("axis", -1)], { name: "softmax" }),
        makeNode("MatMul", ["probs", "vh"], ["ctx"], [], { name: "pv" }),
        makeNode("Transpose", ["ctx"], ["ctx_t"], [intsAttr("perm", [1, 0, 2])], { name: "ctx_t" }),
        makeNode("Reshape", ["ctx_t", "flat"], ["ctx2"], [], { name: "flatten" }),
        makeNode("Gemm", ["ctx2", "Wo", "bo"], ["o2"], [intAttr("transB", 1)], {
          name: "out_proj",
        }),
        makeNode("Reshape", ["o2", "unflat"], ["o"], [], { name: "unflatten" }),
        makeNode("Transpose", ["o"], ["ob"], [intsAttr("perm", [1, 0, 2])], { name: "to_bse" }),
        makeNode("Add", ["x", "ob"], ["y"], [], { name: "residual" }),
      ],
      input: [floatInfo("x", ["B", S, E])],
      output: [floatInfo("y", ["B", S, E])],
      initializer: [
        weights("Win", E, 3 * E, 21),
        floatInit("bin", [...randomFloats(3 * E, 22)], [3 * E]),
        weights("Wo", E, E, 23),
        floatInit("bo", [...randomFloats(E, 24)], [E]),
        int64Init("s0", [0], [1]),
        int64Init("s1", [E], [1]),
        int64Init("s2", [2 * E], [1]),
        int64Init("s3", [3 * E], [1]),
        int64Init("axis", [-1], [1]),
        int64Init("split", [S, -1, 4], [3]),
        int64Init("flat", [-1, E], [2]),
        int64Init("unflat", [S, -1, E], [3]),
        floatInit("sqrt_d", [2], []),
      ],
    }),
    13,
  );
}

Deno.test("attention-fusion: PyTorch's sequence-first attention fuses and its Transposes cancel", async () => {
  const m = torchAttention();
  const { model: out, report } = await optimizeAndCompare(m, { level: "all" }, {
    x: randomTensor([3, S, E]),
  }, { rtol: 1e-5, atol: 1e-6 });
  assert.deepEqual(opCounts(out), { MatMul: 2, Add: 3, Slice: 3, Attention: 1 });
  for (const batch of [1, 2]) {
    const x = randomTensor([batch, S, E], batch + 5);
    assertClose((await runModel(out, { x })).y, (await runModel(m, { x })).y, 1e-5, 1e-6);
  }
  const passes = report.passes.filter((p) => p.changedRuns > 0).map((p) => p.name);
  for (const p of ["attention-fusion", "transpose-optimization", "reshape-gemm-to-matmul"]) {
    assert.ok(passes.includes(p), p);
  }
});

Deno.test("attention-fusion: no fusion when another node would change meaning at opset 23", async () => {
  // GridSample-16's mode "bilinear" was renamed "linear" in opset 20.
  const grid = makeNode("GridSample", ["img", "grid"], ["sampled"], [
    stringAttr("mode", "bilinear"),
  ], { name: "grid" });
  const m = bertAttention(16, [grid]);
  m.graph!.input.push(floatInfo("img", [1, 1, 2, 2]), floatInfo("grid", [1, 2, 2, 2]));
  assert.match(raiseDefaultOpset(structuredClone(m), 23)!, /GridSample-20 changed its meaning/);
  const { model: out, report } = await optimizeModel(m, { passes: ["attention-fusion"] });
  assert.equal(report.passes[0].changedRuns, 0);
  assert.equal(out.opsetImport[0].version, 16);
  assert.equal(opCounts(out).Attention, undefined);
});

Deno.test("opset raise: converts reductions, Split and RoiAlign and keeps their results", async () => {
  const m = model(
    makeGraph({
      node: [
        makeNode("ReduceMean", ["x"], ["m"], [intsAttr("axes", [1])], { name: "mean" }),
        makeNode("ReduceSum", ["x", "ax"], ["s"], [], { name: "sum" }), // already an input in 13
        makeNode("Split", ["x"], ["a", "b"], [intAttr("axis", 1)], { name: "split" }),
        makeNode("RoiAlign", ["img", "rois", "idx"], ["r"], [
          intAttr("output_height", 2),
          intAttr("output_width", 2),
        ], { name: "roi" }),
      ],
      input: [
        floatInfo("x", [2, 4]),
        floatInfo("img", [1, 1, 4, 4]),
        floatInfo("rois", [1, 4]),
        {
          ...floatInfo("idx", [1]),
          type: { tensorType: { elemType: 7, shape: [{ dimValue: 1 }] } },
        },
      ],
      output: [floatInfo("m"), floatInfo("s"), floatInfo("a"), floatInfo("b"), floatInfo("r")],
      initializer: [int64Init("ax", [1], [1])],
    }),
    13,
  );
  const raised = structuredClone(m);
  assert.equal(raiseDefaultOpset(raised, 23), undefined);
  assertChecks(raised);
  assert.equal(raised.opsetImport[0].version, 23);
  const [mean, sum, split, roi] = raised.graph!.node;
  assert.equal(mean.input.length, 2);
  assert.deepEqual(sum.input, ["x", "ax"]);
  assert.equal(Number(split.attribute.find((a) => a.name === "num_outputs")!.i), 2);
  assert.equal(
    new TextDecoder().decode(
      roi.attribute.find((a) => a.name === "coordinate_transformation_mode")!.s,
    ),
    "output_half_pixel",
  );
  const feeds = {
    x: randomTensor([2, 4]),
    img: randomTensor([1, 1, 4, 4], 3),
    rois: new Tensor("float32", Float32Array.of(0.5, 0.5, 2.5, 3), [1, 4]),
    idx: new Tensor("int64", BigInt64Array.of(0n), [1]),
  };
  const a = await runModel(m, feeds);
  const b = await runModel(raised, feeds);
  for (const k of Object.keys(a)) assertClose(b[k], a[k], 0, 0, k);
  // A model with an op whose meaning changed cannot be raised, and is left as it was.
  const dft = model(
    makeGraph({
      node: [makeNode("DFT", ["x"], ["y"], [], { name: "dft" })],
      input: [floatInfo("x", [1, 4, 1])],
      output: [floatInfo("y")],
    }),
    17,
  );
  assert.match(raiseDefaultOpset(dft, 23)!, /DFT-20 changed its meaning/);
  assert.equal(dft.opsetImport[0].version, 17);
});
