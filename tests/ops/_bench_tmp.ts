import { InferenceSession } from "../../pipeline/run/session.ts";
import { decodeTensorProto } from "../../pipeline/load/proto.ts";
import { tensorFromProto } from "../../pipeline/load/tensor_proto.ts";
const name = Deno.args[0] ?? "resnet18";
const dir = `/work/shared/models/${name}`;
const s = await InferenceSession.create(`${dir}/model.onnx`);
const x = tensorFromProto(decodeTensorProto(await Deno.readFile(`${dir}/test_data_set_0/input_0.pb`)));
const ref = tensorFromProto(decodeTensorProto(await Deno.readFile(`${dir}/test_data_set_0/output_0.pb`)));
for (let it = 0; it < 3; it++) {
  const byOp = new Map<string, number>();
  const t0 = performance.now();
  const out = await s.run({ [s.inputNames[0]]: x }, { onNode: (i) => byOp.set(i.opType, (byOp.get(i.opType) ?? 0) + i.ms) });
  const t1 = performance.now();
  const y = out[s.outputNames[0]] as { data: Float32Array };
  let maxErr = 0;
  for (let i = 0; i < y.data.length; i++) maxErr = Math.max(maxErr, Math.abs(y.data[i] - (ref.data as Float32Array)[i]));
  console.log(`run ${it}: ${(t1 - t0).toFixed(0)} ms, max abs err ${maxErr.toExponential(2)}`, [...byOp].map(([k, v]) => `${k}:${v.toFixed(0)}`).join(" "));
}
