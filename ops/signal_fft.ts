/**
 * FFT plans for the signal operators, computing exactly like pocketfft (the C++ FFT inside
 * numpy ≥ 2), in single or double precision.
 *
 * The ONNX reference outputs for DFT and STFT come from numpy's FFT. To reproduce them bit for
 * bit this module follows pocketfft's algorithm step by step: the same factorization (complex:
 * 8s, 4s, a lone 2 moved to the front, then odd primes in increasing order; real: the same
 * without 8), the same twiddle factors (cos/sin evaluated in double at multiples of an angle
 * π/(4n) that is rounded the way an x86 `long double` division rounds, then combined from two
 * small tables in double and rounded to the working precision), the same butterflies (complex
 * radix 2, 3, 4, 5, 7, 8, 11 and a generic odd prime; real radix 2, 3, 4, 5 and generic, in
 * FFTPACK's half-complex layout), Bluestein's algorithm exactly where pocketfft's cost
 * heuristic picks it, and the normalization factor applied once at the end. In "float32"
 * precision every intermediate result is rounded with `Math.fround` in the order pocketfft
 * evaluates it — a sum or product of two float32 values computed in double and then rounded
 * equals the float32 operation — so results match a float32 C++ build without fused
 * multiply-add. In "float64" precision the same code runs in double; it can differ from numpy
 * in the last bit where the C library's sin/cos (glibc's are not always correctly rounded)
 * and V8's disagree on a twiddle seed.
 *
 * Data layout: complex arrays are interleaved (re, im) in a Float64Array of length 2n; real
 * transforms use FFTPACK's half-complex order r0, r1, i1, r2, i2, …, [r(n/2)] in place.
 *
 * @module
 */

/** Working precision of an FFT plan. */
export type FftPrecision = "float32" | "float64";

/**
 * Rounding to the working precision. A method on one of two classes rather than a function
 * value: call sites then see two receiver shapes, which V8 still inlines, where a call through
 * a variable holding either Math.fround or an identity function would not be.
 */
interface Rounding {
  r(x: number): number;
}

class Float32Rounding implements Rounding {
  r(x: number): number {
    return Math.fround(x);
  }
}

class Float64Rounding implements Rounding {
  r(x: number): number {
    return x;
  }
}

function rounder(precision: FftPrecision): Rounding {
  return precision === "float32" ? new Float32Rounding() : new Float64Rounding();
}

// ---------------------------------------------------------------------------------------------
// Integer helpers (pocketfft's util)

function largestPrimeFactor(n: number): number {
  let res = 1;
  while (n % 2 === 0) {
    res = 2;
    n /= 2;
  }
  for (let x = 3; x * x <= n; x += 2) {
    while (n % x === 0) {
      res = x;
      n /= x;
    }
  }
  if (n > 1) res = n;
  return res;
}

function costGuess(n: number): number {
  const lfp = 1.1; // penalty for factors without a dedicated pass
  const ni = n;
  let result = 0;
  while (n % 2 === 0) {
    result += 2;
    n /= 2;
  }
  for (let x = 3; x * x <= n; x += 2) {
    while (n % x === 0) {
      result += x <= 5 ? x : lfp * x;
      n /= x;
    }
  }
  if (n > 1) result += n <= 5 ? n : lfp * n;
  return result * ni;
}

/** Smallest 2·3·5·7·11-smooth number ≥ n. */
function goodSizeComplex(n: number): number {
  if (n <= 12) return n;
  let best = 2 * n;
  for (let f11 = 1; f11 < best; f11 *= 11) {
    for (let f117 = f11; f117 < best; f117 *= 7) {
      for (let f1175 = f117; f1175 < best; f1175 *= 5) {
        let x = f1175;
        while (x < n) x *= 2;
        for (;;) {
          if (x < n) x *= 3;
          else if (x > n) {
            if (x < best) best = x;
            if (x % 2 === 1) break;
            x /= 2;
          } else return n;
        }
      }
    }
  }
  return best;
}

/** Whether pocketfft uses Bluestein's algorithm for a transform of length n. */
function useBluestein(n: number, real: boolean): boolean {
  const lpf = n < 50 ? 0 : largestPrimeFactor(n);
  if (lpf * lpf <= n) return false;
  const comp1 = (real ? 0.5 : 1) * costGuess(n);
  const comp2 = 2 * costGuess(goodSizeComplex(2 * n - 1)) * 1.5;
  return comp2 < comp1;
}

// ---------------------------------------------------------------------------------------------
// Twiddle factors (pocketfft's sincos_2pibyn)

/** π rounded to the 64-bit significand of an x87 long double, as an integer times 2^-62. */
const PI_LD_SIGNIFICAND = 0xC90FDAA22168C235n;

function bitLength(x: bigint): number {
  return x.toString(2).length;
}

/** Rounds the positive integer q (plus a nonzero tail when `sticky`) to `bits` significant bits. */
function roundBits(q: bigint, sticky: boolean, bits: number): { m: bigint; shift: number } {
  const len = bitLength(q);
  if (len <= bits) return { m: q, shift: 0 };
  const drop = len - bits;
  let m = q >> BigInt(drop);
  const rem = q & ((1n << BigInt(drop)) - 1n);
  const half = 1n << BigInt(drop - 1);
  if (rem > half || (rem === half && (sticky || (m & 1n) === 1n))) m += 1n;
  return { m, shift: drop };
}

/**
 * The double nearest to the x87 long double quotient `0.25L*π/n` (pocketfft's `ang`): the
 * division rounds to a 64-bit significand, the conversion to double rounds again.
 */
function quarterPiOver(n: number): number {
  const N = BigInt(n);
  const s = 70 + bitLength(N);
  const num = PI_LD_SIGNIFICAND << BigInt(s);
  const q = num / N;
  const sticky = num % N !== 0n;
  const ld = roundBits(q, sticky, 64);
  const d = roundBits(ld.m, false, 53);
  // value = d.m · 2^(d.shift + ld.shift − s − 64)
  return Number(d.m) * Math.pow(2, d.shift + ld.shift - s - 64);
}

/** exp(2πi·k/n) for 0 ≤ k < n, as pocketfft computes it, rounded to the working precision. */
class SinCos2PiByN {
  readonly n: number;
  #mask: number;
  #shift: number;
  #v1: Float64Array;
  #v2: Float64Array;
  #r: Rounding;

  constructor(n: number, rd: Rounding) {
    this.n = n;
    this.#r = rd;
    const ang = quarterPiOver(n);
    const nval = Math.floor((n + 2) / 2);
    let shift = 1;
    while (2 ** shift * 2 ** shift < nval) ++shift;
    this.#shift = shift;
    const size1 = 2 ** shift;
    this.#mask = size1 - 1;
    const v1 = new Float64Array(2 * size1);
    v1[0] = 1;
    for (let i = 1; i < size1; i++) SinCos2PiByN.#calc(i, n, ang, v1, 2 * i);
    const size2 = Math.floor((nval + this.#mask) / size1);
    const v2 = new Float64Array(2 * Math.max(1, size2));
    v2[0] = 1;
    for (let i = 1; i < size2; i++) SinCos2PiByN.#calc(i * size1, n, ang, v2, 2 * i);
    this.#v1 = v1;
    this.#v2 = v2;
  }

  static #calc(x: number, n: number, ang: number, out: Float64Array, o: number): void {
    x *= 8;
    let re: number, im: number;
    if (x < 4 * n) { // first half
      if (x < 2 * n) { // first quadrant
        if (x < n) {
          re = Math.cos(x * ang);
          im = Math.sin(x * ang);
        } else {
          re = Math.sin((2 * n - x) * ang);
          im = Math.cos((2 * n - x) * ang);
        }
      } else { // second quadrant
        x -= 2 * n;
        if (x < n) {
          re = -Math.sin(x * ang);
          im = Math.cos(x * ang);
        } else {
          re = -Math.cos((2 * n - x) * ang);
          im = Math.sin((2 * n - x) * ang);
        }
      }
    } else {
      x = 8 * n - x;
      if (x < 2 * n) { // third quadrant
        if (x < n) {
          re = Math.cos(x * ang);
          im = -Math.sin(x * ang);
        } else {
          re = Math.sin((2 * n - x) * ang);
          im = -Math.cos((2 * n - x) * ang);
        }
      } else { // fourth quadrant
        x -= 2 * n;
        if (x < n) {
          re = -Math.sin(x * ang);
          im = -Math.cos(x * ang);
        } else {
          re = -Math.cos((2 * n - x) * ang);
          im = -Math.sin((2 * n - x) * ang);
        }
      }
    }
    out[o] = re;
    out[o + 1] = im;
  }

  /** Writes exp(2πi·idx/n) to out[o] (re) and out[o + 1] (im). */
  at(idx: number, out: Float64Array, o: number): void {
    const rd = this.#r;
    const v1 = this.#v1, v2 = this.#v2;
    let neg = false;
    if (2 * idx > this.n) {
      idx = this.n - idx;
      neg = true;
    }
    const a = 2 * (idx % (this.#mask + 1));
    const b = 2 * Math.floor(idx / (this.#mask + 1));
    const x1r = v1[a], x1i = v1[a + 1], x2r = v2[b], x2i = v2[b + 1];
    out[o] = rd.r(x1r * x2r - x1i * x2i);
    const im = rd.r(x1r * x2i + x1i * x2r);
    out[o + 1] = neg ? -im : im;
  }
}

// ---------------------------------------------------------------------------------------------
// Complex mixed-radix FFT (pocketfft's cfftp)

/** cos and sin of 2πk/p for the hard-coded odd radices, as pocketfft spells them. */
const ODD_CONSTANTS: Record<number, number[]> = {
  3: [-0.5, 0.8660254037844386],
  5: [0.30901699437494745, 0.9510565162951535, -0.8090169943749475, 0.5877852522924731],
  7: [
    0.6234898018587335,
    0.7818314824680298,
    -0.2225209339563144,
    0.9749279121818236,
    -0.9009688679024191,
    0.4338837391175581,
  ],
  11: [
    0.8412535328311812,
    0.5406408174555976,
    0.41541501300188644,
    0.9096319953545183,
    -0.14231483827328514,
    0.9898214418809327,
    -0.6548607339452851,
    0.7557495743542583,
    -0.9594929736144974,
    0.28173255684142967,
  ],
};
const HSQT2 = 0.7071067811865476;
const SQRT2 = 1.4142135623730951;

/**
 * Coefficient tables of a hard-coded odd radix p = 2m + 1: for output pair (u, p − u) and
 * input pair j, x[(u−1)m + j−1] = cos(2πuj/p) and y[…] = ±sin(2πuj/p) (sign of the
 * direction folded in), both rounded to the working precision.
 */
function oddTables(p: number, fwd: boolean, rd: Rounding): { x: Float64Array; y: Float64Array } {
  const consts = ODD_CONSTANTS[p];
  const m = (p - 1) / 2;
  const x = new Float64Array(m * m);
  const y = new Float64Array(m * m);
  const s = fwd ? -1 : 1;
  for (let u = 1; u <= m; u++) {
    for (let j = 1; j <= m; j++) {
      const idx = (u * j) % p;
      const k = idx <= m ? idx : p - idx;
      const c = rd.r(consts[2 * k - 2]);
      const sn = s * rd.r(consts[2 * k - 1]);
      x[(u - 1) * m + j - 1] = c;
      y[(u - 1) * m + j - 1] = idx <= m ? sn : -sn;
    }
  }
  return { x, y };
}

interface ComplexFactor {
  ip: number;
  /** Twiddles WA(x, i) at complex index i − 1 + x·(ido − 1), interleaved. */
  tw: Float64Array;
  /** exp(2πij/ip) for the generic pass (ip > 11), interleaved. */
  tws?: Float64Array;
}

class Cfftp {
  readonly length: number;
  readonly #r: Rounding;
  readonly #fact: ComplexFactor[] = [];
  readonly #ch: Float64Array;
  readonly #odd = new Map<number, { x: Float64Array; y: Float64Array }>();
  readonly #scratch: Float64Array;

  constructor(length: number, rd: Rounding) {
    this.length = length;
    this.#r = rd;
    this.#ch = new Float64Array(2 * length);
    if (length === 1) {
      this.#scratch = new Float64Array(0);
      return;
    }
    const ips = Cfftp.factorize(length);
    const tw = new SinCos2PiByN(length, rd);
    let l1 = 1;
    let maxOdd = 0;
    for (const ip of ips) {
      const ido = length / (l1 * ip);
      const t = new Float64Array(2 * (ip - 1) * (ido - 1));
      for (let j = 1; j < ip; j++) {
        for (let i = 1; i < ido; i++) tw.at(j * l1 * i, t, 2 * ((j - 1) * (ido - 1) + i - 1));
      }
      const f: ComplexFactor = { ip, tw: t };
      if (ip > 11) {
        const tws = new Float64Array(2 * ip);
        for (let j = 0; j < ip; j++) tw.at(j * l1 * ido, tws, 2 * j);
        f.tws = tws;
      }
      this.#fact.push(f);
      l1 *= ip;
      if (ip in ODD_CONSTANTS) maxOdd = Math.max(maxOdd, ip);
    }
    this.#scratch = new Float64Array(4 * Math.max(1, (maxOdd - 1) / 2 + 1));
  }

  /** pocketfft's complex factor order: 8s, 4s, a lone 2 swapped to the front, odd primes. */
  static factorize(length: number): number[] {
    const fact: number[] = [];
    let len = length;
    while (len % 8 === 0) {
      fact.push(8);
      len /= 8;
    }
    while (len % 4 === 0) {
      fact.push(4);
      len /= 4;
    }
    if (len % 2 === 0) {
      len /= 2;
      fact.push(2);
      const t = fact[0];
      fact[0] = fact[fact.length - 1];
      fact[fact.length - 1] = t;
    }
    for (let d = 3; d * d <= len; d += 2) {
      while (len % d === 0) {
        fact.push(d);
        len /= d;
      }
    }
    if (len > 1) fact.push(len);
    return fact;
  }

  #oddTables(p: number, fwd: boolean) {
    const key = fwd ? p : -p;
    let t = this.#odd.get(key);
    if (!t) {
      t = oddTables(p, fwd, this.#r);
      this.#odd.set(key, t);
    }
    return t;
  }

  /** Transforms c (interleaved, length 2·length) in place and multiplies by fct. */
  exec(c: Float64Array, fct: number, fwd: boolean): void {
    const rd = this.#r;
    const n = this.length;
    if (n === 1) {
      c[0] = rd.r(c[0] * fct);
      c[1] = rd.r(c[1] * fct);
      return;
    }
    let l1 = 1;
    let p1 = c, p2 = this.#ch;
    for (const f of this.#fact) {
      const ip = f.ip;
      const l2 = ip * l1;
      const ido = n / l2;
      if (ip === 4) this.#pass4(ido, l1, p1, p2, f.tw, fwd);
      else if (ip === 8) this.#pass8(ido, l1, p1, p2, f.tw, fwd);
      else if (ip === 2) this.#pass2(ido, l1, p1, p2, f.tw, fwd);
      else if (ip <= 11) this.#passOdd(ip, ido, l1, p1, p2, f.tw, fwd);
      else {
        this.#passg(ido, ip, l1, p1, p2, f.tw, f.tws!, fwd);
        const t = p1;
        p1 = p2;
        p2 = t;
      }
      const t = p1;
      p1 = p2;
      p2 = t;
      l1 = l2;
    }
    if (p1 !== c) {
      if (fct !== 1) { for (let i = 0; i < 2 * n; i++) c[i] = rd.r(p1[i] * fct); }
      else c.set(p1);
    } else if (fct !== 1) {
      for (let i = 0; i < 2 * n; i++) c[i] = rd.r(c[i] * fct);
    }
  }

  /** res = special_mul<fwd>(v, w): v·conj(w) forward, v·w backward. */
  #twiddle(
    vr: number,
    vi: number,
    wa: Float64Array,
    w: number,
    out: Float64Array,
    o: number,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    const wr = wa[w], wi = wa[w + 1];
    if (fwd) {
      out[o] = rd.r(rd.r(vr * wr) + rd.r(vi * wi));
      out[o + 1] = rd.r(rd.r(vi * wr) - rd.r(vr * wi));
    } else {
      out[o] = rd.r(rd.r(vr * wr) - rd.r(vi * wi));
      out[o + 1] = rd.r(rd.r(vr * wi) + rd.r(vi * wr));
    }
  }

  /** Stores v at ch[o] for i = 0 or x < 0, else v twiddled with WA(x, i). */
  #put(
    ido: number,
    i: number,
    vr: number,
    vi: number,
    o: number,
    x: number,
    wa: Float64Array,
    ch: Float64Array,
    fwd: boolean,
  ): void {
    if (i === 0 || x < 0) {
      ch[o] = vr;
      ch[o + 1] = vi;
    } else this.#twiddle(vr, vi, wa, 2 * (i - 1 + x * (ido - 1)), ch, o, fwd);
  }

  #pass2(
    ido: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const a = 2 * (i + ido * 2 * k), b = 2 * (i + ido * (1 + 2 * k));
        const h0 = 2 * (i + ido * k), h1 = 2 * (i + ido * (k + l1));
        ch[h0] = rd.r(cc[a] + cc[b]);
        ch[h0 + 1] = rd.r(cc[a + 1] + cc[b + 1]);
        const dr = rd.r(cc[a] - cc[b]), di = rd.r(cc[a + 1] - cc[b + 1]);
        if (i === 0) {
          ch[h1] = dr;
          ch[h1 + 1] = di;
        } else this.#twiddle(dr, di, wa, 2 * (i - 1), ch, h1, fwd);
      }
    }
  }

  #pass4(
    ido: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    const cdim = 4;
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const c0 = 2 * (i + ido * (0 + cdim * k)), c1 = 2 * (i + ido * (1 + cdim * k));
        const c2 = 2 * (i + ido * (2 + cdim * k)), c3 = 2 * (i + ido * (3 + cdim * k));
        const t2r = rd.r(cc[c0] + cc[c2]), t2i = rd.r(cc[c0 + 1] + cc[c2 + 1]);
        const t1r = rd.r(cc[c0] - cc[c2]), t1i = rd.r(cc[c0 + 1] - cc[c2 + 1]);
        const t3r = rd.r(cc[c1] + cc[c3]), t3i = rd.r(cc[c1 + 1] + cc[c3 + 1]);
        let t4r = rd.r(cc[c1] - cc[c3]), t4i = rd.r(cc[c1 + 1] - cc[c3 + 1]);
        // ROTX90<fwd>
        if (fwd) {
          const t = -t4r;
          t4r = t4i;
          t4i = t;
        } else {
          const t = t4r;
          t4r = -t4i;
          t4i = t;
        }
        const h0 = 2 * (i + ido * k), h1 = 2 * (i + ido * (k + l1));
        const h2 = 2 * (i + ido * (k + 2 * l1)), h3 = 2 * (i + ido * (k + 3 * l1));
        ch[h0] = rd.r(t2r + t3r);
        ch[h0 + 1] = rd.r(t2i + t3i);
        if (i === 0) {
          ch[h2] = rd.r(t2r - t3r);
          ch[h2 + 1] = rd.r(t2i - t3i);
          ch[h1] = rd.r(t1r + t4r);
          ch[h1 + 1] = rd.r(t1i + t4i);
          ch[h3] = rd.r(t1r - t4r);
          ch[h3 + 1] = rd.r(t1i - t4i);
        } else {
          const w = 2 * (i - 1), s = 2 * (ido - 1);
          this.#twiddle(rd.r(t1r + t4r), rd.r(t1i + t4i), wa, w, ch, h1, fwd);
          this.#twiddle(rd.r(t2r - t3r), rd.r(t2i - t3i), wa, w + s, ch, h2, fwd);
          this.#twiddle(rd.r(t1r - t4r), rd.r(t1i - t4i), wa, w + 2 * s, ch, h3, fwd);
        }
      }
    }
  }

  #pass8(
    ido: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    const h = rd.r(HSQT2);
    const cdim = 8;
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const c0 = 2 * (i + ido * cdim * k), cs = 2 * ido;
        const c1 = c0 + cs, c2 = c1 + cs, c3 = c2 + cs, c4 = c3 + cs;
        const c5 = c4 + cs, c6 = c5 + cs, c7 = c6 + cs;
        // PM(a1,a5,CC1,CC5); PM(a3,a7,CC3,CC7)
        let a1r = rd.r(cc[c1] + cc[c5]), a1i = rd.r(cc[c1 + 1] + cc[c5 + 1]);
        let a5r = rd.r(cc[c1] - cc[c5]), a5i = rd.r(cc[c1 + 1] - cc[c5 + 1]);
        let a3r = rd.r(cc[c3] + cc[c7]), a3i = rd.r(cc[c3 + 1] + cc[c7 + 1]);
        let a7r = rd.r(cc[c3] - cc[c7]), a7i = rd.r(cc[c3 + 1] - cc[c7 + 1]);
        // PMINPLACE(a1,a3); ROTX90(a3)
        let tr = a1r, ti = a1i;
        a1r = rd.r(a1r + a3r);
        a1i = rd.r(a1i + a3i);
        a3r = rd.r(tr - a3r);
        a3i = rd.r(ti - a3i);
        if (fwd) {
          tr = -a3r;
          a3r = a3i;
          a3i = tr;
        } else {
          tr = a3r;
          a3r = -a3i;
          a3i = tr;
        }
        // ROTX90(a7); PMINPLACE(a5,a7); ROTX45(a5); ROTX135(a7)
        if (fwd) {
          tr = -a7r;
          a7r = a7i;
          a7i = tr;
        } else {
          tr = a7r;
          a7r = -a7i;
          a7i = tr;
        }
        tr = a5r;
        ti = a5i;
        a5r = rd.r(a5r + a7r);
        a5i = rd.r(a5i + a7i);
        a7r = rd.r(tr - a7r);
        a7i = rd.r(ti - a7i);
        if (fwd) {
          tr = a5r;
          a5r = rd.r(h * rd.r(a5r + a5i));
          a5i = rd.r(h * rd.r(a5i - tr));
          tr = a7r;
          a7r = rd.r(h * rd.r(a7i - a7r));
          a7i = rd.r(h * rd.r(-tr - a7i));
        } else {
          tr = a5r;
          a5r = rd.r(h * rd.r(a5r - a5i));
          a5i = rd.r(h * rd.r(a5i + tr));
          tr = a7r;
          a7r = rd.r(h * rd.r(-a7r - a7i));
          a7i = rd.r(h * rd.r(tr - a7i));
        }
        // PM(a0,a4,CC0,CC4); PM(a2,a6,CC2,CC6)
        let a0r = rd.r(cc[c0] + cc[c4]), a0i = rd.r(cc[c0 + 1] + cc[c4 + 1]);
        let a4r = rd.r(cc[c0] - cc[c4]), a4i = rd.r(cc[c0 + 1] - cc[c4 + 1]);
        let a2r = rd.r(cc[c2] + cc[c6]), a2i = rd.r(cc[c2 + 1] + cc[c6 + 1]);
        let a6r = rd.r(cc[c2] - cc[c6]), a6i = rd.r(cc[c2 + 1] - cc[c6 + 1]);
        const h0 = 2 * (i + ido * k), hs = 2 * ido * l1;
        // PMINPLACE(a0,a2)
        tr = a0r;
        ti = a0i;
        a0r = rd.r(a0r + a2r);
        a0i = rd.r(a0i + a2i);
        a2r = rd.r(tr - a2r);
        a2i = rd.r(ti - a2i);
        // ROTX90(a6); PMINPLACE(a4,a6)
        if (fwd) {
          tr = -a6r;
          a6r = a6i;
          a6i = tr;
        } else {
          tr = a6r;
          a6r = -a6i;
          a6i = tr;
        }
        tr = a4r;
        ti = a4i;
        a4r = rd.r(a4r + a6r);
        a4i = rd.r(a4i + a6i);
        a6r = rd.r(tr - a6r);
        a6i = rd.r(ti - a6i);
        this.#put(ido, i, rd.r(a0r + a1r), rd.r(a0i + a1i), h0, -1, wa, ch, fwd);
        this.#put(ido, i, rd.r(a0r - a1r), rd.r(a0i - a1i), h0 + 4 * hs, 3, wa, ch, fwd);
        this.#put(ido, i, rd.r(a2r + a3r), rd.r(a2i + a3i), h0 + 2 * hs, 1, wa, ch, fwd);
        this.#put(ido, i, rd.r(a2r - a3r), rd.r(a2i - a3i), h0 + 6 * hs, 5, wa, ch, fwd);
        this.#put(ido, i, rd.r(a4r + a5r), rd.r(a4i + a5i), h0 + 1 * hs, 0, wa, ch, fwd);
        this.#put(ido, i, rd.r(a4r - a5r), rd.r(a4i - a5i), h0 + 5 * hs, 4, wa, ch, fwd);
        this.#put(ido, i, rd.r(a6r + a7r), rd.r(a6i + a7i), h0 + 3 * hs, 2, wa, ch, fwd);
        this.#put(ido, i, rd.r(a6r - a7r), rd.r(a6i - a7i), h0 + 7 * hs, 6, wa, ch, fwd);
      }
    }
  }

  /** Radix 3, 5, 7 and 11 (pocketfft's pass3/5/7/11, written once for p = 2m + 1). */
  #passOdd(
    ip: number,
    ido: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    const m = (ip - 1) / 2;
    const { x, y } = this.#oddTables(ip, fwd);
    const s = this.#scratch; // plus (re, im) at 4j, 4j+1; minus at 4j+2, 4j+3
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const c0 = 2 * (i + ido * ip * k);
        const t0r = cc[c0], t0i = cc[c0 + 1];
        let sr = t0r, si = t0i;
        for (let j = 1; j <= m; j++) {
          const a = 2 * (i + ido * (j + ip * k)), b = 2 * (i + ido * (ip - j + ip * k));
          const pr = rd.r(cc[a] + cc[b]), pi = rd.r(cc[a + 1] + cc[b + 1]);
          s[4 * j] = pr;
          s[4 * j + 1] = pi;
          s[4 * j + 2] = rd.r(cc[a] - cc[b]);
          s[4 * j + 3] = rd.r(cc[a + 1] - cc[b + 1]);
          sr = rd.r(sr + pr);
          si = rd.r(si + pi);
        }
        const h0 = 2 * (i + ido * k);
        ch[h0] = sr;
        ch[h0 + 1] = si;
        for (let u = 1; u <= m; u++) {
          const row = (u - 1) * m;
          let car = t0r, cai = t0i;
          let cbi = 0, cbn = 0;
          for (let j = 1; j <= m; j++) {
            const xc = x[row + j - 1], yc = y[row + j - 1];
            car = rd.r(car + rd.r(xc * s[4 * j]));
            cai = rd.r(cai + rd.r(xc * s[4 * j + 1]));
            if (j === 1) {
              cbi = rd.r(yc * s[4 * j + 2]);
              cbn = rd.r(yc * s[4 * j + 3]);
            } else {
              cbi = rd.r(cbi + rd.r(yc * s[4 * j + 2]));
              cbn = rd.r(cbn + rd.r(yc * s[4 * j + 3]));
            }
          }
          const cbr = -cbn;
          const o1 = 2 * (i + ido * (k + u * l1)), o2 = 2 * (i + ido * (k + (ip - u) * l1));
          if (i === 0) {
            ch[o1] = rd.r(car + cbr);
            ch[o1 + 1] = rd.r(cai + cbi);
            ch[o2] = rd.r(car - cbr);
            ch[o2 + 1] = rd.r(cai - cbi);
          } else {
            const w = 2 * (i - 1);
            this.#twiddle(
              rd.r(car + cbr),
              rd.r(cai + cbi),
              wa,
              w + 2 * (u - 1) * (ido - 1),
              ch,
              o1,
              fwd,
            );
            this.#twiddle(
              rd.r(car - cbr),
              rd.r(cai - cbi),
              wa,
              w + 2 * (ip - u - 1) * (ido - 1),
              ch,
              o2,
              fwd,
            );
          }
        }
      }
    }
  }

  /** Generic odd prime radix (pocketfft's passg); the result lands in cc. */
  #passg(
    ido: number,
    ip: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    csarr: Float64Array,
    fwd: boolean,
  ): void {
    const rd = this.#r;
    const cdim = ip;
    const ipph = (ip + 1) / 2;
    const idl1 = ido * l1;
    const wal = new Float64Array(2 * ip);
    wal[0] = 1;
    for (let i = 1; i < ip; i++) {
      wal[2 * i] = csarr[2 * i];
      wal[2 * i + 1] = fwd ? -csarr[2 * i + 1] : csarr[2 * i + 1];
    }
    // CH(i,k,j) = ch[i+ido*(k+l1*j)], CC(i,j,k) = cc[i+ido*(j+cdim*k)]
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const h = 2 * (i + ido * k), c = 2 * (i + ido * cdim * k);
        ch[h] = cc[c];
        ch[h + 1] = cc[c + 1];
      }
    }
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      for (let k = 0; k < l1; k++) {
        for (let i = 0; i < ido; i++) {
          const a = 2 * (i + ido * (j + cdim * k)), b = 2 * (i + ido * (jc + cdim * k));
          const hj = 2 * (i + ido * (k + l1 * j)), hc = 2 * (i + ido * (k + l1 * jc));
          ch[hj] = rd.r(cc[a] + cc[b]);
          ch[hj + 1] = rd.r(cc[a + 1] + cc[b + 1]);
          ch[hc] = rd.r(cc[a] - cc[b]);
          ch[hc + 1] = rd.r(cc[a + 1] - cc[b + 1]);
        }
      }
    }
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) {
        const h = 2 * (i + ido * k);
        let tr = ch[h], ti = ch[h + 1];
        for (let j = 1; j < ipph; j++) {
          const hj = 2 * (i + ido * (k + l1 * j));
          tr = rd.r(tr + ch[hj]);
          ti = rd.r(ti + ch[hj + 1]);
        }
        cc[h] = tr; // CX(i,k,0)
        cc[h + 1] = ti;
      }
    }
    // CX2(ik,b) = cc[ik + idl1*b], CH2(ik,b) = ch[ik + idl1*b]
    for (let l = 1, lc = ip - 1; l < ipph; l++, lc--) {
      const wlr = wal[2 * l], wli = wal[2 * l + 1];
      const w2r = wal[4 * l], w2i = wal[4 * l + 1];
      for (let ik = 0; ik < idl1; ik++) {
        const xl = 2 * (ik + idl1 * l), xc = 2 * (ik + idl1 * lc);
        const h0 = 2 * ik, h1 = 2 * (ik + idl1), h2 = 2 * (ik + idl1 * 2);
        const hm1 = 2 * (ik + idl1 * (ip - 1)), hm2 = 2 * (ik + idl1 * (ip - 2));
        cc[xl] = rd.r(rd.r(ch[h0] + rd.r(wlr * ch[h1])) + rd.r(w2r * ch[h2]));
        cc[xl + 1] = rd.r(rd.r(ch[h0 + 1] + rd.r(wlr * ch[h1 + 1])) + rd.r(w2r * ch[h2 + 1]));
        cc[xc] = rd.r(rd.r(-wli * ch[hm1 + 1]) - rd.r(w2i * ch[hm2 + 1]));
        cc[xc + 1] = rd.r(rd.r(wli * ch[hm1]) + rd.r(w2i * ch[hm2]));
      }
      let iwal = 2 * l;
      let j = 3, jc = ip - 3;
      for (; j < ipph - 1; j += 2, jc -= 2) {
        iwal += l;
        if (iwal > ip) iwal -= ip;
        const xr = wal[2 * iwal], xi = wal[2 * iwal + 1];
        iwal += l;
        if (iwal > ip) iwal -= ip;
        const x2r = wal[2 * iwal], x2i = wal[2 * iwal + 1];
        for (let ik = 0; ik < idl1; ik++) {
          const xl = 2 * (ik + idl1 * l), xc = 2 * (ik + idl1 * lc);
          const hj = 2 * (ik + idl1 * j), hj1 = 2 * (ik + idl1 * (j + 1));
          const hc = 2 * (ik + idl1 * jc), hc1 = 2 * (ik + idl1 * (jc - 1));
          cc[xl] = rd.r(cc[xl] + rd.r(rd.r(ch[hj] * xr) + rd.r(ch[hj1] * x2r)));
          cc[xl + 1] = rd.r(cc[xl + 1] + rd.r(rd.r(ch[hj + 1] * xr) + rd.r(ch[hj1 + 1] * x2r)));
          cc[xc] = rd.r(cc[xc] - rd.r(rd.r(ch[hc + 1] * xi) + rd.r(ch[hc1 + 1] * x2i)));
          cc[xc + 1] = rd.r(cc[xc + 1] + rd.r(rd.r(ch[hc] * xi) + rd.r(ch[hc1] * x2i)));
        }
      }
      for (; j < ipph; j++, jc--) {
        iwal += l;
        if (iwal > ip) iwal -= ip;
        const xr = wal[2 * iwal], xi = wal[2 * iwal + 1];
        for (let ik = 0; ik < idl1; ik++) {
          const xl = 2 * (ik + idl1 * l), xc = 2 * (ik + idl1 * lc);
          const hj = 2 * (ik + idl1 * j), hc = 2 * (ik + idl1 * jc);
          cc[xl] = rd.r(cc[xl] + rd.r(ch[hj] * xr));
          cc[xl + 1] = rd.r(cc[xl + 1] + rd.r(ch[hj + 1] * xr));
          cc[xc] = rd.r(cc[xc] - rd.r(ch[hc + 1] * xi));
          cc[xc + 1] = rd.r(cc[xc + 1] + rd.r(ch[hc] * xi));
        }
      }
    }
    // shuffling and twiddling; CX(i,k,j) = cc[i+ido*(k+l1*j)]
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      for (let k = 0; k < l1; k++) {
        for (let i = 0; i < ido; i++) {
          const a = 2 * (i + ido * (k + l1 * j)), b = 2 * (i + ido * (k + l1 * jc));
          const x1r = rd.r(cc[a] + cc[b]), x1i = rd.r(cc[a + 1] + cc[b + 1]);
          const x2r = rd.r(cc[a] - cc[b]), x2i = rd.r(cc[a + 1] - cc[b + 1]);
          if (i === 0) {
            cc[a] = x1r;
            cc[a + 1] = x1i;
            cc[b] = x2r;
            cc[b + 1] = x2i;
          } else {
            this.#twiddle(x1r, x1i, wa, 2 * ((j - 1) * (ido - 1) + i - 1), cc, a, fwd);
            this.#twiddle(x2r, x2i, wa, 2 * ((jc - 1) * (ido - 1) + i - 1), cc, b, fwd);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Real mixed-radix FFT (pocketfft's rfftp, FFTPACK half-complex order)

interface RealFactor {
  ip: number;
  /** Twiddles WA(x, i) at i + x·(ido − 1), as (re, im) pairs. */
  tw: Float64Array;
  /** cos/sin table for the generic passes (ip > 5), 2·ip values. */
  tws?: Float64Array;
}

class Rfftp {
  readonly length: number;
  readonly #r: Rounding;
  readonly #fact: RealFactor[] = [];
  readonly #ch: Float64Array;

  constructor(length: number, rd: Rounding) {
    this.length = length;
    this.#r = rd;
    this.#ch = new Float64Array(length);
    if (length === 1) return;
    const ips = Rfftp.factorize(length);
    const twid = new SinCos2PiByN(length, rd);
    const tmp = new Float64Array(2);
    let l1 = 1;
    for (let k = 0; k < ips.length; k++) {
      const ip = ips[k];
      const ido = length / (l1 * ip);
      const tw = new Float64Array(k < ips.length - 1 ? (ip - 1) * (ido - 1) : 0);
      if (k < ips.length - 1) {
        for (let j = 1; j < ip; j++) {
          for (let i = 1; i <= (ido - 1) >> 1; i++) {
            twid.at(j * l1 * i, tmp, 0);
            tw[(j - 1) * (ido - 1) + 2 * i - 2] = tmp[0];
            tw[(j - 1) * (ido - 1) + 2 * i - 1] = tmp[1];
          }
        }
      }
      const f: RealFactor = { ip, tw };
      if (ip > 5) {
        const tws = new Float64Array(2 * ip);
        tws[0] = 1;
        tws[1] = 0;
        for (let i = 2, ic = 2 * ip - 2; i <= ic; i += 2, ic -= 2) {
          twid.at((i / 2) * (length / ip), tmp, 0);
          tws[i] = tmp[0];
          tws[i + 1] = tmp[1];
          tws[ic] = tmp[0];
          tws[ic + 1] = -tmp[1];
        }
        f.tws = tws;
      }
      this.#fact.push(f);
      l1 *= ip;
    }
  }

  /** pocketfft's real factor order: 4s, a lone 2 swapped to the front, odd primes. */
  static factorize(length: number): number[] {
    const fact: number[] = [];
    let len = length;
    while (len % 4 === 0) {
      fact.push(4);
      len /= 4;
    }
    if (len % 2 === 0) {
      len /= 2;
      fact.push(2);
      const t = fact[0];
      fact[0] = fact[fact.length - 1];
      fact[fact.length - 1] = t;
    }
    for (let d = 3; d * d <= len; d += 2) {
      while (len % d === 0) {
        fact.push(d);
        len /= d;
      }
    }
    if (len > 1) fact.push(len);
    return fact;
  }

  /** Forward (r2hc) or backward (hc2r) transform of c in place, multiplied by fct. */
  exec(c: Float64Array, fct: number, r2hc: boolean): void {
    const rd = this.#r;
    const n = this.length;
    if (n === 1) {
      c[0] = rd.r(c[0] * fct);
      return;
    }
    const nf = this.#fact.length;
    let p1 = c, p2 = this.#ch;
    if (r2hc) {
      for (let k1 = 0, l1 = n; k1 < nf; k1++) {
        const k = nf - k1 - 1;
        const { ip, tw, tws } = this.#fact[k];
        const ido = n / l1;
        l1 /= ip;
        if (ip === 4) this.#radf4(ido, l1, p1, p2, tw);
        else if (ip === 2) this.#radf2(ido, l1, p1, p2, tw);
        else if (ip === 3) this.#radf3(ido, l1, p1, p2, tw);
        else if (ip === 5) this.#radf5(ido, l1, p1, p2, tw);
        else {
          this.#radfg(ido, ip, l1, p1, p2, tw, tws!);
          const t = p1;
          p1 = p2;
          p2 = t;
        }
        const t = p1;
        p1 = p2;
        p2 = t;
      }
    } else {
      for (let k = 0, l1 = 1; k < nf; k++) {
        const { ip, tw, tws } = this.#fact[k];
        const ido = n / (ip * l1);
        if (ip === 4) this.#radb4(ido, l1, p1, p2, tw);
        else if (ip === 2) this.#radb2(ido, l1, p1, p2, tw);
        else if (ip === 3) this.#radb3(ido, l1, p1, p2, tw);
        else if (ip === 5) this.#radb5(ido, l1, p1, p2, tw);
        else this.#radbg(ido, ip, l1, p1, p2, tw, tws!);
        const t = p1;
        p1 = p2;
        p2 = t;
        l1 *= ip;
      }
    }
    // copy_and_norm
    if (p1 !== c) {
      if (fct !== 1) { for (let i = 0; i < n; i++) c[i] = rd.r(fct * p1[i]); }
      else c.set(p1);
    } else if (fct !== 1) {
      for (let i = 0; i < n; i++) c[i] = rd.r(c[i] * fct);
    }
  }

  // In the radf* passes CC(a,b,c) = cc[a+ido*(b+l1*c)] and CH(a,b,c) = ch[a+ido*(b+cdim*c)];
  // in the radb* passes the roles swap. WA(x,i) = wa[i+x*(ido-1)].

  #radf2(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const CC = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + 2 * c);
    for (let k = 0; k < l1; k++) {
      const x = cc[CC(0, k, 0)], y = cc[CC(0, k, 1)];
      ch[CH(0, 0, k)] = rd.r(x + y);
      ch[CH(ido - 1, 1, k)] = rd.r(x - y);
    }
    if (ido % 2 === 0) {
      for (let k = 0; k < l1; k++) {
        ch[CH(0, 1, k)] = -cc[CC(ido - 1, k, 1)];
        ch[CH(ido - 1, 0, k)] = cc[CC(ido - 1, k, 0)];
      }
    }
    if (ido <= 2) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2; i < ido; i += 2) {
        const ic = ido - i;
        const w0 = wa[i - 2], w1 = wa[i - 1];
        const e = cc[CC(i - 1, k, 1)], f = cc[CC(i, k, 1)];
        const tr2 = rd.r(rd.r(w0 * e) + rd.r(w1 * f));
        const ti2 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        const a = cc[CC(i - 1, k, 0)], b = cc[CC(i, k, 0)];
        ch[CH(i - 1, 0, k)] = rd.r(a + tr2);
        ch[CH(ic - 1, 1, k)] = rd.r(a - tr2);
        ch[CH(i, 0, k)] = rd.r(ti2 + b);
        ch[CH(ic, 1, k)] = rd.r(ti2 - b);
      }
    }
  }

  #radf3(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const taur = -0.5, taui = rd.r(0.8660254037844386);
    const CC = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + 3 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const c0 = cc[CC(0, k, 0)], c1 = cc[CC(0, k, 1)], c2 = cc[CC(0, k, 2)];
      const cr2 = rd.r(c1 + c2);
      ch[CH(0, 0, k)] = rd.r(c0 + cr2);
      ch[CH(0, 2, k)] = rd.r(taui * rd.r(c2 - c1));
      ch[CH(ido - 1, 1, k)] = rd.r(c0 + rd.r(taur * cr2));
    }
    if (ido === 1) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2; i < ido; i += 2) {
        const ic = ido - i;
        let e = cc[CC(i - 1, k, 1)], f = cc[CC(i, k, 1)];
        let dr2 = rd.r(rd.r(WA(0, i - 2) * e) + rd.r(WA(0, i - 1) * f));
        let di2 = rd.r(rd.r(WA(0, i - 2) * f) - rd.r(WA(0, i - 1) * e));
        e = cc[CC(i - 1, k, 2)];
        f = cc[CC(i, k, 2)];
        let dr3 = rd.r(rd.r(WA(1, i - 2) * e) + rd.r(WA(1, i - 1) * f));
        let di3 = rd.r(rd.r(WA(1, i - 2) * f) - rd.r(WA(1, i - 1) * e));
        // REARRANGE(dr2, di2, dr3, di3)
        const t1 = rd.r(dr2 + dr3),
          t2 = rd.r(dr3 - dr2),
          t3 = rd.r(di2 + di3),
          t4 = rd.r(di2 - di3);
        dr2 = t1;
        di2 = t3;
        dr3 = t4;
        di3 = t2;
        const a = cc[CC(i - 1, k, 0)], b = cc[CC(i, k, 0)];
        ch[CH(i - 1, 0, k)] = rd.r(a + dr2);
        ch[CH(i, 0, k)] = rd.r(b + di2);
        const tr2 = rd.r(a + rd.r(taur * dr2)), ti2 = rd.r(b + rd.r(taur * di2));
        const tr3 = rd.r(taui * dr3), ti3 = rd.r(taui * di3);
        ch[CH(i - 1, 2, k)] = rd.r(tr2 + tr3);
        ch[CH(ic - 1, 1, k)] = rd.r(tr2 - tr3);
        ch[CH(i, 2, k)] = rd.r(ti3 + ti2);
        ch[CH(ic, 1, k)] = rd.r(ti3 - ti2);
      }
    }
  }

  #radf4(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const hsqt2 = rd.r(HSQT2);
    const CC = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + 4 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const c0 = cc[CC(0, k, 0)], c1 = cc[CC(0, k, 1)], c2 = cc[CC(0, k, 2)];
      const c3 = cc[CC(0, k, 3)];
      const tr1 = rd.r(c3 + c1);
      ch[CH(0, 2, k)] = rd.r(c3 - c1);
      const tr2 = rd.r(c0 + c2);
      ch[CH(ido - 1, 1, k)] = rd.r(c0 - c2);
      ch[CH(0, 0, k)] = rd.r(tr2 + tr1);
      ch[CH(ido - 1, 3, k)] = rd.r(tr2 - tr1);
    }
    if (ido % 2 === 0) {
      for (let k = 0; k < l1; k++) {
        const a1 = cc[CC(ido - 1, k, 1)], a3 = cc[CC(ido - 1, k, 3)];
        const ti1 = rd.r(-hsqt2 * rd.r(a1 + a3));
        const tr1 = rd.r(hsqt2 * rd.r(a1 - a3));
        const a0 = cc[CC(ido - 1, k, 0)], a2 = cc[CC(ido - 1, k, 2)];
        ch[CH(ido - 1, 0, k)] = rd.r(a0 + tr1);
        ch[CH(ido - 1, 2, k)] = rd.r(a0 - tr1);
        ch[CH(0, 3, k)] = rd.r(ti1 + a2);
        ch[CH(0, 1, k)] = rd.r(ti1 - a2);
      }
    }
    if (ido <= 2) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2; i < ido; i += 2) {
        const ic = ido - i;
        // MULPM(cr, ci, WA(x,i-2), WA(x,i-1), CC(i-1,k,x+1), CC(i,k,x+1)) for x = 0, 1, 2
        let w0 = WA(0, i - 2), w1 = WA(0, i - 1);
        let e = cc[CC(i - 1, k, 1)], f = cc[CC(i, k, 1)];
        const cr2 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), ci2 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        w0 = WA(1, i - 2);
        w1 = WA(1, i - 1);
        e = cc[CC(i - 1, k, 2)];
        f = cc[CC(i, k, 2)];
        const cr3 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), ci3 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        w0 = WA(2, i - 2);
        w1 = WA(2, i - 1);
        e = cc[CC(i - 1, k, 3)];
        f = cc[CC(i, k, 3)];
        const cr4 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), ci4 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        const tr1 = rd.r(cr4 + cr2), tr4 = rd.r(cr4 - cr2);
        const ti1 = rd.r(ci2 + ci4), ti4 = rd.r(ci2 - ci4);
        const a = cc[CC(i - 1, k, 0)], b = cc[CC(i, k, 0)];
        const tr2 = rd.r(a + cr3), tr3 = rd.r(a - cr3);
        const ti2 = rd.r(b + ci3), ti3 = rd.r(b - ci3);
        ch[CH(i - 1, 0, k)] = rd.r(tr2 + tr1);
        ch[CH(ic - 1, 3, k)] = rd.r(tr2 - tr1);
        ch[CH(i, 0, k)] = rd.r(ti1 + ti2);
        ch[CH(ic, 3, k)] = rd.r(ti1 - ti2);
        ch[CH(i - 1, 2, k)] = rd.r(tr3 + ti4);
        ch[CH(ic - 1, 1, k)] = rd.r(tr3 - ti4);
        ch[CH(i, 2, k)] = rd.r(tr4 + ti3);
        ch[CH(ic, 1, k)] = rd.r(tr4 - ti3);
      }
    }
  }

  #radf5(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const tr11 = rd.r(0.30901699437494745), ti11 = rd.r(0.9510565162951535);
    const tr12 = rd.r(-0.8090169943749475), ti12 = rd.r(0.5877852522924731);
    const CC = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + 5 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const c0 = cc[CC(0, k, 0)], c1 = cc[CC(0, k, 1)], c2 = cc[CC(0, k, 2)];
      const c3 = cc[CC(0, k, 3)], c4 = cc[CC(0, k, 4)];
      const cr2 = rd.r(c4 + c1), ci5 = rd.r(c4 - c1);
      const cr3 = rd.r(c3 + c2), ci4 = rd.r(c3 - c2);
      ch[CH(0, 0, k)] = rd.r(rd.r(c0 + cr2) + cr3);
      ch[CH(ido - 1, 1, k)] = rd.r(rd.r(c0 + rd.r(tr11 * cr2)) + rd.r(tr12 * cr3));
      ch[CH(0, 2, k)] = rd.r(rd.r(ti11 * ci5) + rd.r(ti12 * ci4));
      ch[CH(ido - 1, 3, k)] = rd.r(rd.r(c0 + rd.r(tr12 * cr2)) + rd.r(tr11 * cr3));
      ch[CH(0, 4, k)] = rd.r(rd.r(ti12 * ci5) - rd.r(ti11 * ci4));
    }
    if (ido === 1) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
        // MULPM(dr, di, WA(x,i-2), WA(x,i-1), CC(i-1,k,x+1), CC(i,k,x+1)) for x = 0..3
        let w0 = WA(0, i - 2), w1 = WA(0, i - 1);
        let e = cc[CC(i - 1, k, 1)], f = cc[CC(i, k, 1)];
        let dr2 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), di2 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        w0 = WA(1, i - 2);
        w1 = WA(1, i - 1);
        e = cc[CC(i - 1, k, 2)];
        f = cc[CC(i, k, 2)];
        let dr3 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), di3 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        w0 = WA(2, i - 2);
        w1 = WA(2, i - 1);
        e = cc[CC(i - 1, k, 3)];
        f = cc[CC(i, k, 3)];
        let dr4 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), di4 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        w0 = WA(3, i - 2);
        w1 = WA(3, i - 1);
        e = cc[CC(i - 1, k, 4)];
        f = cc[CC(i, k, 4)];
        let dr5 = rd.r(rd.r(w0 * e) + rd.r(w1 * f)), di5 = rd.r(rd.r(w0 * f) - rd.r(w1 * e));
        // REARRANGE(dr2, di2, dr5, di5); REARRANGE(dr3, di3, dr4, di4)
        let t1 = rd.r(dr2 + dr5), t2 = rd.r(dr5 - dr2), t3 = rd.r(di2 + di5), t4 = rd.r(di2 - di5);
        dr2 = t1;
        di2 = t3;
        dr5 = t4;
        di5 = t2;
        t1 = rd.r(dr3 + dr4);
        t2 = rd.r(dr4 - dr3);
        t3 = rd.r(di3 + di4);
        t4 = rd.r(di3 - di4);
        dr3 = t1;
        di3 = t3;
        dr4 = t4;
        di4 = t2;
        const a = cc[CC(i - 1, k, 0)], b = cc[CC(i, k, 0)];
        ch[CH(i - 1, 0, k)] = rd.r(rd.r(a + dr2) + dr3);
        ch[CH(i, 0, k)] = rd.r(rd.r(b + di2) + di3);
        const tr2 = rd.r(rd.r(a + rd.r(tr11 * dr2)) + rd.r(tr12 * dr3));
        const ti2 = rd.r(rd.r(b + rd.r(tr11 * di2)) + rd.r(tr12 * di3));
        const tr3 = rd.r(rd.r(a + rd.r(tr12 * dr2)) + rd.r(tr11 * dr3));
        const ti3 = rd.r(rd.r(b + rd.r(tr12 * di2)) + rd.r(tr11 * di3));
        const tr5 = rd.r(rd.r(ti11 * dr5) + rd.r(ti12 * dr4));
        const ti5 = rd.r(rd.r(ti11 * di5) + rd.r(ti12 * di4));
        const tr4 = rd.r(rd.r(ti12 * dr5) - rd.r(ti11 * dr4));
        const ti4 = rd.r(rd.r(ti12 * di5) - rd.r(ti11 * di4));
        ch[CH(i - 1, 2, k)] = rd.r(tr2 + tr5);
        ch[CH(ic - 1, 1, k)] = rd.r(tr2 - tr5);
        ch[CH(i, 2, k)] = rd.r(ti5 + ti2);
        ch[CH(ic, 1, k)] = rd.r(ti5 - ti2);
        ch[CH(i - 1, 4, k)] = rd.r(tr3 + tr4);
        ch[CH(ic - 1, 3, k)] = rd.r(tr3 - tr4);
        ch[CH(i, 4, k)] = rd.r(ti4 + ti3);
        ch[CH(ic, 3, k)] = rd.r(ti4 - ti3);
      }
    }
  }

  /** Generic odd radix, forward; the result lands in cc. */
  #radfg(
    ido: number,
    ip: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    csarr: Float64Array,
  ): void {
    const rd = this.#r;
    const cdim = ip;
    const ipph = (ip + 1) / 2;
    const idl1 = ido * l1;
    const CC = (a: number, b: number, c: number) => a + ido * (b + cdim * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const C1 = CH; // same layout on cc
    const C2 = (a: number, b: number) => a + idl1 * b;
    const CH2 = C2;

    if (ido > 1) {
      for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
        const is = (j - 1) * (ido - 1), is2 = (jc - 1) * (ido - 1);
        for (let k = 0; k < l1; k++) {
          let idij = is, idij2 = is2;
          for (let i = 1; i <= ido - 2; i += 2) {
            const t1 = cc[C1(i, k, j)], t2 = cc[C1(i + 1, k, j)];
            const t3 = cc[C1(i, k, jc)], t4 = cc[C1(i + 1, k, jc)];
            const x1 = rd.r(rd.r(wa[idij] * t1) + rd.r(wa[idij + 1] * t2));
            const x2 = rd.r(rd.r(wa[idij] * t2) - rd.r(wa[idij + 1] * t1));
            const x3 = rd.r(rd.r(wa[idij2] * t3) + rd.r(wa[idij2 + 1] * t4));
            const x4 = rd.r(rd.r(wa[idij2] * t4) - rd.r(wa[idij2 + 1] * t3));
            cc[C1(i, k, j)] = rd.r(x3 + x1);
            cc[C1(i + 1, k, jc)] = rd.r(x3 - x1);
            cc[C1(i + 1, k, j)] = rd.r(x2 + x4);
            cc[C1(i, k, jc)] = rd.r(x2 - x4);
            idij += 2;
            idij2 += 2;
          }
        }
      }
    }
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      for (let k = 0; k < l1; k++) {
        // MPINPLACE(C1(0,k,jc), C1(0,k,j))
        const a = C1(0, k, jc), b = C1(0, k, j);
        const t = cc[a];
        cc[a] = rd.r(cc[a] - cc[b]);
        cc[b] = rd.r(t + cc[b]);
      }
    }
    for (let l = 1, lc = ip - 1; l < ipph; l++, lc--) {
      const c2l = csarr[2 * l], c4l = csarr[4 * l];
      const s2l = csarr[2 * l + 1], s4l = csarr[4 * l + 1];
      for (let ik = 0; ik < idl1; ik++) {
        ch[CH2(ik, l)] = rd.r(
          rd.r(cc[C2(ik, 0)] + rd.r(c2l * cc[C2(ik, 1)])) + rd.r(c4l * cc[C2(ik, 2)]),
        );
        ch[CH2(ik, lc)] = rd.r(rd.r(s2l * cc[C2(ik, ip - 1)]) + rd.r(s4l * cc[C2(ik, ip - 2)]));
      }
      let iang = 2 * l;
      let j = 3, jc = ip - 3;
      for (; j < ipph - 3; j += 4, jc -= 4) {
        const ar = [0, 0, 0, 0], ai = [0, 0, 0, 0];
        for (let q = 0; q < 4; q++) {
          iang += l;
          if (iang >= ip) iang -= ip;
          ar[q] = csarr[2 * iang];
          ai[q] = csarr[2 * iang + 1];
        }
        for (let ik = 0; ik < idl1; ik++) {
          let sr = rd.r(ar[0] * cc[C2(ik, j)]);
          let si = rd.r(ai[0] * cc[C2(ik, jc)]);
          for (let q = 1; q < 4; q++) {
            sr = rd.r(sr + rd.r(ar[q] * cc[C2(ik, j + q)]));
            si = rd.r(si + rd.r(ai[q] * cc[C2(ik, jc - q)]));
          }
          ch[CH2(ik, l)] = rd.r(ch[CH2(ik, l)] + sr);
          ch[CH2(ik, lc)] = rd.r(ch[CH2(ik, lc)] + si);
        }
      }
      for (; j < ipph - 1; j += 2, jc -= 2) {
        iang += l;
        if (iang >= ip) iang -= ip;
        const ar1 = csarr[2 * iang], ai1 = csarr[2 * iang + 1];
        iang += l;
        if (iang >= ip) iang -= ip;
        const ar2 = csarr[2 * iang], ai2 = csarr[2 * iang + 1];
        for (let ik = 0; ik < idl1; ik++) {
          const sr = rd.r(rd.r(ar1 * cc[C2(ik, j)]) + rd.r(ar2 * cc[C2(ik, j + 1)]));
          const si = rd.r(rd.r(ai1 * cc[C2(ik, jc)]) + rd.r(ai2 * cc[C2(ik, jc - 1)]));
          ch[CH2(ik, l)] = rd.r(ch[CH2(ik, l)] + sr);
          ch[CH2(ik, lc)] = rd.r(ch[CH2(ik, lc)] + si);
        }
      }
      for (; j < ipph; j++, jc--) {
        iang += l;
        if (iang >= ip) iang -= ip;
        const ar = csarr[2 * iang], ai = csarr[2 * iang + 1];
        for (let ik = 0; ik < idl1; ik++) {
          ch[CH2(ik, l)] = rd.r(ch[CH2(ik, l)] + rd.r(ar * cc[C2(ik, j)]));
          ch[CH2(ik, lc)] = rd.r(ch[CH2(ik, lc)] + rd.r(ai * cc[C2(ik, jc)]));
        }
      }
    }
    for (let ik = 0; ik < idl1; ik++) ch[CH2(ik, 0)] = cc[C2(ik, 0)];
    for (let j = 1; j < ipph; j++) {
      for (let ik = 0; ik < idl1; ik++) ch[CH2(ik, 0)] = rd.r(ch[CH2(ik, 0)] + cc[C2(ik, j)]);
    }
    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) cc[CC(i, 0, k)] = ch[CH(i, k, 0)];
    }
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      const j2 = 2 * j - 1;
      for (let k = 0; k < l1; k++) {
        cc[CC(ido - 1, j2, k)] = ch[CH(0, k, j)];
        cc[CC(0, j2 + 1, k)] = ch[CH(0, k, jc)];
      }
    }
    if (ido === 1) return;
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      const j2 = 2 * j - 1;
      for (let k = 0; k < l1; k++) {
        for (let i = 1, ic = ido - i - 2; i <= ido - 2; i += 2, ic -= 2) {
          cc[CC(i, j2 + 1, k)] = rd.r(ch[CH(i, k, j)] + ch[CH(i, k, jc)]);
          cc[CC(ic, j2, k)] = rd.r(ch[CH(i, k, j)] - ch[CH(i, k, jc)]);
          cc[CC(i + 1, j2 + 1, k)] = rd.r(ch[CH(i + 1, k, j)] + ch[CH(i + 1, k, jc)]);
          cc[CC(ic + 1, j2, k)] = rd.r(ch[CH(i + 1, k, jc)] - ch[CH(i + 1, k, j)]);
        }
      }
    }
  }

  #radb2(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const CC = (a: number, b: number, c: number) => a + ido * (b + 2 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    for (let k = 0; k < l1; k++) {
      const x = cc[CC(0, 0, k)], y = cc[CC(ido - 1, 1, k)];
      ch[CH(0, k, 0)] = rd.r(x + y);
      ch[CH(0, k, 1)] = rd.r(x - y);
    }
    if (ido % 2 === 0) {
      for (let k = 0; k < l1; k++) {
        ch[CH(ido - 1, k, 0)] = rd.r(2 * cc[CC(ido - 1, 0, k)]);
        ch[CH(ido - 1, k, 1)] = rd.r(-2 * cc[CC(0, 1, k)]);
      }
    }
    if (ido <= 2) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2; i < ido; i += 2) {
        const ic = ido - i;
        const a = cc[CC(i - 1, 0, k)], b = cc[CC(ic - 1, 1, k)];
        ch[CH(i - 1, k, 0)] = rd.r(a + b);
        const tr2 = rd.r(a - b);
        const c = cc[CC(i, 0, k)], d = cc[CC(ic, 1, k)];
        const ti2 = rd.r(c + d);
        ch[CH(i, k, 0)] = rd.r(c - d);
        const w0 = wa[i - 2], w1 = wa[i - 1];
        ch[CH(i, k, 1)] = rd.r(rd.r(w0 * ti2) + rd.r(w1 * tr2));
        ch[CH(i - 1, k, 1)] = rd.r(rd.r(w0 * tr2) - rd.r(w1 * ti2));
      }
    }
  }

  #radb3(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const taur = -0.5, taui = rd.r(0.8660254037844386);
    const CC = (a: number, b: number, c: number) => a + ido * (b + 3 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const tr2 = rd.r(2 * cc[CC(ido - 1, 1, k)]);
      const c0 = cc[CC(0, 0, k)];
      const cr2 = rd.r(c0 + rd.r(taur * tr2));
      ch[CH(0, k, 0)] = rd.r(c0 + tr2);
      const ci3 = rd.r(rd.r(2 * taui) * cc[CC(0, 2, k)]);
      ch[CH(0, k, 2)] = rd.r(cr2 + ci3);
      ch[CH(0, k, 1)] = rd.r(cr2 - ci3);
    }
    if (ido === 1) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
        const a2 = cc[CC(i - 1, 2, k)], b1 = cc[CC(ic - 1, 1, k)];
        const a2i = cc[CC(i, 2, k)], b1i = cc[CC(ic, 1, k)];
        const tr2 = rd.r(a2 + b1);
        const ti2 = rd.r(a2i - b1i);
        const a0 = cc[CC(i - 1, 0, k)], a0i = cc[CC(i, 0, k)];
        const cr2 = rd.r(a0 + rd.r(taur * tr2));
        const ci2 = rd.r(a0i + rd.r(taur * ti2));
        ch[CH(i - 1, k, 0)] = rd.r(a0 + tr2);
        ch[CH(i, k, 0)] = rd.r(a0i + ti2);
        const cr3 = rd.r(taui * rd.r(a2 - b1));
        const ci3 = rd.r(taui * rd.r(a2i + b1i));
        const dr3 = rd.r(cr2 + ci3), dr2 = rd.r(cr2 - ci3);
        const di2 = rd.r(ci2 + cr3), di3 = rd.r(ci2 - cr3);
        ch[CH(i, k, 1)] = rd.r(rd.r(WA(0, i - 2) * di2) + rd.r(WA(0, i - 1) * dr2));
        ch[CH(i - 1, k, 1)] = rd.r(rd.r(WA(0, i - 2) * dr2) - rd.r(WA(0, i - 1) * di2));
        ch[CH(i, k, 2)] = rd.r(rd.r(WA(1, i - 2) * di3) + rd.r(WA(1, i - 1) * dr3));
        ch[CH(i - 1, k, 2)] = rd.r(rd.r(WA(1, i - 2) * dr3) - rd.r(WA(1, i - 1) * di3));
      }
    }
  }

  #radb4(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const sqrt2 = rd.r(SQRT2);
    const CC = (a: number, b: number, c: number) => a + ido * (b + 4 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const a = cc[CC(0, 0, k)], b = cc[CC(ido - 1, 3, k)];
      const tr2 = rd.r(a + b), tr1 = rd.r(a - b);
      const tr3 = rd.r(2 * cc[CC(ido - 1, 1, k)]);
      const tr4 = rd.r(2 * cc[CC(0, 2, k)]);
      ch[CH(0, k, 0)] = rd.r(tr2 + tr3);
      ch[CH(0, k, 2)] = rd.r(tr2 - tr3);
      ch[CH(0, k, 3)] = rd.r(tr1 + tr4);
      ch[CH(0, k, 1)] = rd.r(tr1 - tr4);
    }
    if (ido % 2 === 0) {
      for (let k = 0; k < l1; k++) {
        const a = cc[CC(0, 3, k)], b = cc[CC(0, 1, k)];
        const ti1 = rd.r(a + b), ti2 = rd.r(a - b);
        const c = cc[CC(ido - 1, 0, k)], d = cc[CC(ido - 1, 2, k)];
        const tr2 = rd.r(c + d), tr1 = rd.r(c - d);
        ch[CH(ido - 1, k, 0)] = rd.r(tr2 + tr2);
        ch[CH(ido - 1, k, 1)] = rd.r(sqrt2 * rd.r(tr1 - ti1));
        ch[CH(ido - 1, k, 2)] = rd.r(ti2 + ti2);
        ch[CH(ido - 1, k, 3)] = rd.r(-sqrt2 * rd.r(tr1 + ti1));
      }
    }
    if (ido <= 2) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2; i < ido; i += 2) {
        const ic = ido - i;
        let a = cc[CC(i - 1, 0, k)], b = cc[CC(ic - 1, 3, k)];
        const tr2 = rd.r(a + b), tr1 = rd.r(a - b);
        a = cc[CC(i, 0, k)];
        b = cc[CC(ic, 3, k)];
        const ti1 = rd.r(a + b), ti2 = rd.r(a - b);
        a = cc[CC(i, 2, k)];
        b = cc[CC(ic, 1, k)];
        const tr4 = rd.r(a + b), ti3 = rd.r(a - b);
        a = cc[CC(i - 1, 2, k)];
        b = cc[CC(ic - 1, 1, k)];
        const tr3 = rd.r(a + b), ti4 = rd.r(a - b);
        ch[CH(i - 1, k, 0)] = rd.r(tr2 + tr3);
        const cr3 = rd.r(tr2 - tr3);
        ch[CH(i, k, 0)] = rd.r(ti2 + ti3);
        const ci3 = rd.r(ti2 - ti3);
        const cr4 = rd.r(tr1 + tr4), cr2 = rd.r(tr1 - tr4);
        const ci2 = rd.r(ti1 + ti4), ci4 = rd.r(ti1 - ti4);
        // MULPM(CH(i,k,x+1), CH(i-1,k,x+1), WA(x,i-2), WA(x,i-1), ci, cr) for x = 0, 1, 2
        let w0 = WA(0, i - 2), w1 = WA(0, i - 1);
        ch[CH(i, k, 1)] = rd.r(rd.r(w0 * ci2) + rd.r(w1 * cr2));
        ch[CH(i - 1, k, 1)] = rd.r(rd.r(w0 * cr2) - rd.r(w1 * ci2));
        w0 = WA(1, i - 2);
        w1 = WA(1, i - 1);
        ch[CH(i, k, 2)] = rd.r(rd.r(w0 * ci3) + rd.r(w1 * cr3));
        ch[CH(i - 1, k, 2)] = rd.r(rd.r(w0 * cr3) - rd.r(w1 * ci3));
        w0 = WA(2, i - 2);
        w1 = WA(2, i - 1);
        ch[CH(i, k, 3)] = rd.r(rd.r(w0 * ci4) + rd.r(w1 * cr4));
        ch[CH(i - 1, k, 3)] = rd.r(rd.r(w0 * cr4) - rd.r(w1 * ci4));
      }
    }
  }

  #radb5(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
    const rd = this.#r;
    const tr11 = rd.r(0.30901699437494745), ti11 = rd.r(0.9510565162951535);
    const tr12 = rd.r(-0.8090169943749475), ti12 = rd.r(0.5877852522924731);
    const CC = (a: number, b: number, c: number) => a + ido * (b + 5 * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const WA = (x: number, i: number) => wa[i + x * (ido - 1)];
    for (let k = 0; k < l1; k++) {
      const ti5 = rd.r(cc[CC(0, 2, k)] + cc[CC(0, 2, k)]);
      const ti4 = rd.r(cc[CC(0, 4, k)] + cc[CC(0, 4, k)]);
      const tr2 = rd.r(cc[CC(ido - 1, 1, k)] + cc[CC(ido - 1, 1, k)]);
      const tr3 = rd.r(cc[CC(ido - 1, 3, k)] + cc[CC(ido - 1, 3, k)]);
      const c0 = cc[CC(0, 0, k)];
      ch[CH(0, k, 0)] = rd.r(rd.r(c0 + tr2) + tr3);
      const cr2 = rd.r(rd.r(c0 + rd.r(tr11 * tr2)) + rd.r(tr12 * tr3));
      const cr3 = rd.r(rd.r(c0 + rd.r(tr12 * tr2)) + rd.r(tr11 * tr3));
      // MULPM(ci5, ci4, ti5, ti4, ti11, ti12)
      const ci5 = rd.r(rd.r(ti5 * ti11) + rd.r(ti4 * ti12));
      const ci4 = rd.r(rd.r(ti5 * ti12) - rd.r(ti4 * ti11));
      ch[CH(0, k, 4)] = rd.r(cr2 + ci5);
      ch[CH(0, k, 1)] = rd.r(cr2 - ci5);
      ch[CH(0, k, 3)] = rd.r(cr3 + ci4);
      ch[CH(0, k, 2)] = rd.r(cr3 - ci4);
    }
    if (ido === 1) return;
    for (let k = 0; k < l1; k++) {
      for (let i = 2, ic = ido - 2; i < ido; i += 2, ic -= 2) {
        let x = cc[CC(i - 1, 2, k)], y = cc[CC(ic - 1, 1, k)];
        const tr2 = rd.r(x + y), tr5 = rd.r(x - y);
        x = cc[CC(i, 2, k)];
        y = cc[CC(ic, 1, k)];
        const ti5 = rd.r(x + y), ti2 = rd.r(x - y);
        x = cc[CC(i - 1, 4, k)];
        y = cc[CC(ic - 1, 3, k)];
        const tr3 = rd.r(x + y), tr4 = rd.r(x - y);
        x = cc[CC(i, 4, k)];
        y = cc[CC(ic, 3, k)];
        const ti4 = rd.r(x + y), ti3 = rd.r(x - y);
        const a = cc[CC(i - 1, 0, k)], b = cc[CC(i, 0, k)];
        ch[CH(i - 1, k, 0)] = rd.r(rd.r(a + tr2) + tr3);
        ch[CH(i, k, 0)] = rd.r(rd.r(b + ti2) + ti3);
        const cr2 = rd.r(rd.r(a + rd.r(tr11 * tr2)) + rd.r(tr12 * tr3));
        const ci2 = rd.r(rd.r(b + rd.r(tr11 * ti2)) + rd.r(tr12 * ti3));
        const cr3 = rd.r(rd.r(a + rd.r(tr12 * tr2)) + rd.r(tr11 * tr3));
        const ci3 = rd.r(rd.r(b + rd.r(tr12 * ti2)) + rd.r(tr11 * ti3));
        // MULPM(cr5, cr4, tr5, tr4, ti11, ti12); MULPM(ci5, ci4, ti5, ti4, ti11, ti12)
        const cr5 = rd.r(rd.r(tr5 * ti11) + rd.r(tr4 * ti12));
        const cr4 = rd.r(rd.r(tr5 * ti12) - rd.r(tr4 * ti11));
        const ci5 = rd.r(rd.r(ti5 * ti11) + rd.r(ti4 * ti12));
        const ci4 = rd.r(rd.r(ti5 * ti12) - rd.r(ti4 * ti11));
        const dr4 = rd.r(cr3 + ci4), dr3 = rd.r(cr3 - ci4);
        const di3 = rd.r(ci3 + cr4), di4 = rd.r(ci3 - cr4);
        const dr5 = rd.r(cr2 + ci5), dr2 = rd.r(cr2 - ci5);
        const di2 = rd.r(ci2 + cr5), di5 = rd.r(ci2 - cr5);
        // MULPM(CH(i,k,x+1), CH(i-1,k,x+1), WA(x,i-2), WA(x,i-1), di, dr) for x = 0..3
        let w0 = WA(0, i - 2), w1 = WA(0, i - 1);
        ch[CH(i, k, 1)] = rd.r(rd.r(w0 * di2) + rd.r(w1 * dr2));
        ch[CH(i - 1, k, 1)] = rd.r(rd.r(w0 * dr2) - rd.r(w1 * di2));
        w0 = WA(1, i - 2);
        w1 = WA(1, i - 1);
        ch[CH(i, k, 2)] = rd.r(rd.r(w0 * di3) + rd.r(w1 * dr3));
        ch[CH(i - 1, k, 2)] = rd.r(rd.r(w0 * dr3) - rd.r(w1 * di3));
        w0 = WA(2, i - 2);
        w1 = WA(2, i - 1);
        ch[CH(i, k, 3)] = rd.r(rd.r(w0 * di4) + rd.r(w1 * dr4));
        ch[CH(i - 1, k, 3)] = rd.r(rd.r(w0 * dr4) - rd.r(w1 * di4));
        w0 = WA(3, i - 2);
        w1 = WA(3, i - 1);
        ch[CH(i, k, 4)] = rd.r(rd.r(w0 * di5) + rd.r(w1 * dr5));
        ch[CH(i - 1, k, 4)] = rd.r(rd.r(w0 * dr5) - rd.r(w1 * di5));
      }
    }
  }

  /** Generic odd radix, backward; the result lands in ch. */
  #radbg(
    ido: number,
    ip: number,
    l1: number,
    cc: Float64Array,
    ch: Float64Array,
    wa: Float64Array,
    csarr: Float64Array,
  ): void {
    const rd = this.#r;
    const cdim = ip;
    const ipph = (ip + 1) / 2;
    const idl1 = ido * l1;
    const CC = (a: number, b: number, c: number) => a + ido * (b + cdim * c);
    const CH = (a: number, b: number, c: number) => a + ido * (b + l1 * c);
    const C1 = CH; // same layout on cc
    const C2 = (a: number, b: number) => a + idl1 * b;
    const CH2 = C2;

    for (let k = 0; k < l1; k++) {
      for (let i = 0; i < ido; i++) ch[CH(i, k, 0)] = cc[CC(i, 0, k)];
    }
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      const j2 = 2 * j - 1;
      for (let k = 0; k < l1; k++) {
        ch[CH(0, k, j)] = rd.r(2 * cc[CC(ido - 1, j2, k)]);
        ch[CH(0, k, jc)] = rd.r(2 * cc[CC(0, j2 + 1, k)]);
      }
    }
    if (ido !== 1) {
      for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
        const j2 = 2 * j - 1;
        for (let k = 0; k < l1; k++) {
          for (let i = 1, ic = ido - i - 2; i <= ido - 2; i += 2, ic -= 2) {
            ch[CH(i, k, j)] = rd.r(cc[CC(i, j2 + 1, k)] + cc[CC(ic, j2, k)]);
            ch[CH(i, k, jc)] = rd.r(cc[CC(i, j2 + 1, k)] - cc[CC(ic, j2, k)]);
            ch[CH(i + 1, k, j)] = rd.r(cc[CC(i + 1, j2 + 1, k)] - cc[CC(ic + 1, j2, k)]);
            ch[CH(i + 1, k, jc)] = rd.r(cc[CC(i + 1, j2 + 1, k)] + cc[CC(ic + 1, j2, k)]);
          }
        }
      }
    }
    for (let l = 1, lc = ip - 1; l < ipph; l++, lc--) {
      const c2l = csarr[2 * l], c4l = csarr[4 * l];
      const s2l = csarr[2 * l + 1], s4l = csarr[4 * l + 1];
      for (let ik = 0; ik < idl1; ik++) {
        cc[C2(ik, l)] = rd.r(
          rd.r(ch[CH2(ik, 0)] + rd.r(c2l * ch[CH2(ik, 1)])) + rd.r(c4l * ch[CH2(ik, 2)]),
        );
        cc[C2(ik, lc)] = rd.r(rd.r(s2l * ch[CH2(ik, ip - 1)]) + rd.r(s4l * ch[CH2(ik, ip - 2)]));
      }
      let iang = 2 * l;
      let j = 3, jc = ip - 3;
      for (; j < ipph - 3; j += 4, jc -= 4) {
        const ar = [0, 0, 0, 0], ai = [0, 0, 0, 0];
        for (let q = 0; q < 4; q++) {
          iang += l;
          if (iang > ip) iang -= ip;
          ar[q] = csarr[2 * iang];
          ai[q] = csarr[2 * iang + 1];
        }
        for (let ik = 0; ik < idl1; ik++) {
          let sr = rd.r(ar[0] * ch[CH2(ik, j)]);
          let si = rd.r(ai[0] * ch[CH2(ik, jc)]);
          for (let q = 1; q < 4; q++) {
            sr = rd.r(sr + rd.r(ar[q] * ch[CH2(ik, j + q)]));
            si = rd.r(si + rd.r(ai[q] * ch[CH2(ik, jc - q)]));
          }
          cc[C2(ik, l)] = rd.r(cc[C2(ik, l)] + sr);
          cc[C2(ik, lc)] = rd.r(cc[C2(ik, lc)] + si);
        }
      }
      for (; j < ipph - 1; j += 2, jc -= 2) {
        iang += l;
        if (iang > ip) iang -= ip;
        const ar1 = csarr[2 * iang], ai1 = csarr[2 * iang + 1];
        iang += l;
        if (iang > ip) iang -= ip;
        const ar2 = csarr[2 * iang], ai2 = csarr[2 * iang + 1];
        for (let ik = 0; ik < idl1; ik++) {
          const sr = rd.r(rd.r(ar1 * ch[CH2(ik, j)]) + rd.r(ar2 * ch[CH2(ik, j + 1)]));
          const si = rd.r(rd.r(ai1 * ch[CH2(ik, jc)]) + rd.r(ai2 * ch[CH2(ik, jc - 1)]));
          cc[C2(ik, l)] = rd.r(cc[C2(ik, l)] + sr);
          cc[C2(ik, lc)] = rd.r(cc[C2(ik, lc)] + si);
        }
      }
      for (; j < ipph; j++, jc--) {
        iang += l;
        if (iang > ip) iang -= ip;
        const war = csarr[2 * iang], wai = csarr[2 * iang + 1];
        for (let ik = 0; ik < idl1; ik++) {
          cc[C2(ik, l)] = rd.r(cc[C2(ik, l)] + rd.r(war * ch[CH2(ik, j)]));
          cc[C2(ik, lc)] = rd.r(cc[C2(ik, lc)] + rd.r(wai * ch[CH2(ik, jc)]));
        }
      }
    }
    for (let j = 1; j < ipph; j++) {
      for (let ik = 0; ik < idl1; ik++) ch[CH2(ik, 0)] = rd.r(ch[CH2(ik, 0)] + ch[CH2(ik, j)]);
    }
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      for (let k = 0; k < l1; k++) {
        const a = cc[C1(0, k, j)], b = cc[C1(0, k, jc)];
        ch[CH(0, k, jc)] = rd.r(a + b);
        ch[CH(0, k, j)] = rd.r(a - b);
      }
    }
    if (ido === 1) return;
    for (let j = 1, jc = ip - 1; j < ipph; j++, jc--) {
      for (let k = 0; k < l1; k++) {
        for (let i = 1; i <= ido - 2; i += 2) {
          ch[CH(i, k, j)] = rd.r(cc[C1(i, k, j)] - cc[C1(i + 1, k, jc)]);
          ch[CH(i, k, jc)] = rd.r(cc[C1(i, k, j)] + cc[C1(i + 1, k, jc)]);
          ch[CH(i + 1, k, j)] = rd.r(cc[C1(i + 1, k, j)] + cc[C1(i, k, jc)]);
          ch[CH(i + 1, k, jc)] = rd.r(cc[C1(i + 1, k, j)] - cc[C1(i, k, jc)]);
        }
      }
    }
    for (let j = 1; j < ip; j++) {
      const is = (j - 1) * (ido - 1);
      for (let k = 0; k < l1; k++) {
        let idij = is;
        for (let i = 1; i <= ido - 2; i += 2) {
          const t1 = ch[CH(i, k, j)], t2 = ch[CH(i + 1, k, j)];
          ch[CH(i, k, j)] = rd.r(rd.r(wa[idij] * t1) - rd.r(wa[idij + 1] * t2));
          ch[CH(i + 1, k, j)] = rd.r(rd.r(wa[idij] * t2) + rd.r(wa[idij + 1] * t1));
          idij += 2;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bluestein (pocketfft's fftblue)

class Fftblue {
  readonly n: number;
  readonly n2: number;
  readonly #r: Rounding;
  readonly #plan: Cfftp;
  readonly #bk: Float64Array;
  readonly #bkf: Float64Array;
  readonly #akf: Float64Array;
  #tmp?: Float64Array;

  constructor(n: number, rd: Rounding) {
    this.n = n;
    this.#r = rd;
    const n2 = goodSizeComplex(2 * n - 1);
    this.n2 = n2;
    this.#plan = new Cfftp(n2, rd);
    this.#akf = new Float64Array(2 * n2);
    const tmp = new SinCos2PiByN(2 * n, rd);
    const bk = new Float64Array(2 * n);
    bk[0] = 1;
    let coeff = 0;
    for (let m = 1; m < n; m++) {
      coeff += 2 * m - 1;
      if (coeff >= 2 * n) coeff -= 2 * n;
      tmp.at(coeff, bk, 2 * m);
    }
    const tbkf = new Float64Array(2 * n2);
    const xn2 = rd.r(1 / n2);
    tbkf[0] = rd.r(bk[0] * xn2);
    tbkf[1] = rd.r(bk[1] * xn2);
    for (let m = 1; m < n; m++) {
      const vr = rd.r(bk[2 * m] * xn2), vi = rd.r(bk[2 * m + 1] * xn2);
      tbkf[2 * m] = tbkf[2 * (n2 - m)] = vr;
      tbkf[2 * m + 1] = tbkf[2 * (n2 - m) + 1] = vi;
    }
    this.#plan.exec(tbkf, 1, true);
    this.#bk = bk;
    this.#bkf = tbkf.slice(0, 2 * (Math.floor(n2 / 2) + 1));
  }

  /** Complex transform of c (interleaved, length 2n) in place, multiplied by fct. */
  exec(c: Float64Array, fct: number, fwd: boolean): void {
    const rd = this.#r;
    const n = this.n, n2 = this.n2;
    const bk = this.#bk, bkf = this.#bkf, akf = this.#akf;
    // a_k = c_k · conj(b_k) forward, c_k · b_k backward (special_mul<fwd>)
    for (let m = 0; m < n; m++) {
      const vr = c[2 * m], vi = c[2 * m + 1], wr = bk[2 * m], wi = bk[2 * m + 1];
      if (fwd) {
        akf[2 * m] = rd.r(rd.r(vr * wr) + rd.r(vi * wi));
        akf[2 * m + 1] = rd.r(rd.r(vi * wr) - rd.r(vr * wi));
      } else {
        akf[2 * m] = rd.r(rd.r(vr * wr) - rd.r(vi * wi));
        akf[2 * m + 1] = rd.r(rd.r(vr * wi) + rd.r(vi * wr));
      }
    }
    const zr = rd.r(akf[0] * 0), zi = rd.r(akf[1] * 0);
    for (let m = n; m < n2; m++) {
      akf[2 * m] = zr;
      akf[2 * m + 1] = zi;
    }
    this.#plan.exec(akf, 1, true);
    // convolution: special_mul<!fwd> with bkf
    const conv = (m: number, b: number) => {
      const vr = akf[2 * m], vi = akf[2 * m + 1], wr = bkf[2 * b], wi = bkf[2 * b + 1];
      if (!fwd) {
        akf[2 * m] = rd.r(rd.r(vr * wr) + rd.r(vi * wi));
        akf[2 * m + 1] = rd.r(rd.r(vi * wr) - rd.r(vr * wi));
      } else {
        akf[2 * m] = rd.r(rd.r(vr * wr) - rd.r(vi * wi));
        akf[2 * m + 1] = rd.r(rd.r(vr * wi) + rd.r(vi * wr));
      }
    };
    conv(0, 0);
    for (let m = 1; m < (n2 + 1) >> 1; m++) {
      conv(m, m);
      conv(n2 - m, m);
    }
    if (n2 % 2 === 0) conv(n2 / 2, n2 / 2);
    this.#plan.exec(akf, 1, false);
    for (let m = 0; m < n; m++) {
      const vr = akf[2 * m], vi = akf[2 * m + 1], wr = bk[2 * m], wi = bk[2 * m + 1];
      let or: number, oi: number;
      if (fwd) {
        or = rd.r(rd.r(vr * wr) + rd.r(vi * wi));
        oi = rd.r(rd.r(vi * wr) - rd.r(vr * wi));
      } else {
        or = rd.r(rd.r(vr * wr) - rd.r(vi * wi));
        oi = rd.r(rd.r(vr * wi) + rd.r(vi * wr));
      }
      c[2 * m] = rd.r(or * fct);
      c[2 * m + 1] = rd.r(oi * fct);
    }
  }

  /** Real transform in FFTPACK half-complex order through the complex one (exec_r). */
  execReal(c: Float64Array, fct: number, fwd: boolean): void {
    const rd = this.#r;
    const n = this.n;
    const tmp = this.#tmp ??= new Float64Array(2 * n);
    if (fwd) {
      const zero = rd.r(0 * c[0]);
      for (let m = 0; m < n; m++) {
        tmp[2 * m] = c[m];
        tmp[2 * m + 1] = zero;
      }
      this.exec(tmp, fct, true);
      c[0] = tmp[0];
      for (let m = 1; m < n; m++) c[m] = tmp[m + 1];
    } else {
      tmp[0] = c[0];
      tmp[1] = rd.r(c[0] * 0);
      for (let m = 1; m < n; m++) tmp[m + 1] = c[m];
      if (n % 2 === 0) tmp[2 * (n / 2) + 1] = rd.r(0 * c[0]);
      for (let m = 1; 2 * m < n; m++) {
        tmp[2 * (n - m)] = tmp[2 * m];
        tmp[2 * (n - m) + 1] = -tmp[2 * m + 1];
      }
      this.exec(tmp, fct, false);
      for (let m = 0; m < n; m++) c[m] = tmp[2 * m];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public plans

/**
 * A complex FFT plan of one length (pocketfft's `pocketfft_c`): mixed-radix passes, or
 * Bluestein's algorithm where pocketfft would pick it. Not reentrant (it owns scratch memory).
 *
 * @example
 * ```ts
 * import { FftPlan } from "./signal_fft.ts";
 * const c = Float64Array.of(1, 0, 2, 0, 3, 0); // 1, 2, 3 interleaved
 * new FftPlan(3).exec(c, true); // c = [6, 0, -1.5, 0.866…, -1.5, -0.866…]
 * ```
 */
export class FftPlan {
  /** Transform length. */
  readonly n: number;
  /** Working precision. */
  readonly precision: FftPrecision;
  #pack?: Cfftp;
  #blue?: Fftblue;
  #buf?: Float64Array;

  /** Prepares twiddle factors for length `n` ≥ 1 in the given precision (default float64). */
  constructor(n: number, precision: FftPrecision = "float64") {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be ≥ 1, got ${n}`);
    this.n = n;
    this.precision = precision;
    const r = rounder(precision);
    if (useBluestein(n, false)) this.#blue = new Fftblue(n, r);
    else this.#pack = new Cfftp(n, r);
  }

  /**
   * Transforms the interleaved complex array `c` (length 2n) in place — forward e^(−2πikt/n),
   * backward e^(+2πikt/n) — and multiplies the result by `fct` (numpy passes 1 forward and
   * 1/n, rounded to the precision, backward). Inputs should already be representable in the
   * plan's precision.
   */
  exec(c: Float64Array, forward: boolean, fct = 1): void {
    if (c.length !== 2 * this.n) {
      throw new RangeError(`FFT buffer must hold ${2 * this.n} values, got ${c.length}`);
    }
    if (this.#pack) this.#pack.exec(c, fct, forward);
    else this.#blue!.exec(c, fct, forward);
  }

  /**
   * Transforms separate real and imaginary arrays (length n) in place without normalization:
   * forward e^(−2πikt/n), inverse e^(+2πikt/n).
   */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    const buf = this.#buf ??= new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      buf[2 * i] = re[i];
      buf[2 * i + 1] = im[i];
    }
    this.exec(buf, !inverse);
    for (let i = 0; i < n; i++) {
      re[i] = buf[2 * i];
      im[i] = buf[2 * i + 1];
    }
  }
}

/**
 * A real FFT plan of one length (pocketfft's `pocketfft_r`), working in place on FFTPACK's
 * half-complex layout r0, r1, i1, …, [r(n/2)]. Not reentrant.
 *
 * @example
 * ```ts
 * import { RealFftPlan } from "./signal_fft.ts";
 * const c = Float64Array.of(1, 2, 3, 4);
 * new RealFftPlan(4).exec(c, true); // c = [10, -2, 2, -2] (r0, r1, i1, r2)
 * ```
 */
export class RealFftPlan {
  /** Transform length. */
  readonly n: number;
  /** Working precision. */
  readonly precision: FftPrecision;
  #pack?: Rfftp;
  #blue?: Fftblue;

  /** Prepares twiddle factors for length `n` ≥ 1 in the given precision (default float64). */
  constructor(n: number, precision: FftPrecision = "float64") {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be ≥ 1, got ${n}`);
    this.n = n;
    this.precision = precision;
    const r = rounder(precision);
    if (useBluestein(n, true)) this.#blue = new Fftblue(n, r);
    else this.#pack = new Rfftp(n, r);
  }

  /**
   * Forward: real signal → half-complex spectrum; backward: half-complex spectrum → real
   * signal (unnormalized); in place on `c` (length n), then multiplied by `fct`.
   */
  exec(c: Float64Array, forward: boolean, fct = 1): void {
    if (c.length !== this.n) {
      throw new RangeError(`FFT buffer must hold ${this.n} values, got ${c.length}`);
    }
    if (this.#pack) this.#pack.exec(c, fct, forward);
    else this.#blue!.execReal(c, fct, forward);
  }
}

/** Internals exposed for tests (factor orders, plan choice, the long double angle). */
export const fftInternals = {
  complexFactors: (n: number): number[] => Cfftp.factorize(n),
  realFactors: (n: number): number[] => Rfftp.factorize(n),
  usesBluestein: useBluestein,
  goodSizeComplex,
  quarterPiOver,
};
