/** The registry resolves a model opset to the newest schema version ≤ it. */

import assert from "node:assert/strict";
import { hasKernel, normalizeDomain, resolveOp } from "../../ops/registry.ts";
import { schemaVersions } from "../../ops/schema/mod.ts";

Deno.test("registry: newest schema version at or below the opset", () => {
  assert.deepEqual(schemaVersions("", "Softmax"), [1, 11, 13]);
  const at = (opset: number) => {
    const r = resolveOp("", "Softmax", opset);
    assert.ok("def" in r, JSON.stringify(r));
    return r.version;
  };
  assert.equal(at(1), 1);
  assert.equal(at(10), 1);
  assert.equal(at(12), 11);
  assert.equal(at(13), 13);
  assert.equal(at(28), 13);
});

Deno.test("registry: ai.onnx aliases the default domain; unknown ops give a reason", () => {
  assert.equal(normalizeDomain("ai.onnx"), "");
  assert.ok("def" in resolveOp("ai.onnx", "Relu", 14));
  const unknown = resolveOp("", "NoSuchOp", 13);
  assert.ok(!("def" in unknown));
  assert.match(unknown.reason, /NoSuchOp/);
  const early = resolveOp("", "Attention", 22);
  assert.ok(!("def" in early));
  assert.match(early.reason, /does not exist in ai\.onnx opset 22 \(first version 23\)/);
  assert.ok(hasKernel("com.microsoft", "FusedConv"));
  assert.ok(hasKernel("ai.onnx.ml", "TreeEnsembleClassifier"));
});

Deno.test("registry: every declared version exists in the schema table", async () => {
  const { registeredOps } = await import("../../ops/registry.ts");
  const problems: string[] = [];
  for (const def of registeredOps()) {
    const known = schemaVersions(def.domain, def.opType);
    if (known.length === 0) continue; // com.microsoft ops have no ONNX schema
    for (const v of def.versions) {
      if (!known.includes(v)) problems.push(`${def.domain || "ai.onnx"}::${def.opType}-${v}`);
    }
  }
  assert.deepEqual(problems, []);
});
