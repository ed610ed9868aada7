/**
 * Specialises a WGSL source from `shaders/` in the three ways the design allows: element
 * type aliases (`alias T = f32;` lines), the `//#slot NAME` blocks some families expose
 * (an elementwise op's expression, the math helpers it needs) and, at pipeline creation,
 * `override` constants. Dims never enter the text.
 *
 * @module
 */

import { SHADER_REGIONS, SHADER_SOURCES } from "./shaders_gen.ts";

/** What to build from a shader file. */
export interface ShaderSpec {
  /** File name under `shaders/` without `.wgsl`. */
  shader: string;
  /** Replacement types of `alias NAME = ...;` declarations, e.g. `{ T: "i32" }`. */
  aliases?: Readonly<Record<string, string>>;
  /** Replacement bodies of `//#slot NAME` blocks. */
  slots?: Readonly<Record<string, string>>;
  /** Helper regions (from math.wgsl or common.wgsl) to put into the `helpers` slot, in order. */
  helpers?: readonly string[];
  /** Prepend `enable f16;` (the device must have the shader-f16 feature). */
  f16?: boolean;
}

const SLOT = /^([ \t]*\/\/#slot[ \t]+(\w+)[ \t]*\n)([\s\S]*?)(^[ \t]*\/\/#end[ \t]*$)/gm;

/** Builds the WGSL text of a spec; throws naming the shader when an alias or slot is unknown. */
export function buildShader(spec: ShaderSpec): string {
  let text = SHADER_SOURCES[spec.shader];
  if (text === undefined) throw new Error(`Unknown shader "${spec.shader}"`);
  for (const [name, type] of Object.entries(spec.aliases ?? {})) {
    const re = new RegExp(`^alias ${name} = [^;]+;`, "m");
    if (!re.test(text)) throw new Error(`Shader "${spec.shader}" declares no alias ${name}`);
    text = text.replace(re, `alias ${name} = ${type};`);
  }
  const slots: Record<string, string> = { ...spec.slots };
  if (spec.helpers?.length) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const h of spec.helpers) {
      if (seen.has(h)) continue;
      seen.add(h);
      const body = SHADER_REGIONS[h];
      if (body === undefined) throw new Error(`Unknown shader helper region "${h}"`);
      parts.push(body.trimEnd());
    }
    slots.helpers = [slots.helpers ?? "", ...parts].filter((s) => s !== "").join("\n\n");
  }
  const filled = new Set<string>();
  text = text.replace(SLOT, (all, head: string, name: string, _old: string, end: string) => {
    const body = slots[name];
    if (body === undefined) return all;
    filled.add(name);
    return `${head}${body.trimEnd()}\n${end}`;
  });
  for (const name of Object.keys(slots)) {
    if (!filled.has(name)) throw new Error(`Shader "${spec.shader}" has no slot ${name}`);
  }
  return spec.f16 ? `enable f16;\n\n${text}` : text;
}

/** A cache key part for a spec: everything that changes the text. */
export function shaderKey(spec: ShaderSpec): string {
  return JSON.stringify([
    spec.shader,
    Object.entries(spec.aliases ?? {}).sort(),
    Object.entries(spec.slots ?? {}).sort(),
    spec.helpers ?? [],
    spec.f16 ?? false,
  ]);
}
