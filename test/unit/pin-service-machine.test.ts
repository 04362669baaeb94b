import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  initialPinService,
  isFinal,
  nextPinService,
  type PinServiceEvent,
  type PinServiceState,
} from '../../host/card-services/pin-service-machine.js';
import { PinService } from '../../host/card-services/pin-service.js';
import { ReaderHub } from '../../host/readers/reader-hub.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { CardSession } from '../../host/session/card-session.js';
import { TrustStore } from '../../protocol/record/index.js';
import { issuedCard, TestIssuer } from '../support/issuer.js';
import { fakeTimers } from '../support/fake-timers.js';

const ENTRY_MS = 120_000;
const NOTICE = { code: 'PIN_TOO_WEAK', message: 'm', hint: 'h' } as const;

const event: fc.Arbitrary<PinServiceEvent> = fc.oneof(
  fc.constant<PinServiceEvent>({ type: 'CARD_OPENED' }),
  fc.record({
    type: fc.constant('CARD_READ' as const),
    activation: fc.boolean(),
    onDevice: fc.boolean(),
    pinTries: fc.integer({ min: 0, max: 3 }),
    pukTries: fc.integer({ min: 0, max: 10 }),
    now: fc.nat(),
  }),
  fc.record({ type: fc.constant('STEP_DONE' as const), now: fc.nat() }),
  fc.record({ type: fc.constant('SECRET_WRONG' as const), triesLeft: fc.integer({ min: 0, max: 9 }), now: fc.nat() }),
  fc.record({ type: fc.constant('NEW_PIN_REFUSED' as const), notice: fc.constant(NOTICE), now: fc.nat() }),
  fc.record({ type: fc.constant('PAD_UNSUPPORTED' as const), now: fc.nat() }),
  fc.constant<PinServiceEvent>({ type: 'CHANGED' }),
  fc.constant<PinServiceEvent>({ type: 'FAILED', error: { code: 'X', message: 'm', hint: 'h' } }),
  fc.constant<PinServiceEvent>({ type: 'CANCEL', by: 'merchant' }),
  fc.constant<PinServiceEvent>({ type: 'TIMEOUT' }),
);

function run(kind: 'change' | 'unblock', events: PinServiceEvent[]): PinServiceState[] {
  const seen = [initialPinService(kind)];
  for (const e of events) seen.push(nextPinService(seen.at(-1)!, e, ENTRY_MS));
  return seen;
}

describe('unit: the PIN service state machine (host/card-services/pin-service-machine.ts)', () => {
  it('walks change: current → new → confirm → working → done; unblock starts at the PUK', () => {
    const read: PinServiceEvent = {
      type: 'CARD_READ',
      activation: true,
      onDevice: false,
      pinTries: 3,
      pukTries: 10,
      now: 0,
    };
    const steps = run('change', [
      { type: 'CARD_OPENED' },
      read,
      ...[1, 2, 3].map((now) => ({ type: 'STEP_DONE' as const, now })),
      { type: 'CHANGED' },
    ]);
    assert.deepEqual(
      steps.map((s) => (s.at.phase === 'entry' ? `entry:${s.at.step}` : s.at.phase)),
      ['waiting_card', 'reading', 'entry:current', 'entry:new', 'entry:confirm', 'working', 'done'],
    );
    const u = run('unblock', [{ type: 'CARD_OPENED' }, read]).at(-1)!;
    assert.ok(u.at.phase === 'entry' && u.at.step === 'puk' && u.at.triesLeft === 10);
  });

  it('a wrong PUK at the card sends the customer back to the PUK with its tries; a refused new PIN back to "new"', () => {
    const s = run('unblock', [
      { type: 'CARD_OPENED' },
      { type: 'CARD_READ', activation: false, onDevice: false, pinTries: 0, pukTries: 10, now: 0 },
      { type: 'STEP_DONE', now: 1 },
      { type: 'STEP_DONE', now: 2 },
      { type: 'NEW_PIN_REFUSED', notice: NOTICE, now: 3 },
      { type: 'STEP_DONE', now: 4 },
      { type: 'STEP_DONE', now: 5 },
      { type: 'SECRET_WRONG', triesLeft: 9, now: 6 },
    ]);
    const at = s.at(-1)!.at;
    assert.ok(at.phase === 'entry' && at.step === 'puk' && at.triesLeft === 9 && at.notice?.code === 'PUK_WRONG');
    assert.equal(at.deadline, 6 + ENTRY_MS, 'each step gets the full time');
    const refused = s[5]!.at;
    assert.ok(refused.phase === 'entry' && refused.step === 'new' && refused.notice === NOTICE);
  });

  it('properties: a final state never changes; "done" only after the card was read; working is never cancelled; no state holds a digit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('change' as const, 'unblock' as const),
        fc.array(event, { maxLength: 30 }),
        (kind, events) => {
          const seen = run(kind, events);
          for (let i = 1; i < seen.length; i++) {
            const [a, b] = [seen[i - 1]!, seen[i]!];
            if (isFinal(a)) assert.equal(b, a, 'final is final');
            if (a.at.phase === 'working' && events[i - 1]!.type === 'CANCEL') assert.equal(b, a);
            if (b.at.phase === 'done') assert.ok(seen.slice(0, i).some((s) => s.at.phase === 'entry'));
            if (b.at.phase === 'entry' && b.at.step !== undefined) assert.equal(b.onDevice, false);
          }
          assert.doesNotMatch(JSON.stringify(seen), /"(pin|puk|newPin|digits)":/i);
          assert.ok(seen.every((s) => Object.values(s).every((x) => !(x instanceof Uint8Array))));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('unit: the PIN service runner on injected time', () => {
  it('an entry not typed within the PIN time ends the service timed_out; a late entry is refused', async () => {
    const issuer = new TestIssuer();
    const applet = await issuedCard(issuer, '2580');
    const reader = new InProcessReader({ name: 'r' });
    reader.insert(applet);
    const hub = new ReaderHub();
    hub.add(reader, 'simulated');
    const timers = fakeTimers(1_800_000_000_000);
    const trust = new TrustStore();
    trust.addIssuer(issuer.certificate);
    const service = new PinService({
      hub,
      open: (r) => CardSession.open(r, trust, { now: Math.floor(Date.now() / 1000) }),
      saleMayUse: () => false,
      entryMs: ENTRY_MS,
      unblockAllowed: true,
      timers,
    });
    const seen: string[] = [];
    service.on('service', (v) => seen.push(v.state + (v.step ? `:${v.step}` : '')));
    const v = service.start({ kind: 'change' });
    for (let i = 0; i < 50 && service.get(v.serviceId)!.state !== 'entry'; i++)
      await new Promise((r) => setTimeout(r, 10));
    const asked = service.get(v.serviceId)!;
    assert.equal(asked.deadline, timers.now() + ENTRY_MS);
    timers.advance(ENTRY_MS - 1);
    assert.equal(service.get(v.serviceId)!.state, 'entry', 'not a moment early');
    timers.advance(1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(service.get(v.serviceId)!.state, 'timed_out');
    assert.deepEqual(seen, ['waiting_card', 'reading', 'entry:current', 'timed_out']);
    assert.throws(() => service.entry(v.serviceId, 'current', '2580'), /not asking/);
  });
});
