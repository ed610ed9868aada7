/**
 * Device fallbacks, each in a subprocess: without an adapter a `webgpu` session runs on the
 * CPU after exactly one notice per process; when the device is lost between runs, sessions
 * continue on the CPU with correct results and say so once.
 */

import assert from "node:assert/strict";
import { gpu } from "./_harness.ts";

async function script(mode: string): Promise<{ report: Record<string, unknown>; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_device_script.ts", import.meta.url).pathname, mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return { report: JSON.parse(stdout.trim().split("\n").at(-1)!), stderr };
}

const RELU = [0, 2, 0, 4];

Deno.test("without an adapter, webgpu sessions run on the CPU after one notice", async () => {
  const { report, stderr } = await script("no-adapter");
  assert.deepEqual(report.first, RELU);
  assert.deepEqual(report.other, RELU);
  assert.deepEqual(report.firstNodes, { cpu: 1, webgpu: 0 });
  assert.match(String(report.secondReason), /WebGPU not used/);
  assert.equal(stderr.match(/WebGPU is not available/g)?.length, 1, stderr);
});

if (!gpu) console.log("skip device loss test: no WebGPU adapter");
Deno.test({
  name: "after a device loss, sessions continue on the CPU and say so once",
  ignore: !gpu,
  fn: async () => {
    const { report, stderr } = await script("lost");
    assert.deepEqual(report.firstNodes, { cpu: 0, webgpu: 1 });
    assert.deepEqual(report.first, RELU);
    assert.deepEqual(report.second, RELU);
    assert.deepEqual(report.secondNodes, { cpu: 1, webgpu: 0 });
    assert.equal(report.secondReason, "WebGPU device lost");
    assert.deepEqual(report.other, RELU);
    assert.equal(stderr.match(/WebGPU device lost/g)?.length, 1, stderr);
  },
  sanitizeResources: false,
  sanitizeOps: false,
});
