import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { concatBytes, fromHex, toHex } from '../../protocol/bytes.js';
import { EncodeError } from '../../protocol/errors.js';
import {
  FRAME_ACK,
  FRAME_DATA,
  FRAME_ERRORS,
  FRAME_NAK,
  FRAME_OVERHEAD,
  FrameDecoder,
  MAX_FRAME_SIZE,
  MAX_PAYLOAD,
  crc16CcittFalse,
  crc32,
  crc8Smbus,
  encodeAck,
  encodeData,
  encodeFrame,
  encodeNak,
  type Frame,
  type FrameEvent,
} from '../../protocol/framing/index.js';
import { Prng } from '../support/prng.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time reference CRCs, independent of the table-driven ones under test. */
function refCrc8(d: Uint8Array): number {
  let c = 0;
  for (const b of d) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}
function refCrc16(d: Uint8Array): number {
  let c = 0xffff;
  for (const b of d) {
    c ^= b << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return c;
}

describe('framing: CRCs', () => {
  const check = ascii('123456789');

  it('match their published check values on "123456789"', () => {
    assert.equal(crc8Smbus(check), 0xf4);
    assert.equal(crc16CcittFalse(check), 0x29b1);
    assert.equal(crc32(check), 0xcbf43926);
  });

  it('match bitwise references and zlib on random data, and continue across splits', () => {
    const rng = new Prng(3);
    for (let i = 0; i < 300; i++) {
      const d = rng.bytes(rng.int(300));
      assert.equal(crc8Smbus(d), refCrc8(d));
      assert.equal(crc16CcittFalse(d), refCrc16(d));
      assert.equal(crc32(d), zlib.crc32(d));
      const cut = rng.int(d.length + 1);
      assert.equal(crc32(d, cut, d.length, crc32(d, 0, cut)), crc32(d));
      assert.equal(crc8Smbus(d, cut, d.length, crc8Smbus(d, 0, cut)), crc8Smbus(d));
      assert.equal(crc16CcittFalse(d, cut, d.length, crc16CcittFalse(d, 0, cut)), crc16CcittFalse(d));
    }
  });

  it('of empty input are the initial values after xorout', () => {
    assert.equal(crc8Smbus(new Uint8Array(0)), 0);
    assert.equal(crc16CcittFalse(new Uint8Array(0)), 0xffff);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});

/** Golden frames (verified against an independent Python zlib/bitwise implementation). */
const GOLDEN: [string, Frame, string][] = [
  ['ACK 0', { type: FRAME_ACK, seq: 0, payload: new Uint8Array(0) }, 'a55a020000002c8e3ac89e'],
  ['NAK 7', { type: FRAME_NAK, seq: 7, payload: new Uint8Array(0) }, 'a55a030700002c2e8dd997'],
  ['DATA 1 {}', { type: FRAME_DATA, seq: 1, payload: fromHex('a0') }, 'a55a010100017aa0453a0315'],
  [
    'DATA 42 01 {1: 1250}',
    { type: FRAME_DATA, seq: 42, payload: fromHex('01a1011904e2') },
    'a55a012a0006c001a1011904e2ff3cb770',
  ],
];

function decodeAll(chunks: Uint8Array[]): { events: FrameEvent[]; dec: FrameDecoder } {
  const dec = new FrameDecoder();
  const events: FrameEvent[] = [];
  for (const c of chunks) events.push(...dec.push(c));
  return { events, dec };
}
const framesOf = (events: FrameEvent[]): Frame[] => events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
const garbageOf = (events: FrameEvent[]): number =>
  events.reduce((n, e) => n + (e.kind === 'garbage' ? e.bytes : 0), 0);
const errorsOf = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.kind === 'error' ? [e.code] : []));
const data = (seq: number, payload: Uint8Array): Frame => ({ type: FRAME_DATA, seq, payload });

describe('framing: serial frame encoding', () => {
  for (const [name, frame, hex] of GOLDEN) {
    it(`encodes ${name} as ${hex} and decodes it back`, () => {
      assert.equal(toHex(encodeFrame(frame)), hex);
      const { events, dec } = decodeAll([fromHex(hex)]);
      assert.deepStrictEqual(events, [{ kind: 'frame', frame }]);
      assert.equal(dec.pending(), 0);
    });
  }

  it('lays out the header and trailer as specified', () => {
    const payload = new Uint8Array(300).map((_, i) => i);
    const f = encodeData(0xfe, payload);
    assert.equal(f.length, 7 + 300 + 4);
    assert.deepStrictEqual([...f.subarray(0, 6)], [0xa5, 0x5a, 1, 0xfe, 0x01, 0x2c]);
    assert.equal(f[6], refCrc8(f.subarray(2, 6)));
    assert.deepStrictEqual(f.subarray(7, 307), payload);
    assert.equal(new DataView(f.buffer).getUint32(307), zlib.crc32(f.subarray(2, 307)));
  });

  it('round-trips 0-, 1- and 2048-byte payloads, ACK and NAK at every SEQ edge', () => {
    const frames: Frame[] = [
      data(0, new Uint8Array(0)),
      data(1, Uint8Array.of(0xa5)),
      data(255, new Uint8Array(MAX_PAYLOAD).fill(0x5a)),
      { type: FRAME_ACK, seq: 255, payload: new Uint8Array(0) },
      { type: FRAME_NAK, seq: 0, payload: new Uint8Array(0) },
    ];
    const { events } = decodeAll(frames.map(encodeFrame));
    assert.deepStrictEqual(framesOf(events), frames);
    assert.equal(toHex(encodeAck(3)), toHex(encodeFrame({ type: FRAME_ACK, seq: 3, payload: new Uint8Array(0) })));
    assert.equal(toHex(encodeNak(3)), toHex(encodeFrame({ type: FRAME_NAK, seq: 3, payload: new Uint8Array(0) })));
    assert.equal(MAX_FRAME_SIZE, 2059);
  });

  it('refuses what it cannot encode, with codes and hints', () => {
    const bad: [unknown, string][] = [
      [{ type: 0, seq: 0, payload: new Uint8Array(0) }, 'FRAME_BAD_TYPE'],
      [{ type: 4, seq: 0, payload: new Uint8Array(0) }, 'FRAME_BAD_TYPE'],
      [{ type: 1, seq: -1, payload: new Uint8Array(0) }, 'FRAME_BAD_SEQ'],
      [{ type: 1, seq: 256, payload: new Uint8Array(0) }, 'FRAME_BAD_SEQ'],
      [{ type: 1, seq: 1.5, payload: new Uint8Array(0) }, 'FRAME_BAD_SEQ'],
      [{ type: 1, seq: 0, payload: new Uint8Array(MAX_PAYLOAD + 1) }, 'FRAME_OVERSIZE'],
      [{ type: 2, seq: 0, payload: new Uint8Array(1) }, 'FRAME_BAD_LENGTH'],
      [{ type: 1, seq: 0, payload: [1, 2] }, 'FRAME_BAD_INPUT'],
    ];
    for (const [frame, code] of bad) {
      assert.throws(
        () => encodeFrame(frame as Frame),
        (e: unknown) => {
          assert.ok(e instanceof EncodeError, 'e instanceof EncodeError');
          assert.equal(e.code, code);
          assert.ok(e.hint && code in FRAME_ERRORS, 'e.hint && code in FRAME_ERRORS');
          return true;
        },
      );
    }
  });
});

describe('framing: serial frame decoder', () => {
  const stream = [
    encodeData(1, ascii('first')),
    encodeAck(9),
    encodeData(2, new Uint8Array(700).fill(0xa5)),
    encodeNak(2),
    encodeData(3, Uint8Array.of(0xa5, 0x5a, 0xa5, 0x5a)),
  ];
  const whole = concatBytes(...stream);
  const expected = stream.map((f) => {
    const { events } = decodeAll([f]);
    return framesOf(events)[0]!;
  });

  it('decodes a stream split in two at every byte boundary', () => {
    for (let cut = 0; cut <= whole.length; cut++) {
      const { events, dec } = decodeAll([whole.subarray(0, cut), whole.subarray(cut)]);
      assert.deepStrictEqual(framesOf(events), expected, `cut at ${cut}`);
      assert.equal(garbageOf(events), 0);
      assert.equal(dec.pending(), 0);
    }
  });

  it('decodes a stream fed one byte at a time, holding back exactly the partial frame', () => {
    const dec = new FrameDecoder();
    const events: FrameEvent[] = [];
    let frameEnd = 0;
    let k = 0;
    for (let i = 0; i < whole.length; i++) {
      events.push(...dec.push(whole.subarray(i, i + 1)));
      if (i + 1 === frameEnd + stream[k]!.length) {
        frameEnd += stream[k]!.length;
        k++;
        assert.equal(dec.pending(), 0);
      } else {
        assert.equal(dec.pending(), i + 1 - frameEnd);
      }
    }
    assert.deepStrictEqual(framesOf(events), expected);
  });

  it('decodes many frames merged into one chunk larger than its buffer', () => {
    const rng = new Prng(11);
    const frames = Array.from({ length: 400 }, (_, i) => data(i & 0xff, rng.bytes(rng.int(MAX_PAYLOAD + 1))));
    const big = concatBytes(...frames.map(encodeFrame));
    assert.ok(big.length > 100 * MAX_FRAME_SIZE, 'big.length > 100 * MAX_FRAME_SIZE');
    const { events, dec } = decodeAll([big]);
    assert.deepStrictEqual(framesOf(events), frames);
    assert.equal(dec.stats.frames, 400);
    assert.equal(dec.pending(), 0);
  });

  it('skips and reports garbage before, between and after frames', () => {
    const g1 = fromHex('00112233'); // no A5 at all
    const g2 = fromHex('a5a5a5'); // start-marker halves
    const g3 = fromHex('5a5aff');
    const { events, dec } = decodeAll([concatBytes(g1, stream[0]!, g2, stream[1]!, g3)]);
    assert.deepStrictEqual(events, [
      { kind: 'garbage', bytes: 4 },
      { kind: 'frame', frame: expected[0] },
      { kind: 'garbage', bytes: 3 },
      { kind: 'frame', frame: expected[1] },
      { kind: 'garbage', bytes: 3 },
    ]);
    assert.equal(dec.stats.garbageBytes, 10);
  });

  it('holds back a trailing A5 (a possible start marker) until the next byte decides', () => {
    const dec = new FrameDecoder();
    assert.deepStrictEqual(dec.push(fromHex('01a5')), [{ kind: 'garbage', bytes: 1 }]);
    assert.equal(dec.pending(), 1);
    assert.deepStrictEqual(dec.push(fromHex('00')), [{ kind: 'garbage', bytes: 2 }]);
    assert.equal(dec.pending(), 0);
  });

  it('rejects a false start marker in garbage by its header CRC and still finds the next frame', () => {
    const noise = fromHex('a55a0101ffff00'); // SOF, then a header whose HCRC does not match
    const { events } = decodeAll([concatBytes(noise, stream[0]!)]);
    assert.deepStrictEqual(errorsOf(events), ['FRAME_HEADER_CRC']);
    assert.deepStrictEqual(framesOf(events), [expected[0]]);
    assert.equal(garbageOf(events), noise.length);
    // error comes at the false start, then its bytes as garbage, then the frame
    assert.deepStrictEqual(
      events.map((e) => e.kind),
      ['error', 'garbage', 'frame'],
    );
  });

  it('reports a corrupted byte in each part of a frame and resynchronises', () => {
    const frame = encodeData(5, ascii('payload bytes'));
    const after = encodeAck(6);
    for (let pos = 0; pos < frame.length; pos++) {
      const bad = Uint8Array.from(frame);
      bad[pos]! ^= 0x10;
      const { events, dec } = decodeAll([concatBytes(bad, after)]);
      const codes = errorsOf(events);
      if (pos < 2) assert.deepStrictEqual(codes, [], `SOF byte ${pos}: no start marker, so just garbage`);
      else if (pos < 7) assert.deepStrictEqual(codes, ['FRAME_HEADER_CRC'], `header byte ${pos}`);
      else assert.deepStrictEqual(codes, ['FRAME_PAYLOAD_CRC'], `payload/CRC byte ${pos}`);
      assert.deepStrictEqual(
        framesOf(events),
        [framesOf(decodeAll([after]).events)[0]],
        `frame after damage at ${pos}`,
      );
      assert.equal(garbageOf(events), frame.length);
      assert.equal(dec.pending(), 0);
      if (pos >= 7) {
        const err = events.find((e) => e.kind === 'error');
        assert.ok(
          err && err.kind === 'error' && err.seq === 5 && err.type === FRAME_DATA,
          'payload CRC errors carry the (CRC-8 checked) header',
        );
      }
    }
  });

  /** A header with a valid CRC-8, as a false start in noise could have by chance (1 in 256). */
  function falseHeader(type: number, seq: number, len: number): Uint8Array {
    const h = Uint8Array.of(0xa5, 0x5a, type, seq, len >> 8, len & 0xff, 0);
    h[6] = crc8Smbus(h, 2, 6);
    return h;
  }

  it('finds a frame hidden inside a false start once the false frame fails its CRC-32', () => {
    const hidden = encodeData(7, ascii('hidden'));
    const fake = falseHeader(FRAME_DATA, 1, 40); // claims 40 payload bytes: swallows the real frame
    const tail = new Uint8Array(60).fill(0x33);
    const dec = new FrameDecoder();
    let events = dec.push(concatBytes(fake, hidden));
    assert.deepStrictEqual(framesOf(events), [], 'still waiting for the false frame to complete');
    assert.equal(dec.pending(), fake.length + hidden.length);
    events = dec.push(tail);
    assert.deepStrictEqual(errorsOf(events), ['FRAME_PAYLOAD_CRC']);
    assert.deepStrictEqual(framesOf(events), [framesOf(decodeAll([hidden]).events)[0]]);
  });

  it('abandonPartial() gives up a stalled false start and delivers the frame behind it', () => {
    const hidden = encodeData(8, ascii('behind'));
    const fake = falseHeader(FRAME_DATA, 1, 2000);
    const dec = new FrameDecoder();
    assert.deepStrictEqual(framesOf(dec.push(concatBytes(fake, hidden))), []);
    const events = dec.abandonPartial();
    assert.deepStrictEqual(errorsOf(events), ['FRAME_INCOMPLETE']);
    assert.deepStrictEqual(framesOf(events), [framesOf(decodeAll([hidden]).events)[0]]);
    assert.equal(dec.pending(), 0);
    assert.deepStrictEqual(dec.abandonPartial(), []);
  });

  it('refuses oversize lengths, unknown types and ACK/NAK with a length, even with a valid header CRC', () => {
    const cases: [Uint8Array, string][] = [
      [falseHeader(FRAME_DATA, 1, MAX_PAYLOAD + 1), 'FRAME_OVERSIZE'],
      [falseHeader(0xffff & 0xff, 1, 0xffff), 'FRAME_BAD_TYPE'],
      [falseHeader(4, 1, 0), 'FRAME_BAD_TYPE'],
      [falseHeader(FRAME_ACK, 1, 3), 'FRAME_BAD_LENGTH'],
      [falseHeader(FRAME_NAK, 1, 1), 'FRAME_BAD_LENGTH'],
    ];
    for (const [h, code] of cases) {
      const { events, dec } = decodeAll([concatBytes(h, stream[1]!)]);
      assert.deepStrictEqual(errorsOf(events), [code]);
      const err = events.find((e) => e.kind === 'error');
      assert.ok(
        err?.kind === 'error' && err.seq === 1 && FRAME_ERRORS[err.code].hint.length > 0,
        "err?.kind === 'error' && err.seq === 1 && FRAME_ERRORS[err.code].hint.length > 0",
      );
      assert.deepStrictEqual(framesOf(events), [expected[1]]);
      assert.equal(dec.pending(), 0);
    }
  });

  it('accounts for every byte: frames + garbage + pending = bytes pushed', () => {
    const rng = new Prng(12);
    const dec = new FrameDecoder();
    let pushed = 0;
    let inFrames = 0;
    let garbage = 0;
    for (let i = 0; i < 300; i++) {
      const chunk = rng.bool(0.5) ? encodeData(i & 0xff, rng.bytes(rng.int(100))) : rng.bytes(rng.int(50));
      if (rng.bool(0.1) && chunk.length > 0) chunk[rng.int(chunk.length)] = 0xa5;
      pushed += chunk.length;
      for (const e of dec.push(chunk)) {
        if (e.kind === 'frame') inFrames += FRAME_OVERHEAD + e.frame.payload.length;
        if (e.kind === 'garbage') garbage += e.bytes;
      }
      assert.equal(inFrames + garbage + dec.pending(), pushed);
      assert.ok(dec.pending() < MAX_FRAME_SIZE, 'dec.pending() < MAX_FRAME_SIZE');
    }
  });

  it('reset() drops the partial frame; the decoder keeps working', () => {
    const dec = new FrameDecoder();
    const f = encodeData(1, ascii('abc'));
    dec.push(f.subarray(0, 9));
    assert.equal(dec.pending(), 9);
    assert.equal(dec.reset(), 9);
    assert.equal(dec.pending(), 0);
    assert.deepStrictEqual(framesOf(dec.push(f)), framesOf(decodeAll([f]).events));
  });

  it('returns payloads that do not alias its buffer or the input', () => {
    const f = encodeData(1, ascii('abc'));
    const dec = new FrameDecoder();
    const [e] = dec.push(f);
    f[7] = 0;
    dec.push(encodeData(2, ascii('xyz')));
    assert.ok(e?.kind === 'frame', "e?.kind === 'frame'");
    assert.deepStrictEqual(e.frame.payload, ascii('abc'));
  });

  it('never throws, even when given something that is not bytes', () => {
    const dec = new FrameDecoder();
    for (const bad of [null, undefined, 'a55a', [0xa5, 0x5a], 42]) {
      const events = dec.push(bad as unknown as Uint8Array);
      assert.deepStrictEqual(errorsOf(events), ['FRAME_BAD_INPUT']);
    }
    assert.deepStrictEqual(dec.push(new Uint8Array(0)), []);
  });
});
