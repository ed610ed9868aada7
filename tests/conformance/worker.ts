/**
 * Conformance worker: runs the cases it is sent, one at a time, and posts each result.
 *
 * @module
 */

import { type Case, runCase } from "./cases.ts";
import type { Backend } from "../../pipeline/run/session.ts";

interface Job {
  case: Case;
  backend: Backend;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(v: unknown): void;
};

scope.onmessage = async (e: MessageEvent<Job>) => {
  const result = await runCase(e.data.case, e.data.backend);
  scope.postMessage(result);
};
