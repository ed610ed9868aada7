// A fused chain (or tree) of elementwise nodes in one pass: y[i] = f(in0, in1, ...), where f
// composes the nodes' own expressions (the elementwise table's, as the single-node kernels use
// them). The backend fills three slots: `bindings` (one read-only array per external input,
// then the output and the uniforms), `helpers` (the math.wgsl regions the nodes call) and
// `body` (one function per node and `fused`, which reads the inputs and calls them in order).
// Intermediate values stay in registers. Each input is read at offset i (the output's shape),
// 0 (one element) or through its broadcast strides over the output's dims: that choice is a
// uniform, so shapes never recompile. Element types are in the generated text.

alias YS = f32; // output as stored

override WG: u32 = 64u;
override RANK: u32 = 4u; // output rank (the packed lists hold up to 8)

struct Uniforms {
  sizes: vec4<u32>,              // x: element count
  modes: array<vec4<u32>, 2>,    // how input k is read: 0 strided, 1 same shape, 2 one element
  params: array<vec4<u32>, 8>,   // parameters of every node as raw bits: read with pf, pi, pu
  out_dims: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 16>, // strides of input k over the output's dims at [2k + j / 4][j % 4]
}

//#slot bindings
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> y_out: array<YS>;
@group(0) @binding(2) var<uniform> u: Uniforms;
//#end

fn pf(k: u32) -> f32 { return bitcast<f32>(u.params[k / 4u][k % 4u]); }
fn pi(k: u32) -> i32 { return bitcast<i32>(u.params[k / 4u][k % 4u]); }
fn pu(k: u32) -> u32 { return u.params[k / 4u][k % 4u]; }

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

// Offset of output element i in input k, reading the uniform lists in place.
fn offset(i: u32, k: u32) -> u32 {
  let mode = u.modes[k / 4u][k % 4u];
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var d = RANK; d > 0u; d--) {
    let j = d - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.strides[2u * k + j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

//#slot helpers
//#end

//#slot body
fn fused(i: u32) -> YS {
  return YS(in0[offset(i, 0u)]);
}
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  y_out[i] = fused(i);
}
