// Integer matrix products for software adapters such as llvmpipe, without workgroup memory
// (as matmul_direct.wgsl): each invocation computes an RM x RN block of one batch's output,
// reading A and B straight from memory. Modes, bindings and uniforms as quant_matmul.wgsl.

override WG: u32 = 64u;
override RM: u32 = 8u; // output rows per invocation (RM * RN <= 64, each <= 16)
override RN: u32 = 8u; // output columns per invocation
override BATCH_RANK: u32 = 0u;
override A_SIGNED: bool = false;
override B_SIGNED: bool = false;
override A_ZP_PER_ROW: bool = false;
override B_ZP_PER_COL: bool = false;
override PAIRS: bool = false;

struct Uniforms {
  mnk: vec4<u32>, // M, N, K, batch count
  batch_dims: array<vec4<u32>, 2>,
  a_batch: array<vec4<u32>, 2>, // A's element strides over the batch dims (0 broadcasts)
  b_batch: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read> a_zp: array<u32>;
@group(0) @binding(3) var<storage, read> b_zp: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;
@group(0) @binding(5) var<uniform> u: Uniforms;

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

//#include q8
// Byte `lane` (0..3) of a packed word as int8 (signed) or uint8.
fn q8_get(word: u32, lane: u32, signed: bool) -> i32 {
  let b = (word >> (lane * 8u)) & 0xffu;
  return select(i32(b), i32(b) - 256, signed && b >= 128u);
}

// Four in-range values packed into a word, lane 0 in the low byte.
fn q8_pack(v: vec4<i32>) -> u32 {
  let b = bitcast<vec4<u32>>(v) & vec4<u32>(0xffu);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}
//#end

fn a_at(i: u32) -> i32 {
  return q8_get(a[i >> 2u], i & 3u, A_SIGNED);
}

fn b_at(i: u32) -> i32 {
  return q8_get(b[i >> 2u], i & 3u, B_SIGNED);
}

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
  var a_row: array<u32, 16>;
  var za: array<i32, 16>;
  for (var r = 0u; r < RM; r++) {
    let m = min(row0 + r, M - 1u);
    a_row[r] = a_base + m * K;
    let zi = select(0u, m, A_ZP_PER_ROW);
    za[r] = q8_get(a_zp[zi >> 2u], zi & 3u, A_SIGNED);
  }
  var b_col: array<u32, 16>;
  var zb: array<i32, 16>;
  for (var j = 0u; j < RN; j++) {
    let n = min(col0 + j, N - 1u);
    b_col[j] = b_base + n;
    let zi = select(0u, n, B_ZP_PER_COL);
    zb[j] = q8_get(b_zp[zi >> 2u], zi & 3u, B_SIGNED);
  }
  var acc: array<i32, 64>;
  var row_sum: array<i32, 16>;
  var col_sum: array<i32, 16>;
  if (!PAIRS) {
    for (var k = 0u; k < K; k++) {
      var bv: array<i32, 16>;
      for (var j = 0u; j < RN; j++) { bv[j] = b_at(b_col[j] + k * N) - zb[j]; }
      for (var r = 0u; r < RM; r++) {
        let av = a_at(a_row[r] + k) - za[r];
        for (var j = 0u; j < RN; j++) { acc[r * RN + j] += av * bv[j]; }
      }
    }
  } else {
    for (var k = 0u; k < K; k += 2u) {
      let has1 = k + 1u < K;
      let k1 = min(k + 1u, K - 1u);
      var b0: array<i32, 16>;
      var b1: array<i32, 16>;
      for (var j = 0u; j < RN; j++) {
        b0[j] = b_at(b_col[j] + k * N);
        b1[j] = select(0, b_at(b_col[j] + k1 * N), has1);
        col_sum[j] += b0[j] + b1[j];
      }
      for (var r = 0u; r < RM; r++) {
        let a0 = a_at(a_row[r] + k);
        let a1 = select(0, a_at(a_row[r] + k1), has1);
        row_sum[r] += a0 + a1;
        for (var j = 0u; j < RN; j++) {
          acc[r * RN + j] += clamp(a0 * b0[j] + a1 * b1[j], -32768, 32767);
        }
      }
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
      if (PAIRS) { v = v - zb[j] * row_sum[r] - za[r] * col_sum[j] + i32(K) * za[r] * zb[j]; }
      y[y_base + m * N + n] = v;
    }
  }
}
