// Batched matrix product (MatMul, with numpy broadcasting of the batch dims) and Gemm
// (transposes through strides, alpha, beta and a broadcast C). A workgroup computes a
// (WG_Y*RM) x (WG_X*RN) tile of the output, each invocation a RM x RN block, from tiles of
// A and B staged in workgroup memory TILE_K columns at a time. RM * RN <= 16, RN <= 4.

alias T = f32;

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override RM: u32 = 4u;         // output rows per invocation
override RN: u32 = 4u;         // output columns per invocation
override TILE_K: u32 = 16u;
override BATCH_RANK: u32 = 0u; // rank of the output's batch dims
override HAS_C: bool = false;  // add beta * C (Gemm)
override SCALED: bool = false; // multiply the product by alpha (Gemm)

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

var<workgroup> a_tile: array<T, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<T, TILE_K * WG_X * RN>;

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

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = u.mnk.x;
  let N = u.mnk.y;
  let K = u.mnk.z;
  let tm = WG_Y * RM;
  let tn = WG_X * RN;
  let row0 = wid.y * tm;
  let col0 = wid.x * tn;
  let batch = wid.z;
  let a_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.a_batch);
  let b_base = broadcast_offset(batch, BATCH_RANK, u.batch_dims, u.b_batch);
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  var acc: array<T, 16>;
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = t; e < tm * TILE_K; e += threads) {
      let m = row0 + e / TILE_K;
      let k = k0 + e % TILE_K;
      var v = T(0);
      if (m < M && k < K) { v = a[a_base + m * u.a_mk.x + k * u.a_mk.y]; }
      a_tile[e] = v;
    }
    for (var e = t; e < TILE_K * tn; e += threads) {
      let k = k0 + e / tn;
      let n = col0 + e % tn;
      var v = T(0);
      if (k < K && n < N) { v = b[b_base + k * u.b_kn.x + n * u.b_kn.y]; }
      b_tile[e] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      var bv: array<T, 4>;
      for (var j = 0u; j < RN; j++) { bv[j] = b_tile[kk * tn + lid.x * RN + j]; }
      for (var i = 0u; i < RM; i++) {
        let av = a_tile[(lid.y * RM + i) * TILE_K + kk];
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] += av * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  let y_base = batch * M * N;
  for (var i = 0u; i < RM; i++) {
    let m = row0 + lid.y * RM + i;
    if (m >= M) { break; }
    for (var j = 0u; j < RN; j++) {
      let n = col0 + lid.x * RN + j;
      if (n >= N) { break; }
      var v = acc[i * RN + j];
      if (SCALED) { v = T(u.scale.x) * v; }
      if (HAS_C) { v += T(u.scale.y) * c[m * u.c_mn.x + n * u.c_mn.y]; }
      y[y_base + m * N + n] = v;
    }
  }
}
