/**
 * Hand-checked tests of If, Loop and Scan beyond what the ONNX suite covers: optional trip
 * count and condition, zero iterations, outer-scope reads at two nesting levels, Scan-9
 * axes and directions, Scan-8 sequence_lens, branches of different shapes.
 */

import assert from "node:assert/strict";
import { bool, f32, i64, plain } from "./_op_harness.ts";
import { runModel } from "./_session_run.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import type { Attribute } from "../../pipeline/load/ir.ts";
import {
  graphAttr,
  intAttr,
  intsAttr,
  makeGraph,
  makeModel,
  makeNode,
  makeTensorProto,
  makeTensorType,
  makeValueInfo,
} from "../../pipeline/load/build.ts";
import { NodeAttributes } from "../../pipeline/run/attributes.ts";
import { resolveOp } from "../../ops/registry.ts";
import type { InferContext } from "../../ops/types.ts";
import { type ValueType, valueTypeFromProto } from "../../pipeline/tensor/value_type.ts";

const OPSET = [{ domain: "", version: 16 }];

/** Loop body (i, c, acc) -> (i < limit, acc + step [via If], (acc + step) * two). */
function countingBody() {
  const ifNode = makeNode("If", ["c"], ["acc2"], [
    graphAttr(
      "then_branch",
      makeGraph({
        node: [makeNode("Add", ["acc", "step"], ["t"])],
        output: [makeValueInfo("t", "float32", [1])],
        name: "then",
      }),
    ),
    graphAttr(
      "else_branch",
      makeGraph({
        node: [makeNode("Sub", ["acc", "step"], ["e"])],
        output: [makeValueInfo("e", "float32", [1])],
        name: "else",
      }),
    ),
  ]);
  return makeGraph({
    node: [
      makeNode("Less", ["i", "limit"], ["c_out"]),
      ifNode,
      makeNode("Mul", ["acc2", "two"], ["scan"]),
    ],
    input: [
      makeValueInfo("i", "int64", []),
      makeValueInfo("c", "bool", []),
      makeValueInfo("acc", "float32", [1]),
    ],
    output: [
      makeValueInfo("c_out", "bool", []),
      makeValueInfo("acc2", "float32", [1]),
      makeValueInfo("scan", "float32", [1]),
    ],
    name: "body",
  });
}

function loopModel(inputs: string[]) {
  return makeModel(
    makeGraph({
      node: [makeNode("Loop", inputs, ["acc_final", "scans"], [graphAttr("body", countingBody())])],
      input: [
        makeValueInfo("M", "int64", []),
        makeValueInfo("cond", "bool", []),
        makeValueInfo("acc0", "float32", [1]),
      ],
      output: [makeValueInfo("acc_final"), makeValueInfo("scans")],
      initializer: [
        makeTensorProto(f32([1.5]), "step"),
        makeTensorProto(f32([2]), "two"),
        makeTensorProto(i64([100], []), "limit"),
      ],
    }),
    { opsetImport: OPSET },
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
  const body = makeGraph({
    node: [
      makeNode("Add", ["acc", "one"], ["acc2"]),
      makeNode("Less", ["acc2", "five"], ["c_out"]),
    ],
    input: [
      makeValueInfo("i", "int64", []),
      makeValueInfo("c", "bool", []),
      makeValueInfo("acc", "float32", [1]),
    ],
    output: [
      makeValueInfo("c_out", "bool", []),
      makeValueInfo("acc2", "float32", [1]),
      makeValueInfo("acc2", "float32", [1]),
    ],
  });
  const m = makeModel(
    makeGraph({
      node: [makeNode("Loop", ["", "cond", "acc0"], ["acc", "seen"], [graphAttr("body", body)])],
      input: [makeValueInfo("cond", "bool", []), makeValueInfo("acc0", "float32", [1])],
      output: [makeValueInfo("acc"), makeValueInfo("seen")],
      initializer: [makeTensorProto(f32([1]), "one"), makeTensorProto(f32([5]), "five")],
    }),
    { opsetImport: OPSET },
  );
  const out = await runModel(m, { cond: bool([true], []), acc0: f32([0]) });
  assert.deepEqual(plain(out.acc).data, [5]);
  assert.deepEqual(plain(out.seen), { dims: [5, 1], data: [1, 2, 3, 4, 5], type: "float32" });
});

Deno.test("Loop: scan outputs whose shape changes across iterations are an error", async () => {
  // Each iteration appends to a growing tensor and also emits it as a scan output.
  const body = makeGraph({
    node: [
      makeNode("Concat", ["acc", "one"], ["acc2"], [intAttr("axis", 0)]),
      makeNode("Identity", ["c"], ["c2"]),
    ],
    input: [
      makeValueInfo("i", "int64", []),
      makeValueInfo("c", "bool", []),
      makeValueInfo("acc", "float32"),
    ],
    output: [
      makeValueInfo("c2", "bool", []),
      makeValueInfo("acc2", "float32"),
      makeValueInfo("acc2", "float32"),
    ],
  });
  const m = makeModel(
    makeGraph({
      node: [makeNode("Loop", ["M", "", "acc0"], ["acc", "seen"], [graphAttr("body", body)])],
      input: [makeValueInfo("M", "int64", []), makeValueInfo("acc0", "float32", [1])],
      output: [makeValueInfo("acc"), makeValueInfo("seen")],
      initializer: [makeTensorProto(f32([1]), "one")],
    }),
    { opsetImport: OPSET },
  );
  await assert.rejects(runModel(m, { M: i64([3], []), acc0: f32([0]) }), RuntimeError);
});

Deno.test("Scan-9: input axis 1 reversed, output axis 1 reversed", async () => {
  const body = makeGraph({
    node: [makeNode("Add", ["s", "x"], ["s2"]), makeNode("Mul", ["s2", "two"], ["y"])],
    input: [makeValueInfo("s", "float32", [2]), makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("s2", "float32", [2]), makeValueInfo("y", "float32", [2])],
  });
  const m = makeModel(
    makeGraph({
      node: [
        makeNode("Scan", ["s0", "x"], ["s", "ys"], [
          graphAttr("body", body),
          intAttr("num_scan_inputs", 1),
          intsAttr("scan_input_axes", [1]),
          intsAttr("scan_input_directions", [1]),
          intsAttr("scan_output_axes", [-1]),
          intsAttr("scan_output_directions", [1]),
        ]),
      ],
      input: [makeValueInfo("s0", "float32", [2]), makeValueInfo("x", "float32", [2, 3])],
      output: [makeValueInfo("s"), makeValueInfo("ys")],
      initializer: [makeTensorProto(f32([2]), "two")],
    }),
    { opsetImport: OPSET },
  );
  const out = await runModel(m, { s0: f32([0, 0]), x: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
  // Steps read columns 2, 1, 0: s = [3,6], [5,11], [6,15]; y = 2s; reversed along axis 1.
  assert.deepEqual(plain(out.s).data, [6, 15]);
  assert.deepEqual(plain(out.ys), { dims: [2, 3], data: [12, 10, 6, 30, 22, 12], type: "float32" });
});

Deno.test("Scan-9: zero steps give the initial state and empty outputs", async () => {
  const body = makeGraph({
    node: [makeNode("Add", ["s", "x"], ["s2"])],
    input: [makeValueInfo("s", "float32", [2]), makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("s2", "float32", [2]), makeValueInfo("s2", "float32", [2])],
  });
  const m = makeModel(
    makeGraph({
      node: [makeNode("Scan", ["s0", "x"], ["s", "ys"], [
        graphAttr("body", body),
        intAttr("num_scan_inputs", 1),
      ])],
      input: [makeValueInfo("s0", "float32", [2]), makeValueInfo("x", "float32", [0, 2])],
      output: [makeValueInfo("s"), makeValueInfo("ys")],
    }),
    { opsetImport: OPSET },
  );
  const out = await runModel(m, { s0: f32([1, 2]), x: f32([], [0, 2]) });
  assert.deepEqual(plain(out.s).data, [1, 2]);
  assert.deepEqual(plain(out.ys).dims, [0, 2]);
});

function scan8Model(directions: number[]) {
  const body = makeGraph({
    node: [makeNode("Add", ["s", "x"], ["s2"]), makeNode("Add", ["s2", "zero"], ["y"])],
    input: [makeValueInfo("s", "float32", [1]), makeValueInfo("x", "float32", [1])],
    output: [makeValueInfo("s2", "float32", [1]), makeValueInfo("y", "float32", [1])],
  });
  return makeModel(
    makeGraph({
      node: [makeNode("Scan", ["lens", "s0", "x"], ["s", "ys"], [
        graphAttr("body", body),
        intAttr("num_scan_inputs", 1),
        intsAttr("directions", directions),
      ])],
      input: [
        makeValueInfo("lens", "int64", [2]),
        makeValueInfo("s0", "float32", [2, 1]),
        makeValueInfo("x", "float32", [2, 3, 1]),
      ],
      output: [makeValueInfo("s"), makeValueInfo("ys")],
      initializer: [makeTensorProto(f32([0]), "zero")],
    }),
    { opsetImport: [{ domain: "", version: 8 }] },
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
  const m = makeModel(
    makeGraph({
      node: [makeNode("If", ["c"], ["y"], [
        graphAttr(
          "then_branch",
          makeGraph({ output: [makeValueInfo("a", "float32", [1])] }),
        ),
        graphAttr(
          "else_branch",
          makeGraph({
            node: [makeNode("Add", ["a", "b"], ["s"])],
            output: [makeValueInfo("s", "float32", [2])],
          }),
        ),
      ])],
      input: [
        makeValueInfo("c", "bool"),
        makeValueInfo("a", "float32", [1]),
        makeValueInfo("b", "float32", [2]),
      ],
      output: [makeValueInfo("y", makeTensorType("float32", ["n"]))],
    }),
    { opsetImport: OPSET },
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
  const n = makeNode(opType, types.map((_, i) => `x${i}`), ["y"], attrs);
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
    graphAttr(
      "then_branch",
      makeGraph({ output: [makeValueInfo("a", "float32", [1, 3])] }),
    ),
    graphAttr(
      "else_branch",
      makeGraph({ output: [makeValueInfo("b", "float32", [2, 3])] }),
    ),
  ]);
  assert.deepEqual(ifTypes, [f([undefined, 3])]);
  const loopTypes = inferWith("Loop", 16, [
    { kind: "tensor", elemType: "int64", shape: [] },
    undefined,
    f([1]),
  ], [graphAttr("body", countingBody())]);
  assert.deepEqual(loopTypes, [f([1]), f([undefined, 1])]);
  const body = makeGraph({
    node: [],
    input: [makeValueInfo("s", "float32", [2]), makeValueInfo("x", "float32", [2])],
    output: [makeValueInfo("s2", "float32", [2]), makeValueInfo("y", "float32", [2])],
  });
  const scanTypes = inferWith("Scan", 16, [f([2]), f([2, 5])], [
    graphAttr("body", body),
    intAttr("num_scan_inputs", 1),
    intsAttr("scan_input_axes", [1]),
    intsAttr("scan_output_axes", [-1]),
  ]);
  assert.deepEqual(scanTypes, [f([2]), f([2, 5])]);
});
