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

/**
 * The acquirer front end of the clearing service (host/clearing/acquirer, docs/iso8583.md §9): what it
 * refuses from a terminal on the ISO 8583 link. No HTTP status: answered in field 39, or the
 * connection is closed.
 */
export const ACQUIRER: Record<string, ErrorDef> = {
  ACQUIRER_CONFIG_INVALID: def(
    null,
    'bad-input',
    'fix the acquirer terminal table: each terminal needs an 8-character id (field 41), a 15-character merchant id (42), a cardpost terminal id and a 32-hex-digit MAC key; the file must be readable by its owner only',
  ),
  ACQUIRER_TERMINAL_UNKNOWN: def(
    null,
    'refused',
    'add the terminal (fields 41 + 42) to the acquirer terminal table, or check the ids configured on the counter (answered 03)',
  ),
  ACQUIRER_MAC_INVALID: def(
    null,
    'refused',
    'the MAC (field 64) does not verify under the terminal key: check the key on both ends; a forged or altered message is refused (answered A0)',
  ),
  ACQUIRER_REQUEST_REFUSED: def(
    null,
    'bad-input',
    'sign on first, and send every field the message needs (answered 77 or 12; docs/iso8583.md §8)',
  ),
  ACQUIRER_FRAME_REFUSED: def(
    null,
    'bad-input',
    'the bytes are not a frame of the configured dialect and the connection was closed: check length prefix, TPDU and header on the terminal',
  ),
  ACQUIRER_CLEARING_FAILED: def(
    null,
    'retry',
    'the clearing service could not settle the advice (database down?): nothing was settled; the terminal sends it again after the 96',
  ),
};
