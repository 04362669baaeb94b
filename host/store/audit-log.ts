import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';

/**
 * The audit log (table `audit`): what happened, for the merchant and the auditor; never a PIN, key or
 * token. A line on its own goes through the bookkeeping connection (no fsync of its own, database.ts);
 * a line that belongs to a change of the queue is written on the main connection, inside that change's
 * transaction (`inTransaction`), so both commit or neither.
 */
export class AuditLog {
  private readonly s;

  constructor(
    db: Db,
    book: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      main: db.prepare('INSERT INTO audit (at, kind, subject, detail) VALUES (?, ?, ?, ?)'),
      book: book.prepare('INSERT INTO audit (at, kind, subject, detail) VALUES (?, ?, ?, ?)'),
    };
  }

  /** An audit line on its own (not part of a record's transaction): bookkeeping, no fsync of its own. */
  audit(kind: string, subject: string | null, detail?: Record<string, unknown>): void {
    guardWrite('an audit line', () =>
      this.s.book.run(this.clock(), kind, subject, detail ? JSON.stringify(detail) : null),
    );
  }

  /** A line on the main connection: inside the caller's transaction when there is one. */
  inTransaction(kind: string, subject: string | null, detail?: Record<string, unknown>): void {
    this.s.main.run(this.clock(), kind, subject, detail ? JSON.stringify(detail) : null);
  }
}
