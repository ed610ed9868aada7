// A 256-entry lookup of packed int8/uint8 values, four per invocation: com.microsoft
// QLinearSigmoid, whose table the host computes exactly as the CPU kernel does. Entry
// x - lo is byte (x - lo) % 4 of word (x - lo) / 4 of the table.

override WG: u32 = 64u;
override SIGNED: bool = false;

struct Uniforms {
  sizes: vec4<u32>, // element count
  table: array<vec4<u32>, 16>,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<uniform> u: Uniforms;

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
  let n = u.sizes.x;
  if (i * 4u >= n) { return; }
  let word = x[i];
  var out = 0u;
  for (var lane = 0u; lane < 4u; lane++) {
    if (i * 4u + lane >= n) { break; }
    // x - lo is the byte itself for uint8 and the byte with its top bit flipped for int8.
    let e = ((word >> (lane * 8u)) & 0xffu) ^ select(0u, 0x80u, SIGNED);
    let t = u.table[e / 16u][(e / 4u) % 4u];
    out |= ((t >> ((e % 4u) * 8u)) & 0xffu) << (lane * 8u);
  }
  y[i] = out;
}
