import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { CardClient } from '../../protocol/commands/index.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { CardSummary } from '../../host/sale/reader-diagnostics.js';

// The fixture card (host/cli/sim-command.ts prepareSimCard): ¥2,000 per payment, PIN above ¥100,
// ¥10,000 and 500 payments offline between syncs.
const READER = encodeURIComponent('fixture reader');

/** Pay straight on the fixture card, before it is inserted, to bring its offline totals up. */
async function payOnCard(f: DaemonFixture, amounts: number[]): Promise<void> {
  const client = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
  f.applet.powerOn();
  await client.select();
  await client.verifyPin(new TextEncoder().encode(FIXTURE_PIN));
  for (const amount of amounts) {
    await client.signTxn({
      amount,
      currency: 156,
      merchantId: 'M-ELSEWHERE',
      terminalId: 'T-ELSEWHERE',
      time: Math.floor(Date.now() / 1000),
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
  }
  f.applet.powerOff();
}

/** Start a sale of `amount`, and every state the engine shows for it until it ends. */
async function sale(f: DaemonFixture, amount: number): Promise<{ end: SaleSnapshot; states: string[] }> {
  const states: string[] = [];
  let id = '';
  const seen: SaleSnapshot[] = [];
  const watch = (s: SaleSnapshot) => seen.push(s);
  f.daemon.engine.on('sale', watch);
  try {
    const res = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
    assert.equal(res.status, 201);
    id = res.body.saleId;
    const end = await f.waitForSale(id, ['failed', 'done', 'cancelled', 'timed_out', 'unconfirmed', 'pin']);
    for (const s of seen) if (s.saleId === id) states.push(s.state);
    return { end, states };
  } finally {
    f.daemon.engine.off('sale', watch);
  }
}

const card = async (f: DaemonFixture) => (await f.api<CardSummary>('GET', `/api/v1/readers/${READER}/card`)).body;

describe('daemon: an amount the card would refuse is refused before any PIN prompt (issue 14)', function () {
  this.timeout(60_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  async function refusedBeforePin(amount: number, code: string, hint: RegExp): Promise<void> {
    const before = await card(f!);
    const { end, states } = await sale(f!, amount);
    assert.equal(end.state, 'failed', `sale ended ${end.state}`);
    assert.equal(end.error?.code, code);
    assert.match(end.error!.hint, hint);
    assert.match(end.error!.message, /no PIN was asked/);
    assert.ok(!states.includes('pin'), `no PIN prompt: ${states.join(' → ')}`);
    assert.ok(!states.includes('signing'), `nothing sent to sign: ${states.join(' → ')}`);
    const after = await card(f!);
    assert.equal(after.pinRetries, before.pinRetries, 'no PIN try spent');
    assert.equal(after.counter, before.counter, 'nothing signed');
    assert.equal(after.balance, before.balance);
  }

  it('¥2,500 on a card with a ¥2,000 per-payment limit: CARD_OVER_TRANSACTION_LIMIT at once', async () => {
    f = await DaemonFixture.start();
    await refusedBeforePin(250_000, 'CARD_OVER_TRANSACTION_LIMIT', /smaller amount.*¥2000\.00/);
  });

  it('more than the balance: CARD_INSUFFICIENT_FUNDS, with top up as the remedy', async () => {
    f = await DaemonFixture.start({ balance: 20_000 });
    await refusedBeforePin(30_000, 'CARD_INSUFFICIENT_FUNDS', /top up.*¥200\.00/);
  });

  it('past the cumulative offline amount: CARD_OFFLINE_AMOUNT_LIMIT, with sync as the remedy', async () => {
    f = await DaemonFixture.start({ balance: 1_500_000, insert: false });
    await payOnCard(f, [199_000, 199_000, 199_000, 199_000, 199_000]); // ¥9,950 of ¥10,000 offline
    f.reader.insert(f.applet);
    await refusedBeforePin(20_000, 'CARD_OFFLINE_AMOUNT_LIMIT', /sync or top up.*¥50\.00/);
  });

  it('past the offline payment count: CARD_OFFLINE_COUNT_LIMIT, with sync as the remedy', async () => {
    f = await DaemonFixture.start({ insert: false });
    await payOnCard(
      f,
      Array.from({ length: 500 }, () => 1),
    ); // 500 of 500 offline payments
    f.reader.insert(f.applet);
    await refusedBeforePin(20_000, 'CARD_OFFLINE_COUNT_LIMIT', /sync or top up/);
  });

  it('an amount within the limits, above the no-PIN limit, still asks for the PIN and pays', async () => {
    f = await DaemonFixture.start();
    const { end, states } = await sale(f, 150_000);
    assert.equal(end.state, 'pin', `states: ${states.join(' → ')}`);
    assert.equal((await f.api('POST', `/api/v1/sales/${end.saleId}/pin`, { pin: FIXTURE_PIN })).status, 202);
    const done = await f.waitForSale(end.saleId);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.receipt!.amount, 150_000);
  });
});
