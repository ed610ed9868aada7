import assert from "node:assert/strict";
import jpeg from "npm:jpeg-js@0.4.4";
import { encode as encodePng } from "npm:fast-png@8.0.0";
import {
  centerCropImage,
  type DecodedImage,
  decodeImage,
  preprocessImage,
  resizeImage,
  toGrayscale,
} from "../../pipeline/io/image.ts";
import { InputError, ModelFormatError } from "../../pipeline/errors.ts";
import { readFloatTensorProto } from "./tiny_tensor_proto.ts";
import { SHARED } from "../_shared_root.ts";

// -------------------------------------------------------------------------------------------
// A minimal baseline JPEG writer for blocks of constant value (DC coefficient only), so that
// chroma subsampling layouts jpeg-js cannot encode (4:2:0, 4:2:2, 4:4:0) can be tested with
// hand-computed expectations.

class BitWriter {
  bytes: number[] = [];
  #acc = 0;
  #n = 0;
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) {
        this.bytes.push(this.#acc);
        if (this.#acc === 0xff) this.bytes.push(0x00);
        this.#acc = 0;
        this.#n = 0;
      }
    }
  }
  finish(): number[] {
    while (this.#n !== 0) this.write(1, 1);
    return this.bytes;
  }
}

/**
 * Builds a JPEG whose components are constant per 8x8 block. `components[c].h/v` are the
 * sampling factors; `blockValue(c, bx, by)` gives the sample value of the component's block
 * (bx, by) in its own block grid. Quantization is 1, so DC = 8 * (value - 128) exactly.
 */
function buildJpeg(
  width: number,
  height: number,
  components: { h: number; v: number }[],
  blockValue: (c: number, bx: number, by: number) => number,
): Uint8Array {
  const maxH = Math.max(...components.map((c) => c.h));
  const maxV = Math.max(...components.map((c) => c.v));
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));
  // DC Huffman table: every category 0..11 gets a 4-bit code (0000, 0001, ..., 1011).
  const dcCode = (cat: number) => cat;
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) =>
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  segment(0xdb, [0x00, ...new Array(64).fill(1)]);
  segment(0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    components.length,
    ...components.flatMap((c, i) => [i + 1, (c.h << 4) | c.v, 0]),
  ]);
  const dcBits = new Array(16).fill(0);
  dcBits[3] = 12; // twelve codes of length 4
  segment(0xc4, [0x00, ...dcBits, ...Array.from({ length: 12 }, (_, i) => i)]);
  const acBits = new Array(16).fill(0);
  acBits[0] = 1; // one code of length 1: "0" = EOB
  segment(0xc4, [0x10, ...acBits, 0x00]);
  segment(0xda, [
    components.length,
    ...components.flatMap((_, i) => [i + 1, 0x00]),
    0,
    63,
    0,
  ]);
  const bits = new BitWriter();
  const pred = components.map(() => 0);
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      components.forEach((comp, c) => {
        for (let by = 0; by < comp.v; by++) {
          for (let bx = 0; bx < comp.h; bx++) {
            const dc = 8 * (blockValue(c, mx * comp.h + bx, my * comp.v + by) - 128);
            const diff = dc - pred[c];
            pred[c] = dc;
            const cat = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
            bits.write(dcCode(cat), 4);
            if (cat > 0) bits.write(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
            bits.write(0, 1); // EOB
          }
        }
      });
    }
  }
  out.push(...bits.finish(), 0xff, 0xd9);
  return new Uint8Array(out);
}

/** Pixel (x, y) of an RGB image as [r, g, b]. */
function px(img: DecodedImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * img.channels;
  return Array.from(img.data.subarray(i, i + img.channels));
}

// Y = 128 and Cr = 128 everywhere; Cb is 96 on one side and 160 on the other. libjpeg's fancy
// upsampling gives Cb 96, 112, 144, 160 across the boundary (see jdsample.c: h2v1 uses
// (3a + b + 1) >> 2 and (3a + b + 2) >> 2; h2v2 (3s + s' + 8) >> 4 and (3s + s' + 7) >> 4 on
// column sums s = 3 * near + far), and libjpeg's fixed-point YCbCr → RGB (jdcolor.c) maps
// Cb 96 → G 139, B 71; 112 → G 134, B 100; 144 → G 122, B 156; 160 → G 117, B 185, R = 128.
const EDGE = [[128, 139, 71], [128, 134, 100], [128, 122, 156], [128, 117, 185]];
const cbSplit = (c: number, side: number) => (c === 1 ? (side === 0 ? 96 : 160) : 128);

Deno.test("decodeImage: 4:2:0 JPEG chroma is upsampled like libjpeg (fancy)", () => {
  const bytes = buildJpeg(
    32,
    16,
    [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }],
    (c, bx) => cbSplit(c, c === 0 ? 0 : bx),
  );
  const img = decodeImage(bytes, "h2v2.jpg");
  assert.deepEqual([img.width, img.height, img.channels], [32, 16, 3]);
  for (const y of [0, 7, 15]) {
    assert.deepEqual(px(img, 0, y), EDGE[0]);
    assert.deepEqual([14, 15, 16, 17].map((x) => px(img, x, y)), EDGE);
    assert.deepEqual(px(img, 31, y), EDGE[3]);
  }
});

Deno.test("decodeImage: 4:2:2 (h2v1) and 4:4:0 (h1v2) JPEG chroma upsampling", () => {
  const h2v1 = decodeImage(
    buildJpeg(
      32,
      8,
      [{ h: 2, v: 1 }, { h: 1, v: 1 }, { h: 1, v: 1 }],
      (c, bx) => cbSplit(c, c === 0 ? 0 : bx),
    ),
  );
  assert.deepEqual([14, 15, 16, 17].map((x) => px(h2v1, x, 3)), EDGE);
  const h1v2 = decodeImage(
    buildJpeg(
      8,
      32,
      [{ h: 1, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }],
      (c, _bx, by) => cbSplit(c, c === 0 ? 0 : by),
    ),
  );
  assert.deepEqual([14, 15, 16, 17].map((y) => px(h1v2, 5, y)), EDGE);
  assert.deepEqual(px(h1v2, 0, 0), EDGE[0]);
  assert.deepEqual(px(h1v2, 7, 31), EDGE[3]);
});

Deno.test("decodeImage: grey JPEG keeps one channel or replicates it", () => {
  const bytes = buildJpeg(16, 8, [{ h: 1, v: 1 }], (_c, bx) => (bx === 0 ? 200 : 40));
  const grey = decodeImage(bytes, "grey.jpg", { keepGray: true });
  assert.equal(grey.channels, 1);
  assert.deepEqual([grey.data[0], grey.data[7], grey.data[8], grey.data[15]], [200, 200, 40, 40]);
  const rgb = decodeImage(bytes, "grey.jpg");
  assert.equal(rgb.channels, 3);
  assert.deepEqual(px(rgb, 0, 0), [200, 200, 200]);
  assert.deepEqual(px(rgb, 15, 7), [40, 40, 40]);
});

Deno.test("decodeImage: a jpeg-js encoded RGB image decodes close to its pixels", () => {
  const width = 16;
  const height = 16;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([200, 100, 50, 255], i * 4);
  const bytes = jpeg.encode({ width, height, data: rgba }, 100).data;
  const img = decodeImage(new Uint8Array(bytes), "solid.jpg");
  assert.deepEqual([img.width, img.height, img.channels], [16, 16, 3]);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = img.data.subarray(i * 3, i * 3 + 3);
    assert.ok(
      Math.abs(r - 200) <= 2 && Math.abs(g - 100) <= 2 && Math.abs(b - 50) <= 2,
      `${r},${g},${b}`,
    );
  }
});

Deno.test("decodeImage: PNG colour types, bit depths and palettes", () => {
  const rgb = decodeImage(
    encodePng({
      width: 2,
      height: 1,
      channels: 3,
      depth: 8,
      data: Uint8Array.from([10, 20, 30, 40, 50, 60]),
    }),
  );
  assert.deepEqual([rgb.width, rgb.height, rgb.channels], [2, 1, 3]);
  assert.deepEqual(Array.from(rgb.data), [10, 20, 30, 40, 50, 60]);
  const rgba = decodeImage(
    encodePng({
      width: 1,
      height: 2,
      channels: 4,
      depth: 8,
      data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 128]),
    }),
  );
  assert.deepEqual(Array.from(rgba.data), [1, 2, 3, 4, 5, 6]);
  const greyBytes = encodePng({
    width: 2,
    height: 1,
    channels: 1,
    depth: 8,
    data: Uint8Array.from([7, 250]),
  });
  assert.deepEqual(Array.from(decodeImage(greyBytes).data), [7, 7, 7, 250, 250, 250]);
  const kept = decodeImage(greyBytes, "g.png", { keepGray: true });
  assert.equal(kept.channels, 1);
  assert.deepEqual(Array.from(kept.data), [7, 250]);
  const greyAlpha = decodeImage(
    encodePng({ width: 1, height: 1, channels: 2, depth: 8, data: Uint8Array.from([99, 0]) }),
    "ga.png",
    { keepGray: true },
  );
  assert.deepEqual(Array.from(greyAlpha.data), [99]);
  // 16-bit samples keep their high byte.
  const deep = decodeImage(
    encodePng({
      width: 1,
      height: 1,
      channels: 3,
      depth: 16,
      data: Uint16Array.from([0x1234, 0xff00, 0x00ff]),
    }),
  );
  assert.deepEqual(Array.from(deep.data), [0x12, 0xff, 0x00]);
  // 1-bit grey: the row 1 0 1 is packed as 0b10100000; ones stretch to 255.
  const bits = decodeImage(
    encodePng({ width: 3, height: 1, channels: 1, depth: 1, data: Uint8Array.from([0xa0]) }),
    "bits.png",
    { keepGray: true },
  );
  assert.deepEqual(Array.from(bits.data), [255, 0, 255]);
  const pal = decodeImage(
    encodePng({
      width: 2,
      height: 1,
      channels: 1,
      depth: 8,
      data: Uint8Array.from([1, 0]),
      palette: [[255, 0, 0], [0, 0, 255]],
    }),
  );
  assert.deepEqual(Array.from(pal.data), [0, 0, 255, 255, 0, 0]);
});

Deno.test("decodeImage: bad bytes raise ModelFormatError naming the source", () => {
  const isFormat = (name: string) => (e: unknown) =>
    e instanceof ModelFormatError && e.message.includes(name);
  assert.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4]), "x.bin"), isFormat("x.bin"));
  const png = encodePng({ width: 2, height: 2, channels: 3, depth: 8, data: new Uint8Array(12) });
  assert.throws(() => decodeImage(png.subarray(0, 30), "cut.png"), isFormat("cut.png"));
  assert.throws(
    () => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00]), "cut.jpg"),
    isFormat("cut.jpg"),
  );
});

// -------------------------------------------------------------------------------------------
// Preprocessing

const grey = (width: number, height: number, values: number[]): DecodedImage => ({
  width,
  height,
  channels: 1,
  data: Uint8Array.from(values),
});

Deno.test("resizeImage: Pillow bilinear, hand computed", () => {
  // Downscale 4 → 2: scale 2, support 2. Output 0 weights pixels 0,1,2 by 3/7, 3/7, 1/7:
  // (0*3 + 100*3 + 200) / 7 = 71.4 → 71. Output 1 weights pixels 1,2,3 by 1/7, 3/7, 3/7:
  // (100 + 600 + 765) / 7 = 209.3 → 209.
  assert.deepEqual(Array.from(resizeImage(grey(4, 1, [0, 100, 200, 255]), 2, 1).data), [71, 209]);
  // Upscale 2 → 4: output centers 0.25, 0.75, 1.25, 1.75 in input coordinates; the edge
  // outputs see one input pixel, the inner ones weigh the two by 3/4 and 1/4: 0, 25, 75, 100.
  assert.deepEqual(Array.from(resizeImage(grey(2, 1, [0, 100]), 4, 1).data), [0, 25, 75, 100]);
  // The vertical pass works the same way on columns.
  assert.deepEqual(Array.from(resizeImage(grey(1, 4, [0, 100, 200, 255]), 1, 2).data), [71, 209]);
});

Deno.test("resizeImage: within one level of a float triangle-filter reference", () => {
  const w = 37;
  const h = 23;
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const img: DecodedImage = {
    width: w,
    height: h,
    channels: 3,
    data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rand() * 256)),
  };
  const ow = 11;
  const oh = 30;
  // Separable triangle filter in floating point, support scaled by the downscale factor.
  const weights = (inSize: number, outSize: number) =>
    Array.from({ length: outSize }, (_, o) => {
      const scale = inSize / outSize;
      const fs = Math.max(scale, 1);
      const center = (o + 0.5) * scale;
      const ws = Array.from({ length: inSize }, (_, i) =>
        Math.max(0, 1 - Math.abs(i + 0.5 - center) / fs));
      const total = ws.reduce((a, b) =>
        a + b, 0);
      return ws.map((x) => x / total);
    });
  const wx = weights(w, ow);
  const wy = weights(h, oh);
  const out = resizeImage(img, ow, oh);
  assert.deepEqual([out.width, out.height, out.channels], [ow, oh, 3]);
  let maxDiff = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let sy = 0; sy < h; sy++) {
          for (let sx = 0; sx < w; sx++) {
            v += wy[y][sy] * wx[x][sx] * img.data[(sy * w + sx) * 3 + c];
          }
        }
        maxDiff = Math.max(maxDiff, Math.abs(out.data[(y * ow + x) * 3 + c] - v));
      }
    }
  }
  assert.ok(maxDiff <= 1.0, `max difference ${maxDiff}`);
});

Deno.test("centerCropImage: torchvision offsets (Python rounding) and zero padding", () => {
  const square = (n: number) => grey(n, n, Array.from({ length: n * n }, (_, i) => i));
  // 5 → 2: top = round(1.5) = 2, left = 2 → rows 2-3, columns 2-3.
  assert.deepEqual(Array.from(centerCropImage(square(5), 2, 2).data), [12, 13, 17, 18]);
  // 4 → 1: round(1.5) = 2; 6 → 1: round(2.5) = 2 (halves go to even).
  assert.deepEqual(Array.from(centerCropImage(square(4), 1, 1).data), [10]);
  assert.deepEqual(Array.from(centerCropImage(square(6), 1, 1).data), [14]);
  // Larger than the image: pad left (2-1)//2 = 0, top (3-1)//2 = 1, then crop.
  const padded = centerCropImage(grey(1, 1, [9]), 3, 2);
  assert.deepEqual([padded.width, padded.height], [2, 3]);
  assert.deepEqual(Array.from(padded.data), [0, 0, 9, 0, 0, 0]);
});

Deno.test("toGrayscale: Pillow's L = (19595 R + 38470 G + 7471 B + 32768) >> 16", () => {
  const img: DecodedImage = {
    width: 4,
    height: 1,
    channels: 3,
    data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]),
  };
  // 255 * 0.299 = 76.2, 255 * 0.587 = 149.7 (→ 150 with Pillow's rounding), 255 * 0.114 = 29.1.
  assert.deepEqual(Array.from(toGrayscale(img).data), [76, 150, 29, 255]);
});

Deno.test("preprocessImage: scale, mean/std in float32, NCHW and NHWC", () => {
  const img: DecodedImage = {
    width: 2,
    height: 1,
    channels: 3,
    data: Uint8Array.from([255, 0, 51, 0, 255, 102]),
  };
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const nchw = preprocessImage(img, { mean, std });
  assert.equal(nchw.type, "float32");
  assert.deepEqual(nchw.dims, [1, 3, 1, 2]);
  // (1 - 0.485) / 0.229 = 2.2489083; (0 - 0.485) / 0.229 = -2.1179039; (0 - 0.456) / 0.224 =
  // -2.0357143; (1 - 0.456) / 0.224 = 2.4285714; (0.2 - 0.406) / 0.225 = -0.9155556;
  // (0.4 - 0.406) / 0.225 = -0.0266667.
  const expected = [2.2489083, -2.1179039, -2.0357143, 2.4285714, -0.9155556, -0.0266667];
  const got = Array.from(nchw.data as Float32Array);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${i}: ${v}`));
  const nhwc = preprocessImage(img, { mean, std, layout: "NHWC" });
  assert.deepEqual(nhwc.dims, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(nhwc.data as Float32Array), [
    got[0],
    got[2],
    got[4],
    got[1],
    got[3],
    got[5],
  ]);
  // Default scale is /255 with no normalization; a custom scale multiplies.
  assert.deepEqual(Array.from(preprocessImage(img).data as Float32Array).slice(0, 2), [1, 0]);
  assert.deepEqual(Array.from(preprocessImage(img, { scale: 1 }).data as Float32Array), [
    255,
    0,
    0,
    255,
    51,
    102,
  ]);
  // Resize to exact [height, width], grayscale, crop.
  const t = preprocessImage(img, { resize: [2, 4], grayscale: true, scale: 1 });
  assert.deepEqual(t.dims, [1, 1, 2, 4]);
  const shorter = preprocessImage(grey(8, 4, new Array(32).fill(10)), {
    resize: 2,
    centerCrop: [2, 3],
  });
  assert.deepEqual(shorter.dims, [1, 1, 2, 3]);
  assert.throws(() => preprocessImage(img, { mean: [0.5, 0.5] }), InputError);
  assert.throws(() => preprocessImage(img, { resize: 0 }), InputError);
  assert.throws(
    () => preprocessImage({ width: 2, height: 2, channels: 3, data: new Uint8Array(3) }),
    InputError,
  );
});

// -------------------------------------------------------------------------------------------
// Reference inputs produced by torchvision/Pillow (see ../shared/pretrained/README.md).

const pretrained = `${SHARED}/pretrained`;
let havePretrained = false;
try {
  havePretrained = Deno.statSync(`${pretrained}/images/dog.jpg`).isFile;
} catch {
  console.log(`Skipping the image reference checks: ${pretrained} is absent`);
}

Deno.test({
  name: "preprocessImage: dog.jpg matches the reference ImageNet input closely",
  ignore: !havePretrained,
  fn() {
    const img = decodeImage(Deno.readFileSync(`${pretrained}/images/dog.jpg`), "dog.jpg");
    const x = preprocessImage(img, {
      resize: 256,
      centerCrop: 224,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    const ref = readFloatTensorProto(
      Deno.readFileSync(`${pretrained}/mobilenetv2_float/test_data_set_0/input_0.pb`),
    );
    assert.deepEqual(x.dims, ref.dims);
    const a = x.data as Float32Array;
    let max = 0;
    let sum = 0;
    let exact = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - ref.data[i]);
      max = Math.max(max, d);
      sum += d;
      if (d === 0) exact++;
    }
    console.log(
      `dog.jpg vs reference: max abs diff ${max.toFixed(5)}, mean ${
        (sum / a.length).toFixed(6)
      }, ` +
        `${exact} of ${a.length} values identical`,
    );
    // One 8-bit level is 1/255/0.224 = 0.0175 after normalization; jpeg-js's inverse DCT differs
    // from libjpeg's in a few pixels, which is all that should remain.
    assert.ok(max < 0.02, `max abs diff ${max}`);
    assert.ok(sum / a.length < 0.004, `mean abs diff ${sum / a.length}`);
    assert.ok(exact / a.length > 0.8, `only ${exact} identical`);
  },
});

Deno.test({
  name: "preprocessImage: MNIST digits match the reference inputs",
  ignore: !havePretrained,
  fn() {
    const digits = ["0", "3", "5", "7"];
    digits.forEach((digit, i) => {
      const img = decodeImage(
        Deno.readFileSync(`${pretrained}/images/mnist/${digit}.jpg`),
        `${digit}.jpg`,
      );
      assert.deepEqual([img.width, img.height], [28, 28]);
      const x = preprocessImage(img, { grayscale: true });
      const ref = readFloatTensorProto(
        Deno.readFileSync(`${pretrained}/mnist/test_data_set_${i}/input_0.pb`),
      );
      assert.deepEqual(x.dims, [1, 1, 28, 28]);
      assert.deepEqual(ref.dims, [1, 1, 28, 28]);
      const a = x.data as Float32Array;
      let max = 0;
      let differing = 0;
      for (let k = 0; k < a.length; k++) {
        const d = Math.abs(a[k] - ref.data[k]);
        max = Math.max(max, d);
        if (d !== 0) differing++;
      }
      console.log(`mnist ${digit}.jpg: max abs diff ${max.toFixed(5)}, ${differing} of 784 differ`);
      // At most one level (1/255) in a few pixels, from the inverse DCT.
      assert.ok(max <= 1 / 255 + 1e-6, `max abs diff ${max}`);
      assert.ok(differing <= 40, `${differing} pixels differ`);
    });
  },
});
