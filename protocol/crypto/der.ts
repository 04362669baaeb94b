/**
 * The small strict subset of ASN.1 DER (X.690) that key and signature encodings need:
 * SEQUENCE, INTEGER, OBJECT IDENTIFIER, BIT STRING, OCTET STRING and context tags [0], [1].
 * Strict means: single-byte tags, definite minimal-length encodings, minimal non-negative
 * INTEGERs, no trailing bytes. Every violation is a DecodeError with the caller's code, because
 * the input is always bytes from outside.
 */
import { DecodeError } from '../errors.js';

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

export interface DerElement {
  tag: number;
  content: Uint8Array;
}

/** Reads DER elements from a byte string, failing with one error code for any malformation. */
export class DerReader {
  private off = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly code: string,
    private readonly what: string,
  ) {}

  fail(reason: string): never {
    throw new DecodeError(
      this.code,
      `${this.what}: ${reason}`,
      'the bytes are not a valid DER encoding of this structure',
    );
  }

  get done(): boolean {
    return this.off >= this.bytes.length;
  }

  peekTag(): number | undefined {
    return this.bytes[this.off];
  }

  read(expectedTag: number): Uint8Array {
    const b = this.bytes;
    if (this.off >= b.length) this.fail('unexpected end of data');
    const tag = b[this.off]!;
    if (tag !== expectedTag) this.fail(`expected tag 0x${expectedTag.toString(16)}, found 0x${tag.toString(16)}`);
    let p = this.off + 1;
    if (p >= b.length) this.fail('missing length');
    const first = b[p++]!;
    let len: number;
    if (first < 0x80) {
      len = first;
    } else if (first === 0x81) {
      if (p >= b.length) this.fail('truncated length');
      len = b[p++]!;
      if (len < 0x80) this.fail('non-minimal length');
    } else if (first === 0x82) {
      if (p + 1 >= b.length) this.fail('truncated length');
      len = (b[p]! << 8) | b[p + 1]!;
      p += 2;
      if (len < 0x100) this.fail('non-minimal length');
    } else {
      this.fail(first === 0x80 ? 'indefinite length' : 'length too large');
    }
    if (p + len > b.length) this.fail('content runs past the end');
    this.off = p + len;
    return b.subarray(p, p + len);
  }

  /** Reads a constructed element and returns a reader over its content. */
  readNested(expectedTag: number): DerReader {
    return new DerReader(this.read(expectedTag), this.code, this.what);
  }

  /** Non-negative INTEGER as its unsigned big-endian magnitude (no sign byte), at most maxBytes long. */
  readUnsigned(maxBytes: number): Uint8Array {
    const c = this.read(TAG.INTEGER);
    if (c.length === 0) this.fail('empty INTEGER');
    if (c[0]! & 0x80) this.fail('negative INTEGER');
    if (c.length > 1 && c[0] === 0 && !(c[1]! & 0x80)) this.fail('non-minimal INTEGER');
    const mag = c[0] === 0 && c.length > 1 ? c.subarray(1) : c;
    if (mag.length > maxBytes) this.fail(`INTEGER longer than ${maxBytes} bytes`);
    return mag;
  }

  /** Small non-negative INTEGER (versions). */
  readSmallInt(): number {
    const mag = this.readUnsigned(4);
    let v = 0;
    for (const x of mag) v = v * 256 + x;
    return v;
  }

  /** BIT STRING with no unused bits. */
  readBitStringBytes(): Uint8Array {
    const c = this.read(TAG.BIT_STRING);
    if (c.length === 0) this.fail('empty BIT STRING');
    if (c[0] !== 0) this.fail('BIT STRING with unused bits');
    return c.subarray(1);
  }

  end(): void {
    if (!this.done) this.fail('trailing bytes');
  }
}

/** Reads exactly one element of the given tag spanning all of bytes. */
export function readOnly(bytes: Uint8Array, tag: number, code: string, what: string): DerReader {
  const r = new DerReader(bytes, code, what);
  const inner = r.readNested(tag);
  r.end();
  return inner;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

export function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  if (len < 0x10000) return Uint8Array.of(0x82, len >>> 8, len & 0xff);
  throw new RangeError('DER element too long');
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of content) len += c.length;
  const l = encodeLength(len);
  const out = new Uint8Array(1 + l.length + len);
  out[0] = tag;
  out.set(l, 1);
  let off = 1 + l.length;
  for (const c of content) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** INTEGER from an unsigned big-endian magnitude (leading zeros stripped, sign byte added). */
export function encodeUnsigned(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let m = magnitude.subarray(i);
  if (m.length === 0) m = Uint8Array.of(0);
  if (m[0]! & 0x80) return tlv(TAG.INTEGER, Uint8Array.of(0), m);
  return tlv(TAG.INTEGER, m);
}

export function encodeBitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

/** OBJECT IDENTIFIER from dotted text (arcs must fit in a JS number). */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError(`bad OID ${dotted}`);
  const body: number[] = [];
  const push = (v: number): void => {
    const tmp = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) tmp.unshift((v & 0x7f) | 0x80);
    body.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Uint8Array.from(body));
}
