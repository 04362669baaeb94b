import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ClearingService } from '../../host/clearing/clearing-service.js';
import type { ClearingCore } from '../../host/clearing/clearing-core.js';
import { SqliteLedger } from '../../host/clearing/sqlite-ledger.js';
import { startAcquirer, type RunningAcquirer } from '../../host/clearing/acquirer/acquirer-server.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { forgeCards, storeAll, until } from '../support/settlement-helpers.js';

/**
 * The daemon itself settling over ISO 8583 (`bank.link: "iso8583"`): its settlement worker sends the
 * queue through Iso8583Link to the acquirer front end, in front of the real clearing service on SQLite.
 */
describe('daemon: settlement over the ISO 8583 link', function () {
  this.timeout(120_000);
  let f: DaemonFixture | undefined;
  let acquirer: RunningAcquirer | undefined;
  afterEach(async () => {
    await f?.stop();
    await acquirer?.close();
    f = undefined;
    acquirer = undefined;
  });

  it('settles 40 queued records, each exactly once, and shows the acquirer link as its bank', async () => {
    let service: ClearingService | undefined;
    // The fixture makes its issuer when it starts, after the acquirer's port must be known: settle through it once it is there.
    const core: ClearingCore = {
      settle: (req) => service!.settle(req),
      totals: (t, a, b) => service!.totals(t, a, b),
      now: () => service!.now(),
    };
    acquirer = await startAcquirer({
      core,
      dialect: 'cup-terminal',
      terminals: [
        {
          isoTerminalId: 'CP000001',
          merchantId: '898310058120001',
          terminalId: 'T-TEST-01',
          macKeyHex: '0123456789abcdeffedcba9876543210',
        },
      ],
    });
    f = await DaemonFixture.start({
      insert: false,
      config: {
        bank: {
          batchSize: 15,
          link: 'iso8583',
          iso8583: {
            port: acquirer.port,
            terminalId: 'CP000001',
            merchantId: '898310058120001',
            macKeyHex: '0123456789abcdeffedcba9876543210',
            answerTimeoutMs: 1000,
          },
        },
      },
    });
    service = new ClearingService({
      ledger: await SqliteLedger.open({ path: join(f.dir, 'acquirer-ledger.sqlite') }),
      issuerCertificate: f.issuer.ca.certificate,
      authority: f.issuer.authority,
    });
    const fx = f;
    const cards = forgeCards(fx, 3);
    const records = Array.from({ length: 40 }, (_, i) =>
      cards[i % 3]!.sign({ terminalId: 'T-TEST-01', amount: 10 + i }),
    );
    storeAll(fx.daemon.store, records);
    fx.daemon.worker.poke();
    await until(() => fx.daemon.store.statusCounts().settled.count === 40, 'all 40 settled over ISO 8583', 60_000);
    const status = fx.daemon.worker.status();
    assert.equal(status.online, true);
    assert.equal(status.lastError, null);
    const totals = await service.totals('T-TEST-01', 0, 2 ** 31);
    const expected = records.reduce((s, r) => s + r.amount, 0);
    assert.deepEqual(
      totals.sales.map((t) => [t.currency, t.count, t.amount]),
      [[156, 40, expected]],
    );
    assert.equal(fx.daemon.store.statusCounts().settled.amount, expected);
  });
});
