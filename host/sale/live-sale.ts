import { payingCard, shownFields, type SaleMachineState } from './sale-machine.js';
import type { TimerHandle } from './sale-timers.js';
import type { SaleSnapshot } from './sale-types.js';

/** A sale in progress: its fixed facts, its machine state, and the handles the engine runs it with. */
export interface LiveSale {
  readonly saleId: string;
  readonly requestKey: string | null;
  readonly amount: number;
  readonly currency: number;
  readonly nonce: Uint8Array;
  /** The record time the card is asked to sign (Unix seconds), fixed at the start: every try signs the same request. */
  readonly time: number;
  readonly createdAt: number;
  updatedAt: number;
  state: SaleMachineState;
  /** Stops the card step in flight (cancel, a pull during PIN entry, shutdown). */
  abort: AbortController;
  cardTimer?: TimerHandle;
  retryTimer?: TimerHandle;
  /** Resolves the PIN wait with the PIN typed at the counter page or customer display. */
  pinWaiter?: (pin: Uint8Array) => void;
}

export function snapshotOf(sale: LiveSale): SaleSnapshot {
  return {
    saleId: sale.saleId,
    requestKey: sale.requestKey,
    amount: sale.amount,
    currency: sale.currency,
    ...shownFields(sale.state),
    createdAt: sale.createdAt,
    updatedAt: sale.updatedAt,
  };
}

export const signCardOf = (sale: LiveSale): string | undefined => payingCard(sale.state)?.cardId;
