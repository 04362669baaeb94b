/** Money and time as the counter shows them. Amounts are integers in minor units (2 decimals). */
import { t, type Lang } from '../ui/i18n.js';

export { currencyCode, formatMoney } from '../daemon/money.js';

/** "45s", "3min", "1.5h", "2.0d" (zh-CN: "45 秒", "3 分钟" …). */
export function formatAge(ms: number, lang: Lang = 'en'): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return t('cli.age.s', lang, { n: s });
  if (s < 3600) return t('cli.age.min', lang, { n: Math.round(s / 60) });
  if (s < 86400) return t('cli.age.h', lang, { n: (s / 3600).toFixed(1) });
  return t('cli.age.d', lang, { n: (s / 86400).toFixed(1) });
}
