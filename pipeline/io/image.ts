/**
 * Image decoding (JPEG through jpeg-js, PNG through fast-png) and torchvision-style
 * preprocessing into a float32 tensor.
 *
 * Decoding aims at what Pillow (libjpeg-turbo) gives for the same file: for YCbCr JPEGs the
 * chroma planes are upsampled with libjpeg's "fancy" triangle filter and converted to RGB with
 * libjpeg's fixed-point tables (jpeg-js itself repeats chroma samples and converts in floating
 * point). The inverse DCT is jpeg-js's, so a few pixels may still differ by one level.
 *
 * Preprocessing follows torchvision's transforms on Pillow images: `Resize` uses Pillow's
 * bilinear filter (a triangle filter whose support widens with the downscale factor, in
 * 8-bit fixed point, horizontal pass first), `CenterCrop` rounds the offsets like Python's
 * `round` and pads with zeros when the crop is larger than the image, `ToTensor` divides by
 * 255 and `Normalize` subtracts the mean and divides by the std, all in float32.
 *
 * @module
 */

import jpeg from "npm:jpeg-js@0.4.4";
import { decode as decodePng } from "npm:fast-png@8.0.0";
import { Tensor } from "../tensor/tensor.ts";
import { InputError, ModelFormatError } from "../errors.ts";

/** An 8-bit image, rows top to bottom, channels interleaved (RGB or grey). */
export interface DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 (RGB) or 1 (grey); 2 and 4 (with alpha) are accepted as input and the alpha dropped. */
  channels: number;
  /** `width * height * channels` bytes. */
  data: Uint8Array;
}

/** Options of {@link decodeImage}. */
export interface DecodeImageOptions {
  /** Return grey images with one channel instead of replicating grey into RGB. */
  keepGray?: boolean;
}

// ---------------------------------------------------------------------------------------------
// JPEG

interface JpegComponent {
  id: number;
  h: number;
  v: number;
}

interface JpegHeader {
  width: number;
  height: number;
  components: JpegComponent[];
  jfif: boolean;
  adobeTransform?: number;
  /** Offsets of the transform byte of every Adobe APP14 segment. */
  adobeTransformOffsets: number[];
}

function parseJpegHeader(bytes: Uint8Array, fail: (msg: string) => never): JpegHeader {
  let p = 2;
  let jfif = false;
  let adobeTransform: number | undefined;
  const adobeTransformOffsets: number[] = [];
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return fail(`expected a marker at byte ${p}`);
    while (bytes[p] === 0xff && p < bytes.length) p++;
    const marker = bytes[p++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) break;
    const len = (bytes[p] << 8) | bytes[p + 1];
    if (len < 2 || p + len > bytes.length) return fail(`truncated segment at byte ${p}`);
    const seg = bytes.subarray(p + 2, p + len);
    if (
      marker === 0xe0 && seg.length >= 5 && String.fromCharCode(...seg.subarray(0, 5)) === "JFIF\0"
    ) {
      jfif = true;
    } else if (
      marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe"
    ) {
      adobeTransform = seg[11];
      adobeTransformOffsets.push(p + 2 + 11);
    } else if (
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    ) {
      if (seg.length < 6) return fail("truncated frame header");
      const height = (seg[1] << 8) | seg[2];
      const width = (seg[3] << 8) | seg[4];
      const n = seg[5];
      if (seg.length < 6 + 3 * n) return fail("truncated frame header");
      const components: JpegComponent[] = [];
      for (let i = 0; i < n; i++) {
        const hv = seg[7 + 3 * i];
        components.push({ id: seg[6 + 3 * i], h: hv >> 4, v: hv & 15 });
      }
      return { width, height, components, jfif, adobeTransform, adobeTransformOffsets };
    }
    p += len;
  }
  return fail("no frame header (SOF marker) found");
}

/** libjpeg's h2v1 fancy upsampling of one plane (triangle filter, 3/4 + 1/4). */
function upsampleH2V1(
  plane: Uint8Array,
  dw: number,
  dh: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  const row = new Uint8Array(dw * 2);
  for (let y = 0; y < height; y++) {
    const src = plane.subarray(Math.min(y, dh - 1) * dw, Math.min(y, dh - 1) * dw + dw);
    row[0] = src[0];
    row[1] = (src[0] * 3 + src[1] + 2) >> 2;
    for (let c = 1; c < dw - 1; c++) {
      const v = src[c] * 3;
      row[2 * c] = (v + src[c - 1] + 1) >> 2;
      row[2 * c + 1] = (v + src[c + 1] + 2) >> 2;
    }
    const last = dw - 1;
    row[2 * last] = (src[last] * 3 + src[last - 1] + 1) >> 2;
    row[2 * last + 1] = src[last];
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}

/** libjpeg-turbo's h1v2 fancy upsampling of one plane. */
function upsampleH1V2(
  plane: Uint8Array,
  dw: number,
  dh: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const r0 = y >> 1;
    const below = (y & 1) === 1;
    const r1 = below ? Math.min(r0 + 1, dh - 1) : Math.max(r0 - 1, 0);
    const bias = below ? 2 : 1;
    const o0 = r0 * dw;
    const o1 = r1 * dw;
    for (let x = 0; x < width; x++) {
      out[y * width + x] = (plane[o0 + x] * 3 + plane[o1 + x] + bias) >> 2;
    }
  }
  return out;
}

/** libjpeg's h2v2 fancy upsampling of one plane (triangle filter in both directions). */
function upsampleH2V2(
  plane: Uint8Array,
  dw: number,
  dh: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  const sums = new Int32Array(dw);
  const row = new Uint8Array(dw * 2);
  for (let y = 0; y < height; y++) {
    const r0 = y >> 1;
    const r1 = (y & 1) === 1 ? Math.min(r0 + 1, dh - 1) : Math.max(r0 - 1, 0);
    const o0 = r0 * dw;
    const o1 = r1 * dw;
    for (let c = 0; c < dw; c++) sums[c] = plane[o0 + c] * 3 + plane[o1 + c];
    row[0] = (sums[0] * 4 + 8) >> 4;
    row[1] = (sums[0] * 3 + sums[1] + 7) >> 4;
    for (let c = 1; c < dw - 1; c++) {
      const v = sums[c] * 3;
      row[2 * c] = (v + sums[c - 1] + 8) >> 4;
      row[2 * c + 1] = (v + sums[c + 1] + 7) >> 4;
    }
    const last = dw - 1;
    row[2 * last] = (sums[last] * 3 + sums[last - 1] + 8) >> 4;
    row[2 * last + 1] = (sums[last] * 4 + 7) >> 4;
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}

/** libjpeg's YCbCr → RGB tables (16-bit fixed point, as in jdcolor.c). */
function yccTables(): { crR: Int32Array; cbB: Int32Array; crG: Int32Array; cbG: Int32Array } {
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  const half = 1 << 15;
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (fix(1.402) * x + half) >> 16;
    cbB[i] = (fix(1.772) * x + half) >> 16;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + half;
  }
  return { crR, cbB, crG, cbG };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function decodeJpeg(
  bytes: Uint8Array,
  fail: (msg: string) => never,
  keepGray: boolean,
): DecodedImage {
  const header = parseJpegHeader(bytes, fail);
  const { width, height, components } = header;
  const n = components.length;
  const ownColor = n === 3;
  let input = bytes;
  if (ownColor && header.adobeTransform) {
    // jpeg-js converts colors itself whenever an Adobe marker asks for a transform, whatever
    // its options say: clear the flag in a copy so that it hands back the raw components.
    input = bytes.slice();
    for (const at of header.adobeTransformOffsets) input[at] = 0;
  }
  let raw: Uint8Array;
  try {
    const img = jpeg.decode(input, {
      useTArray: true,
      formatAsRGBA: false,
      ...(ownColor ? { colorTransform: false } : {}),
    });
    raw = img.data as Uint8Array;
    if (img.width !== width || img.height !== height) fail("inconsistent frame size");
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    return fail(`cannot decode JPEG data: ${(e as Error).message}`);
  }
  const pixels = width * height;
  if (raw.length !== pixels * 3) fail("decoder returned a wrong amount of data");
  if (n === 1) {
    const grey = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) grey[i] = raw[i * 3];
    return keepGray
      ? { width, height, channels: 1, data: grey }
      : { width, height, channels: 3, data: raw };
  }
  if (!ownColor) return { width, height, channels: 3, data: raw };

  // Rebuild each component plane at its own resolution, then upsample it as libjpeg does.
  const maxH = Math.max(...components.map((c) => c.h));
  const maxV = Math.max(...components.map((c) => c.v));
  const planes: Uint8Array[] = [];
  for (let ci = 0; ci < 3; ci++) {
    const { h, v } = components[ci];
    const rh = maxH / h;
    const rv = maxV / v;
    const fancy = (rh === 2 && rv === 1) || (rh === 1 && rv === 2) || (rh === 2 && rv === 2);
    const dw = Math.ceil((width * h) / maxH);
    const dh = Math.ceil((height * v) / maxV);
    if (fancy && (rh === 1 || dw > 2)) {
      const plane = new Uint8Array(dw * dh);
      for (let y = 0; y < dh; y++) {
        for (let x = 0; x < dw; x++) plane[y * dw + x] = raw[((y * rv) * width + x * rh) * 3 + ci];
      }
      const up = rh === 2 && rv === 2 ? upsampleH2V2 : rh === 2 ? upsampleH2V1 : upsampleH1V2;
      planes.push(up(plane, dw, dh, width, height));
    } else {
      // Same resolution or integer box replication: jpeg-js's output is already right.
      const full = new Uint8Array(pixels);
      for (let i = 0; i < pixels; i++) full[i] = raw[i * 3 + ci];
      planes.push(full);
    }
  }
  // libjpeg's guess of the color space: JFIF means YCbCr; else an Adobe marker's transform
  // code (0 = RGB, anything else YCbCr); else component ids 'R', 'G', 'B' mean RGB.
  const ids = components.map((c) => c.id);
  const isRgb = header.jfif
    ? false
    : header.adobeTransform !== undefined
    ? header.adobeTransform === 0
    : ids[0] === 82 && ids[1] === 71 && ids[2] === 66;
  const out = new Uint8Array(pixels * 3);
  const [p0, p1, p2] = planes;
  if (isRgb) {
    for (let i = 0; i < pixels; i++) {
      out[i * 3] = p0[i];
      out[i * 3 + 1] = p1[i];
      out[i * 3 + 2] = p2[i];
    }
  } else {
    const { crR, cbB, crG, cbG } = yccTables();
    for (let i = 0; i < pixels; i++) {
      const y = p0[i];
      const cb = p1[i];
      const cr = p2[i];
      out[i * 3] = clampByte(y + crR[cr]);
      out[i * 3 + 1] = clampByte(y + ((cbG[cb] + crG[cr]) >> 16));
      out[i * 3 + 2] = clampByte(y + cbB[cb]);
    }
  }
  return { width, height, channels: 3, data: out };
}

// ---------------------------------------------------------------------------------------------
// PNG

function decodePngImage(
  bytes: Uint8Array,
  fail: (msg: string) => never,
  keepGray: boolean,
): DecodedImage {
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (e) {
    return fail(`cannot decode PNG data: ${(e as Error).message}`);
  }
  const { width, height, depth, channels } = png;
  const pixels = width * height;
  const src = png.data;
  let values: Uint8Array; // one byte per sample, `channels` samples per pixel
  if (depth === 16) {
    values = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) values[i] = src[i] >> 8;
  } else if (depth < 8) {
    // Packed samples, rows padded to whole bytes: unpack and, for grey, stretch to 0..255.
    const perRow = Math.ceil((width * channels * depth) / 8);
    if (src.length < perRow * height) fail("truncated image data");
    const mask = (1 << depth) - 1;
    const stretch = png.palette ? 1 : 255 / mask;
    values = new Uint8Array(pixels * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width * channels; x++) {
        const bit = x * depth;
        const byte = src[y * perRow + (bit >> 3)];
        const v = (byte >> (8 - depth - (bit & 7))) & mask;
        values[y * width * channels + x] = v * stretch;
      }
    }
  } else {
    values = src instanceof Uint8Array ? src : Uint8Array.from(src);
  }
  if (values.length < pixels * channels) fail("truncated image data");
  if (png.palette) {
    const out = new Uint8Array(pixels * 3);
    for (let i = 0; i < pixels; i++) {
      const color = png.palette[values[i]] ?? [0, 0, 0];
      out[i * 3] = color[0];
      out[i * 3 + 1] = color[1];
      out[i * 3 + 2] = color[2];
    }
    return { width, height, channels: 3, data: out };
  }
  if (channels === 1 || channels === 2) {
    const grey = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) grey[i] = values[i * channels];
    if (keepGray) return { width, height, channels: 1, data: grey };
    const out = new Uint8Array(pixels * 3);
    for (let i = 0; i < pixels; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = grey[i];
    return { width, height, channels: 3, data: out };
  }
  if (channels === 3) return { width, height, channels: 3, data: values.subarray(0, pixels * 3) };
  if (channels === 4) return dropAlpha({ width, height, channels: 4, data: values });
  return fail(`unsupported channel count ${channels}`);
}

function dropAlpha(img: DecodedImage): DecodedImage {
  const { width, height, channels, data } = img;
  if (channels !== 2 && channels !== 4) return img;
  const keep = channels - 1;
  const pixels = width * height;
  const out = new Uint8Array(pixels * keep);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < keep; c++) out[i * keep + c] = data[i * channels + c];
  }
  return { width, height, channels: keep, data: out };
}

/**
 * Decodes a JPEG or PNG file (recognised by its signature) to 8-bit RGB. Alpha is dropped
 * (as Pillow's `convert("RGB")` does); grey images are replicated into RGB unless
 * `options.keepGray` asks for one channel; palette images are expanded; 16-bit samples keep
 * their high byte. `source` names the file in error messages.
 *
 * Throws {@link ModelFormatError} when the bytes are not a decodable JPEG or PNG.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./image.ts";
 * const img = decodeImage(Deno.readFileSync("dog.jpg"), "dog.jpg");
 * console.log(img.width, img.height, img.channels);
 * ```
 */
export function decodeImage(
  bytes: Uint8Array,
  source = "<bytes>",
  options?: DecodeImageOptions,
): DecodedImage {
  const fail = (msg: string): never => {
    throw new ModelFormatError(`Invalid image ${source}: ${msg}`, { source });
  };
  const keepGray = options?.keepGray ?? false;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return decodeJpeg(bytes, fail, keepGray);
  }
  const pngSig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && pngSig.every((b, i) => bytes[i] === b)) {
    return decodePngImage(bytes, fail, keepGray);
  }
  return fail("not a JPEG or PNG file (unknown signature)");
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

const PRECISION_BITS = 22;

/** Pillow's per-output-pixel bilinear (triangle) coefficients, in fixed point. */
function resampleCoefficients(
  inSize: number,
  outSize: number,
): { bounds: Int32Array; kernel: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kernel = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      weights[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? weights[x] / total : weights[x];
      kernel[xx * ksize + x] = w < 0
        ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kernel, ksize };
}

function clip8(v: number): number {
  const r = Math.floor(v / (1 << PRECISION_BITS));
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * Resizes an image to `width` × `height` with Pillow's bilinear filter, which antialiases
 * when downscaling (the triangle's support grows with the scale factor) and works in 8-bit
 * fixed point, horizontal pass first: the same bytes as `Image.resize(size, BILINEAR)`.
 *
 * @example
 * ```ts
 * import { resizeImage } from "./image.ts";
 * const small = resizeImage({ width: 4, height: 2, channels: 1, data: new Uint8Array(8) }, 2, 1);
 * ```
 */
export function resizeImage(img: DecodedImage, width: number, height: number): DecodedImage {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`Resize needs a positive integer size, got ${width}x${height}`);
  }
  const c = img.channels;
  let cur = img;
  const half = 1 << (PRECISION_BITS - 1);
  if (width !== cur.width) {
    const { bounds, kernel, ksize } = resampleCoefficients(cur.width, width);
    const out = new Uint8Array(width * cur.height * c);
    const src = cur.data;
    for (let y = 0; y < cur.height; y++) {
      const rowIn = y * cur.width * c;
      const rowOut = y * width * c;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2];
        const xmax = bounds[xx * 2 + 1];
        const k = xx * ksize;
        for (let ch = 0; ch < c; ch++) {
          let ss = half;
          for (let x = 0; x < xmax; x++) ss += src[rowIn + (x + xmin) * c + ch] * kernel[k + x];
          out[rowOut + xx * c + ch] = clip8(ss);
        }
      }
    }
    cur = { width, height: cur.height, channels: c, data: out };
  }
  if (height !== cur.height) {
    const { bounds, kernel, ksize } = resampleCoefficients(cur.height, height);
    const rowLen = cur.width * c;
    const out = new Uint8Array(rowLen * height);
    const src = cur.data;
    for (let yy = 0; yy < height; yy++) {
      const ymin = bounds[yy * 2];
      const ymax = bounds[yy * 2 + 1];
      const k = yy * ksize;
      for (let i = 0; i < rowLen; i++) {
        let ss = half;
        for (let y = 0; y < ymax; y++) ss += src[(y + ymin) * rowLen + i] * kernel[k + y];
        out[yy * rowLen + i] = clip8(ss);
      }
    }
    cur = { width: cur.width, height, channels: c, data: out };
  }
  return cur === img ? { ...img, data: img.data.slice() } : cur;
}

/** Python's `round` (halves go to the even neighbour). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Crops the `cropHeight` × `cropWidth` center of an image the way torchvision's
 * `CenterCrop` does: `top = round((height - cropHeight) / 2)` with Python's rounding, and
 * zero padding (split as torchvision splits it) when the crop is larger than the image.
 *
 * @example
 * ```ts
 * import { centerCropImage } from "./image.ts";
 * const img = { width: 3, height: 3, channels: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
 * centerCropImage(img, 1, 1).data; // Uint8Array [5]
 * ```
 */
export function centerCropImage(
  img: DecodedImage,
  cropHeight: number,
  cropWidth: number,
): DecodedImage {
  checkImage(img);
  if (
    !Number.isInteger(cropWidth) || !Number.isInteger(cropHeight) || cropWidth < 1 ||
    cropHeight < 1
  ) {
    throw new InputError(
      `Center crop needs a positive integer size, got ${cropHeight}x${cropWidth}`,
    );
  }
  const c = img.channels;
  // torchvision pads first: left/top get floor(excess / 2), right/bottom the rest.
  const padLeft = cropWidth > img.width ? Math.floor((cropWidth - img.width) / 2) : 0;
  const padTop = cropHeight > img.height ? Math.floor((cropHeight - img.height) / 2) : 0;
  const paddedW = Math.max(img.width, cropWidth);
  const paddedH = Math.max(img.height, cropHeight);
  const top = roundHalfEven((paddedH - cropHeight) / 2);
  const left = roundHalfEven((paddedW - cropWidth) / 2);
  const out = new Uint8Array(cropWidth * cropHeight * c);
  for (let y = 0; y < cropHeight; y++) {
    const sy = y + top - padTop;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < cropWidth; x++) {
      const sx = x + left - padLeft;
      if (sx < 0 || sx >= img.width) continue;
      for (let ch = 0; ch < c; ch++) {
        out[(y * cropWidth + x) * c + ch] = img.data[(sy * img.width + sx) * c + ch];
      }
    }
  }
  return { width: cropWidth, height: cropHeight, channels: c, data: out };
}

/**
 * Converts an RGB image to one grey channel with ITU-R 601-2 luma, rounded as Pillow's
 * `convert("L")` does: `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`. Grey images are
 * returned as they are; alpha is dropped first.
 *
 * @example
 * ```ts
 * import { toGrayscale } from "./image.ts";
 * toGrayscale({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) }).data; // [76]
 * ```
 */
export function toGrayscale(img: DecodedImage): DecodedImage {
  checkImage(img);
  const flat = dropAlpha(img);
  if (flat.channels === 1) return flat;
  const pixels = flat.width * flat.height;
  const out = new Uint8Array(pixels);
  const d = flat.data;
  for (let i = 0; i < pixels; i++) {
    out[i] = (d[i * 3] * 19595 + d[i * 3 + 1] * 38470 + d[i * 3 + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width: flat.width, height: flat.height, channels: 1, data: out };
}

function checkImage(img: DecodedImage): void {
  const { width, height, channels, data } = img;
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
    ![1, 2, 3, 4].includes(channels)
  ) {
    throw new InputError(
      `Invalid image: ${width}x${height} with ${channels} channels (expected 1 to 4)`,
    );
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels) {
    throw new InputError(
      `Invalid image: ${width}x${height}x${channels} needs ${
        width * height * channels
      } bytes, got ${data?.length}`,
    );
  }
}

/** Options of {@link preprocessImage}, applied in this order. */
export interface PreprocessOptions {
  /** Convert to one grey channel first (Pillow's `convert("L")`), for MNIST-style models. */
  grayscale?: boolean;
  /**
   * A number resizes the shorter side to it, keeping the aspect ratio (the longer side is
   * truncated, as torchvision's `Resize(int)` does); `[height, width]` resizes to exactly that.
   */
  resize?: number | [number, number];
  /** Center crop: a number for a square, or `[height, width]`. */
  centerCrop?: number | [number, number];
  /** Factor applied to the 0..255 pixel values; default 1/255 (torchvision's `ToTensor`). */
  scale?: number;
  /** Per-channel mean subtracted after scaling (torchvision's `Normalize`). */
  mean?: number[];
  /** Per-channel std divided by after subtracting the mean. */
  std?: number[];
  /** Output layout; default `NCHW`. */
  layout?: "NCHW" | "NHWC";
}

function pair(v: number | [number, number], what: string): [number, number] {
  const hw: [number, number] = typeof v === "number" ? [v, v] : v;
  if (
    !Array.isArray(hw) || hw.length !== 2 || !hw.every((x) => Number.isInteger(x) && x > 0)
  ) {
    throw new InputError(`${what} must be a positive integer or [height, width], got ${v}`);
  }
  return hw;
}

/**
 * Turns an image into a float32 tensor of batch 1, torchvision style: optional grayscale,
 * resize (Pillow bilinear), center crop, scale (default /255), per-channel mean/std
 * normalization, NCHW (default) or NHWC layout. Arithmetic after the 8-bit stages is done in
 * float32 as torch does, so the values match torchvision's bit for bit given the same pixels.
 *
 * @example
 * ```ts
 * import { decodeImage, preprocessImage } from "./image.ts";
 * const x = preprocessImage(decodeImage(Deno.readFileSync("dog.jpg")), {
 *   resize: 256,
 *   centerCrop: 224,
 *   mean: [0.485, 0.456, 0.406],
 *   std: [0.229, 0.224, 0.225],
 * }); // float32 [1, 3, 224, 224]
 * ```
 */
export function preprocessImage(img: DecodedImage, options: PreprocessOptions = {}): Tensor {
  checkImage(img);
  let cur = options.grayscale ? toGrayscale(img) : dropAlpha(img);
  if (options.resize !== undefined) {
    let w: number;
    let h: number;
    if (typeof options.resize === "number") {
      const size = options.resize;
      if (!Number.isInteger(size) || size < 1) {
        throw new InputError(`resize must be a positive integer or [height, width], got ${size}`);
      }
      const { width, height } = cur;
      if (width <= height) {
        w = size;
        h = Math.trunc((size * height) / width);
      } else {
        h = size;
        w = Math.trunc((size * width) / height);
      }
    } else {
      [h, w] = pair(options.resize, "resize");
    }
    cur = resizeImage(cur, w, h);
  }
  if (options.centerCrop !== undefined) {
    const [ch, cw] = pair(options.centerCrop, "centerCrop");
    cur = centerCropImage(cur, ch, cw);
  }
  const c = cur.channels;
  const scale = options.scale ?? 1 / 255;
  if (!Number.isFinite(scale)) throw new InputError(`scale must be a finite number, got ${scale}`);
  const fill = (v: number[] | undefined, what: string, dflt: number): number[] => {
    if (v === undefined) return new Array<number>(c).fill(dflt);
    if (v.length === 1) return new Array<number>(c).fill(v[0]);
    if (v.length !== c) {
      throw new InputError(`${what} has ${v.length} values but the image has ${c} channel(s)`);
    }
    return v;
  };
  const mean = fill(options.mean, "mean", 0).map(Math.fround);
  const std = fill(options.std, "std", 1).map(Math.fround);
  if (std.some((s) => s === 0)) throw new InputError("std must not contain zero");
  const normalize = options.mean !== undefined || options.std !== undefined;
  // ToTensor divides by 255 in float32; other factors multiply.
  const divisor = 1 / scale;
  const byDivision = Number.isInteger(divisor);
  const lut = new Float32Array(256 * c);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < 256; p++) {
      let v = Math.fround(byDivision ? p / divisor : p * scale);
      if (normalize) v = Math.fround(Math.fround(v - mean[ch]) / std[ch]);
      lut[ch * 256 + p] = v;
    }
  }
  const { width, height, data } = cur;
  const pixels = width * height;
  const out = new Float32Array(pixels * c);
  const layout = options.layout ?? "NCHW";
  if (layout === "NHWC") {
    for (let i = 0; i < pixels; i++) {
      for (let ch = 0; ch < c; ch++) out[i * c + ch] = lut[ch * 256 + data[i * c + ch]];
    }
    return new Tensor("float32", out, [1, height, width, c]);
  }
  if (layout !== "NCHW") throw new InputError(`layout must be NCHW or NHWC, got ${layout}`);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * pixels;
    for (let i = 0; i < pixels; i++) out[base + i] = lut[ch * 256 + data[i * c + ch]];
  }
  return new Tensor("float32", out, [1, c, height, width]);
}
