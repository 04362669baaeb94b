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

/**
 * A PIN pad that belongs to the reader (a serial POS terminal's keypad). The PIN is typed there and
 * the device builds the ISO VERIFY APDU itself (docs/protocol.md §2.4): the PIN never reaches the
 * host, which learns only the outcome.
 */
export interface PinEntryRequest {
  /** What the pad shows: the sale amount in minor units and its ISO 4217 numeric currency. */
  amount: number;
  currency: number;
  /** Tries the card has left, when known (shown to the customer). */
  triesLeft?: number;
  /** How long the customer has; generous (≥ 60 s) for elderly card holders. */
  timeoutMs: number;
}

export type PinEntryOutcome =
  | { result: 'verified' }
  | { result: 'wrong'; triesLeft: number }
  | { result: 'blocked' }
  | { result: 'cancelled' }
  | { result: 'timeout' };

/**
 * PIN service on the pad (docs/protocol.md §13.4, PIN_ENTRY mode): the holder types the current PIN
 * (`change`) or the PUK (`unblock`), then the new PIN twice; the device checks the two agree and the
 * new PIN passes the issuer's rule (protocol/commands/pin-policy.ts) and sends ISO CHANGE REFERENCE
 * DATA or RESET RETRY COUNTER itself. The host learns only the outcome.
 */
export interface PinChangeRequest {
  mode: 'change' | 'unblock';
  /** Tries left of what is typed first: the PIN's for `change`, the PUK's for `unblock`, when known. */
  triesLeft?: number;
  timeoutMs: number;
}

export type PinChangeOutcome =
  | { result: 'changed' }
  /** The current PIN (change) or the PUK (unblock) was wrong; tries left of that secret. */
  | { result: 'wrong'; triesLeft: number }
  /** The PIN (change) or the PUK (unblock: the card is now terminated) is blocked. */
  | { result: 'blocked' }
  | { result: 'cancelled' }
  | { result: 'timeout' };

export interface PinPad {
  enterPin(request: PinEntryRequest, signal?: AbortSignal): Promise<PinEntryOutcome>;
  /** Present when the pad can run the PIN service itself (change and unblock). */
  changePin?(request: PinChangeRequest, signal?: AbortSignal): Promise<PinChangeOutcome>;
}

export interface CardReader extends ApduTransport {
  readonly name: string;
  /** Present when PIN entry happens on the device itself (never through the host). */
  readonly pinPad?: PinPad;
  /** Whether the reader can carry extended-length APDUs (else the exchange chains). */
  readonly extendedLength: boolean;
  readonly cardPresent: boolean;
  on<E extends keyof CardReaderEvents>(event: E, listener: (...args: CardReaderEvents[E]) => void): this;
  off<E extends keyof CardReaderEvents>(event: E, listener: (...args: CardReaderEvents[E]) => void): this;
}

/** Why talking to a card failed below the APDU level. Codes are stable. */
export type TransportErrorCode =
  | 'CARD_REMOVED' // the card left the reader during or before the command
  | 'NO_CARD' // nothing in the reader
  | 'READER_GONE' // the reader or its service (pcscd, the serial line) disappeared
  | 'TIMEOUT' // no answer in time
  | 'TRANSPORT_UNAVAILABLE'; // the driver or library is missing on this machine

export class TransportError extends CardpostError {
  constructor(
    readonly transportCode: TransportErrorCode,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(transportCode, message, hint, options);
  }
}
