/**
 * The library entry point: importing it has no side effects, and it works when imported from
 * an http URL (served here by a loopback server), as users of `<url>/mod.ts` do.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

async function deno(args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("mod.ts: importing it needs no permission (no file, network, env or GPU access)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/import.ts`;
    await Deno.writeTextFile(
      script,
      `import * as m from ${JSON.stringify(new URL("mod.ts", root).href)};\n` +
        `console.log("exports", Object.keys(m).length);\n`,
    );
    const r = await deno(["run", "--no-prompt", "--quiet", script]);
    assert.equal(r.code, 0, r.out);
    const n = Number(/exports (\d+)/.exec(r.out)?.[1]);
    assert.ok(n > 40, r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "mod.ts: imported from an http URL, it loads and runs a model served over http",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      async (req) => {
        const path = decodeURIComponent(new URL(req.url).pathname);
        if (path.includes("..")) return new Response("bad path", { status: 400 });
        try {
          const body = await Deno.readFile(new URL(`.${path}`, root));
          const type = path.endsWith(".ts")
            ? "application/typescript"
            : path.endsWith(".json")
            ? "application/json"
            : "application/octet-stream";
          return new Response(body, { headers: { "content-type": type } });
        } catch {
          return new Response("not found", { status: 404 });
        }
      },
    );
    const host = `127.0.0.1:${server.addr.port}`;
    const dir = await Deno.makeTempDir();
    try {
      const script = `${dir}/remote.ts`;
      await Deno.writeTextFile(
        script,
        `const m = await import("http://${host}/mod.ts");
// Shaders are embedded in modules, so the WebGPU backend also works from an http import.
const backend = (await navigator.gpu?.requestAdapter()) ? "webgpu" : "cpu";
const s = await m.InferenceSession.create("http://${host}/examples/models/tiny_cnn.onnx", { backend });
const x = new m.Tensor("float32", new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]);
const out = await s.run({ [s.inputNames[0]]: x });
const y = out[s.outputNames[0]];
console.log("dims", JSON.stringify(y.dims), "finite", Array.from(y.data).every(Number.isFinite));
console.log("backend", backend, "gpu nodes", s.lastRunStats?.nodes.webgpu ?? 0);
`,
      );
      const r = await deno([
        "run",
        "--no-prompt",
        "--quiet",
        "--reload=http://" + host,
        `--allow-import=${host}`,
        `--allow-net=${host}`,
        script,
      ]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /dims \[1,10\] finite true/);
      const gpu = /backend webgpu gpu nodes (\d+)/.exec(r.out);
      if (gpu) assert.ok(Number(gpu[1]) > 0, r.out);
      console.log(r.out.trim());
    } finally {
      ac.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
