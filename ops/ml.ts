/**
 * The ai.onnx.ml operator family: tree ensembles (`ml_tree.ts`), linear and SVM models
 * (`ml_linear.ts`) and feature transforms (`ml_transform.ts`), sharing `ml_common.ts`.
 *
 * @module
 */

import type { OpDef } from "./types.ts";
import { ops as trees } from "./ml_tree.ts";
import { ops as linear } from "./ml_linear.ts";
import { ops as transforms } from "./ml_transform.ts";

/** Every ai.onnx.ml operator. */
export const ops: OpDef[] = [...trees, ...linear, ...transforms];
