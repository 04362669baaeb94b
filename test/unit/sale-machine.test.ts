import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  FINAL_PHASES,
  RETRY_MAX_MS,
  openSale,
  transition,
  type PayingCard,
  type SaleEffect,
  type SaleEvent,
  type SaleMachineState,
  type StepFailure,
} from '../../host/sale/sale-machine.js';
import type { Receipt, SaleError } from '../../host/sale/sale-types.js';
import { FollowLeases } from '../../host/sale/follow-lease.js';
import { fakeTimers } from '../support/fake-timers.js';

/**
 * The sale state machine (host/sale/sale-machine.ts) on its own: no card, no database, no timers.
 * The transition table in docs/architecture.md §2a is checked row by row against `transition`, and
 * properties hold over random event sequences. Every assert carries a message (assert.ok without one
 * can hang under tsx).
 */

const NOW = 1_000_000;
const RULES = { cardMs: 60_000 };
const WAIT = { deadline: NOW + 30_000, retries: 0 };
const PAYING: PayingCard = { cardId: 'c0ffee01', counterAtSign: 5, outcomeLost: false };
const ERR: SaleError = { code: 'CARD_X', message: 'something', hint: 'do' };
const RECEIPT = { saleId: 's', recordId: 'rec' } as Receipt;

const waiting: SaleMachineState = { phase: 'waiting_card', reader: 'r', notice: null, wait: WAIT };
const claimed: SaleMachineState = { ...waiting, claim: { reader: 'r' } };
const waitingPaying: SaleMachineState = { ...waiting, paying: PAYING };
const reading: SaleMachineState = { phase: 'reading_card', reader: 'r', notice: null, wait: WAIT };
const readingPaying: SaleMachineState = { ...reading, paying: PAYING };
const pin: SaleMachineState = {
  phase: 'pin',
  reader: 'r',
  notice: null,
  wait: WAIT,
  triesLeft: 3,
  entry: 'awaiting_pin',
  deadline: NOW + 20_000,
};
const signing: SaleMachineState = { phase: 'signing', reader: 'r', notice: null, wait: WAIT, paying: PAYING };
const stored: SaleMachineState = { phase: 'stored', reader: 'r', notice: null, recordId: 'rec' };
const done: SaleMachineState = { phase: 'done', reader: 'r', notice: null, receipt: RECEIPT };

const failed = (failure: StepFailure, cardPresent = false): SaleEvent => ({
  type: 'STEP_FAILED',
  failure,
  cardPresent,
});

/** One example per row of the table: `state | event | when` names it, the doc says what comes next. */
const EXAMPLES: { state: SaleMachineState; event: SaleEvent; when: string }[] = [
  { state: waiting, event: { type: 'CARD_CLAIMED', reader: 'r' }, when: 'a card is there and no step runs' },
  { state: claimed, event: { type: 'READING_CARD' }, when: 'the reader is held' },
  { state: waiting, event: { type: 'CANCEL', by: 'merchant' }, when: 'no card step runs' },
  { state: waiting, event: { type: 'CANCEL', by: 'abandoned' }, when: 'the client went away (follow lease)' },
  { state: waitingPaying, event: { type: 'CANCEL', by: 'abandoned' }, when: 'SIGN_TXN answer out, client went away' },
  { state: waitingPaying, event: { type: 'CANCEL', by: 'merchant' }, when: 'SIGN_TXN answer out' },
  { state: claimed, event: { type: 'CANCEL', by: 'merchant' }, when: 'a card step is starting' },
  { state: waiting, event: { type: 'CARD_TIME_UP' }, when: 'no card step runs' },
  { state: waitingPaying, event: { type: 'CARD_TIME_UP' }, when: 'SIGN_TXN answer out' },
  { state: claimed, event: { type: 'CARD_TIME_UP' }, when: 'a card step is starting' },
  { state: waiting, event: { type: 'RETRY_DUE', cardPresent: true }, when: 'the card is still in the reader' },
  { state: waiting, event: { type: 'RETRY_DUE', cardPresent: false }, when: 'the card was taken out' },
  {
    state: waitingPaying,
    event: { type: 'RECORD_STORED', recordId: 'rec', fromJournal: true },
    when: 'another card session recovered its record',
  },
  { state: waitingPaying, event: { type: 'NOT_SIGNED' }, when: "its record turned out to be another sale's" },
  {
    state: waitingPaying,
    event: { type: 'JOURNAL_GAP', cardId: PAYING.cardId },
    when: 'the paying card skipped records',
  },
  {
    state: reading,
    event: { type: 'PIN_ASKED', triesLeft: 3, onDevice: false, deadline: NOW + 20_000 },
    when: 'above the no-PIN limit',
  },
  { state: reading, event: { type: 'SIGN_SENT', cardId: 'c0ffee01', counter: 5 }, when: 'no PIN needed' },
  {
    state: readingPaying,
    event: { type: 'RECORD_STORED', recordId: 'rec', fromJournal: true },
    when: "its journal holds the sale's record",
  },
  { state: readingPaying, event: { type: 'NOT_SIGNED' }, when: 'its journal shows it did not sign' },
  { state: reading, event: { type: 'CANCEL', by: 'merchant' }, when: '-' },
  { state: pin, event: { type: 'PIN_SUBMITTED' }, when: 'the PIN is awaited from the API' },
  { state: pin, event: { type: 'PIN_WRONG', triesLeft: 2 }, when: '-' },
  {
    state: pin,
    event: { type: 'PIN_ASKED', triesLeft: 2, onDevice: false, deadline: NOW + 20_000 },
    when: 'after a wrong PIN',
  },
  { state: pin, event: { type: 'CARD_REMOVED', reader: 'r' }, when: 'the PIN is awaited from the API' },
  {
    state: { ...pin, entry: 'pad' },
    event: { type: 'CARD_REMOVED', reader: 'r' },
    when: "the PIN is typed on the reader's pad",
  },
  { state: pin, event: { type: 'SIGN_SENT', cardId: 'c0ffee01', counter: 5 }, when: 'the card took the PIN' },
  { state: pin, event: { type: 'CANCEL', by: 'merchant' }, when: '-' },
  { state: signing, event: { type: 'CANCEL', by: 'merchant' }, when: '-' },
  { state: signing, event: { type: 'NOT_SIGNED' }, when: 'the card refused with a status word' },
  {
    state: { ...signing, paying: undefined },
    event: { type: 'PIN_ASKED', triesLeft: 3, onDevice: true, deadline: NOW + 20_000 },
    when: 'the card answered PIN_REQUIRED',
  },
  {
    state: signing,
    event: { type: 'PIN_ASKED', triesLeft: 3, onDevice: false, deadline: NOW + 20_000 },
    when: 'SIGN_TXN answer out',
  },
  {
    state: signing,
    event: { type: 'RECORD_STORED', recordId: 'rec', fromJournal: false },
    when: 'the record is durable',
  },
  { state: stored, event: { type: 'RECEIPT', receipt: RECEIPT }, when: '-' },
  { state: stored, event: { type: 'CANCEL', by: 'merchant' }, when: '-' },
  {
    state: { ...reading, cancel: 'merchant' },
    event: failed({ kind: 'interrupted', why: 'cancelled' }),
    when: 'the merchant cancelled',
  },
  {
    state: { ...reading, cancel: 'abandoned' },
    event: failed({ kind: 'interrupted', why: 'cancelled' }),
    when: 'the client went away',
  },
  { state: reading, event: failed({ kind: 'card_gone', error: ERR }), when: 'card pulled, reader empty' },
  { state: reading, event: failed({ kind: 'card_gone', error: ERR }, true), when: 'reader hiccup, card left in' },
  { state: signing, event: failed({ kind: 'card_gone', error: ERR }), when: 'SIGN_TXN answer lost' },
  {
    state: signing,
    event: failed({ kind: 'unclear_answer', error: ERR }, true),
    when: 'answer unreadable, card left in',
  },
  { state: pin, event: failed({ kind: 'interrupted', why: 'card_removed' }), when: 'card pulled during PIN entry' },
  {
    state: readingPaying,
    event: failed({ kind: 'interrupted', why: 'other_card' }, true),
    when: 'not the paying card',
  },
  { state: pin, event: failed({ kind: 'interrupted', why: 'timed_out' }), when: 'no PIN in time' },
  { state: reading, event: failed({ kind: 'fatal', error: ERR }), when: 'any other error' },
  { state: signing, event: failed({ kind: 'fatal', error: ERR }), when: 'any other error, SIGN_TXN answer out' },
  { state: done, event: { type: 'CANCEL', by: 'merchant' }, when: 'any event in a final state' },
];

const describeEffect = (x: SaleEffect): string =>
  x.kind === 'arm' ? `arm ${x.timer}` : x.kind === 'abort' ? `abort (${x.why})` : x.kind;
const effectsCell = (xs: SaleEffect[]): string => (xs.length ? xs.map(describeEffect).join(', ') : '-');
/** A phase and the flags that change what it does: a card step claimed, a cancel asked, the SIGN_TXN answer out, PIN on a pad. */
const stateCell = (s: SaleMachineState): string => {
  const flags = [
    s.phase === 'waiting_card' && s.claim ? 'claimed' : '',
    (
      s.phase === 'waiting_card'
        ? s.claim?.cancel
        : s.phase === 'reading_card' || s.phase === 'pin'
          ? s.cancel
          : undefined
    )
      ? 'cancel asked'
      : '',
    'paying' in s && s.paying ? 'answer out' : '',
    s.phase === 'pin' && s.entry !== 'awaiting_pin' ? s.entry : '',
  ].filter(Boolean);
  return flags.length ? `${s.phase} (${flags.join(', ')})` : s.phase;
};

function renderRow(ex: (typeof EXAMPLES)[number]): string[] {
  const t = transition(ex.state, ex.event, NOW, RULES);
  return [stateCell(ex.state), ex.event.type, ex.when, stateCell(t.state), effectsCell(t.effects)];
}

/** The rows of the table under "The sale state machine" in docs/architecture.md. */
function docRows(): string[][] {
  const md = readFileSync(fileURLToPath(new URL('../../docs/architecture.md', import.meta.url)), 'utf8');
  const start = md.indexOf('### The sale state machine');
  assert.ok(start >= 0, 'docs/architecture.md has a "### The sale state machine" subsection');
  const rest = md.slice(start + 1);
  const next = rest.search(/\n#{2,3} /);
  const rows: string[][] = [];
  for (const line of (next < 0 ? rest : rest.slice(0, next)).split('\n')) {
    const t = line.trim();
    if (!t.startsWith('|') || !t.endsWith('|')) continue;
    const cells = t
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim().replace(/^`(.*)`$/, '$1'));
    if (cells.every((c) => /^:?-+:?$/.test(c)) || cells[0] === 'state') continue;
    rows.push(cells);
  }
  return rows;
}

describe('unit: the sale state machine (pure transitions)', () => {
  it('docs/architecture.md: the transition table is exactly what `transition` does, row by row', () => {
    const expected = EXAMPLES.map(renderRow);
    const table = expected.map((r) => `| ${r.join(' | ')} |`).join('\n');
    assert.deepEqual(
      docRows(),
      expected,
      `the table in docs/architecture.md must read:\n| state | event | when | next | effects |\n|---|---|---|---|---|\n${table}\n`,
    );
  });

  it('a new sale waits for the card with its card timer armed, and shows itself', () => {
    const t = openSale(null, NOW, RULES);
    assert.equal(t.state.phase, 'waiting_card', 'waiting for the card');
    assert.deepEqual(
      t.effects,
      [{ kind: 'show' }, { kind: 'disarm' }, { kind: 'arm', timer: 'card', at: NOW + RULES.cardMs }],
      'shown, and the card timer armed',
    );
  });

  it('a card left in the reader is retried with backoff (100 ms doubling, at most 2 s) within the first deadline', () => {
    let s: SaleMachineState = reading;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = transition(s, failed({ kind: 'card_gone', error: ERR }, true), NOW, RULES);
      assert.equal(t.state.phase, 'waiting_card', 'back to waiting');
      assert.equal(
        (t.state as { wait: { deadline: number } }).wait.deadline,
        WAIT.deadline,
        'the deadline is the first one',
      );
      const retry = t.effects.find((x) => x.kind === 'arm' && x.timer === 'retry') as { at: number } | undefined;
      assert.ok(retry, 'a retry is armed');
      delays.push(retry.at - NOW);
      s = transition(
        transition(t.state, { type: 'CARD_CLAIMED', reader: 'r' }, NOW, RULES).state,
        { type: 'READING_CARD' },
        NOW,
        RULES,
      ).state;
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS], 'doubling, capped');
  });

  // ------------------------------------------------------------------ properties over random event sequences

  const arbError = fc.constantFrom<SaleError>(ERR, { code: 'CARD_REMOVED', message: 'pulled', hint: '' });
  const arbFailure: fc.Arbitrary<StepFailure> = fc.oneof(
    fc.record({
      kind: fc.constant('interrupted' as const),
      why: fc.constantFrom('cancelled' as const, 'timed_out' as const, 'card_removed' as const, 'other_card' as const),
    }),
    fc.record({
      kind: fc.constantFrom('unclear_answer' as const, 'card_gone' as const, 'fatal' as const),
      error: arbError,
    }),
  );
  const arbEvent = (withNotSigned: boolean): fc.Arbitrary<SaleEvent> =>
    fc.oneof(
      fc.constant<SaleEvent>({ type: 'CARD_CLAIMED', reader: 'r' }),
      fc.constant<SaleEvent>({ type: 'READING_CARD' }),
      fc.record({
        type: fc.constant('PIN_ASKED' as const),
        triesLeft: fc.integer({ min: 0, max: 3 }),
        onDevice: fc.boolean(),
        deadline: fc.constant(NOW + 1),
      }),
      fc.constant<SaleEvent>({ type: 'PIN_SUBMITTED' }),
      fc.record({ type: fc.constant('PIN_WRONG' as const), triesLeft: fc.integer({ min: 0, max: 3 }) }),
      fc.constant<SaleEvent>({ type: 'CARD_REMOVED', reader: 'r' }),
      fc.record({
        type: fc.constant('SIGN_SENT' as const),
        cardId: fc.constantFrom('c0ffee01', 'c0ffee02'),
        counter: fc.nat(9),
      }),
      ...(withNotSigned ? [fc.constant<SaleEvent>({ type: 'NOT_SIGNED' })] : []),
      fc.record({ type: fc.constant('JOURNAL_GAP' as const), cardId: fc.constantFrom('c0ffee01', 'c0ffee02') }),
      fc.record({
        type: fc.constant('RECORD_STORED' as const),
        recordId: fc.constant('rec'),
        fromJournal: fc.boolean(),
      }),
      fc.constant<SaleEvent>({ type: 'RECEIPT', receipt: RECEIPT }),
      fc.record({ type: fc.constant('STEP_FAILED' as const), failure: arbFailure, cardPresent: fc.boolean() }),
      fc.record({
        type: fc.constant('CANCEL' as const),
        by: fc.constantFrom('merchant' as const, 'abandoned' as const),
      }),
      fc.constant<SaleEvent>({ type: 'CARD_TIME_UP' }),
      fc.record({ type: fc.constant('RETRY_DUE' as const), cardPresent: fc.boolean() }),
    );
  const run = (events: SaleEvent[], from: SaleMachineState = openSale('r', NOW, RULES).state) => {
    const steps: { before: SaleMachineState; event: SaleEvent; after: SaleMachineState; effects: SaleEffect[] }[] = [];
    let s = from;
    for (const event of events) {
      const t = transition(s, event, NOW, RULES);
      steps.push({ before: s, event, after: t.state, effects: t.effects });
      s = t.state;
    }
    return steps;
  };
  const toSigning = (): SaleMachineState =>
    run([
      { type: 'CARD_CLAIMED', reader: 'r' },
      { type: 'READING_CARD' },
      { type: 'SIGN_SENT', cardId: 'c0ffee01', counter: 5 },
    ]).at(-1)!.after;

  it('once SIGN_TXN is out and no answer says the card signed nothing, no event sequence ends cancelled, timed out or failed: only done or unconfirmed', () => {
    fc.assert(
      fc.property(fc.array(arbEvent(false), { maxLength: 40 }), (events) => {
        const signingState = toSigning();
        assert.equal(signingState.phase, 'signing', 'the sale is signing');
        for (const step of run(events, signingState)) {
          assert.ok(
            !['cancelled', 'timed_out', 'failed'].includes(step.after.phase),
            `${step.event.type} from ${step.before.phase} ended ${step.after.phase}`,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a final state takes no event; every way into one releases the sale exactly once', () => {
    fc.assert(
      fc.property(fc.array(arbEvent(true), { maxLength: 40 }), (events) => {
        let ended = 0;
        for (const step of run(events)) {
          const releases = step.effects.filter((x) => x.kind === 'release').length;
          if (FINAL_PHASES.has(step.before.phase)) {
            assert.equal(step.after, step.before, 'a final state stays as it is');
            assert.equal(step.effects.length, 0, 'and does nothing');
          }
          if (!FINAL_PHASES.has(step.before.phase) && FINAL_PHASES.has(step.after.phase)) {
            ended++;
            assert.equal(releases, 1, `${step.event.type} into ${step.after.phase} releases once`);
            assert.equal(step.effects.at(-1)?.kind, 'show', 'and shows the end last');
          } else {
            assert.equal(releases, 0, 'no release without an end');
          }
        }
        assert.ok(ended <= 1, 'a sale ends once');
      }),
      { numRuns: 2000 },
    );
  });

  it('the card pays only after its record is stored: done is reached from stored alone', () => {
    fc.assert(
      fc.property(fc.array(arbEvent(true), { maxLength: 40 }), (events) => {
        for (const step of run(events)) {
          if (step.after.phase === 'done' && step.before.phase !== 'done')
            assert.equal(step.before.phase, 'stored', 'done only from stored');
          if (step.after.phase === 'stored' && step.before.phase !== 'stored')
            assert.equal(step.event.type, 'RECORD_STORED', 'stored only on a stored record');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a sale in signing or stored cannot be cancelled, by the merchant or by the follow lease', () => {
    for (const s of [signing, stored]) {
      for (const by of ['merchant', 'abandoned'] as const) {
        const t = transition(s, { type: 'CANCEL', by }, NOW, RULES);
        assert.equal(t.state, s, `${by} cancel leaves ${s.phase} as it is`);
      }
    }
  });

  it('the follow lease never cancels a sale the card may have paid (SIGN_TXN answer out)', () => {
    fc.assert(
      fc.property(fc.array(arbEvent(true), { maxLength: 30 }), (events) => {
        for (const step of run(events)) {
          if (step.event.type !== 'CANCEL' || step.event.by !== 'abandoned' || step.effects.length === 0) continue;
          assert.ok(
            !('paying' in step.before && step.before.paying),
            `abandoned from ${step.before.phase} with an answer out`,
          );
          assert.ok(
            step.before.phase !== 'signing' && step.before.phase !== 'stored',
            `abandoned from ${step.before.phase}`,
          );
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('unit: the follow lease on injected timers', () => {
  it('a followed sale expires only after the follow time without a sign of its client; renewing keeps it', () => {
    const timers = fakeTimers(NOW);
    const expired: string[] = [];
    const leases = new FollowLeases({ timers, followMs: 5000, expired: (id) => expired.push(id) });
    leases.add('a');
    timers.advance(4000);
    leases.renew('a');
    timers.advance(4000);
    assert.deepEqual(expired, [], 'renewed 4 s ago: alive');
    timers.advance(1600);
    assert.deepEqual(expired.slice(0, 1), ['a'], 'past 5 s without its client: expired');
    leases.drop('a');
    const seen = expired.length;
    timers.advance(10_000);
    assert.equal(expired.length, seen, 'a dropped sale is no longer watched');
    leases.close();
  });
});
