import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import type { SimPcscliteReaderOptions } from '../../device-sim/reader/pcsclite-pinpad-reader.js';
import { initIssuerDir } from '../../host/issuer/issuer-dir.js';
import { prepareSimCard } from '../../host/cli/sim-card-setup.js';
import { ReaderPinPadError } from '../../host/transports/pcsc/pcsc-pin-pad.js';
import { CardClient, encodePinBlock } from '../../protocol/commands/index.js';
import { buildPinVerifyStructure } from '../../protocol/pcsc/part10.js';
import { toHex } from '../../protocol/bytes.js';
import { TransportError, type PinEntryRequest } from '../../protocol/transport.js';
import { announced, pinPadReader } from '../support/pinpad-reader.js';
import { until } from '../support/settlement-helpers.js';

/**
 * A PC/SC reader with a CCID PIN pad, simulated at pcsclite's own boundary (no PIN pad reader exists
 * under pcscd here): nfc-pcsc's Reader and the host's PcscCardReader over a fake pcsclite reader
 * whose pad reads PIN_VERIFY_STRUCTURE as a CCID reader does and sends the VERIFY it builds to a
 * simulated card.
 */
const PIN = '739146';
const REQ: PinEntryRequest = { amount: 15_000, currency: 156, triesLeft: 3, timeoutMs: 60_000 };

describe('PC/SC reader PIN pad (FEATURE_VERIFY_PIN_DIRECT), simulated at the pcsclite boundary', function () {
  this.timeout(20_000);
  let dir: string;
  let issuerDir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-pinpad-'));
    issuerDir = initIssuerDir(join(dir, 'issuer'), { name: 'pin pad issuer' }).dir;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function setup(o: SimPcscliteReaderOptions = {}, card?: (a: CardApplet) => void) {
    const { raw, reader } = await pinPadReader({ msPerSecond: 5, ...o });
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
    await prepareSimCard(applet, { issuerDir, pin: PIN, balance: 0, currency: 156 });
    card?.(applet);
    const seen = announced(reader);
    raw.insert(applet);
    await seen;
    const client = new CardClient(reader);
    await client.select();
    return { raw, reader, applet, client };
  }

  it('a reader listing FEATURE_VERIFY_PIN_DIRECT gets a pinPad; the PIN typed on the pad verifies on the card', async () => {
    const { raw, reader, client } = await setup();
    assert.ok(reader.pinPad, 'pinPad present');
    assert.equal(reader.pinPadFeature?.kind, 'pin-pad');
    raw.press(PIN);
    assert.deepEqual(await reader.pinPad.enterPin(REQ), { result: 'verified' });
    assert.equal(await client.isoVerify(), 0x9000, 'the card is verified in this session');
    assert.equal(toHex(raw.padApdus[0]!), '0020008008' + toHex(encodePinBlock(new TextEncoder().encode(PIN))));
  });

  it('the host sends only the structure (no PIN byte) and never receives a digit: every byte across the boundary is scanned', async () => {
    const { raw, reader } = await setup();
    raw.press('1111', PIN);
    assert.deepEqual(await reader.pinPad!.enterPin(REQ), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(await reader.pinPad!.enterPin(REQ), { result: 'verified' });
    const controls = raw.crossed.filter((c) => c.call === 'control' && c.dir === 'to-reader' && c.bytes.length > 0);
    assert.equal(controls.length, 2);
    for (const c of controls) assert.equal(toHex(c.bytes), toHex(buildPinVerifyStructure({ timeoutS: 60 })));
    const all = raw.crossed.map((c) => toHex(c.bytes)).join('|');
    for (const secret of [PIN, '1111'])
      for (const form of [
        toHex(new TextEncoder().encode(secret)),
        toHex(encodePinBlock(new TextEncoder().encode(secret))),
      ])
        assert.ok(!all.includes(form), `${form} never crossed the boundary`);
    assert.ok(!/(^|\|)00200080/.test(all), 'the host never sent a VERIFY itself');
  });

  it('Cancel on the pad → cancelled; the reader timing out → timeout; a too-short PIN is asked again by the pad', async () => {
    const { raw, reader } = await setup();
    raw.press('cancel');
    assert.deepEqual(await reader.pinPad!.enterPin(REQ), { result: 'cancelled' });
    raw.press('timeout');
    assert.deepEqual(await reader.pinPad!.enterPin(REQ), { result: 'timeout' });
    raw.press('12', PIN);
    assert.deepEqual(await reader.pinPad!.enterPin(REQ), { result: 'verified' });
  });

  it('a pad answering 6403 (wrong length) faster than anyone types, again and again, counts as broken', async () => {
    const { raw, reader } = await setup();
    raw.press('1', '12', '123');
    await assert.rejects(
      reader.pinPad!.enterPin(REQ),
      (e: unknown) => e instanceof ReaderPinPadError && /without waiting for the customer/.test(e.message),
    );
  });

  it('a sale PIN time over 255 s: bTimerOut 255, and the pad is asked again when the reader times out first', async () => {
    const { raw, reader } = await setup();
    raw.press('timeout', PIN);
    assert.deepEqual(await reader.pinPad!.enterPin({ ...REQ, timeoutMs: 400_000 }), { result: 'verified' });
    const structures = raw.crossed.filter((c) => c.call === 'control' && c.dir === 'to-reader' && c.bytes.length);
    assert.deepEqual(
      structures.map((c) => c.bytes[0]),
      [255, 255],
    );
  });

  it('aborted (sale cancelled): cancelled at once; the reader says it still waits for a PIN until the pad answers, then works again', async () => {
    const { raw, reader, client } = await setup();
    const abort = new AbortController();
    const entry = reader.pinPad!.enterPin(REQ, abort.signal);
    await raw.whenEntering();
    abort.abort(new Error('cancelled'));
    assert.deepEqual(await entry, { result: 'cancelled' });
    await assert.rejects(
      client.isoVerify(),
      (e: unknown) => e instanceof TransportError && e.code === 'TIMEOUT' && /still waiting for a PIN/.test(e.message),
    );
    raw.press('cancel');
    assert.ok(reader.busy);
    await until(() => !reader.busy, 'the reader free again', 5000, 2);
    assert.equal((await client.isoVerify()) & 0xfff0, 0x63c0, 'the reader is free again; the card unverified');
  });

  it('the card pulled during PIN entry is CARD_REMOVED (the sale waits for the card), not a broken pad', async () => {
    const { raw, reader } = await setup();
    const entry = reader.pinPad!.enterPin(REQ);
    await raw.whenEntering();
    raw.remove();
    await assert.rejects(entry, (e: unknown) => e instanceof TransportError && e.code === 'CARD_REMOVED');
  });

  it('no pinPad for a reader without part 10 features (as vpcd), with a malformed feature list, or whose list omits VERIFY_PIN_DIRECT', async () => {
    for (const [o, why] of [
      [{ features: 'unsupported' }, /refused the feature request/],
      [{ featureAnswer: Uint8Array.of(0x06, 0x04, 0x42, 0x33) }, /does not parse/],
      [{ featureAnswer: Uint8Array.of(0x06, 0x06, 0x42, 0x33, 0, 6, 0, 0) }, /does not parse/],
      [{ features: new Map([[0x07, 0x42330007]]) }, /no FEATURE_VERIFY_PIN_DIRECT/],
    ] as const) {
      const { reader } = await setup(o);
      assert.equal(reader.pinPad, undefined);
      const f = reader.pinPadFeature;
      assert.ok(f?.kind === 'none' && why.test(f.why), JSON.stringify(f));
    }
  });

  it('a reader claiming a PIN pad it does not run fails with READER_PIN_PAD_FAILED and stops offering the pad', async () => {
    const { reader } = await setup({ padRefuses: true });
    assert.ok(reader.pinPad);
    await assert.rejects(
      reader.pinPad.enterPin(REQ),
      (e: unknown) => e instanceof ReaderPinPadError && e.code === 'READER_PIN_PAD_FAILED' && e.hint.length > 0,
    );
    assert.equal(reader.pinPad, undefined, 'the next sale asks for the PIN on the customer display');
  });

  it('a VERIFY the card refuses (a structure this pad fills wrongly: 6A80) fails with READER_PIN_PAD_FAILED', async () => {
    const { raw, reader } = await setup({}, (applet) => {
      const transmit = applet.transmit.bind(applet);
      applet.transmit = (apdu) => (apdu[1] === 0x20 && apdu.length > 5 ? Uint8Array.of(0x6a, 0x80) : transmit(apdu));
    });
    raw.press(PIN);
    await assert.rejects(
      reader.pinPad!.enterPin(REQ),
      (e: unknown) => e instanceof ReaderPinPadError && /6A80/.test(e.message),
    );
  });
});
