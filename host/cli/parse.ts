import { CardpostError } from '../../protocol/errors.js';

/** ISO 4217 code → numeric; shared with the daemon's config. */
export { parseCurrency } from '../daemon/money.js';

/** "12.50" → 1250 minor units (2 decimals), exact: no floating point on money. */
export function parseAmount(text: string, decimals = 2): number {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m || (m[2] !== undefined && m[2].length > decimals)) {
    throw new CardpostError('CLI_AMOUNT', `"${text}" is not an amount`, 'write it like 12.50 (at most two decimals)');
  }
  const minor = Number(m[1]) * 10 ** decimals + Number((m[2] ?? '').padEnd(decimals, '0') || 0);
  if (!Number.isSafeInteger(minor))
    throw new CardpostError('CLI_AMOUNT', `"${text}" is too large`, 'enter a smaller amount');
  return minor;
}

/** "127.0.0.1:35963" → host and port; refuses anything but an explicit host and a valid port. */
export function parseHostPort(
  text: string,
  what: string,
  opts: { allowAnyPort?: boolean } = {},
): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < (opts.allowAnyPort ? 0 : 1) || port > 65535)
    throw new CardpostError('CLI_ADDRESS', `${what} "${text}" is not HOST:PORT`, 'for example 127.0.0.1:35963');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
