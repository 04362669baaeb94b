/** Money and time as the counter shows them. Amounts are integers in minor units (2 decimals). */

const SYMBOLS: Record<number, string> = { 156: '¥', 840: '$', 978: '€', 826: '£', 344: 'HK$' };

export function formatMoney(minor: number, currency: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${SYMBOLS[currency] ?? `${currency} `}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}
