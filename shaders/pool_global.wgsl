// GlobalMaxPool and GlobalAveragePool: one workgroup per (n, c) plane reduces it in
// workgroup memory. Max follows the CPU kernel's sequential NaN rule exactly: the result
// is NaN when the last element is NaN, else the maximum of the elements after the last NaN.

alias T = f32;

override WG: u32 = 64u; // a power of two
override MODE: u32 = 0u; // 0 max, 1 average

struct Uniforms {
  meta: vec4<u32>, // x: plane count, y: plane size
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> u: Uniforms;

var<workgroup> red: array<T, WG>;
var<workgroup> last_nan: array<i32, WG>;

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
  let plane = wid.y * nwg.x + wid.x;
  if (plane >= u.meta.x) { return; }
  let size = u.meta.y;
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
  var last = -1;
  for (var i = lid; i < size; i += WG) {
    if (is_nan(f32(x[base + i]))) { last = i32(i); }
  }
  last_nan[lid] = last;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { last_nan[lid] = max(last_nan[lid], last_nan[lid + h]); }
    workgroupBarrier();
  }
  let after = last_nan[0] + 1;
  var best = T(-inf_f32());
  for (var i = u32(after) + lid; i < size; i += WG) { best = max(best, x[base + i]); }
  red[lid] = best;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { red[lid] = max(red[lid], red[lid + h]); }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var r = red[0];
    if (size > 0u && after == i32(size)) { r = T(nan_f32()); }
    y[plane] = r;
  }
}
