// MaxPool and AveragePool over 1 to 3 spatial dims (fewer dims are padded in front with
// size-1 dims), one invocation per output element. Max keeps the CPU kernel's order and
// NaN rule; average divides by the in-bounds count, or by the count inside the padded
// extent when count_include_pad is set.

alias T = f32;

override WG: u32 = 64u;
override MODE: u32 = 0u;         // 0 max, 1 average
override COUNT_PAD: bool = false; // average: count padded positions too

struct Uniforms {
  sizes: vec4<u32>,      // x: output element count, y: input plane size, z: output plane size
  in_sp: vec4<u32>,     // input spatial dims (three)
  out_sp: vec4<u32>,    // output spatial dims
  kernel: vec4<u32>,
  strides: vec4<u32>,
  dilations: vec4<u32>,
  pads_begin: vec4<u32>,
  pads_end: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> u: Uniforms;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let plane = i / u.sizes.z;
  let p = i % u.sizes.z;
  let o = vec3<u32>(p / (u.out_sp.y * u.out_sp.z), (p / u.out_sp.z) % u.out_sp.y, p % u.out_sp.z);
  let start = vec3<i32>(o * u.strides.xyz) - vec3<i32>(u.pads_begin.xyz);
  let lo = -vec3<i32>(u.pads_begin.xyz);
  let hi = vec3<i32>(u.in_sp.xyz + u.pads_end.xyz);
  let base = plane * u.sizes.y;
  var best = T(-inf_f32());
  var first = true;
  var sum = T(0);
  var count = 0u;
  var padded = 0u;
  for (var k0 = 0u; k0 < u.kernel.x; k0++) {
    let c0 = start.x + i32(k0 * u.dilations.x);
    if (c0 < lo.x || c0 >= hi.x) { continue; }
    for (var k1 = 0u; k1 < u.kernel.y; k1++) {
      let c1 = start.y + i32(k1 * u.dilations.y);
      if (c1 < lo.y || c1 >= hi.y) { continue; }
      for (var k2 = 0u; k2 < u.kernel.z; k2++) {
        let c2 = start.z + i32(k2 * u.dilations.z);
        if (c2 < lo.z || c2 >= hi.z) { continue; }
        padded++;
        if (c0 < 0 || c0 >= i32(u.in_sp.x) || c1 < 0 || c1 >= i32(u.in_sp.y) ||
            c2 < 0 || c2 >= i32(u.in_sp.z)) { continue; }
        let v = x[base + (u32(c0) * u.in_sp.y + u32(c1)) * u.in_sp.z + u32(c2)];
        if (MODE == 0u) {
          if (first || v > best || is_nan(f32(best))) { best = v; }
          first = false;
        } else {
          sum += v;
          count++;
        }
      }
    }
  }
  if (MODE == 0u) {
    y[i] = best;
  } else {
    var n = count;
    if (COUNT_PAD) { n = padded; }
    y[i] = select(T(nan_f32()), sum / T(f32(n)), n > 0u);
  }
}
