import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { ModelFormatError } from "../../pipeline/errors.ts";
import type { Model, SparseTensorProto, TensorProto, TypeProto } from "../../pipeline/load/ir.ts";
import { makeGraph, makeNode } from "../../pipeline/load/build.ts";
import {
  decodeMapProto,
  decodeModel,
  decodeOptionalProto,
  decodeSequenceProto,
  decodeTensorProto,
  decodeTypeProto,
  emptyTensorProto,
  encodeMapProto,
  encodeModel,
  encodeOptionalProto,
  encodeSequenceProto,
  encodeTensorProto,
  encodeTypeProto,
  type MapProto,
  MAX_GRAPH_NESTING,
  type OptionalProto,
  type SequenceProto,
} from "../../pipeline/load/proto.ts";
import {
  attr,
  corpusModels,
  exists,
  floatInfo,
  model,
  SHARED,
  sharedPresent,
  wire,
} from "./_shared.ts";

const HAVE_SHARED = sharedPresent();
const enc = new TextEncoder();

Deno.test({
  name: "every shared model decodes and decode→encode→decode gives a deep-equal IR",
  ignore: !HAVE_SHARED,
  fn() {
    const files = corpusModels();
    ok(files.length > 1900, `expected the whole corpus, found ${files.length} models`);
    let identical = 0;
    for (const f of files) {
      const bytes = Deno.readFileSync(f);
      const m = decodeModel(bytes, f);
      ok(m.graph, `${f} has a graph`);
      ok(m.irVersion >= 3 && m.irVersion <= 14, `${f}: IR version ${m.irVersion}`);
      const again = encodeModel(m);
      deepStrictEqual(decodeModel(again), m, f);
      if (again.length === bytes.length && again.every((b, i) => b === bytes[i])) identical++;
    }
    // onnx writes a few empty strings explicitly (node domains), which an IR cannot tell
    // apart from absent ones; everything else re-encodes byte for byte.
    ok(identical > files.length / 2, `${identical} of ${files.length} re-encode byte-identically`);
  },
});

Deno.test({
  name: "resnet18 decodes well under a second with zero-copy raw_data",
  ignore: !exists(`${SHARED}/models/resnet18/model.onnx`),
  fn() {
    const bytes = Deno.readFileSync(`${SHARED}/models/resnet18/model.onnx`);
    decodeModel(bytes); // warm up the schema and the generated decoders
    const t0 = performance.now();
    const m = decodeModel(bytes, "resnet18");
    const ms = performance.now() - t0;
    ok(ms < 1000, `decoding took ${ms.toFixed(0)} ms`);
    const inits = m.graph!.initializer;
    equal(inits.length, 42);
    for (const t of inits) {
      ok(t.rawData, `${t.name} has raw_data`);
      equal(t.rawData.buffer, bytes.buffer, `${t.name} raw_data is a view of the file bytes`);
    }
    const conv1 = inits.find((t) => t.dims.join(",") === "64,3,7,7");
    ok(conv1, "the first conv weight [64,3,7,7] is there");
    equal(conv1.rawData!.length, 64 * 3 * 7 * 7 * 4);
  },
});

/** A tensor in canonical decoded form with some payload fields. */
function tensor(fields: Partial<TensorProto>): TensorProto {
  return { ...emptyTensorProto(), ...fields };
}

function everythingModel(): Model {
  const typeSeq: TypeProto = {
    sequenceType: {
      elemType: {
        mapType: {
          keyType: 8,
          valueType: { optionalType: { elemType: { tensorType: { elemType: 1 } } } },
        },
      },
    },
    denotation: "",
  };
  const sparse: SparseTensorProto = {
    dims: [3, 4],
    values: tensor({ dims: [2], dataType: 1, floatData: [1.5, -2], name: "sp" }),
    indices: tensor({ dims: [2], dataType: 7, int64Data: [1n, 11n] }),
  };
  const sub = makeGraph({
    name: "then",
    node: [makeNode("Identity", ["x"], ["y"], [], { domain: "ai.onnx" })],
    output: [floatInfo("y", [0])],
  });
  const nested = makeGraph({
    name: "outer_then",
    node: [
      makeNode("If", ["c"], ["y"], [attr("then_branch", { type: "GRAPH", g: sub })]),
    ],
  });
  const attributes = [
    attr("f0", { type: "FLOAT", f: 0 }),
    attr("f", { type: "FLOAT", f: -1.25, docString: "a float" }),
    attr("i0", { type: "INT", i: 0n }),
    attr("i", { type: "INT", i: -9223372036854775808n }),
    attr("s", { type: "STRING", s: enc.encode("héllo") }),
    attr("s0", { type: "STRING" }),
    attr("t", {
      type: "TENSOR",
      t: tensor({ dims: [2], dataType: 7, int64Data: [9223372036854775807n, -1n] }),
    }),
    attr("g", { type: "GRAPH", g: nested }),
    attr("sparse", { type: "SPARSE_TENSOR", sparseTensor: sparse }),
    attr("tp", { type: "TYPE_PROTO", tp: typeSeq }),
    attr("floats", { type: "FLOATS", floats: [0.5, 0, -3] }),
    attr("ints", { type: "INTS", ints: [0n, -1n, 1n << 40n] }),
    attr("strings", { type: "STRINGS", strings: [enc.encode("a"), new Uint8Array(0)] }),
    attr("tensors", { type: "TENSORS", tensors: [tensor({ dataType: 9, int32Data: [1] })] }),
    attr("graphs", { type: "GRAPHS", graphs: [sub, makeGraph({ name: "empty" })] }),
    attr("sparse_tensors", { type: "SPARSE_TENSORS", sparseTensors: [sparse, { dims: [] }] }),
    attr("type_protos", {
      type: "TYPE_PROTOS",
      typeProtos: [{ opaqueType: { domain: "d", name: "n" } }, {}],
    }),
    attr("ref", { type: "INT", refAttrName: "alpha" }),
  ];
  const g = makeGraph({
    name: "main",
    docString: "doc",
    node: [
      {
        ...makeNode("Custom", ["x", ""], ["y", "", "z"], attributes, {
          name: "n0",
          domain: "com.example",
          overload: "v2",
          docString: "node doc",
        }),
        metadataProps: [{ key: "k", value: "v" }],
        deviceConfigurations: [{
          configurationId: "cfg",
          pipelineStage: 0,
          shardingSpec: [{
            tensorName: "x",
            device: [0n, -1n],
            indexToDeviceGroupMap: [{ key: -1n, value: [0n, 1n] }, { key: 0n, value: [] }],
            shardedDim: [{
              axis: 0n,
              simpleSharding: [
                { dimValue: 0n, numShards: 2n },
                { dimParam: "N", numShards: 0n },
                { numShards: 1n },
              ],
            }],
          }],
        }, { configurationId: "", shardingSpec: [] }],
      },
    ],
    initializer: [
      tensor({
        name: "raw",
        dims: [2],
        dataType: 1,
        rawData: new Uint8Array([0, 0, 128, 63, 0, 0, 0, 0]),
      }),
      tensor({ name: "empty_raw", dims: [0], dataType: 1, rawData: new Uint8Array(0) }),
      tensor({
        name: "typed",
        dims: [1, 2],
        dataType: 11,
        doubleData: [0.1, -0],
        docString: "d",
        metadataProps: [{ key: "", value: "" }],
      }),
      tensor({ name: "u64", dims: [2], dataType: 13, uint64Data: [0n, 18446744073709551615n] }),
      tensor({
        name: "str",
        dims: [2],
        dataType: 8,
        stringData: [enc.encode("x"), new Uint8Array(0)],
      }),
      tensor({
        name: "ext",
        dims: [4],
        dataType: 1,
        dataLocation: 1,
        externalData: [{ key: "location", value: "w.bin" }, { key: "offset", value: "0" }],
      }),
      tensor({
        name: "seg",
        dims: [4],
        dataType: 6,
        segment: { begin: 0n, end: 4n },
        int32Data: [1, 2, 3, 4],
      }),
      tensor({ name: "seg0", dataType: 6, segment: { begin: 0n, end: 0n } }),
    ],
    sparseInitializer: [sparse],
    input: [
      {
        name: "x",
        docString: "input",
        metadataProps: [{ key: "a", value: "b" }],
        type: {
          tensorType: {
            elemType: 1,
            shape: [
              { dimValue: 0 },
              { dimParam: "" },
              { dimParam: "batch", denotation: "DATA_BATCH" },
              {},
              { dimValue: 3, denotation: "" },
            ],
          },
          denotation: "IMAGE",
        },
      },
      {
        name: "scalar",
        docString: "",
        metadataProps: [],
        type: { tensorType: { elemType: 1, shape: [] } },
      },
      { name: "unranked", docString: "", metadataProps: [], type: { tensorType: { elemType: 0 } } },
      { name: "notype", docString: "", metadataProps: [] },
      { name: "empty_type", docString: "", metadataProps: [], type: {} },
      { name: "seq", docString: "", metadataProps: [], type: typeSeq },
      {
        name: "sp",
        docString: "",
        metadataProps: [],
        type: { sparseTensorType: { elemType: 1, shape: [{ dimValue: 3 }] } },
      },
      {
        name: "opq",
        docString: "",
        metadataProps: [],
        type: { opaqueType: { domain: "", name: "" } },
      },
      { name: "seq_unknown", docString: "", metadataProps: [], type: { sequenceType: {} } },
      { name: "opt_unknown", docString: "", metadataProps: [], type: { optionalType: {} } },
      { name: "map_unknown", docString: "", metadataProps: [], type: { mapType: { keyType: 7 } } },
    ],
    output: [floatInfo("y", [1]), floatInfo("z", [])],
    valueInfo: [floatInfo("v", [2, 3])],
    quantizationAnnotation: [{
      tensorName: "y",
      quantParameterTensorNames: [{ key: "SCALE_TENSOR", value: "s" }],
    }, { tensorName: "", quantParameterTensorNames: [] }],
    metadataProps: [{ key: "graph", value: "meta" }],
  });
  return model(g, {
    irVersion: 14,
    opsetImport: [{ domain: "", version: 28 }, { domain: "com.example", version: 1 }],
    producerName: "p",
    producerVersion: "1.0",
    domain: "org.test",
    modelVersion: -5n,
    docString: "model doc",
    metadataProps: [{ key: "author", value: "me" }],
    trainingInfo: [
      {
        initialization: makeGraph({ name: "init" }),
        algorithm: makeGraph({ name: "algo", node: [makeNode("Add", ["a", "b"], ["c"])] }),
        initializationBinding: [{ key: "w", value: "w0" }],
        updateBinding: [{ key: "w", value: "w1" }],
      },
      { initializationBinding: [], updateBinding: [] },
    ],
    functions: [{
      name: "Custom",
      input: ["x"],
      output: ["y"],
      attribute: ["alpha"],
      attributeProto: [attr("beta", { type: "FLOAT", f: 2 })],
      node: [
        makeNode("Identity", ["x"], ["y"], [attr("a", { type: "INT", refAttrName: "alpha" })]),
      ],
      docString: "fn",
      opsetImport: [{ domain: "", version: 17 }],
      domain: "com.example",
      overload: "v2",
      valueInfo: [floatInfo("x", [1])],
      metadataProps: [{ key: "fk", value: "fv" }],
    }],
    configuration: [{ name: "cfg", numDevices: 2, device: ["gpu0", "gpu1"] }, {
      name: "",
      numDevices: 0,
      device: [],
    }],
  });
}

Deno.test("every message and field survives encode→decode, proto2 presence included", () => {
  const m = everythingModel();
  const bytes = encodeModel(m);
  const back = decodeModel(bytes);
  deepStrictEqual(back, m);
  deepStrictEqual(decodeModel(encodeModel(back)), back);
  const dims = back.graph!.input[0].type!.tensorType!.shape!;
  equal(dims[0].dimValue, 0, "a dimension of value 0 stays a value");
  equal(dims[1].dimParam, "", "an empty dim_param stays present");
  deepStrictEqual(dims[3], {}, "an unknown dimension stays unknown");
  equal(back.graph!.input[2].type!.tensorType!.shape, undefined, "no shape stays unranked");
  deepStrictEqual(back.graph!.input[1].type!.tensorType!.shape, [], "a scalar shape stays []");
  equal(back.graph!.initializer[1].rawData?.length, 0, "empty raw_data stays present");
  equal(back.graph!.node[0].deviceConfigurations[0].pipelineStage, 0);
});

Deno.test("field numbers match onnx.proto (hand-encoded bytes)", () => {
  // TensorProto: dims=1, data_type=2, float_data=4 (packed), name=8, raw_data=9,
  // external_data=13, data_location=14, doc_string=12, metadata_props=16.
  const tensorBytes = new Uint8Array([
    ...wire.int(1, 2),
    ...wire.int(1, 3),
    ...wire.int(2, 1),
    ...wire.str(8, "w"),
    ...wire.str(12, "doc"),
    ...wire.bytes(9, [1, 2, 3]),
    ...wire.bytes(13, [...wire.str(1, "location"), ...wire.str(2, "f.bin")]),
    ...wire.int(14, 1),
    ...wire.bytes(16, [...wire.str(1, "k"), ...wire.str(2, "v")]),
    ...wire.bytes(4, new Uint8Array(new Float32Array([1, 2]).buffer)),
    ...wire.bytes(5, [...wire.varint(7), ...wire.varint(-1)]),
    ...wire.bytes(7, [...wire.varint(-2)]),
    ...wire.bytes(11, [...wire.varint(2n ** 64n - 1n)]),
    ...wire.bytes(10, new Uint8Array(new Float64Array([0.5]).buffer)),
    ...wire.bytes(6, [104, 105]),
    ...wire.bytes(3, [...wire.int(1, 5), ...wire.int(2, 9)]),
  ]);
  const t = decodeTensorProto(tensorBytes);
  deepStrictEqual(t.dims, [2, 3]);
  equal(t.dataType, 1);
  equal(t.name, "w");
  equal(t.docString, "doc");
  deepStrictEqual(Array.from(t.rawData!), [1, 2, 3]);
  deepStrictEqual(t.externalData, [{ key: "location", value: "f.bin" }]);
  equal(t.dataLocation, 1);
  deepStrictEqual(t.metadataProps, [{ key: "k", value: "v" }]);
  deepStrictEqual(t.floatData, [1, 2]);
  deepStrictEqual(t.int32Data, [7, -1]);
  deepStrictEqual(t.int64Data, [-2n]);
  deepStrictEqual(t.uint64Data, [18446744073709551615n]);
  deepStrictEqual(t.doubleData, [0.5]);
  deepStrictEqual(t.stringData.map((b) => Array.from(b)), [[104, 105]]);
  deepStrictEqual(t.segment, { begin: 5n, end: 9n });

  // ModelProto: ir_version=1, opset_import=8 (domain=1, version=2), producer_name=2,
  // model_version=5, graph=7 (node=1: input=1, output=2, op_type=4, domain=7, overload=8,
  // metadata_props=9, device_configurations=10), training_info=20, functions=25,
  // configuration=26 (name=1, num_devices=2, device=3).
  const nodeBytes = [
    ...wire.str(1, "a"),
    ...wire.str(2, "b"),
    ...wire.str(3, "n"),
    ...wire.str(4, "Relu"),
    ...wire.str(7, "dom"),
    ...wire.str(8, "ov"),
    ...wire.bytes(9, [...wire.str(1, "mk")]),
    ...wire.bytes(10, [...wire.str(1, "c"), ...wire.int(3, 4)]),
    ...wire.bytes(5, [...wire.str(1, "alpha"), ...wire.int(20, 1), ...wire.float(2, 0.5)]),
  ];
  const graphBytes = [
    ...wire.bytes(1, nodeBytes),
    ...wire.str(2, "g"),
    ...wire.bytes(11, [
      ...wire.str(1, "a"),
      ...wire.bytes(2, [
        ...wire.bytes(1, [...wire.int(1, 1), ...wire.bytes(2, [...wire.bytes(1, wire.int(1, 0))])]),
      ]),
    ]),
  ];
  const modelBytes = new Uint8Array([
    ...wire.int(1, 10),
    ...wire.bytes(8, [...wire.str(1, ""), ...wire.int(2, 21)]),
    ...wire.str(2, "prod"),
    ...wire.int(5, 3),
    ...wire.bytes(7, graphBytes),
    ...wire.bytes(20, [...wire.bytes(4, [...wire.str(1, "x"), ...wire.str(2, "y")])]),
    ...wire.bytes(25, [...wire.str(1, "F"), ...wire.str(10, "d"), ...wire.str(13, "o")]),
    ...wire.bytes(26, [...wire.str(1, "c"), ...wire.int(2, 8), ...wire.str(3, "dev")]),
  ]);
  const m = decodeModel(modelBytes);
  equal(m.irVersion, 10);
  deepStrictEqual(m.opsetImport, [{ domain: "", version: 21 }]);
  equal(m.producerName, "prod");
  equal(m.modelVersion, 3n);
  const n = m.graph!.node[0];
  deepStrictEqual([n.input, n.output, n.name, n.opType, n.domain, n.overload], [
    ["a"],
    ["b"],
    "n",
    "Relu",
    "dom",
    "ov",
  ]);
  deepStrictEqual(n.metadataProps, [{ key: "mk", value: "" }]);
  deepStrictEqual(n.deviceConfigurations, [{
    configurationId: "c",
    pipelineStage: 4,
    shardingSpec: [],
  }]);
  equal(n.attribute[0].type, "FLOAT");
  equal(n.attribute[0].f, 0.5);
  deepStrictEqual(m.graph!.input[0].type, {
    tensorType: { elemType: 1, shape: [{ dimValue: 0 }] },
  });
  deepStrictEqual(m.trainingInfo[0].updateBinding, [{ key: "x", value: "y" }]);
  deepStrictEqual([m.functions[0].name, m.functions[0].domain, m.functions[0].overload], [
    "F",
    "d",
    "o",
  ]);
  deepStrictEqual(m.configuration, [{ name: "c", numDevices: 8, device: ["dev"] }]);
  // And the encoder writes the same bytes back for these canonical messages.
  deepStrictEqual(decodeModel(encodeModel(m)), m);

  // TypeProto: tensor_type=1, sequence_type=4, map_type=5, opaque_type=7,
  // sparse_tensor_type=8, optional_type=9, denotation=6.
  const opt = decodeTypeProto(
    new Uint8Array([
      ...wire.bytes(9, [
        ...wire.bytes(1, [...wire.bytes(4, [...wire.bytes(1, wire.bytes(5, wire.int(1, 7)))])]),
      ]),
      ...wire.str(6, "TEXT"),
    ]),
  );
  deepStrictEqual(opt, {
    optionalType: { elemType: { sequenceType: { elemType: { mapType: { keyType: 7 } } } } },
    denotation: "TEXT",
  });
  deepStrictEqual(decodeTypeProto(new Uint8Array(wire.bytes(7, wire.str(2, "blob")))), {
    opaqueType: { domain: "", name: "blob" },
  });
  deepStrictEqual(decodeTypeProto(new Uint8Array(wire.bytes(8, wire.int(1, 1)))), {
    sparseTensorType: { elemType: 1 },
  });
  deepStrictEqual(decodeTypeProto(encodeTypeProto(opt)), opt);
});

Deno.test("attributes without a type field (IR version 1) get their type from the set field", () => {
  const bytes = new Uint8Array([
    ...wire.bytes(7, [
      ...wire.bytes(1, [
        ...wire.str(4, "Op"),
        ...wire.bytes(5, [...wire.str(1, "k"), ...wire.int(3, 5)]),
        ...wire.bytes(5, [...wire.str(1, "fs"), ...wire.float(7, 1), ...wire.float(7, 2)]),
        ...wire.bytes(5, [...wire.str(1, "none")]),
      ]),
    ]),
  ]);
  const attrs = decodeModel(bytes).graph!.node[0].attribute;
  deepStrictEqual(attrs.map((a) => a.type), ["INT", "FLOATS", "UNDEFINED"]);
  equal(attrs[0].i, 5n);
  deepStrictEqual(attrs[1].floats, [1, 2]);
});

/** Asserts that decoding throws a ModelFormatError carrying the source name. */
function refuses(bytes: Uint8Array, pattern?: RegExp): void {
  throws(() => decodeModel(bytes, "bad.onnx"), (e: unknown) => {
    ok(e instanceof ModelFormatError, `expected ModelFormatError, got ${e}`);
    equal(e.source, "bad.onnx");
    ok(e.message.includes("bad.onnx"), e.message);
    if (pattern) ok(pattern.test(e.message), e.message);
    return true;
  });
}

Deno.test("malformed and hostile inputs raise ModelFormatError", () => {
  refuses(new Uint8Array(0), /empty/);
  refuses(new Uint8Array([0x0f]), /wire type/); // field 1, wire type 7
  refuses(new Uint8Array([0x3a, 0xff, 0x01, 0x00]), /truncated/); // graph longer than the data
  refuses(new Uint8Array([0x08])); // varint cut short
  refuses(new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  refuses(new Uint8Array([0x00, 0x01])); // field number 0
  // An unknown AttributeType and an unknown TensorProto.DataLocation.
  refuses(
    new Uint8Array(
      wire.bytes(7, wire.bytes(1, wire.bytes(5, [...wire.str(1, "a"), ...wire.int(20, 99)]))),
    ),
    /unknown type 99/,
  );
  refuses(
    new Uint8Array(wire.bytes(7, wire.bytes(5, [...wire.str(8, "w"), ...wire.int(14, 7)]))),
    /data_location 7/,
  );
  // Graphs nested through attributes, deeper than the guard allows.
  let g: number[] = wire.str(2, "leaf");
  for (let d = 0; d < MAX_GRAPH_NESTING + 8; d++) {
    g = wire.bytes(
      1,
      wire.bytes(5, [...wire.str(1, "body"), ...wire.int(20, 5), ...wire.bytes(6, g)]),
    );
  }
  refuses(new Uint8Array(wire.bytes(7, g)), /nested/);
  // Deep type nesting, and very deep nesting that a naive recursive decoder would overflow on.
  let t: number[] = wire.bytes(1, wire.int(1, 1));
  for (let d = 0; d < 300; d++) t = wire.bytes(4, wire.bytes(1, t));
  refuses(new Uint8Array(wire.bytes(7, wire.bytes(11, wire.bytes(2, t)))), /nested/);
  let deep: number[] = [];
  for (let d = 0; d < 1500; d++) deep = wire.bytes(4, wire.bytes(1, deep));
  refuses(new Uint8Array(wire.bytes(7, wire.bytes(11, wire.bytes(2, deep)))), /nested/);
  // Not a model at all.
  refuses(enc.encode("<html><body>404</body></html>"));
});

Deno.test({
  name: "every prefix and random byte flips of small models give ModelFormatError or a model",
  ignore: !HAVE_SHARED,
  fn() {
    const files = ["simple/test_sign_model", "node/test_if_seq", "node/test_scan_sum"]
      .map((t) => `${SHARED}/onnx-backend/${t}/model.onnx`);
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const f of files) {
      const bytes = Deno.readFileSync(f);
      const graphEnd = graphFieldEnd(bytes);
      let refused = 0;
      for (let n = 0; n < bytes.length; n++) {
        if (n === 0) {
          throws(() => decodeModel(bytes.slice(0, 0), f), ModelFormatError);
          refused++;
          continue;
        }
        try {
          decodeModel(bytes.slice(0, n), f);
          // A prefix that ends between top-level fields is itself a valid message, but one
          // cut inside the graph field cannot be.
          ok(n < graphEnd.start || n >= graphEnd.end, `prefix ${n} of ${f} decoded`);
        } catch (e) {
          ok(e instanceof ModelFormatError, `prefix ${n} of ${f}: ${e}`);
          refused++;
        }
      }
      ok(refused >= graphEnd.end - graphEnd.start - 1, `${refused} prefixes refused`);
      for (let k = 0; k < 1500; k++) {
        const c = bytes.slice();
        for (let j = 0; j < 1 + Math.floor(rand() * 3); j++) {
          c[Math.floor(rand() * c.length)] ^= 1 << Math.floor(rand() * 8);
        }
        try {
          decodeModel(c, f);
        } catch (e) {
          ok(e instanceof ModelFormatError, `flipped ${f}: ${e}`);
        }
      }
    }
  },
});

/** Byte range [start, end) of the top-level graph field's payload (field 7). */
function graphFieldEnd(bytes: Uint8Array): { start: number; end: number } {
  let pos = 0;
  const varint = () => {
    let v = 0;
    let s = 1;
    for (;;) {
      const b = bytes[pos++];
      v += (b & 0x7f) * s;
      s *= 128;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const wt = tag & 7;
    if (wt === 0) varint();
    else if (wt === 2) {
      const len = varint();
      if (tag >>> 3 === 7) return { start: pos - 1, end: pos + len };
      pos += len;
    } else if (wt === 5) pos += 4;
    else pos += 8;
  }
  throw new Error("no graph field");
}

Deno.test("onnx-data messages encode and decode", () => {
  const t = { ...emptyTensorProto(1, [2], "t"), floatData: [1, 2] };
  const inner: SequenceProto = {
    name: "inner",
    elemType: 1,
    tensorValues: [t, { ...emptyTensorProto(6, [0]) }],
    sparseTensorValues: [],
    sequenceValues: [],
    mapValues: [],
    optionalValues: [],
  };
  const map: MapProto = {
    name: "m",
    keyType: 7,
    keys: [1n, -2n, 9223372036854775807n],
    stringKeys: [],
    values: inner,
  };
  const opt: OptionalProto = { name: "o", elemType: 3, sequenceValue: inner };
  const seq: SequenceProto = {
    name: "outer",
    elemType: 4,
    tensorValues: [],
    sparseTensorValues: [],
    sequenceValues: [inner],
    mapValues: [map, { name: "", keyType: 8, keys: [], stringKeys: [enc.encode("k")] }],
    optionalValues: [opt, { name: "", elemType: 1 }],
  };
  deepStrictEqual(decodeSequenceProto(encodeSequenceProto(seq)), seq);
  deepStrictEqual(decodeMapProto(encodeMapProto(map)), map);
  deepStrictEqual(decodeOptionalProto(encodeOptionalProto(opt)), opt);
  deepStrictEqual(decodeTensorProto(encodeTensorProto(t)), t);
  // Hand-encoded SequenceProto: name=1, elem_type=2, tensor_values=3.
  const hand = decodeSequenceProto(
    new Uint8Array([
      ...wire.str(1, "s"),
      ...wire.int(2, 1),
      ...wire.bytes(3, [...wire.int(1, 1), ...wire.int(2, 6), ...wire.bytes(5, wire.varint(42))]),
    ]),
  );
  equal(hand.name, "s");
  equal(hand.elemType, 1);
  deepStrictEqual(hand.tensorValues[0].int32Data, [42]);
  // MapProto: key_type=2, keys=3, string_keys=4, values=5. OptionalProto: tensor_value=3.
  const hmap = decodeMapProto(
    new Uint8Array([
      ...wire.int(2, 7),
      ...wire.int(3, 5),
      ...wire.bytes(4, [120]),
      ...wire.bytes(5, wire.int(2, 1)),
    ]),
  );
  deepStrictEqual([hmap.keyType, hmap.keys, hmap.stringKeys.length, hmap.values?.elemType], [
    7,
    [5n],
    1,
    1,
  ]);
  equal(
    decodeOptionalProto(new Uint8Array(wire.bytes(3, wire.int(2, 1)))).tensorValue?.dataType,
    1,
  );
  throws(() => decodeSequenceProto(new Uint8Array([0x1a, 0x05]), "s.pb"), ModelFormatError);
});
