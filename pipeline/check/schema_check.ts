/**
 * Checks of one node against its operator schema (input and output counts, attributes, type
 * constraints), the attribute well-formedness check, and the schema-based fallback that
 * types a node's outputs when its op declares no `infer` function.
 *
 * @module
 */

import type { Attribute, AttributeType, Node } from "../load/ir.ts";
import type { Finding } from "../errors.ts";
import type { ValueType } from "../tensor/value_type.ts";
import { type FormalParameter, type OpSchema, UNBOUNDED } from "../../ops/schema/mod.ts";
import { typeStringOf, valueTypeFromTypeString } from "./type_strings.ts";
import { withoutShape } from "../../ops/shape_infer.ts";

/** Receives one finding about the node being checked. */
export type Report = (severity: Finding["severity"], code: string, message: string) => void;

/** The formal parameter that binds position `i` (the last one when it is variadic). */
export function formalAt(
  params: readonly FormalParameter[],
  i: number,
): FormalParameter | undefined {
  if (i < params.length) return params[i];
  const last = params[params.length - 1];
  return last?.option === "variadic" ? last : undefined;
}

function countRange(min: number, max: number): string {
  if (min === max) return `exactly ${min}`;
  if (max >= UNBOUNDED) return `at least ${min}`;
  return `${min} to ${max}`;
}

function trimmedLength(names: readonly string[]): number {
  let n = names.length;
  while (n > 0 && names[n - 1] === "") n--;
  return n;
}

function schemaLabel(schema: OpSchema): string {
  return `${schema.opType}-${schema.since}`;
}

/**
 * Checks input/output counts, omitted required inputs/outputs and attributes (unknown name,
 * wrong type, required one missing) of `node` against `schema`.
 */
export function verifyNodeAgainstSchema(node: Node, schema: OpSchema, report: Report): void {
  const label = schemaLabel(schema);
  const nIn = node.input.length;
  if (trimmedLength(node.input) > schema.maxInputs || nIn < schema.minInputs) {
    report(
      "error",
      "input-count",
      `The node lists ${nIn} input(s); ${label} takes ${
        countRange(schema.minInputs, schema.maxInputs)
      }`,
    );
  }
  const nOut = node.output.length;
  if (trimmedLength(node.output) > schema.maxOutputs || nOut < schema.minOutputs) {
    report(
      "error",
      "output-count",
      `The node lists ${nOut} output(s); ${label} produces ${
        countRange(schema.minOutputs, schema.maxOutputs)
      }`,
    );
  }
  node.input.forEach((name, i) => {
    const p = formalAt(schema.inputs, i);
    if (name === "" && p?.option === "single") {
      report(
        "error",
        "missing-input",
        `Input ${i} (${p.name}) of ${label} is required, but the node gives it as ""`,
      );
    }
  });
  node.output.forEach((name, i) => {
    const p = formalAt(schema.outputs, i);
    if (name === "" && p?.option === "single") {
      report(
        "error",
        "missing-output",
        `Output ${i} (${p.name}) of ${label} is required, but the node gives it as ""`,
      );
    }
  });
  const byName = new Map(schema.attributes.map((a) => [a.name, a]));
  for (const attr of node.attribute) {
    const s = byName.get(attr.name);
    if (!s) {
      const known = schema.attributes.map((a) => a.name);
      report(
        "error",
        "unknown-attribute",
        `Attribute "${attr.name}" is not defined by ${label} (${
          known.length ? `known: ${known.join(", ")}` : "it takes no attributes"
        })`,
      );
    } else if (attr.type !== "UNDEFINED" && attr.type !== s.type) {
      report(
        "error",
        "attribute-type",
        `Attribute "${attr.name}" has type ${attr.type}, but ${label} expects ${s.type}`,
      );
    }
  }
  const present = new Set(node.attribute.map((a) => a.name));
  for (const s of schema.attributes) {
    if (s.required && !present.has(s.name)) {
      report(
        "error",
        "missing-attribute",
        `Required attribute "${s.name}" (${s.type}) of ${label} is missing`,
      );
    }
  }
}

/** The value kinds an attribute actually holds, by the AttributeType of each field. */
function heldKinds(a: Attribute): AttributeType[] {
  const out: AttributeType[] = [];
  if (a.f !== 0) out.push("FLOAT");
  if (a.i !== 0n) out.push("INT");
  if (a.s.length > 0) out.push("STRING");
  if (a.t) out.push("TENSOR");
  if (a.g) out.push("GRAPH");
  if (a.sparseTensor) out.push("SPARSE_TENSOR");
  if (a.tp) out.push("TYPE_PROTO");
  if (a.floats.length) out.push("FLOATS");
  if (a.ints.length) out.push("INTS");
  if (a.strings.length) out.push("STRINGS");
  if (a.tensors.length) out.push("TENSORS");
  if (a.graphs.length) out.push("GRAPHS");
  if (a.sparseTensors.length) out.push("SPARSE_TENSORS");
  if (a.typeProtos.length) out.push("TYPE_PROTOS");
  return out;
}

/**
 * The schema-independent checks of one attribute (like onnx's check_attribute): a name, a
 * type, a value only in the field of that type, and `ref_attr_name` only inside functions.
 */
export function checkAttributeForm(attr: Attribute, inFunction: boolean, report: Report): void {
  if (!attr.name) {
    report("error", "attribute-form", "An attribute has an empty name");
    return;
  }
  const held = heldKinds(attr);
  if (attr.refAttrName) {
    if (!inFunction) {
      report(
        "error",
        "attribute-form",
        `Attribute "${attr.name}" refers to a parent attribute "${attr.refAttrName}", which ` +
          `only a node inside a function may do`,
      );
    } else if (held.length > 0) {
      report(
        "error",
        "attribute-form",
        `Attribute "${attr.name}" refers to a parent attribute but also holds a value`,
      );
    }
    return;
  }
  if (attr.type === "UNDEFINED") {
    report(
      "error",
      "attribute-type",
      `Attribute "${attr.name}" has no type (AttributeProto.type is UNDEFINED)`,
    );
    return;
  }
  const others = held.filter((k) => k !== attr.type);
  if (others.length > 0) {
    report(
      "error",
      "attribute-form",
      `Attribute "${attr.name}" has type ${attr.type} but also holds a ${
        others.join(" and ")
      } value`,
    );
  }
  const needs: Partial<Record<AttributeType, boolean>> = {
    TENSOR: !attr.t,
    GRAPH: !attr.g,
    SPARSE_TENSOR: !attr.sparseTensor,
  };
  if (needs[attr.type]) {
    report(
      "error",
      "attribute-form",
      `Attribute "${attr.name}" has type ${attr.type} but holds no value`,
    );
  }
}

/**
 * Checks the type constraints of `schema` against the known types of a node's inputs and
 * outputs: each type must be allowed for its type parameter (or equal a fixed type), and a
 * type parameter must bind to one type across every homogeneous use.
 */
export function checkTypeConstraints(
  schema: OpSchema,
  node: Node,
  inputTypes: readonly (ValueType | undefined)[],
  outputTypes: readonly (ValueType | undefined)[],
  report: Report,
): void {
  const label = schemaLabel(schema);
  const bound = new Map<string, { ts: string; where: string }>();
  const visit = (
    params: readonly FormalParameter[],
    names: readonly string[],
    types: readonly (ValueType | undefined)[],
    side: "Input" | "Output",
  ) => {
    names.forEach((name, i) => {
      if (name === "") return;
      const p = formalAt(params, i);
      if (!p) return;
      const ts = typeStringOf(types[i]);
      if (!ts) return;
      const where = `${side.toLowerCase()} ${i} (${p.name}, "${name}")`;
      const allowed = schema.typeConstraints[p.type];
      if (allowed) {
        if (!allowed.includes(ts)) {
          report(
            "error",
            "type-constraint",
            `${side} ${i} (${p.name}, "${name}") has type ${ts}, which type parameter ${p.type} ` +
              `of ${label} does not allow (allowed: ${allowed.join(", ")})`,
          );
          return;
        }
        if (p.option === "variadic" && !p.homogeneous) return;
        const prev = bound.get(p.type);
        if (!prev) bound.set(p.type, { ts, where });
        else if (prev.ts !== ts) {
          report(
            "error",
            "type-constraint",
            `Type parameter ${p.type} of ${label} is bound to ${prev.ts} by ${prev.where} but ` +
              `to ${ts} by ${where}`,
          );
        }
        return;
      }
      const fixed = valueTypeFromTypeString(p.type);
      if (fixed && typeStringOf(fixed) !== ts) {
        report(
          "error",
          "type-constraint",
          `${side} ${i} (${p.name}, "${name}") has type ${ts}, but ${label} requires ${p.type}`,
        );
      }
    });
  };
  visit(schema.inputs, node.input, inputTypes, "Input");
  visit(schema.outputs, node.output, outputTypes, "Output");
}

/**
 * Output types from the schema alone: an output whose type parameter is bound by an input
 * gets that input's type without its shape; a fixed type, or a parameter allowing only one
 * type, gives that type; anything else stays unknown.
 */
export function schemaOutputTypes(
  schema: OpSchema,
  node: Node,
  inputTypes: readonly (ValueType | undefined)[],
): (ValueType | undefined)[] {
  const bound = new Map<string, ValueType>();
  node.input.forEach((name, i) => {
    if (name === "") return;
    const p = formalAt(schema.inputs, i);
    const t = inputTypes[i];
    if (!p || !t || !schema.typeConstraints[p.type] || bound.has(p.type)) return;
    if (p.option === "variadic" && !p.homogeneous) return;
    if (typeStringOf(t) === undefined) return;
    bound.set(p.type, t);
  });
  return node.output.map((name, i) => {
    if (name === "") return undefined;
    const p = formalAt(schema.outputs, i);
    if (!p) return undefined;
    const allowed = schema.typeConstraints[p.type];
    if (allowed) {
      if (p.option === "variadic" && !p.homogeneous) return undefined;
      const b = bound.get(p.type);
      if (b) return withoutShape(b);
      return allowed.length === 1 ? valueTypeFromTypeString(allowed[0]) : undefined;
    }
    return valueTypeFromTypeString(p.type);
  });
}
