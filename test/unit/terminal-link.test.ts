import { strict as assert } from 'node:assert';
import { FRAME_ACK, FRAME_DATA, encodeAck } from '../../protocol/framing/index.js';
import { SerialLink, TerminalLinkError, type LinkEvent } from '../../protocol/terminal/index.js';
import { Prng } from '../support/prng.js';
import { Wire, noisyLine, type Fault } from '../support/terminal-wire.js';

/** Two links on a fake wire, with every event of each side collected. */
function pair(opts: { fault?: Fault; link?: ConstructorParameters<typeof SerialLink>[0] } = {}) {
  const a = new SerialLink({ ackTimeoutMs: 100, interByteTimeoutMs: 20, msPerByte: 0, ...opts.link });
  const b = new SerialLink({ ackTimeoutMs: 100, interByteTimeoutMs: 20, msPerByte: 0, ...opts.link });
  const wire = new Wire(a, b, opts.fault ? { fault: opts.fault } : {});
  const events = { a: [] as LinkEvent[], b: [] as LinkEvent[] };
  const drain = () => {
    events.a.push(...a.takeEvents());
    events.b.push(...b.takeEvents());
  };
  const run = (done: () => boolean, limitMs?: number) =>
    wire.run(() => {
      drain();
      return done();
    }, limitMs);
  a.start(0);
  b.start(0);
  return { a, b, wire, events, run, drain };
}

const messages = (evs: LinkEvent[]) =>
  evs
    .filter((e): e is Extract<LinkEvent, { kind: 'message' }> => e.kind === 'message')
    .map((e) => Buffer.from(e.payload).toString('hex'));
const count = (evs: LinkEvent[], kind: LinkEvent['kind']) => evs.filter((e) => e.kind === kind).length;
const bytes = (n: number, seed: number) => new Prng(seed).bytes(n);

/** Drop the first `n` frames of type `type` sent by side `from` (whole frames, as the fault sees them). */
function dropFrames(from: 'a' | 'b', type: number, n: number): Fault {
  let left = n;
  return (f, side) => (side === from && f[2] === type && left-- > 0 ? [] : [f]);
}

describe('serial terminal link (pure, fake clock)', () => {
  it('delivers a message once, in order, and reports delivery', () => {
    const { a, events, run } = pair();
    const id1 = a.send(Uint8Array.of(1, 2, 3), 0);
    const id2 = a.send(bytes(1000, 1), 0);
    assert.ok(
      run(() => count(events.a, 'delivered') === 2),
      'both delivered',
    );
    assert.deepEqual(messages(events.b), ['010203', Buffer.from(bytes(1000, 1)).toString('hex')]);
    assert.deepEqual(
      events.a.filter((e) => e.kind === 'delivered').map((e) => (e as { id: number }).id),
      [id1, id2],
    );
    assert.equal(count(events.b, 'sync'), 1, "b saw a's SYNC");
  });

  it('splits long messages into fragments of at most maxFragment bytes', () => {
    const sizes: number[] = [];
    const { a, events, run } = pair({
      link: { maxFragment: 64 },
      fault: (f) => {
        if (f[2] === FRAME_DATA) sizes.push(f.length - 11);
        return [f];
      },
    });
    const msg = bytes(300, 2);
    a.send(msg, 0);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'reassembled',
    );
    assert.equal(messages(events.b)[0], Buffer.from(msg).toString('hex'));
    assert.ok(
      sizes.every((s) => s <= 65),
      `every DATA payload ≤ 1 + 64 bytes: ${sizes.join(',')}`,
    );
    assert.equal(sizes.filter((s) => s > 1).length, 5, 'five fragments (4 × 64 + 44)');
  });

  it('retransmits a lost DATA frame after the ACK time-out', () => {
    const { a, wire, events, run } = pair({ fault: dropFrames('a', FRAME_DATA, 2) }); // the SYNC and the first data frame
    a.send(Uint8Array.of(9), 0);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'delivered',
    );
    assert.equal(a.stats.retransmissions, 2, 'two retransmissions');
    assert.ok(wire.now >= 200, `took two ACK time-outs (now ${wire.now})`);
  });

  it('a lost ACK makes the peer send again: re-ACKed, delivered once', () => {
    let armed = false;
    const drop = dropFrames('b', FRAME_ACK, 3);
    const { a, b, events, run } = pair({ fault: (f, side) => (armed ? drop(f, side) : [f]) });
    run(() => a.nextDeadline() === null && b.nextDeadline() === null); // both SYNCs done
    armed = true;
    a.send(Uint8Array.of(7), 0);
    a.send(Uint8Array.of(8), 0);
    assert.ok(
      run(() => count(events.a, 'delivered') === 2),
      'both delivered',
    );
    assert.deepEqual(messages(events.b), ['07', '08'], 'each message once');
    assert.ok(b.stats.duplicatesReceived >= 1, `duplicates suppressed (${b.stats.duplicatesReceived})`);
  });

  it('a damaged DATA frame is NAKed and retransmitted at once, without waiting for the time-out', () => {
    let hit = false;
    const { a, b, wire, events, run } = pair({
      fault: (f, side) => {
        if (side === 'a' && f[2] === FRAME_DATA && f.length > 12 && !hit) {
          hit = true;
          const c = f.slice();
          c[9]! ^= 0x10;
          return [c];
        }
        return [f];
      },
    });
    run(() => count(events.a, 'delivered') === 0 && wire.now > 5);
    const t0 = wire.now;
    a.send(Uint8Array.of(1, 2, 3, 4), t0);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'delivered',
    );
    assert.equal(b.stats.naksSent, 1, 'one NAK');
    assert.equal(a.stats.naksReceived, 1, 'NAK received');
    assert.ok(wire.now - t0 < 50, `recovered in ${wire.now - t0} ms, well under the 100 ms ACK time-out`);
  });

  it('ignores stale and reordered ACKs', () => {
    const { a, b, events, run } = pair();
    run(() => a.nextDeadline() === null && b.nextDeadline() === null);
    a.send(Uint8Array.of(1), 10);
    const [frame] = a.takeOutput();
    assert.ok(frame && frame[2] === FRAME_DATA, 'a DATA frame');
    const seq = frame[3]!;
    a.receive(encodeAck((seq + 255) & 0xff), 11); // an old ACK arriving late
    a.receive(encodeAck((seq + 1) & 0xff), 11); // an ACK for a frame not sent yet
    events.a.push(...a.takeEvents());
    assert.equal(count(events.a, 'delivered'), 0, 'not delivered by wrong ACKs');
    a.receive(encodeAck(seq), 12);
    a.receive(encodeAck(seq), 12); // duplicated ACK
    events.a.push(...a.takeEvents());
    assert.equal(count(events.a, 'delivered'), 1, 'delivered exactly once');
  });

  it('gives up after maxRetries with a typed LINK_RETRY_LIMIT, then carries on with the next message', () => {
    let deaf = true;
    const { a, events, run } = pair({
      link: { maxRetries: 3 },
      fault: (f, side) => (side === 'a' && deaf && f[2] === FRAME_DATA && f.length > 12 ? [] : [f]),
    });
    const id = a.send(Uint8Array.of(1), 0);
    assert.ok(
      run(() => count(events.a, 'failed') === 1),
      'failed',
    );
    const failed = events.a.find((e) => e.kind === 'failed') as Extract<LinkEvent, { kind: 'failed' }>;
    assert.equal(failed.id, id);
    assert.ok(failed.error instanceof TerminalLinkError, 'typed error');
    assert.equal(failed.error.code, 'LINK_RETRY_LIMIT');
    assert.match(failed.error.message, /4 transmissions/);
    assert.ok(failed.error.hint.length > 0, 'has a hint');
    deaf = false;
    a.send(Uint8Array.of(2), 1000);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'next message delivered',
    );
    assert.deepEqual(messages(events.b), ['02']);
  });

  it('resynchronises after garbage and noise that contains start markers', () => {
    const { a, b, events, run } = pair();
    run(() => a.nextDeadline() === null);
    b.receive(Uint8Array.from([0xa5, 0x5a, 0x01, 0x00, 0x00, 0x10, 0x00, 0xa5, 0xa5, 0x13, 0x37]), 50);
    b.receive(new Prng(3).bytes(500), 50);
    a.send(Uint8Array.of(42), 50);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'delivered after garbage',
    );
    assert.ok(b.stats.garbageBytes >= 500, `garbage counted (${b.stats.garbageBytes})`);
  });

  it('a peer restart (SYNC) resets duplicate suppression so its first frames are not mistaken for repeats', () => {
    const { a, b, events, run } = pair();
    a.send(Uint8Array.of(1), 0);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'first delivered',
    );
    // a restarts: a fresh SerialLink whose sequence numbers start again at 0, as after a power cycle.
    const a2 = new SerialLink({ ackTimeoutMs: 100, msPerByte: 0 });
    const wire = new Wire(a2, b);
    a2.start(wire.now);
    a2.send(Uint8Array.of(2), wire.now); // SEQ 1: what a sent last too
    const got: LinkEvent[] = [];
    assert.ok(
      wire.run(() => {
        got.push(...b.takeEvents());
        return messages(got).length === 1;
      }),
      'delivered after restart',
    );
    assert.deepEqual(messages(got), ['02']);
  });

  it('an abandoned partial frame (bytes lost mid-frame) is NAKed after the inter-byte time-out', () => {
    let cut = true;
    const { a, b, events, run } = pair({
      fault: (f, side) =>
        side === 'a' && f[2] === FRAME_DATA && f.length > 12 && cut
          ? ((cut = false), [f.subarray(0, f.length - 3)])
          : [f],
    });
    a.send(bytes(40, 4), 0);
    assert.ok(
      run(() => messages(events.b).length === 1),
      'delivered',
    );
    assert.equal(b.stats.naksSent, 1, 'NAK after FRAME_INCOMPLETE');
  });

  it('refuses messages over maxMessageSize and a full queue with typed errors', () => {
    const l = new SerialLink({ maxMessageSize: 100, maxQueue: 2 });
    l.start(0);
    assert.throws(
      () => l.send(new Uint8Array(101), 0),
      (e: unknown) => e instanceof TerminalLinkError && e.code === 'LINK_MESSAGE_TOO_LARGE',
    );
    l.send(new Uint8Array(1), 0);
    assert.throws(
      () => l.send(new Uint8Array(1), 0),
      (e: unknown) => e instanceof TerminalLinkError && e.code === 'LINK_QUEUE_FULL',
    );
  });

  it('close() fails everything waiting with LINK_CLOSED', () => {
    const l = new SerialLink();
    l.start(0);
    const id = l.send(new Uint8Array(3), 0);
    l.close();
    const ev = l.takeEvents();
    assert.ok(
      ev.some((e) => e.kind === 'failed' && e.id === id && e.error.code === 'LINK_CLOSED'),
      'LINK_CLOSED for the queued message',
    );
    assert.equal(l.nextDeadline(), null, 'idle after close');
  });

  for (const seed of [1, 2, 3]) {
    it(`over a line with 1% bit flips, drops and duplicates, 200 messages arrive exactly once and in order (seed ${seed})`, () => {
      const rng = new Prng(seed);
      const { a, b, events, run } = pair({
        link: { maxFragment: 64, maxRetries: 30, maxQueue: 1000 },
        fault: noisyLine(rng.fork(), { flip: 0.01, drop: 0.002, dup: 0.002, split: 0.2 }),
      });
      const sent: string[] = [];
      const back: string[] = [];
      for (let i = 0; i < 200; i++) {
        const m = rng.bytes(1 + rng.int(400));
        sent.push(Buffer.from(m).toString('hex'));
        a.send(m, 0);
        if (i % 4 === 0) {
          const r = rng.bytes(20);
          back.push(Buffer.from(r).toString('hex'));
          b.send(r, 0);
        }
      }
      assert.ok(
        run(
          () =>
            count(events.a, 'delivered') + count(events.a, 'failed') === 200 &&
            count(events.b, 'delivered') === back.length,
          3_600_000,
        ),
        'all settled',
      );
      assert.equal(count(events.a, 'failed'), 0, 'no message failed');
      assert.deepEqual(messages(events.b), sent, 'a → b exactly once, in order');
      assert.deepEqual(messages(events.a), back, 'b → a exactly once, in order');
      assert.ok(a.stats.retransmissions > 0 && b.stats.naksSent > 0, 'the noise was real');
    });
  }
});
