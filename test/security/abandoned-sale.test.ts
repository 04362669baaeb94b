import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CardClient, type CardInfo } from '../../protocol/commands/index.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { CliProcess, runCardpost } from '../support/cli.js';
import { pairCookie } from '../support/raw-http.js';
import { saleWhere } from '../support/sale-wait.js';
import { sleep, until } from '../support/settlement-helpers.js';

/** The production default of sale.followTimeoutMs (docs/daemon.md): what a shop runs with. */
const FOLLOW_MS = 5000;
/** Upper bound for "cancelled within seconds": the time-out, the engine's check, a loaded CI machine. */
const ABANDON_BOUND_MS = 12_000;

/**
 * Issue #12 hole 10 (medium): a `cardpost sale` killed by SIGKILL (or a closed terminal) left its
 * sale live for up to 180 s, and the next card inserted for another purpose was charged. Now a sale
 * started through the API belongs to a client that follows it (GET /api/v1/sales/:id, or an open
 * counter event stream); one nobody follows for sale.followTimeoutMs ends cancelled, SALE_ABANDONED,
 * and `cardpost sale cancel [ID]` exists.
 */
describe('security: a sale whose client went away is cancelled and charges no card (issue #12 hole 10)', function () {
  this.timeout(90_000);
  let f: DaemonFixture | undefined;
  const procs: CliProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await f?.stop();
    f = undefined;
  });

  const dataDir = () => join(f!.dir, 'data');
  /** The card's state read in a reader of the test's own, which the daemon does not see. */
  async function cardState(): Promise<CardInfo> {
    const side = new InProcessReader({ name: 'test side reader' });
    side.insert(f!.applet);
    try {
      const c = new CardClient(side);
      await c.select();
      return await c.getInfo();
    } finally {
      side.remove();
    }
  }
  const records = () => f!.daemon.store.records({ afterSeq: 0, limit: 1000 }).length;

  it('a cardpost sale killed with SIGKILL while waiting for the card ends cancelled SALE_ABANDONED within seconds; a card inserted afterwards is not charged', async () => {
    f = await DaemonFixture.start({ insert: false, config: { sale: { followTimeoutMs: FOLLOW_MS } } });
    const before = await cardState();
    const cli = new CliProcess(['sale', '--amount', '2.50', '--data-dir', dataDir()]);
    procs.push(cli);
    await cli.waitFor(/waiting for the card/, 30_000);
    const [sale] = f.daemon.engine.active();
    assert.ok(sale, 'the CLI started a sale');
    assert.equal(sale.amount, 250);
    // the CLI follows its sale: alive past the time-out while the command runs
    await sleep(FOLLOW_MS + 2000);
    assert.equal(
      f.daemon.engine.get(sale.saleId)?.state,
      'waiting_card',
      'a sale followed by its running command stays',
    );
    await new Promise<void>((resolve) => {
      cli.child.once('exit', () => resolve());
      cli.child.kill('SIGKILL');
    });
    const killedAt = Date.now();
    const ended = await f.waitForSale(
      sale.saleId,
      ['cancelled', 'timed_out', 'failed', 'done', 'unconfirmed'],
      ABANDON_BOUND_MS,
    );
    assert.equal(ended.state, 'cancelled');
    assert.equal(ended.error?.code, 'SALE_ABANDONED');
    assert.ok(Date.now() - killedAt < ABANDON_BOUND_MS);
    assert.deepEqual(f.daemon.engine.active(), []);

    // the next card, inserted for another purpose, pays nothing
    f.reader.insert(f.applet);
    await until(
      () => f!.daemon.hub.list().every((r) => !r.busy) && f!.daemon.hub.list().some((r) => r.cardPresent),
      'the card session at insertion to end',
      10_000,
    );
    await sleep(300);
    f.reader.remove();
    const after = await cardState();
    assert.equal(after.counter, before.counter, 'the card signed nothing');
    assert.equal(after.balance, before.balance, 'the card was not charged');
    assert.equal(records(), 0, 'no record was stored');
    assert.equal(f.daemon.engine.get(sale.saleId)?.state, 'cancelled');
  });

  it('a sale started over the API and followed by polling stays alive past the time-out; then it is cancelled by its client, not abandoned', async () => {
    f = await DaemonFixture.start({ insert: false, config: { sale: { followTimeoutMs: FOLLOW_MS } } });
    const sale = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 250 })).body;
    const until2x = Date.now() + 2 * FOLLOW_MS;
    while (Date.now() < until2x) {
      const s: { status: number; body: SaleSnapshot } = await f.api<SaleSnapshot>(
        'GET',
        `/api/v1/sales/${sale.saleId}`,
      );
      assert.equal(s.body.state, 'waiting_card', `the followed sale ended: ${JSON.stringify(s.body.error)}`);
      await sleep(1000);
    }
    const cancelled = await f.api<SaleSnapshot>('POST', `/api/v1/sales/${sale.saleId}/cancel`);
    assert.equal(cancelled.body.state, 'cancelled');
    assert.equal(cancelled.body.error, null);
  });

  it('a sale with an open counter event stream stays alive, and ends abandoned within seconds of the stream closing', async () => {
    f = await DaemonFixture.start({ insert: false, config: { sale: { followTimeoutMs: FOLLOW_MS } } });
    const ac = new AbortController();
    const stream = await fetch(`${f.url}/api/v1/events`, {
      headers: { Authorization: `Bearer ${f.token}` },
      signal: ac.signal,
    });
    assert.equal(stream.status, 200);
    const sale = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 250 })).body;
    await sleep(2 * FOLLOW_MS);
    assert.equal(f.daemon.engine.get(sale.saleId)?.state, 'waiting_card', 'an open counter page follows the sale');
    ac.abort();
    const closedAt = Date.now();
    const ended = await f.waitForSale(sale.saleId, ['cancelled', 'timed_out', 'failed'], ABANDON_BOUND_MS);
    assert.equal(ended.state, 'cancelled');
    assert.equal(ended.error?.code, 'SALE_ABANDONED');
    assert.ok(ended.updatedAt >= closedAt, 'ended after the stream closed, not before');
  });

  it("a customer display's event stream does not keep a sale alive", async () => {
    f = await DaemonFixture.start({ insert: false, config: { sale: { followTimeoutMs: FOLLOW_MS } } });
    const { cookie } = await pairCookie(f.url, f.token, 'display');
    const ac = new AbortController();
    try {
      const stream = await fetch(`${f.url}/api/v1/events`, { headers: { Cookie: cookie }, signal: ac.signal });
      assert.equal(stream.status, 200);
      const sale = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 250 })).body;
      // the display also polls the sale it shows: that does not follow it either
      const poll = setInterval(() => {
        void fetch(`${f!.url}/api/v1/sales/${sale.saleId}`, { headers: { Cookie: cookie } })
          .then((r) => r.text())
          .catch(() => undefined);
      }, 500);
      try {
        const ended = await f.waitForSale(sale.saleId, ['cancelled', 'timed_out', 'failed'], ABANDON_BOUND_MS);
        assert.equal(ended.error?.code, 'SALE_ABANDONED');
      } finally {
        clearInterval(poll);
      }
    } finally {
      ac.abort();
    }
  });

  it('cardpost sale cancel (no id, one sale) and cardpost sale cancel <id> cancel the sale', async () => {
    f = await DaemonFixture.start({ insert: false }); // the fixture's long follow time-out: the CLI's start-up is not raced here
    const one = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 250 })).body;
    const a = await runCardpost(['sale', 'cancel', '--data-dir', dataDir()]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`sale ${one.saleId.slice(0, 8)}: cancelled`));
    const s1 = f.daemon.engine.get(one.saleId);
    assert.equal(s1?.state, 'cancelled');
    assert.equal(s1?.error, null, 'cancelled by the merchant, not abandoned');

    const two = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 300 })).body;
    const b = await runCardpost(['sale', 'cancel', two.saleId, '--data-dir', dataDir(), '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((JSON.parse(b.stdout) as SaleSnapshot).state, 'cancelled');
    assert.equal(f.daemon.engine.get(two.saleId)?.state, 'cancelled');

    const three = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 350 })).body;
    const c = await runCardpost(['sale', 'cancel', three.saleId.slice(0, 8), '--data-dir', dataDir()]);
    assert.equal(c.code, 0, c.stderr);
    await saleWhere(f.daemon.engine, three.saleId, (s) => s.state === 'cancelled');
  });

  it('with no sale in progress, cardpost sale cancel exits 2 with a hint; an unknown id too', async () => {
    f = await DaemonFixture.start({ insert: false });
    const r = await runCardpost(['sale', 'cancel', '--data-dir', dataDir()]);
    assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /no sale is in progress/);
    assert.match(r.stderr, /nothing to cancel/);
    const sale = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 250 })).body;
    const u = await runCardpost(['sale', 'cancel', 'ffffffff', '--data-dir', dataDir()]);
    assert.equal(u.code, 2, `${u.stdout}${u.stderr}`);
    assert.match(u.stderr, new RegExp(sale.saleId), 'the hint names the sale that is in progress');
    assert.equal(f.daemon.engine.get(sale.saleId)?.state, 'waiting_card');
  });
});
