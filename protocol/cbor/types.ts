/**
 * The CBOR value model used everywhere in cardpost (see docs/protocol.md §8.2).
 *
 * | CBOR                          | JavaScript                                                  |
 * |-------------------------------|-------------------------------------------------------------|
 * | major 0/1 integer             | `number` when a safe integer (|n| ≤ 2^53−1), else `bigint`   |
 * | major 2 byte string           | `Uint8Array` (Buffer accepted on encode)                    |
 * | major 3 text string           | `string` (well-formed UTF-16 ⇄ valid UTF-8)                  |
 * | major 4 array                 | `CborValue[]`                                               |
 * | major 5 map                   | `Map<CborKey, CborValue>` (keys: integers and text only)    |
 * | major 6 tag                   | `CborTagged` (tags 2 and 3, bignums, are not supported)     |
 * | major 7 false/true/null/undef | `false` / `true` / `null` / `undefined`                     |
 * | major 7 float                 | `number` that is not a safe integer (fractions, NaN, ±∞, …) |
 */

/** Map keys: integers (number or bigint) and text strings. Other key types are rejected both ways. */
export type CborKey = number | bigint | string;

/** A CBOR map. Iteration order does not matter for encoding: keys are always sorted canonically. */
export type CborMap = Map<CborKey, CborValue>;

export type CborValue =
  number | bigint | string | Uint8Array | boolean | null | undefined | CborValue[] | CborMap | CborTagged;

/** A tagged data item (major type 6): `tag(value)`. */
export class CborTagged {
  readonly tag: number | bigint;
  readonly value: CborValue;

  constructor(tag: number | bigint, value: CborValue) {
    this.tag = tag;
    this.value = value;
  }
}

/** Smallest and largest integers CBOR major types 0/1 can carry. */
export const CBOR_UINT_MAX = 0xffff_ffff_ffff_ffffn; // 2^64 − 1
export const CBOR_NINT_MIN = -0x1_0000_0000_0000_0000n; // −2^64
