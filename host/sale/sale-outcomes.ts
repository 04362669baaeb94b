import { recordId, type SignedTxnRecord } from '../../protocol/record/index.js';
import { recordMismatchError } from '../session/card-session.js';
import type { SaleEngineEvents, SaleEngineOptions } from './engine-options.js';
import type { LiveSale } from './live-sale.js';
import { receiptOfRecord } from './receipt.js';
import { describe } from './sale-book.js';
import { payingCard, type SaleEvent } from './sale-machine.js';
import { toSaleError } from './sale-types.js';

export interface SaleOutcomeDeps {
  store: SaleEngineOptions['store'];
  online: () => boolean;
  log?: SaleEngineOptions['log'];
  live(saleId: string): LiveSale | undefined;
  apply(sale: LiveSale, e: SaleEvent): void;
  stored(e: SaleEngineEvents['stored'][0]): void;
}

/**
 * How a sale ends paid: its record committed first, then the receipt (durable first, receipt second),
 * whether the record came from this sale's card session, from the card's journal, or from another card
 * session that stored it while this sale waited for its paying card.
 */
export class SaleOutcomes {
  constructor(private readonly d: SaleOutcomeDeps) {}

  /** Durable first, receipt second: `stored` when the caller has committed the record already. */
  complete(
    sale: LiveSale,
    record: SignedTxnRecord,
    fromJournal: boolean,
    stored?: { recordId: string; already: boolean },
  ): void {
    const res =
      stored ?? this.d.store.storeRecord(record, { origin: fromJournal ? 'recovered' : 'sale', saleId: sale.saleId });
    if (!fromJournal && !res.already)
      this.d.stored({
        recordId: res.recordId,
        saleId: sale.saleId,
        amount: record.amount,
        currency: record.currency,
      });
    this.d.apply(sale, { type: 'RECORD_STORED', recordId: res.recordId, fromJournal });
    const receipt = receiptOfRecord(sale.saleId, res.recordId, record, this.d.online());
    this.d.log?.info(
      { saleId: sale.saleId, recordId: res.recordId, amount: record.amount, fromJournal },
      'sale stored',
    );
    this.d.apply(sale, { type: 'RECEIPT', receipt });
  }

  /** A live sale waiting for its paying card, whose record has just come from that card's journal elsewhere. */
  answerWaitingSale(saleId: string, record: SignedTxnRecord, mismatch: string | undefined): void {
    const sale = this.d.live(saleId);
    if (!sale || sale.state.phase !== 'waiting_card' || sale.state.claim || !payingCard(sale.state)) return;
    if (!mismatch) {
      this.complete(sale, record, true);
      return;
    }
    this.d.apply(sale, { type: 'NOT_SIGNED' });
    this.d.apply(sale, {
      type: 'STEP_FAILED',
      failure: { kind: 'fatal', error: toSaleError(recordMismatchError(mismatch)) },
      cardPresent: false,
    });
  }

  /** A sale whose answer was lost, if another card session has stored its record meanwhile: paid now (true). */
  settleIfPaid(sale: LiveSale): boolean {
    if (!payingCard(sale.state)) return false;
    const stored = this.storedRecordOf(sale);
    if (!stored || stored.mismatch) return false;
    this.complete(sale, stored.record, true, { recordId: recordId(stored.record), already: true });
    return true;
  }

  /** The record stored for a sale whose answer was lost here, if another card session stored it meanwhile. */
  storedRecordOf(sale: LiveSale): { record: SignedTxnRecord; mismatch: string | undefined } | undefined {
    try {
      const found = this.d.store.recordOfSale(sale.saleId);
      return found ? { record: found.record, mismatch: found.held ?? undefined } : undefined;
    } catch (e) {
      this.d.log?.warn({ saleId: sale.saleId, err: describe(e) }, "could not look for the sale's record");
      return undefined;
    }
  }
}
