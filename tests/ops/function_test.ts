/**
 * Model-local functions (ModelProto.functions) run by the planner: attribute references with
 * and without defaults, nested calls, a body with its own opset, omitted optional inputs,
 * subgraphs inside function bodies, and recursion rejected.
 */

import assert from "node:assert/strict";
import { bool, f32, plain } from "./_op_harness.ts";
import { runModel } from "./_session_run.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { ModelFormatError } from "../../pipeline/errors.ts";
import {
  floatAttr,
  graphAttr,
  makeFunction,
  makeGraph,
  makeModel,
  makeNode,
  makeRefAttribute,
  makeTensorProto,
  makeValueInfo,
} from "../../pipeline/load/build.ts";

const CUSTOM = { domain: "custom", version: 1 };

/** y = LeakyRelu(x, alpha = slope) + x, slope defaulting to 0.5. */
const scaledLeaky = makeFunction({
  name: "ScaledLeaky",
  domain: "custom",
  input: ["X"],
  output: ["Y"],
  node: [
    makeNode("LeakyRelu", ["X"], ["T"], [makeRefAttribute("alpha", "slope", "FLOAT")]),
    makeNode("Add", ["T", "X"], ["Y"]),
  ],
  opsetImport: [{ domain: "", version: 13 }],
  attributeProto: [floatAttr("slope", 0.5)],
});

/** Same body, but `slope` has no default: when the caller omits it, LeakyRelu's own 0.01. */
const plainLeaky = makeFunction({
  name: "PlainLeaky",
  domain: "custom",
  input: ["X"],
  output: ["Y"],
  node: [makeNode("LeakyRelu", ["X"], ["Y"], [makeRefAttribute("alpha", "slope", "FLOAT")])],
  opsetImport: [{ domain: "", version: 13 }],
  attribute: ["slope"],
});

Deno.test("function: attribute references take the caller's value or the default", async () => {
  const g = makeGraph({
    node: [
      makeNode("ScaledLeaky", ["x"], ["a"], [floatAttr("slope", 0.25)], { domain: "custom" }),
      makeNode("ScaledLeaky", ["x"], ["b"], [], { domain: "custom" }),
      makeNode("PlainLeaky", ["x"], ["c"], [], { domain: "custom" }),
      makeNode("PlainLeaky", ["x"], ["d"], [floatAttr("slope", 2)], { domain: "custom" }),
    ],
    input: [makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("a"), makeValueInfo("b"), makeValueInfo("c"), makeValueInfo("d")],
  });
  const out = await runModel(
    makeModel(g, {
      opsetImport: [{ domain: "", version: 13 }, CUSTOM],
      functions: [
        scaledLeaky,
        plainLeaky,
      ],
    }),
    { x: f32([-4, 2]) },
  );
  // -4 * 0.25 + -4 = -5; 2 + 2 = 4.
  assert.deepEqual(plain(out.a).data, [-5, 4]);
  // -4 * 0.5 + -4 = -6.
  assert.deepEqual(plain(out.b).data, [-6, 4]);
  assert.deepEqual(plain(out.c).data, [Math.fround(-0.04), 2]);
  assert.deepEqual(plain(out.d).data, [-8, 2]);
});

Deno.test("function: nested calls pass attribute references through", async () => {
  const outer = makeFunction({
    name: "NegLeaky",
    domain: "custom",
    input: ["X"],
    output: ["Y"],
    node: [
      makeNode("ScaledLeaky", ["X"], ["T"], [makeRefAttribute("slope", "s", "FLOAT")], {
        domain: "custom",
      }),
      makeNode("Neg", ["T"], ["Y"]),
    ],
    opsetImport: [{ domain: "", version: 13 }, CUSTOM],
    attribute: ["s"],
  });
  const g = makeGraph({
    node: [
      makeNode("NegLeaky", ["x"], ["y"], [floatAttr("s", 0.1)], { domain: "custom" }),
      makeNode("NegLeaky", ["x"], ["z"], [], { domain: "custom" }),
    ],
    input: [makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("y"), makeValueInfo("z")],
  });
  const out = await runModel(
    makeModel(g, {
      opsetImport: [{ domain: "", version: 13 }, CUSTOM],
      functions: [outer, scaledLeaky],
    }),
    { x: f32([-10, 3]) },
  );
  // -(-10 * 0.1 - 10) = 11; -(3 + 3) = -6.
  assert.deepEqual(plain(out.y).data, [11, -6]);
  // No `s`: the inner call gets no slope and uses its default 0.5: -(-5 - 10) = 15.
  assert.deepEqual(plain(out.z).data, [15, -6]);
});

/** Clip(X, lo, hi) with min/max as inputs: Clip-11 semantics (Clip-6 reads attributes). */
const clipFn = makeFunction({
  name: "ClipInputs",
  domain: "custom",
  input: ["X", "lo", "hi"],
  output: ["Y"],
  node: [makeNode("Clip", ["X", "lo", "hi"], ["Y"])],
  opsetImport: [{ domain: "", version: 13 }],
});

Deno.test("function: the body runs with its own opset, even inside subgraphs", async () => {
  // The model imports opset 10 (Clip-6 takes min/max as attributes); the function imports
  // 13, where they are inputs. The If inside the second function runs Clip in a subgraph.
  const ifFn = makeFunction({
    name: "ClipIf",
    domain: "custom",
    input: ["C", "X", "lo", "hi"],
    output: ["Y"],
    node: [
      makeNode("If", ["C"], ["Y"], [
        graphAttr(
          "then_branch",
          makeGraph({
            node: [makeNode("Clip", ["X", "lo", "hi"], ["t"])],
            output: [makeValueInfo("t", "float32")],
          }),
        ),
        graphAttr(
          "else_branch",
          makeGraph({
            node: [makeNode("Neg", ["X"], ["e"])],
            output: [makeValueInfo("e", "float32")],
          }),
        ),
      ]),
    ],
    opsetImport: [{ domain: "", version: 13 }],
  });
  const g = makeGraph({
    node: [
      makeNode("ClipInputs", ["x", "lo", "hi"], ["y"], [], { domain: "custom" }),
      makeNode("ClipIf", ["c", "x", "lo", "hi"], ["z"], [], { domain: "custom" }),
      makeNode("Clip", ["x"], ["w"], [floatAttr("min", 0)]),
    ],
    input: [makeValueInfo("x", "float32", [3]), makeValueInfo("c", "bool", [])],
    output: [makeValueInfo("y"), makeValueInfo("z"), makeValueInfo("w")],
    initializer: [makeTensorProto(f32([-1], []), "lo"), makeTensorProto(f32([1], []), "hi")],
  });
  const out = await runModel(
    makeModel(g, { opsetImport: [{ domain: "", version: 10 }, CUSTOM], functions: [clipFn, ifFn] }),
    {
      x: f32([-5, 0.5, 5]),
      c: bool([true], []),
    },
  );
  assert.deepEqual(plain(out.y).data, [-1, 0.5, 1]);
  assert.deepEqual(plain(out.z).data, [-1, 0.5, 1]);
  // The model's own Clip is Clip-6 (attributes).
  assert.deepEqual(plain(out.w).data, [0, 0.5, 5]);
});

Deno.test("function: an omitted optional input is omitted inside the body", async () => {
  const g = makeGraph({
    node: [makeNode("ClipInputs", ["x", "", "hi"], ["y"], [], { domain: "custom" })],
    input: [makeValueInfo("x", "float32", [3])],
    output: [makeValueInfo("y")],
    initializer: [makeTensorProto(f32([1], []), "hi")],
  });
  const out = await runModel(
    makeModel(g, { opsetImport: [{ domain: "", version: 13 }, CUSTOM], functions: [clipFn] }),
    { x: f32([-5, 0.5, 5]) },
  );
  assert.deepEqual(plain(out.y).data, [-5, 0.5, 1]);
});

Deno.test("function: a function that calls itself is rejected when planning", async () => {
  const loop = makeFunction({
    name: "Forever",
    domain: "custom",
    input: ["X"],
    output: ["Y"],
    node: [makeNode("Forever", ["X"], ["Y"], [], { domain: "custom" })],
    opsetImport: [CUSTOM],
  });
  const g = makeGraph({
    node: [makeNode("Forever", ["x"], ["y"], [], { domain: "custom" })],
    input: [makeValueInfo("x", "float32", [1])],
    output: [
      makeValueInfo("y"),
    ],
  });
  await assert.rejects(
    InferenceSession.create(
      encodeModel(
        makeModel(g, { opsetImport: [{ domain: "", version: 13 }, CUSTOM], functions: [loop] }),
      ),
    ),
    ModelFormatError,
  );
});
