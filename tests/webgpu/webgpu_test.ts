/**
 * Every WebGPU test, in one module. `deno test` runs each test file in its own isolate, and
 * each isolate would open its own GPU device; tearing several live devices down at process
 * exit crashed llvmpipe now and then (heap corruption after all tests passed). One module
 * means one device per process.
 */

import "./device_cases.ts";
import "./shaders_cases.ts";
import "./elementwise_cases.ts";
import "./matmul_cases.ts";
import "./conv_cases.ts";
import "./pool_cases.ts";
import "./executor_cases.ts";
import "./movement_cases.ts";
import "./reduce_cases.ts";
import "./norm_cases.ts";
import "./resize_cases.ts";
import "./conv_transpose_cases.ts";
import "./rnn_cases.ts";
import "./attention_cases.ts";
import "./contrib_cases.ts";
import "./models_cases.ts";
import "./quant_cases.ts";
import "./fusion_cases.ts";
