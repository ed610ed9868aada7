/**
 * Worker threads for the WebAssembly kernels: each worker instantiates the kernel module on
 * the same shared memory and runs calls the main thread hands it, so a big GEMM uses every
 * core. Threads are started on demand (the first big call starts them and carries on alone
 * until they report ready), are unref'd (they never keep a process alive) and block in
 * `Atomics.wait` between calls. The main thread waits for them with a timeout: a worker that
 * fails or stalls is dropped, and the caller redoes the job alone.
 *
 * Needs shared WebAssembly memory and `node:worker_threads` (Deno, Node); elsewhere, or with
 * {@link setCpuThreads}(1), everything runs on the calling thread.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import type { KernelExports, Kernels } from "./kernels.ts";

/**
 * The worker's source (CommonJS, run with `eval`), so no file has to be resolved. Protocol
 * (int32 slots of the control block): the main thread writes a call's function and arguments,
 * sets JOB = 4·seq + 1 (pending), then SEQ = seq and notifies. The worker wakes on SEQ, claims
 * the call by moving JOB from 4·seq + 1 to 4·seq + 2 (running), runs it and sets JOB = 4·seq
 * (done). The main thread, once its own share is done, cancels a call not yet claimed (JOB to
 * 4·seq + 3) and runs it itself, or waits for a running one, so a worker the OS has not
 * scheduled yet never holds it up.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.once("message", (init) => {
  const c = new Int32Array(init.ctl);
  const f = new Float32Array(init.ctl);
  let fns;
  try {
    const inst = new WebAssembly.Instance(init.module, { env: { mem: init.memory } });
    fns = init.names.map((n) => inst.exports[n]);
  } catch (e) {
    Atomics.store(c, ${2}, -1);
    return;
  }
  Atomics.store(c, ${2}, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, ${0}, seen);
    const seq = Atomics.load(c, ${0});
    if (seq < 0) break;
    if (seq === seen) continue;
    seen = seq;
    const tag = (seq & 0x1fffffff) * 4;
    if (Atomics.compareExchange(c, ${1}, tag + 1, tag + 2) !== tag + 1) continue;
    const argc = c[${4}];
    const args = [];
    for (let i = 0; i < argc; i++) {
      args.push(c[${8} + 2 * i] === 1 ? f[${8} + 2 * i + 1] : c[${8} + 2 * i + 1]);
    }
    try {
      fns[c[${3}]](...args);
      c[${5}] = 0;
    } catch (e) {
      c[${5}] = 1;
    }
    Atomics.store(c, ${1}, tag);
    Atomics.notify(c, ${1});
  }
  Atomics.store(c, ${2}, 2);
});
`;

/** Control block layout (int32 slots of a SharedArrayBuffer; the worker source inlines them). */
const SEQ = 0, JOB = 1, STATE = 2, FN = 3, ARGC = 4, FAILED = 5, ARGS = 8;
const MAX_ARGS = 24;

/** A started worker. */
interface WorkerSlot {
  worker: Worker;
  ctl: Int32Array;
  f32: Float32Array;
  seq: number;
  dead: boolean;
}

interface Pool {
  kernels: Kernels;
  slots: WorkerSlot[];
}

/** Names of the functions workers may run, by index. */
const NAMES: readonly (keyof KernelExports)[] = [
  "pack_a",
  "pack_b",
  "kernel",
  "gemm_tiles",
  "im2col2d",
  "depthwise2d",
  "maxpool2d",
  "relu",
  "clip",
];

/** How long the main thread waits for a worker's call before dropping the worker. */
const TIMEOUT_MS = 20000;

/**
 * Contention backoff: when the main thread repeatedly waits for workers much longer than its
 * own share took (the cores are busy with other processes, and a descheduled worker holds up
 * the call), workers are left out for a while.
 */
const BACKOFF_MS = 1000;
const STRIKES = 3;
let strikes = 0;
let backoffUntil = 0;

let requested: number | undefined;
let pool: Pool | undefined;
/** False once starting a worker failed (no threads here). */
let workersWork = true;

function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, n));
}

/**
 * Sets how many threads (the caller's included) the kernels may use; 1 disables workers
 * (running ones are stopped). Default: the number of cores, at most 4.
 */
export function setCpuThreads(n: number | undefined): void {
  requested = n === undefined ? undefined : Math.max(1, Math.floor(n));
  if ((requested ?? defaultThreads()) < 2) stopWorkers();
}

/** The thread count in effect (the caller's thread included). */
export function cpuThreads(): number {
  return requested ?? defaultThreads();
}

/** Stops every worker (they are unref'd, so this is only needed to free them early). */
export function stopWorkers(): void {
  const p = pool;
  pool = undefined;
  if (!p) return;
  for (const s of p.slots) {
    Atomics.store(s.ctl, SEQ, -1);
    Atomics.notify(s.ctl, SEQ);
    try {
      s.worker.terminate();
    } catch {
      // Already gone.
    }
  }
}

function startPool(k: Kernels, count: number): Pool {
  const p: Pool = { kernels: k, slots: [] };
  for (let i = 0; i < count; i++) {
    try {
      const sab = new SharedArrayBuffer(4 * (ARGS + 2 * MAX_ARGS));
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      const slot: WorkerSlot = {
        worker,
        ctl: new Int32Array(sab),
        f32: new Float32Array(sab),
        seq: 0,
        dead: false,
      };
      worker.on("error", () => {
        slot.dead = true;
      });
      worker.on("exit", () => {
        slot.dead = true;
      });
      worker.postMessage({ module: k.module, memory: k.memory, ctl: sab, names: NAMES });
      p.slots.push(slot);
    } catch {
      workersWork = false;
      break;
    }
  }
  return p;
}

/**
 * Workers ready to take a call for module `k` (none until they have started; asking starts
 * them when allowed).
 */
function readyWorkers(k: Kernels): WorkerSlot[] {
  const want = cpuThreads() - 1;
  if (want < 1 || !k.shared || typeof Atomics?.wait !== "function") return [];
  if (backoffUntil !== 0) {
    if (performance.now() < backoffUntil) return [];
    backoffUntil = 0;
  }
  if (pool && pool.kernels !== k) stopWorkers();
  if (!pool) {
    if (workersWork) pool = startPool(k, want);
    return [];
  }
  return pool.slots.filter((s) => !s.dead && Atomics.load(s.ctl, STATE) === 1).slice(0, want);
}

/** How many threads a parallel call on `k` would use now (the caller's included). */
export function availableThreads(k: Kernels): number {
  return 1 + readyWorkers(k).length;
}

/** One call: an exported function and its arguments (f32 arguments marked in `floats`). */
export interface KernelCall {
  /** Function name. */
  fn: keyof KernelExports;
  /** Arguments. */
  args: readonly number[];
  /** Indices of float32 arguments. */
  floats?: readonly number[];
}

function invoke(k: Kernels, call: KernelCall): void {
  (k.fns[call.fn] as (...a: number[]) => void)(...call.args);
}

/**
 * Runs the calls at once: the first on this thread, the others on ready workers (calls
 * beyond the workers available, and calls a worker has not claimed by the time this thread
 * is done, run here). Returns when all are done: true, or false when a worker failed or
 * stalled past the timeout (it is then dropped, and the caller must redo the whole job on
 * this thread; its calls may have run only in part).
 */
export function runParallel(k: Kernels, calls: readonly KernelCall[]): boolean {
  if (calls.length === 1) {
    invoke(k, calls[0]);
    return true;
  }
  const workers = readyWorkers(k);
  const handed: [WorkerSlot, KernelCall][] = [];
  for (let i = 1; i < calls.length && handed.length < workers.length; i++) {
    const call = calls[i];
    const s = workers[handed.length];
    const fnIndex = NAMES.indexOf(call.fn);
    if (fnIndex < 0 || call.args.length > MAX_ARGS) break;
    s.ctl[FN] = fnIndex;
    s.ctl[ARGC] = call.args.length;
    for (let j = 0; j < call.args.length; j++) {
      const isFloat = call.floats?.includes(j) ?? false;
      s.ctl[ARGS + 2 * j] = isFloat ? 1 : 0;
      if (isFloat) s.f32[ARGS + 2 * j + 1] = call.args[j];
      else s.ctl[ARGS + 2 * j + 1] = call.args[j];
    }
    s.seq = (s.seq + 1) & 0x1fffffff;
    Atomics.store(s.ctl, JOB, 4 * s.seq + 1);
    Atomics.store(s.ctl, SEQ, s.seq);
    Atomics.notify(s.ctl, SEQ);
    handed.push([s, call]);
  }
  const skip = new Set(handed.map(([, c]) => c));
  const t0 = performance.now();
  for (const call of calls) if (!skip.has(call)) invoke(k, call);
  const t1 = performance.now();
  let ok = true;
  for (const [s, call] of handed) {
    const tag = 4 * s.seq;
    const was = Atomics.compareExchange(s.ctl, JOB, tag + 1, tag + 3);
    if (was === tag + 1) {
      // Not claimed yet: do it here.
      invoke(k, call);
      continue;
    }
    let done = Atomics.load(s.ctl, JOB) === tag;
    // Spin briefly (a running worker usually finishes about when we do), then block.
    for (let spin = 0; !done && spin < 1000; spin++) done = Atomics.load(s.ctl, JOB) === tag;
    const until = performance.now() + TIMEOUT_MS;
    while (!done && !s.dead) {
      const left = until - performance.now();
      if (left <= 0) break;
      Atomics.wait(s.ctl, JOB, tag + 2, Math.min(left, 100));
      done = Atomics.load(s.ctl, JOB) === tag;
    }
    if (!done || s.ctl[FAILED] !== 0) {
      s.dead = true;
      ok = false;
      try {
        s.worker.terminate();
      } catch {
        // Already gone.
      }
    }
  }
  const waited = performance.now() - t1;
  if (waited > 0.5 * (t1 - t0) + 0.2) {
    if (++strikes >= STRIKES) {
      strikes = 0;
      backoffUntil = performance.now() + BACKOFF_MS;
    }
  } else if (strikes > 0) {
    strikes--;
  }
  return ok;
}
