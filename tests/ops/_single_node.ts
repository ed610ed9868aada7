/**
 * Test helper for the recurrent/attention/loss/NMS op tests: runs one node through a real
 * InferenceSession (planner, registry, attribute access) and returns its outputs.
 *
 * @module
 */

import type { Attribute, Graph, Model, Node } from "../../pipeline/load/ir.ts";
import type { LoadedModel } from "../../pipeline/load/load.ts";
import { dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";

/** An attribute value for {@link runNode}: numbers become INT when integral unless wrapped. */
export type AttrValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: number[] }
  | { ints: number[] }
  | { strings: string[] }
  | { g: Graph };

function makeAttr(name: string, v: AttrValue): Attribute {
  const base: Attribute = {
    name,
    refAttrName: "",
    docString: "",
    type: "UNDEFINED",
    f: 0,
    i: 0n,
    s: new Uint8Array(0),
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
  const enc = new TextEncoder();
  if ("f" in v) return { ...base, type: "FLOAT", f: v.f };
  if ("i" in v) return { ...base, type: "INT", i: BigInt(v.i) };
  if ("s" in v) return { ...base, type: "STRING", s: enc.encode(v.s) };
  if ("floats" in v) return { ...base, type: "FLOATS", floats: v.floats };
  if ("ints" in v) return { ...base, type: "INTS", ints: v.ints.map(BigInt) };
  if ("strings" in v) {
    return {
      ...base,
      type: "STRINGS",
      strings: v.strings.map((s) => enc.encode(s)),
    };
  }
  return { ...base, type: "GRAPH", g: v.g };
}

/** Options of {@link runNode}. */
export interface RunNodeOptions {
  /** Attributes by name. */
  attrs?: Record<string, AttrValue>;
  /** Number of outputs the node declares (default 1). */
  outputs?: number;
  /** Output slots left unnamed (omitted optional outputs). */
  skipOutputs?: number[];
  /** Opset of the node's domain (default 22). */
  opset?: number;
  /** Node domain (default ai.onnx). */
  domain?: string;
}

/** Builds a one-node model; omitted inputs (undefined) become "". */
export function singleNodeModel(
  opType: string,
  inputs: (Tensor | undefined)[],
  options: RunNodeOptions = {},
): Model {
  const nOut = options.outputs ?? 1;
  const inNames = inputs.map((t, i) => (t ? `in${i}` : ""));
  const outNames = Array.from(
    { length: nOut },
    (_, i) => (options.skipOutputs?.includes(i) ? "" : `out${i}`),
  );
  const domain = options.domain ?? "";
  const node: Node = {
    input: inNames,
    output: outNames,
    name: "n",
    opType,
    domain,
    overload: "",
    attribute: Object.entries(options.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
  };
  const graph: Graph = {
    node: [node],
    name: "g",
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: inputs.flatMap((t, i) =>
      t
        ? [{
          name: `in${i}`,
          type: { tensorType: { elemType: dataTypeCode(t.type) } },
          docString: "",
          metadataProps: [],
        }]
        : []
    ),
    output: outNames.filter((n) => n !== "").map((n) => ({
      name: n,
      docString: "",
      metadataProps: [],
    })),
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
  const opset = options.opset ?? 22;
  const opsetImport = [{ domain: "", version: domain === "" ? opset : 26 }];
  if (domain !== "") opsetImport.push({ domain, version: opset });
  return {
    irVersion: 10,
    opsetImport,
    producerName: "test",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    graph,
  };
}

/** Runs one node and returns its outputs in slot order (undefined for skipped slots). */
export async function runNode(
  opType: string,
  inputs: (Tensor | undefined)[],
  options: RunNodeOptions = {},
): Promise<(Tensor | undefined)[]> {
  const model = singleNodeModel(opType, inputs, options);
  const loaded: LoadedModel = {
    model,
    source: "<test>",
    byteLength: 0,
    external: {
      read: () => {
        throw new Error("no external data");
      },
    },
  };
  const session = await InferenceSession.create(loaded);
  const feeds: Record<string, Tensor> = {};
  inputs.forEach((t, i) => {
    if (t) feeds[`in${i}`] = t;
  });
  const out = await session.run(feeds);
  const nOut = options.outputs ?? 1;
  return Array.from({ length: nOut }, (_, i) => {
    const v = out[`out${i}`];
    if (v === undefined) return undefined;
    if (!(v instanceof Tensor)) throw new Error(`output ${i} is not a tensor`);
    return v;
  });
}

/** A float32 tensor from a flat list. */
export function f32(values: number[], dims: number[]): Tensor {
  return new Tensor("float32", Float32Array.from(values), dims);
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

/** Asserts two number lists agree within `atol + rtol * |expected|` element-wise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { rtol?: number; atol?: number } = {},
  what = "values",
): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} differs from expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e}`);
    }
  }
}
