// ConvTranspose over 1 to 3 spatial dims (1-D and 2-D written as 3-D with leading extents of
// 1), one invocation per output element: y[n, m, o] = bias[m] + the sum over the group's
// input channels c and kernel taps k with o + pad - k * dilation = i * stride of
// x[n, c, i] * w[c, m % Mg, k]. W is [C, M / group, kernel...].

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

struct Uniforms {
  sizes: vec4<u32>,    // x: output count, y: C, z: Cg (input channels per group), w: Mg
  in_sp: vec4<u32>,    // D, H, W, M
  out_sp: vec4<u32>,   // OD, OH, OW
  kernel: vec4<u32>,   // KD, KH, KW
  strides: vec4<u32>,
  dilations: vec4<u32>,
  pads: vec4<u32>,     // begin pads (i32 bits)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

// The input index reached from output index o through tap k along one dim, or -1.
fn source(o: u32, k: u32, stride: u32, dilation: u32, pad: i32, len: u32) -> i32 {
  let t = i32(o) + pad - i32(k * dilation);
  if (t < 0) { return -1; }
  let q = u32(t) / stride;
  if (q * stride != u32(t) || q >= len) { return -1; }
  return i32(q);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let C = u.sizes.y;
  let Cg = u.sizes.z;
  let Mg = u.sizes.w;
  let M = u.in_sp.w;
  let OD = u.out_sp.x;
  let OH = u.out_sp.y;
  let OW = u.out_sp.z;
  let plane = OD * OH * OW;
  let p = i % plane;
  let m = (i / plane) % M;
  let n = i / (plane * M);
  let od = p / (OH * OW);
  let oh = (p / OW) % OH;
  let ow = p % OW;
  let g = m / Mg;
  let mg = m % Mg;
  let in_plane = u.in_sp.x * u.in_sp.y * u.in_sp.z;
  let KD = u.kernel.x;
  let KH = u.kernel.y;
  let KW = u.kernel.z;
  let taps = KD * KH * KW;
  let pads = vec3<i32>(bitcast<vec3<i32>>(u.pads.xyz));
  var acc = 0.0;
  for (var kd = 0u; kd < KD; kd++) {
    let id = source(od, kd, u.strides.x, u.dilations.x, pads.x, u.in_sp.x);
    if (id < 0) { continue; }
    for (var kh = 0u; kh < KH; kh++) {
      let ih = source(oh, kh, u.strides.y, u.dilations.y, pads.y, u.in_sp.y);
      if (ih < 0) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = source(ow, kw, u.strides.z, u.dilations.z, pads.z, u.in_sp.z);
        if (iw < 0) { continue; }
        let xi = (u32(id) * u.in_sp.y + u32(ih)) * u.in_sp.z + u32(iw);
        let k = (kd * KH + kh) * KW + kw;
        for (var c = 0u; c < Cg; c++) {
          let ci = g * Cg + c;
          acc += x[(n * C + ci) * in_plane + xi] * w[(ci * Mg + mg) * taps + k];
        }
      }
    }
  }
  if (HAS_BIAS) { acc += bias[m]; }
  y[i] = acc;
}
