import type { Reconciliation } from '../settlement/reconcile.js';
import type { DayItem } from '../store/day-closes.js';
import type { CurrencyTotal } from '../store/store-types.js';

/** A count and its amounts per currency (a counter may take more than one currency). */
export interface Totals {
  count: number;
  byCurrency: CurrencyTotal[];
}

/** How a sale ended, as the report groups it: a sale that timed out is counted with the cancelled ones. */
export const SALE_OUTCOMES = ['done', 'cancelled', 'unconfirmed', 'failed'] as const;
export type SaleOutcome = (typeof SALE_OUTCOMES)[number];

/** An item counted in a later day than its own: changed after the close that counted it (or never counted). */
export interface LateItem {
  kind: DayItem['kind'];
  id: string;
  /** The shop day it belongs to by its time, closed before this change was counted. */
  from: string;
  /** Its state as that close counted it, or null when no close had counted it. */
  was: string | null;
  state: string;
  amount: number;
  currency: number;
}

/** What the bank said for the day, or why it could not be asked. */
export type BankSide =
  | { checked: true; reconciliation: Reconciliation }
  | { checked: false; error: { code: string; message: string; hint: string } };

/**
 * The Z report of one shop day (docs/daemon.md §9a, host-api.md §7.4). Amounts in minor units. The
 * sales are counted as taken (a voided or refunded sale stays `done`); what was given back is in
 * `voids` and `refunds`; a reversal record counts with a negative amount in `records`.
 */
export interface ZReport {
  date: string;
  timeZone: string;
  /** The day's instants [from, to), ISO 8601 UTC. */
  from: string;
  to: string;
  /** `open`: figures computed now and still moving; `closed`: the stored report, never changed. */
  state: 'open' | 'closed';
  closedAt: string | null;
  sales: Record<SaleOutcome, Totals>;
  topups: {
    /** Loaded top-ups (money on the cards), and the same by how the holder paid (cash is the drawer's). */
    loaded: Totals;
    byMethod: { cash: Totals; account: Totals; sync: Totals };
    /** Asked for and not yet known loaded (applied at the card's next tap), and failed (nothing moved). */
    unfinished: Totals;
    failed: Totals;
  };
  /** The day's signed records by where they stand with the bank. */
  records: { pending: Totals; settled: Totals; rejected: Totals; held: Totals };
  /** Voids of sales (host/sale/void-sale.ts): given back on the card, being signed, refused by the card. */
  voids: { voided: Totals; signing: Totals; failed: Totals };
  /** Refunds of settled sales: credited to the card, on their way (queued, requested, authorised), failed. */
  refunds: { credited: Totals; pending: Totals; failed: Totals };
  /** This host's settled totals against the bank's, over the day's instants (as `cardpost reconcile`). */
  bank: BankSide;
  /** Items counted here though their time is in an earlier, closed day. */
  late: LateItem[];
}

const empty = (): Totals => ({ count: 0, byCurrency: [] });

function add(t: Totals, amount: number, currency: number): void {
  t.count++;
  const c = t.byCurrency.find((x) => x.currency === currency);
  if (c) {
    c.count++;
    c.amount += amount;
  } else {
    t.byCurrency.push({ currency, count: 1, amount });
    t.byCurrency.sort((a, b) => a.currency - b.currency);
  }
}

/** A sale's state as the report counts it; null for a sale still going on. */
export function saleOutcome(state: string): SaleOutcome | null {
  if (state === 'done' || state === 'cancelled' || state === 'unconfirmed' || state === 'failed') return state;
  if (state === 'timed_out') return 'cancelled';
  return null;
}

/** The figures of a day from its items (each counted once, in its current state). */
export function dayFigures(
  items: readonly DayItem[],
): Pick<ZReport, 'sales' | 'topups' | 'records' | 'voids' | 'refunds'> {
  const sales: Record<SaleOutcome, Totals> = {
    done: empty(),
    cancelled: empty(),
    unconfirmed: empty(),
    failed: empty(),
  };
  const topups: ZReport['topups'] = {
    loaded: empty(),
    byMethod: { cash: empty(), account: empty(), sync: empty() },
    unfinished: empty(),
    failed: empty(),
  };
  const records: ZReport['records'] = { pending: empty(), settled: empty(), rejected: empty(), held: empty() };
  const voids: ZReport['voids'] = { voided: empty(), signing: empty(), failed: empty() };
  const refunds: ZReport['refunds'] = { credited: empty(), pending: empty(), failed: empty() };
  for (const i of items) {
    if (i.kind === 'void') {
      add(voids[i.state as keyof typeof voids] ?? voids.signing, i.amount, i.currency);
      continue;
    }
    if (i.kind === 'refund') {
      add(i.state === 'credited' || i.state === 'failed' ? refunds[i.state] : refunds.pending, i.amount, i.currency);
      continue;
    }
    if (i.kind === 'sale') {
      const o = saleOutcome(i.state);
      if (o) add(sales[o], i.amount, i.currency);
    } else if (i.kind === 'record') {
      const r = records[i.state as keyof typeof records];
      if (r) add(r, i.amount, i.currency);
    } else if (i.state === 'loaded') {
      add(topups.loaded, i.amount, i.currency);
      const m = topups.byMethod[i.method as keyof typeof topups.byMethod];
      if (m) add(m, i.amount, i.currency);
    } else if (i.state === 'failed') add(topups.failed, i.amount, i.currency);
    else add(topups.unfinished, i.amount, i.currency);
  }
  return { sales, topups, records, voids, refunds };
}
