/**
 * The `elementwise-fusion` pass on hand-built graphs: which groups it marks (chains, trees with
 * broadcast operands, Where/Clip/Cast), which it must not (diamonds, graph outputs in the
 * middle, integer chains, Clip with computed bounds), the limits on inputs and members, node
 * reordering, idempotence and stale marks; the marked model keeps its values on the CPU, passes
 * the checker, saves and reloads with its metadata and runs in onnxruntime-node. Also the
 * executor-side validation of marks (`planFusion`), which needs no GPU.
 */

import assert from "node:assert/strict";
import type { Graph, Model, Node } from "../../pipeline/load/ir.ts";
import {
  floatAttr,
  intAttr,
  makeGraph,
  makeNode,
  makeValueInfo,
} from "../../pipeline/load/build.ts";
import { loadModel, serializeModel } from "../../pipeline/load/load.ts";
import { getPass, optimizeModel, passesForLevel } from "../../pipeline/optimize/mod.ts";
import { buildPlan, opsetMap, type Plan } from "../../pipeline/run/plan.ts";
import {
  FUSION_GROUP_KEY,
  FUSION_INDEX_KEY,
  fusionMark,
  MAX_FUSED_INPUTS,
  MAX_FUSED_NODES,
  planFusion,
} from "../../pipeline/run/webgpu/fusion.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import {
  assertChecks,
  floatInfo,
  floatInit,
  loadOrt,
  model,
  randomTensor,
  runModel,
  toOrtTensor,
} from "./_passes_helpers.ts";

/** Groups of a model's main graph: op types per group id, in member order. */
function groupsOf(m: Model): string[][] {
  const out = new Map<string, { index: number; op: string }[]>();
  for (const n of m.graph!.node) {
    const mark = fusionMark(n);
    if (!mark) continue;
    const list = out.get(mark.group) ?? [];
    list.push({ index: mark.index, op: n.opType });
    out.set(mark.group, list);
  }
  return [...out.values()].map((l) => l.sort((a, b) => a.index - b.index).map((x) => x.op));
}

/** Marks only (the pass alone). */
async function fuse(m: Model) {
  return await optimizeModel(m, { passes: ["elementwise-fusion"] });
}

/** Asserts the marked model computes exactly what the original does (CPU), bit for bit. */
async function assertSameValues(a: Model, b: Model, feeds: Record<string, Value>): Promise<void> {
  const x = await runModel(a, feeds);
  const y = await runModel(b, feeds);
  for (const k of Object.keys(x)) {
    const p = (x[k] as Tensor).data as Uint8Array, q = (y[k] as Tensor).data as Uint8Array;
    assert.deepEqual(
      new Uint8Array(q.buffer, q.byteOffset, q.byteLength),
      new Uint8Array(p.buffer, p.byteOffset, p.byteLength),
      k,
    );
  }
}

/** x[N,3,4] · s + b → Sigmoid → · x → Clip(lo, hi) → Tanh: one tree of six nodes. */
function chainModel(): Model {
  return model(makeGraph({
    node: [
      makeNode("Mul", ["x", "s"], ["h1"], [], { name: "mul" }),
      makeNode("Add", ["h1", "b"], ["h2"], [], { name: "add" }),
      makeNode("Sigmoid", ["h2"], ["h3"], [], { name: "sig" }),
      makeNode("Mul", ["h3", "x"], ["h4"], [], { name: "swish" }),
      makeNode("Clip", ["h4", "lo", "hi"], ["h5"], [], { name: "clip" }),
      makeNode("Tanh", ["h5"], ["y"], [], { name: "tanh" }),
    ],
    input: [floatInfo("x", ["N", 3, 4])],
    output: [floatInfo("y", ["N", 3, 4])],
    initializer: [
      floatInit("s", [1.5], []),
      floatInit("b", [0.1, -0.2, 0.3, 0.4], [4]),
      floatInit("lo", [-0.5], []),
      floatInit("hi", [0.75], []),
    ],
  }));
}

Deno.test("elementwise-fusion marks a chain with broadcast operands as one group", async () => {
  const m = chainModel();
  const { model: out, report } = await fuse(m);
  assert.deepEqual(groupsOf(out), [["Mul", "Add", "Sigmoid", "Mul", "Clip", "Tanh"]]);
  const marks = out.graph!.node.map((n) =>
    n.metadataProps.map((e) => `${e.key}=${e.value}`).join(",")
  );
  assert.deepEqual(
    marks,
    [0, 1, 2, 3, 4, 5].map((k) => `${FUSION_GROUP_KEY}=0,${FUSION_INDEX_KEY}=${k}/6`),
  );
  const details = report.passes[0].details;
  assert.match(details[0], /marked 1 elementwise fusion group\(s\) of 6 nodes/);
  assert.match(details[1], /Mul → Add → Sigmoid → Mul → Clip → Tanh \(6 nodes, result "y"\)/);
  // No node was added, removed or edited beyond its metadata; the input model is untouched.
  assert.equal(out.graph!.node.length, 6);
  assert.ok(m.graph!.node.every((n) => n.metadataProps.length === 0));
  assertChecks(out);
  await assertSameValues(m, out, { x: randomTensor([2, 3, 4], 3) });
  // Idempotent: a second run changes nothing.
  const again = await getPass("elementwise-fusion")!.run(out, {
    opsets: opsetMap(out.opsetImport),
  });
  assert.equal(again.changed, false);
});

Deno.test("elementwise-fusion leaves a diamond's shared value out of the group", async () => {
  // e = Exp(x) is read by Add and Mul: it ends the group {Add, Mul, Div}.
  const m = model(makeGraph({
    node: [
      makeNode("Exp", ["x"], ["e"]),
      makeNode("Add", ["e", "one"], ["p"]),
      makeNode("Mul", ["e", "two"], ["q"]),
      makeNode("Div", ["p", "q"], ["y"]),
    ],
    input: [floatInfo("x", [5])],
    output: [floatInfo("y", [5])],
    initializer: [floatInit("one", [1], []), floatInit("two", [2], [])],
  }));
  const { model: out } = await fuse(m);
  assert.deepEqual(groupsOf(out), [["Add", "Mul", "Div"]]);
  assert.equal(fusionMark(out.graph!.node[0]), undefined, "Exp is not fused");
  await assertSameValues(m, out, { x: randomTensor([5], 4) });
  // x·x read twice by one node is a diamond too: Relu(x)² is not a tree.
  const sq = model(makeGraph({
    node: [makeNode("Relu", ["x"], ["r"]), makeNode("Mul", ["r", "r"], ["y"])],
    input: [floatInfo("x", [5])],
    output: [floatInfo("y", [5])],
  }));
  assert.deepEqual(groupsOf((await fuse(sq)).model), []);
});

Deno.test("elementwise-fusion ends groups at graph outputs, which may only be roots", async () => {
  // a → b (graph output) → c → d: groups {Relu, Neg} ending at the output and {Exp, Sin}.
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["a"]),
      makeNode("Neg", ["a"], ["b"]),
      makeNode("Exp", ["b"], ["c"]),
      makeNode("Sin", ["c"], ["d"]),
    ],
    input: [floatInfo("x", [5])],
    output: [floatInfo("b", [5]), floatInfo("d", [5])],
  }));
  const { model: out } = await fuse(m);
  assert.deepEqual(groupsOf(out), [["Relu", "Neg"], ["Exp", "Sin"]]);
  await assertSameValues(m, out, { x: randomTensor([5], 5) });
});

Deno.test("elementwise-fusion marks Where, Clip, Cast and float16, not ints or computed bounds", async () => {
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["r"]),
      makeNode("Neg", ["x"], ["n"]),
      makeNode("Where", ["c", "r", "n"], ["w"]),
      makeNode("Clip", ["w", "lo", ""], ["k"]),
      makeNode("Cast", ["k"], ["h"], [intAttr("to", 10)]),
      makeNode("Sqrt", ["h"], ["y"]),
      // int32: not marked.
      makeNode("Abs", ["i"], ["ia"]),
      makeNode("Neg", ["ia"], ["iy"]),
      // A Clip bound computed in the graph: the Clip is not fusable.
      makeNode("Exp", ["x"], ["bound"]),
      makeNode("ReduceMin", ["bound"], ["lo2"], [intAttr("keepdims", 0)]),
      makeNode("Relu", ["x"], ["r2"]),
      makeNode("Clip", ["r2", "lo2"], ["z"]),
      // Cast to int32 is not fusable.
      makeNode("Sigmoid", ["x"], ["sg"]),
      makeNode("Cast", ["sg"], ["ci"], [intAttr("to", 6)]),
    ],
    input: [
      floatInfo("x", [2, 3]),
      makeValueInfo("c", "bool", [3]),
      makeValueInfo("i", "int32", [4]),
    ],
    output: [
      makeValueInfo("y", "float16", [2, 3]),
      makeValueInfo("iy", "int32", [4]),
      floatInfo("z", [2, 3]),
      makeValueInfo("ci", "int32", [2, 3]),
    ],
    initializer: [floatInit("lo", [-0.25], [])],
  }));
  const { model: out } = await fuse(m);
  assert.deepEqual(groupsOf(out), [["Relu", "Neg", "Where", "Clip", "Cast", "Sqrt"]]);
  assertChecks(out);
  await assertSameValues(m, out, {
    x: randomTensor([2, 3], 6),
    c: new Tensor("bool", Uint8Array.of(1, 0, 1), [3]),
    i: new Tensor("int32", Int32Array.of(-3, 4, -5, 6), [4]),
  });
});

/** y = x0 + x1 + ... + x{n-1} as a left-leaning chain of Adds over `n` distinct inputs. */
function sumChain(n: number, unary = 0): Model {
  const node: Node[] = [];
  let acc = "x0";
  for (let i = 1; i < n; i++) {
    node.push(makeNode("Add", [acc, `x${i}`], [`s${i}`]));
    acc = `s${i}`;
  }
  for (let i = 0; i < unary; i++) {
    node.push(makeNode("Neg", [acc], [`u${i}`]));
    acc = `u${i}`;
  }
  node[node.length - 1].output[0] = "y";
  return model(makeGraph({
    node,
    input: Array.from({ length: n }, (_, i) => floatInfo(`x${i}`, [3])),
    output: [floatInfo("y", [3])],
  }));
}

Deno.test("elementwise-fusion splits trees over the input and member limits", async () => {
  // 12 inputs: the root's group takes as many producers as keep it within the input limit.
  const wide = (await fuse(sumChain(12))).model;
  const groups = groupsOf(wide);
  assert.ok(groups.length >= 2, `${groups.length} groups`);
  assert.equal(groups.flat().length, 11, "every Add is in a group");
  for (const g of wide.graph!.node.map(fusionMark)) assert.ok(g);
  const plan = planOf(wide);
  const fusion = planFusion(plan);
  assert.deepEqual(fusion.rejected, []);
  for (const grp of fusion.groups) {
    const produced = new Set(grp.steps.map((s) => s.node.output[0]));
    const inputs = new Set(grp.steps.flatMap((s) => s.node.input).filter((x) => !produced.has(x)));
    assert.ok(inputs.size <= MAX_FUSED_INPUTS, `${inputs.size} inputs`);
  }
  // 2 inputs, 20 Negs: 21 nodes, at most 16 per group.
  const long = (await fuse(sumChain(2, 20))).model;
  const sizes = groupsOf(long).map((g) => g.length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 21);
  assert.ok(Math.max(...sizes) <= MAX_FUSED_NODES);
  const feeds: Record<string, Value> = {};
  for (let i = 0; i < 12; i++) feeds[`x${i}`] = randomTensor([3], i + 10);
  await assertSameValues(sumChain(12), wide, feeds);
});

Deno.test("elementwise-fusion moves members next to their root and keeps a valid order", async () => {
  // The Relu → Neg chain is interleaved with an unrelated MatMul that reads x.
  const m = model(makeGraph({
    node: [
      makeNode("Relu", ["x"], ["r"], [], { name: "relu" }),
      makeNode("MatMul", ["x", "w"], ["mm"], [], { name: "mm" }),
      makeNode("Neg", ["mm"], ["z"], [], { name: "z" }),
      makeNode("Neg", ["r"], ["n"], [], { name: "neg" }),
      makeNode("Add", ["n", "z"], ["y"], [], { name: "add" }),
    ],
    input: [floatInfo("x", [2, 2])],
    output: [floatInfo("y", [2, 2])],
    initializer: [floatInit("w", [1, 2, 3, 4], [2, 2])],
  }));
  const { model: out, report } = await fuse(m);
  // relu moves after mm, next to the rest of its group (z, neg, add).
  assert.deepEqual(out.graph!.node.map((n) => n.name), ["mm", "relu", "z", "neg", "add"]);
  assert.deepEqual(groupsOf(out), [["Relu", "Neg", "Neg", "Add"]]);
  assert.ok(report.passes[0].changedRuns === 1);
  assertChecks(out);
  await assertSameValues(m, out, { x: randomTensor([2, 2], 7) });
  const fusion = planFusion(planOf(out));
  assert.deepEqual(fusion.rejected, []);
  assert.deepEqual(fusion.groups.map((g) => g.steps.map((s) => s.name)), [[
    "relu",
    "z",
    "neg",
    "add",
  ]]);
});

Deno.test("elementwise-fusion removes stale marks and is part of level all only", async () => {
  const m = model(makeGraph({
    node: [makeNode("MatMul", ["x", "x"], ["y"])],
    input: [floatInfo("x", [2, 2])],
    output: [floatInfo("y", [2, 2])],
  }));
  m.graph!.node[0].metadataProps = [
    { key: "other", value: "kept" },
    { key: FUSION_GROUP_KEY, value: "0" },
    { key: FUSION_INDEX_KEY, value: "0/2" },
  ];
  const { model: out, report } = await fuse(m);
  assert.deepEqual(out.graph!.node[0].metadataProps, [{ key: "other", value: "kept" }]);
  assert.deepEqual(report.passes[0].details, ["removed stale elementwise fusion marks"]);
  assert.equal(m.graph!.node[0].metadataProps.length, 3, "the input model is untouched");
  assert.equal(getPass("elementwise-fusion")!.level, "all");
  assert.ok(passesForLevel("all").some((p) => p.name === "elementwise-fusion"));
  assert.ok(!passesForLevel("extended").some((p) => p.name === "elementwise-fusion"));
});

/** Plans a model's main graph (the executor's view). */
function planOf(m: Model): Plan {
  return buildPlan(m.graph!, {
    opsets: opsetMap(m.opsetImport),
    functions: new Map(),
    random: Math.random,
  }, { isSubgraph: false, outer: new Set() });
}

/** Sets the fusion marks of nodes by name: `[name, group, "k/n"]`. */
function mark(g: Graph, marks: [string, string, string][]): void {
  for (const [name, group, index] of marks) {
    const n = g.node.find((x) => x.name === name)!;
    n.metadataProps = [
      { key: FUSION_GROUP_KEY, value: group },
      { key: FUSION_INDEX_KEY, value: index },
    ];
  }
}

Deno.test("planFusion re-validates marks: order, contiguity, readers, outputs, sizes", () => {
  const build = () =>
    model(makeGraph({
      node: [
        makeNode("Relu", ["x"], ["a"], [], { name: "a" }),
        makeNode("Neg", ["a"], ["b"], [], { name: "b" }),
        makeNode("Exp", ["b"], ["c"], [], { name: "c" }),
        makeNode("Add", ["c", "b"], ["d"], [], { name: "d" }),
        makeNode("MatMul", ["d", "d"], ["e"], [], { name: "e" }),
        makeNode("Sin", ["e"], ["y"], [], { name: "f" }),
      ],
      input: [floatInfo("x", [2, 2])],
      output: [floatInfo("a", [2, 2]), floatInfo("y", [2, 2])],
    }));
  const cases: [[string, string, string][], RegExp | undefined][] = [
    [[["b", "g", "0/2"], ["c", "g", "1/2"]], /is read 2 times/],
    [[["a", "g", "0/2"], ["b", "g", "1/2"]], /is a graph output/],
    [[["c", "g", "0/2"], ["b", "g", "1/2"]], /not in execution order/],
    [[["c", "g", "0/2"], ["f", "g", "1/2"]], /not consecutive/],
    [[["c", "g", "0/3"], ["d", "g", "1/3"]], /2 member\(s\) of a group of 3/],
    [[["d", "g", "0/2"], ["e", "g", "1/2"]], /MatMul node "e" cannot be fused/],
    [[["c", "g", "0/1"]], /needs two members/],
    [[["c", "g", "0/2"], ["d", "g", "1/2"]], undefined],
  ];
  for (const [marks, reason] of cases) {
    const m = build();
    mark(m.graph!, marks);
    const fusion = planFusion(planOf(m));
    if (reason) {
      assert.equal(fusion.groups.length, 0, JSON.stringify(marks));
      assert.match(fusion.rejected[0].reason, reason);
    } else {
      assert.deepEqual(fusion.rejected, []);
      assert.deepEqual(fusion.groups[0].steps.map((s) => s.name), ["c", "d"]);
      assert.deepEqual(fusion.groups[0].kinds, ["unary", "binary"]);
    }
  }
  // A malformed index is no mark at all.
  const m = build();
  mark(m.graph!, [["c", "g", "2/2"], ["d", "g", "x"]]);
  assert.equal(fusionMark(m.graph!.node[2]), undefined);
  assert.equal(planFusion(planOf(m)).groups.length, 0);
});

const ortLoad = await loadOrt();
if (!ortLoad.ort) console.log(`skip the onnxruntime-node check: ${ortLoad.reason}`);

Deno.test({
  name:
    "elementwise-fusion: the marked model saves, reloads with its marks and runs in onnxruntime",
  ignore: !ortLoad.ort,
  fn: async () => {
    const ort = ortLoad.ort!;
    const m = chainModel();
    const { model: out } = await fuse(m);
    const bytes = serializeModel(out);
    const dir = await Deno.makeTempDir({ prefix: "ew_fusion_" });
    try {
      await Deno.writeFile(`${dir}/m.onnx`, bytes);
      const back = (await loadModel(`${dir}/m.onnx`)).model;
      assert.deepEqual(groupsOf(back), groupsOf(out));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const x = randomTensor([2, 3, 4], 8);
    const want = (await runModel(m, { x })).y as Tensor;
    const session = await ort.InferenceSession.create(bytes);
    const got = await session.run({ x: toOrtTensor(ort, x) });
    const a = got.y.data as Float32Array, b = want.data as Float32Array;
    assert.deepEqual([...got.y.dims], [2, 3, 4]);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6, `element ${i}`);
  },
});

Deno.test("elementwise-fusion takes Clip with attribute bounds (opset 10)", async () => {
  const m = model(
    makeGraph({
      node: [
        makeNode("Relu", ["x"], ["r"]),
        makeNode("Clip", ["r"], ["y"], [floatAttr("min", -1), floatAttr("max", 0.5)]),
      ],
      input: [floatInfo("x", [4])],
      output: [floatInfo("y", [4])],
    }),
    10,
  );
  const { model: out } = await fuse(m);
  assert.deepEqual(groupsOf(out), [["Relu", "Clip"]]);
  await assertSameValues(m, out, { x: randomTensor([4], 9) });
});
