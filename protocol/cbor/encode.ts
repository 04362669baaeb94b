import { cborEncodeError } from './codes.js';
import { halfBitsExact } from './float.js';
import { CborTagged, type CborKey, type CborMap, type CborValue } from './types.js';

/**
 * Canonical CBOR encoder (RFC 8949 §4.2.1 core deterministic encoding; for the integer and text keys
 * cardpost allows this is also CTAP2's canonical order). Written by hand rather than on top of cbor-x:
 * cbor-x emits integers above 2^32 as float64, bigints always with an 8-byte argument, floats always
 * as float64 (or float32), lone surrogates as invalid UTF-8, and map keys in insertion order — none of
 * which is canonical. See docs/architecture.md §6.
 */

export interface EncodeOptions {
  /** Maximum nesting of arrays/maps/tags (top-level container = depth 1). Default 16, at most 256. */
  maxDepth?: number;
}

export const DEFAULT_ENCODE_MAX_DEPTH = 16;
/** Hard cap on any depth limit, so recursion can never exhaust the JS stack. */
export const MAX_DEPTH_CAP = 256;

const TWO_POW_32 = 0x1_0000_0000;
const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const BIG_SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const BIG_SAFE_MIN = -BIG_SAFE_MAX;

/** Encode `value` as canonical CBOR. Throws EncodeError (codes in CBOR_ERRORS) on anything unencodable. */
export function encodeCanonical(value: CborValue, options?: EncodeOptions): Uint8Array {
  const e = new Encoder(resolveDepth(options?.maxDepth));
  return e.encode(value);
}

function resolveDepth(d: number | undefined): number {
  if (d === undefined) return DEFAULT_ENCODE_MAX_DEPTH;
  if (!Number.isInteger(d) || d < 1 || d > MAX_DEPTH_CAP) {
    throw cborEncodeError(
      'CBOR_BAD_OPTIONS',
      `maxDepth must be an integer from 1 to ${MAX_DEPTH_CAP}, got ${String(d)}`,
    );
  }
  return d;
}

/**
 * Canonical order of two map keys: negative if `a` sorts first. Equal to comparing their encodings
 * bytewise (RFC 8949 §4.2.1), which for integer/text keys is also CTAP2's order: unsigned integers
 * ascending, then negative integers by descending value (−1, −2, …), then text strings shorter
 * first, equal lengths by UTF-8 bytes. Throws EncodeError for unsupported key types.
 */
export function compareKeys(a: CborKey, b: CborKey): number {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    return intKeyCompare(a, b);
  }
  return compareBytes(encodeKey(a), encodeKey(b));
}

/** Bytewise lexicographic comparison (a proper prefix sorts first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Order of safe-integer keys by their encodings, without encoding them. */
function intKeyCompare(a: number, b: number): number {
  if (a >= 0) return b >= 0 ? a - b : -1;
  return b >= 0 ? 1 : b - a;
}

/** Encoding of one map key; rejects key types other than integer and text. */
export function encodeKey(key: CborKey): Uint8Array {
  const t = typeof key;
  if (!(t === 'string' || t === 'bigint' || (t === 'number' && Number.isSafeInteger(key)))) {
    throw cborEncodeError(
      'CBOR_UNSUPPORTED_KEY',
      `map key ${describeJs(key)} is not supported: keys must be integers (safe numbers or 64-bit bigints) or text strings`,
    );
  }
  return new Encoder(1).encode(key);
}

interface KeyedEntry {
  /** the key's canonical encoding */
  k: Uint8Array;
  key: CborKey;
  v: CborValue;
}

function byKeyBytes(x: KeyedEntry, y: KeyedEntry): number {
  return compareBytes(x.k, y.k);
}

/** Bytes of the head (initial byte + argument) for argument `n`, a non-negative safe integer. */
function headSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < TWO_POW_32 ? 5 : 9;
}

/**
 * Two passes, so the output is allocated once at its exact size (allocating and copying typed arrays
 * dominates the cost of small messages):
 *  1. size(): validates everything, sorts every map once and records the order ("plans", in traversal
 *     order) and every string's UTF-8 length; all errors are raised here;
 *  2. write(): replays the same traversal into the exact-size buffer, consuming the recorded plans.
 */
class Encoder {
  private readonly maxDepth: number;
  /** Per non-empty map, in traversal order: sorted safe-integer keys, or entries sorted by key bytes. */
  private readonly plans: (number[] | KeyedEntry[])[] = [];
  /** UTF-8 length of every string, in traversal order. */
  private readonly strLens: number[] = [];
  /** Path segments collected while an error unwinds, innermost first. */
  private readonly errPath: string[] = [];
  private buf = EMPTY;
  private view: DataView | undefined;
  private pos = 0;
  private planIdx = 0;
  private strIdx = 0;

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth;
  }

  encode(value: CborValue): Uint8Array {
    let size: number;
    try {
      size = this.size(value, 0);
    } catch (e) {
      if (this.errPath.length > 0 && e instanceof Error && 'code' in e) {
        e.message += ` (at value${this.errPath.reverse().join('')})`;
      }
      throw e;
    }
    this.buf = new Uint8Array(size);
    this.write(value);
    if (this.pos !== size) {
      // Only possible if the value changed between the passes (e.g. a Map subclass with odd iteration).
      throw cborEncodeError('CBOR_UNSUPPORTED_TYPE', 'value changed while it was being encoded');
    }
    return this.buf;
  }

  // ---------------------------------------------------------------- pass 1: validate, plan, size

  private size(v: CborValue, depth: number): number {
    switch (typeof v) {
      case 'number':
        if (Number.isSafeInteger(v)) return headSize(v >= 0 ? v : -1 - v);
        if (v !== v || Math.fround(v) !== v) return v !== v ? 3 : 9;
        return halfBitsExact(v) >= 0 ? 3 : 5;
      case 'string': {
        const len = utf8Len(v);
        this.strLens.push(len);
        return headSize(len) + len;
      }
      case 'boolean':
      case 'undefined':
        return 1;
      case 'bigint':
        return this.bigintSize(v);
      case 'object':
        if (v === null) return 1;
        if (v instanceof Uint8Array) return headSize(v.length) + v.length;
        if (Array.isArray(v)) return this.arraySize(v, depth + 1);
        if (v instanceof Map) return this.mapSize(v, depth + 1);
        if (v instanceof CborTagged) return this.taggedSize(v, depth + 1);
        throw unsupported(v);
      default:
        throw unsupported(v);
    }
  }

  private bigintSize(v: bigint): number {
    if (v >= 0n) {
      if (v > UINT64_MAX)
        throw cborEncodeError('CBOR_INT_RANGE', `integer ${v} is above 2^64−1, the largest CBOR integer`);
      return v <= BIG_SAFE_MAX ? headSize(Number(v)) : 9;
    }
    if (v >= BIG_SAFE_MIN) return headSize(-1 - Number(v));
    if (-1n - v > UINT64_MAX)
      throw cborEncodeError('CBOR_INT_RANGE', `integer ${v} is below −2^64, the smallest CBOR integer`);
    return 9;
  }

  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) {
      throw cborEncodeError(
        'CBOR_TOO_DEEP',
        `value nests arrays/maps/tags more than ${this.maxDepth} deep (or contains itself)`,
      );
    }
  }

  private arraySize(a: CborValue[], depth: number): number {
    this.checkDepth(depth);
    const n = a.length;
    let total = headSize(n);
    for (let i = 0; i < n; i++) {
      try {
        total += this.size(a[i], depth);
      } catch (e) {
        this.errPath.push(`[${i}]`);
        throw e;
      }
    }
    return total;
  }

  private mapSize(m: CborMap, depth: number): number {
    this.checkDepth(depth);
    const n = m.size;
    let total = headSize(n);
    if (n === 0) return total;
    const keys = new Array<CborKey>(n);
    let allInts = true;
    let sorted = true;
    let i = 0;
    for (const k of m.keys()) {
      if (allInts) {
        if (typeof k === 'number' && Number.isSafeInteger(k)) {
          if (i > 0 && sorted && intKeyCompare(keys[i - 1] as number, k) > 0) sorted = false;
        } else {
          allInts = false;
        }
      }
      keys[i++] = k;
    }
    if (allInts) {
      // The common integer-keyed protocol map. Distinct Map keys ⇒ distinct encodings: no duplicates.
      const ints = keys as number[];
      if (!sorted) ints.sort(intKeyCompare);
      this.plans.push(ints);
      for (let j = 0; j < n; j++) {
        const k = ints[j]!;
        total += headSize(k >= 0 ? k : -1 - k) + this.entrySize(k, m.get(k), depth);
      }
      return total;
    }
    const entries = new Array<KeyedEntry>(n);
    for (let j = 0; j < n; j++) {
      const k = keys[j]!;
      entries[j] = { k: encodeKey(k), key: k, v: m.get(k) };
    }
    entries.sort(byKeyBytes);
    this.plans.push(entries);
    for (let j = 0; j < n; j++) {
      const e = entries[j]!;
      if (j > 0 && compareBytes(entries[j - 1]!.k, e.k) === 0) {
        throw cborEncodeError(
          'CBOR_DUPLICATE_KEY',
          `map has two keys with the same encoding (${hexOf(e.k)}), e.g. a number and a bigint of equal value`,
        );
      }
      total += e.k.length + this.entrySize(e.key, e.v, depth);
    }
    return total;
  }

  private entrySize(k: CborKey, v: CborValue, depth: number): number {
    try {
      return this.size(v, depth);
    } catch (e) {
      this.errPath.push(
        `.get(${typeof k === 'string' ? JSON.stringify(k) : typeof k === 'bigint' ? `${k}n` : String(k)})`,
      );
      throw e;
    }
  }

  private taggedSize(t: CborTagged, depth: number): number {
    this.checkDepth(depth);
    const tag = t.tag;
    let head: number;
    if (typeof tag === 'number') {
      if (!Number.isSafeInteger(tag) || tag < 0) {
        throw cborEncodeError(
          Number.isInteger(tag) && tag > 0 ? 'CBOR_INT_RANGE' : 'CBOR_UNSUPPORTED_TYPE',
          `tag number ${tag} is not a non-negative safe integer (use a bigint for tags above 2^53)`,
        );
      }
      head = headSize(tag);
    } else if (typeof tag !== 'bigint' || tag < 0n || tag > UINT64_MAX) {
      throw cborEncodeError(
        typeof tag === 'bigint' ? 'CBOR_INT_RANGE' : 'CBOR_UNSUPPORTED_TYPE',
        `tag number ${describeJs(tag)} is outside 0 … 2^64−1`,
      );
    } else {
      head = tag <= BIG_SAFE_MAX ? headSize(Number(tag)) : 9;
    }
    if (tag === 2 || tag === 3 || tag === 2n || tag === 3n) {
      throw cborEncodeError(
        'CBOR_UNSUPPORTED_TAG',
        `tag ${tag} (bignum) is not supported; use a bigint within 64 bits`,
      );
    }
    try {
      return head + this.size(t.value, depth);
    } catch (e) {
      this.errPath.push('.value');
      throw e;
    }
  }

  // ---------------------------------------------------------------- pass 2: write (never throws)

  /** Major type + argument `n` (a non-negative safe integer) in its shortest form. */
  private head(major: number, n: number): void {
    const b = this.buf;
    const m = major << 5;
    if (n < 24) {
      b[this.pos++] = m | n;
    } else if (n < 0x100) {
      b[this.pos++] = m | 24;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = m | 25;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else if (n < TWO_POW_32) {
      b[this.pos++] = m | 26;
      this.u32(n);
    } else {
      b[this.pos++] = m | 27;
      this.u32(Math.floor(n / TWO_POW_32));
      this.u32(n >>> 0);
    }
  }

  private u32(n: number): void {
    const b = this.buf;
    b[this.pos++] = n >>> 24;
    b[this.pos++] = (n >>> 16) & 0xff;
    b[this.pos++] = (n >>> 8) & 0xff;
    b[this.pos++] = n & 0xff;
  }

  /** Major type + argument 0 ≤ n < 2^64. */
  private headBig(major: number, n: bigint): void {
    if (n <= BIG_SAFE_MAX) {
      this.head(major, Number(n));
      return;
    }
    this.buf[this.pos++] = (major << 5) | 27;
    this.u32(Number(n >> 32n));
    this.u32(Number(n & 0xffff_ffffn));
  }

  private write(v: CborValue): void {
    switch (typeof v) {
      case 'number':
        if (Number.isSafeInteger(v)) {
          if (v >= 0)
            this.head(0, v); // also −0 → integer 0
          else this.head(1, -1 - v);
        } else {
          this.float(v);
        }
        return;
      case 'string':
        this.text(v);
        return;
      case 'boolean':
        this.buf[this.pos++] = v ? 0xf5 : 0xf4;
        return;
      case 'undefined':
        this.buf[this.pos++] = 0xf7;
        return;
      case 'bigint':
        if (v >= 0n) this.headBig(0, v);
        else if (v >= BIG_SAFE_MIN) this.head(1, -1 - Number(v));
        else this.headBig(1, -1n - v);
        return;
      case 'object':
        if (v === null) {
          this.buf[this.pos++] = 0xf6;
        } else if (v instanceof Uint8Array) {
          this.head(2, v.length);
          this.buf.set(v, this.pos);
          this.pos += v.length;
        } else if (Array.isArray(v)) {
          const n = v.length;
          this.head(4, n);
          for (let i = 0; i < n; i++) this.write(v[i]);
        } else if (v instanceof Map) {
          this.map(v);
        } else {
          const t = v as CborTagged;
          if (typeof t.tag === 'number') this.head(6, t.tag);
          else this.headBig(6, t.tag);
          this.write(t.value);
        }
        return;
      default:
        return; // unreachable: rejected in pass 1
    }
  }

  private map(m: CborMap): void {
    const n = m.size;
    this.head(5, n);
    if (n === 0) return;
    const plan = this.plans[this.planIdx++]!;
    if (typeof plan[0] === 'number') {
      const keys = plan as number[];
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        if (k >= 0) this.head(0, k);
        else this.head(1, -1 - k);
        this.write(m.get(k));
      }
    } else {
      const entries = plan as KeyedEntry[];
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        this.buf.set(e.k, this.pos);
        this.pos += e.k.length;
        this.write(e.v);
      }
    }
  }

  private float(v: number): void {
    const b = this.buf;
    if (v !== v) {
      b[this.pos++] = 0xf9;
      b[this.pos++] = 0x7e;
      b[this.pos++] = 0x00;
      return;
    }
    this.view ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (Math.fround(v) === v) {
      const h = halfBitsExact(v);
      if (h >= 0) {
        b[this.pos++] = 0xf9;
        b[this.pos++] = h >>> 8;
        b[this.pos++] = h & 0xff;
      } else {
        b[this.pos++] = 0xfa;
        this.view.setFloat32(this.pos, v);
        this.pos += 4;
      }
      return;
    }
    b[this.pos++] = 0xfb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  private text(s: string): void {
    const len = this.strLens[this.strIdx++]!;
    this.head(3, len);
    const b = this.buf;
    const n = s.length;
    let p = this.pos;
    if (len === n) {
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    } else {
      for (let i = 0; i < n; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) {
          b[p++] = c;
        } else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
        } else if (c >= 0xd800 && c <= 0xdbff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          b[p++] = 0xe0 | (c >> 12);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        }
      }
    }
    this.pos = p;
  }
}

const EMPTY = new Uint8Array(0);

/** UTF-8 length of `s`; throws CBOR_INVALID_STRING on a lone surrogate (TextEncoder would silently replace it). */
function utf8Len(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      len += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
        throw cborEncodeError(
          'CBOR_INVALID_STRING',
          `text string has a lone surrogate U+${c.toString(16).toUpperCase()} at index ${i}; it has no UTF-8 encoding`,
        );
      }
      len += 2; // 4 bytes for 2 UTF-16 units
      i++;
    } else {
      len += 2;
    }
  }
  return len;
}

function unsupported(v: unknown): Error {
  return cborEncodeError('CBOR_UNSUPPORTED_TYPE', `cannot encode ${describeJs(v)} as CBOR`);
}

/** Human description of an arbitrary JS value's type, for error messages. */
export function describeJs(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'number':
      return `the number ${v}`;
    case 'bigint':
      return `the bigint ${v}n`;
    case 'string':
      return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
    case 'object': {
      const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
      if (!name || name === 'Object') return 'a plain object (use a Map)';
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return `a ${name} (use a Uint8Array)`;
      return `a ${name}`;
    }
    default:
      return `a ${typeof v}`;
  }
}

function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
