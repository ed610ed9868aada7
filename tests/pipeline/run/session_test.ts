/**
 * The session: feed validation (InputError names the input, what was expected and what was
 * given), unsupported ops surfacing at creation (UnsupportedError names op, node and
 * version), planning (topological order, cycles, undefined values) and repeated runs.
 */

import assert from "node:assert/strict";
import { encodeModel } from "../../../pipeline/load/proto.ts";
import {
  intAttr,
  makeGraph,
  makeModel,
  makeNode,
  makeTensorProto,
  makeValueInfo,
} from "../../../pipeline/load/build.ts";
import type { Graph } from "../../../pipeline/load/ir.ts";
import { InferenceSession } from "../../../pipeline/run/session.ts";
import { Tensor } from "../../../pipeline/tensor/tensor.ts";
import { InputError, ModelFormatError, UnsupportedError } from "../../../pipeline/errors.ts";

/** y = Relu(a + b) with a: float32[N,3], b: float32[N,3]. */
function addRelu(): Graph {
  return makeGraph({
    node: [
      makeNode("Add", ["a", "b"], ["s"], {}, { name: "add" }),
      makeNode("Relu", ["s"], ["y"], {}, { name: "relu" }),
    ],
    input: [makeValueInfo("a", "float32", ["N", 3]), makeValueInfo("b", "float32", ["N", 3])],
    output: [makeValueInfo("y", "float32", ["N", 3])],
  });
}

async function session(graph: Graph, opset = 13): Promise<InferenceSession> {
  return await InferenceSession.create(
    encodeModel(makeModel(graph, { opsetImport: { "": opset } })),
  );
}

const f32 = (values: number[], dims: number[]) => new Tensor("float32", values, dims);

Deno.test("session: runs, exposes names and metadata, and gives the same answer twice", async () => {
  const s = await session(addRelu());
  assert.deepEqual(s.inputNames, ["a", "b"]);
  assert.deepEqual(s.outputNames, ["y"]);
  assert.deepEqual(s.inputMetadata[0].type, {
    kind: "tensor",
    elemType: "float32",
    shape: ["N", 3],
  });
  const feeds = { a: f32([1, -2, 3, -4, 5, -6], [2, 3]), b: f32([1, 1, 1, 1, 1, 1], [2, 3]) };
  for (let i = 0; i < 2; i++) {
    const y = (await s.run(feeds)).y as Tensor;
    assert.deepEqual(y.dims, [2, 3]);
    assert.deepEqual(Array.from(y.data as Float32Array), [2, 0, 4, 0, 6, 0]);
  }
});

Deno.test("session: feed errors name the input, what was expected and what was given", async () => {
  const s = await session(addRelu());
  const ok = f32([1, 2, 3], [1, 3]);
  const cases: [Record<string, Tensor>, RegExp, string][] = [
    [{ a: ok }, /Missing input "b"/, "b"],
    [{ a: ok, b: ok, c: ok }, /Unknown input "c"/, "c"],
    [{ a: ok, b: new Tensor("int32", [1, 2, 3], [1, 3]) }, /wrong element type/, "b"],
    [{ a: ok, b: f32([1, 2, 3], [3]) }, /wrong rank/, "b"],
    [{ a: ok, b: f32([1, 2, 3, 4], [1, 4]) }, /dimension 1 differs/, "b"],
    [{ a: ok, b: f32([1, 2, 3, 4, 5, 6], [2, 3]) }, /"N"\) is 2 but "N" is 1 in input "a"/, "b"],
  ];
  for (const [feeds, message, input] of cases) {
    await assert.rejects(() => s.run(feeds), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, message);
      assert.equal(e.input, input);
      return true;
    });
  }
  await assert.rejects(() => s.run({ a: ok, b: ok }, ["nope"]), InputError);
});

Deno.test("session: an unknown op fails at creation with an UnsupportedError naming it", async () => {
  const g = makeGraph({
    node: [makeNode("NoSuchOp", ["x"], ["y"], {}, { name: "weird" })],
    input: [makeValueInfo("x", "float32", [1])],
    output: [makeValueInfo("y", "float32", [1])],
  });
  await assert.rejects(() => session(g), (e: unknown) => {
    assert.ok(e instanceof UnsupportedError);
    assert.equal(e.opType, "NoSuchOp");
    assert.equal(e.node, "weird");
    return true;
  });
});

Deno.test("session: an op used before it exists in the model's opset is refused", async () => {
  // Gelu appeared in opset 20.
  const g = makeGraph({
    node: [makeNode("Gelu", ["x"], ["y"], {}, { name: "g" })],
    input: [makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("y", "float32", [2])],
  });
  await assert.rejects(() => session(g, 13), (e: unknown) => {
    assert.ok(e instanceof UnsupportedError);
    assert.match(e.message, /Gelu does not exist in ai\.onnx opset 13/);
    return true;
  });
  const s = await session(g, 20);
  const y = (await s.run({ x: f32([0, 1], [2]) })).y as Tensor;
  assert.ok(Math.abs((y.data as Float32Array)[1] - 0.8413447) < 1e-6);
});

Deno.test("session: nodes listed out of order run in dependency order", async () => {
  const g = addRelu();
  g.node.reverse();
  const s = await session(g);
  const y = (await s.run({ a: f32([-1, 2, -3], [1, 3]), b: f32([0, 0, 0], [1, 3]) })).y as Tensor;
  assert.deepEqual(Array.from(y.data as Float32Array), [0, 2, 0]);
});

Deno.test("session: a cycle or an undefined value is a ModelFormatError at creation", async () => {
  const cycle = makeGraph({
    node: [makeNode("Relu", ["q"], ["p"]), makeNode("Relu", ["p"], ["q"])],
    input: [makeValueInfo("x", "float32", [1])],
    output: [makeValueInfo("p", "float32", [1])],
  });
  await assert.rejects(() => session(cycle), ModelFormatError);
  const undefinedValue = makeGraph({
    node: [makeNode("Relu", ["nowhere"], ["y"])],
    input: [makeValueInfo("x", "float32", [1])],
    output: [makeValueInfo("y", "float32", [1])],
  });
  await assert.rejects(() => session(undefinedValue), /reads "nowhere"/);
});

Deno.test("session: initializers, fetches and the per-node callback", async () => {
  const g = makeGraph({
    node: [
      makeNode("Mul", ["x", "w"], ["m"], {}, { name: "mul" }),
      makeNode("ReduceSum", ["m"], ["s"], [intAttr("keepdims", 0)], { name: "sum" }),
    ],
    initializer: [makeTensorProto(f32([2, 3], [2]), "w")],
    input: [makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("m", "float32", [2]), makeValueInfo("s", "float32", [])],
  });
  const s = await session(g);
  assert.deepEqual(s.inputNames, ["x"]);
  const seen: string[] = [];
  const out = await s.run({ x: f32([10, 100], [2]) }, ["s"], {
    onNode: (i) => seen.push(`${i.name}:${i.opType}`),
  });
  assert.deepEqual(Object.keys(out), ["s"]);
  assert.equal((out.s as Tensor).data[0], 320);
  assert.deepEqual(seen, ["mul:Mul", "sum:ReduceSum"]);
});
