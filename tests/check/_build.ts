/**
 * IR builders for the checker tests: small hand-built models, independent of the shared data.
 * General builders come from `pipeline/load/build.ts`; the suite's defaults (IR 8, opset 17)
 * from the load tests' helpers.
 *
 * @module
 */

import type { Model, TensorProto } from "../../pipeline/load/ir.ts";
import { intsAttr, makeGraph, makeNode, makeValueInfo } from "../../pipeline/load/build.ts";
import { emptyTensorProto } from "../../pipeline/load/proto.ts";
import { model } from "../load/_shared.ts";

export { attr, exists, model, SHARED } from "../load/_shared.ts";

/** A float32 initializer with raw data (values i * 0.01). */
export function floatInit(name: string, dims: number[]): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => i * 0.01);
  return { ...emptyTensorProto(1, dims, name), rawData: new Uint8Array(data.buffer) };
}

/** An int64 initializer in int64_data. */
export function int64Init(name: string, values: number[]): TensorProto {
  return { ...emptyTensorProto(7, [values.length], name), int64Data: values.map(BigInt) };
}

/**
 * A small valid CNN: X[N,3,8,8] → Conv(3x3, pad 1) → Relu → MaxPool(2x2) → Reshape([0,-1])
 * → Y[N,64]. value_info declares `c` (the Conv output) as float32[N,4,8,8].
 */
export function tinyCnn(): Model {
  return model(
    makeGraph({
      name: "tiny_cnn",
      input: [makeValueInfo("X", 1, ["N", 3, 8, 8])],
      output: [makeValueInfo("Y", 1, ["N", 64])],
      valueInfo: [makeValueInfo("c", 1, ["N", 4, 8, 8])],
      initializer: [floatInit("W", [4, 3, 3, 3]), floatInit("B", [4]), int64Init("shape", [0, -1])],
      node: [
        makeNode("Conv", ["X", "W", "B"], ["c"], [
          intsAttr("kernel_shape", [3, 3]),
          intsAttr("pads", [1, 1, 1, 1]),
        ], { name: "conv" }),
        makeNode("Relu", ["c"], ["r"], [], { name: "relu" }),
        makeNode("MaxPool", ["r"], ["p"], [
          intsAttr("kernel_shape", [2, 2]),
          intsAttr("strides", [2, 2]),
        ], { name: "pool" }),
        makeNode("Reshape", ["p", "shape"], ["Y"], [], { name: "reshape" }),
      ],
    }),
  );
}
