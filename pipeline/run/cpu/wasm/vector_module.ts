/**
 * WebAssembly elementwise float32 functions for the module built by `kernels.ts`, branch-free
 * with SIMD (the plain loops in TypeScript mispredict on data-dependent selects):
 *
 * - `relu(p, n)`: in place, `max(x, 0)` with NaN kept and −0 → +0 (as the Relu kernel).
 * - `clip(p, n, lo, hi)`: in place, `m = x < lo ? lo : x; m > hi ? hi : m` (as Clip: NaN
 *   kept, every value becomes hi when lo > hi).
 *
 * - `minmax(p, n, out)`: min and max of 0 and the n floats (NaN ignored) as two float32 at
 *   `out`, scanning as `v < mn` / `v > mx` do.
 * - `quantize_u8(src, dst, n, scale, zp)`: dst[i] = clamp(roundHalfEven(src[i] / scale) + zp,
 *   0, 255) (float32 division; NaN → 0), as DynamicQuantizeLinear.
 *
 * `p` is a byte address, `n` a count of floats.
 *
 * @module
 */

import { type Code, Ctl, F32, FunctionBuilder, I32, V128 } from "./emit.ts";

const { get, set } = Ctl;

/** A loop over n floats at p: `vec(addr)` per 4 floats, `one(addr)` for the tail. */
function overFloats(
  f: FunctionBuilder,
  p: number,
  n: number,
  vec: (addr: Code) => Code,
  one: (addr: Code) => Code,
): Code {
  const a = f.local("i32"), end = f.local("i32"), end4 = f.local("i32");
  return [
    set(a, get(p)),
    set(end, I32.add(get(p), I32.shl(get(n), I32.const(2)))),
    set(end4, I32.sub(get(end), I32.const(12))),
    Ctl.block(
      Ctl.brIf(0, I32.geS(get(a), get(end4))),
      Ctl.loop(
        vec(get(a)),
        set(a, I32.add(get(a), I32.const(16))),
        Ctl.brIf(0, I32.ltS(get(a), get(end4))),
      ),
    ),
    Ctl.block(
      Ctl.brIf(0, I32.geS(get(a), get(end))),
      Ctl.loop(
        one(get(a)),
        set(a, I32.add(get(a), I32.const(4))),
        Ctl.brIf(0, I32.ltS(get(a), get(end))),
      ),
    ),
  ];
}

/** The relu function. */
export function reluFunction(): FunctionBuilder {
  const f = new FunctionBuilder("relu", ["i32", "i32"]);
  const zero = f.local("v128");
  f.emit(
    set(zero, V128.zero()),
    overFloats(
      f,
      0,
      1,
      (a) => V128.store(a, V128.f32x4Max(V128.load(a), get(zero))),
      (a) => F32.store(a, F32.max(F32.load(a), F32.const(0))),
    ),
  );
  return f;
}

/** The clip function. */
export function clipFunction(): FunctionBuilder {
  const f = new FunctionBuilder("clip", ["i32", "i32", "f32", "f32"]);
  const [lo, hi] = [2, 3];
  const lov = f.local("v128"), hiv = f.local("v128"), m = f.local("f32");
  f.emit(
    set(lov, V128.f32x4Splat(get(lo))),
    set(hiv, V128.f32x4Splat(get(hi))),
    overFloats(
      f,
      0,
      1,
      (a) => V128.store(a, V128.f32x4Pmin(V128.f32x4Pmax(V128.load(a), get(lov)), get(hiv))),
      (a) => [
        set(m, F32.load(a)),
        set(m, F32.select(get(lo), get(m), F32.lt(get(m), get(lo)))),
        F32.store(a, F32.select(get(hi), get(m), F32.lt(get(hi), get(m)))),
      ],
    ),
  );
  return f;
}

/** The minmax function. */
export function minmaxFunction(): FunctionBuilder {
  const f = new FunctionBuilder("minmax", ["i32", "i32", "i32"]);
  const out = 2;
  const mn = f.local("v128"), mx = f.local("v128"), v = f.local("v128");
  const smn = f.local("f32"), smx = f.local("f32"), sv = f.local("f32");
  const reduce: Code[] = [];
  for (let l = 0; l < 4; l++) {
    reduce.push(
      set(sv, V128.f32x4ExtractLane(get(mn), l)),
      set(smn, F32.select(get(sv), get(smn), F32.lt(get(sv), get(smn)))),
      set(sv, V128.f32x4ExtractLane(get(mx), l)),
      set(smx, F32.select(get(sv), get(smx), F32.gt(get(sv), get(smx)))),
    );
  }
  f.emit(
    set(mn, V128.zero()),
    set(mx, V128.zero()),
    set(smn, F32.const(0)),
    set(smx, F32.const(0)),
    overFloats(
      f,
      0,
      1,
      (a) => [
        set(v, V128.load(a)),
        set(mn, V128.f32x4Pmin(get(mn), get(v))),
        set(mx, V128.f32x4Pmax(get(mx), get(v))),
      ],
      (a) => [
        set(sv, F32.load(a)),
        set(smn, F32.select(get(sv), get(smn), F32.lt(get(sv), get(smn)))),
        set(smx, F32.select(get(sv), get(smx), F32.gt(get(sv), get(smx)))),
      ],
    ),
    ...reduce,
    F32.store(get(out), get(smn)),
    F32.store(get(out), get(smx), 4),
  );
  return f;
}

/** The quantize_u8 function. */
export function quantizeU8Function(): FunctionBuilder {
  const f = new FunctionBuilder("quantize_u8", ["i32", "i32", "i32", "f32", "f32"]);
  const [src, dst, n, scale, zp] = [0, 1, 2, 3, 4];
  const sv = f.local("v128"), zv = f.local("v128"), lo = f.local("v128"), hi = f.local("v128");
  const s = f.local("i32"), d = f.local("i32"), end = f.local("i32"), x = f.local("f32");
  const q = (o: number): Code =>
    V128.i32x4TruncSatF32x4S(
      V128.f32x4Pmin(
        V128.f32x4Pmax(
          V128.f32x4Add(V128.f32x4Nearest(V128.f32x4Div(V128.load(get(s), o), get(sv))), get(zv)),
          get(lo),
        ),
        get(hi),
      ),
    );
  f.emit(
    set(sv, V128.f32x4Splat(get(scale))),
    set(zv, V128.f32x4Splat(get(zp))),
    set(lo, V128.zero()),
    set(hi, V128.f32x4Splat(F32.const(255))),
    set(s, get(src)),
    set(d, get(dst)),
    set(end, I32.add(get(dst), get(n))),
    Ctl.block(
      Ctl.brIf(0, I32.gtS(I32.add(get(d), I32.const(16)), get(end))),
      Ctl.loop(
        V128.store(
          get(d),
          V128.i8x16NarrowI16x8U(
            V128.i16x8NarrowI32x4U(q(0), q(16)),
            V128.i16x8NarrowI32x4U(q(32), q(48)),
          ),
        ),
        set(s, I32.add(get(s), I32.const(64))),
        set(d, I32.add(get(d), I32.const(16))),
        Ctl.brIf(0, I32.leS(I32.add(get(d), I32.const(16)), get(end))),
      ),
    ),
    Ctl.block(
      Ctl.brIf(0, I32.geS(get(d), get(end))),
      Ctl.loop(
        set(x, F32.add(F32.nearest(F32.div(F32.load(get(s)), get(scale))), get(zp))),
        // x < 0 ? 0 : x, then 255 < x ? 255 : x (NaN stays NaN and truncates to 0).
        set(x, F32.select(F32.const(0), get(x), F32.lt(get(x), F32.const(0)))),
        set(x, F32.select(F32.const(255), get(x), F32.lt(F32.const(255), get(x)))),
        I32.store8(get(d), F32.truncSatI32(get(x))),
        set(s, I32.add(get(s), I32.const(4))),
        set(d, I32.add(get(d), I32.const(1))),
        Ctl.brIf(0, I32.ltS(get(d), get(end))),
      ),
    ),
  );
  return f;
}
