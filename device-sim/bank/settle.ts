/**
 * Per-record settlement verdicts (docs/bank-api.md §4; the messages and reasons: protocol/bank/verdicts.ts). Two phases:
 *  1. `precheck` (protocol/bank/verify-records.ts, shared with the clearing service) — pure: decode, terminal,
 *     certificate chain, limits, signature, so the costly crypto runs before the write lock is taken.
 *  2. `settle` — inside the batch's SQLite transaction, in batch order: duplicate / double spend,
 *     revocation, time window, hash-chain continuity, then the ledger insert.
 */
import { bytesEqual } from '../../protocol/bytes.js';
import { reversalProblem } from '../../protocol/bank/reversal.js';
import { recordId, type SignedTxnRecord, type TrustStore } from '../../protocol/record/index.js';
import {
  REJECT_REASON,
  type BatchResponse,
  type RecordResult,
  type RejectReason,
} from '../../protocol/bank/verdicts.js';
import { jsonAmount, type Ledger } from './ledger.js';
import { settlesDespiteRevocation } from './lost-cards.js';
import { newestCertificates, type Prechecked } from '../../protocol/bank/verify-records.js';

export { REJECT_REASON } from '../../protocol/bank/verdicts.js';
export type { RejectReason, Verdict, RecordResult, BatchResponse } from '../../protocol/bank/verdicts.js';

/** Future tolerance of a record's time, as for request dates. */
export const RECORD_FUTURE_SKEW_S = 300;

export { CertificateCache, precheck } from '../../protocol/bank/verify-records.js';

const iso = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

export interface SettleContext {
  trust: TrustStore;
  ledger: Ledger;
  terminalId: string;
  batchId: string;
  now: number;
  windowSeconds: number;
}

/**
 * Phase 2, inside the transaction. Returns the response and the card ids newly revoked by this
 * batch (the caller re-signs the revocation list in the same transaction).
 */
export function settle(ctx: SettleContext, pre: Prechecked[]): { response: BatchResponse; newlyRevoked: string[] } {
  const { ledger, now } = ctx;
  const newlyRevoked: string[] = [];
  const results: RecordResult[] = [];
  const amounts = new Map<number, bigint>();
  const reversed = new Map<number, bigint>();
  let reversedCount = 0;
  // Sales first, then reversals: a void settles with its sale in one batch, whatever their order in it.
  const ordered = [
    ...pre.filter((p) => 'final' in p || p.record.reverses === undefined),
    ...pre.filter((p) => !('final' in p) && p.record.reverses !== undefined),
  ];

  // each card's newest certificate of the batch is filed, whatever the verdicts (as the clearing ledger)
  const certificates = newestCertificates(
    pre.flatMap((p) =>
      'final' in p
        ? []
        : [
            {
              cardId: p.cardId,
              certificate: p.certFromBatch ? p.certificate.envelope : undefined,
              notAfter: p.certificate.notAfter,
            },
          ],
    ),
  );
  for (const [cardId, c] of certificates) ledger.putCardCertificate(cardId, c.certificate, c.notAfter, now);

  for (const p of ordered) {
    if ('final' in p) {
      results.push(p.final);
      continue;
    }
    const { record, id, cardId, index } = p;
    const r = (reason: RejectReason, detail: string) => {
      results.push({ index, recordId: id, verdict: 'rejected', reason, detail });
    };

    const around = ledger.neighbourhood(cardId, record.counter);
    const existing = around.get(record.counter);
    if (existing) {
      if (bytesEqual(existing.hash, record.hash)) {
        results.push({
          index,
          recordId: id,
          verdict: 'duplicate',
          detail: `settled ${iso(existing.settledAt)} in batch ${existing.batchId}`,
        });
      } else {
        const detail = `card ${cardId} signed two different records with counter ${record.counter}; the card is revoked`;
        ledger.insertEvidence({
          kind: 'double-spend',
          cardId,
          counter: record.counter,
          settledEnvelope: ledger.getSettled(cardId, record.counter)!.envelope,
          conflictingEnvelope: record.envelope,
          terminalId: ctx.terminalId,
          batchId: ctx.batchId,
          detectedAt: now,
          detail,
        });
        if (ledger.revoke(cardId, `double spend at counter ${record.counter}`, now)) newlyRevoked.push(cardId);
        r(REJECT_REASON.DOUBLE_SPEND, detail);
      }
      continue;
    }
    // a card reported lost still settles what it signed before the report (lost-cards.ts)
    if (ledger.isRevoked(cardId) && !settlesDespiteRevocation(ledger, cardId, record.time)) {
      r(REJECT_REASON.REVOKED, `card ${cardId} is on the revocation list`);
      continue;
    }
    if (record.time < now - ctx.windowSeconds) {
      r(
        REJECT_REASON.RECORD_EXPIRED,
        `record time ${iso(record.time)} is older than the ${Math.round(ctx.windowSeconds / 86400)}-day settlement window`,
      );
      continue;
    }
    if (record.time > now + RECORD_FUTURE_SKEW_S) {
      r(
        REJECT_REASON.RECORD_EXPIRED,
        `record time ${iso(record.time)} is more than ${RECORD_FUTURE_SKEW_S} s in the future`,
      );
      continue;
    }
    const prev = record.counter > 1 ? around.get(record.counter - 1) : undefined;
    const next = around.get(record.counter + 1);
    let broken: { neighbour: Uint8Array; detail: string } | undefined;
    if (prev && !bytesEqual(prev.hash, record.prevHash)) {
      broken = {
        neighbour: ledger.getSettled(cardId, record.counter - 1)!.envelope,
        detail: `prevHash does not match the settled record ${cardId}:${record.counter - 1}`,
      };
    } else if (next && !bytesEqual(next.prevHash, record.hash)) {
      broken = {
        neighbour: ledger.getSettled(cardId, record.counter + 1)!.envelope,
        detail: `the settled record ${cardId}:${record.counter + 1} does not link to this record`,
      };
    }
    if (!broken && record.reverses !== undefined) {
      // its sale is the card's record right before it, whose hash the chain check has already matched
      const why = reversalProblem(
        cardId,
        { ...record, reverses: record.reverses },
        ledger.getSettled(cardId, record.reverses),
        ctx.terminalId,
      );
      if (why) {
        r(why.reason, why.detail);
        continue;
      }
    }
    if (broken) {
      ledger.insertEvidence({
        kind: 'chain-broken',
        cardId,
        counter: record.counter,
        settledEnvelope: broken.neighbour,
        conflictingEnvelope: record.envelope,
        terminalId: ctx.terminalId,
        batchId: ctx.batchId,
        detectedAt: now,
        detail: broken.detail,
      });
      r(REJECT_REASON.CHAIN_BROKEN, broken.detail);
      continue;
    }

    ledger.insertSettled({
      cardId,
      counter: record.counter,
      envelope: record.envelope,
      hash: record.hash,
      prevHash: record.prevHash,
      amount: record.amount,
      currency: record.currency,
      merchantId: record.merchantId,
      terminalId: ctx.terminalId,
      recordTime: record.time,
      batchId: ctx.batchId,
      settledAt: now,
      ...(record.reverses !== undefined ? { reverses: record.reverses } : {}),
    });
    if (record.reverses === undefined) {
      amounts.set(record.currency, (amounts.get(record.currency) ?? 0n) + BigInt(record.amount));
      results.push({ index, recordId: id, verdict: 'accepted' });
    } else {
      reversedCount++;
      reversed.set(record.currency, (reversed.get(record.currency) ?? 0n) + BigInt(record.amount));
      // Refunds the bank authorised for the sale can never be loaded now (the card refuses them): cancelled.
      const cancelled = ledger.refunds.cancelForVoid(cardId, record.reverses, now);
      results.push({
        index,
        recordId: id,
        verdict: 'accepted',
        detail:
          `reversal of ${cardId}:${record.reverses}: the sale is voided` +
          (cancelled.length ? `; refund(s) ${cancelled.map((x) => x.refundId).join(', ')} cancelled` : ''),
      });
    }
  }
  results.sort((a, b) => a.index - b.index);

  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const x of results) counts[x.verdict]++;
  const amount: Record<string, number | string> = {};
  for (const [c, a] of [...amounts].sort((x, y) => x[0] - y[0])) amount[String(c)] = jsonAmount(a);
  const reversedAmount: Record<string, number | string> = {};
  for (const [c, a] of [...reversed].sort((x, y) => x[0] - y[0])) reversedAmount[String(c)] = jsonAmount(a);
  ledger.insertBatch(ctx.terminalId, ctx.batchId, now, results.length, counts.accepted);
  return {
    response: {
      batchId: ctx.batchId,
      terminalId: ctx.terminalId,
      settledAt: now,
      results,
      counts,
      accepted: { count: counts.accepted, amount },
      ...(reversedCount > 0 ? { reversed: { count: reversedCount, amount: reversedAmount } } : {}),
    },
    newlyRevoked,
  };
}
