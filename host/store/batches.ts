import { MAX_RECORDS_PER_BATCH, encodeBatchRequest } from '../../protocol/bank/batch.js';
import type { AuditLog } from './audit-log.js';
import type { CardChains } from './card-chains.js';
import { StoreError, type Db } from './database.js';
import type { RecordQueue } from './record-queue.js';
import { u8, type BatchRow, type RecordStatus, type RecordVerdict } from './store-types.js';

type Counts = { accepted: number; duplicate: number; rejected: number };

/**
 * Settlement batches (table `batches`): a batch's id and request body (protocol/bank/batch.ts) are
 * written before its first send and kept byte for byte, so a batch whose answer was lost is re-sent
 * unchanged under the same id and the bank replays its stored answer. One batch is in flight at a
 * time; its answer's verdicts are applied to its records in one transaction.
 */
export class Batches {
  private readonly s;
  private readonly nextTx;
  private readonly applyTx;

  constructor(
    db: Db,
    private readonly queue: RecordQueue,
    private readonly chains: CardChains,
    private readonly auditLog: AuditLog,
    private readonly clock: () => number,
  ) {
    this.s = {
      inFlight: db.prepare<[], { batchId: string; body: Buffer; records: number; attempts: number; createdAt: number }>(
        `SELECT batch_id AS batchId, body, records, attempts, created_at AS createdAt FROM batches WHERE state = 'sending' ORDER BY created_at, batch_id LIMIT 1`,
      ),
      insertBatch: db.prepare(
        `INSERT INTO batches (batch_id, state, body, records, created_at) VALUES (?, 'sending', ?, ?, ?)`,
      ),
      attempt: db.prepare('UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE batch_id = ?'),
      answerBatch: db.prepare(
        `UPDATE batches SET state = 'answered', answered_at = ?, accepted = ?, duplicate = ?, rejected = ?, last_error = NULL WHERE batch_id = ? AND state = 'sending'`,
      ),
    };
    this.nextTx = db.transaction(this.nextBatchTx.bind(this));
    this.applyTx = db.transaction(this.applyVerdictsTx.bind(this));
  }

  /** The batch sent but not answered, if any: it must be re-sent as is before anything else. */
  inFlightBatch(): BatchRow | undefined {
    const row = this.s.inFlight.get();
    return row ? { ...row, body: u8(row.body) } : undefined;
  }

  /**
   * The batch to send next: the one in flight, or a new one of the oldest pending records (at most
   * `limit`, and never more than a batch may hold), with the certificates of their cards the bank has
   * not yet acknowledged. The body is fixed here and kept, so every retry sends the same bytes under the same id.
   */
  nextBatch(newBatchId: () => string, limit: number): BatchRow | undefined {
    return this.nextTx.immediate(newBatchId, limit);
  }

  private nextBatchTx(newBatchId: () => string, limit: number): BatchRow | undefined {
    const inFlight = this.inFlightBatch();
    if (inFlight) return inFlight;
    const rows = this.queue.pending(Math.min(limit, MAX_RECORDS_PER_BATCH));
    if (rows.length === 0) return undefined;
    const batchId = newBatchId();
    const certificates: Uint8Array[] = [];
    for (const card of new Set(rows.map((r) => r.cardId))) {
      const c = this.chains.certificateToSend(card);
      if (c) certificates.push(c);
    }
    const body = encodeBatchRequest({ batchId, records: rows.map((r) => r.envelope), certificates });
    const now = this.clock();
    this.s.insertBatch.run(batchId, body, rows.length, now);
    for (const r of rows) this.queue.markSending(batchId, r.seq);
    return { batchId, body, records: rows.length, attempts: 0, createdAt: now };
  }

  noteAttempt(batchId: string, error: string | null): void {
    this.s.attempt.run(error, batchId);
  }

  /**
   * Apply the bank's per-record verdicts of an answered batch, all in one transaction: accepted →
   * settled, duplicate → duplicate (settled before), rejected → rejected with its reason. Refuses an
   * answer that does not match the batch (wrong length, another record id): nothing is applied and
   * the batch stays in flight.
   */
  applyVerdicts(batchId: string, verdicts: readonly RecordVerdict[], settledAt: number): Counts {
    return this.applyTx.immediate(batchId, verdicts, settledAt);
  }

  private applyVerdictsTx(batchId: string, verdicts: readonly RecordVerdict[], settledAt: number): Counts {
    const rows = this.queue.sendingIn(batchId);
    if (rows.length !== verdicts.length) {
      throw new StoreError(
        'BATCH_ANSWER_MISMATCH',
        `the bank answered ${verdicts.length} verdicts for batch ${batchId} of ${rows.length} records`,
        'the bank broke its API; the batch will be re-sent, report it to the bank',
      );
    }
    const counts: Counts = { accepted: 0, duplicate: 0, rejected: 0 };
    rows.forEach((row, i) => {
      const v = verdicts[i]!;
      if (v.recordId !== null && v.recordId !== row.recordId) {
        throw new StoreError(
          'BATCH_ANSWER_MISMATCH',
          `verdict ${i} of batch ${batchId} is for ${v.recordId}, not ${row.recordId}`,
          'the bank broke its API; the batch will be re-sent, report it to the bank',
        );
      }
      counts[v.verdict]++;
      const status: RecordStatus = v.verdict === 'accepted' ? 'settled' : v.verdict;
      this.queue.setStatus(
        row.seq,
        status,
        v.reason ?? null,
        v.detail ?? null,
        v.verdict === 'rejected' ? null : settledAt,
      );
      if (v.verdict !== 'rejected') this.chains.acknowledgeCertificate(row.cardId);
      if (v.verdict === 'rejected')
        this.auditLog.inTransaction('record-rejected', row.recordId, {
          reason: v.reason ?? null,
          detail: v.detail ?? null,
          batchId,
        });
    });
    this.s.answerBatch.run(this.clock(), counts.accepted, counts.duplicate, counts.rejected, batchId);
    this.auditLog.inTransaction('batch-answered', batchId, counts);
    return counts;
  }
}
