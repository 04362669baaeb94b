import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { until } from '../support/settlement-helpers.js';

type ErrorBody = { error: { code: string; message: string; hint: string } };

/**
 * Issue 15: `cardpost sale` without `--reader` charged the card in a serial terminal's slot, and after a sale the
 * counter ran on the terminal's slot the terminal's display stayed on "Enter PIN". Now a sale that names no reader
 * never takes a terminal's slot (the terminal's own sales are keyed on its keypad), and a sale the counter ran
 * there by naming it ends with the outcome on the terminal's display.
 */
describe("sales on a serial terminal's slot that the terminal did not key (real pty pair)", function () {
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair;
  let f: DaemonFixture | undefined;
  let sim: SimTerminal | undefined;

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-term-slot-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    await f?.stop();
    f = undefined;
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function terminalWithCard(fx: DaemonFixture): Promise<string> {
    sim = new SimTerminal({ path: join(dir, 'term'), serial: 'SIM-15' }).start();
    sim.insert(fx.applet);
    const reader = `serial terminal ${join(dir, 'host')}`;
    await until(() => fx.daemon.hub.info(reader)?.cardPresent === true, "the terminal's slot with the card", 15_000);
    return reader;
  }

  it("a sale naming no reader does not take the card in the terminal's slot; with only terminals it is refused at once", async () => {
    f = await DaemonFixture.start({ insert: false, config: { readers: { pcsc: false, serial: [join(dir, 'host')] } } });
    const fx = f;
    const reader = await terminalWithCard(fx);
    const started = await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal(started.status, 201);
    // the card is in the terminal's slot and nothing else holds one: the sale must wait, not charge it
    await new Promise((r) => setTimeout(r, 400));
    const now = fx.daemon.engine.get(started.body.saleId)!;
    assert.equal(now.state, 'waiting_card', `the unnamed sale took ${now.reader}`);
    assert.equal(fx.daemon.store.record(`${fx.cardId}:1`), undefined, 'the card was not charged');
    // while it waits, the terminal's reader is free for a sale that names it
    const cancel = await fx.api<SaleSnapshot>('POST', `/api/v1/sales/${started.body.saleId}/cancel`);
    assert.equal(cancel.body.state, 'cancelled');

    // with no reader but the terminal's: refused at once, with a typed error that says what to do
    fx.daemon.hub.remove('fixture reader');
    const refused = await fx.api<ErrorBody>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'SALE_READER_REQUIRED');
    assert.match(refused.body.error.message, new RegExp(`"${reader}" is a serial terminal`));
    assert.match(refused.body.error.hint, /--reader/);
  });

  it('a sale the counter names the terminal\'s reader for: PIN on the pad, then the terminal\'s display shows the outcome, not "Enter PIN"', async () => {
    f = await DaemonFixture.start({ insert: false, config: { readers: { pcsc: false, serial: [join(dir, 'host')] } } });
    const fx = f;
    const reader = await terminalWithCard(fx);
    const term = sim!;
    term.pressPin(FIXTURE_PIN);
    const started = await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 15_000, reader });
    assert.equal(started.status, 201);
    const done = await fx.waitForSale(started.body.saleId, undefined, 20_000);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.ok(
      term.displayLog.some((l) => l.some((x) => /Enter PIN/.test(x))),
      'the pad asked for the PIN on the terminal',
    );
    await until(() => term.displayLines[0] === 'Paid / 已付款', "the outcome on the terminal's display", 10_000);
    assert.deepEqual(term.displayLines, ['Paid / 已付款', '¥150.00']);

    // a cancelled one too
    term.pressPin('cancel');
    const second = await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 15_000, reader });
    const ended = await fx.waitForSale(second.body.saleId, undefined, 20_000);
    assert.equal(ended.state, 'cancelled');
    await until(() => term.displayLines[0] === 'Cancelled / 已取消', "'cancelled' on the terminal's display", 10_000);
  });
});
