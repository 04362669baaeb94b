import type { QaStack } from './qa-types.js';
import { readEvidence, type Evidence } from './invariants/evidence.js';
import { checkExport, checkSettlement, checkStored } from './invariants/record-checks.js';
import { checkBalances } from './invariants/balance-checks.js';
import type { InvariantFinding } from './invariants/finding.js';

export { INVARIANT, type InvariantFinding } from './invariants/finding.js';
export type { Evidence } from './invariants/evidence.js';

/**
 * The money invariants of a QA run (docs/qa.md "nothing lost or doubled"), read from three places that
 * share no state — the cards' own applets, the daemon's queue and signed export, the bank's ledger:
 * - every record a card signed (counters 1…its counter) is in the daemon's queue exactly once, and the
 *   queue holds nothing the card did not sign; the queue agrees with the envelopes the cards signed;
 * - nothing settled twice, and each bank row is the queue's record (same amount, same kind);
 * - with `requireSettled` (after a final settle): every record settled at the bank, nothing pending;
 * - each card's balance adds up from its personalised balance through its records and the loads the
 *   daemon carried: no money appears or vanishes.
 * Check at a quiet moment: a sale between SIGN_TXN and its stored record shows as a record not stored.
 * Throws QA_INVARIANTS_UNREADABLE when the daemon does not answer (that is not a broken invariant).
 */
export async function checkInvariants(
  stack: QaStack,
  opts: { requireSettled?: boolean } = {},
): Promise<InvariantFinding[]> {
  return findBrokenInvariants(await readEvidence(stack), opts);
}

/** The checks alone, on evidence already read (pure). */
export function findBrokenInvariants(ev: Evidence, opts: { requireSettled?: boolean } = {}): InvariantFinding[] {
  return [
    ...checkStored(ev),
    ...checkExport(ev),
    ...checkSettlement(ev, opts.requireSettled === true),
    ...checkBalances(ev),
  ];
}
