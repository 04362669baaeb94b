import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as realNodeHid from 'node-hid';
import { encodeCommandApdu } from '../../protocol/apdu/index.js';
import { CARD_AID, CardClient } from '../../protocol/commands/index.js';
import {
  HID_BROADCAST_CID,
  HidCommand,
  HidErrorByte,
  initRequestPacket,
  packetize,
  parseInitResponse,
  withReportId,
} from '../../protocol/framing/hid-packet.js';
import * as hidKey from '../../protocol/framing/hid-key.js';

const { CARDPOST_HID_USAGE, CARDPOST_HID_USAGE_PAGE } = hidKey;
import { TrustStore } from '../../protocol/record/index.js';
import { TransportError } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { SimHidKey, SimNodeHid, type SimHidKeyOptions } from '../../device-sim/hid/index.js';
import {
  HidKeySource,
  HidLink,
  HidTransportError,
  loadNodeHid,
  type HidCardReader,
  type HidCardReaderOptions,
  type NodeHidModule,
} from '../../host/transports/hid/index.js';
import { CardSession, type ChainHead } from '../../host/session/card-session.js';
import { TestIssuer, NOW } from '../support/issuer.js';

// Compile-time check that the seam is node-hid's own API: the real module fits where the sim does.
const realFits: NodeHidModule = realNodeHid;
void realFits;

const SELECT = encodeCommandApdu({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: CARD_AID, le: 256 });
/** A long APDU (several CONT packets): SELECT of an unknown 300-byte AID, answered 6A82. */
const LONG = encodeCommandApdu(
  { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: new Uint8Array(300).fill(0xab), le: 256 },
  'extended',
);
const sw = (r: Uint8Array): number => (r[r.length - 2]! << 8) | r[r.length - 1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const transportError = (code: string) => (e: unknown) => {
  assert.ok(e instanceof TransportError, `expected a TransportError ${code}, got ${String(e)}`);
  assert.equal(e.transportCode, code, `transport code (${e.message})`);
  return true;
};

async function setup(opts: { key?: SimHidKeyOptions; reader?: HidCardReaderOptions; applet?: CardApplet } = {}) {
  const applet = opts.applet ?? new CardApplet(new Nvm(new MemoryBacking()));
  const key = new SimHidKey(applet, opts.key);
  const hid = new SimNodeHid([key]);
  const source = await HidKeySource.open({ hid, pollIntervalMs: 0, reader: opts.reader });
  const reader = source.list()[0];
  assert.ok(reader, 'the source found the simulated key');
  return { applet, key, hid, source, reader };
}

/** A second program on the same key, speaking raw reports (every handle sees every report, as hidraw). */
async function rawHandle(hid: SimNodeHid) {
  const dev = await hid.HIDAsync.open(hid.devices()[0]!.path!);
  const got: Uint8Array[] = [];
  dev.on('data', (d: Buffer) => got.push(Uint8Array.from(d)));
  dev.on('error', () => {});
  const send = (r: Uint8Array) => dev.write(Buffer.from(withReportId(r)));
  const on = (cid: number) => got.filter((r) => Buffer.from(r.subarray(0, 4)).readUInt32BE(0) === cid);
  const allocate = async (): Promise<number> => {
    const nonce = Uint8Array.from(randomBytes(8));
    await send(initRequestPacket(nonce));
    let cid = 0;
    await until('INIT answer', () =>
      on(HID_BROADCAST_CID).some((r) => {
        const init = parseInitResponse(r.slice(7, 24));
        if (Buffer.compare(init.nonce, nonce) === 0) {
          cid = init.cid;
          return true;
        }
        return false;
      }),
    );
    return cid;
  };
  return { dev, got, send, on, allocate };
}

describe('USB HID card key: simulated key (node-hid surface) and host transport', function () {
  this.timeout(20_000);

  describe('the simulated key as node-hid shows it', () => {
    it('lists the key with the documented ids, and opens it by path', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())), { serialNumber: 'K1' });
      const hid = new SimNodeHid([key]);
      const [d] = hid.devices();
      assert.ok(d, 'one device listed');
      assert.equal(d.usagePage, CARDPOST_HID_USAGE_PAGE, 'vendor usage page');
      assert.equal(d.usage, CARDPOST_HID_USAGE, 'usage');
      assert.equal(d.serialNumber, 'K1', 'serial number');
      assert.ok(d.product && d.manufacturer && d.path, 'product, manufacturer and path are filled in');
      assert.deepEqual(hid.devices(d.vendorId, d.productId).length, 1, 'devices(vid, pid) filters');
      assert.deepEqual(hid.devices(0x1234, 1), [], 'other ids are not listed');
      const sync = new hid.HID(d.path!);
      assert.equal(
        sync.write([0, ...initRequestPacket(new Uint8Array(8))]),
        65,
        'write returns the byte count incl. the report id',
      );
      assert.throws(
        () => sync.write('nope' as unknown as number[]),
        TypeError,
        'non-array data is a TypeError, as in node-hid',
      );
      sync.close();
      key.unplug();
      assert.deepEqual(hid.devices(), [], 'an unplugged key is not listed');
      assert.throws(() => new hid.HID(d.path!), /cannot open device/, 'cannot open an unplugged key');
      key.plug();
      assert.notEqual(hid.devices()[0]!.path, d.path, 'a replugged key gets a new path, as /dev/hidrawN does');
    });

    it('answers PING, WINK, INIT errors, unknown commands and unknown channels as §11 says', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())));
      const hid = new SimNodeHid([key]);
      const raw = await rawHandle(hid);
      const cid = await raw.allocate();
      assert.ok(key.allocatedChannels().includes(cid), 'the key allocated the channel');
      const last = () => raw.on(cid).at(-1)!;
      const count = () => raw.on(cid).length;
      const ask = async (r: Uint8Array) => {
        const n = count();
        await raw.send(r);
        await until('an answer', () => count() > n);
        return last();
      };
      const ping = await ask(packetize(cid, HidCommand.PING, Uint8Array.of(1, 2, 3))[0]!);
      assert.deepEqual([...ping.subarray(4, 10)], [0x80 | HidCommand.PING, 0, 3, 1, 2, 3], 'PING echoes');
      assert.equal(
        (await ask(packetize(cid, HidCommand.WINK, new Uint8Array(0))[0]!))[4],
        0x80 | HidCommand.WINK,
        'WINK answered',
      );
      assert.equal(key.stats.winks, 1, 'wink counted');
      const bad = await ask(packetize(cid, 0x10, Uint8Array.of(1))[0]!);
      assert.deepEqual(
        [bad[4], bad[7]],
        [0x80 | HidCommand.ERROR, HidErrorByte.INVALID_CMD],
        'CBOR (0x10) is not offered: INVALID_CMD',
      );
      const badInit = await ask(packetize(cid, HidCommand.INIT, Uint8Array.of(1, 2))[0]!);
      assert.deepEqual(
        [badInit[4], badInit[7]],
        [0x80 | HidCommand.ERROR, HidErrorByte.INVALID_LEN],
        'INIT with a 2-byte nonce',
      );
      const stranger = 0x01020304 === cid ? 0x01020305 : 0x01020304;
      await raw.send(packetize(stranger, HidCommand.PING, Uint8Array.of(1))[0]!);
      await until('INVALID_CHANNEL', () => raw.on(stranger).length === 1);
      assert.equal(raw.on(stranger)[0]![7], HidErrorByte.INVALID_CHANNEL, 'a channel the key never allocated');
      await raw.dev.close();
    });

    it('times out a stalled message with ERROR MSG_TIMEOUT, and answers CHANNEL_BUSY meanwhile', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())), { messageTimeoutMs: 80 });
      const hid = new SimNodeHid([key]);
      const a = await rawHandle(hid);
      const cidA = await a.allocate();
      const cidB = await a.allocate();
      const t0 = performance.now();
      await a.send(packetize(cidA, HidCommand.MSG, LONG)[0]!); // first packet only: the key waits for the rest
      await a.send(packetize(cidB, HidCommand.PING, Uint8Array.of(7))[0]!);
      await until('CHANNEL_BUSY to B', () => a.on(cidB).length === 1);
      assert.equal(a.on(cidB)[0]![7], HidErrorByte.CHANNEL_BUSY, 'B is told the key is busy receiving from A');
      await until('MSG_TIMEOUT to A', () => a.on(cidA).length === 1);
      const waited = performance.now() - t0;
      assert.equal(a.on(cidA)[0]![7], HidErrorByte.MSG_TIMEOUT, 'A gets MSG_TIMEOUT');
      assert.ok(waited >= 75 && waited < 1000, `time-out after ~80 ms, took ${waited.toFixed(0)} ms`);
    });

    it('CANCEL drops a command the card has not begun: never answered, never run', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())), { cardLatencyMs: 150 });
      const hid = new SimNodeHid([key]);
      const a = await rawHandle(hid);
      const cid = await a.allocate();
      await a.send(packetize(cid, HidCommand.MSG, SELECT)[0]!);
      await a.send(packetize(cid, HidCommand.CANCEL, new Uint8Array(0))[0]!);
      await sleep(250);
      assert.equal(key.stats.cardCommands, 0, 'the card never saw the command');
      assert.ok(
        a.on(cid).every((r) => r[4] === (0x80 | HidCommand.KEEPALIVE)),
        'no answer but keepalives',
      );
    });
  });

  describe('host transport', () => {
    it('allocates a channel with INIT and carries APDUs in MSG; the reader has a card while plugged', async () => {
      const { reader, key, source } = await setup();
      assert.equal(reader.cardPresent, true, 'card present while plugged');
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'SELECT over HID');
      assert.ok(
        reader.channel !== undefined && key.allocatedChannels().includes(reader.channel),
        'the reader uses the channel the key allocated',
      );
      assert.equal(sw(await reader.transmit(LONG)), 0x6a82, 'a multi-packet APDU');
      source.close();
    });

    it('takes only the INIT answer carrying its own nonce when another program allocates at the same time', async () => {
      const { reader, hid, source } = await setup();
      const other = await rawHandle(hid);
      const [theirs] = await Promise.all([other.allocate(), reader.transmit(SELECT)]);
      assert.ok(reader.channel !== undefined && reader.channel !== theirs, 'different channels for different programs');
      source.close();
    });

    it('keepalives carry a slow card past the response time-out; silence does not', async () => {
      // Keepalives every 100 ms against a 600 ms silence limit: an event-loop stall of up to ~500 ms on a loaded
      // machine still cannot make the host time out while the key is working.
      const { reader, key, source } = await setup({ key: { cardLatencyMs: 1500 }, reader: { responseTimeoutMs: 600 } });
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'answered after 1500 ms thanks to keepalives');
      assert.ok(key.stats.keepalives >= 4, `keepalives were sent (${key.stats.keepalives})`);
      key.faults.sendKeepalive = false;
      const t0 = performance.now();
      await assert.rejects(reader.transmit(SELECT), transportError('TIMEOUT'));
      const took = performance.now() - t0;
      assert.ok(
        took >= 590 && took < 1400,
        `time-out after the 600 ms silence, not at the card's answer (1500 ms); took ${took.toFixed(0)} ms`,
      );
      key.faults.sendKeepalive = true;
      key.faults.cardLatencyMs = 0;
      await sleep(1100); // the abandoned command finishes on the key
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'the next command works, on a fresh channel');
      source.close();
    });

    it('caps the wait at maxProcessingMs however many keepalives arrive', async () => {
      const { reader, source } = await setup({ key: { cardLatencyMs: 2000 }, reader: { maxProcessingMs: 300 } });
      const t0 = performance.now();
      await assert.rejects(
        reader.transmit(SELECT),
        (e: unknown) => transportError('TIMEOUT')(e) && /more than 300 ms/.test((e as Error).message),
      );
      assert.ok(performance.now() - t0 < 1500, 'gave up well before the card answers (2000 ms)');
      source.close();
    });

    it('a muted key (no answer at all) gives TIMEOUT, never a hang', async () => {
      const { reader, key, source } = await setup({ reader: { responseTimeoutMs: 100 } });
      key.faults.mute = true;
      await assert.rejects(reader.transmit(SELECT), transportError('TIMEOUT'));
      key.faults.mute = false;
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'works again once the key answers');
      source.close();
    });

    it('an answer cut off mid-message is a prompt TIMEOUT; the next command gets a new channel', async () => {
      const { reader, key, hid, source } = await setup({ reader: { responseTimeoutMs: 300 } });
      // HidLink is the reader's link; driven directly here to get a multi-packet answer (PING 200 bytes).
      const dev = await hid.HIDAsync.open(hid.devices()[0]!.path!);
      const link = new HidLink(dev, { responseTimeoutMs: 5000 });
      dev.on('data', (d: Buffer) => link.receive(d));
      dev.on('error', () => {});
      assert.equal((await link.call(HidCommand.PING, new Uint8Array(200).fill(5))).length, 200, 'a whole answer');
      const before = link.channel;
      let conts = 0;
      key.faults.toHost = (r) => !(r[4] === 0 && conts++ === 0); // lose CONT SEQ 0 of the next multi-packet answer
      const t0 = performance.now();
      await assert.rejects(link.call(HidCommand.PING, new Uint8Array(200).fill(5)), transportError('TIMEOUT'));
      assert.ok(
        performance.now() - t0 < 2500,
        'INVALID_SEQ on the answer is noticed without waiting for the 5 s silence time-out',
      );
      key.faults.toHost = undefined;
      assert.equal((await link.call(HidCommand.PING, Uint8Array.of(1))).length, 1, 'recovers');
      assert.notEqual(link.channel, before, 'a fresh channel after a time-out');
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'the reader on the same key is unaffected');
      await dev.close();
      source.close();
    });

    it('two host programs on one key: CHANNEL_BUSY is retried with backoff and both finish', async () => {
      const { reader: a, key, hid, source } = await setup({ key: { cardLatencyMs: 15 } });
      const sourceB = await HidKeySource.open({ hid, pollIntervalMs: 0 });
      const b = sourceB.list()[0]!;
      const run = async (r: HidCardReader) => {
        for (let i = 0; i < 8; i++) assert.equal(sw(await r.transmit(SELECT)), 0x9000, 'SELECT');
      };
      await Promise.all([run(a), run(b)]);
      assert.notEqual(a.channel, b.channel, 'each program has its own channel');
      assert.ok(
        (key.stats.errors.LINK_BUSY ?? 0) > 0,
        `the key answered CHANNEL_BUSY (${JSON.stringify(key.stats.errors)})`,
      );
      assert.equal(key.stats.cardCommands, 16, 'every command ran exactly once');
      source.close();
      sourceB.close();
    });

    it('gives up on a key busy for longer than busyRetryMs with TIMEOUT (CHANNEL_BUSY)', async () => {
      const { reader, key, hid, source } = await setup({ reader: { busyRetryMs: 150 } });
      const other = await rawHandle(hid);
      const cid = await other.allocate();
      key.faults.cardLatencyMs = 1000;
      await other.send(packetize(cid, HidCommand.MSG, SELECT)[0]!);
      await assert.rejects(
        reader.transmit(SELECT),
        (e: unknown) =>
          transportError('TIMEOUT')(e) && e instanceof HidTransportError && e.hidError === HidErrorByte.CHANNEL_BUSY,
      );
      source.close();
      key.unplug();
    });

    it('gets a new channel when the key has forgotten its channel (INVALID_CHANNEL)', async () => {
      const { reader, key, hid, source } = await setup({ key: { maxChannels: 1 } });
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'first channel');
      const first = reader.channel;
      await (await rawHandle(hid)).allocate(); // evicts the reader's channel
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'recovered');
      assert.notEqual(reader.channel, first, 'with a new channel');
      source.close();
    });

    it('a key pulled while the host sends continuation packets: CARD_REMOVED at once, removed+end, and recovery on return', async () => {
      const { reader, key, source } = await setup({ reader: { responseTimeoutMs: 5000 } });
      const events: string[] = [];
      reader.on('removed', () => events.push('removed'));
      reader.on('end', () => events.push('end'));
      reader.on('card', () => events.push('card'));
      let n = 0;
      key.faults.fromHost = (r) => {
        if (r[4] === 1) {
          key.unplug();
          return false;
        } // CONT SEQ 1 of the long APDU never arrives
        n++;
        return true;
      };
      const t0 = performance.now();
      await assert.rejects(reader.transmit(LONG), transportError('CARD_REMOVED'));
      assert.ok(
        performance.now() - t0 < 2500,
        `prompt, not at the 5 s time-out (${(performance.now() - t0).toFixed(0)} ms)`,
      );
      assert.ok(n >= 2, 'the key had seen part of the message');
      assert.deepEqual(events, ['removed', 'end'], 'removed then end');
      assert.equal(reader.cardPresent, false, 'no card while unplugged');
      await assert.rejects(reader.transmit(SELECT), transportError('READER_GONE'));
      key.faults.fromHost = undefined;
      key.plug();
      await source.poll();
      assert.deepEqual(events, ['removed', 'end', 'card'], 'card again on return');
      assert.equal(sw(await reader.transmit(SELECT)), 0x9000, 'the same reader object works again');
      source.close();
    });

    it('a key pulled while the card works: CARD_REMOVED promptly, the card journal recovers the sale', async () => {
      const issuer = new TestIssuer();
      const trust = new TrustStore();
      trust.addIssuer(issuer.certificate);
      const applet = new CardApplet(new Nvm(new MemoryBacking()));
      const cardId = Uint8Array.from(randomBytes(8));
      const direct = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
      await issuer.issue(direct, { cardId });
      await direct.load({ token: issuer.topup(cardId, 1, 100_000).envelope, authority: issuer.authority.envelope });

      const { reader, key, source } = await setup({ applet, reader: { responseTimeoutMs: 5000 } });
      const session = await CardSession.open(reader, trust, { now: NOW() });
      const sale = (amount: number) => ({
        amount,
        currency: 156,
        merchantId: 'M-1',
        terminalId: 'T-1',
        time: NOW(),
        hostNonce: Uint8Array.from(randomBytes(16)),
      });
      const r1 = await session.sign(sale(100), undefined);
      const head: ChainHead = { counter: r1.counter, hash: r1.hash };
      // The card signs, then the key is pulled as the first packet of the answer leaves it.
      key.faults.toHost = (r) => {
        if (r[4] === (0x80 | HidCommand.MSG)) {
          key.unplug();
          return false;
        }
        return true;
      };
      const t0 = performance.now();
      await assert.rejects(session.sign(sale(250), head), transportError('CARD_REMOVED'));
      assert.ok(performance.now() - t0 < 2500, 'prompt, not at the 5 s time-out');
      key.faults.toHost = undefined;
      // Pulled while waiting (the card slow, keepalives flowing): also prompt, and the card never ran it.
      key.plug();
      await source.poll();
      key.faults.cardLatencyMs = 3000;
      const ran = key.stats.cardCommands;
      setTimeout(() => key.unplug(), 120);
      const t1 = performance.now();
      await assert.rejects(reader.transmit(SELECT), transportError('CARD_REMOVED'));
      const took = performance.now() - t1;
      assert.ok(
        took >= 100 && took < 2500,
        `failed at the unplug, not at the card's answer or a time-out (${took.toFixed(0)} ms)`,
      );
      assert.equal(key.stats.cardCommands, ran, 'the card never ran the command');
      key.faults.cardLatencyMs = 0;
      key.plug();
      await source.poll();
      const again = await CardSession.open(reader, trust, { now: NOW() });
      const recovered = await again.recover(head);
      assert.equal(recovered.length, 1, 'the signed sale is in the card journal');
      assert.equal(recovered[0]!.amount, 250, 'the lost sale');
      source.close();
    });

    it('a card that loses power mid-command takes the key down with it: CARD_REMOVED', async () => {
      const { reader, applet, source } = await setup();
      const client = new CardClient(reader);
      await client.select();
      applet.nvm.cutPowerAfter(0); // the next NVM write dies
      const issuer = new TestIssuer();
      await assert.rejects(
        client.personalizeBegin({
          cardId: Uint8Array.from(randomBytes(8)),
          algorithm: 1,
          issuer: issuer.certificate.envelope,
        }),
        transportError('CARD_REMOVED'),
      );
      assert.equal(reader.cardPresent, false, 'the key is gone');
      source.close();
    });

    it('polling notices attach and detach, and an injectable timer interval drives it', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())), { plugged: false });
      const hid = new SimNodeHid([key]);
      const source = await HidKeySource.open({ hid, pollIntervalMs: 20 });
      assert.deepEqual(source.list(), [], 'nothing plugged');
      const found = source.waitForReader(() => true, 1000);
      key.plug();
      const reader = await found;
      assert.equal(reader.cardPresent, true, 'attached by the timer');
      const removed = new Promise<void>((r) => reader.once('removed', () => r()));
      key.unplug();
      await removed;
      assert.deepEqual(source.list(), [], 'detached');
      await assert.rejects(
        source.waitForReader(() => true, 50),
        transportError('TIMEOUT'),
      );
      source.close();
    });

    it('ignores HID devices that are not card keys', async () => {
      const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())));
      const hid = new SimNodeHid([key]);
      const source = await HidKeySource.open({ hid, pollIntervalMs: 0, match: (d) => d.usagePage === 0xf1d0 });
      assert.deepEqual(source.list(), [], 'a FIDO-page filter does not take our key');
      source.close();
    });

    it('says TRANSPORT_UNAVAILABLE with an install hint when node-hid cannot load; the real node-hid loads here', async () => {
      await assert.rejects(
        loadNodeHid(() => Promise.reject(new Error("Cannot find module 'node-hid'"))),
        (e: unknown) =>
          transportError('TRANSPORT_UNAVAILABLE')(e) && /npm install node-hid/.test((e as TransportError).hint),
      );
      await assert.rejects(
        loadNodeHid(() => Promise.resolve({})),
        transportError('TRANSPORT_UNAVAILABLE'),
      );
      // No /dev/hidraw on these machines: the real module loads and lists no card key.
      const source = await HidKeySource.open({ pollIntervalMs: 0 });
      assert.deepEqual(source.list(), [], 'no real card keys here');
      source.close();
    });
  });

  it('docs/protocol.md §11 states the values of protocol/framing/hid-key.ts', () => {
    const md = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const s11 = md.slice(md.indexOf('## 11. '), md.indexOf('## 12. '));
    const says = (text: string, what: string) => assert.ok(s11.includes(text), `§11 must say ${text} (${what})`);
    says(`\`0x${hidKey.CARDPOST_HID_USAGE_PAGE.toString(16).toUpperCase()}\``, 'usage page');
    says(`\`0x${hidKey.CARDPOST_HID_USAGE.toString(16).padStart(2, '0')}\``, 'usage');
    says(`every ${hidKey.HID_KEEPALIVE_INTERVAL_MS} ms`, 'keepalive cadence');
    says(`**${hidKey.HID_RESPONSE_TIMEOUT_MS} ms**`, 'response time-out');
    says(`**${hidKey.HID_MAX_PROCESSING_MS / 1000} s**`, 'processing cap');
    says(`**${hidKey.HID_BUSY_RETRY_MS / 1000} s**`, 'busy retry');
    says(
      `starting at ${hidKey.HID_BUSY_BACKOFF_MIN_MS} ms, doubling up to ${hidKey.HID_BUSY_BACKOFF_MAX_MS} ms`,
      'backoff',
    );
    says(
      `\`0x${hidKey.SIM_HID_VENDOR_ID.toString(16)}\`/\`0x${hidKey.SIM_HID_PRODUCT_ID.toString(16).padStart(4, '0')}\``,
      'simulated key ids',
    );
  });
});
