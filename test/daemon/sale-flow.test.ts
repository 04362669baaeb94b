import { strict as assert } from 'node:assert';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

describe('daemon: the sale flow (in-process card, real SQLite, real HTTP)', function () {
  this.timeout(30_000);
  let f: DaemonFixture;
  beforeEach(async () => { f = await DaemonFixture.start(); });
  afterEach(async () => { await f.stop(); });

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
    assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), ['waiting_card', 'reading_card', 'signing', 'stored', 'done']);
  });
});
