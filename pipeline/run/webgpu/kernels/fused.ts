/**
 * The fused elementwise kernel: a group of elementwise nodes (see `../fusion.ts`) as one
 * dispatch of `elementwise_fused.wgsl`. Each member becomes a WGSL function made of its
 * {@link ElementwiseForm} (the expression the single-node kernel evaluates, with the same
 * NaN guard, aliases replaced by the member's element types and parameters renumbered into
 * the group's list); `fused` reads every external input once, at its broadcast offset, and
 * calls the members in order, so intermediate values never leave registers.
 *
 * The generated text depends only on the members' op types, attributes that select an
 * expression (Gelu's `approximate`), element types and how many inputs there are: the pipeline
 * cache never sees dims, which travel in the uniforms as in the binary kernel.
 *
 * @module
 */

import { broadcastShapes, broadcastStrides } from "../../../../ops/util.ts";
import type { DataType } from "../../../tensor/dtype.ts";
import { shapeSize, type Tensor } from "../../../tensor/tensor.ts";
import {
  GpuDecline,
  type GpuElem,
  gpuElem,
  type KernelContext,
  storageOf,
  UniformWriter,
} from "../kernel.ts";
import type { GpuInfo } from "../device.ts";
import type { ElementwiseForm } from "./elementwise.ts";
import { MAX_FUSED_INPUTS, MAX_FUSED_PARAMS } from "../fusion.ts";

const WG = 64;

/** Where a member's data argument comes from. */
export type FusedArg = { readonly member: number } | { readonly input: number };

/** One member of a fused group. */
export interface FusedNode {
  /** What the member computes. */
  readonly form: ElementwiseForm;
  /** Its data arguments in order (x; a, b; cond, x, y): an earlier member or an input. */
  readonly args: readonly FusedArg[];
}

/** The element type of each member's result, or why the group cannot be fused. */
function memberTypes(
  nodes: readonly FusedNode[],
  inputs: readonly { type: DataType }[],
  f16: boolean,
): GpuElem[][] | string {
  const results: GpuElem[] = [];
  const out: GpuElem[][] = [];
  for (let m = 0; m < nodes.length; m++) {
    const { form, args } = nodes[m];
    const types: GpuElem[] = [];
    for (let j = 0; j < args.length; j++) {
      const a = args[j];
      let e: GpuElem | undefined;
      if ("member" in a) e = a.member < m ? results[a.member] : undefined;
      else e = inputs[a.input] ? gpuElem(inputs[a.input].type, f16) : undefined;
      if (!e) return `member ${m} reads an unknown value`;
      const cond = form.kind === "where" && j === 0;
      if (cond ? e !== "bool" : e !== "f32" && e !== "f16") {
        return `member ${m} reads ${e}`;
      }
      types.push(e);
    }
    const y = gpuElem(form.outType, f16);
    if (y !== "f32" && y !== "f16") return `member ${m} makes ${form.outType}`;
    if (form.kind === "binary" && types[0] !== types[1]) return `member ${m} mixes types`;
    if (form.kind === "where" && types[1] !== types[2]) return `member ${m} mixes types`;
    results.push(y);
    out.push([...types, y]);
  }
  return out;
}

/**
 * Why a group cannot run as one dispatch on this device (types, input and parameter counts,
 * rank, broadcasting), or true. `inputs` are the external inputs, in binding order.
 */
export function fusedSupport(
  nodes: readonly FusedNode[],
  inputs: readonly { type: DataType; dims: readonly number[] }[],
  info: GpuInfo,
): true | string {
  const maxInputs = Math.min(MAX_FUSED_INPUTS, info.limits.maxStorageBuffersPerShaderStage - 1);
  if (inputs.length > maxInputs) return `${inputs.length} inputs exceed ${maxInputs}`;
  const params = nodes.reduce((n, m) => n + m.form.params.length, 0);
  if (params > MAX_FUSED_PARAMS) return `${params} parameters exceed ${MAX_FUSED_PARAMS}`;
  const types = memberTypes(nodes, inputs, info.features.shaderF16);
  if (typeof types === "string") return types;
  const out = broadcastShapes(...inputs.map((t) => t.dims));
  if (!out) return "shapes cannot be broadcast";
  if (out.length > 8) return `rank ${out.length} is over 8`;
  return true;
}

/** Replaces the aliases of a form's expression by element types and renumbers parameters. */
function specialise(expr: string, aliases: Record<string, string>, base: number): string {
  return expr
    .replace(/\b([XABY])\b/g, (all, name: string) => aliases[name] ?? all)
    .replace(
      /\bp([fiu])\((\d+)\)/g,
      (_all, kind: string, k: string) => `p${kind}(${base + Number(k)}u)`,
    );
}

/** The `bindings` and `body` slots for a group, and the helper regions it needs. */
function generate(
  nodes: readonly FusedNode[],
  inputElems: readonly GpuElem[],
  types: readonly GpuElem[][],
): { bindings: string; body: string; helpers: string[] } {
  const lines: string[] = [];
  inputElems.forEach((e, k) => {
    lines.push(`@group(0) @binding(${k}) var<storage, read> in${k}: array<${storageOf(e)}>;`);
  });
  const n = inputElems.length;
  lines.push(`@group(0) @binding(${n}) var<storage, read_write> y_out: array<YS>;`);
  lines.push(`@group(0) @binding(${n + 1}) var<uniform> u: Uniforms;`);
  const body: string[] = [];
  const helpers: string[] = [];
  let base = 0;
  nodes.forEach(({ form }, m) => {
    const t = types[m];
    const y = t[t.length - 1];
    helpers.push(...form.helpers);
    if (form.kind === "where") {
      body.push(
        `fn n${m}(c: bool, x: ${t[1]}, y: ${t[2]}) -> ${y} {\n  return select(y, x, c);\n}`,
      );
      return;
    }
    const aliases: Record<string, string> = form.kind === "unary"
      ? { X: t[0], Y: y }
      : { A: t[0], B: t[1], Y: y };
    const expr = specialise(form.expr, aliases, base);
    base += form.params.length;
    const args = form.kind === "unary" ? `x: ${t[0]}` : `a: ${t[0]}, b: ${t[1]}`;
    const nan = form.keepNan ? `  if (is_nan(f32(x))) { return ${y}(x); }\n` : "";
    body.push(`fn n${m}(${args}) -> ${y} {\n${nan}  return ${y}(${expr});\n}`);
  });
  const calls: string[] = [];
  inputElems.forEach((e, k) => {
    const read = `in${k}[offset(i, ${k}u)]`;
    calls.push(`  let x${k} = ${e === "bool" ? `${read} != 0u` : `${e}(${read})`};`);
  });
  nodes.forEach(({ args }, m) => {
    const list = args.map((a) => ("member" in a ? `v${a.member}` : `x${a.input}`)).join(", ");
    calls.push(`  let v${m} = n${m}(${list});`);
  });
  calls.push(`  return YS(v${nodes.length - 1});`);
  body.push(`fn fused(i: u32) -> YS {\n${calls.join("\n")}\n}`);
  return { bindings: lines.join("\n"), body: body.join("\n\n"), helpers };
}

/** How an input is read: 1 same shape, 2 one element, 0 strided (as the binary kernel). */
function readMode(dims: readonly number[], out: readonly number[]): number {
  if (dims.length === out.length && dims.every((d, i) => d === out[i])) return 1;
  if (shapeSize(dims) === 1) return 2;
  return 0;
}

/**
 * Encodes a group as one dispatch and returns the root's result, shaped as the inputs
 * broadcast together. `inputs` are the external inputs (GPU tensors) in binding order. Throws
 * {@link GpuDecline} when {@link fusedSupport} refuses the group or the output is too large.
 */
export async function runFused(
  k: KernelContext,
  nodes: readonly FusedNode[],
  inputs: readonly Tensor[],
): Promise<Tensor> {
  const ok = fusedSupport(nodes, inputs, k.info);
  if (ok !== true) throw new GpuDecline(ok);
  const f16 = k.info.features.shaderF16;
  const types = memberTypes(nodes, inputs, f16) as GpuElem[][];
  const inputElems = inputs.map((t) => gpuElem(t.type, f16)!);
  const outDims = broadcastShapes(...inputs.map((t) => t.dims))!;
  const outType = nodes[nodes.length - 1].form.outType;
  const ye = gpuElem(outType, f16)!;
  const y = k.output(outType, outDims);
  const { bindings, body, helpers } = generate(nodes, inputElems, types);
  const pipeline = await k.pipeline({
    shader: "elementwise_fused",
    aliases: { YS: storageOf(ye) },
    slots: { bindings, body },
    helpers,
    f16: types.some((t) => t.includes("f16")),
    constants: { WG, RANK: Math.max(1, outDims.length) },
    reads: inputs.length,
    writes: 1,
    uniforms: true,
  });
  const size = shapeSize(outDims);
  const od = outDims.length ? outDims : [1];
  const params = nodes.flatMap((m) => [...m.form.params]);
  const u = new UniformWriter()
    .u32(size)
    .list8(inputs.map((t) => readMode(t.dims, outDims)))
    .list8(params.slice(0, 8))
    .list8(params.slice(8, 16))
    .list8(params.slice(16, 24))
    .list8(params.slice(24, 32))
    .list8(od);
  for (let i = 0; i < 8; i++) {
    const t = inputs[i];
    u.list8(t && outDims.length ? broadcastStrides(t.dims, outDims) : [0]);
  }
  k.dispatch(pipeline, {
    reads: inputs,
    writes: [y],
    uniforms: u.finish(),
    groups: k.groups1d(size, WG),
  });
  return y;
}
