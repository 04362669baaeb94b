/** Money and time as the counter shows them. Amounts are integers in minor units (2 decimals). */

export { currencyCode, formatMoney } from '../daemon/money.js';

export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}
