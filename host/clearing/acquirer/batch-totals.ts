import type { BatchTotals } from '../../../protocol/iso8583/index.js';

/**
 * What the acquirer has approved (00) in each terminal's open ISO batch, for the 0500 comparison
 * (docs/iso8583.md §9 "Totals and recovery"). Kept in memory, on purpose: the settlements
 * themselves are in the clearing ledger, idempotent, so these totals are only a cache of what this
 * batch answered. A crash of the front end loses them and nothing else: the terminal's next 0500 is
 * out of balance, it uploads every record (0320), each upload settles under the same key as its
 * advice (the stored answer, nothing twice) and is counted here again, and the 0500 after balances.
 * Counting is keyed by STAN, so a 0221 repeat or a re-upload never counts a record twice.
 * One open batch per terminal, at most MAX_ENTRIES records: memory is bounded by the terminal table.
 */
export const MAX_ENTRIES = 999;

export interface CountedRecord {
  kind: 'debit' | 'credit';
  amount: number;
}

export class BatchTotalsBook {
  private readonly open = new Map<string, { batch: number; entries: Map<number, CountedRecord | null> }>();

  /** A sign-on for `batch`: keep its totals when it is the open one (a reconnect), else start it empty. */
  signOn(terminal: string, batch: number): void {
    if (this.open.get(terminal)?.batch !== batch) this.open.set(terminal, { batch, entries: new Map() });
  }

  /** Record the answer to STAN `stan`: counted when approved (null for a rejection). false when the batch is full. */
  note(terminal: string, batch: number, stan: number, counted: CountedRecord | null): boolean {
    let b = this.open.get(terminal);
    if (b?.batch !== batch) {
      b = { batch, entries: new Map() };
      this.open.set(terminal, b);
    }
    if (!b.entries.has(stan) && b.entries.size >= MAX_ENTRIES) return false;
    b.entries.set(stan, counted);
    return true;
  }

  totals(terminal: string, batch: number): BatchTotals {
    const t = { debitCount: 0, debitAmount: 0, creditCount: 0, creditAmount: 0 };
    const b = this.open.get(terminal);
    if (b?.batch !== batch) return t;
    for (const e of b.entries.values()) {
      if (!e) continue;
      if (e.kind === 'debit') {
        t.debitCount++;
        t.debitAmount += e.amount;
      } else {
        t.creditCount++;
        t.creditAmount += e.amount;
      }
    }
    return t;
  }

  /** Out of balance: the uploads that follow rebuild the batch from nothing. */
  restart(terminal: string, batch: number): void {
    this.open.set(terminal, { batch, entries: new Map() });
  }

  /** Balanced: the batch is done. */
  close(terminal: string, batch: number): void {
    if (this.open.get(terminal)?.batch === batch) this.open.delete(terminal);
  }

  /** Forget everything, as a crash of the front end would (for tests of the recovery path). */
  forgetAll(): void {
    this.open.clear();
  }
}
