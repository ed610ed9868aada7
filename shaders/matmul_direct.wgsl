// Batched matrix product (MatMul, Gemm) without workgroup memory, for software adapters
// such as llvmpipe: there, workgroup memory is ordinary memory and every barrier switches
// between the invocations of a workgroup, so the tiles of matmul.wgsl cost more than they
// save. Each invocation computes an RM x RN block of the output straight from A and B,
// which the CPU's caches hold. Same uniforms and bindings as matmul.wgsl.

alias T = f32;

override WG: u32 = 64u;
override RM: u32 = 8u;          // output rows per invocation
override RN: u32 = 8u;          // output columns per invocation
override BATCH_RANK: u32 = 0u;  // rank of the output's batch dims
override HAS_C: bool = false;   // add beta * C (Gemm)
override SCALED: bool = false;  // multiply the product by alpha (Gemm)

struct Uniforms {
  mnk: vec4<u32>,   // M, N, K, batch count
  a_mk: vec4<u32>,  // A's element strides along m and k
  b_kn: vec4<u32>,  // B's element strides along k and n
  c_mn: vec4<u32>,  // C's element strides along m and n (0 where it broadcasts)
  scale: vec4<f32>, // alpha, beta
  batch_dims: array<vec4<u32>, 2>,
  a_batch: array<vec4<u32>, 2>, // A's element strides over the batch dims (0 broadcasts)
  b_batch: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read> c: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

//#include broadcast_offset
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
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let M = u.mnk.x;
  let N = u.mnk.y;
  let K = u.mnk.z;
  let batch = wid.z;
  let i = linear_index(vec3<u32>(wid.x, wid.y, 0u), nwg, lid, WG);
  let col_blocks = (N + RN - 1u) / RN;
  let row0 = (i / col_blocks) * RM;
  let col0 = (i % col_blocks) * RN;
  if (row0 >= M) { return; }
  let a_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.a_batch);
  let b_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.b_batch);
  // Rows and columns past the edge read the last valid one (their results are dropped).
  var a_row: array<u32, 16>;
  for (var r = 0u; r < RM; r++) { a_row[r] = a_base + min(row0 + r, M - 1u) * u.a_mk.x; }
  var b_col: array<u32, 16>;
  for (var j = 0u; j < RN; j++) { b_col[j] = b_base + min(col0 + j, N - 1u) * u.b_kn.y; }
  var acc: array<T, 64>;
  for (var k = 0u; k < K; k++) {
    var bv: array<T, 16>;
    let bk = k * u.b_kn.x;
    for (var j = 0u; j < RN; j++) { bv[j] = b[b_col[j] + bk]; }
    let ak = k * u.a_mk.y;
    for (var r = 0u; r < RM; r++) {
      let av = a[a_row[r] + ak];
      for (var j = 0u; j < RN; j++) { acc[r * RN + j] += av * bv[j]; }
    }
  }
  let y_base = batch * M * N;
  for (var r = 0u; r < RM; r++) {
    let m = row0 + r;
    if (m >= M) { break; }
    for (var j = 0u; j < RN; j++) {
      let n = col0 + j;
      if (n >= N) { break; }
      var v = acc[r * RN + j];
      if (SCALED) { v = T(u.scale.x) * v; }
      if (HAS_C) { v += T(u.scale.y) * c[m * u.c_mn.x + n * u.c_mn.y]; }
      y[y_base + m * N + n] = v;
    }
  }
}
