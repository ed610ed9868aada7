/**
 * Generates the WebAssembly functions of the float32 GEMM: operand packing and a register-blocked
 * SIMD micro-kernel (f32x4), in the classic packed-panel design.
 *
 * - `pack_a(src, si, sk, mc, kc, dst, alpha)`: A element (i, k) at byte `src + i·si + k·sk`
 *   (any layout, transposed or not) is scaled by alpha and written as panels of MR rows:
 *   panel p holds, for each k, the MR values A[p·MR + r, k] contiguously. Rows past `mc` are
 *   zero.
 * - `pack_b(src, sj, sk, nc, kc, dst, alpha)`: the same for B element (k, j) at byte
 *   `src + j·sj + k·sk` (alpha ignored), as panels of NR columns.
 * - `kernel(mp, np, kc, pa, pb, pc, ldc, mode)`: for every MR×NR tile of the mp×np panels,
 *   C tile (row stride `ldc` bytes) = (mode & 1 ? C tile : 0) + Σ_k A panel ⊗ B panel. Every
 *   product and sum is an IEEE float32 operation (no zero skipping), so NaN and infinity
 *   propagate as in a plain loop. With mode & 2, C is int32 and the float32 sums (which must
 *   be integers, e.g. exact sums of small integer products) are converted before storing.
 *
 * All addresses are byte offsets into the module's memory (see `kernels.ts`).
 *
 * @module
 */

import { type Code, Ctl, F32, FunctionBuilder, I32, Mem, V128 } from "./emit.ts";

/** Micro-kernel shape: MR rows of A by NR = 4·NRV columns of B. */
export interface SgemmShape {
  /** Rows of the micro-tile. */
  mr: number;
  /** f32x4 vectors per micro-tile row (NR = 4·nrv columns). */
  nrv: number;
  /** Unrolling of the k loop. */
  unroll: number;
  /** Use relaxed SIMD multiply-add (fused where the hardware has FMA). */
  fma?: boolean;
}

/**
 * The default micro-kernel shape: 6×8 with relaxed multiply-add (12 accumulators, 2 B
 * vectors and a broadcast A value fit the 16 SIMD registers of x86-64), k unrolled 4 times.
 */
export const SGEMM_SHAPE: SgemmShape = { mr: 6, nrv: 2, unroll: 4, fma: true };

/** The shape used where relaxed SIMD is unavailable (without a fused multiply-add, 4×8 is faster). */
export const SGEMM_SHAPE_NO_FMA: SgemmShape = { mr: 4, nrv: 2, unroll: 2, fma: false };

const { get, set } = Ctl;

/** `for (l = start; l < end; l += step) body`, skipping the body when start >= end. */
function forLoop(l: number, start: Code, end: Code, step: Code, ...body: Code[]): Code {
  return [
    set(l, start),
    Ctl.block(
      Ctl.brIf(0, I32.geS(get(l), end)),
      Ctl.loop(
        ...body,
        set(l, I32.add(get(l), step)),
        Ctl.brIf(0, I32.ltS(get(l), end)),
      ),
    ),
  ];
}

/**
 * A packing function `(src, sw, sk, n, kc, dst, alpha)`: element (t, k) at byte
 * `src + t·sw + k·sk` for t < n, k < kc is written (times alpha when `scale`) to panels of
 * `w` consecutive t: panel p holds, for each k, the w values of t = p·w … p·w + w − 1
 * contiguously; t ≥ n reads as zero. Full panels contiguous along t (sw = 4) are copied with
 * vector loads; full panels contiguous along k (sk = 4) are transposed 4 k at a time with
 * shuffles; the rest goes element by element.
 */
function packer(name: string, w: number, scale: boolean): FunctionBuilder {
  const f = new FunctionBuilder(name, ["i32", "i32", "i32", "i32", "i32", "i32", "f32"]);
  const [src, sw, sk, n, kc, dst, alpha] = [0, 1, 2, 3, 4, 5, 6];
  const t0 = f.local("i32"), cnt = f.local("i32"), c = f.local("i32"), k = f.local("i32");
  const s = f.local("i32"), d = f.local("i32"), dEnd = f.local("i32"), panel = f.local("i32");
  const panelBytes = f.local("i32"), kEnd4 = f.local("i32");
  const alphaV = f.local("v128");
  const rowPtr: number[] = [];
  for (let r = 0; r < w; r++) rowPtr.push(f.local("i32"));
  const rows: number[] = [];
  for (let r = 0; r < w; r++) rows.push(f.local("v128"));
  const tmp = [f.local("v128"), f.local("v128"), f.local("v128"), f.local("v128")];
  const sc = (v: Code): Code => (scale ? V128.f32x4Mul(v, get(alphaV)) : v);
  const scF = (v: Code): Code => (scale ? F32.mul(v, get(alpha)) : v);
  const stride = w * 4;

  // Contiguous along t: per k, w floats from s to d.
  const alongT: Code[] = [];
  {
    let o = 0;
    for (; o + 4 <= w; o += 4) alongT.push(V128.store(get(d), sc(V128.load(get(s), 4 * o)), 4 * o));
    if (o + 2 <= w) {
      alongT.push(V128.store64Lane(get(d), sc(V128.load64Zero(get(s), 4 * o)), 0, 4 * o));
      o += 2;
    }
    if (o < w) alongT.push(F32.store(get(d), scF(F32.load(get(s), 4 * o)), 4 * o));
  }
  // Contiguous along k: 4 k of every row, transposed into 4 panel rows.
  const alongK: Code[] = [];
  for (let r = 0; r < w; r++) alongK.push(set(rows[r], sc(V128.load(get(rowPtr[r])))));
  {
    let r = 0;
    for (; r + 4 <= w; r += 4) {
      const [a, b, cc, dd] = [rows[r], rows[r + 1], rows[r + 2], rows[r + 3]];
      alongK.push(
        set(tmp[0], V128.shuffle32(get(a), get(b), [0, 4, 1, 5])),
        set(tmp[1], V128.shuffle32(get(cc), get(dd), [0, 4, 1, 5])),
        set(tmp[2], V128.shuffle32(get(a), get(b), [2, 6, 3, 7])),
        set(tmp[3], V128.shuffle32(get(cc), get(dd), [2, 6, 3, 7])),
        V128.store(get(d), V128.shuffle32(get(tmp[0]), get(tmp[1]), [0, 1, 4, 5]), 4 * r),
        V128.store(get(d), V128.shuffle32(get(tmp[0]), get(tmp[1]), [2, 3, 6, 7]), stride + 4 * r),
        V128.store(
          get(d),
          V128.shuffle32(get(tmp[2]), get(tmp[3]), [0, 1, 4, 5]),
          2 * stride + 4 * r,
        ),
        V128.store(
          get(d),
          V128.shuffle32(get(tmp[2]), get(tmp[3]), [2, 3, 6, 7]),
          3 * stride + 4 * r,
        ),
      );
    }
    if (r + 2 <= w) {
      alongK.push(
        set(tmp[0], V128.shuffle32(get(rows[r]), get(rows[r + 1]), [0, 4, 1, 5])),
        set(tmp[2], V128.shuffle32(get(rows[r]), get(rows[r + 1]), [2, 6, 3, 7])),
        V128.store64Lane(get(d), get(tmp[0]), 0, 4 * r),
        V128.store64Lane(get(d), get(tmp[0]), 1, stride + 4 * r),
        V128.store64Lane(get(d), get(tmp[2]), 0, 2 * stride + 4 * r),
        V128.store64Lane(get(d), get(tmp[2]), 1, 3 * stride + 4 * r),
      );
      r += 2;
    }
    if (r < w) {
      for (let q = 0; q < 4; q++) {
        alongK.push(V128.store32Lane(get(d), get(rows[r]), q, q * stride + 4 * r));
      }
    }
  }
  for (let r = 0; r < w; r++) alongK.push(set(rowPtr[r], I32.add(get(rowPtr[r]), I32.const(16))));
  const alongKTail: Code[] = [];
  for (let r = 0; r < w; r++) {
    alongKTail.push(
      F32.store(get(d), scF(F32.load(get(rowPtr[r]))), 4 * r),
      set(rowPtr[r], I32.add(get(rowPtr[r]), I32.const(4))),
    );
  }
  const setRowPtrs: Code[] = [];
  for (let r = 0; r < w; r++) {
    setRowPtrs.push(
      set(rowPtr[r], I32.add(get(src), I32.mul(I32.add(get(t0), I32.const(r)), get(sw)))),
    );
  }

  f.emit(
    set(alphaV, V128.f32x4Splat(get(alpha))),
    set(panelBytes, I32.mul(get(kc), I32.const(stride))),
    set(kEnd4, I32.sub(get(kc), I32.const(3))),
    set(panel, get(dst)),
    forLoop(
      t0,
      I32.const(0),
      get(n),
      I32.const(w),
      set(cnt, I32.sub(get(n), get(t0))),
      set(d, get(panel)),
      set(dEnd, I32.add(get(d), get(panelBytes))),
      Ctl.if(
        I32.and(I32.geS(get(cnt), I32.const(w)), I32.eq(get(sw), I32.const(4))),
        [
          set(s, I32.add(get(src), I32.shl(get(t0), I32.const(2)))),
          Ctl.loop(
            ...alongT,
            set(s, I32.add(get(s), get(sk))),
            set(d, I32.add(get(d), I32.const(stride))),
            Ctl.brIf(0, I32.ltU(get(d), get(dEnd))),
          ),
        ],
        Ctl.if(
          I32.and(I32.geS(get(cnt), I32.const(w)), I32.eq(get(sk), I32.const(4))),
          [
            ...setRowPtrs,
            forLoop(
              k,
              I32.const(0),
              get(kEnd4),
              I32.const(4),
              ...alongK,
              set(d, I32.add(get(d), I32.const(4 * stride))),
            ),
            Ctl.block(
              Ctl.brIf(0, I32.geU(get(d), get(dEnd))),
              Ctl.loop(
                ...alongKTail,
                set(d, I32.add(get(d), I32.const(stride))),
                Ctl.brIf(0, I32.ltU(get(d), get(dEnd))),
              ),
            ),
          ],
          [
            Ctl.if(I32.geS(get(cnt), I32.const(w)), set(cnt, I32.const(w)), [
              Mem.fill(get(panel), I32.const(0), get(panelBytes)),
            ]),
            forLoop(
              c,
              I32.const(0),
              get(cnt),
              I32.const(1),
              set(s, I32.add(get(src), I32.mul(I32.add(get(t0), get(c)), get(sw)))),
              set(d, I32.add(get(panel), I32.shl(get(c), I32.const(2)))),
              set(dEnd, I32.add(get(d), get(panelBytes))),
              Ctl.loop(
                F32.store(get(d), scF(F32.load(get(s)))),
                set(s, I32.add(get(s), get(sk))),
                set(d, I32.add(get(d), I32.const(stride))),
                Ctl.brIf(0, I32.ltU(get(d), get(dEnd))),
              ),
            ),
          ],
        ),
      ),
      set(panel, I32.add(get(panel), get(panelBytes))),
    ),
  );
  return f;
}

function kernel(shape: SgemmShape): FunctionBuilder {
  const { mr, nrv, unroll } = shape;
  const nr = 4 * nrv;
  const f = new FunctionBuilder("kernel", [
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
  ]);
  const [mp, np, kc, pa, pb, pc, ldc, mode] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i = f.local("i32"), j = f.local("i32");
  const paI = f.local("i32"), pbJ = f.local("i32"), pcJ = f.local("i32"), pcIJ = f.local("i32");
  const ap = f.local("i32"), bp = f.local("i32"), bEnd = f.local("i32"), bEndU = f.local("i32");
  const aPanelBytes = f.local("i32"), bPanelBytes = f.local("i32"), cRow = f.local("i32");
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) {
    acc.push([]);
    for (let v = 0; v < nrv; v++) acc[r].push(f.local("v128"));
  }
  const bv: number[] = [];
  for (let v = 0; v < nrv; v++) bv.push(f.local("v128"));
  const av = f.local("v128");
  /** One k step at constant offsets (u-th step of an unrolled group). */
  const step = (u: number): Code[] => {
    const out: Code[] = [];
    for (let v = 0; v < nrv; v++) out.push(set(bv[v], V128.load(get(bp), u * nr * 4 + 16 * v)));
    for (let r = 0; r < mr; r++) {
      out.push(set(av, V128.load32Splat(get(ap), u * mr * 4 + r * 4)));
      for (let v = 0; v < nrv; v++) {
        out.push(set(
          acc[r][v],
          shape.fma
            ? V128.f32x4RelaxedMadd(get(av), get(bv[v]), get(acc[r][v]))
            : V128.f32x4Add(get(acc[r][v]), V128.f32x4Mul(get(av), get(bv[v]))),
        ));
      }
    }
    return out;
  };
  const unrolled: Code[] = [];
  for (let u = 0; u < unroll; u++) unrolled.push(...step(u));
  const zero: Code[] = [];
  for (let r = 0; r < mr; r++) for (let v = 0; v < nrv; v++) zero.push(set(acc[r][v], V128.zero()));
  // Stores by mode: f32 plain, f32 add, i32 plain, i32 add.
  const stores: Code[][] = [[], [], [], []];
  for (const st of stores) st.push(set(cRow, get(pcIJ)));
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nrv; v++) {
      const o = 16 * v;
      const x = get(acc[r][v]);
      stores[0].push(V128.store(get(cRow), x, o));
      stores[1].push(V128.store(get(cRow), V128.f32x4Add(V128.load(get(cRow), o), x), o));
      stores[2].push(V128.store(get(cRow), V128.i32x4TruncSatF32x4S(x), o));
      stores[3].push(
        V128.store(
          get(cRow),
          V128.i32x4Add(V128.load(get(cRow), o), V128.i32x4TruncSatF32x4S(x)),
          o,
        ),
      );
    }
    if (r + 1 < mr) { for (const st of stores) st.push(set(cRow, I32.add(get(cRow), get(ldc)))); }
  }
  f.emit(
    set(aPanelBytes, I32.mul(get(kc), I32.const(mr * 4))),
    set(bPanelBytes, I32.mul(get(kc), I32.const(nr * 4))),
    set(pbJ, get(pb)),
    set(pcJ, get(pc)),
    forLoop(
      j,
      I32.const(0),
      get(np),
      I32.const(1),
      set(paI, get(pa)),
      set(pcIJ, get(pcJ)),
      set(bEnd, I32.add(get(pbJ), get(bPanelBytes))),
      set(bEndU, I32.sub(get(bEnd), I32.const((unroll - 1) * nr * 4))),
      forLoop(
        i,
        I32.const(0),
        get(mp),
        I32.const(1),
        ...zero,
        set(ap, get(paI)),
        set(bp, get(pbJ)),
        // Unrolled groups while a whole group fits, then single steps.
        Ctl.block(
          Ctl.brIf(0, I32.geS(get(bp), get(bEndU))),
          Ctl.loop(
            ...unrolled,
            set(ap, I32.add(get(ap), I32.const(unroll * mr * 4))),
            set(bp, I32.add(get(bp), I32.const(unroll * nr * 4))),
            Ctl.brIf(0, I32.ltS(get(bp), get(bEndU))),
          ),
        ),
        Ctl.block(
          Ctl.brIf(0, I32.geS(get(bp), get(bEnd))),
          Ctl.loop(
            ...step(0),
            set(ap, I32.add(get(ap), I32.const(mr * 4))),
            set(bp, I32.add(get(bp), I32.const(nr * 4))),
            Ctl.brIf(0, I32.ltU(get(bp), get(bEnd))),
          ),
        ),
        Ctl.if(
          I32.and(get(mode), I32.const(2)),
          Ctl.if(I32.and(get(mode), I32.const(1)), stores[3], stores[2]),
          Ctl.if(I32.and(get(mode), I32.const(1)), stores[1], stores[0]),
        ),
        set(paI, I32.add(get(paI), get(aPanelBytes))),
        set(pcIJ, I32.add(get(pcIJ), I32.mul(get(ldc), I32.const(mr)))),
      ),
      set(pbJ, I32.add(get(pbJ), get(bPanelBytes))),
      set(pcJ, I32.add(get(pcJ), I32.const(nr * 4))),
    ),
  );
  return f;
}

/**
 * `gemm_tiles(counter, tilesN, tiles, mt, nt, M, N, K, a, aSi, aSk, alpha, b, bSj, bSk, pa,
 * pb, pc, ldc, betaNonzero, kcMax, intMode)`: takes tiles of C (mt rows × nt columns; tile t is row
 * block t / tilesN, column block t % tilesN) by atomically incrementing the i32 at `counter`
 * until `tiles` are taken, and computes each: for each K block of kcMax, pack the tile's rows
 * of alpha·A (element (i, k) at `a + i·aSi + k·aSk`) into `pa` and its columns of B into `pb`
 * (this caller's own buffers), then run the micro-kernels. C has row stride `ldc` bytes and
 * room for whole tiles (rows and columns padded to MR and NR). Several threads can run it at
 * once on one problem; each C element is computed by one caller in a fixed order, so results
 * do not depend on how tiles are shared. With intMode 1, C is int32 and each K block's float32
 * sums are added to it as integers (exact when every block's sums are exact). Calls
 * functions 0–2 (`pack_a`, `pack_b`, `kernel`).
 */
function gemmTiles(shape: SgemmShape): FunctionBuilder {
  const { mr } = shape;
  const nr = 4 * shape.nrv;
  const types = new Array<"i32" | "f32">(22).fill("i32");
  types[11] = "f32";
  const f = new FunctionBuilder("gemm_tiles", types);
  const [counter, tilesN, tiles, mt, nt, M, N, K, a, aSi, aSk, alpha, b, bSj, bSk, pa, pb, pc] =
    Array.from({ length: 18 }, (_, i) => i);
  const [ldc, betaNz, kcMax, intMode] = [18, 19, 20, 21];
  const t = f.local("i32"), i0 = f.local("i32"), j0 = f.local("i32"), mc = f.local("i32");
  const nc = f.local("i32"), p = f.local("i32"), kc = f.local("i32");
  const min = (x: Code, y: Code): Code => I32.select(x, y, I32.ltS(x, y));
  f.emit(
    Ctl.block(
      Ctl.loop(
        set(t, I32.atomicAdd(get(counter), I32.const(1))),
        Ctl.brIf(1, I32.geS(get(t), get(tiles))),
        set(i0, I32.mul(I32.divU(get(t), get(tilesN)), get(mt))),
        set(j0, I32.mul(I32.remU(get(t), get(tilesN)), get(nt))),
        set(mc, min(get(mt), I32.sub(get(M), get(i0)))),
        set(nc, min(get(nt), I32.sub(get(N), get(j0)))),
        set(p, I32.const(0)),
        Ctl.loop(
          set(kc, min(get(kcMax), I32.sub(get(K), get(p)))),
          Ctl.call(
            0,
            I32.add(get(a), I32.add(I32.mul(get(i0), get(aSi)), I32.mul(get(p), get(aSk)))),
            get(aSi),
            get(aSk),
            get(mc),
            get(kc),
            get(pa),
            get(alpha),
          ),
          Ctl.call(
            1,
            I32.add(get(b), I32.add(I32.mul(get(p), get(bSk)), I32.mul(get(j0), get(bSj)))),
            get(bSj),
            get(bSk),
            get(nc),
            get(kc),
            get(pb),
            F32.const(1),
          ),
          Ctl.call(
            2,
            I32.divU(I32.add(get(mc), I32.const(mr - 1)), I32.const(mr)),
            I32.divU(I32.add(get(nc), I32.const(nr - 1)), I32.const(nr)),
            get(kc),
            get(pa),
            get(pb),
            I32.add(get(pc), I32.add(I32.mul(get(i0), get(ldc)), I32.shl(get(j0), I32.const(2)))),
            get(ldc),
            I32.or(
              I32.or(I32.gtS(get(p), I32.const(0)), get(betaNz)),
              I32.shl(get(intMode), I32.const(1)),
            ),
          ),
          set(p, I32.add(get(p), get(kcMax))),
          Ctl.brIf(0, I32.ltS(get(p), get(K))),
        ),
        Ctl.br(0),
      ),
    ),
  );
  return f;
}

/**
 * The GEMM functions for a micro-kernel shape: `pack_a`, `pack_b`, `kernel`, `gemm_tiles`,
 * which must be functions 0–3 of the module (`gemm_tiles` calls 1 and 2).
 */
export function buildSgemmFunctions(shape: SgemmShape = SGEMM_SHAPE): FunctionBuilder[] {
  return [
    packer("pack_a", shape.mr, true),
    packer("pack_b", 4 * shape.nrv, false),
    kernel(shape),
    gemmTiles(shape),
  ];
}
