/**
 * Test helpers for the WebGPU backend: small hand-built models, random inputs, and a check
 * that runs a model on the CPU (the reference) and on WebGPU, asserts how many nodes ran on
 * the GPU (so a silent CPU fallback cannot pass) and compares every output.
 *
 * @module
 */

import type { Attribute, Graph, Model, Node } from "../../pipeline/load/ir.ts";
import type { LoadedModel } from "../../pipeline/load/load.ts";
import { tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { type DataType, dataTypeCode } from "../../pipeline/tensor/dtype.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InferenceSession, type SessionOptions } from "../../pipeline/run/session.ts";
import { allclose } from "../../pipeline/compare.ts";
import { acquireGpu, closeGpu, type Gpu } from "../../pipeline/run/webgpu/device.ts";

/** The process's GPU, or undefined (the caller skips with a printed reason). */
export const gpu: Gpu | undefined = await acquireGpu();

// `deno test` runs each test file in its own isolate: destroy this file's device before the
// isolate is torn down, since tearing down a live device with its thread can crash drivers.
globalThis.addEventListener("unload", () => closeGpu());

/** Test options for GPU tests: skipped without an adapter; GPU handles outlive one test. */
export function gpuTest(name: string, fn: () => Promise<void>): void {
  if (!gpu) console.log(`skip ${name}: no WebGPU adapter`);
  Deno.test({
    name,
    ignore: !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

const enc = new TextEncoder();

/** An attribute value: `{ f }`, `{ i }`, `{ s }`, `{ floats }`, `{ ints }`. */
export type AttrValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: number[] }
  | { ints: number[] };

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
  if ("f" in v) return { ...base, type: "FLOAT", f: v.f };
  if ("i" in v) return { ...base, type: "INT", i: BigInt(v.i) };
  if ("s" in v) return { ...base, type: "STRING", s: enc.encode(v.s) };
  if ("floats" in v) return { ...base, type: "FLOATS", floats: v.floats };
  return { ...base, type: "INTS", ints: v.ints.map(BigInt) };
}

/** One node of a test graph. */
export interface NodeSpec {
  /** Op type. */
  op: string;
  /** Input names ("" for omitted). */
  inputs: string[];
  /** Output names. */
  outputs: string[];
  /** Attributes. */
  attrs?: Record<string, AttrValue>;
}

/** A test graph: nodes, fed inputs, initializers and outputs. */
export interface GraphSpec {
  /** Nodes in order. */
  nodes: NodeSpec[];
  /** Names of the graph inputs (fed). */
  inputs: { name: string; type: DataType }[];
  /** Initializers. */
  initializers?: Record<string, Tensor>;
  /** Graph outputs. */
  outputs: string[];
  /** Opset (default 22). */
  opset?: number;
}

/** Builds a loaded model from a graph spec. */
export function buildModel(spec: GraphSpec): LoadedModel {
  const nodes: Node[] = spec.nodes.map((n, i) => ({
    input: n.inputs,
    output: n.outputs,
    name: `${n.op.toLowerCase()}_${i}`,
    opType: n.op,
    domain: "",
    overload: "",
    attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
  }));
  const graph: Graph = {
    node: nodes,
    name: "g",
    initializer: Object.entries(spec.initializers ?? {}).map(([name, t]) => tensorToProto(t, name)),
    sparseInitializer: [],
    docString: "",
    input: spec.inputs.map((i) => ({
      name: i.name,
      type: { tensorType: { elemType: dataTypeCode(i.type) } },
      docString: "",
      metadataProps: [],
    })),
    output: spec.outputs.map((name) => ({ name, docString: "", metadataProps: [] })),
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
  const model: Model = {
    irVersion: 10,
    opsetImport: [{ domain: "", version: spec.opset ?? 22 }],
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
  return {
    model,
    source: "<test>",
    byteLength: 0,
    external: {
      read: () => {
        throw new Error("no external data");
      },
    },
  };
}

/** A one-node model whose inputs are all fed, named x0, x1...; outputs y0, y1... */
export function nodeModel(
  op: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, AttrValue> = {},
  options: { opset?: number; outputs?: number } = {},
): { model: LoadedModel; feeds: Record<string, Tensor> } {
  const names = inputs.map((t, i) => (t ? `x${i}` : ""));
  const outs = Array.from({ length: options.outputs ?? 1 }, (_, i) => `y${i}`);
  const feeds: Record<string, Tensor> = {};
  inputs.forEach((t, i) => {
    if (t) feeds[`x${i}`] = t;
  });
  const model = buildModel({
    nodes: [{ op, inputs: names, outputs: outs, attrs }],
    inputs: inputs.flatMap((t, i) => (t ? [{ name: `x${i}`, type: t.type }] : [])),
    outputs: outs,
    opset: options.opset,
  });
  return { model, feeds };
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random tensor: floats in [lo, hi), integers in [lo, hi], bools half true. */
export function random(
  type: DataType,
  dims: number[],
  seed: number,
  range: [number, number] = [-2, 2],
): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const [lo, hi] = range;
  switch (type) {
    case "float32":
      return new Tensor(type, Float32Array.from({ length: n }, () => lo + (hi - lo) * r()), dims);
    case "int32":
      return new Tensor(
        type,
        Int32Array.from({ length: n }, () => Math.floor(lo + (hi - lo + 1) * r())),
        dims,
      );
    case "uint32":
      return new Tensor(
        type,
        Uint32Array.from(
          { length: n },
          () => Math.floor(Math.max(0, lo) + (hi - Math.max(0, lo) + 1) * r()),
        ),
        dims,
      );
    case "bool":
      return new Tensor(type, Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), dims);
    default:
      throw new Error(`random: unsupported type ${type}`);
  }
}

/** Float32 values with NaN, ±Infinity, ±0 and ±large mixed in at fixed places. */
export function withSpecials(t: Tensor): Tensor {
  const d = Float32Array.from(t.data as Float32Array);
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30, 1e-30];
  for (let i = 0; i < specials.length && i * 7 < d.length; i++) d[i * 7] = specials[i];
  return new Tensor("float32", d, t.dims);
}

/** Options of {@link compareBackends}. */
export interface CompareOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** GPU nodes expected in the run (default: every node). */
  gpuNodes?: number;
  /** Extra session options for the GPU session. */
  session?: SessionOptions;
}

/**
 * Runs the model on the CPU and with `backend: "webgpu"`, checks the GPU ran the expected
 * number of nodes, and compares every output (NaN equals NaN). Returns the GPU session's
 * outputs and stats.
 */
export async function compareBackends(
  loaded: LoadedModel,
  feeds: Record<string, Tensor>,
  options: CompareOptions = {},
): Promise<{ gpuSession: InferenceSession; outputs: Record<string, Tensor> }> {
  const cpu = await InferenceSession.create(loaded, { backend: "cpu" });
  const expected = await cpu.run(feeds);
  const g = await InferenceSession.create(loaded, { ...options.session, backend: "webgpu" });
  const actual = await g.run(feeds);
  const stats = g.lastRunStats!;
  const want = options.gpuNodes ?? loaded.model.graph!.node.length;
  if (stats.nodes.webgpu !== want) {
    const why = stats.placement.filter((p) => p.backend === "cpu").map((p) =>
      `${p.node}: ${p.reason}`
    );
    throw new Error(`expected ${want} GPU node(s), got ${stats.nodes.webgpu} (${why.join("; ")})`);
  }
  const outputs: Record<string, Tensor> = {};
  for (const name of cpu.outputNames) {
    const a = actual[name] as Tensor, e = expected[name] as Tensor;
    if (a.location !== "cpu") {
      outputs[name] = a;
      continue;
    }
    const r = allclose(a, e, { rtol: options.rtol ?? 1e-5, atol: options.atol ?? 1e-6 });
    if (!r.ok) throw new Error(`output "${name}": ${r.message}`);
    outputs[name] = a;
  }
  return { gpuSession: g, outputs };
}
