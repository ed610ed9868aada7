/**
 * The `load` stage: reads the model (and its external data) and describes it.
 *
 * @module
 */

import type { LoadStage, ModelSignature } from "../config.ts";
import type { Model } from "../load/ir.ts";
import { loadModel } from "../load/load.ts";
import { formatValueType, valueTypeFromProto } from "../tensor/value_type.ts";
import { formatBytes, type PipelineState, type StageOutcome } from "./context.ts";

/** Files at least this large show progress while loading. */
const LARGE_MODEL_BYTES = 16 << 20;

/** The inputs to feed (graph inputs that are not initializers) and the outputs, with types. */
export function modelSignature(model: Model): ModelSignature {
  const g = model.graph;
  if (!g) return { inputs: [], outputs: [] };
  const inits = new Set([
    ...g.initializer.map((t) => t.name),
    ...g.sparseInitializer.map((s) => s.values?.name ?? ""),
  ]);
  return {
    inputs: g.input.filter((i) => !inits.has(i.name)).map((i) => ({
      name: i.name,
      type: valueTypeFromProto(i.type),
    })),
    outputs: g.output.map((o) => ({ name: o.name, type: valueTypeFromProto(o.type) })),
  };
}

/** Runs the `load` stage. */
export async function loadStage(state: PipelineState, _stage: LoadStage): Promise<StageOutcome> {
  const ref = state.config.model;
  let size: number | undefined;
  if (ref.kind === "file") {
    try {
      size = (await Deno.stat(ref.source)).size;
    } catch {
      // loadModel reports the problem
    }
  }
  const long = ref.kind === "url" || (size ?? 0) >= LARGE_MODEL_BYTES;
  if (long) {
    state.progress.start(
      `load: ${ref.kind === "url" ? "fetching" : "reading"} ${ref.source}${
        size !== undefined ? ` (${formatBytes(size)})` : ""
      }`,
    );
  }
  let loaded;
  try {
    loaded = await loadModel(ref.source);
  } finally {
    if (long) state.progress.end();
  }
  state.loaded = loaded;
  state.model = loaded.model;
  state.modelVersion++;
  const model = loaded.model;
  const sig = modelSignature(model);
  const g = model.graph;
  const nodes = g?.node.length ?? 0;
  const initializers = (g?.initializer.length ?? 0) + (g?.sparseInitializer.length ?? 0);
  const opsets = Object.fromEntries(
    model.opsetImport.map((o) => [o.domain === "" ? "ai.onnx" : o.domain, o.version]),
  );
  const fmt = (v: { name: string; type?: Parameters<typeof formatValueType>[0] }) =>
    `${v.name}: ${formatValueType(v.type)}`;
  const opsetText = Object.entries(opsets).map(([d, v]) => `${d} ${v}`).join(", ");
  return {
    status: "ok",
    summary: `${formatBytes(loaded.byteLength)}, ${nodes} node${nodes === 1 ? "" : "s"}, opset ${
      opsets["ai.onnx"] ?? "?"
    }`,
    lines: [
      `model ${loaded.source} (${
        formatBytes(loaded.byteLength)
      }, IR ${model.irVersion}, ${opsetText}${
        model.producerName ? `, from ${model.producerName} ${model.producerVersion}`.trimEnd() : ""
      })`,
      `  inputs:  ${sig.inputs.map(fmt).join("; ") || "none"}`,
      `  outputs: ${sig.outputs.map(fmt).join("; ") || "none"}`,
    ],
    details: {
      source: loaded.source,
      bytes: loaded.byteLength,
      irVersion: model.irVersion,
      producer: `${model.producerName} ${model.producerVersion}`.trim(),
      opsets,
      nodes,
      initializers,
      inputs: sig.inputs.map((i) => ({ name: i.name, type: formatValueType(i.type) })),
      outputs: sig.outputs.map((o) => ({ name: o.name, type: formatValueType(o.type) })),
    },
  };
}
