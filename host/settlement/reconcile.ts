import type { CurrencyTotal, HostStore } from '../store/host-store.js';
import { shopDayBounds } from '../close/shop-day.js';
import type { BankClient } from './bank-client.js';

export interface ReconciliationLine {
  currency: number;
  host: { count: number; amount: number };
  bank: { count: number; amount: number };
  match: boolean;
}

export interface Reconciliation {
  date: string;
  /** The shop's time zone the day is counted in (host/close/shop-day.ts), and the day's instants, ISO. */
  timeZone?: string;
  from?: string;
  to?: string;
  match: boolean;
  lines: ReconciliationLine[];
}

/** Day bounds of a UTC calendar day, in Unix seconds (settlement days are UTC days, bank-api.md §1). */
export function utcDayBounds(date: string): [number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const from = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000 : NaN;
  if (!Number.isFinite(from) || new Date(from * 1000).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a calendar date: "${date}" (use YYYY-MM-DD)`);
  }
  return [from, from + 86400];
}

/** Compare what this host recorded as accepted on a day with what the bank says, per currency. */
export function compareTotals(date: string, host: CurrencyTotal[], bank: CurrencyTotal[]): Reconciliation {
  const currencies = [...new Set([...host.map((t) => t.currency), ...bank.map((t) => t.currency)])].sort(
    (a, b) => a - b,
  );
  const lines = currencies.map((currency): ReconciliationLine => {
    const h = host.find((t) => t.currency === currency) ?? { count: 0, amount: 0 };
    const b = bank.find((t) => t.currency === currency) ?? { count: 0, amount: 0 };
    return {
      currency,
      host: { count: h.count, amount: h.amount },
      bank: { count: b.count, amount: b.amount },
      match: h.count === b.count && h.amount === b.amount,
    };
  });
  return { date, match: lines.every((l) => l.match), lines };
}

/**
 * The day's settled totals, this host's against the bank's, over the shop's day in its time zone (the
 * bank is asked for the same instants, bank-api.md §8). RangeError for a date that is not one.
 */
export async function reconcile(
  store: HostStore,
  bank: BankClient,
  date: string,
  timeZone: string,
): Promise<Reconciliation> {
  const [fromMs, toMs] = shopDayBounds(date, timeZone);
  const [since, until] = [Math.floor(fromMs / 1000), Math.floor(toMs / 1000)];
  const bankTotals = await bank.reconciliation({ since, until });
  const r = compareTotals(date, store.settledTotals(since, until), bankTotals);
  return {
    date,
    timeZone,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    match: r.match,
    lines: r.lines,
  };
}
