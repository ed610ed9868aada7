// Gather and GatherElements with indices checked and normalized on the host (i32, in
// range): MODE 0 gathers blocks, y[o, j, e] = x[o, idx[j], e] over `inner` elements e;
// MODE 1 reads one element per output at a host-computed offset, y[i] = x[idx[i]]
// (GatherElements). Elements move as stored: every 4-byte type shares a pipeline.

alias T = u32; // element as stored: u32 for f32, i32, u32 and bool; f16 for f16

override WG: u32 = 64u;
override MODE: u32 = 0u; // 0 blocks (Gather), 1 element offsets (GatherElements)

struct Uniforms {
  sizes: vec4<u32>, // x: output count, y: index count n, z: inner block size, w: axis extent
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
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
  if (MODE == 1u) {
    y[i] = x[u32(idx[i])];
    return;
  }
  let n = u.sizes.y;
  let inner = u.sizes.z;
  let block = n * inner;
  let o = i / block;
  let r = i - o * block;
  let j = r / inner;
  let e = r - j * inner;
  y[i] = x[(o * u.sizes.w + u32(idx[j])) * inner + e];
}
