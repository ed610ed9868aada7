// Reduce* over any set of axes. Output o reduces the elements at kept offset(o) + reduced
// offset(r), r < R, both offsets from (dims, strides) lists the host merged where they were
// contiguous. COOP: a workgroup per output (threads stride over r, then a tree in workgroup
// memory); otherwise an invocation per output. Max and Min propagate NaN; LogSumExp
// subtracts the maximum first (0 when it is not finite), as the CPU kernel does.

alias T = f32; // f32, i32 or u32

override WG: u32 = 64u; // a power of two
override OP: u32 = 0u;  // 0 sum, 1 mean, 2 max, 3 min, 4 prod, 5 L1, 6 L2, 7 log-sum, 8 log-sum-exp, 9 sum of squares
override COOP: bool = true;
override KEPT_RANK: u32 = 1u;
override RED_RANK: u32 = 1u;
override UNSIGNED: bool = false; // T is u32 (llvmpipe's abs treats u32 as signed)

struct Uniforms {
  sizes: vec4<u32>, // x: output count, y: elements reduced into each (R)
  kept_dims: array<vec4<u32>, 2>,
  kept_strides: array<vec4<u32>, 2>,
  red_dims: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> u: Uniforms;

var<workgroup> part: array<T, WG>;

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

//#include sqrt_log_f32
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
//#end

//#slot limits
// The identities of Max and Min for T.
fn lowest() -> T { return -inf_f32(); }
fn highest() -> T { return inf_f32(); }
//#end

const MEAN = 1u;
const MAX = 2u;
const MIN = 3u;
const PROD = 4u;
const L1 = 5u;
const L2 = 6u;
const LOGSUM = 7u;
const LOGSUMEXP = 8u;
const SUMSQUARE = 9u;

fn init(op: u32) -> T {
  if (op == MAX) { return lowest(); }
  if (op == MIN) { return highest(); }
  if (op == PROD) { return T(1); }
  return T(0);
}

// What one element adds to the accumulator (m: the maximum, for LogSumExp).
fn term(op: u32, v: T, m: T) -> T {
  if (op == L1) { return select(abs(v), v, UNSIGNED); }
  if (op == L2 || op == SUMSQUARE) { return v * v; }
  if (op == LOGSUMEXP) { return T(exp(f32(v) - f32(m))); }
  return v;
}

fn combine(op: u32, a: T, b: T) -> T {
  if (op == MAX || op == MIN) {
    if (is_nan(f32(a))) { return a; }
    if (is_nan(f32(b))) { return b; }
    return select(a, b, select((b < a), (b > a), op == MAX));
  }
  if (op == PROD) { return a * b; }
  return a + b;
}

// Offsets over the kept and reduced dims, reading the uniform lists in place (passing them
// by value copies them per call, which llvmpipe pays for on every element).
fn kept_offset(o: u32) -> u32 {
  var rest = o;
  var off = 0u;
  for (var k = KEPT_RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.kept_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.kept_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

fn red_offset(r: u32) -> u32 {
  var rest = r;
  var off = 0u;
  for (var k = RED_RANK; k > 0u; k--) {
    let j = k - 1u;
    let n = u.red_dims[j / 4u][j % 4u];
    let q = rest / n;
    off += (rest - q * n) * u.red_strides[j / 4u][j % 4u];
    rest = q;
  }
  return off;
}

// The reduction of output o with `op`; every invocation of a COOP workgroup returns it.
fn reduce(op: u32, o: u32, live: bool, lid: u32, m: T) -> T {
  var acc = init(op);
  if (live) {
    let base = kept_offset(o);
    let count = u.sizes.y;
    let step = select(1u, WG, COOP);
    for (var r = select(0u, lid, COOP); r < count; r += step) {
      let v = x[base + red_offset(r)];
      acc = combine(op, acc, term(op, v, m));
    }
  }
  if (!COOP) { return acc; }
  part[lid] = acc;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) { part[lid] = combine(op, part[lid], part[lid + h]); }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let o = select(g * WG + lid, g, COOP);
  let live = o < u.sizes.x;
  var m = T(0);
  if (OP == LOGSUMEXP) {
    m = reduce(MAX, o, live, lid, T(0));
    if (is_nan(f32(m)) || is_inf(f32(m))) { m = T(0); }
  }
  let acc = reduce(OP, o, live, lid, m);
  if (!live || (COOP && lid != 0u)) { return; }
  let count = f32(u.sizes.y);
  var v = acc;
  if (OP == MEAN) {
    v = select(T(nan_f32()), T(f32(acc) / count), count > 0.0);
  } else if (OP == L2) {
    v = T(sqrt_f32(f32(acc)));
  } else if (OP == LOGSUM) {
    v = T(log_f32(f32(acc)));
  } else if (OP == LOGSUMEXP) {
    v = T(log_f32(f32(acc)) + f32(m));
  }
  y[o] = v;
}
