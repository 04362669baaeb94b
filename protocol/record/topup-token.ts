import { DecodeError } from '../errors.js';
import { buildMap } from '../cbor/index.js';
import { CARD_ID_LENGTH } from '../commands/application.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import type { SigningKey } from './certificate.js';

/** The token format this code signs and the only one it accepts (docs/protocol.md §7.5). */
export const TOPUP_TOKEN_VERSION = 2;

/** An issuer-authorised top-up (docs/protocol.md §4.5, §7.5). */
export interface TopupTokenFields {
  cardId: Uint8Array;
  /** Must be the card's loadCounter + 1: a token works once, and only in order. */
  loadSeq: number;
  /** May be 0: a pure sync. */
  amount: number;
  currency: number;
  /** The card has no clock: the token expires once the card's transaction counter passes this. */
  validUntilCounter: number;
  issuedAt: number;
  /** The top-up is the card's online sync: reset its cumulative offline totals, up to settledCounter. */
  resetOffline: boolean;
  /**
   * The card counter up to which the bank holds the card's records as one unbroken chain from
   * counter 1: the card stops counting, as offline, only what it signed up to here.
   */
  settledCounter: number;
  /**
   * A refund token (docs/protocol.md §4.5, §7.5 key 10): the counter of the card's sale it refunds, when
   * the bank cannot tell whether the card voided that sale (it holds no later record of the card). The
   * card refuses it if its next record is the sale's reversal, or no longer in its journal. Absent on
   * top-ups, and on refunds the bank knows cannot meet a void.
   */
  refundOf?: number;
}
export interface TopupToken extends TopupTokenFields {
  body: Uint8Array;
  signature: Uint8Array;
  envelope: Uint8Array;
}

const NAMES = {
  0: 'type',
  1: 'version',
  2: 'cardId',
  3: 'loadSeq',
  4: 'amount',
  5: 'currency',
  6: 'validUntilCounter',
  7: 'issuedAt',
  8: 'resetOffline',
  9: 'settledCounter',
  10: 'refundOf',
};

/** Sign a token; settledCounter defaults to 0 (nothing settled: the totals are not lowered). */
export function signTopupToken(
  authority: SigningKey,
  f: Omit<TopupTokenFields, 'settledCounter'> & { settledCounter?: number },
): TopupToken {
  const body = buildMap([
    [0, BODY_TYPE.TOPUP_TOKEN],
    [1, TOPUP_TOKEN_VERSION],
    [2, f.cardId],
    [3, f.loadSeq],
    [4, f.amount],
    [5, f.currency],
    [6, f.validUntilCounter],
    [7, f.issuedAt],
    [8, f.resetOffline],
    [9, f.settledCounter ?? 0],
    ...(f.refundOf !== undefined ? ([[10, f.refundOf]] as const) : []),
  ]);
  return decodeTopupToken(signBody(authority.algorithm, authority.privateKey, body).envelope);
}

export function decodeTopupToken(envelope: Uint8Array): TopupToken {
  const env = decodeEnvelope(envelope, BODY_TYPE.TOPUP_TOKEN, 'top-up token', NAMES);
  const r = env.fields;
  const version = r.uint(1);
  // Version 1 reset the offline totals whatever the bank had seen: refused, never read leniently.
  if (version !== TOPUP_TOKEN_VERSION) {
    throw new DecodeError(
      'TOKEN_VERSION',
      `top-up token version ${version} is not supported (only ${TOPUP_TOKEN_VERSION})`,
      'ask the bank for a new token',
    );
  }
  const f: TopupTokenFields = {
    cardId: r.bytes(2, { length: CARD_ID_LENGTH }),
    loadSeq: r.uint(3, { min: 1, max: MAX_COUNTER }),
    amount: r.uint(4, { max: MAX_AMOUNT }),
    currency: r.uint(5, { min: 1, max: 999 }),
    validUntilCounter: r.uint(6, { max: MAX_COUNTER }),
    issuedAt: r.uint(7, { max: MAX_AMOUNT }),
    resetOffline: r.bool(8),
    settledCounter: r.uint(9, { max: MAX_COUNTER }),
  };
  const refundOf = r.opt.uint(10, { min: 1, max: MAX_COUNTER });
  if (refundOf !== undefined) f.refundOf = refundOf;
  r.done();
  return { ...f, body: env.body, signature: env.signature, envelope: envelope.slice() };
}

export function verifyTopupToken(
  token: TopupToken,
  authorityAlgorithm: number,
  authorityPublicKey: Uint8Array,
): boolean {
  return verifyEnvelope(authorityAlgorithm, authorityPublicKey, token);
}
