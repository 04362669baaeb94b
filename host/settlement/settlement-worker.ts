import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CardpostError } from '../../protocol/errors.js';
import { StoreError, type HostStore } from '../store/host-store.js';
import { BankError, type BatchAnswer } from './bank-client.js';
import type { SettlementLink } from './settlement-link.js';
import { isRetry, STORE_UNAVAILABLE } from '../errors/registry.js';

export type SettlementState = 'offline' | 'idle' | 'sending' | 'backing_off' | 'blocked' | 'stopped';

/** lastError.code while the queue database fails (SQLite busy, disk full, I/O error); the status is `blocked`. */
export { STORE_UNAVAILABLE };

type SleepKind = 'idle' | 'offline' | 'bank' | 'store';

export interface SettlementStatus {
  online: boolean;
  state: SettlementState;
  /** Last time the bank answered anything (ms since epoch). */
  lastContactAt: number | null;
  inFlightBatch: string | null;
  nextAttemptAt: number | null;
  consecutiveFailures: number;
  lastError: { code: string; message: string; hint: string } | null;
}

export interface BatchOutcome {
  batchId: string;
  records: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  replayed: boolean;
  attempts: number;
  latencyMs: number;
}

export interface SettlementWorkerEvents {
  status: [SettlementStatus];
  batch: [BatchOutcome];
  attemptFailed: [{ batchId: string; error: CardpostError; outcome: 'unknown' | 'refused' }];
}

export interface SettlementWorkerOptions {
  store: HostStore;
  /** The HTTP bank client or the ISO 8583 acquirer link (settlement-link.ts). */
  bank: SettlementLink;
  /** Records per batch (the bank takes at most 1000, the ISO 8583 link 999). */
  batchSize?: number;
  /** How often the bank's health is checked while offline or idle. */
  healthIntervalMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
  clock?: () => number;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * Settles the queue to the bank. One batch at a time, oldest records first, read from SQLite in
 * pages (memory does not grow with the backlog). A batch's id and bytes are fixed in the database
 * before its first send; until the bank answers it, that same batch is re-sent (after a crash too),
 * so the bank replays its stored answer and nothing settles twice. Per-record verdicts are applied
 * in one transaction; a rejected record is final and never holds up the others. Failures back off
 * exponentially with full jitter.
 */
export class SettlementWorker extends EventEmitter<SettlementWorkerEvents> {
  private readonly batchSize: number;
  private readonly healthIntervalMs: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly random: () => number;
  private readonly clock: () => number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** What the current sleep is waiting out: a new record may end an idle or store wait, never a bank backoff. */
  private sleeping: SleepKind | undefined;
  /** "Settle now" (or stop) since the iteration began: the next sleep is skipped. */
  private urgent = false;
  /** A new record was stored since the iteration began. */
  private fresh = false;
  /** The queue database failed on the last try (cleared, with a log line, once it works again). */
  private storeDown = false;
  /** The health-check failure last logged (code and message), while the bank is down; undefined while it answers. */
  private downLogged: string | undefined;
  private readonly st: SettlementStatus = {
    online: false,
    state: 'stopped',
    lastContactAt: null,
    inFlightBatch: null,
    nextAttemptAt: null,
    consecutiveFailures: 0,
    lastError: null,
  };

  constructor(private readonly o: SettlementWorkerOptions) {
    super();
    this.batchSize = Math.min(Math.max(o.batchSize ?? 500, 1), o.bank.maxBatchRecords ?? 1000);
    this.healthIntervalMs = o.healthIntervalMs ?? 5000;
    this.backoff = o.backoff ?? { baseMs: 500, maxMs: 60_000 };
    this.random = o.random ?? Math.random;
    this.clock = o.clock ?? Date.now;
  }

  status(): SettlementStatus {
    return { ...this.st };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loop;
    this.set({ state: 'stopped' });
  }

  /** The merchant pressed "settle now": try at once, skipping any wait, a bank backoff included. */
  poke(): void {
    this.urgent = true;
    this.wakeUp();
  }

  /**
   * A new record was stored: send it now if the worker is idle, or waiting out a queue database failure
   * (the store just committed a record, so it likely works again). A wait that is due to the bank (offline
   * health checks, backoff after a failed send, a refusal) is not cut short: during a bank outage every
   * sale at the counter would otherwise be an immediate retry, defeating the backoff.
   */
  recordStored(): void {
    this.fresh = true;
    if (this.sleeping === 'idle' || this.sleeping === 'store') this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.urgent = false;
      this.fresh = false;
      try {
        await this.step();
      } catch (e) {
        // Not a bank failure (those are handled in onFailure): the queue database failed (SQLITE_BUSY, _FULL,
        // _IOERR...) or something unexpected. Never let it escape: an unhandled rejection ends the daemon.
        try {
          await this.onStoreFailure(e);
        } catch {
          await this.sleep(this.backoff.maxMs, 'store'); // a status listener threw: still never end the loop
        }
      }
    }
  }

  /** One turn: make sure the bank is there, then send the batch in flight or the next one. */
  private async step(): Promise<void> {
    if (!this.st.online) {
      const h = await this.o.bank.health();
      if (!h.ok) {
        this.set({ online: false, state: 'offline', nextAttemptAt: this.clock() + this.healthIntervalMs });
        this.bankDown(h.problem);
        await this.sleep(this.healthIntervalMs, 'offline');
        return;
      }
      this.set({ online: true, lastContactAt: this.clock(), state: 'idle', ...this.bankBack() });
      this.o.log?.info({ bank: this.o.bank.url }, 'bank reachable');
    }
    const batch = this.o.store.nextBatch(() => randomBytes(16).toString('hex'), this.batchSize);
    if (this.storeDown) {
      this.storeDown = false;
      this.o.log?.info({}, 'queue database usable again, settlement resumes');
      this.set({ lastError: null, ...(batch ? {} : { consecutiveFailures: 0 }) });
    }
    if (!batch) {
      this.set({ state: 'idle', inFlightBatch: null, nextAttemptAt: null });
      await this.sleep(this.healthIntervalMs, 'idle');
      // Idle: check the bank is still there, so "online" on the counter page stays true to life.
      if (this.running && !this.urgent && !this.fresh) {
        const h = await this.o.bank.health();
        this.set(h.ok ? { online: true, lastContactAt: this.clock() } : { online: false, state: 'offline' });
        if (!h.ok) this.bankDown(h.problem);
      }
      return;
    }
    this.set({ state: 'sending', inFlightBatch: batch.batchId, nextAttemptAt: null });
    const started = this.clock();
    let answer: BatchAnswer;
    try {
      answer = await this.o.bank.submitBatch(batch.batchId, batch.body, batch.records);
    } catch (e) {
      await this.onFailure(batch.batchId, e);
      return;
    }
    let counts: { accepted: number; duplicate: number; rejected: number };
    try {
      counts = this.o.store.applyVerdicts(batch.batchId, answer.verdicts, answer.settledAt);
    } catch (e) {
      // An answer that does not match the batch is the bank's fault: back off as for a bank failure. Anything
      // else (SQLite) goes to onStoreFailure. Either way nothing was applied (one transaction) and the batch
      // stays in flight, to be re-sent byte for byte; the bank replays its stored answer.
      if (e instanceof StoreError && e.code === 'BATCH_ANSWER_MISMATCH') {
        await this.onFailure(batch.batchId, e);
        return;
      }
      throw e;
    }
    const outcome: BatchOutcome = {
      batchId: batch.batchId,
      records: batch.records,
      ...counts,
      replayed: answer.replayed,
      attempts: batch.attempts + 1,
      latencyMs: this.clock() - started,
    };
    this.set({
      online: true,
      lastContactAt: this.clock(),
      consecutiveFailures: 0,
      lastError: null,
      inFlightBatch: null,
    });
    this.o.log?.info(outcome, 'batch settled');
    this.emit('batch', outcome);
    // Bookkeeping only (the batch is answered and its verdicts committed): if it fails, onStoreFailure.
    this.o.store.noteAttempt(batch.batchId, null);
  }

  private async onFailure(batchId: string, e: unknown): Promise<void> {
    const err =
      e instanceof CardpostError
        ? e
        : new CardpostError(
            'SETTLEMENT_INTERNAL',
            `settlement failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`,
            'report this with the daemon log',
          );
    // The error registry's kind decides (host/errors): a passing failure (no answer, 5xx, an answer that does not
    // match the batch) may or may not have been processed, so the same batch is re-sent; anything else is a refusal.
    const outcome = isRetry(err) ? 'unknown' : 'refused';
    const failures = this.st.consecutiveFailures + 1;
    const retryAfter = e instanceof BankError ? (e.retryAfterMs ?? 0) : 0;
    const delay = outcome === 'refused' ? this.backoff.maxMs : Math.max(retryAfter, this.jitter(failures));
    // No answer, or "service unavailable" from the bank or its gateway: the bank is down for the counter, which
    // shows "offline", and the worker goes back to health checks before the next send.
    const unreachable =
      e instanceof BankError &&
      (e.code === 'BANK_UNREACHABLE' || (e.status !== undefined && [502, 503, 504].includes(e.status)));
    this.set({
      state: outcome === 'refused' ? 'blocked' : 'backing_off',
      consecutiveFailures: failures,
      nextAttemptAt: this.clock() + delay,
      lastError: { code: err.code, message: err.message, hint: err.hint },
      ...(unreachable ? { online: false } : { lastContactAt: this.clock() }),
    });
    this.o.log?.warn({ batchId, code: err.code, err: err.message, delayMs: delay }, 'batch not settled yet');
    this.emit('attemptFailed', { batchId, error: err, outcome });
    // After the status: if the queue database is what fails, this throws to run(), which backs off for the store.
    this.o.store.noteAttempt(batchId, `${err.code}: ${err.message}`);
    await this.sleep(delay, 'bank');
  }

  /**
   * The queue database (or something else that is not the bank) failed. Nothing is lost: every store
   * step is one transaction, so a record is still pending, or its batch still in flight and re-sent as
   * it is. State `blocked` with STORE_UNAVAILABLE (SETTLEMENT_INTERNAL if not SQLite) in lastError, the same jittered backoff as
   * for the bank, one warning per failure, and a new try after the wait (or at once when a record is stored
   * or the merchant presses "settle now").
   */
  private async onStoreFailure(e: unknown): Promise<void> {
    const failures = this.st.consecutiveFailures + 1;
    const delay = this.jitter(failures);
    const err = storeFailure(e, delay);
    this.storeDown = true;
    this.set({
      state: 'blocked',
      consecutiveFailures: failures,
      nextAttemptAt: this.clock() + delay,
      lastError: { code: err.code, message: err.message, hint: err.hint },
    });
    this.o.log?.warn(
      { code: err.code, err: err.message, batchId: this.st.inFlightBatch, delayMs: delay },
      'settlement paused: it could not use the queue database',
    );
    await this.sleep(delay, 'store');
  }

  /**
   * The bank's health check failed: why goes into lastError (a typo'd bank.url or a bank that died is seen on
   * the counter page and in GET /api/v1/settlement), and into the log once per change (not at every check).
   */
  private bankDown(problem: CardpostError | undefined): void {
    const err =
      problem ??
      new CardpostError(
        'BANK_UNREACHABLE',
        `bank at ${this.o.bank.url} did not answer its health check`,
        "if it persists, check bank.url in the daemon's config and that the bank is up",
      );
    this.set({ lastError: { code: err.code, message: err.message, hint: err.hint } });
    const key = `${err.code} ${err.message}`;
    if (key === this.downLogged) return;
    this.downLogged = key;
    this.o.log?.warn(
      { bank: this.o.bank.url, code: err.code, err: err.message },
      'bank not reachable: card payments are stored and settle when it answers',
    );
  }

  /** The bank answers again: the health check's error is over (a batch's own error stays until it settles). */
  private bankBack(): Partial<SettlementStatus> {
    if (this.downLogged === undefined) return {};
    this.downLogged = undefined;
    return { lastError: null };
  }

  /** Full jitter (AWS architecture blog): a random wait below a ceiling that doubles with each failure. */
  private jitter(failures: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failures - 1, 20));
    return Math.floor(this.random() * ceiling);
  }

  private sleep(ms: number, kind: SleepKind): Promise<void> {
    if (!this.running || this.urgent || (this.fresh && (kind === 'idle' || kind === 'store'))) return Promise.resolve();
    this.sleeping = kind;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      this.sleeping = undefined;
    });
  }

  private set(patch: Partial<SettlementStatus>): void {
    const before = JSON.stringify(this.st);
    Object.assign(this.st, patch);
    if (JSON.stringify(this.st) !== before) this.emit('status', this.status());
  }
}

/** A failure that is not the bank's, as an error a person can act on: STORE_UNAVAILABLE for SQLite's errors. */
function storeFailure(e: unknown, delayMs: number): CardpostError {
  const retry = `settlement retries in ${Math.max(1, Math.ceil(delayMs / 1000))} s by itself`;
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && !(e instanceof CardpostError) && typeof code === 'string' && code.startsWith('SQLITE_')) {
    const hint =
      code === 'SQLITE_FULL'
        ? 'free space on the disk that holds the data directory'
        : code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')
          ? 'if it persists, check that no other process (a second daemon, a backup tool, an sqlite3 shell) holds the queue file'
          : 'if it persists, check the disk that holds the data directory (space, errors in the system log) and that no other process holds the queue file';
    return new StoreError(
      STORE_UNAVAILABLE,
      `the queue database could not be read or written (${code}: ${e.message}); no record is lost, ${retry}`,
      hint,
      { cause: e },
    );
  }
  const what = e instanceof CardpostError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return new CardpostError(
    'SETTLEMENT_INTERNAL',
    `settlement failed unexpectedly (${what}); no record is lost, ${retry}`,
    'if it persists, report this with the daemon log',
    { cause: e },
  );
}
