/**
 * The WebGPU executor: takes over the plan's steps that placement puts on the GPU, keeps
 * their tensors on the GPU between GPU steps, encodes consecutive GPU steps into one
 * command encoder (submitted only when a CPU step or an output needs data), uploads and
 * downloads only at the CPU↔GPU boundary, and reuses buffers across runs through a pool.
 *
 * Lifetimes: a tensor a GPU step produces is reference-counted by the names bound to it in
 * the run's scope; when the last one is released its buffer returns to the pool. Whatever
 * a run made and did not hand to the caller returns to the pool when the run ends, even
 * when it fails. Initializers and Constant outputs are uploaded once per session.
 *
 * @module
 */

import type { Value } from "../../tensor/tensor.ts";
import { Tensor } from "../../tensor/tensor.ts";
import type { DataType, TensorData } from "../../tensor/dtype.ts";
import type { Plan, Step, StepExecutor } from "../plan.ts";
import type { OpContext } from "../../../ops/types.ts";
import { RuntimeError } from "../../errors.ts";
import type { Gpu } from "./device.ts";
import { BufferPool, READBACK_USAGE, STORAGE_USAGE, UNIFORM_USAGE } from "./buffers.ts";
import {
  type Dispatch,
  gpuBytes,
  GpuDecline,
  type GpuKernel,
  type KernelContext,
  type NodeView,
  type PipelineSpec,
  type TensorMeta,
} from "./kernel.ts";
import { buildShader, shaderKey } from "./shader.ts";
import { gpuKernelFor } from "./kernels.ts";
import { decidePlacement, type Decision, type PlacementMode } from "./placement.ts";
import { dataSlots, planFusion, type PlannedFusion, type PlannedGroup } from "./fusion.ts";
import { elementwiseForm } from "./kernels/elementwise.ts";
import { type FusedArg, type FusedNode, runFused } from "./kernels/fused.ts";
import { broadcastShapes } from "../../../ops/util.ts";

/** Where one node ran in the last run, and why it ran on the CPU when it did. */
export interface NodePlacement {
  /** Node name. */
  node: string;
  /** Op type. */
  opType: string;
  /** Backend it ran on. */
  backend: "cpu" | "webgpu";
  /** Why it stayed on the CPU. */
  reason?: string;
  /** The elementwise fusion group it ran in, as one dispatch with the group's other nodes. */
  fusionGroup?: string;
}

/**
 * What one run did: nodes per backend, bytes that crossed between CPU and GPU, GPU work
 * submitted. `session.lastRunStats` holds the last run's.
 */
export interface RunStats {
  /** Top-level nodes run per backend (nodes inside subgraphs are not counted). */
  nodes: { cpu: number; webgpu: number };
  /** Bytes written to the GPU (feeds, CPU results GPU nodes read, first-run constants). */
  bytesUploaded: number;
  /** Bytes read back from the GPU (outputs, GPU results CPU nodes read). */
  bytesDownloaded: number;
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Command buffers submitted. */
  submits: number;
  /** GPU buffers created (0 once the pool has what the model needs). */
  buffersCreated: number;
  /** Per-node placement in execution order. */
  placement: NodePlacement[];
}

/** Where graph outputs are delivered: CPU data, or left on the GPU (`Tensor.gpuBuffer`). */
export type OutputLocation = "cpu" | "gpu-buffer";

/** A member of the fusion group being collected: its step, inputs and what it computes. */
interface PendingMember {
  step: Step;
  inputs: (Value | undefined)[];
  node: FusedNode;
  /** The stand-in bound to its output until the group is dispatched (not for the root). */
  placeholder?: Tensor;
}

/** A fusion group whose members are arriving, one step at a time. */
interface PendingGroup {
  group: PlannedGroup;
  members: PendingMember[];
  /** External inputs by name, in binding order. */
  inputs: Map<string, Value>;
  /** GPU tensors of this run kept alive until the dispatch (their names may be released). */
  retained: Tensor[];
}

/** A stand-in for a fused intermediate value: the real tensor once the group ran unfused. */
interface Placeholder {
  real?: Tensor;
  /** The scope released the stand-in (so the real tensor is released after materializing). */
  released: boolean;
}

interface Alloc {
  buffer: GPUBuffer;
  bytes: number;
  refs: number;
  /** run: made by this run; user: handed out as an output; keep: constants; upload: per run. */
  owner: "run" | "user" | "keep" | "upload";
  freed: boolean;
}

// Pipelines are shared by every session of a device.
const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** Number of pipelines compiled for a device so far (tests check shapes never add one). */
export function pipelineCount(device: GPUDevice): number {
  return pipelineCache.get(device)?.size ?? 0;
}

/**
 * An explicit layout (inputs read-only, outputs read-write, uniforms last), one per pipeline:
 * wgpu keeps the previous pipeline's minimum binding sizes when two pipelines share a layout
 * object, which rejects a smaller uniform struct bound after a larger one.
 */
function layoutFor(device: GPUDevice, spec: PipelineSpec): GPUPipelineLayout {
  const entries: GPUBindGroupLayoutEntry[] = [];
  let b = 0;
  for (let i = 0; i < spec.reads; i++) {
    entries.push({ binding: b++, visibility: 4, buffer: { type: "read-only-storage" } });
  }
  for (let i = 0; i < spec.writes; i++) {
    entries.push({ binding: b++, visibility: 4, buffer: { type: "storage" } });
  }
  if (spec.uniforms) entries.push({ binding: b++, visibility: 4, buffer: { type: "uniform" } });
  const bgl = device.createBindGroupLayout({ entries });
  return device.createPipelineLayout({ bindGroupLayouts: [bgl] });
}

/** Override constants as numbers (bool overrides take 0 and 1). */
function numericConstants(spec: PipelineSpec): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(spec.constants ?? {})) out[k] = Number(v);
  return out;
}

async function compile(device: GPUDevice, spec: PipelineSpec): Promise<GPUComputePipeline> {
  const code = buildShader(spec);
  const module = device.createShaderModule({ code, label: spec.shader });
  try {
    const P = await device.createComputePipelineAsync({
      label: spec.shader,
      layout: layoutFor(device, spec),
      compute: { module, entryPoint: "main", constants: numericConstants(spec) },
    });
    return P;
  } catch (e) {
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error").map((m) =>
      `${m.lineNum}:${m.linePos} ${m.message}`
    );
    throw new RuntimeError(
      `WebGPU shader "${spec.shader}" failed to build: ${
        errors.length ? errors.join("; ") : e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  }
}

/** Ops whose CPU kernels read only the dims of their inputs: GPU inputs are not downloaded. */
const DIMS_ONLY = new Set(["Shape", "Size"]);

/** Options of {@link GpuExecutor}. */
export interface ExecutorOptions {
  /** `webgpu` puts every node a kernel supports on the GPU; `auto` keeps light work near GPU work. */
  mode: PlacementMode;
}

/** Runs the GPU-placed steps of a plan; one per session. */
export class GpuExecutor implements StepExecutor {
  /** The device in use. */
  readonly gpu: Gpu;
  readonly #device: GPUDevice;
  readonly #pool: BufferPool;
  readonly #steps: Set<Step>;
  readonly #mode: PlacementMode;
  readonly #allocs = new WeakMap<Tensor, Alloc>();
  readonly #decisions = new Map<Step, { sig: string; decision: Decision }>();
  /** Names whose values are the same every run (initializers, Constant outputs). */
  readonly #stableNames = new Set<string>();
  /** Uploaded stable values by name: the CPU tensor they came from and the GPU copy. */
  readonly #kept = new Map<string, { source: Value; gpu: Tensor }>();
  #runAllocs = new Set<Alloc>();
  #uploads = new Map<Tensor, Tensor>();
  #downloads = new Map<Tensor, Tensor>();
  #encoder?: GPUCommandEncoder;
  #pass?: GPUComputePassEncoder;
  #stats: RunStats = emptyStats();
  #createdAtStart = 0;
  #disposed = false;
  readonly #fusion: PlannedFusion;
  #pending?: PendingGroup;
  #placeholders = new Map<Tensor, Placeholder>();
  #dummy?: GPUBuffer;

  /** Prepares an executor for `plan` on `gpu`. */
  constructor(gpu: Gpu, plan: Plan, options: ExecutorOptions) {
    this.gpu = gpu;
    this.#device = gpu.device;
    this.#pool = new BufferPool(gpu.device);
    this.#steps = new Set(plan.steps);
    this.#mode = options.mode;
    for (const name of plan.constants.keys()) this.#stableNames.add(name);
    for (const step of plan.steps) {
      if (step.node.opType === "Constant" && step.def) {
        for (const o of step.node.output) if (o) this.#stableNames.add(o);
      }
    }
    this.#fusion = planFusion(plan);
  }

  /** The plan's elementwise fusion groups (from the nodes' metadata) and the rejected ones. */
  get fusion(): PlannedFusion {
    return this.#fusion;
  }

  /** True while the device is usable. */
  get usable(): boolean {
    return !this.gpu.lost && !this.#disposed;
  }

  /** Starts a run: resets the counters. */
  beginRun(): void {
    this.#stats = emptyStats();
    this.#createdAtStart = this.#pool.stats().created;
  }

  /** The counters of the current (or last) run. */
  get stats(): RunStats {
    return this.#stats;
  }

  // -------------------------------------------------------------------------------------------
  // StepExecutor
  // -------------------------------------------------------------------------------------------

  /** Runs a top-level step on the GPU when placement puts it there. */
  async runStep(
    step: Step,
    inputs: (Value | undefined)[],
  ): Promise<(Value | undefined)[] | undefined> {
    if (!this.#steps.has(step)) return undefined;
    const member = this.#fusion.members.get(step);
    const pending = this.#pending;
    if (pending && (member?.group !== pending.group || member.index !== pending.members.length)) {
      await this.#materialize();
    }
    if (member && (member.index === 0 || this.#pending)) {
      const outs = await this.#fuseStep(step, member.group, member.index, inputs);
      if (outs) return outs;
      await this.#materialize();
    }
    return await this.#runSingle(step, inputs.map((v) => this.#resolve(v)));
  }

  /** Runs one step by itself: on the GPU when placement says so, else undefined (the CPU). */
  async #runSingle(
    step: Step,
    inputs: (Value | undefined)[],
  ): Promise<(Value | undefined)[] | undefined> {
    const kernel = step.def ? gpuKernelFor(step.node.opType, step.node.domain) : undefined;
    const decision = this.#decide(step, kernel, inputs);
    if (!decision.gpu || !kernel) {
      this.#record(step, "cpu", decision.reason);
      return undefined;
    }
    const host = new Set(kernel.host ?? []);
    const ins: (Tensor | undefined)[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const v = inputs[i];
      if (v === undefined) ins.push(undefined);
      else if (host.has(i)) ins.push((await this.#toHostValues([v]))[0] as Tensor);
      else ins.push(await this.#toDevice(v as Tensor, step.node.input[i]));
    }
    let outs: (Tensor | undefined)[];
    try {
      outs = await kernel.run(this.#context(step), ins);
    } catch (e) {
      if (e instanceof GpuDecline) {
        this.#record(step, "cpu", e.message);
        return undefined;
      }
      throw e;
    }
    this.#record(step, "webgpu");
    return outs;
  }

  /** Downloads the GPU tensors a CPU step reads (once per run each). */
  async toHost(step: Step, inputs: (Value | undefined)[]): Promise<(Value | undefined)[]> {
    if (inputs.some((v) => this.#isPlaceholder(v))) await this.#materialize();
    const resolved = inputs.map((v) => this.#resolve(v));
    if (DIMS_ONLY.has(step.node.opType)) return resolved;
    return await this.#toHostValues(resolved);
  }

  /** Counts a scope binding of a GPU tensor this run made. */
  retain(value: Value): void {
    if (!(value instanceof Tensor)) return;
    const a = this.#allocs.get(value);
    if (a && a.owner === "run") a.refs++;
  }

  /** Drops a scope binding; the buffer returns to the pool after the last one. */
  release(value: Value): void {
    if (!(value instanceof Tensor)) return;
    const p = this.#placeholders.get(value);
    if (p) {
      if (p.real && !p.released) this.release(p.real);
      p.released = true;
      return;
    }
    const a = this.#allocs.get(value);
    if (!a || a.owner !== "run") return;
    if (--a.refs <= 0) this.#free(a);
  }

  // -------------------------------------------------------------------------------------------
  // Elementwise fusion
  // -------------------------------------------------------------------------------------------

  /**
   * Takes member `index` of a fusion group: checks that it runs on the GPU with a form the
   * fused kernel takes, then returns a stand-in for its output, or, for the root, dispatches
   * the whole group and returns the result. Undefined when the member cannot join (the caller
   * then runs the members collected so far, and this one, node by node).
   */
  async #fuseStep(
    step: Step,
    group: PlannedGroup,
    index: number,
    given: (Value | undefined)[],
  ): Promise<(Value | undefined)[] | undefined> {
    const inputs = given.map((v) => this.#resolve(v));
    const kernel = step.def ? gpuKernelFor(step.node.opType, step.node.domain) : undefined;
    if (!kernel || !this.#decide(step, kernel, inputs).gpu) return undefined;
    if (inputs.some((v) => v !== undefined && !(v instanceof Tensor))) return undefined;
    const tensors = inputs as (Tensor | undefined)[];
    const slots = dataSlots(group.kinds[index]);
    const host = await this.#toHostValues(
      tensors.map((t, i) => (slots.includes(i) ? undefined : t)),
    );
    const formInputs = tensors.map((t, i) => (slots.includes(i) ? t : host[i] as Tensor));
    let form;
    try {
      form = elementwiseForm(step.node.opType, {
        attrs: step.ctx.attrs,
        version: step.version,
        info: this.gpu.info,
        fail: step.ctx.fail,
      }, formInputs);
    } catch {
      return undefined;
    }
    if (typeof form === "string") return undefined;
    const dims = broadcastShapes(...slots.map((i) => tensors[i]!.dims));
    if (!dims) return undefined;
    if (index === 0) {
      this.#pending = { group, members: [], inputs: new Map(), retained: [] };
    }
    const pending = this.#pending!;
    const args: FusedArg[] = [];
    for (const i of slots) {
      const name = step.node.input[i];
      const from = pending.members.findIndex((m) => m.step.node.output[0] === name);
      if (from >= 0) {
        args.push({ member: from });
        continue;
      }
      if (!pending.inputs.has(name)) {
        const v = tensors[i]!;
        pending.inputs.set(name, v);
        const a = this.#allocs.get(v);
        if (a && a.owner === "run" && !a.freed) {
          a.refs++;
          pending.retained.push(v);
        }
      }
      args.push({ input: [...pending.inputs.keys()].indexOf(name) });
    }
    const m: PendingMember = { step, inputs, node: { form, args } };
    pending.members.push(m);
    if (index < group.steps.length - 1) {
      m.placeholder = this.#placeholder(form.outType, dims);
      return [m.placeholder];
    }
    // The root: one dispatch for the whole group.
    try {
      const names = [...pending.inputs.keys()];
      const gpuInputs: Tensor[] = [];
      for (const name of names) {
        gpuInputs.push(await this.#toDevice(pending.inputs.get(name) as Tensor, name));
      }
      const out = await runFused(
        this.#context(step),
        pending.members.map((x) => x.node),
        gpuInputs,
      );
      for (const x of pending.members) this.#record(x.step, "webgpu", undefined, group.id);
      this.#endGroup();
      return [out];
    } catch (e) {
      if (!(e instanceof GpuDecline)) throw e;
      pending.members.pop();
      return undefined;
    }
  }

  /** Runs the members of the pending group node by node (the group could not be fused). */
  async #materialize(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    try {
      for (const m of pending.members) {
        const inputs = m.inputs.map((v) => this.#resolve(v));
        let outs = await this.#runSingle(m.step, inputs);
        if (!outs) {
          const host = await this.#toHostValues(inputs);
          outs = await m.step.kernel(opContext(m.step), host);
        }
        const real = outs[0];
        if (m.placeholder && real instanceof Tensor) {
          const p = this.#placeholders.get(m.placeholder)!;
          p.real = real;
          this.retain(real);
        }
      }
      for (const m of pending.members) {
        const p = m.placeholder ? this.#placeholders.get(m.placeholder) : undefined;
        if (p?.real && p.released) this.release(p.real);
      }
    } finally {
      for (const t of pending.retained) this.release(t);
    }
  }

  /** Ends the pending group after its dispatch. */
  #endGroup(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    for (const t of pending.retained) this.release(t);
    for (const m of pending.members) if (m.placeholder) this.#placeholders.delete(m.placeholder);
  }

  /** A stand-in tensor for a fused intermediate value (never read: the group consumes it). */
  #placeholder(type: DataType, dims: readonly number[]): Tensor {
    this.#dummy ??= this.#device.createBuffer({ size: 16, usage: STORAGE_USAGE });
    const t = Tensor.fromGpuBuffer(this.#dummy, {
      dataType: type,
      dims,
      download: () =>
        Promise.reject(new RuntimeError("A fused intermediate value has no data of its own")),
    });
    this.#placeholders.set(t, { released: false });
    return t;
  }

  #isPlaceholder(v: Value | undefined): boolean {
    return v instanceof Tensor && this.#placeholders.has(v);
  }

  /** The real tensor of a materialized stand-in, else the value itself. */
  #resolve<V extends Value | undefined>(v: V): V {
    if (!(v instanceof Tensor)) return v;
    return (this.#placeholders.get(v)?.real as V | undefined) ?? v;
  }

  // -------------------------------------------------------------------------------------------
  // Runs
  // -------------------------------------------------------------------------------------------

  /**
   * Delivers a run's outputs: downloads GPU tensors, or hands them over as GPU tensors where
   * `location` says `gpu-buffer`; then returns everything else the run made to the pool.
   */
  async finishRun(
    values: ReadonlyMap<string, Value>,
    names: readonly string[],
    location: (name: string) => OutputLocation,
  ): Promise<Map<string, Value>> {
    const out = new Map<string, Value>();
    const fetch: [string, Tensor][] = [];
    if (this.#pending) await this.#materialize();
    for (const name of names) {
      const v = this.#resolve(values.get(name)!);
      const a = v instanceof Tensor ? this.#allocs.get(v) : undefined;
      if (!a || a.freed) out.set(name, v);
      else if (location(name) === "gpu-buffer" && (a.owner === "run" || a.owner === "user")) {
        a.owner = "user";
        this.#runAllocs.delete(a);
        out.set(name, v);
      } else fetch.push([name, v as Tensor]);
    }
    const host = await this.#download(fetch.map(([, t]) => t));
    fetch.forEach(([name], i) => out.set(name, host[i]));
    this.#flush();
    this.#stats.buffersCreated = this.#pool.stats().created - this.#createdAtStart;
    return out;
  }

  /** Ends a run (also after a failure): returns its buffers to the pool. */
  endRun(): void {
    if (this.#disposed) return;
    try {
      this.#flush();
    } catch {
      // A lost device cannot submit; the buffers are recycled below all the same.
    }
    this.#pending = undefined;
    this.#placeholders = new Map();
    for (const a of this.#runAllocs) if (!a.freed && a.owner !== "user") this.#free(a);
    this.#runAllocs = new Set();
    this.#uploads = new Map();
    this.#downloads = new Map();
  }

  /** Releases every buffer; GPU outputs handed out become unreadable. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#encoder = undefined;
    this.#pass = undefined;
    this.#pool.destroy();
    this.#kept.clear();
    this.#dummy?.destroy();
    this.#dummy = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Placement
  // -------------------------------------------------------------------------------------------

  #decide(step: Step, kernel: GpuKernel | undefined, inputs: (Value | undefined)[]): Decision {
    let sig = "";
    for (const v of inputs) {
      sig += v instanceof Tensor ? `${v.type}[${v.dims}]` : v === undefined ? "-" : v.kind;
      sig += this.#isGpu(v) ? "g;" : ";";
    }
    const cached = this.#decisions.get(step);
    if (cached && cached.sig === sig) return cached.decision;
    const metas = inputs.map((v): TensorMeta | undefined =>
      v instanceof Tensor ? { type: v.type, dims: v.dims } : undefined
    );
    const nonTensor = inputs.findIndex((v) => v !== undefined && !(v instanceof Tensor));
    const view: NodeView = {
      node: step.node,
      version: step.version,
      attrs: step.ctx.attrs,
      inputs: metas,
      outputCount: step.ctx.outputCount,
      wantsOutput: step.ctx.wantsOutput,
      info: this.gpu.info,
      op: opContext(step),
    };
    const decision = nonTensor >= 0
      ? { gpu: false, reason: `input ${nonTensor} is not a tensor` }
      : decidePlacement(kernel, view, {
        mode: this.#mode,
        inputsOnGpu: inputs.some((v) => this.#isGpu(v)),
        hasDef: step.def !== undefined,
      });
    this.#decisions.set(step, { sig, decision });
    return decision;
  }

  #isGpu(v: Value | undefined): boolean {
    if (!(v instanceof Tensor)) return false;
    if (this.#placeholders.has(v)) return true;
    const a = this.#allocs.get(v);
    return a !== undefined && !a.freed;
  }

  #record(step: Step, backend: "cpu" | "webgpu", reason?: string, fusionGroup?: string): void {
    this.#stats.nodes[backend]++;
    const p: NodePlacement = { node: step.name, opType: step.node.opType, backend, reason };
    if (fusionGroup !== undefined) p.fusionGroup = fusionGroup;
    this.#stats.placement.push(p);
  }

  // -------------------------------------------------------------------------------------------
  // Kernel context
  // -------------------------------------------------------------------------------------------

  #context(step: Step): KernelContext {
    const device = this.#device;
    const limit = this.gpu.info.limits.maxStorageBufferBindingSize;
    return {
      node: step.node,
      nodeName: step.name,
      version: step.version,
      attrs: step.ctx.attrs,
      wantsOutput: step.ctx.wantsOutput,
      info: this.gpu.info,
      op: opContext(step),
      output: (type: DataType, dims: readonly number[]) => {
        const size = dims.reduce((a, b) => a * b, 1);
        const bytes = gpuBytes(type, size);
        if (bytes > limit) {
          throw new GpuDecline(`output of ${bytes} bytes exceeds the binding limit ${limit}`);
        }
        return this.#newTensor(type, dims, bytes, "run");
      },
      upload: (t: Tensor, keep?: boolean) => this.#uploadOwn(t, keep ?? false),
      view: (t: Tensor, dims: readonly number[]) => {
        const a = this.#allocs.get(t);
        if (!a) throw step.ctx.fail("a view needs a GPU tensor");
        const v: Tensor = Tensor.fromGpuBuffer(a.buffer, {
          dataType: t.type,
          dims,
          download: () => this.#downloadOne(v),
          dispose: () => this.#disposeUser(v),
        });
        this.#allocs.set(v, a);
        return v;
      },
      pipeline: (spec: PipelineSpec) => {
        let cache = pipelineCache.get(device);
        if (!cache) pipelineCache.set(device, cache = new Map());
        const key = `${shaderKey(spec)}|${
          JSON.stringify(Object.entries(spec.constants ?? {}))
        }|${spec.reads}:${spec.writes}:${spec.uniforms}`;
        let p = cache.get(key);
        if (!p) {
          p = compile(device, spec);
          cache.set(key, p);
          p.catch(() => cache!.delete(key));
        }
        return p;
      },
      dispatch: (pipeline: GPUComputePipeline, d: Dispatch) => this.#dispatch(pipeline, d),
      groups1d: (count: number, wg: number) => this.#groups1d(count, wg),
      fail: (message: string) => step.ctx.fail(message),
    };
  }

  #groups1d(count: number, wg: number): [number, number, number] {
    const total = Math.ceil(count / wg);
    const max = this.gpu.info.limits.maxComputeWorkgroupsPerDimension;
    if (total <= max) return [total, 1, 1];
    const y = Math.ceil(total / max);
    if (y > max) throw new GpuDecline(`${count} invocations do not fit one dispatch`);
    return [Math.ceil(total / y), y, 1];
  }

  #dispatch(pipeline: GPUComputePipeline, d: Dispatch): void {
    if (d.groups[0] === 0 || d.groups[1] === 0 || d.groups[2] === 0) return;
    const entries: GPUBindGroupEntry[] = [];
    for (const t of [...d.reads, ...d.writes]) {
      const a = this.#allocs.get(t);
      if (!a || a.freed) throw new Error(`Tensor ${t} is not a live GPU tensor`);
      entries.push({ binding: entries.length, resource: { buffer: a.buffer } });
    }
    let ub: GPUBuffer | undefined;
    if (d.uniforms) {
      ub = this.#pool.acquire(d.uniforms.byteLength, UNIFORM_USAGE, true);
      this.#device.queue.writeBuffer(ub, 0, d.uniforms);
      entries.push({
        binding: entries.length,
        resource: { buffer: ub, size: Math.ceil(d.uniforms.byteLength / 16) * 16 },
      });
    }
    const bindGroup = this.#device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const pass = this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
    this.#stats.dispatches++;
    if (ub) this.#pool.release(ub, true);
  }

  #computePass(): GPUComputePassEncoder {
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
    if (!this.#pass) this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #commandEncoder(): GPUCommandEncoder {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = undefined;
    }
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder();
    return this.#encoder;
  }

  /** Submits the open encoder, if any. */
  #flush(): void {
    if (!this.#encoder) return;
    const enc = this.#commandEncoder();
    this.#encoder = undefined;
    this.#device.queue.submit([enc.finish()]);
    this.#stats.submits++;
    this.#pool.submitted();
  }

  // -------------------------------------------------------------------------------------------
  // Tensors and transfers
  // -------------------------------------------------------------------------------------------

  #newTensor(
    type: DataType,
    dims: readonly number[],
    bytes: number,
    owner: Alloc["owner"],
  ): Tensor {
    if (this.#disposed) throw new RuntimeError("The WebGPU session was released");
    const buffer = this.#pool.acquire(bytes, STORAGE_USAGE, owner !== "run");
    const a: Alloc = { buffer, bytes, refs: 0, owner, freed: false };
    const t: Tensor = Tensor.fromGpuBuffer(buffer, {
      dataType: type,
      dims,
      download: () => this.#downloadOne(t),
      dispose: () => this.#disposeUser(t),
    });
    this.#allocs.set(t, a);
    if (owner === "run" || owner === "upload") this.#runAllocs.add(a);
    return t;
  }

  #free(a: Alloc): void {
    if (a.freed) return;
    a.freed = true;
    this.#runAllocs.delete(a);
    if (!this.#disposed) this.#pool.release(a.buffer, this.#encoder !== undefined);
  }

  #disposeUser(t: Tensor): void {
    const a = this.#allocs.get(t);
    if (a && a.owner === "user") this.#free(a);
  }

  /** Session-lifetime uploads of kernel-made tensors, by the CPU tensor they came from. */
  readonly #keptOwn = new WeakMap<Tensor, Tensor>();

  /** Uploads a tensor a kernel made: once per run, or once per session with `keep`. */
  #uploadOwn(t: Tensor, keep: boolean): Tensor {
    const cached = keep ? this.#keptOwn.get(t) : this.#uploads.get(t);
    if (cached && this.#isGpu(cached)) return cached;
    const bytes = gpuBytes(t.type, t.size);
    const limit = this.gpu.info.limits.maxStorageBufferBindingSize;
    if (bytes > limit) throw new GpuDecline(`a table of ${bytes} bytes exceeds the binding limit`);
    const g = this.#newTensor(t.type, t.dims, bytes, keep ? "keep" : "upload");
    const data = uploadData(t);
    if (data.byteLength > 0) {
      const buf = this.#allocs.get(g)!.buffer;
      this.#device.queue.writeBuffer(
        buf,
        0,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        data.byteLength,
      );
    }
    this.#stats.bytesUploaded += data.byteLength;
    if (keep) this.#keptOwn.set(t, g);
    else this.#uploads.set(t, g);
    return g;
  }

  /** A GPU tensor holding `t` (uploaded once per run, or once per session when stable). */
  async #toDevice(t: Tensor, name: string): Promise<Tensor> {
    const a = this.#allocs.get(t);
    if (a && !a.freed) return t;
    const stable = this.#stableNames.has(name);
    if (stable) {
      const kept = this.#kept.get(name);
      if (kept && kept.source === t) return kept.gpu;
      if (kept) {
        const ka = this.#allocs.get(kept.gpu)!;
        ka.owner = "run";
        this.#free(ka);
        this.#kept.delete(name);
      }
    } else {
      const up = this.#uploads.get(t);
      if (up) return up;
    }
    let src = t;
    if (t.location !== "cpu") {
      // A GPU tensor from elsewhere (another session or device): go through the host.
      const data = await t.getData();
      this.#stats.bytesDownloaded += gpuBytes(t.type, t.size);
      src = new Tensor(t.type, data, t.dims);
    }
    const bytes = gpuBytes(src.type, src.size);
    const g = this.#newTensor(src.type, src.dims, bytes, stable ? "keep" : "upload");
    const data = uploadData(src);
    if (data.byteLength > 0) {
      const buf = this.#allocs.get(g)!.buffer;
      this.#device.queue.writeBuffer(
        buf,
        0,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        data.byteLength,
      );
    }
    this.#stats.bytesUploaded += data.byteLength;
    if (stable) this.#kept.set(name, { source: t, gpu: g });
    else this.#uploads.set(t, g);
    return g;
  }

  async #toHostValues(values: (Value | undefined)[]): Promise<(Value | undefined)[]> {
    const gpu: Tensor[] = [];
    for (const v of values) if (v instanceof Tensor && v.location !== "cpu") gpu.push(v);
    if (gpu.length === 0) return values;
    const ours = gpu.filter((t) => this.#isGpu(t));
    const host = await this.#download(ours);
    const map = new Map<Tensor, Tensor>();
    ours.forEach((t, i) => map.set(t, host[i]));
    for (const t of gpu) {
      if (map.has(t)) continue;
      map.set(t, new Tensor(t.type, await t.getData(), t.dims));
      this.#stats.bytesDownloaded += gpuBytes(t.type, t.size);
    }
    return values.map((v) => (v instanceof Tensor && map.has(v) ? map.get(v)! : v));
  }

  async #downloadOne(t: Tensor): Promise<TensorData> {
    const [host] = await this.#download([t]);
    return host.data;
  }

  /** Reads GPU tensors back with one submit; cached per run. */
  async #download(ts: readonly Tensor[]): Promise<Tensor[]> {
    const need = [...new Set(ts.filter((t) => !this.#downloads.has(t)))];
    if (need.length) {
      if (this.#disposed) throw new RuntimeError("The WebGPU session was released");
      const enc = this.#commandEncoder();
      const staging: { t: Tensor; buf: GPUBuffer; bytes: number }[] = [];
      for (const t of need) {
        const a = this.#allocs.get(t);
        if (!a || a.freed) throw new RuntimeError(`GPU tensor ${t} was already released`);
        const bytes = gpuBytes(t.type, t.size);
        if (bytes === 0 || t.size === 0) {
          staging.push({ t, buf: a.buffer, bytes: 0 });
          continue;
        }
        const buf = this.#pool.acquire(bytes, READBACK_USAGE, false);
        enc.copyBufferToBuffer(a.buffer, 0, buf, 0, bytes);
        staging.push({ t, buf, bytes });
      }
      this.#flush();
      await Promise.all(
        staging.filter((s) => s.bytes > 0).map((s) => s.buf.mapAsync(1, 0, s.bytes)),
      );
      for (const s of staging) {
        let raw = new ArrayBuffer(0);
        if (s.bytes > 0) {
          raw = s.buf.getMappedRange(0, s.bytes).slice(0);
          s.buf.unmap();
          this.#pool.release(s.buf, false);
        }
        this.#stats.bytesDownloaded += s.bytes;
        this.#downloads.set(s.t, new Tensor(s.t.type, hostData(s.t.type, raw, s.t.size), s.t.dims));
      }
    }
    return ts.map((t) => this.#downloads.get(t)!);
  }
}

/** The step's CPU context, for attribute helpers shared with the CPU kernels. */
function opContext(step: Step): OpContext {
  return {
    ...step.ctx,
    runGraph: () => Promise.reject(step.ctx.fail("a GPU kernel cannot run subgraphs")),
  };
}

function emptyStats(): RunStats {
  return {
    nodes: { cpu: 0, webgpu: 0 },
    bytesUploaded: 0,
    bytesDownloaded: 0,
    dispatches: 0,
    submits: 0,
    buffersCreated: 0,
    placement: [],
  };
}

/** The bytes to upload for a CPU tensor (bool widened to u32; f16, int8, uint8 padded to 4 bytes). */
function uploadData(t: Tensor): Uint8Array {
  const d = t.data as Exclude<TensorData, string[]>;
  if (t.type === "bool") {
    const u = new Uint32Array(t.size);
    const b = d as Uint8Array;
    for (let i = 0; i < u.length; i++) u[i] = b[i] ? 1 : 0;
    return new Uint8Array(u.buffer);
  }
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (bytes.byteLength % 4 === 0) return bytes;
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  return padded;
}

/** CPU storage of downloaded bytes. */
function hostData(type: DataType, raw: ArrayBuffer, size: number): TensorData {
  switch (type) {
    case "float32":
      return new Float32Array(raw, 0, size);
    case "int32":
      return new Int32Array(raw, 0, size);
    case "uint32":
      return new Uint32Array(raw, 0, size);
    case "float16":
      return new Uint16Array(raw, 0, size);
    case "int64":
      return new BigInt64Array(raw, 0, size);
    case "int8":
      return new Int8Array(raw, 0, size);
    case "uint8":
      return new Uint8Array(raw, 0, size);
    case "bool": {
      const u = new Uint32Array(raw, 0, size);
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i++) out[i] = u[i] ? 1 : 0;
      return out;
    }
    default:
      throw new RuntimeError(`No GPU storage for ${type}`);
  }
}
