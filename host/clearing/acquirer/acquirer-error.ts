import { CardpostError } from '../../../protocol/errors.js';

/**
 * What the acquirer front end refuses, as typed errors for its log and its `onRefusal` hook. A
 * refusal of a request the front end can answer goes back as a field 39 code too (docs/iso8583.md §8);
 * one it cannot answer (no MTI it knows, no STAN) closes the connection.
 */
export const ACQUIRER_ERRORS = Object.freeze({
  ACQUIRER_CONFIG_INVALID:
    'fix the acquirer configuration: each terminal needs an 8-character id (field 41), a 15-character merchant id (42), a cardpost terminal id and a 32-hex-digit MAC key',
  ACQUIRER_TERMINAL_UNKNOWN:
    'add the terminal (field 41 + 42) to the acquirer terminal table, or check the ids configured on the counter',
  ACQUIRER_MAC_INVALID:
    "the message's MAC (field 64) does not verify under the terminal's key: check the key on both ends; a forged or altered message is refused",
  ACQUIRER_REQUEST_REFUSED:
    'the terminal sent a request the session does not take now (sign on first, or a field is missing); the response code says which',
  ACQUIRER_CLEARING_FAILED:
    'the clearing service could not settle the advice (database down?): nothing was settled, the terminal sends it again (96)',
  ACQUIRER_FRAME_REFUSED:
    'the bytes are not a frame of the configured dialect: the connection is closed; check the framing (length, TPDU, header) on the terminal',
} as const);

export type AcquirerErrorCode = keyof typeof ACQUIRER_ERRORS;

export class AcquirerError extends CardpostError {
  constructor(
    code: AcquirerErrorCode,
    message: string,
    /** The field 39 code sent back, when the request was answered. */
    readonly responseCode?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, ACQUIRER_ERRORS[code], options);
  }
}
