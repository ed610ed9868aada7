/**
 * Tests of the schema-level helpers: type strings, type constraints and the schema-based
 * output typing fallback.
 */

import assert from "node:assert/strict";
import { typeStringOf, valueTypeFromTypeString } from "../../pipeline/check/type_strings.ts";
import {
  checkTypeConstraints,
  formalAt,
  schemaOutputTypes,
  verifyNodeAgainstSchema,
} from "../../pipeline/check/schema_check.ts";
import { getSchema } from "../../ops/schema/mod.ts";
import type { ValueType } from "../../pipeline/tensor/value_type.ts";
import { intAttr, makeNode } from "../../pipeline/load/build.ts";

Deno.test("type strings round-trip between ValueType and the schema spelling", () => {
  const cases: [ValueType, string][] = [
    [{ kind: "tensor", elemType: "float32", shape: [2] }, "tensor(float)"],
    [{ kind: "tensor", elemType: "float64" }, "tensor(double)"],
    [{ kind: "sparse_tensor", elemType: "int32" }, "sparse_tensor(int32)"],
    [{ kind: "sequence", elem: { kind: "tensor", elemType: "int64" } }, "seq(tensor(int64))"],
    [{ kind: "optional", elem: { kind: "tensor", elemType: "bool" } }, "optional(tensor(bool))"],
    [
      { kind: "map", keyType: "string", value: { kind: "tensor", elemType: "float32" } },
      "map(string,tensor(float))",
    ],
    [
      {
        kind: "optional",
        elem: { kind: "sequence", elem: { kind: "tensor", elemType: "uint8" } },
      },
      "optional(seq(tensor(uint8)))",
    ],
  ];
  for (const [t, s] of cases) {
    assert.equal(typeStringOf(t), s);
    assert.equal(typeStringOf(valueTypeFromTypeString(s)), s);
  }
  assert.equal(typeStringOf({ kind: "tensor" }), undefined);
  assert.equal(typeStringOf({ kind: "sequence" }), undefined);
  assert.equal(valueTypeFromTypeString("T"), undefined);
  assert.equal(valueTypeFromTypeString("tensor(nonsense)"), undefined);
});

Deno.test("formalAt maps positions past the end onto a variadic last parameter", () => {
  const concat = getSchema("", "Concat", 13)!;
  assert.equal(formalAt(concat.inputs, 5)?.name, concat.inputs[0].name);
  const relu = getSchema("", "Relu", 14)!;
  assert.equal(formalAt(relu.inputs, 1), undefined);
});

function collect() {
  const found: string[] = [];
  return {
    found,
    report: (_s: string, code: string, message: string) => void found.push(`${code}: ${message}`),
  };
}

Deno.test("type constraints: disallowed types and inconsistent bindings", () => {
  const add = getSchema("", "Add", 14)!;
  const f32: ValueType = { kind: "tensor", elemType: "float32" };
  const i64: ValueType = { kind: "tensor", elemType: "int64" };
  const str: ValueType = { kind: "tensor", elemType: "string" };
  let c = collect();
  checkTypeConstraints(add, makeNode("Add", ["a", "b"], ["c"]), [f32, i64], [f32], c.report);
  assert.equal(c.found.length, 1);
  assert.match(
    c.found[0],
    /^type-constraint: Type parameter T of Add-14 is bound to tensor\(float\)/,
  );
  c = collect();
  checkTypeConstraints(add, makeNode("Add", ["a", "b"], ["c"]), [str, str], [undefined], c.report);
  assert.equal(c.found.length, 2);
  assert.match(c.found[0], /tensor\(string\), which type parameter T of Add-14 does not allow/);
  // Fixed types: Expand's shape input is tensor(int64).
  const expand = getSchema("", "Expand", 13)!;
  c = collect();
  checkTypeConstraints(expand, makeNode("Expand", ["x", "s"], ["y"]), [f32, f32], [f32], c.report);
  assert.equal(c.found.length, 1);
  assert.match(
    c.found[0],
    /Input 1 \(shape, "s"\) has type tensor\(float\), but Expand-13 requires tensor\(int64\)/,
  );
  c = collect();
  checkTypeConstraints(expand, makeNode("Expand", ["x", "s"], ["y"]), [f32, i64], [f32], c.report);
  assert.deepEqual(c.found, []);
});

Deno.test("schema fallback types outputs from bound type parameters and fixed types", () => {
  const f32: ValueType = { kind: "tensor", elemType: "float32", shape: [2, 3] };
  const add = getSchema("", "Add", 14)!;
  assert.deepEqual(schemaOutputTypes(add, makeNode("Add", ["a", "b"], ["c"]), [f32, undefined]), [
    { kind: "tensor", elemType: "float32" },
  ]);
  const nonzero = getSchema("", "NonZero", 13)!;
  assert.deepEqual(schemaOutputTypes(nonzero, makeNode("NonZero", ["a"], ["i"]), [f32]), [
    { kind: "tensor", elemType: "int64" },
  ]);
  const cast = getSchema("", "Cast", 13)!;
  assert.deepEqual(schemaOutputTypes(cast, makeNode("Cast", ["a"], ["b"]), [f32]), [undefined]);
});

Deno.test("verifyNodeAgainstSchema reports counts and attributes", () => {
  const conv = getSchema("", "Conv", 11)!;
  const c = collect();
  verifyNodeAgainstSchema(
    makeNode("Conv", ["x"], ["y", "z"], [intAttr("group", 1), intAttr("nope", 2)]),
    conv,
    c.report,
  );
  const codes = c.found.map((s) => s.split(":")[0]).sort();
  assert.deepEqual(codes, ["input-count", "output-count", "unknown-attribute"]);
  // Trailing omitted optional inputs are fine.
  const ok = collect();
  verifyNodeAgainstSchema(makeNode("Conv", ["x", "w", ""], ["y"]), conv, ok.report);
  assert.deepEqual(ok.found, []);
});
