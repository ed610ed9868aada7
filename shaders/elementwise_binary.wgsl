// Binary elementwise kernels with numpy broadcasting: y[i] = op(a[ia], b[ib]). Each input
// is read at offset i when it has the output's shape, at 0 when it is a single element, or
// through its broadcast strides; that choice is a uniform, so shapes never recompile.

alias A = f32;  // input A as computed (bool for bool tensors)
alias AS = f32; // input A as stored (u32 for bool tensors)
alias B = f32;
alias BS = f32;
alias Y = f32;
alias YS = f32;

override WG: u32 = 64u;
override RANK: u32 = 4u; // output rank (the packed lists hold up to 8)

struct Uniforms {
  sizes: vec4<u32>,   // x: element count; y, z: how A and B are read (0 strided, 1 same shape, 2 scalar)
  params: vec4<u32>, // op parameters as raw bits: read them with pf, pi, pu
  out_dims: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a_in: array<AS>;
@group(0) @binding(1) var<storage, read> b_in: array<BS>;
@group(0) @binding(2) var<storage, read_write> y_out: array<YS>;
@group(0) @binding(3) var<uniform> u: Uniforms;

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
fn op(a: A, b: B) -> Y {
  return Y(a);
}
//#end

// Offsets of each input, reading the uniform lists in place (passing them by value copies
// them per element, which doubles the cost of the kernel on llvmpipe).
fn offset_a(i: u32, mode: u32) -> u32 {
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var k = RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.a_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

fn offset_b(i: u32, mode: u32) -> u32 {
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var k = RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.b_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let ia = offset_a(i, u.sizes.y);
  let ib = offset_b(i, u.sizes.z);
  y_out[i] = YS(op(A(a_in[ia]), B(b_in[ib])));
}
