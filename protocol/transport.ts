import { CardpostError } from './errors.js';
import type { ApduTransport } from './apdu/exchange.js';

/**
 * The narrow seam between the host and every way a card is reached (PC/SC and NFC readers through
 * nfc-pcsc, the in-process simulated reader, a serial terminal's slot, a HID card key). The host
 * sees readers that announce cards; a present card is an ApduTransport. Everything above —
 * ISO 7816-4 exchange, the CBOR command set, the card session — is written once against this.
 */

export interface CardInsertion {
  /** Answer-to-reset (empty where the medium has none, e.g. a HID key). */
  atr: Uint8Array;
}

export interface CardReaderEvents {
  card: [CardInsertion];
  removed: [];
  error: [Error];
  /** The reader itself went away (unplugged, pcscd gone). */
  end: [];
}

export interface CardReader extends ApduTransport {
  readonly name: string;
  /** Whether the reader can carry extended-length APDUs (else the exchange chains). */
  readonly extendedLength: boolean;
  readonly cardPresent: boolean;
  on<E extends keyof CardReaderEvents>(event: E, listener: (...args: CardReaderEvents[E]) => void): this;
  off<E extends keyof CardReaderEvents>(event: E, listener: (...args: CardReaderEvents[E]) => void): this;
}

/** Why talking to a card failed below the APDU level. Codes are stable. */
export type TransportErrorCode =
  | 'CARD_REMOVED'    // the card left the reader during or before the command
  | 'NO_CARD'         // nothing in the reader
  | 'READER_GONE'     // the reader or its service (pcscd, the serial line) disappeared
  | 'TIMEOUT'         // no answer in time
  | 'TRANSPORT_UNAVAILABLE'; // the driver or library is missing on this machine

export class TransportError extends CardpostError {
  constructor(readonly transportCode: TransportErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(transportCode, message, hint, options);
  }
}
