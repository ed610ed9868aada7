// Uniform lists are indexed in place: copying one into a local (passing it by value) costs
// as much as the whole copy on llvmpipe.
//
// Data movement: Transpose, Slice, Split, Concat, Expand, Tile, Pad, DepthToSpace and
// SpaceToDepth. Invocation i walks a region of up to 8 dims; element j of dim k moves the
// read offset by j * read stride (i32: Slice steps backwards) and the write offset by
// j * write stride. MODE changes how j maps onto the input: the index itself (strided
// copies), the index modulo the input's extent (Tile), or the padded index (Pad: constant,
// reflect, edge, wrap). Elements are moved as stored, so every 4-byte type shares one
// pipeline (T = u32); f16 tensors use T = f16.

alias T = u32; // element as stored: u32 for f32, i32, u32 and bool; f16 for f16

override WG: u32 = 64u;
override RANK: u32 = 1u; // region rank (1 to 8)
override MODE: u32 = 0u; // 0 strided, 1 tile, 2 pad constant, 3 pad reflect, 4 pad edge, 5 pad wrap

struct Uniforms {
  sizes: vec4<u32>,           // x: element count, y: read base (i32), z: write base, w: fill bits
  dims: array<vec4<u32>, 2>,  // region dims
  read: array<vec4<u32>, 2>,  // read strides (i32 bits)
  write: array<vec4<u32>, 2>, // write strides
  lens: array<vec4<u32>, 2>,  // input extent per dim (Tile, Pad)
  pads: array<vec4<u32>, 2>,  // pad before per dim (i32 bits; Pad)
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

//#slot fill
fn fill_value() -> T {
  return T(u.sizes.w);
}
//#end

// a modulo n (n > 0) with the divisor's sign, through the quotient (`%` on i32 computes an
// unsigned remainder on llvmpipe).
fn floor_mod(a: i32, n: i32) -> i32 {
  var r = a - n * (a / n);
  if (r < 0) { r += n; }
  return r;
}

// The input index of padded index c along an axis of extent len; -1 for the fill value.
fn pad_index(c: i32, len: i32) -> i32 {
  if (c >= 0 && c < len) { return c; }
  if (MODE == 2u) { return -1; }
  if (MODE == 4u) { return clamp(c, 0, len - 1); }
  if (MODE == 5u) { return floor_mod(c, len); }
  if (len == 1) { return 0; }
  let period = 2 * (len - 1);
  let r = floor_mod(c, period);
  return select(r, period - r, r >= len);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  var rest = i;
  var src = bitcast<i32>(u.sizes.y);
  var dst = u.sizes.z;
  for (var k = RANK; k > 0u; k--) {
    let d = k - 1u;
    let k4 = d / 4u;
    let k1 = d % 4u;
    let n = u.dims[k4][k1];
    let q = rest / n;
    let j = rest - q * n;
    rest = q;
    dst += j * u.write[k4][k1];
    let rs = bitcast<i32>(u.read[k4][k1]);
    if (MODE == 0u) {
      src += i32(j) * rs;
    } else if (MODE == 1u) {
      src += i32(j % u.lens[k4][k1]) * rs;
    } else {
      let c = pad_index(i32(j) - bitcast<i32>(u.pads[k4][k1]), i32(u.lens[k4][k1]));
      if (c < 0) {
        y[i] = fill_value(); // Pad writes its output contiguously
        return;
      }
      src += c * rs;
    }
  }
  y[dst] = x[u32(src)];
}
