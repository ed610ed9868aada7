/**
 * The operator registry: resolves (domain, op type, model opset) to the declaration that
 * implements the newest schema version ≤ the opset.
 *
 * @module
 */

import type { OpDef } from "./types.ts";
import { ALL_OPS } from "./all.ts";
import { schemaVersions } from "./schema/mod.ts";

/** Canonical domain name: "" for ai.onnx. */
export function normalizeDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

function key(domain: string, opType: string): string {
  return `${normalizeDomain(domain)}::${opType}`;
}

let table: Map<string, OpDef[]> | undefined;

function defsTable(): Map<string, OpDef[]> {
  if (!table) {
    table = new Map();
    for (const def of ALL_OPS) {
      const k = key(def.domain, def.opType);
      const list = table.get(k) ?? [];
      list.push(def);
      table.set(k, list);
    }
  }
  return table;
}

/** The outcome of resolving an op: the declaration and the schema version it serves. */
export interface Resolved {
  /** The declaration. */
  def: OpDef;
  /** The schema since-version that applies to the model's opset. */
  version: number;
}

/** Why an op could not be resolved. */
export interface Unresolved {
  /** Human-readable reason, e.g. `Foo is not an operator of domain ai.onnx`. */
  reason: string;
  /** The schema version that applies, when the op exists but this version is not implemented. */
  version?: number;
}

/** Resolves an op for a model opset; returns the reason when it is not available. */
export function resolveOp(domain: string, opType: string, opset: number): Resolved | Unresolved {
  const d = normalizeDomain(domain);
  const defs = defsTable().get(key(d, opType)) ?? [];
  const schemaVers = schemaVersions(d, opType);
  const dname = d === "" ? "ai.onnx" : d;
  let version: number | undefined;
  if (schemaVers.length > 0) {
    for (const v of schemaVers) if (v <= opset) version = v;
    if (version === undefined) {
      return {
        reason: `${opType} does not exist in ${dname} opset ${opset} (first version ${
          schemaVers[0]
        })`,
      };
    }
  } else {
    for (const def of defs) {
      if (def.allVersions) version = opset;
      for (const v of def.versions) if (v <= opset) version = Math.max(version ?? v, v);
    }
    if (version === undefined) {
      return {
        reason: defs.length
          ? `${opType} is not available in ${dname} opset ${opset}`
          : `${opType} is not an operator this runtime knows in domain ${dname}`,
      };
    }
  }
  const def = defs.find((x) => x.allVersions || x.versions.includes(version!));
  if (!def) {
    const have = defs.flatMap((x) => x.versions);
    return {
      version,
      reason: defs.length
        ? `${opType}-${version} (${dname} opset ${opset}) is not implemented; implemented versions: ${
          have.join(", ")
        }`
        : `${opType} (${dname}) is not implemented`,
    };
  }
  return { def, version };
}

/** Every registered declaration. */
export function registeredOps(): readonly OpDef[] {
  return ALL_OPS;
}

/** True when some declaration exists for the op (at any version). */
export function hasKernel(domain: string, opType: string): boolean {
  return defsTable().has(key(domain, opType));
}
