import assert from "node:assert/strict";
import { join } from "node:path";
import type { Graph, Model } from "../../pipeline/load/ir.ts";
import { graphAttr, makeGraph, makeNode, makeValueInfo } from "../../pipeline/load/build.ts";
import { type LoadedModel, loadModel, saveModel } from "../../pipeline/load/load.ts";
import {
  cloneModel,
  graphStats,
  optimizeModel,
  passesForLevel,
  resolvePasses,
} from "../../pipeline/optimize/mod.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { exists, floatInfo, floatInit, model, ROOT } from "../pipeline/_helpers.ts";

function loaded(m: Model): LoadedModel {
  return {
    model: m,
    source: "<test>",
    byteLength: 0,
    external: {
      read: () => {
        throw new Error("no external data");
      },
    },
  };
}

async function run(m: Model, feeds: Record<string, Value>): Promise<Record<string, Value>> {
  const s = await InferenceSession.create(loaded(m));
  return await s.run(feeds);
}

function f32(values: number[], dims: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(values), dims);
}

function nodeNames(g: Graph): string[] {
  return g.node.map((n) => n.name);
}

Deno.test("optimize: dead-node elimination removes unused chains and keeps what is read", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["a"], [], { name: "A" }),
      makeNode("Neg", ["a"], ["b"], [], { name: "B" }), // only read by D, which is dead
      makeNode("Abs", ["b"], ["d"], [], { name: "D" }),
      makeNode("Neg", ["a"], ["c"], [], { name: "C" }),
      makeNode("Abs", ["x"], [""], [], { name: "E" }), // no named output at all
    ],
    input: [floatInfo("x", [3])],
    output: [floatInfo("c", [3])],
    valueInfo: [floatInfo("b", [3]), floatInfo("a", [3])],
  }));
  const { model: out, report } = await optimizeModel(m, { passes: ["dead-node-elimination"] });
  assert.deepEqual(nodeNames(out.graph!), ["A", "C"]);
  assert.deepEqual(out.graph!.valueInfo.map((v) => v.name), ["a"]);
  assert.deepEqual(report.passes[0].details, [
    "removed unused B (Neg)",
    "removed unused D (Abs)",
    "removed unused E (Abs)",
  ]);
  assert.equal(report.before.nodes, 5);
  assert.equal(report.after.nodes, 2);
  // The input model is untouched.
  assert.deepEqual(nodeNames(m.graph!), ["A", "B", "D", "C", "E"]);
  const x = f32([-1, 2, -3], [3]);
  assert.deepEqual(
    [...((await run(out, { x })).c as Tensor).data],
    [...((await run(m, { x })).c as Tensor).data],
  );
});

Deno.test("optimize: a value read only by a subgraph keeps its producer alive", async () => {
  const thenBranch = makeGraph({
    name: "then",
    node: [
      makeNode("Neg", ["t"], ["then_out"], [], { name: "then_neg" }),
      makeNode("Abs", ["t"], ["then_unused"], [], { name: "then_dead" }),
    ],
    input: [],
    output: [floatInfo("then_out", [2])],
  });
  const elseBranch = makeGraph({
    name: "else",
    node: [makeNode("Identity", ["t"], ["else_out"], [], { name: "else_id" })],
    input: [],
    output: [floatInfo("else_out", [2])],
  });
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["t"], [], { name: "producer" }),
      makeNode("If", ["cond"], ["y"], [
        graphAttr("then_branch", thenBranch),
        graphAttr("else_branch", elseBranch),
      ], { name: "branch" }),
    ],
    input: [floatInfo("x", [2]), makeValueInfo("cond", "bool", [])],
    output: [floatInfo("y", [2])],
  }));
  const { model: out, report } = await optimizeModel(m, { level: "basic" });
  assert.deepEqual(nodeNames(out.graph!), ["producer", "branch"]);
  const branches = out.graph!.node[1].attribute;
  assert.deepEqual(nodeNames(branches[0].g!), ["then_neg"]);
  // The else branch's Identity of an outer value that is the branch output stays.
  assert.deepEqual(nodeNames(branches[1].g!), ["else_id"]);
  assert.ok(report.passes.find((p) => p.name === "dead-node-elimination")!.details
    .includes("removed unused then_dead (Abs) in then"));
  for (const c of [true, false]) {
    const feeds = {
      x: f32([-2, 3], [2]),
      cond: new Tensor("bool", new Uint8Array([c ? 1 : 0]), []),
    };
    assert.deepEqual(
      [...((await run(out, feeds)).y as Tensor).data],
      [...((await run(m, feeds)).y as Tensor).data],
    );
  }
});

Deno.test("optimize: unused initializers go, used, input-listed and subgraph-read ones stay", async () => {
  const sub = makeGraph({
    name: "body",
    node: [makeNode("Add", ["w_sub", "w_sub"], ["s"], [], { name: "sub_add" })],
    input: [],
    output: [floatInfo("s", [1])],
  });
  const m = model(makeGraph({
    node: [
      makeNode("Add", ["x", "w_used"], ["y"], [], { name: "add" }),
      makeNode("If", ["cond"], ["z"], [
        graphAttr("then_branch", sub),
        graphAttr("else_branch", sub),
      ], { name: "if" }),
    ],
    input: [floatInfo("x", [1]), floatInfo("w_input", [1]), makeValueInfo("cond", "bool", [])],
    output: [floatInfo("y", [1]), floatInfo("z", [1])],
    initializer: [
      floatInit("w_used", [1], [1]),
      floatInit("w_unused", [2], [1]),
      floatInit("w_input", [3], [1]),
      floatInit("w_sub", [4], [1]),
    ],
  }));
  const { model: out, report } = await optimizeModel(m, {
    passes: ["unused-initializer-removal"],
  });
  assert.deepEqual(out.graph!.initializer.map((t) => t.name), ["w_used", "w_input", "w_sub"]);
  assert.deepEqual(report.passes[0].details, ['removed unused initializer "w_unused"']);
  assert.equal(report.before.initializers, 4);
  assert.equal(report.after.initializers, 3);
});

Deno.test("optimize: identity elimination rewires readers and keeps output names", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["r"], [], { name: "relu" }),
      makeNode("Identity", ["r"], ["r_copy"], [], { name: "mid" }), // readers of r_copy read r
      makeNode("Neg", ["r_copy"], ["n"], [], { name: "neg" }),
      makeNode("Identity", ["n"], ["out1"], [], { name: "to_output" }), // neg writes out1 instead
      makeNode("Identity", ["x"], ["out2"], [], { name: "input_to_output" }), // must stay
      makeNode("Identity", ["out1"], ["out3"], [], { name: "output_to_output" }), // must stay
    ],
    input: [floatInfo("x", [3])],
    output: [floatInfo("out1", [3]), floatInfo("out2", [3]), floatInfo("out3", [3])],
    valueInfo: [floatInfo("r_copy", [3]), floatInfo("n", [3])],
  }));
  const { model: out, report } = await optimizeModel(m, { passes: ["identity-elimination"] });
  const g = out.graph!;
  assert.deepEqual(nodeNames(g), ["relu", "neg", "input_to_output", "output_to_output"]);
  assert.deepEqual(g.node[1].input, ["r"]);
  assert.deepEqual(g.node[1].output, ["out1"]);
  assert.deepEqual(g.output.map((o) => o.name), ["out1", "out2", "out3"]);
  assert.deepEqual(g.valueInfo, []);
  assert.equal(report.passes[0].details.length, 2);
  const x = f32([-1, 0.5, 2], [3]);
  const before = await run(m, { x });
  const after = await run(out, { x });
  for (const name of ["out1", "out2", "out3"]) {
    assert.deepEqual([...(after[name] as Tensor).data], [...(before[name] as Tensor).data], name);
  }
});

Deno.test("optimize: identity elimination renames reads inside subgraphs and respects shadowing", async () => {
  const reads = makeGraph({
    name: "reads",
    node: [makeNode("Neg", ["copy"], ["o1"], [], { name: "sub_neg" })],
    input: [],
    output: [floatInfo("o1", [2])],
  });
  const shadows = makeGraph({
    name: "shadows",
    node: [
      makeNode("Abs", ["copy"], ["x_inner"], [], { name: "sub_abs" }),
      makeNode("Neg", ["x_inner"], ["o2"], [], { name: "sub_neg2" }),
    ],
    input: [],
    output: [floatInfo("o2", [2])],
  });
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["v"], [], { name: "relu" }),
      makeNode("Identity", ["v"], ["copy"], [], { name: "id" }),
      makeNode("If", ["cond"], ["y"], [
        graphAttr("then_branch", reads),
        graphAttr("else_branch", reads),
      ], { name: "if" }),
    ],
    input: [floatInfo("x", [2]), makeValueInfo("cond", "bool", [])],
    output: [floatInfo("y", [2])],
  }));
  const { model: out } = await optimizeModel(m, { passes: ["identity-elimination"] });
  assert.deepEqual(nodeNames(out.graph!), ["relu", "if"]);
  assert.deepEqual(out.graph!.node[1].attribute[0].g!.node[0].input, ["v"]);
  const feeds = { x: f32([-3, 4], [2]), cond: new Tensor("bool", new Uint8Array([1]), []) };
  assert.deepEqual(
    [...((await run(out, feeds)).y as Tensor).data],
    [...((await run(m, feeds)).y as Tensor).data],
  );

  // A subgraph defining a value named like the Identity's input would capture the rename.
  const shadowed = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["x_inner"], [], { name: "relu" }),
      makeNode("Identity", ["x_inner"], ["copy"], [], { name: "id" }),
      makeNode("If", ["cond"], ["y"], [
        graphAttr("then_branch", shadows),
        graphAttr("else_branch", shadows),
      ], { name: "if" }),
    ],
    input: [floatInfo("x", [2]), makeValueInfo("cond", "bool", [])],
    output: [floatInfo("y", [2])],
  }));
  const kept = await optimizeModel(shadowed, { passes: ["identity-elimination"] });
  assert.deepEqual(nodeNames(kept.model.graph!), ["relu", "id", "if"]);
  assert.equal(kept.report.passes[0].changedRuns, 0);
});

Deno.test("optimize: passes repeat until a round changes nothing (or max_iterations)", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Add", ["x", "w"], ["dead"], [], { name: "dead_add" }),
      makeNode("Neg", ["x"], ["y"], [], { name: "neg" }),
    ],
    input: [floatInfo("x", [1])],
    output: [floatInfo("y", [1])],
    initializer: [floatInit("w", [1], [1])],
  }));
  const order = ["unused-initializer-removal", "dead-node-elimination"];
  const full = await optimizeModel(m, { passes: order });
  assert.equal(full.report.iterations, 3);
  assert.equal(full.report.converged, true);
  assert.deepEqual(full.model.graph!.initializer, []);
  assert.deepEqual(full.report.passes.map((p) => [p.name, p.runs, p.changedRuns]), [
    ["unused-initializer-removal", 3, 1],
    ["dead-node-elimination", 3, 1],
  ]);
  const one = await optimizeModel(m, { passes: order, maxIterations: 1 });
  assert.equal(one.report.converged, false);
  assert.deepEqual(one.model.graph!.initializer.map((t) => t.name), ["w"]);
});

Deno.test("optimize: stats count op types in subgraphs with their domain; levels and names", () => {
  const body = makeGraph({
    node: [
      makeNode("Relu", ["a"], ["b"]),
      makeNode("Gelu", ["b"], ["c"], [], { domain: "com.microsoft" }),
    ],
    input: [],
    output: [floatInfo("c")],
  });
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["a"]),
      makeNode("If", ["k"], ["z"], [
        graphAttr("then_branch", body),
        graphAttr("else_branch", body),
      ]),
    ],
    input: [floatInfo("x")],
    output: [floatInfo("z")],
    initializer: [floatInit("w", [1], [1])],
  }));
  assert.deepEqual(graphStats(m), {
    nodes: 6,
    initializers: 1,
    parameterBytes: 4,
    opCounts: { "com.microsoft.Gelu": 2, If: 1, Relu: 3 },
  });
  const basic = [
    "shape-folding",
    "constant-folding",
    "identity-elimination",
    "noop-elimination",
    "dead-node-elimination",
    "unused-initializer-removal",
    "common-subexpression-elimination",
    "conv-bn-folding",
    "conv-mul-add-folding",
    "reshape-gemm-to-matmul",
    "matmul-add-to-gemm",
    "transpose-optimization",
  ];
  const extended = [
    "layer-norm-fusion",
    "gelu-fusion",
    "conv-activation-fusion",
    "gemm-activation-fusion",
    "matmul-transpose-fusion",
  ];
  assert.deepEqual(passesForLevel("basic").map((p) => p.name), basic);
  assert.deepEqual(passesForLevel("extended").map((p) => p.name), [...basic, ...extended]);
  // attention-fusion (level all) runs before the extended fusions in the default order.
  assert.deepEqual(passesForLevel("all").map((p) => p.name), [
    ...basic,
    "attention-fusion",
    ...extended,
    "elementwise-fusion",
  ]);
  assert.throws(() => resolvePasses(["no-such-pass"]), /Unknown optimization pass/);
  const copy = cloneModel(m);
  copy.graph!.node[0].input[0] = "changed";
  assert.equal(m.graph!.node[0].input[0], "x");
  assert.equal(copy.graph!.initializer[0], m.graph!.initializer[0]);
});

Deno.test("optimize: the example model shrinks, saves, reloads and gives the same logits", async () => {
  const { model: m } = await loadModel(
    new URL("../../examples/models/tiny_cnn.onnx", import.meta.url),
  );
  const { model: out, report } = await optimizeModel(m);
  assert.equal(report.before.opCounts.Identity, 2);
  assert.equal(report.after.opCounts.Identity, undefined);
  assert.equal(report.before.nodes - report.after.nodes, 3);
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "opt.onnx");
    await saveModel(out, path);
    const back = await loadModel(path);
    assert.equal(back.model.graph!.node.length, 8);
    assert.deepEqual(back.model.graph!.output.map((o) => o.name), ["logits"]);
    const x = new Tensor(
      "float32",
      new Float32Array(2 * 3 * 32 * 32).map((_, i) => (i % 17) / 17),
      [
        2,
        3,
        32,
        32,
      ],
    );
    const a = (await run(m, { image: x })).logits as Tensor;
    const b = (await (await InferenceSession.create(back)).run({ image: x })).logits as Tensor;
    assert.deepEqual([...b.data], [...a.data]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SQUEEZENET = join(ROOT, "../shared/models/squeezenet1_1");
const haveSqueezenet = exists(join(SQUEEZENET, "model.onnx"));
if (!haveSqueezenet) console.log(`skipping the squeezenet optimize test: ${SQUEEZENET} is absent`);

Deno.test({
  name: "optimize: squeezenet1_1 loses its Identity nodes and keeps bit-identical outputs",
  ignore: !haveSqueezenet,
  fn: async () => {
    const src = await loadModel(join(SQUEEZENET, "model.onnx"));
    const { model: out, report } = await optimizeModel(src.model, { level: "all" });
    assert.ok((report.before.opCounts.Identity ?? 0) > 0);
    assert.equal(report.after.opCounts.Identity, undefined);
    assert.deepEqual(
      out.graph!.output.map((o) => o.name),
      src.model.graph!.output.map((o) => o.name),
    );
    const input = decodeValueFile(
      await Deno.readFile(join(SQUEEZENET, "test_data_set_0/input_0.pb")),
    );
    const name = src.model.graph!.input[0].name;
    const a = await (await InferenceSession.create(src)).run({ [name]: input });
    const b = await (await InferenceSession.create({ ...src, model: out })).run({ [name]: input });
    for (const k of Object.keys(a)) {
      assert.deepEqual([...(b[k] as Tensor).data], [...(a[k] as Tensor).data], k);
    }
  },
});
