import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import { CMD, CardClient, INS, encodePinBlock } from '../../protocol/commands/index.js';
import { TrustStore } from '../../protocol/record/index.js';
import {
  SerialLink,
  decodeMessage,
  type TerminalChannelOptions,
  type TerminalMessage,
} from '../../protocol/terminal/index.js';
import { TransportError } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { SimTerminal, type SlotCard } from '../../device-sim/terminal/index.js';
import { SerialTerminal, SerialTerminalError } from '../../host/transports/serial/index.js';
import { TestIssuer, ascii, issuedCard } from '../support/issuer.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { TestSaleDesk } from '../support/terminal-sale.js';

const PIN = '739158';
const FAST: TerminalChannelOptions = {
  link: { ackTimeoutMs: 40, interByteTimeoutMs: 15, msPerByte: 0, maxFragment: 240, maxRetries: 8 },
  resendMs: 400,
  heartbeatMs: 400,
  peerTimeoutMs: 1500,
  requestTimeoutMs: 10_000,
};
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** Every message in a captured byte stream, reassembled by a passive link. */
function messagesIn(bytes: Uint8Array): TerminalMessage[] {
  const link = new SerialLink();
  link.receive(bytes, 0);
  return link.takeEvents().flatMap((e) => (e.kind === 'message' ? [decodeMessage(e.payload)] : []));
}

async function cardCounter(applet: CardApplet): Promise<{ counter: number; balance: number }> {
  const client = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
  await client.select();
  const i = await client.getInfo();
  return { counter: i.counter, balance: i.balance };
}

describe('serial terminal over a real pty pair (socat)', function () {
  this.timeout(120_000);
  const issuer = new TestIssuer();
  const trust = new TrustStore();
  trust.addIssuer(issuer.certificate);
  let dir: string;
  let pty: PtyPair | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-serial-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  function rig(
    opts: {
      channel?: TerminalChannelOptions;
      simChannel?: TerminalChannelOptions;
      faults?: ConstructorParameters<typeof SimTerminal>[0]['faults'];
      card?: SlotCard;
    } = {},
  ) {
    const hostIn: Buffer[] = [];
    const sim = new SimTerminal({
      path: join(dir, 'term'),
      serial: 'SIM-0042',
      printerFile: join(dir, 'receipts.txt'),
      channel: opts.simChannel ?? opts.channel ?? FAST,
      ...(opts.faults ? { faults: opts.faults } : {}),
    }).start();
    if (opts.card) sim.insert(opts.card);
    const host = new SerialTerminal({
      path: join(dir, 'host'),
      channel: opts.channel ?? FAST,
      reopenMinMs: 50,
      reopenMaxMs: 400,
      pathCheckMs: 100,
      tap: (d, b) => {
        if (d === 'in') hostIn.push(Buffer.from(b));
      },
    });
    host.start();
    cleanups.push(async () => {
      await host.close();
      await sim.stop();
    });
    return { sim, host, hostIn };
  }

  it("HELLO: the host connects and learns the terminal's model, serial and capabilities", async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host } = rig({ card: applet });
    const cards: number[] = [];
    host.cardReader.on('card', (c) => cards.push(c.atr.length));
    const info = await host.whenConnected(5000);
    assert.equal(info.serial, 'SIM-0042');
    assert.equal(info.model, 'cardpost SIM-POS');
    assert.deepEqual(info.capabilities, {
      display: { lines: 4, columns: 20 },
      pinPad: true,
      cardSlot: true,
      printer: true,
      extendedLength: true,
    });
    assert.ok(host.cardReader.cardPresent, 'card in the slot');
    assert.ok(cards.length === 1 && cards[0]! > 0, 'card event with ATR');
    await host.display(['Hello', '你好']);
    await host.beep('ok', 2);
    await host.print(['a line']);
    assert.match(readFileSync(join(dir, 'receipts.txt'), 'utf8'), /a line/);
  });

  it('tunnels APDUs to the card in the slot, and reports removal and insertion', async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host, sim } = rig({ card: applet });
    await host.whenConnected(5000);
    const client = new CardClient(host.cardReader);
    const info = await client.select();
    assert.equal(info.protocolVersion, 1);
    assert.equal((await client.getInfo()).balance, 5_000_000);
    const removed = new Promise<void>((r) => host.cardReader.once('removed', () => r()));
    sim.remove();
    await removed;
    await assert.rejects(client.getInfo(), (e: unknown) => e instanceof TransportError && e.code === 'NO_CARD');
    const inserted = new Promise<void>((r) => host.cardReader.once('card', () => r()));
    sim.insert(applet);
    await inserted;
    assert.equal((await client.select()).protocolVersion, 1);
  });

  it("PIN entry on the terminal's pad: outcomes and tries come back, the PIN never reaches the host", async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host, sim, hostIn } = rig({ card: applet });
    await host.whenConnected(5000);
    const client = new CardClient(host.cardReader);
    await client.select();
    sim.pressPin('000000', PIN);
    const pad = host.cardReader.pinPad;
    assert.deepEqual(await pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000 }), {
      result: 'wrong',
      triesLeft: 2,
    });
    assert.deepEqual(await pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000, triesLeft: 2 }), {
      result: 'verified',
    });
    assert.equal((await client.getInfo()).pinVerified, true, 'the card says verified');
    // cancelled by the host while the customer hesitates
    const ac = new AbortController();
    const pending = pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000 }, ac.signal);
    await until(() => sim.displayLines.some((l) => l.includes('PIN')), 2000, 'the PIN prompt');
    ac.abort();
    assert.deepEqual(await pending, { result: 'cancelled' });
    // nothing the host received contains the PIN: not as ASCII, not as digits, not as the PIN block
    const all = Buffer.concat(hostIn);
    assert.ok(all.length > 200, `the host received traffic (${all.length} bytes)`);
    for (const form of [Buffer.from(ascii(PIN)), Buffer.from(encodePinBlock(ascii(PIN))), Buffer.from(PIN, 'hex')]) {
      assert.equal(all.indexOf(form), -1, `the host's received bytes contain the PIN as ${form.toString('hex')}`);
    }
    // and no message the host decoded has a PIN field or value
    const seen = messagesIn(all);
    assert.ok(
      seen.filter((m) => m.type === 'PIN_RESULT').length >= 2,
      `the captured stream decodes (${seen.map((m) => m.type).join(',')})`,
    );
    for (const m of seen) {
      assert.ok(
        !JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)).includes(PIN),
        `message ${m.type} mentions the PIN`,
      );
    }
  });

  it('a sale keyed on the terminal: SALE_REQUEST → PIN on the pad → card signs over the slot → receipt printed', async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host, sim } = rig({ card: applet });
    const desk = new TestSaleDesk(host, trust);
    await host.whenConnected(5000);
    sim.pressPin(PIN);
    const result = await sim.sale(12_345, { reference: 'table 4' });
    assert.equal(result.type, 'SALE_RESULT');
    assert.ok(result.type === 'SALE_RESULT' && result.outcome === 'approved', `approved: ${JSON.stringify(result)}`);
    assert.deepEqual(desk.pinOutcomes, ['verified']);
    assert.equal(desk.records.length, 1, 'one record stored');
    assert.equal(desk.records[0]!.amount, 12_345);
    assert.equal(desk.records[0]!.terminalId, 'SIM-0042');
    const printed = readFileSync(join(dir, 'receipts.txt'), 'utf8');
    assert.match(printed, /amount 123\.45 156/);
    assert.match(printed, new RegExp(`counter ${desk.records[0]!.counter}`));
    assert.equal((await cardCounter(applet)).counter, desk.records[0]!.counter);
  });

  it("the port vanishes and node-serialport emits no 'close' (its issues #2043, #2351): the path check notices, and the host reconnects when it is back", async () => {
    const applet = await issuedCard(issuer, PIN);
    // A heartbeat time-out far away, so only the path check can notice (however slow socat is to die).
    const { host } = rig({ card: applet, channel: { ...FAST, peerTimeoutMs: 60_000 } });
    await host.whenConnected(5000);
    // As on the adapters those issues describe: the port object never reports its end.
    const driver = (host as unknown as { driver: { port?: { removeAllListeners(event: string): void } } }).driver;
    assert.ok(driver.port, 'the host holds an open port');
    driver.port.removeAllListeners('close');
    const gone = new Promise<Error>((resolve) => host.once('disconnected', resolve));
    const t0 = Date.now();
    await pty!.kill();
    const e = await gone;
    assert.equal((e as { code?: string }).code, 'TERMINAL_DISCONNECTED');
    assert.match(e.message, /disappeared|names another device/, 'by the path check, before any heartbeat time-out');
    assert.ok(Date.now() - t0 < 10_000, `noticed in ${Date.now() - t0} ms without a 'close' event`);
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    assert.equal((await host.whenConnected(10_000)).serial, 'SIM-0042', 'reconnected to the terminal');
  });

  it('the terminal goes silent with its port still there (hung firmware): noticed by the heartbeat time-out, reconnected when it talks again', async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host, sim } = rig({ card: applet });
    await host.whenConnected(5000);
    const gone = new Promise<Error>((resolve) => host.once('disconnected', resolve));
    const t0 = Date.now();
    sim.sendFaults.rates.drop = 1; // every byte lost, both ways; the device path and the port stay
    sim.receiveFaults.rates.drop = 1;
    const e = await gone;
    assert.match(e.message, /no answer to heartbeats/);
    const took = Date.now() - t0;
    assert.ok(took >= 1_000 && took < 10_000, `after the peer time-out (1.5 s), not at once and not never: ${took} ms`);
    sim.sendFaults.rates.drop = 0;
    sim.receiveFaults.rates.drop = 0;
    assert.equal((await host.whenConnected(10_000)).serial, 'SIM-0042');
  });

  it('pty closed mid-sale: a clear typed error, recovery when the pty returns, the journal fills the gap', async () => {
    const applet = await issuedCard(issuer, PIN);
    // Kill the line right after the card signed, before its answer can travel back.
    let cut = false;
    const card: SlotCard = {
      atr: () => applet.atr(),
      powerOn: () => applet.powerOn(),
      powerOff: () => applet.powerOff(),
      transmit: (apdu) => {
        const r = applet.transmit(apdu);
        const c = decodeCommandApdu(apdu);
        if (!cut && c.ins === INS.CBOR && c.data?.[0] === CMD.SIGN_TXN) {
          cut = true;
          pty!.process.kill('SIGKILL');
        }
        return r;
      },
    };
    const { host, sim } = rig({ card });
    const desk = new TestSaleDesk(host, trust);
    const disconnects: SerialTerminalError[] = [];
    host.on('disconnected', (e) => disconnects.push(e));
    await host.whenConnected(5000);
    const first = sim.sale(2_000);
    await until(() => disconnects.length > 0, 5000, 'the host to notice the line is gone');
    assert.equal(disconnects[0]!.code, 'TERMINAL_DISCONNECTED');
    assert.ok(disconnects[0]!.hint.length > 0, 'with a hint');
    await desk.idle();
    assert.ok(
      desk.errors.some((e) => e instanceof TransportError && e.code === 'READER_GONE'),
      `the sale's APDU failed with READER_GONE: ${desk.errors.map(String).join('; ')}`,
    );
    assert.equal(desk.records.length, 0, 'nothing stored yet: the record was signed but its answer lost');
    // re-plug: a new pty pair at the same paths
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    await host.whenConnected(10_000);
    const r1 = await first; // the terminal re-sent its SALE_REQUEST; the host answers from its cache
    assert.equal(r1.type, 'SALE_RESULT');
    assert.ok(
      r1.type === 'SALE_RESULT' && r1.outcome === 'unconfirmed',
      `the interrupted sale was reported unconfirmed (the card may have paid), not failed, not approved twice: ${JSON.stringify(r1)}`,
    );
    const r2 = await sim.sale(3_000);
    assert.ok(r2.type === 'SALE_RESULT' && r2.outcome === 'approved', 'the next sale works');
    assert.equal(desk.recovered, 1, 'the record signed during the cut came back from the card journal');
    assert.deepEqual(
      desk.records.map((r) => r.amount),
      [2_000, 3_000],
      'both records stored, in chain order',
    );
    assert.equal((await cardCounter(applet)).counter, desk.records[1]!.counter, 'card counter = stored records');
  });
});
