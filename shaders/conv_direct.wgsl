// Conv (1-D and 2-D) computed directly, one invocation per output element: the kernel for
// depthwise and other convolutions with few output channels per group, where the tiles of
// conv.wgsl would sit mostly idle. 1-D convolutions use H = 1.

alias T = f32;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override HAS_Z: bool = false; // add Z (FusedConv's sum input) to the output
override ACT: u32 = 0u;       // FusedConv activation (see fused_activation)
override ACT_A: f32 = 0.0;    // its activation_params
override ACT_B: f32 = 0.0;

struct Uniforms {
  sizes: vec4<u32>,   // x: output element count, y: Mg (output channels per group), z: P (OH*OW)
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
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let P = u.sizes.z;
  let M = u.y_dims.x;
  let OW = u.y_dims.z;
  let C = u.x_dims.x;
  let H = u.x_dims.y;
  let W = u.x_dims.z;
  let Cg = u.x_dims.w;
  let KH = u.window.x;
  let KW = u.window.y;
  let p = i % P;
  let oc = (i / P) % M;
  let n_img = i / (P * M);
  let g = oc / u.sizes.y;
  let oh = p / OW;
  let ow = p % OW;
  var acc = T(0);
  for (var ci = 0u; ci < Cg; ci++) {
    let x_base = (n_img * C + g * Cg + ci) * H * W;
    let w_base = (oc * Cg + ci) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(oh * u.steps.x + kh * u.steps.z) - i32(u.window.z);
      if (ih < 0 || ih >= i32(H)) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = i32(ow * u.steps.y + kw * u.steps.w) - i32(u.window.w);
        if (iw < 0 || iw >= i32(W)) { continue; }
        acc += w[w_base + kh * KW + kw] * x[x_base + u32(ih) * W + u32(iw)];
      }
    }
  }
  if (HAS_BIAS) { acc += bias[oc]; }
  y[i] = epilogue(acc, i);
}
