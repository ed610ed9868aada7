/**
 * Semantic value types used by type and shape inference, input validation and sequences:
 * a friendlier form of onnx.proto's TypeProto with symbolic dimensions.
 *
 * @module
 */

import { type DataType, dataTypeCode, dataTypeFromCode } from "./dtype.ts";
import type { DimProto, TypeProto } from "../load/ir.ts";

/** One dimension: a size, a symbolic name, or undefined when unknown. */
export type Dim = number | string | undefined;

/** The type of a value flowing along a graph edge. */
export type ValueType =
  | { kind: "tensor"; elemType?: DataType; shape?: Dim[] }
  | { kind: "sparse_tensor"; elemType?: DataType; shape?: Dim[] }
  | { kind: "sequence"; elem?: ValueType }
  | { kind: "optional"; elem?: ValueType }
  | { kind: "map"; keyType?: DataType; value?: ValueType }
  | { kind: "opaque"; domain: string; name: string };

/** A tensor type with the given element type and (optional) shape. */
export function tensorType(elemType?: DataType, shape?: Dim[]): ValueType {
  return { kind: "tensor", elemType, shape };
}

function dimsFromProto(shape: DimProto[] | undefined): Dim[] | undefined {
  if (!shape) return undefined;
  return shape.map((d) =>
    d.dimValue !== undefined
      ? d.dimValue
      : d.dimParam !== undefined && d.dimParam !== ""
      ? d.dimParam
      : undefined
  );
}

function dimsToProto(shape: Dim[] | undefined): DimProto[] | undefined {
  if (!shape) return undefined;
  return shape.map((d) =>
    typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {}
  );
}

/** Converts a TypeProto to a ValueType (undefined when the proto sets no kind). */
export function valueTypeFromProto(tp: TypeProto | undefined): ValueType | undefined {
  if (!tp) return undefined;
  if (tp.tensorType) {
    return {
      kind: "tensor",
      elemType: dataTypeFromCode(tp.tensorType.elemType),
      shape: dimsFromProto(tp.tensorType.shape),
    };
  }
  if (tp.sparseTensorType) {
    return {
      kind: "sparse_tensor",
      elemType: dataTypeFromCode(tp.sparseTensorType.elemType),
      shape: dimsFromProto(tp.sparseTensorType.shape),
    };
  }
  if (tp.sequenceType) {
    return { kind: "sequence", elem: valueTypeFromProto(tp.sequenceType.elemType) };
  }
  if (tp.optionalType) {
    return { kind: "optional", elem: valueTypeFromProto(tp.optionalType.elemType) };
  }
  if (tp.mapType) {
    return {
      kind: "map",
      keyType: dataTypeFromCode(tp.mapType.keyType),
      value: valueTypeFromProto(tp.mapType.valueType),
    };
  }
  if (tp.opaqueType) return { kind: "opaque", ...tp.opaqueType };
  return undefined;
}

function withShape(elemType: number, shape: Dim[] | undefined): {
  elemType: number;
  shape?: DimProto[];
} {
  return shape ? { elemType, shape: dimsToProto(shape) } : { elemType };
}

/** Converts a ValueType back to a TypeProto (absent parts stay absent keys). */
export function valueTypeToProto(t: ValueType): TypeProto {
  switch (t.kind) {
    case "tensor":
      return { tensorType: withShape(t.elemType ? dataTypeCode(t.elemType) : 0, t.shape) };
    case "sparse_tensor":
      return {
        sparseTensorType: withShape(t.elemType ? dataTypeCode(t.elemType) : 0, t.shape),
      };
    case "sequence":
      return { sequenceType: t.elem ? { elemType: valueTypeToProto(t.elem) } : {} };
    case "optional":
      return { optionalType: t.elem ? { elemType: valueTypeToProto(t.elem) } : {} };
    case "map":
      return {
        mapType: {
          keyType: t.keyType ? dataTypeCode(t.keyType) : 0,
          ...(t.value ? { valueType: valueTypeToProto(t.value) } : {}),
        },
      };
    case "opaque":
      return { opaqueType: { domain: t.domain, name: t.name } };
  }
}

/** Formats a type for messages, e.g. `float32[N,3,224,224]`, `seq(int64[?])`. */
export function formatValueType(t: ValueType | undefined): string {
  if (!t) return "unknown";
  switch (t.kind) {
    case "tensor":
    case "sparse_tensor": {
      const shape = t.shape ? `[${t.shape.map((d) => d ?? "?").join(",")}]` : "";
      const base = `${t.elemType ?? "?"}${shape}`;
      return t.kind === "tensor" ? base : `sparse(${base})`;
    }
    case "sequence":
      return `seq(${formatValueType(t.elem)})`;
    case "optional":
      return `optional(${formatValueType(t.elem)})`;
    case "map":
      return `map(${t.keyType ?? "?"},${formatValueType(t.value)})`;
    case "opaque":
      return `opaque(${t.domain}.${t.name})`;
  }
}
