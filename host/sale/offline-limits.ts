import { CardpostError } from '../../protocol/errors.js';
import type { UnsettledSummary } from '../store/host-store.js';

/**
 * Limits the merchant sets on what the counter takes while records wait to settle (as POS SDKs
 * with an offline mode do): the largest single sale, the total not yet settled per currency, and
 * how old the oldest unsettled record may be before the counter stops taking more (records the
 * bank sees late risk its settlement window). null: no limit.
 */
export interface OfflineLimits {
  perSale: number | null;
  unsettledAmount: number | null;
  unsettledAgeMs: number | null;
}

export class SaleRefusedError extends CardpostError {}

/** Throws SaleRefusedError when a new sale of `amount` would break a limit. */
export function checkOfflineLimits(
  limits: OfflineLimits,
  amount: number,
  currency: number,
  unsettled: UnsettledSummary,
  now: number,
): void {
  if (limits.perSale !== null && amount > limits.perSale) {
    throw new SaleRefusedError(
      'OFFLINE_LIMIT_PER_SALE',
      `the amount is above the counter's limit for one sale (${limits.perSale} minor units)`,
      'take a smaller amount, or raise limits.perSale in the daemon config',
    );
  }
  const waiting = unsettled.byCurrency.find((c) => c.currency === currency)?.amount ?? 0;
  if (limits.unsettledAmount !== null && waiting + amount > limits.unsettledAmount) {
    throw new SaleRefusedError(
      'OFFLINE_LIMIT_UNSETTLED_AMOUNT',
      `this sale would bring the amount waiting to settle to ${waiting + amount}, above the limit of ${limits.unsettledAmount}`,
      'settle the queue first (the bank must be reachable), or raise limits.unsettledAmount',
    );
  }
  if (
    limits.unsettledAgeMs !== null &&
    unsettled.oldestStoredAt !== null &&
    now - unsettled.oldestStoredAt > limits.unsettledAgeMs
  ) {
    const hours = Math.round((now - unsettled.oldestStoredAt) / 3_600_000);
    throw new SaleRefusedError(
      'OFFLINE_LIMIT_AGE',
      `the oldest record waiting to settle is ${hours} h old, beyond the counter's limit`,
      'bring the counter back online and settle before taking more card payments',
    );
  }
}
