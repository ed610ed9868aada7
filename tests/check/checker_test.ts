/**
 * Checker tests on hand-built models: a valid model gives no findings and the expected
 * inferred shapes; each kind of damage gives its specific finding (code, node, graph); several
 * damages at once give every finding.
 */

import assert from "node:assert/strict";
import { assertValidModel, checkModel, formatFinding } from "../../pipeline/check/checker.ts";
import type { CheckReport } from "../../pipeline/check/checker.ts";
import { CheckError, type Finding } from "../../pipeline/errors.ts";
import type { Model, Node } from "../../pipeline/load/ir.ts";
import {
  intAttr,
  intsAttr,
  makeFunction,
  makeGraph,
  makeNode,
  makeValueInfo,
} from "../../pipeline/load/build.ts";
import { emptyTensorProto } from "../../pipeline/load/proto.ts";
import { formatValueType } from "../../pipeline/tensor/value_type.ts";
import { attr, floatInit, int64Init, model, tinyCnn } from "./_build.ts";

function listing(r: CheckReport): string {
  return r.findings.map(formatFinding).join("\n") || "(no findings)";
}

/** Asserts that the report holds a finding with this code (and node/severity/graph when given). */
function expectFinding(
  r: CheckReport,
  code: string,
  where: { node?: string; severity?: Finding["severity"]; graph?: string } = {},
): Finding {
  const severity = where.severity ?? "error";
  const f = r.findings.find((x) =>
    x.code === code && x.severity === severity &&
    (where.node === undefined || x.node === where.node) &&
    (where.graph === undefined || x.graph === where.graph)
  );
  assert.ok(
    f,
    `expected ${severity} ${code}${where.node ? ` at node ${where.node}` : ""}${
      where.graph ? ` in ${where.graph}` : ""
    }; got:\n${listing(r)}`,
  );
  return f;
}

function nodeNamed(m: Model, name: string): Node {
  const n = m.graph!.node.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

function full(m: Model): CheckReport {
  return checkModel(m, { fullCheck: true });
}

Deno.test("a valid hand-built CNN has no findings and inferred symbolic shapes", () => {
  const r = full(tinyCnn());
  assert.equal(r.ok, true, listing(r));
  assert.deepEqual(r.findings, []);
  const t = (name: string) => formatValueType(r.inferredTypes!.get(name));
  // Conv 3x3 pad 1 keeps 8x8; MaxPool 2x2 stride 2 halves it; Reshape [0,-1] folds 4*4*4.
  assert.equal(t("X"), "float32[N,3,8,8]");
  assert.equal(t("W"), "float32[4,3,3,3]");
  assert.equal(t("c"), "float32[N,4,8,8]");
  assert.equal(t("r"), "float32[N,4,8,8]");
  assert.equal(t("p"), "float32[N,4,4,4]");
  assert.equal(t("Y"), "float32[N,64]");
  assert.deepEqual(r.opsWithoutInfer, []);
});

Deno.test("without fullCheck, no inference runs and no types are reported", () => {
  const m = tinyCnn();
  m.graph!.valueInfo = [makeValueInfo("c", 1, ["N", 5, 8, 8])]; // would be a shape conflict
  const r = checkModel(m);
  assert.equal(r.ok, true, listing(r));
  assert.equal(r.inferredTypes, undefined);
});

/** One damage: what it does and the finding it must cause. */
interface Damage {
  name: string;
  apply: (m: Model) => void;
  code: string;
  node?: string;
  severity?: Finding["severity"];
  graph?: string;
  /** The model must still be ok (the finding is a warning). */
  ok?: boolean;
}

const DAMAGES: Damage[] = [
  {
    name: "unknown op",
    apply: (m) => void (nodeNamed(m, "relu").opType = "Relux"),
    code: "unknown-op",
    node: "relu",
  },
  {
    name: "op used before its first opset",
    apply: (m) => void (nodeNamed(m, "relu").opType = "Gelu"), // Gelu appears at opset 20
    code: "unknown-op",
    node: "relu",
  },
  {
    name: "wrong input count",
    apply: (m) => void (nodeNamed(m, "conv").input = ["X"]),
    code: "input-count",
    node: "conv",
  },
  {
    name: "too many outputs",
    apply: (m) => void (nodeNamed(m, "relu").output = ["r", "r2"]),
    code: "output-count",
    node: "relu",
  },
  {
    name: "required input given as empty",
    apply: (m) => void (nodeNamed(m, "conv").input = ["X", "", "B"]),
    code: "missing-input",
    node: "conv",
  },
  {
    name: "unknown attribute",
    apply: (m) => void nodeNamed(m, "relu").attribute.push(intAttr("alpha", 1)),
    code: "unknown-attribute",
    node: "relu",
  },
  {
    name: "wrong attribute type",
    apply: (m) => {
      const conv = nodeNamed(m, "conv");
      conv.attribute = [intAttr("kernel_shape", 3), intsAttr("pads", [1, 1, 1, 1])];
    },
    code: "attribute-type",
    node: "conv",
  },
  {
    name: "missing required attribute",
    apply: (m) => void (nodeNamed(m, "pool").attribute = [intsAttr("strides", [2, 2])]),
    code: "missing-attribute",
    node: "pool",
  },
  {
    name: "attribute holding two kinds of value",
    apply: (m) => {
      const a = nodeNamed(m, "pool").attribute[1];
      a.f = 2.5; // INTS attribute that also sets f
    },
    code: "attribute-form",
    node: "pool",
  },
  {
    name: "duplicate attribute",
    apply: (m) => void nodeNamed(m, "pool").attribute.push(intsAttr("strides", [1, 1])),
    code: "duplicate-attribute",
    node: "pool",
  },
  {
    name: "type-constraint violation (int64 bias for a float Conv)",
    apply: (m) => {
      m.graph!.initializer[1] = int64Init("B", [1, 2, 3, 4]);
    },
    code: "type-constraint",
    node: "conv",
  },
  {
    name: "duplicate output name (SSA)",
    apply: (m) => void (nodeNamed(m, "relu").output = ["c"]),
    code: "ssa",
    node: "relu",
  },
  {
    name: "node output reusing a graph input name (SSA)",
    apply: (m) => void (nodeNamed(m, "relu").output = ["X"]),
    code: "ssa",
    node: "relu",
  },
  {
    name: "node out of topological order",
    apply: (m) => {
      const g = m.graph!;
      [g.node[1], g.node[2]] = [g.node[2], g.node[1]]; // pool now reads r before relu makes it
    },
    code: "topological-order",
    node: "pool",
  },
  {
    name: "undefined input",
    apply: (m) => void (nodeNamed(m, "relu").input = ["nope"]),
    code: "undefined-input",
    node: "relu",
  },
  {
    name: "no opset imports",
    apply: (m) => void (m.opsetImport = []),
    code: "opset-import",
  },
  {
    name: "no import of the domain a node uses",
    apply: (m) => void (m.opsetImport = [{ domain: "ai.onnx.ml", version: 3 }]),
    code: "missing-opset-import",
    node: "conv",
  },
  {
    name: "default domain version too new",
    apply: (m) => void (m.opsetImport = [{ domain: "", version: 29 }]),
    code: "opset-import",
  },
  {
    name: "ai.onnx.ml version too new",
    apply: (m) => void m.opsetImport.push({ domain: "ai.onnx.ml", version: 6 }),
    code: "opset-import",
  },
  {
    name: "duplicate domain import",
    apply: (m) => void m.opsetImport.push({ domain: "ai.onnx", version: 13 }),
    code: "opset-import",
  },
  {
    name: "missing IR version",
    apply: (m) => void (m.irVersion = 0),
    code: "ir-version",
  },
  {
    name: "IR version too new",
    apply: (m) => void (m.irVersion = 15),
    code: "ir-version",
  },
  {
    name: "graph output not produced",
    apply: (m) => void (m.graph!.output = [makeValueInfo("Z", 1, ["N", 64])]),
    code: "graph-output",
    graph: "main",
  },
  {
    name: "main graph output without type",
    apply: (m) => void (m.graph!.output[0].type = undefined),
    code: "missing-type",
    graph: "main",
  },
  {
    name: "empty graph input name",
    apply: (m) => void m.graph!.input.push(makeValueInfo("", 1, [1])),
    code: "empty-name",
  },
  {
    name: "initializer with a wrong payload size",
    apply: (m) => {
      const w = m.graph!.initializer[0];
      w.rawData = w.rawData!.subarray(0, 100);
    },
    code: "initializer",
    graph: "main",
  },
  {
    name: "initializer with data_type UNDEFINED",
    apply: (m) => void (m.graph!.initializer[2].dataType = 0),
    code: "initializer",
  },
  {
    name: "duplicate initializer",
    apply: (m) => void m.graph!.initializer.push(floatInit("B", [4])),
    code: "ssa",
  },
  {
    name: "shape conflict between value_info and inferred shape",
    apply: (m) => void (m.graph!.valueInfo = [makeValueInfo("c", 1, ["N", 5, 8, 8])]),
    code: "shape-conflict",
    node: "conv",
  },
  {
    name: "rank conflict between graph output and inferred shape",
    apply: (m) => void (m.graph!.output = [makeValueInfo("Y", 1, ["N", 8, 8])]),
    code: "shape-conflict",
    node: "reshape",
  },
  {
    name: "element type conflict between value_info and inferred type",
    apply: (m) => void (m.graph!.valueInfo = [makeValueInfo("c", 6, ["N", 4, 8, 8])]),
    code: "type-conflict",
    node: "conv",
  },
  {
    name: "duplicate function name",
    apply: (m) => {
      const body = [makeNode("Relu", ["x"], ["y"])];
      m.functions = [
        makeFunction({
          name: "MyRelu",
          domain: "local",
          input: ["x"],
          output: ["y"],
          node: body,
          opsetImport: [{ domain: "", version: 17 }],
        }),
        makeFunction({
          name: "MyRelu",
          domain: "local",
          input: ["x"],
          output: ["y"],
          node: body,
          opsetImport: [{ domain: "", version: 17 }],
        }),
      ];
      m.opsetImport.push({ domain: "local", version: 1 });
    },
    code: "duplicate-function",
  },
  {
    name: "reshape to an impossible element count",
    apply: (m) => {
      m.graph!.input = [makeValueInfo("X", 1, [2, 3, 8, 8])]; // 2*4*4*4 = 128 elements reach Reshape
      m.graph!.output = [makeValueInfo("Y", 1)];
      m.graph!.valueInfo = [];
      m.graph!.initializer[2] = int64Init("shape", [5, -1]);
    },
    code: "inference",
    node: "reshape",
  },
  {
    name: "deprecated op",
    apply: (m) => {
      m.opsetImport = [{ domain: "", version: 10 }];
      m.graph!.node.push(
        makeNode("Upsample", ["p", "scales"], ["u"], [], { name: "up" }),
      );
      m.graph!.initializer.push({
        ...emptyTensorProto(1, [4], "scales"),
        floatData: [1, 1, 2, 2],
      });
    },
    code: "deprecated-op",
    node: "up",
    severity: "warning",
    ok: true,
  },
  {
    name: "unknown custom domain",
    apply: (m) => {
      m.opsetImport.push({ domain: "com.example", version: 1 });
      m.graph!.node.push(
        makeNode("Fancy", ["p"], ["q"], [], { name: "fancy", domain: "com.example" }),
      );
    },
    code: "unknown-op",
    node: "fancy",
    severity: "warning",
    ok: true,
  },
  {
    name: "initializer also listed as input (IR >= 4)",
    apply: (m) => void m.graph!.input.push(makeValueInfo("B", 1, [4])),
    code: "initializer-in-input",
    severity: "warning",
    ok: true,
  },
  {
    name: "initializer not listed as input (IR 3)",
    apply: (m) => void (m.irVersion = 3),
    code: "initializer-not-input",
  },
  {
    name: "invalid sparse initializer",
    apply: (m) => {
      m.graph!.sparseInitializer.push({
        values: { ...emptyTensorProto(1, [2], "S"), floatData: [1, 2] },
        indices: int64Init("", [0, 9]), // 9 is outside the 2x2 dense shape
        dims: [2, 2],
      });
    },
    code: "sparse-initializer",
  },
];

for (const d of DAMAGES) {
  Deno.test(`damage: ${d.name} → ${d.severity ?? "error"} ${d.code}`, () => {
    const m = tinyCnn();
    d.apply(m);
    const r = full(m);
    expectFinding(r, d.code, d);
    assert.equal(r.ok, d.ok ?? false, listing(r));
    if (d.ok) assert.ok(!r.findings.some((f) => f.severity === "error"), listing(r));
  });
}

Deno.test("several damages at once give every finding, not only the first", () => {
  const m = tinyCnn();
  m.irVersion = 0;
  nodeNamed(m, "conv").attribute.push(intAttr("bogus", 1));
  nodeNamed(m, "relu").opType = "Relux";
  nodeNamed(m, "pool").attribute = [intsAttr("strides", [2, 2])];
  m.graph!.valueInfo = [makeValueInfo("c", 1, ["N", 5, 8, 8])];
  nodeNamed(m, "reshape").input = ["p", "missing_shape"];
  m.graph!.output.push(makeValueInfo("never", 1, [1]));
  const r = full(m);
  expectFinding(r, "ir-version");
  expectFinding(r, "unknown-attribute", { node: "conv" });
  expectFinding(r, "unknown-op", { node: "relu" });
  expectFinding(r, "missing-attribute", { node: "pool" });
  expectFinding(r, "shape-conflict", { node: "conv" });
  expectFinding(r, "undefined-input", { node: "reshape" });
  expectFinding(r, "graph-output");
  assert.equal(r.ok, false);
  assert.ok(r.findings.filter((f) => f.severity === "error").length >= 7, listing(r));
});

Deno.test("unnamed nodes are named by their index", () => {
  const m = tinyCnn();
  const relu = nodeNamed(m, "relu");
  relu.name = "";
  relu.input = ["nope"];
  const f = expectFinding(full(m), "undefined-input", { node: "#1" });
  assert.equal(f.opType, "Relu");
  assert.equal(f.graph, "main");
});

/** X[2,3] float, cond bool: If(cond) then Add(X, X) else Neg(X) → Y. */
function ifModel(): Model {
  const thenG = makeGraph({
    name: "then",
    node: [makeNode("Add", ["X", "X"], ["t"])],
    output: [makeValueInfo("t", 1)],
  });
  const elseG = makeGraph({
    name: "else",
    node: [makeNode("Neg", ["X"], ["e"])],
    output: [makeValueInfo("e", 1)],
  });
  return model(makeGraph({
    input: [makeValueInfo("X", 1, [2, 3]), makeValueInfo("cond", 9, [])],
    output: [makeValueInfo("Y", 1, [2, 3])],
    node: [
      makeNode("If", ["cond"], ["Y"], [
        attr("then_branch", { type: "GRAPH", g: thenG }),
        attr("else_branch", { type: "GRAPH", g: elseG }),
      ], { name: "if" }),
    ],
  }));
}

Deno.test("subgraphs see outer-scope values and get inferred types", () => {
  const r = full(ifModel());
  assert.equal(r.ok, true, listing(r));
  assert.equal(formatValueType(r.inferredTypes!.get("main/if.then_branch/t")), "float32[2,3]");
  assert.equal(formatValueType(r.inferredTypes!.get("Y")), "float32[2,3]");
});

Deno.test("subgraph findings carry the subgraph path", () => {
  const m = ifModel();
  const elseG = m.graph!.node[0].attribute[1].g!;
  elseG.node[0].input = ["nowhere"];
  const r = full(m);
  expectFinding(r, "undefined-input", { node: "#0", graph: "main/if.else_branch" });
  // The same subgraph checked structurally only.
  expectFinding(checkModel(m), "undefined-input", { graph: "main/if.else_branch" });
});

Deno.test("a subgraph node may not redefine an outer value (SSA)", () => {
  const m = ifModel();
  const thenG = m.graph!.node[0].attribute[0].g!;
  thenG.node[0].output = ["cond"];
  thenG.output = [makeValueInfo("cond", 1)];
  expectFinding(full(m), "ssa", { graph: "main/if.then_branch" });
});

/** Y = local.MyRelu(X) where MyRelu's body is Relu; X is float32[N,4]. */
function functionModel(): Model {
  return model(
    makeGraph({
      input: [makeValueInfo("X", 1, ["N", 4])],
      output: [makeValueInfo("Y", 1, ["N", 4])],
      node: [makeNode("MyRelu", ["X"], ["Y"], [], { name: "call", domain: "local" })],
    }),
    {
      opsetImport: [{ domain: "", version: 17 }, { domain: "local", version: 1 }],
      functions: [
        makeFunction({
          name: "MyRelu",
          domain: "local",
          input: ["x"],
          output: ["y"],
          node: [makeNode("Relu", ["x"], ["y"])],
          opsetImport: [{ domain: "", version: 17 }],
        }),
      ],
    },
  );
}

Deno.test("model-local functions are checked and inferred through their body", () => {
  const r = full(functionModel());
  assert.deepEqual(r.findings, [], listing(r));
  assert.equal(formatValueType(r.inferredTypes!.get("Y")), "float32[N,4]");
});

Deno.test("function bodies are checked like graphs", () => {
  const m = functionModel();
  m.functions[0].node[0].input = ["ghost"];
  expectFinding(full(m), "undefined-input", { graph: "function:local.MyRelu" });
  const m2 = functionModel();
  m2.graph!.node[0].input = ["X", "X"]; // MyRelu takes one input
  expectFinding(full(m2), "input-count", { node: "call" });
});

Deno.test("constants fold through Shape, Concat and Constant into Reshape shapes", () => {
  // Reshape(D[24], Concat(Shape(S), Constant([-1]))) with S[2,3] gives [2,3,4].
  const m = model(makeGraph({
    input: [makeValueInfo("D", 1, [24]), makeValueInfo("S", 1, [2, 3])],
    output: [makeValueInfo("R", 1)],
    node: [
      makeNode("Shape", ["S"], ["s"]),
      makeNode("Constant", [], ["m1"], [attr("value", {
        type: "TENSOR",
        t: { ...emptyTensorProto(7, [1]), int64Data: [-1n] },
      })]),
      makeNode("Concat", ["s", "m1"], ["target"], [intAttr("axis", 0)]),
      makeNode("Reshape", ["D", "target"], ["R"]),
    ],
  }));
  const r = full(m);
  assert.equal(r.ok, true, listing(r));
  assert.equal(formatValueType(r.inferredTypes!.get("target")), "int64[3]");
  assert.equal(formatValueType(r.inferredTypes!.get("R")), "float32[2,3,4]");
});

Deno.test("inference errors from op infer functions become error findings", () => {
  const m = model(makeGraph({
    input: [makeValueInfo("A", 1, [2, 3]), makeValueInfo("B", 1, [4])],
    output: [makeValueInfo("C", 1)],
    node: [makeNode("Add", ["A", "B"], ["C"], [], { name: "add" })],
  }));
  const r = full(m);
  expectFinding(r, "inference", { node: "add" });
  // Structural checks alone do not see it.
  assert.equal(checkModel(m).ok, true);
});

Deno.test("assertValidModel throws a CheckError with every finding, errors first", () => {
  assert.equal(assertValidModel(tinyCnn()).ok, true);
  const m = tinyCnn();
  m.opsetImport.push({ domain: "com.example", version: 1 }); // a warning
  nodeNamed(m, "relu").opType = "Relux";
  nodeNamed(m, "pool").input = ["ghost"];
  assert.throws(() => assertValidModel(m), (e: unknown) => {
    assert.ok(e instanceof CheckError);
    assert.deepEqual(e.findings.map((f) => f.severity), ["error", "error", "warning"]);
    assert.match(e.message, /2 error\(s\)/);
    assert.match(e.message, /node relu \(Relux\)/);
    return true;
  });
});

Deno.test("formatFinding gives one line with severity, code, place and message", () => {
  assert.equal(
    formatFinding({
      severity: "error",
      code: "ssa",
      message: 'Value "x" is assigned\nmore than once',
      node: "conv1",
      opType: "Conv",
      graph: "main",
    }),
    'error [ssa] main, node conv1 (Conv): Value "x" is assigned more than once',
  );
  assert.equal(
    formatFinding({ severity: "warning", code: "unknown-domain", message: "Hm" }),
    "warning [unknown-domain]: Hm",
  );
});

Deno.test("Loop bodies are inferred with typed inputs", () => {
  // Loop with a counter: body adds 1 to a float carried value of shape [2].
  const body = makeGraph({
    name: "body",
    input: [makeValueInfo("i", 7, []), makeValueInfo("c_in", 9, []), makeValueInfo("v_in", 1, [2])],
    output: [makeValueInfo("c_out", 9, []), makeValueInfo("v_out", 1, [2])],
    initializer: [{ ...emptyTensorProto(1, [], "one"), floatData: [1] }],
    node: [
      makeNode("Identity", ["c_in"], ["c_out"]),
      makeNode("Add", ["v_in", "one"], ["v_out"]),
    ],
  });
  const m = model(makeGraph({
    input: [makeValueInfo("M", 7, []), makeValueInfo("V", 1, [2])],
    output: [makeValueInfo("W", 1, [2])],
    node: [
      makeNode("Loop", ["M", "", "V"], ["W"], [attr("body", { type: "GRAPH", g: body })], {
        name: "loop",
      }),
    ],
  }));
  const r = full(m);
  assert.equal(r.ok, true, listing(r));
  assert.equal(formatValueType(r.inferredTypes!.get("main/loop.body/v_out")), "float32[2]");
});

Deno.test("an infer function that throws becomes an infer-failed warning, not a crash", () => {
  const m = tinyCnn();
  // Conv's infer reads kernel_shape as INTS; NodeAttributes throws on the INT given here.
  nodeNamed(m, "conv").attribute = [intAttr("kernel_shape", 3), intsAttr("pads", [1, 1, 1, 1])];
  const r = full(m);
  expectFinding(r, "attribute-type", { node: "conv" });
  const f = expectFinding(r, "infer-failed", { node: "conv", severity: "warning" });
  assert.match(f.message, /kernel_shape/);
});

Deno.test("symbolic shape values: static parts of Shape(x) become constants", () => {
  // X[N,3,4]: Slice(Shape(X), [1], [3]) is [3,4] although N is symbolic, so
  // Reshape(D[12], it) is [3,4]; Gather(Shape(X), 0) stays symbolic, so its Reshape is not.
  const m = model(makeGraph({
    input: [makeValueInfo("X", 1, ["N", 3, 4]), makeValueInfo("D", 1, [12])],
    output: [makeValueInfo("R", 1), makeValueInfo("Q", 1)],
    initializer: [int64Init("one", [1]), int64Init("three", [3]), int64Init("zero", [0])],
    node: [
      makeNode("Shape", ["X"], ["s"]),
      makeNode("Slice", ["s", "one", "three"], ["tail"]),
      makeNode("Reshape", ["D", "tail"], ["R"]),
      makeNode("Gather", ["s", "zero"], ["n"], [intAttr("axis", 0)]),
      makeNode("Concat", ["n", "one", "tail"], ["target"], [intAttr("axis", 0)]),
      makeNode("Reshape", ["X", "target"], ["Q"]),
    ],
  }));
  const r = full(m);
  assert.equal(r.ok, true, listing(r));
  assert.equal(formatValueType(r.inferredTypes!.get("tail")), "int64[2]");
  assert.equal(formatValueType(r.inferredTypes!.get("R")), "float32[3,4]");
  assert.equal(formatValueType(r.inferredTypes!.get("target")), "int64[4]");
  const q = r.inferredTypes!.get("Q");
  assert.ok(q?.kind === "tensor" && q.shape?.length === 4 && q.shape[0] === undefined);
});

Deno.test("checkModel never throws on randomly damaged models", () => {
  const ops = [
    "Conv",
    "Reshape",
    "Concat",
    "Gather",
    "Slice",
    "If",
    "Loop",
    "Split",
    "Pad",
    "Tile",
  ];
  const extras = [
    intAttr("axis", 7),
    intsAttr("perm", [3, 0]),
    attr("value", { type: "TENSOR" }),
    intsAttr("axes", [9]),
    attr("body", { type: "GRAPH" }),
  ];
  let seed = 20240601;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  let errorsSeen = 0;
  for (let it = 0; it < 400; it++) {
    const m = it % 3 === 0 ? ifModel() : tinyCnn();
    const g = m.graph!;
    for (let k = 0; k < 3; k++) {
      const n = pick(g.node);
      const r = rnd();
      if (r < 0.3) n.opType = pick(ops);
      else if (r < 0.45) n.input = n.input.slice(1);
      else if (r < 0.6) n.attribute.push(pick(extras));
      else if (r < 0.7) n.input.push(pick(g.node).output[0]);
      else if (r < 0.8 && g.initializer.length) pick(g.initializer).dims = [3, 7];
      else if (r < 0.9) n.attribute = [];
      else m.opsetImport[0].version = pick([1, 5, 9, 13, 28]);
    }
    const report = full(m);
    if (!report.ok) errorsSeen++;
  }
  // Nearly every damaged model is invalid; none made the checker throw.
  assert.ok(errorsSeen > 300, `only ${errorsSeen} of 400 damaged models had errors`);
});
