import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { bankLedger, forgeCards, sleep, storeAll, until } from '../support/settlement-helpers.js';
import { TestIssuer } from '../support/issuer.js';
import { ForgedCard } from '../support/record-forge.js';
import { HostStore } from '../../host/store/host-store.js';
import { BankError, type BankClient } from '../../host/settlement/bank-client.js';
import { SettlementWorker, type BatchOutcome, type SettlementStatus } from '../../host/settlement/settlement-worker.js';
import type { Reconciliation } from '../../host/settlement/reconcile.js';

const TERMINAL = 'T-TEST-01';
const today = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

describe('daemon: settlement to the simulated bank (real HTTP, faults)', function () {
  this.timeout(150_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it('300 records through 5xx, time-outs, answers lost after commit and an outage: all settle, each exactly once, never under two batch ids', async () => {
    f = await DaemonFixture.start({ config: { bank: { timeoutMs: 1000, batchSize: 20 } }, insert: false });
    const fx = f;
    const store = fx.daemon.store;
    // Every send, as the worker makes it: which records under which id, and whether another batch was open.
    const sends: { batchId: string; body: string; otherInFlight: number }[] = [];
    const bank = fx.daemon.bank;
    const original = bank.submitBatch.bind(bank);
    const otherOpen = store.db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM batches WHERE state = 'sending' AND batch_id != ?",
    );
    bank.submitBatch = (batchId, body, n) => {
      sends.push({ batchId, body: Buffer.from(body).toString(), otherInFlight: otherOpen.get(batchId)!.n });
      return original(batchId, body, n);
    };
    const outcomes: BatchOutcome[] = [];
    const statuses: SettlementStatus[] = [];
    fx.daemon.worker.on('batch', (b) => outcomes.push(b));
    fx.daemon.worker.on('status', (s) => statuses.push(s));

    fx.bank.setFaults({ errorRate: 0.3, timeoutRate: 0.1, dropAfterCommitRate: 0.3, seed: 4242 });
    const cards = forgeCards(fx, 6);
    const records = Array.from({ length: 300 }, (_, i) =>
      cards[i % cards.length]!.sign({ terminalId: TERMINAL, amount: 1 + (i % 97) }),
    );
    storeAll(store, records);
    fx.daemon.worker.poke();

    await until(() => store.statusCounts().settled.count >= 100, 'a third settled under faults', 60_000);
    fx.bank.setFaults({ down: true });
    const sinceDown = statuses.length; // a time-out fault before this may already have shown "offline": look only after
    await until(
      () => statuses.slice(sinceDown).some((s) => !s.online),
      'the worker to notice the bank is down',
      10_000,
    );
    await sleep(600);
    const settledWhileDown = store.statusCounts().settled.count;
    await sleep(400);
    assert.equal(store.statusCounts().settled.count, settledWhileDown, 'nothing settles while the bank is down');
    fx.bank.setFaults({ down: false });
    await until(() => store.statusCounts().settled.count === 300, 'everything to settle after the outage', 60_000);

    const counts = store.statusCounts();
    assert.equal(
      counts.duplicate.count,
      0,
      'no duplicate verdict: every retry re-sent the same batch id, so the bank replayed its answer',
    );
    assert.equal(counts.rejected.count, 0);
    assert.equal(counts.pending.count + counts.sending.count, 0);

    const ledger = bankLedger(fx);
    assert.equal(ledger.settled.length, 300, 'the bank ledger holds each record once');
    const hostRows = store.records({ limit: 1000 });
    const hostBatch = new Map(hostRows.map((r) => [r.recordId, r.batchId]));
    assert.deepEqual(ledger.settled.map((s) => s.recordId).sort(), [...hostBatch.keys()].sort());
    for (const s of ledger.settled)
      assert.equal(s.batchId, hostBatch.get(s.recordId), `${s.recordId}: host and bank name the same batch`);

    // Never re-sent under a new id while one is in flight; every attempt of an id sent the same bytes.
    assert.ok(
      sends.every((s) => s.otherInFlight === 0),
      'a new batch was only ever sent with no other batch open',
    );
    const bodies = new Map<string, Set<string>>();
    for (const s of sends) bodies.set(s.batchId, (bodies.get(s.batchId) ?? new Set()).add(s.body));
    for (const [id, set] of bodies) assert.equal(set.size, 1, `batch ${id} was re-sent with different bytes`);
    const batchOfRecord = new Map<string, Set<string>>();
    for (const [id, set] of bodies) {
      for (const env of (JSON.parse([...set][0]!) as { records: string[] }).records)
        batchOfRecord.set(env, (batchOfRecord.get(env) ?? new Set()).add(id));
    }
    assert.equal(batchOfRecord.size, 300);
    assert.ok(
      [...batchOfRecord.values()].every((s) => s.size === 1),
      'no record was ever sent under two batch ids',
    );
    assert.ok(
      sends.length > bodies.size,
      `faults made the worker retry (${sends.length} sends for ${bodies.size} batches)`,
    );
    assert.ok(
      outcomes.some((o) => o.replayed),
      'at least one answer lost after commit was replayed by the bank (Idempotent-Replayed)',
    );
    assert.equal(
      outcomes.reduce((n, o) => n + o.accepted, 0),
      300,
    );
  });

  it('a crash between sending a batch and applying its answer: after restart the same batch id is re-sent, the bank replays, nothing twice', async () => {
    f = await DaemonFixture.start({ insert: false });
    await f.daemon.worker.stop(); // the "process" sends by hand below, then dies
    const cards = forgeCards(f, 2);
    storeAll(
      f.daemon.store,
      Array.from({ length: 12 }, (_, i) => cards[i % 2]!.sign({ terminalId: TERMINAL, amount: 50 + i })),
    );
    const batch = f.daemon.store.nextBatch(() => randomBytes(16).toString('hex'), 500)!;
    const first = await f.daemon.bank.submitBatch(batch.batchId, batch.body, batch.records);
    assert.equal(first.replayed, false);
    assert.equal(first.verdicts.filter((v) => v.verdict === 'accepted').length, 12, 'the bank committed the batch');
    assert.equal(f.daemon.store.statusCounts().sending.count, 12, 'the host never applied the answer');

    await f.restart();
    const outcome = await new Promise<BatchOutcome>((resolve) => f!.daemon.worker.once('batch', resolve));
    assert.equal(outcome.batchId, batch.batchId, 'the in-flight batch is re-sent under its own id');
    assert.equal(outcome.replayed, true, 'the bank answered Idempotent-Replayed: true');
    assert.equal(outcome.accepted, 12);
    assert.equal(f.daemon.store.statusCounts().settled.count, 12);
    assert.equal(f.daemon.store.statusCounts().duplicate.count, 0);
    const ledger = bankLedger(f);
    assert.equal(ledger.settled.length, 12);
    assert.deepEqual(ledger.batches, [batch.batchId], 'the bank saw one batch');
  });

  it('per-record rejection (revoked card, wrong terminal) does not hold up the other records', async () => {
    f = await DaemonFixture.start({ insert: false });
    const [good, revoked, foreign] = forgeCards(f, 3) as [ForgedCard, ForgedCard, ForgedCard];
    f.bank.revokeCard(revoked.cardId);
    const recs = [
      good.sign({ terminalId: TERMINAL }),
      revoked.sign({ terminalId: TERMINAL }),
      foreign.sign({ terminalId: 'T-OTHER-9' }),
      good.sign({ terminalId: TERMINAL }),
      revoked.sign({ terminalId: TERMINAL }),
      good.sign({ terminalId: TERMINAL }),
    ];
    storeAll(f.daemon.store, recs);
    f.daemon.worker.poke();
    const store = f.daemon.store;
    await until(
      () => store.statusCounts().pending.count + store.statusCounts().sending.count === 0,
      'every record to get a verdict',
    );
    const by = (c: ForgedCard) => store.records().filter((r) => r.cardId === c.cardId);
    assert.deepEqual(
      by(good).map((r) => r.status),
      ['settled', 'settled', 'settled'],
    );
    assert.deepEqual(
      by(revoked).map((r) => [r.status, r.reason]),
      [
        ['rejected', 'REVOKED'],
        ['rejected', 'REVOKED'],
      ],
    );
    assert.deepEqual(
      by(foreign).map((r) => [r.status, r.reason]),
      [['rejected', 'WRONG_TERMINAL']],
    );
    const q = await f.api<{ records: { recordId: string; advice?: string }[] }>('GET', '/api/v1/queue?status=rejected');
    assert.equal(q.status, 200);
    assert.equal(q.body.records.length, 3);
    assert.ok(
      q.body.records.every((r) => typeof r.advice === 'string' && r.advice.length > 0),
      'each rejected record carries advice for the merchant',
    );
    // and the queue goes on
    storeAll(store, [good.sign({ terminalId: TERMINAL })]);
    f.daemon.worker.poke();
    await until(() => store.statusCounts().settled.count === 4, 'a later record of the good card to settle');
  });

  it('reconciliation: match after settlement; a host row tampered with is reported as a mismatch', async () => {
    f = await DaemonFixture.start({ insert: false });
    const [card] = forgeCards(f, 1) as [ForgedCard];
    storeAll(
      f.daemon.store,
      Array.from({ length: 5 }, (_, i) => card.sign({ terminalId: TERMINAL, amount: 100 * (i + 1) })),
    );
    f.daemon.worker.poke();
    const store = f.daemon.store;
    await until(() => store.statusCounts().settled.count === 5, 'settlement');
    const days = [...new Set(store.records().map((r) => today(r.settledAt!)))];
    for (const day of days) {
      const rec = await f.daemon.reconcile(day);
      assert.equal(rec.match, true, `${day}: ${JSON.stringify(rec.lines)}`);
    }
    const total = (await Promise.all(days.map((d) => f!.daemon.reconcile(d))))
      .flatMap((r) => r.lines)
      .reduce((n, l) => n + l.bank.amount, 0);
    assert.equal(total, 1500);

    const victim = store.records()[2]!;
    store.db.prepare('UPDATE records SET amount = amount + 1 WHERE seq = ?').run(victim.seq);
    const day = today(victim.settledAt!);
    const api = await f.api<Reconciliation>('GET', `/api/v1/reconciliation?date=${day}`);
    assert.equal(api.status, 200);
    assert.equal(api.body.match, false);
    const line = api.body.lines.find((l) => l.currency === 156)!;
    assert.equal(line.match, false);
    assert.equal(line.host.amount, line.bank.amount + 1, 'the difference is the tampered amount');
    assert.equal(line.host.count, line.bank.count);
  });
});

describe('daemon: settlement worker backoff (stub bank)', function () {
  this.timeout(10_000);
  let dir: string;
  let store: HostStore;
  let worker: SettlementWorker | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-worker-'));
    store = HostStore.open(join(dir, 'q.sqlite'));
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts consecutive failures, backs off with a growing jittered ceiling, and poke() skips the wait', async () => {
    const issuer = new TestIssuer();
    const card = ForgedCard.issue(issuer.key);
    store.storeRecord(card.sign({ terminalId: TERMINAL }), { origin: 'sale' });
    let fail: BankError | undefined = new BankError('BANK_UNAVAILABLE', 'bank answered 503', 'retry', 'unknown', 503);
    let sends = 0;
    const stub = {
      url: 'stub',
      health: async () => ({ ok: true }),
      submitBatch: async (batchId: string, _body: Uint8Array, n: number) => {
        sends++;
        if (fail) throw fail;
        return {
          batchId,
          settledAt: 1_900_000_000,
          replayed: false,
          verdicts: Array.from({ length: n }, () => ({ verdict: 'accepted' as const, recordId: `${card.cardId}:1` })),
        };
      },
    } as unknown as BankClient;
    const T0 = 1_000_000;
    worker = new SettlementWorker({
      store,
      bank: stub,
      backoff: { baseMs: 10_000, maxMs: 40_000 },
      random: () => 0.5,
      clock: () => T0,
      healthIntervalMs: 60_000,
    });
    const failures: number[] = [];
    worker.on('attemptFailed', () => failures.push(Date.now()));
    worker.start();
    await until(() => failures.length === 1, 'the first failure', 10_000, 5);
    let st = worker.status();
    assert.equal(st.state, 'backing_off');
    assert.equal(st.consecutiveFailures, 1);
    assert.equal(st.nextAttemptAt, T0 + 5_000, 'full jitter: random × base');
    assert.equal(st.lastError?.code, 'BANK_UNAVAILABLE');
    await sleep(150);
    assert.equal(sends, 1, 'it waits out the backoff');
    const poked = Date.now();
    worker.poke();
    await until(() => failures.length === 2, 'the poked attempt', 4000, 5);
    assert.ok(failures[1]! - poked < 4000, 'poke() skipped the 5 s wait');
    st = worker.status();
    assert.equal(st.consecutiveFailures, 2);
    assert.equal(st.nextAttemptAt, T0 + 10_000, 'the ceiling doubled');
    worker.poke();
    await until(() => failures.length === 3, 'a third attempt', 4000, 5);
    worker.poke();
    await until(() => failures.length === 4, 'a fourth attempt', 4000, 5);
    assert.equal(worker.status().nextAttemptAt, T0 + 20_000, 'capped at maxMs (40 s) × 0.5');

    // a definite refusal (4xx): blocked for the longest wait, not retried in a tight loop
    fail = new BankError('BANK_REFUSED_AUTH_BAD_SIGNATURE', 'bank answered 401', 'check the key', 'refused', 401);
    worker.poke();
    await until(() => failures.length === 5, 'the refused attempt', 4000, 5);
    assert.equal(worker.status().state, 'blocked');
    assert.equal(worker.status().nextAttemptAt, T0 + 40_000);

    fail = undefined;
    const settled = new Promise<BatchOutcome>((r) => worker!.once('batch', r));
    worker.poke();
    const outcome = await settled;
    assert.equal(outcome.attempts, 6, 'the same batch, sixth attempt');
    st = worker.status();
    assert.equal(st.consecutiveFailures, 0, 'success resets the count');
    assert.equal(st.lastError, null);
    assert.equal(store.statusCounts().settled.count, 1);
  });
});
