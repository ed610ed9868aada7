/**
 * Progress only goes one way: every ONNX backend test recorded as passing in
 * expectations.json must still pass (run the full suite with `deno task conformance`).
 */

import assert from "node:assert/strict";
import { discover, SUITES } from "./cases.ts";
import { DEFAULT_ROOT, readExpectations, runPool } from "./runner.ts";

let present = false;
try {
  present = (await Deno.stat(`${DEFAULT_ROOT}/manifest.tsv`)).isFile;
} catch {
  console.log(`conformance_test: skipped, no ONNX backend suite at ${DEFAULT_ROOT}`);
}

Deno.test({
  name: "conformance: no test recorded as passing on the CPU regresses",
  ignore: !present,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const expectations = await readExpectations();
    const expected = new Set(expectations.cpu?.pass ?? []);
    assert.ok(expected.size > 0, "expectations.json lists no passing CPU tests");
    const cases = (await discover(DEFAULT_ROOT, [...SUITES])).filter((c) =>
      expected.has(`${c.suite}/${c.name}`)
    );
    assert.equal(cases.length, expected.size, "some expected tests are missing from the suite");
    const jobs = Math.min(2, navigator.hardwareConcurrency || 1);
    const results = await runPool(cases, "cpu", jobs, 300_000, () => {});
    const broken = results.filter((r) => r.status !== "pass");
    for (const r of broken) console.log(`REGRESSION ${r.id}: ${r.status} ${r.message ?? ""}`);
    console.log(`conformance_test: ${results.length - broken.length}/${results.length} still pass`);
    assert.deepEqual(broken.map((r) => r.id), []);
  },
});
