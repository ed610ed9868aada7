/**
 * Sizes for the optimization report: how many bytes a tensor's payload takes.
 *
 * @module
 */

import type { SparseTensorProto, TensorProto } from "../load/ir.ts";
import { rawByteLength } from "../load/tensor_proto.ts";
import { dataTypeFromCode } from "../tensor/dtype.ts";

/** Bytes of a TensorProto's payload (raw, typed fields or external), without decoding it. */
export function tensorParameterBytes(tp: TensorProto): number {
  if (tp.dataLocation === 1) {
    const length = tp.externalData.find((e) => e.key === "length");
    if (length) return Number(length.value) || 0;
  }
  if (tp.rawData && tp.rawData.length > 0) return tp.rawData.length;
  if (tp.stringData.length) return tp.stringData.reduce((s, b) => s + b.length, 0);
  const type = dataTypeFromCode(tp.dataType);
  const n = tp.dims.reduce((a, b) => a * b, 1);
  if (!type || type === "string") return 0;
  try {
    return rawByteLength(type, n);
  } catch {
    return 0;
  }
}

/** Bytes of a sparse initializer's values and indices. */
export function sparseParameterBytes(sp: SparseTensorProto): number {
  return (sp.values ? tensorParameterBytes(sp.values) : 0) +
    (sp.indices ? tensorParameterBytes(sp.indices) : 0);
}
