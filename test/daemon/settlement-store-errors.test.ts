import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { bankLedger, forgeCards, sleep, storeAll, until } from '../support/settlement-helpers.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';
import { HostStore } from '../../host/store/host-store.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { BankError, type BankClient } from '../../host/settlement/bank-client.js';
import {
  SettlementWorker,
  STORE_UNAVAILABLE,
  type BatchOutcome,
  type SettlementStatus,
} from '../../host/settlement/settlement-worker.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

const TERMINAL = 'T-TEST-01';

/** A second process's hold on the queue file: a write lock (BEGIN EXCLUSIVE; in WAL mode readers still read). */
function holdLock(file: string): { release(): void } {
  const db = new Database(file);
  db.pragma('busy_timeout = 2000');
  db.exec('BEGIN EXCLUSIVE');
  return {
    release: () => {
      if (db.inTransaction) db.exec('COMMIT');
      db.close();
    },
  };
}

/** Fails the test if anything rejects unhandled while it runs (Node 20 would end the daemon). */
function watchUnhandled(): { seen: unknown[]; off(): void } {
  const seen: unknown[] = [];
  const on = (reason: unknown) => {
    seen.push(reason);
  };
  process.on('unhandledRejection', on);
  return { seen, off: () => process.off('unhandledRejection', on) };
}

describe('daemon: settlement when the queue database fails (real SQLite, simulated bank)', function () {
  this.timeout(60_000);
  let f: DaemonFixture | undefined;
  let lock: { release(): void } | undefined;
  let unhandled: ReturnType<typeof watchUnhandled>;
  beforeEach(() => {
    unhandled = watchUnhandled();
  });
  afterEach(async () => {
    lock?.release();
    lock = undefined;
    await f?.stop();
    f = undefined;
    unhandled.off();
  });

  it('SQLITE_BUSY (another process holds the queue file) when taking the next batch: no crash, blocked with a STORE_UNAVAILABLE message, every record settles once when the lock goes', async () => {
    f = await DaemonFixture.start({ insert: false });
    const fx = f;
    const store = fx.daemon.store;
    store.db.pragma('busy_timeout = 25'); // 5 s in production; keeps the test short
    const cards = forgeCards(fx, 3);
    const records = Array.from({ length: 30 }, (_, i) => cards[i % 3]!.sign({ terminalId: TERMINAL, amount: 10 + i }));
    // Stored and locked in one synchronous step: the worker cannot take them between the two.
    storeAll(store, records);
    lock = holdLock(join(fx.dir, 'data', DATA_FILES.db));
    fx.daemon.worker.poke();

    await until(
      () => fx.daemon.worker.status().lastError?.code === STORE_UNAVAILABLE,
      'the worker to report the store failure',
      5000,
    );
    const st = fx.daemon.worker.status();
    assert.equal(st.state, 'blocked');
    assert.match(
      st.lastError!.message,
      /the queue database could not be read or written \(SQLITE_BUSY: database is locked\)/,
    );
    assert.match(st.lastError!.message, /no record is lost, settlement retries in \d+ s by itself/);
    assert.match(st.lastError!.hint, /no other process .* holds the queue file/);
    assert.ok(st.nextAttemptAt !== null && st.nextAttemptAt > Date.now() - 1000);
    await until(
      () => fx.daemon.worker.status().consecutiveFailures >= 3,
      'retries with backoff while the lock is held',
      10_000,
    );
    const api = await fx.api<SettlementStatus>('GET', '/api/v1/settlement');
    assert.equal(api.body.state, 'blocked', 'the API shows it too');
    assert.equal(api.body.lastError?.code, STORE_UNAVAILABLE);
    assert.equal(store.statusCounts().pending.count, 30, 'nothing moved');
    assert.equal(bankLedger(fx).settled.length, 0);

    lock.release();
    lock = undefined;
    await until(() => store.statusCounts().settled.count === 30, 'everything to settle once the lock is gone', 15_000);
    const ledger = bankLedger(fx);
    assert.equal(ledger.settled.length, 30, 'the bank holds each record once');
    assert.equal(new Set(ledger.settled.map((s) => s.recordId)).size, 30);
    assert.equal(store.statusCounts().duplicate.count, 0);
    const after = fx.daemon.worker.status();
    assert.equal(after.lastError, null, 'the error is cleared once the store works');
    assert.equal(after.consecutiveFailures, 0);
    assert.deepEqual(unhandled.seen, [], 'no unhandled rejection');
  });

  it('SQLITE_BUSY after the bank answered (applying the verdicts): the batch stays in flight, is re-sent with the same id and bytes, the bank replays, nothing twice', async () => {
    f = await DaemonFixture.start({ insert: false });
    const fx = f;
    const store = fx.daemon.store;
    store.db.pragma('busy_timeout = 25');
    const file = join(fx.dir, 'data', DATA_FILES.db);
    const sends: { batchId: string; body: string }[] = [];
    const bank = fx.daemon.bank;
    const original = bank.submitBatch.bind(bank);
    bank.submitBatch = async (batchId, body, n) => {
      sends.push({ batchId, body: Buffer.from(body).toString() });
      const answer = await original(batchId, body, n);
      // The bank has committed; another process takes the file before the host applies the answer.
      if (sends.length === 1) lock = holdLock(file);
      return answer;
    };
    const outcomes: BatchOutcome[] = [];
    fx.daemon.worker.on('batch', (b) => outcomes.push(b));
    const [card] = forgeCards(fx, 1) as [ForgedCard];
    storeAll(
      store,
      Array.from({ length: 8 }, (_, i) => card.sign({ terminalId: TERMINAL, amount: 100 + i })),
    );
    fx.daemon.worker.poke();

    await until(
      () => fx.daemon.worker.status().lastError?.code === STORE_UNAVAILABLE,
      'the failed apply to show',
      5000,
    );
    const st = fx.daemon.worker.status();
    assert.equal(st.state, 'blocked');
    assert.equal(st.inFlightBatch, sends[0]!.batchId);
    assert.equal(store.statusCounts().sending.count, 8, 'the answer was not applied: the batch is still in flight');
    assert.equal(bankLedger(fx).settled.length, 8, 'the bank did commit it');
    await until(() => fx.daemon.worker.status().consecutiveFailures >= 2, 'a retry while still locked', 10_000);
    assert.equal(sends.length, 1, 'nothing is sent while the queue cannot be read');

    lock!.release();
    lock = undefined;
    await until(() => store.statusCounts().settled.count === 8, 'the batch to settle after the lock goes', 15_000);
    assert.ok(sends.length >= 2);
    assert.ok(
      sends.every((s) => s.batchId === sends[0]!.batchId && s.body === sends[0]!.body),
      're-sent under the same id, byte for byte',
    );
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.replayed, true, 'the bank replayed its stored answer');
    assert.equal(outcomes[0]!.accepted, 8);
    const ledger = bankLedger(fx);
    assert.equal(ledger.settled.length, 8);
    assert.deepEqual(ledger.batches, [sends[0]!.batchId], 'the bank saw one batch');
    assert.equal(store.statusCounts().duplicate.count, 0);
    assert.deepEqual(unhandled.seen, [], 'no unhandled rejection');
  });

  it('during a bank outage, sales at the counter do not cut the backoff short (6 sales, not 6 bank requests); "settle now" still does', async () => {
    f = await DaemonFixture.start({
      config: { bank: { healthIntervalMs: 10_000, backoffBaseMs: 10_000, backoffMaxMs: 10_000 } },
    });
    const fx = f;
    const requests: { what: string; at: number }[] = [];
    const bank = fx.daemon.bank;
    const health = bank.health.bind(bank);
    const submit = bank.submitBatch.bind(bank);
    bank.health = () => {
      requests.push({ what: 'health', at: Date.now() });
      return health();
    };
    bank.submitBatch = (id, body, n) => {
      requests.push({ what: 'batch', at: Date.now() });
      return submit(id, body, n);
    };
    const failed: number[] = [];
    fx.daemon.worker.on('attemptFailed', () => failed.push(Date.now()));
    const sale = async (amount: number) => {
      const id = (await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount })).body.saleId;
      assert.equal((await fx.waitForSale(id)).state, 'done');
    };
    await until(() => fx.daemon.worker.status().state === 'idle', 'the worker to be idle');

    fx.bank.setFaults({ down: true });
    await sale(100); // wakes the idle worker at once: the send fails (503, Retry-After 5 s) and it backs off
    await until(() => failed.length === 1, 'the first failed send', 5000);
    const backingOff = fx.daemon.worker.status();
    assert.equal(backingOff.state, 'backing_off');
    const backoffEnds = backingOff.nextAttemptAt!;
    const mark = requests.length;
    for (let i = 0; i < 6; i++) await sale(200 + i);
    assert.ok(
      Date.now() < backoffEnds,
      "the sales fitted in the backoff (at least the bank's Retry-After of 5 s; else the test proves nothing)",
    );
    const early = requests.slice(mark).filter((r) => r.at < backoffEnds);
    assert.equal(
      early.length,
      0,
      `6 sales during the outage made ${early.length} bank requests before the backoff ended (${early.map((r) => r.what).join(', ')})`,
    );

    fx.bank.setFaults({ down: false });
    const now = await fx.api<SettlementStatus>('POST', '/api/v1/settlement');
    assert.equal(now.status, 202);
    await until(() => fx.daemon.store.statusCounts().settled.count === 7, '"settle now" to settle all 7 at once', 5000);
    assert.equal(bankLedger(fx).settled.length, 7);
    assert.deepEqual(unhandled.seen, []);
  });
});

describe('daemon: settlement worker, store failures and new records (stub bank, real SQLite)', function () {
  this.timeout(20_000);
  let dir: string;
  let store: HostStore;
  let worker: SettlementWorker | undefined;
  let lock: { release(): void } | undefined;
  let unhandled: ReturnType<typeof watchUnhandled>;
  const issuer = new TestIssuer();
  const card = ForgedCard.issue(issuer.key);
  let counter = 0;
  const addRecord = () => store.storeRecord(card.sign({ terminalId: TERMINAL, amount: ++counter }), { origin: 'sale' });

  function stubBank(): {
    bank: BankClient;
    sends: string[];
    health: { calls: number; ok: boolean };
    fail: { error: BankError | undefined; lockFirst: boolean };
  } {
    const sends: string[] = [];
    const health = { calls: 0, ok: true };
    const fail: { error: BankError | undefined; lockFirst: boolean } = { error: undefined, lockFirst: false };
    const bank = {
      url: 'stub',
      health: async () => {
        health.calls++;
        return { ok: health.ok };
      },
      submitBatch: async (batchId: string, body: Uint8Array, n: number) => {
        sends.push(batchId);
        if (fail.lockFirst) {
          fail.lockFirst = false;
          lock = holdLock(join(dir, 'q.sqlite'));
        }
        if (fail.error) throw fail.error;
        assert.equal((JSON.parse(Buffer.from(body).toString()) as { records: string[] }).records.length, n);
        return {
          batchId,
          settledAt: 1_900_000_000,
          replayed: false,
          verdicts: Array.from({ length: n }, () => ({ verdict: 'accepted' as const, recordId: null })),
        };
      },
    } as unknown as BankClient;
    return { bank, sends, health, fail };
  }

  beforeEach(() => {
    unhandled = watchUnhandled();
    dir = mkdtempSync(join(tmpdir(), 'cardpost-worker-store-'));
    store = HostStore.open(join(dir, 'q.sqlite'));
    store.db.pragma('busy_timeout = 25');
    counter = 0;
  });
  afterEach(async () => {
    lock?.release();
    lock = undefined;
    await worker?.stop();
    worker = undefined;
    store.close();
    rmSync(dir, { recursive: true, force: true });
    unhandled.off();
  });

  it('disk full (SQLITE_FULL): blocked, one warning per failure, the same jittered backoff as for the bank, resumes by itself', async () => {
    const { bank, sends } = stubBank();
    const warnings: { o: object; msg: string }[] = [];
    const log = {
      info: () => undefined,
      warn: (o: object, msg: string) => {
        warnings.push({ o, msg });
      },
    };
    const T0 = 1_000_000;
    const at: number[] = [];
    worker = new SettlementWorker({
      store,
      bank,
      backoff: { baseMs: 100, maxMs: 400 },
      random: () => 0.5,
      clock: () => T0,
      healthIntervalMs: 60_000,
      log,
    });
    let seen = 0;
    worker.on('status', (s) => {
      if (s.consecutiveFailures > seen) {
        seen = s.consecutiveFailures;
        at.push(s.nextAttemptAt!);
      }
    });
    for (let i = 0; i < 50; i++) addRecord(); // a batch body of several pages
    // No more pages for the main connection: the next batch cannot be written, as on a full disk.
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
    worker.start();
    await until(() => worker!.status().consecutiveFailures >= 4, 'four failures', 5000, 5);
    const st = worker.status();
    assert.equal(st.state, 'blocked');
    assert.equal(st.lastError?.code, STORE_UNAVAILABLE);
    assert.match(st.lastError!.message, /SQLITE_FULL/);
    assert.match(st.lastError!.hint, /free space on the disk/);
    assert.deepEqual(
      at.slice(0, 4),
      [T0 + 50, T0 + 100, T0 + 200, T0 + 200],
      'full jitter under a doubling ceiling, capped at maxMs',
    );
    assert.equal(warnings.length, st.consecutiveFailures, 'one warning per failure');
    assert.match(warnings[0]!.msg, /queue database/);
    assert.equal(sends.length, 0);

    store.db.pragma('max_page_count = 1073741823');
    await until(() => store.statusCounts().settled.count === 50, 'settlement to resume by itself', 5000, 5);
    assert.equal(sends.length, 1, 'sent once');
    assert.equal(worker.status().lastError, null);
    assert.deepEqual(unhandled.seen, []);
  });

  it('a bank failure whose note to the queue fails (SQLITE_BUSY): no crash, blocked on the store, then the same batch settles', async () => {
    const { bank, sends, fail } = stubBank();
    worker = new SettlementWorker({ store, bank, backoff: { baseMs: 20, maxMs: 100 }, healthIntervalMs: 60_000 });
    addRecord();
    fail.error = new BankError('BANK_UNAVAILABLE', 'bank answered 503', 'retry', 'unknown', 503);
    fail.lockFirst = true;
    worker.start();
    await until(() => worker!.status().lastError?.code === STORE_UNAVAILABLE, 'the store failure to show', 5000, 5);
    assert.equal(worker.status().state, 'blocked');
    fail.error = undefined;
    await sleep(150);
    assert.equal(sends.length, 1, 'no send while the queue is locked');
    lock!.release();
    lock = undefined;
    await until(() => store.statusCounts().settled.count === 1, 'the record to settle', 5000, 5);
    assert.equal(new Set(sends).size, 1, 'one batch id');
    assert.deepEqual(unhandled.seen, []);
  });

  it('recordStored() wakes an idle worker at once, but not one backing off from or offline because of the bank; poke() does', async () => {
    const { bank, sends, health, fail } = stubBank();
    worker = new SettlementWorker({
      store,
      bank,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      random: () => 0.5,
      healthIntervalMs: 60_000,
    });
    worker.start();
    await until(() => worker!.status().state === 'idle', 'idle', 2000, 5);
    const healthAtIdle = health.calls;

    fail.error = new BankError('BANK_UNAVAILABLE', 'bank answered 503', 'retry', 'unknown', 503);
    addRecord();
    worker.recordStored();
    await until(() => sends.length === 1, 'the new record to be sent at once from idle', 1000, 5);
    await until(() => worker!.status().state === 'backing_off', 'the backoff', 1000, 5);
    for (let i = 0; i < 10; i++) {
      addRecord();
      worker.recordStored();
      await sleep(5);
    }
    await sleep(100);
    assert.equal(sends.length, 1, '10 new records during the backoff made no send');
    assert.equal(health.calls, healthAtIdle, '...and no health check');

    health.ok = false;
    worker.poke(); // "settle now": skips the backoff; the bank is down, so the worker goes offline
    await until(() => worker!.status().state === 'offline', 'offline', 1000, 5);
    const healthOffline = health.calls;
    for (let i = 0; i < 10; i++) {
      addRecord();
      worker.recordStored();
      await sleep(5);
    }
    await sleep(100);
    assert.equal(health.calls, healthOffline, '10 new records while offline made no health check');
    assert.equal(sends.length, 1);

    health.ok = true;
    fail.error = undefined;
    worker.poke();
    await until(() => store.statusCounts().settled.count === 21, 'all 21 to settle after "settle now"', 2000, 5);
    assert.deepEqual(unhandled.seen, []);
  });
});
