import type { Receipt, SaleError } from './sale-types.js';

/** The sale machine's states, events and effects (sale-machine.ts holds the transitions). */

/** The card SIGN_TXN went to, while its answer is not in: the sale may be paid, and only this card can tell. */
export interface PayingCard {
  cardId: string;
  /** The card's counter when SIGN_TXN went out: unchanged on its return means it signed nothing since. */
  counterAtSign: number;
  /** Records of this card were lost from view (a journal gap, in any card session) since SIGN_TXN went out. */
  outcomeLost: boolean;
}

/** Who asked for a cancel that a card step in flight must notice: the merchant, or the engine (the client went away). */
export type CancelReason = 'merchant' | 'abandoned';

/** How long the sale waits for a card; kept across tries of a card left in the reader, so they cannot spin forever. */
export interface CardWait {
  deadline: number;
  retries: number;
}

/** How the PIN is being entered: on the reader's pad, awaited from the API, at the card, or stopped by a pull. */
export type PinEntry = 'pad' | 'awaiting_pin' | 'checking' | 'interrupted';

/** What every phase shows: the reader the sale is bound to (null: any) and the last word to the customer. */
interface Shown {
  reader: string | null;
  notice: SaleError | null;
}
type Bound = Omit<Shown, 'reader'> & { reader: string };

export type SaleMachineState =
  | (Shown & {
      phase: 'waiting_card';
      wait: CardWait;
      paying?: PayingCard;
      claim?: { reader: string; cancel?: CancelReason };
    })
  | (Bound & { phase: 'reading_card'; wait: CardWait; paying?: PayingCard; cancel?: CancelReason })
  | (Bound & {
      phase: 'pin';
      wait: CardWait;
      triesLeft: number;
      entry: PinEntry;
      deadline: number;
      cancel?: CancelReason;
    })
  | (Bound & {
      phase: 'signing';
      wait: CardWait;
      /** Undefined once the card's answer says it signed nothing. */ paying?: PayingCard;
    })
  | (Shown & { phase: 'stored'; recordId: string })
  | (Shown & { phase: 'done'; receipt: Receipt })
  | (Shown & { phase: 'cancelled'; error: SaleError | null })
  | (Shown & { phase: 'timed_out' })
  | (Shown & { phase: 'failed'; error: SaleError })
  | (Shown & { phase: 'unconfirmed'; error: SaleError });

export type Phase = SaleMachineState['phase'];
export type PhaseState<P extends Phase> = Extract<SaleMachineState, { phase: P }>;

/** Why a card step failed, as the engine read the error (card-run.ts). */
export type StepFailure =
  | { kind: 'interrupted'; why: 'cancelled' | 'timed_out' | 'card_removed' | 'other_card' }
  /** The card's answer to SIGN_TXN came back but cannot be taken: whether it signed is in its journal. */
  | { kind: 'unclear_answer'; error: SaleError }
  /** The card was pulled or the reader hiccuped: the same sale goes on with the same nonce. */
  | { kind: 'card_gone'; error: SaleError }
  | { kind: 'fatal'; error: SaleError };

export type SaleEvent =
  | { type: 'CARD_CLAIMED'; reader: string }
  | { type: 'READING_CARD' }
  | { type: 'PIN_ASKED'; triesLeft: number; onDevice: boolean; deadline: number }
  | { type: 'PIN_SUBMITTED' }
  | { type: 'PIN_WRONG'; triesLeft: number }
  | { type: 'CARD_REMOVED'; reader: string }
  | { type: 'SIGN_SENT'; cardId: string; counter: number }
  | { type: 'NOT_SIGNED' }
  | { type: 'JOURNAL_GAP'; cardId: string }
  | { type: 'RECORD_STORED'; recordId: string; fromJournal: boolean }
  | { type: 'RECEIPT'; receipt: Receipt }
  | { type: 'STEP_FAILED'; failure: StepFailure; cardPresent: boolean }
  | { type: 'CANCEL'; by: CancelReason }
  | { type: 'CARD_TIME_UP' }
  | { type: 'RETRY_DUE'; cardPresent: boolean };

export type AbortWhy = 'cancelled' | 'card_removed';

export type SaleEffect =
  /** Save the sale's state (write-behind) and tell listeners. */
  | { kind: 'show' }
  /** Stop the card and retry timers. */
  | { kind: 'disarm' }
  | { kind: 'arm'; timer: 'card' | 'retry'; at: number }
  /** Stop the card step in flight. */
  | { kind: 'abort'; why: AbortWhy }
  /** A pull was handled: the next try gets a fresh abort signal. */
  | { kind: 'renew_abort' }
  /** The sale is over: out of the live set, its reader free. */
  | { kind: 'release' }
  /** A card was left in the reader: run the sale on it again. */
  | { kind: 'try_card' }
  | { kind: 'log_failure'; error: SaleError };

export interface SaleRules {
  cardMs: number;
}
export interface Transition {
  state: SaleMachineState;
  effects: SaleEffect[];
}

export const FINAL_PHASES: ReadonlySet<Phase> = new Set(['done', 'cancelled', 'timed_out', 'failed', 'unconfirmed']);
/** Tries of a card left in the reader after a failed step: 100 ms, doubling, at most 2 s apart. */
export const RETRY_BASE_MS = 100;
export const RETRY_MAX_MS = 2000;

export const RECOVERED_NOTICE: SaleError = {
  code: 'RECOVERED',
  message: "paid: the record came back from the card's journal after the sale was interrupted",
  hint: '',
};
export const ABANDONED: SaleError = {
  code: 'SALE_ABANDONED',
  message:
    'cancelled: the page or command that started this sale went away before the card paid, so no card was charged',
  hint: 'start the sale again from the counter page or with cardpost sale',
};
export const maskCard = (cardId: string) => '•'.repeat(Math.max(0, cardId.length - 4)) + cardId.slice(-4);
