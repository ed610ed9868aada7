/**
 * Typed, memoized attribute access for a node (the `Attributes` of ops/types.ts).
 *
 * @module
 */

import type { Attribute, Graph, Node } from "../load/ir.ts";
import type { Attributes } from "../../ops/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type ValueType, valueTypeFromProto } from "../tensor/value_type.ts";
import {
  type ExternalDataReader,
  sparseTensorFromProto,
  tensorFromProto,
} from "../load/tensor_proto.ts";

import { RuntimeError } from "../errors.ts";

const decoder = new TextDecoder();

function bigToNumber(b: bigint): number {
  return Number(b);
}

/** Attribute accessor over a node's AttributeProtos. */
export class NodeAttributes implements Attributes {
  #byName: Map<string, Attribute>;
  #cache = new Map<string, unknown>();
  #external?: ExternalDataReader;
  #where: string;

  /** Wraps the attributes of `node`; `external` resolves tensors stored outside the model. */
  constructor(node: Pick<Node, "attribute" | "opType" | "name">, external?: ExternalDataReader) {
    this.#byName = new Map(node.attribute.map((a) => [a.name, a]));
    this.#external = external;
    this.#where = `${node.opType} node ${node.name ? `"${node.name}"` : "(unnamed)"}`;
  }

  #get(name: string, kinds: string[], hasFallback: boolean): Attribute | undefined {
    const a = this.#byName.get(name);
    if (!a) {
      if (hasFallback) return undefined;
      throw new RuntimeError(`${this.#where}: required attribute "${name}" is missing`);
    }
    if (!kinds.includes(a.type)) {
      throw new RuntimeError(
        `${this.#where}: attribute "${name}" has type ${a.type}, expected ${kinds.join(" or ")}`,
      );
    }
    return a;
  }

  #memo<T>(key: string, make: () => T): T {
    if (this.#cache.has(key)) return this.#cache.get(key) as T;
    const v = make();
    this.#cache.set(key, v);
    return v;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  int(name: string, fallback?: number): number {
    const a = this.#get(name, ["INT"], fallback !== undefined);
    return a ? bigToNumber(a.i) : fallback!;
  }

  bigint(name: string, fallback?: bigint): bigint {
    const a = this.#get(name, ["INT"], fallback !== undefined);
    return a ? a.i : fallback!;
  }

  float(name: string, fallback?: number): number {
    const a = this.#get(name, ["FLOAT"], fallback !== undefined);
    return a ? a.f : fallback!;
  }

  string(name: string, fallback?: string): string {
    const a = this.#get(name, ["STRING"], fallback !== undefined);
    return a ? this.#memo(`s:${name}`, () => decoder.decode(a.s)) : fallback!;
  }

  bytes(name: string): Uint8Array | undefined {
    return this.#get(name, ["STRING"], true)?.s;
  }

  ints(name: string, fallback?: number[]): number[] {
    const a = this.#get(name, ["INTS"], fallback !== undefined);
    return a ? this.#memo(`is:${name}`, () => a.ints.map(bigToNumber)) : fallback!;
  }

  bigints(name: string, fallback?: bigint[]): bigint[] {
    const a = this.#get(name, ["INTS"], fallback !== undefined);
    return a ? a.ints : fallback!;
  }

  floats(name: string, fallback?: number[]): number[] {
    const a = this.#get(name, ["FLOATS"], fallback !== undefined);
    return a ? a.floats : fallback!;
  }

  strings(name: string, fallback?: string[]): string[] {
    const a = this.#get(name, ["STRINGS"], fallback !== undefined);
    return a ? this.#memo(`ss:${name}`, () => a.strings.map((s) => decoder.decode(s))) : fallback!;
  }

  tensor(name: string): Tensor | undefined {
    const a = this.#get(name, ["TENSOR"], true);
    if (!a?.t) return undefined;
    return this.#memo(`t:${name}`, () => tensorFromProto(a.t!, this.#external));
  }

  tensors(name: string): Tensor[] {
    const a = this.#get(name, ["TENSORS"], true);
    if (!a) return [];
    return this.#memo(`ts:${name}`, () => a.tensors.map((t) => tensorFromProto(t, this.#external)));
  }

  sparseTensor(name: string): Tensor | undefined {
    const a = this.#get(name, ["SPARSE_TENSOR"], true);
    if (!a?.sparseTensor) return undefined;
    return this.#memo(`sp:${name}`, () => sparseTensorFromProto(a.sparseTensor!, this.#external));
  }

  graph(name: string): Graph | undefined {
    return this.#get(name, ["GRAPH"], true)?.g;
  }

  graphs(name: string): Graph[] {
    return this.#get(name, ["GRAPHS"], true)?.graphs ?? [];
  }

  type(name: string): ValueType | undefined {
    const a = this.#get(name, ["TYPE_PROTO"], true);
    return a ? valueTypeFromProto(a.tp) : undefined;
  }
}
