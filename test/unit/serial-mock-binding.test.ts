import { strict as assert } from 'node:assert';
import { SerialPortMock } from 'serialport';
import { CardClient } from '../../protocol/commands/index.js';
import { TrustStore } from '../../protocol/record/index.js';
import type { ChannelEvent, TerminalChannelOptions } from '../../protocol/terminal/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import { ReaderHub } from '../../host/readers/reader-hub.js';
import {
  PortDriver,
  SerialTerminal,
  SerialTerminalSource,
  type SerialBinding,
} from '../../host/transports/serial/index.js';
import { TestIssuer, issuedCard } from '../support/issuer.js';
import { TestSaleDesk } from '../support/terminal-sale.js';

/** node-serialport's mock binding (`@serialport/binding-mock`, shipped with serialport as SerialPortMock's). */
const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;

/**
 * The serial terminal link over node-serialport's mock binding (`@serialport/binding-mock`) instead
 * of a socat pty pair: no system parts, no files. PortDriver and SimTerminal take the binding.
 *
 * The mock binding has no pair: a mock port only echoes (`echo`) or records (`record`) what is
 * written to it, and test code feeds it with `emitData()`. So `mockLine()` is a small shim at the
 * binding boundary, a null-modem cable: two mock ports, and what is written to one end is emitted
 * as data on the other end when that end is open (bytes sent into an unplugged or closed line are
 * lost, as on a real one). It also gives the device identity the path check uses (mock paths are
 * no files): a generation number that changes at each replug, undefined while unplugged.
 */
function mockLine(name: string) {
  const ends = [`mock:${name}:host`, `mock:${name}:term`] as const;
  for (const path of ends) MockBinding.createPort(path);
  const open = new Map<string, MockPortBinding>();
  let generation = 1;
  let plugged = true;
  let bytes = 0;
  const binding: SerialBinding = {
    list: () => MockBinding.list(),
    async open(options) {
      if (!plugged) throw new Error(`${options.path}: no such device`);
      const port = await MockBinding.open(options);
      const path = options.path;
      const peer = path === ends[0] ? ends[1] : ends[0];
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        await write(buffer);
        const other = open.get(peer);
        if (plugged && other?.isOpen) {
          bytes += buffer.length;
          other.emitData(Buffer.from(buffer));
        }
      };
      const close = port.close.bind(port);
      port.close = async () => {
        if (open.get(path) === port) open.delete(path);
        await close();
      };
      open.set(path, port);
      return port;
    },
  };
  return {
    host: ends[0],
    term: ends[1],
    binding,
    deviceId: (_path: string): string | undefined => (plugged ? `mock-${generation}` : undefined),
    /** Pull the cable: both ends' devices vanish (the ports' own 'close' is not emitted, as with real USB adapters). */
    unplug(): void {
      plugged = false;
      generation++;
    },
    replug(): void {
      plugged = true;
    },
    get bytes() {
      return bytes;
    },
  };
}

const FAST: TerminalChannelOptions = {
  link: { ackTimeoutMs: 40, interByteTimeoutMs: 15, msPerByte: 0, maxFragment: 240, maxRetries: 8 },
  resendMs: 400,
  heartbeatMs: 400,
  peerTimeoutMs: 1500,
  requestTimeoutMs: 10_000,
};
const PIN = '739158';
let lines = 0;

const once = <T>(subscribe: (resolve: (v: T) => void) => void, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    subscribe((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });

describe('serial terminal link over @serialport/binding-mock', function () {
  this.timeout(30_000);
  const issuer = new TestIssuer();
  const trust = new TrustStore();
  trust.addIssuer(issuer.certificate);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(() => MockBinding.reset());

  it('PortDriver ↔ PortDriver: a request crosses the mock line, is answered once, and the line survives an unplug', async () => {
    const line = mockLine(`drivers-${++lines}`);
    const a = new PortDriver({
      path: line.host,
      binding: line.binding,
      deviceId: line.deviceId,
      channel: FAST,
      reopenMinMs: 20,
      reopenMaxMs: 100,
      pathCheckMs: 20,
    });
    const b = new PortDriver({
      path: line.term,
      binding: line.binding,
      deviceId: line.deviceId,
      channel: FAST,
      reopenMinMs: 20,
      reopenMaxMs: 100,
      pathCheckMs: 20,
    });
    cleanups.push(async () => {
      await a.stop();
      await b.stop();
    });
    const requests: ChannelEvent[] = [];
    b.on('channel', (e) => {
      if (e.kind !== 'request') return;
      requests.push(e);
      b.use((ch, now) => ch.respond(e.message.requestId, { type: 'OK' }, now));
    });
    const opened = Promise.all([
      once<void>((r) => a.once('open', r), 2000, 'a open'),
      once<void>((r) => b.once('open', r), 2000, 'b open'),
    ]);
    a.start();
    b.start();
    await opened;
    const ask = (text: string) =>
      once<ChannelEvent>(
        (resolve) => {
          const id = a.use((ch, now) => ch.request({ type: 'DISPLAY', lines: [text] }, now, { timeoutMs: 5000 }));
          const on = (e: ChannelEvent) => {
            if ((e.kind === 'response' || e.kind === 'requestFailed') && e.request.requestId === id) {
              a.off('channel', on);
              resolve(e);
            }
          };
          a.on('channel', on);
        },
        5000,
        `the answer to DISPLAY ${text}`,
      );
    const answer = await ask('over the mock');
    assert.equal(answer.kind, 'response');
    assert.ok(answer.kind === 'response' && answer.message.type === 'OK', 'answered OK');
    assert.equal(
      requests.filter((e) => e.kind === 'request' && e.message.type === 'DISPLAY').length,
      1,
      'the request reached the other end once',
    );
    assert.ok(line.bytes > 0, 'bytes went through the shim');

    // Unplug: the path check notices (no 'close' from the port), both ends reopen when it is back.
    const lost = once<string>((r) => a.once('lost', r), 2000, 'a lost');
    line.unplug();
    assert.match(await lost, /disappeared/);
    const reopened = Promise.all([
      once<void>((r) => a.once('open', r), 5000, 'a reopened'),
      once<void>((r) => b.once('open', r), 5000, 'b reopened'),
    ]);
    line.replug();
    await reopened;
    assert.ok(a.reconnects > 0, 'a reconnected');
    const again = await ask('after the replug');
    assert.ok(again.kind === 'response' && again.message.type === 'OK', 'answered after the replug');
  });

  function rig(line: ReturnType<typeof mockLine>, card?: CardApplet) {
    const sim = new SimTerminal({
      path: line.term,
      binding: line.binding,
      deviceId: line.deviceId,
      serial: 'SIM-MOCK',
      channel: FAST,
    }).start();
    if (card) sim.insert(card);
    const host = new SerialTerminal({
      path: line.host,
      binding: line.binding,
      deviceId: line.deviceId,
      channel: FAST,
      reopenMinMs: 20,
      reopenMaxMs: 200,
      pathCheckMs: 50,
    });
    host.start();
    cleanups.push(async () => {
      await host.close();
      await sim.stop();
    });
    return { sim, host };
  }

  it('host SerialTerminal ↔ SimTerminal: HELLO, tunnelled APDUs, PIN on the pad, a keyed sale', async () => {
    const applet = await issuedCard(issuer, PIN);
    const { host, sim } = rig(mockLine(`terminal-${++lines}`), applet);
    const desk = new TestSaleDesk(host, trust);
    const info = await host.whenConnected(5000);
    assert.equal(info.serial, 'SIM-MOCK');
    assert.ok(host.cardReader.cardPresent, 'the card in the slot is announced');

    const client = new CardClient(host.cardReader);
    assert.equal((await client.select()).protocolVersion, 1);
    assert.equal((await client.getInfo()).balance, 5_000_000);

    sim.pressPin('000000', PIN);
    const pad = host.cardReader.pinPad;
    assert.deepEqual(await pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000 }), {
      result: 'wrong',
      triesLeft: 2,
    });
    assert.deepEqual(await pad.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000, triesLeft: 2 }), {
      result: 'verified',
    });

    sim.pressPin(PIN);
    const result = await sim.sale(12_345);
    assert.ok(result.type === 'SALE_RESULT' && result.outcome === 'approved', `approved: ${JSON.stringify(result)}`);
    assert.equal(desk.records.length, 1, 'one record stored');
    assert.equal(desk.records[0]!.amount, 12_345);

    const removed = once<void>((r) => host.cardReader.once('removed', () => r()), 2000, 'the card removed');
    sim.remove();
    await removed;
    await assert.rejects(client.getInfo(), (e: unknown) => e instanceof TransportError && e.code === 'NO_CARD');
  });

  it('a PIN entry left running by a host that died is ended when a new host session says HELLO (no BUSY for minutes)', async () => {
    const applet = await issuedCard(issuer, PIN);
    const line = mockLine(`terminal-${++lines}`);
    const sim = new SimTerminal({
      path: line.term,
      binding: line.binding,
      deviceId: line.deviceId,
      channel: FAST,
    }).start();
    sim.insert(applet);
    const hostOf = (hostName: string) => {
      const host = new SerialTerminal({
        path: line.host,
        binding: line.binding,
        deviceId: line.deviceId,
        channel: FAST,
        hostName,
        reopenMinMs: 20,
        reopenMaxMs: 200,
        pathCheckMs: 50,
      });
      host.start();
      return host;
    };
    const first = hostOf('cardpost T-1 #aaaaaa');
    let second: SerialTerminal | undefined;
    cleanups.push(async () => {
      await second?.close();
      await sim.stop();
    });
    await first.whenConnected(5000);
    await new CardClient(first.cardReader).select();
    const asked = once<void>((r) => sim.once('pinRequested', () => r()), 5000, 'the pad asked for the PIN');
    const abandoned = first.cardReader.pinPad!.enterPin({ amount: 20_000, currency: 156, timeoutMs: 120_000 });
    abandoned.catch(() => undefined); // the first host goes away without an answer (as under kill -9)
    await asked;
    await first.close(); // no CANCEL reaches the terminal: the link just stops

    second = hostOf('cardpost T-1 #bbbbbb'); // the daemon again, a new session
    await second.whenConnected(5000);
    await new CardClient(second.cardReader).select();
    sim.pressPin(PIN);
    assert.deepEqual(await second.cardReader.pinPad!.enterPin({ amount: 20_000, currency: 156, timeoutMs: 60_000 }), {
      result: 'verified',
    });
  });

  it('SerialTerminalSource: announces the slot as a serial-terminal reader at start, and loses it at stop', async () => {
    const line = mockLine(`source-${++lines}`);
    const sim = new SimTerminal({
      path: line.term,
      binding: line.binding,
      deviceId: line.deviceId,
      serial: 'SIM-SRC',
      channel: FAST,
    }).start();
    cleanups.push(() => sim.stop());
    const source = new SerialTerminalSource({
      paths: [line.host],
      binding: line.binding,
      deviceId: line.deviceId,
      channel: FAST,
      reopenMinMs: 20,
      pathCheckMs: 50,
    });
    const hub = new ReaderHub();
    hub.follow(source);
    const found: [CardReader, string][] = [];
    source.on('reader', (r, kind) => found.push([r, kind]));
    const errors: Error[] = [];
    source.on('error', (e) => errors.push(e));
    await source.start();
    cleanups.push(() => source.stop());
    assert.equal(found.length, 1);
    assert.equal(found[0]![1], 'serial-terminal');
    assert.deepEqual(
      hub.list().map((r) => [r.name, r.kind]),
      [[`serial terminal ${line.host}`, 'serial-terminal']],
    );
    assert.equal((await source.terminals[0]!.whenConnected(5000)).serial, 'SIM-SRC');

    const inserted = once<void>(
      (r) => source.terminals[0]!.cardReader.once('card', () => r()),
      2000,
      'the card inserted',
    );
    sim.insert(await issuedCard(issuer, PIN));
    await inserted;
    assert.equal(hub.info(found[0]![0].name)?.cardPresent, true);

    await source.stop();
    assert.deepEqual(hub.list(), [], 'the hub lost the slot');
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
      'no errors on a clean line',
    );
  });
});
