/**
 * Hand-checked tests of the string operators: RE2 syntax handling in RegexFullMatch,
 * StringNormalizer with locales and case-insensitive stopwords, StringSplit and
 * StringConcat edge cases, and TfIdfVectorizer modes, skips, pools and batches.
 */

import assert from "node:assert/strict";
import { i32, i64, plain, runOp, runTensor, str, values } from "./_op_harness.ts";
import { RuntimeError } from "../../pipeline/errors.ts";
import { Re2SyntaxError, re2ToJs } from "../../ops/regex_re2.ts";
import {
  floatsAttr,
  intAttr,
  intsAttr,
  stringAttr,
  stringsAttr,
} from "../../pipeline/load/build.ts";

async function fullMatch(pattern: string, inputs: string[]): Promise<boolean[]> {
  const t = await runTensor("RegexFullMatch", 20, [str(inputs)], [stringAttr("pattern", pattern)]);
  return values(t).map((v) => v === 1);
}

Deno.test("RegexFullMatch: anchoring, flags, RE2 dot and \\s, Unicode classes", async () => {
  assert.deepEqual(await fullMatch("ab+", ["abb", "xabb", "abbx", ""]), [
    true,
    false,
    false,
    false,
  ]);
  assert.deepEqual(await fullMatch("(?i)hello", ["HeLLo", "hello!"]), [true, false]);
  // (?i) reaches past '|' to the end of the enclosing group.
  assert.deepEqual(await fullMatch("a(?i)b|c", ["aB", "C", "Ab"]), [true, true, false]);
  assert.deepEqual(await fullMatch("(?i:a)b", ["Ab", "AB"]), [true, false]);
  // RE2's '.' excludes only \n; (?s) includes it.
  assert.deepEqual(await fullMatch("a.c", ["a\rc", "a\nc", "aéc"]), [true, false, true]);
  assert.deepEqual(await fullMatch("(?s)a.c", ["a\nc"]), [true]);
  // RE2's \s has no \v.
  assert.deepEqual(await fullMatch("a\\sb", ["a b", "a\tb", "a\vb"]), [true, true, false]);
  assert.deepEqual(await fullMatch("\\pL+", ["héllo", "h3llo"]), [true, false]);
  assert.deepEqual(await fullMatch("\\p{Greek}+", ["αβγ", "abc"]), [true, false]);
  assert.deepEqual(await fullMatch("[[:digit:][:upper:]]+", ["12AB", "12a"]), [true, false]);
  assert.deepEqual(await fullMatch("\\Qa.b\\E+", ["a.b", "a.bbb", "axb"]), [true, true, false]);
  assert.deepEqual(await fullMatch("(?P<w>ab)+", ["abab", "aba"]), [true, false]);
  assert.deepEqual(await fullMatch("a\\-b\\@c", ["a-b@c"]), [true]);
  assert.deepEqual(await fullMatch("x{2,3}", ["xx", "xxx", "xxxx"]), [true, true, false]);
  assert.deepEqual(await fullMatch("[]a]+", ["]a]"]), [true]);
  assert.deepEqual(await fullMatch("\\x41\\x{1F600}\\101", ["A😀A"]), [true]);
  assert.deepEqual(await fullMatch("\\Aab\\z", ["ab"]), [true]);
});

Deno.test("RegexFullMatch: RE2-incompatible constructs are rejected", async () => {
  for (const p of ["(?<=a)b", "(?<!a)b", "a(?=b)", "a(?!b)", "(a)\\1", "a++", "(?U)a*", "\\C"]) {
    await assert.rejects(
      runOp("RegexFullMatch", 20, [str(["ab"])], [stringAttr("pattern", p)]),
      RuntimeError,
      p,
    );
    assert.throws(() => re2ToJs(p), Re2SyntaxError, p);
  }
  await assert.rejects(
    runOp("RegexFullMatch", 20, [i64([1])], [stringAttr("pattern", "a")]),
    RuntimeError,
  );
});

Deno.test("StringNormalizer: case-insensitive stopwords, locales, 2-D input", async () => {
  const y = await runTensor("StringNormalizer", 10, [str(["Apple", "is", "IS", "Tasty"], [1, 4])], [
    stringAttr("case_change_action", "LOWER"),
    stringsAttr("stopwords", ["is"]),
  ]);
  assert.deepEqual(y.dims, [1, 2]);
  assert.deepEqual(values(y), ["apple", "tasty"]);
  const tr = await runTensor("StringNormalizer", 10, [str(["istanbul"])], [
    stringAttr("case_change_action", "UPPER"),
    stringAttr("locale", "tr_TR"),
  ]);
  assert.deepEqual(values(tr), ["İSTANBUL"]);
  const sensitive = await runTensor("StringNormalizer", 10, [str(["is", "IS"])], [
    intAttr("is_case_sensitive", 1),
    stringsAttr("stopwords", ["is"]),
  ]);
  assert.deepEqual(values(sensitive), ["IS"]);
  const none = await runTensor("StringNormalizer", 10, [str(["is"], [1, 1])], [
    stringsAttr("stopwords", ["IS"]),
  ]);
  assert.deepEqual({ dims: none.dims, v: values(none) }, { dims: [1, 1], v: [""] });
  await assert.rejects(runOp("StringNormalizer", 10, [str(["a", "b"], [2, 1])]), RuntimeError);
});

Deno.test("StringSplit: multi-character delimiter, maxsplit, Unicode whitespace", async () => {
  const [y, z] = await runOp("StringSplit", 20, [str(["xabyabz", "ab", ""])], [
    stringAttr("delimiter", "ab"),
    intAttr("maxsplit", 1),
  ], 2);
  assert.deepEqual(plain(y), { dims: [3, 2], data: ["x", "yabz", "", "", "", ""], type: "string" });
  assert.deepEqual(plain(z), { dims: [3], data: [2, 2, 1], type: "int64" });
  const [w, n] = await runOp("StringSplit", 20, [str(["a\u3000b  c ", "   "], [1, 2])], [], 2);
  assert.deepEqual(plain(w).dims, [1, 2, 3]);
  assert.deepEqual(plain(w).data, ["a", "b", "c", "", "", ""]);
  assert.deepEqual(plain(n), { dims: [1, 2], data: [3, 0], type: "int64" });
});

Deno.test("StringConcat broadcasts", async () => {
  const t = await runTensor("StringConcat", 20, [str(["a", "b"], [2, 1]), str(["1", "2", "3"])]);
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual(values(t), ["a1", "a2", "a3", "b1", "b2", "b3"]);
  await assert.rejects(runOp("StringConcat", 20, [str(["a", "b"]), str(["1", "2", "3"])]));
});

const POOL = [
  stringsAttr("pool_strings", ["a", "c", "a", "b", "b", "c", "a", "c"]),
  intsAttr("ngram_counts", [0, 2]),
  intsAttr("ngram_indexes", [0, 1, 2, 3, 4]),
  intAttr("min_gram_length", 1),
  intAttr("max_gram_length", 2),
];

Deno.test("TfIdfVectorizer: unigrams counted once, skip-grams, TF/IDF/TFIDF", async () => {
  const x = str(["a", "b", "a", "b", "c"]);
  const run = (mode: string, extra: ReturnType<typeof intAttr>[] = []) =>
    runTensor("TfIdfVectorizer", 9, [x], [
      ...POOL,
      intAttr("max_skip_count", 1),
      stringAttr("mode", mode),
      ...extra,
    ]);
  // a:2, c:1; ab:2, bc:1 (adjacent); ac:1 (one skipped: positions 2, 4).
  assert.deepEqual(values(await run("TF")), [2, 1, 2, 1, 1]);
  const weights = floatsAttr("weights", [1, 2, 3, 4, 5]);
  assert.deepEqual(values(await run("TFIDF", [weights])), [2, 2, 6, 4, 5]);
  assert.deepEqual(values(await run("IDF", [weights])), [1, 2, 3, 4, 5]);
  assert.deepEqual(values(await run("IDF")), [1, 1, 1, 1, 1]);
});

Deno.test("TfIdfVectorizer: batches, int32 input against an int64 pool, min gram 2", async () => {
  const x = i32([1, 2, 3, 3, 3, 1], [2, 3]);
  const y = await runTensor("TfIdfVectorizer", 9, [x], [
    intsAttr("pool_int64s", [1, 3, 1, 2, 2, 3, 3, 3]),
    intsAttr("ngram_counts", [0, 2]),
    intsAttr("ngram_indexes", [5, 4, 0, 1, 2]),
    intAttr("min_gram_length", 2),
    intAttr("max_gram_length", 2),
    intAttr("max_skip_count", 0),
    stringAttr("mode", "TF"),
  ]);
  // Columns: 0 = (1,2), 1 = (2,3), 2 = (3,3), 4 = unigram 3, 5 = unigram 1 (not counted).
  assert.deepEqual(y.dims, [2, 6]);
  assert.deepEqual(values(y), [1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  await assert.rejects(
    runOp("TfIdfVectorizer", 9, [str(["a"])], [
      intsAttr("pool_int64s", [1]),
      intsAttr("ngram_counts", [0]),
      intsAttr("ngram_indexes", [0]),
      intAttr("min_gram_length", 1),
      intAttr("max_gram_length", 1),
      intAttr("max_skip_count", 0),
      stringAttr("mode", "TF"),
    ]),
    RuntimeError,
  );
});
