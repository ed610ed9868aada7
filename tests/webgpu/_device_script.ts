/**
 * Run as a subprocess by device_cases.ts (so that losing the device or hiding the adapter
 * cannot disturb other tests): `no-adapter` hides navigator.gpu, `lost` destroys the
 * device between two runs. Prints one JSON line with the run statistics and outputs.
 *
 * @module
 */

const mode = Deno.args[0];
if (mode === "no-adapter") {
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
}
const { InferenceSession } = await import("../../pipeline/run/session.ts");
const { Tensor } = await import("../../pipeline/tensor/tensor.ts");
const { currentGpu } = await import("../../pipeline/run/webgpu/device.ts");
const { buildModel } = await import("./_harness_model.ts");

const model = buildModel();
const data = (v: unknown) => Array.from((v as InstanceType<typeof Tensor>).data as Float32Array);
const x = new Tensor("float32", Float32Array.of(-1, 2, -3, 4), [4]);
const report: Record<string, unknown> = {};
const a = await InferenceSession.create(model, { backend: "webgpu" });
const b = await InferenceSession.create(model, { backend: "webgpu" });
report.first = data((await a.run({ x })).y);
report.firstNodes = a.lastRunStats!.nodes;
if (mode === "lost") currentGpu()!.device.destroy();
await new Promise((r) => setTimeout(r, 10));
report.second = data((await a.run({ x })).y);
report.secondNodes = a.lastRunStats!.nodes;
report.secondReason = a.lastRunStats!.placement[0].reason;
report.other = data((await b.run({ x })).y);
console.log(JSON.stringify(report));
