import type { CardpostError } from '../../protocol/errors.js';

/**
 * The states of one sale (the counter's small state machine):
 *
 *   waiting_card ─► reading_card ─► [pin ─►] signing ─► stored ─► done (receipt)
 *        ▲               │            │          │
 *        └── card pulled ┴────────────┴──────────┘   (same nonce: a record already signed comes back
 *                                                     from the card's journal, never a second charge)
 *   any state before signing ─► cancelled | timed_out | failed
 *   after SIGN_TXN went out with no answer back ─► unconfirmed (the card may have paid: only that
 *     card can finish the sale; a later journal recovery turns it done)
 *
 * The transitions themselves: sale-machine.ts (and its table in docs/architecture.md §2a).
 */
export type SaleState =
  | 'waiting_card'
  | 'reading_card'
  | 'pin'
  | 'signing'
  | 'stored'
  | 'done'
  | 'cancelled'
  | 'timed_out'
  | 'failed'
  | 'unconfirmed';

export const FINAL_STATES: ReadonlySet<SaleState> = new Set([
  'done',
  'cancelled',
  'timed_out',
  'failed',
  'unconfirmed',
]);

/** What the customer and merchant are shown at the end of a paid sale. */
export interface Receipt {
  saleId: string;
  recordId: string;
  amount: number;
  currency: number;
  merchantId: string;
  terminalId: string;
  /** Record time, Unix seconds (the card has no clock; this is the host's). */
  time: number;
  /** The card id, all but the last 4 hex digits masked. */
  card: string;
  counter: number;
  balanceAfter: number;
  pinVerified: boolean;
  /** Whether the bank was reachable when the receipt was given ("paid — will settle when back online"). */
  online: boolean;
}

export interface SaleError {
  code: string;
  message: string;
  hint: string;
}

export interface SaleSnapshot {
  saleId: string;
  requestKey: string | null;
  amount: number;
  currency: number;
  /** The reader the sale is bound to; null while any reader may take the card. */
  reader: string | null;
  state: SaleState;
  /** Set in `pin`: how many tries the card has left. */
  pinTriesLeft: number | null;
  /** Set in `pin`: the PIN is typed on the reader's own pad, not sent by the host. */
  pinOnDevice: boolean;
  /** When the current step times out (ms since epoch), if it can. */
  deadline: number | null;
  /** Why the sale is back to waiting, or why it ended. */
  notice: SaleError | null;
  receipt: Receipt | null;
  error: SaleError | null;
  createdAt: number;
  updatedAt: number;
}

export const toSaleError = (e: CardpostError): SaleError => ({ code: e.code, message: e.message, hint: e.hint });

/** Why a sale is `unconfirmed`: the card may have paid, so the merchant must not charge again blindly. */
export const unconfirmedError = (message: string): SaleError => ({
  code: 'SALE_UNCONFIRMED',
  message,
  hint: 'do not take another payment for this sale yet: ask the customer to insert the same card here, and the sale turns paid by itself if the card signed it',
});
