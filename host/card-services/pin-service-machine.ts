/**
 * The PIN service's states (docs/host-api.md §5.8) as one explicit union with a pure transition
 * function and injected time, like the sale's (host/sale/sale-machine.ts). The digits are never part
 * of a state: the runner (pin-service.ts) holds them for the moment the card needs them.
 *
 *   waiting_card → reading → entry(current | puk) → entry(new) → entry(confirm) → working → done
 *                                                    ↑______________________________|  (mismatch, weak)
 *   any running state → failed | cancelled | timed_out
 */
export type PinServiceKind = 'change' | 'unblock';
export type EntryStep = 'current' | 'puk' | 'new' | 'confirm';

/** Why a step is asked again; codes are in host/errors/codes.ts. */
export interface EntryNotice {
  code: 'PIN_WRONG' | 'PUK_WRONG' | 'PIN_MISMATCH' | 'PIN_TOO_WEAK';
  message: string;
  hint: string;
}

export interface PinServiceFailure {
  code: string;
  message: string;
  hint: string;
}

export type PinServicePhase =
  | { phase: 'waiting_card' }
  | { phase: 'reading' }
  | {
      phase: 'entry';
      /** undefined while a terminal's pad collects everything itself. */
      step: EntryStep | undefined;
      deadline: number;
      triesLeft: number;
      notice: EntryNotice | undefined;
    }
  | { phase: 'working' }
  | { phase: 'done' }
  | { phase: 'failed'; error: PinServiceFailure }
  | { phase: 'cancelled'; by: 'merchant' | 'customer' }
  | { phase: 'timed_out' };

export interface PinServiceState {
  kind: PinServiceKind;
  /** The card still had its issuer's transport PIN: this change is the card's activation. */
  activation: boolean;
  onDevice: boolean;
  pinTries: number;
  pukTries: number;
  at: PinServicePhase;
}

export type PinServiceEvent =
  | { type: 'CARD_OPENED' }
  | { type: 'CARD_READ'; activation: boolean; onDevice: boolean; pinTries: number; pukTries: number; now: number }
  /** The step's entry was taken (and, for `current`, the card verified it). */
  | { type: 'STEP_DONE'; now: number }
  | { type: 'SECRET_WRONG'; triesLeft: number; now: number }
  | { type: 'NEW_PIN_REFUSED'; notice: EntryNotice; now: number }
  /** The terminal's pad cannot run the service (older firmware): the customer display takes over. */
  | { type: 'PAD_UNSUPPORTED'; now: number }
  | { type: 'CHANGED' }
  | { type: 'FAILED'; error: PinServiceFailure }
  | { type: 'CANCEL'; by: 'merchant' | 'customer' }
  | { type: 'TIMEOUT' };

export const FINAL_PHASES: ReadonlySet<PinServicePhase['phase']> = new Set([
  'done',
  'failed',
  'cancelled',
  'timed_out',
]);

export function initialPinService(kind: PinServiceKind): PinServiceState {
  return { kind, activation: false, onDevice: false, pinTries: 0, pukTries: 0, at: { phase: 'waiting_card' } };
}

export function isFinal(s: PinServiceState): boolean {
  return FINAL_PHASES.has(s.at.phase);
}

/** The first secret asked: the current PIN, or the PUK for an unblock. */
function firstStep(kind: PinServiceKind): EntryStep {
  return kind === 'unblock' ? 'puk' : 'current';
}

const NEXT_STEP: Record<EntryStep, EntryStep | 'work'> = {
  current: 'new',
  puk: 'new',
  new: 'confirm',
  confirm: 'work',
};

/**
 * One transition. An event that does not apply to the state (a late entry, a second cancel) leaves
 * it unchanged: the runner's steps race the customer, the merchant and the card.
 */
export function nextPinService(s: PinServiceState, e: PinServiceEvent, entryMs: number): PinServiceState {
  if (isFinal(s)) return s;
  const at = s.at;
  const entry = (
    step: EntryStep | undefined,
    now: number,
    notice?: EntryNotice,
    tries?: number,
    onDevice = s.onDevice,
  ): PinServiceState => ({
    ...s,
    onDevice,
    at: {
      phase: 'entry',
      step,
      deadline: now + entryMs,
      triesLeft: tries ?? (step === 'puk' ? s.pukTries : s.pinTries),
      notice,
    },
  });
  switch (e.type) {
    case 'CARD_OPENED':
      return at.phase === 'waiting_card' ? { ...s, at: { phase: 'reading' } } : s;
    case 'CARD_READ': {
      if (at.phase !== 'reading') return s;
      const read = { ...s, activation: e.activation, onDevice: e.onDevice, pinTries: e.pinTries, pukTries: e.pukTries };
      const tries = s.kind === 'unblock' ? e.pukTries : e.pinTries;
      return {
        ...read,
        at: {
          phase: 'entry',
          step: e.onDevice ? undefined : firstStep(s.kind),
          deadline: e.now + entryMs,
          triesLeft: tries,
          notice: undefined,
        },
      };
    }
    case 'STEP_DONE': {
      if (at.phase !== 'entry' || at.step === undefined) return s;
      const next = NEXT_STEP[at.step];
      return next === 'work' ? { ...s, at: { phase: 'working' } } : entry(next, e.now);
    }
    case 'SECRET_WRONG': {
      // A wrong current PIN is known at once (VERIFY); a wrong PUK only when UNBLOCK_PIN answers.
      if (at.phase !== 'entry' && at.phase !== 'working') return s;
      const step = firstStep(s.kind);
      const tries = { ...s, ...(step === 'puk' ? { pukTries: e.triesLeft } : { pinTries: e.triesLeft }) };
      const code = step === 'puk' ? 'PUK_WRONG' : 'PIN_WRONG';
      const notice: EntryNotice = {
        code,
        message: step === 'puk' ? 'wrong PUK' : 'wrong PIN',
        hint: `${e.triesLeft} ${e.triesLeft === 1 ? 'try' : 'tries'} left`,
      };
      return {
        ...tries,
        at: {
          phase: 'entry',
          step: s.onDevice ? undefined : step,
          deadline: e.now + entryMs,
          triesLeft: e.triesLeft,
          notice,
        },
      };
    }
    case 'PAD_UNSUPPORTED':
      return at.phase === 'entry' && s.onDevice ? entry(firstStep(s.kind), e.now, undefined, undefined, false) : s;
    case 'NEW_PIN_REFUSED':
      return at.phase === 'entry' && (at.step === 'new' || at.step === 'confirm') ? entry('new', e.now, e.notice) : s;
    case 'CHANGED':
      return at.phase === 'working' || (at.phase === 'entry' && s.onDevice) ? { ...s, at: { phase: 'done' } } : s;
    case 'FAILED':
      return { ...s, at: { phase: 'failed', error: e.error } };
    case 'CANCEL':
      return at.phase === 'working' ? s : { ...s, at: { phase: 'cancelled', by: e.by } };
    case 'TIMEOUT':
      return at.phase === 'entry' ? { ...s, at: { phase: 'timed_out' } } : s;
  }
}
