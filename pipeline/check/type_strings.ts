/**
 * Conversions between {@link ValueType} and the canonical ONNX type strings that operator
 * schemas use in their type constraints (`tensor(float)`, `seq(tensor(int64))`,
 * `optional(tensor(bool))`, `map(string,tensor(float))`, `sparse_tensor(int32)`).
 *
 * @module
 */

import { type DataType, dataTypeFromOnnxName, onnxTypeName } from "../tensor/dtype.ts";
import type { ValueType } from "../tensor/value_type.ts";

/**
 * The canonical type string of a value type, or undefined when some part of it (an element
 * type, a sequence's element) is unknown, or when it is opaque.
 */
export function typeStringOf(t: ValueType | undefined): string | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case "tensor":
      return t.elemType ? `tensor(${onnxTypeName(t.elemType)})` : undefined;
    case "sparse_tensor":
      return t.elemType ? `sparse_tensor(${onnxTypeName(t.elemType)})` : undefined;
    case "sequence": {
      const inner = typeStringOf(t.elem);
      return inner ? `seq(${inner})` : undefined;
    }
    case "optional": {
      const inner = typeStringOf(t.elem);
      return inner ? `optional(${inner})` : undefined;
    }
    case "map": {
      const value = typeStringOf(t.value);
      return t.keyType && value ? `map(${onnxTypeName(t.keyType)},${value})` : undefined;
    }
    case "opaque":
      return undefined;
  }
}

function elem(name: string): DataType | undefined {
  return dataTypeFromOnnxName(name.trim());
}

/** Splits `a,b(c,d)` at its top-level comma. */
function splitTopComma(s: string): [string, string] | undefined {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) return [s.slice(0, i), s.slice(i + 1)];
  }
  return undefined;
}

/**
 * Parses a canonical type string into a value type (shapes unknown). Returns undefined for
 * a string that is not a type (such as a type parameter name like `T`).
 */
export function valueTypeFromTypeString(s: string): ValueType | undefined {
  const m = /^([a-z_]+)\((.*)\)$/.exec(s.trim());
  if (!m) return undefined;
  const [, head, body] = m;
  switch (head) {
    case "tensor": {
      const e = elem(body);
      return e ? { kind: "tensor", elemType: e } : undefined;
    }
    case "sparse_tensor": {
      const e = elem(body);
      return e ? { kind: "sparse_tensor", elemType: e } : undefined;
    }
    case "seq": {
      const inner = valueTypeFromTypeString(body);
      return inner ? { kind: "sequence", elem: inner } : undefined;
    }
    case "optional": {
      const inner = valueTypeFromTypeString(body);
      return inner ? { kind: "optional", elem: inner } : undefined;
    }
    case "map": {
      const parts = splitTopComma(body);
      if (!parts) return undefined;
      const key = elem(parts[0]);
      const value = valueTypeFromTypeString(parts[1]);
      return key && value ? { kind: "map", keyType: key, value } : undefined;
    }
    default:
      return undefined;
  }
}
