import { isoDecodeError, isoEncodeError } from './errors.js';

/**
 * BER-TLV as EMV uses it in field 55 (ICC data): tags of 1 to 3 bytes, definite lengths in their
 * shortest form (up to 0x82 LL LL), constructed tags (bit 6 of the first byte) holding TLVs.
 * Written here rather than taken from npm: `protocol/` imports no npm package but @noble, the
 * two on the registry (ber-tlv, node-tlv) work on Node Buffers or hex strings, and neither refuses
 * over-long tags, indefinite or non-minimal lengths with a typed error, which a decoder of
 * outside bytes must.
 */
export type TlvItem =
  | { readonly tag: number; readonly value: Uint8Array }
  | { readonly tag: number; readonly children: readonly TlvItem[] };

const MAX_DEPTH = 8;
const MAX_VALUE = 0xffff;

/** Whether a tag (its first byte) is constructed. */
export function isConstructed(tag: number): boolean {
  return (tagBytes(tag)[0]! & 0x20) !== 0;
}

/** The tag's bytes, checked: 1 to 3 bytes, multi-byte only after 0x1F, continuation bits consistent. */
function tagBytes(tag: number): Uint8Array {
  const bad = () => isoEncodeError('TLV_INVALID', `tag 0x${tag.toString(16)} is not a 1 to 3-byte BER tag`);
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffff) throw bad();
  const bytes = tag > 0xffff ? [tag >> 16, (tag >> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  const multi = (bytes[0]! & 0x1f) === 0x1f;
  if (multi !== bytes.length > 1) throw bad();
  for (let i = 1; i < bytes.length; i++) {
    const last = i === bytes.length - 1;
    if (((bytes[i]! & 0x80) !== 0) === last) throw bad();
  }
  if (bytes.length > 1 && bytes[1] === 0x80) throw bad();
  return Uint8Array.from(bytes);
}

export function encodeTlv(items: readonly TlvItem[]): Uint8Array {
  return Uint8Array.from(encodeItems(items, 0));
}

function encodeItems(items: readonly TlvItem[], depth: number): number[] {
  if (depth > MAX_DEPTH) throw isoEncodeError('TLV_INVALID', `TLV nested deeper than ${MAX_DEPTH}`);
  const out: number[] = [];
  for (const item of items) {
    const tag = tagBytes(item.tag);
    const constructed = (tag[0]! & 0x20) !== 0;
    const name = `tag 0x${item.tag.toString(16)}`;
    if (constructed !== 'children' in item)
      throw isoEncodeError(
        'TLV_INVALID',
        `${name} is ${constructed ? 'constructed: give children' : 'primitive: give a value'}`,
      );
    const value = 'children' in item ? encodeItems(item.children, depth + 1) : item.value;
    if (value.length > MAX_VALUE)
      throw isoEncodeError('TLV_INVALID', `${name}: value of ${value.length} bytes is over 64 KiB`);
    out.push(...tag, ...encodeLength(value.length));
    for (const b of value) out.push(b);
  }
  return out;
}

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n <= 0xff) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

/** Strict decode of a sequence of TLVs filling `bytes` exactly. */
export function decodeTlv(bytes: Uint8Array): TlvItem[] {
  if (!(bytes instanceof Uint8Array)) throw isoDecodeError('TLV_MALFORMED', 'TLV data is not bytes');
  return decodeRange(bytes, 0, bytes.length, 0);
}

function decodeRange(bytes: Uint8Array, start: number, end: number, depth: number): TlvItem[] {
  if (depth > MAX_DEPTH)
    throw isoDecodeError('TLV_MALFORMED', `TLV at offset ${start} nested deeper than ${MAX_DEPTH}`);
  const items: TlvItem[] = [];
  let o = start;
  const fail = (at: number, why: string) => isoDecodeError('TLV_MALFORMED', `TLV at offset ${at}: ${why}`);
  while (o < end) {
    const at = o;
    let tag = bytes[o++]!;
    if (tag === 0) throw fail(at, 'tag 00 (padding) is not allowed');
    if ((tag & 0x1f) === 0x1f) {
      for (let n = 1; ; n++) {
        if (o >= end) throw fail(at, 'the data ends inside a tag');
        const b = bytes[o++]!;
        if (n === 1 && b === 0x80) throw fail(at, 'tag has a leading zero byte');
        tag = (tag << 8) | b;
        if ((b & 0x80) === 0) break;
        if (n === 2) throw fail(at, 'tag is longer than 3 bytes');
      }
    }
    if (o >= end) throw fail(at, 'the data ends before the length');
    let length = bytes[o++]!;
    if (length === 0x80) throw fail(at, 'indefinite length is not allowed');
    if (length > 0x80) {
      const count = length & 0x7f;
      if (count > 2) throw fail(at, `a ${count}-byte length is over the 64 KiB limit`);
      if (o + count > end) throw fail(at, 'the data ends inside the length');
      length = count === 1 ? bytes[o]! : (bytes[o]! << 8) | bytes[o + 1]!;
      o += count;
      if (length < (count === 1 ? 0x80 : 0x100)) throw fail(at, `length ${length} is not in its shortest form`);
    }
    if (length > end - o) throw fail(at, `value of ${length} byte(s) runs past the end (${end - o} left)`);
    const constructed = ((tag >>> (8 * tagLength(tag) - 8)) & 0x20) !== 0;
    items.push(
      constructed
        ? { tag, children: decodeRange(bytes, o, o + length, depth + 1) }
        : { tag, value: bytes.slice(o, o + length) },
    );
    o += length;
  }
  return items;
}

function tagLength(tag: number): number {
  return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

/** The first primitive value with `tag`, searching constructed items depth first. */
export function findTlv(items: readonly TlvItem[], tag: number): Uint8Array | undefined {
  for (const item of items) {
    if (item.tag === tag && 'value' in item) return item.value;
    if ('children' in item) {
      const found = findTlv(item.children, tag);
      if (found) return found;
    }
  }
  return undefined;
}
