import { DecodeError } from '../errors.js';
import { buildMap } from '../cbor/index.js';
import { CARD_ID_LENGTH } from '../commands/application.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import type { SigningKey } from './certificate.js';

/** An issuer-authorised top-up (docs/protocol.md §4.5, §7.5). */
export interface TopupTokenFields {
  cardId: Uint8Array;
  /** Must be the card's loadCounter + 1: a token works once, and only in order. */
  loadSeq: number;
  amount: number;
  currency: number;
  /** The card has no clock: the token expires once the card's transaction counter passes this. */
  validUntilCounter: number;
  issuedAt: number;
  /** The top-up is the card's online sync: reset its cumulative offline totals. */
  resetOffline: boolean;
}
export interface TopupToken extends TopupTokenFields { body: Uint8Array; signature: Uint8Array; envelope: Uint8Array }

const NAMES = { 0: 'type', 1: 'version', 2: 'cardId', 3: 'loadSeq', 4: 'amount', 5: 'currency', 6: 'validUntilCounter', 7: 'issuedAt', 8: 'resetOffline' };

export function signTopupToken(authority: SigningKey, f: TopupTokenFields): TopupToken {
  const body = buildMap([
    [0, BODY_TYPE.TOPUP_TOKEN], [1, 1], [2, f.cardId], [3, f.loadSeq], [4, f.amount], [5, f.currency],
    [6, f.validUntilCounter], [7, f.issuedAt], [8, f.resetOffline],
  ]);
  return decodeTopupToken(signBody(authority.algorithm, authority.privateKey, body).envelope);
}

export function decodeTopupToken(envelope: Uint8Array): TopupToken {
  const env = decodeEnvelope(envelope, BODY_TYPE.TOPUP_TOKEN, 'top-up token', NAMES);
  const r = env.fields;
  if (r.uint(1) !== 1) throw new DecodeError('TOKEN_VERSION', 'top-up token version is not supported', 'update cardpost');
  const f: TopupTokenFields = {
    cardId: r.bytes(2, { length: CARD_ID_LENGTH }),
    loadSeq: r.uint(3, { min: 1, max: MAX_COUNTER }),
    amount: r.uint(4, { max: MAX_AMOUNT }),
    currency: r.uint(5, { min: 1, max: 999 }),
    validUntilCounter: r.uint(6, { max: MAX_COUNTER }),
    issuedAt: r.uint(7, { max: MAX_AMOUNT }),
    resetOffline: r.bool(8),
  };
  r.done();
  return { ...f, body: env.body, signature: env.signature, envelope: envelope.slice() };
}

export function verifyTopupToken(token: TopupToken, authorityAlgorithm: number, authorityPublicKey: Uint8Array): boolean {
  return verifyEnvelope(authorityAlgorithm, authorityPublicKey, token);
}
