/**
 * `deno task conformance`: runs the ONNX backend test suite and classifies every test as
 * pass, fail (wrong values, shape or dtype), unsupported (an explicit UnsupportedError) or
 * error (anything else). The last line is `conformance: P passed, F failed, U unsupported,
 * E errors`.
 *
 * Flags: --backend cpu|webgpu, --suite a,b (default all five), --filter REGEX, --json FILE,
 * --jobs N (workers; default 2 on the CPU, 1 with WebGPU, as several WebGPU devices in one
 * process crash some drivers), --timeout S (per test, default 120), --check (exit 1 when a
 * test recorded as passing in tests/conformance/expectations.json no longer passes),
 * --update (rewrite the expectations file from this run), --root DIR (suite location),
 * --quiet (only the summary).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Case, type CaseResult, discover, type Suite, SUITES } from "./cases.ts";
import type { Backend } from "../../pipeline/run/session.ts";

/** The expectations file: what passes per backend, and why the rest is unsupported. */
export interface Expectations {
  [backend: string]: { pass: string[]; unsupported: Record<string, string> };
}

const EXPECTATIONS = new URL("./expectations.json", import.meta.url);

/** Default location of the suite: ../shared/onnx-backend next to the repository. */
export const DEFAULT_ROOT = new URL("../../../shared/onnx-backend", import.meta.url).pathname;

/** Runs cases on a pool of workers with a per-case timeout. */
export async function runPool(
  cases: Case[],
  backend: Backend,
  jobs: number,
  timeoutMs: number,
  onResult: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  let next = 0;
  const spawn = () => new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  // Destroys a worker's WebGPU device before terminating it (a live device torn down with
  // its thread can crash the process at exit).
  const close = (w: Worker) =>
    backend === "cpu" ? Promise.resolve() : new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      w.onmessage = () => {
        clearTimeout(timer);
        resolve();
      };
      w.postMessage({ close: true });
    });
  async function lane(): Promise<void> {
    let worker = spawn();
    try {
      while (next < cases.length) {
        const c = cases[next++];
        const r = await new Promise<CaseResult>((resolve) => {
          const timer = setTimeout(() => {
            worker.terminate();
            worker = spawn();
            resolve({
              id: `${c.suite}/${c.name}`,
              status: "error",
              message: `timed out after ${timeoutMs / 1000} s`,
              ms: timeoutMs,
            });
          }, timeoutMs);
          worker.onmessage = (e: MessageEvent<CaseResult>) => {
            clearTimeout(timer);
            resolve(e.data);
          };
          worker.onerror = (e: ErrorEvent) => {
            e.preventDefault();
            clearTimeout(timer);
            worker.terminate();
            worker = spawn();
            resolve({
              id: `${c.suite}/${c.name}`,
              status: "error",
              message: `worker crashed: ${e.message}`,
              ms: 0,
            });
          };
          worker.postMessage({ case: c, backend });
        });
        results.push(r);
        onResult(r);
      }
    } finally {
      await close(worker);
      worker.terminate();
      // Let the worker's GPU threads wind down: exiting at once sometimes segfaults (llvmpipe).
      if (backend !== "cpu") await new Promise((r) => setTimeout(r, 300));
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, lane));
  const order = new Map(cases.map((c, i) => [`${c.suite}/${c.name}`, i]));
  return results.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/** Reads the expectations file (empty when missing). */
export async function readExpectations(): Promise<Expectations> {
  try {
    return JSON.parse(await Deno.readTextFile(EXPECTATIONS));
  } catch {
    return {};
  }
}

function oneLine(s: string | undefined): string {
  return (s ?? "").replace(/\s+/g, " ").slice(0, 300);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string", default: "cpu" },
      suite: { type: "string" },
      filter: { type: "string" },
      json: { type: "string" },
      jobs: { type: "string" },
      timeout: { type: "string", default: "120" },
      check: { type: "boolean", default: false },
      update: { type: "boolean", default: false },
      root: { type: "string", default: DEFAULT_ROOT },
      quiet: { type: "boolean", default: false },
    },
  });
  const backend = values.backend as Backend;
  if (!["cpu", "webgpu", "auto"].includes(backend)) {
    console.error(`Unknown backend "${backend}": use cpu, webgpu or auto`);
    return 2;
  }
  const suites = (values.suite ? values.suite.split(",") : [...SUITES]) as Suite[];
  for (const s of suites) {
    if (!SUITES.includes(s)) {
      console.error(`Unknown suite "${s}": use ${SUITES.join(", ")}`);
      return 2;
    }
  }
  try {
    await Deno.stat(`${values.root}/manifest.tsv`);
  } catch {
    console.error(`No ONNX backend suite at ${values.root} (pass --root DIR)`);
    console.log("conformance: 0 passed, 0 failed, 0 unsupported, 0 errors");
    return values.check ? 0 : 2;
  }
  let cases = await discover(values.root!, suites);
  if (values.filter) {
    const re = new RegExp(values.filter);
    cases = cases.filter((c) => re.test(c.name) || re.test(`${c.suite}/${c.name}`));
  }
  const t0 = performance.now();
  let doneCount = 0;
  const results = await runPool(
    cases,
    backend,
    values.jobs
      ? Number(values.jobs)
      : backend === "cpu"
      ? Math.min(2, navigator.hardwareConcurrency || 1)
      : 1,
    Number(values.timeout) * 1000,
    (r) => {
      doneCount++;
      if (!values.quiet && r.status !== "pass" && r.status !== "unsupported") {
        console.log(`${r.status.toUpperCase()} ${r.id}: ${oneLine(r.message)}`);
      }
      if (!values.quiet && doneCount % 200 === 0) {
        console.error(`... ${doneCount}/${cases.length}`);
      }
    },
  );
  const count = (s: string) => results.filter((r) => r.status === s).length;
  const P = count("pass"), F = count("fail"), U = count("unsupported"), E = count("error");
  const bySuite = new Map<string, number[]>();
  for (const r of results) {
    const s = r.id.split("/")[0];
    const row = bySuite.get(s) ?? [0, 0, 0, 0];
    row[["pass", "fail", "unsupported", "error"].indexOf(r.status)]++;
    bySuite.set(s, row);
  }
  if (!values.quiet) {
    console.log(`\nsuite               pass  fail  unsup  error   (${backend})`);
    for (const [s, [p, f, u, e]] of bySuite) {
      console.log(
        `${s.padEnd(18)} ${String(p).padStart(5)} ${String(f).padStart(5)} ${
          String(u).padStart(6)
        } ${String(e).padStart(6)}`,
      );
    }
    const gpuNodes = results.reduce((n, r) => n + (r.gpuNodes ?? 0), 0);
    console.log(`nodes run on the GPU: ${gpuNodes}`);
    console.log(`time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  let regressions: string[] = [];
  const expectations = await readExpectations();
  if (values.check) {
    const status = new Map(results.map((r) => [r.id, r]));
    const expected = expectations[backend]?.pass ?? [];
    regressions = expected.filter((id) => status.has(id) && status.get(id)!.status !== "pass");
    for (const id of regressions) {
      console.log(
        `REGRESSION ${id}: ${status.get(id)!.status} ${oneLine(status.get(id)!.message)}`,
      );
    }
  }
  if (values.update) {
    const prev = expectations[backend] ?? { pass: [], unsupported: {} };
    const ran = new Set(results.map((r) => r.id));
    const pass = new Set(prev.pass.filter((id) => !ran.has(id)));
    const unsupported: Record<string, string> = {};
    for (const [id, why] of Object.entries(prev.unsupported)) {
      if (!ran.has(id)) unsupported[id] = why;
    }
    for (const r of results) {
      if (r.status === "pass") pass.add(r.id);
      else if (r.status === "unsupported") unsupported[r.id] = oneLine(r.message);
    }
    expectations[backend] = {
      pass: [...pass].sort(),
      unsupported: Object.fromEntries(Object.entries(unsupported).sort()),
    };
    await Deno.writeTextFile(EXPECTATIONS, JSON.stringify(expectations, null, 1) + "\n");
  }
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify(
        { backend, passed: P, failed: F, unsupported: U, errors: E, results },
        null,
        1,
      ),
    );
  }
  console.log(`conformance: ${P} passed, ${F} failed, ${U} unsupported, ${E} errors`);
  if (regressions.length) return 1;
  return F + E > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
