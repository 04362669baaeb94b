/**
 * The give-back rule of a reversal (docs/bank-api.md §4.4), one for every bank: a void settles only
 * with or after its sale, and only as its exact give-back. Pure: the caller reads the sale from its
 * ledger.
 */
import { REJECT_REASON, type RejectReason } from './verdicts.js';

/** What the rule needs of the settled record a reversal names. */
export interface ReversedSale {
  amount: number;
  currency: number;
  merchantId: string;
  /** The terminal that settled the sale. */
  terminalId: string;
  /** Set when that record is itself a reversal. */
  reverses?: number;
}

/** What the rule needs of the reversal. */
export interface Reversal {
  amount: number;
  currency: number;
  merchantId: string;
  /** The counter of the sale it gives back. */
  reverses: number;
}

/**
 * Why the reversal cannot settle, or undefined when it can: its sale must be settled (earlier, or in
 * this batch), be a sale, and be given back exactly: same amount, currency, merchant, and settled
 * from the terminal settling the reversal. A second reversal of one sale cannot exist (it would need
 * the same counter: a double spend).
 */
export function reversalProblem(
  cardId: string,
  reversal: Reversal,
  sale: ReversedSale | undefined,
  terminalId: string,
): { reason: RejectReason; detail: string } | undefined {
  const n = reversal.reverses;
  if (!sale)
    return {
      reason: REJECT_REASON.REVERSAL_ORPHAN,
      detail: `the sale ${cardId}:${n} this record voids is not settled; send the reversal with or after its sale`,
    };
  const differs =
    sale.reverses !== undefined
      ? `${cardId}:${n} is itself a reversal`
      : sale.amount !== reversal.amount
        ? `amount ${reversal.amount}, the sale was ${sale.amount}`
        : sale.currency !== reversal.currency
          ? `currency ${reversal.currency}, the sale was in ${sale.currency}`
          : sale.merchantId !== reversal.merchantId
            ? `merchant "${reversal.merchantId}", the sale was paid to "${sale.merchantId}"`
            : sale.terminalId !== terminalId
              ? `the sale was settled by terminal "${sale.terminalId}"`
              : undefined;
  return differs
    ? { reason: REJECT_REASON.REVERSAL_INVALID, detail: `the reversal does not give back its sale: ${differs}` }
    : undefined;
}
