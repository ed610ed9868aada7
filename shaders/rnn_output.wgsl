// The Y output of RNN, GRU and LSTM from the per-step states: Y[t, d, b, j] (layout 0) or
// Y[b, t, d, j] (layout 1) is the state step s wrote, s = t forward or len - 1 - t in
// reverse, and 0 past the entry's sequence length (as the CPU kernel leaves it).

override WG: u32 = 64u;

struct Uniforms {
  sizes: vec4<u32>,   // x: Y element count, y: H, z: batch, w: dirs
  strides: vec4<u32>, // Y strides of t, d, b
  more: vec4<u32>,    // x: reverse mask (bit d), y: seq
}

@group(0) @binding(0) var<storage, read> hist: array<f32>;
@group(0) @binding(1) var<storage, read> lens: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let H = u.sizes.y;
  let batch = u.sizes.z;
  let dirs = u.sizes.w;
  // Invocation i enumerates (t, d, b, j) in that order.
  let j = i % H;
  let b = (i / H) % batch;
  let d = (i / (H * batch)) % dirs;
  let t = i / (H * batch * dirs);
  let dst = t * u.strides.x + d * u.strides.y + b * u.strides.z + j;
  let len = u32(lens[b]);
  if (t >= len) {
    y[dst] = 0.0;
    return;
  }
  let s = select(t, len - 1u - t, ((u.more.x >> d) & 1u) == 1u);
  y[dst] = hist[((s + 1u) * dirs + d) * batch * H + b * H + j];
}
