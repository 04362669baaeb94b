import { DecodeError, EncodeError } from '../errors.js';

/**
 * Every error code the CBOR layer raises, with its meaning and the hint shown to people.
 * Codes are stable: never renamed once published. docs/protocol.md §8.5 lists the same table.
 */
export const CBOR_ERRORS = Object.freeze({
  // ---- decoding (DecodeError) ----
  CBOR_TRUNCATED: {
    meaning: 'the input ends inside a data item (also: empty input, or a length claiming more bytes/items than remain)',
    hint: 'the message was cut short in transit or by the sender; resend it complete',
  },
  CBOR_TRAILING_BYTES: {
    meaning: 'bytes follow the single top-level data item',
    hint: 'a message is exactly one CBOR item; check the framing/length the sender used',
  },
  CBOR_TOO_LARGE: {
    meaning: 'the input is longer than the maxBytes limit',
    hint: 'the message exceeds the size this endpoint accepts; split it or raise maxBytes if the protocol allows',
  },
  CBOR_TOO_DEEP: {
    meaning: 'arrays/maps/tags are nested deeper than the maxDepth limit (encoder: also a value that contains itself)',
    hint: 'flatten the structure; protocol messages never nest deeper than a few levels',
  },
  CBOR_TOO_MANY_ITEMS: {
    meaning: 'the input holds more data items than the maxItems limit',
    hint: 'the message is larger than this endpoint accepts; send fewer elements',
  },
  CBOR_NON_CANONICAL: {
    meaning: 'an integer, length or tag number is not in its shortest form',
    hint: 'the sender must use canonical CBOR (RFC 8949 §4.2.1): shortest argument encoding',
  },
  CBOR_FLOAT_NON_CANONICAL: {
    meaning:
      'a float is not in the form the canonical encoder produces (integral value, −0, wider than needed, or NaN other than f97e00)',
    hint: 'encode integral values as integers, floats in the shortest exact width, and NaN as f97e00',
  },
  CBOR_INDEFINITE_LENGTH: {
    meaning: 'an indefinite-length string, array or map (additional info 31) was found',
    hint: 'the sender must use definite lengths (canonical CBOR)',
  },
  CBOR_UNEXPECTED_BREAK: {
    meaning: 'a break code (0xff) appears outside an indefinite-length item',
    hint: 'the data is corrupt or not CBOR; check the sender',
  },
  CBOR_RESERVED_AI: {
    meaning: 'reserved additional information 28–30, or 31 on major type 0, 1 or 6 (not well-formed)',
    hint: 'the data is corrupt or not CBOR; check the sender',
  },
  CBOR_UNSORTED_KEYS: {
    meaning: 'map keys are not in canonical order (bytewise lexicographic order of their encodings)',
    hint: 'the sender must sort map keys canonically (RFC 8949 §4.2.1 / CTAP2 order)',
  },
  CBOR_DUPLICATE_KEY: {
    meaning: 'a map contains the same key twice',
    hint: 'each map key may appear once; fix the sender',
  },
  CBOR_UNSUPPORTED_KEY: {
    meaning: 'a map key is neither an integer nor a text string',
    hint: 'cardpost maps use integer (or text) keys only',
  },
  CBOR_INVALID_UTF8: {
    meaning: 'a text string is not valid UTF-8',
    hint: 'text must be UTF-8; send binary data as a byte string',
  },
  CBOR_UNSUPPORTED_SIMPLE: {
    meaning: 'a simple value other than false, true, null, undefined (incl. the invalid two-byte forms f800–f81f)',
    hint: 'cardpost uses only false, true, null and undefined simple values',
  },
  CBOR_UNSUPPORTED_TAG: {
    meaning: 'tag 2 or 3 (bignum), which cardpost does not support',
    hint: 'integers must fit in 64 bits and be sent as major type 0/1',
  },
  CBOR_NOT_BYTES: {
    meaning: 'decodeCanonical was given something that is not a Uint8Array',
    hint: 'pass the raw message bytes (Uint8Array or Buffer)',
  },
  CBOR_INTERNAL: {
    meaning: 'an unexpected internal failure while decoding (a bug: the decoder must only raise the codes above)',
    hint: 'please report this with the input bytes; the message was rejected',
  },
  CBOR_SCHEMA: {
    meaning:
      'a well-formed message lacks a required field, has a field of the wrong type/size/range, or has an unknown field',
    hint: 'the sender built a malformed message; check both sides use the same protocol version (docs/protocol.md)',
  },
  // ---- encoding (EncodeError) ----
  CBOR_UNSUPPORTED_TYPE: {
    meaning:
      'the value (or something inside it) has no CBOR mapping: function, symbol, plain object, Date, typed array other than Uint8Array, …',
    hint: 'use Map for maps, Uint8Array for bytes, CborTagged for tags',
  },
  CBOR_INT_RANGE: {
    meaning: 'a bigint (integer or tag number) outside the 64-bit CBOR range (−2^64 … 2^64−1, tags 0 … 2^64−1)',
    hint: 'integers must fit in 64 bits',
  },
  CBOR_INVALID_STRING: {
    meaning: 'a string contains a lone UTF-16 surrogate and has no UTF-8 encoding',
    hint: 'pass well-formed Unicode text (String.prototype.toWellFormed can repair it)',
  },
  CBOR_BAD_OPTIONS: {
    meaning: 'limits/options passed to the encoder/decoder are not valid',
    hint: 'limits must be positive integers (maxDepth at most 256)',
  },
} as const satisfies Record<string, { meaning: string; hint: string }>);

export type CborErrorCode = keyof typeof CBOR_ERRORS;

export function cborDecodeError(code: CborErrorCode, message: string): DecodeError {
  return new DecodeError(code, message, CBOR_ERRORS[code].hint);
}

export function cborEncodeError(code: CborErrorCode, message: string): EncodeError {
  return new EncodeError(code, message, CBOR_ERRORS[code].hint);
}
