import Database from 'better-sqlite3';
import { CardpostError } from '../../protocol/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * SQLite page cache per connection, in KiB. better-sqlite3 builds SQLite with 16 MB; the queue's work
 * is appends and index lookups whose hot pages fit in far less, and a cache that fills as the queue
 * grows is memory growing with the backlog (bench/settlement: peak RSS 1.24× at 100k vs 1k queued with
 * 16 MB, 1.12× with 2 MB, same records/s). The kernel's page cache still holds the file.
 */
export const PAGE_CACHE_KB = 2000;

/**
 * How long one statement waits for another process's lock on the queue file (ms). better-sqlite3 is
 * synchronous, so this wait holds the whole event loop (API, event stream, serial/HID link timers): it
 * must stay far below the 100 ms the daemon may ever be blocked. A write that still finds the file
 * locked throws STORE_UNAVAILABLE (store-errors.ts) and is retried with timers (retry-store.ts).
 */
export const BUSY_TIMEOUT_MS = 20;

/** The wait while opening and migrating, before anything else runs: a backup finishing is waited out. */
const OPEN_BUSY_TIMEOUT_MS = 5000;

/** The host database could not be opened, migrated or written. Codes are stable. */
export class StoreError extends CardpostError {}

/**
 * Open (or create) the host database and bring its schema up to date.
 *
 * WAL with synchronous=FULL: every commit fsyncs the write-ahead log before it returns, so a record
 * is on disk when storeRecord returns, which is when the receipt may be given (DESIGN: a receipt only
 * after the signed record is durable). Readers (the API) do not block the writer.
 */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw new StoreError(
      'STORE_OPEN_FAILED',
      `cannot open the queue database ${path}: ${(e as Error).message}`,
      "check that the data directory exists and is writable by the daemon's user",
    );
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    db.pragma(`cache_size = -${PAGE_CACHE_KB}`);
    const journal = db.pragma('journal_mode', { simple: true });
    if (journal !== 'wal' && path !== ':memory:') {
      throw new StoreError(
        'STORE_NOT_DURABLE',
        `${path}: SQLite refused WAL mode (${String(journal)})`,
        'put the data directory on a local disk',
      );
    }
    migrate(db, migrations);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `the queue database ${path} is locked by another process (${code}: ${(e as Error).message})`,
        'close the other program that holds the queue file (a second daemon, a backup tool, an sqlite3 shell), then start again',
        { cause: e },
      );
    }
    throw new StoreError(
      'STORE_CORRUPT',
      `the queue database ${path} cannot be used: ${(e as Error).message}`,
      'stop the daemon and keep the file for investigation (it holds signed records); restore from backup, or start with a new data directory',
    );
  }
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new StoreError(
      'STORE_TOO_NEW',
      `the queue database is at schema version ${current}, this cardpost knows only up to ${newest}`,
      'run the newer cardpost that wrote it; never downgrade a counter that holds unsettled records',
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/**
 * A second connection to the same file for bookkeeping writes (sale states, the audit log) that need
 * no fsync of their own: synchronous=NORMAL in WAL mode commits without syncing, and the next FULL
 * commit on the main connection (a stored record) syncs the shared log with everything before it. So a
 * sale costs two fsyncs (the signing mark before the card is asked, HostStore.markSigning, and its
 * record) instead of one per state change; a crash may lose the other sale states, never a record or
 * a signing mark (a sale is read back from its record, sale-engine.ts).
 */
export function openBookkeepingConnection(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(`cache_size = -${PAGE_CACHE_KB}`);
  return db;
}
