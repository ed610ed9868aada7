// ArgMax and ArgMin along one axis: an invocation per output scans the n elements `inner`
// apart. A NaN wins (the first one, or the last with select_last_index), as in the CPU
// kernel. Indices are int64, written as two u32 words (low word first).

alias T = f32; // f32, i32 or u32

override WG: u32 = 64u;
override IS_MAX: bool = true;
override LAST: bool = false; // select_last_index

struct Uniforms {
  sizes: vec4<u32>, // x: output count (outer * inner), y: n, z: inner
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
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
  let n = u.sizes.y;
  let inner = u.sizes.z;
  let o = i / inner;
  let base = o * n * inner + (i - o * inner);
  var best = x[base];
  var bi = 0u;
  for (var k = 1u; k < n; k++) {
    let v = x[base + k * inner];
    if (is_nan(f32(best))) {
      if (LAST && is_nan(f32(v))) { bi = k; }
      continue;
    }
    if (is_nan(f32(v))) {
      best = v;
      bi = k;
      continue;
    }
    let better = select((v < best), (v > best), IS_MAX) || (LAST && v == best);
    if (better) {
      best = v;
      bi = k;
    }
  }
  y[2u * i] = bi;
  y[2u * i + 1u] = 0u;
}
