// GlobalMaxPool and GlobalAveragePool: one workgroup per (n, c) plane reduces it in
// workgroup memory. Max follows the CPU kernel's NaN rule: NaN elements are skipped, and
// the result is NaN only when every element is (NaN marks "nothing yet" in the reduction).

alias T = f32;

override WG: u32 = 64u; // a power of two
override MODE: u32 = 0u; // 0 max, 1 average

struct Uniforms {
  sizes: vec4<u32>, // x: plane count, y: plane size
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> u: Uniforms;

var<workgroup> red: array<T, WG>;

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

// The larger of two values, NaN only when both are.
fn nan_max(a: T, b: T) -> T {
  if (is_nan(f32(a))) { return b; }
  if (is_nan(f32(b))) { return a; }
  return max(a, b);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let plane = wid.y * nwg.x + wid.x;
  if (plane >= u.sizes.x) { return; }
  let size = u.sizes.y;
  let base = plane * size;
  if (MODE == 1u) {
    var s = T(0);
    for (var i = lid; i < size; i += WG) { s += x[base + i]; }
    red[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) { red[lid] += red[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { y[plane] = select(T(nan_f32()), red[0] / T(f32(size)), size > 0u); }
    return;
  }
  var best = T(nan_f32());
  for (var i = lid; i < size; i += WG) { best = nan_max(best, x[base + i]); }
  red[lid] = best;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] = nan_max(red[lid], red[lid + h]); }
    workgroupBarrier();
  }
  if (lid == 0u) { y[plane] = select(T(-inf_f32()), red[0], size > 0u); }
}
