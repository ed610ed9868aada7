/**
 * Helpers of the quantization and float16 tests: the shared models and images, ImageNet
 * preprocessing, running a model in this runtime and in onnxruntime-node (loaded lazily, so
 * the tests that need it skip when the native module cannot load), and error measures.
 *
 * @module
 */

import type { Model } from "../../pipeline/load/ir.ts";
import { encodeModel } from "../../pipeline/load/proto.ts";
import { decodeImage, preprocessImage } from "../../pipeline/io/image.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { Tensor, toNumbers, type Value } from "../../pipeline/tensor/tensor.ts";
import { SHARED } from "../_shared_root.ts";

export { SHARED };

/** The shared data folder. */

/** True when a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** resnet18 (random weights) and MobileNetV2 (trained, float). */
export const RESNET18 = `${SHARED}/models/resnet18`;
/** The float MobileNetV2. */
export const MOBILENET = `${SHARED}/pretrained/mobilenetv2_float`;
/** The four ImageNet images. */
export const IMAGES_DIR = `${SHARED}/pretrained/images`;
/** Their file names. */
export const IMAGES = ["dog.jpg", "bald_eagle.jpeg", "imagenet_finch.jpeg", "pelican.jpeg"];
/** ImageNet class of dog.jpg. */
export const SAMOYED = 258;

/** torchvision's ImageNet preprocessing of an image file: float32 [1, 3, 224, 224]. */
export function imagenetInput(path: string): Tensor {
  return preprocessImage(decodeImage(Deno.readFileSync(path), path), {
    resize: 256,
    centerCrop: 224,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
}

// deno-lint-ignore no-explicit-any
type OrtModule = any;

let ortCache: { ort?: OrtModule; reason?: string } | undefined;

/**
 * onnxruntime-node 1.30, or the reason it cannot be used (the native module failed to load).
 */
export async function loadOrt(): Promise<{ ort?: OrtModule; reason?: string }> {
  if (ortCache) return ortCache;
  try {
    const ort = await import("npm:onnxruntime-node@1.30.0");
    ortCache = { ort };
  } catch (e) {
    ortCache = { reason: `onnxruntime-node could not be loaded: ${(e as Error).message}` };
  }
  return ortCache;
}

/** Runs a model (an IR or a file path) in this runtime on CPU. */
export async function runOurs(
  model: Model | string,
  feeds: Record<string, Value>,
): Promise<Record<string, Value>> {
  const session = await InferenceSession.create(
    typeof model === "string" ? model : encodeModel(model),
    { backend: "cpu" },
  );
  return await session.run(feeds);
}

/** Runs a model file in onnxruntime-node; float16 tensors go in and out as Uint16 bits. */
export async function runOrt(
  ort: OrtModule,
  path: string,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(path);
  const ortFeeds: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const data = t.type === "float16"
      ? new Float16Array((t.data as Uint16Array).buffer.slice(0))
      : t.data;
    ortFeeds[name] = new ort.Tensor(t.type, data, [...t.dims]);
  }
  const out = await session.run(ortFeeds);
  const result: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(out as Record<string, OrtModule>)) {
    let data = v.data;
    if (v.type === "float16") {
      const src = data as ArrayBufferView;
      data = new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2).slice();
    }
    result[name] = new Tensor(v.type, data, v.dims);
  }
  await session.release();
  return result;
}

/** Index of the largest element. */
export function argmax(t: Value | undefined): number {
  if (!(t instanceof Tensor)) throw new TypeError("Expected a tensor");
  const d = toNumbers(t);
  let best = 0;
  for (let i = 1; i < d.length; i++) if (d[i] > d[best]) best = i;
  return best;
}

/** max |a - b| / max |a| over all elements (a is the reference). */
export function relError(reference: Value | undefined, actual: Value | undefined): number {
  if (!(reference instanceof Tensor) || !(actual instanceof Tensor)) {
    throw new TypeError("Expected tensors");
  }
  const a = toNumbers(reference);
  const b = toNumbers(actual);
  if (a.length !== b.length) return Infinity;
  let err = 0, mag = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(a[i]));
  }
  return mag > 0 ? err / mag : err;
}

/** mulberry32 uniform numbers in [lo, hi). */
export function seeded(seed: number, lo = -1, hi = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  };
}

/** `n` seeded uniform numbers. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const next = seeded(seed, lo, hi);
  return Array.from({ length: n }, next);
}
