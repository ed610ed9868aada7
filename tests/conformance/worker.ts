/**
 * Conformance worker: runs the cases it is sent, one at a time, and posts each result. A
 * `{ close: true }` message destroys its WebGPU device (before the runner terminates it).
 *
 * @module
 */

import { type Case, runCase } from "./cases.ts";
import type { Backend } from "../../pipeline/run/session.ts";
import { closeGpu } from "../../pipeline/run/webgpu/device.ts";

interface Job {
  case: Case;
  backend: Backend;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job | { close: true }>) => void) | null;
  postMessage(v: unknown): void;
};

scope.onmessage = async (e: MessageEvent<Job | { close: true }>) => {
  if ("close" in e.data) {
    closeGpu();
    await new Promise((r) => setTimeout(r, 50));
    scope.postMessage({ closed: true });
    return;
  }
  const result = await runCase(e.data.case, e.data.backend);
  scope.postMessage(result);
};
