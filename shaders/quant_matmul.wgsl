// Integer matrix products of packed int8/uint8 operands (MatMulInteger; QLinearMatMul before
// requantization), batched with numpy-broadcast batch dims, in i32 (y is int32). Tiling as in
// matmul.wgsl. Zero points: one, or one per row of A / column of B.
//
// Exact: the tiles hold a - a_zp and b - b_zp. PAIRS (onnxruntime's x86 u8 x s8 kernels, see
// pipeline/run/cpu/igemm.ts): raw values, adjacent products along K summed in int16-saturated
// pairs, zero points applied afterwards: sum - b_zp * sum(a) - a_zp * sum(b) + K a_zp b_zp.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override RM: u32 = 2u;
override RN: u32 = 4u;
override TILE_K: u32 = 8u; // even
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

var<workgroup> a_tile: array<i32, WG_Y * RM * TILE_K>;
var<workgroup> b_tile: array<i32, TILE_K * WG_X * RN>;

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

fn a_zero(m: u32) -> i32 {
  let j = select(0u, m, A_ZP_PER_ROW);
  return q8_get(a_zp[j >> 2u], j & 3u, A_SIGNED);
}

fn b_zero(n: u32) -> i32 {
  let j = select(0u, n, B_ZP_PER_COL);
  return q8_get(b_zp[j >> 2u], j & 3u, B_SIGNED);
}

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
  var acc: array<i32, 16>;
  var row_sum: array<i32, 16>;
  var col_sum: array<i32, 4>;
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = t; e < tm * TILE_K; e += threads) {
      let m = row0 + e / TILE_K;
      let k = k0 + e % TILE_K;
      var v = 0;
      if (m < M && k < K) {
        let i = a_base + m * K + k;
        v = q8_get(a[i >> 2u], i & 3u, A_SIGNED);
        if (!PAIRS) { v -= a_zero(m); }
      }
      a_tile[e] = v;
    }
    for (var e = t; e < TILE_K * tn; e += threads) {
      let k = k0 + e / tn;
      let n = col0 + e % tn;
      var v = 0;
      if (k < K && n < N) {
        let i = b_base + k * N + n;
        v = q8_get(b[i >> 2u], i & 3u, B_SIGNED);
        if (!PAIRS) { v -= b_zero(n); }
      }
      b_tile[e] = v;
    }
    workgroupBarrier();
    if (PAIRS) {
      for (var kk = 0u; kk < TILE_K; kk += 2u) {
        var b0: array<i32, 4>;
        var b1: array<i32, 4>;
        for (var j = 0u; j < RN; j++) {
          b0[j] = b_tile[kk * tn + lid.x * RN + j];
          b1[j] = b_tile[(kk + 1u) * tn + lid.x * RN + j];
          col_sum[j] += b0[j] + b1[j];
        }
        for (var i = 0u; i < RM; i++) {
          let a0 = a_tile[(lid.y * RM + i) * TILE_K + kk];
          let a1 = a_tile[(lid.y * RM + i) * TILE_K + kk + 1u];
          row_sum[i] += a0 + a1;
          for (var j = 0u; j < RN; j++) {
            acc[i * RN + j] += clamp(a0 * b0[j] + a1 * b1[j], -32768, 32767);
          }
        }
      }
    } else {
      for (var kk = 0u; kk < TILE_K; kk++) {
        var bv: array<i32, 4>;
        for (var j = 0u; j < RN; j++) { bv[j] = b_tile[kk * tn + lid.x * RN + j]; }
        for (var i = 0u; i < RM; i++) {
          let av = a_tile[(lid.y * RM + i) * TILE_K + kk];
          for (var j = 0u; j < RN; j++) { acc[i * RN + j] += av * bv[j]; }
        }
      }
    }
    workgroupBarrier();
  }
  let y_base = batch * M * N;
  for (var i = 0u; i < RM; i++) {
    let m = row0 + lid.y * RM + i;
    if (m >= M) { break; }
    let za = a_zero(m);
    for (var j = 0u; j < RN; j++) {
      let n = col0 + lid.x * RN + j;
      if (n >= N) { break; }
      var v = acc[i * RN + j];
      if (PAIRS) {
        let zb = b_zero(n);
        v = v - zb * row_sum[i] - za * col_sum[j] + i32(K) * za * zb;
      }
      y[y_base + m * N + n] = v;
    }
  }
}
