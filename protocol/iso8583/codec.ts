import { packBcd, unpackBcd, digitNibble } from './bcd.js';
import type { Iso8583Dialect } from './dialect.js';
import { isoDecodeError, isoEncodeError } from './errors.js';
import type { FieldDef } from './fields.js';

/** `n`, `z`, `an`, `ans` values are strings; `b` values are bytes. */
export type FieldValue = string | Uint8Array;

/** One ISO 8583 message: its MTI ("0800") and its data fields by number (2-128; never the bitmaps). */
export interface Iso8583Message {
  readonly mti: string;
  readonly fields: ReadonlyMap<number, FieldValue>;
}

const BITMAP_BYTES = 8;
const AN = /^[A-Za-z0-9 ]*$/;
const ANS = /^[\x20-\x7e]*$/;

/** Encodes the message (MTI, bitmaps, fields in order), without any framing. */
export function encodeMessage(dialect: Iso8583Dialect, msg: Iso8583Message): Uint8Array {
  if (typeof msg.mti !== 'string' || !/^[0-9]{4}$/.test(msg.mti))
    throw isoEncodeError('ISO8583_FIELD_INVALID', `MTI "${String(msg.mti)}" is not 4 digits`);
  const numbers = [...msg.fields.keys()].sort((a, b) => a - b);
  const parts: Uint8Array[] = [encodeDigits(dialect, msg.mti, 'left')];
  const secondary = dialect.secondaryBitmap === 'always' || numbers.some((n) => n > 64);
  const bitmap = new Uint8Array(secondary ? 2 * BITMAP_BYTES : BITMAP_BYTES);
  if (bitmap.length > BITMAP_BYTES) bitmap[0]! |= 0x80;
  parts.push(bitmap);
  for (const n of numbers) {
    const def = Number.isInteger(n) ? dialect.fields.get(n) : undefined;
    if (!def) throw isoEncodeError('ISO8583_FIELD_UNKNOWN', `field ${n} is not in the ${dialect.name} dialect`);
    bitmap[(n - 1) >> 3]! |= 0x80 >> ((n - 1) & 7);
    parts.push(...encodeField(dialect, n, def, msg.fields.get(n)!));
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  if (total > dialect.maxMessageBytes)
    throw isoEncodeError(
      'ISO8583_TOO_LONG',
      `message is ${total} bytes, over the ${dialect.maxMessageBytes}-byte limit`,
    );
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function encodeDigits(dialect: Iso8583Dialect, digits: string, pad: 'left' | 'right', track2 = false): Uint8Array {
  if (dialect.numbers === 'ascii') return asciiBytes(digits);
  return packBcd(digits, pad, track2);
}

function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function encodeField(dialect: Iso8583Dialect, n: number, def: FieldDef, value: FieldValue): Uint8Array[] {
  const what = `field ${n} (${def.name})`;
  const bad = (why: string) => isoEncodeError('ISO8583_FIELD_INVALID', `${what}: ${why}`);
  let body: Uint8Array;
  if (def.format === 'b') {
    if (!(value instanceof Uint8Array)) throw bad('a binary field takes bytes (Uint8Array)');
    body = value;
  } else {
    if (typeof value !== 'string') throw bad(`a ${def.format} field takes a string`);
    const fault = textFault(def, value);
    if (fault) throw bad(fault);
    body =
      def.format === 'n' || def.format === 'z'
        ? encodeDigits(dialect, value, def.pad ?? 'left', def.format === 'z')
        : asciiBytes(value);
  }
  const length = def.format === 'b' ? body.length : (value as string).length;
  if (def.prefix === 0) {
    if (length !== def.length) throw bad(`length ${length}, the field is fixed at ${def.length}`);
    return [body];
  }
  if (length > def.length) throw bad(`length ${length} is over the maximum ${def.length}`);
  const prefix = String(length).padStart(def.prefix, '0');
  return [dialect.numbers === 'ascii' ? asciiBytes(prefix) : packBcd(prefix, 'left'), body];
}

/** Why a text value does not fit its format, or undefined. */
function textFault(def: FieldDef, value: string): string | undefined {
  switch (def.format) {
    case 'n':
    case 'z':
      for (const ch of value)
        if (digitNibble(ch, def.format === 'z') < 0)
          return `"${ch}" is not allowed in a ${def.format} field (${def.format === 'z' ? 'digits and =' : 'digits only'})`;
      return undefined;
    case 'an':
      return AN.test(value) ? undefined : 'an allows only ASCII letters, digits and space';
    case 'ans':
      return ANS.test(value) ? undefined : 'ans allows only printable ASCII (0x20-0x7E); GBK and other text is refused';
    default:
      return undefined;
  }
}

/**
 * Strict decode of one message (MTI onwards, no framing). Every failure is a DecodeError with an
 * ISO8583_* code naming the field and the byte offset; nothing is read past the end, and bytes
 * after the last field are refused.
 */
export function decodeMessage(dialect: Iso8583Dialect, bytes: Uint8Array): Iso8583Message {
  if (!(bytes instanceof Uint8Array)) throw isoDecodeError('ISO8583_MALFORMED', 'the message is not bytes');
  if (bytes.length > dialect.maxMessageBytes)
    throw isoDecodeError(
      'ISO8583_TOO_LONG',
      `message is ${bytes.length} bytes, over the ${dialect.maxMessageBytes}-byte limit`,
    );
  const r = new Reader(bytes);
  const mti = r.digits(dialect, 4, 'left', false, 'MTI', 'ISO8583_MALFORMED');
  const primary = r.take(BITMAP_BYTES, 'primary bitmap');
  const bitmap = new Uint8Array(2 * BITMAP_BYTES);
  bitmap.set(primary);
  const always = dialect.secondaryBitmap === 'always';
  if (always && !(primary[0]! & 0x80))
    throw isoDecodeError(
      'ISO8583_MALFORMED',
      `bitmap bit 1 is clear: the ${dialect.name} dialect always has a secondary bitmap`,
    );
  if (primary[0]! & 0x80) {
    const secondaryAt = r.offset;
    const secondary = r.take(BITMAP_BYTES, 'secondary bitmap');
    if (!always && secondary.every((b) => b === 0))
      throw isoDecodeError(
        'ISO8583_MALFORMED',
        `secondary bitmap at offset ${secondaryAt} is all zero (bit 1 must be set only when a field 65-128 is present)`,
      );
    bitmap.set(secondary, BITMAP_BYTES);
  }
  const present: number[] = [];
  for (let n = 2; n <= 128; n++) if (bitmap[(n - 1) >> 3]! & (0x80 >> ((n - 1) & 7))) present.push(n);
  const unknown = present.filter((n) => !dialect.fields.has(n));
  if (unknown.length > 0)
    throw isoDecodeError(
      'ISO8583_FIELD_UNKNOWN',
      `the bitmap has field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, not in the ${dialect.name} dialect`,
    );
  const fields = new Map<number, FieldValue>();
  for (const n of present) fields.set(n, decodeField(dialect, r, n, dialect.fields.get(n)!));
  if (r.offset !== bytes.length)
    throw isoDecodeError(
      'ISO8583_MALFORMED',
      `${bytes.length - r.offset} byte(s) after the last field at offset ${r.offset}`,
    );
  return { mti, fields };
}

function decodeField(dialect: Iso8583Dialect, r: Reader, n: number, def: FieldDef): FieldValue {
  const what = `field ${n} (${def.name})`;
  let length = def.length;
  if (def.prefix > 0) {
    const at = r.offset;
    length = Number(r.digits(dialect, def.prefix, 'left', false, `${what} length prefix`, 'ISO8583_MALFORMED'));
    if (length > def.length)
      throw isoDecodeError(
        'ISO8583_MALFORMED',
        `${what} at offset ${at}: length ${length} is over the maximum ${def.length}`,
      );
  }
  switch (def.format) {
    case 'b':
      return r.take(length, what).slice();
    case 'n':
    case 'z':
      return r.digits(dialect, length, def.pad ?? 'left', def.format === 'z', what, 'ISO8583_FIELD_INVALID');
    default: {
      const at = r.offset;
      const raw = r.take(length, what);
      const text = String.fromCharCode(...raw);
      const fault = textFault(def, text);
      if (fault) throw isoDecodeError('ISO8583_FIELD_INVALID', `${what} at offset ${at}: ${fault}`);
      return text;
    }
  }
}

/** A cursor that never reads past the end: each read names what it was reading for the error. */
class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  take(count: number, what: string): Uint8Array {
    const left = this.bytes.length - this.offset;
    if (count > left)
      throw isoDecodeError(
        'ISO8583_MALFORMED',
        `${what} at offset ${this.offset} needs ${count} byte(s), ${left} left: the message ends inside it`,
      );
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /** `count` digits as the dialect carries numbers; a bad digit is MALFORMED in the MTI and prefixes, FIELD_INVALID in a field. */
  digits(
    dialect: Iso8583Dialect,
    count: number,
    pad: 'left' | 'right',
    track2: boolean,
    what: string,
    code: 'ISO8583_MALFORMED' | 'ISO8583_FIELD_INVALID',
  ): string {
    const at = this.offset;
    if (dialect.numbers === 'ascii') {
      const text = String.fromCharCode(...this.take(count, what));
      for (const ch of text)
        if (digitNibble(ch, track2) < 0)
          throw isoDecodeError(code, `${what} at offset ${at}: byte 0x${ch.charCodeAt(0).toString(16)} is not a digit`);
      return text;
    }
    const got = unpackBcd(this.take(Math.ceil(count / 2), what), count, pad, track2);
    if ('bad' in got) throw isoDecodeError(code, `${what} at offset ${at}: ${got.bad}`);
    return got.digits;
  }
}
