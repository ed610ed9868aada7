/**
 * Optional operators: Optional (wrap a value or make an empty optional of a declared type),
 * OptionalHasElement and OptionalGetElement (which from opset 18 also accept plain tensors
 * and sequences).
 *
 * @module
 */

import { Optional, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { OpDef } from "./types.ts";
import { valueTypeOf } from "./sequence.ts";

const optional: OpDef["cpu"] = (ctx, inputs) => {
  const v = inputs[0];
  const declared = ctx.attrs.type("type");
  if (v === undefined) {
    if (!declared) {
      throw ctx.fail('an empty optional needs the "type" attribute to give its element type');
    }
    return [new Optional(undefined, declared)];
  }
  if (v instanceof Optional) throw ctx.fail("input must not itself be an optional");
  return [new Optional(v, declared ?? valueTypeOf(v))];
};

const optionalHasElement: OpDef["cpu"] = (ctx, inputs) => {
  const v = inputs[0];
  if (v === undefined && ctx.version < 18) throw ctx.fail("input 0 is required before opset 18");
  const has = v instanceof Optional ? v.value !== undefined : v !== undefined;
  return [new Tensor("bool", new Uint8Array([has ? 1 : 0]), [])];
};

const optionalGetElement: OpDef["cpu"] = (ctx, inputs) => {
  const v = inputs[0];
  if (v === undefined) throw ctx.fail("input 0 is required");
  if (!(v instanceof Optional)) return [v];
  if (v.value === undefined) throw ctx.fail("the optional input is empty");
  return [v.value as Value];
};

/** Every optional declaration. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "Optional",
    versions: [15],
    cpu: optional,
    infer: (ctx): (ValueType | undefined)[] => {
      const declared = ctx.attrs.type("type");
      return [{ kind: "optional", elem: declared ?? ctx.input(0) }];
    },
  },
  {
    domain: "",
    opType: "OptionalHasElement",
    versions: [15, 18],
    cpu: optionalHasElement,
    infer: () => [{ kind: "tensor", elemType: "bool", shape: [] }],
  },
  {
    domain: "",
    opType: "OptionalGetElement",
    versions: [15, 18],
    cpu: optionalGetElement,
    infer: (ctx) => {
      const t = ctx.input(0);
      return [t?.kind === "optional" ? t.elem : t];
    },
  },
];
