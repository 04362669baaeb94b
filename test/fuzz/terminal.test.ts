import { strict as assert } from 'node:assert';
import { buildMap, type CborValue } from '../../protocol/cbor/index.js';
import { DecodeError } from '../../protocol/errors.js';
import { encodeData, encodeAck, encodeNak } from '../../protocol/framing/index.js';
import {
  LINK_CONT,
  LINK_MORE,
  LINK_SYNC,
  MSG,
  SerialLink,
  TerminalChannel,
  decodeMessage,
  encodeMessage,
  peekRequest,
} from '../../protocol/terminal/index.js';
import { Prng } from '../support/prng.js';
import { FUZZ_ROUNDS, attempt, fuzzSeed, hexSeed, tryEncode } from '../support/fuzz.js';
import { EXAMPLES } from '../support/terminal-examples.js';

/**
 * Seeded fuzzing of every decoder on the serial terminal path: bytes → frames → link → messages.
 * Nothing may throw but DecodeError (decodeMessage) or nothing at all (link, channel: they take
 * any bytes), state stays bounded, and nothing hangs (every loop here has a fixed number of steps).
 */
const SEED = fuzzSeed(0x7e4a1);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function randomValue(rng: Prng, depth = 0): CborValue {
  switch (rng.int(depth > 2 ? 6 : 8)) {
    case 0:
      return rng.int(2 ** 32);
    case 1:
      return rng.bool(0.5) ? rng.int(20) : -rng.int(20);
    case 2:
      return rng.bytes(rng.int(40));
    case 3:
      return rng.pick([
        '',
        'approved',
        'wrong',
        'verified',
        'verify',
        'change',
        'unblock',
        'changed',
        'inserted',
        'receipt',
        'NO_CARD',
        'x'.repeat(70),
        '请插卡',
      ]);
    case 4:
      return rng.bool();
    case 5:
      return null;
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default:
      return buildMap(Array.from({ length: rng.int(4) }, (_, i) => [i + 1, randomValue(rng, depth + 1)] as const));
  }
}

/** A map that looks like a message: a real type, a requestId, and plausible fields 3…13. */
function plausibleMessage(rng: Prng): Uint8Array | undefined {
  const entries: [number, CborValue][] = [
    [1, rng.pick(Object.values(MSG))],
    [2, rng.bool(0.9) ? 1 + rng.int(1000) : randomValue(rng)],
  ];
  for (let k = 3; k <= 13; k++) if (rng.bool(0.4)) entries.push([k, randomValue(rng)]);
  return tryEncode(buildMap(entries));
}

function mutate(rng: Prng, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  const n = 1 + rng.int(3);
  for (let i = 0; i < n && out.length > 0; i++) {
    const at = rng.int(out.length);
    switch (rng.int(3)) {
      case 0:
        out[at] = rng.int(256);
        break;
      case 1:
        out[at]! ^= 1 << rng.int(8);
        break;
      default:
        return out.subarray(0, at);
    }
  }
  return out;
}

describe(`fuzz: serial terminal decoders (seed ${hexSeed(SEED)})`, function () {
  this.timeout(60_000);

  it('decodeMessage: random, plausible and mutated inputs give a message or a DecodeError, never anything else', () => {
    const rng = new Prng(SEED);
    const valid = EXAMPLES.map(encodeMessage);
    let accepted = 0;
    for (let i = 0; i < 20_000 * FUZZ_ROUNDS; i++) {
      const input =
        i % 3 === 0 ? rng.bytes(rng.int(64)) : i % 3 === 1 ? plausibleMessage(rng) : mutate(rng, rng.pick(valid));
      if (!input) continue;
      const r = attempt(
        'decodeMessage',
        () => hex(input),
        () => decodeMessage(input),
      );
      if (!(r instanceof DecodeError)) {
        accepted++;
        assert.deepEqual(encodeMessage(r), input, `accepted input must be canonical and round-trip: ${hex(input)}`);
      }
      const peek = peekRequest(input);
      if (peek)
        assert.ok(
          Number.isSafeInteger(peek.requestId) && peek.requestId >= 1,
          'peekRequest gives a valid id or nothing',
        );
    }
    assert.ok(accepted > 100, `some fuzz inputs were valid messages (${accepted})`);
  });

  it('PIN_ENTRY modes: amount and currency are accepted exactly when the mode is verify (or absent); any other mode is refused, its requestId readable for ERROR BAD_MESSAGE', () => {
    const rng = new Prng(SEED + 3);
    const modes: CborValue[] = [
      undefined,
      'verify',
      'change',
      'unblock',
      'VERIFY',
      'Change',
      '',
      'reset',
      7,
      null,
      true,
    ];
    let accepted = 0;
    for (let i = 0; i < 5_000 * FUZZ_ROUNDS; i++) {
      const mode = rng.pick(modes);
      const amount = rng.pick<CborValue>([undefined, 1, 1250, 99_999_999_999, 0, 100_000_000_000, 'x']);
      const currency = rng.pick<CborValue>([undefined, 156, 1, 999, 0, 1000]);
      const timeoutMs = rng.pick([1000, 90_000, 600_000, 999, 600_001]);
      const triesLeft = rng.pick<CborValue>([undefined, 0, 3, 15, 16]);
      const input = tryEncode(
        buildMap([
          [1, MSG.PIN_ENTRY],
          [2, 1 + rng.int(1000)],
          [3, amount],
          [4, currency],
          [5, triesLeft],
          [6, timeoutMs],
          [7, mode],
        ]),
      )!;
      const service = mode === 'change' || mode === 'unblock';
      const inRange = (v: CborValue, min: number, max: number) => typeof v === 'number' && v >= min && v <= max;
      const valid =
        (mode === undefined || mode === 'verify' || service) &&
        (service
          ? amount === undefined && currency === undefined
          : inRange(amount, 1, 99_999_999_999) && inRange(currency, 1, 999)) &&
        inRange(timeoutMs, 1000, 600_000) &&
        (triesLeft === undefined || inRange(triesLeft, 0, 15));
      const r = attempt(
        'decodeMessage',
        () => hex(input),
        () => decodeMessage(input),
      );
      if (valid) {
        assert.ok(!(r instanceof DecodeError), `valid PIN_ENTRY refused: ${hex(input)}: ${String(r)}`);
        accepted++;
        assert.deepEqual(encodeMessage(r), input, `round-trips: ${hex(input)}`);
      } else {
        assert.ok(r instanceof DecodeError && r.code === 'CBOR_SCHEMA', `invalid PIN_ENTRY accepted: ${hex(input)}`);
        assert.ok(peekRequest(input), 'the requestId stays readable, so the terminal answers ERROR BAD_MESSAGE');
      }
    }
    assert.ok(accepted > 50, `some were valid (${accepted})`);
  });

  it('SerialLink: any byte stream (frames with damaged link bytes, noise, truncation) never throws and stays bounded', () => {
    const rng = new Prng(SEED + 1);
    for (let round = 0; round < 40 * FUZZ_ROUNDS; round++) {
      const link = new SerialLink({ maxMessageSize: 4096, maxFragment: 100 });
      link.start(0);
      let now = 0;
      for (let i = 0; i < 300; i++) {
        let chunk: Uint8Array;
        const flags = rng.pick([0, LINK_MORE, LINK_CONT, LINK_CONT | LINK_MORE, LINK_SYNC, rng.int(256)]);
        switch (rng.int(5)) {
          case 0:
            chunk = encodeData(rng.int(256), Uint8Array.from([flags, ...rng.bytes(rng.int(120))]));
            break;
          case 1:
            chunk = rng.bool(0.5) ? encodeAck(rng.int(256)) : encodeNak(rng.int(256));
            break;
          case 2:
            chunk = encodeData(rng.int(256), new Uint8Array(0));
            break;
          case 3:
            chunk = mutate(rng, encodeData(rng.int(256), Uint8Array.from([flags, ...rng.bytes(rng.int(60))])));
            break;
          default:
            chunk = rng.bytes(rng.int(200));
        }
        now += rng.int(30);
        link.receive(chunk, now);
        if (rng.bool(0.1)) link.poll(now + 1000);
        if (rng.bool(0.05))
          try {
            link.send(rng.bytes(rng.int(300)), now);
          } catch {
            /* queue full is fine here */
          }
        for (const e of link.takeEvents()) {
          if (e.kind === 'message') assert.ok(e.payload.length <= 4096, 'reassembly bounded by maxMessageSize');
        }
        link.takeOutput();
      }
    }
  });

  it('TerminalChannel: streams of valid frames carrying random and mutated messages never throw; the cache stays bounded', () => {
    const rng = new Prng(SEED + 2);
    const valid = EXAMPLES.map(encodeMessage);
    for (let round = 0; round < 20 * FUZZ_ROUNDS; round++) {
      const ch = new TerminalChannel({ cacheSize: 16, link: { msPerByte: 0 } });
      ch.start(0);
      let seq = 0;
      let requests = 0;
      for (let i = 0; i < 200; i++) {
        const body = rng.bool(0.3)
          ? rng.pick(valid)
          : rng.bool(0.5)
            ? plausibleMessage(rng)
            : mutate(rng, rng.pick(valid));
        if (!body || body.length > 2000) continue;
        seq = (seq + 1) & 0xff;
        const stream = encodeData(seq, Uint8Array.from([0, ...body]));
        ch.receive(rng.bool(0.1) ? mutate(rng, stream) : stream, i * 10);
        ch.poll(i * 10 + 5);
        for (const e of ch.takeEvents()) {
          if (e.kind === 'request') {
            requests++;
            if (rng.bool(0.7)) ch.respond(e.message.requestId, { type: 'OK' }, i * 10);
          }
        }
        ch.takeOutput();
      }
      assert.ok(ch.stats.invalidMessages + requests > 0, 'the channel saw input');
    }
  });
});
