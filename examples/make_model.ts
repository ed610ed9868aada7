/**
 * Builds the example model `examples/models/tiny_cnn.onnx` and its input
 * `examples/data/tiny_cnn/input.npy` from the IR, with deterministic weights, so the
 * default pipeline runs with nothing but this repository.
 *
 * The network (opset 13): Conv 3→8 (3×3, pad 1) → Relu → MaxPool 2×2 → Conv 8→16 (3×3,
 * stride 2, pad 1) → Relu → GlobalAveragePool → Conv 16→10 (1×1, the classifier) → Flatten,
 * on `image` float32 [N, 3, 32, 32], giving `logits` float32 [N, 10].
 *
 * Like many exported models it carries some clutter for the `optimize` stage to remove: two
 * Identity nodes (one writing the graph output), a node whose output nobody reads and an
 * initializer nobody uses.
 *
 * Run it from the repository root (it writes the two files):
 *
 * ```sh
 * deno run --allow-write examples/make_model.ts
 * ```
 *
 * The expected outputs come from onnxruntime; see `examples/make_reference.ts`.
 *
 * @module
 */

import type { Model, TensorProto } from "../pipeline/load/ir.ts";
import {
  intAttr,
  intsAttr,
  makeGraph,
  makeModel,
  makeNode,
  makeTensorProto,
  makeValueInfo,
} from "../pipeline/load/build.ts";
import { encodeModel } from "../pipeline/load/proto.ts";
import { writeNpy } from "../pipeline/io/npy.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";

/** mulberry32 uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** He-style uniform weights scaled by fan-in, and small biases, from one seeded stream. */
function convWeights(
  next: () => number,
  name: string,
  shape: [number, number, number, number],
): TensorProto[] {
  const fanIn = shape[1] * shape[2] * shape[3];
  const bound = Math.sqrt(6 / fanIn);
  const w = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < w.length; i++) w[i] = (next() * 2 - 1) * bound;
  const b = new Float32Array(shape[0]);
  for (let i = 0; i < b.length; i++) b[i] = (next() * 2 - 1) * 0.1;
  return [
    makeTensorProto(new Tensor("float32", w, shape), `${name}.weight`),
    makeTensorProto(new Tensor("float32", b, [shape[0]]), `${name}.bias`),
  ];
}

/** Builds the tiny CNN model (deterministic: the same bytes every time). */
export function buildTinyCnn(): Model {
  const next = rng(20240601);
  const initializer = [
    ...convWeights(next, "conv1", [8, 3, 3, 3]),
    ...convWeights(next, "conv2", [16, 8, 3, 3]),
    ...convWeights(next, "classifier", [10, 16, 1, 1]),
    makeTensorProto(new Tensor("float32", new Float32Array(10).fill(1), [10]), "unused_scale"),
  ];
  const graph = makeGraph({
    name: "tiny_cnn",
    node: [
      makeNode("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1_out"], [
        intsAttr("kernel_shape", [3, 3]),
        intsAttr("pads", [1, 1, 1, 1]),
      ], { name: "conv1" }),
      makeNode("Relu", ["conv1_out"], ["relu1_out"], [], { name: "relu1" }),
      makeNode("Identity", ["relu1_out"], ["relu1_copy_out"], [], { name: "relu1_copy" }),
      makeNode("MaxPool", ["relu1_copy_out"], ["pool1_out"], [
        intsAttr("kernel_shape", [2, 2]),
        intsAttr("strides", [2, 2]),
      ], { name: "pool1" }),
      makeNode("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], [
        intsAttr("kernel_shape", [3, 3]),
        intsAttr("pads", [1, 1, 1, 1]),
        intsAttr("strides", [2, 2]),
      ], { name: "conv2" }),
      makeNode("Relu", ["conv2_out"], ["relu2_out"], [], { name: "relu2" }),
      makeNode("Relu", ["conv2_out"], ["debug_out"], [], { name: "debug_relu" }),
      makeNode("GlobalAveragePool", ["relu2_out"], ["gap_out"], [], { name: "gap" }),
      makeNode("Conv", ["gap_out", "classifier.weight", "classifier.bias"], ["cls_out"], [
        intsAttr("kernel_shape", [1, 1]),
      ], { name: "classifier" }),
      makeNode("Flatten", ["cls_out"], ["flat_out"], [intAttr("axis", 1)], { name: "flatten" }),
      makeNode("Identity", ["flat_out"], ["logits"], [], { name: "output_copy" }),
    ],
    initializer,
    docString: "A tiny CNN with deterministic weights, for the example pipelines",
    input: [makeValueInfo("image", "float32", ["N", 3, 32, 32])],
    output: [makeValueInfo("logits", "float32", ["N", 10])],
  });
  return makeModel(graph, {
    irVersion: 7,
    opsetImport: { "": 13 },
    producerName: "onnx-deno examples/make_model.ts",
    producerVersion: "1",
    modelVersion: 1n,
  });
}

/** The example input: a smooth colour gradient with seeded noise, [1, 3, 32, 32] in [0, 1). */
export function buildTinyCnnInput(): Tensor {
  const next = rng(7);
  const data = new Float32Array(3 * 32 * 32);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const smooth = (Math.sin((x + 2 * c) / 5) * Math.cos((y - c) / 7) + 1) / 2;
        data[(c * 32 + y) * 32 + x] = 0.8 * smooth + 0.2 * next();
      }
    }
  }
  return new Tensor("float32", data, [1, 3, 32, 32]);
}

if (import.meta.main) {
  const root = new URL("./", import.meta.url);
  await Deno.mkdir(new URL("models/", root), { recursive: true });
  await Deno.mkdir(new URL("data/tiny_cnn/", root), { recursive: true });
  await Deno.writeFile(new URL("models/tiny_cnn.onnx", root), encodeModel(buildTinyCnn()));
  await Deno.writeFile(new URL("data/tiny_cnn/input.npy", root), writeNpy(buildTinyCnnInput()));
  console.log("wrote examples/models/tiny_cnn.onnx and examples/data/tiny_cnn/input.npy");
}
