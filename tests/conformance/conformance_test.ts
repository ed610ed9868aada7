/**
 * Progress only goes one way: every ONNX backend test recorded as passing in
 * expectations.json must still pass (run the full suite with `deno task conformance`).
 */

import assert from "node:assert/strict";
import { discover, SUITES } from "./cases.ts";
import { DEFAULT_ROOT, readExpectations, runPool } from "./runner.ts";
import type { Backend } from "../../pipeline/run/session.ts";
import { probeAdapter } from "../../pipeline/run/webgpu/device.ts";

let present = false;
try {
  present = (await Deno.stat(`${DEFAULT_ROOT}/manifest.tsv`)).isFile;
} catch {
  console.log(`conformance_test: skipped, no ONNX backend suite at ${DEFAULT_ROOT}`);
}

async function regressions(backend: Backend, jobs: number): Promise<void> {
  const expectations = await readExpectations();
  const expected = new Set(expectations[backend]?.pass ?? []);
  assert.ok(expected.size > 0, `expectations.json lists no passing ${backend} tests`);
  const cases = (await discover(DEFAULT_ROOT, [...SUITES])).filter((c) =>
    expected.has(`${c.suite}/${c.name}`)
  );
  assert.equal(cases.length, expected.size, "some expected tests are missing from the suite");
  const results = await runPool(cases, backend, jobs, 300_000, () => {});
  const broken = results.filter((r) => r.status !== "pass");
  for (const r of broken) console.log(`REGRESSION ${r.id}: ${r.status} ${r.message ?? ""}`);
  console.log(
    `conformance_test (${backend}): ${results.length - broken.length}/${results.length} still pass`,
  );
  assert.deepEqual(broken.map((r) => r.id), []);
}

Deno.test({
  name: "conformance: no test recorded as passing on the CPU regresses",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => regressions("cpu", Math.min(2, navigator.hardwareConcurrency || 1)),
});

// The WebGPU run needs an adapter (llvmpipe here); it runs in one worker (one device).
const adapter = present ? await probeAdapter() : undefined;
if (present && !adapter) console.log("conformance_test: WebGPU run skipped, no WebGPU adapter");

Deno.test({
  name: "conformance: no test recorded as passing on WebGPU regresses",
  ignore: !present || !adapter,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => regressions("webgpu", 1),
});
