import { createHash } from 'node:crypto';
import { toBase64url } from '../../../protocol/bank/terminal-auth.js';
import { CardpostError } from '../../../protocol/errors.js';
import { LINK_CODES, responseCodeOf, type VerdictText } from '../../../protocol/iso8583/index.js';
import { decodeTxnRecord } from '../../../protocol/record/index.js';
import type { ClearingCore } from '../clearing-core.js';
import { AcquirerError } from './acquirer-error.js';
import type { CountedRecord } from './batch-totals.js';

/**
 * An advice (0220/0221) or upload (0320) settled through the clearing core as a batch of one.
 *
 * Its batch id is derived, never drawn: SHA-256 over (cardpost terminal, ISO batch number, STAN,
 * SHA-256 of the record), first 16 bytes in hex. The same advice sent again — a 0221 after a lost
 * answer, a 0220 re-sent after the terminal restarted, the 0320 upload of the same record — gets
 * the same id, so the core answers from its store and nothing settles twice. The record's hash is
 * in the key because ISO batch numbers wrap (and are derived on the terminal): two different
 * records under one (batch, STAN) are two settlements, each record settled at most once by the
 * ledger's own (card, counter) identity. The body hash covers the record and the certificate: the
 * same key with another certificate is IDEMPOTENCY_KEY_REUSED, answered 94.
 */
export interface AdviceOutcome {
  /** Field 39. */
  responseCode: string;
  /** Field 63 (absent when the clearing core gave no verdict). */
  verdict?: VerdictText;
  /** What the batch totals count for this STAN: null for a rejection; undefined when nothing was decided. */
  counted?: CountedRecord | null;
  /** Why nothing was decided (94, 96), for the log. */
  problem?: CardpostError;
}

export function adviceBatchId(terminal: string, isoBatch: number, stan: number, record: Uint8Array): string {
  const recordHash = createHash('sha256').update(record).digest('hex');
  return createHash('sha256')
    .update(`cardpost iso8583 advice\u0000${terminal}\u0000${isoBatch}\u0000${stan}\u0000${recordHash}`)
    .digest('hex')
    .slice(0, 32);
}

function bodyHash(record: Uint8Array, certificate: Uint8Array | undefined): Uint8Array {
  const h = createHash('sha256').update('record\u0000').update(record);
  if (certificate) h.update('\u0000certificate\u0000').update(certificate);
  return new Uint8Array(h.digest());
}

export async function settleAdvice(
  core: ClearingCore,
  a: { terminal: string; isoBatch: number; stan: number; record: Uint8Array; certificate?: Uint8Array },
): Promise<AdviceOutcome> {
  let settled;
  try {
    settled = await core.settle({
      terminalId: a.terminal,
      batchId: adviceBatchId(a.terminal, a.isoBatch, a.stan, a.record),
      bodyHash: bodyHash(a.record, a.certificate),
      records: [toBase64url(a.record)],
      certificates: a.certificate ? [toBase64url(a.certificate)] : [],
    });
  } catch (e) {
    if (e instanceof CardpostError && e.code === 'IDEMPOTENCY_KEY_REUSED')
      return { responseCode: LINK_CODES.DUPLICATE_TRANSMISSION, problem: e };
    const why = e instanceof CardpostError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    return {
      responseCode: LINK_CODES.SYSTEM_MALFUNCTION,
      problem: new AcquirerError(
        'ACQUIRER_CLEARING_FAILED',
        `the clearing service failed (${why})`,
        LINK_CODES.SYSTEM_MALFUNCTION,
        { cause: e },
      ),
    };
  }
  const r = settled.response.results[0];
  if (!r || settled.response.results.length !== 1)
    return {
      responseCode: LINK_CODES.SYSTEM_MALFUNCTION,
      problem: new AcquirerError(
        'ACQUIRER_CLEARING_FAILED',
        `the clearing service answered ${settled.response.results.length} verdicts for one record`,
        LINK_CODES.SYSTEM_MALFUNCTION,
      ),
    };
  const verdict: VerdictText = {
    settledAt: settled.response.settledAt,
    replayed: settled.replayed,
    verdict: r.verdict,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.detail ? { detail: r.detail } : {}),
  };
  return { responseCode: responseCodeOf(r), verdict, counted: r.verdict === 'rejected' ? null : countOf(a.record) };
}

/** A sale is a debit, a void (a reversal record) a credit, for the amount the card signed. */
function countOf(record: Uint8Array): CountedRecord | null {
  try {
    const r = decodeTxnRecord(record);
    return { kind: r.reverses !== undefined ? 'credit' : 'debit', amount: r.amount };
  } catch {
    return null; // an approved record always decodes; if not, it is not counted and the totals say so
  }
}
