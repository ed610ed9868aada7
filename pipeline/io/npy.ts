/**
 * NumPy `.npy` files: reading (format versions 1.0, 2.0 and 3.0; little- and big-endian;
 * C or Fortran order) and writing (version 1.0, or 2.0 when the header is too long).
 *
 * Element types map as follows: `f2` → float16 (raw bits), `f4` → float32, `f8` → float64,
 * `i1`/`i2`/`i4`/`i8` → int8/int16/int32/int64, `u1`/`u2`/`u4`/`u8` → uint8 ... uint64,
 * `b1` → bool, `c8`/`c16` → complex64/complex128, `U<n>` (UCS-4) and `S<n>` (bytes, read as
 * UTF-8) → string. Object arrays (`O`), structured dtypes and anything else are refused.
 *
 * @module
 */

import { type DataType, slotsPerElement, type TensorData } from "../tensor/dtype.ts";
import { shapeSize, Tensor } from "../tensor/tensor.ts";
import { ModelFormatError, UnsupportedError } from "../errors.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Largest element count a `.npy` file may declare (guards against hostile headers). */
const MAX_ELEMENTS = 2 ** 31;

/** A parsed dtype descriptor. */
interface Descr {
  type: DataType;
  /** Bytes per element in the file. */
  itemSize: number;
  /** True when multi-byte values are big-endian. */
  bigEndian: boolean;
  /** For strings: "U" (UCS-4) or "S" (bytes). */
  stringKind?: "U" | "S";
}

/** A Python literal value as it may appear in a `.npy` header. */
type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Parser for the small Python literal subset used by `.npy` headers. */
class PyLiteralParser {
  #s: string;
  #p = 0;
  #fail: (msg: string) => never;

  constructor(s: string, fail: (msg: string) => never) {
    this.#s = s;
    this.#fail = fail;
  }

  parseAll(): PyValue {
    const v = this.#value();
    this.#ws();
    if (this.#p !== this.#s.length) {
      this.#fail(`unexpected text "${this.#s.slice(this.#p, this.#p + 20)}" after the header dict`);
    }
    return v;
  }

  #ws(): void {
    while (this.#p < this.#s.length && /\s/.test(this.#s[this.#p])) this.#p++;
  }

  #value(): PyValue {
    this.#ws();
    const c = this.#s[this.#p];
    if (c === "{") return this.#dict();
    if (c === "(" || c === "[") return this.#list(c === "(" ? ")" : "]");
    if (c === "'" || c === '"') return this.#string();
    const m = /^(True|False|None|[-+]?\d+L?)/.exec(this.#s.slice(this.#p));
    if (!m) this.#fail(`cannot parse the header near "${this.#s.slice(this.#p, this.#p + 20)}"`);
    this.#p += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number(m[0].replace(/L$/, ""));
  }

  #string(): string {
    const q = this.#s[this.#p++];
    let out = "";
    while (this.#p < this.#s.length && this.#s[this.#p] !== q) {
      if (this.#s[this.#p] === "\\") this.#p++;
      out += this.#s[this.#p++];
    }
    if (this.#p >= this.#s.length) this.#fail("unterminated string in the header");
    this.#p++;
    return out;
  }

  #list(close: string): PyValue[] {
    this.#p++;
    const out: PyValue[] = [];
    for (;;) {
      this.#ws();
      if (this.#s[this.#p] === close) {
        this.#p++;
        return out;
      }
      out.push(this.#value());
      this.#ws();
      if (this.#s[this.#p] === ",") this.#p++;
      else if (this.#s[this.#p] !== close) this.#fail(`expected "," or "${close}" in the header`);
    }
  }

  #dict(): { [key: string]: PyValue } {
    this.#p++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.#ws();
      if (this.#s[this.#p] === "}") {
        this.#p++;
        return out;
      }
      const key = this.#value();
      if (typeof key !== "string") this.#fail("header dict keys must be strings");
      this.#ws();
      if (this.#s[this.#p] !== ":") this.#fail(`expected ":" after key '${key}' in the header`);
      this.#p++;
      out[key] = this.#value();
      this.#ws();
      if (this.#s[this.#p] === ",") this.#p++;
      else if (this.#s[this.#p] !== "}") this.#fail('expected "," or "}" in the header dict');
    }
  }
}

function parseDescr(descr: string, source: string, fail: (msg: string) => never): Descr {
  const unsupported = (what: string): never => {
    throw new UnsupportedError(`Unsupported dtype ${what} in .npy file ${source}`, {
      dtype: descr,
    });
  };
  const m = /^([<>|=!]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) return unsupported(`descriptor '${descr}'`);
  const order = m[1];
  const kind = m[2];
  const size = m[3] === "" ? undefined : Number(m[3]);
  const bigEndian = order === ">" || order === "!";
  if (kind === "O") {
    fail("object arrays (dtype 'O') hold pickled Python objects and are refused");
  }
  if (kind === "U" || kind === "S") {
    if (size === undefined) fail(`dtype '${descr}' has no length`);
    return {
      type: "string",
      itemSize: kind === "U" ? size * 4 : size,
      bigEndian,
      stringKind: kind,
    };
  }
  const key = `${kind}${size ?? ""}`;
  const table: Record<string, DataType> = {
    f2: "float16",
    f4: "float32",
    f8: "float64",
    i1: "int8",
    i2: "int16",
    i4: "int32",
    i8: "int64",
    u1: "uint8",
    u2: "uint16",
    u4: "uint32",
    u8: "uint64",
    b1: "bool",
    c8: "complex64",
    c16: "complex128",
  };
  const type = table[key];
  if (!type) return unsupported(`'${descr}'`);
  return { type, itemSize: size!, bigEndian };
}

function decodeLatin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Reads numbers of `itemSize` bytes with the given endianness into the storage of `type`. */
function readElements(
  bytes: Uint8Array,
  descr: Descr,
  count: number,
): TensorData {
  const { type, itemSize, bigEndian } = descr;
  const le = !bigEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === "string") {
    const out = new Array<string>(count);
    const utf8 = new TextDecoder("utf-8", { fatal: false });
    for (let i = 0; i < count; i++) {
      const base = i * itemSize;
      if (descr.stringKind === "S") {
        let end = base + itemSize;
        while (end > base && bytes[end - 1] === 0) end--;
        out[i] = utf8.decode(bytes.subarray(base, end));
      } else {
        let s = "";
        for (let j = 0; j < itemSize / 4; j++) {
          const cp = view.getUint32(base + j * 4, le);
          if (cp === 0) {
            // Trailing NULs pad the field; NumPy strips them on read.
            let rest = true;
            for (let k = j + 1; k < itemSize / 4; k++) {
              if (view.getUint32(base + k * 4, le) !== 0) rest = false;
            }
            if (rest) break;
          }
          if (cp > 0x10ffff) {
            throw new RangeError(`invalid code point 0x${cp.toString(16)} in element ${i}`);
          }
          s += String.fromCodePoint(cp);
        }
        out[i] = s;
      }
    }
    return out;
  }
  const slots = slotsPerElement(type);
  const n = count * slots;
  const width = itemSize / slots;
  switch (type) {
    case "float16":
    case "uint16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, le);
      return out;
    }
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, le);
      return out;
    }
    case "float32":
    case "complex64": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, le);
      return out;
    }
    case "float64":
    case "complex128": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * width, le);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, le);
      return out;
    }
    case "uint32": {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, le);
      return out;
    }
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigInt64(i * 8, le);
      return out;
    }
    case "uint64": {
      const out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigUint64(i * 8, le);
      return out;
    }
    case "int8":
      return new Int8Array(bytes.slice(0, n));
    case "uint8":
      return bytes.slice(0, n);
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return out;
    }
    default:
      throw new UnsupportedError(`Cannot read .npy elements of type ${type}`, { dtype: type });
  }
}

/** Reorders Fortran-order (column-major) storage into C order (row-major). */
function fortranToC(data: TensorData, dims: readonly number[], slots: number): TensorData {
  const rank = dims.length;
  const size = shapeSize(dims);
  if (rank < 2 || size <= 1) return data;
  // Strides of the Fortran layout, in elements.
  const fStrides = new Array<number>(rank);
  let acc = 1;
  for (let d = 0; d < rank; d++) {
    fStrides[d] = acc;
    acc *= dims[d];
  }
  const out = (Array.isArray(data) ? new Array<string>(data.length) : new (data.constructor as {
    new (n: number): Exclude<TensorData, string[]>;
  })(data.length)) as TensorData;
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < size; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += idx[d] * fStrides[d];
    for (let s = 0; s < slots; s++) {
      (out as unknown as unknown[])[c * slots + s] = (data as unknown as unknown[])[f * slots + s];
    }
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Reads a NumPy `.npy` file. `source` names the file in error messages.
 *
 * Throws {@link ModelFormatError} for bad magic, a truncated or malformed header or payload,
 * and object arrays (which hold pickles), and {@link UnsupportedError} for structured dtypes
 * and other valid dtypes this reader does not handle (datetime, void, ...).
 *
 * @example
 * ```ts
 * import { readNpy } from "./npy.ts";
 * const t = readNpy(Deno.readFileSync("input_0.npy"), "input_0.npy");
 * console.log(t.type, t.dims);
 * ```
 */
export function readNpy(bytes: Uint8Array, source = "<bytes>"): Tensor {
  const fail = (msg: string): never => {
    throw new ModelFormatError(`Invalid .npy file ${source}: ${msg}`, { source });
  };
  if (bytes.length < 10) fail(`only ${bytes.length} bytes, too short for a header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail("missing the \\x93NUMPY magic string");
  }
  const major = bytes[6];
  const minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated header length");
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`unsupported format version ${major}.${minor}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    fail(`header of ${headerLen} bytes runs past the end of the file (${bytes.length} bytes)`);
  }
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let header: string;
  try {
    header = major === 3
      ? new TextDecoder("utf-8", { fatal: true }).decode(headerBytes)
      : decodeLatin1(headerBytes);
  } catch {
    return fail("the version 3.0 header is not valid UTF-8");
  }
  const dict = new PyLiteralParser(header.trim(), fail).parseAll();
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    return fail("the header is not a dict");
  }
  for (const key of Object.keys(dict)) {
    if (key !== "descr" && key !== "fortran_order" && key !== "shape") {
      fail(`unexpected key '${key}' in the header`);
    }
  }
  const descrValue = dict["descr"];
  const fortran = dict["fortran_order"];
  const shape = dict["shape"];
  if (descrValue === undefined) fail("the header has no 'descr' key");
  if (typeof descrValue !== "string") {
    throw new UnsupportedError(
      `Structured dtypes are not supported in .npy file ${source}`,
      { dtype: JSON.stringify(descrValue) },
    );
  }
  if (typeof fortran !== "boolean") fail("the header's 'fortran_order' is not True or False");
  if (!Array.isArray(shape)) return fail("the header's 'shape' is not a tuple");
  const dims: number[] = [];
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      fail(`the shape (${shape.join(", ")}) has an invalid dimension`);
    }
    dims.push(d as number);
  }
  const descr = parseDescr(descrValue, source, fail);
  const count = shapeSize(dims);
  if (count > MAX_ELEMENTS) fail(`the shape (${dims.join(", ")}) is too large`);
  const need = count * descr.itemSize;
  const available = bytes.length - dataStart;
  if (available < need) {
    fail(
      `the data is truncated: shape (${
        dims.join(", ")
      }) of '${descrValue}' needs ${need} bytes, found ${available}`,
    );
  }
  if (available > need) {
    fail(`${available - need} unexpected bytes after the data`);
  }
  let data: TensorData;
  try {
    data = readElements(bytes.subarray(dataStart, dataStart + need), descr, count);
  } catch (e) {
    if (e instanceof RangeError) return fail(e.message);
    throw e;
  }
  if (fortran) data = fortranToC(data, dims, slotsPerElement(descr.type));
  return new Tensor(descr.type, data, dims);
}

function descrOf(t: Tensor): { descr: string; itemSize: number } {
  switch (t.type) {
    case "float16":
      return { descr: "<f2", itemSize: 2 };
    case "float32":
      return { descr: "<f4", itemSize: 4 };
    case "float64":
      return { descr: "<f8", itemSize: 8 };
    case "int8":
      return { descr: "|i1", itemSize: 1 };
    case "int16":
      return { descr: "<i2", itemSize: 2 };
    case "int32":
      return { descr: "<i4", itemSize: 4 };
    case "int64":
      return { descr: "<i8", itemSize: 8 };
    case "uint8":
      return { descr: "|u1", itemSize: 1 };
    case "uint16":
      return { descr: "<u2", itemSize: 2 };
    case "uint32":
      return { descr: "<u4", itemSize: 4 };
    case "uint64":
      return { descr: "<u8", itemSize: 8 };
    case "bool":
      return { descr: "|b1", itemSize: 1 };
    case "complex64":
      return { descr: "<c8", itemSize: 8 };
    case "complex128":
      return { descr: "<c16", itemSize: 16 };
    case "string": {
      let longest = 1;
      for (const s of t.data as string[]) {
        let n = 0;
        for (const _ of s) n++;
        longest = Math.max(longest, n);
      }
      return { descr: `<U${longest}`, itemSize: longest * 4 };
    }
    default:
      throw new UnsupportedError(
        `NumPy has no ${t.type} dtype: cast the tensor to a NumPy type before writing a .npy file`,
        { dtype: t.type },
      );
  }
}

/**
 * Writes a tensor as a NumPy `.npy` file (little-endian, C order). The header uses format
 * version 1.0, or 2.0 when it is longer than 65535 bytes, and is padded so that the data
 * starts at a multiple of 64 bytes, as NumPy does.
 *
 * Throws {@link UnsupportedError} for element types NumPy lacks (bfloat16, float8, int4, ...).
 *
 * @example
 * ```ts
 * import { writeNpy } from "./npy.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const bytes = writeNpy(new Tensor("float32", [1, 2, 3, 4], [2, 2]));
 * ```
 */
export function writeNpy(t: Tensor): Uint8Array {
  if (t.location !== "cpu") {
    throw new UnsupportedError("Cannot write a GPU tensor to .npy: download its data first");
  }
  const { descr, itemSize } = descrOf(t);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = dict + " ".repeat(headerLen - dict.length - 1) + "\n";
  const count = t.size;
  const out = new Uint8Array(total + count * itemSize);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  const base = total;
  const data = t.data;
  switch (t.type) {
    case "string": {
      const strings = data as string[];
      for (let i = 0; i < count; i++) {
        let j = 0;
        for (const ch of strings[i]) {
          view.setUint32(base + i * itemSize + j * 4, ch.codePointAt(0)!, true);
          j++;
        }
      }
      break;
    }
    case "int64":
    case "uint64": {
      const big = data as BigInt64Array | BigUint64Array;
      for (let i = 0; i < big.length; i++) {
        view.setBigUint64(base + i * 8, BigInt.asUintN(64, big[i]), true);
      }
      break;
    }
    case "float32":
    case "complex64": {
      const f = data as Float32Array;
      for (let i = 0; i < f.length; i++) view.setFloat32(base + i * 4, f[i], true);
      break;
    }
    case "float64":
    case "complex128": {
      const f = data as Float64Array;
      for (let i = 0; i < f.length; i++) view.setFloat64(base + i * 8, f[i], true);
      break;
    }
    case "float16":
    case "uint16": {
      const u = data as Uint16Array;
      for (let i = 0; i < u.length; i++) view.setUint16(base + i * 2, u[i], true);
      break;
    }
    case "int16": {
      const u = data as Int16Array;
      for (let i = 0; i < u.length; i++) view.setInt16(base + i * 2, u[i], true);
      break;
    }
    case "int32": {
      const u = data as Int32Array;
      for (let i = 0; i < u.length; i++) view.setInt32(base + i * 4, u[i], true);
      break;
    }
    case "uint32": {
      const u = data as Uint32Array;
      for (let i = 0; i < u.length; i++) view.setUint32(base + i * 4, u[i], true);
      break;
    }
    default: {
      // int8, uint8, bool: one byte per element.
      const u = data as Int8Array | Uint8Array;
      for (let i = 0; i < u.length; i++) out[base + i] = u[i] & 0xff;
    }
  }
  return out;
}
