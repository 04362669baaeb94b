import type { FaultKind } from './soak-faults.js';
import type { SaleRun } from './soak-sale.js';

/** How a sale of the soak ended, judged against the faults it met. */
export interface SaleVerdict {
  /** `paid`, or `<state>:<code>` (`failed:SALE_INTERRUPTED`, `refused:SALE_IN_PROGRESS`, `lost:DAEMON_DOWN`). */
  outcome: string;
  expected: boolean;
  /** For an unexpected one: what was wrong, naming the sale, reader and card. */
  why?: string;
  /** For an unexpected one: what the daemon said (error message, notices on the way). */
  detail?: { message?: string; notices: string[]; pins: number; pulled: boolean; timeline?: string[] };
}

/** Faults under which a sale may end unpaid without the card having paid (nothing was charged). */
const MAY_FAIL_UNDER: readonly FaultKind[] = ['daemon-kill', 'line-noise'];

/**
 * The card's counter is the truth: a sale is paid exactly when its card signed once for it. A pulled
 * card is put back and its sale finishes; an unconfirmed sale becomes done by journal recovery; bank
 * faults never stop a sale (it is paid offline). Unpaid with the card untouched is expected only while
 * the daemon was killed (SALE_INTERRUPTED, a request cut) or the terminal's line was noisy.
 */
export function judgeSale(run: SaleRun, faults: readonly FaultKind[]): SaleVerdict {
  const paid = run.state === 'done';
  const outcome = paid ? 'paid' : `${run.state}${run.code ? `:${run.code}` : ''}`;
  const moved = run.counterAfter - run.counterBefore;
  const detail = {
    ...(run.message ? { message: run.message } : {}),
    notices: run.notices,
    pins: run.plan.pins.length,
    pulled: run.plan.pull,
  };
  const who = `sale ${run.saleId ?? '(none)'} of ${run.plan.amount} on reader ${run.reader} with card ${run.card}`;
  if (paid && moved !== 1)
    return {
      outcome,
      expected: false,
      detail,
      why: `${who} is paid, but the card's counter moved by ${moved} (from ${run.counterBefore})`,
    };
  if (!paid && moved > 0)
    return {
      outcome,
      expected: false,
      detail,
      why: `${who}: the card signed (counter ${run.counterBefore} → ${run.counterAfter}) but the sale ended ${outcome}, even after journal recovery`,
    };
  if (paid) return { outcome, expected: true };
  const excuse = faults.find((f) => MAY_FAIL_UNDER.includes(f));
  if (excuse) return { outcome, expected: true };
  return {
    outcome,
    expected: false,
    detail,
    why: `${who} ended ${outcome}${faults.length ? ` under ${faults.join(', ')}` : ' with no fault injected'}; it should have been paid`,
  };
}
