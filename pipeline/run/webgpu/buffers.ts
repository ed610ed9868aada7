/**
 * A pool of GPU buffers by usage and size class, reused across runs.
 *
 * Queue writes (`queue.writeBuffer`) take effect before any command buffer submitted after
 * them, so a buffer that commands still waiting in an open encoder read must not be written
 * through the queue until that encoder is submitted. Released buffers are therefore free
 * at once for GPU-written uses (dispatch outputs, copy targets), and free for queue writes
 * (uploads, uniforms) only after the next submit.
 *
 * @module
 */

// Usage flags are spelled as numbers so that importing needs no WebGPU globals.

/** Usage of storage buffers (STORAGE | COPY_SRC | COPY_DST): kernel inputs and outputs. */
export const STORAGE_USAGE = 0x0080 | 0x0004 | 0x0008;
/** Usage of uniform buffers. */
export const UNIFORM_USAGE = 0x0040 | 0x0008; // UNIFORM | COPY_DST
/** Usage of download staging buffers. */
export const READBACK_USAGE = 0x0001 | 0x0008; // MAP_READ | COPY_DST

/** Size class of a request in bytes: powers of two up to 64 KiB, then steps of 1/8. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 65536) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** (Math.ceil(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

interface Free {
  buffer: GPUBuffer;
  /** False while an unsubmitted encoder may still use it. */
  queueSafe: boolean;
}

/** Counters of a pool. */
export interface PoolStats {
  /** Buffers created since the pool was made. */
  created: number;
  /** Requests served from the pool. */
  reused: number;
  /** Bytes currently held by live and free buffers. */
  bytes: number;
}

/** Reusable buffers of one device. */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, Free[]>();
  readonly #all = new Set<GPUBuffer>();
  #created = 0;
  #reused = 0;
  #bytes = 0;

  /** Creates an empty pool for `device`. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /**
   * A buffer of at least `bytes` with `usage`; `queueWrite` asks for one that may be written
   * through the queue now.
   */
  acquire(bytes: number, usage: number, queueWrite: boolean): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(`${usage}:${size}`);
    if (list && list.length) {
      const i = queueWrite ? list.findIndex((f) => f.queueSafe) : list.length - 1;
      if (i >= 0) {
        this.#reused++;
        return list.splice(i, 1)[0].buffer;
      }
    }
    const buffer = this.#device.createBuffer({ size, usage });
    this.#all.add(buffer);
    this.#created++;
    this.#bytes += size;
    return buffer;
  }

  /** Returns a buffer; `inFlight` when an unsubmitted encoder may still use it. */
  release(buffer: GPUBuffer, inFlight: boolean): void {
    if (!this.#all.has(buffer)) return;
    const k = `${buffer.usage}:${buffer.size}`;
    const list = this.#free.get(k) ?? [];
    list.push({ buffer, queueSafe: !inFlight });
    this.#free.set(k, list);
  }

  /** Marks every free buffer safe for queue writes (call after a submit). */
  submitted(): void {
    for (const list of this.#free.values()) for (const f of list) f.queueSafe = true;
  }

  /** Destroys a buffer now instead of pooling it. */
  discard(buffer: GPUBuffer): void {
    if (!this.#all.delete(buffer)) return;
    this.#bytes -= buffer.size;
    buffer.destroy();
  }

  /** Counters. */
  stats(): PoolStats {
    return { created: this.#created, reused: this.#reused, bytes: this.#bytes };
  }

  /** Destroys every buffer the pool made (live ones included). */
  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all.clear();
    this.#free.clear();
    this.#bytes = 0;
  }
}
