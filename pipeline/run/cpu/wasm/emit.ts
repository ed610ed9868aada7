/**
 * A small WebAssembly bytecode emitter: enough of the binary format to build compute modules
 * (numeric and SIMD instructions, structured control flow, an imported memory) at run time
 * from TypeScript, so no compiled blobs or toolchains are needed.
 *
 * Code is built as nested byte arrays with expression helpers (`I32.add(a, b)` emits `a`,
 * `b`, then `i32.add`), which keeps the generated kernels readable. Only what the CPU kernels
 * use is here; opcodes follow the WebAssembly core specification (SIMD under the 0xFD
 * prefix, bulk memory under 0xFC).
 *
 * @module
 */

/** Bytecode: a flat list of bytes, or nested lists that are flattened when emitted. */
export type Code = number | readonly Code[];

/** A WebAssembly value type. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

/** Unsigned LEB128 encoding of a non-negative integer (< 2^32). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  while (true) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Flattens nested code into bytes. */
export function flatten(code: Code, out: number[] = []): number[] {
  if (typeof code === "number") out.push(code);
  else for (const c of code) flatten(c, out);
  return out;
}

function utf8(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** A memory argument (alignment as log2, and a constant byte offset). */
function memarg(align: number, offset: number): number[] {
  return [...uleb(align), ...uleb(offset)];
}

/** Block type "no result". */
const EMPTY = 0x40;

/** Control flow and locals. */
export const Ctl = {
  /** `local.get`. */
  get: (l: number): Code => [0x20, uleb(l)],
  /** `local.set` of the value of `v`. */
  set: (l: number, v: Code): Code => [v, 0x21, uleb(l)],
  /** `local.tee` of the value of `v`. */
  tee: (l: number, v: Code): Code => [v, 0x22, uleb(l)],
  /** A block (branch depth 0 inside exits it). */
  block: (...body: Code[]): Code => [0x02, EMPTY, body, 0x0b],
  /** A loop (branch depth 0 inside restarts it). */
  loop: (...body: Code[]): Code => [0x03, EMPTY, body, 0x0b],
  /** `if` on the i32 `cond`, with an optional else branch. */
  if: (cond: Code, then: Code, otherwise?: Code): Code =>
    otherwise === undefined
      ? [cond, 0x04, EMPTY, then, 0x0b]
      : [cond, 0x04, EMPTY, then, 0x05, otherwise, 0x0b],
  /** `br` to the enclosing block or loop `depth` levels out. */
  br: (depth: number): Code => [0x0c, uleb(depth)],
  /** `br_if` on the i32 `cond`. */
  brIf: (depth: number, cond: Code): Code => [cond, 0x0d, uleb(depth)],
  /** `return`. */
  ret: (): Code => 0x0f,
  /** `call` of function `index` with the given argument code. */
  call: (index: number, ...args: Code[]): Code => [args, 0x10, uleb(index)],
  /** `drop`. */
  drop: (v: Code): Code => [v, 0x1a],
};

/** i32 instructions. */
export const I32 = {
  /** Constant. */
  const: (n: number): Code => [0x41, sleb(n)],
  /** Load (byte address `addr` + constant `offset`). */
  load: (addr: Code, offset = 0): Code => [addr, 0x28, memarg(2, offset)],
  /** Store. */
  store: (addr: Code, v: Code, offset = 0): Code => [addr, v, 0x36, memarg(2, offset)],
  /** Sign-extending 8-bit load. */
  load8s: (addr: Code, offset = 0): Code => [addr, 0x2c, memarg(0, offset)],
  /** Zero-extending 8-bit load. */
  load8u: (addr: Code, offset = 0): Code => [addr, 0x2d, memarg(0, offset)],
  /** 8-bit store. */
  store8: (addr: Code, v: Code, offset = 0): Code => [addr, v, 0x3a, memarg(0, offset)],
  /** a == 0. */
  eqz: (a: Code): Code => [a, 0x45],
  /** a == b. */
  eq: (a: Code, b: Code): Code => [a, b, 0x46],
  /** a != b. */
  ne: (a: Code, b: Code): Code => [a, b, 0x47],
  /** a < b (signed). */
  ltS: (a: Code, b: Code): Code => [a, b, 0x48],
  /** a < b (unsigned). */
  ltU: (a: Code, b: Code): Code => [a, b, 0x49],
  /** a > b (signed). */
  gtS: (a: Code, b: Code): Code => [a, b, 0x4a],
  /** a >= b (unsigned). */
  geU: (a: Code, b: Code): Code => [a, b, 0x4f],
  /** a <= b (signed). */
  leS: (a: Code, b: Code): Code => [a, b, 0x4c],
  /** a >= b (signed). */
  geS: (a: Code, b: Code): Code => [a, b, 0x4e],
  /** a + b. */
  add: (a: Code, b: Code): Code => [a, b, 0x6a],
  /** a − b. */
  sub: (a: Code, b: Code): Code => [a, b, 0x6b],
  /** a · b. */
  mul: (a: Code, b: Code): Code => [a, b, 0x6c],
  /** a / b (unsigned). */
  divU: (a: Code, b: Code): Code => [a, b, 0x6e],
  /** a % b (unsigned). */
  remU: (a: Code, b: Code): Code => [a, b, 0x70],
  /** a & b. */
  and: (a: Code, b: Code): Code => [a, b, 0x71],
  /** Atomic fetch-and-add at `addr` (threads): returns the old value. */
  atomicAdd: (addr: Code, v: Code, offset = 0): Code => [addr, v, 0xfe, 0x1e, memarg(2, offset)],
  /** a | b. */
  or: (a: Code, b: Code): Code => [a, b, 0x72],
  /** a << b. */
  shl: (a: Code, b: Code): Code => [a, b, 0x74],
  /** a >> b (signed). */
  shrS: (a: Code, b: Code): Code => [a, b, 0x75],
  /** `cond ? a : b` (both evaluated). */
  select: (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b],
};

/** f32 instructions. */
export const F32 = {
  /** Constant. */
  const: (x: number): Code => {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return [0x43, ...b];
  },
  /** Load. */
  load: (addr: Code, offset = 0): Code => [addr, 0x2a, memarg(2, offset)],
  /** Store. */
  store: (addr: Code, v: Code, offset = 0): Code => [addr, v, 0x38, memarg(2, offset)],
  /** a + b. */
  add: (a: Code, b: Code): Code => [a, b, 0x92],
  /** a · b. */
  mul: (a: Code, b: Code): Code => [a, b, 0x94],
  /** a / b. */
  div: (a: Code, b: Code): Code => [a, b, 0x95],
  /** Round half to even. */
  nearest: (a: Code): Code => [a, 0x90],
  /** Saturating truncation to i32 (NaN → 0). */
  truncSatI32: (a: Code): Code => [a, 0xfc, 0x00],
  /** IEEE maximum (NaN-propagating, max(−0, +0) = +0). */
  max: (a: Code, b: Code): Code => [a, b, 0x97],
  /** a < b. */
  lt: (a: Code, b: Code): Code => [a, b, 0x5d],
  /** a > b. */
  gt: (a: Code, b: Code): Code => [a, b, 0x5e],
  /** a ≠ b (true for NaN). */
  ne: (a: Code, b: Code): Code => [a, b, 0x5c],
  /** `cond ? a : b` (both evaluated). */
  select: (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b],
};

/** f64 instructions. */
export const F64 = {
  /** Load. */
  load: (addr: Code, offset = 0): Code => [addr, 0x2b, memarg(3, offset)],
  /** Store. */
  store: (addr: Code, v: Code, offset = 0): Code => [addr, v, 0x39, memarg(3, offset)],
  /** a + b. */
  add: (a: Code, b: Code): Code => [a, b, 0xa0],
  /** a · b. */
  mul: (a: Code, b: Code): Code => [a, b, 0xa2],
  /** Conversion from a signed i32. */
  fromI32: (a: Code): Code => [a, 0xb7],
};

function simd(op: number, ...rest: Code[]): Code {
  return [0xfd, uleb(op), rest];
}

/** 128-bit SIMD instructions (fixed-width SIMD proposal, standard since WebAssembly 2.0). */
export const V128 = {
  /** 16-byte load. */
  load: (addr: Code, offset = 0): Code => [addr, simd(0x00, memarg(4, offset))],
  /** Loads one f32/i32 and splats it to all four lanes. */
  load32Splat: (addr: Code, offset = 0): Code => [addr, simd(0x09, memarg(2, offset))],
  /** Loads one f64/i64 and splats it to both lanes. */
  load64Splat: (addr: Code, offset = 0): Code => [addr, simd(0x0a, memarg(3, offset))],
  /** 16-byte store. */
  store: (addr: Code, v: Code, offset = 0): Code => [addr, v, simd(0x0b, memarg(4, offset))],
  /** All-zero vector. */
  zero: (): Code => simd(0x0c, new Array<number>(16).fill(0)),
  /** A constant of four float32 lanes. */
  f32x4Const: (lanes: readonly number[]): Code =>
    simd(0x0c, [...new Uint8Array(new Float32Array(lanes).buffer)]),
  /** f32x4.ne (all-ones lanes where a ≠ b, NaN included). */
  f32x4Ne: (a: Code, b: Code): Code => [a, b, simd(0x42)],
  /** f32x4.gt. */
  f32x4Gt: (a: Code, b: Code): Code => [a, b, simd(0x44)],
  /** v128.or. */
  or: (a: Code, b: Code): Code => [a, b, simd(0x50)],
  /** v128.bitselect: bits of a where mask is set, else of b. */
  bitselect: (a: Code, b: Code, mask: Code): Code => [a, b, mask, simd(0x52)],
  /** f32x4.splat. */
  f32x4Splat: (x: Code): Code => [x, simd(0x13)],
  /** f32x4.add. */
  f32x4Add: (a: Code, b: Code): Code => [a, b, simd(0xe4)],
  /** f32x4.mul. */
  f32x4Mul: (a: Code, b: Code): Code => [a, b, simd(0xe6)],
  /** f32x4.relaxed_madd: a·b + c, fused or not depending on the hardware (relaxed SIMD). */
  f32x4RelaxedMadd: (a: Code, b: Code, c: Code): Code => [a, b, c, simd(0x105)],
  /** f32x4.min (NaN-propagating). */
  f32x4Min: (a: Code, b: Code): Code => [a, b, simd(0xe8)],
  /** f32x4.max (NaN-propagating). */
  f32x4Max: (a: Code, b: Code): Code => [a, b, simd(0xe9)],
  /** f32x4.pmin: b < a ? b : a per lane. */
  f32x4Pmin: (a: Code, b: Code): Code => [a, b, simd(0xea)],
  /** f32x4.pmax: a < b ? b : a per lane. */
  f32x4Pmax: (a: Code, b: Code): Code => [a, b, simd(0xeb)],
  /** f64x2.splat. */
  f64x2Splat: (x: Code): Code => [x, simd(0x14)],
  /** f64x2.add. */
  f64x2Add: (a: Code, b: Code): Code => [a, b, simd(0xf0)],
  /** f64x2.mul. */
  f64x2Mul: (a: Code, b: Code): Code => [a, b, simd(0xf2)],
  /** i32x4.add. */
  i32x4Add: (a: Code, b: Code): Code => [a, b, simd(0xae)],
  /** i32x4.mul. */
  i32x4Mul: (a: Code, b: Code): Code => [a, b, simd(0xb6)],
  /** i32x4.dot_i16x8_s: adjacent int16 products summed in pairs. */
  i32x4DotI16x8S: (a: Code, b: Code): Code => [a, b, simd(0xba)],
  /** Loads 8 bytes and sign-extends them to eight int16 lanes. */
  load8x8S: (addr: Code, offset = 0): Code => [addr, simd(0x01, memarg(3, offset))],
  /** Loads 8 bytes and zero-extends them to eight int16 lanes. */
  load8x8U: (addr: Code, offset = 0): Code => [addr, simd(0x02, memarg(3, offset))],
  /** Loads four int16 and sign-extends them to four int32 lanes. */
  load16x4S: (addr: Code, offset = 0): Code => [addr, simd(0x03, memarg(3, offset))],
  /** Loads 4 bytes into lane 0, zeroing the others. */
  load32Zero: (addr: Code, offset = 0): Code => [addr, simd(0x5c, memarg(2, offset))],
  /** Loads 8 bytes into the low half, zeroing the high half. */
  load64Zero: (addr: Code, offset = 0): Code => [addr, simd(0x5d, memarg(3, offset))],
  /** Stores 32-bit lane `lane` of `v`. */
  store32Lane: (addr: Code, v: Code, lane: number, offset = 0): Code => [
    addr,
    v,
    simd(0x5a, memarg(2, offset), lane),
  ],
  /** Stores 64-bit lane `lane` of `v`. */
  store64Lane: (addr: Code, v: Code, lane: number, offset = 0): Code => [
    addr,
    v,
    simd(0x5b, memarg(3, offset), lane),
  ],
  /** i8x16.shuffle of the 32 bytes of a and b by 16 constant byte indices. */
  shuffle: (a: Code, b: Code, bytes: readonly number[]): Code => [a, b, simd(0x0d, bytes)],
  /** i8x16.shuffle by 32-bit lanes (0–3 from a, 4–7 from b). */
  shuffle32: (a: Code, b: Code, lanes: readonly number[]): Code => [
    a,
    b,
    simd(0x0d, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])),
  ],
  /** f32x4.div. */
  f32x4Div: (a: Code, b: Code): Code => [a, b, simd(0xe7)],
  /** f32x4.nearest (round half to even). */
  f32x4Nearest: (a: Code): Code => [a, simd(0x6a)],
  /** i16x8.narrow_i32x4_u (unsigned saturation). */
  i16x8NarrowI32x4U: (a: Code, b: Code): Code => [a, b, simd(0x86)],
  /** i8x16.narrow_i16x8_u (unsigned saturation). */
  i8x16NarrowI16x8U: (a: Code, b: Code): Code => [a, b, simd(0x66)],
  /** f32x4.extract_lane. */
  f32x4ExtractLane: (a: Code, lane: number): Code => [a, simd(0x1f, lane)],
  /** i32x4.trunc_sat_f32x4_s (exact for integral values in range). */
  i32x4TruncSatF32x4S: (a: Code): Code => [a, simd(0xf8)],
  /** i32x4.splat. */
  i32x4Splat: (x: Code): Code => [x, simd(0x11)],
};

/** Bulk memory instructions. */
export const Mem = {
  /** memory.fill(dst, byte value, length). */
  fill: (dst: Code, value: Code, len: Code): Code => [dst, value, len, 0xfc, uleb(11), 0x00],
  /** memory.copy(dst, src, length). */
  copy: (dst: Code, src: Code, len: Code): Code => [dst, src, len, 0xfc, uleb(10), 0x00, 0x00],
};

/** A function being built: parameters are locals 0..n−1, {@link FunctionBuilder.local} adds more. */
export class FunctionBuilder {
  /** Export name. */
  readonly name: string;
  /** Parameter types. */
  readonly params: readonly ValType[];
  /** Result types. */
  readonly results: readonly ValType[];
  /** Declared extra locals. */
  readonly locals: ValType[] = [];
  /** The body (without the final `end`). */
  body: Code[] = [];

  /** Creates a function with the given export name and signature. */
  constructor(name: string, params: readonly ValType[], results: readonly ValType[] = []) {
    this.name = name;
    this.params = params;
    this.results = results;
  }

  /** Declares a new local of `type`; returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  /** Appends code to the body. */
  emit(...code: Code[]): this {
    this.body.push(...code);
    return this;
  }
}

/** Memory import settings of a module. */
export interface MemoryImport {
  /** Import module name. */
  module: string;
  /** Import field name. */
  field: string;
  /** Initial pages (64 KiB each). */
  initial: number;
  /** Maximum pages. */
  maximum: number;
  /** Shared (threads) memory. */
  shared: boolean;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const it of items) out.push(...it);
  return out;
}

/**
 * Assembles a module that imports one memory and exports the given functions (in order;
 * function i has index i).
 */
export function assembleModule(
  memory: MemoryImport,
  funcs: readonly FunctionBuilder[],
): Uint8Array<ArrayBuffer> {
  const types: string[] = [];
  const typeBytes: number[][] = [];
  const typeOf: number[] = [];
  for (const f of funcs) {
    const bytes = [
      0x60,
      ...uleb(f.params.length),
      ...f.params.map((t) => VALTYPE[t]),
      ...uleb(f.results.length),
      ...f.results.map((t) => VALTYPE[t]),
    ];
    const key = bytes.join(",");
    let i = types.indexOf(key);
    if (i < 0) {
      i = types.length;
      types.push(key);
      typeBytes.push(bytes);
    }
    typeOf.push(i);
  }
  const limits = memory.shared
    ? [0x03, ...uleb(memory.initial), ...uleb(memory.maximum)]
    : [0x01, ...uleb(memory.initial), ...uleb(memory.maximum)];
  const imports = vec([[...utf8(memory.module), ...utf8(memory.field), 0x02, ...limits]]);
  const functions = vec(typeOf.map((t) => uleb(t)));
  const exports = vec(funcs.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]));
  const bodies = funcs.map((f) => {
    // Run-length encode local declarations.
    const groups: number[][] = [];
    let i = 0;
    while (i < f.locals.length) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      groups.push([...uleb(j - i), VALTYPE[f.locals[i]]]);
      i = j;
    }
    const code = [...vec(groups), ...flatten(f.body), 0x0b];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(typeBytes)),
    ...section(2, imports),
    ...section(3, functions),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ]);
}
