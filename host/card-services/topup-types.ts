import { CardpostError } from '../../protocol/errors.js';
import type { TopupMethod, TopupRow, TopupState } from '../store/topups.js';

/** A refused or interrupted top-up, with its code in host/errors/codes.ts (`TOPUP_*`). */
export class TopupError extends CardpostError {
  constructor(
    code: string,
    message: string,
    hint: string,
    /** The top-up row this concerns, when one was stored (kept to be finished later). */
    readonly topupId?: string,
  ) {
    super(code, message, hint);
  }
}

/** What a caller asks for. `amount` 0 is a pure sync (method `sync`, nothing paid). */
export interface TopupStart {
  amount: number;
  currency?: number;
  reader?: string;
  method?: 'cash' | 'account';
  /** The caller's Idempotency-Key: the same key finds (and finishes) the same top-up. */
  requestKey?: string;
}

/** A top-up as the API, the CLI and the pages show it. */
export interface TopupSnapshot {
  topupId: string;
  state: TopupState;
  /** The last four hex digits only. */
  card: string;
  reader: string | null;
  amount: number;
  currency: number;
  method: TopupMethod;
  loadSeq: number;
  settledCounter: number | null;
  balance: number | null;
  offlineCount: number | null;
  offlineAmount: number | null;
  /** Why it failed, or why it is waiting (state `requested` / `token_stored`), or a notice on a loaded one. */
  error: { code: string; message: string } | null;
  createdAt: number;
  updatedAt: number;
  loadedAt: number | null;
}

export function snapshotOfTopup(r: TopupRow): TopupSnapshot {
  return {
    topupId: r.topupId,
    state: r.state,
    card: `••${r.cardId.slice(-4)}`,
    reader: r.reader,
    amount: r.amount,
    currency: r.currency,
    method: r.method,
    loadSeq: r.loadSeq,
    settledCounter: r.settledCounter,
    balance: r.balanceAfter,
    offlineCount: r.offlineCountAfter,
    offlineAmount: r.offlineAmountAfter,
    error: r.errorCode ? { code: r.errorCode, message: r.errorText ?? '' } : null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    loadedAt: r.loadedAt,
  };
}

/** Test hooks for fault scenarios; never set in production config. */
export interface TopupFaultHooks {
  /** Called once the bank's token is durable, before LOAD (throw to stand for the daemon dying there). */
  afterTokenStored?: (topupId: string) => void;
  /** Called once a void and its nonce are durable, before VOID_TXN (host/card-services/voids.ts). */
  afterVoidStored?: (voidId: string) => void;
  /** Called once the card answered VOID_TXN, before its reversal is stored (the crash tests kill the process here). */
  afterVoidSigned?: (voidId: string) => void;
}
