import { strict as assert } from 'node:assert';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { until } from '../support/settlement-helpers.js';

describe('daemon: the sale flow (in-process card, real SQLite, real HTTP)', function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  beforeEach(async () => {
    f = await DaemonFixture.start();
  });
  afterEach(async () => {
    await f.stop();
  });

  it('a sale without PIN: waiting → signing → stored → done, receipt with the record id, stored before the receipt', async () => {
    const states: string[] = [];
    let storedBeforeDone = false;
    f.daemon.engine.on('sale', (s) => {
      states.push(s.state);
      if (s.state === 'done') storedBeforeDone = f.daemon.store.record(s.receipt!.recordId) !== undefined;
    });
    const res = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 1250 });
    assert.equal(res.status, 201);
    const done = await f.waitForSale(res.body.saleId);
    assert.equal(done.state, 'done', `sale ended ${done.state}: ${JSON.stringify(done.error)}`);
    assert.equal(done.receipt!.recordId, `${f.cardId}:1`);
    assert.equal(done.receipt!.amount, 1250);
    assert.ok(storedBeforeDone, 'the record was in SQLite when the receipt appeared');
    assert.deepEqual(
      states.filter((s, i) => s !== states[i - 1]),
      ['waiting_card', 'reading_card', 'signing', 'stored', 'done'],
    );
  });
});

describe('daemon: a sale interrupted after the card signed is completed by journal recovery', function () {
  this.timeout(30_000);
  it('the record comes back from the card at its next use, and the interrupted sale is marked paid', async () => {
    let crash = true;
    const f = await DaemonFixture.start({
      faults: {
        afterSign: () => {
          if (crash) throw new Error('simulated crash before the commit');
        },
      },
    });
    try {
      const res = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 990 });
      const failed = await f.waitForSale(res.body.saleId);
      // The card signed, the host lost the answer: the card may have paid, so never "failed".
      assert.equal(failed.state, 'unconfirmed', 'no receipt: the record never reached the database');
      assert.equal(failed.error?.code, 'SALE_UNCONFIRMED');
      assert.equal(f.daemon.store.statusCounts().pending.count, 0);
      crash = false;
      await f.restart();
      // The restarted daemon meets the card in its reader: that card session alone recovers the record.
      await until(
        () => f.daemon.store.record(`${f.cardId}:1`) !== undefined,
        'the record recovered at the card session that follows the restart',
        15_000,
        10,
      );
      const sale = await f.api<SaleSnapshot>('GET', `/api/v1/sales/${res.body.saleId}`);
      assert.equal(sale.body.state, 'done', JSON.stringify(sale.body));
      assert.equal(sale.body.receipt?.recordId, `${f.cardId}:1`);
      assert.equal(sale.body.notice?.code, 'RECOVERED');
      const rec = f.daemon.store.record(`${f.cardId}:1`)!;
      assert.equal(rec.origin, 'recovered');
      assert.equal(rec.saleId, res.body.saleId);
    } finally {
      await f.stop();
    }
  });
});
