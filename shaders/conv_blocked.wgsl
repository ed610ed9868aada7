// Conv (1-D and 2-D) for software adapters such as llvmpipe, without workgroup memory (see
// matmul_direct.wgsl): each invocation computes RM output channels of a group times RN
// consecutive output positions, reading X and W straight from memory. Same uniforms and
// bindings as conv.wgsl, including FusedConv's epilogue. 1-D convolutions use H = 1.

alias T = f32;

override WG: u32 = 64u;
override RM: u32 = 8u; // output channels per invocation
override RN: u32 = 8u; // output positions per invocation
override HAS_BIAS: bool = false;
override HAS_Z: bool = false; // add Z (FusedConv's sum input) to the output
override ACT: u32 = 0u;       // FusedConv activation (see fused_activation)
override ACT_A: f32 = 0.0;    // its activation_params
override ACT_B: f32 = 0.0;

struct Uniforms {
  gemm: vec4<u32>,   // Mg (output channels per group), P (OH*OW), Kc (Cg*KH*KW), group count
  x_dims: vec4<u32>, // C, H, W, Cg
  y_dims: vec4<u32>, // M, OH, OW
  window: vec4<u32>, // KH, KW, pad top, pad left
  steps: vec4<u32>,  // stride H, stride W, dilation H, dilation W
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<T>;
@group(0) @binding(2) var<storage, read> bias: array<T>;
@group(0) @binding(3) var<storage, read> z: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;
@group(0) @binding(5) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

//#include float_bits
// NaN and infinity tests on the bits: WGSL lets a compiler assume floats are never NaN or
// infinite, so `v != v` may be folded away.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn is_inf(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u;
}

fn nan_f32() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

fn inf_f32() -> f32 {
  var bits = 0x7f800000u;
  return bitcast<f32>(bits);
}
//#end

//#include expm1_f32
// exp(x) - 1 without the cancellation near 0 (Kahan's correction).
fn expm1_f32(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (is_inf(u)) { return u; }
  return um1 * x / log(u);
}
//#end

//#include tanh_f32
// tanh(x) with full relative precision near 0 and exact ±1 far from it (needs expm1_f32).
fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a > 10.0) { return sign(x); }
  let e = expm1_f32(2.0 * a);
  let t = e / (e + 2.0);
  return select(t, -t, x < 0.0);
}
//#end

//#include fused_activation
// The activations com.microsoft.FusedConv and FusedGemm apply (codes: 0 none, 1 Relu, 2 Tanh,
// 3 Sigmoid, 4 LeakyRelu, 5 Clip, 6 HardSigmoid; a and b are their parameters), keeping NaN
// as the CPU kernels do (needs float_bits, expm1_f32 and tanh_f32).
fn fused_activation(code: u32, v: f32, a: f32, b: f32) -> f32 {
  // Every activation maps NaN to NaN; selects and comparisons may be folded as if it could
  // not occur (llvmpipe's Relu gave 0).
  if (is_nan(v)) { return v; }
  switch (code) {
    case 1u: { return select(v, 0.0, v < 0.0); }
    case 2u: { return tanh_f32(v); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    case 4u: { return select(v, a * v, v < 0.0); }
    case 5u: { return select(select(v, b, v > b), a, v < a); }
    case 6u: {
      let h = a * v + b;
      if (is_nan(h)) { return h; }
      return max(0.0, min(1.0, h));
    }
    default: { return v; }
  }
}
//#end

// The output value: conv + bias, plus Z, through the fused activation.
fn epilogue(v: T, i: u32) -> T {
  var r = f32(v);
  if (HAS_Z) { r += f32(z[i]); }
  return T(fused_activation(ACT, r, ACT_A, ACT_B));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let Mg = u.gemm.x;
  let P = u.gemm.y;
  let Kc = u.gemm.z;
  let G = u.gemm.w;
  let C = u.x_dims.x;
  let H = u.x_dims.y;
  let W = u.x_dims.z;
  let Cg = u.x_dims.w;
  let OW = u.y_dims.z;
  let KH = u.window.x;
  let KW = u.window.y;
  let i = linear_index(vec3<u32>(wid.x, wid.y, 0u), nwg, lid, WG);
  let col_blocks = (P + RN - 1u) / RN;
  let m0 = (i / col_blocks) * RM;
  let p0 = (i % col_blocks) * RN;
  if (m0 >= Mg) { return; }
  let n_img = wid.z / G;
  let g = wid.z % G;
  let x_base = (n_img * C + g * Cg) * H * W;
  // Top-left input corner of each output position (past the edge: the last position).
  var ih0: array<i32, 16>;
  var iw0: array<i32, 16>;
  for (var j = 0u; j < RN; j++) {
    let p = min(p0 + j, P - 1u);
    ih0[j] = i32((p / OW) * u.steps.x) - i32(u.window.z);
    iw0[j] = i32((p % OW) * u.steps.y) - i32(u.window.w);
  }
  var w_row: array<u32, 16>;
  for (var r = 0u; r < RM; r++) { w_row[r] = (g * Mg + min(m0 + r, Mg - 1u)) * Kc; }
  var acc: array<T, 64>;
  var kidx = 0u;
  for (var ci = 0u; ci < Cg; ci++) {
    let xc = x_base + ci * H * W;
    for (var kh = 0u; kh < KH; kh++) {
      var row: array<i32, 16>;
      for (var j = 0u; j < RN; j++) {
        let ih = ih0[j] + i32(kh * u.steps.z);
        row[j] = select(-1, ih * i32(W), ih >= 0 && ih < i32(H));
      }
      for (var kw = 0u; kw < KW; kw++) {
        var xv: array<T, 16>;
        for (var j = 0u; j < RN; j++) {
          let iw = iw0[j] + i32(kw * u.steps.w);
          var v = T(0);
          if (row[j] >= 0 && iw >= 0 && iw < i32(W)) { v = x[xc + u32(row[j] + iw)]; }
          xv[j] = v;
        }
        for (var r = 0u; r < RM; r++) {
          let wv = w[w_row[r] + kidx];
          for (var j = 0u; j < RN; j++) { acc[r * RN + j] += wv * xv[j]; }
        }
        kidx++;
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let m = m0 + r;
    if (m >= Mg) { break; }
    let oc = g * Mg + m;
    var b0 = T(0);
    if (HAS_BIAS) { b0 = bias[oc]; }
    for (var j = 0u; j < RN; j++) {
      let p = p0 + j;
      if (p >= P) { break; }
      let yi = (n_img * u.y_dims.x + oc) * P + p;
      y[yi] = epilogue(acc[r * RN + j] + b0, yi);
    }
  }
}
