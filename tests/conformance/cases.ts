/**
 * The ONNX backend test suite as test cases: discovery, inputs, expected outputs, and
 * running one case the way ONNX's runner does (rtol 1e-3, atol 1e-7 unless data.json says
 * otherwise; shapes and dtypes exact; NaN equals NaN).
 *
 * @module
 */

import { loadModel } from "../../pipeline/load/load.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { allclose } from "../../pipeline/compare.ts";
import { Tensor, type Value } from "../../pipeline/tensor/tensor.ts";
import { valueTypeFromProto } from "../../pipeline/tensor/value_type.ts";
import { UnsupportedError } from "../../pipeline/errors.ts";
import type { Backend } from "../../pipeline/run/session.ts";

/** The five suites of the ONNX backend test data. */
export const SUITES = ["node", "simple", "pytorch-converted", "pytorch-operator", "light"] as const;

/** A suite name. */
export type Suite = typeof SUITES[number];

/** One test of the suite. */
export interface Case {
  /** Suite. */
  suite: Suite;
  /** Test name, e.g. `test_abs`. */
  name: string;
  /** Ops the model uses (from manifest.tsv). */
  ops: string[];
  /** Model path. */
  model: string;
  /** Folder with input_K.pb / output_K.pb (absent for light). */
  dataDir?: string;
  /** Expected output file for light models. */
  lightOutput?: string;
  /** Relative tolerance. */
  rtol: number;
  /** Absolute tolerance. */
  atol: number;
}

/** Outcome class of one case. */
export type Status = "pass" | "fail" | "unsupported" | "error";

/** Result of one case. */
export interface CaseResult {
  /** `suite/name`. */
  id: string;
  /** Outcome. */
  status: Status;
  /** Why it did not pass. */
  message?: string;
  /** Wall time in milliseconds. */
  ms: number;
  /** Nodes of the last run that ran on the GPU (0 on the CPU backend). */
  gpuNodes?: number;
}

/** Ops whose outputs are random: only shape, dtype and range are compared. */
const RANDOM_OPS = new Set([
  "Bernoulli",
  "RandomUniform",
  "RandomUniformLike",
  "RandomNormal",
  "RandomNormalLike",
  "Multinomial",
]);

/** Reads manifest.tsv under `root` and returns the cases of the chosen suites. */
export async function discover(root: string, suites: readonly Suite[]): Promise<Case[]> {
  const text = await Deno.readTextFile(`${root}/manifest.tsv`);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0].split("\t");
  const col = (n: string) => header.indexOf(n);
  const cases: Case[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split("\t");
    const suite = f[col("suite")] as Suite;
    if (!suites.includes(suite)) continue;
    const name = f[col("test")];
    const ops = f[col("op_types")].split(",").filter((x) => x);
    if (suite === "light") {
      const net = name.replace(/^light_/, "");
      let rtol = 1e-3, atol = 1e-7;
      try {
        const dj = JSON.parse(await Deno.readTextFile(`${root}/real/test_${net}/data.json`));
        rtol = dj.rtol ?? rtol;
        atol = dj.atol ?? atol;
      } catch { /* defaults */ }
      cases.push({
        suite,
        name,
        ops,
        model: `${root}/light/${name}.onnx`,
        lightOutput: `${root}/light/${name}_output_0.pb`,
        rtol,
        atol,
      });
    } else {
      cases.push({
        suite,
        name,
        ops,
        model: `${root}/${suite}/${name}/model.onnx`,
        dataDir: `${root}/${suite}/${name}/test_data_set_0`,
        rtol: 1e-3,
        atol: 1e-7,
      });
    }
  }
  return cases;
}

function lightInput(dims: number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i / n;
  return new Tensor("float32", data, dims);
}

function rangeCheck(actual: Value, expected: Value): string | undefined {
  if (!(actual instanceof Tensor) || !(expected instanceof Tensor)) return "not a tensor";
  if (actual.type !== expected.type) return `dtype ${actual.type} != expected ${expected.type}`;
  if (actual.dims.join() !== expected.dims.join()) {
    return `shape [${actual.dims}] != expected [${expected.dims}]`;
  }
  return undefined;
}

/** Runs one case; never throws. */
export async function runCase(c: Case, backend: Backend): Promise<CaseResult> {
  const id = `${c.suite}/${c.name}`;
  const t0 = performance.now();
  let gpuNodes = 0;
  const done = (status: Status, message?: string): CaseResult => ({
    id,
    status,
    message,
    ms: Math.round(performance.now() - t0),
    gpuNodes,
  });
  try {
    const loaded = await loadModel(c.model);
    const graph = loaded.model.graph!;
    const session = await InferenceSession.create(loaded, { backend });
    const feeds: Record<string, Value> = {};
    const expected: Value[] = [];
    if (c.lightOutput) {
      const name = session.inputNames[0];
      const vi = graph.input.find((i) => i.name === name)!;
      const t = valueTypeFromProto(vi.type);
      const dims = t?.kind === "tensor" && t.shape
        ? t.shape.map((d) => (typeof d === "number" ? d : 1))
        : [1];
      feeds[name] = lightInput(dims);
      expected.push(decodeValueFile(await Deno.readFile(c.lightOutput)));
    } else {
      for (let k = 0; k < session.inputNames.length; k++) {
        const name = session.inputNames[k];
        const vi = graph.input.find((i) => i.name === name)!;
        const bytes = await Deno.readFile(`${c.dataDir}/input_${k}.pb`);
        feeds[name] = decodeValueFile(bytes, valueTypeFromProto(vi.type));
      }
      for (let k = 0; k < graph.output.length; k++) {
        const bytes = await Deno.readFile(`${c.dataDir}/output_${k}.pb`);
        expected.push(decodeValueFile(bytes, valueTypeFromProto(graph.output[k].type)));
      }
    }
    const out = await session.run(feeds);
    gpuNodes = session.lastRunStats?.nodes.webgpu ?? 0;
    const random = c.ops.some((o) => RANDOM_OPS.has(o));
    const problems: string[] = [];
    graph.output.forEach((o, k) => {
      const a = out[o.name];
      if (random) {
        const p = rangeCheck(a, expected[k]);
        if (p) problems.push(`output ${k} "${o.name}": ${p}`);
        return;
      }
      const r = allclose(a, expected[k], { rtol: c.rtol, atol: c.atol, equalNan: true });
      if (!r.ok) problems.push(`output ${k} "${o.name}": ${r.message}`);
    });
    await session.release();
    return problems.length ? done("fail", problems.join("; ")) : done("pass");
  } catch (e) {
    if (e instanceof UnsupportedError) return done("unsupported", e.message);
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return done("error", msg);
  }
}
