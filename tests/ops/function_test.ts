/**
 * Model-local functions (ModelProto.functions) run by the planner: attribute references with
 * and without defaults, nested calls, a body with its own opset, omitted optional inputs,
 * subgraphs inside function bodies, and recursion rejected.
 */

import assert from "node:assert/strict";
import { attr, bool, f32, fn, graph, model, node, plain, runModel, vi } from "./_ir_build.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { ModelFormatError } from "../../pipeline/errors.ts";

const CUSTOM = { domain: "custom", version: 1 };

/** y = LeakyRelu(x, alpha = slope) + x, slope defaulting to 0.5. */
const scaledLeaky = fn(
  "ScaledLeaky",
  "custom",
  ["X"],
  ["Y"],
  [
    node("LeakyRelu", ["X"], ["T"], [attr.ref("alpha", "slope", "FLOAT")]),
    node("Add", ["T", "X"], ["Y"]),
  ],
  [{ domain: "", version: 13 }],
  { defaults: [attr.float("slope", 0.5)] },
);

/** Same body, but `slope` has no default: when the caller omits it, LeakyRelu's own 0.01. */
const plainLeaky = fn(
  "PlainLeaky",
  "custom",
  ["X"],
  ["Y"],
  [node("LeakyRelu", ["X"], ["Y"], [attr.ref("alpha", "slope", "FLOAT")])],
  [{ domain: "", version: 13 }],
  { attribute: ["slope"] },
);

Deno.test("function: attribute references take the caller's value or the default", async () => {
  const g = graph(
    [
      node("ScaledLeaky", ["x"], ["a"], [attr.float("slope", 0.25)], "custom"),
      node("ScaledLeaky", ["x"], ["b"], [], "custom"),
      node("PlainLeaky", ["x"], ["c"], [], "custom"),
      node("PlainLeaky", ["x"], ["d"], [attr.float("slope", 2)], "custom"),
    ],
    [vi("x", "float32", [2])],
    [vi("a"), vi("b"), vi("c"), vi("d")],
  );
  const out = await runModel(
    model(g, [{ domain: "", version: 13 }, CUSTOM], [
      scaledLeaky,
      plainLeaky,
    ]),
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
  const outer = fn(
    "NegLeaky",
    "custom",
    ["X"],
    ["Y"],
    [
      node("ScaledLeaky", ["X"], ["T"], [attr.ref("slope", "s", "FLOAT")], "custom"),
      node("Neg", ["T"], ["Y"]),
    ],
    [{ domain: "", version: 13 }, CUSTOM],
    { attribute: ["s"] },
  );
  const g = graph(
    [
      node("NegLeaky", ["x"], ["y"], [attr.float("s", 0.1)], "custom"),
      node("NegLeaky", ["x"], ["z"], [], "custom"),
    ],
    [vi("x", "float32", [2])],
    [vi("y"), vi("z")],
  );
  const out = await runModel(
    model(g, [{ domain: "", version: 13 }, CUSTOM], [outer, scaledLeaky]),
    { x: f32([-10, 3]) },
  );
  // -(-10 * 0.1 - 10) = 11; -(3 + 3) = -6.
  assert.deepEqual(plain(out.y).data, [11, -6]);
  // No `s`: the inner call gets no slope and uses its default 0.5: -(-5 - 10) = 15.
  assert.deepEqual(plain(out.z).data, [15, -6]);
});

/** Clip(X, lo, hi) with min/max as inputs: Clip-11 semantics (Clip-6 reads attributes). */
const clipFn = fn(
  "ClipInputs",
  "custom",
  ["X", "lo", "hi"],
  ["Y"],
  [node("Clip", ["X", "lo", "hi"], ["Y"])],
  [{ domain: "", version: 13 }],
);

Deno.test("function: the body runs with its own opset, even inside subgraphs", async () => {
  // The model imports opset 10 (Clip-6 takes min/max as attributes); the function imports
  // 13, where they are inputs. The If inside the second function runs Clip in a subgraph.
  const ifFn = fn(
    "ClipIf",
    "custom",
    ["C", "X", "lo", "hi"],
    ["Y"],
    [
      node("If", ["C"], ["Y"], [
        attr.graph(
          "then_branch",
          graph([node("Clip", ["X", "lo", "hi"], ["t"])], [], [vi("t", "float32")]),
        ),
        attr.graph(
          "else_branch",
          graph([node("Neg", ["X"], ["e"])], [], [vi("e", "float32")]),
        ),
      ]),
    ],
    [{ domain: "", version: 13 }],
  );
  const g = graph(
    [
      node("ClipInputs", ["x", "lo", "hi"], ["y"], [], "custom"),
      node("ClipIf", ["c", "x", "lo", "hi"], ["z"], [], "custom"),
      node("Clip", ["x"], ["w"], [attr.float("min", 0)]),
    ],
    [vi("x", "float32", [3]), vi("c", "bool", [])],
    [vi("y"), vi("z"), vi("w")],
    { lo: f32([-1], []), hi: f32([1], []) },
  );
  const out = await runModel(model(g, [{ domain: "", version: 10 }, CUSTOM], [clipFn, ifFn]), {
    x: f32([-5, 0.5, 5]),
    c: bool([true], []),
  });
  assert.deepEqual(plain(out.y).data, [-1, 0.5, 1]);
  assert.deepEqual(plain(out.z).data, [-1, 0.5, 1]);
  // The model's own Clip is Clip-6 (attributes).
  assert.deepEqual(plain(out.w).data, [0, 0.5, 5]);
});

Deno.test("function: an omitted optional input is omitted inside the body", async () => {
  const g = graph(
    [node("ClipInputs", ["x", "", "hi"], ["y"], [], "custom")],
    [vi("x", "float32", [3])],
    [vi("y")],
    { hi: f32([1], []) },
  );
  const out = await runModel(
    model(g, [{ domain: "", version: 13 }, CUSTOM], [clipFn]),
    { x: f32([-5, 0.5, 5]) },
  );
  assert.deepEqual(plain(out.y).data, [-5, 0.5, 1]);
});

Deno.test("function: a function that calls itself is rejected when planning", async () => {
  const loop = fn(
    "Forever",
    "custom",
    ["X"],
    ["Y"],
    [node("Forever", ["X"], ["Y"], [], "custom")],
    [CUSTOM],
  );
  const g = graph([node("Forever", ["x"], ["y"], [], "custom")], [vi("x", "float32", [1])], [
    vi("y"),
  ]);
  await assert.rejects(
    InferenceSession.create(encodeModel(model(g, [{ domain: "", version: 13 }, CUSTOM], [loop]))),
    ModelFormatError,
  );
});
