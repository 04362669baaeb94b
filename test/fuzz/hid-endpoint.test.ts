import { strict as assert } from 'node:assert';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { DecodeError } from '../../protocol/errors.js';
import {
  EndpointFrameReader,
  HID_ENDPOINT_MAX_FRAME,
  decodeClientMessage,
  decodeEndpointMessage,
  encodeEndpointFrame,
  type ClientMessage,
  type EndpointMessage,
} from '../../protocol/framing/hid-endpoint-wire.js';
import { TransportError } from '../../protocol/transport.js';
import { CardClient } from '../../protocol/commands/index.js';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { SimHidKey } from '../../device-sim/hid/index.js';
import { SimHidEndpoint } from '../../device-sim/hid/hid-endpoint.js';
import { HidKeySource } from '../../host/transports/hid/index.js';
import { RemoteNodeHid } from '../../host/transports/hid/remote-node-hid.js';
import { FUZZ_ROUNDS, attempt, fuzzSeed, hexSeed } from '../support/fuzz.js';
import { Prng } from '../support/prng.js';

/**
 * Both decoders of the simulated HID key's QA endpoint (docs/protocol.md §11.13): random and mutated
 * frames into the endpoint (over TCP) and into RemoteNodeHid (from a hostile endpoint). Neither end may
 * crash; a bad frame ends that connection only (endpoint: with a logged reason; client: a
 * TransportError), and the endpoint still serves a well-formed client afterwards.
 */

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Until `done()` holds or `ms` pass (then the assertion after it says what is missing). */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sampleClient(rng: Prng): ClientMessage {
  const req = rng.next();
  switch (rng.int(3)) {
    case 0:
      return { type: 'OPEN', req, path: rng.int(2) ? 'sim-hid:SIMKEY0001:1' : `p${rng.next()}` };
    case 1:
      return { type: 'WRITE', req, handle: rng.int(4), data: rng.bytes(rng.range(1, 65)) };
    default:
      return { type: 'CLOSE', req, handle: rng.int(4) };
  }
}

function sampleEndpoint(rng: Prng): EndpointMessage {
  const req = rng.next();
  switch (rng.int(8)) {
    case 0:
      return { type: 'HELLO', version: 1 };
    case 1:
      return {
        type: 'DEVICES',
        devices: Array.from({ length: rng.int(3) }, (_, i) => ({
          vendorId: 0x1209,
          productId: 1,
          path: `sim-hid:K${i}:${rng.int(9)}`,
          serialNumber: `K${i}`,
          release: 256,
          interface: 0,
          usagePage: 0xff43,
          usage: 1,
        })),
      };
    case 2:
      return { type: 'OPENED', req, handle: rng.range(1, 4) };
    case 3:
      return { type: 'WRITTEN', req, count: 65 };
    case 4:
      return { type: 'CLOSED', req };
    case 5:
      return { type: 'FAILED', req, message: 'Cannot write to hid device' };
    case 6:
      return { type: 'REPORT', handle: rng.range(1, 4), data: rng.bytes(64) };
    default:
      return { type: 'READ_ERROR', handle: rng.range(1, 4), message: 'could not read from HID device' };
  }
}

function mutate(rng: Prng, frame: Uint8Array): Uint8Array {
  const f = Uint8Array.from(frame);
  switch (rng.int(5)) {
    case 0:
      for (let i = rng.range(1, 4); i > 0; i--) f[rng.int(f.length)] = rng.int(256);
      return f;
    case 1:
      return f.subarray(0, rng.range(1, f.length));
    case 2: {
      const body = f.subarray(2);
      const cut = body.subarray(0, rng.int(body.length + 1));
      return Uint8Array.of(cut.length >> 8, cut.length & 0xff, ...cut); // consistent length, truncated CBOR
    }
    case 3:
      f.set(rng.bytes(2), 0); // any length
      return f;
    default:
      return rng.bytes(rng.range(1, 200));
  }
}

describe('fuzz: simulated HID key endpoint', function () {
  this.timeout(60_000);

  it('the codec: random and mutated bodies give a message that re-encodes to the same bytes, or a DecodeError', () => {
    const rng = new Prng(fuzzSeed(0x4e0d_0001));
    let decoded = 0;
    for (let i = 0; i < 4000 * FUZZ_ROUNDS; i++) {
      const client = i % 2 === 0;
      const valid = client ? encodeEndpointFrame(sampleClient(rng)) : encodeEndpointFrame(sampleEndpoint(rng));
      const body = rng.int(4) === 0 ? rng.bytes(rng.int(80)) : mutate(rng, valid).subarray(2);
      const decode = client ? decodeClientMessage : decodeEndpointMessage;
      const r = attempt(
        'decode',
        () => `${hexSeed(rng.seed)} case ${i}: ${hex(body)}`,
        () => decode(body),
      );
      if (r instanceof DecodeError) {
        assert.match(r.code, /^HID_ENDPOINT_/, `typed code, case ${i}`);
        continue;
      }
      decoded++;
      assert.equal(hex(encodeEndpointFrame(r).subarray(2)), hex(body), `strict: only canonical bytes, case ${i}`);
    }
    assert.ok(decoded > 50, `some mutants are still valid messages (${decoded})`);
  });

  it('the frame reader: bounded memory, any chunking, a bad length is HID_ENDPOINT_FRAME_LENGTH', () => {
    const rng = new Prng(fuzzSeed(0x4e0d_0002));
    for (let i = 0; i < 500 * FUZZ_ROUNDS; i++) {
      const frames = Array.from({ length: rng.range(1, 6) }, () => encodeEndpointFrame(sampleClient(rng)));
      const stream = Buffer.concat(frames);
      const reader = new EndpointFrameReader();
      const got: Uint8Array[] = [];
      for (let p = 0; p < stream.length;) {
        const n = rng.range(1, 40);
        got.push(...reader.push(stream.subarray(p, p + n)));
        p += n;
        assert.ok(reader.pending <= HID_ENDPOINT_MAX_FRAME + 2);
      }
      assert.deepEqual(
        got.map(hex),
        frames.map((f) => hex(f.subarray(2))),
        `case ${i}: the frames back`,
      );
    }
    const reader = new EndpointFrameReader();
    for (const len of [0, HID_ENDPOINT_MAX_FRAME + 1, 0xffff])
      assert.throws(
        () => reader.push(Uint8Array.of(len >> 8, len & 0xff, 1)),
        (e: unknown) => e instanceof DecodeError && e.code === 'HID_ENDPOINT_FRAME_LENGTH',
      );
  });

  it('the endpoint: hostile connections are closed with a logged reason, well-formed ones answered; then a host still works', async () => {
    const rng = new Prng(fuzzSeed(0x4e0d_0003));
    const key = new SimHidKey(new CardApplet(new Nvm(new MemoryBacking())), { serialNumber: 'SIMKEY0001' });
    const logged: string[] = [];
    const endpoint = new SimHidEndpoint([key], { log: (l) => logged.push(l), maxConnections: 64 });
    const addr = await endpoint.listen();
    let closedBadly = 0;
    let answered = 0;
    try {
      for (let c = 0; c < 60 * FUZZ_ROUNDS; c++) {
        const socket = connect(addr);
        const reader = new EndpointFrameReader();
        const seen: EndpointMessage[] = [];
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        socket.on('error', () => undefined);
        socket.on('data', (chunk) => {
          for (const body of reader.push(chunk)) seen.push(decodeEndpointMessage(body)); // the endpoint sends only valid frames
        });
        await new Promise<void>((r) => socket.once('connect', () => r()));
        const hostile = c % 3 !== 0;
        const requests = Array.from({ length: rng.range(1, 6) }, () => sampleClient(rng));
        for (const m of requests) {
          const frame = encodeEndpointFrame(m);
          socket.write(hostile && rng.int(2) === 0 ? mutate(rng, frame) : frame);
        }
        // Well-formed requests are all answered (polled with a deadline: a loaded machine may be slow).
        if (!hostile) await waitFor(() => seen.filter((m) => 'req' in m).length >= requests.length, 3000);
        else await pause(15);
        if (!hostile) {
          const answers = seen.filter((m) => 'req' in m);
          assert.equal(answers.length, requests.length, `connection ${c}: every well-formed request is answered`);
          assert.ok(!socket.destroyed, `connection ${c}: well-formed requests keep the connection`);
          answered++;
        } else if (socket.destroyed || socket.readableEnded) closedBadly++;
        socket.destroy();
        await closed;
      }
      await waitFor(() => endpoint.clients === 0, 3000);
      assert.ok(closedBadly > 5, `hostile connections were closed (${closedBadly})`);
      assert.ok(answered > 5);
      const reasons = logged.filter((l) => /closing the connection .*bad frame \(HID_ENDPOINT_/.test(l));
      assert.ok(
        reasons.length >= closedBadly - 2,
        `each closed with its reason logged: ${logged.slice(0, 3).join(' | ')}`,
      );
      assert.equal(endpoint.clients, 0, 'no connection left behind');

      // A well-formed host after all that: the key is listed, opened and its card answers.
      const hid = new RemoteNodeHid(addr);
      const source = await HidKeySource.open({ hid, pollIntervalMs: 0 });
      try {
        const reader = await source.waitForReader(() => true, 2000);
        const client = new CardClient(reader);
        await client.select();
        assert.ok(key.stats.messages > 0, 'the card key served the host');
      } finally {
        source.close();
        hid.close();
      }
    } finally {
      await endpoint.close();
    }
  });

  it('RemoteNodeHid against a hostile endpoint: only TransportErrors and read errors, never a crash', async () => {
    const rng = new Prng(fuzzSeed(0x4e0d_0004));
    let script: (socket: Socket) => void = () => undefined;
    const server = createServer((s) => {
      s.on('error', () => undefined);
      script(s);
    });
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (server.address() as AddressInfo).port;
    let refused = 0;
    let listed = 0;
    try {
      for (let i = 0; i < 80 * FUZZ_ROUNDS; i++) {
        const greet = rng.int(3) !== 0;
        const frames = Array.from({ length: rng.range(1, 5) }, () => encodeEndpointFrame(sampleEndpoint(rng)));
        script = (s) => {
          if (greet) {
            s.write(encodeEndpointFrame({ type: 'HELLO', version: 1 }));
            s.write(encodeEndpointFrame({ type: 'DEVICES', devices: [] }));
          }
          for (const f of frames) s.write(rng.int(2) ? mutate(rng, f) : f);
          setTimeout(() => s.destroy(), 30);
        };
        const hid = new RemoteNodeHid({ host: '127.0.0.1', port }, { connectTimeoutMs: 200, requestTimeoutMs: 100 });
        try {
          await hid.devicesAsync();
          listed++;
          // Whatever arrives next, an open device may only fail as node-hid fails.
          await hid.HIDAsync.open('sim-hid:K0:1').then(
            (d) => {
              d.on('data', () => undefined);
              d.on('error', () => undefined);
            },
            (e: unknown) => assert.ok(e instanceof Error, String(e)),
          );
        } catch (e) {
          assert.ok(e instanceof TransportError && e.code === 'TRANSPORT_UNAVAILABLE', `case ${i}: ${String(e)}`);
          refused++;
        } finally {
          hid.close();
        }
      }
      assert.ok(refused > 10 && listed > 10, `both outcomes seen (refused ${refused}, listed ${listed})`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
