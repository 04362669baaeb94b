import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PcscdEnv, missingPcscParts } from '../support/pcscd.js';
import { requireSystem } from '../support/system.js';
import { CounterProcesses } from '../support/counter-processes.js';
import { Prng } from '../support/prng.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { CardSummary } from '../../host/sale/sale-engine.js';

const SALES = Number(process.env.KILL9_SALES ?? 200);
const MIN_KILLS = 20;

/**
 * DESIGN: "kill -9 at any point loses no signed record and settles none twice". The daemon runs as
 * its own process against real pcscd, and is SIGKILLed at random moments — during sales, during
 * settlement, and (fault hook) exactly between the card's signature and the SQLite commit — while a
 * loop drives sales and settlements. Afterwards the bank must hold every record the card signed,
 * exactly once, and the host must agree with the card's counter.
 */
describe('kill -9: the daemon killed at random points during sales and settlement', function () {
  this.timeout(400_000);
  let env: PcscdEnv;
  let c: CounterProcesses;

  before(async function () {
    requireSystem(this, missingPcscParts(), 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev');
    env = await PcscdEnv.get();
    c = await CounterProcesses.create(env, 1);
    await c.startCard('100000.00');
  });
  after(async () => {
    await c?.stop();
  });

  it(`${SALES} sales and settlements with ≥ ${MIN_KILLS} kills: every signed record reaches the bank once, the host agrees with the card`, async () => {
    const prng = new Prng(Number(process.env.KILL9_SEED ?? 9));
    const rnd = () => prng.next() / 2 ** 32;
    let kills = 0,
      crashAfterSign = 0,
      done = 0,
      attempts = 0,
      restarts = 0;
    const deaths: string[] = [];
    const start = async () => {
      // One run in three with the fault hook: the process kills itself right after the card signed.
      const faults = rnd() < 0.35 ? { CARDPOST_TEST_FAULTS: JSON.stringify({ killAfterSign: 0.25 }) } : {};
      const d = await c.startDaemon(faults).catch(async (e: Error) => {
        const { execFileSync } = await import('node:child_process');
        const log = (() => {
          try {
            return execFileSync('tail', ['-n', '40', env.logFile]).toString();
          } catch {
            return '(no pcscd log)';
          }
        })();
        if (process.env.KILL9_GDB && c.daemon) {
          try {
            console.log(
              execFileSync('gdb', ['-p', String(c.daemon.child.pid), '-batch', '-ex', 'thread apply all bt 12'], {
                timeout: 60_000,
              }).toString(),
            );
          } catch (x) {
            console.log('gdb failed', x);
          }
        }
        throw new Error(`${e.message}\nafter ${attempts} attempts, ${kills} kills\npcscd log:\n${log}`);
      });
      restarts++;
      d.child.once('exit', (code, signal) => {
        if (signal === 'SIGKILL') {
          kills++;
          deaths.push(
            d.lines.some((l) => l.startsWith('test fault: SIGKILL after the card signed')) ? 'after-sign' : 'random',
          );
        }
      });
      await c.waitForReader(30_000);
    };
    await start();
    const started = Date.now();
    while (attempts < SALES || kills < MIN_KILLS) {
      const d = c.daemon!;
      if (d.child.exitCode !== null || d.child.signalCode !== null) {
        await start();
        continue;
      }
      attempts++;
      if (process.env.KILL9_VERBOSE && attempts % 10 === 0)
        console.log(`      … ${attempts} attempts, ${done} done, ${kills} kills`);
      // Now and then a kill at a random moment in the next ~150 ms: mid-sale, mid-commit, mid-batch.
      if (rnd() < 0.12)
        setTimeout(
          () => {
            void c.kill9(d);
          },
          Math.floor(rnd() * 150),
        );
      if (attempts % 10 === 0) void c.api('POST', '/api/v1/settlement').catch(() => undefined);
      let res: { status: number; body: SaleSnapshot };
      try {
        res = await c.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1 + Math.floor(rnd() * 9000) }, 5000);
      } catch {
        continue;
      } // the daemon is dead or dying
      if (res.status !== 201) {
        // A sale left live by a kill is impossible (the new process starts empty); anything else is a bug.
        assert.fail(`sale refused: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const out = await c.saleOutcome(res.body.saleId).catch(() => undefined);
      if (out?.state === 'done') done++;
      if (Date.now() - started > 300_000) assert.fail(`too slow: ${attempts} attempts, ${kills} kills in 5 min`);
    }
    crashAfterSign = deaths.filter((x) => x === 'after-sign').length;

    // A clean start, one card session (journal recovery), then settle everything.
    if (c.daemon!.child.exitCode === null && c.daemon!.child.signalCode === null) await c.kill9();
    await c.startDaemon();
    await c.waitForReader(30_000);
    const card = (await c.api<CardSummary>('GET', `/api/v1/readers/${encodeURIComponent(c.readerName)}/card`)).body;
    assert.ok(card.counter > 0, `card counter ${card.counter}`);
    await c.api('POST', '/api/v1/settlement');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = (await c.api<{ unsettled: { count: number }; state: string }>('GET', '/api/v1/settlement')).body;
      if (s.unsettled.count === 0) break;
      if (Date.now() > deadline) assert.fail(`queue did not drain: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The bank: every counter 1..N of this card, each exactly once, amounts matching the card's spend.
    const bank = new Database(join(c.dir, 'bank.sqlite'), { readonly: true });
    const settled = bank
      .prepare('SELECT counter, amount FROM settled_records WHERE card_id = ? ORDER BY counter')
      .all(card.cardId) as { counter: number; amount: number }[];
    const evidence = (bank.prepare('SELECT COUNT(*) AS n FROM evidence').get() as { n: number }).n;
    bank.close();
    assert.deepEqual(
      settled.map((r) => r.counter),
      Array.from({ length: card.counter }, (_, i) => i + 1),
      'the bank holds every record the card signed, once',
    );
    assert.equal(evidence, 0, 'no double spend or broken chain seen by the bank');
    const spent = settled.reduce((n, r) => n + r.amount, 0);
    assert.equal(spent, 10_000_000 - card.balance, 'the bank settled exactly what the card paid');

    // The host: the same records, all final at the bank, none refused.
    const host = new Database(join(c.dataDir, 'queue.sqlite'), { readonly: true });
    const rows = host
      .prepare('SELECT counter, status, origin FROM records WHERE card_id = ? ORDER BY counter')
      .all(card.cardId) as { counter: number; status: string; origin: string }[];
    host.close();
    assert.deepEqual(
      rows.map((r) => r.counter),
      settled.map((r) => r.counter),
      'host and bank hold the same records',
    );
    assert.ok(
      rows.every((r) => r.status === 'settled' || r.status === 'duplicate'),
      `all settled: ${JSON.stringify(rows.filter((r) => r.status !== 'settled'))}`,
    );
    const recovered = rows.filter((r) => r.origin === 'recovered').length;
    assert.ok(kills >= MIN_KILLS, `${kills} kills`);
    assert.ok(
      crashAfterSign > 0 && recovered >= crashAfterSign,
      `each kill after a signature left a record for journal recovery (${crashAfterSign} kills, ${recovered} recovered)`,
    );
    console.log(
      `      kill -9: ${attempts} sale attempts, ${done} receipts, ${card.counter} records signed, ${recovered} recovered from the card journal, ` +
        `${kills} kills (${crashAfterSign} between the card's signature and the commit), ${restarts} daemon starts, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  });
});
