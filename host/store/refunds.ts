import type { Db } from './database.js';
import { guardWrite } from './store-errors.js';
import type { TopupState } from './topups.js';

/**
 * A refund's own states (table `refunds`, migration 5; its CHECK lists exactly these):
 * - `queued`: on disk under its refund id; waits for its card in a reader, the bank, and its sale settled;
 * - `asked`: carried by a top-up row (`topupId`, method `refund`) from then on: its state is that row's
 *   (requested → token_stored → loaded | failed), see REFUND_VIEW_STATES;
 * - `failed`: refused before any load was asked (the sale cannot be refunded): nothing given back.
 */
export const REFUND_STATES = ['queued', 'asked', 'failed'] as const;
export type RefundState = (typeof REFUND_STATES)[number];

/** What a person sees: the refund's state, or its top-up's once it is carried by one. */
export type RefundViewState = 'queued' | 'requested' | 'authorised' | 'credited' | 'failed';
export const REFUND_VIEW_STATES: readonly RefundViewState[] = [
  'queued',
  'requested',
  'authorised',
  'credited',
  'failed',
];

export interface RefundRow {
  refundId: string;
  requestKey: string | null;
  saleId: string;
  recordId: string;
  cardId: string;
  amount: number;
  currency: number;
  reason: string | null;
  state: RefundState;
  topupId: string | null;
  errorCode: string | null;
  errorText: string | null;
  createdAt: number;
  updatedAt: number;
  /** Joined from the top-up row carrying it. */
  topupState: TopupState | null;
  loadedAt: number | null;
  balanceAfter: number | null;
  topupErrorCode: string | null;
  topupErrorText: string | null;
}

export type NewRefund = Pick<RefundRow, 'refundId' | 'saleId' | 'recordId' | 'cardId' | 'amount' | 'currency'> & {
  requestKey?: string;
  reason?: string;
};

const COLUMNS = `r.refund_id AS refundId, r.request_key AS requestKey, r.sale_id AS saleId, r.record_id AS recordId,
  r.card_id AS cardId, r.amount, r.currency, r.reason, r.state, r.topup_id AS topupId, r.error_code AS errorCode,
  r.error_text AS errorText, r.created_at AS createdAt, r.updated_at AS updatedAt, t.state AS topupState,
  t.loaded_at AS loadedAt, t.balance_after AS balanceAfter, t.error_code AS topupErrorCode, t.error_text AS topupErrorText`;
const FROM = 'FROM refunds r LEFT JOIN topups t ON t.topup_id = r.topup_id';

export function refundViewState(r: Pick<RefundRow, 'state' | 'topupState'>): RefundViewState {
  if (r.state !== 'asked') return r.state;
  switch (r.topupState) {
    case 'token_stored':
      return 'authorised';
    case 'loaded':
      return 'credited';
    case 'failed':
      return 'failed';
    default:
      return 'requested';
  }
}

/**
 * Refunds (table `refunds`). Every write is on the main connection (synchronous=FULL): a refund is on
 * disk before the bank is asked, and linked to the top-up row that carries it in the same transaction
 * that creates that row, so it is never asked twice under two loads.
 */
export class Refunds {
  private readonly s;
  private readonly linkTx;

  constructor(
    db: Db,
    private readonly clock: () => number,
  ) {
    this.s = {
      insert:
        db.prepare(`INSERT INTO refunds (refund_id, request_key, sale_id, record_id, card_id, amount, currency, reason,
        state, created_at, updated_at) VALUES (@refundId, @requestKey, @saleId, @recordId, @cardId, @amount, @currency, @reason,
        'queued', @now, @now)`),
      byId: db.prepare<[string], RefundRow>(`SELECT ${COLUMNS} ${FROM} WHERE r.refund_id = ?`),
      byKey: db.prepare<[string], RefundRow>(`SELECT ${COLUMNS} ${FROM} WHERE r.request_key = ?`),
      byTopup: db.prepare<[string], RefundRow>(`SELECT ${COLUMNS} ${FROM} WHERE r.topup_id = ?`),
      ofSale: db.prepare<[string], RefundRow>(`SELECT ${COLUMNS} ${FROM} WHERE r.sale_id = ? ORDER BY r.created_at`),
      queuedOfCard: db.prepare<[string], RefundRow>(
        `SELECT ${COLUMNS} ${FROM} WHERE r.card_id = ? AND r.state = 'queued' ORDER BY r.created_at`,
      ),
      allQueued: db.prepare<[], RefundRow>(`SELECT ${COLUMNS} ${FROM} WHERE r.state = 'queued' ORDER BY r.created_at`),
      between: db.prepare<[number, number], RefundRow>(
        `SELECT ${COLUMNS} ${FROM} WHERE r.created_at >= ? AND r.created_at < ? ORDER BY r.created_at, r.refund_id`,
      ),
      link: db.prepare(
        `UPDATE refunds SET state = 'asked', topup_id = ?, updated_at = ? WHERE refund_id = ? AND state = 'queued'`,
      ),
      failed: db.prepare(
        `UPDATE refunds SET state = 'failed', error_code = ?, error_text = ?, updated_at = ? WHERE refund_id = ? AND state = 'queued'`,
      ),
      note: db.prepare(`UPDATE refunds SET error_code = ?, error_text = ?, updated_at = ? WHERE refund_id = ?`),
      // What is already promised back of a sale: every refund not failed, and not failed at its top-up.
      promised: db.prepare<[string], { amount: number | null }>(
        `SELECT SUM(r.amount) AS amount ${FROM} WHERE r.sale_id = ? AND r.state != 'failed' AND (t.state IS NULL OR t.state != 'failed')`,
      ),
    };
    this.linkTx = db.transaction((refundId: string, create: () => string) => {
      const topupId = create();
      const info = this.s.link.run(topupId, this.clock(), refundId);
      if (info.changes !== 1) throw new Error(`refund ${refundId} is not queued`);
      return topupId;
    });
  }

  create(r: NewRefund): RefundRow {
    guardWrite('the refund', () =>
      this.s.insert.run({
        ...r,
        requestKey: r.requestKey ?? null,
        reason: r.reason ?? null,
        now: this.clock(),
      }),
    );
    return this.get(r.refundId)!;
  }

  get(refundId: string): RefundRow | undefined {
    return this.s.byId.get(refundId);
  }

  byRequestKey(key: string): RefundRow | undefined {
    return this.s.byKey.get(key);
  }

  byTopup(topupId: string): RefundRow | undefined {
    return this.s.byTopup.get(topupId);
  }

  ofSale(saleId: string): RefundRow[] {
    return this.s.ofSale.all(saleId);
  }

  queued(cardId?: string): RefundRow[] {
    return cardId === undefined ? this.s.allQueued.all() : this.s.queuedOfCard.all(cardId);
  }

  /** Refunds asked for in [fromMs, toMs) (host clock), every state (refundViewState says which). */
  between(fromMs: number, toMs: number): RefundRow[] {
    return this.s.between.all(fromMs, toMs);
  }

  /** What the sale's refunds not failed add up to (the host's own bound, before the bank's). */
  promised(saleId: string): number {
    return this.s.promised.get(saleId)?.amount ?? 0;
  }

  /** Create the top-up row that carries the refund (`create` returns its id) and link it, in one transaction. */
  linkTopup(refundId: string, create: () => string): string {
    return guardWrite('the refund', () => this.linkTx.immediate(refundId, create));
  }

  markFailed(refundId: string, errorCode: string, errorText: string): void {
    guardWrite('the refund', () => this.s.failed.run(errorCode, errorText, this.clock(), refundId));
  }

  note(refundId: string, errorCode: string, errorText: string): void {
    guardWrite('the refund', () => this.s.note.run(errorCode, errorText, this.clock(), refundId));
  }
}
