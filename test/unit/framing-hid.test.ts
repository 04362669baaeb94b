import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';
import {
  HID_BROADCAST_CID,
  HID_ERRORS,
  HID_MAX_MESSAGE,
  HID_REPORT_SIZE,
  HidCapability,
  HidCommand,
  HidErrorByte,
  HidReassembler,
  KeepaliveStatus,
  encodeInitResponse,
  errorPacket,
  initRequestPacket,
  keepalivePacket,
  packetize,
  parseErrorPayload,
  parseInitRequest,
  parseInitResponse,
  parseKeepalivePayload,
  withReportId,
  type HidEvent,
  type HidReassemblerOptions,
} from '../../protocol/framing/index.js';
import { Prng } from '../support/prng.js';

const CID = 0x12345678;
const CID2 = 0xcafe0001;

function feed(
  reports: Uint8Array[],
  opts?: HidReassemblerOptions,
  start = 0,
  step = 1,
): { events: HidEvent[]; r: HidReassembler } {
  const r = new HidReassembler(opts);
  const events: HidEvent[] = [];
  let t = start;
  for (const rep of reports) {
    events.push(...r.push(rep, t));
    t += step;
  }
  return { events, r };
}
const messages = (events: HidEvent[]): HidEvent[] => events.filter((e) => e.kind === 'message');
const errors = (events: HidEvent[]): [number | null, string, number | null][] =>
  events.flatMap((e) =>
    e.kind === 'error' ? [[e.cid, e.code, e.hidError] as [number | null, string, number | null]] : [],
  );

function report(cid: number, byte4: number, rest: number[] = []): Uint8Array {
  const r = new Uint8Array(64);
  new DataView(r.buffer).setUint32(0, cid);
  r[4] = byte4;
  r.set(rest, 5);
  return r;
}

describe('framing: HID packetize', () => {
  const rng = new Prng(21);
  for (const [size, count] of [
    [0, 1],
    [1, 1],
    [57, 1],
    [58, 2],
    [116, 2],
    [117, 3],
    [HID_MAX_MESSAGE, 129],
  ] as const) {
    it(`splits a ${size}-byte message into ${count} report(s) and reassembles it`, () => {
      const payload = rng.bytes(size);
      const reports = packetize(CID, HidCommand.CBOR, payload);
      assert.equal(reports.length, count);
      for (const rep of reports) assert.equal(rep.length, HID_REPORT_SIZE);
      const first = reports[0]!;
      assert.equal(toHex(first.subarray(0, 7)), `12345678` + '90' + size.toString(16).padStart(4, '0'));
      reports.slice(1).forEach((rep, seq) => {
        assert.equal(toHex(rep.subarray(0, 5)), '12345678' + seq.toString(16).padStart(2, '0'));
      });
      // zero padding after the data
      const last = reports[reports.length - 1]!;
      const used = count === 1 ? 7 + size : 5 + (size - 57 - 59 * (count - 2));
      assert.ok(
        last.subarray(used).every((b) => b === 0),
        'last.subarray(used).every((b) => b === 0)',
      );
      const { events } = feed(reports);
      assert.deepStrictEqual(events, [{ kind: 'message', cid: CID, cmd: HidCommand.CBOR, payload }]);
    });
  }

  it('refuses a 7610-byte message and bad arguments', () => {
    const bad: [() => unknown, string][] = [
      [() => packetize(CID, HidCommand.CBOR, new Uint8Array(HID_MAX_MESSAGE + 1)), 'HID_MESSAGE_TOO_LONG'],
      [() => packetize(CID, 0x90, new Uint8Array(1)), 'HID_BAD_ARGUMENT'],
      [() => packetize(-1, 1, new Uint8Array(1)), 'HID_BAD_ARGUMENT'],
      [() => packetize(2 ** 32, 1, new Uint8Array(1)), 'HID_BAD_ARGUMENT'],
      [() => packetize(CID, 1, [1] as unknown as Uint8Array), 'HID_BAD_ARGUMENT'],
    ];
    for (const [fn, code] of bad) {
      assert.throws(
        fn,
        (e: unknown) =>
          e instanceof EncodeError && e.code === code && HID_ERRORS[code as keyof typeof HID_ERRORS].hint === e.hint,
      );
    }
  });

  it('prefixes report id 0 for node-hid writes, and the reassembler strips it', () => {
    const reports = packetize(CID, HidCommand.PING, new Uint8Array(100).fill(7));
    const written = reports.map((rep) => withReportId(rep));
    assert.equal(written[0]!.length, 65);
    assert.equal(written[0]![0], 0);
    assert.equal(messages(feed(written).events).length, 1);
    assert.deepStrictEqual(errors(feed(written, { acceptReportId: false }).events)[0], [null, 'HID_BAD_REPORT', null]);
    assert.throws(() => withReportId(new Uint8Array(63)), EncodeError);
  });
});

describe('framing: HID reassembly errors', () => {
  it('rejects reports that are not 64 bytes (or 65 with report id 0)', () => {
    for (const len of [0, 1, 4, 63, 66, 128]) {
      assert.deepStrictEqual(
        errors(feed([new Uint8Array(len)]).events),
        [[null, 'HID_BAD_REPORT', null]],
        `length ${len}`,
      );
    }
    const withId1 = new Uint8Array(65);
    withId1[0] = 1;
    assert.deepStrictEqual(errors(feed([withId1]).events), [[null, 'HID_BAD_REPORT', null]]);
    assert.deepStrictEqual(errors(feed(['x' as unknown as Uint8Array]).events), [[null, 'HID_BAD_REPORT', null]]);
  });

  it('ignores a continuation packet without an INIT (CTAPHID: spurious CONT is ignored)', () => {
    assert.deepStrictEqual(errors(feed([report(CID, 0x00)]).events), [[CID, 'HID_UNEXPECTED_CONT', null]]);
  });

  it('drops a message on a wrong SEQ with INVALID_SEQ; its later CONTs are spurious', () => {
    const reports = packetize(CID, HidCommand.CBOR, new Uint8Array(200));
    const { events, r } = feed([reports[0]!, reports[2]!, reports[3]!]);
    assert.deepStrictEqual(errors(events), [
      [CID, 'HID_INVALID_SEQ', HidErrorByte.INVALID_SEQ],
      [CID, 'HID_UNEXPECTED_CONT', null],
    ]);
    assert.deepStrictEqual(r.busyChannels(), []);
    const dup = feed([reports[0]!, reports[1]!, reports[1]!]);
    assert.deepStrictEqual(errors(dup.events), [[CID, 'HID_INVALID_SEQ', HidErrorByte.INVALID_SEQ]]);
  });

  it('restarts on an INIT from the same channel mid-message (abort, then the new message)', () => {
    const a = packetize(CID, HidCommand.CBOR, new Uint8Array(200).fill(1));
    const b = packetize(CID, HidCommand.PING, new Uint8Array(70).fill(2));
    const { events } = feed([a[0]!, a[1]!, ...b]);
    assert.deepStrictEqual(errors(events), []);
    assert.deepStrictEqual(events, [
      { kind: 'message', cid: CID, cmd: HidCommand.PING, payload: new Uint8Array(70).fill(2) },
    ]);
  });

  it('answers INVALID_LEN for BCNT over the maximum (7609, or a configured lower limit)', () => {
    assert.deepStrictEqual(errors(feed([report(CID, 0x90, [0x1d, 0xba])]).events), [
      [CID, 'HID_INVALID_LEN', HidErrorByte.INVALID_LEN],
    ]);
    assert.deepStrictEqual(errors(feed([report(CID, 0x90, [0xff, 0xff])]).events), [
      [CID, 'HID_INVALID_LEN', HidErrorByte.INVALID_LEN],
    ]);
    const ok = feed(packetize(CID, HidCommand.CBOR, new Uint8Array(1024)), { maxMessageSize: 1024 });
    assert.equal(messages(ok.events).length, 1);
    const tooBig = feed(packetize(CID, HidCommand.CBOR, new Uint8Array(1025)), { maxMessageSize: 1024 });
    assert.deepStrictEqual(errors(tooBig.events)[0], [CID, 'HID_INVALID_LEN', HidErrorByte.INVALID_LEN]);
  });

  it('answers INVALID_CHANNEL on CID 0 and for non-INIT commands on the broadcast CID', () => {
    assert.deepStrictEqual(errors(feed(packetize(0, HidCommand.PING, new Uint8Array(1))).events), [
      [0, 'HID_INVALID_CHANNEL', HidErrorByte.INVALID_CHANNEL],
    ]);
    assert.deepStrictEqual(errors(feed(packetize(HID_BROADCAST_CID, HidCommand.CBOR, new Uint8Array(1))).events), [
      [HID_BROADCAST_CID, 'HID_INVALID_CHANNEL', HidErrorByte.INVALID_CHANNEL],
    ]);
    const nonce = fromHex('0011223344556677');
    assert.deepStrictEqual(messages(feed([initRequestPacket(nonce)]).events), [
      { kind: 'message', cid: HID_BROADCAST_CID, cmd: HidCommand.INIT, payload: nonce },
    ]);
  });
});

describe('framing: HID channels', () => {
  const a = new Uint8Array(300).fill(0xaa);
  const b = new Uint8Array(130).fill(0xbb);
  const pa = packetize(CID, HidCommand.CBOR, a);
  const pb = packetize(CID2, HidCommand.MSG, b);
  const interleaved = [pa[0]!, pb[0]!, pa[1]!, pb[1]!, pa[2]!, pb[2]!, pa[3]!, pa[4]!, pa[5]!];

  it('concurrent mode reassembles interleaved channels', () => {
    const { events } = feed(interleaved, { mode: 'concurrent' });
    assert.deepStrictEqual(errors(events), []);
    assert.deepStrictEqual(messages(events), [
      { kind: 'message', cid: CID2, cmd: HidCommand.MSG, payload: b },
      { kind: 'message', cid: CID, cmd: HidCommand.CBOR, payload: a },
    ]);
  });

  it('single mode (device) answers CHANNEL_BUSY to every packet of another channel meanwhile', () => {
    const { events } = feed(interleaved);
    assert.deepStrictEqual(errors(events), [
      [CID2, 'HID_CHANNEL_BUSY', HidErrorByte.CHANNEL_BUSY],
      [CID2, 'HID_CHANNEL_BUSY', HidErrorByte.CHANNEL_BUSY],
      [CID2, 'HID_CHANNEL_BUSY', HidErrorByte.CHANNEL_BUSY],
    ]);
    assert.deepStrictEqual(messages(events), [{ kind: 'message', cid: CID, cmd: HidCommand.CBOR, payload: a }]);
    // once idle, the other channel is served
    const r = new HidReassembler();
    for (const rep of pa) r.push(rep, 0);
    assert.equal(messages(pb.flatMap((rep) => r.push(rep, 1))).length, 1);
  });

  it('concurrent mode bounds the channels in progress', () => {
    const r = new HidReassembler({ mode: 'concurrent', maxChannels: 2 });
    const starts = [1, 2, 3].map((cid) => packetize(cid, HidCommand.CBOR, new Uint8Array(100))[0]!);
    assert.deepStrictEqual(r.push(starts[0]!, 0), []);
    assert.deepStrictEqual(r.push(starts[1]!, 0), []);
    assert.deepStrictEqual(errors(r.push(starts[2]!, 0)), [[3, 'HID_CHANNEL_BUSY', HidErrorByte.CHANNEL_BUSY]]);
    assert.deepStrictEqual(r.busyChannels().sort(), [1, 2]);
    // single-packet messages need no slot
    assert.equal(messages(r.push(packetize(4, HidCommand.PING, new Uint8Array(3))[0]!, 0)).length, 1);
    r.abort(1);
    assert.deepStrictEqual(r.busyChannels(), [2]);
    r.abort();
    assert.deepStrictEqual(r.busyChannels(), []);
  });
});

describe('framing: HID time-outs (no timers: the caller passes the time)', () => {
  const p = packetize(CID, HidCommand.CBOR, new Uint8Array(200));

  it('keeps a message alive while packets keep coming within the time-out', () => {
    const r = new HidReassembler({ timeoutMs: 1000 });
    assert.deepStrictEqual(r.push(p[0]!, 0), []);
    assert.equal(r.nextDeadline(), 1000);
    assert.deepStrictEqual(r.push(p[1]!, 999), []);
    assert.equal(r.nextDeadline(), 1999);
    assert.deepStrictEqual(r.push(p[2]!, 1998), []);
    assert.equal(messages(r.push(p[3]!, 2997)).length, 1);
    assert.equal(r.nextDeadline(), null);
  });

  it('expire(now) returns MSG_TIMEOUT for stalled channels and frees them', () => {
    const r = new HidReassembler({ mode: 'concurrent', timeoutMs: 1000 });
    r.push(p[0]!, 0);
    r.push(packetize(CID2, HidCommand.CBOR, new Uint8Array(100))[0]!, 500);
    assert.deepStrictEqual(r.expire(999), []);
    assert.deepStrictEqual(errors(r.expire(1000)), [[CID, 'HID_MSG_TIMEOUT', HidErrorByte.MSG_TIMEOUT]]);
    assert.deepStrictEqual(r.busyChannels(), [CID2]);
    assert.deepStrictEqual(errors(r.expire(5000)), [[CID2, 'HID_MSG_TIMEOUT', HidErrorByte.MSG_TIMEOUT]]);
  });

  it('a late packet first reports the time-out, then is handled as if the channel were idle', () => {
    const r = new HidReassembler({ timeoutMs: 1000 });
    r.push(p[0]!, 0);
    const events = r.push(p[1]!, 1500);
    assert.deepStrictEqual(errors(events), [
      [CID, 'HID_MSG_TIMEOUT', HidErrorByte.MSG_TIMEOUT],
      [CID, 'HID_UNEXPECTED_CONT', null],
    ]);
    // and a new INIT from another channel after the time-out is served, not CHANNEL_BUSY
    const r2 = new HidReassembler({ timeoutMs: 1000 });
    r2.push(p[0]!, 0);
    const other = r2.push(packetize(CID2, HidCommand.PING, new Uint8Array(1))[0]!, 1000);
    assert.deepStrictEqual(
      other.map((e) => e.kind),
      ['error', 'message'],
    );
  });
  it('a non-finite clock value counts as the last valid time, so no channel is wedged', () => {
    const r = new HidReassembler({ timeoutMs: 1000 });
    r.push(p[0]!, 100);
    r.push(p[1]!, Number.NaN);
    assert.equal(r.nextDeadline(), 1100);
    assert.deepStrictEqual(errors(r.expire(Infinity)), []);
    assert.deepStrictEqual(errors(r.expire(1100)), [[CID, 'HID_MSG_TIMEOUT', HidErrorByte.MSG_TIMEOUT]]);
  });
});

describe('framing: HID helper packets', () => {
  it('builds and parses INIT request and response (CTAPHID layout)', () => {
    const nonce = fromHex('0102030405060708');
    const req = initRequestPacket(nonce);
    assert.equal(toHex(req.subarray(0, 15)), 'ffffffff860008' + '0102030405060708');
    assert.deepStrictEqual(parseInitRequest(nonce), nonce);
    assert.throws(
      () => parseInitRequest(new Uint8Array(7)),
      (e: unknown) => e instanceof DecodeError && e.code === 'HID_BAD_PAYLOAD',
    );
    assert.throws(() => initRequestPacket(new Uint8Array(9)), EncodeError);
    const resp = {
      nonce,
      cid: CID,
      protocolVersion: 2,
      major: 1,
      minor: 4,
      build: 9,
      capabilities: HidCapability.CBOR | HidCapability.NMSG,
    };
    const payload = encodeInitResponse(resp);
    assert.equal(toHex(payload), '0102030405060708' + '12345678' + '02' + '01' + '04' + '09' + '0c');
    assert.deepStrictEqual(parseInitResponse(payload), resp);
    assert.throws(
      () => parseInitResponse(new Uint8Array(16)),
      (e: unknown) => e instanceof DecodeError && e.code === 'HID_BAD_PAYLOAD',
    );
    assert.throws(() => encodeInitResponse({ ...resp, build: 256 }), EncodeError);
  });

  it('builds and parses ERROR and KEEPALIVE packets', () => {
    const err = errorPacket(CID, HidErrorByte.CHANNEL_BUSY);
    assert.equal(toHex(err.subarray(0, 9)), '12345678' + 'bf' + '0001' + '06' + '00');
    const ka = keepalivePacket(CID, KeepaliveStatus.UPNEEDED);
    assert.equal(toHex(ka.subarray(0, 8)), '12345678' + 'bb' + '0001' + '02');
    const { events } = feed([err, ka], { mode: 'concurrent' });
    assert.deepStrictEqual(
      events.map((e) =>
        e.kind === 'message'
          ? [
              e.cmd,
              e.kind === 'message' && e.cmd === HidCommand.ERROR
                ? parseErrorPayload(e.payload)
                : parseKeepalivePayload(e.payload),
            ]
          : e,
      ),
      [
        [HidCommand.ERROR, HidErrorByte.CHANNEL_BUSY],
        [HidCommand.KEEPALIVE, KeepaliveStatus.UPNEEDED],
      ],
    );
    assert.throws(() => parseErrorPayload(new Uint8Array(2)), DecodeError);
    assert.throws(() => parseKeepalivePayload(new Uint8Array(0)), DecodeError);
    assert.throws(() => errorPacket(CID, 300), EncodeError);
  });

  it('rejects bad reassembler options', () => {
    assert.throws(() => new HidReassembler({ maxMessageSize: HID_MAX_MESSAGE + 1 }), EncodeError);
    assert.throws(() => new HidReassembler({ mode: 'concurrent', maxChannels: 0 }), EncodeError);
    assert.throws(() => new HidReassembler({ timeoutMs: 0 }), EncodeError);
  });
});
