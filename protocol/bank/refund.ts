/**
 * `POST /v1/refunds` (docs/bank-api.md §15): a terminal asks the bank to give back (part of) a settled
 * sale to the card that paid it. The answer is a top-up answer (§6) whose token credits the card at
 * its next load, plus what the refund leaves of the sale. The refund id is the terminal's: one refund,
 * one token, whatever is retried.
 */
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { EncodeError } from '../errors.js';
import { AnswerReader, intField, isInt, requestObject, schemaError } from './json.js';
import {
  decodeTopupAnswer,
  encodeTopupAnswer,
  DEFAULT_VALID_FOR_PAYMENTS,
  type TopupAnswer,
  type TopupAnswerFields,
} from './topup.js';
import { RECORD_ID } from './verdicts.js';

/** A refund id: 1–64 characters of letters, digits, `.`, `_`, `-` (e.g. a UUID). */
export const REFUND_ID = /^[A-Za-z0-9._-]{1,64}$/;
const FIELDS = ['refundId', 'recordId', 'amount', 'loadSeq', 'validForPayments'] as const;
const DOCS_REFUND = 'see docs/bank-api.md §15';

export interface RefundRequest {
  refundId: string;
  /** The refunded sale: `<cardId hex>:<counter>`, lower case. */
  recordId: string;
  /** 1 … what is left of the sale. */
  amount: number;
  /** The card's loadCounter + 1: the load that credits the refund. */
  loadSeq: number;
  validForPayments: number;
}

export function encodeRefundRequest(
  r: Omit<RefundRequest, 'validForPayments'> & { validForPayments?: number },
): Uint8Array {
  const bad = (field: string): never => {
    throw new EncodeError('REFUND_INVALID', `refund ${field} is out of range`, DOCS_REFUND);
  };
  if (!REFUND_ID.test(r.refundId)) bad('refundId');
  if (!RECORD_ID.test(r.recordId)) bad('recordId');
  if (!isInt(r.amount, 1, MAX_AMOUNT)) bad('amount');
  if (!isInt(r.loadSeq, 1, MAX_COUNTER)) bad('loadSeq');
  if (r.validForPayments !== undefined && !isInt(r.validForPayments, 1, MAX_COUNTER)) bad('validForPayments');
  return new TextEncoder().encode(
    JSON.stringify({
      refundId: r.refundId,
      recordId: r.recordId,
      amount: r.amount,
      loadSeq: r.loadSeq,
      ...(r.validForPayments !== undefined ? { validForPayments: r.validForPayments } : {}),
    }),
  );
}

/** A parsed JSON body as a refund request (BODY_SCHEMA). */
export function decodeRefundRequest(body: unknown): RefundRequest {
  const o = requestObject(body, FIELDS);
  const refundId = o['refundId'];
  if (typeof refundId !== 'string' || !REFUND_ID.test(refundId))
    throw schemaError('refundId', 'must be 1–64 letters, digits, ".", "_" or "-"');
  const recordId = o['recordId'];
  if (
    typeof recordId !== 'string' ||
    !RECORD_ID.test(recordId.toLowerCase()) ||
    Number(recordId.slice(17)) < 1 ||
    Number(recordId.slice(17)) > MAX_COUNTER
  )
    throw schemaError('recordId', 'must be <16 hex digits>:<counter 1…4294967295>');
  return {
    refundId,
    recordId: recordId.toLowerCase(),
    amount: intField(o, 'amount', 1, MAX_AMOUNT),
    loadSeq: intField(o, 'loadSeq', 1, MAX_COUNTER),
    validForPayments: intField(o, 'validForPayments', 1, MAX_COUNTER, DEFAULT_VALID_FOR_PAYMENTS),
  };
}

/** What a refund answer adds to the top-up answer (§6). */
export interface RefundAnswerExtra {
  refundId: string;
  recordId: string;
  /** What is left of the sale to refund after this refund. */
  refundable: number;
}

export interface RefundAnswer extends TopupAnswer {
  refundId: string;
  recordId: string;
  refundable: number;
}

/** The answer's text: the top-up answer's fields (§6) in their order, then refundId, recordId, refundable. */
export function encodeRefundAnswer(topup: TopupAnswerFields, a: RefundAnswerExtra): string {
  const base = JSON.parse(encodeTopupAnswer(topup)) as Record<string, unknown>;
  return JSON.stringify({ ...base, refundId: a.refundId, recordId: a.recordId, refundable: a.refundable });
}

/** A parsed JSON answer (ANSWER_SCHEMA): a valid top-up answer whose token refunds the record named. */
export function decodeRefundAnswer(v: unknown, expect?: { refundId: string; recordId: string }): RefundAnswer {
  const topup = decodeTopupAnswer(v);
  const r = new AnswerReader(v, 'the refund answer');
  const refundId = r.text('refundId', REFUND_ID);
  const recordId = r.text('recordId', RECORD_ID);
  const refundable = r.int('refundable', 0, MAX_AMOUNT);
  if (recordId.slice(0, 16) !== topup.cardId) throw r.bad('recordId', `is not a record of card ${topup.cardId}`);
  const counter = Number(recordId.slice(17));
  if (topup.token.refundOf !== undefined && topup.token.refundOf !== counter)
    throw r.bad('token', `refunds counter ${topup.token.refundOf}, not ${counter}`);
  if (expect && (expect.refundId !== refundId || expect.recordId !== recordId))
    throw r.bad('refundId', `answers refund ${refundId} of ${recordId}, not ${expect.refundId} of ${expect.recordId}`);
  return { ...topup, refundId, recordId, refundable };
}
