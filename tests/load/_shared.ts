/**
 * Helpers shared by the load and check tests: where the read-only shared data lives, and the
 * suite's model defaults on top of `pipeline/load/build.ts`.
 *
 * @module
 */

import type { Attribute, Graph, Model, ValueInfo } from "../../pipeline/load/ir.ts";
import {
  emptyAttribute,
  makeModel,
  makeValueInfo,
  type ModelOptions,
} from "../../pipeline/load/build.ts";
import { SHARED } from "../_shared_root.ts";

export { SHARED };

/** Root of the shared read-only data. */

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when the shared data is present; prints why tests are skipped otherwise. */
export function sharedPresent(what = `${SHARED}/onnx-backend`): boolean {
  const ok = exists(what);
  if (!ok) console.log(`Skipping tests that need ${what}: it is absent`);
  return ok;
}

/** Every `model.onnx` / `*.onnx` the corpus tests decode, sorted. */
export function corpusModels(): string[] {
  const out: string[] = [];
  const backend = `${SHARED}/onnx-backend`;
  for (const suite of ["node", "simple", "pytorch-converted", "pytorch-operator"]) {
    if (!exists(`${backend}/${suite}`)) continue;
    for (const d of Deno.readDirSync(`${backend}/${suite}`)) {
      const p = `${backend}/${suite}/${d.name}/model.onnx`;
      if (d.isDirectory && exists(p)) out.push(p);
    }
  }
  if (exists(`${backend}/light`)) {
    for (const d of Deno.readDirSync(`${backend}/light`)) {
      if (d.name.endsWith(".onnx")) out.push(`${backend}/light/${d.name}`);
    }
  }
  for (const root of ["models", "pretrained"]) {
    if (!exists(`${SHARED}/${root}`)) continue;
    for (const d of Deno.readDirSync(`${SHARED}/${root}`)) {
      const p = `${SHARED}/${root}/${d.name}/model.onnx`;
      if (d.isDirectory && exists(p)) out.push(p);
    }
  }
  return out.sort();
}

/** An attribute with every field empty and the given fields set (any combination, valid or not). */
export function attr(name: string, fields: Partial<Attribute>): Attribute {
  return { ...emptyAttribute(name), ...fields };
}

/** A float32 tensor value info with a static shape. */
export function floatInfo(name: string, shape: number[]): ValueInfo {
  return makeValueInfo(name, "float32", shape);
}

/** A model around a graph with the suite's defaults: IR 8, ai.onnx opset 17, producer "test". */
export function model(g: Graph | undefined, fields: ModelOptions = {}): Model {
  return makeModel(g, {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "test",
    ...fields,
  });
}

/** Protobuf wire helpers for hand-encoded messages (independent of the schema). */
export const wire = {
  /** A varint. */
  varint(v: number | bigint): number[] {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
    return out;
  },
  /** A varint field. */
  int(field: number, v: number | bigint): number[] {
    return [...wire.varint(field * 8), ...wire.varint(v)];
  },
  /** A length-delimited field. */
  bytes(field: number, payload: ArrayLike<number>): number[] {
    return [...wire.varint(field * 8 + 2), ...wire.varint(payload.length), ...Array.from(payload)];
  },
  /** A string field. */
  str(field: number, s: string): number[] {
    return wire.bytes(field, new TextEncoder().encode(s));
  },
  /** A fixed32 float field. */
  float(field: number, v: number): number[] {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [...wire.varint(field * 8 + 5), ...b];
  },
};
