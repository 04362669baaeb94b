import { CARD_STATUS, type CardStatusName } from '../../protocol/commands/command-codes.js';
import { TERMINAL_LINK_ERRORS, type TerminalLinkErrorCode } from '../../protocol/terminal/errors.js';
import type { TransportErrorCode } from '../../protocol/transport.js';
import type { ErrorDef, ErrorKind } from './types.js';
import { def, type CardStatusCode, type CertificateCode, type ChainCode } from './codes-def.js';

/**
 * The registry's tables for the card and the media that reach it: the card session, the card's own
 * status words, the readers' transport and the serial terminals (codes.ts puts them in groups). Each is
 * typed by its protocol table, so a new code there does not compile until it is classified here.
 */

export const CARD_SESSION = {
  CARD_BLANK: def(422, 'decline', 'the card must be personalised by its issuer before it can pay'),
  CARD_ALREADY_PERSONALISED: def(
    null,
    'refused',
    'a card is personalised once (cardpost card personalize): use a blank card; its holder changes the PIN with cardpost card change-pin',
  ),
  CARD_CERT_MISMATCH: def(422, 'decline', 'do not accept this card; report it to the issuer'),
  CARD_UNKNOWN_ISSUER: def(
    422,
    'decline',
    "this counter does not trust the card's issuer: pay another way, or add the issuer (trustedIssuers)",
  ),
  CARD_REVOKED: def(
    422,
    'decline',
    'this card is blocked (reported lost or stolen, or withdrawn by its issuer): take no payment with it; the holder contacts the card issuer, who keeps the balance for a refund or a new card',
  ),
  CARD_EXPIRED: def(422, 'decline', "the card's certificate expired: the holder asks the issuer for a new card"),
  CARD_NOT_YET_VALID: def(422, 'refused', "check the counter's clock; otherwise the card is not valid yet"),
  CARD_ISSUER_EXPIRED: def(
    422,
    'refused',
    "the issuer CA this counter holds has expired: install the issuer's current CA certificate",
  ),
  CARD_ISSUER_NOT_YET_VALID: def(422, 'refused', "check the counter's clock; otherwise the issuer CA is not valid yet"),
  CARD_OUTLIVES_ISSUER: def(
    422,
    'fault',
    'the issuer made a card certificate valid beyond its own CA: report it to the issuer',
  ),
  CARD_ISSUER_NOT_CA: def(422, 'fault', 'the certificate chain is wrong: report the card to the issuer'),
  CARD_BAD_SIGNATURE: def(
    422,
    'fault',
    "the card's certificate is not signed by its issuer: do not accept the card; report it",
  ),
  CARD_WRONG_KIND: def(422, 'fault', 'the certificate is not a card certificate: do not accept the card; report it'),
  CARD_CHAIN_DIVERGED: def(
    422,
    'fault',
    "the card's records fork from those held here: keep the card's records for the bank and report the card",
  ),
  RECORD_WRONG_CARD: def(422, 'fault', 'do not accept the record; report the card'),
  RECORD_BAD_SIGNATURE: def(422, 'fault', 'do not accept the record; report the card'),
  RECORD_MISMATCH: def(
    422,
    'fault',
    'no payment was taken and the record is held, not settled: charge again only after checking the card',
  ),
  RECORD_CHAIN_GAP: def(
    422,
    'fault',
    "the card's records have a gap: they are recovered from its journal at its next use",
  ),
  RECORD_CHAIN_FORK: def(
    422,
    'fault',
    "two records claim the same place in the card's chain: keep both for the bank and report the card",
  ),
  RECORD_CHAIN_REPLAY: def(
    422,
    'fault',
    'a record the counter already holds was offered again: nothing is charged twice',
  ),
  RECORD_CHAIN_WRONG_CARD: def(422, 'fault', 'the record is for another card: report the card'),
  JOURNAL_GAP: def(
    422,
    'fault',
    'records are lost from the card; the bank can still settle those another terminal holds',
  ),
  SALE_OUTCOME_LOST: def(
    422,
    'fault',
    "the outcome of the card's last signature could not be read back: report it with the daemon log",
  ),
  BLOCK_ORDER_REFUSED: def(
    422,
    'fault',
    "the bank's block order for a revoked card did not verify, so it was not sent to the card; the card is still refused here: report it to the bank",
  ),
  'CARD_*': def(422, 'fault', 'a card refusal this host does not know: update the host software'),
} satisfies Record<CertificateCode | ChainCode, ErrorDef> & Record<string, ErrorDef>;

/** The card's own status codes (protocol/commands/command-codes.ts), as CardStatusError raises them: `CARD_<name>`. */
export const CARD_STATUS_KIND: Record<Exclude<CardStatusName, 'OK'>, ErrorKind> = {
  INVALID_COMMAND: 'fault',
  INVALID_CBOR: 'fault',
  INVALID_PARAMETER: 'fault',
  MESSAGE_TOO_LONG: 'fault',
  WRONG_STATE: 'refused',
  TERMINATED: 'decline',
  BLOCKED: 'decline',
  PIN_REQUIRED: 'retry',
  PIN_INVALID: 'retry',
  PIN_BLOCKED: 'decline',
  PIN_FORMAT: 'bad-input',
  PUK_INVALID: 'retry',
  PUK_BLOCKED: 'decline',
  PIN_CHANGE_REQUIRED: 'refused',
  INSUFFICIENT_FUNDS: 'decline',
  OVER_TRANSACTION_LIMIT: 'decline',
  OFFLINE_AMOUNT_LIMIT: 'decline',
  OFFLINE_COUNT_LIMIT: 'decline',
  CURRENCY_MISMATCH: 'decline',
  COUNTER_EXHAUSTED: 'decline',
  NONCE_REUSED: 'fault',
  VOID_NOT_ALLOWED: 'refused',
  VOID_MISMATCH: 'refused',
  ALREADY_VOIDED: 'refused',
  TOKEN_SIGNATURE_INVALID: 'refused',
  TOKEN_REPLAYED: 'refused',
  TOKEN_WRONG_CARD: 'refused',
  TOKEN_EXPIRED: 'refused',
  BALANCE_LIMIT: 'refused',
  AUTHORITY_INVALID: 'refused',
  REFUND_OF_VOIDED: 'refused',
  REFUND_UNPROVABLE: 'retry',
  CERTIFICATE_INVALID: 'refused',
  AUTHORISATION_INVALID: 'refused',
  BLOCK_ORDER_INVALID: 'refused',
  BLOCK_ORDER_WRONG_CARD: 'refused',
  INTERNAL_ERROR: 'fault',
};
export const CARD_STATUSES: Record<CardStatusCode, ErrorDef> = {
  ...(Object.fromEntries(
    Object.entries(CARD_STATUS_KIND).map(([name, kind]) => [
      `CARD_${name}`,
      def(422, kind, CARD_STATUS[name as CardStatusName].hint),
    ]),
  ) as Record<CardStatusCode, ErrorDef>),
  CARD_UNKNOWN_STATUS: def(422, 'fault', 'the card speaks a newer protocol: update the host software'),
};

export const TRANSPORT: Record<TransportErrorCode, ErrorDef> = {
  NO_CARD: def(409, 'retry', 'insert or tap the card; a sale waits for it by itself'),
  CARD_REMOVED: def(409, 'retry', 'insert the card again and keep it there until the counter says so'),
  READER_GONE: def(503, 'retry', 'plug the reader in again (or restart pcscd); a sale waits for it by itself'),
  TIMEOUT: def(503, 'retry', 'the card or reader did not answer in time: insert the card again'),
  TRANSPORT_UNAVAILABLE: def(
    503,
    'unavailable',
    "install or start the reader's driver or service (pcscd, the HID or serial library)",
  ),
};

export const LINK_KIND: Record<TerminalLinkErrorCode, ErrorKind> = {
  LINK_RETRY_LIMIT: 'retry',
  LINK_MESSAGE_TOO_LARGE: 'fault',
  LINK_QUEUE_FULL: 'retry',
  LINK_BAD_FRAGMENT: 'retry',
  LINK_PARTIAL_DROPPED: 'retry',
  LINK_CLOSED: 'retry',
  MSG_INVALID: 'fault',
  REQUEST_TIMEOUT: 'retry',
  REQUEST_REFUSED: 'refused',
};
export const TERMINAL: Record<string, ErrorDef> = {
  ...Object.fromEntries(
    Object.entries(LINK_KIND).map(([code, kind]) => [
      code,
      def(400, kind, TERMINAL_LINK_ERRORS[code as TerminalLinkErrorCode].hint),
    ]),
  ),
  TERMINAL_REFUSED: def(400, 'refused', 'the serial terminal refused the request: see its message'),
  TERMINAL_TIMEOUT: def(400, 'retry', 'the serial terminal did not answer in time; check it is powered and plugged in'),
  TERMINAL_DISCONNECTED: def(400, 'retry', 'the serial terminal went away; the host reconnects by itself'),
  TERMINAL_CANCELLED: def(400, 'conflict', 'the request was cancelled at the terminal'),
  TERMINAL_WARNING: def(
    400,
    'retry',
    "the terminal's link had trouble and retries by itself; check the cable if it repeats",
  ),
  APDU_STATUS: def(400, 'fault', 'the card answered an error status word: see docs/protocol.md for it'),
};
