import { toHex } from '../../protocol/bytes.js';
import { decodeTxnRecord, recordId, type SignedTxnRecord } from '../../protocol/record/index.js';
import { openBookkeepingConnection, openDatabase, StoreError, type Db } from './database.js';
import { guardWrite } from './store-errors.js';

export { StoreError } from './database.js';

/** `held`: kept as evidence and never sent to the bank by the host (a record that does not answer its sale). */
export type RecordStatus = 'pending' | 'sending' | 'settled' | 'duplicate' | 'rejected' | 'held';
export type RecordOrigin = 'sale' | 'recovered';
type StoreOutcome = { recordId: string; seq: number; already: boolean } | { forkOf: string };

export interface StoreRecordOptions {
  origin: RecordOrigin;
  saleId?: string;
  /** Keep the record out of settlement, with why (status 'held', an audit line). */
  hold?: { reason: string; detail: string };
}

/** One stored record, as the queue and the API show it. */
export interface QueuedRecord {
  seq: number;
  recordId: string;
  cardId: string;
  counter: number;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  recordTime: number;
  balanceAfter: number;
  cvm: number;
  origin: RecordOrigin;
  saleId: string | null;
  status: RecordStatus;
  batchId: string | null;
  reason: string | null;
  detail: string | null;
  storedAt: number;
  settledAt: number | null;
}

export interface ChainHeadRow { counter: number; hash: Uint8Array; source: 'record' | 'observed' }

export interface CurrencyTotal { currency: number; count: number; amount: number }

/** Records not yet final at the bank (pending or in a batch in flight). */
export interface UnsettledSummary { count: number; byCurrency: CurrencyTotal[]; oldestStoredAt: number | null }

export interface BatchRow { batchId: string; body: Uint8Array; records: number; attempts: number; createdAt: number }

/** The bank's answer for one record of a batch (docs/bank-api.md §4.2). */
export interface RecordVerdict { verdict: 'accepted' | 'duplicate' | 'rejected'; recordId: string | null; reason?: string; detail?: string }

export interface SaleRow {
  saleId: string;
  requestKey: string | null;
  amount: number;
  currency: number;
  reader: string | null;
  state: string;
  recordId: string | null;
  paidOnline: number | null;
  errorCode: string | null;
  errorText: string | null;
  /** The card SIGN_TXN was sent to: the sale may be paid from then on, whatever happened to the answer. */
  signCardId: string | null;
  /** The merchant and terminal ids the sale asked the card to sign with (null in rows from before they were kept). */
  merchantId: string | null;
  terminalId: string | null;
  createdAt: number;
  updatedAt: number;
}

const RECORD_COLUMNS = `seq, record_id AS recordId, card_id AS cardId, counter, amount, currency, merchant_id AS merchantId,
  terminal_id AS terminalId, record_time AS recordTime, balance_after AS balanceAfter, cvm, origin, sale_id AS saleId, status, batch_id AS batchId, reason, detail,
  stored_at AS storedAt, settled_at AS settledAt`;

const SALE_COLUMNS = `sale_id AS saleId, request_key AS requestKey, amount, currency, reader, state, record_id AS recordId, paid_online AS paidOnline,
  error_code AS errorCode, error_text AS errorText, sign_card_id AS signCardId, merchant_id AS merchantId, terminal_id AS terminalId, created_at AS createdAt, updated_at AS updatedAt`;

const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/**
 * The host's durable state in one SQLite file: the queue of signed records with their settlement
 * status, each card's chain head, card certificates, settlement batches, sales and the audit log.
 * Every method that changes state is one transaction; storeRecord returns only after the commit is
 * on disk (database.ts). The writes a sale makes throw StoreError STORE_UNAVAILABLE (never a raw
 * SqliteError) when the file is locked or failing (store-errors.ts, retry-store.ts); the settlement
 * writes still throw SQLite's own error, which settlement-worker.ts classifies itself.
 */
export class HostStore {
  private readonly s;

  /** Where sale states and free-standing audit lines go (database.ts: no fsync of their own). */
  private readonly book: Db;

  /** Transactions run on every sale, their functions made once (better-sqlite3 builds a wrapper per transaction() call, ~9 µs). */
  private readonly tx;

  constructor(readonly db: Db, private readonly clock: () => number = Date.now, bookkeeping?: Db) {
    const book = bookkeeping ?? db;
    this.book = book;
    this.tx = {
      store: db.transaction(this.insertRecordTx.bind(this)),
      observe: db.transaction((cardId: string, counter: number, lastHash: Uint8Array, certificate: Uint8Array) => {
        this.s.observe.run(cardId, counter, lastHash, this.clock());
        this.s.cert.run(cardId, certificate);
      }),
    };
    this.s = {
      head: db.prepare<[string], { counter: number; hash: Buffer; source: 'record' | 'observed' }>('SELECT counter, hash, source FROM card_heads WHERE card_id = ?'),
      observe: db.prepare('INSERT INTO card_heads (card_id, counter, hash, source, updated_at) VALUES (?, ?, ?, \'observed\', ?) ON CONFLICT DO NOTHING'),
      advance: db.prepare(`INSERT INTO card_heads (card_id, counter, hash, source, updated_at) VALUES (@cardId, @counter, @hash, @source, @now)
        ON CONFLICT (card_id) DO UPDATE SET counter = excluded.counter, hash = excluded.hash, source = excluded.source, updated_at = excluded.updated_at
        WHERE excluded.counter > card_heads.counter`),
      // Only an unsigned observation may be moved backwards (security.md: unsigned values never refuse a genuine card).
      replaceObserved: db.prepare(`UPDATE card_heads SET counter = @counter, hash = @hash, source = @source, updated_at = @now
        WHERE card_id = @cardId AND source = 'observed'`),
      // The newest rows by insertion (seq is the rowid): cheap at any queue size, and what a clock set back contradicts.
      newestRecordTime: db.prepare<[], { time: number | null }>('SELECT MAX(record_time) AS time FROM (SELECT record_time FROM records ORDER BY seq DESC LIMIT 100)'),
      lastRecordHead: db.prepare<[string], { counter: number; hash: Buffer }>('SELECT counter, hash FROM records WHERE card_id = ? ORDER BY counter DESC LIMIT 1'),
      cert: db.prepare('INSERT INTO card_certificates (card_id, envelope) VALUES (?, ?) ON CONFLICT (card_id) DO UPDATE SET envelope = excluded.envelope, acknowledged = 0 WHERE card_certificates.envelope != excluded.envelope'),
      recordById: db.prepare<[string], { hash: Buffer; seq: number }>('SELECT hash, seq FROM records WHERE record_id = ?'),
      insertRecord: db.prepare(`INSERT INTO records (record_id, card_id, counter, amount, currency, merchant_id, terminal_id, record_time,
        host_nonce, balance_after, cvm, hash, prev_hash, envelope, origin, sale_id, status, reason, detail, stored_at)
        VALUES (@recordId, @cardId, @counter, @amount, @currency, @merchantId, @terminalId, @time, @hostNonce, @balanceAfter, @cvm, @hash, @prevHash, @envelope, @origin, @saleId,
          @status, @reason, @detail, @now)
        ON CONFLICT (record_id) DO NOTHING`),
      audit: db.prepare('INSERT INTO audit (at, kind, subject, detail) VALUES (?, ?, ?, ?)'),
      bookAudit: book.prepare('INSERT INTO audit (at, kind, subject, detail) VALUES (?, ?, ?, ?)'),
      unsettledByCurrency: db.prepare<[], CurrencyTotal>(`SELECT currency, COUNT(*) AS count, SUM(amount) AS amount FROM records
        WHERE status IN ('pending', 'sending') GROUP BY currency ORDER BY currency`),
      oldestUnsettled: db.prepare<[], { t: number | null }>(`SELECT MIN(stored_at) AS t FROM records WHERE status IN ('pending', 'sending')`),
      statusCounts: db.prepare<[], { status: RecordStatus; count: number; amount: number }>('SELECT status, COUNT(*) AS count, SUM(amount) AS amount FROM records GROUP BY status'),
      inFlight: db.prepare<[], { batchId: string; body: Buffer; records: number; attempts: number; createdAt: number }>(
        `SELECT batch_id AS batchId, body, records, attempts, created_at AS createdAt FROM batches WHERE state = 'sending' ORDER BY created_at, batch_id LIMIT 1`),
      nextPending: db.prepare<[number], { seq: number; cardId: string; envelope: Buffer }>(
        `SELECT seq, card_id AS cardId, envelope FROM records WHERE status = 'pending' ORDER BY seq LIMIT ?`),
      certToSend: db.prepare<[string], { envelope: Buffer }>('SELECT envelope FROM card_certificates WHERE card_id = ? AND acknowledged = 0'),
      insertBatch: db.prepare(`INSERT INTO batches (batch_id, state, body, records, created_at) VALUES (?, 'sending', ?, ?, ?)`),
      markSending: db.prepare(`UPDATE records SET status = 'sending', batch_id = ? WHERE seq = ? AND status = 'pending'`),
      attempt: db.prepare('UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE batch_id = ?'),
      // One batch is in flight at a time, so its records are the ones 'sending' (records_by_status serves it).
      batchRecords: db.prepare<[string], { seq: number; recordId: string; cardId: string }>(
        `SELECT seq, record_id AS recordId, card_id AS cardId FROM records WHERE status = 'sending' AND batch_id = ? ORDER BY seq`),
      verdict: db.prepare('UPDATE records SET status = ?, reason = ?, detail = ?, settled_at = ? WHERE seq = ? AND status = \'sending\''),
      ackCert: db.prepare('UPDATE card_certificates SET acknowledged = 1 WHERE card_id = ?'),
      answerBatch: db.prepare(`UPDATE batches SET state = 'answered', answered_at = ?, accepted = ?, duplicate = ?, rejected = ?, last_error = NULL WHERE batch_id = ? AND state = 'sending'`),
      settledTotals: db.prepare<[number, number], CurrencyTotal>(`SELECT currency, COUNT(*) AS count, SUM(amount) AS amount FROM records
        WHERE status = 'settled' AND settled_at >= ? AND settled_at < ? GROUP BY currency ORDER BY currency`),
      insertSale: book.prepare(`INSERT INTO sales (sale_id, request_key, host_nonce, amount, currency, reader, state, merchant_id, terminal_id, created_at, updated_at)
        VALUES (@saleId, @requestKey, @hostNonce, @amount, @currency, @reader, @state, @merchantId, @terminalId, @now, @now)`),
      saleByNonce: book.prepare<[Uint8Array], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE host_nonce = ?`),
      // On the main connection (synchronous=FULL): durable before the card is asked to sign.
      markSigning: db.prepare(`UPDATE sales SET state = 'signing', sign_card_id = ?, updated_at = ? WHERE sale_id = ?`),
      updateSale: book.prepare(`UPDATE sales SET state = @state, reader = COALESCE(@reader, reader), record_id = COALESCE(@recordId, record_id), paid_online = COALESCE(@paidOnline, paid_online),
        error_code = @errorCode, error_text = @errorText, sign_card_id = @signCardId, updated_at = @now WHERE sale_id = @saleId`),
      saleById: book.prepare<[string], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE sale_id = ?`),
      saleByKey: book.prepare<[string], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales WHERE request_key = ?`),
      recentSales: book.prepare<[number], SaleRow>(`SELECT ${SALE_COLUMNS} FROM sales ORDER BY created_at DESC, sale_id LIMIT ?`),
      recordsPage: db.prepare<[string | null, string | null, number, number], QueuedRecord>(`SELECT ${RECORD_COLUMNS} FROM records
        WHERE (? IS NULL OR status = ?) AND seq > ? ORDER BY seq LIMIT ?`),
      recordRow: db.prepare<[string], QueuedRecord>(`SELECT ${RECORD_COLUMNS} FROM records WHERE record_id = ?`),
      recordOfSale: db.prepare<[string], { envelope: Buffer; status: RecordStatus; detail: string | null }>(`SELECT envelope, status, detail FROM records WHERE sale_id = ? ORDER BY status = 'held', seq LIMIT 1`),
      exportRows: db.prepare<[], { recordId: string; cardId: string; status: RecordStatus; reason: string | null; envelope: Buffer; certificate: Buffer | null }>(
        `SELECT r.record_id AS recordId, r.card_id AS cardId, r.status, r.reason, r.envelope, c.envelope AS certificate
         FROM records r LEFT JOIN card_certificates c ON c.card_id = r.card_id ORDER BY r.seq`),
      lastRecordOfCard: db.prepare<[string], { counter: number }>('SELECT MAX(counter) AS counter FROM records WHERE card_id = ?'),
    };
  }

  static open(path: string, clock?: () => number): HostStore {
    const db = openDatabase(path);
    return new HostStore(db, clock, path === ':memory:' ? db : openBookkeepingConnection(path));
  }

  close(): void {
    if (this.book !== this.db && this.book.open) this.book.close();
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------------ cards and their chains

  cardHead(cardId: string): ChainHeadRow | undefined {
    const row = this.s.head.get(cardId);
    return row ? { counter: row.counter, hash: u8(row.hash), source: row.source } : undefined;
  }

  /**
   * The first sight of a card: remember where its chain stands (GET_INFO's counter and last hash)
   * before asking it to sign anything. Does nothing if the host already knows the card.
   */
  observeCard(cardId: string, counter: number, lastHash: Uint8Array, certificate: Uint8Array): void {
    guardWrite('the card\'s first sight', () => this.tx.observe.immediate(cardId, counter, lastHash, certificate));
  }

  /** Move a card's head over a verified record that is not ours to settle (another terminal's), seen in its journal. */
  passOver(record: SignedTxnRecord): void {
    this.advanceHead(toHex(record.cardId), { counter: record.counter, hash: record.hash }, 'record');
  }

  /**
   * Move a card's head forward (never backwards): to a verified record (`record`), or to where the card
   * says it stands over records this host does not hold (`observed`: unsigned, so never grounds for refusing the card).
   */
  advanceHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: 'record' | 'observed' = 'observed'): void {
    guardWrite('the card\'s chain head', () => this.s.advance.run({ cardId, counter: head.counter, hash: head.hash, source, now: this.clock() }));
  }

  /** Replace a head that rests on an unsigned observation (a record-based head is never moved back). */
  replaceObservedHead(cardId: string, head: { counter: number; hash: Uint8Array }, source: 'record' | 'observed'): void {
    guardWrite('the card\'s chain head', () => this.s.replaceObserved.run({ cardId, counter: head.counter, hash: head.hash, source, now: this.clock() }));
  }

  /** The latest record time (unix seconds) among the records stored most recently. */
  newestRecordTime(): number | undefined {
    return this.s.newestRecordTime.get()?.time ?? undefined;
  }

  /** The newest record of a card stored here (signature verified when it was stored). */
  lastStoredHead(cardId: string): { counter: number; hash: Uint8Array } | undefined {
    const row = this.s.lastRecordHead.get(cardId);
    return row ? { counter: row.counter, hash: u8(row.hash) } : undefined;
  }

  /**
   * Store a signed record durably, with its card's new chain head, in one transaction. Idempotent:
   * the same record again is a no-op (`already: true`); a different record under the same identity
   * is a fork, refused with RECORD_FORK and written to the audit log as evidence.
   */
  storeRecord(record: SignedTxnRecord, o: StoreRecordOptions): { recordId: string; seq: number; already: boolean } {
    const id = recordId(record);
    const cardId = toHex(record.cardId);
    const out = guardWrite('the signed record', () => this.tx.store.immediate(record, o, id, cardId));
    if ('forkOf' in out) {
      // The evidence is written after the transaction: a throw inside it would roll the audit row back.
      guardWrite('the evidence of a fork', () => this.auditNow('record-fork', id, { stored: out.forkOf, offered: toHex(record.hash), envelope: b64url(record.envelope) }));
      throw new StoreError('RECORD_FORK', `card ${cardId} signed two different records with counter ${record.counter}`,
        'do not accept this card again; both records are kept for the bank and the issuer');
    }
    return out;
  }

  /** storeRecord's transaction. */
  private insertRecordTx(record: SignedTxnRecord, o: StoreRecordOptions, id: string, cardId: string): StoreOutcome {
    const now = this.clock();
    // Insert first (the common case, one statement); only a record already there is looked at.
    const info = this.s.insertRecord.run({
      recordId: id, cardId, counter: record.counter, amount: record.amount, currency: record.currency,
      merchantId: record.merchantId, terminalId: record.terminalId, time: record.time, hostNonce: record.hostNonce,
      balanceAfter: record.balanceAfter, cvm: record.cvm,
      hash: record.hash, prevHash: record.prevHash, envelope: record.envelope, origin: o.origin, saleId: o.saleId ?? null,
      status: o.hold ? 'held' : 'pending', reason: o.hold?.reason ?? null, detail: o.hold?.detail ?? null, now,
    });
    if (info.changes === 0) {
      const existing = this.s.recordById.get(id)!;
      if (toHex(u8(existing.hash)) === toHex(record.hash)) return { recordId: id, seq: existing.seq, already: true };
      return { forkOf: toHex(u8(existing.hash)) };
    }
    this.s.advance.run({ cardId, counter: record.counter, hash: record.hash, source: 'record', now });
    if (o.hold) this.auditNow('record-held', id, { reason: o.hold.reason, detail: o.hold.detail, saleId: o.saleId ?? null });
    return { recordId: id, seq: Number(info.lastInsertRowid), already: false };
  }

  /** The highest counter of a card among the records stored here (not heads passed over). */
  lastStoredCounter(cardId: string): number | undefined {
    return this.s.lastRecordOfCard.get(cardId)?.counter ?? undefined;
  }

  // ------------------------------------------------------------------ what is waiting

  unsettled(): UnsettledSummary {
    const byCurrency = this.s.unsettledByCurrency.all();
    return { count: byCurrency.reduce((n, c) => n + c.count, 0), byCurrency, oldestStoredAt: this.s.oldestUnsettled.get()?.t ?? null };
  }

  statusCounts(): Record<RecordStatus, { count: number; amount: number }> {
    const out: Record<RecordStatus, { count: number; amount: number }> = {
      pending: { count: 0, amount: 0 }, sending: { count: 0, amount: 0 }, settled: { count: 0, amount: 0 }, duplicate: { count: 0, amount: 0 }, rejected: { count: 0, amount: 0 },
      held: { count: 0, amount: 0 },
    };
    for (const r of this.s.statusCounts.all()) out[r.status] = { count: r.count, amount: r.amount ?? 0 };
    return out;
  }

  records(o: { status?: RecordStatus; afterSeq?: number; limit?: number } = {}): QueuedRecord[] {
    const status = o.status ?? null;
    return this.s.recordsPage.all(status, status, o.afterSeq ?? 0, Math.min(o.limit ?? 100, 1000));
  }

  record(id: string): QueuedRecord | undefined { return this.s.recordRow.get(id); }

  /** The record stored for a sale, whichever card session stored it: one that answers it first; a held one (with why) only if there is no other. */
  recordOfSale(saleId: string): { record: SignedTxnRecord; held: string | null } | undefined {
    const row = this.s.recordOfSale.get(saleId);
    if (!row) return undefined;
    return { record: decodeTxnRecord(u8(row.envelope)), held: row.status === 'held' ? row.detail ?? 'the record does not answer its sale' : null };
  }

  /** Every record with its signature and card certificate, streamed (for `queue export`). */
  *exportRecords(): Generator<{ recordId: string; cardId: string; status: RecordStatus; reason: string | null; envelope: Uint8Array; certificate: Uint8Array | null }> {
    for (const r of this.s.exportRows.iterate()) {
      yield { ...r, envelope: u8(r.envelope), certificate: r.certificate ? u8(r.certificate) : null };
    }
  }

  // ------------------------------------------------------------------ settlement

  /** The batch sent but not answered, if any: it must be re-sent as is before anything else. */
  inFlightBatch(): BatchRow | undefined {
    const row = this.s.inFlight.get();
    return row ? { ...row, body: u8(row.body) } : undefined;
  }

  /**
   * The batch to send next: the one in flight, or a new one of the oldest pending records (at most
   * `limit`), with the certificates of their cards the bank has not yet acknowledged. The body is
   * fixed here and kept, so every retry sends the same bytes under the same id.
   */
  nextBatch(newBatchId: () => string, limit: number): BatchRow | undefined {
    return this.db.transaction((): BatchRow | undefined => {
      const inFlight = this.inFlightBatch();
      if (inFlight) return inFlight;
      const rows = this.s.nextPending.all(limit);
      if (rows.length === 0) return undefined;
      const batchId = newBatchId();
      const certificates: string[] = [];
      for (const card of new Set(rows.map((r) => r.cardId))) {
        const c = this.s.certToSend.get(card);
        if (c) certificates.push(b64url(u8(c.envelope)));
      }
      const body = Buffer.from(JSON.stringify({ batchId, records: rows.map((r) => b64url(u8(r.envelope))), certificates }));
      const now = this.clock();
      this.s.insertBatch.run(batchId, body, rows.length, now);
      for (const r of rows) this.s.markSending.run(batchId, r.seq);
      return { batchId, body: u8(body), records: rows.length, attempts: 0, createdAt: now };
    }).immediate();
  }

  noteAttempt(batchId: string, error: string | null): void { this.s.attempt.run(error, batchId); }

  /**
   * Apply the bank's per-record verdicts of an answered batch, all in one transaction: accepted →
   * settled, duplicate → duplicate (settled before), rejected → rejected with its reason. Refuses an
   * answer that does not match the batch (wrong length, another record id): nothing is applied and
   * the batch stays in flight.
   */
  applyVerdicts(batchId: string, verdicts: readonly RecordVerdict[], settledAt: number): { accepted: number; duplicate: number; rejected: number } {
    return this.db.transaction(() => {
      const rows = this.s.batchRecords.all(batchId);
      if (rows.length !== verdicts.length) {
        throw new StoreError('BATCH_ANSWER_MISMATCH', `the bank answered ${verdicts.length} verdicts for batch ${batchId} of ${rows.length} records`, 'the bank broke its API; the batch will be re-sent, report it to the bank');
      }
      const counts = { accepted: 0, duplicate: 0, rejected: 0 };
      rows.forEach((row, i) => {
        const v = verdicts[i]!;
        if (v.recordId !== null && v.recordId !== row.recordId) {
          throw new StoreError('BATCH_ANSWER_MISMATCH', `verdict ${i} of batch ${batchId} is for ${v.recordId}, not ${row.recordId}`, 'the bank broke its API; the batch will be re-sent, report it to the bank');
        }
        counts[v.verdict]++;
        const status: RecordStatus = v.verdict === 'accepted' ? 'settled' : v.verdict;
        this.s.verdict.run(status, v.reason ?? null, v.detail ?? null, v.verdict === 'rejected' ? null : settledAt, row.seq);
        if (v.verdict !== 'rejected') this.s.ackCert.run(row.cardId);
        if (v.verdict === 'rejected') this.auditNow('record-rejected', row.recordId, { reason: v.reason ?? null, detail: v.detail ?? null, batchId });
      });
      this.s.answerBatch.run(this.clock(), counts.accepted, counts.duplicate, counts.rejected, batchId);
      this.auditNow('batch-answered', batchId, counts);
      return counts;
    }).immediate();
  }

  /** Accepted records whose bank settlement time falls in [from, to) (Unix s), per currency. */
  settledTotals(fromS: number, toS: number): CurrencyTotal[] { return this.s.settledTotals.all(fromS, toS); }

  // ------------------------------------------------------------------ sales

  createSale(s: { saleId: string; requestKey?: string; hostNonce: Uint8Array; amount: number; currency: number; reader?: string; state: string; merchantId?: string; terminalId?: string }): SaleRow {
    const now = this.clock();
    guardWrite('the new sale', () => this.s.insertSale.run({
      saleId: s.saleId, requestKey: s.requestKey ?? null, hostNonce: s.hostNonce, amount: s.amount, currency: s.currency, reader: s.reader ?? null, state: s.state,
      merchantId: s.merchantId ?? null, terminalId: s.terminalId ?? null, now,
    }), 'no sale was started');
    return this.s.saleById.get(s.saleId)!;
  }

  updateSale(saleId: string, u: { state: string; reader?: string; recordId?: string; paidOnline?: boolean; errorCode?: string; errorText?: string; signCardId?: string }): void {
    guardWrite('the sale\'s state', () => this.s.updateSale.run({
      saleId, state: u.state, reader: u.reader ?? null, recordId: u.recordId ?? null, paidOnline: u.paidOnline === undefined ? null : u.paidOnline ? 1 : 0,
      errorCode: u.errorCode ?? null, errorText: u.errorText ?? null, signCardId: u.signCardId ?? null, now: this.clock(),
    }));
  }

  /**
   * The sale is about to ask the card to sign: from this commit on it may be paid whatever happens
   * to the answer. Synced to disk like a record (not bookkeeping), so a crash or power loss can
   * never make it read back as "not paid"; throws StoreError if it cannot be written: STORE_UNAVAILABLE
   * when the file is locked or failing (a retry may work), STORE_WRITE_FAILED for anything else.
   */
  markSigning(saleId: string, cardId: string): void {
    try {
      guardWrite('the mark that the card is about to be asked to pay', () => this.s.markSigning.run(cardId, this.clock(), saleId), 'nothing was charged');
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError('STORE_WRITE_FAILED', `the queue database could not be written before the card was asked to pay (${(e as Error).message}); nothing was charged`,
        'check the disk (space, errors) and that no other program holds the queue file, then start the sale again');
    }
  }

  sale(saleId: string): SaleRow | undefined { return this.s.saleById.get(saleId); }
  /** The sale that asked the card to sign with this nonce (a recovered record finds its sale). */
  saleByNonce(hostNonce: Uint8Array): SaleRow | undefined { return this.s.saleByNonce.get(hostNonce); }
  saleByRequestKey(key: string): SaleRow | undefined { return this.s.saleByKey.get(key); }
  recentSales(limit = 50): SaleRow[] { return this.s.recentSales.all(Math.min(limit, 500)); }

  // ------------------------------------------------------------------ audit

  /** An audit line on its own (not part of a record's transaction): bookkeeping, no fsync of its own. */
  audit(kind: string, subject: string | null, detail?: Record<string, unknown>): void {
    guardWrite('an audit line', () => this.s.bookAudit.run(this.clock(), kind, subject, detail ? JSON.stringify(detail) : null));
  }

  private auditNow(kind: string, subject: string | null, detail?: Record<string, unknown>): void {
    this.s.audit.run(this.clock(), kind, subject, detail ? JSON.stringify(detail) : null);
  }
}
