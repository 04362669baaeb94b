import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { encodeCommandApdu } from '../../protocol/apdu/index.js';
import { CARD_AID } from '../../protocol/commands/index.js';
import {
  HID_BROADCAST_CID,
  HID_ERRORS,
  HID_REPORT_SIZE,
  HidCommand,
  HidErrorByte,
  encodeInitResponse,
  initRequestPacket,
  keepalivePacket,
  packetize,
} from '../../protocol/framing/hid-packet.js';
import { TransportError } from '../../protocol/transport.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { SimHidKey, SimNodeHid } from '../../device-sim/hid/index.js';
import { HidCardReader, HidKeySource, type NodeHidDevice } from '../../host/transports/hid/index.js';
import { FUZZ_ROUNDS, explain, fuzzSeed, hexSeed } from '../support/fuzz.js';
import { Prng } from '../support/prng.js';

/**
 * Every decoder of outside bytes on both ends of the HID link: random and mutated reports into the
 * simulated key (through node-hid's write surface), and hostile keys answering the host transport.
 * Neither side may crash or hang; the host may only fail with a TransportError.
 */

const SELECT = encodeCommandApdu({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: CARD_AID, le: 256 });
const LONG = encodeCommandApdu(
  { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: new Uint8Array(200).fill(0xab), le: 256 },
  'extended',
);
const tick = () => new Promise<void>((r) => setImmediate(r));
const cidOf = (r: Uint8Array) => ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;

function mutate(rng: Prng, report: Uint8Array): Uint8Array {
  const r = Uint8Array.from(report);
  switch (rng.int(6)) {
    case 0:
      for (let i = rng.range(1, 4); i > 0; i--) r[rng.int(r.length)] = rng.int(256);
      return r;
    case 1:
      return r.subarray(0, rng.int(r.length));
    case 2: {
      const out = new Uint8Array(r.length + rng.range(1, 8));
      out.set(r);
      return out;
    }
    case 3:
      r[4] = rng.int(256);
      return r; // any command / sequence byte
    case 4:
      r.set(rng.bytes(4), 0);
      return r; // any channel
    default:
      r.set(rng.bytes(2), 5);
      return r; // any BCNT
  }
}

describe('fuzz: HID card-key link', function () {
  this.timeout(60_000);

  it('random and mutated reports into the simulated key: it never throws, answers only well-formed reports, and still serves a host', async () => {
    const seed = fuzzSeed(0x41d0_0001);
    const rng = new Prng(seed);
    const applet = new CardApplet(new Nvm(new MemoryBacking()));
    const key = new SimHidKey(applet, { messageTimeoutMs: 20, maxChannels: 8 });
    const hid = new SimNodeHid([key]);
    const dev = await hid.HIDAsync.open(hid.devices()[0]!.path!);
    const answers: Uint8Array[] = [];
    dev.on('data', (d: Buffer) => answers.push(Uint8Array.from(d)));
    dev.on('error', (e: unknown) => assert.fail(`the key reported a read error: ${String(e)}`));

    // Seeds: channels the key really allocated, and valid packets on them.
    const cids: number[] = [HID_BROADCAST_CID];
    for (let i = 0; i < 3; i++) {
      await dev.write(Buffer.from([0, ...initRequestPacket(rng.bytes(8))]));
      await tick();
    }
    for (const a of answers)
      if (cidOf(a) === HID_BROADCAST_CID && a[4] === (0x80 | HidCommand.INIT)) cids.push(cidOf(a.subarray(15, 19)));
    assert.ok(cids.length === 4, `three channels allocated (${cids.length - 1})`);
    const seeds = (cid: number): Uint8Array[] => [
      initRequestPacket(rng.bytes(8), cid),
      ...packetize(cid, HidCommand.MSG, SELECT),
      ...packetize(cid, HidCommand.MSG, LONG),
      ...packetize(cid, HidCommand.PING, rng.bytes(rng.int(150))),
      ...packetize(cid, HidCommand.CANCEL, new Uint8Array(0)),
      ...packetize(cid, HidCommand.WINK, new Uint8Array(0)),
      ...packetize(cid, rng.int(0x80), rng.bytes(rng.int(80))),
    ];

    const rounds = 3000 * FUZZ_ROUNDS;
    for (let i = 0; i < rounds; i++) {
      let report: Uint8Array;
      const kind = rng.int(10);
      if (kind < 3) report = rng.pick(seeds(rng.pick(cids)));
      else if (kind < 8) report = mutate(rng, rng.pick(seeds(rng.pick(cids))));
      else report = rng.bytes(rng.int(70));
      const reportId = rng.bool(0.9) ? 0 : rng.int(256);
      const asArray = rng.bool(0.2);
      const bytes = [reportId, ...report];
      if (asArray && rng.bool(0.1)) bytes.push(rng.pick([256, -1, 1.5, 1e10]));
      try {
        await dev.write(asArray ? bytes : Buffer.from(bytes.map((b) => b & 0xff)));
      } catch (e) {
        assert.fail(
          `write threw for ${Buffer.from(report).toString('hex')} (seed ${hexSeed(seed)}, round ${i}): ${explain(e)}`,
        );
      }
      if (rng.int(20) === 0) await tick();
    }
    await new Promise((r) => setTimeout(r, 40)); // stalled messages time out, the card finishes

    const known = new Set(Object.values(HidCommand).map((c) => 0x80 | c));
    const errorBytes = new Set<number>(Object.values(HidErrorByte));
    for (const a of answers) {
      assert.equal(a.length, HID_REPORT_SIZE, 'every answer is one 64-byte report');
      if ((a[4]! & 0x80) === 0) continue; // continuation of a long answer
      assert.ok(known.has(a[4]!), `answer command 0x${a[4]!.toString(16)} is one of §11.4`);
      if (a[4] === (0x80 | HidCommand.ERROR))
        assert.ok(errorBytes.has(a[7]!), `ERROR byte 0x${a[7]!.toString(16)} is one of §11.6`);
    }
    const codes = new Set([
      ...Object.keys(HID_ERRORS),
      'LINK_UNKNOWN_CHANNEL',
      'LINK_BUSY',
      'LINK_BAD_LENGTH',
      'LINK_UNKNOWN_COMMAND',
      'LINK_CANCELLED',
      'LINK_RESPONSE_TOO_LONG',
    ]);
    for (const c of Object.keys(key.stats.errors))
      assert.ok(codes.has(c), `the key counted an undocumented error ${c}`);
    assert.ok(
      Object.keys(key.stats.errors).length >= 6,
      `the fuzzer reached many error paths: ${JSON.stringify(key.stats.errors)}`,
    );

    const source = await HidKeySource.open({ hid, pollIntervalMs: 0 });
    const sw = await source.list()[0]!.transmit(SELECT);
    assert.equal(
      Buffer.from(sw.subarray(-2)).toString('hex'),
      '9000',
      'a host still gets SELECT through after the storm',
    );
    source.close();
    await dev.close();
  });

  /** A key that answers whatever the PRNG says: valid, mutated, garbage, errors, silence, unplugs. */
  class HostileKey extends EventEmitter implements NodeHidDevice {
    private writesFail = false;
    constructor(private readonly rng: Prng) {
      super();
    }

    async write(values: number[] | Buffer): Promise<number> {
      if (this.writesFail) throw new Error('Cannot write to hid device');
      const r = Uint8Array.from(values).subarray(1);
      if (r.length === HID_REPORT_SIZE && (r[4]! & 0x80) !== 0) {
        const cid = cidOf(r);
        const cmd = r[4]! & 0x7f;
        const payload = r.slice(7, 7 + Math.min(57, (r[5]! << 8) | r[6]!));
        setTimeout(() => this.answer(cid, cmd, payload), this.rng.int(3));
      }
      return values.length;
    }

    private closed = false;
    // node-hid emits nothing once a device is closing; neither does this.
    async close(): Promise<void> {
      this.closed = true;
      this.removeAllListeners();
    }

    private send(...reports: unknown[]): void {
      for (const r of reports) this.emit('data', r instanceof Uint8Array ? Buffer.from(r) : r);
    }

    private answer(cid: number, cmd: number, payload: Uint8Array): void {
      const rng = this.rng;
      if (cmd === HidCommand.CANCEL || this.closed) return;
      const good =
        cmd === HidCommand.INIT
          ? packetize(
              cid,
              cmd,
              encodeInitResponse({
                nonce: payload.length === 8 ? payload : new Uint8Array(8),
                cid: rng.pick([rng.next() || 1, 0, HID_BROADCAST_CID, rng.next()]),
                protocolVersion: 2,
                major: 1,
                minor: 0,
                build: 0,
                capabilities: rng.bool(0.1) ? 0x08 : 0x01,
              }),
            )
          : packetize(cid, cmd, rng.bytes(rng.int(300)));
      switch (rng.int(13)) {
        case 0:
        case 1:
        case 2:
          this.send(...good);
          return;
        case 3:
          for (let i = rng.int(6); i > 0; i--) this.send(keepalivePacket(cid, rng.int(3)));
          this.send(...good);
          return;
        case 4:
          this.send(
            packetize(cid, HidCommand.ERROR, Uint8Array.of(rng.pick([6, 6, 4, 5, 0x0b, 1, 0x7f, rng.int(256)])))[0]!,
          );
          return;
        case 5:
          this.send(...good.map((g) => (rng.bool(0.5) ? mutate(rng, g) : g)));
          return;
        case 6:
          this.send(...rng.shuffle([...good, ...good.slice(0, rng.int(good.length))]));
          return;
        case 7:
          this.send(
            ...Array.from({ length: rng.range(1, 5) }, () =>
              rng.pick<unknown>([rng.bytes(rng.int(70)), 'x', 42, null, {}, [1, 2, 3], new Uint8Array(65)]),
            ),
          );
          return;
        case 8:
          this.send(...packetize((cid ^ 1) >>> 0, cmd, rng.bytes(rng.int(100))));
          return;
        case 9:
          return; // silence
        case 10:
          this.emit('error', new Error('could not read from HID device'));
          return;
        case 11:
          this.writesFail = true;
          this.send(...good);
          return;
        default:
          this.send(packetize(cid, HidCommand.ERROR, rng.bytes(rng.range(0, 3)))[0]!, ...good);
      }
    }
  }

  it('hostile keys answering the host transport: it settles every command with an answer or a TransportError, never hangs', async () => {
    const seed = fuzzSeed(0x41d0_0002);
    const rng = new Prng(seed);
    const cases = 300 * FUZZ_ROUNDS;
    const outcomes: Record<string, number> = {};
    const runCase = async (i: number): Promise<void> => {
      const r = rng.fork();
      const device = new HostileKey(r);
      const reader = new HidCardReader(
        { vendorId: 1, productId: 1, release: 0, interface: 0, path: `fuzz${i}` },
        {
          responseTimeoutMs: 10,
          maxProcessingMs: 40,
          busyRetryMs: 30,
          backoffMinMs: 1,
          backoffMaxMs: 4,
        },
      );
      reader.on('error', () => {});
      reader.attach(device);
      for (let n = 0; n < 3 && reader.cardPresent; n++) {
        const apdu = r.bool(0.8) ? SELECT : LONG;
        let hang: NodeJS.Timeout | undefined;
        const guard = new Promise<never>((_, reject) => {
          hang = setTimeout(() => reject(new Error('HANG')), 3000);
        });
        try {
          const answer = await Promise.race([reader.transmit(apdu), guard]);
          assert.ok(answer instanceof Uint8Array, 'an answer is bytes');
          outcomes.answer = (outcomes.answer ?? 0) + 1;
        } catch (e) {
          if (!(e instanceof TransportError))
            assert.fail(`case ${i} (seed ${hexSeed(seed)}): not a TransportError: ${explain(e)}`);
          outcomes[e.transportCode] = (outcomes[e.transportCode] ?? 0) + 1;
        } finally {
          clearTimeout(hang);
        }
      }
      reader.close();
    };
    for (let i = 0; i < cases; i += 30) {
      await Promise.all(Array.from({ length: Math.min(30, cases - i) }, (_, j) => runCase(i + j)));
    }
    if (process.env.FUZZ_VERBOSE) console.log(outcomes);
    for (const code of ['answer', 'TIMEOUT', 'CARD_REMOVED', 'READER_GONE']) {
      assert.ok((outcomes[code] ?? 0) > 0, `the fuzzer reached outcome ${code}: ${JSON.stringify(outcomes)}`);
    }
  });

  it('arbitrary values into the host decoder while a command waits: no throw, and the command still settles typed', async () => {
    const seed = fuzzSeed(0x41d0_0003);
    const rng = new Prng(seed);
    const device = new (class extends EventEmitter implements NodeHidDevice {
      written: Uint8Array[] = [];
      async write(values: number[] | Buffer): Promise<number> {
        this.written.push(Uint8Array.from(values).subarray(1));
        return values.length;
      }
      async close(): Promise<void> {}
    })();
    const reader = new HidCardReader(
      { vendorId: 1, productId: 1, release: 0, interface: 0, path: 'fuzz' },
      { responseTimeoutMs: 200 },
    );
    reader.attach(device);
    const pending = reader.transmit(SELECT).then(
      () => 'answer',
      (e: unknown) => e,
    );
    await tick();
    const init = device.written[0]!;
    const cid = cidOf(init);
    for (let i = 0; i < 20_000 * FUZZ_ROUNDS; i++) {
      const r = rng.bytes(rng.pick([64, 64, 64, 65, rng.int(80)]));
      if (r.length >= 4 && rng.bool(0.7)) {
        r[0] = cid >>> 24;
        r[1] = (cid >>> 16) & 0xff;
        r[2] = (cid >>> 8) & 0xff;
        r[3] = cid & 0xff;
      }
      const value = rng.bool(0.95)
        ? Buffer.from(r)
        : rng.pick<unknown>([null, undefined, 'str', 7, {}, [300, -1], Symbol('s')]);
      try {
        device.emit('data', value);
      } catch (e) {
        assert.fail(`the host decoder threw for ${String(value)} (seed ${hexSeed(seed)}, round ${i}): ${explain(e)}`);
      }
    }
    const result = await pending;
    assert.ok(result === 'answer' || result instanceof TransportError, `settled typed: ${String(result)}`);
    reader.close();
  });
});
