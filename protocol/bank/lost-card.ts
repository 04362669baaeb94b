/**
 * `POST /v1/cards/{cardId}/lost` (docs/bank-api.md §13): the report of a lost or stolen card, sent by
 * a terminal of the issuer or by the issuer's back office, and the bank's answer: the card is revoked
 * (the revocation list's new sequence) and the holder's remaining balance as the bank knows it (the
 * balance after the newest settled record of the card).
 */
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { EncodeError } from '../errors.js';
import { AnswerReader, BankDecodeError, parseJsonBytes, requestObject, schemaError } from './json.js';

export const LOST_REASONS = ['lost', 'stolen'] as const;
export type LostReason = (typeof LOST_REASONS)[number];
/** Who reported: a terminal (certificate kind 3) or the issuer's back office (kind 5). */
export const LOST_REPORTERS = ['terminal', 'issuer'] as const;
export type LostReporter = (typeof LOST_REPORTERS)[number];
/** A report's Idempotency-Key: sf-string content, printable ASCII without `"` and `\`, 1–255 characters. */
export const LOST_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}$/;
/** The card id of the path: 16 hex digits (answered in lower case). */
export const LOST_CARD_ID = /^[0-9a-fA-F]{16}$/;
const DOCS_LOST = 'see docs/bank-api.md §13';
const FIELDS = ['reason'] as const;

export interface LostCardRequest {
  reason: LostReason;
}

/** The path of the report for `cardId` (16 hex digits). EncodeError otherwise. */
export function lostCardPath(cardId: string): string {
  if (!LOST_CARD_ID.test(cardId)) throw new EncodeError('LOST_CARD_INVALID', 'cardId must be 16 hex digits', DOCS_LOST);
  return `/v1/cards/${cardId.toLowerCase()}/lost`;
}

/** The request body. EncodeError for a reason the bank would refuse. */
export function encodeLostCardRequest(r: LostCardRequest): Uint8Array {
  if (!(LOST_REASONS as readonly unknown[]).includes(r.reason))
    throw new EncodeError('LOST_CARD_INVALID', `reason must be one of ${LOST_REASONS.join(', ')}`, DOCS_LOST);
  return new TextEncoder().encode(JSON.stringify({ reason: r.reason }));
}

/** A parsed JSON body as a report (BODY_SCHEMA). */
export function decodeLostCardRequest(body: unknown): LostCardRequest {
  const o = requestObject(body, FIELDS);
  const reason = o['reason'];
  if (typeof reason !== 'string' || !(LOST_REASONS as readonly string[]).includes(reason))
    throw schemaError('reason', `must be one of ${LOST_REASONS.join(', ')}`);
  return { reason: reason as LostReason };
}

/** decodeLostCardRequest of the body bytes (BODY_MISSING, BODY_NOT_JSON first). */
export function decodeLostCardRequestBytes(raw: Uint8Array): LostCardRequest {
  return decodeLostCardRequest(parseJsonBytes(raw));
}

export interface LostCardAnswer {
  /** 16 lowercase hex digits. */
  cardId: string;
  /** The reason of the first report (a later report of the same card does not change it). */
  reason: LostReason;
  /** Bank time of the first report (Unix seconds): records signed after it do not settle. */
  reportedAt: number;
  reportedBy: { kind: LostReporter; id: string };
  /** false for the report that revoked the card; true when the card had been reported before. */
  alreadyReported: boolean;
  /** The revocation list's sequence that carries the card: a counter holding it (or a higher one) refuses the card. */
  revocationSequence: number;
  /** The balance after the newest settled record of the card at the time of this answer; null when none is settled. */
  balance: number | null;
  /** The counter of that record (0 when none). */
  balanceCounter: number;
  /** That record's currency (ISO 4217 numeric); null when none is settled. */
  currency: number | null;
}

/** The answer's text, in the fixed key order of §13 (stored and replayed byte for byte). */
export function encodeLostCardAnswer(a: LostCardAnswer): string {
  return JSON.stringify({
    cardId: a.cardId,
    reason: a.reason,
    reportedAt: a.reportedAt,
    reportedBy: { kind: a.reportedBy.kind, id: a.reportedBy.id },
    alreadyReported: a.alreadyReported,
    revocationSequence: a.revocationSequence,
    balance: a.balance,
    balanceCounter: a.balanceCounter,
    currency: a.currency,
  });
}

/**
 * A parsed JSON answer as a LostCardAnswer (ANSWER_SCHEMA), and for the card that was reported
 * (ANSWER_MISMATCH otherwise). balance and currency are both null or both numbers, as balanceCounter 0 says.
 */
export function decodeLostCardAnswer(v: unknown, expect: { cardId: string }): LostCardAnswer {
  const r = new AnswerReader(v, 'the lost-card answer');
  const cardId = r.text('cardId', /^[0-9a-f]{16}$/);
  const reason = r.text('reason');
  if (!(LOST_REASONS as readonly string[]).includes(reason)) throw r.bad('reason', 'is not lost or stolen');
  const by = r.object('reportedBy');
  const kind = by.text('kind');
  if (!(LOST_REPORTERS as readonly string[]).includes(kind))
    throw by.bad('reportedBy.kind', 'is not terminal or issuer');
  const alreadyReported = r.o['alreadyReported'];
  if (typeof alreadyReported !== 'boolean') throw r.bad('alreadyReported', 'is not a boolean');
  const balanceCounter = r.int('balanceCounter', 0, MAX_COUNTER);
  const settled = balanceCounter > 0;
  const nullable = (field: string, max: number): number | null => {
    if (!settled) {
      if (r.o[field] !== null) throw r.bad(field, 'must be null when balanceCounter is 0');
      return null;
    }
    return r.int(field, field === 'currency' ? 1 : 0, max);
  };
  const a: LostCardAnswer = {
    cardId,
    reason: reason as LostReason,
    reportedAt: r.int('reportedAt', 0, MAX_AMOUNT),
    reportedBy: { kind: kind as LostReporter, id: by.text('id') },
    alreadyReported,
    revocationSequence: r.int('revocationSequence', 1, MAX_AMOUNT),
    balance: nullable('balance', MAX_AMOUNT),
    balanceCounter,
    currency: nullable('currency', 999),
  };
  if (a.cardId !== expect.cardId.toLowerCase())
    throw new BankDecodeError(
      'ANSWER_MISMATCH',
      `the lost-card answer is for card ${a.cardId}, not ${expect.cardId.toLowerCase()}`,
      'the bank answered another request; report it to the bank',
    );
  return a;
}
