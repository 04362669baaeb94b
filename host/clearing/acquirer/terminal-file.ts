import { readFileSync, statSync } from 'node:fs';
import { AcquirerError } from './acquirer-error.js';
import type { AcquirerTerminal } from './terminal-table.js';

/**
 * The acquirer's terminal table as a file (for `cardpost bank serve --iso8583-port`): a JSON array of
 * `{ "isoTerminalId", "merchantId", "terminalId", "macKeyHex" }` (docs/iso8583.md §9). It holds every
 * terminal's MAC key, so a file others may read (group or world bits set) is refused, as the issuer's
 * key files are kept 0600. Each row is checked by TerminalTable when the acquirer starts.
 */
export function readTerminalFile(path: string): AcquirerTerminal[] {
  const bad = (why: string, cause?: unknown): never => {
    throw new AcquirerError('ACQUIRER_CONFIG_INVALID', `acquirer terminal file ${path}: ${why}`, undefined, {
      cause,
    });
  };
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    return bad(`cannot be read (${(e as Error).message})`, e);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0)
    bad(`holds MAC keys but is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return bad(`is not JSON (${(e as Error).message})`, e);
  }
  if (!Array.isArray(rows)) return bad('must be a JSON array of terminals');
  return rows.map((row: unknown, i) => {
    if (!row || typeof row !== 'object' || Array.isArray(row)) return bad(`entry ${i} is not an object`);
    const allowed = new Set(['isoTerminalId', 'merchantId', 'terminalId', 'macKeyHex']);
    const unknown = Object.keys(row).filter((k) => !allowed.has(k));
    if (unknown.length > 0) bad(`entry ${i} has unknown field(s) ${unknown.join(', ')}`);
    return row as AcquirerTerminal;
  });
}
