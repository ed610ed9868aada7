/**
 * Tensors whose data lives in a GPU buffer. `Tensor.fromGpuBuffer` in tensor.ts cannot be
 * used as is (it builds the object with `Object.create`, so writing its private download
 * and dispose fields throws), so the backend uses this subclass: an ordinary `Tensor`
 * (`instanceof Tensor`, `type`, `dims`, `size`) with `location: "gpu-buffer"`, `gpuBuffer`,
 * and `getData()` / `dispose()` that read back and free the buffer.
 *
 * @module
 */

import { allocate, type DataType, type TensorData } from "../../tensor/dtype.ts";
import { Tensor } from "../../tensor/tensor.ts";

/** A tensor on the GPU. */
export class GpuTensor extends Tensor {
  readonly #download: () => Promise<TensorData>;
  readonly #release: () => void;

  /** Wraps `buffer` as a tensor of `type` and `dims`. */
  constructor(
    buffer: GPUBuffer,
    type: DataType,
    dims: readonly number[],
    io: { download: () => Promise<TensorData>; dispose: () => void },
  ) {
    super(type, allocate(type, 0), [0]);
    Object.defineProperty(this, "dims", { value: Object.freeze([...dims]), enumerable: true });
    Object.defineProperty(this, "location", { value: "gpu-buffer", enumerable: true });
    Object.defineProperty(this, "gpuBuffer", { value: buffer, enumerable: true });
    this.#download = io.download;
    this.#release = io.dispose;
  }

  /** Reads the data back from the GPU. */
  override async getData(): Promise<TensorData> {
    return await this.#download();
  }

  /** Returns the buffer to its session's pool (the tensor is unreadable afterwards). */
  override dispose(): void {
    this.#release();
  }

  /** GPU tensors are reshaped by the graph (Reshape runs on the GPU); here, read back first. */
  override reshape(_dims: readonly number[]): Tensor {
    throw new TypeError("Cannot reshape a GPU tensor in place: read it with getData() first");
  }
}
