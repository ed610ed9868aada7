// Where(cond, x, y) with three-way numpy broadcasting: out[i] = cond ? x : y. Each input is
// read at offset i (same shape as the output), 0 (one element) or through its strides.

alias TS = f32; // element type of x, y and the output as stored (u32 for bool tensors)

override WG: u32 = 64u;
override RANK: u32 = 4u; // output rank (the packed lists hold up to 8)

struct Uniforms {
  sizes: vec4<u32>, // x: element count; y, z, w: how cond, x, y are read (0 strided, 1 same shape, 2 scalar)
  out_dims: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  x_strides: array<vec4<u32>, 2>,
  y_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> c_in: array<u32>;
@group(0) @binding(1) var<storage, read> x_in: array<TS>;
@group(0) @binding(2) var<storage, read> y_in: array<TS>;
@group(0) @binding(3) var<storage, read_write> out: array<TS>;
@group(0) @binding(4) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

// Offsets of each input, reading the uniform lists in place (passing them by value copies
// them per element, which doubles the cost of the kernel on llvmpipe).
fn offset_c(i: u32, mode: u32) -> u32 {
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var k = RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.c_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

fn offset_x(i: u32, mode: u32) -> u32 {
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var k = RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.x_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

fn offset_y(i: u32, mode: u32) -> u32 {
  if (mode == 1u) { return i; }
  if (mode == 2u) { return 0u; }
  var rest = i;
  var off = 0u;
  for (var k = RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.out_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.y_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let c = c_in[offset_c(i, u.sizes.y)] != 0u;
  let vx = x_in[offset_x(i, u.sizes.z)];
  let vy = y_in[offset_y(i, u.sizes.w)];
  out[i] = select(vy, vx, c);
}
