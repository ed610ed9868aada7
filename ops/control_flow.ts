/**
 * Control-flow operators: If, Loop and Scan. Bodies run through `ctx.runGraph`, which plans
 * each subgraph once and lets it read names of the enclosing scopes.
 *
 * @module
 */

import type { Graph } from "../pipeline/load/ir.ts";
import { allocate, type DataType } from "../pipeline/tensor/dtype.ts";
import { describeValue, Tensor, type Value } from "../pipeline/tensor/tensor.ts";
import { type Dim, type ValueType, valueTypeFromProto } from "../pipeline/tensor/value_type.ts";
import type { InferContext, OpContext, OpDef } from "./types.ts";
import { stackAlongAxis, takeAlongAxis } from "./stack.ts";
import { unionType, withoutShapes } from "./sequence.ts";

// ------------------------------------------------------------------------------------------
// Helpers.
// ------------------------------------------------------------------------------------------

function bodyAttr(ctx: OpContext, name: string): Graph {
  const g = ctx.attrs.graph(name);
  if (!g) throw ctx.fail(`attribute "${name}" is required`);
  return g;
}

function scalarBool(ctx: OpContext, v: Value | undefined, what: string): boolean {
  if (!(v instanceof Tensor) || v.type !== "bool") {
    throw ctx.fail(`${what} must be a bool tensor, got ${describeValue(v)}`);
  }
  if (v.size !== 1) throw ctx.fail(`${what} must hold one element, got shape [${v.dims}]`);
  return (v.data as Uint8Array)[0] !== 0;
}

function boolScalar(b: boolean): Tensor {
  return new Tensor("bool", new Uint8Array([b ? 1 : 0]), []);
}

function int64Scalar(i: bigint): Tensor {
  return new Tensor("int64", new BigInt64Array([i]), []);
}

function asTensorOutput(ctx: OpContext, v: Value | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) {
    throw ctx.fail(`${what} must be a tensor, got ${describeValue(v)}`);
  }
  return v;
}

/**
 * Element type and per-iteration dims of scan output `j` of `body` as declared, for loops
 * that run zero times (unknown dims become 0: the result is empty either way).
 */
function declaredScanElement(
  ctx: OpContext,
  body: Graph,
  j: number,
): { type: DataType; dims: number[] } {
  const t = valueTypeFromProto(body.output[j]?.type);
  if (t?.kind !== "tensor" || !t.elemType) {
    throw ctx.unsupported(
      `scan output ${j} ran zero iterations and the body does not declare its element type`,
    );
  }
  return { type: t.elemType, dims: (t.shape ?? []).map((d) => (typeof d === "number" ? d : 0)) };
}

/** Stacks the per-iteration values of one scan output along `axis`, checking shapes. */
function stackScan(
  ctx: OpContext,
  values: Tensor[],
  axis: number,
  what: string,
  empty: () => { type: DataType; dims: number[] },
): Tensor {
  if (values.length === 0) {
    const e = empty();
    return stackAlongAxis([], axis, e.type, e.dims);
  }
  const first = values[0];
  for (let i = 1; i < values.length; i++) {
    const v = values[i];
    if (v.type !== first.type || v.dims.join() !== first.dims.join()) {
      throw ctx.fail(
        `${what} changed from ${first} in iteration 0 to ${v} in iteration ${i}`,
      );
    }
  }
  return stackAlongAxis(values, axis);
}

// ------------------------------------------------------------------------------------------
// If.
// ------------------------------------------------------------------------------------------

const ifKernel: OpDef["cpu"] = async (ctx, inputs) => {
  const cond = scalarBool(ctx, inputs[0], "cond");
  const branch = bodyAttr(ctx, cond ? "then_branch" : "else_branch");
  if (branch.output.length !== ctx.outputCount) {
    throw ctx.fail(
      `${cond ? "then_branch" : "else_branch"} has ${branch.output.length} outputs, the node ` +
        `declares ${ctx.outputCount}`,
    );
  }
  return await ctx.runGraph(branch, []);
};

function ifInfer(ctx: InferContext): (ValueType | undefined)[] {
  const then = ctx.attrs.graph("then_branch");
  const els = ctx.attrs.graph("else_branch");
  if (!then || !els) return [];
  const a = ctx.inferGraph(then, []);
  const b = ctx.inferGraph(els, []);
  if (a.length !== b.length) {
    ctx.error(`then_branch has ${a.length} outputs, else_branch ${b.length}`);
    return [];
  }
  return a.map((t, i) => {
    const e = b[i];
    const u = unionType(t, e);
    if (t && e && !u) {
      ctx.error(`output ${i} has kind ${t.kind} in then_branch but ${e.kind} in else_branch`);
    } else if (
      t?.kind === "tensor" && e?.kind === "tensor" && t.elemType && e.elemType &&
      t.elemType !== e.elemType
    ) {
      ctx.error(`output ${i} is ${t.elemType} in then_branch but ${e.elemType} in else_branch`);
    }
    return u;
  });
}

// ------------------------------------------------------------------------------------------
// Loop.
// ------------------------------------------------------------------------------------------

const loopKernel: OpDef["cpu"] = async (ctx, inputs) => {
  const body = bodyAttr(ctx, "body");
  const mIn = inputs[0];
  const condIn = inputs[1];
  let max: bigint | undefined;
  if (mIn !== undefined) {
    if (!(mIn instanceof Tensor) || mIn.type !== "int64" || mIn.size !== 1) {
      throw ctx.fail(`M must be an int64 scalar, got ${describeValue(mIn)}`);
    }
    max = (mIn.data as BigInt64Array)[0];
  }
  let cond: Value = boolScalar(true);
  let keepGoing = true;
  if (condIn !== undefined) {
    keepGoing = scalarBool(ctx, condIn, "cond");
    cond = condIn;
  }
  let carried = inputs.slice(2);
  const n = carried.length;
  carried.forEach((v, i) => {
    if (v === undefined) throw ctx.fail(`loop-carried input ${i} (input ${i + 2}) is missing`);
  });
  if (body.input.length !== n + 2) {
    throw ctx.fail(`body has ${body.input.length} inputs, expected 2 + ${n} loop-carried values`);
  }
  const k = body.output.length - 1 - n;
  if (k < 0) {
    throw ctx.fail(`body has ${body.output.length} outputs, expected at least 1 + ${n}`);
  }
  const scans: Tensor[][] = Array.from({ length: k }, () => []);
  let i = 0n;
  while ((max === undefined || i < max) && keepGoing) {
    const outs = await ctx.runGraph(body, [int64Scalar(i), cond, ...carried]);
    // Like onnxruntime and the ONNX reference runtime, the body's condition output always
    // decides whether to continue (the body must produce it even when `cond` is omitted).
    keepGoing = scalarBool(ctx, outs[0], "the body's condition output");
    cond = outs[0]!;
    carried = outs.slice(1, 1 + n);
    carried.forEach((v, j) => {
      if (v === undefined) throw ctx.fail(`body did not produce loop-carried output ${j}`);
    });
    for (let j = 0; j < k; j++) {
      scans[j].push(asTensorOutput(ctx, outs[1 + n + j], `scan output ${j}`));
    }
    i++;
  }
  const results: (Value | undefined)[] = [...carried];
  for (let j = 0; j < k; j++) {
    results.push(
      stackScan(
        ctx,
        scans[j],
        0,
        `scan output ${j}`,
        () => declaredScanElement(ctx, body, 1 + n + j),
      ),
    );
  }
  return results;
};

function loopInfer(ctx: InferContext): (ValueType | undefined)[] {
  const body = ctx.attrs.graph("body");
  if (!body) return [];
  const n = Math.max(0, ctx.inputCount - 2);
  const argTypes: (ValueType | undefined)[] = [
    { kind: "tensor", elemType: "int64", shape: [] },
    { kind: "tensor", elemType: "bool", shape: [] },
  ];
  for (let i = 0; i < n; i++) argTypes.push(withoutShapes(ctx.input(2 + i)));
  const outs = ctx.inferGraph(body, argTypes);
  const result: (ValueType | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const init = ctx.input(2 + i);
    const b = outs[1 + i];
    // Shapes of loop-carried values may change across iterations: keep what both agree on.
    // ONNX types loop-carried outputs from the body (an optional(seq) start may yield seq).
    if (init && b && init.kind !== b.kind) result.push(withoutShapes(b));
    else {
      result.push(
        init && b ? unionType(init, b) ?? withoutShapes(init) : withoutShapes(init ?? b),
      );
    }
  }
  for (let j = 1 + n; j < outs.length; j++) {
    const t = outs[j];
    if (t && t.kind !== "tensor") ctx.error(`scan output ${j - 1 - n} must be a tensor`);
    result.push(
      t?.kind === "tensor"
        ? {
          kind: "tensor",
          elemType: t.elemType,
          // The body's condition may end the loop early: the trip count stays unknown.
          shape: t.shape ? [undefined, ...t.shape] : undefined,
        }
        : undefined,
    );
  }
  return result;
}

// ------------------------------------------------------------------------------------------
// Scan.
// ------------------------------------------------------------------------------------------

function normalized(
  ctx: OpContext,
  values: number[],
  ranks: number[],
  what: string,
): number[] {
  return values.map((a, i) => {
    const r = ranks[i];
    if (a < -r || a >= r) throw ctx.fail(`${what}[${i}] = ${a} is out of range for rank ${r}`);
    return a < 0 ? a + r : a;
  });
}

function attrList(ctx: OpContext, name: string, n: number): number[] {
  const v = ctx.attrs.ints(name, []);
  if (v.length === 0) return new Array<number>(n).fill(0);
  if (v.length !== n) throw ctx.fail(`${name} has ${v.length} entries, expected ${n}`);
  return v;
}

/**
 * Runs the scan body over one set of (unbatched) states and scan inputs. `axes` and
 * `directions` describe the scan inputs; `length` is the number of iterations. Returns the
 * final states and, per scan output, the value of each iteration in iteration order.
 */
async function scanOnce(
  ctx: OpContext,
  body: Graph,
  states: Value[],
  scanInputs: Tensor[],
  axes: number[],
  directions: number[],
  length: number,
  k: number,
): Promise<{ states: Value[]; outputs: Tensor[][] }> {
  const n = states.length;
  const outputs: Tensor[][] = Array.from({ length: k }, () => []);
  let current = states;
  for (let t = 0; t < length; t++) {
    const slices = scanInputs.map((x, j) =>
      takeAlongAxis(x, axes[j], directions[j] === 1 ? length - 1 - t : t)
    );
    const outs = await ctx.runGraph(body, [...current, ...slices]);
    current = outs.slice(0, n) as Value[];
    current.forEach((v, j) => {
      if (v === undefined) throw ctx.fail(`body did not produce state output ${j}`);
    });
    for (let j = 0; j < k; j++) {
      outputs[j].push(asTensorOutput(ctx, outs[n + j], `scan output ${j}`));
    }
  }
  return { states: current, outputs };
}

const scanKernel: OpDef["cpu"] = async (ctx, inputs) => {
  if (ctx.version < 9) return await scan8(ctx, inputs);
  const body = bodyAttr(ctx, "body");
  const m = ctx.attrs.int("num_scan_inputs");
  const n = inputs.length - m;
  if (m < 1 || n < 0) throw ctx.fail(`num_scan_inputs ${m} does not fit ${inputs.length} inputs`);
  const k = body.output.length - n;
  if (body.input.length !== n + m) {
    throw ctx.fail(`body has ${body.input.length} inputs, expected ${n} states + ${m} scans`);
  }
  if (k < 0) throw ctx.fail(`body has ${body.output.length} outputs, fewer than ${n} states`);
  const states = inputs.slice(0, n).map((v, i) => {
    if (v === undefined) throw ctx.fail(`state input ${i} is missing`);
    return v;
  });
  const scans = inputs.slice(n).map((v, j) => asTensorOutput(ctx, v, `scan input ${j}`));
  const axes = normalized(
    ctx,
    attrList(ctx, "scan_input_axes", m),
    scans.map((s) => s.dims.length),
    "scan_input_axes",
  );
  const directions = attrList(ctx, "scan_input_directions", m);
  let length = -1;
  scans.forEach((s, j) => {
    const d = s.dims[axes[j]];
    if (length >= 0 && d !== length) {
      throw ctx.fail(`scan input ${j} has ${d} steps along axis ${axes[j]}, input 0 has ${length}`);
    }
    length = d;
  });
  const run = await scanOnce(ctx, body, states, scans, axes, directions, length, k);
  const outAxes = attrList(ctx, "scan_output_axes", k);
  const outDirections = attrList(ctx, "scan_output_directions", k);
  const results: Value[] = [...run.states];
  for (let j = 0; j < k; j++) {
    const values = outDirections[j] === 1 ? run.outputs[j].slice().reverse() : run.outputs[j];
    const empty = () => declaredScanElement(ctx, body, n + j);
    const rank = (values[0]?.dims.length ?? empty().dims.length) + 1;
    const [axis] = normalized(ctx, [outAxes[j]], [rank], `scan_output_axes`);
    results.push(stackScan(ctx, values, axis, `scan output ${j}`, empty));
  }
  return results;
};

/** Scan-8: every input has a leading batch axis; scan inputs are [batch, sequence, ...]. */
async function scan8(ctx: OpContext, inputs: (Value | undefined)[]): Promise<Value[]> {
  const body = bodyAttr(ctx, "body");
  const m = ctx.attrs.int("num_scan_inputs");
  const rest = inputs.slice(1);
  const n = rest.length - m;
  if (m < 1 || n < 0) throw ctx.fail(`num_scan_inputs ${m} does not fit ${rest.length} inputs`);
  const k = body.output.length - n;
  if (body.input.length !== n + m) {
    throw ctx.fail(`body has ${body.input.length} inputs, expected ${n} states + ${m} scans`);
  }
  if (k < 0) throw ctx.fail(`body has ${body.output.length} outputs, fewer than ${n} states`);
  const all = rest.map((v, i) => asTensorOutput(ctx, v, `input ${i + 1}`));
  const states = all.slice(0, n);
  const scans = all.slice(n);
  const directions = attrList(ctx, "directions", m);
  const batch = all[0].dims[0];
  let maxLen = -1;
  all.forEach((t, i) => {
    if (t.dims.length < (i < n ? 1 : 2) || t.dims[0] !== batch) {
      throw ctx.fail(`input ${i + 1} of shape [${t.dims}] lacks the batch axis of size ${batch}`);
    }
    if (i >= n) {
      if (maxLen >= 0 && t.dims[1] !== maxLen) {
        throw ctx.fail(`scan inputs have different sequence lengths ${maxLen} and ${t.dims[1]}`);
      }
      maxLen = t.dims[1];
    }
  });
  let lens: number[] = new Array<number>(batch).fill(maxLen);
  const lensIn = inputs[0];
  if (lensIn !== undefined) {
    const t = asTensorOutput(ctx, lensIn, "sequence_lens");
    if (t.type !== "int64" || t.dims.length !== 1 || t.dims[0] !== batch) {
      throw ctx.fail(`sequence_lens must be int64 [${batch}], got ${t}`);
    }
    lens = Array.from(t.data as BigInt64Array, Number);
    for (const l of lens) {
      if (l < 0 || l > maxLen) throw ctx.fail(`sequence length ${l} is outside [0, ${maxLen}]`);
    }
  }
  const finals: Value[][] = Array.from({ length: n }, () => []);
  const perBatch: Tensor[][][] = [];
  for (let b = 0; b < batch; b++) {
    const bStates = states.map((s) => takeAlongAxis(s, 0, b));
    const bScans = scans.map((s) => takeAlongAxis(s, 0, b));
    const run = await scanOnce(
      ctx,
      body,
      bStates,
      bScans,
      new Array<number>(m).fill(0),
      directions,
      lens[b],
      k,
    );
    run.states.forEach((v, j) => finals[j].push(v));
    perBatch.push(run.outputs);
  }
  const results: Value[] = finals.map((vals, j) =>
    stackAlongAxis(
      vals.map((v) => asTensorOutput(ctx, v, `state output ${j}`)),
      0,
      states[j].type,
      states[j].dims.slice(1),
    )
  );
  for (let j = 0; j < k; j++) {
    const sample = perBatch.find((o) => o[j].length > 0)?.[j][0];
    const elem = sample
      ? { type: sample.type, dims: [...sample.dims] }
      : declaredScanElement(ctx, body, n + j);
    const zero = new Tensor(elem.type, allocate(elem.type, sample?.size ?? 0), elem.dims);
    const rows = perBatch.map((o) => {
      const padded = o[j].slice();
      while (padded.length < maxLen) padded.push(zero);
      return stackScan(ctx, padded, 0, `scan output ${j}`, () => elem);
    });
    results.push(stackScan(ctx, rows, 0, `scan output ${j}`, () => ({
      type: elem.type,
      dims: [maxLen, ...elem.dims],
    })));
  }
  return results;
}

function scanInfer(ctx: InferContext): (ValueType | undefined)[] {
  const body = ctx.attrs.graph("body");
  if (!body) return [];
  const batched = ctx.version < 9;
  const first = batched ? 1 : 0;
  const count = ctx.inputCount - first;
  const m = ctx.attrs.int("num_scan_inputs", 0);
  const n = count - m;
  if (n < 0) {
    ctx.error(`num_scan_inputs ${m} exceeds the ${count} inputs`);
    return [];
  }
  const axes = batched ? [] : ctx.attrs.ints("scan_input_axes", []);
  const argTypes: (ValueType | undefined)[] = [];
  let seqLen: Dim;
  for (let i = 0; i < count; i++) {
    const t = ctx.input(first + i);
    if (t?.kind !== "tensor" || !t.shape) {
      argTypes.push(t?.kind === "tensor" ? { kind: "tensor", elemType: t.elemType } : t);
      continue;
    }
    const shape = [...t.shape];
    if (batched) shape.shift();
    if (i >= n) {
      let a = batched ? 0 : axes[i - n] ?? 0;
      if (a < 0) a += shape.length;
      seqLen = shape[a];
      shape.splice(a, 1);
    }
    argTypes.push({ kind: "tensor", elemType: t.elemType, shape });
  }
  const outs = ctx.inferGraph(body, argTypes);
  const outAxes = batched ? [] : ctx.attrs.ints("scan_output_axes", []);
  const batch = (() => {
    const t = ctx.input(first);
    return t?.kind === "tensor" && t.shape ? t.shape[0] : undefined;
  })();
  return outs.map((t, j) => {
    if (t?.kind !== "tensor") return t;
    if (!t.shape) return { kind: "tensor", elemType: t.elemType };
    const shape = [...t.shape];
    if (j >= n) {
      let a = outAxes[j - n] ?? 0;
      if (a < 0) a += shape.length + 1;
      shape.splice(a, 0, seqLen);
    }
    if (batched) shape.unshift(batch);
    return { kind: "tensor", elemType: t.elemType, shape };
  });
}

// ------------------------------------------------------------------------------------------
// Declarations.
// ------------------------------------------------------------------------------------------

/** If, Loop and Scan. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "If",
    versions: [1, 11, 13, 16, 19, 21, 23, 24, 25],
    cpu: ifKernel,
    hostInputs: [0],
    infer: ifInfer,
  },
  {
    domain: "",
    opType: "Loop",
    versions: [1, 11, 13, 16, 19, 21, 23, 24, 25],
    cpu: loopKernel,
    hostInputs: [0, 1],
    infer: loopInfer,
  },
  {
    domain: "",
    opType: "Scan",
    versions: [8, 9, 11, 16, 19, 21, 23, 24, 25],
    cpu: scanKernel,
    infer: scanInfer,
  },
];
