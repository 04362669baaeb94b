/**
 * `POST /v1/topups` (docs/bank-api.md §6): the request a terminal sends to have a card's load
 * authorised, and the bank's answer carrying the signed top-up token (version 2, with
 * `settledCounter`: protocol/record/topup-token.ts) and the authority certificate that signed it.
 */
import { toHex } from '../bytes.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { CardpostError, EncodeError } from '../errors.js';
import { decodeCertificate, decodeTopupToken, type Certificate, type TopupToken } from '../record/index.js';
import { fromBase64url, toBase64url } from './terminal-auth.js';
import { AnswerReader, BankDecodeError, intField, isInt, parseJsonBytes, requestObject, schemaError } from './json.js';

export const DEFAULT_VALID_FOR_PAYMENTS = 1000;
/** Amount bounds: 0 is a pure sync (no money moves, the offline totals are reset up to settledCounter). */
export const TOPUP_AMOUNT = { min: 0, max: MAX_AMOUNT } as const;
/** A top-up's Idempotency-Key: sf-string content, printable ASCII without `"` and `\`, 1–255 characters. */
export const TOPUP_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}$/;
const CARD_ID = /^[0-9a-fA-F]{16}$/;
const DOCS_TOPUP = 'see docs/bank-api.md §6';
const FIELDS = ['cardId', 'loadSeq', 'amount', 'currency', 'validForPayments'] as const;

export interface TopupRequest {
  /** 16 hex digits; decoded in lower case. */
  cardId: string;
  /** The card's loadCounter + 1. */
  loadSeq: number;
  amount: number;
  currency: number;
  /** How many more payments the token allows; DEFAULT_VALID_FOR_PAYMENTS when the request leaves it out. */
  validForPayments: number;
}

/** The request body; `validForPayments` is sent only when given. EncodeError for a value the bank would refuse. */
export function encodeTopupRequest(
  r: Omit<TopupRequest, 'validForPayments'> & { validForPayments?: number },
): Uint8Array {
  const bad = (field: string): never => {
    throw new EncodeError('TOPUP_INVALID', `top-up ${field} is out of range`, DOCS_TOPUP);
  };
  if (!CARD_ID.test(r.cardId)) bad('cardId');
  if (!isInt(r.loadSeq, 1, MAX_COUNTER)) bad('loadSeq');
  if (!isInt(r.amount, TOPUP_AMOUNT.min, TOPUP_AMOUNT.max)) bad('amount');
  if (!isInt(r.currency, 1, 999)) bad('currency');
  if (r.validForPayments !== undefined && !isInt(r.validForPayments, 1, MAX_COUNTER)) bad('validForPayments');
  return new TextEncoder().encode(
    JSON.stringify({
      cardId: r.cardId,
      loadSeq: r.loadSeq,
      amount: r.amount,
      currency: r.currency,
      ...(r.validForPayments !== undefined ? { validForPayments: r.validForPayments } : {}),
    }),
  );
}
/** A parsed JSON body as a top-up request, checked in the order the bank answers (BODY_SCHEMA). */
export function decodeTopupRequest(body: unknown): TopupRequest {
  const o = requestObject(body, FIELDS);
  const cardId = o['cardId'];
  if (typeof cardId !== 'string' || !CARD_ID.test(cardId)) throw schemaError('cardId', 'must be 16 hex digits');
  return {
    cardId: cardId.toLowerCase(),
    loadSeq: intField(o, 'loadSeq', 1, MAX_COUNTER),
    amount: intField(o, 'amount', TOPUP_AMOUNT.min, TOPUP_AMOUNT.max),
    currency: intField(o, 'currency', 1, 999),
    validForPayments: intField(o, 'validForPayments', 1, MAX_COUNTER, DEFAULT_VALID_FOR_PAYMENTS),
  };
}

/** decodeTopupRequest of the body bytes (BODY_MISSING, BODY_NOT_JSON first). */
export function decodeTopupRequestBytes(raw: Uint8Array): TopupRequest {
  return decodeTopupRequest(parseJsonBytes(raw));
}

/** The answer's fields; `token` and `authority` are envelopes (base64url on the wire). */
export interface TopupAnswerFields {
  cardId: string;
  loadSeq: number;
  amount: number;
  currency: number;
  validUntilCounter: number;
  issuedAt: number;
  settledCounter: number;
  token: Uint8Array;
  authority: Uint8Array;
}

/** A decoded answer: the token and the authority certificate decoded, their fields agreeing with the answer's. */
export interface TopupAnswer extends Omit<TopupAnswerFields, 'token' | 'authority'> {
  token: TopupToken;
  authority: Certificate;
}

/** The answer's text, in the fixed key order of §6 (stored and replayed byte for byte). */
export function encodeTopupAnswer(a: TopupAnswerFields): string {
  return JSON.stringify({
    cardId: a.cardId,
    loadSeq: a.loadSeq,
    amount: a.amount,
    currency: a.currency,
    validUntilCounter: a.validUntilCounter,
    issuedAt: a.issuedAt,
    settledCounter: a.settledCounter,
    token: toBase64url(a.token),
    authority: toBase64url(a.authority),
  });
}

/**
 * A parsed JSON answer as a TopupAnswer (ANSWER_SCHEMA): every field in range, the token a version 2
 * top-up token whose card, load, amount, currency, validity, issue time and settledCounter are the
 * answer's, the authority a certificate. Signatures are not checked here (the card checks the token).
 */
export function decodeTopupAnswer(v: unknown): TopupAnswer {
  const r = new AnswerReader(v, 'the top-up answer');
  const f = {
    cardId: r.text('cardId', /^[0-9a-f]{16}$/),
    loadSeq: r.int('loadSeq', 1, MAX_COUNTER),
    amount: r.int('amount', TOPUP_AMOUNT.min, TOPUP_AMOUNT.max),
    currency: r.int('currency', 1, 999),
    validUntilCounter: r.int('validUntilCounter', 0, MAX_COUNTER),
    issuedAt: r.int('issuedAt', 0, MAX_AMOUNT),
    settledCounter: r.int('settledCounter', 0, MAX_COUNTER),
  };
  const envelope = (field: string): Uint8Array => {
    const bytes = fromBase64url(r.text(field));
    if (!bytes || bytes.length === 0) throw r.bad(field, 'is not base64url');
    return bytes;
  };
  const decoded = <T>(field: string, decode: (b: Uint8Array) => T): T => {
    try {
      return decode(envelope(field));
    } catch (e) {
      if (e instanceof BankDecodeError || !(e instanceof CardpostError)) throw e;
      throw r.bad(field, `does not decode (${e.code}: ${e.message})`);
    }
  };
  const token = decoded('token', decodeTopupToken);
  const authority = decoded('authority', decodeCertificate);
  const same: [string, unknown, unknown][] = [
    ['cardId', toHex(token.cardId), f.cardId],
    ['loadSeq', token.loadSeq, f.loadSeq],
    ['amount', token.amount, f.amount],
    ['currency', token.currency, f.currency],
    ['validUntilCounter', token.validUntilCounter, f.validUntilCounter],
    ['issuedAt', token.issuedAt, f.issuedAt],
    ['settledCounter', token.settledCounter, f.settledCounter],
  ];
  for (const [name, inToken, inAnswer] of same) {
    if (inToken !== inAnswer) throw r.bad(name, `is ${String(inAnswer)}, the token says ${String(inToken)}`);
  }
  return { ...f, token, authority };
}
