// Math helpers the elementwise kernels insert into their `helpers` slot, only those the op
// needs. They compute in f32 and follow the CPU kernels: NaN in gives NaN out, and the
// accurate forms (expm1, log1p, erf) keep small arguments within a few ulps.

//#include float_bits
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
//#end

//#region expm1_f32
// exp(x) - 1 without the cancellation near 0 (Kahan's correction).
fn expm1_f32(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (is_inf(u)) { return u; }
  return um1 * x / log(u);
}
//#endregion

//#region log1p_f32
// log(1 + x) without the cancellation near 0 (Goldberg's correction).
fn log1p_f32(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (is_inf(u)) { return u; }
  return log(u) * x / (u - 1.0);
}
//#endregion

//#region tanh_f32
// tanh(x) with full relative precision near 0 and exact ±1 far from it (needs expm1_f32).
fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a > 10.0) { return sign(x); }
  let e = expm1_f32(2.0 * a);
  let t = e / (e + 2.0);
  return select(t, -t, x < 0.0);
}
//#endregion

//#region softplus_f32
// log(1 + exp(x)) as the CPU kernel computes it (needs log1p_f32).
fn softplus_f32(x: f32) -> f32 {
  if (x > 0.0) { return x + log1p_f32(exp(-x)); }
  return log1p_f32(exp(x));
}
//#endregion

//#region erf_f32
// erf(x): a Taylor series below 0.5, else 1 - erfc from the Numerical Recipes fit whose
// relative error is below 1.2e-7.
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  if (z < 0.5) {
    let x2 = x * x;
    let s = 1.0 + x2 * (-1.0 / 3.0 + x2 * (1.0 / 10.0 + x2 * (-1.0 / 42.0 +
      x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0)))));
    return 1.1283791670955126 * x * s;
  }
  if (z > 10.0) { return sign(x); }
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  let erfc = t * exp(-z * z + p);
  return select(1.0 - erfc, erfc - 1.0, x < 0.0);
}
//#endregion

//#region asinh_f32
// asinh(x) accurate for small and huge |x| (needs log1p_f32).
fn asinh_f32(x: f32) -> f32 {
  let a = abs(x);
  var r: f32;
  if (a > 1e8) {
    r = log(a) + 0.6931471805599453;
  } else {
    r = log1p_f32(a + a * a / (1.0 + sqrt(1.0 + a * a)));
  }
  return select(r, -r, x < 0.0);
}
//#endregion

//#region acosh_f32
// acosh(x): NaN below 1, accurate near 1 and for huge x (needs log1p_f32).
fn acosh_f32(x: f32) -> f32 {
  if (x < 1.0) { return nan_f32(); }
  if (x > 1e8) { return log(x) + 0.6931471805599453; }
  let t = x - 1.0;
  return log1p_f32(t + sqrt(2.0 * t + t * t));
}
//#endregion

//#region atanh_f32
// atanh(x): NaN beyond ±1, ±infinity at ±1 (needs log1p_f32).
fn atanh_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a > 1.0) { return nan_f32(); }
  if (a == 1.0) { return select(inf_f32(), -inf_f32(), x < 0.0); }
  let r = 0.5 * log1p_f32(2.0 * a / (1.0 - a));
  return select(r, -r, x < 0.0);
}
//#endregion

//#region asin_acos_f32
// asin and acos through atan2, with NaN outside [-1, 1] (the builtins are undefined there,
// and llvmpipe's lose four digits inside).
fn asin_f32(x: f32) -> f32 {
  if (abs(x) > 1.0) { return nan_f32(); }
  return atan2(x, sqrt((1.0 - x) * (1.0 + x)));
}

fn acos_f32(x: f32) -> f32 {
  if (abs(x) > 1.0) { return nan_f32(); }
  return 2.0 * atan2(sqrt(1.0 - x), sqrt(1.0 + x));
}
//#endregion

//#region sqrt_log_f32
// sqrt and log with NaN for negative arguments and -infinity for log(0) (the builtins are
// undefined there).
fn sqrt_f32(x: f32) -> f32 {
  if (x < 0.0) { return nan_f32(); }
  return sqrt(x);
}

fn log_f32(x: f32) -> f32 {
  if (x < 0.0) { return nan_f32(); }
  if (x == 0.0) { return -inf_f32(); }
  return log(x);
}
//#endregion

//#region pow_f32
// Math.pow(a, b), special cases included: the builtin pow is undefined for a < 0.
fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  let ab = abs(a);
  let neg = a < 0.0 || (a == 0.0 && (bitcast<u32>(a) & 0x80000000u) != 0u);
  if (is_inf(b)) {
    if (ab == 1.0) { return nan_f32(); }
    if ((ab > 1.0) == (b > 0.0)) { return inf_f32(); }
    return 0.0;
  }
  let is_int = floor(b) == b;
  let odd = is_int && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  if (neg && !is_int && ab != 0.0 && !is_inf(a)) { return nan_f32(); }
  var r: f32;
  if (ab == 0.0) {
    r = select(0.0, inf_f32(), b < 0.0);
  } else if (is_inf(ab)) {
    r = select(inf_f32(), 0.0, b < 0.0);
  } else {
    r = exp2(b * log2(ab));
  }
  return select(r, -r, neg && odd);
}
//#endregion

//#region clamp_nan_f32
// clamp that keeps NaN (the builtin's result is undefined for NaN).
fn clamp_nan_f32(v: f32, lo: f32, hi: f32) -> f32 {
  if (is_nan(v)) { return v; }
  return min(max(v, lo), hi);
}
//#endregion

//#region f16_bits
// The float16 bits of an f32 (round to nearest, ties to even; overflow to ±infinity; NaN to
// the quiet NaN), computed on the bits: WGSL leaves the rounding of f16(x) to the device.
fn f16_bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) {
    let r = a - 0x38000000u;
    return sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
  }
  return sign | u32(round(bitcast<f32>(a) * 16777216.0));
}
//#endregion

//#region fused_activation
// The activations com.microsoft.FusedConv and FusedGemm apply (codes: 0 none, 1 Relu, 2 Tanh,
// 3 Sigmoid, 4 LeakyRelu, 5 Clip, 6 HardSigmoid; a and b are their parameters), keeping NaN
// as the CPU kernels do (needs float_bits, expm1_f32 and tanh_f32).
fn fused_activation(code: u32, v: f32, a: f32, b: f32) -> f32 {
  // Every activation maps NaN to NaN; selects and comparisons may be folded as if it could
  // not occur (llvmpipe's Relu gave 0).
  if (is_nan(v)) { return v; }
  switch (code) {
    case 1u: { return select(v, 0.0, v < 0.0); }
    case 2u: { return tanh_f32(v); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    case 4u: { return select(v, a * v, v < 0.0); }
    case 5u: { return select(select(v, b, v > b), a, v < a); }
    case 6u: {
      let h = a * v + b;
      if (is_nan(h)) { return h; }
      return max(0.0, min(1.0, h));
    }
    default: { return v; }
  }
}
//#endregion

//#region int_div
// Integer division and remainder as the CPU kernels do them: x / 0 and x % 0 are 0, and
// mod_floor's result takes the divisor's sign (Python's %).
fn div_i32(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  if (b == -1) { return -a; }
  return a / b;
}

fn div_u32(a: u32, b: u32) -> u32 {
  if (b == 0u) { return 0u; }
  return a / b;
}

// Through the quotient: `%` on i32 computes an unsigned remainder on llvmpipe.
fn rem_i32(a: i32, b: i32) -> i32 {
  if (b == 0 || b == -1) { return 0; }
  return a - b * (a / b);
}

fn rem_u32(a: u32, b: u32) -> u32 {
  if (b == 0u) { return 0u; }
  return a % b;
}

fn mod_floor_i32(a: i32, b: i32) -> i32 {
  let r = rem_i32(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) { return r + b; }
  return r;
}
//#endregion

@compute @workgroup_size(1)
fn math_check() {
  _ = expm1_f32(0.5) + log1p_f32(0.5) + tanh_f32(0.5) + softplus_f32(0.5) + erf_f32(0.5);
  _ = asinh_f32(0.5) + acosh_f32(1.5) + atanh_f32(0.5) + asin_f32(0.5) + acos_f32(0.5);
  _ = sqrt_f32(0.5) + log_f32(0.5) + pow_f32(2.0, 0.5) + clamp_nan_f32(0.5, 0.0, 1.0);
  _ = div_i32(1, 2) + rem_i32(1, 2) + mod_floor_i32(1, 2);
  _ = div_u32(1u, 2u) + rem_u32(1u, 2u) + f16_bits(0.5);
  _ = fused_activation(1u, 0.5, 0.0, 0.0);
}
