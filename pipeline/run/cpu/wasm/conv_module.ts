/**
 * WebAssembly functions for 2-D convolutions, for the module built by `kernels.ts`:
 *
 * - `im2col2d(src, C, H, W, OH, OW, KH, KW, SH, SW, DH, PH, tab, dst)`: the column matrix of
 *   `C` image planes at `src` (row-major `C·KH·KW` rows of `OH·OW` values, taps outside the
 *   image zero), like `im2col` in `../im2col.ts`.
 * - `depthwise2d(x, y, w, H, W, OH, OW, KH, KW, SH, DH, PH, SW, tab)`: adds the convolution of
 *   one image plane `x` with one KH×KW filter `w` onto the output plane `y`, in the order
 *   kh, kw (every product is computed: 0 · NaN stays NaN).
 *
 * - `maxpool2d(x, y, H, W, OH, OW, KH, KW, SH, DH, PH, SW, tab)`: one plane of a 2-D max
 *   pooling: each output starts as NaN and takes each in-image tap v, in the order kh, kw,
 *   when `v > best || best ≠ best` (the first tap, then the larger ones, NaN only when every
 *   tap is NaN; a window with no tap stays NaN for the caller to fix).
 *
 * `tab` holds, per kernel column kw, three i32: the first and one-past-last output column
 * whose tap is inside the image (lo, hi) and the tap's input column at output column 0
 * (`kw·DW − PW`), computed by the caller. Unit and 2 column strides use vector loads (stride 2
 * deinterleaves two vectors, reading up to one element past the last tap: the caller keeps
 * 16 readable bytes after each image). All addresses are bytes.
 *
 * @module
 */

import { type Code, Ctl, F32, FunctionBuilder, I32, Mem, V128 } from "./emit.ts";

const { get, set } = Ctl;

function forLoop(l: number, start: Code, end: Code, step: Code, ...body: Code[]): Code {
  return [
    set(l, start),
    Ctl.block(
      Ctl.brIf(0, I32.geS(get(l), end)),
      Ctl.loop(...body, set(l, I32.add(get(l), step)), Ctl.brIf(0, I32.ltS(get(l), end))),
    ),
  ];
}

/**
 * Emits a row operation over output columns [lo, hi): for each column `ow` with destination
 * `d = dRow + 4·ow` and source `p = sRow + 4·(ow·SW)`, `vec(dAddr, srcVector)` /
 * `scalar(dAddr, srcScalar)` emit the per-vector and per-element work. Locals d, e, p are
 * scratch; sw is the column stride local.
 */
function rowLoop(
  d: number,
  e: number,
  p: number,
  sw: number,
  vec: (src: Code) => Code,
  scalar: (src: Code) => Code,
): Code {
  const scalarTail = (step: Code): Code =>
    Ctl.block(
      Ctl.brIf(0, I32.geU(get(d), get(e))),
      Ctl.loop(
        scalar(F32.load(get(p))),
        set(d, I32.add(get(d), I32.const(4))),
        set(p, I32.add(get(p), step)),
        Ctl.brIf(0, I32.ltU(get(d), get(e))),
      ),
    );
  return Ctl.if(
    I32.eq(get(sw), I32.const(1)),
    [
      Ctl.block(
        Ctl.brIf(0, I32.gtS(I32.add(get(d), I32.const(16)), get(e))),
        Ctl.loop(
          vec(V128.load(get(p))),
          set(d, I32.add(get(d), I32.const(16))),
          set(p, I32.add(get(p), I32.const(16))),
          Ctl.brIf(0, I32.leS(I32.add(get(d), I32.const(16)), get(e))),
        ),
      ),
      scalarTail(I32.const(4)),
    ],
    Ctl.if(
      I32.eq(get(sw), I32.const(2)),
      [
        Ctl.block(
          Ctl.brIf(0, I32.gtS(I32.add(get(d), I32.const(16)), get(e))),
          Ctl.loop(
            vec(V128.shuffle32(V128.load(get(p)), V128.load(get(p), 16), [0, 2, 4, 6])),
            set(d, I32.add(get(d), I32.const(16))),
            set(p, I32.add(get(p), I32.const(32))),
            Ctl.brIf(0, I32.leS(I32.add(get(d), I32.const(16)), get(e))),
          ),
        ),
        scalarTail(I32.const(8)),
      ],
      scalarTail(I32.shl(get(sw), I32.const(2))),
    ),
  );
}

/** The im2col2d function. */
export function im2col2d(): FunctionBuilder {
  const f = new FunctionBuilder(
    "im2col2d",
    [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
  );
  const [src, C, H, W, OH, OW, KH, KW, SH, SW, DH, PH, tab, dst] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
  ];
  const c = f.local("i32"), kh = f.local("i32"), kw = f.local("i32"), oh = f.local("i32");
  const plane = f.local("i32"), q = f.local("i32"), ih = f.local("i32"), hStart = f.local("i32");
  const lo = f.local("i32"), hi = f.local("i32"), wStart = f.local("i32"), t = f.local("i32");
  const d = f.local("i32"), e = f.local("i32"), p = f.local("i32"), rowBytes = f.local("i32");
  const planeBytes = f.local("i32");
  f.emit(
    set(rowBytes, I32.shl(get(OW), I32.const(2))),
    set(planeBytes, I32.shl(I32.mul(get(H), get(W)), I32.const(2))),
    set(q, get(dst)),
    forLoop(
      c,
      I32.const(0),
      get(C),
      I32.const(1),
      set(plane, I32.add(get(src), I32.mul(get(c), get(planeBytes)))),
      forLoop(
        kh,
        I32.const(0),
        get(KH),
        I32.const(1),
        set(hStart, I32.sub(I32.mul(get(kh), get(DH)), get(PH))),
        forLoop(
          kw,
          I32.const(0),
          get(KW),
          I32.const(1),
          set(t, I32.add(get(tab), I32.mul(get(kw), I32.const(12)))),
          set(lo, I32.load(get(t))),
          set(hi, I32.load(get(t), 4)),
          set(wStart, I32.load(get(t), 8)),
          forLoop(
            oh,
            I32.const(0),
            get(OH),
            I32.const(1),
            set(ih, I32.add(I32.mul(get(oh), get(SH)), get(hStart))),
            Ctl.if(
              I32.or(
                I32.or(I32.ltS(get(ih), I32.const(0)), I32.geS(get(ih), get(H))),
                I32.geS(get(lo), get(hi)),
              ),
              Mem.fill(get(q), I32.const(0), get(rowBytes)),
              [
                Mem.fill(get(q), I32.const(0), I32.shl(get(lo), I32.const(2))),
                set(d, I32.add(get(q), I32.shl(get(lo), I32.const(2)))),
                set(e, I32.add(get(q), I32.shl(get(hi), I32.const(2)))),
                set(
                  p,
                  I32.add(
                    get(plane),
                    I32.shl(
                      I32.add(
                        I32.mul(get(ih), get(W)),
                        I32.add(get(wStart), I32.mul(get(lo), get(SW))),
                      ),
                      I32.const(2),
                    ),
                  ),
                ),
                rowLoop(d, e, p, SW, (v) => V128.store(get(d), v), (v) => F32.store(get(d), v)),
                Mem.fill(
                  get(e),
                  I32.const(0),
                  I32.sub(I32.add(get(q), get(rowBytes)), get(e)),
                ),
              ],
            ),
            set(q, I32.add(get(q), get(rowBytes))),
          ),
        ),
      ),
    ),
  );
  return f;
}

/** The depthwise2d function. */
export function depthwise2d(): FunctionBuilder {
  const f = new FunctionBuilder(
    "depthwise2d",
    [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
  );
  const [x, y, w, H, W, OH, OW, KH, KW, SH, DH, PH, SW, tab] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
  ];
  const oh = f.local("i32"), kh = f.local("i32"), kw = f.local("i32"), ih = f.local("i32");
  const yRow = f.local("i32"), xRow = f.local("i32"), t = f.local("i32");
  const d = f.local("i32"), e = f.local("i32"), p = f.local("i32");
  const wv = f.local("f32"), wvv = f.local("v128");
  f.emit(
    forLoop(
      oh,
      I32.const(0),
      get(OH),
      I32.const(1),
      set(yRow, I32.add(get(y), I32.shl(I32.mul(get(oh), get(OW)), I32.const(2)))),
      forLoop(
        kh,
        I32.const(0),
        get(KH),
        I32.const(1),
        set(ih, I32.add(I32.mul(get(oh), get(SH)), I32.sub(I32.mul(get(kh), get(DH)), get(PH)))),
        Ctl.if(
          I32.and(I32.geS(get(ih), I32.const(0)), I32.ltS(get(ih), get(H))),
          [
            set(xRow, I32.add(get(x), I32.shl(I32.mul(get(ih), get(W)), I32.const(2)))),
            forLoop(
              kw,
              I32.const(0),
              get(KW),
              I32.const(1),
              set(t, I32.add(get(tab), I32.mul(get(kw), I32.const(12)))),
              set(
                wv,
                F32.load(
                  I32.add(
                    get(w),
                    I32.shl(I32.add(I32.mul(get(kh), get(KW)), get(kw)), I32.const(2)),
                  ),
                ),
              ),
              set(wvv, V128.f32x4Splat(get(wv))),
              set(d, I32.add(get(yRow), I32.shl(I32.load(get(t)), I32.const(2)))),
              set(e, I32.add(get(yRow), I32.shl(I32.load(get(t), 4), I32.const(2)))),
              set(
                p,
                I32.add(
                  get(xRow),
                  I32.shl(
                    I32.add(I32.load(get(t), 8), I32.mul(I32.load(get(t)), get(SW))),
                    I32.const(2),
                  ),
                ),
              ),
              rowLoop(
                d,
                e,
                p,
                SW,
                (v) =>
                  V128.store(get(d), V128.f32x4Add(V128.load(get(d)), V128.f32x4Mul(get(wvv), v))),
                (v) => F32.store(get(d), F32.add(F32.load(get(d)), F32.mul(get(wv), v))),
              ),
            ),
          ],
        ),
      ),
    ),
  );
  return f;
}

/** The maxpool2d function. */
export function maxpool2d(): FunctionBuilder {
  const f = new FunctionBuilder(
    "maxpool2d",
    ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"],
  );
  const [x, y, H, W, OH, OW, KH, KW, SH, DH, PH, SW, tab] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
  ];
  const oh = f.local("i32"), kh = f.local("i32"), kw = f.local("i32"), ih = f.local("i32");
  const yRow = f.local("i32"), xRow = f.local("i32"), t = f.local("i32");
  const d = f.local("i32"), e = f.local("i32"), p = f.local("i32");
  const nan = f.local("v128"), best = f.local("v128"), v = f.local("v128");
  const bs = f.local("f32"), vs = f.local("f32");
  f.emit(
    set(nan, V128.f32x4Const([NaN, NaN, NaN, NaN])),
    forLoop(
      oh,
      I32.const(0),
      get(OH),
      I32.const(1),
      set(yRow, I32.add(get(y), I32.shl(I32.mul(get(oh), get(OW)), I32.const(2)))),
      // Start the row at NaN.
      set(d, get(yRow)),
      set(e, I32.add(get(yRow), I32.shl(get(OW), I32.const(2)))),
      Ctl.block(
        Ctl.brIf(0, I32.gtS(I32.add(get(d), I32.const(16)), get(e))),
        Ctl.loop(
          V128.store(get(d), get(nan)),
          set(d, I32.add(get(d), I32.const(16))),
          Ctl.brIf(0, I32.leS(I32.add(get(d), I32.const(16)), get(e))),
        ),
      ),
      Ctl.block(
        Ctl.brIf(0, I32.geU(get(d), get(e))),
        Ctl.loop(
          F32.store(get(d), F32.const(NaN)),
          set(d, I32.add(get(d), I32.const(4))),
          Ctl.brIf(0, I32.ltU(get(d), get(e))),
        ),
      ),
      forLoop(
        kh,
        I32.const(0),
        get(KH),
        I32.const(1),
        set(ih, I32.add(I32.mul(get(oh), get(SH)), I32.sub(I32.mul(get(kh), get(DH)), get(PH)))),
        Ctl.if(
          I32.and(I32.geS(get(ih), I32.const(0)), I32.ltS(get(ih), get(H))),
          [
            set(xRow, I32.add(get(x), I32.shl(I32.mul(get(ih), get(W)), I32.const(2)))),
            forLoop(
              kw,
              I32.const(0),
              get(KW),
              I32.const(1),
              set(t, I32.add(get(tab), I32.mul(get(kw), I32.const(12)))),
              set(d, I32.add(get(yRow), I32.shl(I32.load(get(t)), I32.const(2)))),
              set(e, I32.add(get(yRow), I32.shl(I32.load(get(t), 4), I32.const(2)))),
              set(
                p,
                I32.add(
                  get(xRow),
                  I32.shl(
                    I32.add(I32.load(get(t), 8), I32.mul(I32.load(get(t)), get(SW))),
                    I32.const(2),
                  ),
                ),
              ),
              rowLoop(
                d,
                e,
                p,
                SW,
                (src) => [
                  set(v, src),
                  set(best, V128.load(get(d))),
                  V128.store(
                    get(d),
                    V128.bitselect(
                      get(v),
                      get(best),
                      V128.or(V128.f32x4Gt(get(v), get(best)), V128.f32x4Ne(get(best), get(best))),
                    ),
                  ),
                ],
                (src) => [
                  set(vs, src),
                  set(bs, F32.load(get(d))),
                  F32.store(
                    get(d),
                    F32.select(
                      get(vs),
                      get(bs),
                      I32.or(F32.gt(get(vs), get(bs)), F32.ne(get(bs), get(bs))),
                    ),
                  ),
                ],
              ),
            ),
          ],
        ),
      ),
    ),
  );
  return f;
}
