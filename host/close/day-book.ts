import { CardpostError } from '../../protocol/errors.js';
import { BankError, type BankClient } from '../settlement/bank-client.js';
import { reconcile } from '../settlement/reconcile.js';
import type { DayItem } from '../store/day-closes.js';
import type { HostStore } from '../store/host-store.js';
import { dayFigures, saleOutcome, type BankSide, type LateItem, type ZReport } from './day-report.js';
import { addDays, requireShopDate, shopDayBounds, shopDayOf } from './shop-day.js';

/** A day close refused (the day not over, a sale still going on). Codes in host/errors/codes.ts. */
export class CloseError extends CardpostError {}

/** A closed day in a list: its date, when it was closed, its sales done. */
export interface CloseSummary {
  date: string;
  timeZone: string;
  closedAt: string;
  salesDone: ZReport['sales']['done'];
  bankMatch: boolean | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How far back an open day looks for items dated in closed days that no close counted (days). */
export const UNCOUNTED_LOOKBACK_DAYS = 7;

/**
 * The shop's days (docs/daemon.md §9a): the Z report of a day, its close, and the rule that keeps a
 * closed day's figures fixed. Every sale, record, top-up, void and refund belongs to the shop day of its
 * time (a sale's start, a record's storing, a top-up's, void's or refund's request) in the shop's time zone. Closing a day stores
 * its report and what it counted; from then on:
 * - the stored report is what is given for that day, as it was;
 * - an item of a closed day that changes afterwards (an unconfirmed sale found paid, a pending record
 *   settled or rejected, a top-up loaded, a refund credited) is counted again, in its new state, in the first day after
 *   that close that is still open, and listed there under `late` with the day it came from and what
 *   the close had counted;
 * - an item dated in a closed day that no close counted (the host clock moved back) is counted the same way,
 *   if it is dated within UNCOUNTED_LOOKBACK_DAYS of the open day.
 */
export class DayBook {
  constructor(private readonly o: { store: HostStore; bank: BankClient; timeZone: string; now: () => number }) {}

  get timeZone(): string {
    return this.o.timeZone;
  }

  today(): string {
    return shopDayOf(this.o.now(), this.o.timeZone);
  }

  /** The day's report: as stored if it is closed, else computed now. RangeError for a date that is not one. */
  async report(date: string): Promise<ZReport> {
    requireShopDate(date);
    const stored = this.o.store.closes.closeOf(date);
    if (stored) return JSON.parse(stored.report) as ZReport;
    const { items, late } = this.counted(date);
    return this.build(date, items, late, await this.bankSide(date));
  }

  /**
   * Close a day: compute its report, store it with what it counted (one durable transaction), return
   * it. A day closed already answers its stored report (`alreadyClosed`), so a retry is safe.
   * CLOSE_DAY_NOT_OVER before the day has ended; CLOSE_SALE_ACTIVE while one of its sales is going on.
   */
  async close(date: string): Promise<{ report: ZReport; alreadyClosed: boolean }> {
    requireShopDate(date);
    const before = this.o.store.closes.closeOf(date);
    if (before) return { report: JSON.parse(before.report) as ZReport, alreadyClosed: true };
    const [fromMs, toMs] = shopDayBounds(date, this.o.timeZone);
    const now = this.o.now();
    if (toMs > now) {
      const left = Math.ceil((toMs - now) / 60_000);
      throw new CloseError(
        'CLOSE_DAY_NOT_OVER',
        `${date} is not over yet in ${this.o.timeZone}: it ends at ${iso(toMs)}, in ${left >= 60 ? `${Math.floor(left / 60)} h ${left % 60} min` : `${left} min`}`,
        `close it after it ends; its running figures are at GET /api/v1/closes/${date} (cardpost close --date ${date} --dry-run)`,
      );
    }
    const bank = await this.bankSide(date);
    // Counted after the bank's answer, so nothing changes between counting and storing (no await between).
    const { items, late } = this.counted(date);
    const going = items.find((i) => i.kind === 'sale' && saleOutcome(i.state) === null);
    if (going)
      throw new CloseError(
        'CLOSE_SALE_ACTIVE',
        `sale ${going.id} of ${date} is still going on (${going.state}); the day is not closed`,
        'let the sale finish or cancel it at the counter, then close the day again',
      );
    const closedAt = this.o.now();
    const report: ZReport = { ...this.build(date, items, late, bank), state: 'closed', closedAt: iso(closedAt) };
    const c = { date, timeZone: this.o.timeZone, fromMs, toMs, closedAt, report: JSON.stringify(report) };
    if (!this.o.store.closes.storeClose(c, items))
      return { report: JSON.parse(this.o.store.closes.closeOf(date)!.report) as ZReport, alreadyClosed: true };
    return { report, alreadyClosed: false };
  }

  /** Closed days from `from` to `to` (inclusive dates), newest first. */
  closes(q: { from?: string; to?: string; limit: number }): CloseSummary[] {
    return this.o.store.closes.closes(q.from ?? '0000-00-00', q.to ?? '9999-99-99', q.limit).map((c) => {
      const r = JSON.parse(c.report) as ZReport;
      return {
        date: c.date,
        timeZone: c.timeZone,
        closedAt: iso(c.closedAt),
        salesDone: r.sales.done,
        bankMatch: r.bank.checked ? r.bank.reconciliation.match : null,
      };
    });
  }

  /** Every item an open day counts: its own not yet counted, and the late ones from the closed days just before it. */
  private counted(date: string): { items: DayItem[]; late: LateItem[] } {
    const closed = new Set(this.o.store.closes.closedDates());
    let runStart = date;
    while (closed.has(addDays(runStart, -1))) runStart = addDays(runStart, -1);
    // Items no close counted, dated in the closed days just before: only a clock set back makes one
    // (a close needs its day over); the clock check refuses sales long before it is days behind.
    const lookback = addDays(date, -UNCOUNTED_LOOKBACK_DAYS);
    const [from] = shopDayBounds(runStart > lookback ? runStart : lookback, this.o.timeZone);
    const [dayFrom, to] = shopDayBounds(date, this.o.timeZone);
    const items: DayItem[] = [];
    const late: LateItem[] = [];
    for (const i of this.o.store.closes.itemsBetween(from, to, true)) {
      const own = i.time >= dayFrom ? date : shopDayOf(i.time, this.o.timeZone);
      if (own === date) items.push(i);
      else if (closed.has(own)) {
        items.push(i);
        late.push(lateOf(i, own, null));
      }
    }
    for (const i of this.o.store.closes.changedSince(runStart, date)) {
      items.push(i);
      late.push(lateOf(i, i.closedIn ?? runStart, i.closedState ?? null));
    }
    return { items, late };
  }

  private build(date: string, items: readonly DayItem[], late: LateItem[], bank: BankSide): ZReport {
    const [fromMs, toMs] = shopDayBounds(date, this.o.timeZone);
    return {
      date,
      timeZone: this.o.timeZone,
      from: iso(fromMs),
      to: iso(toMs),
      state: 'open',
      closedAt: null,
      ...dayFigures(items),
      bank,
      late,
    };
  }

  private async bankSide(date: string): Promise<BankSide> {
    try {
      return { checked: true, reconciliation: await reconcile(this.o.store, this.o.bank, date, this.o.timeZone) };
    } catch (e) {
      if (!(e instanceof BankError)) throw e;
      return { checked: false, error: { code: e.code, message: e.message, hint: e.hint } };
    }
  }
}

const lateOf = (i: DayItem, from: string, was: string | null): LateItem => ({
  kind: i.kind,
  id: i.id,
  from,
  was,
  state: i.state,
  amount: i.amount,
  currency: i.currency,
});
