import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CardClient } from '../../protocol/commands/index.js';
import { runCli } from '../../host/cli/main.js';
import { errorInfo } from '../../host/errors/registry.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { runCardpost } from '../support/cli.js';
import { until } from '../support/settlement-helpers.js';

async function cli(f: DaemonFixture, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    [...args, '--data-dir', join(f.dir, 'data')],
    { out: (l) => out.push(l), setExitCode: () => {} },
    (l) => err.push(l),
  );
  return { code, out, err };
}

/**
 * Issue 15, "CLI and daemon": what a merchant at a real counter met in `cardpost` and its answers. Each test
 * failed before its fix.
 */
describe('cardpost at the counter: refusals, amounts, PIN input, card state, reconcile, cancel (issue 15)', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it("a card refusal carries the hint of docs/protocol.md §5 to the sale's error and the CLI, never an empty one", async () => {
    f = await DaemonFixture.start({ balance: 1_000 });
    const text = await cli(f, ['sale', '--amount', '20.00']);
    assert.equal(text.code, 1, text.err.join('\n'));
    const advice = errorInfo('CARD_INSUFFICIENT_FUNDS').advice;
    assert.ok(advice.length > 0);
    const last = text.out.at(-1)!;
    assert.match(last, /^CARD_INSUFFICIENT_FUNDS: /);
    assert.ok(last.endsWith(advice) || /\. \S/.test(last), `the line ends with a hint: ${last}`);
    const asJson = await cli(f, ['sale', '--amount', '20.00', '--json']);
    const sale = JSON.parse(asJson.out.join('\n')) as SaleSnapshot;
    assert.equal(sale.state, 'failed');
    assert.equal(sale.error?.code, 'CARD_INSUFFICIENT_FUNDS');
    assert.notEqual(sale.error?.hint, '', 'the hint is not empty');
    // the stored sale, read back (GET after it ended, and after a restart), keeps a hint too
    await f.restart();
    const again = await f.api<SaleSnapshot>('GET', `/api/v1/sales/${sale.saleId}`);
    assert.equal(again.body.error?.hint, advice);
  });

  it('sale --amount 0 is refused in the CLI\'s own words ("more than 0, e.g. 12.50"), exit 2, no sale started', async () => {
    f = await DaemonFixture.start();
    for (const amount of ['0', '0.00']) {
      const r = await cli(f, ['sale', '--amount', amount]);
      assert.equal(r.code, 2);
      assert.match(r.err.join('\n'), /CLI_AMOUNT: the amount must be more than 0, e\.g\. 12\.50/);
      assert.doesNotMatch(r.err.join('\n'), /minor units/, 'not the API wording');
    }
    assert.equal(f.daemon.store.recentSales(5).length, 0, 'no sale was started');
  });

  it('stdin ending at the PIN prompt: "no PIN was entered", the sale is cancelled, exit 1 as for any cancelled sale', async () => {
    f = await DaemonFixture.start();
    const r = await runCardpost(['sale', '--amount', '150.00', '--data-dir', join(f.dir, 'data')], '');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /no PIN was entered \(the input ended\): the sale is cancelled, no card was charged/);
    assert.match(r.stdout, /: cancelled$/m);
    assert.doesNotMatch(r.stderr, /unexpected error/);
    const [sale] = f.daemon.store.recentSales(1);
    assert.equal(sale?.state, 'cancelled');
    assert.equal(f.daemon.store.statusCounts().pending.count, 0, 'nothing charged');
  });

  it('POST /sales/{id}/cancel in `pin` answers once the sale is cancelled: 200 with state cancelled, not pin', async () => {
    f = await DaemonFixture.start();
    const started = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 15_000 });
    await f.waitForSale(started.body.saleId, ['pin']);
    const r = await f.api<SaleSnapshot>('POST', `/api/v1/sales/${started.body.saleId}/cancel`);
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'cancelled');
    // cancelling an ended sale answers it as it ended
    const again = await f.api<SaleSnapshot>('POST', `/api/v1/sales/${started.body.saleId}/cancel`);
    assert.deepEqual([again.status, again.body.state], [200, 'cancelled']);
  });

  it('card info says the state (PIN blocked…) and its JSON names the life cycle beside the number', async () => {
    f = await DaemonFixture.start();
    const active = await cli(f, ['card', 'info', '--json']);
    const c = JSON.parse(active.out.join('\n')) as { lifecycle: number; lifecycleName: string };
    assert.deepEqual([c.lifecycle, c.lifecycleName], [2, 'active']);
    assert.ok((await cli(f, ['card', 'info'])).out.includes('state: active'));
    // three wrong PINs on the card itself: PIN blocked
    f.reader.remove();
    const client = new CardClient({ extendedLength: true, transmit: async (a) => f!.applet.transmit(a) });
    f.applet.powerOn();
    await client.select();
    for (let i = 0; i < 3; i++) await client.verifyPin(new TextEncoder().encode('9999')).catch(() => undefined);
    f.applet.powerOff();
    f.reader.insert(f.applet);
    await until(() => f!.daemon.hub.info('fixture reader')?.cardPresent === true, 'the card back');
    const blocked = await cli(f, ['card', 'info']);
    assert.ok(
      blocked.out.some((l) => /^state: PIN blocked: .*PUK/.test(l)),
      blocked.out.join('\n') + blocked.err.join('\n'),
    );
    const j = JSON.parse((await cli(f, ['card', 'info', '--json'])).out.join('\n')) as { lifecycleName: string };
    assert.equal(j.lifecycleName, 'pinBlocked');
  });

  it('reconcile names the currency (CNY), not its number', async () => {
    f = await DaemonFixture.start();
    const s = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal((await f.waitForSale(s.body.saleId)).state, 'done');
    f.daemon.worker.poke();
    await until(() => f!.daemon.store.statusCounts().settled.count === 1, 'the sale settled');
    const r = await cli(f, ['reconcile']);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.match(r.out.join('\n'), /^\d{4}-\d\d-\d\d CNY: host 1 \/ ¥5\.00, bank 1 \/ ¥5\.00 match$/m);
    assert.doesNotMatch(r.out.join('\n'), / 156:/);
  });

  it('the fixture PIN still pays after all this (sanity: the PIN prompt reads a line from stdin)', async () => {
    f = await DaemonFixture.start();
    const r = await runCardpost(['sale', '--amount', '150.00', '--data-dir', join(f.dir, 'data')], `${FIXTURE_PIN}\n`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /receipt: ¥150\.00 paid by card/);
  });
});
