import assert from 'node:assert/strict';
import { concatBytes, toHex } from '../../protocol/bytes.js';
import {
  FRAME_DATA,
  FRAME_ERRORS,
  FRAME_OVERHEAD,
  FrameDecoder,
  HID_ERRORS,
  HID_MAX_MESSAGE,
  HidReassembler,
  MAX_FRAME_SIZE,
  MAX_PAYLOAD,
  crc8Smbus,
  encodeFrame,
  packetize,
  withReportId,
  type Frame,
  type FrameEvent,
  type HidEvent,
} from '../../protocol/framing/index.js';
import { Prng } from '../support/prng.js';

/**
 * Seeded fuzzing of the framing codecs. Set FUZZ_SEED / FUZZ_ROUNDS to explore further.
 * Serial: no exception ever escapes, every byte is accounted for, memory stays bounded, and every
 * intact frame in a stream of frames + garbage + corruption is delivered, in order.
 * HID: no exception, bounded state, and interleaved messages survive junk on other channels.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0xf4a3e);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);

function randomFrame(rng: Prng): Frame {
  const type = rng.pick([1, 1, 1, 2, 3] as const);
  const len = type !== FRAME_DATA ? 0 : rng.bool(0.05) ? MAX_PAYLOAD : rng.int(rng.bool(0.8) ? 64 : 600);
  const payload = rng.bytes(len);
  // sprinkle start markers into payloads: they must not confuse the decoder
  if (len > 2 && rng.bool(0.3)) payload.set([0xa5, 0x5a], rng.int(len - 1));
  return { type, seq: rng.int(256), payload };
}

/** Noise biased towards start markers and plausible headers. */
function garbage(rng: Prng): Uint8Array {
  const n = rng.int(rng.bool(0.9) ? 20 : 300);
  const g = rng.bytes(n);
  for (let i = 0; i + 1 < n; i++) {
    if (rng.bool(0.08)) {
      g[i] = 0xa5;
      g[i + 1] = 0x5a;
    }
  }
  return g;
}

function chunked(rng: Prng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = rng.bool(0.3) ? 1 + rng.int(4) : rng.bool(0.5) ? 1 + rng.int(200) : 1 + rng.int(6000);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Push everything, then give up partial frames until nothing is pending (end of stream). */
function drain(dec: FrameDecoder, chunks: Uint8Array[]): FrameEvent[] {
  const events: FrameEvent[] = [];
  for (const c of chunks) {
    events.push(...dec.push(c));
    assert.ok(dec.pending() < MAX_FRAME_SIZE, `pending ${dec.pending()}`);
  }
  let guard = 0;
  while (dec.pending() > 0) {
    events.push(...dec.abandonPartial());
    assert.ok(++guard <= MAX_FRAME_SIZE, 'abandonPartial makes progress');
  }
  return events;
}

function checkEvents(events: FrameEvent[]): void {
  for (const e of events) {
    if (e.kind === 'garbage')
      assert.ok(Number.isInteger(e.bytes) && e.bytes > 0, 'Number.isInteger(e.bytes) && e.bytes > 0');
    else if (e.kind === 'error')
      assert.ok(e.code in FRAME_ERRORS && e.message.length > 0, 'e.code in FRAME_ERRORS && e.message.length > 0');
    else assert.ok(e.frame.payload.length <= MAX_PAYLOAD, 'e.frame.payload.length <= MAX_PAYLOAD');
  }
}

const key = (f: Frame): string => `${f.type}/${f.seq}/${toHex(f.payload)}`;

describe('fuzz: serial frame decoder', function () {
  this.timeout(120_000);

  it(`random byte streams in random chunks: no exception, every byte accounted for (seed ${SEED})`, () => {
    const rng = new Prng(SEED);
    for (let round = 0; round < 1000 * ROUNDS; round++) {
      const stream = rng.bool(0.5) ? rng.bytes(rng.int(20_000)) : garbage(rng);
      const dec = new FrameDecoder();
      const events = drain(dec, chunked(rng, stream));
      checkEvents(events);
      let accounted = 0;
      for (const e of events) {
        if (e.kind === 'garbage') accounted += e.bytes;
        if (e.kind === 'frame') accounted += FRAME_OVERHEAD + e.frame.payload.length;
      }
      assert.equal(accounted, stream.length);
    }
  });

  it(`valid frames interleaved with garbage are all recovered, in order (seed ${SEED + 1})`, () => {
    const rng = new Prng(SEED + 1);
    let total = 0;
    for (let round = 0; round < 200 * ROUNDS; round++) {
      const frames = Array.from({ length: 1 + rng.int(30) }, () => randomFrame(rng));
      const parts: Uint8Array[] = [];
      for (const f of frames) {
        if (rng.bool(0.7)) parts.push(garbage(rng));
        parts.push(encodeFrame(f));
      }
      if (rng.bool()) parts.push(garbage(rng));
      const events = drain(new FrameDecoder(), chunked(rng, concatBytes(...parts)));
      checkEvents(events);
      const got = events.flatMap((e) => (e.kind === 'frame' ? [key(e.frame)] : []));
      assert.deepStrictEqual(got, frames.map(key));
      total += frames.length;
    }
    assert.ok(total > 2000, 'total > 2000');
  });

  it(`corrupted frames are dropped and every frame not touched by corruption is recovered (seed ${SEED + 2})`, () => {
    const rng = new Prng(SEED + 2);
    let intactTotal = 0;
    let damagedTotal = 0;
    for (let round = 0; round < 300 * ROUNDS; round++) {
      const frames = Array.from({ length: 2 + rng.int(20) }, () => randomFrame(rng));
      const parts: Uint8Array[] = [];
      const intact: string[] = [];
      for (const f of frames) {
        if (rng.bool(0.3)) parts.push(garbage(rng));
        const bytes = encodeFrame(f);
        if (rng.bool(0.35)) {
          damagedTotal++;
          switch (rng.int(4)) {
            case 0:
              bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
              break; // one bit flip
            case 1:
              for (let k = 0; k < 3; k++) bytes[rng.int(bytes.length)] = rng.int(256);
              break; // burst of bytes
            case 2:
              parts.push(bytes.subarray(0, rng.int(bytes.length)));
              continue; // truncated (lost bytes)
            default:
              bytes.set(rng.bytes(Math.min(6, bytes.length)), rng.int(Math.max(1, bytes.length - 6)));
              break;
          }
          parts.push(bytes);
          continue;
        }
        parts.push(bytes);
        intact.push(key(f));
      }
      const events = drain(new FrameDecoder(), chunked(rng, concatBytes(...parts)));
      checkEvents(events);
      const got = events.flatMap((e) => (e.kind === 'frame' ? [key(e.frame)] : []));
      // all intact frames, in order; a damaged frame may survive only if the damage left it unchanged
      const sent = new Set(frames.map(key));
      for (const g of got) assert.ok(sent.has(g), 'no frame is invented');
      let j = 0;
      for (const g of got) if (j < intact.length && g === intact[j]) j++;
      assert.equal(j, intact.length, 'every intact frame recovered in order');
      intactTotal += intact.length;
    }
    assert.ok(intactTotal > 1000 && damagedTotal > 500, 'intactTotal > 1000 && damagedTotal > 500');
  });

  it('a hostile stream of valid-looking maximal headers stays bounded in memory and time', () => {
    // every 7 bytes a start marker + header with a valid CRC-8 claiming 2048 bytes: worst case for rescanning
    const h = Uint8Array.of(0xa5, 0x5a, 1, 0, 0x08, 0x00, 0);
    h[6] = crc8Smbus(h, 2, 6);
    const stream = new Uint8Array(h.length * 20_000);
    for (let i = 0; i < 20_000; i++) stream.set(h, i * h.length);
    const dec = new FrameDecoder();
    const t = Date.now();
    const events = drain(dec, [stream]);
    assert.ok(Date.now() - t < 60_000, 'Date.now() - t < 60_000');
    assert.equal(events.filter((e) => e.kind === 'frame').length, 0);
  });
});

describe('fuzz: HID reassembler', function () {
  this.timeout(120_000);

  function checkHid(events: HidEvent[]): void {
    for (const e of events) {
      if (e.kind === 'error')
        assert.ok(e.code in HID_ERRORS && e.message.length > 0, 'e.code in HID_ERRORS && e.message.length > 0');
      else
        assert.ok(
          e.payload.length <= HID_MAX_MESSAGE && e.cmd >= 0 && e.cmd < 0x80,
          'e.payload.length <= HID_MAX_MESSAGE && e.cmd >= 0 && e.cmd < 0x80',
        );
    }
  }

  it(`random and mutated reports, random clocks: no exception, bounded state (seed ${SEED + 3})`, () => {
    const rng = new Prng(SEED + 3);
    for (const mode of ['single', 'concurrent'] as const) {
      const r = new HidReassembler({ mode, maxChannels: 4, timeoutMs: 50 });
      let now = 0;
      const cids = [0, 1, 2, 3, 0xffffffff, 0x12345678];
      for (let i = 0; i < 30_000 * ROUNDS; i++) {
        now += rng.int(20);
        let rep: Uint8Array;
        const kind = rng.int(10);
        if (kind < 3) {
          rep = rng.bytes(rng.pick([64, 64, 64, 65, 63, 0, 1, 128]));
        } else if (kind < 8) {
          const packets = packetize(rng.pick(cids), rng.int(0x80), rng.bytes(rng.int(300)));
          rep = Uint8Array.from(rng.pick(packets));
          if (rng.bool(0.3)) rep[rng.int(64)]! ^= 1 << rng.int(8);
          if (rng.bool(0.1)) rep = withReportId(rep);
        } else {
          rep = new Uint8Array(64);
          new DataView(rep.buffer).setUint32(0, rng.pick(cids));
          rep[4] = rng.int(256);
          rep[5] = rng.int(256);
          rep[6] = rng.int(256);
        }
        const events = r.push(rep, rng.bool(0.01) ? Number.NaN : now);
        checkHid(events);
        assert.ok(
          r.busyChannels().length <= (mode === 'single' ? 1 : 4),
          "r.busyChannels().length <= (mode === 'single' ? 1 : 4)",
        );
        if (rng.bool(0.05)) checkHid(r.expire(now));
      }
    }
  });

  it(`interleaved messages on several channels survive junk on other channels (seed ${SEED + 4})`, () => {
    const rng = new Prng(SEED + 4);
    let delivered = 0;
    for (let round = 0; round < 200 * ROUNDS; round++) {
      const r = new HidReassembler({ mode: 'concurrent', maxChannels: 1024 });
      const channels = [0x100 + rng.int(100), 0x200 + rng.int(100), 0x300 + rng.int(100)];
      const queues = channels.map((cid) => {
        const msgs = Array.from({ length: 1 + rng.int(3) }, () => ({
          cid,
          cmd: rng.int(0x80),
          payload: rng.bytes(rng.bool(0.1) ? HID_MAX_MESSAGE : rng.int(500)),
        }));
        return { msgs, reports: msgs.flatMap((m) => packetize(m.cid, m.cmd, m.payload)) };
      });
      const got: string[] = [];
      const now = 0;
      while (queues.some((q) => q.reports.length > 0)) {
        if (rng.bool(0.2)) {
          // junk on unrelated channels: random CONT packets, oversize INITs, bad lengths
          const junk = rng.bytes(rng.pick([64, 64, 63, 65]));
          new DataView(junk.buffer).setUint32(0, 0x9000 + rng.int(50));
          for (const e of r.push(junk, now)) if (e.kind === 'message') assert.ok(e.cid >= 0x9000, 'e.cid >= 0x9000');
          continue;
        }
        const q = rng.pick(queues.filter((x) => x.reports.length > 0));
        for (const e of r.push(q.reports.shift()!, now)) {
          if (e.kind === 'message' && e.cid < 0x9000) got.push(`${e.cid}/${e.cmd}/${toHex(e.payload)}`);
          if (e.kind === 'error' && e.cid !== null) assert.ok(e.cid >= 0x9000, `error on a real channel: ${e.code}`);
        }
      }
      const sent = queues.flatMap((q) => q.msgs.map((m) => `${m.cid}/${m.cmd}/${toHex(m.payload)}`));
      assert.deepStrictEqual([...got].sort(), [...sent].sort());
      for (const cid of channels) {
        assert.deepStrictEqual(
          got.filter((g) => g.startsWith(`${cid}/`)),
          sent.filter((s) => s.startsWith(`${cid}/`)),
          'per-channel order',
        );
      }
      delivered += sent.length;
    }
    assert.ok(delivered > 500, 'delivered > 500');
  });
});
