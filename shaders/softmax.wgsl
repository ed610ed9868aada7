// Softmax, LogSoftmax and Hardmax along one axis: row r holds n elements `inner` apart
// (versions before 13 coerce to 2-D, which is inner = 1). COOP: a workgroup per row, threads
// striding over it with tree reductions in workgroup memory; otherwise an invocation per
// row. As in the CPU kernel, the maximum is taken first with NaN winning, and Hardmax marks
// the first maximum (the first NaN when there is one).

override WG: u32 = 64u; // a power of two
override KIND: u32 = 0u; // 0 softmax, 1 log-softmax, 2 hardmax
override COOP: bool = true;

struct Uniforms {
  sizes: vec4<u32>, // x: rows (outer * inner), y: n, z: inner
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> u: Uniforms;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;
var<workgroup> sums: array<f32, WG>;

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

//#include sqrt_log_f32
// sqrt and log with NaN for negative arguments and -infinity for log(0) (the builtins are
// undefined there).
fn sqrt_f32(x: f32) -> f32 {
  if (x < 0.0) { return nan_f32(); }
  return sqrt(x);
}

fn log_f32(x: f32) -> f32 {
  if (x < 0.0) { return nan_f32(); }
  if (x == 0.0) { return -inf_f32(); }
  return log(x);
}
//#end

// True when (v, i) comes before (w, j): NaN first, then larger, then the lower index.
fn before(v: f32, i: u32, w: f32, j: u32) -> bool {
  let vn = is_nan(v);
  let wn = is_nan(w);
  if (vn || wn) { return vn && (!wn || i < j); }
  if (v != w) { return v > w; }
  return i < j;
}

// exp(v - m) as the CPU computes it: NaN when the difference is NaN (inf - inf).
fn shifted_exp(v: f32, m: f32) -> f32 {
  let d = v - m;
  if (is_nan(d) || (is_inf(v) && v == m)) { return nan_f32(); }
  return exp(d);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let row = select(g * WG + lid, g, COOP);
  let live = row < u.sizes.x;
  let n = u.sizes.y;
  let inner = u.sizes.z;
  let o = row / max(inner, 1u);
  let base = o * n * inner + (row - o * inner);
  let first = select(0u, lid, COOP);
  let step = select(1u, WG, COOP);
  // Maximum and its first index.
  var m = -inf_f32();
  var mi = 0xffffffffu;
  if (live) {
    for (var k = first; k < n; k += step) {
      let v = x[base + k * inner];
      if (mi == 0xffffffffu || before(v, k, m, mi)) {
        m = v;
        mi = k;
      }
    }
  }
  if (COOP) {
    best_v[lid] = m;
    best_i[lid] = mi;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h && best_i[lid + h] != 0xffffffffu &&
          (best_i[lid] == 0xffffffffu ||
           before(best_v[lid + h], best_i[lid + h], best_v[lid], best_i[lid]))) {
        best_v[lid] = best_v[lid + h];
        best_i[lid] = best_i[lid + h];
      }
      workgroupBarrier();
    }
    m = best_v[0];
    mi = best_i[0];
  }
  if (KIND == 2u) {
    if (live) {
      for (var k = first; k < n; k += step) {
        y[base + k * inner] = select(0.0, 1.0, k == mi);
      }
    }
    return;
  }
  var s = 0.0;
  if (live) {
    for (var k = first; k < n; k += step) {
      s += shifted_exp(x[base + k * inner], m);
    }
  }
  if (COOP) {
    workgroupBarrier();
    sums[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (lid < h) { sums[lid] += sums[lid + h]; }
      workgroupBarrier();
    }
    s = sums[0];
  }
  if (!live) { return; }
  if (KIND == 0u) {
    let inv = 1.0 / s;
    for (var k = first; k < n; k += step) {
      let p = base + k * inner;
      y[p] = shifted_exp(x[p], m) * inv;
    }
  } else {
    let ls = log_f32(s);
    for (var k = first; k < n; k += step) {
      let p = base + k * inner;
      y[p] = x[p] - m - ls;
    }
  }
}
