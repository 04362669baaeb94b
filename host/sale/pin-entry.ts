import { CARD_STATUS, CardStatusError } from '../../protocol/commands/index.js';
import type { CardReader } from '../../protocol/transport.js';
import type { CardSession } from '../session/card-session.js';
import type { LiveSale } from './live-sale.js';
import type { SaleEvent } from './sale-machine.js';
import type { SaleTimers } from './sale-timers.js';
import { Interrupted } from './step-errors.js';

export interface PinEntryContext {
  timers: SaleTimers;
  pinMs: number;
  apply: (sale: LiveSale, e: SaleEvent) => void;
}

const blocked = () => new CardStatusError(CARD_STATUS.PIN_BLOCKED.code, 'VERIFY_PIN');

/**
 * Ask for the PIN until the card takes it. On a reader with its own pad the terminal runs VERIFY itself
 * (the PIN never reaches the host); otherwise the PIN comes from the counter page or customer display
 * (`SaleEngine.submitPin`) and is wiped as soon as the card has seen it.
 */
export async function askPin(
  c: PinEntryContext,
  sale: LiveSale,
  session: CardSession,
  reader: CardReader,
  triesLeft: number,
): Promise<void> {
  for (;;) {
    if (triesLeft === 0) throw blocked();
    const deadline = c.timers.now() + c.pinMs;
    c.apply(sale, { type: 'PIN_ASKED', triesLeft, onDevice: reader.pinPad !== undefined, deadline });
    if (reader.pinPad) {
      const outcome = await reader.pinPad.enterPin(
        { amount: sale.amount, currency: sale.currency, triesLeft, timeoutMs: c.pinMs },
        sale.abort.signal,
      );
      if (sale.abort.signal.aborted) throw sale.abort.signal.reason;
      if (outcome.result === 'verified') return;
      if (outcome.result === 'wrong') {
        triesLeft = outcome.triesLeft;
        c.apply(sale, { type: 'PIN_WRONG', triesLeft });
        continue;
      }
      if (outcome.result === 'blocked') throw blocked();
      throw new Interrupted(outcome.result === 'cancelled' ? 'cancelled' : 'timed_out');
    }
    const pin = await waitForPin(c.timers, sale, deadline);
    c.apply(sale, { type: 'PIN_SUBMITTED' });
    try {
      await session.client.verifyPin(pin);
      return;
    } catch (e) {
      if (e instanceof CardStatusError && e.statusName === 'PIN_INVALID') {
        triesLeft = e.retries ?? Math.max(0, triesLeft - 1);
        c.apply(sale, { type: 'PIN_WRONG', triesLeft });
        continue;
      }
      throw e;
    } finally {
      pin.fill(0);
    }
  }
}

/** The PIN typed for this sale, before its deadline and unless the step is aborted (cancel, card pulled). */
function waitForPin(timers: SaleTimers, sale: LiveSale, deadline: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const signal = sale.abort.signal;
    const timer = timers.setTimer(
      () => {
        cleanup();
        reject(new Interrupted('timed_out'));
      },
      Math.max(0, deadline - timers.now()),
    );
    const onAbort = () => {
      cleanup();
      reject(signal.reason);
    };
    const cleanup = () => {
      timers.clearTimer(timer);
      signal.removeEventListener('abort', onAbort);
      sale.pinWaiter = undefined;
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort);
    sale.pinWaiter = (pin) => {
      cleanup();
      resolve(pin);
    };
  });
}
