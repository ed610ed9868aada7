/**
 * Helpers for the pipeline tests: the suite's model defaults on top of `pipeline/load/build.ts`
 * (IR 8, opset 13, float32 values and initializers), a temporary folder holding
 * the example CNN with its input and reference, and a captured in-process runner.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Graph, Model, TensorProto, ValueInfo } from "../../pipeline/load/ir.ts";
import { makeModel, makeTensorProto, makeValueInfo } from "../../pipeline/load/build.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
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

/** A float32 value info with a shape (numbers and symbols). */
export function floatInfo(name: string, shape?: (number | string)[]): ValueInfo {
  return makeValueInfo(name, "float32", shape);
}

/** A float32 initializer. */
export function floatInit(name: string, values: number[], dims: number[]): TensorProto {
  return makeTensorProto(new Tensor("float32", Float32Array.from(values), dims), name);
}

/** A model of opset `opset` (default 13) around a graph, at IR version 8. */
export function model(g: Graph, opset = 13): Model {
  return makeModel(g, {
    irVersion: 8,
    opsetImport: { "": opset },
    producerName: "pipeline-test",
  });
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
