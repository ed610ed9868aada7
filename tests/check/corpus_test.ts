/**
 * The checker on every model of the shared data: the ONNX backend suite (node, simple,
 * pytorch-converted, pytorch-operator, light), ../shared/models and ../shared/pretrained
 * must pass with no error finding, structurally and with full type and shape inference
 * (warnings are allowed, e.g. for the com.microsoft ops of mobilenetv2_int8). Damaging a copy
 * of squeezenet1_1 gives the specific findings. Skipped, with a printed reason, when the
 * shared data is absent.
 */

import assert from "node:assert/strict";
import { checkModel, formatFinding } from "../../pipeline/check/checker.ts";
import type { CheckReport } from "../../pipeline/check/checker.ts";
import { loadModel } from "../../pipeline/load/load.ts";
import type { Model } from "../../pipeline/load/ir.ts";
import { intAttr, makeValueInfo } from "../../pipeline/load/build.ts";
import { formatValueType } from "../../pipeline/tensor/value_type.ts";
import { exists, SHARED } from "./_build.ts";

const BACKEND = `${SHARED}/onnx-backend`;
const present = exists(BACKEND);
if (!present) console.log(`Skipping the checker corpus tests: ${BACKEND} is absent`);

/**
 * Models that fail the full check today because of an op's `infer` function, not because
 * the model is invalid (onnx.checker accepts them). Each entry names the finding that shows
 * the problem; the test fails when the list goes stale in either direction.
 */
const KNOWN_INFER_ISSUES: Record<string, string> = {};

function modelsOf(group: string): string[] {
  const out: string[] = [];
  if (group === "light") {
    if (!exists(`${BACKEND}/light`)) return out;
    for (const d of Deno.readDirSync(`${BACKEND}/light`)) {
      if (d.name.endsWith(".onnx")) out.push(`${BACKEND}/light/${d.name}`);
    }
    return out.sort();
  }
  const root = group === "models" || group === "pretrained"
    ? `${SHARED}/${group}`
    : `${BACKEND}/${group}`;
  if (!exists(root)) return out;
  for (const d of Deno.readDirSync(root)) {
    const p = `${root}/${d.name}/model.onnx`;
    if (d.isDirectory && exists(p)) out.push(p);
  }
  return out.sort();
}

function errors(r: CheckReport): string[] {
  return r.findings.filter((f) => f.severity === "error").map(formatFinding);
}

const GROUPS = [
  "node",
  "simple",
  "pytorch-converted",
  "pytorch-operator",
  "light",
  "models",
  "pretrained",
];

const noInfer = new Set<string>();

for (const group of GROUPS) {
  Deno.test({
    name: `every ${group} model passes the checker (structural and full)`,
    ignore: !present,
    fn: async () => {
      const paths = modelsOf(group);
      assert.ok(paths.length > 0, `no models found for ${group}`);
      const problems: string[] = [];
      for (const path of paths) {
        const rel = path.slice(SHARED.length + 1);
        const { model, external } = await loadModel(path);
        const quick = checkModel(model, { external });
        if (!quick.ok) problems.push(`${rel} (structural):\n  ${errors(quick).join("\n  ")}`);
        const fullReport = checkModel(model, { fullCheck: true, external });
        for (const op of fullReport.opsWithoutInfer ?? []) noInfer.add(op);
        const known = KNOWN_INFER_ISSUES[rel];
        if (known) {
          if (fullReport.ok) problems.push(`${rel} now passes: remove it from KNOWN_INFER_ISSUES`);
          else if (!fullReport.findings.some((f) => f.code === known)) {
            problems.push(
              `${rel} fails differently than recorded:\n  ${errors(fullReport).join("\n  ")}`,
            );
          }
        } else if (!fullReport.ok) {
          problems.push(`${rel} (full):\n  ${errors(fullReport).join("\n  ")}`);
        }
      }
      assert.deepEqual(problems, [], problems.join("\n"));
    },
  });
}

Deno.test({
  name: "ops met in the corpus whose declarations lack an infer function are listed",
  ignore: !present,
  fn: () => {
    // Informational: printed for whoever chases the op declarations; every entry is a string
    // naming an op.
    console.log(`Ops without infer in the shared models: ${[...noInfer].sort().join(", ")}`);
    for (const op of noInfer) {
      assert.match(op, /^([a-z.]+:)?[A-Z][A-Za-z0-9]*( \(not implemented\))?$/);
    }
  },
});

Deno.test({
  name: "mobilenetv2_int8 passes, with at most warnings for its com.microsoft domains",
  ignore: !exists(`${SHARED}/pretrained/mobilenetv2_int8/model.onnx`),
  fn: async () => {
    const { model } = await loadModel(`${SHARED}/pretrained/mobilenetv2_int8/model.onnx`);
    const r = checkModel(model, { fullCheck: true });
    assert.equal(r.ok, true);
    // Which com.microsoft ops warn depends on which ones the runtime implements; whatever is
    // reported must be a warning about the custom domains.
    for (const f of r.findings) {
      assert.equal(f.severity, "warning", formatFinding(f));
      assert.ok(["unknown-domain", "unknown-op"].includes(f.code), formatFinding(f));
      assert.match(f.message, /com\.microsoft/);
    }
    // Declaring the domain as implemented silences the warnings.
    const quiet = checkModel(model, {
      fullCheck: true,
      customDomains: ["com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental"],
    });
    assert.deepEqual(quiet.findings.map(formatFinding), []);
  },
});

const RESNET = `${SHARED}/models/resnet18/model.onnx`;

Deno.test({
  name: "checking resnet18 with full inference takes well under a second and types every value",
  ignore: !exists(RESNET),
  fn: async () => {
    const { model } = await loadModel(RESNET);
    checkModel(model, { fullCheck: true }); // warm-up (schema table, registry)
    const t0 = performance.now();
    const r = checkModel(model, { fullCheck: true });
    const ms = performance.now() - t0;
    console.log(`resnet18 full check: ${ms.toFixed(1)} ms`);
    assert.ok(ms < 500, `took ${ms} ms`);
    assert.equal(r.ok, true);
    const out = model.graph!.output[0].name;
    const input = model.graph!.input[0];
    const batch = input.type?.tensorType?.shape?.[0]?.dimParam ?? 1;
    assert.equal(formatValueType(r.inferredTypes!.get(out)), `float32[${batch},1000]`);
    for (const n of model.graph!.node) {
      for (const o of n.output) {
        const t = r.inferredTypes!.get(o);
        assert.ok(t?.kind === "tensor" && t.shape && t.shape.every((d) => d !== undefined), o);
      }
    }
  },
});

const SQUEEZENET = `${SHARED}/models/squeezenet1_1/model.onnx`;

Deno.test({
  name: "damaging a copy of squeezenet1_1 gives each specific finding, all at once",
  ignore: !exists(SQUEEZENET),
  fn: async () => {
    const { model } = await loadModel(SQUEEZENET);
    assert.equal(checkModel(model, { fullCheck: true }).ok, true);
    const g0 = model.graph!;
    const convIdx = g0.node.findIndex((n) => n.opType === "Conv");
    const reluIdx = g0.node.findIndex((n, i) => i > convIdx && n.opType === "Relu");
    const concatIdx = g0.node.findIndex((n) => n.opType === "Concat");
    const label = (i: number) => g0.node[i].name || `#${i}`;
    const reference = checkModel(model, { fullCheck: true }).inferredTypes!;
    const convOut = g0.node[convIdx].output[0];
    const convType = reference.get(convOut);
    assert.ok(convType?.kind === "tensor" && convType.shape?.length === 4);

    const copy = (): Model => structuredClone(model);
    const cases: { apply: (m: Model) => void; code: string; node?: string }[] = [
      {
        apply: (m) => void (m.graph!.node[reluIdx].opType = "Relu6"),
        code: "unknown-op",
        node: label(reluIdx),
      },
      {
        apply: (m) => void m.graph!.node[convIdx].attribute.push(intAttr("bogus", 1)),
        code: "unknown-attribute",
        node: label(convIdx),
      },
      {
        apply: (m) => void m.graph!.node[concatIdx].attribute.splice(0),
        code: "missing-attribute",
        node: label(concatIdx),
      },
      {
        apply: (m) => {
          const shape = (convType as { shape: (number | string | undefined)[] }).shape;
          const wrong = shape.map((d, i) => (i === 1 ? 999 : typeof d === "number" ? d : "N"));
          m.graph!.valueInfo.push(makeValueInfo(convOut, 1, wrong as (number | string)[]));
        },
        code: "shape-conflict",
        node: label(convIdx),
      },
      {
        apply: (m) => {
          const nodes = m.graph!.node;
          [nodes[convIdx], nodes[reluIdx]] = [nodes[reluIdx], nodes[convIdx]];
        },
        code: "topological-order",
        node: label(reluIdx),
      },
      { apply: (m) => void (m.irVersion = 99), code: "ir-version" },
    ];
    const all = copy();
    for (const c of cases) {
      const m = copy();
      c.apply(m);
      const r = checkModel(m, { fullCheck: true });
      assert.ok(
        r.findings.some((f) => f.code === c.code && (c.node === undefined || f.node === c.node)),
        `${c.code} at ${c.node}:\n${r.findings.map(formatFinding).join("\n")}`,
      );
      if (c.code !== "topological-order") c.apply(all);
    }
    const r = checkModel(all, { fullCheck: true });
    for (const c of cases.filter((x) => x.code !== "topological-order")) {
      assert.ok(r.findings.some((f) => f.code === c.code), `${c.code} missing when combined`);
    }
    // The original was not touched by the damaged copies.
    assert.equal(checkModel(model, { fullCheck: true }).ok, true);
  },
});
