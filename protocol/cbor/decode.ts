import { DecodeError } from '../errors.js';
import { cborDecodeError, type CborErrorCode } from './codes.js';
import { MAX_DEPTH_CAP } from './encode.js';
import { halfToNumber, shortestFloatWidth } from './float.js';
import { CborTagged, type CborKey, type CborMap, type CborValue } from './types.js';

/**
 * Strict canonical CBOR decoder: accepts exactly the byte strings encodeCanonical produces
 * (so encodeCanonical(decodeCanonical(b)) equals b for every accepted b) and rejects everything
 * else with a DecodeError carrying a specific code. No other exception escapes, on any input.
 * Every length is checked against the remaining input and the limits BEFORE anything is allocated.
 */

export interface DecodeLimits {
  /** Maximum nesting of arrays/maps/tags (top-level container = depth 1). Default 16, at most 256. */
  maxDepth?: number;
  /** Maximum input length in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Maximum number of data items (every key, value, element and tag content counts). Default 65 536. */
  maxItems?: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<Required<DecodeLimits>> = Object.freeze({
  maxDepth: 16,
  maxBytes: 1 << 20,
  maxItems: 1 << 16,
});

const TWO_POW_32 = 0x1_0000_0000;
const SAFE_HI_LIMIT = 0x20_0000; // 2^53 / 2^32: 8-byte arguments with hi below this fit a safe integer

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeCanonical(bytes: Uint8Array, limits?: DecodeLimits): CborValue {
  if (!(bytes instanceof Uint8Array)) {
    throw cborDecodeError(
      'CBOR_NOT_BYTES',
      `expected a Uint8Array to decode, got ${bytes === null ? 'null' : typeof bytes}`,
    );
  }
  const maxDepth = limit(limits?.maxDepth, DEFAULT_DECODE_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP);
  const maxBytes = limit(limits?.maxBytes, DEFAULT_DECODE_LIMITS.maxBytes, 'maxBytes', Number.MAX_SAFE_INTEGER);
  const maxItems = limit(limits?.maxItems, DEFAULT_DECODE_LIMITS.maxItems, 'maxItems', Number.MAX_SAFE_INTEGER);
  if (bytes.length > maxBytes) {
    throw cborDecodeError('CBOR_TOO_LARGE', `CBOR input is ${bytes.length} bytes; the limit is ${maxBytes}`);
  }
  if (bytes.length === 0) throw cborDecodeError('CBOR_TRUNCATED', 'CBOR input is empty');
  const r = new Reader(bytes, maxDepth, maxItems);
  let value: CborValue;
  try {
    value = r.item(0);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // Defence in depth: the reader only throws DecodeError by construction (fuzzed). Never leak anything else.
    throw cborDecodeError(
      'CBOR_INTERNAL',
      `internal decoder failure at byte ${r.pos}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (r.pos !== bytes.length) {
    throw cborDecodeError(
      'CBOR_TRAILING_BYTES',
      `${bytes.length - r.pos} byte(s) follow the CBOR item that ends at byte ${r.pos} (of ${bytes.length})`,
    );
  }
  return value;
}

function limit(v: number | undefined, dflt: number, name: string, cap: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > cap) {
    throw cborDecodeError('CBOR_BAD_OPTIONS', `${name} must be an integer from 1 to ${cap}, got ${String(v)}`);
  }
  return v;
}

const MAJOR_NAMES = [
  'unsigned integer',
  'negative integer',
  'byte string',
  'text string',
  'array',
  'map',
  'tag',
  'simple/float',
];

class Reader {
  pos = 0;
  private items = 0;
  private view: DataView | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxItems: number,
  ) {}

  private fail(code: CborErrorCode, message: string, at = this.pos): never {
    throw cborDecodeError(code, `${message} (at byte ${at})`);
  }

  /** Require `n` more input bytes for the item that started at `at` (message built only on failure). */
  private need(n: number, at: number): void {
    const left = this.bytes.length - this.pos;
    if (n > left) {
      const major = this.bytes[at]! >> 5;
      this.fail('CBOR_TRUNCATED', `${MAJOR_NAMES[major]} needs ${n} more byte(s) but only ${left} remain`, at);
    }
  }

  /**
   * The argument of the head whose initial byte (at `start`) had additional info `ai`, checked for
   * shortest form. Returns a number when below 2^53, else a bigint. ai 31 is handled by callers.
   */
  private arg(ai: number, major: number, start: number): number | bigint {
    if (ai < 24) return ai;
    const b = this.bytes;
    let v: number;
    switch (ai) {
      case 24:
        this.need(1, start);
        v = b[this.pos++]!;
        if (v < 24) this.nonCanonical(major, v, 2, start);
        return v;
      case 25:
        this.need(2, start);
        v = (b[this.pos]! << 8) | b[this.pos + 1]!;
        this.pos += 2;
        if (v < 0x100) this.nonCanonical(major, v, 3, start);
        return v;
      case 26:
        this.need(4, start);
        v = b[this.pos]! * 0x100_0000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!);
        this.pos += 4;
        if (v < 0x10000) this.nonCanonical(major, v, 5, start);
        return v;
      case 27: {
        this.need(8, start);
        const p = this.pos;
        const hi = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
        const lo = b[p + 4]! * 0x100_0000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
        this.pos += 8;
        if (hi === 0) this.nonCanonical(major, lo, 9, start);
        if (hi < SAFE_HI_LIMIT) return hi * TWO_POW_32 + lo;
        return (BigInt(hi) << 32n) | BigInt(lo);
      }
      default:
        // 28–30 reserved; 31 is dispatched by the callers before calling arg().
        return this.fail(
          'CBOR_RESERVED_AI',
          `reserved additional information ${ai} in a ${MAJOR_NAMES[major]} head`,
          start,
        );
    }
  }

  private nonCanonical(major: number, v: number, used: number, start: number): never {
    return this.fail(
      'CBOR_NON_CANONICAL',
      `${MAJOR_NAMES[major]} argument ${v} is encoded in ${used} bytes; the shortest form is required`,
      start,
    );
  }

  /** Length argument of a string/array/map; rejects indefinite lengths. */
  private length(ai: number, major: number, start: number): number {
    if (ai === 31) {
      this.fail('CBOR_INDEFINITE_LENGTH', `indefinite-length ${MAJOR_NAMES[major]} is not allowed`, start);
    }
    const n = this.arg(ai, major, start);
    if (typeof n === 'bigint') {
      this.fail(
        'CBOR_TRUNCATED',
        `${MAJOR_NAMES[major]} claims length ${n} but only ${this.bytes.length - this.pos} bytes remain`,
        start,
      );
    }
    return n;
  }

  private checkDepth(depth: number, start: number): void {
    if (depth > this.maxDepth) this.fail('CBOR_TOO_DEEP', `nesting deeper than ${this.maxDepth} levels`, start);
  }

  /** Decode one data item; `depth` = number of enclosing containers. */
  item(depth: number): CborValue {
    if (++this.items > this.maxItems) this.fail('CBOR_TOO_MANY_ITEMS', `more than ${this.maxItems} data items`);
    const b = this.bytes;
    const start = this.pos;
    if (start >= b.length) this.fail('CBOR_TRUNCATED', 'input ends where a data item should start');
    const ib = b[this.pos++]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0: {
        if (ai === 31)
          this.fail('CBOR_RESERVED_AI', 'additional information 31 on an unsigned integer is not well-formed', start);
        return this.arg(ai, 0, start);
      }
      case 1: {
        if (ai === 31)
          this.fail('CBOR_RESERVED_AI', 'additional information 31 on a negative integer is not well-formed', start);
        const n = this.arg(ai, 1, start);
        if (typeof n === 'number') {
          // −1 − n is a safe integer iff n ≤ 2^53 − 2
          return n <= Number.MAX_SAFE_INTEGER - 1 ? -1 - n : -1n - BigInt(n);
        }
        return -1n - n;
      }
      case 2: {
        const len = this.length(ai, 2, start);
        this.need(len, start);
        const out = b.slice(this.pos, this.pos + len);
        this.pos += len;
        return out;
      }
      case 3: {
        const len = this.length(ai, 3, start);
        this.need(len, start);
        return this.text(len, start);
      }
      case 4: {
        const n = this.length(ai, 4, start);
        this.checkDepth(depth + 1, start);
        this.checkCount(n, 1, 'array', start);
        const out = new Array<CborValue>(n);
        for (let i = 0; i < n; i++) out[i] = this.item(depth + 1);
        return out;
      }
      case 5:
        return this.map(ai, depth, start);
      case 6: {
        if (ai === 31) this.fail('CBOR_RESERVED_AI', 'additional information 31 on a tag is not well-formed', start);
        const tag = this.arg(ai, 6, start);
        if (tag === 2 || tag === 3) {
          this.fail(
            'CBOR_UNSUPPORTED_TAG',
            `tag ${tag} (bignum) is not supported; integers must fit in 64 bits`,
            start,
          );
        }
        this.checkDepth(depth + 1, start);
        return new CborTagged(tag, this.item(depth + 1));
      }
      default:
        return this.simple(ai, start);
    }
  }

  /**
   * Before allocating `n` entries of `perEntry` data items each (1 for arrays, 2 for maps; every item
   * takes at least one byte): bound by the remaining input and by maxItems.
   */
  private checkCount(n: number, perEntry: number, what: string, start: number): void {
    const left = this.bytes.length - this.pos;
    if (n * perEntry > left) {
      this.fail('CBOR_TRUNCATED', `${what} claims ${n} entries but only ${left} bytes remain`, start);
    }
    if (this.items + n * perEntry > this.maxItems) {
      this.fail(
        'CBOR_TOO_MANY_ITEMS',
        `${what} of ${n} entries exceeds the limit of ${this.maxItems} data items`,
        start,
      );
    }
  }

  private map(ai: number, depth: number, start: number): CborMap {
    const n = this.length(ai, 5, start);
    this.checkDepth(depth + 1, start);
    this.checkCount(n, 2, 'map', start);
    const b = this.bytes;
    const out: CborMap = new Map();
    let prevStart = -1;
    let prevEnd = -1;
    for (let i = 0; i < n; i++) {
      const ks = this.pos;
      if (ks >= b.length) this.fail('CBOR_TRUNCATED', 'input ends where a map key should start');
      const km = b[ks]! >> 5;
      if (km !== 0 && km !== 1 && km !== 3) {
        this.fail(
          'CBOR_UNSUPPORTED_KEY',
          `map key is a ${MAJOR_NAMES[km]}; only integer and text keys are allowed`,
          ks,
        );
      }
      const key = this.item(depth + 1) as CborKey;
      const ke = this.pos;
      if (prevStart >= 0) {
        const c = compareRange(b, prevStart, prevEnd, ks, ke);
        if (c === 0) this.fail('CBOR_DUPLICATE_KEY', `duplicate map key ${describeKey(key)}`, ks);
        if (c > 0) this.fail('CBOR_UNSORTED_KEYS', `map key ${describeKey(key)} is out of canonical order`, ks);
      }
      prevStart = ks;
      prevEnd = ke;
      out.set(key, this.item(depth + 1));
    }
    return out;
  }

  private text(len: number, start: number): string {
    const b = this.bytes;
    const p = this.pos;
    let s: string | null;
    if (len <= SHORT_TEXT) {
      s = utf8Short(b, p, p + len);
    } else {
      try {
        s = utf8.decode(b.subarray(p, p + len));
      } catch {
        s = null;
      }
    }
    if (s === null) return this.fail('CBOR_INVALID_UTF8', `text string of ${len} bytes is not valid UTF-8`, start);
    this.pos += len;
    return s;
  }

  private simple(ai: number, start: number): CborValue {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24: {
        this.need(1, start);
        const v = this.bytes[this.pos++]!;
        return this.fail(
          'CBOR_UNSUPPORTED_SIMPLE',
          v < 32
            ? `two-byte simple value ${v} is not well-formed (values below 32 use the one-byte form)`
            : `simple value ${v} is not supported`,
          start,
        );
      }
      case 25:
      case 26:
      case 27:
        return this.float(ai, start);
      case 28:
      case 29:
      case 30:
        return this.fail('CBOR_RESERVED_AI', `reserved additional information ${ai} in major type 7`, start);
      case 31:
        return this.fail('CBOR_UNEXPECTED_BREAK', 'break code (0xff) outside an indefinite-length item', start);
      default:
        return this.fail('CBOR_UNSUPPORTED_SIMPLE', `simple value ${ai} is not supported`, start);
    }
  }

  private float(ai: number, start: number): number {
    const width = ai === 25 ? 2 : ai === 26 ? 4 : 8;
    this.need(width, start);
    const b = this.bytes;
    const p = this.pos;
    let v: number;
    if (width === 2) {
      v = halfToNumber((b[p]! << 8) | b[p + 1]!);
    } else {
      this.view ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
      v = width === 4 ? this.view.getFloat32(p) : this.view.getFloat64(p);
    }
    this.pos += width;
    if (v !== v) {
      if (width !== 2 || b[p] !== 0x7e || b[p + 1] !== 0x00) {
        this.fail('CBOR_FLOAT_NON_CANONICAL', 'NaN must be encoded as f97e00', start);
      }
      return v;
    }
    if (Number.isSafeInteger(v)) {
      this.fail(
        'CBOR_FLOAT_NON_CANONICAL',
        `float ${Object.is(v, -0) ? '-0.0' : v} has an integral value; it must be encoded as the integer ${v === 0 ? 0 : v}`,
        start,
      );
    }
    const shortest = shortestFloatWidth(v);
    if (shortest !== width) {
      this.fail(
        'CBOR_FLOAT_NON_CANONICAL',
        `float ${v} is encoded in ${width * 8} bits; ${shortest * 8} bits hold it exactly and are required`,
        start,
      );
    }
    return v;
  }
}

/** Up to this many bytes, text is decoded by utf8Short (TextDecoder's call overhead dominates short strings). */
const SHORT_TEXT = 64;

/**
 * Strict UTF-8 decoding of b[p, end) (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF),
 * or null if invalid. Differentially tested against TextDecoder({fatal: true}) on all 1- and 2-byte
 * inputs and on random longer ones (test/unit/cbor.test.ts, test/fuzz/cbor.test.ts).
 */
export function utf8Short(b: Uint8Array, p: number, end: number): string | null {
  const units: number[] = [];
  while (p < end) {
    const c = b[p++]!;
    if (c < 0x80) {
      units.push(c);
      continue;
    }
    if (c < 0xc2 || c > 0xf4) return null; // continuation byte, overlong 2-byte lead, or beyond U+10FFFF
    if (c < 0xe0) {
      if (p >= end) return null;
      const c1 = b[p++]!;
      if ((c1 & 0xc0) !== 0x80) return null;
      units.push(((c & 0x1f) << 6) | (c1 & 0x3f));
    } else if (c < 0xf0) {
      if (p + 1 >= end) return null;
      const c1 = b[p++]!;
      const c2 = b[p++]!;
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return null;
      const cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      units.push(cp);
    } else {
      if (p + 2 >= end) return null;
      const c1 = b[p++]!;
      const c2 = b[p++]!;
      const c3 = b[p++]!;
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return null;
      const cp = ((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return null;
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
  }
  // at most SHORT_TEXT units: far below the engine's argument-count limit
  return String.fromCharCode.apply(null, units);
}

function compareRange(b: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = b[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

function describeKey(k: CborKey): string {
  return typeof k === 'string' ? JSON.stringify(k.length > 24 ? k.slice(0, 24) + '…' : k) : String(k);
}
