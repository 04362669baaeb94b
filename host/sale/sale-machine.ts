import { unconfirmedError, type Receipt, type SaleError, type SaleState } from './sale-types.js';

import {
  ABANDONED,
  FINAL_PHASES,
  RECOVERED_NOTICE,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
  maskCard,
  type CancelReason,
  type PayingCard,
  type SaleEffect,
  type SaleEvent,
  type SaleMachineState,
  type SaleRules,
  type StepFailure,
  type Transition,
} from './sale-machine-types.js';

export * from './sale-machine-types.js';

/**
 * The sale as a pure state machine: `transition(state, event, now, rules)` says what the sale becomes
 * and what must be done about it (effects). No I/O, no timers, no clock: the engine (sale-engine.ts)
 * feeds in what happened at the card, the counter and the timers, and carries out the effects.
 * The transition table in docs/architecture.md §2a is checked against this file (test/unit/sale-machine.test.ts).
 */

/** A new sale: waiting for a card, the card timer running. */
export function openSale(reader: string | null, now: number, rules: SaleRules): Transition {
  const state: SaleMachineState = {
    phase: 'waiting_card',
    reader,
    notice: null,
    wait: { deadline: now + rules.cardMs, retries: 0 },
  };
  return {
    state,
    effects: [{ kind: 'show' }, { kind: 'disarm' }, { kind: 'arm', timer: 'card', at: state.wait.deadline }],
  };
}

/** The card whose answer to SIGN_TXN is still out, if any. */
export function payingCard(s: SaleMachineState): PayingCard | undefined {
  return 'paying' in s ? s.paying : undefined;
}

/** A card step is in flight (the reader is held for this sale, or about to be). */
export function isRunning(s: SaleMachineState): boolean {
  return s.phase === 'waiting_card' ? s.claim !== undefined : !FINAL_PHASES.has(s.phase);
}

function cancelOf(s: SaleMachineState): CancelReason | undefined {
  if (s.phase === 'waiting_card') return s.claim?.cancel;
  return s.phase === 'reading_card' || s.phase === 'pin' ? s.cancel : undefined;
}

const same = (state: SaleMachineState): Transition => ({ state, effects: [] });

export function transition(s: SaleMachineState, e: SaleEvent, now: number, rules: SaleRules): Transition {
  if (FINAL_PHASES.has(s.phase)) return same(s);
  switch (e.type) {
    case 'CARD_CLAIMED':
      if (s.phase !== 'waiting_card' || s.claim) return same(s);
      return { state: { ...s, claim: { reader: e.reader } }, effects: [{ kind: 'disarm' }] };
    case 'READING_CARD':
      if (s.phase !== 'waiting_card' || !s.claim || s.claim.cancel) return same(s);
      return show({
        phase: 'reading_card',
        reader: s.claim.reader,
        notice: s.notice,
        wait: s.wait,
        ...withPaying(s.paying),
      });
    case 'PIN_ASKED':
      // Never with a card that may have paid: its journal must first say it signed nothing (NOT_SIGNED).
      if (!((s.phase === 'reading_card' && !s.paying) || s.phase === 'pin' || (s.phase === 'signing' && !s.paying)))
        return same(s);
      return show({
        phase: 'pin',
        reader: s.reader,
        notice: s.notice,
        wait: s.wait,
        triesLeft: e.triesLeft,
        deadline: e.deadline,
        entry: e.onDevice ? 'pad' : 'awaiting_pin',
        ...(cancelOf(s) ? { cancel: cancelOf(s)! } : {}),
      });
    case 'PIN_SUBMITTED':
      return s.phase === 'pin' && s.entry === 'awaiting_pin' ? same({ ...s, entry: 'checking' }) : same(s);
    case 'PIN_WRONG': {
      if (s.phase !== 'pin') return same(s);
      const t = e.triesLeft;
      const notice: SaleError = {
        code: 'PIN_WRONG',
        message: `wrong PIN, ${t} ${t === 1 ? 'try' : 'tries'} left`,
        hint: t === 1 ? 'one more wrong PIN blocks the card' : 'type the PIN again',
      };
      return show({ ...s, triesLeft: t, notice });
    }
    case 'CARD_REMOVED':
      // The card forgets a verified PIN when it loses power: the PIN awaited is for a card no longer there.
      if (s.phase !== 'pin' || s.entry !== 'awaiting_pin' || s.reader !== e.reader) return same(s);
      return { state: { ...s, entry: 'interrupted' }, effects: [{ kind: 'abort', why: 'card_removed' }] };
    case 'SIGN_SENT':
      if (s.phase !== 'reading_card' && s.phase !== 'pin') return same(s);
      return show({
        phase: 'signing',
        reader: s.reader,
        notice: s.notice,
        wait: s.wait,
        paying: { cardId: e.cardId, counterAtSign: e.counter, outcomeLost: false },
      });
    case 'NOT_SIGNED':
      if (!payingCard(s)) return same(s);
      return same(dropPaying(s));
    case 'JOURNAL_GAP': {
      const p = payingCard(s);
      if (!p || p.cardId !== e.cardId) return same(s);
      return same({ ...s, paying: { ...p, outcomeLost: true } } as SaleMachineState);
    }
    case 'RECORD_STORED':
      if (s.phase !== 'waiting_card' && s.phase !== 'reading_card' && s.phase !== 'signing') return same(s);
      // Paid: a notice left from a pull is over; a record from the journal says so.
      return show({
        phase: 'stored',
        reader: s.reader,
        recordId: e.recordId,
        notice: e.fromJournal ? RECOVERED_NOTICE : null,
      });
    case 'RECEIPT':
      if (s.phase !== 'stored') return same(s);
      return end({ phase: 'done', reader: s.reader, notice: s.notice, receipt: e.receipt });
    case 'CANCEL':
      return cancel(s, e.by);
    case 'CARD_TIME_UP':
      if (s.phase !== 'waiting_card' || s.claim) return same(s);
      return endOrUnconfirmed(s, 'timed_out', null);
    case 'RETRY_DUE':
      if (s.phase !== 'waiting_card' || s.claim) return same(s);
      if (e.cardPresent) return { state: s, effects: [{ kind: 'try_card' }] };
      return waitForCard(s, s.notice, false, false, now, rules); // taken out meanwhile: wait for it afresh
    case 'STEP_FAILED':
      return stepFailed(s, e.failure, e.cardPresent, now, rules);
  }
}

function cancel(s: SaleMachineState, by: CancelReason): Transition {
  // A sale at the card's signature runs to its end; the engine never abandons one the card may have paid.
  if (s.phase === 'signing' || s.phase === 'stored' || (by === 'abandoned' && payingCard(s))) return same(s);
  if (s.phase === 'waiting_card' && !s.claim)
    return endOrUnconfirmed(s, 'cancelled', by === 'abandoned' ? ABANDONED : null);
  const abort: SaleEffect = { kind: 'abort', why: 'cancelled' };
  if (s.phase === 'waiting_card') return { state: { ...s, claim: { ...s.claim!, cancel: by } }, effects: [abort] };
  return { state: { ...s, cancel: by } as SaleMachineState, effects: [abort] };
}

function stepFailed(
  s: SaleMachineState,
  f: StepFailure,
  cardPresent: boolean,
  now: number,
  rules: SaleRules,
): Transition {
  if (s.phase === 'stored') return same(s); // the record is durable: nothing that fails now unpays the sale
  const paying = payingCard(s);
  const cancel = cancelOf(s);
  // The merchant cancelled while the card was being read: that wins over waiting for it again.
  if (cancel) return endOrUnconfirmed(s, 'cancelled', cancel === 'abandoned' ? ABANDONED : null);
  switch (f.kind) {
    case 'unclear_answer':
      if (!paying) return fail(s, f.error);
      return waitForCard(
        s,
        {
          code: 'SALE_UNCONFIRMED',
          message: `the card's answer could not be taken (${f.error.code}: ${f.error.message}): reading its journal to see whether it paid`,
          hint: 'leave the card in (or insert it again); do not take another payment for this sale',
        },
        true,
        cardPresent,
        now,
        rules,
      );
    case 'card_gone':
      // Same sale, same nonce: if the card had signed, its record comes back from its journal when it is inserted again.
      return waitForCard(
        s,
        !paying
          ? f.error
          : {
              code: 'SALE_UNCONFIRMED',
              message: `the card's answer to the payment was lost (${f.error.code}: ${f.error.message}): it may already have paid`,
              hint: 'insert the same card again to finish; do not take another payment for this sale',
            },
        true,
        cardPresent,
        now,
        rules,
      );
    case 'interrupted':
      if (f.why === 'card_removed') {
        const t = waitForCard(
          s,
          {
            code: 'CARD_REMOVED',
            message: 'the card was taken out before the payment finished',
            hint: 'insert the card again',
          },
          true,
          cardPresent,
          now,
          rules,
        );
        return { state: t.state, effects: [{ kind: 'renew_abort' }, ...t.effects] };
      }
      if (f.why === 'other_card') {
        // Not for a card left in the reader to be tried again: it stays the wrong card.
        return waitForCard(
          s,
          {
            code: 'CARD_NOT_THE_PAYING_ONE',
            message: `this is not the card that was paying (card ${maskCard(paying?.cardId ?? '')}), which may already have paid`,
            hint: 'take this card out and insert the card that was paying',
          },
          false,
          cardPresent,
          now,
          rules,
        );
      }
      return endOrUnconfirmed(s, f.why, null);
    case 'fatal':
      return fail(s, f.error);
  }
}

function fail(s: SaleMachineState, error: SaleError): Transition {
  const t = endOrUnconfirmed(s, 'failed', error);
  return { state: t.state, effects: [{ kind: 'log_failure', error }, ...t.effects] };
}

/**
 * Back to waiting for the card. A card still in the reader after a failed step is tried again, backing
 * off, within the deadline the wait had already: a step that fails at once must not spin. Waiting for a
 * card to be inserted gets a fresh deadline.
 */
function waitForCard(
  s: SaleMachineState,
  notice: SaleError | null,
  retryCardLeftIn: boolean,
  cardPresent: boolean,
  now: number,
  rules: SaleRules,
): Transition {
  const retry = notice !== null && retryCardLeftIn && cardPresent && 'wait' in s;
  const wait = retry ? s.wait : { deadline: now + rules.cardMs, retries: 0 };
  const effects: SaleEffect[] = [
    { kind: 'show' },
    { kind: 'disarm' },
    { kind: 'arm', timer: 'card', at: wait.deadline },
  ];
  if (retry)
    effects.push({ kind: 'arm', timer: 'retry', at: now + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** wait.retries) });
  const state: SaleMachineState = {
    phase: 'waiting_card',
    reader: s.reader,
    notice,
    wait: retry ? { ...wait, retries: wait.retries + 1 } : wait,
    ...withPaying(payingCard(s)),
  };
  return { state, effects };
}

/**
 * The end of a sale. Once SIGN_TXN is out and its answer never came, the card may have paid: never
 * "not paid", but unconfirmed (the engine first looks whether its record was stored meanwhile).
 */
function endOrUnconfirmed(
  s: SaleMachineState,
  phase: 'cancelled' | 'timed_out' | 'failed',
  error: SaleError | null,
): Transition {
  const base = { reader: s.reader, notice: s.notice };
  if (payingCard(s)) {
    const why = error
      ? error.message
      : phase === 'cancelled'
        ? 'cancelled at the counter'
        : 'the card did not come back in time';
    return end({
      ...base,
      phase: 'unconfirmed',
      error: unconfirmedError(
        `the card may have paid: its answer was lost and the sale ended (${why}) before the card came back to check`,
      ),
    });
  }
  if (phase === 'failed') return end({ ...base, phase, error: error! });
  return end(phase === 'cancelled' ? { ...base, phase, error } : { ...base, phase });
}

const show = (state: SaleMachineState): Transition => ({ state, effects: [{ kind: 'show' }] });
const end = (state: SaleMachineState): Transition => ({
  state,
  effects: [{ kind: 'disarm' }, { kind: 'release' }, { kind: 'show' }],
});
const withPaying = (p: PayingCard | undefined) => (p ? { paying: p } : {});

function dropPaying(s: SaleMachineState): SaleMachineState {
  const { paying: _gone, ...rest } = s as SaleMachineState & { paying?: PayingCard };
  return rest as SaleMachineState;
}

/**
 * Whether a card that comes back after SIGN_TXN went out can show it did not sign: its counter moved
 * and records were lost from view since, so whether one of them was this sale cannot be read from it.
 */
export function outcomeUnreadable(paying: PayingCard, cardCounter: number, gapSeenNow: boolean): boolean {
  return cardCounter !== paying.counterAtSign && (paying.outcomeLost || gapSeenNow);
}

/** The snapshot fields a phase shows (the rest are the sale's own facts). */
export function shownFields(s: SaleMachineState): {
  state: SaleState;
  reader: string | null;
  pinTriesLeft: number | null;
  pinOnDevice: boolean;
  deadline: number | null;
  notice: SaleError | null;
  receipt: Receipt | null;
  error: SaleError | null;
} {
  return {
    state: s.phase,
    reader: s.reader,
    pinTriesLeft: s.phase === 'pin' ? s.triesLeft : null,
    pinOnDevice: s.phase === 'pin' && s.entry === 'pad',
    deadline: s.phase === 'waiting_card' ? s.wait.deadline : s.phase === 'pin' ? s.deadline : null,
    notice: s.notice,
    receipt: s.phase === 'done' ? s.receipt : null,
    error: s.phase === 'cancelled' || s.phase === 'failed' || s.phase === 'unconfirmed' ? s.error : null,
  };
}
