/**
 * Helpers of the passes that rewrite a Conv's constant weights (BatchNormalization, Mul and
 * Add folding).
 *
 * @module
 */

import type { Node } from "../load/ir.ts";
import { makeNode } from "../load/build.ts";
import { Tensor, toNumbers } from "../tensor/tensor.ts";
import { type Constants, type Namer } from "./_rewrite.ts";

/** A Conv's constant weights, as float64 values per output channel. */
export interface ConvWeights {
  /** The weight tensor W [M, C/group, k...]. */
  weight: Tensor;
  /** The bias B [M], when the Conv has one. */
  bias?: Float64Array;
}

/** The constant float weights of a default-domain Conv, or undefined. */
export function convWeights(conv: Node, consts: Constants): ConvWeights | undefined {
  const w = consts.get(conv.input[1]);
  if (!w || (w.type !== "float32" && w.type !== "float64") || w.dims.length < 3) return undefined;
  const M = w.dims[0];
  if (!conv.input[2]) return { weight: w };
  const b = consts.get(conv.input[2]);
  if (!b || b.type !== w.type || b.size !== M || b.dims.length !== 1) return undefined;
  return { weight: w, bias: Float64Array.from(toNumbers(b)) };
}

/** A float constant with one value per channel (shape [M]) or a single value, as float64. */
export function perChannel(t: Tensor | undefined, M: number): Float64Array | undefined {
  if (!t || (t.type !== "float32" && t.type !== "float64")) return undefined;
  const v = toNumbers(t);
  if (t.size === 1) return new Float64Array(M).fill(v[0]);
  if (t.size !== M || t.dims.filter((d) => d !== 1).length !== 1) return undefined;
  return Float64Array.from(v);
}

/**
 * A copy of `conv` writing `output`, with weights W * scale[m] (when `scale` is given) and
 * bias `bias` (when given), stored as new initializers through `add`.
 */
export function withWeights(
  conv: Node,
  w: ConvWeights,
  scale: Float64Array | undefined,
  bias: Float64Array | undefined,
  output: string,
  namer: Namer,
  add: (t: Tensor, name: string) => void,
): Node {
  const inputs = [...conv.input];
  const base = conv.name || output;
  if (scale) {
    const W = w.weight;
    const M = W.dims[0];
    const per = W.size / M;
    const src = toNumbers(W);
    const out = W.type === "float64" ? new Float64Array(W.size) : new Float32Array(W.size);
    for (let m = 0; m < M; m++) {
      for (let i = m * per, e = i + per; i < e; i++) out[i] = src[i] * scale[m];
    }
    const name = namer.fresh(`${base}_W`);
    add(new Tensor(W.type, out, W.dims), name);
    inputs[1] = name;
  }
  if (bias) {
    const data = w.weight.type === "float64" ? Float64Array.from(bias) : Float32Array.from(bias);
    const name = namer.fresh(`${base}_B`);
    add(new Tensor(w.weight.type, data, [bias.length]), name);
    inputs[2] = name;
  }
  return makeNode("Conv", inputs, [output], conv.attribute, {
    name: conv.name,
    domain: conv.domain,
  });
}
