/**
 * Helpers for the pipeline tests: small models built from the IR, a temporary folder holding
 * the example CNN with its input and reference, and a captured in-process runner.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  Attribute,
  Graph,
  Model,
  Node,
  TensorProto,
  ValueInfo,
} from "../../pipeline/load/ir.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { parsePipeline, type PipelineConfig } from "../../pipeline/config.ts";
import { type RunnerOptions, runPipeline } from "../../pipeline/runner.ts";
import type { PipelineReport } from "../../pipeline/stages/report.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The example CNN and its committed input and reference. */
export const EXAMPLE = {
  model: join(ROOT, "examples/models/tiny_cnn.onnx"),
  input: join(ROOT, "examples/data/tiny_cnn/input.npy"),
  expected: join(ROOT, "examples/data/tiny_cnn/expected_logits.npy"),
};

/** True when a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** An attribute of type INT or INTS. */
export function intsAttr(name: string, values: number[] | number): Attribute {
  const list = typeof values === "number" ? [] : values.map(BigInt);
  return {
    name,
    refAttrName: "",
    docString: "",
    type: typeof values === "number" ? "INT" : "INTS",
    f: 0,
    i: typeof values === "number" ? BigInt(values) : 0n,
    s: new Uint8Array(0),
    floats: [],
    ints: list,
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
  };
}

/** A GRAPH attribute. */
export function graphAttr(name: string, g: Graph): Attribute {
  return { ...intsAttr(name, []), type: "GRAPH", g };
}

/** A node of the default domain. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  options: { name?: string; attrs?: Attribute[]; domain?: string } = {},
): Node {
  return {
    input,
    output,
    name: options.name ?? "",
    opType,
    domain: options.domain ?? "",
    overload: "",
    attribute: options.attrs ?? [],
    docString: "",
    metadataProps: [],
    deviceConfigurations: [],
  };
}

/** A float32 value info with a shape (numbers and symbols). */
export function floatInfo(name: string, shape?: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: shape?.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
      },
    },
    docString: "",
    metadataProps: [],
  };
}

/** A float32 initializer. */
export function floatInit(name: string, values: number[], dims: number[]): TensorProto {
  return tensorToProto(new Tensor("float32", Float32Array.from(values), dims), name);
}

/** A graph from parts. */
export function graph(parts: {
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: TensorProto[];
  valueInfo?: ValueInfo[];
  name?: string;
}): Graph {
  return {
    node: parts.nodes,
    name: parts.name ?? "g",
    initializer: parts.initializers ?? [],
    sparseInitializer: [],
    docString: "",
    input: parts.inputs,
    output: parts.outputs,
    valueInfo: parts.valueInfo ?? [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
}

/** A model of opset `opset` (default 13) around a graph. */
export function model(g: Graph, opset = 13): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "pipeline-test",
    producerVersion: "",
    domain: "",
    modelVersion: 0n,
    docString: "",
    graph: g,
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
  };
}

/** A temporary folder with the example model (m.onnx), input (x.npy) and reference (y.npy). */
export async function exampleDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pipeline_test_" });
  await Deno.copyFile(EXAMPLE.model, join(dir, "m.onnx"));
  await Deno.copyFile(EXAMPLE.input, join(dir, "x.npy"));
  await Deno.copyFile(EXAMPLE.expected, join(dir, "y.npy"));
  return dir;
}

/** Writes a model file into `dir`. */
export async function writeModel(dir: string, name: string, m: Model): Promise<string> {
  const path = join(dir, name);
  await Deno.writeFile(path, encodeModel(m));
  return path;
}

/** Writes `text` as `p.yaml` in `dir` and validates it. */
export function parseIn(dir: string, text: string, name = "p.yaml"): PipelineConfig {
  const file = join(dir, name);
  Deno.writeTextFileSync(file, text);
  return parsePipeline(text, { file });
}

/** Runs a pipeline in-process, capturing stdout lines and stderr text. */
export async function runCaptured(
  config: PipelineConfig,
  options: RunnerOptions = {},
): Promise<{ report: PipelineReport; stdout: string[]; stderr: string }> {
  const stdout: string[] = [];
  let stderr = "";
  const report = await runPipeline(config, {
    tty: false,
    ...options,
    stdout: (l) => stdout.push(l),
    stderr: (t) => void (stderr += t),
  });
  return { report, stdout, stderr };
}

/** Lists the files under a folder (relative names, sorted), or [] when it does not exist. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  if (exists(dir)) walk(dir, "");
  return out.sort();
}
