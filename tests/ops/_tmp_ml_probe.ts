import { runOne, str, attr } from "./_family_run.ts";
try { await runOne("Binarizer", [str(["a"], [1, 1])], [], { domain: "ai.onnx.ml" }); } catch (e) { console.log((e as Error).constructor.name, (e as Error).message); }
