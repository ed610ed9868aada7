// Normalizations over contiguous rows: LayerNormalization and RMSNormalization (a row is
// the normalized trailing dims), InstanceNormalization (a row is one (n, c) plane) and
// GroupNormalization (a row is one (n, group) block). Statistics are two-pass like the CPU
// kernel's: mean, then the mean of squared deviations (RMS: no mean). COOP: a workgroup
// per row; otherwise an invocation per row. Mean and 1/stddev are written for LayerNorm.

override WG: u32 = 64u; // a power of two
override COOP: bool = true;
override RMS: bool = false;   // no mean subtraction
override PARAM: u32 = 0u;     // scale/bias index: 0 element of the row, 1 row % C, 2 (row % G) * cpg + e / inner, 3 row % G
override HAS_BIAS: bool = false;
override STATS: bool = false; // write mean and 1/stddev per row
override PRANK: u32 = 1u;     // rank of the normalized dims (PARAM 0, strided reads)

struct Uniforms {
  sizes: vec4<u32>,   // x: rows, y: row length D, z: C or G, w: cpg (PARAM 2)
  params: vec4<u32>,  // x: epsilon bits, y: inner (PARAM 2), z: scale read mode, w: bias read mode
  norm_dims: array<vec4<u32>, 2>,     // normalized dims (PARAM 0)
  scale_strides: array<vec4<u32>, 2>, // scale's strides over them (0 where it broadcasts)
  bias_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> inv_out: array<f32>;
@group(0) @binding(6) var<uniform> u: Uniforms;

var<workgroup> sums: array<f32, WG>;

// Sum over the workgroup (COOP) or the value itself.
fn total(v: f32, lid: u32) -> f32 {
  if (!COOP) { return v; }
  workgroupBarrier();
  sums[lid] = v;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { sums[lid] += sums[lid + h]; }
    workgroupBarrier();
  }
  return sums[0];
}

// Index of the scale (bias: `is_bias`) of element e of row `row`. Uniform lists are read in
// place: passing them by value copies them per call, which llvmpipe pays on every element.
fn param_index(row: u32, e: u32, is_bias: bool) -> u32 {
  if (PARAM == 1u) { return row % u.sizes.z; }
  if (PARAM == 2u) { return (row % u.sizes.z) * u.sizes.w + e / u.params.y; }
  if (PARAM == 3u) { return row % u.sizes.z; }
  let mode = select(u.params.z, u.params.w, is_bias);
  if (mode == 1u) { return e; }
  if (mode == 2u) { return 0u; }
  var rest = e;
  var off = 0u;
  for (var k = PRANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.norm_dims[j / 4u][j % 4u];
    let q = rest / n;
    let s = select(u.scale_strides[j / 4u][j % 4u], u.bias_strides[j / 4u][j % 4u], is_bias);
    off += (rest - q * n) * s;
    rest = q;
  }
  return off;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let row = select(g * WG + lid, g, COOP);
  let live = row < u.sizes.x;
  let D = u.sizes.y;
  let base = row * D;
  let first = select(0u, lid, COOP);
  let step = select(1u, WG, COOP);
  let count = f32(D);
  var m = 0.0;
  if (!RMS) {
    var s = 0.0;
    if (live) {
      for (var e = first; e < D; e += step) { s += x[base + e]; }
    }
    m = total(s, lid) / count;
  }
  var q = 0.0;
  if (live) {
    for (var e = first; e < D; e += step) {
      let d = x[base + e] - m;
      q += d * d;
    }
  }
  let inv = 1.0 / sqrt(total(q, lid) / count + bitcast<f32>(u.params.x));
  if (!live) { return; }
  for (var e = first; e < D; e += step) {
    var v = (x[base + e] - m) * inv * scale[param_index(row, e, false)];
    if (HAS_BIAS) { v += bias[param_index(row, e, true)]; }
    y[base + e] = v;
  }
  if (STATS && first == 0u) {
    mean_out[row] = m;
    inv_out[row] = inv;
  }
}
