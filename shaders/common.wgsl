// Shared helpers of the WebGPU kernels: invocation indexing, broadcasting, float bits.
//
// Each block between `//#region NAME` and `//#endregion` is the single source of a helper.
// A kernel file that uses one holds a copy between `//#include NAME` and `//#end`, so that
// every file compiles by itself; `deno task shaders` refreshes the copies and
// tests/webgpu/shaders_cases.ts fails when one is stale.
//
// Dims and strides travel in uniforms as `array<vec4<u32>, 2>`: up to 8 values, element k
// at [k / 4][k % 4].

//#region linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#endregion

//#region dim_at
// Element k of a packed list of up to 8 dims or strides.
fn dim_at(list: array<vec4<u32>, 2>, k: u32) -> u32 {
  var l = list;
  return l[k / 4u][k % 4u];
}
//#endregion

//#region broadcast_offset
// Offset of output element i in an input broadcast to the output: dims are the output's
// dims (rank of them), strides the input's strides over those dims, 0 where it broadcasts.
fn broadcast_offset(i: u32, rank: u32, dims: array<vec4<u32>, 2>,
                    strides: array<vec4<u32>, 2>) -> u32 {
  var d = dims;
  var s = strides;
  var rest = i;
  var off = 0u;
  for (var k = rank; k > 0u; k--) {
    let j = k - 1u;
    let n = d[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * s[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}
//#endregion

//#region float_bits
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
//#endregion

// A standalone file needs an entry point to be a complete module; kernels ignore this one.
@compute @workgroup_size(1)
fn common_check() {
  _ = linear_index(vec3<u32>(0u), vec3<u32>(1u), 0u, 1u);
  _ = dim_at(array<vec4<u32>, 2>(), 0u);
  _ = broadcast_offset(0u, 1u, array<vec4<u32>, 2>(), array<vec4<u32>, 2>());
  _ = is_nan(0.0) || is_inf(0.0);
  _ = nan_f32() + inf_f32();
}
