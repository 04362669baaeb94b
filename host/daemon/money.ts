import { CardpostError } from '../../protocol/errors.js';

/**
 * Currencies and money as the counter shows them, used by the daemon (config, terminal receipts) and
 * the CLI alike (it re-exports these from cli/parse.ts and cli/format.ts). Amounts are integers in
 * minor units (2 decimals).
 */

const CURRENCIES: Record<string, number> = { CNY: 156, EUR: 978, USD: 840, HKD: 344, GBP: 826, JPY: 392 };

/** ISO 4217 alphabetic or numeric code → numeric. */
export function parseCurrency(text: string): number {
  const up = text.trim().toUpperCase();
  if (CURRENCIES[up] !== undefined) return CURRENCIES[up]!;
  if (/^\d{1,3}$/.test(up) && Number(up) >= 1) return Number(up);
  throw new CardpostError(
    'CLI_CURRENCY',
    `unknown currency "${text}"`,
    `use an ISO 4217 code: ${Object.keys(CURRENCIES).join(', ')} or a number`,
  );
}

/** The ISO 4217 alphabetic code of a numeric one ("CNY" for 156), else the number as text. */
export function currencyCode(currency: number): string {
  return Object.keys(CURRENCIES).find((k) => CURRENCIES[k] === currency) ?? String(currency);
}

const SYMBOLS: Record<number, string> = { 156: '¥', 840: '$', 978: '€', 826: '£', 344: 'HK$' };

export function formatMoney(minor: number, currency: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${SYMBOLS[currency] ?? `${currency} `}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
