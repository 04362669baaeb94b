import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';

/** What a close counts: sales, signed records, top-ups, voids and refunds (table `close_items`, its CHECK lists these). */
export const CLOSE_ITEM_KINDS = ['sale', 'record', 'topup', 'void', 'refund'] as const;
export type CloseItemKind = (typeof CLOSE_ITEM_KINDS)[number];

/**
 * One sale, record, top-up, void or refund as a day's report counts it. `state` is the sale's state, the
 * record's status as the report groups it (`sending` → `pending`, `duplicate` → `settled`), the top-up's
 * (`token_stored` → `requested`), the void's, or the refund's as a person sees it (refundViewState:
 * queued, requested, authorised, credited, failed). A reversal record's amount is negative (it gives back).
 * A refund's top-up row is counted as the refund, never as a top-up.
 */
export interface DayItem {
  kind: CloseItemKind;
  id: string;
  /** The instant it belongs to its day by (ms): a sale's start, a record's storing, a top-up's, void's or refund's request. */
  time: number;
  state: string;
  amount: number;
  currency: number;
  /** A top-up's method (cash, account, sync); null for the others. */
  method: string | null;
  /** A sale's card (its record's, or the one asked to sign), full hex id; null for the others. */
  cardId: string | null;
  /** A sale's record id. */
  recordId: string | null;
  /** Set on an item counted again after the close that counted it last: that close's date and what it saw. */
  closedIn?: string;
  closedState?: string;
}

/** A closed day as stored. */
export interface StoredClose {
  date: string;
  timeZone: string;
  fromMs: number;
  toMs: number;
  closedAt: number;
  /** The Z report, JSON, exactly as it was given when the day was closed. */
  report: string;
}

/** The states after which an item never changes (a close need not look at it again). */
const FINAL: Record<CloseItemKind, ReadonlySet<string>> = {
  sale: new Set(['done', 'cancelled', 'timed_out', 'failed']),
  record: new Set(['settled', 'rejected', 'held']),
  topup: new Set(['loaded', 'failed']),
  void: new Set(['voided', 'failed']),
  refund: new Set(['credited', 'failed']),
};

const SALE = `SELECT 'sale' AS kind, s.sale_id AS id, s.created_at AS time, s.state AS state, s.amount AS amount, s.currency AS currency,
  NULL AS method, COALESCE(r.card_id, s.sign_card_id) AS cardId, s.record_id AS recordId`;
const SALE_FROM = `FROM sales s LEFT JOIN records r ON r.record_id = s.record_id`;
const RECORD_STATE = `CASE r.status WHEN 'sending' THEN 'pending' WHEN 'duplicate' THEN 'settled' ELSE r.status END`;
const RECORD = `SELECT 'record' AS kind, r.record_id AS id, r.stored_at AS time, ${RECORD_STATE} AS state,
  CASE WHEN r.reverses IS NULL THEN r.amount ELSE -r.amount END AS amount,
  r.currency AS currency, NULL AS method, NULL AS cardId, NULL AS recordId`;
const TOPUP_STATE = `CASE t.state WHEN 'token_stored' THEN 'requested' ELSE t.state END`;
const TOPUP = `SELECT 'topup' AS kind, t.topup_id AS id, t.created_at AS time, ${TOPUP_STATE} AS state, t.amount AS amount,
  t.currency AS currency, t.method AS method, NULL AS cardId, NULL AS recordId`;
const VOID = `SELECT 'void' AS kind, v.void_id AS id, v.created_at AS time, v.state AS state, v.amount AS amount,
  v.currency AS currency, NULL AS method, v.card_id AS cardId, v.record_id AS recordId`;
/** refundViewState (refunds.ts) in SQL: the refund's own state, or its top-up's once one carries it. */
const REFUND_STATE = `CASE WHEN f.state <> 'asked' THEN f.state WHEN rt.state = 'loaded' THEN 'credited'
  WHEN rt.state = 'failed' THEN 'failed' WHEN rt.state = 'token_stored' THEN 'authorised' ELSE 'requested' END`;
const REFUND = `SELECT 'refund' AS kind, f.refund_id AS id, f.created_at AS time, ${REFUND_STATE} AS state, f.amount AS amount,
  f.currency AS currency, NULL AS method, f.card_id AS cardId, f.record_id AS recordId`;
const REFUND_FROM = 'FROM refunds f LEFT JOIN topups rt ON rt.topup_id = f.topup_id';
const NOT_COUNTED = (kind: CloseItemKind, id: string) =>
  `(@all = 1 OR NOT EXISTS (SELECT 1 FROM close_items ci WHERE ci.kind = '${kind}' AND ci.item_id = ${id}))`;
const CHANGED = (kind: CloseItemKind, join: string, state: string) =>
  `, ci.close_date AS closedIn, ci.state AS closedState FROM close_items ci ${join}
   WHERE ci.kind = '${kind}' AND ci.final = 0 AND ci.close_date >= @fromDate AND ci.close_date < @toDate AND ${state} <> ci.state`;

/**
 * The day closes (tables `day_closes` and `close_items`, migration 6): the stored Z reports, and what
 * each close counted, so that what changes after a close is counted again, as late, in a later day
 * (host/close/day-book.ts). Every write is on the main connection (synchronous=FULL).
 */
export class DayCloses {
  private readonly s;
  private readonly closeTx;

  constructor(db: Db) {
    type Range = { from: number; to: number; all: 0 | 1 };
    type Dates = { fromDate: string; toDate: string };
    this.s = {
      sales: db.prepare<Range, DayItem>(
        `${SALE} ${SALE_FROM} WHERE s.created_at >= @from AND s.created_at < @to AND ${NOT_COUNTED('sale', 's.sale_id')} ORDER BY s.created_at, s.sale_id`,
      ),
      records: db.prepare<Range, DayItem>(
        `${RECORD} FROM records r WHERE r.stored_at >= @from AND r.stored_at < @to AND ${NOT_COUNTED('record', 'r.record_id')} ORDER BY r.seq`,
      ),
      topups: db.prepare<Range, DayItem>(
        `${TOPUP} FROM topups t WHERE t.method <> 'refund' AND t.created_at >= @from AND t.created_at < @to AND ${NOT_COUNTED('topup', 't.topup_id')} ORDER BY t.created_at`,
      ),
      voids: db.prepare<Range, DayItem>(
        `${VOID} FROM voids v WHERE v.created_at >= @from AND v.created_at < @to AND ${NOT_COUNTED('void', 'v.void_id')} ORDER BY v.created_at`,
      ),
      refunds: db.prepare<Range, DayItem>(
        `${REFUND} ${REFUND_FROM} WHERE f.created_at >= @from AND f.created_at < @to AND ${NOT_COUNTED('refund', 'f.refund_id')} ORDER BY f.created_at`,
      ),
      changedSales: db.prepare<Dates, DayItem>(
        SALE +
          CHANGED(
            'sale',
            'JOIN sales s ON s.sale_id = ci.item_id LEFT JOIN records r ON r.record_id = s.record_id',
            's.state',
          ),
      ),
      changedRecords: db.prepare<Dates, DayItem>(
        RECORD + CHANGED('record', 'JOIN records r ON r.record_id = ci.item_id', RECORD_STATE),
      ),
      changedTopups: db.prepare<Dates, DayItem>(
        TOPUP + CHANGED('topup', 'JOIN topups t ON t.topup_id = ci.item_id', TOPUP_STATE),
      ),
      changedVoids: db.prepare<Dates, DayItem>(
        VOID + CHANGED('void', 'JOIN voids v ON v.void_id = ci.item_id', 'v.state'),
      ),
      changedRefunds: db.prepare<Dates, DayItem>(
        REFUND +
          CHANGED(
            'refund',
            'JOIN refunds f ON f.refund_id = ci.item_id LEFT JOIN topups rt ON rt.topup_id = f.topup_id',
            REFUND_STATE,
          ),
      ),
      closedDates: db.prepare<[], { date: string }>(`SELECT date FROM day_closes ORDER BY date`),
      close: db.prepare<[string], StoredClose>(
        `SELECT date, time_zone AS timeZone, from_ms AS fromMs, to_ms AS toMs, closed_at AS closedAt, report FROM day_closes WHERE date = ?`,
      ),
      closes: db.prepare<[string, string, number], StoredClose>(
        `SELECT date, time_zone AS timeZone, from_ms AS fromMs, to_ms AS toMs, closed_at AS closedAt, report FROM day_closes
         WHERE date >= ? AND date <= ? ORDER BY date DESC LIMIT ?`,
      ),
      insertClose: db.prepare(
        `INSERT INTO day_closes (date, time_zone, from_ms, to_ms, closed_at, report) VALUES (@date, @timeZone, @fromMs, @toMs, @closedAt, @report)`,
      ),
      countItem: db.prepare(
        `INSERT INTO close_items (kind, item_id, close_date, state, final) VALUES (@kind, @id, @date, @state, @final)
         ON CONFLICT (kind, item_id) DO UPDATE SET close_date = excluded.close_date, state = excluded.state, final = excluded.final`,
      ),
    };
    this.closeTx = db.transaction((c: StoredClose, items: readonly DayItem[]): boolean => {
      if (this.s.close.get(c.date)) return false;
      this.s.insertClose.run(c);
      for (const i of items)
        this.s.countItem.run({
          kind: i.kind,
          id: i.id,
          date: c.date,
          state: i.state,
          final: FINAL[i.kind].has(i.state) ? 1 : 0,
        });
      return true;
    });
  }

  /**
   * The items whose time is in [fromMs, toMs): all of them, or (`uncounted`) only those no close has
   * counted yet.
   */
  itemsBetween(fromMs: number, toMs: number, uncounted: boolean): DayItem[] {
    const q = { from: fromMs, to: toMs, all: uncounted ? (0 as const) : (1 as const) };
    return [
      ...this.s.sales.all(q),
      ...this.s.records.all(q),
      ...this.s.topups.all(q),
      ...this.s.voids.all(q),
      ...this.s.refunds.all(q),
    ];
  }

  /** The sales whose time is in [fromMs, toMs), oldest first (the day's history). */
  salesBetween(fromMs: number, toMs: number): DayItem[] {
    return this.s.sales.all({ from: fromMs, to: toMs, all: 1 });
  }

  /** Items counted last by a close of a date in [fromDate, toDate) whose state has changed since. */
  changedSince(fromDate: string, toDate: string): DayItem[] {
    const q = { fromDate, toDate };
    return [
      ...this.s.changedSales.all(q),
      ...this.s.changedRecords.all(q),
      ...this.s.changedTopups.all(q),
      ...this.s.changedVoids.all(q),
      ...this.s.changedRefunds.all(q),
    ];
  }

  closedDates(): string[] {
    return this.s.closedDates.all().map((r) => r.date);
  }

  closeOf(date: string): StoredClose | undefined {
    return this.s.close.get(date);
  }

  /** Closed days between two dates (inclusive), newest first. */
  closes(fromDate: string, toDate: string, limit: number): StoredClose[] {
    return this.s.closes.all(fromDate, toDate, Math.min(Math.max(limit, 1), 366));
  }

  /**
   * Store a close and mark every item it counted, in one durable transaction. False (nothing written)
   * when the day was closed already.
   */
  storeClose(c: StoredClose, items: readonly DayItem[]): boolean {
    return guardWrite('the day close', () => this.closeTx.immediate(c, items), 'the day is not closed');
  }
}
