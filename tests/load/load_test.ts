import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, ModelFormatError } from "../../pipeline/errors.ts";
import type { Model, TensorProto } from "../../pipeline/load/ir.ts";
import { makeGraph, makeNode } from "../../pipeline/load/build.ts";
import {
  collectTensorProtos,
  loadModel,
  saveModel,
  serializeModel,
} from "../../pipeline/load/load.ts";
import { decodeModel, emptyTensorProto, encodeModel } from "../../pipeline/load/proto.ts";
import { tensorFromProto, tensorToProto } from "../../pipeline/load/tensor_proto.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { attr, floatInfo, model } from "./_shared.ts";

/** A small model with a large float initializer, a small one, a string one and a Constant. */
function sampleModel(): Model {
  const w = new Tensor("float32", Float32Array.from({ length: 3000 }, (_, i) => i * 0.5 - 7), [
    30,
    100,
  ]);
  const big64 = new Tensor(
    "int64",
    BigInt64Array.from({ length: 600 }, (_, i) => BigInt(i) << 40n),
    [600],
  );
  const int4 = new Tensor("int4", Int8Array.from({ length: 5001 }, (_, i) => (i % 16) - 8), [5001]);
  return model(
    makeGraph({
      node: [
        makeNode("Constant", [], ["c"], [
          attr("value", {
            type: "TENSOR",
            t: tensorToProto(new Tensor("float32", [1, 2], [2]), "c"),
          }),
        ]),
        makeNode("MatMul", ["x", "W"], ["y"]),
      ],
      initializer: [
        tensorToProto(w, "W"),
        { ...emptyTensorProto(1, [3], "small"), floatData: [1, 2, 3] },
        tensorToProto(new Tensor("string", ["a", "bb"], [2]), "names"),
        tensorToProto(big64, "big64"),
        tensorToProto(int4, "packed4"),
        {
          ...emptyTensorProto(1, [2000], "typed"),
          floatData: Array.from({ length: 2000 }, (_, i) => i),
        },
      ],
      input: [floatInfo("x", [1, 30])],
      output: [floatInfo("y", [1, 100])],
    }),
  );
}

function values(tp: TensorProto, external?: Parameters<typeof tensorFromProto>[1]): unknown[] {
  return Array.from(tensorFromProto(tp, external).data as ArrayLike<unknown>);
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("loadModel reads bytes, paths, file: URLs and http:// URLs alike", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = sampleModel();
    const path = join(dir, "model.onnx");
    await saveModel(m, path);
    const bytes = await Deno.readFile(path);
    const expected = decodeModel(bytes);
    deepStrictEqual(expected, m, "saving and reading back gives the same IR");

    const fromBytes = await loadModel(bytes);
    deepStrictEqual(fromBytes.model, expected);
    equal(fromBytes.source, "<bytes>");
    equal(fromBytes.byteLength, bytes.length);

    const fromPath = await loadModel(path);
    deepStrictEqual(fromPath.model, expected);
    equal(fromPath.source, path);
    equal(fromPath.baseDir, dir);

    const url = pathToFileURL(path);
    deepStrictEqual((await loadModel(url)).model, expected);
    deepStrictEqual((await loadModel(url.href)).model, expected);

    const server = serveDir(dir);
    try {
      const httpUrl = `http://127.0.0.1:${server.addr.port}/model.onnx`;
      const fromHttp = await loadModel(httpUrl);
      deepStrictEqual(fromHttp.model, expected);
      equal(fromHttp.source, httpUrl);
      equal(fromHttp.byteLength, bytes.length);
      await rejects(
        loadModel(`http://127.0.0.1:${server.addr.port}/missing.onnx`),
        (e: unknown) => e instanceof ModelFormatError && /HTTP 404/.test(e.message),
      );
    } finally {
      await server.shutdown();
    }
    await rejects(loadModel(join(dir, "nope.onnx")), (e: unknown) => {
      ok(e instanceof ModelFormatError && /not found/.test(e.message), String(e));
      return true;
    });
    await rejects(loadModel(new Uint8Array([0x3a, 0x7f])), ModelFormatError);
    const aborted = new AbortController();
    aborted.abort();
    await rejects(
      loadModel(path, { signal: aborted.signal }),
      (e: unknown) => (e as Error).name === "AbortError",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Serves the files of a folder over loopback HTTP. */
function serveDir(dir: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
    if (name.includes("..") || name.includes("/")) return new Response("no", { status: 403 });
    try {
      return new Response(await Deno.readFile(join(dir, name)));
    } catch {
      return new Response("missing", { status: 404 });
    }
  });
}

Deno.test("saving with external data writes one aligned file and loads back equal", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = sampleModel();
    const path = join(dir, "ext.onnx");
    await saveModel(m, path, { externalData: { location: "weights.bin", threshold: 1024 } });
    deepStrictEqual(listing(dir), ["ext.onnx", "weights.bin"]);
    const inline = encodeModel(m).length;
    const stored = (await Deno.stat(path)).size;
    ok(stored < inline - 27000, `model file ${stored} bytes, inline ${inline}`);

    const loaded = await loadModel(path);
    const inits = loaded.model.graph!.initializer;
    const byName = new Map(inits.map((t) => [t.name, t]));
    for (const name of ["W", "big64", "packed4", "typed"]) {
      const t = byName.get(name)!;
      equal(t.dataLocation, 1, `${name} is external`);
      equal(t.rawData, undefined);
      const entries = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
      equal(entries.location, "weights.bin");
      equal(Number(entries.offset) % 64, 0, `${name} offset ${entries.offset} is aligned`);
    }
    equal(byName.get("small")!.dataLocation, 0, "small tensors stay inline");
    equal(byName.get("names")!.dataLocation, 0, "string tensors stay inline");
    const original = new Map(m.graph!.initializer.map((t) => [t.name, t]));
    for (const t of inits) {
      deepStrictEqual(values(t, loaded.external), values(original.get(t.name)!), t.name);
    }
    // The W payload is a view into the cached weights file, aligned for Float32Array.
    const w = tensorFromProto(byName.get("W")!, loaded.external);
    equal((w.data as Float32Array)[3], -5.5);

    // Relative to an http:// model URL as well.
    const server = serveDir(dir);
    try {
      const viaHttp = await loadModel(`http://127.0.0.1:${server.addr.port}/ext.onnx`);
      const wHttp = viaHttp.model.graph!.initializer.find((t) => t.name === "W")!;
      deepStrictEqual(values(wHttp, viaHttp.external), values(original.get("W")!));
    } finally {
      await server.shutdown();
    }

    // From bytes, external data needs a baseDir.
    const bytes = await Deno.readFile(path);
    await rejects(
      loadModel(bytes),
      (e: unknown) => e instanceof ModelFormatError && /baseDir/.test(e.message),
    );
    const withBase = await loadModel(bytes, { baseDir: dir });
    deepStrictEqual(
      values(withBase.model.graph!.initializer[0], withBase.external),
      values(original.get("W")!),
    );

    // Saving again with the reader inlines everything into one self-contained file.
    const single = join(dir, "single.onnx");
    await saveModel(loaded.model, single, { external: loaded.external });
    const reloaded = decodeModel(await Deno.readFile(single));
    deepStrictEqual(reloaded.graph!.initializer.map((t) => t.dataLocation), inits.map(() => 0));
    for (const t of reloaded.graph!.initializer) {
      deepStrictEqual(values(t), values(original.get(t.name)!));
    }
    deepStrictEqual(
      decodeModel(serializeModel(loaded.model, { external: loaded.external })),
      reloaded,
    );
    // The default location is <model file name>.data.
    await saveModel(m, join(dir, "d.onnx"), { externalData: {} });
    ok(listing(dir).includes("d.onnx.data"));
    await rejects(
      saveModel(m, join(dir, "e.onnx"), { externalData: { location: "../up.bin" } }),
      ConfigError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A model whose only initializer keeps 16 bytes (4 floats) in an external file. */
function externalModel(entries: Record<string, string>): Uint8Array<ArrayBuffer> {
  const t: TensorProto = {
    ...emptyTensorProto(1, [4], "w"),
    dataLocation: 1,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  };
  return encodeModel(model(makeGraph({ initializer: [t] })));
}

Deno.test("external data outside the model folder or past the end of its file is refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "model");
    await Deno.mkdir(dir);
    const payload = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    await Deno.writeFile(join(root, "x"), payload);
    await Deno.writeFile(join(root, "outside.bin"), payload);
    await Deno.writeFile(join(dir, "w.bin"), payload);
    await Deno.mkdir(join(dir, "sub"));
    await Deno.symlink(join(root, "outside.bin"), join(dir, "link.bin"));
    await Deno.symlink(join(dir, "w.bin"), join(dir, "inner_link.bin"));

    const cases: [Record<string, string>, RegExp][] = [
      [{ location: "../x" }, /escapes the model folder/],
      [{ location: "sub/../../x" }, /escapes the model folder/],
      [{ location: "..\\x" }, /escapes the model folder/],
      [{ location: "/etc/passwd" }, /absolute location/],
      [{ location: join(root, "x") }, /absolute location/],
      [{ location: "file:///etc/passwd" }, /URL location|absolute/],
      [{ location: "link.bin" }, /outside the model folder \(through a symbolic link\)/],
      [{ location: "w.bin", offset: "8", length: "16" }, /bytes 8\.\.24.*only 16 bytes/],
      [{ location: "w.bin", offset: "20" }, /only 16 bytes/],
      [{ location: "w.bin", offset: "-4" }, /invalid external data offset/],
      [{ location: "w.bin", length: "1e3" }, /invalid external data length/],
      [{ location: "missing.bin" }, /not found/],
      [{ offset: "0" }, /no location/],
      [{ location: "sub" }, /not a file/],
      [{ location: "w.bin", checksum: "0".repeat(40) }, /SHA-1/],
    ];
    const before = listing(dir);
    for (const [entries, pattern] of cases) {
      const path = join(dir, "model.onnx");
      await Deno.writeFile(path, externalModel(entries));
      await rejects(loadModel(path), (e: unknown) => {
        ok(e instanceof ModelFormatError, `${JSON.stringify(entries)}: ${e}`);
        ok(pattern.test(e.message), `${JSON.stringify(entries)}: ${e.message}`);
        equal(e.source, path);
        return true;
      });
    }
    // Locations that stay inside the folder are fine, symlinks within it included.
    const sha1 = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-1", payload)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    for (
      const entries of [
        { location: "w.bin" },
        { location: "sub/../w.bin", offset: "0", length: "16" },
        { location: "./inner_link.bin" },
        { location: "w.bin", checksum: sha1.toUpperCase() },
      ] as Record<string, string>[]
    ) {
      const path = join(dir, "model.onnx");
      await Deno.writeFile(path, externalModel(entries));
      const loaded = await loadModel(path);
      deepStrictEqual(values(loaded.model.graph!.initializer[0], loaded.external), [1, 2, 3, 4]);
    }
    // The same checks apply to models fetched over HTTP.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const p = new URL(req.url).pathname;
      if (p === "/m/model.onnx") return new Response(externalModel({ location: "../x" }));
      return new Response(payload);
    });
    try {
      await rejects(
        loadModel(`http://127.0.0.1:${server.addr.port}/m/model.onnx`),
        (e: unknown) => e instanceof ModelFormatError && /escapes/.test(e.message),
      );
    } finally {
      await server.shutdown();
    }
    deepStrictEqual(listing(dir), [...before, "model.onnx"].sort(), "loading wrote nothing");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("saveModel is atomic: a failed save leaves no partial or temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = sampleModel();
    const path = join(dir, "m.onnx");
    await saveModel(m, path);
    const first = await Deno.readFile(path);
    // Overwriting replaces the file in one step.
    const changed = { ...m, producerName: "second" };
    await saveModel(changed, path);
    equal(decodeModel(await Deno.readFile(path)).producerName, "second");
    deepStrictEqual(listing(dir), ["m.onnx"]);
    // Renaming onto a folder fails after the temporary file was written: it is removed.
    await Deno.mkdir(join(dir, "folder.onnx"));
    await Deno.writeFile(join(dir, "folder.onnx", "keep"), new Uint8Array([1]));
    await rejects(saveModel(m, join(dir, "folder.onnx")));
    deepStrictEqual(listing(dir), ["folder.onnx", "m.onnx"]);
    // Encoding failures happen before anything is written.
    const cyclic = structuredClone(m);
    const g = cyclic.graph!;
    g.node[0].attribute.push({ ...g.node[0].attribute[0], name: "loop", type: "GRAPH", g });
    await rejects(saveModel(cyclic, join(dir, "cyclic.onnx")), ModelFormatError);
    await rejects(saveModel(m, join(dir, "no", "such", "dir.onnx")));
    deepStrictEqual(listing(dir), ["folder.onnx", "m.onnx"]);
    ok(first.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("collectTensorProtos finds initializers, attribute tensors and subgraph tensors", () => {
  const m = sampleModel();
  const inner = makeGraph({
    initializer: [{ ...emptyTensorProto(1, [1], "inner"), floatData: [1] }],
  });
  m.graph!.node.push(
    makeNode("If", ["c"], ["o"], [attr("then_branch", { type: "GRAPH", g: inner })]),
  );
  const names = collectTensorProtos(m).map((t) => t.name).sort();
  deepStrictEqual(names, ["W", "big64", "c", "inner", "names", "packed4", "small", "typed"]);
});
