/**
 * Placement coverage on real models: with `backend: "webgpu"`, every model of ../shared/models
 * and the float pretrained models match their stored outputs (rtol 1e-3, atol 1e-4) with at
 * least 90% of their non-shape nodes on the GPU. Shape nodes are Shape, Size, Constant,
 * ConstantOfShape and Range, and the nodes whose outputs only feed shape parameters (Reshape's
 * shape, Expand's shape, Slice's starts/ends/axes/steps, Unsqueeze/Squeeze axes...) or other
 * shape nodes: the int64 shape arithmetic exporters emit. Skipped with a printed reason when
 * ../shared or the adapter is absent. Every data set of ../shared/models runs (batch 1 and
 * 2), two of each pretrained model; on llvmpipe the whole file takes a few seconds. The same
 * holds after the optimizer's fusions (FusedConv, FusedMatMul, Gelu, LayerNormalization,
 * Attention): optimized models stay on the GPU too.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SHARED } from "../_shared_root.ts";
import type { Graph } from "../../pipeline/load/ir.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { allclose } from "../../pipeline/compare.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import { optimizeModel } from "../../pipeline/optimize/mod.ts";
import type { Tensor } from "../../pipeline/tensor/tensor.ts";
import { gpu } from "./_harness.ts";

/** Ops that only make shapes and constants. */
const SHAPE_OPS = new Set(["Shape", "Size", "Constant", "ConstantOfShape", "Range"]);

/** Inputs that are shape parameters, by op type. */
const PARAM_INPUTS: Record<string, number[]> = {
  Reshape: [1],
  Expand: [1],
  Slice: [1, 2, 3, 4],
  Unsqueeze: [1],
  Squeeze: [1],
  Tile: [1],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
};

/**
 * Names of the shape nodes of a graph: SHAPE_OPS, and nodes whose every output is read only
 * as a shape parameter or by other shape nodes (and is not a graph output).
 */
function shapeNodes(g: Graph): Set<string> {
  const names = g.node.map((n, i) => n.name || `#${i}`);
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const uses = new Map<string, { node: number; slot: number }[]>();
  g.node.forEach((n, i) =>
    n.input.forEach((name, slot) => {
      if (!name) return;
      const list = uses.get(name) ?? [];
      list.push({ node: i, slot });
      uses.set(name, list);
    })
  );
  const shape = new Array<boolean>(g.node.length).fill(false);
  for (let i = g.node.length - 1; i >= 0; i--) {
    const n = g.node[i];
    if (SHAPE_OPS.has(n.opType)) {
      shape[i] = true;
      continue;
    }
    const outs = n.output.filter((o) => o);
    const all = outs.flatMap((o) => uses.get(o) ?? []);
    shape[i] = outs.length > 0 && all.length > 0 && !outs.some((o) => graphOutputs.has(o)) &&
      all.every((u) =>
        shape[u.node] || (PARAM_INPUTS[g.node[u.node].opType] ?? []).includes(u.slot)
      );
  }
  return new Set(names.filter((_, i) => shape[i]));
}

interface ModelCase {
  /** Folder under ../shared. */
  dir: string;
  /** Data sets to run (test_data_set_N). */
  sets: number[];
}

const MODELS: ModelCase[] = [
  { dir: "models/resnet18", sets: [0, 1] },
  { dir: "models/mobilenet_v2", sets: [0, 1] },
  { dir: "models/squeezenet1_1", sets: [0, 1] },
  { dir: "models/tiny_bert", sets: [0, 1] },
  { dir: "models/lstm", sets: [0, 1] },
  { dir: "pretrained/mnist", sets: [0, 1] },
  { dir: "pretrained/mnist_opset7", sets: [0, 1] },
  { dir: "pretrained/mobilenetv2_float", sets: [0] },
  { dir: "pretrained/mobilenetv2_int8w_floatact", sets: [0] },
];

function present(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

for (const m of MODELS) {
  const root = join(SHARED, m.dir);
  const have = present(join(root, "model.onnx"));
  const name = `webgpu runs ${m.dir} to its reference with >= 90% of non-shape nodes on the GPU`;
  if (!have) console.log(`skip ${name}: ${root} is absent`);
  else if (!gpu) console.log(`skip ${name}: no WebGPU adapter`);
  Deno.test({
    name,
    ignore: !have || !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const session = await InferenceSession.create(join(root, "model.onnx"), {
        backend: "webgpu",
      });
      const shapes = shapeNodes(session.model.graph!);
      for (const set of m.sets) {
        const dir = join(root, `test_data_set_${set}`);
        const input = decodeValueFile(await Deno.readFile(join(dir, "input_0.pb"))) as Tensor;
        const expected = decodeValueFile(await Deno.readFile(join(dir, "output_0.pb"))) as Tensor;
        const t0 = performance.now();
        const out = await session.run({ [session.inputNames[0]]: input });
        const ms = performance.now() - t0;
        const r = allclose(out[session.outputNames[0]] as Tensor, expected, {
          rtol: 1e-3,
          atol: 1e-4,
        });
        assert.ok(r.ok, `${m.dir} data set ${set}: ${r.message}`);
        const placed = session.lastRunStats!.placement.filter((p) => !shapes.has(p.node));
        const onGpu = placed.filter((p) => p.backend === "webgpu").length;
        const share = onGpu / placed.length;
        const cpu = placed.filter((p) => p.backend === "cpu").map((p) =>
          `${p.opType} (${p.reason})`
        );
        console.log(
          `${m.dir} set ${set}: ${onGpu}/${placed.length} non-shape nodes on the GPU ` +
            `(${(100 * share).toFixed(1)}%), ${ms.toFixed(0)} ms` +
            (cpu.length ? `; on the CPU: ${[...new Set(cpu)].join(", ")}` : ""),
        );
        assert.ok(share >= 0.9, `${m.dir}: only ${(100 * share).toFixed(1)}% on the GPU`);
      }
      await session.release();
    },
  });
}

/** Models checked again after `optimizeModel` at level "all". */
const OPTIMIZED = ["models/resnet18", "models/mobilenet_v2", "models/tiny_bert", "models/lstm"];

for (const dir of OPTIMIZED) {
  const root = join(SHARED, dir);
  const have = present(join(root, "model.onnx"));
  const name = `webgpu runs optimized ${dir} with >= 90% of non-shape nodes on the GPU`;
  if (!have) console.log(`skip ${name}: ${root} is absent`);
  else if (!gpu) console.log(`skip ${name}: no WebGPU adapter`);
  Deno.test({
    name,
    ignore: !have || !gpu,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const loaded = await loadModel(join(root, "model.onnx"));
      const { model } = await optimizeModel(loaded.model, { level: "all" });
      const session = await InferenceSession.create({ ...loaded, model }, { backend: "webgpu" });
      const shapes = shapeNodes(model.graph!);
      const dataDir = join(root, "test_data_set_0");
      const input = decodeValueFile(await Deno.readFile(join(dataDir, "input_0.pb"))) as Tensor;
      const expected = decodeValueFile(await Deno.readFile(join(dataDir, "output_0.pb"))) as Tensor;
      const out = await session.run({ [session.inputNames[0]]: input });
      const r = allclose(out[session.outputNames[0]] as Tensor, expected, {
        rtol: 1e-3,
        atol: 1e-4,
      });
      assert.ok(r.ok, `optimized ${dir}: ${r.message}`);
      const placed = session.lastRunStats!.placement.filter((p) => !shapes.has(p.node));
      const onGpu = placed.filter((p) => p.backend === "webgpu");
      const ops = [...new Set(onGpu.map((p) => p.opType))].sort().join(", ");
      console.log(
        `optimized ${dir}: ${onGpu.length}/${placed.length} non-shape nodes on the GPU (${ops})`,
      );
      assert.ok(onGpu.length / placed.length >= 0.9, `optimized ${dir}: too few GPU nodes`);
      await session.release();
    },
  });
}
