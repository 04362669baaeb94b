/**
 * `POST /v1/batches`, the answer (docs/bank-api.md §4.2): one verdict per submitted record, in order,
 * with the rejection reasons of §4.3. The bank encodes it (and stores the text for replays, byte for
 * byte); the host decodes it and believes nothing it has not checked.
 */
import { MAX_COUNTER } from '../commands/messages.js';
import { AnswerReader, BankDecodeError } from './json.js';
import { BATCH_ID } from './batch.js';

/** Why a record was rejected; stable codes, documented in docs/bank-api.md §4.3 (checked in that order). */
export const REJECT_REASON = {
  MALFORMED: 'MALFORMED',
  WRONG_TERMINAL: 'WRONG_TERMINAL',
  CERT_MISSING: 'CERT_MISSING',
  CERT_UNKNOWN_ISSUER: 'CERT_UNKNOWN_ISSUER',
  CERT_INVALID: 'CERT_INVALID',
  CERT_EXPIRED: 'CERT_EXPIRED',
  CURRENCY_UNSUPPORTED: 'CURRENCY_UNSUPPORTED',
  OVER_LIMIT: 'OVER_LIMIT',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  DOUBLE_SPEND: 'DOUBLE_SPEND',
  REVOKED: 'REVOKED',
  RECORD_EXPIRED: 'RECORD_EXPIRED',
  CHAIN_BROKEN: 'CHAIN_BROKEN',
  REVERSAL_ORPHAN: 'REVERSAL_ORPHAN',
  REVERSAL_INVALID: 'REVERSAL_INVALID',
} as const;
export type RejectReason = (typeof REJECT_REASON)[keyof typeof REJECT_REASON];
export const REJECT_REASONS: readonly RejectReason[] = Object.values(REJECT_REASON);

export const VERDICTS = ['accepted', 'duplicate', 'rejected'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** `<cardId: 16 lowercase hex>:<counter>`. */
export const RECORD_ID = /^[0-9a-f]{16}:(0|[1-9][0-9]{0,9})$/;

export interface RecordResult {
  index: number;
  /** `<cardId hex>:<counter>`; null when the record does not decode. */
  recordId: string | null;
  verdict: Verdict;
  /** Present exactly when the verdict is `rejected`. */
  reason?: RejectReason;
  detail?: string;
}

/** One record's verdict, as the host applies it (RecordResult without its position). */
export type RecordVerdict = Omit<RecordResult, 'index'>;

export interface VerdictCounts {
  accepted: number;
  duplicate: number;
  rejected: number;
}

export interface BatchResponse {
  batchId: string;
  terminalId: string;
  settledAt: number;
  results: RecordResult[];
  counts: VerdictCounts;
  /**
   * Accepted this time: total count (sales and reversals), and the amounts of the accepted sales per ISO 4217
   * numeric currency code (keys are the codes as strings).
   */
  accepted: { count: number; amount: Record<string, number | string> };
  /** The accepted reversals (voids) among them, and what they give back per currency; absent when none. */
  reversed?: { count: number; amount: Record<string, number | string> };
}

/**
 * The answer's text. The key order is fixed (it is what the bank stores and replays byte for byte):
 * batchId, terminalId, settledAt, results (index, recordId, verdict, reason, detail), counts, accepted.
 */
export function encodeBatchResponse(r: BatchResponse): string {
  return JSON.stringify({
    batchId: r.batchId,
    terminalId: r.terminalId,
    settledAt: r.settledAt,
    results: r.results.map((x) => ({
      index: x.index,
      recordId: x.recordId,
      verdict: x.verdict,
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      ...(x.detail !== undefined ? { detail: x.detail } : {}),
    })),
    counts: { accepted: r.counts.accepted, duplicate: r.counts.duplicate, rejected: r.counts.rejected },
    accepted: { count: r.accepted.count, amount: r.accepted.amount },
    ...(r.reversed ? { reversed: { count: r.reversed.count, amount: r.reversed.amount } } : {}),
  });
}

const isReason = (v: unknown): v is RejectReason =>
  typeof v === 'string' && (REJECT_REASONS as readonly string[]).includes(v);
const isVerdict = (v: unknown): v is Verdict => typeof v === 'string' && (VERDICTS as readonly string[]).includes(v);
const CURRENCY_KEY = /^[1-9][0-9]{0,2}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function decodeResult(v: unknown, i: number, what: string): RecordResult {
  const r = new AnswerReader(v, what, `results[${i}]`);
  if (r.o['index'] !== i) throw r.bad(`results[${i}].index`, `is not ${i}`);
  const recordId = r.o['recordId'];
  if (!(
    recordId === null ||
    (typeof recordId === 'string' && RECORD_ID.test(recordId) && Number(recordId.slice(17)) <= MAX_COUNTER)
  )) {
    throw r.bad(`results[${i}].recordId`, 'is neither null nor <16 hex>:<counter>');
  }
  const verdict = r.o['verdict'];
  if (!isVerdict(verdict)) throw r.bad(`results[${i}].verdict`, `is not one of ${VERDICTS.join(', ')}`);
  if (recordId === null && verdict !== 'rejected') throw r.bad(`results[${i}]`, `is ${verdict} without a recordId`);
  const reason = r.o['reason'];
  if (verdict === 'rejected' && !isReason(reason))
    throw r.bad(`results[${i}]`, 'is rejected without a known reason (docs/bank-api.md §4.3)');
  if (verdict !== 'rejected' && reason !== undefined)
    throw r.bad(`results[${i}].reason`, `is given for a ${verdict} record`);
  const detail = r.optionalText('detail');
  return {
    index: i,
    recordId,
    verdict,
    ...(isReason(reason) ? { reason } : {}),
    ...(detail !== undefined ? { detail } : {}),
  };
}

/**
 * A parsed JSON answer as a BatchResponse, checked field by field (ANSWER_SCHEMA) and, when `expect`
 * is given, against the request (ANSWER_MISMATCH: another batch id, another number of results).
 * The counts must be those of the results. Fields this version does not know are ignored.
 */
export function decodeBatchResponse(v: unknown, expect: { batchId?: string; records?: number } = {}): BatchResponse {
  const what = `the answer to batch ${expect.batchId ?? '?'}`;
  const r = new AnswerReader(v, what);
  const batchId = r.text('batchId', BATCH_ID).toLowerCase();
  if (expect.batchId !== undefined && batchId !== expect.batchId.toLowerCase()) {
    throw new BankDecodeError(
      'ANSWER_MISMATCH',
      `${what} is for batch ${batchId}`,
      'the batch stays in flight and will be re-sent; report this to the bank',
    );
  }
  const terminalId = r.text('terminalId');
  const settledAt = r.int('settledAt', 0, Number.MAX_SAFE_INTEGER);
  const list = r.array('results');
  if (expect.records !== undefined && list.length !== expect.records) {
    throw new BankDecodeError(
      'ANSWER_MISMATCH',
      `${what}: ${list.length} results for ${expect.records} records`,
      'the batch stays in flight and will be re-sent; report this to the bank',
    );
  }
  const results = list.map((x, i) => decodeResult(x, i, what));
  const c = r.object('counts');
  const counts: VerdictCounts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const x of results) counts[x.verdict]++;
  for (const k of VERDICTS) {
    if (c.int(k, 0, Number.MAX_SAFE_INTEGER) !== counts[k])
      throw r.bad(`counts.${k}`, `is not the ${counts[k]} of the results`);
  }
  const a = r.object('accepted');
  const count = a.int('count', 0, Number.MAX_SAFE_INTEGER);
  if (count !== counts.accepted) throw r.bad('accepted.count', `is not the ${counts.accepted} accepted results`);
  const amounts = a.object('amount').o;
  const amount: Record<string, number | string> = {};
  for (const [k, x] of Object.entries(amounts)) {
    if (!CURRENCY_KEY.test(k))
      throw r.bad(`accepted.amount[${JSON.stringify(k).slice(0, 20)}]`, 'is not an ISO 4217 numeric code');
    const ok =
      (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) ||
      (typeof x === 'string' && DECIMAL.test(x) && x.length <= 40 && BigInt(x) > BigInt(Number.MAX_SAFE_INTEGER));
    if (!ok) throw r.bad(`accepted.amount.${k}`, 'is not a non-negative integer (a decimal string above 2^53−1)');
    amount[k] = typeof x === 'number' ? x + 0 : (x as string);
  }
  if (count === 0 && Object.keys(amount).length > 0)
    throw r.bad('accepted.amount', 'has amounts with nothing accepted');
  let reversed: BatchResponse['reversed'];
  if (r.o['reversed'] !== undefined) {
    const v = r.object('reversed');
    const n = v.int('count', 1, count);
    const sums: Record<string, number | string> = {};
    for (const [k, x] of Object.entries(v.object('amount').o)) {
      if (
        !CURRENCY_KEY.test(k) ||
        (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) &&
          !(typeof x === 'string' && DECIMAL.test(x) && x.length <= 40))
      )
        throw r.bad('reversed.amount', 'is not a map of ISO 4217 codes to non-negative integers');
      sums[k] = typeof x === 'number' ? x + 0 : (x as string);
    }
    reversed = { count: n, amount: sums };
  }
  return {
    batchId,
    terminalId,
    settledAt,
    results,
    counts,
    accepted: { count, amount },
    ...(reversed ? { reversed } : {}),
  };
}

/** The verdicts of a decoded answer, in batch order, as the host applies them. */
export function verdictsOf(r: BatchResponse): RecordVerdict[] {
  return r.results.map((x) => ({
    verdict: x.verdict,
    recordId: x.recordId,
    ...(x.reason !== undefined ? { reason: x.reason } : {}),
    ...(x.detail !== undefined ? { detail: x.detail } : {}),
  }));
}
