/**
 * End-to-end checks of the quantized MobileNetV2 models in ../shared/pretrained:
 * mobilenetv2_int8 (QLinearConv, QLinearMatMul, Quantize/DequantizeLinear and the
 * com.microsoft QLinearAdd / QLinearGlobalAveragePool), its standard-ops rewrite and the
 * int8-weight float-activation variant. Each is fed test_data_set_0 (a Samoyed photo) and
 * must answer class 258.
 *
 * About the stored references of the two int8-activation models: they were produced by
 * onnxruntime on an x86 CPU without VNNI, whose u8 x s8 kernels (vpmaddubsw) add the
 * products of each pair of adjacent terms into a saturating int16 before widening to int32.
 * The ONNX definition (and onnxruntime on VNNI hardware, e.g. onnxruntime-node 1.30 on an
 * AVX512-VNNI CPU) sums in int32 exactly. So these tests check:
 * - with the default exact accumulation, our logits equal, bit for bit, those of onnxruntime
 *   1.30 on AVX512-VNNI hardware (embedded below as the quantized output codes);
 * - with the session option `int8Accumulation: "x86-u8s8"`, the whole model reproduces the
 *   stored reference bit for bit.
 */

import assert from "node:assert/strict";
import { InferenceSession } from "../../pipeline/run/session.ts";
import { decodeValueFile } from "../../pipeline/load/tensor_proto.ts";
import { allclose } from "../../pipeline/compare.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import type { Int8Accumulation } from "../../ops/types.ts";
import { SHARED } from "../_shared_root.ts";

const ROOT = `${SHARED}/pretrained`;
const SAMOYED = 258;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const have = (m: string) => exists(`${ROOT}/${m}/model.onnx`);
for (const m of ["mobilenetv2_int8", "mobilenetv2_int8_stdops", "mobilenetv2_int8w_floatact"]) {
  if (!have(m)) console.log(`Skipping ${m} tests: ${ROOT}/${m} is not available`);
}

/** Runs a model on its test_data_set_0 input; returns the output and the stored reference. */
async function runModel(
  m: string,
  int8Accumulation: Int8Accumulation = "exact",
): Promise<{ y: Tensor; ref: Tensor }> {
  const dir = `${ROOT}/${m}`;
  const session = await InferenceSession.create(`${dir}/model.onnx`, { int8Accumulation });
  const x = decodeValueFile(await Deno.readFile(`${dir}/test_data_set_0/input_0.pb`));
  const ref = decodeValueFile(await Deno.readFile(`${dir}/test_data_set_0/output_0.pb`));
  const out = await session.run({ [session.inputNames[0]]: x });
  const y = out[session.outputNames[0]];
  assert.ok(y instanceof Tensor && ref instanceof Tensor);
  return { y, ref };
}

function argmax(t: Tensor): number {
  const d = t.data as Float32Array;
  let best = 0;
  for (let i = 1; i < d.length; i++) if (d[i] > d[best]) best = i;
  return best;
}

/**
 * onnxruntime 1.30's logits for mobilenetv2_int8 on test_data_set_0 on an AVX512-VNNI CPU,
 * as the uint8 codes of the final DequantizeLinear (scale 0.16014458239078522, zero point
 * 75): logit[i] = (code[i] - 75) * scale.
 */
const ORT_VNNI_CODES =
  "5a42413c3c5042637641243a1f2f2c30424b442f383d3f4639484a52425e4d4b4d38443d4c3f4a59453c3e45" +
  "4b4552454c4a5040474148383f3946405132412c36324b3c452d3046453a42383c3b4e55404b525454414846" +
  "3d613c342c3d342b43382c4e4e3249358049543a462d40303e4b504b3c3c4f50334d4b4a543a4247364d333e" +
  "562d4b383931361b24312a3446484f4142453d717363694e4b815c484740463b3a34453a4a695e493d6a6954" +
  "3c5c3a4e513f4f495b646f4b624b5d416e6a4e4e464b4572585248874f4f47635044384e614b455b5952504f" +
  "564375827e57626c636e8787805644664f594e5d595142314b434557837d7d4f4c5d3a496585a7976f8a4877" +
  "68524f5b4a6985575b6862424e695e896561607562603f60495039404f3d434447414b462836413e36354945" +
  "2a3a454a484a4635384544292b3132333a433a423f496075816856694f49594a3a5b483235494236573b3f2c" +
  "3242326860536564445d45584241363845374a51495555402d5e494157494b4f532b2054454d3e5636423e54" +
  "353b433e3a465341484b2f4f595031545e534346394547504e4949443f4e51626a5c3350483a49525152394c" +
  "5c4d4d474f49495c43475e47554537405d5f47475c536a6646463d324f5c595459403e43474956554443464e" +
  "594d365158664e534349544454404c4c30585f5a4c574f4f513937514951445d4c384e5642456d534c493944" +
  "47484e3c3849514b405439653146534c565147343d463540694a53504a585d4e464c515339365551444c4b4e" +
  "4c595c543f5255484e534139565052524e4c4e4b42464f3c5a52413c495c403a37474c4353484b4935504b50" +
  "4e4c42414e63504b354747595b575255484f414b545449465755424a4b4656453c414c47586a405653664d44" +
  "5149433154434350324d494d404b5a495c533d3f51473e4f435638394a4c4344504e4e58564b4454634a3457" +
  "4e3f3e514b49383f4a3e42415c4e505b434e5c644751314c5c434f6a3b69335336494935473e543164454a5c" +
  "4f5f50675e51584665495c484f5d33625b555039564d4e4a453c4b4f465043444a4b554f484735583f3c4e4f" +
  "68514a473b523b4a49454e5544634c4f4e3f405b404e54504d595c4347484a63534f594c563a53494e654855" +
  "4f545250584d3e4352564752485549586c404253443141393c484e494a3448504a515e55463032485c423f64" +
  "5944624a363f4d2c3d483d3d4845385350526355344a574c58434d5253534f4d6352483e482e424a463e374a" +
  "3f3b2d464362504358314a5358574b4d553f4e4a3e343d3e5d574948394a434442505745424a413e313e4e2c" +
  "504f525a50344b623d544a43514e4c41484a4a544b405141461d304043355560";

function ortVnniLogits(): Tensor {
  const scale = 0.16014458239078522, zp = 75;
  const out = new Float32Array(ORT_VNNI_CODES.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (parseInt(ORT_VNNI_CODES.slice(2 * i, 2 * i + 2), 16) - zp) * scale;
  }
  return new Tensor("float32", out, [1, out.length]);
}

for (const m of ["mobilenetv2_int8", "mobilenetv2_int8_stdops"]) {
  Deno.test({
    name: `${m}: exact accumulation answers Samoyed, bit-identical to onnxruntime 1.30 (VNNI)`,
    ignore: !have(m),
    fn: async () => {
      const { y, ref } = await runModel(m, "exact");
      assert.deepEqual(y.dims, [1, 1000]);
      assert.equal(argmax(y), SAMOYED);
      assert.equal(argmax(ref), SAMOYED);
      const vs = allclose(y, ortVnniLogits(), { rtol: 1e-3, atol: 1e-4 });
      assert.ok(vs.ok, vs.message);
      assert.equal(vs.maxAbsError, 0);
      const r = allclose(y, ref, { rtol: 1e-3, atol: 1e-4 });
      // The stored reference comes from a CPU without VNNI: exact sums cannot match it.
      assert.ok(!r.ok);
      console.log(
        `${m} (exact) vs the stored (pre-VNNI onnxruntime) reference: max abs error ` +
          `${r.maxAbsError}, ${r.mismatched}/${r.total} outside rtol 1e-3 atol 1e-4`,
      );
    },
  });
  Deno.test({
    name: `${m}: x86-u8s8 accumulation reproduces the stored reference and answers Samoyed`,
    ignore: !have(m),
    fn: async () => {
      const { y, ref } = await runModel(m, "x86-u8s8");
      assert.deepEqual(y.dims, [1, 1000]);
      const r = allclose(y, ref, { rtol: 1e-3, atol: 1e-4 });
      assert.ok(r.ok, r.message);
      // Not just within tolerance: the emulation reproduces onnxruntime's integer sums.
      assert.equal(r.maxAbsError, 0);
      assert.equal(argmax(y), SAMOYED);
    },
  });
}

Deno.test({
  name: "mobilenetv2_int8w_floatact matches its reference and answers Samoyed",
  ignore: !have("mobilenetv2_int8w_floatact"),
  fn: async () => {
    const { y, ref } = await runModel("mobilenetv2_int8w_floatact");
    const r = allclose(y, ref, { rtol: 1e-3, atol: 1e-4 });
    assert.ok(r.ok, r.message);
    assert.equal(argmax(y), SAMOYED);
    console.log(`mobilenetv2_int8w_floatact: max abs error ${r.maxAbsError}`);
  },
});
