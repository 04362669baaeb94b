import { fromBase64url } from '../../protocol/bank/terminal-auth.js';
import { CardpostError } from '../../protocol/errors.js';
import { toHex } from '../../protocol/bytes.js';
import type { BatchResponse, RecordResult } from '../../protocol/bank/verdicts.js';
import { decodeCertificate, decodeTxnRecord, recordId } from '../../protocol/record/index.js';
import type { ClearingCore, SettleBatchRequest, SettledBatch } from '../../host/clearing/clearing-core.js';

/**
 * A small stand-in for the clearing service's ClearingCore (host/clearing/clearing-core.ts): stored
 * answers by (terminal, batch id) with the body hash checked, records settled once by (card, counter),
 * WRONG_TERMINAL and CERT_MISSING. No signature checks: the end-to-end suite uses the real one.
 */
export class FakeClearingCore implements ClearingCore {
  readonly settledRecords = new Map<string, string>();
  readonly settleCalls: SettleBatchRequest[] = [];
  private readonly answers = new Map<string, { hash: string; answer: string; response: BatchResponse }>();
  private readonly certs = new Set<string>();
  /** The next settle calls fail like a database outage. */
  failNext = 0;
  now = (): number => 1_790_000_000;

  async settle(req: SettleBatchRequest): Promise<SettledBatch> {
    this.settleCalls.push(req);
    if (this.failNext > 0) {
      this.failNext--;
      throw new CardpostError('STORE_UNAVAILABLE', 'the ledger is down (test)');
    }
    const key = `${req.terminalId}|${req.batchId}`;
    const stored = this.answers.get(key);
    if (stored) {
      if (stored.hash !== toHex(req.bodyHash))
        throw new CardpostError('IDEMPOTENCY_KEY_REUSED', 'same batch id, other body', 'use a new batch id');
      return { answer: stored.answer, response: stored.response, replayed: true };
    }
    for (const c of req.certificates) this.certs.add(toHex(decodeCertificate(fromBase64url(c)!).subjectId));
    const results: RecordResult[] = req.records.map((text, index) => {
      let r;
      try {
        r = decodeTxnRecord(fromBase64url(text)!);
      } catch (e) {
        return { index, recordId: null, verdict: 'rejected', reason: 'MALFORMED', detail: (e as Error).message };
      }
      const id = recordId(r);
      if (r.terminalId !== req.terminalId)
        return { index, recordId: id, verdict: 'rejected', reason: 'WRONG_TERMINAL', detail: `names ${r.terminalId}` };
      if (!this.certs.has(toHex(r.cardId)))
        return { index, recordId: id, verdict: 'rejected', reason: 'CERT_MISSING', detail: 'no certificate' };
      const hash = toHex(r.hash);
      if (this.settledRecords.has(id))
        return { index, recordId: id, verdict: 'duplicate', detail: `settled in batch ${this.settledRecords.get(id)}` };
      this.settledRecords.set(id, req.batchId);
      void hash;
      return { index, recordId: id, verdict: 'accepted' };
    });
    const counts = { accepted: 0, duplicate: 0, rejected: 0 };
    for (const r of results) counts[r.verdict]++;
    const response: BatchResponse = {
      batchId: req.batchId,
      terminalId: req.terminalId,
      settledAt: this.now(),
      results,
      counts,
      accepted: { count: counts.accepted, amount: {} },
    };
    const answer = JSON.stringify(response);
    this.answers.set(key, { hash: toHex(req.bodyHash), answer, response });
    return { answer, response, replayed: false };
  }

  async totals(): Promise<{ sales: never[]; reversals: never[] }> {
    return { sales: [], reversals: [] };
  }
}
