import assert from "node:assert/strict";
import { readLabels, topK, topKRows } from "../../pipeline/io/labels.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { InputError } from "../../pipeline/errors.ts";
import { SHARED } from "../_shared_root.ts";

Deno.test("readLabels: one label per line, CRLF, BOM and trailing blank lines", () => {
  assert.deepEqual(readLabels("tench\ngoldfish\n"), ["tench", "goldfish"]);
  assert.deepEqual(readLabels("\ufeffa\r\nb c\r\n\r\n"), ["a", "b c"]);
  // A blank line in the middle keeps its index.
  assert.deepEqual(readLabels("a\n\nc"), ["a", "", "c"]);
  assert.deepEqual(
    readLabels("n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n"),
    [
      "n01440764 tench, Tinca tinca",
      "n01443537 goldfish, Carassius auratus",
    ],
  );
  assert.deepEqual(readLabels(""), []);
});

Deno.test("topK: order, ties by lower index, labels", () => {
  const scores = new Tensor("float32", [0.5, 2, 0.5, 3, 2], [1, 5]);
  const best = topK(scores, 3, { labels: ["a", "b", "c", "d", "e"] });
  assert.deepEqual(best, [
    { index: 3, score: 3, label: "d", row: 0 },
    { index: 1, score: 2, label: "b", row: 0 },
    { index: 4, score: 2, label: "e", row: 0 },
  ]);
  // k beyond the class count is clamped; k = 0 gives nothing.
  assert.equal(topK(scores, 10).length, 5);
  assert.deepEqual(topK(scores, 0), []);
  assert.deepEqual(topK(scores, 5).map((e) => e.index), [3, 1, 4, 0, 2]);
});

Deno.test("topK: softmax probabilities, hand computed", () => {
  // softmax([1, 2, 3]) = e^k / (e + e^2 + e^3): 0.09003057, 0.24472847, 0.66524096.
  const best = topK(new Tensor("float32", [1, 2, 3], [3]), 3, { softmax: true });
  assert.deepEqual(best.map((e) => e.index), [2, 1, 0]);
  const expected = [0.6652409557748219, 0.24472847105479764, 0.09003057317038046];
  best.forEach((e, i) => assert.ok(Math.abs(e.probability! - expected[i]) < 1e-12));
  // Large logits do not overflow.
  const big = topK(new Tensor("float32", [1000, 1000], [2]), 2, { softmax: true });
  assert.deepEqual(big.map((e) => e.probability), [0.5, 0.5]);
});

Deno.test("topK: NaN scores rank last and get NaN probability; infinities", () => {
  const best = topK(new Tensor("float32", [NaN, 1, NaN, 0], [4]), 4, { softmax: true });
  assert.deepEqual(best.map((e) => e.index), [1, 3, 0, 2]);
  const e1 = Math.E / (Math.E + 1);
  assert.ok(Math.abs(best[0].probability! - e1) < 1e-12);
  assert.ok(Number.isNaN(best[2].probability!));
  assert.ok(Number.isNaN(best[2].score));
  const inf = topK(new Tensor("float32", [Infinity, 5, Infinity, -Infinity], [4]), 4, {
    softmax: true,
  });
  assert.deepEqual(inf.map((e) => [e.index, e.probability]), [[0, 0.5], [2, 0.5], [1, 0], [3, 0]]);
});

Deno.test("topK: per batch row for [N, C] and [N, C, 1, 1]", () => {
  const scores = new Tensor("float32", [0.1, 0.7, 0.2, 0.5, 0.4, 0.1], [2, 3]);
  assert.deepEqual(topKRows(scores, 2).map((row) => row.map((e) => [e.row, e.index])), [
    [[0, 1], [0, 2]],
    [[1, 0], [1, 1]],
  ]);
  assert.deepEqual(topK(scores, 1).map((e) => [e.row, e.index]), [[0, 1], [1, 0]]);
  const nchw = new Tensor("float32", [0.1, 0.7, 0.2, 0.5, 0.4, 0.1], [2, 3, 1, 1]);
  assert.deepEqual(topK(nchw, 1).map((e) => [e.row, e.index]), [[0, 1], [1, 0]]);
  // Integer and float16 scores are decoded first (float16 0x4000 = 2, 0x3c00 = 1).
  const half = new Tensor("float16", new Uint16Array([0x3c00, 0x4000]), [2]);
  assert.deepEqual(topK(half, 1), [{ index: 1, score: 2, row: 0 }]);
  const ints = new Tensor("int64", new BigInt64Array([5n, 9n, 1n]), [3]);
  assert.deepEqual(topK(ints, 1), [{ index: 1, score: 9, row: 0 }]);
});

Deno.test("topK: bad k or non-numeric scores raise InputError", () => {
  const s = new Tensor("float32", [1, 2], [2]);
  assert.throws(() => topK(s, -1), InputError);
  assert.throws(() => topK(s, 1.5), InputError);
  assert.throws(() => topK(new Tensor("string", ["a"], [1]), 1), InputError);
});

const classesFile = `${SHARED}/pretrained/images/imagenet_classes.txt`;
let haveClasses = false;
try {
  haveClasses = Deno.statSync(classesFile).isFile;
} catch {
  console.log(`Skipping the ImageNet labels check: ${classesFile} is absent`);
}

Deno.test({
  name: "readLabels: ImageNet classes and synsets (index 258 is Samoyed)",
  ignore: !haveClasses,
  fn() {
    const labels = readLabels(Deno.readTextFileSync(classesFile));
    assert.equal(labels.length, 1000);
    assert.equal(labels[258], "Samoyed");
    const synsets = readLabels(
      Deno.readTextFileSync(`${SHARED}/pretrained/images/synset.txt`),
    );
    assert.equal(synsets.length, 1000);
    assert.match(synsets[258], /^n\d{8} Samoyed/);
    const scores = new Float32Array(1000);
    scores[258] = 5;
    scores[100] = 4;
    const best = topK(new Tensor("float32", scores, [1, 1000]), 2, { labels });
    assert.deepEqual(best.map((e) => e.label), ["Samoyed", labels[100]]);
  },
});
