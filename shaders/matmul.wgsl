// Batched matrix product (MatMul, with numpy broadcasting of the batch dims) and Gemm
// (transposes through strides, alpha, beta and a broadcast C; FusedGemm's activation in the
// epilogue). A workgroup computes a (WG_Y*RM) x (WG_X*RN) tile of the output, each
// invocation a RM x RN block, from tiles of A and B staged in workgroup memory TILE_K
// columns at a time. RM * RN <= 16, RN <= 4.

alias T = f32;

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override RM: u32 = 4u;         // output rows per invocation
override RN: u32 = 4u;         // output columns per invocation
override TILE_K: u32 = 16u;
override BATCH_RANK: u32 = 0u; // rank of the output's batch dims
override HAS_C: bool = false;  // add beta * C (Gemm)
override SCALED: bool = false; // multiply the product by alpha (Gemm)
override ACT: u32 = 0u;        // FusedGemm activation (see fused_activation)
override ACT_A: f32 = 0.0;     // its parameters
override ACT_B: f32 = 0.0;

struct Uniforms {
  mnk: vec4<u32>,   // M, N, K, batch count
  a_mk: vec4<u32>,  // A's element strides along m and k
  b_kn: vec4<u32>,  // B's element strides along k and n
  c_mn: vec4<u32>,  // C's element strides along m and n (0 where it broadcasts)
  scale: vec4<f32>, // alpha, beta
  batch_dims: array<vec4<u32>, 2>,
  a_batch: array<vec4<u32>, 2>, // A's element strides over the batch dims (0 broadcasts)
  b_batch: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read> c: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> u: Uniforms;

var<workgroup> a_tile: array<T, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<T, TILE_K * WG_X * RN>;

//#include broadcast_offset
// Offset of output element i in an input broadcast to the output: dims are the output's
// dims (rank of them), strides the input's strides over those dims, 0 where it broadcasts.
fn broadcast_offset(i: u32, rank: u32, dims: array<vec4<u32>, 2>,
                    strides: array<vec4<u32>, 2>) -> u32 {
  var d = dims;
  var s = strides;
  var rest = i;
  var off = 0u;
  for (var k = rank; k > 0u; k--) {
    let j = k - 1u;
    let n = d[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * s[j / 4u][j % 4u];
    rest = q;
  }
  return off;
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

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = u.mnk.x;
  let N = u.mnk.y;
  let K = u.mnk.z;
  let tm = WG_Y * RM;
  let tn = WG_X * RN;
  let row0 = wid.y * tm;
  let col0 = wid.x * tn;
  let batch = wid.z;
  let a_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.a_batch);
  let b_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.b_batch);
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  var acc: array<T, 16>;
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = t; e < tm * TILE_K; e += threads) {
      let m = row0 + e / TILE_K;
      let k = k0 + e % TILE_K;
      var v = T(0);
      if (m < M && k < K) { v = a[a_base + m * u.a_mk.x + k * u.a_mk.y]; }
      a_tile[e] = v;
    }
    for (var e = t; e < TILE_K * tn; e += threads) {
      let k = k0 + e / tn;
      let n = col0 + e % tn;
      var v = T(0);
      if (k < K && n < N) { v = b[b_base + k * u.b_kn.x + n * u.b_kn.y]; }
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
  let y_base = batch * M * N;
  for (var i = 0u; i < RM; i++) {
    let m = row0 + lid.y * RM + i;
    if (m >= M) { break; }
    for (var j = 0u; j < RN; j++) {
      let n = col0 + lid.x * RN + j;
      if (n >= N) { break; }
      var v = acc[i * RN + j];
      if (SCALED) { v = T(u.scale.x) * v; }
      if (HAS_C) { v += T(u.scale.y) * c[m * u.c_mn.x + n * u.c_mn.y]; }
      if (ACT != 0u) { v = T(fused_activation(ACT, f32(v), ACT_A, ACT_B)); }
      y[y_base + m * N + n] = v;
    }
  }
}
