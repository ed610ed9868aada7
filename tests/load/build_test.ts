/**
 * The IR builders of pipeline/load/build.ts: what they build equals what the decoder makes of
 * hand-encoded protobuf bytes (so every default is the decoder's default), built models
 * round-trip through encodeModel/decodeModel unchanged, and the attribute forms.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET,
  emptyAttribute,
  floatAttr,
  floatsAttr,
  graphAttr,
  intAttr,
  intsAttr,
  makeAttribute,
  makeAttributes,
  makeFunction,
  makeGraph,
  makeModel,
  makeNode,
  makeRefAttribute,
  makeTensorProto,
  makeTensorType,
  makeValueInfo,
  stringAttr,
  stringsAttr,
  tensorAttr,
} from "../../pipeline/load/build.ts";
import type { AttributeValue } from "../../pipeline/load/build.ts";
import { decodeModel, emptyTensorProto, encodeModel } from "../../pipeline/load/proto.ts";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
import { UnsupportedError } from "../../pipeline/errors.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { wire } from "./_shared.ts";

const msg = (field: number, ...parts: number[][]) => wire.bytes(field, parts.flat());

Deno.test("built IR equals the decoding of the same model encoded by hand", () => {
  // ModelProto: ir_version 1, graph 7, opset_import 8 (domain 1, version 2).
  // GraphProto: node 1, name 2, input 11, output 12. NodeProto: input 1, output 2, name 3,
  // op_type 4, attribute 5, domain 7. AttributeProto: name 1, f 2, i 3, type 20.
  // ValueInfoProto: name 1, type 2. TypeProto.tensor_type 1: elem_type 1, shape 2 (dim 1:
  // dim_value 1, dim_param 2).
  const bytes = Uint8Array.from([
    ...wire.int(1, 8),
    ...msg(
      7,
      msg(
        1,
        wire.str(1, "x"),
        wire.str(2, "y"),
        wire.str(3, "flat"),
        wire.str(4, "Flatten"),
        msg(5, wire.str(1, "axis"), wire.int(3, 1), wire.int(20, 2)),
        msg(5, wire.str(1, "scale"), wire.float(2, 0.1), wire.int(20, 1)),
      ),
      msg(1, wire.str(1, "y"), wire.str(2, "z"), wire.str(4, "Gelu"), wire.str(7, "com.microsoft")),
      wire.str(2, "g"),
      msg(
        11,
        wire.str(1, "x"),
        msg(2, msg(1, wire.int(1, 1), msg(2, msg(1, wire.str(2, "N")), msg(1, wire.int(1, 3))))),
      ),
      msg(12, wire.str(1, "z"), msg(2, msg(1, wire.int(1, 1)))),
      msg(12, wire.str(1, "untyped")),
    ),
    ...msg(8, wire.int(2, 13)),
    ...msg(8, wire.str(1, "com.microsoft"), wire.int(2, 1)),
  ]);
  const built = makeModel(
    makeGraph({
      node: [
        makeNode("Flatten", ["x"], ["y"], { axis: { i: 1 }, scale: { f: 0.1 } }, { name: "flat" }),
        makeNode("Gelu", ["y"], ["z"], [], { domain: "com.microsoft" }),
      ],
      input: [makeValueInfo("x", "float32", ["N", 3])],
      output: [makeValueInfo("z", 1), makeValueInfo("untyped")],
    }),
    { irVersion: 8, opsetImport: { "": 13, "com.microsoft": 1 } },
  );
  assert.deepEqual(decodeModel(bytes), built);
  assert.deepEqual(decodeModel(encodeModel(built)), built);
});

Deno.test("every attribute form round-trips through the protobuf encoding", () => {
  const sub = makeGraph({
    name: "body",
    node: [makeNode("Identity", ["a"], ["b"])],
    input: [makeValueInfo("a", "int64", [])],
    output: [makeValueInfo("b", "int64", [])],
  });
  const t = new Tensor("int32", Int32Array.of(1, -2, 3), [3]);
  const sparse = {
    dims: [4],
    values: makeTensorProto(new Tensor("float32", Float32Array.of(2.5), [1]), "v"),
    indices: makeTensorProto(new Tensor("int64", BigInt64Array.of(3n), [1])),
  };
  const typeSeq = { sequenceType: { elemType: makeTensorType("float16", [2, undefined]) } };
  const attrs = [
    floatAttr("f", 0.1),
    intAttr("i", -9223372036854775808n),
    stringAttr("s", "héllo"),
    tensorAttr("t", t),
    graphAttr("g", sub),
    makeAttribute("sparse", { sparseTensor: sparse }),
    makeAttribute("tp", { tp: typeSeq }),
    floatsAttr("floats", [0.5, 1 / 3]),
    intsAttr("ints", [0, -1, 1n << 40n]),
    stringsAttr("strings", ["a", new Uint8Array([0xff])]),
    makeAttribute("tensors", { tensors: [t, emptyTensorProto(9, [0])] }),
    makeAttribute("graphs", { graphs: [sub, makeGraph({ name: "empty" })] }),
    makeAttribute("sparse_tensors", { sparseTensors: [sparse] }),
    makeAttribute("type_protos", { typeProtos: [typeSeq, {}] }),
    makeRefAttribute("ref", "alpha", "FLOAT"),
  ];
  const fn = makeFunction({
    name: "Local",
    domain: "local",
    input: ["x"],
    output: ["y"],
    attribute: ["alpha"],
    attributeProto: [floatAttr("beta", 2)],
    node: [makeNode("LeakyRelu", ["x"], ["y"], [makeRefAttribute("alpha", "alpha", "FLOAT")])],
    opsetImport: { "": 18 },
  });
  const m = makeModel(
    makeGraph({
      node: [
        makeNode("Custom", ["x", ""], ["y"], attrs, {
          name: "n",
          domain: "local",
          overload: "v2",
          docString: "doc",
        }),
      ],
      initializer: [makeTensorProto(t, "w")],
      input: [makeValueInfo("x", typeSeq)],
      output: [makeValueInfo("y", "float32")],
      valueInfo: [makeValueInfo("y", makeTensorType(1, []))],
    }),
    {
      opsetImport: [{ domain: "", version: 18 }, { domain: "local", version: 1 }],
      functions: [fn],
      producerName: "build_test",
      modelVersion: 3n,
    },
  );
  const back = decodeModel(encodeModel(m));
  assert.deepEqual(back, m);
  const byName = new Map(back.graph!.node[0].attribute.map((a) => [a.name, a]));
  assert.equal(byName.get("f")!.f, Math.fround(0.1));
  assert.deepEqual(byName.get("floats")!.floats, [0.5, Math.fround(1 / 3)]);
  assert.equal(new TextDecoder().decode(byName.get("s")!.s), "héllo");
  assert.deepEqual(Array.from(tensorFromProto(byName.get("t")!.t!).data as Int32Array), [1, -2, 3]);
  assert.equal(byName.get("ref")!.refAttrName, "alpha");
});

Deno.test("attribute values name their field: integral floats stay FLOAT", () => {
  assert.equal(makeAttribute("a", { f: 1 }).type, "FLOAT");
  assert.equal(makeAttribute("a", { i: 1 }).type, "INT");
  assert.equal(makeAttribute("a", { i: 1 }).i, 1n);
  assert.deepEqual(makeAttribute("a", { ints: [] }), { ...emptyAttribute("a"), type: "INTS" });
  assert.deepEqual(makeAttributes({ b: { i: 2 }, a: { s: "x" } }).map((x) => x.name), ["b", "a"]);
  assert.deepEqual(
    makeNode("Op", [], [], { axis: { i: 0 } }).attribute,
    [intAttr("axis", 0)],
  );
  assert.throws(() => intAttr("axis", 1.5), UnsupportedError);
  assert.throws(() => intsAttr("pads", [1, 0.5]), /"pads" takes integers/);
  assert.throws(() => makeAttribute("x", {} as unknown as AttributeValue), UnsupportedError);
});

Deno.test("builders copy their lists and keep defaults over undefined parts", () => {
  const inputs = ["a"];
  const n = makeNode("Relu", inputs, ["b"]);
  inputs.push("c");
  assert.deepEqual(n.input, ["a"]);
  assert.equal(makeGraph({ name: undefined }).name, "g");
  const m = makeModel(undefined);
  assert.equal("graph" in m, false);
  assert.equal(m.irVersion, DEFAULT_IR_VERSION);
  assert.deepEqual(m.opsetImport, [{ domain: "", version: DEFAULT_OPSET }]);
  const opsets = [{ domain: "", version: 11 }];
  makeModel(undefined, { opsetImport: opsets }).opsetImport[0].version = 13;
  assert.equal(opsets[0].version, 11);
  assert.equal("type" in makeValueInfo("v"), false);
  assert.deepEqual(makeTensorType("int64"), { tensorType: { elemType: 7 } });
  assert.deepEqual(makeTensorType(1, [2, "N", undefined]), {
    tensorType: { elemType: 1, shape: [{ dimValue: 2 }, { dimParam: "N" }, {}] },
  });
});
