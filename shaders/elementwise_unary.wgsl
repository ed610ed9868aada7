// Unary elementwise kernels: y[i] = op(x[i]) over contiguous data (activations, math, Not,
// Cast, Clip). The backend fills the `op` and `helpers` slots from the elementwise table
// and substitutes the element aliases; parameters (alpha, min, max...) are uniforms.

alias X = f32;  // input as computed (bool for bool tensors)
alias XS = f32; // input as stored (u32 for bool tensors)
alias Y = f32;  // output as computed
alias YS = f32; // output as stored

override WG: u32 = 64u;

struct Uniforms {
  size: vec4<u32>,   // x: element count
  params: vec4<u32>, // op parameters as raw bits: read them with pf, pi, pu
}

@group(0) @binding(0) var<storage, read> x_in: array<XS>;
@group(0) @binding(1) var<storage, read_write> y_out: array<YS>;
@group(0) @binding(2) var<uniform> u: Uniforms;

fn pf(k: u32) -> f32 { return bitcast<f32>(u.params[k]); }
fn pi(k: u32) -> i32 { return bitcast<i32>(u.params[k]); }
fn pu(k: u32) -> u32 { return u.params[k]; }

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

//#slot helpers
//#end

//#slot op
fn op(x: X) -> Y {
  return Y(x);
}
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.size.x) { return; }
  y_out[i] = YS(op(X(x_in[i])));
}
