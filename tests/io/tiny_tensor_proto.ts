/**
 * A tiny, standalone TensorProto reader for tests (dims field 1, data_type field 2,
 * float_data field 4, raw_data field 9), independent of the library's protobuf decoder so
 * that reference data can be checked without trusting the code under test.
 *
 * @module
 */

/** What the reader extracts: float32 tensors only. */
export interface TinyTensor {
  /** Shape. */
  dims: number[];
  /** TensorProto.DataType code (1 = float32). */
  dataType: number;
  /** Elements. */
  data: Float32Array;
}

/** Decodes a serialized float32 TensorProto. */
export function readFloatTensorProto(bytes: Uint8Array): TinyTensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const dims: number[] = [];
  let dataType = 0;
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[p++];
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return result;
    }
  };
  while (p < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) dims.push(v);
      else if (field === 2) dataType = v;
    } else if (wire === 2) {
      const len = varint();
      const end = p + len;
      if (field === 9) raw = bytes.slice(p, end);
      else if (field === 1) { while (p < end) dims.push(varint()); }
      else if (field === 4) {
        for (let q = p; q < end; q += 4) floats.push(view.getFloat32(q, true));
      }
      p = end;
    } else if (wire === 5) {
      if (field === 4) floats.push(view.getFloat32(p, true));
      p += 4;
    } else if (wire === 1) {
      p += 8;
    } else {
      throw new Error(`Unexpected wire type ${wire} in a TensorProto`);
    }
  }
  const data = raw
    ? new Float32Array(raw.buffer, 0, raw.byteLength / 4)
    : Float32Array.from(floats);
  return { dims, dataType, data };
}
