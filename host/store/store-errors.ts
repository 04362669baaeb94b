import { StoreError } from './database.js';

/**
 * The queue database is locked by another process (SQLITE_BUSY, SQLITE_LOCKED), its disk is full
 * (SQLITE_FULL) or failing (SQLITE_IOERR_*): nothing was written, and the same call may work a moment
 * later. The API answers it 503; the settlement worker shows it as state `blocked`; a sale's signed
 * record is retried with retryStore (retry-store.ts) rather than dropped.
 */
export const STORE_UNAVAILABLE = 'STORE_UNAVAILABLE';

/** SQLite's extended error code of a better-sqlite3 SqliteError (e.g. "SQLITE_BUSY_SNAPSHOT"), if it is one. */
export function sqliteCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Whether a SQLite error code is one that may go away by itself (a lock released, space freed, a disk back). */
export function isTransientSqliteCode(code: string): boolean {
  return code === 'SQLITE_FULL' || /^SQLITE_(BUSY|LOCKED|IOERR)(_|$)/.test(code);
}

/** Whether `e` says the queue database is (for now) locked or failing: our STORE_UNAVAILABLE or SQLite's own error. */
export function isStoreUnavailable(e: unknown): boolean {
  if (e instanceof StoreError) return e.code === STORE_UNAVAILABLE;
  const code = sqliteCode(e);
  return code !== undefined && isTransientSqliteCode(code);
}

/**
 * SQLite's transient error as a StoreError a person can act on. `what` names what was not written
 * ("the sale's state"); `extra` is appended to the message (e.g. "nothing was charged").
 */
export function storeUnavailable(e: Error, code: string, what: string, extra?: string): StoreError {
  const hint =
    code === 'SQLITE_FULL'
      ? 'free space on the disk that holds the data directory, then try again'
      : /^SQLITE_(BUSY|LOCKED)/.test(code)
        ? 'try again in a moment; if it persists, close the other program that holds the queue file (a second daemon, a backup tool, an sqlite3 shell)'
        : 'try again in a moment; if it persists, check the disk that holds the data directory (space, errors in the system log)';
  return new StoreError(
    STORE_UNAVAILABLE,
    `the queue database is locked or failing (${code}: ${e.message}): ${what} was not written${extra ? `; ${extra}` : ''}`,
    hint,
    { cause: e },
  );
}

/**
 * Run one synchronous store write; SQLite's transient failures come out as StoreError
 * STORE_UNAVAILABLE (never a raw SqliteError), anything else unchanged. With the short busy
 * timeout (database.ts) the call returns or throws within about 50 ms, never the old 5 s.
 */
export function guardWrite<T>(what: string, fn: () => T, extra?: string): T {
  try {
    return fn();
  } catch (e) {
    const code = sqliteCode(e);
    if (code !== undefined && isTransientSqliteCode(code)) throw storeUnavailable(e as Error, code, what, extra);
    throw e;
  }
}
