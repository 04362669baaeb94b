import { randomBytes, randomUUID } from 'node:crypto';
import { CardpostError } from '../../protocol/errors.js';
import { CardStatusError, reversalAnswersRequest, type VoidTxnRequest } from '../../protocol/commands/index.js';
import { recordId as recordIdOf, type SignedTxnRecord } from '../../protocol/record/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import { withCard } from '../sale/card-opening.js';
import type { CardSession } from '../session/card-session.js';
import type { HostStore } from '../store/host-store.js';
import type { VoidRow, VoidState } from '../store/voids.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

/** A refused or interrupted void, with its code in host/errors/codes-money-back.ts (`VOID_*`). */
export class VoidError extends CardpostError {
  constructor(
    code: string,
    message: string,
    hint: string,
    readonly voidId?: string,
  ) {
    super(code, message, hint);
  }
}

/** A void as the API and the CLI show it. */
export interface VoidSnapshot {
  voidId: string;
  saleId: string;
  state: VoidState;
  /** The last four hex digits only. */
  card: string;
  amount: number;
  currency: number;
  /** The sale's record, and the card's reversal of it once stored. */
  recordId: string;
  reversalId: string | null;
  error: { code: string; message: string } | null;
  createdAt: number;
  updatedAt: number;
}

export const snapshotOfVoid = (v: VoidRow): VoidSnapshot => ({
  voidId: v.voidId,
  saleId: v.saleId,
  state: v.state,
  card: `••${v.cardId.slice(-4)}`,
  amount: v.amount,
  currency: v.currency,
  recordId: v.recordId,
  reversalId: v.reversalId,
  error: v.errorCode ? { code: v.errorCode, message: v.errorText ?? '' } : null,
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
});

/** A void just done, as the customer display shows it: the amount back and the card's new balance. */
export interface LatestVoid {
  voidId: string;
  card: string;
  amount: number;
  currency: number;
  balance: number;
  voidedAt: number;
}

export interface VoidServiceOptions {
  store: HostStore;
  hub: ReaderHub;
  /** Open the card outside any sale: journal recovery (a reversal whose answer was lost is stored then). */
  open: (reader: CardReader) => Promise<CardSession>;
  /** A sale or another card service may use this reader. */
  saleMayUse: (reader: string) => boolean;
  /** A record was stored (the settlement worker is told). */
  recordStored?: () => void;
  now?: () => number;
  log?: Log;
  /** Test hook: called once the void and its nonce are durable, before VOID_TXN (throw: the daemon dies there). */
  afterVoidStored?: (voidId: string) => void;
  /** Test hook: called once the card answered VOID_TXN, before its reversal is stored. */
  afterVoidSigned?: (voidId: string) => void;
}

/**
 * Void of a sale while its card is at the counter (docs/host-api.md §5.8, docs/protocol.md §4.9): the card
 * signs a reversal of its last sale — as long as it has signed and loaded nothing since — and gives the
 * amount back. The reversal settles with or after the sale (the bank nets them), so a sale the settlement
 * worker has already sent can still be voided while the card allows it. The void row and its nonce are on disk before VOID_TXN is sent, so an answer lost anywhere (card
 * pulled, daemon killed) is asked again identically (the card answers the same reversal) or found in the
 * card's journal by its nonce at the card's next session; never signed twice (the card voids a sale once).
 */
export class VoidService {
  private readonly now: () => number;

  constructor(private readonly o: VoidServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The sale's void, with a void whose reversal was stored meanwhile (by journal recovery) marked voided. */
  ofSale(saleId: string): VoidSnapshot | undefined {
    const v = this.o.store.voids.ofSale(saleId);
    return v && snapshotOfVoid(this.resolve(v));
  }

  /**
   * The newest void done (asked and voided) within `withinMs`, with the card's balance after its reversal:
   * the customer display's new-balance screen (GET /api/v1/topups/latest). Card masked.
   */
  latest(withinMs: number): LatestVoid | undefined {
    const now = this.now();
    const done = this.o.store.voids
      .between(now - withinMs, now + 1)
      .filter((v) => v.state === 'voided' && v.reversalId !== null && now - v.updatedAt < withinMs)
      .sort((a, b) => b.updatedAt - a.updatedAt)[0];
    const reversal = done && this.o.store.queue.record(done.reversalId!);
    if (!done || !reversal) return undefined;
    return {
      voidId: done.voidId,
      card: `••${done.cardId.slice(-4)}`,
      amount: done.amount,
      currency: done.currency,
      balance: reversal.balanceAfter,
      voidedAt: done.updatedAt,
    };
  }

  /** Void the sale `saleId` with its card in `reader` (or the one reader holding a card). */
  async void(saleId: string, reader?: string): Promise<VoidSnapshot> {
    const { store } = this.o;
    if (typeof saleId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(saleId))
      throw new VoidError('VOID_INVALID', 'void: the sale id is not one', 'name the sale by its id');
    const known = store.voids.ofSale(saleId);
    if (known) {
      const v = this.resolve(known);
      if (v.state === 'voided') return snapshotOfVoid(v);
      if (v.state === 'failed')
        throw new VoidError(
          'VOID_REFUSED',
          `sale ${saleId} could not be voided: ${v.errorText ?? v.errorCode ?? ''}`,
          'nothing was given back; refund the sale instead',
          v.voidId,
        );
    }
    const sale = store.sale(saleId);
    if (!sale) throw new VoidError('VOID_SALE_UNKNOWN', `no sale ${saleId}`, 'void a sale by its id');
    const rec = sale.state === 'done' && sale.recordId ? store.queue.record(sale.recordId) : undefined;
    if (!known) {
      if (!rec || rec.status === 'rejected' || rec.status === 'held')
        throw new VoidError('VOID_NOT_PAID', `sale ${saleId} was not paid: nothing to void`, 'nothing to give back');
      if (store.refunds.promised(saleId) > 0)
        throw new VoidError('VOID_REFUNDED', `sale ${saleId} was refunded already`, 'refund the rest instead');
    }
    const name = this.readerFor(reader);
    return withCard(this.o.hub, name, async (r) => {
      const session = await this.o.open(r);
      const cardId = known?.cardId ?? rec!.cardId;
      if (session.cardId !== cardId)
        throw new VoidError(
          'VOID_WRONG_CARD',
          `sale ${saleId} was paid by card ••${cardId.slice(-4)}, the reader holds ••${session.cardId.slice(-4)}`,
          'put the card that paid the sale in the reader',
        );
      const row =
        known ??
        store.voids.create({
          voidId: randomUUID(),
          saleId,
          recordId: rec!.recordId,
          cardId,
          counter: rec!.counter,
          amount: rec!.amount,
          currency: rec!.currency,
          merchantId: rec!.merchantId,
          terminalId: rec!.terminalId,
          requestTime: Math.floor(this.now() / 1000),
          hostNonce: Uint8Array.from(randomBytes(16)),
        });
      this.o.afterVoidStored?.(row.voidId);
      return snapshotOfVoid(await this.finish(session, row));
    });
  }

  /** A `signing` void whose reversal is stored (the card answered, or journal recovery found it) is voided. */
  private resolve(v: VoidRow): VoidRow {
    if (v.state !== 'signing') return v;
    const found = this.o.store.queue.reversalOf(v.cardId, v.counter);
    if (!found) return v;
    this.o.store.voids.markVoided(v.voidId, found.recordId);
    return this.o.store.voids.get(v.voidId)!;
  }

  private async finish(session: CardSession, row: VoidRow): Promise<VoidRow> {
    const { store } = this.o;
    const resolved = this.resolve(row);
    if (resolved.state !== 'signing') return resolved;
    const q: VoidTxnRequest = {
      counter: row.counter,
      amount: row.amount,
      merchantId: row.merchantId,
      terminalId: row.terminalId,
      time: row.requestTime,
      hostNonce: row.hostNonce,
    };
    let envelope: Uint8Array;
    try {
      envelope = await session.client.voidTxn(q);
    } catch (e) {
      if (e instanceof TransportError) {
        store.voids.note(row.voidId, 'VOID_INTERRUPTED', e.message);
        throw new VoidError(
          'VOID_INTERRUPTED',
          `the card left the reader before void ${row.voidId} was confirmed`,
          'put the card back and void again: the same void is asked again, never twice',
          row.voidId,
        );
      }
      if (!(e instanceof CardStatusError)) throw e;
      // Final: the card only ever loses the right to void a sale (a later record or load), never regains it.
      store.voids.markFailed(row.voidId, e.code, e.message);
      if (e.statusName === 'VOID_NOT_ALLOWED')
        throw new VoidError(
          'VOID_TOO_LATE',
          `the card can no longer void sale ${row.saleId}: it has paid or been topped up since`,
          `nothing was given back: refund it instead (cardpost refund --sale ${row.saleId})`,
          row.voidId,
        );
      throw new VoidError('VOID_REFUSED', `the card refused the void: ${e.message}`, e.hint, row.voidId);
    }
    this.o.afterVoidSigned?.(row.voidId);
    // The reversal continues the card's chain where this host holds it: at the sale (the card voids only its last record).
    let record: SignedTxnRecord;
    try {
      record = session.checkRecord(envelope, store.cardHead(row.cardId));
    } catch (e) {
      const err = e instanceof CardpostError ? e : new VoidError('VOID_REFUSED', String(e), 'report the card');
      store.voids.markFailed(row.voidId, err.code, err.message);
      throw err;
    }
    const mismatch = reversalAnswersRequest(record, q);
    store.storeRecord(record, {
      origin: 'sale',
      ...(mismatch ? { hold: { reason: 'RECORD_MISMATCH', detail: mismatch } } : {}),
    });
    this.o.recordStored?.();
    if (mismatch) {
      store.voids.markFailed(row.voidId, 'RECORD_MISMATCH', mismatch);
      throw new VoidError(
        'VOID_REFUSED',
        `the card's reversal does not answer the void: ${mismatch}`,
        'report the card',
      );
    }
    store.voids.markVoided(row.voidId, recordIdOf(record));
    this.o.log?.info({ voidId: row.voidId, saleId: row.saleId, reversal: recordIdOf(record) }, 'sale voided');
    return store.voids.get(row.voidId)!;
  }

  private readerFor(name: string | undefined): string {
    const { hub } = this.o;
    if (name !== undefined) {
      if (!hub.get(name))
        throw new VoidError('READER_UNKNOWN', `no reader named "${name}" is connected`, 'list the readers');
    } else {
      const holding = hub.readersList().filter((r) => r.cardPresent);
      if (holding.length !== 1)
        throw new VoidError(
          holding.length === 0 ? 'VOID_NO_CARD' : 'VOID_READER_REQUIRED',
          holding.length === 0 ? 'no reader holds a card' : 'several readers hold a card',
          holding.length === 0 ? "put the sale's card in the reader" : 'name the reader (--reader NAME)',
        );
      name = holding[0]!.name;
    }
    if (this.o.saleMayUse(name))
      throw new VoidError('READER_BUSY', `a sale is using ${name}`, 'finish or cancel the sale first');
    if (!hub.get(name)!.cardPresent)
      throw new VoidError('VOID_NO_CARD', `no card in ${name}`, "put the sale's card in the reader");
    return name;
  }
}
