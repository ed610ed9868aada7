/**
 * ImageDecoder beyond the ONNX suite: JPEG fixtures encoded and decoded by libjpeg-turbo
 * 2.1.5 (restart markers, 4:2:0, progressive 4:2:2, grayscale; the expected pixels are
 * libjpeg-turbo's own output), and hand-built BMP, PNM, TIFF and PNG files.
 */

import assert from "node:assert/strict";
import { encode as encodePng } from "npm:fast-png@8.0.0";
import { runOp, runTensor, values } from "./_op_harness.ts";
import { Tensor } from "../../pipeline/tensor/tensor.ts";
import { RuntimeError, UnsupportedError } from "../../pipeline/errors.ts";
import { stringAttr } from "../../pipeline/load/build.ts";

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function bytes(b: Uint8Array | number[]): Tensor {
  return new Tensor("uint8", Uint8Array.from(b), [b.length]);
}

function decode(b: Uint8Array | number[], format = "RGB"): Promise<Tensor> {
  return runTensor("ImageDecoder", 20, [bytes(b)], [stringAttr("pixel_format", format)]);
}

/** JPEG files made with libjpeg-turbo's encoder, and what its decoder returns for them. */
const JPEGS = [
  {
    name: "h2v2 restart 2",
    width: 17,
    height: 9,
    jpeg:
      "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAJABEDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/90ABAAC/9oADAMBAAIRAxEAPwDHslHgFxgG/F8PlyfL2bPpuz9/9K6izVfAQAA+2redePK27f8AvrOd3t0rk/hp93Uv+2H8nrpvhX9/UP8Acj/m9Y5jXjCrWpTipJNc3Tmu7LbZRdtt0rPq3OSrkVR1Pe5eXm6c99v8PL5b9Ta/4QJP+gwf+/Df/FUVxFFP2eZf8/1/4B/9sfpv1XF/8/8A/wAlR//Z",
    rgb:
      "AxxUFSphGChcBzUyXNFcUeFLWdhthsecXTFUehFljhd9nUN507qE2uNm4ehN9cBk6EB9ABNpCRxpGylqADA0V8xkRddOW9x/hcakYzRiixx6mx+RmDh348uN2eNg4uVW/8l81CxqDxutAw6MERt0AC5CWtCCUed8ZuupgL+2ZzBxoSaasyq2nDR/3sl4x9ND19Zg/8ya4jl6ADS3ACyQAzteEFNKVK+QbMurhNLFkbTHXj96dCp/gCeDk0V337KJ9tGK/8+n/7y70D5tMsn2PtTSOM9uP69bKEVtOiqDPx5jPSlarMHes9bYx9u/z7muoEF5qSB6vyWDyj1//7vGAL+rDtegG9pYS8tsIChZWR2OaRx6aj93oMzLhdWgktZzx8mYoy+U2CLF6iGv0y13/9KsDOiqHemqLdybWc2gFy8vRyhKVBxdSCdSosaqmtuHqd9nzMiJoDGPxhit3RiC1jBI/8FdEL+gJMOtTcrGaMK5CD4eJD0dQ0k/TExCtL6bxtCT0NB21Ld/pVN7rTR7vixTykAz/79oACpyADx8ASpeADJDbsqhWshvZM9OiMFYXDgifSc0lTo1fjQX2Lh96NCK/M6S/76Z0UJE",
  },
  {
    name: "progressive h2v1 restart 1",
    width: 9,
    height: 7,
    jpeg:
      "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wgARCAAHAAkDASEAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAwb/xAAVAQEBAAAAAAAAAAAAAAAAAAACBf/dAAQAAf/aAAwDAQACEAMQAAABKjFb/8QAGBAAAgMAAAAAAAAAAAAAAAAAAAEEFSX/2gAIAQEAAQUCg47/AP/QpWf/xAAeEQAABAcAAAAAAAAAAAAAAAAAAQQSAwYREyFBUf/aAAgBAwEBPwGX15QEpKG1ua43A//EAB4RAAAEBwAAAAAAAAAAAAAAAAECBGEAAxETIlHh/9oACAECAQE/AVSiaU9wojloaM3I/8QAHRAAAQIHAAAAAAAAAAAAAAAAAAEREzRTgpLh8f/aAAgBAQAGPwKtFtZun//Qmlx2f//EABoQAAICAwAAAAAAAAAAAAAAAAABETFB4fH/2gAIAQEAAT8hsy1y2OD/0Db/2gAMAwEAAgADAAAAEL//xAAaEQACAgMAAAAAAAAAAAAAAAABETFBACFh/9oACAEDAQE/ECBDRKiyLbcBdz//xAAWEQEBAQAAAAAAAAAAAAAAAAABESH/2gAIAQIBAT8QR7tYsAoVtWMpdGkX/8QAGxABAAICAwAAAAAAAAAAAAAAAREhADFhcfH/2gAIAQEAAT8QbRiFqUnNlWojtX//0PXZ/9k=",
    rgb:
      "Bh+vHiKqTiahPCFmmcGpot6ow+bQ/c3/6C3wCSR/DRNfPx5LQi45mcmvo+azx+uu6byD2DEEDhSGLiB/Tx9TSCsjksdtkdRrw9ek/8nE4DBUBiOHExqCPhqIPyploNakk916w+6U8M2j0TVcDt/CKOqjMNg6fNRcWzVeoiectxV8xC9x/8fJEtnSINO+RtWneLeYYipDohlnxxmU1DiM/8eeFdt5Kdt5V+ODerCYgDanth6vug1NwS88/87F",
  },
  {
    name: "grayscale",
    width: 7,
    height: 5,
    jpeg:
      "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wAALCAAFAAcBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AJPgiX/ZSsI3dz4pfxCgYGMmx+zeQoHTMm7d5/8As42988f/2Q==",
    rgb:
      "ISEhNzc3Ojo6T09PxsbGysrK4uLiKCgoNjY2Ly8vQUFBvr6+wsLC0dHRHh4eNjY2NjY2T09PxcXFzc3N1tbWDw8PJSUlKioqQ0NDysrK09PT2dnZg4ODnJycpaWlu7u7UFBQYmJib29v",
  },
];

Deno.test("ImageDecoder: JPEG matches libjpeg-turbo exactly", async () => {
  for (const f of JPEGS) {
    const t = await decode(fromBase64(f.jpeg));
    assert.deepEqual(t.dims, [f.height, f.width, 3], f.name);
    assert.deepEqual(Array.from(t.data as Uint8Array), Array.from(fromBase64(f.rgb)), f.name);
  }
});

/** A 3x2 24-bit bottom-up BMP: top row red, green, blue; bottom row three grays-ish. */
function bmp(): number[] {
  const u32 = (v: number) => [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24];
  const u16 = (v: number) => [v & 255, v >> 8];
  const rows = [
    [[10, 20, 30], [40, 50, 60], [70, 80, 90]], // stored first: the bottom row
    [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
  ];
  const pixels = rows.flatMap((r) => [...r.flatMap(([R, G, B]) => [B, G, R]), 0, 0, 0]);
  return [
    ...[0x42, 0x4d],
    ...u32(54 + pixels.length),
    ...u32(0),
    ...u32(54),
    ...u32(40),
    ...u32(3),
    ...u32(2),
    ...u16(1),
    ...u16(24),
    ...u32(0),
    ...u32(pixels.length),
    ...u32(2835),
    ...u32(2835),
    ...u32(0),
    ...u32(0),
    ...pixels,
  ];
}

Deno.test("ImageDecoder: BMP in RGB, BGR and Grayscale", async () => {
  const rgb = await decode(bmp());
  assert.deepEqual(rgb.dims, [2, 3, 3]);
  assert.deepEqual(values(rgb), [
    255,
    0,
    0,
    0,
    255,
    0,
    0,
    0,
    255,
    10,
    20,
    30,
    40,
    50,
    60,
    70,
    80,
    90,
  ]);
  const bgr = await decode(bmp(), "BGR");
  assert.deepEqual(values(bgr).slice(0, 6), [0, 0, 255, 0, 255, 0]);
  const gray = await decode(bmp(), "Grayscale");
  assert.deepEqual(gray.dims, [2, 3, 1]);
  // (19595 R + 38470 G + 7471 B + 32768) >> 16, Pillow's RGB → L.
  assert.deepEqual(values(gray), [76, 150, 29, 18, 48, 78]);
});

Deno.test("ImageDecoder: PNM (ASCII with maxval 15, binary gray)", async () => {
  const enc = new TextEncoder();
  const p3 = await decode(enc.encode("P3\n# comment\n2 1\n15\n15 0 0  0 15 7\n"));
  assert.deepEqual(p3.dims, [1, 2, 3]);
  assert.deepEqual(values(p3), [255, 0, 0, 0, 255, 119]);
  const p5 = await decode([...enc.encode("P5 2 2 255\n"), 0, 128, 255, 7]);
  assert.deepEqual(values(p5), [0, 0, 0, 128, 128, 128, 255, 255, 255, 7, 7, 7]);
});

/** A little-endian TIFF with one strip; `entries` are [tag, type, count, value]. */
function tiff(entries: [number, number, number, number][], data: number[]): number[] {
  const ifdSize = 2 + 12 * entries.length + 4;
  const dataOffset = 8 + ifdSize;
  const out = [0x49, 0x49, 42, 0, 8, 0, 0, 0, entries.length & 255, entries.length >> 8];
  for (const [tag, type, count, value] of entries) {
    const v = tag === 273 ? dataOffset : value;
    out.push(tag & 255, tag >> 8, type, 0, count & 255, 0, 0, 0);
    out.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24);
  }
  out.push(0, 0, 0, 0, ...data);
  return out;
}

Deno.test("ImageDecoder: TIFF uncompressed RGB and PackBits grayscale", async () => {
  const rgb = await decode(tiff([
    [256, 3, 1, 2],
    [257, 3, 1, 1],
    [258, 3, 1, 8],
    [259, 3, 1, 1],
    [262, 3, 1, 2],
    [273, 4, 1, 0],
    [277, 3, 1, 3],
    [278, 3, 1, 1],
    [279, 4, 1, 6],
  ], [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(rgb.dims, [1, 2, 3]);
  assert.deepEqual(values(rgb), [1, 2, 3, 4, 5, 6]);
  // PackBits: a run of four 9s (header -3), then a literal 1, 2 (header 1).
  const gray = await decode(tiff([
    [256, 3, 1, 3],
    [257, 3, 1, 2],
    [258, 3, 1, 8],
    [259, 3, 1, 32773],
    [262, 3, 1, 1],
    [273, 4, 1, 0],
    [278, 3, 1, 2],
    [279, 4, 1, 5],
  ], [0xfd, 9, 1, 1, 2]));
  assert.deepEqual(gray.dims, [2, 3, 3]);
  assert.deepEqual(values(gray).filter((_, i) => i % 3 === 0), [9, 9, 9, 9, 1, 2]);
});

Deno.test("ImageDecoder: PNG with alpha and 16-bit gray", async () => {
  const rgba = encodePng({
    width: 2,
    height: 1,
    data: Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 0]),
    channels: 4,
    depth: 8,
  });
  assert.deepEqual(values(await decode(rgba)), [1, 2, 3, 4, 5, 6]);
  const gray16 = encodePng({
    width: 2,
    height: 1,
    data: Uint16Array.from([0x1234, 0xff00]),
    channels: 1,
    depth: 16,
  });
  assert.deepEqual(values(await decode(gray16)), [0x12, 0x12, 0x12, 0xff, 0xff, 0xff]);
});

Deno.test("ImageDecoder: unsupported formats and bad input", async () => {
  const webp = [0x52, 0x49, 0x46, 0x46, 4, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0, 0, 0, 0];
  await assert.rejects(decode(webp), UnsupportedError);
  await assert.rejects(decode([1, 2, 3, 4]), RuntimeError);
  await assert.rejects(decode([0xff, 0xd8, 0xff, 0xdb, 0, 67, 0]), RuntimeError);
  await assert.rejects(decode(bmp(), "RGBA"), RuntimeError);
  await assert.rejects(
    runOp("ImageDecoder", 20, [new Tensor("int8", new Int8Array(4), [4])]),
    RuntimeError,
  );
});
