import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/**
 * The ISO 8583 codec (protocol/iso8583, docs/iso8583.md): a message or frame from an acquirer or a
 * terminal that does not decode, or a value that cannot be encoded. Decoding raises DecodeError,
 * building EncodeError, with the field and offset in the message.
 */
const FIX =
  'the acquirer or terminal sent a message outside the dialect (docs/iso8583.md): check its field table and framing';
export const ISO8583: Record<string, ErrorDef> = {
  ISO8583_MALFORMED: def(400, 'bad-input', `${FIX}; the message names the field and offset where it ends or breaks`),
  ISO8583_FIELD_INVALID: def(400, 'bad-input', `give the field a value of its format and length (${FIX})`),
  ISO8583_FIELD_UNKNOWN: def(400, 'bad-input', `use only the fields the dialect defines (${FIX})`),
  ISO8583_TOO_LONG: def(
    400,
    'bad-input',
    'a message is at most 8192 bytes: split the batch upload, or check the length prefix',
  ),
  ISO8583_FRAME_INVALID: def(
    400,
    'bad-input',
    'check the 2-byte length prefix, the TPDU (starting 0x60) and the header length configured for this acquirer',
  ),
  TLV_MALFORMED: def(
    400,
    'bad-input',
    'field 55 must be BER-TLV with tags of up to 3 bytes and definite shortest lengths (docs/iso8583.md)',
  ),
  TLV_INVALID: def(400, 'bad-input', 'give each TLV item a valid BER tag whose constructed bit matches its value'),
};
