/**
 * `deno task bench`: runs this runtime and its peers on the same models in one process and
 * prints median times and ratios (ours / peer; below 1 means we are faster).
 *
 * Peers: onnxruntime-node 1.30 (native CPU), onnxruntime-web 1.30 wasm, and onnxruntime-web
 * 1.30 WebGPU (imported as `npm:onnxruntime-web@1.30.0/webgpu`, which does run under Deno), on
 * the same adapter as ours.
 *
 * Flags: --models a,b (folder names under ../shared/models, default all), --runs N (timed
 * runs, default 5), --backends cpu,auto,webgpu (ours, default all three), --peers
 * node,wasm,webgpu (default all), --json FILE.
 *
 * The adapter each WebGPU runner used is printed under the table (ours from the backend's
 * device, onnxruntime-web's from `env.webgpu`); a mismatch is flagged, since ratios across
 * adapters mean nothing.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import type { Backend } from "../../pipeline/run/session.ts";
import { currentGpu } from "../../pipeline/run/webgpu/device.ts";

const MODELS_DIR = new URL("../../../shared/models/", import.meta.url);

/** One measured configuration. */
interface Row {
  model: string;
  runner: string;
  medianMs: number;
  minMs: number;
  runs: number;
  error?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function time(runs: number, warmup: number, f: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

interface OrtLike {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      options?: Record<string, unknown>,
    ): Promise<{
      inputNames: readonly string[];
      run(feeds: Record<string, unknown>): Promise<unknown>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  env?: {
    wasm?: { numThreads?: number };
    logLevel?: string;
    webgpu?: { adapter?: GPUAdapter; device?: Promise<GPUDevice> };
  };
}

async function loadPeer(name: string): Promise<OrtLike> {
  if (name === "node") return await import("npm:onnxruntime-node@1.30.0") as unknown as OrtLike;
  return await import("npm:onnxruntime-web@1.30.0/webgpu") as unknown as OrtLike;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string" },
      runs: { type: "string", default: "5" },
      backends: { type: "string", default: "cpu,auto,webgpu" },
      peers: { type: "string", default: "node,wasm,webgpu" },
      json: { type: "string" },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  let models: string[];
  try {
    models = values.models
      ? values.models.split(",")
      : [...Deno.readDirSync(MODELS_DIR)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    console.log(`bench: skipped, no models at ${MODELS_DIR.pathname}`);
    return;
  }
  const backends = values.backends!.split(",").filter(Boolean) as Backend[];
  const peers = values.peers!.split(",").filter(Boolean);
  const rows: Row[] = [];
  /** Adapter description per WebGPU runner. */
  const adapters = new Map<string, string>();
  const report = (r: Row) => {
    rows.push(r);
    console.error(
      `${r.model.padEnd(14)} ${r.runner.padEnd(16)} ${
        r.error ? `error: ${r.error.slice(0, 120)}` : `${r.medianMs.toFixed(1)} ms`
      }`,
    );
  };
  for (const model of models) {
    const path = new URL(`${model}/model.onnx`, MODELS_DIR);
    const bytes = await Deno.readFile(path);
    const input = decodeValueFile(
      await Deno.readFile(new URL(`${model}/test_data_set_0/input_0.pb`, MODELS_DIR)),
    ) as Tensor;
    for (const backend of backends) {
      try {
        const s = await InferenceSession.create(bytes, { backend });
        const feeds = { [s.inputNames[0]]: input };
        const gpu = currentGpu();
        if (backend === "webgpu" && gpu) adapters.set("ours-webgpu", gpu.info.description);
        const t = await time(runs, 1, () => s.run(feeds));
        report({
          model,
          runner: `ours-${backend}`,
          medianMs: median(t),
          minMs: Math.min(...t),
          runs,
        });
        await s.release();
      } catch (e) {
        report({
          model,
          runner: `ours-${backend}`,
          medianMs: NaN,
          minMs: NaN,
          runs,
          error: `${e}`,
        });
      }
    }
    for (const peer of peers) {
      const runner = peer === "node" ? "ort-node" : `ort-web-${peer}`;
      try {
        const ort = await loadPeer(peer);
        if (ort.env) ort.env.logLevel = "error";
        const ep = peer === "node" ? "cpu" : peer;
        const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
        if (peer === "webgpu") adapters.set(runner, await ortAdapter(ort));
        const x = new ort.Tensor(input.type, input.data, input.dims);
        const feeds = { [s.inputNames[0]]: x };
        // The WebGPU peer on a software adapter is slow: fewer runs keep the bench short.
        const n = peer === "webgpu" ? Math.min(runs, 3) : runs;
        const t = await time(n, 1, () => s.run(feeds));
        report({ model, runner, medianMs: median(t), minMs: Math.min(...t), runs: n });
        await s.release();
      } catch (e) {
        report({ model, runner, medianMs: NaN, minMs: NaN, runs, error: `${e}` });
      }
    }
  }
  // Ratio table: each of our backends against each peer.
  const peerNames = [...new Set(rows.map((r) => r.runner).filter((r) => r.startsWith("ort")))];
  const ourNames = [...new Set(rows.map((r) => r.runner).filter((r) => r.startsWith("ours")))];
  const header = ["model", ...ourNames.map((o) => `${o} ms`), ...peerNames.map((p) => `${p} ms`)];
  const ratioCols: string[] = [];
  for (const o of ourNames) for (const p of peerNames) ratioCols.push(`${o}/${p}`);
  console.log(`| ${[...header, ...ratioCols].join(" | ")} |`);
  console.log(`|${[...header, ...ratioCols].map(() => "---").join("|")}|`);
  for (const model of models) {
    const get = (runner: string) => rows.find((r) => r.model === model && r.runner === runner);
    const ms = (r?: Row) => (r && !r.error ? r.medianMs.toFixed(1) : "n/a");
    const cells = [model, ...ourNames.map((o) => ms(get(o))), ...peerNames.map((p) => ms(get(p)))];
    for (const o of ourNames) {
      for (const p of peerNames) {
        const a = get(o), b = get(p);
        cells.push(a && b && !a.error && !b.error ? (a.medianMs / b.medianMs).toFixed(2) : "n/a");
      }
    }
    console.log(`| ${cells.join(" | ")} |`);
  }
  if (adapters.size) {
    console.log("");
    for (const [runner, a] of adapters) {
      console.log(`${runner} adapter: ${a || "(no description)"}`);
    }
    if (new Set(adapters.values()).size > 1) {
      console.log(
        "WARNING: the WebGPU runners used different adapters; their ratio is not comparable",
      );
    }
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(rows, null, 1));
}

/** The description of the adapter onnxruntime-web's WebGPU backend runs on. */
async function ortAdapter(ort: OrtLike): Promise<string> {
  const webgpu = ort.env?.webgpu;
  try {
    const device = await webgpu?.device;
    const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo } | undefined)
      ?.adapterInfo;
    if (info?.description) return info.description;
  } catch {
    // Fall through to the adapter.
  }
  return webgpu?.adapter?.info?.description ?? "unknown";
}

if (import.meta.main) {
  await main();
  // onnxruntime-node keeps native handles alive; exit explicitly.
  Deno.exit(0);
}
