/**
 * Computes the expected output of the example model with an independent runtime,
 * onnxruntime-node 1.30 (native CPU), and writes `examples/data/tiny_cnn/expected_logits.npy`.
 *
 * It runs once, by hand, after `examples/make_model.ts`; its output is committed, so neither
 * the tests nor the pipelines ever need onnxruntime:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys examples/make_reference.ts
 * ```
 *
 * @module
 */

import * as ort from "npm:onnxruntime-node@1.30.0";
import { readNpy, writeNpy } from "../pipeline/io/npy.ts";
import { Tensor } from "../pipeline/tensor/tensor.ts";

if (import.meta.main) {
  const root = new URL("./", import.meta.url);
  const modelPath = new URL("models/tiny_cnn.onnx", root);
  const input = readNpy(await Deno.readFile(new URL("data/tiny_cnn/input.npy", root)));
  const session = await ort.InferenceSession.create(await Deno.readFile(modelPath));
  const feeds = {
    image: new ort.Tensor("float32", input.data as Float32Array, [...input.dims]),
  };
  const result = await session.run(feeds);
  const logits = result["logits"];
  const out = new Tensor("float32", Float32Array.from(logits.data as Float32Array), [
    ...logits.dims,
  ]);
  await Deno.writeFile(new URL("data/tiny_cnn/expected_logits.npy", root), writeNpy(out));
  console.log(`onnxruntime-node ${ort.env.versions.common}: logits ${out.dims} =`, [
    ...out.data as Float32Array,
  ]);
}
