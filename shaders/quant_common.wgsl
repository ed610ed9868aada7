// Shared helpers of the quantized kernels (quant_*.wgsl).
//
// int8/uint8 tensors live on the GPU packed four per u32 word: element i is byte i % 4 of
// word i / 4 (little-endian), exactly the CPU's bytes. Kernels that write them compute four
// consecutive elements per invocation and store one word.
//
// The CPU kernels are the reference, bit for bit. WGSL's own float division is not
// correctly rounded (2.5 ULP), devices may flush subnormals, and a product followed by a sum
// may be fused. The `sf_*` functions therefore compute float32 results from the bits with
// integer operations, rounding to nearest even with subnormals, infinities and NaN handled
// as IEEE 754 does. A 64-bit magnitude is a vec2<u32> (x: high word, y: low word).

//#region q8
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
//#endregion

//#region sf32
fn sf_shr64(v: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return v; }
  if (n >= 64u) { return vec2<u32>(0u, 0u); }
  if (n >= 32u) { return vec2<u32>(0u, v.x >> (n - 32u)); }
  return vec2<u32>(v.x >> n, (v.y >> n) | (v.x << (32u - n)));
}

fn sf_shl64(v: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return v; }
  if (n >= 64u) { return vec2<u32>(0u, 0u); }
  if (n >= 32u) { return vec2<u32>(v.y << (n - 32u), 0u); }
  return vec2<u32>((v.x << n) | (v.y >> (32u - n)), v.y << n);
}

fn sf_add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.y + b.y;
  return vec2<u32>(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}

// a - b for a >= b.
fn sf_sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x - select(0u, 1u, a.y < b.y), a.y - b.y);
}

fn sf_lt64(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.x < b.x || (a.x == b.x && a.y < b.y);
}

// Index of the highest set bit of a nonzero value.
fn sf_top64(v: vec2<u32>) -> u32 {
  if (v.x != 0u) { return 63u - countLeadingZeros(v.x); }
  return 31u - countLeadingZeros(v.y);
}

// v / 2^n rounded to the nearest integer, ties to even (n in 1..64).
fn sf_round_shift(v: vec2<u32>, n: u32) -> vec2<u32> {
  let kept = sf_shr64(v, n);
  let rem = sf_sub64(v, sf_shl64(kept, n));
  let half = sf_shl64(vec2<u32>(0u, 1u), n - 1u);
  var up = sf_lt64(half, rem);
  if (rem.x == half.x && rem.y == half.y) { up = (kept.y & 1u) == 1u; }
  if (up) { return sf_add64(kept, vec2<u32>(0u, 1u)); }
  return kept;
}

// The float32 nearest to (-1)^sign * m * 2^e, as bits.
fn sf_pack(sign: u32, m: vec2<u32>, e: i32) -> u32 {
  let s = sign << 31u;
  if (m.x == 0u && m.y == 0u) { return s; }
  let top = i32(sf_top64(m));
  let ex = top + e; // exponent of the leading bit
  if (ex > 127) { return s | 0x7f800000u; }
  var drop = top - 23;
  if (ex < -126) { drop += -126 - ex; }
  var q: u32;
  if (drop <= 0) {
    q = m.y << u32(-drop); // m < 2^24 here
  } else if (drop > 64) {
    return s; // below half the smallest subnormal
  } else {
    q = sf_round_shift(m, u32(drop)).y;
  }
  if (ex < -126) { return s | q; } // subnormal; q = 2^23 is the smallest normal
  // q is in [2^23, 2^24]: the carry of q = 2^24 moves into the exponent field.
  let bits = (u32(ex + 126) << 23u) + q;
  if (bits >= 0x7f800000u) { return s | 0x7f800000u; }
  return s | bits;
}

// Significand and exponent of a finite nonzero magnitude's bits: m * 2^e, m in [2^23, 2^24).
fn sf_unpack(a: u32) -> vec2<i32> {
  let ex = (a >> 23u) & 0xffu;
  let f = a & 0x7fffffu;
  if (ex == 0u) {
    let sh = countLeadingZeros(f) - 8u;
    return vec2<i32>(i32(f << sh), -149 - i32(sh));
  }
  return vec2<i32>(i32(f | 0x800000u), i32(ex) - 150);
}

// a / b, correctly rounded.
fn sf_div(a: u32, b: u32) -> u32 {
  let s = (a ^ b) & 0x80000000u;
  let aa = a & 0x7fffffffu;
  let bb = b & 0x7fffffffu;
  if (aa > 0x7f800000u || bb > 0x7f800000u) { return 0x7fc00000u; }
  if (aa == 0x7f800000u) { return select(s | 0x7f800000u, 0x7fc00000u, bb == 0x7f800000u); }
  if (bb == 0x7f800000u) { return s; }
  if (bb == 0u) { return select(s | 0x7f800000u, 0x7fc00000u, aa == 0u); }
  if (aa == 0u) { return s; }
  let ua = sf_unpack(aa);
  let ub = sf_unpack(bb);
  var ma = u32(ua.x);
  let mb = u32(ub.x);
  var e = ua.y - ub.y;
  if (ma < mb) {
    ma = ma << 1u;
    e -= 1;
  }
  // ma / mb is in [1, 2): 26 quotient bits by long division, then a sticky bit.
  var r = ma;
  var q = 0u;
  for (var i = 0u; i < 26u; i++) {
    q = q << 1u;
    if (r >= mb) {
      r -= mb;
      q |= 1u;
    }
    r = r << 1u;
  }
  let m = (q << 1u) | select(0u, 1u, r != 0u);
  return sf_pack(s >> 31u, vec2<u32>(0u, m), e - 26);
}

// a * b, correctly rounded.
fn sf_mul(a: u32, b: u32) -> u32 {
  let s = (a ^ b) & 0x80000000u;
  let aa = a & 0x7fffffffu;
  let bb = b & 0x7fffffffu;
  if (aa > 0x7f800000u || bb > 0x7f800000u) { return 0x7fc00000u; }
  if (aa == 0x7f800000u) { return select(s | 0x7f800000u, 0x7fc00000u, bb == 0u); }
  if (bb == 0x7f800000u) { return select(s | 0x7f800000u, 0x7fc00000u, aa == 0u); }
  if (aa == 0u || bb == 0u) { return s; }
  let ua = sf_unpack(aa);
  let ub = sf_unpack(bb);
  let ma = u32(ua.x);
  let mb = u32(ub.x);
  let a1 = ma >> 16u;
  let a0 = ma & 0xffffu;
  let b1 = mb >> 16u;
  let b0 = mb & 0xffffu;
  let mid = a1 * b0 + a0 * b1;
  let lo0 = a0 * b0;
  let lo = lo0 + (mid << 16u);
  let hi = a1 * b1 + (mid >> 16u) + select(0u, 1u, lo < lo0);
  return sf_pack(s >> 31u, vec2<u32>(hi, lo), ua.y + ub.y);
}

// x * y + z for an integer |x| <= 255, rounded to float64 and then to float32: what
// JavaScript's Math.fround(x * y + z) gives (the product is exact in float64).
fn sf_fma_i(x: i32, y: u32, z: u32) -> u32 {
  let yy = y & 0x7fffffffu;
  let zz = z & 0x7fffffffu;
  let sp = (y >> 31u) ^ select(0u, 1u, x < 0);
  let sz = z >> 31u;
  if (yy > 0x7f800000u || zz > 0x7f800000u) { return 0x7fc00000u; }
  if (yy == 0x7f800000u) {
    if (x == 0 || (zz == 0x7f800000u && sz != sp)) { return 0x7fc00000u; }
    return (sp << 31u) | 0x7f800000u;
  }
  if (zz == 0x7f800000u) { return z; }
  let ax = u32(abs(x));
  var pm = 0u;
  var pe = 0;
  if (ax != 0u && yy != 0u) {
    let u = sf_unpack(yy);
    pm = ax * u32(u.x);
    pe = u.y;
  }
  if (pm == 0u) {
    if (zz == 0u) { return (sp & sz) << 31u; }
    return z;
  }
  if (zz == 0u) { return sf_pack(sp, vec2<u32>(0u, pm), pe); }
  // Both magnitudes with their leading bit at 61; their low 30 bits are 0, so aligning
  // shifts of up to 30 are exact, and longer ones leave a sticky bit.
  let uz = sf_unpack(zz);
  let lp = 31u - countLeadingZeros(pm);
  var a = sf_shl64(vec2<u32>(0u, pm), 61u - lp);
  var ea = pe - i32(61u - lp);
  var sa = sp;
  var b = sf_shl64(vec2<u32>(0u, u32(uz.x)), 38u);
  var eb = uz.y - 38;
  var sb = sz;
  if (eb > ea) {
    let t = a;
    a = b;
    b = t;
    let te = ea;
    ea = eb;
    eb = te;
    let ts = sa;
    sa = sb;
    sb = ts;
  }
  let d = u32(ea - eb);
  var bs = vec2<u32>(0u, 1u);
  if (d < 64u) {
    bs = sf_shr64(b, d);
    let back = sf_shl64(bs, d);
    if (back.x != b.x || back.y != b.y) { bs.y |= 1u; }
  }
  var sum: vec2<u32>;
  var ss = sa;
  if (sa == sb) {
    sum = sf_add64(a, bs);
  } else if (sf_lt64(a, bs)) {
    sum = sf_sub64(bs, a);
    ss = sb;
  } else {
    sum = sf_sub64(a, bs);
  }
  if (sum.x == 0u && sum.y == 0u) { return 0u; }
  let top = sf_top64(sum);
  if (top > 52u) {
    let n = top - 52u;
    sum = sf_shl64(sf_round_shift(sum, n), n);
  }
  return sf_pack(ss, sum, ea);
}

// The float32 nearest to the 64-bit integer hi * 2^32 + lo (two's complement).
fn sf_from_i64(hi: i32, lo: u32) -> u32 {
  if (hi < 0) {
    let m = sf_add64(vec2<u32>(~bitcast<u32>(hi), ~lo), vec2<u32>(0u, 1u));
    return sf_pack(1u, m, 0);
  }
  return sf_pack(0u, vec2<u32>(bitcast<u32>(hi), lo), 0);
}

// The float32 nearest to a + b (exact integers; the sum may leave the i32 range).
fn sf_from_sum(a: i32, b: i32) -> u32 {
  let lo = bitcast<u32>(a) + bitcast<u32>(b);
  let carry = select(0, 1, lo < bitcast<u32>(a));
  return sf_from_i64((a >> 31u) + (b >> 31u) + carry, lo);
}

// The float32 nearest to a - b (exact integers).
fn sf_from_diff(a: i32, b: i32) -> u32 {
  let lo = bitcast<u32>(a) - bitcast<u32>(b);
  let borrow = select(0, 1, bitcast<u32>(a) < bitcast<u32>(b));
  return sf_from_i64((a >> 31u) - (b >> 31u) - borrow, lo);
}

// The float32 nearest to an i32.
fn sf_from_i32(a: i32) -> u32 {
  if (abs(a) < 16777216) { return bitcast<u32>(f32(a)); }
  return sf_from_i64(a >> 31u, bitcast<u32>(a));
}
//#endregion

//#region quant_round
// Round half to even of the float32 with bits v, plus zp, clamped to [lo, hi]; NaN gives
// lo (the CPU's saturateRound).
fn q_sat_round(v: u32, zp: i32, lo: i32, hi: i32) -> i32 {
  let a = v & 0x7fffffffu;
  if (a > 0x7f800000u) { return lo; }
  if (a >= 0x4e800000u) { return select(hi, lo, (v >> 31u) != 0u); } // |v| >= 2^30
  return clamp(i32(round(bitcast<f32>(v))) + zp, lo, hi);
}

// saturateRound(fround(x / s), zp) of float32 bits x and s. The device's division decides
// whenever its result is clearly away from a half-integer (it is within 2.5 ULP of the
// quotient); otherwise the correctly rounded quotient does.
fn q_div_round(x: u32, s: u32, zp: i32, lo: i32, hi: i32) -> i32 {
  let ex = (x >> 23u) & 0xffu;
  let es = (s >> 23u) & 0xffu;
  if (ex < 255u && es >= 2u && es <= 252u) {
    let q = bitcast<f32>(x) / bitcast<f32>(s);
    let aq = abs(q);
    if (aq < 0.25) { return clamp(zp, lo, hi); }
    if (aq < 4194304.0) {
      let f = floor(q);
      let frac = q - f;
      let ulp = bitcast<f32>((bitcast<u32>(aq) & 0x7f800000u) - 0x0b800000u); // 2^(e - 23)
      if (abs(frac - 0.5) > 8.0 * ulp) {
        return clamp(i32(f) + select(0, 1, frac > 0.5) + zp, lo, hi);
      }
    } else if (aq > 8388608.0) {
      return select(hi, lo, q < 0.0);
    }
  }
  return q_sat_round(sf_div(x, s), zp, lo, hi);
}

// onnxruntime's requantization of a sum: saturateRound(fround(v * m), zp) for the float32
// bits v (the sum, exactly converted) and m (the scale).
fn q_requant(v: u32, m: u32, zp: i32, lo: i32, hi: i32) -> i32 {
  let em = (m >> 23u) & 0xffu;
  if (em == 0u || em == 255u) { return q_sat_round(sf_mul(v, m), zp, lo, hi); }
  // Normal operands: the device's product is correctly rounded; where it overflows or
  // underflows, the result saturates or rounds to 0 either way.
  return q_sat_round(bitcast<u32>(bitcast<f32>(v) * bitcast<f32>(m)), zp, lo, hi);
}
//#endregion

// A standalone file needs an entry point to be a complete module; kernels ignore this one.
@compute @workgroup_size(1)
fn quant_common_check() {
  _ = q8_get(0u, 0u, true) + q_sat_round(0u, 0, 0, 255) + q_div_round(0u, 0x3f800000u, 0, 0, 255);
  _ = q8_pack(vec4<i32>(0)) + sf_from_sum(0, 0) + sf_from_diff(0, 0) + sf_from_i32(0);
  _ = sf_fma_i(1, 0u, 0u) + sf_mul(0u, 0u);
  _ = q_requant(0u, 0x3f800000u, 0, -128, 127);
}
