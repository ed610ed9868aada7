/**
 * Tests of the operator schema table (ops/schema): facts checked by hand against the ONNX spec
 * (docs/Changelog.md, docs/Operators.md), structural invariants of every schema, and the ONNX
 * backend test suite in ../shared (every op/opset it uses resolves, and every node of the
 * node-test models fits the schema: counts, attributes, types).
 */

import assert from "node:assert/strict";
import {
  allSchemas,
  getSchema,
  knownDomains,
  type OpSchema,
  schemaVersions,
  typeStringOf,
  UNBOUNDED,
} from "../../ops/schema/mod.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import type { Attribute, Graph, Node, TypeProto } from "../../pipeline/load/ir.ts";
import { SHARED } from "../_shared_root.ts";

const BACKEND = `${SHARED}/onnx-backend`;
const MANIFEST = `${BACKEND}/manifest.tsv`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const haveBackend = exists(MANIFEST);
if (!haveBackend) {
  console.log(`schema_test: ${MANIFEST} is absent, skipping the backend-suite checks`);
}

function schema(domain: string, op: string, opset: number): OpSchema {
  const s = getSchema(domain, op, opset);
  assert.ok(s, `${domain || "ai.onnx"}:${op} at opset ${opset} should resolve`);
  return s;
}

function types(s: OpSchema, param: string): string[] {
  const list = s.typeConstraints[param];
  assert.ok(list, `${s.opType}-${s.since} has type parameter ${param}`);
  return list;
}

Deno.test("schema: version lists and opset resolution", () => {
  assert.deepEqual(schemaVersions("", "Softmax"), [1, 11, 13]);
  assert.deepEqual(schemaVersions("ai.onnx", "Softmax"), [1, 11, 13]);
  assert.deepEqual(schemaVersions("", "Reshape"), [1, 5, 13, 14, 19, 21, 23, 24, 25]);
  assert.deepEqual(schemaVersions("", "NoSuchOp"), []);
  assert.equal(getSchema("", "Softmax", 12)?.since, 11);
  assert.equal(getSchema("", "Softmax", 10)?.since, 1);
  assert.equal(getSchema("", "Softmax", 28)?.since, 13);
  assert.equal(getSchema("ai.onnx", "Softmax", 13)?.since, 13);
  // introduced later than the opset asked for
  assert.equal(getSchema("", "Attention", 22), undefined);
  assert.equal(getSchema("", "Gelu", 19), undefined);
  assert.equal(getSchema("", "Gelu", 20)?.since, 20);
  assert.equal(getSchema("", "Cast", 22)?.since, 21);
  assert.deepEqual(knownDomains(), [
    "",
    "ai.onnx.ml",
    "ai.onnx.preview",
    "ai.onnx.preview.training",
  ]);
});

Deno.test("schema: Reshape-14 allowzero and Conv-11 inputs", () => {
  const reshape = schema("", "Reshape", 14);
  assert.equal(reshape.since, 14);
  assert.deepEqual(reshape.attributes, [{
    name: "allowzero",
    type: "INT",
    required: false,
    default: 0,
  }]);
  assert.deepEqual(reshape.inputs.map((p) => [p.name, p.type, p.option]), [
    ["data", "T", "single"],
    ["shape", "tensor(int64)", "single"],
  ]);

  const conv = schema("", "Conv", 11);
  assert.equal(conv.since, 11);
  assert.deepEqual(conv.inputs.map((p) => [p.name, p.option]), [
    ["X", "single"],
    ["W", "single"],
    ["B", "optional"],
  ]);
  assert.equal(conv.minInputs, 2);
  assert.equal(conv.maxInputs, 3);
  assert.deepEqual(types(conv, "T"), ["tensor(float16)", "tensor(float)", "tensor(double)"]);
  const autoPad = conv.attributes.find((a) => a.name === "auto_pad");
  assert.deepEqual(autoPad, {
    name: "auto_pad",
    type: "STRING",
    required: false,
    default: "NOTSET",
  });
  assert.ok(schema("", "Conv", 22).typeConstraints.T.includes("tensor(bfloat16)"));
});

Deno.test("schema: ReduceSum axes moves from attribute (11) to optional input (13)", () => {
  const r11 = schema("", "ReduceSum", 12);
  assert.equal(r11.since, 11);
  assert.deepEqual(r11.attributes.find((a) => a.name === "axes"), {
    name: "axes",
    type: "INTS",
    required: false,
  });
  assert.equal(r11.inputs.length, 1);

  const r13 = schema("", "ReduceSum", 13);
  assert.equal(r13.attributes.find((a) => a.name === "axes"), undefined);
  assert.deepEqual(r13.inputs[1], {
    name: "axes",
    type: "tensor(int64)",
    option: "optional",
    homogeneous: true,
    minArity: 1,
  });
  assert.equal(r13.minInputs, 1);
  assert.equal(r13.maxInputs, 2);
  // the other reductions follow at opset 18
  assert.equal(schema("", "ReduceMean", 17).attributes.some((a) => a.name === "axes"), true);
  assert.equal(schema("", "ReduceMean", 18).inputs[1].name, "axes");
  assert.ok(schema("", "ReduceMax", 20).typeConstraints.T.includes("tensor(bool)"));
});

Deno.test("schema: Cast type lists grow with the new element types", () => {
  const c13 = types(schema("", "Cast", 13), "T1");
  assert.ok(c13.includes("tensor(bfloat16)"));
  assert.ok(!c13.includes("tensor(float8e4m3fn)"));
  const c19 = schema("", "Cast", 19);
  assert.ok(types(c19, "T2").includes("tensor(float8e5m2fnuz)"));
  assert.deepEqual(c19.attributes.map((a) => a.name), ["saturate", "to"]);
  const c21 = types(schema("", "Cast", 21), "T1");
  assert.ok(c21.includes("tensor(int4)") && c21.includes("tensor(uint4)"));
  assert.ok(!c21.includes("tensor(float4e2m1)"));
  const c23 = types(schema("", "Cast", 23), "T2");
  assert.ok(c23.includes("tensor(float4e2m1)"));
  assert.ok(!c23.includes("tensor(float8e8m0)"));
  const c24 = schema("", "Cast", 24);
  assert.ok(types(c24, "T1").includes("tensor(float8e8m0)"));
  assert.deepEqual(c24.attributes.find((a) => a.name === "round_mode")?.default, "up");
  assert.equal(c24.attributes.find((a) => a.name === "to")?.required, true);
  const c25 = types(schema("", "Cast", 25), "T1");
  assert.ok(c25.includes("tensor(int2)") && c25.includes("tensor(uint2)"));
  assert.ok(!c25.some((t) => t.startsWith("tensor(complex")));
  assert.equal(c25.length, 24);
});

Deno.test("schema: Attention-23/24 and other recent ops", () => {
  const a23 = schema("", "Attention", 23);
  assert.equal(a23.since, 23);
  assert.deepEqual(a23.inputs.map((p) => [p.name, p.option]), [
    ["Q", "single"],
    ["K", "single"],
    ["V", "single"],
    ["attn_mask", "optional"],
    ["past_key", "optional"],
    ["past_value", "optional"],
  ]);
  assert.equal(a23.minInputs, 3);
  assert.equal(a23.maxInputs, 6);
  assert.equal(a23.minOutputs, 1);
  assert.equal(a23.maxOutputs, 4);
  assert.ok(types(a23, "U").includes("tensor(bool)"));
  assert.equal(a23.hasFunction, true);
  const a24 = schema("", "Attention", 24);
  assert.equal(a24.inputs[6].name, "nonpad_kv_seqlen");
  assert.equal(a24.inputs[6].type, "tensor(int64)");
  assert.equal(a24.maxInputs, 7);

  const rms = schema("", "RMSNormalization", 23);
  assert.deepEqual(rms.attributes.map((a) => [a.name, a.default]), [
    ["axis", -1],
    ["epsilon", 1e-5],
    ["stash_type", 1],
  ]);
  const rope = schema("", "RotaryEmbedding", 23);
  assert.equal(rope.inputs[3].option, "optional");
  assert.deepEqual(types(rope, "M"), ["tensor(int64)"]);
  assert.equal(
    schema("", "TensorScatter", 24).attributes.find((a) => a.name === "axis")?.default,
    -2,
  );
  assert.equal(schema("", "SwiGLU", 28).inputs.length, 2);
  assert.equal(getSchema("", "SwiGLU", 27), undefined);
  const flex = schema("ai.onnx.preview", "FlexAttention", 1);
  assert.deepEqual(flex.attributes.map((a) => [a.name, a.type]), [
    ["prob_mod", "GRAPH"],
    ["scale", "FLOAT"],
    ["score_mod", "GRAPH"],
    ["softmax_precision", "INT"],
  ]);
});

Deno.test("schema: ai.onnx.ml and training domains", () => {
  assert.deepEqual(schemaVersions("ai.onnx.ml", "TreeEnsemble"), [5]);
  assert.equal(getSchema("ai.onnx.ml", "TreeEnsemble", 4), undefined);
  const te = schema("ai.onnx.ml", "TreeEnsemble", 5);
  assert.equal(te.attributes.find((a) => a.name === "nodes_modes")?.type, "TENSOR");
  assert.equal(te.attributes.find((a) => a.name === "tree_roots")?.required, true);
  assert.equal(te.attributes.find((a) => a.name === "aggregate_function")?.default, 1);
  assert.deepEqual(schemaVersions("ai.onnx.ml", "LabelEncoder"), [1, 2, 4]);
  const le2 = schema("ai.onnx.ml", "LabelEncoder", 3);
  const defFloat = le2.attributes.find((a) => a.name === "default_float")?.default;
  assert.ok(Object.is(defFloat, -0), "LabelEncoder-2 default_float is -0.0");
  const zip = schema("ai.onnx.ml", "ZipMap", 1);
  assert.deepEqual(types(zip, "T"), [
    "seq(map(string,tensor(float)))",
    "seq(map(int64,tensor(float)))",
  ]);
  const adam = schema("ai.onnx.preview.training", "Adam", 1);
  assert.equal(adam.inputs[2].option, "variadic");
  assert.equal(adam.inputs[2].homogeneous, false);
  assert.equal(adam.minInputs, 3);
  assert.equal(adam.maxInputs, UNBOUNDED);
});

Deno.test("schema: variadic parameters, deprecation, defaults", () => {
  const loop = schema("", "Loop", 16);
  const vInit = loop.inputs[2];
  assert.deepEqual([vInit.option, vInit.homogeneous, vInit.minArity], ["variadic", false, 0]);
  assert.equal(loop.minInputs, 2);
  assert.equal(loop.maxInputs, UNBOUNDED);
  assert.ok(types(schema("", "Loop", 19), "V").includes("optional(seq(tensor(bfloat16)))"));
  const concat = schema("", "Concat", 13);
  assert.deepEqual([concat.minInputs, concat.maxInputs], [1, UNBOUNDED]);
  assert.equal(concat.inputs[0].homogeneous, true);
  assert.equal(concat.attributes[0].required, true);
  const split = schema("", "Split", 18);
  assert.equal(split.outputs[0].option, "variadic");
  assert.deepEqual(split.attributes.map((a) => a.name), ["axis", "num_outputs"]);
  assert.equal(schema("", "Upsample", 10).deprecated, true);
  assert.equal(schema("", "Upsample", 9).deprecated, undefined);
  assert.equal(schema("", "Scatter", 11).deprecated, true);
  assert.equal(schema("", "LeakyRelu", 16).attributes[0].default, 0.01);
  assert.equal(schema("", "Constant", 19).inputs.length, 0);
  assert.equal(schema("", "Constant", 19).minInputs, 0);
  assert.deepEqual(
    schema("", "RNN", 14).attributes.find((a) => a.name === "activations")?.default,
    [
      "Tanh",
      "Tanh",
    ],
  );
  const s = schema("", "Softmax", 13);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.inputs));
});

Deno.test("schema: structural invariants of every schema", () => {
  const all = allSchemas();
  assert.ok(all.length > 600, `expected > 600 schema versions, got ${all.length}`);
  const typeRe = /^(tensor|sparse_tensor)\([a-z0-9]+\)$|^(seq|optional|map)\(.+\)$/;
  const attrTypes = new Set([
    "FLOAT",
    "INT",
    "STRING",
    "TENSOR",
    "GRAPH",
    "FLOATS",
    "INTS",
    "STRINGS",
    "TENSORS",
    "GRAPHS",
    "SPARSE_TENSOR",
    "SPARSE_TENSORS",
    "TYPE_PROTO",
    "TYPE_PROTOS",
  ]);
  const seen = new Set<string>();
  for (const s of all) {
    const where = `${s.domain || "ai.onnx"}:${s.opType}-${s.since}`;
    assert.ok(!seen.has(where), `${where} appears twice`);
    seen.add(where);
    assert.equal(getSchema(s.domain, s.opType, s.since), s, `${where} resolves to itself`);
    for (const params of [s.inputs, s.outputs]) {
      params.forEach((p, i) => {
        if (p.option === "variadic") assert.equal(i, params.length - 1, `${where}: variadic last`);
        assert.ok(
          typeRe.test(p.type) || p.type in s.typeConstraints,
          `${where}: ${p.name} has unknown type ${p.type}`,
        );
      });
    }
    assert.ok(s.minInputs <= s.maxInputs && s.minOutputs <= s.maxOutputs, `${where}: counts`);
    assert.ok(s.maxOutputs >= 1 || s.outputs.length === 0, `${where}: outputs`);
    for (const a of s.attributes) {
      assert.ok(attrTypes.has(a.type), `${where}: attribute ${a.name} type ${a.type}`);
      assert.ok(
        !(a.required && a.default !== undefined),
        `${where}: ${a.name} required with default`,
      );
    }
    for (const [param, list] of Object.entries(s.typeConstraints)) {
      assert.ok(list.length > 0, `${where}: ${param} is empty`);
      for (const t of list) assert.ok(typeRe.test(t), `${where}: bad type string ${t}`);
      assert.equal(new Set(list).size, list.length, `${where}: ${param} has duplicates`);
    }
  }
  // every domain's opsets are covered up to their newest version
  const newest = (domain: string) =>
    Math.max(...all.filter((s) => s.domain === domain).map((s) => s.since));
  assert.equal(newest(""), 28);
  assert.equal(newest("ai.onnx.ml"), 5);
  assert.equal(newest("ai.onnx.preview.training"), 1);
  assert.equal(newest("ai.onnx.preview"), 1);
});

Deno.test("schema: typeStringOf", () => {
  const f: TypeProto = { tensorType: { elemType: 1 } };
  assert.equal(typeStringOf(f), "tensor(float)");
  assert.equal(
    typeStringOf({ sequenceType: { elemType: { tensorType: { elemType: 7 } } } }),
    "seq(tensor(int64))",
  );
  assert.equal(
    typeStringOf({ optionalType: { elemType: { tensorType: { elemType: 26 } } } }),
    "optional(tensor(int2))",
  );
  assert.equal(
    typeStringOf({ mapType: { keyType: 8, valueType: f } }),
    "map(string,tensor(float))",
  );
  assert.equal(typeStringOf({ sparseTensorType: { elemType: 16 } }), "sparse_tensor(bfloat16)");
  assert.equal(typeStringOf({ tensorType: { elemType: 0 } }), undefined);
  assert.equal(typeStringOf(undefined), undefined);
});

interface ManifestRow {
  suite: string;
  test: string;
  ops: { domain: string; op: string }[];
  opsets: Map<string, number>;
}

function readManifest(): ManifestRow[] {
  const lines = Deno.readTextFileSync(MANIFEST).split("\n").filter((l) => l.length > 0);
  return lines.slice(1).map((line) => {
    const cols = line.split("\t");
    const opsets = new Map<string, number>();
    for (const imp of cols[3].split(",")) {
      const cut = imp.lastIndexOf(":");
      const domain = imp.slice(0, cut);
      opsets.set(domain === "ai.onnx" ? "" : domain, Number(imp.slice(cut + 1)));
    }
    const ops = cols[2].split(",").filter((x) => x).map((name) => {
      const cut = name.lastIndexOf(":");
      return cut < 0
        ? { domain: "", op: name }
        : { domain: name.slice(0, cut), op: name.slice(cut + 1) };
    });
    return { suite: cols[0], test: cols[1], ops, opsets };
  });
}

Deno.test({
  name: "schema: every (domain, op, opset) of the backend manifest resolves",
  ignore: !haveBackend,
  fn() {
    const rows = readManifest();
    assert.ok(rows.length > 1900);
    const missing: string[] = [];
    let checked = 0;
    for (const row of rows) {
      for (const { domain, op } of row.ops) {
        const opset = row.opsets.get(domain);
        const s = opset === undefined ? undefined : getSchema(domain, op, opset);
        if (!s || s.deprecated) missing.push(`${row.test}: ${domain || "ai.onnx"}:${op}@${opset}`);
        checked++;
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(checked > 2500, `checked ${checked} op uses`);
  },
});

Deno.test({
  name: "schema: operators with expanded (function) tests have a function body",
  ignore: !haveBackend,
  fn() {
    const byTest = new Map(readManifest().map((r) => [r.test, r]));
    const problems: string[] = [];
    for (const row of byTest.values()) {
      const m = /^(.*)_expanded(_ver\d+)?$/.exec(row.test);
      if (!m) continue;
      const base = byTest.get(m[1]);
      if (!base || base.ops.length !== 1) continue;
      const { domain, op } = base.ops[0];
      const s = getSchema(domain, op, base.opsets.get(domain) ?? 0);
      if (!s?.hasFunction) problems.push(`${op}@${base.opsets.get(domain)} (${m[1]})`);
    }
    assert.deepEqual([...new Set(problems)], []);
  },
});

/** Counts what {@link checkGraph} looked at. */
interface CheckStats {
  nodes: number;
  typedValues: number;
}

/** Checks every node of a graph (and its subgraphs) against its schema, appending problems. */
function checkGraph(
  graph: Graph,
  opsets: Map<string, number>,
  where: string,
  problems: string[],
  outer: Map<string, TypeProto | undefined>,
  stats: CheckStats,
): void {
  const known = new Map(outer);
  for (const init of graph.initializer) {
    known.set(init.name, { tensorType: { elemType: init.dataType } });
  }
  for (const vi of [...graph.input, ...graph.output, ...graph.valueInfo]) {
    known.set(vi.name, vi.type);
  }
  for (const node of graph.node) {
    stats.nodes++;
    const domain = node.domain === "ai.onnx" ? "" : node.domain;
    const at = `${where}: ${domain ? domain + ":" : ""}${node.opType}`;
    const opset = opsets.get(domain);
    const s = opset === undefined ? undefined : getSchema(domain, node.opType, opset);
    if (!s) {
      problems.push(`${at}: no schema at opset ${opset}`);
      continue;
    }
    let nIn = node.input.length;
    while (nIn > 0 && node.input[nIn - 1] === "") nIn--;
    let nOut = node.output.length;
    while (nOut > 0 && node.output[nOut - 1] === "") nOut--;
    if (nIn < s.minInputs || nIn > s.maxInputs) {
      problems.push(
        `${at}-${s.since}: ${nIn} inputs, schema allows ${s.minInputs}..${s.maxInputs}`,
      );
    }
    if (nOut < s.minOutputs || nOut > s.maxOutputs) {
      problems.push(
        `${at}-${s.since}: ${nOut} outputs, schema allows ${s.minOutputs}..${s.maxOutputs}`,
      );
    }
    const given = new Set<string>();
    for (const attr of node.attribute) {
      given.add(attr.name);
      const decl = s.attributes.find((a) => a.name === attr.name);
      if (!decl) problems.push(`${at}-${s.since}: unknown attribute ${attr.name}`);
      else if (decl.type !== attr.type) {
        problems.push(
          `${at}-${s.since}: attribute ${attr.name} is ${attr.type}, schema says ${decl.type}`,
        );
      }
      for (const g of [...(attr.g ? [attr.g] : []), ...attr.graphs]) {
        checkGraph(g, opsets, `${at}/${attr.name}`, problems, known, stats);
      }
    }
    for (const decl of s.attributes) {
      if (decl.required && !given.has(decl.name)) {
        problems.push(`${at}-${s.since}: required attribute ${decl.name} missing`);
      }
    }
    // types of the values whose type the model declares
    const bound = new Map<string, string>();
    const checkValues = (names: string[], params: typeof s.inputs, kind: string) => {
      names.forEach((name, i) => {
        if (name === "" || params.length === 0) return;
        const p = params[Math.min(i, params.length - 1)];
        if (i >= params.length && p.option !== "variadic") return;
        const actual = typeStringOf(known.get(name));
        if (actual === undefined) return;
        stats.typedValues++;
        if (!(p.type in s.typeConstraints)) {
          if (actual !== p.type) {
            problems.push(`${at}-${s.since}: ${kind} ${i} is ${actual}, want ${p.type}`);
          }
          return;
        }
        if (!s.typeConstraints[p.type].includes(actual)) {
          problems.push(`${at}-${s.since}: ${kind} ${i} type ${actual} not allowed for ${p.type}`);
          return;
        }
        if (p.option === "variadic" && !p.homogeneous) return;
        const prev = bound.get(p.type);
        if (prev === undefined) bound.set(p.type, actual);
        else if (prev !== actual) {
          problems.push(`${at}-${s.since}: ${p.type} bound to both ${prev} and ${actual}`);
        }
      });
    };
    checkValues(node.input, s.inputs, "input");
    checkValues(node.output, s.outputs, "output");
  }
}

/** A node for hand-built graphs: only the fields checkGraph reads matter. */
function fakeNode(
  opType: string,
  input: string[],
  output: string[],
  attrs: { name: string; type: Attribute["type"] }[] = [],
): Node {
  return {
    opType,
    domain: "",
    input,
    output,
    attribute: attrs.map((a) => ({ ...a, graphs: [] }) as unknown as Attribute),
  } as unknown as Node;
}

Deno.test("schema: the backend-model checker reports mismatches", () => {
  const f32: TypeProto = { tensorType: { elemType: 1 } };
  const i64: TypeProto = { tensorType: { elemType: 7 } };
  const graph = {
    node: [
      fakeNode("Relu", ["x", "x"], ["y"]), // too many inputs
      fakeNode("Concat", ["x", "n"], ["c"], [{ name: "axis", type: "INT" }]), // T bound twice
      fakeNode("Gather", ["x", "n"], ["g"], [{ name: "axis", type: "FLOAT" }]), // wrong attr type
      fakeNode("Cast", ["n"], ["k"]), // required "to" missing
      fakeNode("Transpose", ["x"], ["t"], [{ name: "perms", type: "INTS" }]), // unknown attr
      fakeNode("Abs", ["n"], ["a"]), // fine: int64 is allowed
      fakeNode("Sqrt", ["n"], ["s"]), // int64 not allowed for Sqrt
    ],
    input: [{ name: "x", type: f32 }, { name: "n", type: i64 }],
    initializer: [],
    output: [],
    valueInfo: [],
  } as unknown as Graph;
  const problems: string[] = [];
  const stats = { nodes: 0, typedValues: 0 };
  checkGraph(graph, new Map([["", 13]]), "fake", problems, new Map(), stats);
  assert.equal(stats.nodes, 7);
  const has = (text: string) => problems.some((p) => p.includes(text));
  assert.ok(
    has("Relu-14: 2 inputs, schema allows 1..1") || has("Relu-13: 2 inputs"),
    problems.join("\n"),
  );
  assert.ok(has("Concat-13: T bound to both tensor(float) and tensor(int64)"), problems.join("\n"));
  assert.ok(has("Gather-13: attribute axis is FLOAT, schema says INT"), problems.join("\n"));
  assert.ok(has("Cast-13: required attribute to missing"), problems.join("\n"));
  assert.ok(has("Transpose-13: unknown attribute perms"), problems.join("\n"));
  assert.ok(has("Sqrt-13: input 0 type tensor(int64) not allowed for T"), problems.join("\n"));
  assert.ok(!has("Abs"), problems.join("\n"));
  assert.equal(problems.length, 6, problems.join("\n"));
});

function modelPath(row: ManifestRow): string {
  return row.suite === "light"
    ? `${BACKEND}/light/${row.test}.onnx`
    : `${BACKEND}/${row.suite}/${row.test}/model.onnx`;
}

Deno.test({
  name: "schema: every node of the backend suite's models fits its schema",
  ignore: !haveBackend,
  async fn() {
    const rows = readManifest();
    assert.ok(rows.filter((r) => r.suite === "node").length > 1700);
    const problems: string[] = [];
    const stats: CheckStats = { nodes: 0, typedValues: 0 };
    for (const row of rows) {
      const { model } = await loadModel(modelPath(row));
      const opsets = new Map<string, number>();
      for (const o of model.opsetImport) {
        opsets.set(o.domain === "ai.onnx" ? "" : o.domain, o.version);
      }
      if (!model.graph) {
        problems.push(`${row.test}: no graph`);
        continue;
      }
      checkGraph(model.graph, opsets, row.test, problems, new Map(), stats);
    }
    assert.deepEqual(problems, []);
    assert.ok(stats.nodes > 3000, `checked ${stats.nodes} nodes`);
    assert.ok(stats.typedValues > 4000, `checked ${stats.typedValues} typed values`);
    console.log(
      `schema_test: ${rows.length} models, ${stats.nodes} nodes, ${stats.typedValues} typed values`,
    );
  },
});

const REAL_MODELS = [
  `${SHARED}/models/lstm/model.onnx`,
  `${SHARED}/models/mobilenet_v2/model.onnx`,
  `${SHARED}/models/resnet18/model.onnx`,
  `${SHARED}/models/squeezenet1_1/model.onnx`,
  `${SHARED}/models/tiny_bert/model.onnx`,
  `${SHARED}/pretrained/mnist/model.onnx`,
  `${SHARED}/pretrained/mnist_opset7/model.onnx`,
  `${SHARED}/pretrained/mobilenetv2_float/model.onnx`,
  `${SHARED}/pretrained/mobilenetv2_int8/model.onnx`,
  `${SHARED}/pretrained/mobilenetv2_int8_stdops/model.onnx`,
  `${SHARED}/pretrained/mobilenetv2_int8w_floatact/model.onnx`,
];
const haveRealModels = REAL_MODELS.every(exists);
if (!haveRealModels) {
  console.log("schema_test: the models in ../shared/models or /pretrained are absent, skipping");
}

Deno.test({
  name: "schema: every standard-domain node of the shared real models fits its schema",
  ignore: !haveRealModels,
  async fn() {
    const problems: string[] = [];
    const stats: CheckStats = { nodes: 0, typedValues: 0 };
    const domains = new Set(knownDomains());
    for (const path of REAL_MODELS) {
      const { model } = await loadModel(path);
      const opsets = new Map<string, number>();
      for (const o of model.opsetImport) {
        opsets.set(o.domain === "ai.onnx" ? "" : o.domain, o.version);
      }
      assert.ok(model.graph, path);
      // nodes of vendor domains (e.g. com.microsoft) are outside this table
      const graph = {
        ...model.graph,
        node: model.graph.node.filter((n) => domains.has(n.domain === "ai.onnx" ? "" : n.domain)),
      };
      checkGraph(graph, opsets, path, problems, new Map(), stats);
    }
    assert.deepEqual(problems, []);
    assert.ok(stats.nodes > 300, `checked ${stats.nodes} nodes`);
    console.log(
      `schema_test: real models: ${stats.nodes} nodes, ${stats.typedValues} typed values`,
    );
  },
});
