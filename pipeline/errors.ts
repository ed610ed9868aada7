/**
 * Typed errors raised by every stage. Each carries structured fields so that callers (the
 * pipeline runner, the conformance runner, user code) can react without parsing messages.
 *
 * @module
 */

/** Base class of every error this library raises on purpose. */
export class OnnxError extends Error {
  /** Creates an error with a sentence-case message and an optional cause. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A model file or tensor file that cannot be decoded: truncated, malformed or hostile. */
export class ModelFormatError extends OnnxError {
  /** Where the bad bytes came from (a path, URL or "<bytes>"), when known. */
  readonly source?: string;
  /** Creates the error; `source` names the file or URL. */
  constructor(message: string, options?: { source?: string; cause?: unknown }) {
    super(message, options);
    this.source = options?.source;
  }
}

/** One problem found by the checker. */
export interface Finding {
  /** `error` makes a model invalid; `warning` and `info` do not. */
  severity: "error" | "warning" | "info";
  /** Short stable code, e.g. `unknown-op`, `ssa`, `topological-order`. */
  code: string;
  /** Sentence-case description of the problem. */
  message: string;
  /** Name (or `#index` when unnamed) of the node the finding is about. */
  node?: string;
  /** Op type of that node. */
  opType?: string;
  /** Path of the graph inside the model, e.g. `main` or `main/If_0.then_branch`. */
  graph?: string;
}

/** The checker found errors; `findings` lists all of them, not only the first. */
export class CheckError extends OnnxError {
  /** Every finding, errors first. */
  readonly findings: Finding[];
  /** Creates the error from a list of findings. */
  constructor(findings: Finding[]) {
    const errors = findings.filter((f) => f.severity === "error");
    const head = errors.slice(0, 5).map((f) =>
      `  - ${f.node ? `node ${f.node}${f.opType ? ` (${f.opType})` : ""}: ` : ""}${f.message}`
    );
    const more = errors.length > 5 ? `\n  ... and ${errors.length - 5} more` : "";
    super(`Model check failed with ${errors.length} error(s):\n${head.join("\n")}${more}`);
    this.findings = findings;
  }
}

/** An operator, an opset version, an attribute value or a dtype that is not implemented. */
export class UnsupportedError extends OnnxError {
  /** The op type, when the error is about one. */
  readonly opType?: string;
  /** The node name, when known. */
  readonly node?: string;
  /** The element type that is not handled, when that is the problem. */
  readonly dtype?: string;
  /** Creates the error; the fields are also folded into the message by callers. */
  constructor(
    message: string,
    options?: { opType?: string; node?: string; dtype?: string; cause?: unknown },
  ) {
    super(message, options);
    this.opType = options?.opType;
    this.node = options?.node;
    this.dtype = options?.dtype;
  }
}

/** A feed given to `session.run` that does not match what the model declares. */
export class InputError extends OnnxError {
  /** The input's name. */
  readonly input?: string;
  /** What the model declares. */
  readonly expected?: string;
  /** What the caller gave. */
  readonly got?: string;
  /** Creates the error. */
  constructor(
    message: string,
    options?: { input?: string; expected?: string; got?: string },
  ) {
    super(message);
    this.input = options?.input;
    this.expected = options?.expected;
    this.got = options?.got;
  }
}

/** A pipeline YAML file that is invalid: unknown key, wrong type, missing file. */
export class ConfigError extends OnnxError {
  /** Dotted key path, e.g. `stages[2].run.inputs.x`. */
  readonly path?: string;
  /** 1-based line in the YAML file, when known. */
  readonly line?: number;
  /** The YAML file. */
  readonly file?: string;
  /** Creates the error; the location is prefixed to the message. */
  constructor(message: string, options?: { path?: string; line?: number; file?: string }) {
    const where = [
      options?.file,
      options?.line !== undefined ? `line ${options.line}` : undefined,
      options?.path,
    ].filter((x) => x !== undefined && x !== "").join(", ");
    super(where ? `${where}: ${message}` : message);
    this.path = options?.path;
    this.line = options?.line;
    this.file = options?.file;
  }
}

/** A failure while a kernel runs that is not the caller's fault (a bug or a bad model). */
export class RuntimeError extends OnnxError {
  /** The node that failed. */
  readonly node?: string;
  /** Its op type. */
  readonly opType?: string;
  /** Creates the error. */
  constructor(message: string, options?: { node?: string; opType?: string; cause?: unknown }) {
    super(message, options);
    this.node = options?.node;
    this.opType = options?.opType;
  }
}
