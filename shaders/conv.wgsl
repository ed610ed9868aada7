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
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> u: Uniforms;

var<workgroup> a_tile: array<T, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<T, TILE_K * WG_X * RN>;

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
      y[(n_img * u.y_dims.x + oc) * P + p] = acc[i * RN + j] + b0;
    }
  }
}
