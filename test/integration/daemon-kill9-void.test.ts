import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PcscdEnv, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { CounterProcesses } from '../support/counter-processes.js';
import { Prng } from '../support/prng.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { CardSummary } from '../../host/sale/sale-engine.js';
import type { VoidSnapshot } from '../../host/card-services/voids.js';

const VOIDS = Number(process.env.KILL9_VOIDS ?? 8);

/**
 * kill -9 during a void (issue 15): the daemon runs as its own process against real pcscd and is
 * SIGKILLed while it voids a sale — at a random moment after the request, or (fault hook) exactly
 * between the card's signed reversal and the SQLite commit. After a restart the same void is asked
 * again: the card is never credited twice, the reversal is never lost, and the bank nets every pair.
 */
describe('kill -9 during a void', function () {
  this.timeout(300_000);
  let env: PcscdEnv;
  let c: CounterProcesses;

  before(async function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
    env = await PcscdEnv.get();
    c = await CounterProcesses.create(env, 1);
    await c.startCard('1000.00');
  });
  after(async () => {
    await c?.stop();
  });

  const alive = () => c.daemon && c.daemon.child.exitCode === null && c.daemon.child.signalCode === null;
  const card = async () =>
    (await c.api<CardSummary>('GET', `/api/v1/readers/${encodeURIComponent(c.readerName)}/card`)).body;

  it(`${VOIDS} voids, each killed once (mid-request or between the card's reversal and the commit): the card is credited once, the bank nets to zero`, async () => {
    const rnd = (() => {
      const p = new Prng(Number(process.env.KILL9_SEED ?? 15));
      return () => p.next() / 2 ** 32;
    })();
    await c.startDaemon();
    await c.waitForReader(30_000);
    const start = (await card()).balance;
    let killedAfterSign = 0;
    for (let i = 0; i < VOIDS; i++) {
      if (!alive()) {
        await c.startDaemon();
        await c.waitForReader(30_000);
      }
      const sale = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 100 + i });
      assert.equal(sale.status, 201, JSON.stringify(sale.body));
      assert.equal((await c.saleOutcome(sale.body.saleId))?.state, 'done');
      const hook = rnd() < 0.5;
      if (hook) {
        await c.kill9();
        const d = await c.startDaemon({ CARDPOST_TEST_FAULTS: JSON.stringify({ killAfterVoid: 1 }) });
        await c.waitForReader(30_000);
        const died = new Promise<void>((r) => d.child.once('exit', () => r()));
        await c.api('POST', `/api/v1/sales/${sale.body.saleId}/void`, {}).catch(() => undefined);
        await died;
        killedAfterSign++;
      } else {
        const d = c.daemon!;
        setTimeout(() => void c.kill9(d), Math.floor(rnd() * 60));
        await c.api('POST', `/api/v1/sales/${sale.body.saleId}/void`, {}, 5000).catch(() => undefined);
        await c.kill9(d);
      }
      await c.startDaemon();
      await c.waitForReader(30_000);
      const v = await c.api<VoidSnapshot>('POST', `/api/v1/sales/${sale.body.saleId}/void`, {});
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.equal(v.body.state, 'voided', JSON.stringify(v.body));
      assert.equal((await card()).balance, start, `void ${i}: the sale given back exactly once`);
    }
    assert.ok(killedAfterSign > 0, 'some kills fell between the reversal and the commit');

    await c.api('POST', '/api/v1/settlement');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = (await c.api<{ unsettled: { count: number } }>('GET', '/api/v1/settlement')).body;
      if (s.unsettled.count === 0) break;
      if (Date.now() > deadline) assert.fail(`queue did not drain: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const summary = await card();
    const bank = new Database(join(c.dir, 'bank.sqlite'), { readonly: true });
    const rows = bank
      .prepare('SELECT counter, amount, reverses FROM settled_records WHERE card_id = ? ORDER BY counter')
      .all(summary.cardId) as { counter: number; amount: number; reverses: number | null }[];
    const evidence = (bank.prepare('SELECT COUNT(*) AS n FROM evidence').get() as { n: number }).n;
    bank.close();
    assert.deepEqual(
      rows.map((r) => r.counter),
      Array.from({ length: summary.counter }, (_, i) => i + 1),
      'every record the card signed, once',
    );
    assert.equal(evidence, 0);
    assert.equal(rows.filter((r) => r.reverses !== null).length, VOIDS, 'one reversal per sale');
    assert.equal(
      rows.reduce((n, r) => n + (r.reverses === null ? r.amount : -r.amount), 0),
      0,
      'the bank nets every sale with its void',
    );
    console.log(
      `      kill -9 during voids: ${VOIDS} voids, ${killedAfterSign} killed between the reversal and the commit`,
    );
  });
});
