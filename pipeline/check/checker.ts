/**
 * The model checker, like `onnx.checker.check_model(model, full_check=True)`: IR version,
 * opset imports, model-local functions, graph structure (names, SSA, topological order,
 * subgraphs with outer-scope visibility, graph outputs, initializer payloads), every node
 * against its operator schema (counts, attributes, type constraints), then type and shape
 * inference with symbolic dims. It collects every finding instead of stopping at the first.
 *
 * Inference calls each op's `infer` (from the registry) and falls back to the schema's type
 * constraints for ops without one. Constant inputs come from initializers (not overridable
 * ones), Constant nodes, nodes whose inputs are all constant (their CPU kernel runs on small
 * values, lazily, only when some `infer` asks), and fully known symbolic shape values such as
 * `Gather(Shape(x[N,64]), 1)` (see `symbolic.ts`). Inferred types are merged with value_info
 * and graph outputs; a conflict is an error naming the value.
 *
 * @example
 * ```ts
 * import { checkModel, formatFinding } from "./checker.ts";
 * import { loadModel } from "../load/load.ts";
 * const { model } = await loadModel("model.onnx");
 * const report = checkModel(model, { fullCheck: true });
 * for (const f of report.findings) console.log(formatFinding(f));
 * ```
 *
 * @module
 */

import type {
  Attribute,
  FunctionProto,
  Graph,
  Model,
  Node,
  TensorProto,
  ValueInfo,
} from "../load/ir.ts";
import { CheckError, type Finding, RuntimeError, UnsupportedError } from "../errors.ts";
import {
  type ExternalDataReader,
  sparseTensorFromProto,
  tensorFromProto,
} from "../load/tensor_proto.ts";
import { dataTypeFromCode } from "../tensor/dtype.ts";
import { Tensor } from "../tensor/tensor.ts";
import { formatValueType, type ValueType, valueTypeFromProto } from "../tensor/value_type.ts";
import { getSchema, type OpSchema, schemaVersions } from "../../ops/schema/mod.ts";
import { hasKernel, normalizeDomain, registeredOps, resolveOp } from "../../ops/registry.ts";
import type { InferContext, InferFn, OpContext, OpDef } from "../../ops/types.ts";
import { NodeAttributes } from "../run/attributes.ts";
import {
  checkAttributeForm,
  checkTypeConstraints,
  type Report,
  schemaOutputTypes,
  verifyNodeAgainstSchema,
} from "./schema_check.ts";
import { isStaticShape, mergeTypes } from "../../ops/shape_infer.ts";
import {
  symbolicFromTensor,
  symbolicOutput,
  type SymbolicValue,
  tensorFromSymbolic,
} from "./symbolic.ts";

/** Options of {@link checkModel}. */
export interface CheckOptions {
  /** Also run type and shape inference (like `full_check=True`). Default false. */
  fullCheck?: boolean;
  /** Custom domains the caller knows are implemented: no warning for their imports and ops. */
  customDomains?: string[];
  /** Reads tensors stored in external files; without it their payloads are not checked. */
  external?: ExternalDataReader;
}

/** What {@link checkModel} found. */
export interface CheckReport {
  /** True when no finding has severity `error`. */
  ok: boolean;
  /** Every finding, in the order found. */
  findings: Finding[];
  /**
   * With `fullCheck`: the type of every value whose type is known (declared or inferred).
   * Main-graph values are keyed by name; subgraph values by `<graph path>/<name>`.
   */
  inferredTypes?: Map<string, ValueType>;
  /**
   * With `fullCheck`: the ops met whose declaration has no `infer` function (their outputs
   * were typed from the schema only), as `Op` or `domain:Op`, with ` (not implemented)` when
   * the runtime has no declaration for that version at all. Sorted.
   */
  opsWithoutInfer?: string[];
}

/** The newest IR version this checker knows (onnx.proto's IR_VERSION). */
export const MAX_IR_VERSION = 14;

/** Newest opset version known for each standard domain ("" is ai.onnx). */
export const MAX_OPSET_VERSIONS: Readonly<Record<string, number>> = Object.freeze({
  "": 28,
  "ai.onnx.ml": 5,
  "ai.onnx.training": 1,
  "ai.onnx.preview.training": 1,
  "ai.onnx.preview": 1,
});

/** Removed experimental ops that onnx.checker still lets through with a warning. */
const EXPERIMENTAL_OPS = new Set([
  "ATen",
  "Affine",
  "ConstantFill",
  "Crop",
  "DynamicSlice",
  "GRUUnit",
  "GivenTensorFill",
  "ImageScaler",
  "ParametricSoftplus",
  "Scale",
  "ScaledTanh",
]);

/** Ops whose kernels are never run to fold constants (random, control flow, side effects). */
const NOT_FOLDABLE = new Set([
  "If",
  "Loop",
  "Scan",
  "SequenceMap",
  "RandomNormal",
  "RandomNormalLike",
  "RandomUniform",
  "RandomUniformLike",
  "Multinomial",
  "Bernoulli",
  "Dropout",
  "ImageDecoder",
]);

/** Ops whose outputs are tracked as symbolic shape values (see symbolic.ts). */
const SYMBOLIC_OPS = new Set([
  "Shape",
  "Identity",
  "Cast",
  "Gather",
  "Concat",
  "Unsqueeze",
  "Squeeze",
  "Slice",
]);

/** Largest total input element count a folded node may read. */
const FOLD_INPUT_LIMIT = 1 << 20;
/** Largest element count of a folded output kept as a constant. */
const FOLD_OUTPUT_LIMIT = 1 << 16;
/** Deepest graph nesting followed (the decoder already caps it lower). */
const MAX_DEPTH = 64;

/** A lazily computed constant value. */
type ConstThunk = () => Tensor | undefined;

/** One defined value of a scope. */
interface ValueEntry {
  /** Its type, when known. */
  type?: ValueType;
  /** How it was defined, for messages: "a graph input", "an initializer", "an output of ...". */
  origin: string;
  /** The node that produced it, when a node did. */
  producer?: Node;
}

/** The names visible in one graph, chained to the enclosing graph's scope. */
class Scope {
  readonly values = new Map<string, ValueEntry>();
  readonly consts = new Map<string, ConstThunk>();
  readonly syms = new Map<string, SymbolicValue>();
  readonly parent?: Scope;

  constructor(parent?: Scope) {
    this.parent = parent;
  }

  lookup(name: string): ValueEntry | undefined {
    const v = this.values.get(name);
    return v ?? this.parent?.lookup(name);
  }

  /** The constant bound to `name` in the scope that defines it (shadowing respected). */
  constant(name: string): ConstThunk | undefined {
    if (this.values.has(name)) return this.consts.get(name);
    return this.parent?.constant(name);
  }

  /** The symbolic value bound to `name` in the scope that defines it. */
  symbolic(name: string): SymbolicValue | undefined {
    if (this.values.has(name)) return this.syms.get(name);
    return this.parent?.symbolic(name);
  }
}

/** How one graph (or function body) is checked. */
interface GraphOptions {
  /** Path of the graph for findings: `main`, `main/loop.body`, `function:f`. */
  path: string;
  /** Enclosing scope (subgraphs); functions have none. */
  parent?: Scope;
  /** Opset version per normalized domain. */
  opsets: ReadonlyMap<string, number>;
  /** The model's main graph: inputs and outputs must declare types. */
  isMain: boolean;
  /** A function body: attributes may refer to the caller's attributes. */
  inFunction: boolean;
  /** Findings are not recorded (inference through a function call). */
  quiet: boolean;
  /** Run type and shape inference. */
  infer: boolean;
  /** Types bound to the graph inputs by the caller (inferGraph), in order. */
  inputTypes?: readonly (ValueType | undefined)[];
}

/** The state of one graph while its nodes are checked. */
interface GraphState extends GraphOptions {
  scope: Scope;
  /** Declared types of values (value_info and graph outputs). */
  declared: Map<string, ValueType>;
  /** Index of the first node producing each name in this graph. */
  producers: Map<string, number>;
  /** Nodes, for naming a producer in messages. */
  nodes: readonly Node[];
}

function lazy(f: () => Tensor | undefined): ConstThunk {
  let done = false;
  let value: Tensor | undefined;
  return () => {
    if (!done) {
      done = true;
      try {
        value = f();
      } catch {
        value = undefined;
      }
    }
    return value;
  };
}

function nodeLabel(node: Node, index: number): string {
  return node.name || `#${index}`;
}

function domainName(domain: string): string {
  return domain === "" ? "ai.onnx" : domain;
}

function functionKey(domain: string, name: string, overload: string): string {
  return `${normalizeDomain(domain)}\u0000${name}\u0000${overload}`;
}

function functionLabel(fn: FunctionProto): string {
  const base = fn.domain ? `${fn.domain}.${fn.name}` : fn.name;
  return fn.overload ? `${base}:${fn.overload}` : base;
}

function sentence(message: string): string {
  return message.length ? message[0].toUpperCase() + message.slice(1) : message;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function valueInfo(name: string): ValueInfo {
  return { name, docString: "", metadataProps: [] };
}

/** A function body as a graph (inputs and outputs untyped). */
function functionGraph(fn: FunctionProto, nodes: Node[]): Graph {
  return {
    node: nodes,
    name: fn.name,
    initializer: [],
    sparseInitializer: [],
    docString: "",
    input: fn.input.map(valueInfo),
    output: fn.output.map(valueInfo),
    valueInfo: fn.valueInfo,
    quantizationAnnotation: [],
    metadataProps: [],
  };
}

/** The value of a Constant node from whichever value attribute it sets. */
function constantFromNode(node: Node, external?: ExternalDataReader): Tensor | undefined {
  const attrs = new NodeAttributes(node, external);
  if (attrs.has("value")) return attrs.tensor("value");
  if (attrs.has("sparse_value")) return attrs.sparseTensor("sparse_value");
  if (attrs.has("value_float")) return new Tensor("float32", [attrs.float("value_float")], []);
  if (attrs.has("value_floats")) {
    const v = attrs.floats("value_floats");
    return new Tensor("float32", Float32Array.from(v), [v.length]);
  }
  if (attrs.has("value_int")) {
    return new Tensor("int64", BigInt64Array.of(attrs.bigint("value_int")), []);
  }
  if (attrs.has("value_ints")) {
    const v = attrs.bigints("value_ints");
    return new Tensor("int64", BigInt64Array.from(v), [v.length]);
  }
  if (attrs.has("value_string")) return new Tensor("string", [attrs.string("value_string")], []);
  if (attrs.has("value_strings")) {
    const v = attrs.strings("value_strings");
    return new Tensor("string", v, [v.length]);
  }
  return undefined;
}

class Checker {
  readonly findings: Finding[] = [];
  readonly inferred = new Map<string, ValueType>();
  readonly noInfer = new Set<string>();
  readonly model: Model;
  readonly full: boolean;
  readonly external?: ExternalDataReader;
  readonly custom: Set<string>;
  readonly irVersion: number;
  readonly functions = new Map<string, FunctionProto>();
  readonly functionOpsets = new Map<FunctionProto, Map<string, number>>();
  readonly registryDomains: Set<string>;
  readonly functionDomains: Set<string>;
  readonly #seen = new Set<string>();
  readonly #activeCalls = new Set<FunctionProto>();
  #depth = 0;

  constructor(model: Model, options: CheckOptions) {
    this.model = model;
    this.full = options.fullCheck ?? false;
    this.external = options.external;
    this.custom = new Set((options.customDomains ?? []).map(normalizeDomain));
    this.irVersion = model.irVersion;
    this.registryDomains = new Set(registeredOps().map((d) => normalizeDomain(d.domain)));
    this.functionDomains = new Set(model.functions.map((f) => normalizeDomain(f.domain)));
  }

  add(f: Finding, quiet = false): void {
    if (quiet) return;
    const key = `${f.severity}|${f.code}|${f.graph ?? ""}|${f.node ?? ""}|${f.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const clean: Finding = { severity: f.severity, code: f.code, message: f.message };
    if (f.node !== undefined) clean.node = f.node;
    if (f.opType !== undefined) clean.opType = f.opType;
    if (f.graph !== undefined) clean.graph = f.graph;
    this.findings.push(clean);
  }

  run(): void {
    const model = this.model;
    const top: Report = (severity, code, message) => this.add({ severity, code, message });
    const ir = model.irVersion;
    if (!ir || ir <= 0 || !Number.isInteger(ir)) {
      top("error", "ir-version", "The model has no IR version (ir_version is missing or 0)");
    } else if (ir > MAX_IR_VERSION) {
      top(
        "error",
        "ir-version",
        `IR version ${ir} is newer than the newest this checker knows (${MAX_IR_VERSION})`,
      );
    }
    const opsets = this.checkOpsetImports(model.opsetImport, "The model", top);
    if (ir >= 3 && model.opsetImport.length === 0) {
      top(
        "error",
        "opset-import",
        `The model has no opset imports, which IR version ${ir} (>= 3) requires`,
      );
    } else if (ir > 0 && ir < 3) {
      if (model.opsetImport.length > 0) {
        top(
          "error",
          "opset-import",
          `The model has IR version ${ir} (< 3), which cannot list opset imports`,
        );
      } else opsets.set("", 1);
    }
    const keys = new Set<string>();
    for (const { key } of model.metadataProps) {
      if (keys.has(key)) {
        top("error", "metadata", `The model's metadata_props has the key "${key}" more than once`);
      }
      keys.add(key);
    }
    for (const fn of model.functions) {
      const where = `function:${functionLabel(fn)}`;
      const key = functionKey(fn.domain, fn.name, fn.overload);
      if (this.functions.has(key)) {
        this.add({
          severity: "error",
          code: "duplicate-function",
          message: `Function "${functionLabel(fn)}" is defined more than once`,
          graph: where,
        });
      } else this.functions.set(key, fn);
    }
    for (const fn of model.functions) this.checkFunction(fn, opsets);
    if (!model.graph) {
      top("error", "missing-graph", "The model has no graph");
    } else {
      if (!model.graph.name) {
        this.add({
          severity: "warning",
          code: "graph-name",
          message: "The main graph has an empty name",
          graph: "main",
        });
      }
      this.checkGraph(model.graph, {
        path: "main",
        opsets,
        isMain: true,
        inFunction: false,
        quiet: false,
        infer: this.full,
      });
    }
  }

  /** Validates a list of opset imports; returns the version per normalized domain. */
  checkOpsetImports(
    imports: readonly { domain: string; version: number }[],
    who: string,
    report: Report,
  ): Map<string, number> {
    const map = new Map<string, number>();
    for (const imp of imports) {
      const d = normalizeDomain(imp.domain);
      const prev = map.get(d);
      if (prev !== undefined) {
        report(
          "error",
          "opset-import",
          `${who} imports domain ${
            domainName(d)
          } more than once (versions ${prev} and ${imp.version})`,
        );
        continue;
      }
      map.set(d, imp.version);
      const max = MAX_OPSET_VERSIONS[d];
      if (!Number.isInteger(imp.version) || imp.version < 1) {
        report(
          "error",
          "opset-import",
          `${who} imports domain ${domainName(d)} at invalid version ${imp.version}`,
        );
      } else if (max !== undefined) {
        if (imp.version > max) {
          report(
            "error",
            "opset-import",
            `${who} imports domain ${domainName(d)} at version ${imp.version}, newer than the ` +
              `newest known version ${max}`,
          );
        }
      } else if (
        !this.custom.has(d) && !this.registryDomains.has(d) && !this.functionDomains.has(d)
      ) {
        report(
          "warning",
          "unknown-domain",
          `${who} imports custom domain "${d}" (version ${imp.version}), which this checker ` +
            `does not know; its ops are not checked`,
        );
      }
    }
    return map;
  }

  checkFunction(fn: FunctionProto, modelOpsets: ReadonlyMap<string, number>): void {
    const path = `function:${functionLabel(fn)}`;
    const report: Report = (severity, code, message) =>
      this.add({ severity, code, message, graph: path });
    if (!fn.name) report("error", "function", "A model-local function has an empty name");
    const dup = (list: readonly string[], what: string) => {
      const seen = new Set<string>();
      for (const n of list) {
        if (seen.has(n)) {
          report("error", "function", `Function "${fn.name}" lists ${what} "${n}" more than once`);
        }
        seen.add(n);
      }
    };
    dup(fn.input, "input");
    dup(fn.output, "output");
    dup([...fn.attribute, ...fn.attributeProto.map((a) => a.name)], "attribute");
    const own = this.checkOpsetImports(fn.opsetImport, `Function "${fn.name}"`, report);
    for (const [d, v] of own) {
      const mv = modelOpsets.get(d);
      if (mv !== undefined && mv !== v) {
        report(
          "warning",
          "function-opset",
          `Function "${fn.name}" imports ${domainName(d)} version ${v}, but the model imports ` +
            `version ${mv}`,
        );
      }
    }
    const opsets = new Map(modelOpsets);
    for (const [d, v] of own) opsets.set(d, v);
    this.functionOpsets.set(fn, opsets);
    this.checkGraph(functionGraph(fn, fn.node), {
      path,
      opsets,
      isMain: false,
      inFunction: true,
      quiet: false,
      infer: false,
    });
  }

  /** Decodes a tensor to check its payload; reports a finding and returns undefined on failure. */
  decodeTensor(tp: TensorProto, what: string, code: string, report: Report): Tensor | undefined {
    if (tp.dataType === 0) {
      report("error", code, `${what} has data_type UNDEFINED`);
      return undefined;
    }
    if (tp.dataLocation === 1 && !this.external) {
      if (!tp.externalData.some((e) => e.key === "location")) {
        report("error", code, `${what} is stored externally but has no location`);
      }
      return undefined;
    }
    try {
      return tensorFromProto(tp, this.external);
    } catch (e) {
      report("error", code, `${what} is invalid: ${errorMessage(e)}`);
      return undefined;
    }
  }

  checkValueInfoType(vi: ValueInfo, what: string, isMain: boolean, report: Report): void {
    const tp = vi.type;
    const tensor = tp?.tensorType ?? tp?.sparseTensorType;
    if (tensor && tensor.elemType !== 0 && dataTypeFromCode(tensor.elemType) === undefined) {
      report(
        "error",
        "invalid-type",
        `${what} "${vi.name}" has an unknown element type ${tensor.elemType}`,
      );
    }
    if (!isMain) return;
    const hasKind = tp &&
      (tp.tensorType || tp.sparseTensorType || tp.sequenceType || tp.mapType ||
        tp.optionalType || tp.opaqueType);
    if (!hasKind) {
      report(
        "error",
        "missing-type",
        `${what} "${vi.name}" has no type; the main graph must declare the types of its ` +
          `inputs and outputs`,
      );
    } else if (tensor && tensor.elemType === 0) {
      report("error", "missing-type", `${what} "${vi.name}" has no element type`);
    }
  }

  checkGraph(graph: Graph, o: GraphOptions): (ValueType | undefined)[] {
    if (this.#depth >= MAX_DEPTH) return [];
    this.#depth++;
    try {
      return this.#checkGraph(graph, o);
    } finally {
      this.#depth--;
    }
  }

  #checkGraph(graph: Graph, o: GraphOptions): (ValueType | undefined)[] {
    const scope = new Scope(o.parent);
    const report: Report = (severity, code, message) =>
      this.add({ severity, code, message, graph: o.path }, o.quiet);
    const infer = this.full && o.infer;

    const declared = new Map<string, ValueType>();
    for (const vi of [...graph.valueInfo, ...graph.output]) {
      if (!vi.name) continue;
      const t = valueTypeFromProto(vi.type);
      if (!t) continue;
      const prev = declared.get(vi.name);
      declared.set(vi.name, prev ? mergeTypes(prev, t).value ?? t : t);
    }

    const inputNames = this.#defineInputs(graph, scope, o, report);
    const initNames = this.#defineInitializers(graph, scope, inputNames, o, report);
    this.#defineSparseInitializers(graph, scope, inputNames, initNames, o, report);

    const producers = new Map<string, number>();
    graph.node.forEach((n, k) => {
      for (const out of n.output) if (out && !producers.has(out)) producers.set(out, k);
    });
    const state: GraphState = { ...o, infer, scope, declared, producers, nodes: graph.node };
    graph.node.forEach((node, k) => this.checkNode(node, k, state));

    const outTypes = this.#checkOutputs(graph, scope, o, report);
    if (infer && !o.quiet) {
      const prefix = o.isMain ? "" : `${o.path}/`;
      for (const [name, v] of scope.values) if (v.type) this.inferred.set(prefix + name, v.type);
    }
    return outTypes;
  }

  /** Defines the graph inputs (typed by the caller's types when given); returns their names. */
  #defineInputs(graph: Graph, scope: Scope, o: GraphOptions, report: Report): Set<string> {
    const inputNames = new Set<string>();
    graph.input.forEach((vi, i) => {
      if (!vi.name) {
        report("error", "empty-name", `Graph input ${i} has an empty name`);
        return;
      }
      this.checkValueInfoType(vi, "Graph input", o.isMain, report);
      if (inputNames.has(vi.name)) {
        report("error", "ssa", `Graph input "${vi.name}" is listed more than once`);
        return;
      }
      inputNames.add(vi.name);
      let t = valueTypeFromProto(vi.type);
      if (o.inputTypes && i < o.inputTypes.length) {
        const m = mergeTypes(t, o.inputTypes[i]);
        if (m.conflict) {
          report(
            "error",
            m.conflict === "shape" ? "shape-conflict" : "type-conflict",
            `Graph input "${vi.name}" is declared as ${formatValueType(t)} but receives ${
              formatValueType(o.inputTypes[i])
            }: ${m.message}`,
          );
        }
        t = m.value;
      }
      scope.values.set(vi.name, { type: t, origin: "a graph input" });
    });

    return inputNames;
  }

  /** Defines and checks the initializers; returns their names. */
  #defineInitializers(
    graph: Graph,
    scope: Scope,
    inputNames: ReadonlySet<string>,
    o: GraphOptions,
    report: Report,
  ): Set<string> {
    const listed: string[] = [];
    const initNames = new Set<string>();
    graph.initializer.forEach((tp, i) => {
      if (!tp.name) {
        report("error", "empty-name", `Initializer ${i} has an empty name`);
        this.decodeTensor(tp, `Initializer ${i}`, "initializer", report);
        return;
      }
      const name = tp.name;
      if (initNames.has(name)) {
        report("error", "ssa", `Initializer "${name}" is defined more than once`);
        return;
      }
      initNames.add(name);
      const isInput = inputNames.has(name);
      if (this.irVersion > 0 && this.irVersion < 4 && !isInput) {
        report(
          "error",
          "initializer-not-input",
          `Initializer "${name}" is not listed in graph.input, which IR version ${this.irVersion} ` +
            `(< 4) requires`,
        );
      }
      if (this.irVersion >= 4 && isInput) listed.push(name);
      if (!isInput && o.parent?.lookup(name)) {
        report(
          "error",
          "ssa",
          `Initializer "${name}" redefines a value of an enclosing graph`,
        );
      }
      const tensor = this.decodeTensor(tp, `Initializer "${name}"`, "initializer", report);
      const itype: ValueType = {
        kind: "tensor",
        elemType: dataTypeFromCode(tp.dataType),
        shape: [...tp.dims],
      };
      const constant = tensor && (!isInput || this.irVersion < 4) ? () => tensor : undefined;
      const entry = scope.values.get(name);
      if (isInput && entry) {
        const m = mergeTypes(entry.type, itype);
        if (m.conflict) {
          report(
            "error",
            m.conflict === "shape" ? "shape-conflict" : "type-conflict",
            `Initializer "${name}" of type ${formatValueType(itype)} does not match its graph ` +
              `input's declared type ${formatValueType(entry.type)}: ${m.message}`,
          );
        }
        entry.type = m.value;
      } else if (!isInput) {
        scope.values.set(name, { type: itype, origin: "an initializer" });
      }
      if (constant) scope.consts.set(name, constant);
    });
    if (listed.length > 0) {
      const shown = listed.slice(0, 3).map((n) => `"${n}"`).join(", ");
      report(
        "warning",
        "initializer-in-input",
        `${listed.length} initializer(s) are also listed in graph.input (${shown}${
          listed.length > 3 ? ", ..." : ""
        }); with IR version ${this.irVersion} (>= 4) they are inputs with default values that ` +
          `callers may override, not constants`,
      );
    }

    return initNames;
  }

  /** Defines and checks the sparse initializers (as dense tensor values). */
  #defineSparseInitializers(
    graph: Graph,
    scope: Scope,
    inputNames: ReadonlySet<string>,
    initNames: Set<string>,
    o: GraphOptions,
    report: Report,
  ): void {
    graph.sparseInitializer.forEach((sp, i) => {
      const name = sp.values?.name ?? "";
      const what = name ? `Sparse initializer "${name}"` : `Sparse initializer ${i}`;
      if (!sp.values) {
        report("error", "sparse-initializer", `${what} has no values`);
        return;
      }
      if (!name) report("error", "empty-name", `${what} has an empty name`);
      if (sp.values.dims.length !== 1) {
        report(
          "error",
          "sparse-initializer",
          `${what} has values of rank ${sp.values.dims.length}; they must be 1-D`,
        );
      }
      if (sp.dims.length === 0) {
        report("error", "sparse-initializer", `${what} has a dense shape of rank 0`);
      }
      let dense: Tensor | undefined;
      try {
        dense = sparseTensorFromProto(sp, this.external);
      } catch (e) {
        report("error", "sparse-initializer", `${what} is invalid: ${errorMessage(e)}`);
      }
      if (!name) return;
      if (initNames.has(name) || (scope.values.has(name) && !inputNames.has(name))) {
        report("error", "ssa", `${what} has the name of another initializer`);
        return;
      }
      initNames.add(name);
      if (o.parent?.lookup(name) && !inputNames.has(name)) {
        report("error", "ssa", `${what} redefines a value of an enclosing graph`);
      }
      if (!scope.values.has(name)) {
        scope.values.set(name, {
          type: {
            kind: "tensor",
            elemType: dataTypeFromCode(sp.values.dataType),
            shape: [...sp.dims],
          },
          origin: "a sparse initializer",
        });
      }
      if (dense && (!inputNames.has(name) || this.irVersion < 4)) {
        const d = dense;
        scope.consts.set(name, () => d);
      }
    });
  }

  /** Checks the graph outputs are produced and typed; returns their types. */
  #checkOutputs(
    graph: Graph,
    scope: Scope,
    o: GraphOptions,
    report: Report,
  ): (ValueType | undefined)[] {
    return graph.output.map((vi, i) => {
      if (!vi.name) {
        report("error", "empty-name", `Graph output ${i} has an empty name`);
        return undefined;
      }
      this.checkValueInfoType(vi, "Graph output", o.isMain, report);
      const v = scope.lookup(vi.name);
      const d = valueTypeFromProto(vi.type);
      if (!v) {
        report(
          "error",
          "graph-output",
          `Graph output "${vi.name}" is not produced by any node, graph input or initializer`,
        );
        return d;
      }
      const m = mergeTypes(d, v.type);
      const fromLocalNode = v.producer !== undefined && scope.values.get(vi.name) === v;
      if (m.conflict && !fromLocalNode) {
        report(
          "error",
          m.conflict === "shape" ? "shape-conflict" : "type-conflict",
          `Graph output "${vi.name}" is declared as ${formatValueType(d)} but is ${
            formatValueType(v.type)
          }: ${m.message}`,
        );
      }
      return m.value;
    });
  }

  checkNode(node: Node, k: number, g: GraphState): void {
    const label = nodeLabel(node, k);
    const report: Report = (severity, code, message) =>
      this.add(
        { severity, code, message, node: label, opType: node.opType, graph: g.path },
        g.quiet,
      );
    if (!node.opType) report("error", "node-form", "The node has an empty op_type");
    if (node.input.length === 0 && node.output.length === 0) {
      report("error", "node-form", "The node has no inputs and no outputs");
    }
    this.#checkInputsDefined(node, k, g, report);
    this.#checkAttributes(node, g, report);
    const domain = normalizeDomain(node.domain);
    const { opset, schema, fn } = this.#resolve(node, domain, g, report);

    // Types: the op's infer function, a function body, or the schema alone.
    const inTypes = node.input.map((n) => (n ? g.scope.lookup(n)?.type : undefined));
    const visited = new Set<Graph>();
    let outTypes: (ValueType | undefined)[] = [];
    let def: OpDef | undefined;
    let version = 0;
    const constantValue = domain === "" && node.opType === "Constant"
      ? lazy(() => constantFromNode(node, this.external))
      : undefined;
    if (g.infer && opset !== undefined) {
      if (fn) outTypes = this.inferFunctionCall(node, fn, inTypes, g, label);
      else {
        const r = resolveOp(domain, node.opType, opset);
        if ("def" in r) {
          def = r.def;
          version = r.version;
        }
        if (def?.infer) {
          outTypes = this.runInfer(def.infer, node, opset, version, inTypes, g, visited, label);
        } else {
          const opName = domain === "" ? node.opType : `${domain}:${node.opType}`;
          this.noInfer.add(def ? opName : `${opName} (not implemented)`);
          if (schema) outTypes = schemaOutputTypes(schema, node, inTypes);
          const t = constantValue?.();
          if (t) outTypes = [{ kind: "tensor", elemType: t.type, shape: [...t.dims] }];
        }
      }
    }
    this.#checkRemainingSubgraphs(node, label, g, visited);
    const merged = this.#mergeOutputTypes(node, g, outTypes, report);
    if (schema) checkTypeConstraints(schema, node, inTypes, merged, report);
    this.#defineOutputs(node, label, g, merged, report);

    // Constants for later inference.
    if (constantValue) {
      const out = node.output[0];
      if (out && g.scope.values.get(out)?.producer === node) g.scope.consts.set(out, constantValue);
    } else if (g.infer && def && opset !== undefined) {
      this.registerFold(node, def, opset, version, g, label, merged);
    }
    if (g.infer && domain === "" && SYMBOLIC_OPS.has(node.opType)) {
      this.propagateSymbolic(node, schema?.since ?? version, g, inTypes);
    }
  }

  /** Every input must be defined earlier (or in an enclosing graph). */
  #checkInputsDefined(node: Node, k: number, g: GraphState, report: Report): void {
    for (const name of node.input) {
      if (!name || g.scope.lookup(name)) continue;
      const p = g.producers.get(name);
      if (p !== undefined && p >= k) {
        report(
          "error",
          "topological-order",
          `Input "${name}" is produced by node ${nodeLabel(g.nodes[p], p)}, which comes ${
            p === k ? "at the same place" : "later"
          } in the graph (nodes must be topologically sorted)`,
        );
      } else {
        report(
          "error",
          "undefined-input",
          `Input "${name}" is not a graph input, an initializer or an output of an earlier node${
            g.parent ? " in this graph or an enclosing one" : ""
          }`,
        );
      }
    }
  }

  /** Attribute well-formedness, duplicates, and the payloads of tensor attributes. */
  #checkAttributes(node: Node, g: GraphState, report: Report): void {
    const attrNames = new Set<string>();
    for (const a of node.attribute) {
      checkAttributeForm(a, g.inFunction, report);
      if (a.name && attrNames.has(a.name)) {
        report("error", "duplicate-attribute", `Attribute "${a.name}" is set more than once`);
      }
      attrNames.add(a.name);
      if (a.t) this.decodeTensor(a.t, `Tensor of attribute "${a.name}"`, "tensor-data", report);
      a.tensors.forEach((t, j) =>
        this.decodeTensor(t, `Tensor ${j} of attribute "${a.name}"`, "tensor-data", report)
      );
      for (const sp of [...(a.sparseTensor ? [a.sparseTensor] : []), ...a.sparseTensors]) {
        try {
          sparseTensorFromProto(sp, this.external);
        } catch (e) {
          report(
            "error",
            "tensor-data",
            `Sparse tensor of attribute "${a.name}" is invalid: ${errorMessage(e)}`,
          );
        }
      }
    }
  }

  /** Resolves the node to a model-local function or a schema and checks it against that. */
  #resolve(
    node: Node,
    domain: string,
    g: GraphState,
    report: Report,
  ): { opset?: number; schema?: OpSchema; fn?: FunctionProto } {
    const opset = g.opsets.get(domain);
    if (opset === undefined) {
      report(
        "error",
        "missing-opset-import",
        `The node uses domain ${domainName(domain)}, which the ${
          g.inFunction ? "function" : "model"
        } does not import`,
      );
      return {};
    }
    const fn = this.functions.get(functionKey(domain, node.opType, node.overload));
    if (fn) {
      this.verifyFunctionCall(node, fn, report);
      return { opset, fn };
    }
    const schema = getSchema(domain, node.opType, opset);
    if (!schema) {
      this.reportUnknownOp(node, domain, opset, report);
      return { opset };
    }
    if (schema.deprecated) {
      report(
        "warning",
        "deprecated-op",
        `${node.opType} is deprecated at ${domainName(domain)} opset ${opset} (since ` +
          `version ${schema.since}); the node is not checked against a schema`,
      );
      return { opset };
    }
    verifyNodeAgainstSchema(node, schema, report);
    return { opset, schema };
  }

  /** Checks the subgraphs that inference did not already visit. */
  #checkRemainingSubgraphs(node: Node, label: string, g: GraphState, visited: Set<Graph>): void {
    for (const a of node.attribute) {
      const subs = a.g ? [a.g] : [];
      subs.push(...a.graphs);
      subs.forEach((sub, j) => {
        if (visited.has(sub)) return;
        visited.add(sub);
        this.checkGraph(sub, {
          path: `${g.path}/${label}.${a.name}${a.graphs.length ? `[${j}]` : ""}`,
          parent: g.scope,
          opsets: g.opsets,
          isMain: false,
          inFunction: g.inFunction,
          quiet: g.quiet,
          infer: g.infer,
        });
      });
    }
  }

  /** Merges inferred output types with the declared ones, reporting conflicts. */
  #mergeOutputTypes(
    node: Node,
    g: GraphState,
    outTypes: readonly (ValueType | undefined)[],
    report: Report,
  ): (ValueType | undefined)[] {
    return node.output.map((name, i) => {
      if (!name) return undefined;
      const d = g.declared.get(name);
      const t = validInferred(outTypes[i], (bad) =>
        report(
          "error",
          "inference",
          `Output "${name}" was inferred with an invalid dimension ${bad} (${
            formatValueType(outTypes[i])
          }); the node's inputs or attributes are inconsistent`,
        ));
      const m = mergeTypes(d, t);
      if (m.conflict) {
        report(
          "error",
          m.conflict === "shape" ? "shape-conflict" : "type-conflict",
          `Output "${name}" is declared as ${formatValueType(d)} but inferred as ${
            formatValueType(t)
          }: ${m.message}`,
        );
      }
      return m.value;
    });
  }

  /** Defines the node's outputs, each exactly once across the graph and its enclosing ones. */
  #defineOutputs(
    node: Node,
    label: string,
    g: GraphState,
    types: readonly (ValueType | undefined)[],
    report: Report,
  ): void {
    node.output.forEach((name, i) => {
      if (!name) return;
      const prev = g.scope.lookup(name);
      if (prev) {
        const outer = !g.scope.values.has(name);
        report(
          "error",
          "ssa",
          `Value "${name}" is assigned more than once: it is already ${prev.origin}${
            outer ? " of an enclosing graph" : ""
          }`,
        );
        return;
      }
      g.scope.values.set(name, {
        type: types[i],
        origin: `an output of node ${label}`,
        producer: node,
      });
    });
  }

  /** Tracks shape-carrying values symbolically; fully known ones become constants. */
  propagateSymbolic(
    node: Node,
    version: number,
    g: GraphState,
    inTypes: readonly (ValueType | undefined)[],
  ): void {
    const out = node.output[0];
    if (!out || g.scope.values.get(out)?.producer !== node) return;
    const input = (i: number): SymbolicValue | undefined => {
      const name = node.input[i];
      if (!name) return undefined;
      return g.scope.symbolic(name) ?? symbolicFromTensor(g.scope.constant(name)?.());
    };
    let value: SymbolicValue | undefined;
    try {
      value = symbolicOutput(node, version, new NodeAttributes(node), input, (i) => inTypes[i]);
    } catch {
      return;
    }
    if (!value) return;
    g.scope.syms.set(out, value);
    const t = tensorFromSymbolic(value);
    if (t) {
      const folded = g.scope.consts.get(out);
      g.scope.consts.set(out, folded ? () => folded() ?? t : () => t);
    }
  }

  reportUnknownOp(node: Node, domain: string, opset: number, report: Report): void {
    const op = node.opType;
    if (domain === "" && EXPERIMENTAL_OPS.has(op)) {
      report(
        "warning",
        "experimental-op",
        `${op} is a removed experimental operator; update the model to standard operators`,
      );
    } else if (domain in MAX_OPSET_VERSIONS) {
      const versions = schemaVersions(domain, op);
      report(
        "error",
        "unknown-op",
        versions.length > 0
          ? `${op} does not exist at ${domainName(domain)} opset ${opset}; it first appears ` +
            `at opset ${versions[0]}`
          : `${op} is not an operator of domain ${domainName(domain)}`,
      );
    } else if (!hasKernel(domain, op) && !this.custom.has(domain)) {
      report(
        "warning",
        "unknown-op",
        `${op} of custom domain "${domain}" is unknown to this checker, so the node is not ` +
          `checked against a schema`,
      );
    }
  }

  verifyFunctionCall(node: Node, fn: FunctionProto, report: Report): void {
    const label = functionLabel(fn);
    const trim = (names: readonly string[]) => {
      let n = names.length;
      while (n > 0 && names[n - 1] === "") n--;
      return n;
    };
    if (trim(node.input) > fn.input.length) {
      report(
        "error",
        "input-count",
        `The node lists ${node.input.length} input(s); function ${label} takes at most ${fn.input.length}`,
      );
    }
    if (trim(node.output) > fn.output.length) {
      report(
        "error",
        "output-count",
        `The node lists ${node.output.length} output(s); function ${label} has ${fn.output.length}`,
      );
    }
    const known = new Set([...fn.attribute, ...fn.attributeProto.map((a) => a.name)]);
    for (const a of node.attribute) {
      if (a.name && !known.has(a.name)) {
        report(
          "error",
          "unknown-attribute",
          `Attribute "${a.name}" is not declared by function ${label}`,
        );
      }
    }
  }

  runInfer(
    infer: InferFn,
    node: Node,
    opset: number,
    version: number,
    inTypes: readonly (ValueType | undefined)[],
    g: GraphState,
    visited: Set<Graph>,
    label: string,
  ): (ValueType | undefined)[] {
    const report: Report = (severity, code, message) =>
      this.add(
        { severity, code, message, node: label, opType: node.opType, graph: g.path },
        g.quiet,
      );
    const ctx: InferContext = {
      node,
      opset,
      version,
      attrs: new NodeAttributes(node, this.external),
      inputCount: node.input.length,
      input: (i) => inTypes[i],
      hasInput: (i) => i >= 0 && i < node.input.length && node.input[i] !== "",
      constant: (i) => {
        const name = node.input[i];
        return name ? g.scope.constant(name)?.() : undefined;
      },
      inferGraph: (graph, types) => {
        visited.add(graph);
        return this.checkGraph(graph, {
          path: `${g.path}/${label}.${subgraphName(node, graph)}`,
          parent: g.scope,
          opsets: g.opsets,
          isMain: false,
          inFunction: g.inFunction,
          quiet: g.quiet,
          infer: true,
          inputTypes: types,
        });
      },
      error: (message) => report("error", "inference", sentence(message)),
    };
    try {
      const out = infer(ctx);
      return Array.isArray(out) ? out : [];
    } catch (e) {
      report(
        "warning",
        "infer-failed",
        `Type and shape inference of ${node.opType} failed: ${errorMessage(e)}`,
      );
      return [];
    }
  }

  /** Infers a call of a model-local function by inferring its body with the call's types. */
  inferFunctionCall(
    node: Node,
    fn: FunctionProto,
    inTypes: readonly (ValueType | undefined)[],
    g: GraphState,
    label: string,
  ): (ValueType | undefined)[] {
    if (this.#activeCalls.has(fn)) return [];
    this.#activeCalls.add(fn);
    try {
      const given = new Map(node.attribute.map((a) => [a.name, a]));
      const defaults = new Map(fn.attributeProto.map((a) => [a.name, a]));
      const nodes = fn.node.map((n): Node => ({
        ...n,
        attribute: n.attribute.flatMap((a): Attribute[] => {
          if (!a.refAttrName) return [a];
          const src = given.get(a.refAttrName) ?? defaults.get(a.refAttrName);
          return src ? [{ ...src, name: a.name, refAttrName: "" }] : [];
        }),
      }));
      return this.checkGraph(functionGraph(fn, nodes), {
        path: `${g.path}/${label}:${functionLabel(fn)}`,
        opsets: this.functionOpsets.get(fn) ?? g.opsets,
        isMain: false,
        inFunction: false,
        quiet: true,
        infer: true,
        inputTypes: inTypes,
      });
    } finally {
      this.#activeCalls.delete(fn);
    }
  }

  /** Makes a node's outputs lazily known constants when all its inputs are constants. */
  registerFold(
    node: Node,
    def: OpDef,
    opset: number,
    version: number,
    g: GraphState,
    label: string,
    outTypes: readonly (ValueType | undefined)[],
  ): void {
    const mine = (name: string) => name !== "" && g.scope.values.get(name)?.producer === node;
    if (normalizeDomain(node.domain) === "" && node.opType === "Size") {
      const t = node.input[0] ? g.scope.lookup(node.input[0])?.type : undefined;
      const shape = t?.kind === "tensor" ? t.shape : undefined;
      const out = node.output[0];
      if (isStaticShape(shape) && out && mine(out)) {
        const n = shape.reduce((a, b) => a * b, 1);
        const value = new Tensor("int64", BigInt64Array.of(BigInt(n)), []);
        g.scope.consts.set(out, () => value);
        return;
      }
    }
    if (NOT_FOLDABLE.has(node.opType)) return;
    // Only outputs inferred as small static tensors are folded, so a kernel never allocates
    // something huge (ConstantOfShape, Range, Expand, Tile driven by hostile constants).
    const small = node.output.every((name, i) => {
      if (!name) return true;
      const t = outTypes[i];
      if (t?.kind !== "tensor" || !isStaticShape(t.shape)) return false;
      return t.shape.reduce((a, b) => a * b, 1) <= FOLD_OUTPUT_LIMIT;
    });
    if (!small) return;
    const thunks: (ConstThunk | null)[] = [];
    for (const name of node.input) {
      if (!name) {
        thunks.push(null);
        continue;
      }
      const c = g.scope.constant(name);
      if (!c) return;
      thunks.push(c);
    }
    if (thunks.length === 0) return;
    let done = false;
    let results: (Tensor | undefined)[] | undefined;
    const run = () => {
      if (!done) {
        done = true;
        results = this.fold(node, def, opset, version, thunks, label);
      }
      return results;
    };
    node.output.forEach((name, i) => {
      if (mine(name)) g.scope.consts.set(name, () => run()?.[i]);
    });
  }

  fold(
    node: Node,
    def: OpDef,
    opset: number,
    version: number,
    thunks: readonly (ConstThunk | null)[],
    label: string,
  ): (Tensor | undefined)[] | undefined {
    const inputs: (Tensor | undefined)[] = [];
    let total = 0;
    for (const t of thunks) {
      if (t === null) {
        inputs.push(undefined);
        continue;
      }
      const v = t();
      if (!v) return undefined;
      total += v.size;
      if (total > FOLD_INPUT_LIMIT) return undefined;
      inputs.push(v);
    }
    const where = `${node.opType} node ${label}`;
    const ctx: OpContext = {
      node,
      nodeName: label,
      opset,
      version,
      attrs: new NodeAttributes(node, this.external),
      options: { int8Accumulation: "exact" },
      outputCount: node.output.length,
      wantsOutput: (i) => i >= 0 && i < node.output.length && node.output[i] !== "",
      runGraph: () => Promise.reject(new RuntimeError(`${where}: subgraphs are not folded`)),
      random: () => {
        throw new RuntimeError(`${where}: random ops are not folded`);
      },
      unsupported: (message, dtype) =>
        new UnsupportedError(`${where}: ${message}`, { opType: node.opType, node: label, dtype }),
      fail: (message) =>
        new RuntimeError(`${where}: ${message}`, { opType: node.opType, node: label }),
    };
    try {
      const r = def.cpu(ctx, inputs);
      if (r instanceof Promise) {
        r.catch(() => {});
        return undefined;
      }
      return r.map((v) =>
        v instanceof Tensor && v.location === "cpu" && v.size <= FOLD_OUTPUT_LIMIT ? v : undefined
      );
    } catch {
      return undefined;
    }
  }
}

/**
 * An inferred type with every dim that is not a non-negative integer (or a name) replaced by
 * unknown; `bad` is told about the first such dim.
 */
function validInferred(
  t: ValueType | undefined,
  bad: (dim: number) => void,
): ValueType | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case "tensor":
    case "sparse_tensor": {
      if (!t.shape) return t;
      const wrong = t.shape.find((d) =>
        typeof d === "number" && !(Number.isSafeInteger(d) && d >= 0)
      );
      if (wrong === undefined) return t;
      bad(wrong as number);
      return {
        ...t,
        shape: t.shape.map((d) =>
          typeof d === "number" && !(Number.isSafeInteger(d) && d >= 0) ? undefined : d
        ),
      };
    }
    case "sequence":
    case "optional":
      return { kind: t.kind, elem: validInferred(t.elem, bad) };
    case "map":
      return { ...t, value: validInferred(t.value, bad) };
    case "opaque":
      return t;
  }
}

/** The name of the attribute holding `graph`, for graph paths. */
function subgraphName(node: Node, graph: Graph): string {
  for (const a of node.attribute) {
    if (a.g === graph) return a.name;
    const j = a.graphs.indexOf(graph);
    if (j >= 0) return `${a.name}[${j}]`;
  }
  return "subgraph";
}

/**
 * Checks a model like `onnx.checker.check_model` (with `fullCheck`, like `full_check=True`:
 * type and shape inference too) and returns every finding; never throws on a bad model.
 */
export function checkModel(model: Model, options: CheckOptions = {}): CheckReport {
  const checker = new Checker(model, options);
  checker.run();
  const findings = checker.findings;
  const report: CheckReport = {
    ok: !findings.some((f) => f.severity === "error"),
    findings,
  };
  if (options.fullCheck) {
    report.inferredTypes = checker.inferred;
    report.opsWithoutInfer = [...checker.noInfer].sort();
  }
  return report;
}

const SEVERITY_ORDER: Record<Finding["severity"], number> = { error: 0, warning: 1, info: 2 };

/**
 * Checks a model (full check by default) and throws a CheckError listing every finding,
 * errors first, when any finding is an error. Returns the report otherwise.
 */
export function assertValidModel(model: Model, options: CheckOptions = {}): CheckReport {
  const report = checkModel(model, { fullCheck: true, ...options });
  if (!report.ok) {
    const sorted = [...report.findings].sort((a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]
    );
    throw new CheckError(sorted);
  }
  return report;
}

/**
 * One line describing a finding, for CLI output, e.g.
 * `error [ssa] main, node conv1 (Conv): Value "x" is assigned more than once: ...`.
 */
export function formatFinding(f: Finding): string {
  const where: string[] = [];
  if (f.graph) where.push(f.graph);
  if (f.node) where.push(`node ${f.node}${f.opType ? ` (${f.opType})` : ""}`);
  const message = f.message.replace(/\s*\n\s*/g, " ");
  return `${f.severity} [${f.code}]${where.length ? ` ${where.join(", ")}` : ""}: ${message}`;
}
