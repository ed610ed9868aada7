/**
 * The WGSL sources: the embedded module and the helper copies are up to date with
 * `shaders/*.wgsl` (run `deno task shaders` when this fails), every file compiles by itself
 * on the adapter at hand, and specialisation only substitutes what it is asked to.
 */

import assert from "node:assert/strict";
import { readShaderFiles, staleness } from "../../pipeline/run/webgpu/build_shaders.ts";
import { buildShader } from "../../pipeline/run/webgpu/shader.ts";
import { SHADER_SOURCES } from "../../pipeline/run/webgpu/shaders_gen.ts";
import { gpu, gpuTest } from "./_harness.ts";

Deno.test("shaders_gen.ts and the helper copies are up to date (deno task shaders)", async () => {
  const s = await staleness();
  assert.deepEqual(s.files, [], `stale helper copies in ${s.files.join(", ")}`);
  assert.equal(s.module, false, "pipeline/run/webgpu/shaders_gen.ts is stale");
  const files = await readShaderFiles();
  assert.deepEqual(Object.keys(SHADER_SOURCES).sort(), files.map((f) => f.name).sort());
});

gpuTest("every shaders/*.wgsl file compiles by itself", async () => {
  const files = await readShaderFiles();
  assert.ok(files.length >= 10);
  for (const f of files) {
    const module = gpu!.device.createShaderModule({ code: f.text, label: f.name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error").map((m) => m.message);
    assert.deepEqual(errors, [], `${f.name}.wgsl: ${errors.join("; ")}`);
  }
});

Deno.test("buildShader substitutes aliases and slots and rejects unknown ones", () => {
  const text = buildShader({
    shader: "elementwise_unary",
    aliases: { X: "i32", XS: "i32", Y: "bool", YS: "u32" },
    slots: { op: "fn op(x: X) -> Y {\n  return x > 0;\n}" },
    helpers: ["log1p_f32", "log1p_f32"],
  });
  assert.match(text, /^alias X = i32;/m);
  assert.match(text, /^alias YS = u32;/m);
  assert.match(text, /return x > 0;/);
  assert.equal(text.match(/fn log1p_f32/g)?.length, 1);
  assert.doesNotMatch(text, /enable f16/);
  assert.match(buildShader({ shader: "matmul", f16: true }), /^enable f16;/);
  assert.throws(() => buildShader({ shader: "nope" }), /Unknown shader "nope"/);
  assert.throws(() => buildShader({ shader: "matmul", aliases: { Q: "f32" } }), /no alias Q/);
  assert.throws(() => buildShader({ shader: "matmul", slots: { op: "" } }), /no slot op/);
  assert.throws(() => buildShader({ shader: "elementwise_unary", helpers: ["zz"] }), /region "zz"/);
});

Deno.test("shader sources keep shapes out of the text: dims are uniforms", () => {
  // Every kernel reads sizes from its uniform struct; no shader declares a dims constant.
  for (const [name, text] of Object.entries(SHADER_SOURCES)) {
    assert.doesNotMatch(text, /override\s+(DIM|SIZE|N|M|K|H|W)\b/, name);
  }
});
