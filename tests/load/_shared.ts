/**
 * Helpers shared by the load tests: where the read-only shared data lives, and IR builders.
 *
 * @module
 */

import type { Attribute, Graph, Model, Node, ValueInfo } from "../../pipeline/load/ir.ts";

/** Root of the shared read-only data. */
export const SHARED = "/work/shared";

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when the shared data is present; prints why tests are skipped otherwise. */
export function sharedPresent(what = `${SHARED}/onnx-backend`): boolean {
  const ok = exists(what);
  if (!ok) console.log(`Skipping tests that need ${what}: it is absent`);
  return ok;
}

/** Every `model.onnx` / `*.onnx` the corpus tests decode, sorted. */
export function corpusModels(): string[] {
  const out: string[] = [];
  const backend = `${SHARED}/onnx-backend`;
  for (const suite of ["node", "simple", "pytorch-converted", "pytorch-operator"]) {
    if (!exists(`${backend}/${suite}`)) continue;
    for (const d of Deno.readDirSync(`${backend}/${suite}`)) {
      const p = `${backend}/${suite}/${d.name}/model.onnx`;
      if (d.isDirectory && exists(p)) out.push(p);
    }
  }
  if (exists(`${backend}/light`)) {
    for (const d of Deno.readDirSync(`${backend}/light`)) {
      if (d.name.endsWith(".onnx")) out.push(`${backend}/light/${d.name}`);
    }
  }
  for (const root of ["models", "pretrained"]) {
    if (!exists(`${SHARED}/${root}`)) continue;
    for (const d of Deno.readDirSync(`${SHARED}/${root}`)) {
      const p = `${SHARED}/${root}/${d.name}/model.onnx`;
      if (d.isDirectory && exists(p)) out.push(p);
    }
  }
  return out.sort();
}

/** An attribute with every list empty and the given fields set. */
export function attr(name: string, fields: Partial<Attribute>): Attribute {
  return {
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
    ...fields,
  };
}

/** A node with the given op, inputs and outputs. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  fields: Partial<Node> = {},
): Node {
  return {
    input,
    output,
    name: "",
    opType,
    domain: "",
    overload: "",
    attribute: [],
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
    ...fields,
  };
}

/** A float32 tensor value info with a static shape. */
export function floatInfo(name: string, shape: number[]): ValueInfo {
  return {
    name,
    type: { tensorType: { elemType: 1, shape: shape.map((d) => ({ dimValue: d })) } },
    docString: "",
    metadataProps: [],
  };
}

/** A graph with the given parts. */
export function graph(fields: Partial<Graph>): Graph {
  return {
    node: [],
    name: "g",
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: [],
    output: [],
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
    ...fields,
  };
}

/** A model around a graph, importing ai.onnx opset 17. */
export function model(g: Graph | undefined, fields: Partial<Model> = {}): Model {
  const m: Model = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "test",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    ...fields,
  };
  if (g) m.graph = g;
  return m;
}

/** Protobuf wire helpers for hand-encoded messages (independent of the schema). */
export const wire = {
  /** A varint. */
  varint(v: number | bigint): number[] {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
    return out;
  },
  /** A varint field. */
  int(field: number, v: number | bigint): number[] {
    return [...wire.varint(field * 8), ...wire.varint(v)];
  },
  /** A length-delimited field. */
  bytes(field: number, payload: ArrayLike<number>): number[] {
    return [...wire.varint(field * 8 + 2), ...wire.varint(payload.length), ...Array.from(payload)];
  },
  /** A string field. */
  str(field: number, s: string): number[] {
    return wire.bytes(field, new TextEncoder().encode(s));
  },
  /** A fixed32 float field. */
  float(field: number, v: number): number[] {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [...wire.varint(field * 8 + 5), ...b];
  },
};
