import { toHex } from '../../protocol/bytes.js';
import { decodeTxnRecord, recordId, type SignedTxnRecord } from '../../protocol/record/index.js';
import type { AuditLog } from './audit-log.js';
import type { CardChains } from './card-chains.js';
import { StoreError, type Db } from './database.js';
import { guardWrite } from './store-errors.js';
import {
  b64url,
  u8,
  type CurrencyTotal,
  type QueuedRecord,
  type RecordStatus,
  type StoreOutcome,
  type StoreRecordOptions,
  type UnsettledSummary,
} from './store-types.js';

const RECORD_COLUMNS = `seq, record_id AS recordId, card_id AS cardId, counter, amount, currency, merchant_id AS merchantId,
  terminal_id AS terminalId, record_time AS recordTime, balance_after AS balanceAfter, cvm, origin, sale_id AS saleId, status, batch_id AS batchId, reason, detail,
  stored_at AS storedAt, settled_at AS settledAt, reverses`;

export type ExportedRecord = {
  recordId: string;
  cardId: string;
  status: RecordStatus;
  reason: string | null;
  envelope: Uint8Array;
  certificate: Uint8Array | null;
};

/**
 * The queue of signed records (table `records`), in queue order (seq): stored durably with their card's
 * new chain head in one transaction, read by the API, and moved through their settlement status by
 * batches.ts (pending → sending → settled | duplicate | rejected; `held` records never leave).
 */
export class RecordQueue {
  private readonly s;
  private readonly storeTx;

  constructor(
    db: Db,
    private readonly chains: CardChains,
    private readonly auditLog: AuditLog,
    private readonly clock: () => number,
  ) {
    this.s = {
      // The newest rows by insertion (seq is the rowid): cheap at any queue size, and what a clock set back contradicts.
      newestRecordTime: db.prepare<[], { time: number | null }>(
        'SELECT MAX(record_time) AS time FROM (SELECT record_time FROM records ORDER BY seq DESC LIMIT 100)',
      ),
      recordById: db.prepare<[string], { hash: Buffer; seq: number }>(
        'SELECT hash, seq FROM records WHERE record_id = ?',
      ),
      insertRecord:
        db.prepare(`INSERT INTO records (record_id, card_id, counter, amount, currency, merchant_id, terminal_id, record_time,
        host_nonce, balance_after, cvm, hash, prev_hash, envelope, origin, sale_id, status, reason, detail, stored_at, reverses)
        VALUES (@recordId, @cardId, @counter, @amount, @currency, @merchantId, @terminalId, @time, @hostNonce, @balanceAfter, @cvm, @hash, @prevHash, @envelope, @origin, @saleId,
          @status, @reason, @detail, @now, @reverses)
        ON CONFLICT (record_id) DO NOTHING`),
      unsettledByCurrency: db.prepare<
        [],
        CurrencyTotal
      >(`SELECT currency, COUNT(*) AS count, SUM(CASE WHEN reverses IS NULL THEN amount ELSE -amount END) AS amount FROM records
        WHERE status IN ('pending', 'sending') GROUP BY currency ORDER BY currency`),
      oldestUnsettled: db.prepare<[], { t: number | null }>(
        `SELECT MIN(stored_at) AS t FROM records WHERE status IN ('pending', 'sending')`,
      ),
      statusCounts: db.prepare<[], { status: RecordStatus; count: number; amount: number }>(
        'SELECT status, COUNT(*) AS count, SUM(amount) AS amount FROM records GROUP BY status',
      ),
      recordsPage: db.prepare<
        [string | null, string | null, number, number],
        QueuedRecord
      >(`SELECT ${RECORD_COLUMNS} FROM records
        WHERE (? IS NULL OR status = ?) AND seq > ? ORDER BY seq LIMIT ?`),
      recordRow: db.prepare<[string], QueuedRecord>(`SELECT ${RECORD_COLUMNS} FROM records WHERE record_id = ?`),
      recordOfSale: db.prepare<[string], { envelope: Buffer; status: RecordStatus; detail: string | null }>(
        `SELECT envelope, status, detail FROM records WHERE sale_id = ? ORDER BY status = 'held', seq LIMIT 1`,
      ),
      exportRows: db.prepare<
        [],
        {
          recordId: string;
          cardId: string;
          status: RecordStatus;
          reason: string | null;
          envelope: Buffer;
          certificate: Buffer | null;
        }
      >(
        `SELECT r.record_id AS recordId, r.card_id AS cardId, r.status, r.reason, r.envelope, c.envelope AS certificate
         FROM records r LEFT JOIN card_certificates c ON c.card_id = r.card_id ORDER BY r.seq`,
      ),
      lastRecordOfCard: db.prepare<[string], { counter: number }>(
        'SELECT MAX(counter) AS counter FROM records WHERE card_id = ?',
      ),
      // settlement (batches.ts)
      nextPending: db.prepare<[number], { seq: number; cardId: string; envelope: Buffer }>(
        `SELECT seq, card_id AS cardId, envelope FROM records WHERE status = 'pending' ORDER BY seq LIMIT ?`,
      ),
      markSending: db.prepare(
        `UPDATE records SET status = 'sending', batch_id = ? WHERE seq = ? AND status = 'pending'`,
      ),
      // One batch is in flight at a time, so its records are the ones 'sending' (records_by_status serves it).
      batchRecords: db.prepare<[string], { seq: number; recordId: string; cardId: string }>(
        `SELECT seq, record_id AS recordId, card_id AS cardId FROM records WHERE status = 'sending' AND batch_id = ? ORDER BY seq`,
      ),
      verdict: db.prepare(
        "UPDATE records SET status = ?, reason = ?, detail = ?, settled_at = ? WHERE seq = ? AND status = 'sending'",
      ),
      settledTotals: db.prepare<
        [number, number],
        CurrencyTotal
      >(`SELECT currency, COUNT(*) AS count, SUM(amount) AS amount FROM records
        WHERE status = 'settled' AND settled_at >= ? AND settled_at < ? AND reverses IS NULL GROUP BY currency ORDER BY currency`),
      settledReversalTotals: db.prepare<
        [number, number],
        CurrencyTotal
      >(`SELECT currency, COUNT(*) AS count, SUM(amount) AS amount FROM records
        WHERE status = 'settled' AND settled_at >= ? AND settled_at < ? AND reverses IS NOT NULL GROUP BY currency ORDER BY currency`),
      reversalOf: db.prepare<[string, number], { recordId: string; status: RecordStatus }>(
        'SELECT record_id AS recordId, status FROM records WHERE card_id = ? AND reverses = ?',
      ),
    };
    this.storeTx = db.transaction(this.insertRecordTx.bind(this));
  }

  /**
   * Store a signed record durably, with its card's new chain head, in one transaction. Idempotent:
   * the same record again is a no-op (`already: true`); a different record under the same identity
   * is a fork, refused with RECORD_FORK and written to the audit log as evidence.
   */
  storeRecord(record: SignedTxnRecord, o: StoreRecordOptions): { recordId: string; seq: number; already: boolean } {
    const id = recordId(record);
    const cardId = toHex(record.cardId);
    const out = guardWrite('the signed record', () => this.storeTx.immediate(record, o, id, cardId));
    if ('forkOf' in out) {
      // The evidence is written after the transaction: a throw inside it would roll the audit row back.
      guardWrite('the evidence of a fork', () =>
        this.auditLog.inTransaction('record-fork', id, {
          stored: out.forkOf,
          offered: toHex(record.hash),
          envelope: b64url(record.envelope),
        }),
      );
      throw new StoreError(
        'RECORD_FORK',
        `card ${cardId} signed two different records with counter ${record.counter}`,
        'do not accept this card again; both records are kept for the bank and the issuer',
      );
    }
    return out;
  }

  /** storeRecord's transaction. */
  private insertRecordTx(record: SignedTxnRecord, o: StoreRecordOptions, id: string, cardId: string): StoreOutcome {
    const now = this.clock();
    // Insert first (the common case, one statement); only a record already there is looked at.
    const info = this.s.insertRecord.run({
      recordId: id,
      cardId,
      counter: record.counter,
      amount: record.amount,
      currency: record.currency,
      merchantId: record.merchantId,
      terminalId: record.terminalId,
      time: record.time,
      hostNonce: record.hostNonce,
      balanceAfter: record.balanceAfter,
      cvm: record.cvm,
      hash: record.hash,
      prevHash: record.prevHash,
      envelope: record.envelope,
      origin: o.origin,
      saleId: o.saleId ?? null,
      status: o.hold ? 'held' : 'pending',
      reason: o.hold?.reason ?? null,
      detail: o.hold?.detail ?? null,
      now,
      reverses: record.reverses ?? null,
    });
    if (info.changes === 0) {
      const existing = this.s.recordById.get(id)!;
      if (toHex(u8(existing.hash)) === toHex(record.hash)) return { recordId: id, seq: existing.seq, already: true };
      return { forkOf: toHex(u8(existing.hash)) };
    }
    this.chains.advanceInTransaction(cardId, { counter: record.counter, hash: record.hash }, 'record', now);
    if (o.hold)
      this.auditLog.inTransaction('record-held', id, {
        reason: o.hold.reason,
        detail: o.hold.detail,
        saleId: o.saleId ?? null,
      });
    return { recordId: id, seq: Number(info.lastInsertRowid), already: false };
  }

  /** The highest counter of a card among the records stored here (not heads passed over). */
  lastStoredCounter(cardId: string): number | undefined {
    return this.s.lastRecordOfCard.get(cardId)?.counter ?? undefined;
  }

  /** The latest record time (unix seconds) among the records stored most recently. */
  newestRecordTime(): number | undefined {
    return this.s.newestRecordTime.get()?.time ?? undefined;
  }

  // ------------------------------------------------------------------ what is waiting

  unsettled(): UnsettledSummary {
    const byCurrency = this.s.unsettledByCurrency.all();
    return {
      count: byCurrency.reduce((n, c) => n + c.count, 0),
      byCurrency,
      oldestStoredAt: this.s.oldestUnsettled.get()?.t ?? null,
    };
  }

  statusCounts(): Record<RecordStatus, { count: number; amount: number }> {
    const out: Record<RecordStatus, { count: number; amount: number }> = {
      pending: { count: 0, amount: 0 },
      sending: { count: 0, amount: 0 },
      settled: { count: 0, amount: 0 },
      duplicate: { count: 0, amount: 0 },
      rejected: { count: 0, amount: 0 },
      held: { count: 0, amount: 0 },
    };
    for (const r of this.s.statusCounts.all()) out[r.status] = { count: r.count, amount: r.amount ?? 0 };
    return out;
  }

  records(o: { status?: RecordStatus; afterSeq?: number; limit?: number } = {}): QueuedRecord[] {
    const status = o.status ?? null;
    return this.s.recordsPage.all(status, status, o.afterSeq ?? 0, Math.min(o.limit ?? 100, 1000));
  }

  record(id: string): QueuedRecord | undefined {
    return this.s.recordRow.get(id);
  }

  /** The record stored for a sale, whichever card session stored it: one that answers it first; a held one (with why) only if there is no other. */
  recordOfSale(saleId: string): { record: SignedTxnRecord; held: string | null } | undefined {
    const row = this.s.recordOfSale.get(saleId);
    if (!row) return undefined;
    return {
      record: decodeTxnRecord(u8(row.envelope)),
      held: row.status === 'held' ? (row.detail ?? 'the record does not answer its sale') : null,
    };
  }

  /** Every record with its signature and card certificate, streamed (for `queue export`). */
  *exportRecords(): Generator<ExportedRecord> {
    for (const r of this.s.exportRows.iterate()) {
      yield { ...r, envelope: u8(r.envelope), certificate: r.certificate ? u8(r.certificate) : null };
    }
  }

  // ------------------------------------------------------------------ settlement (used by batches.ts, inside its transactions)

  /** The oldest pending records, at most `limit`. */
  pending(limit: number): { seq: number; cardId: string; envelope: Uint8Array }[] {
    return this.s.nextPending.all(limit).map((r) => ({ seq: r.seq, cardId: r.cardId, envelope: u8(r.envelope) }));
  }

  markSending(batchId: string, seq: number): void {
    this.s.markSending.run(batchId, seq);
  }

  /** The records of the batch in flight, in queue order. */
  sendingIn(batchId: string): { seq: number; recordId: string; cardId: string }[] {
    return this.s.batchRecords.all(batchId);
  }

  /** A record of the batch in flight takes its verdict (`settledAt` null unless it is settled). */
  setStatus(
    seq: number,
    status: RecordStatus,
    reason: string | null,
    detail: string | null,
    settledAt: number | null,
  ): void {
    this.s.verdict.run(status, reason, detail, settledAt, seq);
  }

  /** Accepted sales (not reversals) whose bank settlement time falls in [from, to) (Unix s), per currency. */
  settledTotals(fromS: number, toS: number): CurrencyTotal[] {
    return this.s.settledTotals.all(fromS, toS);
  }

  /** Accepted reversals (voids) whose bank settlement time falls in [from, to) (Unix s), per currency. */
  settledReversalTotals(fromS: number, toS: number): CurrencyTotal[] {
    return this.s.settledReversalTotals.all(fromS, toS);
  }

  /** The stored reversal of the card's sale `counter` (its void), if any. */
  reversalOf(cardId: string, counter: number): { recordId: string; status: RecordStatus } | undefined {
    return this.s.reversalOf.get(cardId, counter);
  }
}
