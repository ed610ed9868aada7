/**
 * The one-node model (y = Relu(x), float32) the device subprocess tests run, built without
 * touching the GPU at import (unlike _harness.ts).
 *
 * @module
 */

import type { LoadedModel } from "../../pipeline/load/load.ts";

/** y = Relu(x). */
export function buildModel(): LoadedModel {
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1 } },
    docString: "",
    metadataProps: [],
  });
  return {
    model: {
      irVersion: 10,
      opsetImport: [{ domain: "", version: 22 }],
      producerName: "test",
      producerVersion: "",
      domain: "",
      modelVersion: 0n,
      docString: "",
      metadataProps: [],
      trainingInfo: [],
      functions: [],
      configuration: [],
      graph: {
        node: [{
          input: ["x"],
          output: ["y"],
          name: "relu",
          opType: "Relu",
          domain: "",
          overload: "",
          attribute: [],
          docString: "",
          metadataProps: [],
          deviceConfigurations: [],
        }],
        name: "g",
        initializer: [],
        sparseInitializer: [],
        docString: "",
        input: [vi("x")],
        output: [vi("y")],
        valueInfo: [],
        quantizationAnnotation: [],
        metadataProps: [],
      },
    },
    source: "<test>",
    byteLength: 0,
    external: {
      read: () => {
        throw new Error("no external data");
      },
    },
  };
}
