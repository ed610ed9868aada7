/**
 * Hand-checked tests of If, Loop and Scan beyond what the ONNX suite covers: optional trip
 * count and condition, zero iterations, outer-scope reads at two nesting levels, Scan-9
 * axes and directions, Scan-8 sequence_lens, branches of different shapes.
 */

import assert from "node:assert/strict";
import {
  attr,
  bool,
  f32,
  graph,
  i64,
  model,
  node,
  plain,
  runModel,
  tensorTypeProto,
  vi,
} from "./_ir_build.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import type { Attribute } from "../../pipeline/load/ir.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import { resolveOp } from "../../ops/registry.ts";
import type { InferContext } from "../../ops/types.ts";
import { type ValueType, valueTypeFromProto } from "../../pipeline/tensor/value_type.ts";

const OPSET = [{ domain: "", version: 16 }];

/** Loop body (i, c, acc) -> (i < limit, acc + step [via If], (acc + step) * two). */
function countingBody() {
  const ifNode = node("If", ["c"], ["acc2"], [
    attr.graph(
      "then_branch",
      graph([node("Add", ["acc", "step"], ["t"])], [], [vi("t", "float32", [1])], {}, "then"),
    ),
    attr.graph(
      "else_branch",
      graph([node("Sub", ["acc", "step"], ["e"])], [], [vi("e", "float32", [1])], {}, "else"),
    ),
  ]);
  return graph(
    [
      node("Less", ["i", "limit"], ["c_out"]),
      ifNode,
      node("Mul", ["acc2", "two"], ["scan"]),
    ],
    [vi("i", "int64", []), vi("c", "bool", []), vi("acc", "float32", [1])],
    [vi("c_out", "bool", []), vi("acc2", "float32", [1]), vi("scan", "float32", [1])],
    {},
    "body",
  );
}

function loopModel(inputs: string[]) {
  return model(
    graph(
      [node("Loop", inputs, ["acc_final", "scans"], [attr.graph("body", countingBody())])],
      [vi("M", "int64", []), vi("cond", "bool", []), vi("acc0", "float32", [1])],
      [vi("acc_final"), vi("scans")],
      { step: f32([1.5]), two: f32([2]), limit: i64([100], []) },
    ),
    OPSET,
  );
}

Deno.test("Loop: trip count only, body reads outer values at two nesting levels", async () => {
  const out = await runModel(loopModel(["M", "", "acc0"]), {
    M: i64([4], []),
    cond: bool([true], []),
    acc0: f32([0]),
  });
  assert.deepEqual(plain(out.acc_final).data, [6]);
  assert.deepEqual(plain(out.scans), { dims: [4, 1], data: [3, 6, 9, 12], type: "float32" });
});

Deno.test("Loop: zero iterations keep the initial values and give empty scan outputs", async () => {
  const out = await runModel(loopModel(["M", "cond", "acc0"]), {
    M: i64([0], []),
    cond: bool([true], []),
    acc0: f32([7]),
  });
  assert.deepEqual(plain(out.acc_final).data, [7]);
  assert.deepEqual(plain(out.scans), { dims: [0, 1], data: [], type: "float32" });
  const out2 = await runModel(loopModel(["M", "cond", "acc0"]), {
    M: i64([5], []),
    cond: bool([false], []),
    acc0: f32([7]),
  });
  assert.deepEqual(plain(out2.scans).dims, [0, 1]);
});

Deno.test("Loop: condition only (a while loop) stops when the body says so", async () => {
  const body = graph(
    [node("Add", ["acc", "one"], ["acc2"]), node("Less", ["acc2", "five"], ["c_out"])],
    [vi("i", "int64", []), vi("c", "bool", []), vi("acc", "float32", [1])],
    [vi("c_out", "bool", []), vi("acc2", "float32", [1]), vi("acc2", "float32", [1])],
  );
  const m = model(
    graph(
      [node("Loop", ["", "cond", "acc0"], ["acc", "seen"], [attr.graph("body", body)])],
      [vi("cond", "bool", []), vi("acc0", "float32", [1])],
      [vi("acc"), vi("seen")],
      { one: f32([1]), five: f32([5]) },
    ),
    OPSET,
  );
  const out = await runModel(m, { cond: bool([true], []), acc0: f32([0]) });
  assert.deepEqual(plain(out.acc).data, [5]);
  assert.deepEqual(plain(out.seen), { dims: [5, 1], data: [1, 2, 3, 4, 5], type: "float32" });
});

Deno.test("Loop: scan outputs whose shape changes across iterations are an error", async () => {
  // Each iteration appends to a growing tensor and also emits it as a scan output.
  const body = graph(
    [
      node("Concat", ["acc", "one"], ["acc2"], [attr.int("axis", 0)]),
      node("Identity", ["c"], ["c2"]),
    ],
    [vi("i", "int64", []), vi("c", "bool", []), vi("acc", "float32")],
    [vi("c2", "bool", []), vi("acc2", "float32"), vi("acc2", "float32")],
  );
  const m = model(
    graph(
      [node("Loop", ["M", "", "acc0"], ["acc", "seen"], [attr.graph("body", body)])],
      [vi("M", "int64", []), vi("acc0", "float32", [1])],
      [vi("acc"), vi("seen")],
      { one: f32([1]) },
    ),
    OPSET,
  );
  await assert.rejects(runModel(m, { M: i64([3], []), acc0: f32([0]) }), RuntimeError);
});

Deno.test("Scan-9: input axis 1 reversed, output axis 1 reversed", async () => {
  const body = graph(
    [node("Add", ["s", "x"], ["s2"]), node("Mul", ["s2", "two"], ["y"])],
    [vi("s", "float32", [2]), vi("x", "float32", [2])],
    [vi("s2", "float32", [2]), vi("y", "float32", [2])],
  );
  const m = model(
    graph(
      [
        node("Scan", ["s0", "x"], ["s", "ys"], [
          attr.graph("body", body),
          attr.int("num_scan_inputs", 1),
          attr.ints("scan_input_axes", [1]),
          attr.ints("scan_input_directions", [1]),
          attr.ints("scan_output_axes", [-1]),
          attr.ints("scan_output_directions", [1]),
        ]),
      ],
      [vi("s0", "float32", [2]), vi("x", "float32", [2, 3])],
      [vi("s"), vi("ys")],
      { two: f32([2]) },
    ),
    OPSET,
  );
  const out = await runModel(m, { s0: f32([0, 0]), x: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
  // Steps read columns 2, 1, 0: s = [3,6], [5,11], [6,15]; y = 2s; reversed along axis 1.
  assert.deepEqual(plain(out.s).data, [6, 15]);
  assert.deepEqual(plain(out.ys), { dims: [2, 3], data: [12, 10, 6, 30, 22, 12], type: "float32" });
});

Deno.test("Scan-9: zero steps give the initial state and empty outputs", async () => {
  const body = graph(
    [node("Add", ["s", "x"], ["s2"])],
    [vi("s", "float32", [2]), vi("x", "float32", [2])],
    [vi("s2", "float32", [2]), vi("s2", "float32", [2])],
  );
  const m = model(
    graph(
      [node("Scan", ["s0", "x"], ["s", "ys"], [
        attr.graph("body", body),
        attr.int("num_scan_inputs", 1),
      ])],
      [vi("s0", "float32", [2]), vi("x", "float32", [0, 2])],
      [vi("s"), vi("ys")],
    ),
    OPSET,
  );
  const out = await runModel(m, { s0: f32([1, 2]), x: f32([], [0, 2]) });
  assert.deepEqual(plain(out.s).data, [1, 2]);
  assert.deepEqual(plain(out.ys).dims, [0, 2]);
});

function scan8Model(directions: number[]) {
  const body = graph(
    [node("Add", ["s", "x"], ["s2"]), node("Add", ["s2", "zero"], ["y"])],
    [vi("s", "float32", [1]), vi("x", "float32", [1])],
    [vi("s2", "float32", [1]), vi("y", "float32", [1])],
  );
  return model(
    graph(
      [node("Scan", ["lens", "s0", "x"], ["s", "ys"], [
        attr.graph("body", body),
        attr.int("num_scan_inputs", 1),
        attr.ints("directions", directions),
      ])],
      [vi("lens", "int64", [2]), vi("s0", "float32", [2, 1]), vi("x", "float32", [2, 3, 1])],
      [vi("s"), vi("ys")],
      { zero: f32([0]) },
    ),
    [{ domain: "", version: 8 }],
  );
}

Deno.test("Scan-8: batches with sequence_lens, padded scan outputs, both directions", async () => {
  const feeds = {
    lens: i64([3, 1]),
    s0: f32([0, 0], [2, 1]),
    x: f32([1, 2, 3, 10, 20, 30], [2, 3, 1]),
  };
  const fwd = await runModel(scan8Model([0]), feeds);
  assert.deepEqual(plain(fwd.s), { dims: [2, 1], data: [6, 10], type: "float32" });
  assert.deepEqual(plain(fwd.ys), { dims: [2, 3, 1], data: [1, 3, 6, 10, 0, 0], type: "float32" });
  const rev = await runModel(scan8Model([1]), feeds);
  assert.deepEqual(plain(rev.s).data, [6, 10]);
  assert.deepEqual(plain(rev.ys).data, [3, 5, 6, 10, 0, 0]);
});

Deno.test("If: branches of different shapes, a branch returning an outer value", async () => {
  const m = model(
    graph(
      [node("If", ["c"], ["y"], [
        attr.graph("then_branch", graph([], [], [vi("a", "float32", [1])])),
        attr.graph(
          "else_branch",
          graph([node("Add", ["a", "b"], ["s"])], [], [vi("s", "float32", [2])]),
        ),
      ])],
      [vi("c", "bool"), vi("a", "float32", [1]), vi("b", "float32", [2])],
      [vi("y", tensorTypeProto("float32", ["n"]))],
    ),
    OPSET,
  );
  const feeds = { a: f32([1]), b: f32([10, 20]) };
  assert.deepEqual(plain((await runModel(m, { ...feeds, c: bool([true], []) })).y).data, [1]);
  assert.deepEqual(plain((await runModel(m, { ...feeds, c: bool([false], []) })).y).data, [
    11,
    21,
  ]);
  await assert.rejects(runModel(m, { ...feeds, c: bool([true, false]) }), RuntimeError);
});

/** Runs an op's infer function; subgraphs "infer" to their declared output types. */
function inferWith(
  opType: string,
  opset: number,
  types: (ValueType | undefined)[],
  attrs: Attribute[],
): (ValueType | undefined)[] {
  const r = resolveOp("", opType, opset);
  if (!("def" in r) || !r.def.infer) throw new Error(`${opType} has no infer function`);
  const n = node(opType, types.map((_, i) => `x${i}`), ["y"], attrs);
  const ctx: InferContext = {
    node: n,
    opset,
    version: r.version,
    attrs: new NodeAttributes(n),
    inputCount: types.length,
    input: (i) => types[i],
    hasInput: (i) => types[i] !== undefined,
    constant: () => undefined,
    inferGraph: (g) => g.output.map((o) => valueTypeFromProto(o.type)),
    error: (m) => {
      throw new Error(m);
    },
  };
  return r.def.infer(ctx);
}

Deno.test("control-flow inference: If unions branches, Loop and Scan add the scan axis", () => {
  const f = (shape?: (number | string | undefined)[]) =>
    ({ kind: "tensor", elemType: "float32", shape }) as ValueType;
  const ifTypes = inferWith("If", 16, [{ kind: "tensor", elemType: "bool", shape: [] }], [
    attr.graph("then_branch", graph([], [], [vi("a", "float32", [1, 3])])),
    attr.graph("else_branch", graph([], [], [vi("b", "float32", [2, 3])])),
  ]);
  assert.deepEqual(ifTypes, [f([undefined, 3])]);
  const loopTypes = inferWith("Loop", 16, [
    { kind: "tensor", elemType: "int64", shape: [] },
    undefined,
    f([1]),
  ], [attr.graph("body", countingBody())]);
  assert.deepEqual(loopTypes, [f([1]), f([undefined, 1])]);
  const body = graph(
    [],
    [vi("s", "float32", [2]), vi("x", "float32", [2])],
    [vi("s2", "float32", [2]), vi("y", "float32", [2])],
  );
  const scanTypes = inferWith("Scan", 16, [f([2]), f([2, 5])], [
    attr.graph("body", body),
    attr.int("num_scan_inputs", 1),
    attr.ints("scan_input_axes", [1]),
    attr.ints("scan_output_axes", [-1]),
  ]);
  assert.deepEqual(scanTypes, [f([2]), f([2, 5])]);
});
