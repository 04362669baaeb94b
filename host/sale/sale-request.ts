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

/** One sale per reader: SALE_IN_PROGRESS while another sale may use the reader asked for. */
export function refuseIfReaderBusy(
  reader: string | undefined,
  live: Iterable<{ saleId: string; state: { reader: string | null; phase: string } }>,
): void {
  for (const s of live) {
    if (reader === undefined || s.state.reader === null || s.state.reader === reader) {
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
