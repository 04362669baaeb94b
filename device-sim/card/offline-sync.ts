import type { SignedTxnRecord } from '../../protocol/record/index.js';
import type { Purse } from './card-state.js';

/**
 * The offline totals after a LOAD that syncs up to `settledCounter` (docs/protocol.md §4.5).
 *
 * The totals count the records signed since the last sync. After this one they must count only
 * the records the bank has not settled: those with counter > settledCounter. Both are suffixes of
 * the card's chain and amounts are never negative, so the right value is the smaller of the two:
 * a token can lower the totals, never raise them. A reversal (VOID_TXN) takes back the sale just
 * before it when that sale is counted; a reversal of a sale already settled counts nothing. The count follows from the counters alone; the
 * amount needs every record after settledCounter from the journal, and where the journal no
 * longer reaches back that far the card cannot prove a lower amount and keeps the one it has.
 */
export function offlineTotalsAfterSync(
  purse: Pick<Purse, 'counter' | 'offlineAmount' | 'offlineCount'>,
  settledCounter: number,
  journal: (counter: number) => SignedTxnRecord | undefined,
): { offlineAmount: number; offlineCount: number } {
  // The authority is trusted for money; a counter beyond the card's means "all of it is settled".
  const settled = Math.min(settledCounter, purse.counter);
  const offlineCount = Math.min(purse.offlineCount, purse.counter - settled);
  let unsettled = 0;
  let payments = 0;
  for (let c = settled + 1; c <= purse.counter; c++) {
    const r = journal(c);
    if (!r || r.counter !== c) return { offlineAmount: purse.offlineAmount, offlineCount };
    // A reversal (VOID_TXN) undoes the sale right before it; a sale already settled counts nothing here.
    if (r.reverses === undefined) {
      unsettled += r.amount;
      payments += 1;
    } else if (r.reverses > settled) {
      unsettled -= r.amount;
      payments -= 1;
    }
  }
  return {
    offlineAmount: Math.min(purse.offlineAmount, unsettled),
    offlineCount: Math.min(offlineCount, payments),
  };
}
