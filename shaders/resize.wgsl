// Resize (nearest and n-linear) from per-axis tap tables built on the host as the CPU
// kernel builds them: output index o of axis a reads taps[a] input indices idx[off_a +
// o * taps_a + t] with weights w[...] (idx -1 marks tf_crop_and_resize's extrapolation).
// Nearest moves elements as stored (any type); linear sums weight * x over every tap
// combination in f32, skipping zero weights as the CPU does.

alias T = u32; // element as stored (nearest), f32 (linear)

override WG: u32 = 64u;
override RANK: u32 = 4u;
override LINEAR: bool = false;

struct Uniforms {
  sizes: vec4<u32>,                // x: output count, y: tap combinations, z: fill bits
  out_dims: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  taps: array<vec4<u32>, 2>,      // taps per axis (1 or 2)
  offsets: array<vec4<u32>, 2>,   // start of each axis in the tables
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

//#slot fill
fn fill_value() -> T {
  return T(bitcast<f32>(u.sizes.z));
}
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  // Table position of each axis' first tap for this output element.
  var first: array<u32, 8>;
  var rest = i;
  for (var k = RANK; k > 0u; k--) {
    let a = k - 1u;
    let n = u.out_dims[a / 4u][a % 4u];
    let q = rest / n;
    let o = rest - q * n;
    rest = q;
    first[a] = u.offsets[a / 4u][a % 4u] + o * u.taps[a / 4u][a % 4u];
    if (idx[first[a]] < 0) {
      y[i] = fill_value();
      return;
    }
  }
  if (!LINEAR) {
    var src = 0u;
    for (var a = 0u; a < RANK; a++) { src += u32(idx[first[a]]) * u.in_strides[a / 4u][a % 4u]; }
    y[i] = x[src];
    return;
  }
  var acc = 0.0;
  for (var c = 0u; c < u.sizes.y; c++) {
    var weight = 1.0;
    var src = 0u;
    var bits = c;
    for (var a = 0u; a < RANK; a++) {
      var p = first[a];
      if (u.taps[a / 4u][a % 4u] == 2u) {
        p += bits & 1u;
        bits >>= 1u;
      }
      weight *= w[p];
      src += u32(idx[p]) * u.in_strides[a / 4u][a % 4u];
    }
    if (weight != 0.0) { acc += weight * f32(x[src]); }
  }
  y[i] = T(acc);
}
