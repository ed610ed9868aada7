// One time step of RNN, GRU or LSTM for every direction, batch entry and hidden unit (one
// invocation each). Hidden states live in `hist`, one [dirs, batch, H] slice per step
// (slice 0 holds the initial state): step s reads slice s and writes slice s + 1. `cell`
// is the LSTM cell state, updated in place, or GRU's scratch (z and r ⊙ h_prev) between
// the two phases of a step without linear_before_reset. Entries past their sequence length
// carry their state over. Gate orders are the spec's: LSTM i, o, f, c; GRU z, r, h.

override WG: u32 = 64u;
override KIND: u32 = 2u;      // 0 RNN, 1 GRU, 2 LSTM
override PHASE: u32 = 0u;     // 0 whole step; GRU without linear_before_reset: 1 gates, 2 candidate
override HAS_B: bool = false;
override HAS_P: bool = false;
override INPUT_FORGET: bool = false;
override F_ACT: u32 = 2u;     // activation codes: see act()
override G_ACT: u32 = 1u;
override H_ACT: u32 = 1u;

struct Uniforms {
  sizes: vec4<u32>,  // x: dirs * batch * H, y: step s, z: input size, w: H
  dims: vec4<u32>,   // x: dirs, y: batch, z: reverse mask (bit d), w: x row stride of t
  xs: vec4<u32>,     // x: x row stride of b
  acts: vec4<f32>,   // alpha f, beta f, alpha g, beta g
  acts2: vec4<f32>,  // alpha h, beta h, clip (0: none)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> peep: array<f32>;
@group(0) @binding(5) var<storage, read> lens: array<i32>;
@group(0) @binding(6) var<storage, read_write> hist: array<f32>;
@group(0) @binding(7) var<storage, read_write> cell: array<f32>;
@group(0) @binding(8) var<uniform> u: Uniforms;

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

//#include log1p_f32
// log(1 + x) without the cancellation near 0 (Goldberg's correction).
fn log1p_f32(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (is_inf(u)) { return u; }
  return log(u) * x / (u - 1.0);
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

// The spec's activation functions: 0 Relu, 1 Tanh, 2 Sigmoid, 3 Affine, 4 LeakyRelu,
// 5 ThresholdedRelu, 6 ScaledTanh, 7 HardSigmoid, 8 Elu, 9 Softsign, 10 Softplus.
fn act(code: u32, v: f32, alpha: f32, beta: f32) -> f32 {
  switch (code) {
    case 0u: { return select(0.0, v, v > 0.0); }
    case 1u: { return tanh_f32(v); }
    case 2u: {
      if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
      let e = exp(v);
      return e / (1.0 + e);
    }
    case 3u: { return alpha * v + beta; }
    case 4u: { return select(alpha * v, v, v >= 0.0); }
    case 5u: { return select(0.0, v, v > alpha); }
    case 6u: { return alpha * tanh_f32(beta * v); }
    case 7u: { return max(0.0, min(1.0, alpha * v + beta)); }
    case 8u: { return select(alpha * expm1_f32(v), v, v >= 0.0); }
    case 9u: { return v / (1.0 + abs(v)); }
    default: {
      if (v > 0.0) { return v + log1p_f32(exp(-v)); }
      return log1p_f32(exp(v));
    }
  }
}

fn f_act(v: f32) -> f32 { return act(F_ACT, v, u.acts.x, u.acts.y); }
fn g_act(v: f32) -> f32 { return act(G_ACT, v, u.acts.z, u.acts.w); }
fn h_act(v: f32) -> f32 { return act(H_ACT, v, u.acts2.x, u.acts2.y); }

// Clips to [-clip, clip] when clip is set, keeping NaN (clamp is undefined for it).
fn clip(v: f32) -> f32 {
  let c = u.acts2.z;
  if (c > 0.0) { return select(select(v, c, v > c), -c, v < -c); }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let s = u.sizes.y;
  let I = u.sizes.z;
  let H = u.sizes.w;
  let dirs = u.dims.x;
  let batch = u.dims.y;
  let j = i % H;
  let b = (i / H) % batch;
  let d = i / (H * batch);
  let slice = dirs * batch * H;
  let prev = s * slice + (d * batch + b) * H;
  let out = prev + slice;
  let len = u32(lens[b]);
  if (s >= len) {
    if (PHASE != 1u) { hist[out + j] = hist[prev + j]; }
    return;
  }
  let t = select(s, len - 1u - s, ((u.dims.z >> d) & 1u) == 1u);
  let xrow = t * u.dims.w + b * u.xs.x;
  let gates = select(select(3u, 4u, KIND == 2u), 1u, KIND == 0u);
  let GH = gates * H;
  // Per gate: x · W + Wb + Rb, and h_prev · R (the candidate gate of a GRU phase 2 takes
  // (r ⊙ h_prev) · R from the scratch instead).
  var xw: array<f32, 4>;
  var hr: array<f32, 4>;
  let first_gate = select(0u, 2u, PHASE == 2u);
  let last_gate = select(gates, 2u, PHASE == 1u);
  for (var g = first_gate; g < last_gate; g++) {
    let row = d * GH + g * H + j;
    var a = 0.0;
    for (var k = 0u; k < I; k++) { a += x[xrow + k] * w[row * I + k]; }
    if (HAS_B) { a += bias[d * 2u * GH + g * H + j]; }
    xw[g] = a;
    var c = 0.0;
    if (PHASE == 2u) {
      let sb = (d * batch + b) * 2u * H + H;
      for (var k = 0u; k < H; k++) { c += cell[sb + k] * r[row * H + k]; }
    } else {
      for (var k = 0u; k < H; k++) { c += hist[prev + k] * r[row * H + k]; }
    }
    if (HAS_B) { c += bias[d * 2u * GH + GH + g * H + j]; }
    hr[g] = c;
  }
  let hp = hist[prev + j];
  if (KIND == 0u) {
    hist[out + j] = f_act(clip(xw[0] + hr[0]));
    return;
  }
  if (KIND == 1u) {
    let sb = (d * batch + b) * 2u * H;
    if (PHASE == 2u) {
      let z = cell[sb + j];
      let hc = g_act(clip(xw[2] + hr[2]));
      hist[out + j] = (1.0 - z) * hc + z * hp;
      return;
    }
    let z = f_act(clip(xw[0] + hr[0]));
    let rg = f_act(clip(xw[1] + hr[1]));
    if (PHASE == 1u) {
      cell[sb + j] = z;
      cell[sb + H + j] = rg * hp;
      return;
    }
    // linear_before_reset: h~ = g(x · Wh + Wbh + r ⊙ (h_prev · Rh + Rbh)).
    let hc = g_act(clip(xw[2] + rg * hr[2]));
    hist[out + j] = (1.0 - z) * hc + z * hp;
    return;
  }
  let ci = (d * batch + b) * H + j;
  let c_prev = cell[ci];
  var gi = xw[0] + hr[0];
  var gf = xw[2] + hr[2];
  if (HAS_P) {
    gi += peep[d * 3u * H + j] * c_prev;
    gf += peep[d * 3u * H + 2u * H + j] * c_prev;
  }
  gi = f_act(clip(gi));
  if (INPUT_FORGET) { gf = 1.0 - gi; } else { gf = f_act(clip(gf)); }
  let gc = g_act(clip(xw[3] + hr[3]));
  let c_new = gf * c_prev + gi * gc;
  cell[ci] = c_new;
  var go = xw[1] + hr[1];
  if (HAS_P) { go += peep[d * 3u * H + H + j] * c_new; }
  go = f_act(clip(go));
  hist[out + j] = go * h_act(c_new);
}
