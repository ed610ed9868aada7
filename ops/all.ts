/**
 * The list of every operator declaration. Each op family file exports `ops: OpDef[]`;
 * add one import and one spread per family.
 *
 * @module
 */

import type { OpDef } from "./types.ts";
import { ops as elementwise } from "./elementwise.ts";
import { ops as matmul } from "./matmul.ts";
import { ops as reduce } from "./reduce.ts";
import { ops as softmax } from "./softmax.ts";
import { ops as cast } from "./cast.ts";
import { ops as conv } from "./conv.ts";
import { ops as pool } from "./pool.ts";
import { ops as norm } from "./norm.ts";
import { ops as resize } from "./resize.ts";
import { ops as sample } from "./sample.ts";
import { ops as rnn } from "./rnn.ts";
import { ops as attention } from "./attention.ts";
import { ops as loss } from "./loss.ts";
import { ops as nms } from "./nms.ts";
import { ops as shape } from "./shape.ts";
import { ops as movement } from "./movement.ts";
import { ops as gatherScatter } from "./gather_scatter.ts";
import { ops as controlFlow } from "./control_flow.ts";
import { ops as sequence } from "./sequence.ts";
import { ops as optional } from "./optional.ts";
import { ops as strings } from "./string.ts";
import { ops as imageDecoder } from "./image_decoder.ts";
import { ops as quantize } from "./quantize.ts";
import { ops as qlinear } from "./qlinear.ts";
import { ops as contrib } from "./contrib.ts";
import { ops as ml } from "./ml.ts";
import { ops as signal } from "./signal.ts";
import { ops as random } from "./random.ts";
import { ops as training } from "./training.ts";

/** Every operator declaration known to the runtime. */
export const ALL_OPS: readonly OpDef[] = [
  ...elementwise,
  ...matmul,
  ...reduce,
  ...softmax,
  ...cast,
  ...conv,
  ...pool,
  ...norm,
  ...resize,
  ...sample,
  ...rnn,
  ...attention,
  ...loss,
  ...nms,
  ...shape,
  ...movement,
  ...gatherScatter,
  ...controlFlow,
  ...sequence,
  ...optional,
  ...strings,
  ...imageDecoder,
  ...quantize,
  ...qlinear,
  ...contrib,
  ...ml,
  ...signal,
  ...random,
  ...training,
];
