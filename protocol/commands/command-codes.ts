import { CardpostError } from '../errors.js';

/** The first byte of every CBOR command's data field (docs/protocol.md §4). */
export const CMD = {
  GET_INFO: 0x01,
  VERIFY_PIN: 0x02,
  SIGN_TXN: 0x03,
  READ_JOURNAL: 0x04,
  LOAD: 0x05,
  PERSONALIZE_BEGIN: 0x06,
  PERSONALIZE_COMMIT: 0x07,
  CHANGE_PIN: 0x08,
  UNBLOCK_PIN: 0x09,
  BLOCK_CARD: 0x0a,
  VOID_TXN: 0x0b,
} as const;
export type CommandName = keyof typeof CMD;

interface StatusInfo {
  code: number;
  meaning: string;
  hint: string;
}

/**
 * The first byte of every CBOR response. Stable: a value's meaning never changes once published.
 * `hint` says what the person at the counter (or the integrator) should do.
 */
export const CARD_STATUS = {
  OK: { code: 0x00, meaning: 'success', hint: '' },
  INVALID_COMMAND: {
    code: 0x01,
    meaning: 'unknown command byte',
    hint: 'the host and card speak different protocol versions; update the host',
  },
  INVALID_CBOR: {
    code: 0x02,
    meaning: 'request is not well-formed canonical CBOR',
    hint: 'a host bug or line corruption; retry, then report it',
  },
  INVALID_PARAMETER: {
    code: 0x03,
    meaning: 'a request field is missing, of the wrong type or out of range',
    hint: 'a host bug; report it with the request',
  },
  MESSAGE_TOO_LONG: {
    code: 0x04,
    meaning: 'request longer than the card accepts (a chain that grows too long is refused with SW 6A84 instead)',
    hint: 'send a shorter request (see maxMessageSize in SELECT and GET_INFO)',
  },
  WRONG_STATE: {
    code: 0x05,
    meaning: "command not allowed in the card's life-cycle state",
    hint: 'check the card state with GET_INFO (blank cards must be personalised first)',
  },
  TERMINATED: {
    code: 0x06,
    meaning: 'the card is terminated',
    hint: 'the card can no longer pay; the holder must ask the issuer for a new card',
  },
  BLOCKED: {
    code: 0x07,
    meaning:
      'the card was blocked by its issuer (reported lost or stolen, or withdrawn); it only gives up its information and journal',
    hint: 'the card was reported lost or stolen: take no payment with it, keep it and send the holder to the issuer, who keeps the balance for a refund or a new card',
  },
  PIN_REQUIRED: {
    code: 0x10,
    meaning: 'this amount needs the PIN and it has not been verified',
    hint: 'ask the customer for the PIN, then retry',
  },
  PIN_INVALID: {
    code: 0x11,
    meaning: 'wrong PIN',
    hint: 'let the customer try again; the tries left are in the response',
  },
  PIN_BLOCKED: {
    code: 0x12,
    meaning: 'the PIN is blocked after too many wrong tries',
    hint: 'the holder must unblock it with the PUK (issuer or bank branch)',
  },
  PIN_FORMAT: {
    code: 0x13,
    meaning: 'PIN or PUK holds something other than digits (a wrong length is INVALID_PARAMETER)',
    hint: 'enter digits only: PIN 4 to 12, PUK 8 to 12',
  },
  PUK_INVALID: { code: 0x14, meaning: 'wrong PUK', hint: 'check the PUK letter; the tries left are in the response' },
  PUK_BLOCKED: {
    code: 0x15,
    meaning: 'the PUK is blocked; the card is now terminated',
    hint: 'the holder must ask the issuer for a new card',
  },
  PIN_CHANGE_REQUIRED: {
    code: 0x16,
    meaning: 'the card still has its issuer transport PIN',
    hint: 'activate the card first: the holder types the PIN from the issuer’s letter, then a new one (counter page "Activate new card", or `cardpost card change-pin`)',
  },
  INSUFFICIENT_FUNDS: {
    code: 0x20,
    meaning: 'the offline balance is lower than the amount',
    hint: 'pay a smaller amount, top up the card, or pay another way',
  },
  OVER_TRANSACTION_LIMIT: {
    code: 0x21,
    meaning: "the amount exceeds the card's per-transaction limit",
    hint: 'split the sale or pay another way',
  },
  OFFLINE_AMOUNT_LIMIT: {
    code: 0x22,
    meaning: "the cumulative offline amount since the last online sync would exceed the card's limit",
    hint: 'the card must go online (top-up or sync at a bank terminal) before more offline payments',
  },
  OFFLINE_COUNT_LIMIT: {
    code: 0x23,
    meaning: "the number of offline payments since the last online sync reached the card's limit",
    hint: 'the card must go online (top-up or sync) before more offline payments',
  },
  CURRENCY_MISMATCH: {
    code: 0x24,
    meaning: "the card's purse is in another currency",
    hint: "charge in the card's currency",
  },
  COUNTER_EXHAUSTED: {
    code: 0x25,
    meaning: "the card's transaction counter reached its maximum",
    hint: 'the card must be replaced by the issuer',
  },
  NONCE_REUSED: {
    code: 0x26,
    meaning: 'the host nonce of the last record was re-sent with different transaction data',
    hint: 'a host bug: each new sale needs a fresh nonce',
  },
  VOID_NOT_ALLOWED: {
    code: 0x27,
    meaning:
      'the record named is not one the card can still void: only its last record, a sale, with no top-up or sync since, can be voided',
    hint: 'the sale can no longer be voided at the counter: refund it instead (the bank authorises a refund)',
  },
  VOID_MISMATCH: {
    code: 0x28,
    meaning: 'the void names the last sale but not as the card signed it (another amount, merchant or terminal)',
    hint: 'void the sale as it was recorded: amount, merchant and terminal of its record',
  },
  ALREADY_VOIDED: {
    code: 0x29,
    meaning: 'the sale named was already voided: the card signed its reversal (a void with another nonce)',
    hint: "nothing to do: read the card's journal (READ_JOURNAL) for the reversal record and keep it",
  },
  TOKEN_SIGNATURE_INVALID: {
    code: 0x30,
    meaning: "the top-up token's signature does not verify",
    hint: 'ask the bank for a new top-up token',
  },
  TOKEN_REPLAYED: {
    code: 0x31,
    meaning: 'the top-up token was already used or is out of sequence',
    hint: "read the card's load counter (GET_INFO) and ask the bank for a token for the next one",
  },
  TOKEN_WRONG_CARD: {
    code: 0x32,
    meaning: 'the top-up token is for another card or currency',
    hint: 'ask the bank for a token for this card',
  },
  TOKEN_EXPIRED: {
    code: 0x33,
    meaning: 'the top-up token expired (the card has paid past its validity counter)',
    hint: 'ask the bank for a new top-up token',
  },
  BALANCE_LIMIT: {
    code: 0x34,
    meaning: "the top-up would exceed the card's maximum balance",
    hint: 'top up a smaller amount',
  },
  AUTHORITY_INVALID: {
    code: 0x35,
    meaning: "the top-up signer's certificate does not chain to the card's issuer (also a block order's signer, §4.8)",
    hint: 'the token or order came from an unknown bank key; ask the issuer',
  },
  REFUND_OF_VOIDED: {
    code: 0x36,
    meaning: 'the refund token refunds a sale this card voided (its next record is the reversal of that sale)',
    hint: 'nothing was loaded: the sale was already given back by its void; the bank cancels the refund',
  },
  REFUND_UNPROVABLE: {
    code: 0x37,
    meaning:
      'the refund token refunds a sale whose next record the journal no longer holds, so the card cannot show it was not voided',
    hint: "settle the card's records first, then ask the bank for the refund again (it then knows the sale was not voided)",
  },
  CERTIFICATE_INVALID: {
    code: 0x40,
    meaning:
      'a certificate offered at personalisation is not valid: the issuer CA at BEGIN is not a valid self-signed CA or not the issuer the card was made for, or the card certificate at COMMIT does not match this card, its key or its issuer',
    hint: 'give the issuer CA certificate at BEGIN, and a certificate for the key and card id BEGIN returned at COMMIT',
  },
  AUTHORISATION_INVALID: {
    code: 0x41,
    meaning: "the issuer's personalisation authorisation does not verify",
    hint: "sign the authorisation with the issuer CA key over the card's challenge",
  },
  BLOCK_ORDER_INVALID: {
    code: 0x50,
    meaning:
      "the block order does not decode or its signature does not verify under the issuer's or the given authority's key",
    hint: 'the order was not made by the card issuer: do not trust it; fetch the order again from the bank',
  },
  BLOCK_ORDER_WRONG_CARD: {
    code: 0x51,
    meaning: 'the block order is for another card',
    hint: "fetch the order for this card's id from the bank",
  },
  INTERNAL_ERROR: {
    code: 0x7f,
    meaning: 'the card failed internally; nothing was changed',
    hint: 'retry; if it persists the card is faulty',
  },
} as const satisfies Record<string, StatusInfo>;

export type CardStatusName = keyof typeof CARD_STATUS;

const BY_CODE = new Map<number, CardStatusName>(
  (Object.keys(CARD_STATUS) as CardStatusName[]).map((name) => [CARD_STATUS[name].code, name]),
);

export function cardStatusName(code: number): CardStatusName | undefined {
  return BY_CODE.get(code);
}

/** The card refused a CBOR command with a non-zero status byte. `details` holds the response map's fields. */
export class CardStatusError extends CardpostError {
  readonly status: number;
  readonly statusName: CardStatusName | 'UNKNOWN';
  readonly retries: number | undefined;

  constructor(status: number, command: string, retries?: number) {
    const name = cardStatusName(status);
    const info = name ? CARD_STATUS[name] : undefined;
    const tries = retries !== undefined ? ` (${retries} ${retries === 1 ? 'try' : 'tries'} left)` : '';
    super(
      `CARD_${name ?? 'UNKNOWN_STATUS'}`,
      `${command}: card answered ${name ?? `unknown status 0x${status.toString(16)}`} — ${info?.meaning ?? 'not defined by protocol version 1'}${tries}`,
      info?.hint ?? 'update the host software; the card speaks a newer protocol',
    );
    this.status = status;
    this.statusName = name ?? 'UNKNOWN';
    this.retries = retries;
  }
}
