/**
 * Writing a run's outputs to a folder as `.npy`, `.pb` or JSON files, one per output.
 * Every file is encoded before the first is written, so an output that cannot be stored in
 * the chosen format leaves the folder untouched.
 *
 * @module
 */

import { join } from "node:path";
import type { OutputsConfig, PipelineConfig } from "../config.ts";
import { ConfigError, OnnxError } from "../errors.ts";
import { tensorToJson } from "../io/json.ts";
import { writeNpy } from "../io/npy.ts";
import { encodeValueFile } from "../load/tensor_proto.ts";
import { describeValue, Tensor, type Value } from "../tensor/tensor.ts";

/** A file name for an output: unsafe characters become `_`, collisions get a suffix. */
export function outputFileName(name: string, ext: string, taken: Set<string>): string {
  let base = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "output";
  if (base.length > 200) base = base.slice(0, 200);
  let file = `${base}.${ext}`;
  for (let i = 1; taken.has(file.toLowerCase()); i++) file = `${base}_${i}.${ext}`;
  taken.add(file.toLowerCase());
  return file;
}

function encode(value: Value, name: string, format: OutputsConfig["format"]): Uint8Array {
  if (format === "pb") return encodeValueFile(value, name);
  if (!(value instanceof Tensor)) {
    throw new ConfigError(
      `Output "${name}" is ${describeValue(value)}, which only the "pb" format can store`,
    );
  }
  if (format === "npy") return writeNpy(value);
  return new TextEncoder().encode(JSON.stringify(tensorToJson(value)) + "\n");
}

/**
 * Writes the outputs (all, or those `config.names` lists) into `config.dir`, creating it.
 * Returns the paths written. Encoding problems become ConfigErrors at `key`.
 */
export async function writeOutputs(
  outputs: Record<string, Value>,
  order: readonly string[],
  config: OutputsConfig,
  where: { pipeline: PipelineConfig; key: string },
): Promise<string[]> {
  const names = config.names ?? order;
  const taken = new Set<string>();
  const files: { path: string; bytes: Uint8Array }[] = [];
  for (const name of names) {
    const value = outputs[name];
    if (value === undefined) continue;
    let bytes: Uint8Array;
    try {
      bytes = encode(value, name, config.format);
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      throw new ConfigError(e.message, {
        file: where.pipeline.file,
        line: where.pipeline.lines.get(`${where.key}.format`) ??
          where.pipeline.lines.get(where.key),
        path: `${where.key}.format`,
      });
    }
    files.push({ path: join(config.dir, outputFileName(name, config.format, taken)), bytes });
  }
  await Deno.mkdir(config.dir, { recursive: true });
  for (const f of files) await Deno.writeFile(f.path, f.bytes);
  return files.map((f) => f.path);
}
