import { MAX_AMOUNT } from '../../protocol/commands/index.js';
import { SaleRefusedError } from './offline-limits.js';

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
