import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from './database.js';
import { isStoreUnavailable, sqliteCode, storeUnavailable } from './store-errors.js';

export interface RetryStoreOptions {
  /** How long to keep trying, from the first try (ms). Default 10 000. The first try is always made. */
  budgetMs?: number;
  /** Stop waiting at once when aborted: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** First wait between tries (ms), doubled per try up to `maxDelayMs`. Default 20. */
  firstDelayMs?: number;
  /** Longest wait between tries (ms). Default 250. */
  maxDelayMs?: number;
  /** Called before each wait (for a log line or a "waiting for the queue database" notice). */
  onRetry?: (error: StoreError, attempt: number, delayMs: number) => void;
  /** Time source (ms), for tests. */
  now?: () => number;
}

/**
 * Retry a synchronous store call while the queue database is locked or failing (STORE_UNAVAILABLE),
 * without ever blocking the event loop: each try is one short synchronous call (SQLite's busy timeout
 * is short, database.ts), and the waits between tries are timers, so the API, the event stream and the
 * serial/HID link timers keep running meanwhile.
 *
 * Resolves with `fn`'s result. Rejects with the first error that is not STORE_UNAVAILABLE (at once:
 * e.g. RECORD_FORK is final), with the last STORE_UNAVAILABLE StoreError when the budget is spent, or
 * with `signal.reason` when aborted. `fn` must be safe to repeat: every HostStore write is one
 * transaction that either committed or left nothing, and storeRecord of the same record is a no-op.
 */
export async function retryStore<T>(fn: () => T, o: RetryStoreOptions = {}): Promise<T> {
  const now = o.now ?? Date.now;
  const budget = o.budgetMs ?? 10_000;
  const first = Math.max(1, o.firstDelayMs ?? 20);
  const max = Math.max(first, o.maxDelayMs ?? 250);
  const started = now();
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    let error: StoreError;
    try {
      return fn();
    } catch (e) {
      if (!isStoreUnavailable(e)) throw e;
      // A raw SqliteError from a store method that has no guard of its own: typed here, the same way.
      error = e instanceof StoreError ? e : storeUnavailable(e as Error, sqliteCode(e)!, 'the change');
    }
    const left = budget - (now() - started);
    if (left <= 0) throw error;
    // Exponential, with jitter so two waiting writers do not retry in step; never past the budget.
    const ceiling = Math.min(max, first * 2 ** Math.min(attempt - 1, 16));
    const delay = Math.max(1, Math.min(left, Math.round(ceiling / 2 + Math.random() * (ceiling / 2))));
    o.onRetry?.(error, attempt, delay);
    await sleep(delay, undefined, o.signal ? { signal: o.signal } : undefined).catch((e: unknown) => {
      throw o.signal?.aborted ? o.signal.reason : e;
    });
  }
}
