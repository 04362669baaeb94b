import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { checkClock, type ClockFacts } from '../../host/sale/clock-check.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

/**
 * Issue #12, hole 4: sales were signed with the local time unchecked. With the clock 31 days slow while
 * offline, the card paid and the bank later refused the record RECORD_EXPIRED: the customer paid, the
 * merchant was never paid. The counter now refuses sales while its clock contradicts what it knows.
 */

const DAY = 86_400_000;
const BOUNDS = { maxSkewMs: 300_000, maxSinceBankMs: 14 * DAY };

/** Waits until `cond` (sync or async) holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface ErrorBody {
  error: { code: string; message: string; hint: string };
}
interface StatusBody {
  clock: { code: string; fault: string; message: string; hint: string } | null;
}

describe('security: the counter refuses sales while its clock is wrong (issue #12, hole 4)', function () {
  this.timeout(30_000);

  describe('the rule (clock-check.ts)', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const facts = (o: Partial<ClockFacts>): ClockFacts => ({
      nowMs: now,
      newestRecordMs: undefined,
      bank: undefined,
      ...o,
    });
    it('a counter that never met the bank and holds no records: nothing to compare with, no problem', () => {
      assert.equal(checkClock(facts({}), BOUNDS), undefined);
    });
    it('behind its newest stored record (beyond a minute): behind-records', () => {
      assert.equal(checkClock(facts({ newestRecordMs: now + 61_000 }), BOUNDS)?.fault, 'behind-records');
      assert.equal(
        checkClock(facts({ newestRecordMs: now + 30_000 }), BOUNDS),
        undefined,
        'an NTP step is not a wrong clock',
      );
    });
    it("behind the bank's time at the last contact: behind-bank (the clock set back 31 days while offline)", () => {
      const p = checkClock(
        facts({ nowMs: now - 31 * DAY, bank: { bankMs: now - 3_600_000, localMs: now - 3_600_000 } }),
        BOUNDS,
      );
      assert.equal(p?.fault, 'behind-bank');
      assert.equal(p?.code, 'CLOCK_WRONG');
      assert.match(p!.hint, /date and time/);
    });
    it("off the bank's clock by more than the bound at the last contact: off-bank, slow or fast", () => {
      assert.match(
        checkClock(facts({ bank: { bankMs: now, localMs: now - 301_000 } }), BOUNDS)!.message,
        /5 minutes slow/,
      );
      assert.match(
        checkClock(facts({ nowMs: now + 400_000, bank: { bankMs: now, localMs: now + 400_000 } }), BOUNDS)!.message,
        /7 minutes fast/,
      );
      assert.equal(checkClock(facts({ bank: { bankMs: now, localMs: now + 299_000 } }), BOUNDS), undefined);
    });
    it('longer than the bound since the last contact: bank-too-long-ago', () => {
      assert.equal(
        checkClock(facts({ bank: { bankMs: now - 15 * DAY, localMs: now - 15 * DAY } }), BOUNDS)?.fault,
        'bank-too-long-ago',
      );
      assert.equal(checkClock(facts({ bank: { bankMs: now - 13 * DAY, localMs: now - 13 * DAY } }), BOUNDS), undefined);
    });
  });

  describe('the daemon', () => {
    let f: DaemonFixture;
    afterEach(async () => {
      await f?.stop();
    });

    it('clock set 31 days back while offline: the sale is refused CLOCK_WRONG before the card is asked; status says why; set right, it pays', async () => {
      let offset = 0;
      f = await DaemonFixture.start({ clock: () => Date.now() + offset });
      const clockFile = join(f.dir, 'data', 'bank-clock.json');
      await until(() => existsSync(clockFile), "the bank's time to be seen and kept on disk", 10_000);
      const kept = JSON.parse(readFileSync(clockFile, 'utf8')) as { bankMs: number; localMs: number };
      assert.ok(Math.abs(kept.bankMs - Date.now()) < 60_000, `the bank's time is kept: ${JSON.stringify(kept)}`);
      assert.equal((await f.api<StatusBody>('GET', '/api/v1/status')).body.clock, null, 'the clock is right');

      f.bank.setFaults({ down: true });
      await until(() => !f.daemon.worker.status().online, 'the counter to see the bank offline', 10_000);
      const counterBefore = (await f.daemon.engine.inspect(f.reader.name)).counter;
      offset = -31 * DAY;
      const refused = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1250 });
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, 'CLOCK_WRONG');
      assert.match(refused.body.error.message, /behind the bank's time/);
      assert.match(refused.body.error.hint, /date and time/);
      const st = (await f.api<StatusBody>('GET', '/api/v1/status')).body;
      assert.equal(st.clock?.fault, 'behind-bank', 'GET /api/v1/status says what is wrong');
      assert.equal(f.daemon.engine.active().length, 0, 'no sale was started');
      assert.equal(f.daemon.store.records({}).length, 0);

      offset = 0;
      assert.equal(
        (await f.daemon.engine.inspect(f.reader.name)).counter,
        counterBefore,
        'the card was not asked to pay',
      );
      const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1250 })).body;
      assert.equal(
        (await f.waitForSale(s.saleId)).state,
        'done',
        'with the clock right the counter sells again, offline',
      );
    });

    it('a clock 10 minutes fast at a bank contact: sales refused (off-bank) until a contact shows it right', async () => {
      let offset = 0;
      f = await DaemonFixture.start({ clock: () => Date.now() + offset });
      await until(() => existsSync(join(f.dir, 'data', 'bank-clock.json')), 'the first bank contact', 10_000);
      offset = 10 * 60_000;
      await until(
        async () => (await f.api<StatusBody>('GET', '/api/v1/status')).body.clock?.fault === 'off-bank',
        'the next health check to show the skew',
        10_000,
      );
      const refused = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1250 });
      assert.equal(refused.body.error.code, 'CLOCK_WRONG');
      offset = 0;
      await until(
        async () => (await f.api<StatusBody>('GET', '/api/v1/status')).body.clock === null,
        'a contact with the clock right',
        10_000,
      );
      const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1250 })).body;
      assert.equal((await f.waitForSale(s.saleId)).state, 'done');
    });

    it('the clock set back behind a stored sale (no bank contact to compare with): behind-records', async () => {
      let offset = 0;
      f = await DaemonFixture.start({
        clock: () => Date.now() + offset,
        config: { bank: { url: 'http://127.0.0.1:9' } },
      });
      const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1250 })).body;
      assert.equal((await f.waitForSale(s.saleId)).state, 'done');
      offset = -2 * DAY;
      const refused = await f.api<ErrorBody>('POST', '/api/v1/sales', { amount: 1250 });
      assert.equal(refused.body.error.code, 'CLOCK_WRONG');
      assert.match(refused.body.error.message, /behind its newest stored sale/);
    });
  });
});
