import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CardpostError } from '../../protocol/errors.js';
import { StoreError, type HostStore } from '../store/host-store.js';
import { BankError, type BankClient } from './bank-client.js';

export type SettlementState = 'offline' | 'idle' | 'sending' | 'backing_off' | 'blocked' | 'stopped';

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
  bank: BankClient;
  /** Records per batch (the bank takes at most 1000). */
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
  private urgent = false;
  private readonly st: SettlementStatus = {
    online: false, state: 'stopped', lastContactAt: null, inFlightBatch: null, nextAttemptAt: null, consecutiveFailures: 0, lastError: null,
  };

  constructor(private readonly o: SettlementWorkerOptions) {
    super();
    this.batchSize = Math.min(Math.max(o.batchSize ?? 500, 1), 1000);
    this.healthIntervalMs = o.healthIntervalMs ?? 5000;
    this.backoff = o.backoff ?? { baseMs: 500, maxMs: 60_000 };
    this.random = o.random ?? Math.random;
    this.clock = o.clock ?? Date.now;
  }

  status(): SettlementStatus { return { ...this.st }; }

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

  /** Something new to settle, or the merchant pressed "settle now": try at once, skipping the backoff. */
  poke(): void {
    this.urgent = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.urgent = false;
      if (!this.st.online) {
        const h = await this.o.bank.health();
        if (!h.ok) {
          this.set({ online: false, state: 'offline', nextAttemptAt: this.clock() + this.healthIntervalMs });
          await this.sleep(this.healthIntervalMs);
          continue;
        }
        this.set({ online: true, lastContactAt: this.clock(), state: 'idle' });
        this.o.log?.info({ bank: this.o.bank.url }, 'bank reachable');
      }
      const batch = this.o.store.nextBatch(() => randomBytes(16).toString('hex'), this.batchSize);
      if (!batch) {
        this.set({ state: 'idle', inFlightBatch: null, nextAttemptAt: null });
        await this.sleep(this.healthIntervalMs);
        // Idle: check the bank is still there, so "online" on the counter page stays true to life.
        if (this.running && !this.urgent) {
          const h = await this.o.bank.health();
          this.set(h.ok ? { online: true, lastContactAt: this.clock() } : { online: false, state: 'offline' });
        }
        continue;
      }
      this.set({ state: 'sending', inFlightBatch: batch.batchId, nextAttemptAt: null });
      const started = this.clock();
      try {
        const answer = await this.o.bank.submitBatch(batch.batchId, batch.body, batch.records);
        const counts = this.o.store.applyVerdicts(batch.batchId, answer.verdicts, answer.settledAt);
        this.o.store.noteAttempt(batch.batchId, null);
        const outcome: BatchOutcome = { batchId: batch.batchId, records: batch.records, ...counts, replayed: answer.replayed, attempts: batch.attempts + 1, latencyMs: this.clock() - started };
        this.set({ online: true, lastContactAt: this.clock(), consecutiveFailures: 0, lastError: null, inFlightBatch: null });
        this.o.log?.info(outcome, 'batch settled');
        this.emit('batch', outcome);
      } catch (e) {
        await this.onFailure(batch.batchId, e);
      }
    }
  }

  private async onFailure(batchId: string, e: unknown): Promise<void> {
    const err = e instanceof CardpostError ? e
      : new CardpostError('SETTLEMENT_INTERNAL', `settlement failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`, 'report this with the daemon log');
    const outcome = e instanceof BankError ? e.outcome : e instanceof StoreError && e.code === 'BATCH_ANSWER_MISMATCH' ? 'unknown' : 'refused';
    this.o.store.noteAttempt(batchId, `${err.code}: ${err.message}`);
    const failures = this.st.consecutiveFailures + 1;
    // Full jitter (AWS architecture blog): spreads the retries of many counters after an outage.
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failures - 1, 20));
    const retryAfter = e instanceof BankError ? e.retryAfterMs ?? 0 : 0;
    const delay = outcome === 'refused' ? this.backoff.maxMs : Math.max(retryAfter, Math.floor(this.random() * ceiling));
    // No answer, or "service unavailable" from the bank or its gateway: the bank is down for the counter, which
    // shows "offline", and the worker goes back to health checks before the next send.
    const unreachable = e instanceof BankError && (e.code === 'BANK_UNREACHABLE' || (e.status !== undefined && [502, 503, 504].includes(e.status)));
    this.set({
      state: outcome === 'refused' ? 'blocked' : 'backing_off', consecutiveFailures: failures, nextAttemptAt: this.clock() + delay,
      lastError: { code: err.code, message: err.message, hint: err.hint },
      ...(unreachable ? { online: false } : { lastContactAt: this.clock() }),
    });
    this.o.log?.warn({ batchId, code: err.code, err: err.message, delayMs: delay }, 'batch not settled yet');
    this.emit('attemptFailed', { batchId, error: err, outcome });
    await this.sleep(delay);
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running || this.urgent) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }

  private set(patch: Partial<SettlementStatus>): void {
    const before = JSON.stringify(this.st);
    Object.assign(this.st, patch);
    if (JSON.stringify(this.st) !== before) this.emit('status', this.status());
  }
}
