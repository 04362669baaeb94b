/**
 * Table-driven CRCs (parameters as in the "Catalogue of parametrised CRC algorithms"):
 *
 * | name               | width | poly       | init       | refin/out | xorout     | check ("123456789") |
 * |--------------------|-------|------------|------------|-----------|------------|---------------------|
 * | CRC-8/SMBUS        | 8     | 0x07       | 0x00       | no        | 0x00       | 0xF4                |
 * | CRC-16/CCITT-FALSE | 16    | 0x1021     | 0xFFFF     | no        | 0x0000     | 0x29B1              |
 * | CRC-32/ISO-HDLC    | 32    | 0x04C11DB7 | 0xFFFFFFFF | yes       | 0xFFFFFFFF | 0xCBF43926          |
 *
 * CRC-32/ISO-HDLC is the zlib/Ethernet/PNG CRC. Each function takes an optional `start`/`end` range and
 * a `previous` value to continue a running CRC: f(b, prev) over a split buffer equals f over the whole.
 * The lookup tables are computed once at load and never written afterwards.
 */

const CRC8_TABLE = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    t[i] = c;
  }
  return t;
})();

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

const CRC32_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-8/SMBUS of data[start, end). Continue a running CRC by passing it as `previous`. */
export function crc8Smbus(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  let c = previous & 0xff;
  for (let i = start; i < end; i++) c = CRC8_TABLE[c ^ data[i]!]!;
  return c;
}

/** CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740) of data[start, end). */
export function crc16CcittFalse(data: Uint8Array, start = 0, end = data.length, previous = 0xffff): number {
  let c = previous & 0xffff;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ CRC16_TABLE[(c >>> 8) ^ data[i]!]!;
  return c;
}

/** CRC-32/ISO-HDLC (zlib crc32) of data[start, end), as an unsigned number. */
export function crc32(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  let c = ~previous;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
