import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { HostStore, StoreError } from '../../host/store/host-store.js';
import { retryStore } from '../../host/store/retry-store.js';
import { STORE_UNAVAILABLE } from '../../host/store/store-errors.js';
import { DATA_FILES } from '../../host/daemon/daemon.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';

const TERMINAL = 'T-TEST-01';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The issue's bound: no store call may hold the event loop longer than this. */
const MAX_BLOCK_MS = 100;

/**
 * Another process holding the queue file's write lock (BEGIN EXCLUSIVE), as a second daemon, a backup
 * tool or an sqlite3 shell would. A real process, so the lock is not our own thread's to wait out.
 */
async function lockInChild(file: string): Promise<{ release(): Promise<void>; child: ChildProcessWithoutNullStreams }> {
  const script = `const Database = require('better-sqlite3');
const db = new Database(process.env.LOCK_FILE);
db.pragma('busy_timeout = 5000');
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, LOCK_FILE: file } });
  let out = '';
  const saw = (what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes(what)) {
          child.stdout.off('data', onData);
          resolve();
        }
      };
      const onData = (c: Buffer) => {
        out += c.toString();
        check();
      };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before "${what}": ${out}`)));
      check();
    });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  await saw('locked').catch((e: Error) => {
    throw new Error(`${e.message} ${err}`);
  });
  let released = false;
  return {
    child,
    release: async () => {
      if (released) return;
      released = true;
      const done = saw('released');
      child.stdin.write('release\n');
      await done;
    },
  };
}

/** Time one synchronous store call and what it threw. */
function timed(fn: () => unknown): { ms: number; error: unknown } {
  const t0 = performance.now();
  try {
    fn();
    return { ms: performance.now() - t0, error: undefined };
  } catch (e) {
    return { ms: performance.now() - t0, error: e };
  }
}

function assertUnavailable(e: unknown, what: string): asserts e is StoreError {
  assert.ok(e instanceof StoreError, `${what}: expected StoreError ${STORE_UNAVAILABLE}, got ${String(e)}`);
  assert.equal(e.code, STORE_UNAVAILABLE, `${what}: code`);
  assert.match(
    e.message,
    /the queue database is locked or failing \(SQLITE_BUSY/,
    `${what}: the message says what is wrong`,
  );
  assert.match(
    e.hint,
    /try again in a moment.*(other program|holds the queue file)/,
    `${what}: the hint says what to do`,
  );
}

describe('security: a write-locked queue database never freezes the daemon (issue 12 item 9)', function () {
  this.timeout(60_000);
  const issuer = new TestIssuer();
  let dir: string;
  let file: string;
  let store: HostStore;
  let lock: Awaited<ReturnType<typeof lockInChild>> | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-store-lock-'));
    file = join(dir, 'queue.sqlite');
    store = HostStore.open(file);
  });
  afterEach(async () => {
    await lock?.release();
    lock = undefined;
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every write a sale makes, under another process's write lock: each throws STORE_UNAVAILABLE within 100 ms, the event loop never stalls, nothing half-written", async () => {
    const card = ForgedCard.issue(issuer.key);
    const other = ForgedCard.issue(issuer.key);
    const r1 = card.sign({ terminalId: TERMINAL, amount: 150 });
    const r2 = card.sign({ terminalId: TERMINAL, amount: 250 });
    store.observeCard(card.cardId, 0, new Uint8Array(32), card.certificate.envelope);
    store.createSale({
      saleId: 's1',
      hostNonce: new Uint8Array(16).fill(1),
      amount: 250,
      currency: 156,
      state: 'waiting_card',
    });
    store.storeRecord(r1, { origin: 'sale' });
    lock = await lockInChild(file);

    const writes: [string, () => unknown][] = [
      [
        'createSale',
        () =>
          store.createSale({
            saleId: 's2',
            hostNonce: new Uint8Array(16).fill(2),
            amount: 99,
            currency: 156,
            state: 'waiting_card',
          }),
      ],
      ['updateSale', () => store.updateSale('s1', { state: 'reading_card', reader: 'r' })],
      ['markSigning', () => store.markSigning('s1', card.cardId)],
      ['storeRecord', () => store.storeRecord(r2, { origin: 'sale', saleId: 's1' })],
      ['audit', () => store.audit('journal-gap', card.cardId, { from: 1 })],
      ['observeCard', () => store.observeCard(other.cardId, 0, new Uint8Array(32), other.certificate.envelope)],
      ['advanceHead', () => store.advanceHead(card.cardId, { counter: 9, hash: new Uint8Array(32).fill(9) })],
      ['passOver', () => store.passOver(other.sign({ terminalId: 'T-ELSEWHERE' }))],
    ];
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    for (const [name, fn] of writes) {
      const { ms, error } = timed(fn);
      assert.ok(ms < MAX_BLOCK_MS, `${name} held the event loop for ${ms.toFixed(0)} ms (bound ${MAX_BLOCK_MS} ms)`);
      assertUnavailable(error, name);
      await new Promise((r) => setTimeout(r, 15)); // let the delay monitor tick between calls
    }
    h.disable();
    // A gross check of the whole run (timestamps above are the exact bound): 5 s per write before the fix.
    assert.ok(h.max / 1e6 < 2.5 * MAX_BLOCK_MS, `the event loop stalled for ${(h.max / 1e6).toFixed(0)} ms`);
    const markSigning = timed(() => store.markSigning('s1', card.cardId)).error;
    assertUnavailable(markSigning, 'markSigning');
    assert.match(markSigning.message, /nothing was charged/, 'the signing mark says the card was not asked');

    await lock.release();
    lock = undefined;
    assert.deepEqual(
      store.records().map((r) => [r.counter, r.amount]),
      [[1, 150]],
      'the record stored before the lock is there, nothing half-written after',
    );
    assert.equal(store.sale('s2'), undefined, 'the refused createSale left nothing');
    assert.equal(store.sale('s1')?.state, 'waiting_card');
    assert.equal(store.cardHead(card.cardId)?.counter, 1);
    assert.equal(store.cardHead(other.cardId), undefined);
    // And every write works again at once.
    store.markSigning('s1', card.cardId);
    assert.equal(store.storeRecord(r2, { origin: 'sale', saleId: 's1' }).already, false);
  });

  it('retryStore: retries with timers while the lock is held (the event loop keeps ticking), stores the signed record once the lock goes, exactly once', async () => {
    const card = ForgedCard.issue(issuer.key);
    const record = card.sign({ terminalId: TERMINAL, amount: 1234 });
    store.createSale({
      saleId: 's1',
      hostNonce: new Uint8Array(16).fill(1),
      amount: 1234,
      currency: 156,
      state: 'signing',
    });
    lock = await lockInChild(file);
    const held = lock;
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const t = performance.now();
      maxGap = Math.max(maxGap, t - last);
      last = t;
    }, 5);
    const retries: number[] = [];
    const started = performance.now();
    const stored = retryStore(() => store.storeRecord(record, { origin: 'sale', saleId: 's1' }), {
      budgetMs: 15_000,
      onRetry: (e, attempt) => {
        assert.equal(e.code, STORE_UNAVAILABLE);
        retries.push(attempt);
      },
    });
    setTimeout(() => void held.release(), 600);
    const res = await stored;
    clearInterval(ticker);
    lock = undefined;
    assert.equal(res.already, false);
    assert.ok(performance.now() - started >= 500, 'it waited for the lock to go');
    assert.ok(retries.length >= 3, `it retried while the lock was held (${retries.length} times)`);
    assert.ok(maxGap < MAX_BLOCK_MS, `the event loop stalled ${maxGap.toFixed(0)} ms while retrying`);
    assert.equal(store.records().length, 1);
    assert.equal(store.records()[0]!.amount, 1234);
    assert.equal(
      (await retryStore(() => store.storeRecord(record, { origin: 'sale', saleId: 's1' }))).already,
      true,
      'the same record again is a no-op',
    );
    assert.equal(store.records().length, 1, 'stored exactly once');
  });

  it('retryStore gives up at its budget with STORE_UNAVAILABLE, stops at once when aborted, and passes any other error through at once', async () => {
    const card = ForgedCard.issue(issuer.key);
    const record = card.sign({ terminalId: TERMINAL });
    lock = await lockInChild(file);
    let t0 = performance.now();
    await assert.rejects(
      retryStore(() => store.storeRecord(record, { origin: 'sale' }), { budgetMs: 300 }),
      (e: unknown) => {
        assertUnavailable(e, 'after the budget');
        return true;
      },
    );
    const spent = performance.now() - t0;
    assert.ok(spent >= 290 && spent < 2000, `gave up after ${spent.toFixed(0)} ms (budget 300)`);

    const ac = new AbortController();
    const reason = new Error('sale cancelled');
    setTimeout(() => ac.abort(reason), 100);
    t0 = performance.now();
    await assert.rejects(
      retryStore(() => store.storeRecord(record, { origin: 'sale' }), { budgetMs: 30_000, signal: ac.signal }),
      (e: unknown) => e === reason,
    );
    assert.ok(performance.now() - t0 < 1000, 'the abort ends the wait');

    let calls = 0;
    const fork = new StoreError('RECORD_FORK', 'two records', 'keep both');
    await assert.rejects(
      retryStore(() => {
        calls++;
        throw fork;
      }),
      (e: unknown) => e === fork,
    );
    assert.equal(calls, 1, 'a final error is not retried');
    await lock.release();
    lock = undefined;
    assert.equal(store.records().length, 0, 'nothing was written by the failed tries');
  });

  it('the daemon under a held lock: a new sale is refused at once with STORE_UNAVAILABLE (not a 5 s freeze), the API keeps answering, sales work again when the lock goes', async () => {
    const f = await DaemonFixture.start({ insert: false });
    try {
      lock = await lockInChild(join(f.daemon.config.dataDir, DATA_FILES.db));
      const t0 = performance.now();
      const refused = await f.api<{ error: { code: string; message: string; hint: string } }>('POST', '/api/v1/sales', {
        amount: 100,
      });
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `the refusal took ${ms.toFixed(0)} ms`);
      assert.equal(refused.status, 503, 'service unavailable: try again in a moment');
      assert.equal(refused.body.error.code, STORE_UNAVAILABLE);
      assert.ok(refused.body.error.hint.length > 0);
      const status = await f.api<{ terminalId?: string }>('GET', '/api/v1/status');
      assert.equal(status.status, 200, 'reads still answer (WAL readers do not wait for the writer)');
      await lock.release();
      lock = undefined;
      const ok = await f.api<{ saleId: string }>('POST', '/api/v1/sales', { amount: 100 });
      assert.ok(ok.status === 200 || ok.status === 201, `a sale starts again: ${ok.status} ${JSON.stringify(ok.body)}`);
      await f.api('POST', `/api/v1/sales/${ok.body.saleId}/cancel`);
    } finally {
      await lock?.release();
      lock = undefined;
      await f.stop();
    }
  });
});
