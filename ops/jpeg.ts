/**
 * A JPEG decoder (baseline and progressive, Huffman-coded, 8-bit, gray or 3-component) whose
 * output matches libjpeg / libjpeg-turbo with their default settings (what Pillow and OpenCV
 * use): the "islow" integer inverse DCT, "fancy" (triangle-filter) chroma upsampling and
 * libjpeg's fixed-point YCbCr → RGB tables. Written from the published algorithms (ITU T.81
 * and the IJG documentation). Arithmetic-coded, lossless, 12-bit and CMYK files throw
 * {@link JpegUnsupportedError} so that the caller can fall back to another decoder.
 *
 * @module
 */

/** The file uses a JPEG feature this decoder does not implement (arithmetic coding, CMYK...). */
export class JpegUnsupportedError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "JpegUnsupportedError";
  }
}

/** The file is corrupt or truncated. */
export class JpegFormatError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "JpegFormatError";
  }
}

/** A decoded image as interleaved 8-bit RGB. */
export interface JpegRgb {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width * height * 3 bytes, row-major RGB. */
  data: Uint8Array;
}

/** Zigzag position → natural (row-major) coefficient index. */
const NATURAL = Uint8Array.from([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
]);

interface Huffman {
  maxcode: Int32Array; // index 1..17
  valoffset: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks per row / column as allocated (covering whole MCUs). */
  bw: number;
  bh: number;
  /** Blocks per row / column that hold image data (non-interleaved scans). */
  bwUsed: number;
  bhUsed: number;
  /** Size of the downsampled component in samples. */
  width: number;
  height: number;
  coefs: Int32Array;
  dcTable: number;
  acTable: number;
  pred: number;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    if (n > 0) {
      valoffset[l] = k - code;
      code += n;
      k += n;
      maxcode[l] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valoffset, values };
}

/** Bit reader over entropy-coded data with byte stuffing; yields zeros past a marker. */
class BitReader {
  #b: Uint8Array;
  pos: number;
  #acc = 0;
  #bits = 0;
  marker = -1;
  constructor(b: Uint8Array, pos: number) {
    this.#b = b;
    this.pos = pos;
  }
  #fill(): void {
    while (this.#bits <= 24) {
      let byte = 0;
      if (this.marker < 0 && this.pos < this.#b.length) {
        byte = this.#b[this.pos];
        if (byte === 0xff) {
          let next = this.#b[this.pos + 1];
          // Fill bytes (0xFF 0xFF ...) may precede a marker.
          let p = this.pos + 1;
          while (next === 0xff) next = this.#b[++p];
          if (next === 0) {
            this.pos += 2;
          } else {
            this.marker = next ?? 0xd9;
            this.pos = p - 1;
            byte = 0;
          }
        } else {
          this.pos++;
        }
      }
      this.#acc = ((this.#acc << 8) | byte) >>> 0;
      this.#bits += 8;
    }
  }
  bit(): number {
    if (this.#bits === 0) this.#fill();
    this.#bits--;
    return (this.#acc >>> this.#bits) & 1;
  }
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.#bits < n) this.#fill();
    this.#bits -= n;
    return (this.#acc >>> this.#bits) & ((1 << n) - 1);
  }
  decode(t: Huffman): number {
    let code = this.bit();
    let l = 1;
    while (code > t.maxcode[l]) {
      code = (code << 1) | this.bit();
      l++;
      if (l > 16) throw new JpegFormatError("corrupt Huffman code");
    }
    return t.values[t.valoffset[l] + code];
  }
  /** Skips to the byte after the next RSTn marker and resets the bit buffer. */
  restart(): void {
    this.#acc = 0;
    this.#bits = 0;
    if (this.marker < 0) {
      // Find the marker in the byte stream.
      while (this.pos + 1 < this.#b.length) {
        if (
          this.#b[this.pos] === 0xff && this.#b[this.pos + 1] !== 0 &&
          this.#b[this.pos + 1] !== 0xff
        ) {
          break;
        }
        this.pos++;
      }
      this.marker = this.#b[this.pos + 1] ?? 0xd9;
    }
    if (this.marker >= 0xd0 && this.marker <= 0xd7) this.pos += 2;
    this.marker = -1;
  }
}

function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

// Fixed-point constants of the islow IDCT (CONST_BITS = 13).
const F0_298631336 = 2446;
const F0_390180644 = 3196;
const F0_541196100 = 4433;
const F0_765366865 = 6270;
const F0_899976223 = 7373;
const F1_175875602 = 9633;
const F1_501321110 = 12299;
const F1_847759065 = 15137;
const F1_961570560 = 16069;
const F2_053119869 = 16819;
const F2_562915447 = 20995;
const F3_072711026 = 25172;

/** Arithmetic right shift with rounding (libjpeg's DESCALE), exact for |x| < 2^53. */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/**
 * The islow inverse DCT of one block: `coef` (natural order, quantized) times `q`, written
 * as 8x8 samples into `out` at `off` with row stride `stride`.
 */
function idctIslow(
  coef: Int32Array,
  cOff: number,
  q: Int32Array,
  out: Uint8Array,
  off: number,
  stride: number,
  ws: Float64Array,
): void {
  // Pass 1: columns → work array (scaled up by 2^PASS1_BITS = 4).
  for (let c = 0; c < 8; c++) {
    const i = cOff + c;
    if (
      coef[i + 8] === 0 && coef[i + 16] === 0 && coef[i + 24] === 0 && coef[i + 32] === 0 &&
      coef[i + 40] === 0 && coef[i + 48] === 0 && coef[i + 56] === 0
    ) {
      const dc = coef[i] * q[c] * 4;
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let z2 = coef[i + 16] * q[c + 16];
    let z3 = coef[i + 48] * q[c + 48];
    let z1 = (z2 + z3) * F0_541196100;
    let tmp2 = z1 - z3 * F1_847759065;
    let tmp3 = z1 + z2 * F0_765366865;
    z2 = coef[i] * q[c];
    z3 = coef[i + 32] * q[c + 32];
    let tmp0 = (z2 + z3) * 8192;
    let tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = coef[i + 56] * q[c + 56];
    tmp1 = coef[i + 40] * q[c + 40];
    tmp2 = coef[i + 24] * q[c + 24];
    tmp3 = coef[i + 8] * q[c + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175875602;
    tmp0 *= F0_298631336;
    tmp1 *= F2_053119869;
    tmp2 *= F3_072711026;
    tmp3 *= F1_501321110;
    z1 *= -F0_899976223;
    z2 *= -F2_562915447;
    z3 = z3 * -F1_961570560 + z5;
    z4 = z4 * -F0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[c] = descale(tmp10 + tmp3, 11);
    ws[56 + c] = descale(tmp10 - tmp3, 11);
    ws[8 + c] = descale(tmp11 + tmp2, 11);
    ws[48 + c] = descale(tmp11 - tmp2, 11);
    ws[16 + c] = descale(tmp12 + tmp1, 11);
    ws[40 + c] = descale(tmp12 - tmp1, 11);
    ws[24 + c] = descale(tmp13 + tmp0, 11);
    ws[32 + c] = descale(tmp13 - tmp0, 11);
  }
  // Pass 2: rows → samples (descale by 2^(CONST_BITS + PASS1_BITS + 3) = 2^18), +128, clamp
  // through libjpeg's 10-bit range-limit wraparound.
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = off + r * stride;
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = (z2 + z3) * F0_541196100;
    let tmp2 = z1 - z3 * F1_847759065;
    let tmp3 = z1 + z2 * F0_765366865;
    let tmp0 = (ws[w] + ws[w + 4]) * 8192;
    let tmp1 = (ws[w] - ws[w + 4]) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175875602;
    tmp0 *= F0_298631336;
    tmp1 *= F2_053119869;
    tmp2 *= F3_072711026;
    tmp3 *= F1_501321110;
    z1 *= -F0_899976223;
    z2 *= -F2_562915447;
    z3 = z3 * -F1_961570560 + z5;
    z4 = z4 * -F0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = limit(descale(tmp10 + tmp3, 18));
    out[o + 7] = limit(descale(tmp10 - tmp3, 18));
    out[o + 1] = limit(descale(tmp11 + tmp2, 18));
    out[o + 6] = limit(descale(tmp11 - tmp2, 18));
    out[o + 2] = limit(descale(tmp12 + tmp1, 18));
    out[o + 5] = limit(descale(tmp12 - tmp1, 18));
    out[o + 3] = limit(descale(tmp13 + tmp0, 18));
    out[o + 4] = limit(descale(tmp13 - tmp0, 18));
  }
}

/** libjpeg's IDCT range limit: the value masked to 10 bits (signed), +128, clamped. */
function limit(x: number): number {
  const v = (((x & 1023) ^ 512) - 512) + 128;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// ------------------------------------------------------------------------------------------
// Upsampling (libjpeg "fancy" filters) and color conversion.
// ------------------------------------------------------------------------------------------

/** Upsamples a component plane (`cw` x `ch`, row stride `stride`) by integer factors. */
function upsample(
  plane: Uint8Array,
  stride: number,
  cw: number,
  ch: number,
  hf: number,
  vf: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height);
  const row = (r: number) => (r < 0 ? 0 : r >= ch ? ch - 1 : r) * stride;
  const put = (y: number, x: number, v: number) => {
    if (y < height && x < width) out[y * width + x] = v;
  };
  if (hf === 2 && vf === 2 && cw > 2) {
    for (let r = 0; r < ch; r++) {
      for (let v = 0; v < 2; v++) {
        const p0 = row(r);
        const p1 = row(v === 0 ? r - 1 : r + 1);
        const y = 2 * r + v;
        if (y >= height) break;
        let thiscol = plane[p0] * 3 + plane[p1];
        let nextcol = plane[p0 + 1] * 3 + plane[p1 + 1];
        put(y, 0, (thiscol * 4 + 8) >> 4);
        put(y, 1, (thiscol * 3 + nextcol + 7) >> 4);
        let lastcol = thiscol;
        thiscol = nextcol;
        for (let c = 2; c < cw; c++) {
          nextcol = plane[p0 + c] * 3 + plane[p1 + c];
          put(y, 2 * c - 2, (thiscol * 3 + lastcol + 8) >> 4);
          put(y, 2 * c - 1, (thiscol * 3 + nextcol + 7) >> 4);
          lastcol = thiscol;
          thiscol = nextcol;
        }
        put(y, 2 * cw - 2, (thiscol * 3 + lastcol + 8) >> 4);
        put(y, 2 * cw - 1, (thiscol * 4 + 7) >> 4);
      }
    }
    return out;
  }
  if (hf === 2 && vf === 1 && cw > 2) {
    for (let r = 0; r < Math.min(ch, height); r++) {
      const p = row(r);
      let v = plane[p];
      put(r, 0, v);
      put(r, 1, (v * 3 + plane[p + 1] + 2) >> 2);
      for (let c = 1; c < cw - 1; c++) {
        v = plane[p + c] * 3;
        put(r, 2 * c, (v + plane[p + c - 1] + 1) >> 2);
        put(r, 2 * c + 1, (v + plane[p + c + 1] + 2) >> 2);
      }
      v = plane[p + cw - 1];
      put(r, 2 * cw - 2, (v * 3 + plane[p + cw - 2] + 1) >> 2);
      put(r, 2 * cw - 1, v);
    }
    return out;
  }
  if (hf === 1 && vf === 2) {
    for (let r = 0; r < ch; r++) {
      for (let v = 0; v < 2; v++) {
        const y = 2 * r + v;
        if (y >= height) break;
        const p0 = row(r);
        const p1 = row(v === 0 ? r - 1 : r + 1);
        const bias = v === 0 ? 1 : 2;
        for (let c = 0; c < Math.min(cw, width); c++) {
          put(y, c, (plane[p0 + c] * 3 + plane[p1 + c] + bias) >> 2);
        }
      }
    }
    return out;
  }
  // Full size, or plain replication (libjpeg's choice for other integer ratios and for
  // components two samples wide or less).
  for (let y = 0; y < height; y++) {
    const p = row(Math.floor(y / vf));
    for (let x = 0; x < width; x++) out[y * width + x] = plane[p + Math.floor(x / hf)];
  }
  return out;
}

const SCALE = 65536;
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Float64Array(256);
const CB_G = new Float64Array(256);
let tablesReady = false;

function buildColorTables(): void {
  if (tablesReady) return;
  const fix = (x: number) => Math.floor(x * SCALE + 0.5);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    CR_R[i] = Math.floor((fix(1.402) * x + SCALE / 2) / SCALE);
    CB_B[i] = Math.floor((fix(1.772) * x + SCALE / 2) / SCALE);
    CR_G[i] = -fix(0.71414) * x;
    CB_G[i] = -fix(0.34414) * x + SCALE / 2;
  }
  tablesReady = true;
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// ------------------------------------------------------------------------------------------
// The decoder.
// ------------------------------------------------------------------------------------------

/** Decodes a JPEG to RGB; throws {@link JpegUnsupportedError} for kinds it does not handle. */
export function decodeJpeg(b: Uint8Array): JpegRgb {
  const u16 = (p: number) => {
    if (p + 1 >= b.length) throw new JpegFormatError("truncated JPEG");
    return (b[p] << 8) | b[p + 1];
  };
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new JpegFormatError("missing SOI marker");
  const qt: Int32Array[] = [];
  const dc: Huffman[] = [];
  const ac: Huffman[] = [];
  let comps: Component[] = [];
  let width = 0;
  let height = 0;
  let hmax = 1;
  let vmax = 1;
  let restartInterval = 0;
  let jfif = false;
  let adobe = -1;
  let pos = 2;
  let frameSeen = false;
  let progressive = false;
  while (pos < b.length) {
    if (b[pos] !== 0xff) {
      pos++;
      continue;
    }
    const m = b[pos + 1];
    pos += 2;
    if (m === 0xff || m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      if (m === 0xff) pos--;
      continue;
    }
    if (m === 0xd9) break;
    const len = u16(pos);
    const seg = pos + 2;
    const end = pos + len;
    if (end > b.length) throw new JpegFormatError("truncated JPEG segment");
    switch (m) {
      case 0xdb: {
        let p = seg;
        while (p < end) {
          const pq = b[p] >> 4;
          const tq = b[p] & 15;
          p++;
          const table = new Int32Array(64);
          for (let k = 0; k < 64; k++) {
            table[NATURAL[k]] = pq ? u16(p + 2 * k) : b[p + k];
          }
          p += pq ? 128 : 64;
          qt[tq] = table;
        }
        break;
      }
      case 0xc4: {
        let p = seg;
        while (p < end) {
          const tc = b[p] >> 4;
          const th = b[p] & 15;
          const counts = b.subarray(p + 1, p + 17);
          let total = 0;
          for (const c of counts) total += c;
          const values = b.slice(p + 17, p + 17 + total);
          (tc === 0 ? dc : ac)[th] = buildHuffman(counts, values);
          p += 17 + total;
        }
        break;
      }
      case 0xdd:
        restartInterval = u16(seg);
        break;
      case 0xe0:
        if (b[seg] === 0x4a && b[seg + 1] === 0x46 && b[seg + 2] === 0x49 && b[seg + 3] === 0x46) {
          jfif = true;
        }
        break;
      case 0xee:
        if (b[seg] === 0x41 && b[seg + 1] === 0x64 && b[seg + 2] === 0x6f && b[seg + 3] === 0x62) {
          adobe = b[seg + 11];
        }
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (b[seg] !== 8) throw new JpegUnsupportedError(`${b[seg]}-bit samples`);
        height = u16(seg + 1);
        width = u16(seg + 3);
        const n = b[seg + 5];
        if (width === 0 || height === 0) throw new JpegUnsupportedError("height from DNL");
        if (n !== 1 && n !== 3) throw new JpegUnsupportedError(`${n} components`);
        comps = [];
        for (let i = 0; i < n; i++) {
          const p = seg + 6 + 3 * i;
          const h = b[p + 1] >> 4;
          const v = b[p + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4) throw new JpegFormatError("bad sampling factor");
          comps.push({
            id: b[p],
            h,
            v,
            tq: b[p + 2],
            bw: 0,
            bh: 0,
            bwUsed: 0,
            bhUsed: 0,
            width: 0,
            height: 0,
            coefs: new Int32Array(0),
            dcTable: 0,
            acTable: 0,
            pred: 0,
          });
        }
        hmax = Math.max(...comps.map((c) => c.h));
        vmax = Math.max(...comps.map((c) => c.v));
        const mcusX = Math.ceil(width / (8 * hmax));
        const mcusY = Math.ceil(height / (8 * vmax));
        for (const c of comps) {
          c.width = Math.ceil((width * c.h) / hmax);
          c.height = Math.ceil((height * c.v) / vmax);
          c.bwUsed = Math.ceil(c.width / 8);
          c.bhUsed = Math.ceil(c.height / 8);
          c.bw = mcusX * c.h;
          c.bh = mcusY * c.v;
          c.coefs = new Int32Array(c.bw * c.bh * 64);
        }
        frameSeen = true;
        progressive = m === 0xc2;
        break;
      }
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw new JpegUnsupportedError(`frame type SOF${m - 0xc0}`);
      case 0xda: {
        if (!frameSeen) throw new JpegFormatError("scan before frame header");
        const ns = b[seg];
        const scomps: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const id = b[seg + 1 + 2 * i];
          const c = comps.find((x) => x.id === id);
          if (!c) throw new JpegFormatError(`scan names unknown component ${id}`);
          c.dcTable = b[seg + 2 + 2 * i] >> 4;
          c.acTable = b[seg + 2 + 2 * i] & 15;
          c.pred = 0;
          scomps.push(c);
        }
        const spectral = {
          ss: b[seg + 1 + 2 * ns],
          se: b[seg + 2 + 2 * ns],
          ah: b[seg + 3 + 2 * ns] >> 4,
          al: b[seg + 3 + 2 * ns] & 15,
          progressive,
        };
        if (!progressive) {
          spectral.ss = 0;
          spectral.se = 63;
          spectral.ah = 0;
          spectral.al = 0;
        } else if (
          spectral.se > 63 || spectral.ss > spectral.se ||
          (spectral.ss === 0 && spectral.se !== 0) ||
          (spectral.ss > 0 && ns !== 1)
        ) {
          throw new JpegFormatError("bad progressive scan parameters");
        }
        pos = decodeScan(
          b,
          end,
          scomps,
          dc,
          ac,
          restartInterval,
          hmax,
          vmax,
          width,
          height,
          spectral,
        );
        continue;
      }
      default:
        break;
    }
    pos = end;
  }
  if (!frameSeen) throw new JpegFormatError("no frame header");
  // Inverse DCT into planes, then upsample and convert.
  const ws = new Float64Array(64);
  const planes = comps.map((c) => {
    const q = qt[c.tq];
    if (!q) throw new JpegFormatError(`missing quantization table ${c.tq}`);
    const stride = c.bw * 8;
    const plane = new Uint8Array(stride * c.bh * 8);
    for (let by = 0; by < c.bh; by++) {
      for (let bx = 0; bx < c.bw; bx++) {
        idctIslow(c.coefs, (by * c.bw + bx) * 64, q, plane, by * 8 * stride + bx * 8, stride, ws);
      }
    }
    return upsample(plane, stride, c.width, c.height, hmax / c.h, vmax / c.v, width, height);
  });
  for (const c of comps) {
    if (hmax % c.h !== 0 || vmax % c.v !== 0) {
      throw new JpegUnsupportedError("non-integral sampling ratios");
    }
  }
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (comps.length === 1) {
    const y = planes[0];
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = y[i];
    return { width, height, data: out };
  }
  // Like libjpeg: JFIF means YCbCr; an Adobe marker says; else component ids R, G, B mean RGB.
  const rgb = !jfif &&
    (adobe === 0 ||
      (adobe < 0 && comps[0].id === 0x52 && comps[1].id === 0x47 && comps[2].id === 0x42));
  const [p0, p1, p2] = planes;
  if (rgb) {
    for (let i = 0; i < n; i++) {
      out[3 * i] = p0[i];
      out[3 * i + 1] = p1[i];
      out[3 * i + 2] = p2[i];
    }
    return { width, height, data: out };
  }
  buildColorTables();
  for (let i = 0; i < n; i++) {
    const y = p0[i];
    const cb = p1[i];
    const cr = p2[i];
    out[3 * i] = clamp255(y + CR_R[cr]);
    out[3 * i + 1] = clamp255(y + Math.floor((CB_G[cb] + CR_G[cr]) / SCALE));
    out[3 * i + 2] = clamp255(y + CB_B[cb]);
  }
  return { width, height, data: out };
}

/** Decodes one scan (sequential or progressive); returns the position after its entropy-coded data. */
function decodeScan(
  b: Uint8Array,
  start: number,
  comps: Component[],
  dc: Huffman[],
  ac: Huffman[],
  restartInterval: number,
  hmax: number,
  vmax: number,
  width: number,
  height: number,
  spectral: { ss: number; se: number; ah: number; al: number; progressive: boolean },
): number {
  const reader = new BitReader(b, start);
  const { ss, se, ah, al } = spectral;
  let eobrun = 0;
  const sequential = (c: Component, off: number) => {
    const dct = dc[c.dcTable];
    const act = ac[c.acTable];
    if (!dct || !act) throw new JpegFormatError("scan uses an undefined Huffman table");
    const s = reader.decode(dct);
    const diff = s === 0 ? 0 : extend(reader.bits(s), s);
    c.pred += diff;
    const coefs = c.coefs;
    coefs[off] = c.pred;
    for (let k = 1; k < 64;) {
      const rs = reader.decode(act);
      const r = rs >> 4;
      const sz = rs & 15;
      if (sz === 0) {
        if (r !== 15) break;
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) break;
      coefs[off + NATURAL[k]] = extend(reader.bits(sz), sz);
      k++;
    }
  };
  const dcFirst = (c: Component, off: number) => {
    const dct = dc[c.dcTable];
    if (!dct) throw new JpegFormatError("scan uses an undefined Huffman table");
    const s = reader.decode(dct);
    c.pred += s === 0 ? 0 : extend(reader.bits(s), s);
    c.coefs[off] = c.pred * (1 << al);
  };
  const dcRefine = (c: Component, off: number) => {
    if (reader.bit()) c.coefs[off] |= 1 << al;
  };
  const acFirst = (c: Component, off: number) => {
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    const act = ac[c.acTable];
    if (!act) throw new JpegFormatError("scan uses an undefined Huffman table");
    for (let k = ss; k <= se;) {
      const rs = reader.decode(act);
      const r = rs >> 4;
      const sz = rs & 15;
      if (sz === 0) {
        if (r < 15) {
          eobrun = (1 << r) - 1;
          if (r) eobrun += reader.bits(r);
          break;
        }
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) break;
      c.coefs[off + NATURAL[k]] = extend(reader.bits(sz), sz) * (1 << al);
      k++;
    }
  };
  const acRefine = (c: Component, off: number) => {
    const p1 = 1 << al;
    const m1 = -1 << al;
    const coefs = c.coefs;
    const refine = (z: number) => {
      if (reader.bit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
    };
    let k = ss;
    if (eobrun === 0) {
      const act = ac[c.acTable];
      if (!act) throw new JpegFormatError("scan uses an undefined Huffman table");
      for (; k <= se; k++) {
        const rs = reader.decode(act);
        let r = rs >> 4;
        let value = 0;
        if (rs & 15) {
          value = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          eobrun = 1 << r;
          if (r) eobrun += reader.bits(r);
          break;
        }
        // Skip r zero coefficients (refining the nonzero ones passed), stop on the target.
        while (k <= se) {
          const z = off + NATURAL[k];
          if (coefs[z] !== 0) refine(z);
          else if (--r < 0) break;
          k++;
        }
        if (value && k <= se) coefs[off + NATURAL[k]] = value;
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const z = off + NATURAL[k];
        if (coefs[z] !== 0) refine(z);
      }
      eobrun--;
    }
  };
  const decodeBlock = !spectral.progressive
    ? sequential
    : ss === 0
    ? (ah === 0 ? dcFirst : dcRefine)
    : (ah === 0 ? acFirst : acRefine);
  let total: number;
  let mcuAt: (m: number) => void;
  if (comps.length === 1) {
    const c = comps[0];
    total = c.bwUsed * c.bhUsed;
    mcuAt = (m) => {
      const by = Math.floor(m / c.bwUsed);
      const bx = m % c.bwUsed;
      decodeBlock(c, (by * c.bw + bx) * 64);
    };
  } else {
    const mcusX = Math.ceil(width / (8 * hmax));
    const mcusY = Math.ceil(height / (8 * vmax));
    total = mcusX * mcusY;
    mcuAt = (m) => {
      const my = Math.floor(m / mcusX);
      const mx = m % mcusX;
      for (const c of comps) {
        for (let v = 0; v < c.v; v++) {
          for (let h = 0; h < c.h; h++) {
            const by = my * c.v + v;
            const bx = mx * c.h + h;
            decodeBlock(c, (by * c.bw + bx) * 64);
          }
        }
      }
    };
  }
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      reader.restart();
      for (const c of comps) c.pred = 0;
      eobrun = 0;
    }
    mcuAt(m);
  }
  // Continue after the scan: the next marker (the reader stopped at it or before it).
  let p = reader.marker >= 0 ? reader.pos : Math.max(start, reader.pos - 4);
  while (
    p + 1 < b.length &&
    !(b[p] === 0xff && b[p + 1] !== 0 && !(b[p + 1] >= 0xd0 && b[p + 1] <= 0xd7))
  ) {
    p++;
  }
  return p;
}
