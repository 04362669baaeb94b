import { cborDecodeError, cborEncodeError } from './codes.js';
import { CborTagged, type CborKey, type CborMap, type CborValue } from './types.js';

/**
 * Typed, validating access to decoded protocol messages. Every wrong type, size, range, missing
 * required field or (by default) unknown field throws DecodeError code CBOR_SCHEMA, with a message
 * naming the message and the field: `SIGN_TXN request: field 3 (nonce) must be a byte string of
 * exactly 16 bytes; got 12 bytes`.
 *
 *   const r = new MapReader(decoded, 'SIGN_TXN request', { names: { 1: 'amount', 3: 'nonce' } });
 *   const amount = r.uint(1, { max: 99_999_999 });
 *   const nonce = r.bytes(3, { length: 16 });
 *   const memo = r.opt.text(4, { maxLength: 64 });
 *   r.done();
 */

export interface IntRange {
  min?: number;
  max?: number;
}

/** Lengths as on the wire: bytes for byte strings, UTF-8 bytes for text, elements for arrays. */
export interface LengthRange {
  length?: number;
  minLength?: number;
  maxLength?: number;
}

export interface TextOptions extends LengthRange {
  /** Whole-string pattern the text must match (test() is used: anchor it yourself). */
  pattern?: RegExp;
}

export interface MapReaderOptions {
  /** Human names of fields, for error messages: `{ 1: 'amount' }`. */
  names?: Readonly<Record<string, string>>;
}

export interface DoneOptions {
  /** Accept (and ignore) fields nobody read, for forward compatibility. Default false: reject them. */
  allowUnknown?: boolean;
}

/**
 * What a value is, for an error message: a string, or a function that builds it. MapReader passes
 * the function, so the name of every field read is only built when that field is wrong (building it
 * eagerly was about a sixth of the allocations of verifying a batch).
 */
export type What = string | (() => string);

function schema(what: What, message: string): never {
  throw cborDecodeError('CBOR_SCHEMA', `${typeof what === 'string' ? what : what()} ${message}`);
}

/** "an unsigned integer", "a text string of 5 bytes", … for error messages. */
export function describeCborType(v: CborValue): string {
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && !Object.is(v, -0))
        return v >= 0 ? `the unsigned integer ${v}` : `the negative integer ${v}`;
      return `the float ${Object.is(v, -0) ? '-0.0' : v}`;
    case 'bigint':
      return v >= 0n ? `the unsigned integer ${v}` : `the negative integer ${v}`;
    case 'string':
      return `a text string of ${utf8Length(v)} bytes`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    default:
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return `a byte string of ${v.length} bytes`;
      if (Array.isArray(v)) return `an array of ${v.length} element${v.length === 1 ? '' : 's'}`;
      if (v instanceof Map) return `a map of ${v.size} entr${v.size === 1 ? 'y' : 'ies'}`;
      if (v instanceof CborTagged) return `tag ${v.tag}`;
      return 'an unsupported value';
  }
}

export function utf8Length(s: string): number {
  let len = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      len += 2;
      i++;
    } else len += 2;
  }
  return len;
}

function checkRange(v: number, what: What, opts: IntRange | undefined): void {
  if (opts?.min !== undefined && v < opts.min) schema(what, `must be at least ${opts.min}; got ${v}`);
  if (opts?.max !== undefined && v > opts.max) schema(what, `must be at most ${opts.max}; got ${v}`);
}

function checkLength(n: number, unit: string, what: What, kind: string, opts: LengthRange | undefined): void {
  if (!opts) return;
  if (opts.length !== undefined && n !== opts.length)
    schema(what, `must be ${kind} of exactly ${opts.length} ${unit}; got ${n} ${unit}`);
  if (opts.minLength !== undefined && n < opts.minLength)
    schema(what, `must be ${kind} of at least ${opts.minLength} ${unit}; got ${n} ${unit}`);
  if (opts.maxLength !== undefined && n > opts.maxLength)
    schema(what, `must be ${kind} of at most ${opts.maxLength} ${unit}; got ${n} ${unit}`);
}

/** A safe non-negative integer (0 … 2^53−1), optionally within [min, max]. */
export function asUint(v: CborValue, what: What, opts?: IntRange): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || Object.is(v, -0)) {
    if (typeof v === 'bigint' && v >= 0n) schema(what, `must be an unsigned integer of at most 2^53−1; got ${v}`);
    schema(what, `must be an unsigned integer; got ${describeCborType(v)}`);
  }
  checkRange(v, what, opts);
  return v;
}

/** A safe integer (−(2^53−1) … 2^53−1), optionally within [min, max]. */
export function asInt(v: CborValue, what: What, opts?: IntRange): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || Object.is(v, -0)) {
    if (typeof v === 'bigint') schema(what, `must be an integer of magnitude at most 2^53−1; got ${v}`);
    schema(what, `must be an integer; got ${describeCborType(v)}`);
  }
  checkRange(v, what, opts);
  return v;
}

/** Any unsigned 64-bit integer, always returned as a bigint. */
export function asUint64(v: CborValue, what: What): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0)) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffff_ffff_ffff_ffffn) return v;
  return schema(what, `must be an unsigned 64-bit integer; got ${describeCborType(v)}`);
}

export function asBytes(v: CborValue, what: What, opts?: LengthRange): Uint8Array {
  if (!(v instanceof Uint8Array)) schema(what, `must be a byte string; got ${describeCborType(v)}`);
  checkLength(v.length, 'bytes', what, 'a byte string', opts);
  return v;
}

export function asText(v: CborValue, what: What, opts?: TextOptions): string {
  if (typeof v !== 'string') schema(what, `must be a text string; got ${describeCborType(v)}`);
  if (opts && (opts.length !== undefined || opts.minLength !== undefined || opts.maxLength !== undefined)) {
    checkLength(utf8Length(v), 'UTF-8 bytes', what, 'a text string', opts);
  }
  if (opts?.pattern && !opts.pattern.test(v)) {
    schema(what, `must match ${String(opts.pattern)}; got ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`);
  }
  return v;
}

export function asBool(v: CborValue, what: What): boolean {
  if (typeof v !== 'boolean') schema(what, `must be true or false; got ${describeCborType(v)}`);
  return v;
}

export function asArray(v: CborValue, what: What, opts?: LengthRange): CborValue[] {
  if (!Array.isArray(v)) schema(what, `must be an array; got ${describeCborType(v)}`);
  checkLength(v.length, 'elements', what, 'an array', opts);
  return v;
}

/** One of a fixed set of integers or strings (an enumeration). */
export function asOneOf<T extends number | string>(v: CborValue, what: What, allowed: readonly T[]): T {
  if (
    (typeof v === 'number' || typeof v === 'string') &&
    (allowed as readonly (number | string)[]).includes(v) &&
    !Object.is(v, -0)
  ) {
    return v as T;
  }
  return schema(what, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${describeCborType(v)}`);
}

export function asMap(v: CborValue, what: string, options?: MapReaderOptions): MapReader {
  return new MapReader(v, what, options);
}

export class MapReader {
  readonly what: string;
  /** Optional-field variants: `r.opt.uint(5)` returns undefined when key 5 is absent. */
  readonly opt: OptionalFields;
  private readonly m: CborMap;
  private readonly names: Readonly<Record<string, string>> | undefined;
  private readonly read = new Set<CborKey>();

  /** `what` names the message in errors, e.g. 'SIGN_TXN request'. Throws CBOR_SCHEMA unless `value` is a map. */
  constructor(value: CborValue, what: string, options?: MapReaderOptions) {
    this.what = what;
    if (!(value instanceof Map)) schema(what, `must be a map; got ${describeCborType(value)}`);
    this.m = value;
    this.names = options?.names;
    this.opt = new OptionalFields(this);
  }

  get size(): number {
    return this.m.size;
  }

  has(key: CborKey): boolean {
    return this.m.has(key);
  }

  /** How a field is named in errors: `SIGN_TXN request: field 3 (nonce)`. */
  field(key: CborKey): string {
    const k = typeof key === 'string' ? JSON.stringify(key) : String(key);
    const name = this.names?.[String(key)];
    return `${this.what}: field ${k}${name ? ` (${name})` : ''}`;
  }

  /** Any value, required. Marks the key as read. */
  value(key: CborKey): CborValue {
    this.read.add(key);
    if (!this.m.has(key)) schema(this.field(key), 'is required but missing');
    return this.m.get(key);
  }

  uint(key: CborKey, opts?: IntRange): number {
    return asUint(this.value(key), () => this.field(key), opts);
  }
  int(key: CborKey, opts?: IntRange): number {
    return asInt(this.value(key), () => this.field(key), opts);
  }
  uint64(key: CborKey): bigint {
    return asUint64(this.value(key), () => this.field(key));
  }
  bytes(key: CborKey, opts?: LengthRange): Uint8Array {
    return asBytes(this.value(key), () => this.field(key), opts);
  }
  text(key: CborKey, opts?: TextOptions): string {
    return asText(this.value(key), () => this.field(key), opts);
  }
  bool(key: CborKey): boolean {
    return asBool(this.value(key), () => this.field(key));
  }
  oneOf<T extends number | string>(key: CborKey, allowed: readonly T[]): T {
    return asOneOf(this.value(key), () => this.field(key), allowed);
  }
  array(key: CborKey, opts?: LengthRange): CborValue[] {
    return asArray(this.value(key), () => this.field(key), opts);
  }

  /** An array whose every element is validated by `item` (called with a `what` naming the element). */
  arrayOf<T>(key: CborKey, item: (v: CborValue, what: string) => T, opts?: LengthRange): T[] {
    const a = this.array(key, opts);
    const what = this.field(key);
    return a.map((v, i) => item(v, `${what}[${i}]`));
  }

  /** A nested map, as its own reader (call done() on it too). */
  map(key: CborKey, options?: MapReaderOptions): MapReader {
    return new MapReader(this.value(key), this.field(key), options);
  }

  /** Keys present in the map that no accessor has read. */
  unread(): CborKey[] {
    const out: CborKey[] = [];
    for (const k of this.m.keys()) if (!this.read.has(k)) out.push(k);
    return out;
  }

  /** Finish: rejects fields nobody read unless `allowUnknown`. */
  done(opts?: DoneOptions): void {
    if (opts?.allowUnknown) return;
    const extra = this.unread();
    if (extra.length > 0) {
      const list = extra
        .slice(0, 8)
        .map((k) => (typeof k === 'string' ? JSON.stringify(k) : String(k)))
        .join(', ');
      schema(
        `${this.what}:`,
        `has unknown field${extra.length > 1 ? 's' : ''} ${list}${extra.length > 8 ? ', …' : ''}`,
      );
    }
  }
}

/** The optional variants of MapReader's accessors: undefined when the key is absent. */
export class OptionalFields {
  constructor(private readonly r: MapReader) {}

  private present(key: CborKey): boolean {
    return this.r.has(key);
  }

  value(key: CborKey): CborValue {
    return this.present(key) ? this.r.value(key) : undefined;
  }
  uint(key: CborKey, opts?: IntRange): number | undefined {
    return this.present(key) ? this.r.uint(key, opts) : undefined;
  }
  int(key: CborKey, opts?: IntRange): number | undefined {
    return this.present(key) ? this.r.int(key, opts) : undefined;
  }
  uint64(key: CborKey): bigint | undefined {
    return this.present(key) ? this.r.uint64(key) : undefined;
  }
  bytes(key: CborKey, opts?: LengthRange): Uint8Array | undefined {
    return this.present(key) ? this.r.bytes(key, opts) : undefined;
  }
  text(key: CborKey, opts?: TextOptions): string | undefined {
    return this.present(key) ? this.r.text(key, opts) : undefined;
  }
  bool(key: CborKey): boolean | undefined {
    return this.present(key) ? this.r.bool(key) : undefined;
  }
  oneOf<T extends number | string>(key: CborKey, allowed: readonly T[]): T | undefined {
    return this.present(key) ? this.r.oneOf(key, allowed) : undefined;
  }
  array(key: CborKey, opts?: LengthRange): CborValue[] | undefined {
    return this.present(key) ? this.r.array(key, opts) : undefined;
  }
  arrayOf<T>(key: CborKey, item: (v: CborValue, what: string) => T, opts?: LengthRange): T[] | undefined {
    return this.present(key) ? this.r.arrayOf(key, item, opts) : undefined;
  }
  map(key: CborKey, options?: MapReaderOptions): MapReader | undefined {
    return this.present(key) ? this.r.map(key, options) : undefined;
  }
}

/**
 * Build a map for encoding from entries, leaving out entries whose value is `undefined`
 * (the natural way to write optional fields). To encode CBOR `undefined` itself, use a Map directly.
 */
export function buildMap(entries: Iterable<readonly [CborKey, CborValue]>): CborMap {
  const m: CborMap = new Map();
  const seen = new Set<CborKey>();
  for (const [k, v] of entries) {
    if (seen.has(k)) throw cborEncodeError('CBOR_DUPLICATE_KEY', `buildMap: key ${String(k)} is given twice`);
    seen.add(k);
    if (v !== undefined) m.set(k, v);
  }
  return m;
}
