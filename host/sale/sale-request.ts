import { MAX_AMOUNT } from '../../protocol/commands/index.js';
import { SaleRefusedError } from './offline-limits.js';
import type { ClockProblem } from './clock-check.js';
import type { SaleSnapshot } from './sale-types.js';

/** What starting a sale asks for; `followed`: an API client owns it (follow-lease.ts). */
export interface SaleRequest {
  amount: number;
  currency?: number;
  reader?: string;
  requestKey?: string;
  followed?: boolean;
}

/** The sale a request key started before, if this request is the same sale; SALE_KEY_REUSED if not. */
export function sameSaleForKey(known: SaleSnapshot, req: SaleRequest, defaultCurrency: number): SaleSnapshot {
  const otherReader = req.reader !== undefined && known.reader !== null && known.reader !== req.reader;
  if (known.amount !== req.amount || known.currency !== (req.currency ?? defaultCurrency) || otherReader) {
    throw new SaleRefusedError(
      'SALE_KEY_REUSED',
      `request key ${req.requestKey} was used for another sale`,
      'use a new request key for each sale',
    );
  }
  return known;
}

/**
 * Whether a sale that names no reader may take a reader of this kind: never a serial terminal's slot. A
 * terminal's sales are keyed on its own keypad (host/daemon/serial-terminals.ts); a sale from the API or
 * `cardpost sale` uses its slot and PIN pad only when it names that reader.
 */
export const openToAnySale = (kind: string | undefined): boolean => kind !== 'serial-terminal';

/**
 * One sale per reader: SALE_IN_PROGRESS while another sale may use the reader asked for. `openToAny`: whether a
 * sale that names no reader may take this one (never a serial terminal's slot: see engine `openToAny`).
 */
export function refuseIfReaderBusy(
  reader: string | undefined,
  live: Iterable<{ saleId: string; state: { reader: string | null; phase: string } }>,
  openToAny: (reader: string) => boolean = () => true,
): void {
  for (const s of live) {
    const mayMeet =
      reader === undefined
        ? s.state.reader === null || openToAny(s.state.reader)
        : s.state.reader === reader || (s.state.reader === null && openToAny(reader));
    if (mayMeet) {
      throw new SaleRefusedError(
        'SALE_IN_PROGRESS',
        `sale ${s.saleId} is still ${s.state.phase.replace('_', ' ')}`,
        `finish or cancel it first (cardpost sale cancel ${s.saleId}, or Esc on the counter page)`,
      );
    }
  }
}

/** No sale while the clock cannot date it (clock-check.ts). */
export function refuseIfClockWrong(problem: ClockProblem | undefined): void {
  if (problem) throw new SaleRefusedError(problem.code, `no sale can be taken: ${problem.message}`, problem.hint);
}

/** Throws SaleRefusedError for an amount, currency or reader no sale can be taken with. */
export function checkSaleRequest(
  amount: number,
  currency: number,
  reader: string | undefined,
  hub: { get(name: string): unknown },
): void {
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_AMOUNT) {
    throw new SaleRefusedError(
      'SALE_AMOUNT_INVALID',
      `amount must be a positive whole number of minor units, got ${amount}`,
      'enter the amount again, e.g. 12.50',
    );
  }
  if (!Number.isInteger(currency) || currency < 1 || currency > 999) {
    throw new SaleRefusedError(
      'SALE_CURRENCY_INVALID',
      `currency must be an ISO 4217 numeric code, got ${currency}`,
      'use e.g. 156 (CNY)',
    );
  }
  if (reader !== undefined && !hub.get(reader)) {
    throw new SaleRefusedError(
      'READER_UNKNOWN',
      `no reader named "${reader}" is connected`,
      'list the readers with `cardpost readers`',
    );
  }
}

/**
 * A sale that names no reader takes none of the readers there are (all serial terminals' slots): refused at
 * once (SALE_READER_REQUIRED) rather than waiting for a card it would never take. With no reader at all it waits.
 */
export function refuseIfNoOpenReader(
  reader: string | undefined,
  readers: readonly { name: string }[],
  openToAny: (reader: string) => boolean,
): void {
  if (reader !== undefined || readers.length === 0 || readers.some((r) => openToAny(r.name))) return;
  throw new SaleRefusedError(
    'SALE_READER_REQUIRED',
    `no reader takes a sale that names none: ${readers.map((r) => `"${r.name}"`).join(', ')} ${readers.length === 1 ? 'is a serial terminal' : 'are serial terminals'}`,
    "key the sale on the terminal's keypad, or name its reader (cardpost sale --reader NAME)",
  );
}
