import type { Receipt } from '../sale/sale-types.js';
import { formatMoney } from '../daemon/money.js';
import type { ReceiptLine } from './printer-types.js';
import { shopClock } from '../close/shop-day.js';

/**
 * What a paper receipt says, in zh-CN and English (`chinese`) or English alone (a printer without a
 * Chinese font): the shop, merchant and terminal, the shop's time, the card's last 4 digits, the amount
 * in large type, the outcome, whether the PIN was checked, the balance after, and the record. Built from
 * the Receipt the sale gives (host/sale/receipt.ts), so the screen, the CLI and the paper say the same.
 *
 * The record is printed with its card id masked as on the rest of the receipt (`****1234:17`): the full
 * card id is enough to report the card lost, and a receipt is thrown away. The sale id finds it again.
 */
export interface LayoutOptions {
  /** Chinese and English (the printer has a Chinese font), or English only. */
  chinese: boolean;
  /** The shop's time zone (IANA), for the printed time. */
  timeZone: string;
  /** The shop's name, on top. */
  header?: string;
}

/** Money on paper: the full-width ￥ in Chinese mode (GBK has no ¥), the ISO code where a symbol is not ASCII. */
export function printedMoney(minor: number, currency: number, chinese: boolean): string {
  const m = formatMoney(minor, currency);
  if (chinese) return m.replace('¥', '￥');
  return m.replace(/^(-?)([^\x20-\x7e]+)/, (_all, sign: string) => `${sign}${ASCII_CODES[currency] ?? currency} `);
}

const ASCII_CODES: Readonly<Record<number, string>> = { 156: 'CNY', 978: 'EUR', 826: 'GBP', 392: 'JPY' };

/** The shop's wall-clock time of a Unix time: `YYYY-MM-DD HH:MM:SS`. */
export const shopTime = (unixSeconds: number, timeZone: string): string => shopClock(unixSeconds * 1000, timeZone);

/** The card's last 4 hex digits, after a mask of the printer's own characters (the receipt's `•` is not in GBK). */
export const lastFour = (maskedCard: string): string => `****${maskedCard.slice(-4)}`;

export function receiptLayout(r: Receipt, o: LayoutOptions): ReceiptLine[] {
  const t = (zh: string, en: string) => (o.chinese ? `${zh} ${en}` : en);
  const money = (minor: number) => printedMoney(minor, r.currency, o.chinese);
  const lines: ReceiptLine[] = [];
  if (o.header) lines.push({ text: o.header, align: 'center', bold: true, size: 'wide' });
  lines.push(
    { text: t('消费凭条', 'RECEIPT'), align: 'center', bold: true },
    { text: '' },
    { text: t('商户', 'Merchant'), value: r.merchantId },
    { text: t('终端', 'Terminal'), value: r.terminalId },
    { text: t('时间', 'Time'), value: shopTime(r.time, o.timeZone) },
    { text: t('卡号', 'Card'), value: lastFour(r.card) },
    { text: '', rule: true },
    { text: t('金额', 'Amount') },
    { text: money(r.amount), size: 'large', align: 'center', bold: true },
    { text: '', rule: true },
    { text: t('结果', 'Outcome'), value: r.online ? t('已付款', 'Paid') : t('已付款(离线)', 'Paid offline') },
  );
  if (!r.online) {
    if (o.chinese) lines.push({ text: '联网后结算', align: 'right' });
    lines.push({ text: 'Settles when back online', align: 'right' });
  }
  lines.push(
    { text: t('密码', 'PIN'), value: r.pinVerified ? t('已验证', 'verified') : t('免密', 'not needed') },
    { text: t('余额', 'Balance'), value: money(r.balanceAfter) },
    { text: t('记录', 'Record'), value: `${lastFour(r.card)}:${r.counter}` },
    { text: t('单号', 'Sale') },
    { text: r.saleId },
    { text: '' },
    { text: t('谢谢惠顾', 'Thank you'), align: 'center' },
  );
  return lines;
}
