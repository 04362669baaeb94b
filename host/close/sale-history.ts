import { formatMoney } from '../daemon/money.js';
import type { Receipt } from '../sale/sale-types.js';
import type { DayItem } from '../store/day-closes.js';
import { saleOutcome, type SaleOutcome } from './day-report.js';
import { shopClock } from './shop-day.js';

/** One sale of a day's history (GET /api/v1/sales?date=…, `cardpost sales`): never the whole card id. */
export interface HistorySale {
  saleId: string;
  /** When it started: ISO 8601 UTC, and as the shop's clock shows it. */
  time: string;
  shopTime: string;
  amount: number;
  currency: number;
  /** The card's last 4 hex digits, upper case; null when no card was read. */
  cardLast4: string | null;
  /** The sale's state, and how the day's report counts it (null while it is going on). */
  state: string;
  outcome: SaleOutcome | null;
  recordId: string | null;
  /** A receipt can be printed again (the sale is paid). */
  receipt: boolean;
}

/** The longest search text, and what it may hold (digits, letters, ".", "-", ":"). */
export const HISTORY_QUERY_PATTERN = '^[0-9A-Za-z.:-]{1,40}$';

/** Amount as typed at the counter: 1250 → "12.50" (two minor digits, as the CLI and the pages take it). */
const major = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

/**
 * A day's sales as the history lists them, oldest first, filtered by `q` (case-insensitive): a sale
 * matches when its id starts with it, the card's last 4 digits or the record id contain it, its
 * amount ("12.50" or "1250") starts with it, or its state or outcome is it.
 */
export function saleHistory(sales: readonly DayItem[], timeZone: string, q?: string): HistorySale[] {
  const needle = q?.trim().toLowerCase() ?? '';
  return sales
    .map((s): HistorySale => ({
      saleId: s.id,
      time: new Date(s.time).toISOString(),
      shopTime: shopClock(s.time, timeZone),
      amount: s.amount,
      currency: s.currency,
      cardLast4: s.cardId ? s.cardId.slice(-4).toUpperCase() : null,
      state: s.state,
      outcome: saleOutcome(s.state),
      recordId: s.recordId,
      receipt: s.state === 'done' && s.recordId !== null,
    }))
    .filter(
      (h) =>
        needle === '' ||
        h.saleId.toLowerCase().startsWith(needle) ||
        (h.cardLast4 ?? '').toLowerCase().includes(needle) ||
        (h.recordId ?? '').toLowerCase().includes(needle) ||
        major(h.amount).startsWith(needle) ||
        String(h.amount).startsWith(needle) ||
        h.state === needle ||
        h.outcome === needle,
    );
}

/**
 * A receipt as text lines, Chinese first with English, for the screen, the CLI and the printer. A
 * reprint says "副本 / COPY" at its top and bottom: it is never taken for a second payment.
 */
export function receiptLines(r: Receipt, o: { timeZone: string; copy: boolean }): string[] {
  const mark = '*** 副本 / COPY ***';
  return [
    ...(o.copy ? [mark] : []),
    `商户 Merchant: ${r.merchantId}`,
    `终端 Terminal: ${r.terminalId}`,
    `时间 Time: ${shopClock(r.time * 1000, o.timeZone)} (${o.timeZone})`,
    `卡号 Card: ${r.card}`,
    `金额 Amount: ${formatMoney(r.amount, r.currency)}`,
    r.pinVerified ? '已验证密码 PIN verified' : '免密 No PIN',
    `余额 Balance: ${formatMoney(r.balanceAfter, r.currency)}`,
    `记录 Record: ${r.recordId}`,
    r.online ? '已付款 Paid' : '已付款，联网后结算 Paid - settles when back online',
    ...(o.copy ? [mark] : []),
  ];
}
