/**
 * ImageDecoder (opset 20): decodes an encoded image (1-D uint8 tensor) to an [H, W, C] uint8
 * tensor, C = 3 for RGB/BGR and 1 for Grayscale. JPEG uses `jpeg.ts`, which reproduces
 * libjpeg-turbo's default output (what Pillow, used to make the ONNX test data, and OpenCV
 * return); kinds it lacks (CMYK, arithmetic coding) fall back to npm:jpeg-js, which may
 * differ by a few units. PNG goes through npm:fast-png; BMP (uncompressed 1/4/8/16/24/32
 * bits), PNM (P1-P6) and baseline TIFF (uncompressed or PackBits, 8-bit gray/RGB/palette)
 * are decoded here.
 * JPEG 2000 and WebP are not supported. Alpha channels are dropped. Grayscale uses the
 * ITU-R 601 luma weights with the fixed-point rounding of Pillow's `convert("L")`.
 *
 * @module
 */

import jpeg from "npm:jpeg-js@0.4.4";
import { convertIndexedToRgb, decode as decodePng } from "npm:fast-png@8.0.0";
import { Tensor } from "../pipeline/tensor/tensor.ts";
import type { ValueType } from "../pipeline/tensor/value_type.ts";
import type { OpContext, OpDef } from "./types.ts";
import { tensorAt } from "./util.ts";
import { decodeJpeg, JpegFormatError, JpegUnsupportedError } from "./jpeg.ts";

/** A decoded image: interleaved 8-bit RGB. */
interface Rgb {
  width: number;
  height: number;
  data: Uint8Array;
}

class DecodeError extends Error {}

function fail(msg: string): never {
  throw new DecodeError(msg);
}

// ------------------------------------------------------------------------------------------
// Format detection and decoders.
// ------------------------------------------------------------------------------------------

type Format = "jpeg" | "png" | "bmp" | "pnm" | "tiff" | "webp" | "jpeg2000" | "gif" | "unknown";

function detect(b: Uint8Array): Format {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  if (at(0, 0xff, 0xd8, 0xff)) return "jpeg";
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (at(0, 0x42, 0x4d)) return "bmp";
  if (b[0] === 0x50 && b[1] >= 0x31 && b[1] <= 0x36) return "pnm";
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "webp";
  if (at(4, 0x6a, 0x50, 0x20, 0x20) || at(0, 0xff, 0x4f, 0xff, 0x51)) return "jpeg2000";
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return "gif";
  return "unknown";
}

function fromJpeg(bytes: Uint8Array): Rgb {
  try {
    return decodeJpeg(bytes);
  } catch (e) {
    if (e instanceof JpegFormatError) fail(e.message);
    if (!(e instanceof JpegUnsupportedError)) throw e;
  }
  // Files jpeg.ts does not handle (CMYK, ...): jpeg-js, whose IDCT and upsampling differ from
  // libjpeg's, so pixels may differ from Pillow's by a few units.
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false });
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[3 * i] = img.data[4 * i];
    out[3 * i + 1] = img.data[4 * i + 1];
    out[3 * i + 2] = img.data[4 * i + 2];
  }
  return { width: img.width, height: img.height, data: out };
}

function fromPng(bytes: Uint8Array): Rgb {
  const png = decodePng(bytes);
  const { width, height } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const ch = png.palette[0]?.length ?? 3;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) out[3 * i + c] = rgb[ch * i + c];
    }
    return { width, height, data: out };
  }
  const ch = png.channels;
  const depth = png.depth;
  const src = png.data;
  // Samples to 8 bits: 16-bit keeps the high byte; 1/2/4-bit gray is unpacked and scaled.
  const sample = (i: number): number => {
    if (depth === 8) return src[i];
    if (depth === 16) return src[i] >> 8;
    const perByte = 8 / depth;
    const rowBytes = Math.ceil((width * ch * depth) / 8);
    const row = Math.floor(i / (width * ch));
    const col = i % (width * ch);
    const byte = src[row * rowBytes + Math.floor(col / perByte)];
    const shift = 8 - depth * (1 + (col % perByte));
    const v = (byte >> shift) & ((1 << depth) - 1);
    return Math.round((v * 255) / ((1 << depth) - 1));
  };
  for (let i = 0; i < n; i++) {
    if (ch >= 3) {
      for (let c = 0; c < 3; c++) out[3 * i + c] = sample(ch * i + c);
    } else {
      const g = sample(ch * i);
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = g;
    }
  }
  return { width, height, data: out };
}

function fromBmp(b: Uint8Array): Rgb {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 26) fail("truncated BMP header");
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  let width: number, height: number, bpp: number, compression = 0, colors = 0;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else {
    if (b.length < 54) fail("truncated BMP header");
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colors = dv.getUint32(46, true);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height === 0) fail(`bad BMP size ${width}x${height}`);
  if (compression !== 0 && !(compression === 3 && (bpp === 32 || bpp === 16))) {
    fail(`BMP compression ${compression} is not supported`);
  }
  let masks: number[] | undefined;
  if (compression === 3) {
    const mOff = headerSize >= 52 ? 54 : 14 + headerSize;
    masks = [dv.getUint32(mOff, true), dv.getUint32(mOff + 4, true), dv.getUint32(mOff + 8, true)];
  }
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const count = colors || 1 << bpp;
    const entry = headerSize === 12 ? 3 : 4;
    palette = new Uint8Array(count * 3);
    const pOff = 14 + headerSize;
    for (let i = 0; i < count; i++) {
      palette[3 * i] = b[pOff + entry * i + 2];
      palette[3 * i + 1] = b[pOff + entry * i + 1];
      palette[3 * i + 2] = b[pOff + entry * i];
    }
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > b.length) fail("truncated BMP pixel data");
  const out = new Uint8Array(width * height * 3);
  const field = (v: number, mask: number): number => {
    if (mask === 0) return 0;
    let shift = 0;
    while (((mask >>> shift) & 1) === 0) shift++;
    const max = mask >>> shift;
    return Math.round((((v & mask) >>> shift) * 255) / max);
  };
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      if (bpp === 24 || (bpp === 32 && !masks)) {
        const p = row + x * (bpp / 8);
        out[o] = b[p + 2];
        out[o + 1] = b[p + 1];
        out[o + 2] = b[p];
      } else if (bpp === 32 || bpp === 16) {
        const v = bpp === 32 ? dv.getUint32(row + 4 * x, true) : dv.getUint16(row + 2 * x, true);
        const m = masks ?? [0x7c00, 0x03e0, 0x001f];
        out[o] = field(v, m[0]);
        out[o + 1] = field(v, m[1]);
        out[o + 2] = field(v, m[2]);
      } else if (palette && (bpp === 8 || bpp === 4 || bpp === 1)) {
        const bit = x * bpp;
        const idx = (b[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[3 * idx];
        out[o + 1] = palette[3 * idx + 1];
        out[o + 2] = palette[3 * idx + 2];
      } else {
        fail(`BMP with ${bpp} bits per pixel is not supported`);
      }
    }
  }
  return { width, height, data: out };
}

function fromPnm(b: Uint8Array): Rgb {
  const kind = b[1] - 0x30;
  let pos = 2;
  const token = (): number => {
    while (pos < b.length) {
      const c = b[pos];
      if (c === 0x23) {
        while (pos < b.length && b[pos] !== 0x0a && b[pos] !== 0x0d) pos++;
      } else if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) pos++;
      else break;
    }
    let s = "";
    while (pos < b.length && b[pos] >= 0x30 && b[pos] <= 0x39) s += String.fromCharCode(b[pos++]);
    if (s === "") fail("malformed PNM header");
    return Number(s);
  };
  const width = token();
  const height = token();
  const maxval = kind === 1 || kind === 4 ? 1 : token();
  if (maxval < 1 || maxval > 65535) fail(`bad PNM maxval ${maxval}`);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const n = width * height;
  const values = new Float64Array(n * channels);
  if (kind <= 3) {
    for (let i = 0; i < values.length; i++) values[i] = token();
  } else if (kind === 4) {
    pos++;
    const rowBytes = Math.ceil(width / 8);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        values[y * width + x] = (b[pos + y * rowBytes + (x >> 3)] >> (7 - (x & 7))) & 1;
      }
    }
  } else {
    pos++; // single whitespace after the header
    const wide = maxval > 255;
    if (pos + values.length * (wide ? 2 : 1) > b.length) fail("truncated PNM pixel data");
    for (let i = 0; i < values.length; i++) {
      values[i] = wide ? (b[pos + 2 * i] << 8) | b[pos + 2 * i + 1] : b[pos + i];
    }
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = values[channels === 3 ? 3 * i + c : i];
      // PBM: 1 is black.
      if (kind === 1 || kind === 4) v = v ? 0 : 255;
      else if (maxval !== 255) v = Math.round((v * 255) / maxval);
      out[3 * i + c] = v;
    }
  }
  return { width, height, data: out };
}

function fromTiff(b: Uint8Array): Rgb {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = b[0] === 0x49;
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const ifd = u32(4);
  const count = u16(ifd);
  const tags = new Map<number, number[]>();
  const sizes: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4 };
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    const tag = u16(e);
    const type = u16(e + 2);
    const n = u32(e + 4);
    const size = (sizes[type] ?? 1) * n;
    const off = size <= 4 ? e + 8 : u32(e + 8);
    const vals: number[] = [];
    for (let k = 0; k < Math.min(n, 1 << 20); k++) {
      if (type === 3 || type === 8) vals.push(u16(off + 2 * k));
      else if (type === 4 || type === 9) vals.push(u32(off + 4 * k));
      else vals.push(b[off + k]);
    }
    tags.set(tag, vals);
  }
  const one = (tag: number, dflt?: number): number => {
    const v = tags.get(tag)?.[0] ?? dflt;
    if (v === undefined) fail(`TIFF tag ${tag} is missing`);
    return v;
  };
  const width = one(256);
  const height = one(257);
  const bits = tags.get(258) ?? [1];
  const compression = one(259, 1);
  const photometric = one(262);
  const spp = one(277, 1);
  const planar = one(284, 1);
  const rowsPerStrip = one(278, height);
  const offsets = tags.get(273) ?? fail("TIFF has no strip offsets");
  const counts = tags.get(279) ?? fail("TIFF has no strip byte counts");
  if (bits.some((x) => x !== 8)) fail(`TIFF with ${bits[0]} bits per sample is not supported`);
  if (planar !== 1) fail("planar TIFF is not supported");
  if (compression !== 1 && compression !== 32773) {
    fail(`TIFF compression ${compression} is not supported`);
  }
  // Concatenate (and unpack) the strips.
  const rowBytes = width * spp;
  const raw = new Uint8Array(rowBytes * height);
  let w = 0;
  for (let s = 0; s < offsets.length && w < raw.length; s++) {
    const strip = b.subarray(offsets[s], offsets[s] + counts[s]);
    const want = Math.min(rowsPerStrip * rowBytes, raw.length - w);
    if (compression === 1) {
      raw.set(strip.subarray(0, want), w);
      w += Math.min(want, strip.length);
    } else {
      let p = 0;
      const end = w + want;
      while (p < strip.length && w < end) {
        const h = (strip[p++] << 24) >> 24;
        if (h >= 0) {
          for (let k = 0; k <= h && w < end; k++) raw[w++] = strip[p++];
        } else if (h !== -128) {
          const v = strip[p++];
          for (let k = 0; k < 1 - h && w < end; k++) raw[w++] = v;
        }
      }
    }
  }
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const palette = tags.get(320);
  for (let i = 0; i < n; i++) {
    if (photometric === 2 && spp >= 3) {
      out[3 * i] = raw[spp * i];
      out[3 * i + 1] = raw[spp * i + 1];
      out[3 * i + 2] = raw[spp * i + 2];
    } else if ((photometric === 0 || photometric === 1) && spp >= 1) {
      const g = photometric === 0 ? 255 - raw[spp * i] : raw[spp * i];
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = g;
    } else if (photometric === 3 && palette && spp === 1) {
      const idx = raw[i];
      const third = palette.length / 3;
      for (let c = 0; c < 3; c++) out[3 * i + c] = palette[c * third + idx] >> 8;
    } else {
      fail(`TIFF photometric interpretation ${photometric} with ${spp} samples is not supported`);
    }
  }
  return { width, height, data: out };
}

// ------------------------------------------------------------------------------------------
// The kernel.
// ------------------------------------------------------------------------------------------

function decodeImage(ctx: OpContext, bytes: Uint8Array): Rgb {
  const format = detect(bytes);
  try {
    switch (format) {
      case "jpeg":
        return fromJpeg(bytes);
      case "png":
        return fromPng(bytes);
      case "bmp":
        return fromBmp(bytes);
      case "pnm":
        return fromPnm(bytes);
      case "tiff":
        return fromTiff(bytes);
      case "unknown":
        throw ctx.fail("the encoded stream is not a recognized image format");
      default:
        throw ctx.unsupported(`decoding ${format} images is not supported`);
    }
  } catch (e) {
    if (e instanceof DecodeError || !(e instanceof Error) || e.constructor === Error) {
      throw ctx.fail(
        `cannot decode the ${format} image: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    throw e;
  }
}

const imageDecoder: OpDef["cpu"] = (ctx, inputs) => {
  const x = tensorAt(ctx, inputs, 0);
  if (x.type !== "uint8") throw ctx.fail(`encoded_stream must be uint8, got ${x.type}`);
  if (x.dims.length !== 1) throw ctx.fail(`encoded_stream must be 1-D, got [${x.dims}]`);
  const format = ctx.attrs.string("pixel_format", "RGB");
  if (format !== "RGB" && format !== "BGR" && format !== "Grayscale") {
    throw ctx.fail(`pixel_format must be RGB, BGR or Grayscale, got "${format}"`);
  }
  const img = decodeImage(ctx, x.data as Uint8Array);
  const n = img.width * img.height;
  const src = img.data;
  if (format === "RGB") return [new Tensor("uint8", src, [img.height, img.width, 3])];
  if (format === "BGR") {
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      out[3 * i] = src[3 * i + 2];
      out[3 * i + 1] = src[3 * i + 1];
      out[3 * i + 2] = src[3 * i];
    }
    return [new Tensor("uint8", out, [img.height, img.width, 3])];
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // ITU-R 601-2 luma in 16-bit fixed point with rounding, as Pillow's RGB → L conversion.
    out[i] = (src[3 * i] * 19595 + src[3 * i + 1] * 38470 + src[3 * i + 2] * 7471 + 0x8000) >>>
      16;
  }
  return [new Tensor("uint8", out, [img.height, img.width, 1])];
};

/** ImageDecoder. */
export const ops: OpDef[] = [
  {
    domain: "",
    opType: "ImageDecoder",
    versions: [20],
    cpu: imageDecoder,
    hostInputs: [0],
    infer: (ctx): (ValueType | undefined)[] => {
      const f = ctx.attrs.string("pixel_format", "RGB");
      return [{
        kind: "tensor",
        elemType: "uint8",
        shape: [undefined, undefined, f === "Grayscale" ? 1 : 3],
      }];
    },
  },
];
