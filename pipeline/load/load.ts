/**
 * Loading models from paths, `file:`/`http(s):` URLs or bytes, reading external tensor data
 * safely, and saving models (optionally with their large initializers in an external file).
 *
 * External data locations are resolved relative to the model's folder (or URL). A location
 * that is absolute, that climbs out of the folder with `..`, or that reaches outside it
 * through a symbolic link is refused, as is an offset or length past the end of the file
 * (the onnx Python package's CVE-2022-25882 was exactly such a path traversal). Loading never
 * writes to disk; every external file is read once and cached.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, ModelFormatError } from "../errors.ts";
import type { Attribute, Graph, Model, Node, SparseTensorProto, TensorProto } from "./ir.ts";
import { decodeModel, encodeModel } from "./proto.ts";
import { type ExternalDataReader, tensorFromProto, tensorRawBytes } from "./tensor_proto.ts";

export type { ExternalDataReader } from "./tensor_proto.ts";

/** A decoded model with where it came from and access to its external data. */
export interface LoadedModel {
  /** The model IR. */
  model: Model;
  /** The path, URL or "<bytes>" it was loaded from (used in messages). */
  source: string;
  /** Folder (or folder URL) that external data locations are relative to, when known. */
  baseDir?: string;
  /** Size of the model file in bytes. */
  byteLength: number;
  /** Reads tensors whose data lives in external files (already fetched and cached). */
  external: ExternalDataReader;
}

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** Folder that external data is relative to (defaults to the model's own folder). */
  baseDir?: string;
  /** Aborts reading or fetching. */
  signal?: AbortSignal;
}

/** Options of {@link saveModel}. */
export interface SaveOptions {
  /**
   * Moves initializers larger than `threshold` bytes (default 1024) into one file named
   * `location` (default `<model file name>.data`) next to the model, at aligned offsets.
   */
  externalData?: { location?: string; threshold?: number };
  /**
   * Reader for tensors the model already keeps in external files. With it, their data is
   * inlined (or moved into the new external file); without it, their references are
   * written unchanged.
   */
  external?: ExternalDataReader;
}

// ---------------------------------------------------------------------------------------
// Walking every TensorProto of a model

function visitSparse(sp: SparseTensorProto, fn: (tp: TensorProto) => void): void {
  if (sp.values) fn(sp.values);
  if (sp.indices) fn(sp.indices);
}

function visitAttribute(a: Attribute, fn: (tp: TensorProto) => void): void {
  if (a.t) fn(a.t);
  for (const t of a.tensors) fn(t);
  if (a.sparseTensor) visitSparse(a.sparseTensor, fn);
  for (const s of a.sparseTensors) visitSparse(s, fn);
  if (a.g) visitGraph(a.g, fn);
  for (const g of a.graphs) visitGraph(g, fn);
}

function visitNodes(nodes: readonly Node[], fn: (tp: TensorProto) => void): void {
  for (const n of nodes) for (const a of n.attribute) visitAttribute(a, fn);
}

function visitGraph(g: Graph, fn: (tp: TensorProto) => void): void {
  for (const t of g.initializer) fn(t);
  for (const s of g.sparseInitializer) visitSparse(s, fn);
  visitNodes(g.node, fn);
}

/**
 * Every TensorProto in a model: initializers, sparse initializers and tensor attributes of
 * the main graph, of every subgraph, of training graphs and of model-local functions.
 */
export function collectTensorProtos(model: Model): TensorProto[] {
  const out: TensorProto[] = [];
  const fn = (tp: TensorProto) => void out.push(tp);
  if (model.graph) visitGraph(model.graph, fn);
  for (const t of model.trainingInfo) {
    if (t.initialization) visitGraph(t.initialization, fn);
    if (t.algorithm) visitGraph(t.algorithm, fn);
  }
  for (const f of model.functions) {
    for (const a of f.attributeProto) visitAttribute(a, fn);
    visitNodes(f.node, fn);
  }
  return out;
}

/** Returns a copy of the model whose TensorProtos went through `fn` (other parts shared). */
function mapModelTensors(
  model: Model,
  fn: (tp: TensorProto, initializer: boolean) => TensorProto,
): Model {
  const sparse = (sp: SparseTensorProto, init: boolean): SparseTensorProto => {
    const out: SparseTensorProto = { ...sp };
    if (sp.values) out.values = fn(sp.values, init);
    if (sp.indices) out.indices = fn(sp.indices, init);
    return out;
  };
  const attribute = (a: Attribute): Attribute => {
    const out: Attribute = {
      ...a,
      tensors: a.tensors.map((t) => fn(t, false)),
      sparseTensors: a.sparseTensors.map((s) => sparse(s, false)),
      graphs: a.graphs.map(graph),
    };
    if (a.t) out.t = fn(a.t, false);
    if (a.sparseTensor) out.sparseTensor = sparse(a.sparseTensor, false);
    if (a.g) out.g = graph(a.g);
    return out;
  };
  const node = (n: Node): Node => ({ ...n, attribute: n.attribute.map(attribute) });
  function graph(g: Graph): Graph {
    return {
      ...g,
      node: g.node.map(node),
      initializer: g.initializer.map((t) => fn(t, true)),
      sparseInitializer: g.sparseInitializer.map((s) => sparse(s, true)),
    };
  }
  const out: Model = {
    ...model,
    trainingInfo: model.trainingInfo.map((t) => {
      const c = { ...t };
      if (t.initialization) c.initialization = graph(t.initialization);
      if (t.algorithm) c.algorithm = graph(t.algorithm);
      return c;
    }),
    functions: model.functions.map((f) => ({
      ...f,
      attributeProto: f.attributeProto.map(attribute),
      node: f.node.map(node),
    })),
  };
  if (model.graph) out.graph = graph(model.graph);
  return out;
}

// ---------------------------------------------------------------------------------------
// External data

/** Parsed `external_data` entries of one tensor. */
interface ExternalInfo {
  location: string;
  segments: string[];
  offset: number;
  length?: number;
  checksum?: string;
}

type Base = { kind: "dir"; dir: string } | { kind: "url"; url: URL };

function tensorLabel(tp: TensorProto): string {
  return tp.name ? `tensor "${tp.name}"` : "an unnamed tensor";
}

/**
 * Splits an external data location into normalized path segments, refusing absolute paths,
 * URLs and `..` segments that climb above the model folder.
 */
function locationSegments(location: string): string[] | string {
  if (location === "") return "has an empty location";
  if (location.includes("\0")) return "has a location containing a NUL character";
  if (
    location.startsWith("/") || location.startsWith("\\") || /^[A-Za-z]:/.test(location) ||
    isAbsolute(location)
  ) {
    return `has an absolute location "${location}"; only paths relative to the model folder are allowed`;
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) {
    return `has a URL location "${location}"; only paths relative to the model folder are allowed`;
  }
  const out: string[] = [];
  for (const seg of location.split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (!out.length) return `has a location "${location}" that escapes the model folder`;
      out.pop();
    } else out.push(seg);
  }
  if (!out.length) return `has a location "${location}" that names no file`;
  return out;
}

function parseByteCount(text: string): number | undefined {
  if (!/^\d+$/.test(text.trim())) return undefined;
  const v = Number(text.trim());
  return Number.isSafeInteger(v) ? v : undefined;
}

async function sha1Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-1", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

class ExternalStore implements ExternalDataReader {
  readonly #files = new Map<string, Uint8Array>();
  readonly #base: Base | undefined;
  readonly #source: string;
  #realBase?: string;

  constructor(base: Base | undefined, source: string) {
    this.#base = base;
    this.#source = source;
  }

  #error(message: string, cause?: unknown): ModelFormatError {
    return new ModelFormatError(`Cannot load model "${this.#source}": ${message}`, {
      source: this.#source,
      cause,
    });
  }

  info(tp: TensorProto): ExternalInfo {
    const who = tensorLabel(tp);
    let location: string | undefined;
    let offset = 0;
    let length: number | undefined;
    let checksum: string | undefined;
    for (const { key, value } of tp.externalData) {
      if (key === "location") location = value;
      else if (key === "offset" || key === "length") {
        const v = parseByteCount(value);
        if (v === undefined) {
          throw this.#error(`${who} has an invalid external data ${key} "${value}"`);
        }
        if (key === "offset") offset = v;
        else length = v;
      } else if (key === "checksum") checksum = value.trim().toLowerCase();
    }
    if (location === undefined) throw this.#error(`${who} has external data but no location`);
    const segments = locationSegments(location);
    if (typeof segments === "string") throw this.#error(`${who} ${segments}`);
    return { location, segments, offset, length, checksum };
  }

  #key(info: ExternalInfo, tp: TensorProto): string {
    const base = this.#base;
    if (!base) {
      throw this.#error(
        `${tensorLabel(tp)} keeps its data in "${info.location}", but the model was loaded ` +
          "from bytes without a baseDir to find it in",
      );
    }
    if (base.kind === "dir") return join(base.dir, ...info.segments);
    const url = new URL(info.segments.map(encodeURIComponent).join("/"), base.url);
    if (url.origin !== base.url.origin || !url.pathname.startsWith(base.url.pathname)) {
      throw this.#error(
        `${tensorLabel(tp)} has a location "${info.location}" outside the model URL`,
      );
    }
    return url.href;
  }

  #checkInside(realBase: string, real: string, info: ExternalInfo, tp: TensorProto): void {
    const rel = relative(realBase, real);
    if (rel === "" || rel.split(/[\\/]/)[0] === ".." || isAbsolute(rel)) {
      throw this.#error(
        `${tensorLabel(tp)} has a location "${info.location}" that resolves outside the model ` +
          "folder (through a symbolic link)",
      );
    }
  }

  #slice(bytes: Uint8Array, info: ExternalInfo, tp: TensorProto): Uint8Array {
    const size = bytes.length;
    const length = info.length ?? size - info.offset;
    if (info.offset > size || length < 0 || info.offset + length > size) {
      throw this.#error(
        `${tensorLabel(tp)} asks for bytes ${info.offset}..${info.offset + length} of ` +
          `"${info.location}", which has only ${size} bytes`,
      );
    }
    return bytes.subarray(info.offset, info.offset + length);
  }

  /** Fetches and checks every external file the tensors refer to. */
  async preload(tensors: readonly TensorProto[], signal?: AbortSignal): Promise<void> {
    const byKey = new Map<string, { info: ExternalInfo; tp: TensorProto }[]>();
    for (const tp of tensors) {
      if (tp.dataLocation !== 1) continue;
      const info = this.info(tp);
      const key = this.#key(info, tp);
      const list = byKey.get(key) ?? [];
      list.push({ info, tp });
      byKey.set(key, list);
    }
    for (const [key, uses] of byKey) {
      signal?.throwIfAborted();
      const { info, tp } = uses[0];
      const bytes = this.#base?.kind === "url"
        ? await this.#fetch(key, info, tp, signal)
        : await this.#readFile(key, info, tp, signal);
      let digest: string | undefined;
      for (const use of uses) {
        this.#slice(bytes, use.info, use.tp);
        if (use.info.checksum) {
          digest ??= await sha1Hex(bytes);
          if (digest !== use.info.checksum) {
            throw this.#error(
              `${tensorLabel(use.tp)}: the SHA-1 of "${use.info.location}" is ${digest}, ` +
                `not ${use.info.checksum}`,
            );
          }
        }
      }
      this.#files.set(key, bytes);
    }
  }

  async #realBaseDir(): Promise<string> {
    if (this.#realBase === undefined) {
      const dir = (this.#base as { dir: string }).dir;
      try {
        this.#realBase = await Deno.realPath(dir);
      } catch (e) {
        throw this.#error(`the external data folder "${dir}" cannot be opened`, e);
      }
    }
    return this.#realBase;
  }

  async #readFile(
    path: string,
    info: ExternalInfo,
    tp: TensorProto,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const realBase = await this.#realBaseDir();
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch (e) {
      throw this.#error(
        `the external data file "${info.location}" of ${tensorLabel(tp)} was not found`,
        e,
      );
    }
    this.#checkInside(realBase, real, info, tp);
    const stat = await Deno.stat(real);
    if (!stat.isFile) throw this.#error(`the external data "${info.location}" is not a file`);
    try {
      return await Deno.readFile(real, { signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw this.#error(`the external data file "${info.location}" cannot be read`, e);
    }
  }

  async #fetch(
    href: string,
    info: ExternalInfo,
    tp: TensorProto,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await fetch(href, { signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw this.#error(`the external data "${info.location}" cannot be fetched`, e);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.#error(
        `the external data "${info.location}" of ${tensorLabel(tp)} gave HTTP ${res.status}`,
      );
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  #readFileSync(path: string, info: ExternalInfo, tp: TensorProto): Uint8Array {
    const dir = (this.#base as { dir: string }).dir;
    let real: string;
    try {
      this.#realBase ??= Deno.realPathSync(dir);
      real = Deno.realPathSync(path);
    } catch (e) {
      throw this.#error(
        `the external data file "${info.location}" of ${tensorLabel(tp)} was not found`,
        e,
      );
    }
    this.#checkInside(this.#realBase, real, info, tp);
    if (!Deno.statSync(real).isFile) {
      throw this.#error(`the external data "${info.location}" is not a file`);
    }
    return Deno.readFileSync(real);
  }

  read(tp: TensorProto): Uint8Array {
    const info = this.info(tp);
    const key = this.#key(info, tp);
    let bytes = this.#files.get(key);
    if (!bytes) {
      if (this.#base?.kind !== "dir") {
        throw this.#error(`the external data "${info.location}" was not fetched when loading`);
      }
      bytes = this.#readFileSync(key, info, tp);
      this.#files.set(key, bytes);
    }
    return this.#slice(bytes, info, tp);
  }
}

// ---------------------------------------------------------------------------------------
// Loading

function sourceError(source: string, message: string, cause?: unknown): ModelFormatError {
  return new ModelFormatError(`Cannot load model "${source}": ${message}`, { source, cause });
}

async function readModelFile(path: string, source: string, signal?: AbortSignal) {
  try {
    return await Deno.readFile(path, { signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    if (e instanceof Deno.errors.NotFound) throw sourceError(source, "file not found", e);
    if (e instanceof Deno.errors.IsADirectory) throw sourceError(source, "it is a folder", e);
    throw sourceError(source, `the file cannot be read (${(e as Error).message})`, e);
  }
}

/**
 * Loads a model from a file path, a `file:`/`http:`/`https:` URL, or bytes, and fetches
 * the external data it refers to (relative to the model's folder, or to `baseDir`).
 * Throws ModelFormatError naming the source when anything cannot be read or decoded.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./load.ts";
 * const { model } = await loadModel("model.onnx");
 * console.log(model.graph?.node.length);
 * ```
 */
export async function loadModel(
  source: string | URL | Uint8Array,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const signal = options.signal;
  signal?.throwIfAborted();
  let bytes: Uint8Array;
  let name: string;
  let base: Base | undefined;
  if (source instanceof Uint8Array) {
    bytes = source;
    name = "<bytes>";
  } else {
    let url: URL | undefined;
    if (source instanceof URL) url = source;
    else if (/^(file|https?):/i.test(source)) {
      try {
        url = new URL(source);
      } catch (e) {
        throw sourceError(source, "it is not a valid URL", e);
      }
    }
    name = url ? url.href : (source as string);
    if (!url || url.protocol === "file:") {
      let path: string;
      try {
        path = url ? fileURLToPath(url) : (source as string);
      } catch (e) {
        throw sourceError(name, "it is not a valid file URL", e);
      }
      bytes = await readModelFile(path, name, signal);
      base = { kind: "dir", dir: dirname(resolve(path)) };
    } else if (url.protocol === "http:" || url.protocol === "https:") {
      let res: Response;
      try {
        res = await fetch(url, { signal });
      } catch (e) {
        if (signal?.aborted) throw e;
        throw sourceError(name, `it cannot be fetched (${(e as Error).message})`, e);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw sourceError(name, `HTTP ${res.status} ${res.statusText}`.trim());
      }
      bytes = new Uint8Array(await res.arrayBuffer());
      base = { kind: "url", url: new URL(".", url) };
    } else {
      throw sourceError(name, `the URL scheme ${url.protocol} is not supported`);
    }
  }
  if (options.baseDir !== undefined) base = { kind: "dir", dir: resolve(options.baseDir) };
  const model = decodeModel(bytes, name);
  const external = new ExternalStore(base, name);
  await external.preload(collectTensorProtos(model), signal);
  return {
    model,
    source: name,
    baseDir: base ? (base.kind === "dir" ? base.dir : base.url.href) : undefined,
    byteLength: bytes.byteLength,
    external,
  };
}

// ---------------------------------------------------------------------------------------
// Saving

function withoutPayload(tp: TensorProto): TensorProto {
  const out: TensorProto = {
    ...tp,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    doubleData: [],
    uint64Data: [],
  };
  delete out.rawData;
  return out;
}

/** The raw (little-endian) payload of a non-string tensor, reading external data if needed. */
function payloadOf(tp: TensorProto, external?: ExternalDataReader): Uint8Array {
  if (tp.dataLocation === 1) {
    if (!external) {
      throw new ModelFormatError(`Tensor "${tp.name}" has external data and no reader`);
    }
    return external.read(tp);
  }
  if (tp.rawData !== undefined && tp.rawData.length > 0) return tp.rawData;
  return tensorRawBytes(tensorFromProto(tp));
}

function inlineExternal(tp: TensorProto, external: ExternalDataReader): TensorProto {
  if (tp.dataLocation !== 1) return tp;
  const out = withoutPayload(tp);
  out.rawData = external.read(tp);
  out.externalData = [];
  out.dataLocation = 0;
  return out;
}

/**
 * Serializes a model to ModelProto bytes. With `external`, tensors kept in external files
 * are read and inlined, so the result stands alone.
 */
export function serializeModel(
  model: Model,
  options: { external?: ExternalDataReader } = {},
): Uint8Array<ArrayBuffer> {
  const external = options.external;
  const m = external ? mapModelTensors(model, (tp) => inlineExternal(tp, external)) : model;
  return encodeModel(m);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone
  }
}

/** Alignment of a tensor's offset in the external file (page-aligned when large). */
function alignmentFor(length: number): number {
  return length >= 1 << 20 ? 4096 : 64;
}

/**
 * Saves a model to `path` atomically (a temporary file renamed into place, so a failure
 * leaves no partial file). With `externalData`, initializers larger than the threshold go to
 * one external file next to the model, at aligned offsets, and the model refers to them.
 *
 * @example
 * ```ts ignore
 * import { loadModel, saveModel } from "./load.ts";
 * const { model, external } = await loadModel("in.onnx");
 * await saveModel(model, "out.onnx", { externalData: { threshold: 1024 }, external });
 * ```
 */
export async function saveModel(
  model: Model,
  path: string,
  options: SaveOptions = {},
): Promise<void> {
  const reader = options.external;
  const ext = options.externalData;
  if (!ext) {
    const bytes = serializeModel(model, { external: reader });
    await writeAtomically([{ path, chunks: [bytes] }]);
    return;
  }
  const location = ext.location ?? `${basename(path)}.data`;
  const segments = locationSegments(location);
  if (typeof segments === "string") {
    throw new ConfigError(
      `Invalid external data location "${location}": it must be a relative path inside the ` +
        "model folder",
      { path: "externalData.location" },
    );
  }
  const dataPath = join(dirname(resolve(path)), ...segments);
  if (dataPath === resolve(path)) {
    throw new ConfigError("External data location must differ from the model file name", {
      path: "externalData.location",
    });
  }
  const threshold = ext.threshold ?? 1024;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const moved = mapModelTensors(model, (tp, initializer) => {
    if (tp.dataType === 8 || tp.segment) return reader ? inlineExternal(tp, reader) : tp;
    if (!initializer) return reader ? inlineExternal(tp, reader) : tp;
    if (tp.dataLocation === 1 && !reader) return tp;
    const payload = payloadOf(tp, reader);
    if (payload.length <= threshold) return reader ? inlineExternal(tp, reader) : tp;
    const align = alignmentFor(payload.length);
    const start = Math.ceil(offset / align) * align;
    if (start > offset) chunks.push(new Uint8Array(start - offset));
    chunks.push(payload);
    offset = start + payload.length;
    const out = withoutPayload(tp);
    out.dataLocation = 1;
    out.externalData = [
      { key: "location", value: segments.join("/") },
      { key: "offset", value: String(start) },
      { key: "length", value: String(payload.length) },
    ];
    return out;
  });
  const files: { path: string; chunks: Uint8Array[] }[] = [{ path, chunks: [encodeModel(moved)] }];
  // The data file goes first, so that the model never points at a missing file.
  if (chunks.length) files.unshift({ path: dataPath, chunks });
  await writeAtomically(files);
}

/** Writes every file to a temporary name, then renames them all into place. */
async function writeAtomically(files: { path: string; chunks: Uint8Array[] }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempName(f.path);
      temps.push(tmp);
      const file = await Deno.open(tmp, { write: true, createNew: true });
      try {
        for (const c of f.chunks) await writeAll(file, c);
        await file.sync();
      } finally {
        file.close();
      }
    }
    for (let i = 0; i < files.length; i++) await Deno.rename(temps[i], files[i].path);
  } catch (e) {
    for (const t of temps) await removeQuietly(t);
    throw e;
  }
}
