import { randomUUID } from 'node:crypto';
import { MAX_AMOUNT } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import { TransportError } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { withCard } from '../sale/card-opening.js';
import type { HostStore } from '../store/host-store.js';
import { refundViewState, type RefundRow, type RefundViewState } from '../store/refunds.js';
import type { TopupService } from './topup.js';
import { TopupError } from './topup-types.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** A refused refund, with its code in host/errors/codes-money-back.ts (`REFUND_*`). */
export class RefundError extends CardpostError {}

/** What a caller asks for: a sale, and how much of it (default: all that is left). */
export interface RefundStart {
  saleId: string;
  amount?: number;
  reason?: string;
  /** The reader holding the card, if it is at the counter. */
  reader?: string;
  /** The caller's Idempotency-Key: the same key finds the same refund. */
  requestKey?: string;
}

/** A refund as the API, the CLI and the pages show it. */
export interface RefundSnapshot {
  refundId: string;
  saleId: string;
  recordId: string;
  /** The last four hex digits only. */
  card: string;
  amount: number;
  currency: number;
  reason: string | null;
  /** queued (waits for the card and the bank) → requested → authorised (token stored) → credited | failed. */
  state: RefundViewState;
  /** The card's balance after the refund was loaded. */
  balance: number | null;
  /** Why it failed, or why it waits. */
  error: { code: string; message: string } | null;
  createdAt: number;
  creditedAt: number | null;
}

export function snapshotOfRefund(r: RefundRow): RefundSnapshot {
  const code = r.topupErrorCode ?? r.errorCode;
  return {
    refundId: r.refundId,
    saleId: r.saleId,
    recordId: r.recordId,
    card: `••${r.cardId.slice(-4)}`,
    amount: r.amount,
    currency: r.currency,
    reason: r.reason,
    state: refundViewState(r),
    balance: r.balanceAfter,
    error: code ? { code, message: (r.topupErrorCode ? r.topupErrorText : r.errorText) ?? '' } : null,
    createdAt: r.createdAt,
    creditedAt: r.loadedAt,
  };
}

export interface RefundServiceOptions {
  store: HostStore;
  hub: ReaderHub;
  topups: TopupService;
  /** The bank answers now (the settlement worker's view). */
  online: () => boolean;
  saleMayUse: (reader: string) => boolean;
  log?: Log;
}

/**
 * Refund of a paid sale, full or partial (docs/host-api.md §5.8): stored first under its refund id, then
 * carried, when its card is in a reader and the bank answers, by one load of the card (the bank's POST
 * /v1/refunds answers a top-up token; TopupService stores it before LOAD). Otherwise it stays queued
 * and is applied at the card's next online contact at this counter (`check`, on every card tap and after
 * every sale, and when the bank answers again while a card stays in a reader). Never above what is left of the sale (checked here against this counter's refunds, and by
 * the bank against its ledger), never twice: one refund id, one load (loadSeq), one token.
 */
export class RefundService {
  constructor(private readonly o: RefundServiceOptions) {}

  get(refundId: string): RefundSnapshot | undefined {
    const r = this.o.store.refunds.get(refundId);
    return r && snapshotOfRefund(r);
  }

  ofSale(saleId: string): RefundSnapshot[] {
    return this.o.store.refunds.ofSale(saleId).map(snapshotOfRefund);
  }

  /** Refunds asked for in [fromMs, toMs), oldest first. */
  between(fromMs: number, toMs: number): RefundSnapshot[] {
    return this.o.store.refunds.between(fromMs, toMs).map(snapshotOfRefund);
  }

  /** Store the refund, then carry it now if its card is in a reader and the bank answers; else it stays queued. */
  async refund(req: RefundStart): Promise<RefundSnapshot> {
    const { store } = this.o;
    const q = checkRefundStart(req);
    const known = q.requestKey !== undefined ? store.refunds.byRequestKey(q.requestKey) : undefined;
    if (known) {
      if (known.saleId !== q.saleId || (q.amount !== undefined && known.amount !== q.amount))
        throw new RefundError(
          'REFUND_KEY_REUSED',
          `Idempotency-Key ${q.requestKey} was used for refund ${known.refundId} (${known.amount} of sale ${known.saleId})`,
          'use a new Idempotency-Key for each new refund',
        );
      await this.tryNow(known, q.reader);
      return this.get(known.refundId)!;
    }
    const sale = store.sale(q.saleId);
    if (!sale) throw new RefundError('REFUND_SALE_UNKNOWN', `no sale ${q.saleId}`, 'refund a sale by its id');
    const rec = sale.state === 'done' && sale.recordId ? store.queue.record(sale.recordId) : undefined;
    if (!rec || rec.status === 'rejected' || rec.status === 'held')
      throw new RefundError(
        'REFUND_NOT_PAID',
        `sale ${q.saleId} was not paid: nothing to refund`,
        'nothing to give back',
      );
    const voided = store.voids.ofSale(q.saleId);
    if ((voided && voided.state !== 'failed') || store.queue.reversalOf(rec.cardId, rec.counter))
      throw new RefundError(
        'REFUND_SALE_VOIDED',
        `sale ${q.saleId} was voided${voided?.state === 'signing' ? ' (or its void is not confirmed yet)' : ''}: nothing is left to refund`,
        voided?.state === 'signing' ? 'put the card back and finish the void first' : 'nothing to give back',
      );
    const left = rec.amount - store.refunds.promised(q.saleId);
    const amount = q.amount ?? left;
    if (amount < 1 || amount > left)
      throw new RefundError(
        'REFUND_OVER_REMAINING',
        `refund of ${amount} asked, ${left} of the sale's ${rec.amount} is left to refund`,
        left > 0 ? `refund at most ${left}` : 'the sale is refunded in full already',
      );
    const row = store.refunds.create({
      refundId: randomUUID(),
      ...(q.requestKey !== undefined ? { requestKey: q.requestKey } : {}),
      saleId: q.saleId,
      recordId: rec.recordId,
      cardId: rec.cardId,
      amount,
      currency: rec.currency,
      ...(q.reason !== undefined ? { reason: q.reason } : {}),
    });
    this.o.log?.info({ refundId: row.refundId, saleId: q.saleId, amount }, 'refund stored');
    await this.tryNow(row, q.reader);
    return this.get(row.refundId)!;
  }

  /**
   * The card in `reader` (a tap with no sale on it, or the end of a sale): carry its queued refunds and
   * finish its interrupted ones, when the bank answers. Never throws: what cannot be done now waits.
   */
  async check(reader: string): Promise<void> {
    try {
      if (!this.o.online() || this.o.saleMayUse(reader) || !this.o.hub.get(reader)?.cardPresent) return;
      const { store } = this.o;
      if (store.refunds.queued().length === 0 && !store.topups.allUnfinished().some((t) => t.method === 'refund'))
        return;
      await this.onReader(reader, undefined);
    } catch (e) {
      // The card left, the bank went, the daemon is stopping: the refund waits for the next tap.
      this.o.log?.warn({ reader, err: e instanceof Error ? e.message : String(e) }, 'refunds not applied yet');
    }
  }

  private async tryNow(row: RefundRow, reader: string | undefined): Promise<void> {
    const { hub, store } = this.o;
    if (!this.o.online()) {
      if (row.state === 'queued')
        store.refunds.note(row.refundId, 'REFUND_WAITING_BANK', 'the bank is not reachable: the refund waits');
      return;
    }
    const holding = hub.readersList().filter((r) => r.cardPresent && !this.o.saleMayUse(r.name));
    const name = reader ?? (holding.length === 1 ? holding[0]!.name : undefined);
    if (name === undefined || !hub.get(name)?.cardPresent || this.o.saleMayUse(name)) {
      if (row.state === 'queued')
        store.refunds.note(row.refundId, 'REFUND_WAITING_CARD', 'the card is not in a reader: the refund waits for it');
      return;
    }
    try {
      await this.onReader(name, row.refundId);
    } catch (e) {
      // Kept: a refund interrupted anywhere (bank answer lost, card pulled) is finished at the card's next tap.
      if (!(e instanceof TopupError || e instanceof TransportError)) throw e;
      if (store.refunds.get(row.refundId)?.state === 'queued') store.refunds.note(row.refundId, e.code, e.message);
      this.o.log?.warn({ refundId: row.refundId, code: e.code }, 'refund not finished yet');
    }
  }

  /** On the card in `reader`: its unfinished loads, then its queued refunds (only `only` when given). */
  private onReader(reader: string, only: string | undefined): Promise<void> {
    const { store, topups } = this.o;
    return withCard(this.o.hub, reader, async (r) => {
      if (this.o.saleMayUse(reader)) return;
      const session = await topups.open(r);
      await topups.finishPending(session);
      for (const q of store.refunds.queued(session.cardId)) {
        if (only !== undefined && q.refundId !== only) continue;
        await topups.refundInSession(session, reader, q.refundId);
      }
    });
  }
}

/** The request checked: a typed REFUND_INVALID (400) for anything malformed. */
export function checkRefundStart(req: RefundStart): RefundStart {
  const bad = (what: string): never => {
    throw new RefundError('REFUND_INVALID', `refund: ${what}`, 'see docs/host-api.md §5.8 for the request');
  };
  const r = req as unknown as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) bad('expected an object');
  if (typeof r['saleId'] !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(r['saleId'])) bad('saleId must be a sale id');
  const amount = r['amount'];
  if (
    amount !== undefined &&
    (!Number.isSafeInteger(amount) || (amount as number) < 1 || (amount as number) > MAX_AMOUNT)
  )
    bad('amount must be a whole number of minor units, 1 or more');
  const reason = r['reason'];
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 200))
    bad('reason must be text (200 at most)');
  const reader = r['reader'];
  if (reader !== undefined && (typeof reader !== 'string' || reader.length === 0 || reader.length > 200))
    bad('reader must be a reader name');
  const key = r['requestKey'];
  if (key !== undefined && (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)))
    bad('Idempotency-Key must be 1–255 printable characters');
  return req;
}
