import { strict as assert } from 'node:assert';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import type { SimPcscliteReader, SimPcscliteReaderOptions } from '../../device-sim/reader/pcsclite-pinpad-reader.js';
import { prepareSimCard } from '../../host/cli/sim-card-setup.js';
import type { PcscCardReader } from '../../host/transports/pcsc/pcsc-reader.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { encodePinBlock } from '../../protocol/commands/index.js';
import { toHex } from '../../protocol/bytes.js';
import { buildPinVerifyStructure } from '../../protocol/pcsc/part10.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { announced, pinPadReader } from '../support/pinpad-reader.js';
import { saleWhere } from '../support/sale-wait.js';
import { until } from '../support/settlement-helpers.js';

/**
 * Sales through the daemon on a PC/SC reader with a CCID PIN pad. No PIN pad reader exists under
 * pcscd here (vpcd lists no part 10 features: test/integration/pcsc-pinpad-vpcd.test.ts), so the
 * reader is simulated at pcsclite's own boundary (device-sim/reader/pcsclite-pinpad-reader.ts): its
 * pad reads the host's PIN_VERIFY_STRUCTURE as a CCID reader does and sends the VERIFY it builds to
 * the simulated card, so a wrong structure makes the card refuse. Above that boundary everything is
 * the production code: nfc-pcsc's Reader, PcscCardReader, the reader hub, the sale engine, the API.
 */
const PIN = '582064';
const NAME = 'sim CCID PIN pad reader 00 00';

describe('daemon: a sale on a PC/SC reader with its own PIN pad (simulated at the pcsclite boundary)', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  async function counter(
    o: SimPcscliteReaderOptions = {},
  ): Promise<{ fx: DaemonFixture; raw: SimPcscliteReader; reader: PcscCardReader }> {
    const fx = await DaemonFixture.start({ insert: false, config: { sale: { pinTimeoutS: 60 } } });
    f = fx;
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
    await prepareSimCard(applet, { issuerDir: fx.issuer.dir, pin: PIN, balance: 500_000, currency: 156 });
    const { raw, reader } = await pinPadReader({ name: NAME, msPerSecond: 5, ...o });
    fx.daemon.hub.add(reader, 'pcsc');
    const seen = announced(reader);
    raw.insert(applet);
    await seen;
    return { fx, raw, reader };
  }

  const startSale = async (fx: DaemonFixture, amount = 15_000) => {
    const res = await fx.api<SaleSnapshot>('POST', '/api/v1/sales', { amount, reader: NAME });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.saleId;
  };

  it('pays with the PIN typed on the pad; the counter cannot send a PIN for it; no digit crossed into the host', async () => {
    const { fx, raw } = await counter();
    const readers = await fx.api<{ readers: { name: string; pinPad: boolean }[] }>('GET', '/api/v1/readers');
    assert.equal(readers.body.readers.find((r) => r.name === NAME)?.pinPad, true, JSON.stringify(readers.body));
    const id = await startSale(fx);
    const asking = await saleWhere(fx.daemon.engine, id, (s) => s.state === 'pin');
    assert.equal(asking.pinOnDevice, true, 'the merchant sees "customer is entering the PIN" on the reader');
    const refused = await fx.api<{ error: { code: string } }>('POST', `/api/v1/sales/${id}/pin`, { pin: PIN });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'PIN_ON_DEVICE');
    raw.press(PIN);
    const done = await fx.waitForSale(id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.receipt!.pinVerified, true);
    const structures = raw.crossed.filter((c) => c.call === 'control' && c.dir === 'to-reader' && c.bytes.length > 0);
    assert.deepEqual(
      structures.map((c) => toHex(c.bytes)),
      [toHex(buildPinVerifyStructure({ timeoutS: 60 }))],
      'one PIN_VERIFY_STRUCTURE whose PIN block is empty',
    );
    const all = raw.crossed.map((c) => toHex(c.bytes)).join('|');
    const pin = new TextEncoder().encode(PIN);
    assert.ok(!all.includes(toHex(pin)), 'no ASCII PIN across the boundary');
    assert.ok(!all.includes(toHex(encodePinBlock(pin))), 'no PIN block across the boundary');
    assert.ok(!all.includes('3538323036'), 'no part of the digits as ASCII');
  });

  it('a wrong PIN on the pad: tries left 2, asked again on the pad; then the right one pays', async () => {
    const { fx, raw } = await counter();
    const id = await startSale(fx);
    raw.press('111111');
    const wrong = await saleWhere(fx.daemon.engine, id, (s) => s.notice?.code === 'PIN_WRONG');
    assert.equal(wrong.pinTriesLeft, 2);
    assert.equal(wrong.state, 'pin');
    raw.press(PIN);
    const done = await fx.waitForSale(id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
  });

  it('Cancel pressed on the pad: the sale is cancelled; the pad timing out: the sale timed out', async () => {
    const { fx, raw } = await counter();
    const a = await startSale(fx);
    await saleWhere(fx.daemon.engine, a, (s) => s.state === 'pin');
    raw.press('cancel');
    assert.equal((await fx.waitForSale(a)).state, 'cancelled');
    const b = await startSale(fx);
    await saleWhere(fx.daemon.engine, b, (s) => s.state === 'pin');
    raw.press('timeout');
    assert.equal((await fx.waitForSale(b)).state, 'timed_out');
  });

  it('the merchant cancels while the customer is at the pad: the sale is cancelled at once; the reader is busy until its pad answers', async () => {
    const { fx, raw, reader } = await counter();
    const id = await startSale(fx);
    await saleWhere(fx.daemon.engine, id, (s) => s.state === 'pin');
    await raw.whenEntering();
    const res = await fx.api('POST', `/api/v1/sales/${id}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await fx.waitForSale(id)).state, 'cancelled');
    await assert.rejects(reader.transmit(Uint8Array.of(0x00, 0xa4, 0x04, 0x00)), /still waiting for a PIN/);
    raw.press('cancel'); // the customer presses Cancel on the pad: the reader is free
    await until(() => !reader.busy, 'the reader free again', 5000, 2);
    const next = await startSale(fx, 500);
    const done = await fx.waitForSale(next);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
  });

  it('a reader claiming a PIN pad it does not run: the sale fails with READER_PIN_PAD_FAILED; the next asks on the display', async () => {
    const { fx, reader } = await counter({ padRefuses: true });
    const id = await startSale(fx);
    const failed = await fx.waitForSale(id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.code, 'READER_PIN_PAD_FAILED');
    assert.ok(failed.error!.hint.length > 0);
    assert.equal(reader.pinPad, undefined);
    const next = await startSale(fx);
    const asking = await saleWhere(fx.daemon.engine, next, (s) => s.state === 'pin');
    assert.equal(asking.pinOnDevice, false);
  });
});
