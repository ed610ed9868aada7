// Conv (1-D and 2-D, groups, strides, dilations, pads) as an implicit GEMM: per image and
// group, Y (Mg x P) = W (Mg x Kc) * im2col(X) (Kc x P), where P is the number of output
// positions and Kc = Cg*KH*KW. The im2col matrix is never stored: tiles of it are gathered
// from X into workgroup memory. Tiling as in matmul.wgsl. 1-D convolutions use H = 1.

alias T = f32;

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override RM: u32 = 4u; // output channels per invocation
override RN: u32 = 4u; // output positions per invocation
override TILE_K: u32 = 16u;
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

var<workgroup> a_tile: array<T, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<T, TILE_K * WG_X * RN>;

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

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
  let KHW = KH * KW;
  let n_img = wid.z / G;
  let g = wid.z % G;
  let tm = WG_Y * RM;
  let tn = WG_X * RN;
  let row0 = wid.y * tm;
  let col0 = wid.x * tn;
  let x_base = (n_img * C + g * Cg) * H * W;
  let w_base = g * Mg * Kc;
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  var acc: array<T, 16>;
  for (var k0 = 0u; k0 < Kc; k0 += TILE_K) {
    for (var e = t; e < tm * TILE_K; e += threads) {
      let m = row0 + e / TILE_K;
      let k = k0 + e % TILE_K;
      var v = T(0);
      if (m < Mg && k < Kc) { v = w[w_base + m * Kc + k]; }
      a_tile[e] = v;
    }
    for (var e = t; e < TILE_K * tn; e += threads) {
      let k = k0 + e / tn;
      let p = col0 + e % tn;
      var v = T(0);
      if (k < Kc && p < P) {
        let ci = k / KHW;
        let r = k % KHW;
        let ih = i32((p / OW) * u.steps.x + (r / KW) * u.steps.z) - i32(u.window.z);
        let iw = i32((p % OW) * u.steps.y + (r % KW) * u.steps.w) - i32(u.window.w);
        if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
          v = x[x_base + (ci * H + u32(ih)) * W + u32(iw)];
        }
      }
      b_tile[e] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      var bv: array<T, 4>;
      for (var j = 0u; j < RN; j++) { bv[j] = b_tile[kk * tn + lid.x * RN + j]; }
      for (var i = 0u; i < RM; i++) {
        let av = a_tile[(lid.y * RM + i) * TILE_K + kk];
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] += av * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i++) {
    let m = row0 + lid.y * RM + i;
    if (m >= Mg) { break; }
    let oc = g * Mg + m;
    var b0 = T(0);
    if (HAS_BIAS) { b0 = bias[oc]; }
    for (var j = 0u; j < RN; j++) {
      let p = col0 + lid.x * RN + j;
      if (p >= P) { break; }
      let yi = (n_img * u.y_dims.x + oc) * P + p;
      y[yi] = epilogue(acc[i * RN + j] + b0, yi);
    }
  }
}
