// Conv (1-D and 2-D) computed directly, one invocation per output element: the kernel for
// depthwise and other convolutions with few output channels per group, where the tiles of
// conv.wgsl would sit mostly idle. 1-D convolutions use H = 1.

alias T = f32;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

struct Uniforms {
  sizes: vec4<u32>,   // x: output element count, y: Mg (output channels per group), z: P (OH*OW)
  x_dims: vec4<u32>, // C, H, W, Cg
  y_dims: vec4<u32>, // M, OH, OW
  window: vec4<u32>, // KH, KW, pad top, pad left
  steps: vec4<u32>,  // stride H, stride W, dilation H, dilation W
}

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<T>;
@group(0) @binding(2) var<storage, read> bias: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
@group(0) @binding(4) var<uniform> u: Uniforms;

//#include linear_index
// Index of an invocation in a 1-D problem whose workgroups were spread over x and y
// because there were more than maxComputeWorkgroupsPerDimension of them.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}
//#end

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid, WG);
  if (i >= u.sizes.x) { return; }
  let P = u.sizes.z;
  let M = u.y_dims.x;
  let OW = u.y_dims.z;
  let C = u.x_dims.x;
  let H = u.x_dims.y;
  let W = u.x_dims.z;
  let Cg = u.x_dims.w;
  let KH = u.window.x;
  let KW = u.window.y;
  let p = i % P;
  let oc = (i / P) % M;
  let n_img = i / (P * M);
  let g = oc / u.sizes.y;
  let oh = p / OW;
  let ow = p % OW;
  var acc = T(0);
  for (var ci = 0u; ci < Cg; ci++) {
    let x_base = (n_img * C + g * Cg + ci) * H * W;
    let w_base = (oc * Cg + ci) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(oh * u.steps.x + kh * u.steps.z) - i32(u.window.z);
      if (ih < 0 || ih >= i32(H)) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = i32(ow * u.steps.y + kw * u.steps.w) - i32(u.window.w);
        if (iw < 0 || iw >= i32(W)) { continue; }
        acc += w[w_base + kh * KW + kw] * x[x_base + u32(ih) * W + u32(iw)];
      }
    }
  }
  if (HAS_BIAS) { acc += bias[oc]; }
  y[i] = acc;
}
