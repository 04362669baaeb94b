import { strict as assert } from 'node:assert';
import { buildMap, encodeCanonical } from '../../protocol/cbor/index.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  MSG,
  TerminalChannel,
  decodeMessage,
  encodeMessage,
  pinOutcomeFromSw,
  RequestCache,
  type ChannelEvent,
} from '../../protocol/terminal/index.js';
import { Prng } from '../support/prng.js';
import { Wire, noisyLine, type Fault } from '../support/terminal-wire.js';
import { EXAMPLES } from '../support/terminal-examples.js';

const schemaError = (e: unknown) => e instanceof DecodeError && e.code === 'CBOR_SCHEMA';

describe('serial terminal messages', () => {
  it('round-trips one example of every message type, byte for byte canonical', () => {
    const types = new Set(EXAMPLES.map((m) => m.type));
    assert.deepEqual([...types].sort(), Object.keys(MSG).sort(), 'an example for every type');
    for (const m of EXAMPLES) {
      const bytes = encodeMessage(m);
      assert.deepEqual(decodeMessage(bytes), m, `${m.type} round-trips`);
      assert.deepEqual(encodeMessage(decodeMessage(bytes)), bytes, `${m.type} re-encodes to the same bytes`);
    }
  });

  it('refuses unknown types, unknown fields, missing fields and out-of-range values, naming the field', () => {
    const enc = (entries: [number, unknown][]) => encodeCanonical(buildMap(entries as [number, never][]));
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, 99],
            [2, 1],
          ]),
        ),
      (e: unknown) => schemaError(e) && /unknown type 99/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.HEARTBEAT],
            [2, 1],
            [9, 0],
          ]),
        ),
      (e: unknown) => schemaError(e) && /unknown field 9/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.SALE_REQUEST],
            [2, 1],
            [4, 156],
          ]),
        ),
      (e: unknown) => schemaError(e) && /amount/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.SALE_REQUEST],
            [2, 1],
            [3, 0],
            [4, 156],
          ]),
        ),
      (e: unknown) => schemaError(e) && /at least 1/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.HEARTBEAT],
            [2, 0],
          ]),
        ),
      (e: unknown) => schemaError(e) && /requestId/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.PIN_RESULT],
            [2, 1],
            [3, 'wrong'],
          ]),
        ),
      (e: unknown) => schemaError(e) && /triesLeft/.test((e as Error).message),
    );
    assert.throws(
      () =>
        decodeMessage(
          enc([
            [1, MSG.DISPLAY],
            [2, 1],
            [3, Array(9).fill('x')],
          ]),
        ),
      schemaError,
    );
    assert.throws(
      () => decodeMessage(Uint8Array.of(0xa2, 0x02, 0x01, 0x01, 0x0f)),
      (e: unknown) => e instanceof DecodeError,
      'non-canonical key order',
    );
  });

  it('a PIN never appears in PIN_ENTRY or PIN_RESULT: there is no field for it', () => {
    assert.throws(
      () =>
        decodeMessage(
          encodeCanonical(
            buildMap([
              [1, MSG.PIN_RESULT],
              [2, 1],
              [3, 'verified'],
              [5, new TextEncoder().encode('1234')],
            ]),
          ),
        ),
      schemaError,
    );
  });

  it('maps VERIFY status words to PIN outcomes', () => {
    assert.deepEqual(pinOutcomeFromSw(0x9000), { result: 'verified' });
    assert.deepEqual(pinOutcomeFromSw(0x63c2), { result: 'wrong', triesLeft: 2 });
    assert.deepEqual(pinOutcomeFromSw(0x63c0), { result: 'blocked' });
    assert.deepEqual(pinOutcomeFromSw(0x6983), { result: 'blocked' });
    assert.equal(pinOutcomeFromSw(0x6985), undefined);
  });

  it('the request cache is bounded and evicts finished entries first', () => {
    const c = new RequestCache(3);
    c.begin(1);
    c.begin(2);
    c.complete(2, Uint8Array.of(2));
    c.begin(3);
    c.complete(3, Uint8Array.of(3));
    c.begin(4);
    assert.equal(c.size, 3);
    assert.equal(c.lookup(1).state, 'in-progress', 'in-progress entry kept');
    assert.equal(c.lookup(2).state, 'new', 'oldest finished evicted');
    assert.equal(c.lookup(3).state, 'done');
  });
});

describe('serial terminal channel (pure, fake clock)', () => {
  function channels(opts: { noise?: number; seed?: number; fault?: Fault } = {}) {
    const link = { ackTimeoutMs: 50, interByteTimeoutMs: 10, msPerByte: 0, maxFragment: 64, maxRetries: 4 };
    const host = new TerminalChannel({ link, resendMs: 300, heartbeatMs: 1000, firstRequestId: 1000 });
    const term = new TerminalChannel({ link, resendMs: 300, heartbeatMs: 1000, firstRequestId: 5000 });
    const rng = new Prng(opts.seed ?? 1);
    const fault = opts.fault ?? (opts.noise ? noisyLine(rng, { flip: opts.noise, drop: opts.noise / 5 }) : undefined);
    const wire = new Wire(host, term, fault ? { fault } : {});
    const ev = { host: [] as ChannelEvent[], term: [] as ChannelEvent[] };
    let executed = 0;
    // The terminal executes each APDU once and answers; the host only collects.
    const drain = () => {
      ev.host.push(...host.takeEvents());
      for (const e of term.takeEvents()) {
        ev.term.push(e);
        if (e.kind === 'request' && e.message.type === 'APDU') {
          executed++;
          term.respond(
            e.message.requestId,
            { type: 'APDU_RESPONSE', response: Uint8Array.of(executed, 0x90, 0x00) },
            wire.now,
          );
        }
      }
    };
    host.start(0);
    term.start(0);
    return {
      host,
      term,
      wire,
      ev,
      executed: () => executed,
      run: (done: () => boolean, limit?: number) =>
        wire.run(() => {
          drain();
          return done();
        }, limit),
    };
  }
  const responses = (evs: ChannelEvent[]) =>
    evs.filter((e): e is Extract<ChannelEvent, { kind: 'response' }> => e.kind === 'response');

  it('answers a request, and a request re-sent after a lost response is answered from the cache, not executed again', () => {
    // The terminal's link drops every transmission of its first response (retry limit): only a
    // re-sent request brings it back, from the cache.
    let dropResponses = 5;
    const c = channels({
      fault: (f, side) => (side === 'b' && f[2] === 1 && f.length > 14 && dropResponses-- > 0 ? [] : [f]),
    });
    c.host.request({ type: 'APDU', apdu: Uint8Array.of(0, 0xb0, 0, 0) }, 0, { timeoutMs: 5000 });
    assert.ok(
      c.run(() => responses(c.ev.host).length === 1),
      'answered',
    );
    assert.ok(c.term.stats.responsesReplayed >= 1, 'answered from the cache');
    assert.equal(c.executed(), 1, 'the APDU reached the card once');
    assert.deepEqual(responses(c.ev.host)[0]!.message, {
      type: 'APDU_RESPONSE',
      requestId: 1000,
      response: Uint8Array.of(1, 0x90, 0x00),
    });
  });

  it('on a noisy line, 100 APDUs are each executed exactly once and answered', () => {
    const c = channels({ noise: 0.01, seed: 7 });
    for (let i = 0; i < 100; i++)
      c.host.request({ type: 'APDU', apdu: new Prng(i).bytes(60) }, 0, { timeoutMs: 600_000 });
    assert.ok(
      c.run(() => responses(c.ev.host).length === 100, 3_600_000),
      `all answered (${responses(c.ev.host).length})`,
    );
    assert.equal(c.executed(), 100, 'each executed once');
    assert.ok(
      c.term.stats.duplicateRequests > 0 || c.term.linkStats.duplicatesReceived > 0,
      'repeats happened and were suppressed',
    );
    assert.equal(c.ev.host.filter((e) => e.kind === 'requestFailed').length, 0, 'none failed');
  });

  it('a request nobody answers fails with REQUEST_TIMEOUT; silence is reported as peerLost', () => {
    const host = new TerminalChannel({ link: { ackTimeoutMs: 50, maxRetries: 2 }, resendMs: 200, heartbeatMs: 500 });
    host.start(0);
    host.request({ type: 'DISPLAY', lines: ['x'] }, 0, { timeoutMs: 2000 });
    const ev: ChannelEvent[] = [];
    let now = 0;
    for (let i = 0; i < 10_000 && now < 3000; i++) {
      host.takeOutput();
      now = host.nextDeadline() ?? now + 100;
      host.poll(now);
      ev.push(...host.takeEvents());
    }
    const failed = ev.find((e) => e.kind === 'requestFailed');
    assert.ok(failed && failed.kind === 'requestFailed' && failed.error.code === 'REQUEST_TIMEOUT', 'REQUEST_TIMEOUT');
    assert.ok(
      ev.some((e) => e.kind === 'peerLost'),
      'peerLost',
    );
  });

  it('a peer that is alive but slow gets the request re-sent under the same id, and executes it once', () => {
    const host = new TerminalChannel({ link: { ackTimeoutMs: 50, msPerByte: 0 }, resendMs: 200, heartbeatMs: 500 });
    const term = new TerminalChannel({ link: { ackTimeoutMs: 50, msPerByte: 0 }, resendMs: 200, heartbeatMs: 500 });
    const wire = new Wire(host, term);
    host.start(0);
    term.start(0);
    host.request({ type: 'PRINT', kind: 'receipt', lines: ['x'] }, 0, { timeoutMs: 1500 });
    const hostEv: ChannelEvent[] = [];
    let requestsSeen = 0;
    wire.run(() => {
      hostEv.push(...host.takeEvents());
      requestsSeen += term.takeEvents().filter((e) => e.kind === 'request').length; // never answered
      return hostEv.some((e) => e.kind === 'requestFailed');
    });
    assert.equal(requestsSeen, 1, 'the terminal saw the request once');
    assert.ok(host.stats.requestResends >= 3, `re-sent (${host.stats.requestResends})`);
    assert.ok(term.stats.duplicateRequests >= 3, `repeats recognised as in progress (${term.stats.duplicateRequests})`);
    assert.ok(!hostEv.some((e) => e.kind === 'peerLost'), 'heartbeats keep the peer alive');
  });

  it('a malformed request whose requestId is readable is answered with ERROR BAD_MESSAGE', () => {
    const c = channels();
    c.run(() => c.host.link.pendingMessages === 0 && c.term.link.pendingMessages === 0);
    const id = c.host.link.send(
      encodeCanonical(
        buildMap([
          [1, MSG.APDU],
          [2, 77],
          [3, 'not bytes'],
        ]),
      ),
      c.wire.now,
    );
    assert.ok(id > 0, 'sent raw');
    const seen: ChannelEvent[] = [];
    assert.ok(
      c.run(() => {
        seen.push(...c.ev.term.splice(0));
        return c.host.link.pendingMessages === 0 && c.term.link.pendingMessages === 0 && seen.length > 0;
      }),
      'settled',
    );
    assert.ok(
      seen.some((e) => e.kind === 'protocolError'),
      'terminal reported it',
    );
    assert.equal(c.term.stats.invalidMessages, 1);
  });
});
