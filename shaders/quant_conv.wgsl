// Integer convolution sums of packed int8/uint8 x and w (ConvInteger; QLinearConv before
// requantization), 1-D and 2-D, as an implicit GEMM like conv.wgsl: per image and group,
// Y (Mg x P) = W (Mg x Kc) * im2col(X) (Kc x P) in i32 (y is int32). 1-D uses H = 1.
//
// Exact: the tiles hold x - x_zp (0 in the padding) and w - w_zp[m].
// PAIRS (onnxruntime's x86 u8 x s8 kernels without VNNI, see pipeline/run/cpu/igemm.ts): the
// tiles hold raw values (the padding reads x_zp), K is walked in the CPU's order
// (CHANNELS_LAST: kernel taps outer, channels inner), adjacent products are summed in
// int16-saturated pairs (TILE_K is even, so pairs never straddle tiles), and the zero points
// enter afterwards: sum - x_zp * sum(w) - w_zp * sum(x) + Kc * w_zp * x_zp.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override RM: u32 = 2u; // output channels per invocation
override RN: u32 = 4u; // output positions per invocation
override TILE_K: u32 = 8u;
override X_SIGNED: bool = false;
override W_SIGNED: bool = false;
override W_ZP_PER_CHANNEL: bool = false;
override PAIRS: bool = false;
override CHANNELS_LAST: bool = false;

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
// kw * dilation W (made on the host, so the tile loads divide nothing).
@group(0) @binding(4) var<storage, read> k_terms: array<vec4<i32>>;
@group(0) @binding(5) var<storage, read_write> y: array<i32>;
@group(0) @binding(6) var<uniform> u: Uniforms;

var<workgroup> a_tile: array<i32, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<i32, TILE_K * WG_X * RN>;

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
  let n_img = wid.z / G;
  let g = wid.z % G;
  let tm = WG_Y * RM;
  let tn = WG_X * RN;
  let row0 = wid.y * tm;
  let col0 = wid.x * tn;
  let x_base = (n_img * C + g * Cg) * H * W;
  let w_base = g * Mg * Kc;
  let xz = q8_get(x_zp[0], 0u, X_SIGNED);
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  // When the threads cover whole rows of the B tile, each loads one column throughout.
  let fixed_col = threads % tn == 0u;
  let my_p = col0 + t % tn;
  let my_ih = i32((my_p / OW) * u.steps.x) - i32(u.window.z);
  let my_iw = i32((my_p % OW) * u.steps.y) - i32(u.window.w);
  var acc: array<i32, 16>;
  var row_sum: array<i32, 16>;
  var col_sum: array<i32, 4>;
  for (var k0 = 0u; k0 < Kc; k0 += TILE_K) {
    for (var e = t; e < tm * TILE_K; e += threads) {
      let m = row0 + e / TILE_K;
      let k = k0 + e % TILE_K;
      var v = 0;
      if (m < Mg && k < Kc) {
        v = w_at(w_base + m * Kc + u32(k_terms[k].x));
        if (!PAIRS) { v -= w_zero(g * Mg + m); }
      }
      a_tile[e] = v;
    }
    for (var e = t; e < TILE_K * tn; e += threads) {
      let k = k0 + e / tn;
      let p = col0 + e % tn;
      var v = 0;
      if (k < Kc && p < P) {
        let term = k_terms[k];
        var ih = my_ih;
        var iw = my_iw;
        if (!fixed_col) {
          ih = i32((p / OW) * u.steps.x) - i32(u.window.z);
          iw = i32((p % OW) * u.steps.y) - i32(u.window.w);
        }
        ih += term.z;
        iw += term.w;
        if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
          v = x_at(x_base + (u32(term.y) * H + u32(ih)) * W + u32(iw));
          if (!PAIRS) { v -= xz; }
        } else if (PAIRS) {
          v = xz;
        }
      }
      b_tile[e] = v;
    }
    workgroupBarrier();
    if (PAIRS) {
      for (var kk = 0u; kk < TILE_K; kk += 2u) {
        var b0: array<i32, 4>;
        var b1: array<i32, 4>;
        for (var j = 0u; j < RN; j++) {
          b0[j] = b_tile[kk * tn + lid.x * RN + j];
          b1[j] = b_tile[(kk + 1u) * tn + lid.x * RN + j];
          col_sum[j] += b0[j] + b1[j];
        }
        for (var i = 0u; i < RM; i++) {
          let a0 = a_tile[(lid.y * RM + i) * TILE_K + kk];
          let a1 = a_tile[(lid.y * RM + i) * TILE_K + kk + 1u];
          row_sum[i] += a0 + a1;
          for (var j = 0u; j < RN; j++) {
            acc[i * RN + j] += clamp(a0 * b0[j] + a1 * b1[j], -32768, 32767);
          }
        }
      }
    } else {
      for (var kk = 0u; kk < TILE_K; kk++) {
        var bv: array<i32, 4>;
        for (var j = 0u; j < RN; j++) { bv[j] = b_tile[kk * tn + lid.x * RN + j]; }
        for (var i = 0u; i < RM; i++) {
          let av = a_tile[(lid.y * RM + i) * TILE_K + kk];
          for (var j = 0u; j < RN; j++) { acc[i * RN + j] += av * bv[j]; }
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i++) {
    let m = row0 + lid.y * RM + i;
    if (m >= Mg) { break; }
    let oc = g * Mg + m;
    let wz = w_zero(oc);
    for (var j = 0u; j < RN; j++) {
      let p = col0 + lid.x * RN + j;
      if (p >= P) { break; }
      var v = acc[i * RN + j];
      if (PAIRS) { v = v - xz * row_sum[i] - wz * col_sum[j] + i32(Kc) * wz * xz; }
      y[(n_img * u.y_dims.x + oc) * P + p] = v;
    }
  }
}
