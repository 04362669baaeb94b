/**
 * Identity of the card application and the APDU headers it answers to (docs/protocol.md §2).
 */

/** F0 (proprietary RID) "CARDPOST" version 1. */
export const CARD_AID = Uint8Array.from([0xf0, 0x43, 0x41, 0x52, 0x44, 0x50, 0x4f, 0x53, 0x54, 0x01]);

export const PROTOCOL_VERSION = 1;

export const CLA_ISO = 0x00;
/** Proprietary class for the CBOR command, as CTAP2's NFC binding uses. */
export const CLA_PROPRIETARY = 0x80;

export const INS = {
  SELECT: 0xa4,
  VERIFY: 0x20,
  CHANGE_REFERENCE_DATA: 0x24,
  RESET_RETRY_COUNTER: 0x2c,
  GET_RESPONSE: 0xc0,
  /** One INS carries every CBOR command: data = command byte || canonical CBOR map. */
  CBOR: 0x10,
} as const;

/** P2 of VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER: the application PIN, plaintext block (as EMV). */
export const PIN_REFERENCE = 0x80;

/** Largest `command byte || CBOR` message a card must accept; cards may advertise more in GET_INFO. */
export const MIN_MAX_MESSAGE_SIZE = 1024;

/** Fixed sizes on the wire. */
export const CARD_ID_LENGTH = 8;
export const HOST_NONCE_LENGTH = 16;
export const HASH_LENGTH = 32;
export const CHALLENGE_LENGTH = 16;
