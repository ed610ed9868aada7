/**
 * NonMaxSuppression on hand-built boxes beyond the ONNX backend suite: omitted
 * max_output_boxes_per_class, strict score threshold, ties, zero-area boxes.
 */

import assert from "node:assert/strict";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { f32 } from "./_op_harness.ts";
import { runNode } from "./_session_run.ts";

const i64 = (v: number) => new Tensor("int64", BigInt64Array.from([BigInt(v)]), [1]);

function rows(t: Tensor | undefined): number[][] {
  assert.ok(t);
  assert.equal(t.type, "int64");
  assert.equal(t.dims[1], 3);
  const d = Array.from(t.data as BigInt64Array, Number);
  return Array.from({ length: t.dims[0] }, (_, i) => d.slice(3 * i, 3 * i + 3));
}

// Three boxes [y1, x1, y2, x2]: box0 [0,0,1,2] (area 2) contains box1 [0,0,1,1] (area 1),
// so their IoU is exactly 1/2; box2 lies apart.
const boxes = f32([0, 0, 1, 2, 0, 0, 1, 1, 5, 5, 6, 6], [1, 3, 4]);

Deno.test("NonMaxSuppression: no max_output_boxes_per_class selects nothing", async () => {
  const [y] = await runNode("NonMaxSuppression", [boxes, f32([0.9, 0.8, 0.7], [1, 1, 3])], {
    opset: 11,
  });
  assert.deepEqual(y!.dims, [0, 3]);
});

Deno.test("NonMaxSuppression: IoU above the threshold suppresses, equal does not", async () => {
  const scores = f32([0.9, 0.8, 0.7], [1, 1, 3]);
  const [a] = await runNode("NonMaxSuppression", [boxes, scores, i64(10), f32([0.3], [1])], {
    opset: 11,
  });
  assert.deepEqual(rows(a), [[0, 0, 0], [0, 0, 2]]);
  const [b] = await runNode("NonMaxSuppression", [boxes, scores, i64(10), f32([0.5], [1])], {
    opset: 11,
  });
  assert.deepEqual(rows(b), [[0, 0, 0], [0, 0, 1], [0, 0, 2]]);
});

Deno.test("NonMaxSuppression: score threshold is strict; ties keep the lower index first", async () => {
  const scores = f32([0.5, 0.7, 0.7], [1, 1, 3]);
  const [y] = await runNode("NonMaxSuppression", [
    boxes,
    scores,
    i64(2),
    f32([0.9], [1]),
    f32([0.5], [1]),
  ], {
    opset: 11,
  });
  assert.deepEqual(rows(y), [[0, 0, 1], [0, 0, 2]]);
});

Deno.test("NonMaxSuppression: a zero-area box never suppresses", async () => {
  const b = f32([0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 4]);
  const [y] = await runNode("NonMaxSuppression", [
    b,
    f32([0.9, 0.8], [1, 1, 2]),
    i64(5),
    f32([0], [1]),
  ], {
    opset: 11,
  });
  assert.deepEqual(rows(y), [[0, 0, 0], [0, 0, 1]]);
});
