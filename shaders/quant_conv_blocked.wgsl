// Integer convolution sums for software adapters such as llvmpipe, without workgroup memory
// (as conv_blocked.wgsl): each invocation computes RM output channels of a group times RN
// consecutive output positions, reading x and w straight from memory. Modes, bindings and
// uniforms as quant_conv.wgsl (exact, or PAIRS with the K walk of k_terms).

override WG: u32 = 64u;
override RM: u32 = 8u; // output channels per invocation (RM * RN <= 64, each <= 16)
override RN: u32 = 8u; // output positions per invocation
override X_SIGNED: bool = false;
override W_SIGNED: bool = false;
override W_ZP_PER_CHANNEL: bool = false;
override PAIRS: bool = false;

struct Uniforms {
  gemm: vec4<u32>,   // Mg (output channels per group), P (OH*OW), Kc (Cg*KH*KW), group count
  x_dims: vec4<u32>, // C, H, W, Cg
  y_dims: vec4<u32>, // M, OH, OW
  window: vec4<u32>, // KH, KW, pad top, pad left
  steps: vec4<u32>,  // stride H, stride W
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x_zp: array<u32>;
@group(0) @binding(3) var<storage, read> w_zp: array<u32>;
// Per term k of the K walk: its index in a weight row, its input channel, kh * dilation H and
// kw * dilation W.
@group(0) @binding(4) var<storage, read> k_terms: array<vec4<i32>>;
@group(0) @binding(5) var<storage, read_write> y: array<i32>;
@group(0) @binding(6) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

//#include q8
// Byte `lane` (0..3) of a packed word as int8 (signed) or uint8.
fn q8_get(word: u32, lane: u32, signed: bool) -> i32 {
  let b = (word >> (lane * 8u)) & 0xffu;
  return select(i32(b), i32(b) - 256, signed && b >= 128u);
}

// Four in-range values packed into a word, lane 0 in the low byte.
fn q8_pack(v: vec4<i32>) -> u32 {
  let b = bitcast<vec4<u32>>(v) & vec4<u32>(0xffu);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}
//#end

fn x_at(i: u32) -> i32 {
  return q8_get(x[i >> 2u], i & 3u, X_SIGNED);
}

fn w_at(i: u32) -> i32 {
  return q8_get(w[i >> 2u], i & 3u, W_SIGNED);
}

fn w_zero(m: u32) -> i32 {
  let j = select(0u, m, W_ZP_PER_CHANNEL);
  return q8_get(w_zp[j >> 2u], j & 3u, W_SIGNED);
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
  let i = linear_index(vec3<u32>(wid.x, wid.y, 0u), nwg, lid, WG);
  let col_blocks = (P + RN - 1u) / RN;
  let m0 = (i / col_blocks) * RM;
  let p0 = (i % col_blocks) * RN;
  if (m0 >= Mg) { return; }
  let n_img = wid.z / G;
  let g = wid.z % G;
  let x_base = (n_img * C + g * Cg) * H * W;
  let xz = q8_get(x_zp[0], 0u, X_SIGNED);
  // Top-left input corner of each output position (past the edge: the last position).
  var ih0: array<i32, 16>;
  var iw0: array<i32, 16>;
  for (var j = 0u; j < RN; j++) {
    let p = min(p0 + j, P - 1u);
    ih0[j] = i32((p / OW) * u.steps.x) - i32(u.window.z);
    iw0[j] = i32((p % OW) * u.steps.y) - i32(u.window.w);
  }
  var w_row: array<u32, 16>;
  var wz: array<i32, 16>;
  for (var r = 0u; r < RM; r++) {
    let oc = g * Mg + min(m0 + r, Mg - 1u);
    w_row[r] = oc * Kc;
    wz[r] = w_zero(oc);
  }
  var acc: array<i32, 64>;
  var x_sum: array<i32, 16>;
  var w_sum: array<i32, 16>;
  if (!PAIRS) {
    for (var k = 0u; k < Kc; k++) {
      let term = k_terms[k];
      let xc = x_base + u32(term.y) * H * W;
      var xv: array<i32, 16>;
      for (var j = 0u; j < RN; j++) {
        let ih = ih0[j] + term.z;
        let iw = iw0[j] + term.w;
        var v = 0;
        if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
          v = x_at(xc + u32(ih) * W + u32(iw)) - xz;
        }
        xv[j] = v;
      }
      for (var r = 0u; r < RM; r++) {
        let wv = w_at(w_row[r] + u32(term.x)) - wz[r];
        for (var j = 0u; j < RN; j++) { acc[r * RN + j] += wv * xv[j]; }
      }
    }
  } else {
    // Raw values in pairs of the K walk (the padding reads x_zp, a missing last term is 0).
    for (var k = 0u; k < Kc; k += 2u) {
      let has1 = k + 1u < Kc;
      let t0 = k_terms[k];
      let t1 = k_terms[min(k + 1u, Kc - 1u)];
      let xc0 = x_base + u32(t0.y) * H * W;
      let xc1 = x_base + u32(t1.y) * H * W;
      var x0: array<i32, 16>;
      var x1: array<i32, 16>;
      for (var j = 0u; j < RN; j++) {
        var ih = ih0[j] + t0.z;
        var iw = iw0[j] + t0.w;
        var v = xz;
        if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
          v = x_at(xc0 + u32(ih) * W + u32(iw));
        }
        x0[j] = v;
        ih = ih0[j] + t1.z;
        iw = iw0[j] + t1.w;
        v = select(0, xz, has1);
        if (has1 && ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
          v = x_at(xc1 + u32(ih) * W + u32(iw));
        }
        x1[j] = v;
        x_sum[j] += x0[j] + x1[j];
      }
      for (var r = 0u; r < RM; r++) {
        let w0 = w_at(w_row[r] + u32(t0.x));
        let w1 = select(0, w_at(w_row[r] + u32(t1.x)), has1);
        w_sum[r] += w0 + w1;
        for (var j = 0u; j < RN; j++) {
          acc[r * RN + j] += clamp(w0 * x0[j] + w1 * x1[j], -32768, 32767);
        }
      }
    }
  }
  for (var r = 0u; r < RM; r++) {
    let m = m0 + r;
    if (m >= Mg) { break; }
    let oc = g * Mg + m;
    for (var j = 0u; j < RN; j++) {
      let p = p0 + j;
      if (p >= P) { break; }
      var v = acc[r * RN + j];
      if (PAIRS) { v = v - xz * w_sum[r] - wz[r] * x_sum[j] + i32(Kc) * wz[r] * xz; }
      y[(n_img * u.y_dims.x + oc) * P + p] = v;
    }
  }
}
