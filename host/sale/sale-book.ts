import { CardpostError } from '../../protocol/errors.js';
import { recordId } from '../../protocol/record/index.js';
import type { HostStore, SaleRow } from '../store/host-store.js';
import { errorInfo } from '../errors/registry.js';
import { receiptOfQueued } from './receipt.js';
import { RECOVERED_NOTICE } from './sale-machine.js';
import { FINAL_STATES, unconfirmedError, type SaleError, type SaleSnapshot, type SaleState } from './sale-types.js';

type Log = { warn(o: object, msg: string): void };

/** At most this many sales are kept in memory while the queue database refuses writes. */
const MAX_UNSAVED = 1000;

/**
 * The sales table, written behind the live sale. A sale's state is bookkeeping (its record is what pays,
 * committed on its own, and the signing mark before it): a locked or full queue database, or one closed at
 * shutdown, must not crash the daemon. A state that could not be written is kept here until a write goes
 * through, so the sale reads as it is, not as its stale row.
 */
export class SaleBook {
  private readonly unsaved = new Map<string, { snap: SaleSnapshot; signCardId: string | undefined }>();

  constructor(
    private readonly o: { store: HostStore; log?: Log; isLive: (saleId: string) => boolean; closed: () => boolean },
  ) {}

  /** Write a sale's latest state (and the card SIGN_TXN went to, if its answer is out). */
  save(snap: SaleSnapshot, signCardId: string | undefined): void {
    if (this.write(snap, signCardId)) {
      this.unsaved.delete(snap.saleId);
      this.retryUnsaved();
      return;
    }
    this.unsaved.set(snap.saleId, { snap: { ...snap }, signCardId });
    if (this.unsaved.size > MAX_UNSAVED) this.unsaved.delete(this.unsaved.keys().next().value!);
  }

  /** A sale settled by another path (journal recovery wrote its row): its unsaved state is stale. */
  forget(saleId: string): void {
    this.unsaved.delete(saleId);
  }

  /** A sale that is not live: its unsaved state, else its row. */
  get(saleId: string): SaleSnapshot | undefined {
    const u = this.unsaved.get(saleId);
    if (u) return { ...u.snap };
    const row = this.o.store.sale(saleId);
    return row ? this.fromRow(row) : undefined;
  }

  byRequestKey(key: string): SaleSnapshot | undefined {
    for (const u of this.unsaved.values()) if (u.snap.requestKey === key) return { ...u.snap };
    const row = this.o.store.saleByRequestKey(key);
    return row ? this.fromRow(row) : undefined;
  }

  private write(snap: SaleSnapshot, signCardId: string | undefined): boolean {
    try {
      this.o.store.updateSale(snap.saleId, {
        state: snap.state,
        ...(snap.reader !== null ? { reader: snap.reader } : {}),
        ...(snap.receipt ? { recordId: snap.receipt.recordId, paidOnline: snap.receipt.online } : {}),
        ...(snap.error ? { errorCode: snap.error.code, errorText: snap.error.message } : {}),
        ...(signCardId !== undefined ? { signCardId } : {}),
      });
      return true;
    } catch (e) {
      if (!this.o.closed())
        this.o.log?.warn({ saleId: snap.saleId, state: snap.state, err: describe(e) }, 'sale state not saved yet');
      return false;
    }
  }

  private retryUnsaved(): void {
    for (const [saleId, u] of this.unsaved) {
      if (this.o.isLive(saleId)) continue; // a live sale writes its own next state
      if (!this.write(u.snap, u.signCardId)) return;
      this.unsaved.delete(saleId);
    }
  }

  /** A sale read back from its row: the sale as it ended, or as the daemon left it when it stopped. */
  fromRow(row: SaleRow): SaleSnapshot {
    const store = this.o.store;
    if (row.state === 'unconfirmed' || !FINAL_STATES.has(row.state as SaleState)) {
      // Its record committed but the state after it was lost (the daemon stopped, the state write
      // failed): the record decides. A held record is not this sale's payment.
      const paid = store.recordOfSale(row.saleId);
      if (paid && paid.held === null) {
        row = {
          ...row,
          state: 'done',
          recordId: recordId(paid.record),
          errorCode: RECOVERED_NOTICE.code,
          errorText: RECOVERED_NOTICE.message,
        };
      }
    }
    const rec = row.recordId ? store.record(row.recordId) : undefined;
    const final = FINAL_STATES.has(row.state as SaleState);
    // A sale that was live when the daemon stopped did not finish here. If SIGN_TXN had gone out the
    // card may have paid (unconfirmed); a signed record comes back by recovery and makes it done.
    const unsure = !final && (row.signCardId !== null || row.state === 'signing' || row.state === 'stored');
    const stored = (code: string): SaleError =>
      code === 'SALE_UNCONFIRMED'
        ? unconfirmedError(row.errorText ?? '')
        : { code, message: row.errorText ?? '', hint: errorInfo(code).advice }; // the registry's advice (docs/errors.md)
    return {
      saleId: row.saleId,
      requestKey: row.requestKey,
      amount: row.amount,
      currency: row.currency,
      reader: row.reader,
      state: final ? (row.state as SaleState) : unsure ? 'unconfirmed' : 'failed',
      pinTriesLeft: null,
      pinOnDevice: false,
      deadline: null,
      // A sale completed by journal recovery keeps why as a notice, not an error.
      notice:
        row.state === 'done' && row.errorCode ? { code: row.errorCode, message: row.errorText ?? '', hint: '' } : null,
      receipt: rec ? receiptOfQueued(row.saleId, rec, row.paidOnline === 1) : null,
      error:
        row.state === 'done'
          ? null
          : final
            ? row.errorCode
              ? stored(row.errorCode)
              : null
            : unsure
              ? unconfirmedError('the daemon stopped while the card was paying: the card may have paid')
              : {
                  code: 'SALE_INTERRUPTED',
                  message: 'the daemon stopped during this sale',
                  hint: 'if the card was asked to pay, its record comes back the next time the card is used here and the sale turns paid',
                },
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }
}

export function describe(e: unknown): string {
  return e instanceof CardpostError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}
