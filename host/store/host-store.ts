import type { SignedTxnRecord } from '../../protocol/record/index.js';
import { AuditLog } from './audit-log.js';
import { Batches } from './batches.js';
import { CardChains } from './card-chains.js';
import { openBookkeepingConnection, openDatabase, type Db } from './database.js';
import { RecordQueue, type ExportedRecord } from './record-queue.js';
import { Sales, type NewSale, type SaleUpdate } from './sales.js';
import { Topups } from './topups.js';
import { Voids } from './voids.js';
import { Refunds } from './refunds.js';
import { DayCloses } from './day-closes.js';
import type {
  BatchRow,
  ChainHeadRow,
  CurrencyTotal,
  HeadSource,
  QueuedRecord,
  RecordStatus,
  RecordVerdict,
  SaleRow,
  StoreRecordOptions,
  UnsettledSummary,
} from './store-types.js';

export { StoreError } from './database.js';
export type {
  BatchRow,
  BatchState,
  ChainHeadRow,
  CurrencyTotal,
  HeadSource,
  QueuedRecord,
  RecordOrigin,
  RecordStatus,
  RecordVerdict,
  SaleRow,
  StoreRecordOptions,
  UnsettledSummary,
} from './store-types.js';
export { BATCH_STATES, HEAD_SOURCES, RECORD_ORIGINS, RECORD_STATUSES, SALE_STATES } from './store-types.js';

/**
 * The host's durable state in one SQLite file, one module per concern over the same two connections
 * (database.ts: the main one, synchronous=FULL, and the bookkeeping one):
 *
 * | module | tables | |
 * |---|---|---|
 * | `chains` (card-chains.ts) | card_heads, card_certificates | each card's chain head; certificates to send |
 * | `queue` (record-queue.ts) | records | the signed records and their settlement status |
 * | `batches` (batches.ts) | batches (+ records' status) | the batch body bytes; the bank's verdicts applied |
 * | `sales` (sales.ts) | sales | a sale's state, its signing mark |
 * | `topups` (topups.ts) | topups | a top-up or sync: its bank token, stored before LOAD |
 * | `voids` (voids.ts) | voids | a sale's void: its nonce before VOID_TXN, its reversal record after |
 * | `refunds` (refunds.ts) | refunds (+ its topups row) | a refund of a settled sale, queued until its card and the bank |
 * | `closes` (day-closes.ts) | day_closes, close_items | the stored Z reports and what each counted |
 * | `auditLog` (audit-log.ts) | audit | what happened |
 *
 * This class is their facade: the methods callers have always used, each handed to its module.
 * Every method that changes state is one transaction; storeRecord returns only after the commit is
 * on disk (database.ts). The writes a sale makes throw StoreError STORE_UNAVAILABLE (never a raw
 * SqliteError) when the file is locked or failing (store-errors.ts, retry-store.ts); the settlement
 * writes still throw SQLite's own error, which settlement-worker.ts classifies itself.
 */
export class HostStore {
  /** Where sale states and free-standing audit lines go (database.ts: no fsync of their own). */
  private readonly book: Db;

  readonly chains: CardChains;
  readonly queue: RecordQueue;
  readonly batches: Batches;
  readonly sales: Sales;
  readonly topups: Topups;
  readonly voids: Voids;
  readonly refunds: Refunds;
  readonly closes: DayCloses;
  readonly auditLog: AuditLog;

  constructor(
    readonly db: Db,
    clock: () => number = Date.now,
    bookkeeping?: Db,
  ) {
    const book = bookkeeping ?? db;
    this.book = book;
    this.auditLog = new AuditLog(db, book, clock);
    this.chains = new CardChains(db, clock);
    this.queue = new RecordQueue(db, this.chains, this.auditLog, clock);
    this.batches = new Batches(db, this.queue, this.chains, this.auditLog, clock);
    this.sales = new Sales(db, book, clock);
    this.topups = new Topups(db, clock);
    this.voids = new Voids(db, clock);
    this.refunds = new Refunds(db, clock);
    this.closes = new DayCloses(db);
  }

  static open(path: string, clock?: () => number): HostStore {
    const db = openDatabase(path);
    return new HostStore(db, clock, path === ':memory:' ? db : openBookkeepingConnection(path));
  }

  close(): void {
    if (this.book !== this.db && this.book.open) this.book.close();
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------------ cards and their chains (card-chains.ts)

  cardHead(cardId: string): ChainHeadRow | undefined {
    return this.chains.cardHead(cardId);
  }

  /** The first sight of a card: its chain head (GET_INFO) and certificate, before it is asked to sign. No-op for a known card. */
  observeCard(cardId: string, counter: number, lastHash: Uint8Array, certificate: Uint8Array): void {
    this.chains.observeCard(cardId, counter, lastHash, certificate);
  }

  /** Move a card's head over a verified record that is not ours to settle (another terminal's), seen in its journal. */
  passOver(record: SignedTxnRecord): void {
    this.chains.passOver(record);
  }

  /** Move a card's head forward, never backwards (`observed`: unsigned, never grounds for refusing the card). */
  advanceHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: HeadSource = 'observed'): void {
    this.chains.advanceHead(cardId, head, source);
  }

  /** Replace a head that rests on an unsigned observation (a record-based head is never moved back). */
  replaceObservedHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: HeadSource): void {
    this.chains.replaceObservedHead(cardId, head, source);
  }

  /** The newest record of a card stored here (signature verified when it was stored). */
  lastStoredHead(cardId: string): { counter: number; hash: Uint8Array } | undefined {
    return this.chains.lastStoredHead(cardId);
  }

  // ------------------------------------------------------------------ the record queue (record-queue.ts)

  /** The latest record time (unix seconds) among the records stored most recently. */
  newestRecordTime(): number | undefined {
    return this.queue.newestRecordTime();
  }

  /** Store a signed record durably with its card's new head; idempotent; a fork is RECORD_FORK (record-queue.ts). */
  storeRecord(record: SignedTxnRecord, o: StoreRecordOptions): { recordId: string; seq: number; already: boolean } {
    return this.queue.storeRecord(record, o);
  }

  /** The highest counter of a card among the records stored here (not heads passed over). */
  lastStoredCounter(cardId: string): number | undefined {
    return this.queue.lastStoredCounter(cardId);
  }

  unsettled(): UnsettledSummary {
    return this.queue.unsettled();
  }

  statusCounts(): Record<RecordStatus, { count: number; amount: number }> {
    return this.queue.statusCounts();
  }

  records(o: { status?: RecordStatus; afterSeq?: number; limit?: number } = {}): QueuedRecord[] {
    return this.queue.records(o);
  }

  record(id: string): QueuedRecord | undefined {
    return this.queue.record(id);
  }

  /** The record stored for a sale: one that answers it first; a held one (with why) only if there is no other. */
  recordOfSale(saleId: string): { record: SignedTxnRecord; held: string | null } | undefined {
    return this.queue.recordOfSale(saleId);
  }

  /** Every record with its signature and card certificate, streamed (for `queue export`). */
  exportRecords(): Generator<ExportedRecord> {
    return this.queue.exportRecords();
  }

  // ------------------------------------------------------------------ settlement (batches.ts)

  /** The batch sent but not answered, if any: it must be re-sent as is before anything else. */
  inFlightBatch(): BatchRow | undefined {
    return this.batches.inFlightBatch();
  }

  /** The batch in flight, or a new one of the oldest pending records (at most `limit`); its body bytes fixed and kept. */
  nextBatch(newBatchId: () => string, limit: number): BatchRow | undefined {
    return this.batches.nextBatch(newBatchId, limit);
  }

  noteAttempt(batchId: string, error: string | null): void {
    this.batches.noteAttempt(batchId, error);
  }

  /** Apply an answered batch's verdicts in one transaction; BATCH_ANSWER_MISMATCH (nothing applied) if they do not match it. */
  applyVerdicts(
    batchId: string,
    verdicts: readonly RecordVerdict[],
    settledAt: number,
  ): { accepted: number; duplicate: number; rejected: number } {
    return this.batches.applyVerdicts(batchId, verdicts, settledAt);
  }

  /** Accepted records whose bank settlement time falls in [from, to) (Unix s), per currency. */
  settledTotals(fromS: number, toS: number): CurrencyTotal[] {
    return this.queue.settledTotals(fromS, toS);
  }

  // ------------------------------------------------------------------ sales (sales.ts)

  createSale(s: NewSale): SaleRow {
    return this.sales.createSale(s);
  }

  updateSale(saleId: string, u: SaleUpdate): void {
    this.sales.updateSale(saleId, u);
  }

  /** Synced before the card is asked to sign: from this commit on the sale may be paid (sales.ts). */
  markSigning(saleId: string, cardId: string): void {
    this.sales.markSigning(saleId, cardId);
  }

  sale(saleId: string): SaleRow | undefined {
    return this.sales.sale(saleId);
  }
  /** The sale that asked the card to sign with this nonce (a recovered record finds its sale). */
  saleByNonce(hostNonce: Uint8Array): SaleRow | undefined {
    return this.sales.saleByNonce(hostNonce);
  }
  saleByRequestKey(key: string): SaleRow | undefined {
    return this.sales.saleByRequestKey(key);
  }
  recentSales(limit = 50): SaleRow[] {
    return this.sales.recentSales(limit);
  }

  // ------------------------------------------------------------------ audit (audit-log.ts)

  /** An audit line on its own (not part of a record's transaction): bookkeeping, no fsync of its own. */
  audit(kind: string, subject: string | null, detail?: Record<string, unknown>): void {
    this.auditLog.audit(kind, subject, detail);
  }
}
