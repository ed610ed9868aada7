// Integer convolution sums computed directly, one invocation per four neighbouring outputs
// of a row (int32): the kernel for depthwise and other convolutions with few output channels
// per group. The
// modes are those of quant_conv.wgsl; with PAIRS the K walk pairs adjacent products in the
// CPU's order (CHANNELS_LAST: kernel taps outer, channels inner; else channels outer).

override WG: u32 = 64u;
override X_SIGNED: bool = false;
override W_SIGNED: bool = false;
override W_ZP_PER_CHANNEL: bool = false;
override PAIRS: bool = false;
override CHANNELS_LAST: bool = false;

struct Uniforms {
  sizes: vec4<u32>,  // invocations (N*M*OH*ceil(OW/4)), Mg, ceil(OW/4), Kc (Cg*KH*KW)
  x_dims: vec4<u32>, // C, H, W, Cg
  y_dims: vec4<u32>, // M, OH, OW
  window: vec4<u32>, // KH, KW, pad top, pad left
  steps: vec4<u32>,  // stride H, stride W, dilation H, dilation W
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x_zp: array<u32>;
@group(0) @binding(3) var<storage, read> w_zp: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;
@group(0) @binding(5) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
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

fn x_at(i: u32) -> i32 {
  return q8_get(x[i >> 2u], i & 3u, X_SIGNED);
}

fn w_at(i: u32) -> i32 {
  return q8_get(w[i >> 2u], i & 3u, W_SIGNED);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let OWq = u.sizes.z;
  let Kc = u.sizes.w;
  let M = u.y_dims.x;
  let OH = u.y_dims.y;
  let OW = u.y_dims.z;
  let C = u.x_dims.x;
  let H = u.x_dims.y;
  let W = u.x_dims.z;
  let Cg = u.x_dims.w;
  let KH = u.window.x;
  let KW = u.window.y;
  let KHW = KH * KW;
  let SW = u.steps.y;
  let ow0 = (i % OWq) * 4u;
  let row = i / OWq;
  let oh = row % OH;
  let oc = (row / OH) % M;
  let n_img = row / (OH * M);
  let g = oc / u.sizes.y;
  let x_base = (n_img * C + g * Cg) * H * W;
  let w_base = oc * Kc;
  let xz = q8_get(x_zp[0], 0u, X_SIGNED);
  let zi = select(0u, oc, W_ZP_PER_CHANNEL);
  let wz = q8_get(w_zp[zi >> 2u], zi & 3u, W_SIGNED);
  let y_base = ((n_img * M + oc) * OH + oh) * OW;
  if (!PAIRS) {
    // Four neighbouring outputs of a row share the weights and the row checks.
    var acc = vec4<i32>(0);
    for (var ci = 0u; ci < Cg; ci++) {
      let xc = x_base + ci * H * W;
      let wc = w_base + ci * KHW;
      for (var kh = 0u; kh < KH; kh++) {
        let ih = i32(oh * u.steps.x + kh * u.steps.z) - i32(u.window.z);
        if (ih < 0 || ih >= i32(H)) { continue; }
        let xr = xc + u32(ih) * W;
        for (var kw = 0u; kw < KW; kw++) {
          let wv = w_at(wc + kh * KW + kw) - wz;
          let iw0 = i32(ow0 * SW + kw * u.steps.w) - i32(u.window.w);
          for (var j = 0u; j < 4u; j++) {
            let iw = iw0 + i32(j * SW);
            if (iw >= 0 && iw < i32(W)) { acc[j] += (x_at(xr + u32(iw)) - xz) * wv; }
          }
        }
      }
    }
    for (var j = 0u; j < 4u; j++) {
      if (ow0 + j < OW) { y[y_base + ow0 + j] = acc[j]; }
    }
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let ow = ow0 + j;
    if (ow >= OW) { break; }
    var acc = 0;
    var pending = 0;
    var x_sum = 0;
    var w_sum = 0;
    for (var k = 0u; k < Kc; k++) {
      var kw = k;
      if (CHANNELS_LAST) { kw = (k % Cg) * KHW + k / Cg; }
      let ci = kw / KHW;
      let r = kw % KHW;
      let ih = i32(oh * u.steps.x + (r / KW) * u.steps.z) - i32(u.window.z);
      let iw = i32(ow * SW + (r % KW) * u.steps.w) - i32(u.window.w);
      var xv = xz;
      if (ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
        xv = x_at(x_base + (ci * H + u32(ih)) * W + u32(iw));
      }
      let wv = w_at(w_base + kw);
      x_sum += xv;
      w_sum += wv;
      if ((k & 1u) == 0u) {
        pending = xv * wv;
      } else {
        acc += clamp(pending + xv * wv, -32768, 32767);
      }
    }
    if ((Kc & 1u) == 1u) { acc += clamp(pending, -32768, 32767); }
    y[y_base + ow] = acc - xz * w_sum - wz * x_sum + i32(Kc) * wz * xz;
  }
}
