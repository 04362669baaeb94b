import type { CardReader } from '../../protocol/transport.js';
import type { SaleEngineOptions } from './engine-options.js';
import { snapshotOf, signCardOf, type LiveSale } from './live-sale.js';
import { describe, type SaleBook } from './sale-book.js';
import type { SaleEffect, SaleEvent } from './sale-machine.js';
import type { SaleTimers } from './sale-timers.js';
import type { SaleSnapshot } from './sale-types.js';
import { Interrupted } from './step-errors.js';

/** What carrying out the machine's effects needs from the engine. */
export interface EffectHost {
  timers: SaleTimers;
  book: SaleBook;
  log?: SaleEngineOptions['log'];
  closed(): boolean;
  emitSale(snap: SaleSnapshot): void;
  apply(sale: LiveSale, e: SaleEvent): void;
  settleIfPaid(sale: LiveSale): boolean;
  readerOf(sale: LiveSale): CardReader | undefined;
  runSale(sale: LiveSale, reader: CardReader): void;
  /** Out of the live set, its reader free. */
  release(saleId: string): void;
}

/**
 * The engine's hands: what the pure machine (sale-machine.ts) asks to be done, done — state saved and
 * shown, timers armed and disarmed, a card step aborted, the sale released — and a timer's work never
 * an uncaught exception.
 */
export class EffectRunner {
  constructor(private readonly h: EffectHost) {}

  /** Carry out one effect the machine asked for. */
  run(sale: LiveSale, x: SaleEffect): void {
    switch (x.kind) {
      case 'show': {
        sale.updatedAt = this.h.timers.now();
        const snap = snapshotOf(sale);
        this.h.book.save(snap, signCardOf(sale));
        if (!this.h.closed()) this.h.emitSale(snap);
        return;
      }
      case 'disarm':
        this.disarm(sale);
        return;
      case 'arm': {
        const ms = x.at - this.h.timers.now();
        if (x.timer === 'card') {
          sale.cardTimer = this.h.timers.setTimer(
            () =>
              this.guarded(sale, () => {
                if (sale.state.phase !== 'waiting_card' || sale.state.claim || !this.h.settleIfPaid(sale))
                  this.h.apply(sale, { type: 'CARD_TIME_UP' });
              }),
            ms,
          );
        } else {
          sale.retryTimer = this.h.timers.setTimer(
            () =>
              this.guarded(sale, () => {
                sale.retryTimer = undefined;
                this.h.apply(sale, { type: 'RETRY_DUE', cardPresent: this.h.readerOf(sale)?.cardPresent === true });
              }),
            ms,
          );
        }
        return;
      }
      case 'abort':
        sale.abort.abort(new Interrupted(x.why));
        return;
      case 'renew_abort':
        sale.abort = new AbortController();
        return;
      case 'release':
        this.h.release(sale.saleId);
        return;
      case 'try_card': {
        const reader = this.h.readerOf(sale);
        if (reader) this.h.runSale(sale, reader);
        return;
      }
      case 'log_failure':
        this.h.log?.warn({ saleId: sale.saleId, code: x.error.code, err: x.error.message }, 'sale failed');
        return;
    }
  }

  /**
   * A timer's work, never an uncaught exception (the queue file locked or closed). If it fails, the sale
   * is taken out of the live set so the reader is free again; its row and record say where it stood.
   */
  guarded(sale: LiveSale, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.disarm(sale);
      this.h.release(sale.saleId);
      this.h.log?.warn({ saleId: sale.saleId, err: describe(e) }, 'sale step failed; the sale is left as stored');
    }
  }

  disarm(sale: LiveSale): void {
    if (sale.cardTimer) this.h.timers.clearTimer(sale.cardTimer);
    if (sale.retryTimer) this.h.timers.clearTimer(sale.retryTimer);
    sale.cardTimer = undefined;
    sale.retryTimer = undefined;
  }
}
