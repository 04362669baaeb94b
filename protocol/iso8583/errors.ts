import { DecodeError, EncodeError } from '../errors.js';

/**
 * Every error code the ISO 8583 codec raises, with its meaning and the hint shown to people.
 * Codes are stable: never renamed once published. docs/iso8583.md lists the same table.
 * Decoding raises DecodeError (bytes from an acquirer or a terminal), encoding EncodeError
 * (a value a caller built that does not fit the dialect).
 */
export const ISO8583_ERRORS = Object.freeze({
  ISO8583_MALFORMED: {
    meaning:
      'the message does not parse: it ends inside a field or a length prefix, a length prefix is not BCD/ASCII digits or is over the field maximum, a bitmap is not canonical, or bytes follow the last field',
    hint: 'the message was cut short or built for another dialect; the message names the field and the byte offset',
  },
  ISO8583_FIELD_INVALID: {
    meaning:
      'a field value does not fit its definition: a non-digit in a numeric field, non-ASCII text, a wrong fixed length or a length over the maximum, a non-zero pad nibble',
    hint: 'the sender must follow the field table of docs/iso8583.md; the message names the field',
  },
  ISO8583_FIELD_UNKNOWN: {
    meaning: 'the bitmap (or the message being encoded) has a field the dialect does not define',
    hint: 'both sides must use the same dialect (docs/iso8583.md); a field cardpost does not know is refused, not skipped',
  },
  ISO8583_TOO_LONG: {
    meaning: "the message or frame is longer than the dialect's limit or than a 2-byte length prefix can carry",
    hint: 'split the data over several messages; one ISO 8583 message is at most the dialect limit (8 KiB)',
  },
  ISO8583_FRAME_INVALID: {
    meaning:
      'the TCP frame around the message is wrong: its length prefix disagrees with the bytes, the TPDU does not start with 0x60, or the frame is shorter than its TPDU and header',
    hint: 'check that both sides use the same framing (2-byte big-endian length, 5-byte TPDU, 6-byte header)',
  },
  TLV_MALFORMED: {
    meaning:
      'BER-TLV data (field 55) does not parse: a tag longer than 3 bytes, an indefinite or over-long length, a value running past the end, or nesting too deep',
    hint: 'the ICC data was cut short or is not BER-TLV; the message names the offset',
  },
  TLV_INVALID: {
    meaning: 'a TLV item cannot be encoded: the tag is not a valid 1 to 3-byte BER tag or a value is too long',
    hint: 'use tags as the card gives them (e.g. 9F26) and values under 64 KiB',
  },
} as const satisfies Record<string, { meaning: string; hint: string }>);

export type Iso8583ErrorCode = keyof typeof ISO8583_ERRORS;

export function isoDecodeError(code: Iso8583ErrorCode, message: string): DecodeError {
  return new DecodeError(code, message, ISO8583_ERRORS[code].hint);
}

export function isoEncodeError(code: Iso8583ErrorCode, message: string): EncodeError {
  return new EncodeError(code, message, ISO8583_ERRORS[code].hint);
}
