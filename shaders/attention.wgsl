// Attention (opset 23/24) in three passes over a [rows, L] score buffer, rows = B * Hq * Sq:
// PASS 0 scores (one invocation per score): scale * Q · K, softcap, plus the mask, causal
// and padding biases; PASS 1 softmax per row (a row whose biases are all -inf becomes 0, as
// in the CPU kernel); PASS 2 Y = P · V (one invocation per output). K and V are laid out
// [B, Hkv, L, D]; Q and Y through strides (3-D or 4-D); query head h reads kv head h / group.

alias M = f32; // mask as stored: f32, or u32 for bool

override WG: u32 = 64u;
override PASS: u32 = 0u;
override HAS_MASK: bool = false;
override CAUSAL: bool = false;
override HAS_LENS: bool = false; // nonpad_kv_seqlen

struct Uniforms {
  dims: vec4<u32>,     // B, Hq, Sq, L
  dims2: vec4<u32>,    // D, Dv, group (Hq / Hkv), Lm (mask columns)
  q_strides: vec4<u32>, // b, h, i (d is 1)
  y_strides: vec4<u32>, // b, h, i
  m_strides: vec4<u32>, // mask strides over (b, h, i, j); 0 broadcasts
  params: vec4<f32>,    // scale, softcap, past length (causal offset without lens)
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<M>;
@group(0) @binding(4) var<storage, read> lens: array<i32>; // per batch: valid kv length
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<uniform> u: Uniforms;

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

//#slot mask_value
fn mask_value(m: M) -> f32 {
  return f32(m);
}
//#end

// The additive bias of score (b, h, i, j): mask, causal and padding terms.
fn bias(b: u32, h: u32, i: u32, j: u32) -> f32 {
  var s = 0.0;
  if (HAS_MASK) {
    if (j >= u.dims2.w) { return -inf_f32(); }
    let ms = u.m_strides;
    s = mask_value(mask[b * ms.x + h * ms.y + i * ms.z + j * ms.w]);
  }
  var offset = i32(u.params.z);
  var valid = u.dims.w;
  if (HAS_LENS) {
    valid = u32(lens[b]);
    offset = lens[b] - i32(u.dims.z);
  }
  if (CAUSAL && i32(i) + offset < i32(j)) { s += -inf_f32(); }
  if (j >= valid) { s += -inf_f32(); }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = linear_index(wid, nwg, lid, WG);
  let B = u.dims.x;
  let Hq = u.dims.y;
  let Sq = u.dims.z;
  let L = u.dims.w;
  let D = u.dims2.x;
  let Dv = u.dims2.y;
  let rows = B * Hq * Sq;
  if (PASS == 0u) {
    if (n >= rows * L) { return; }
    let row = n / L;
    let j = n - row * L;
    let i = row % Sq;
    let h = (row / Sq) % Hq;
    let b = row / (Sq * Hq);
    let kh = h / u.dims2.z;
    let qo = b * u.q_strides.x + h * u.q_strides.y + i * u.q_strides.z;
    let ko = ((b * (Hq / u.dims2.z) + kh) * L + j) * D;
    var s = 0.0;
    for (var d = 0u; d < D; d++) { s += q[qo + d] * k[ko + d]; }
    s *= u.params.x;
    let cap = u.params.y;
    if (cap > 0.0) { s = cap * tanh_f32(s / cap); }
    scores[n] = s + bias(b, h, i, j);
    return;
  }
  if (PASS == 1u) {
    if (n >= rows) { return; }
    let i = n % Sq;
    let h = (n / Sq) % Hq;
    let b = n / (Sq * Hq);
    let base = n * L;
    var all_masked = true;
    var m = -inf_f32();
    for (var j = 0u; j < L; j++) {
      let x = scores[base + j];
      if (x > m || is_nan(x)) { m = x; }
      if (all_masked && bias(b, h, i, j) != -inf_f32()) { all_masked = false; }
    }
    if (all_masked) {
      for (var j = 0u; j < L; j++) { scores[base + j] = 0.0; }
      return;
    }
    var sum = 0.0;
    for (var j = 0u; j < L; j++) {
      let x = scores[base + j];
      var e = 0.0;
      if (is_nan(x) || is_nan(m) || (is_inf(x) && x == m)) { e = nan_f32(); } else { e = exp(x - m); }
      scores[base + j] = e;
      sum += e;
    }
    for (var j = 0u; j < L; j++) { scores[base + j] = scores[base + j] / sum; }
    return;
  }
  if (n >= rows * Dv) { return; }
  let row = n / Dv;
  let e = n - row * Dv;
  let i = row % Sq;
  let h = (row / Sq) % Hq;
  let b = row / (Sq * Hq);
  let kh = h / u.dims2.z;
  let vo = (b * (Hq / u.dims2.z) + kh) * L * Dv + e;
  var acc = 0.0;
  for (var j = 0u; j < L; j++) { acc += scores[row * L + j] * v[vo + j * Dv]; }
  y[b * u.y_strides.x + h * u.y_strides.y + i * u.y_strides.z + e] = acc;
}
