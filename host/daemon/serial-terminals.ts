import type { SaleRequest, SerialTerminal } from '../transports/serial/index.js';
import type { SaleEngine } from '../sale/sale-engine.js';
import { FINAL_STATES, type Receipt, type SaleSnapshot, type SaleState } from '../sale/sale-types.js';
import { CardpostError } from '../../protocol/errors.js';
import { formatMoney } from './money.js';
import { isDecline } from '../errors/registry.js';
import type { Logger } from './log.js';

const PROGRESS: Partial<Record<SaleState, 'insert-card' | 'enter-pin' | 'processing'>> = {
  waiting_card: 'insert-card',
  pin: 'enter-pin',
  reading_card: 'processing',
  signing: 'processing',
};

export function receiptLines(r: Receipt): string[] {
  return [
    `Merchant ${r.merchantId}`,
    `Terminal ${r.terminalId}`,
    new Date(r.time * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
    `Card ${r.card}`,
    `Amount ${formatMoney(r.amount, r.currency)}`,
    r.pinVerified ? 'PIN verified' : 'No PIN',
    `Balance ${formatMoney(r.balanceAfter, r.currency)}`,
    `Record ${r.recordId}`,
    r.online ? 'Paid' : 'Paid - settles when back online',
  ];
}

/**
 * The daemon's glue between a serial POS terminal and the sale engine: a sale keyed on the terminal
 * runs through the same engine, on the terminal's own slot (found by the serial ReaderSource,
 * `host/transports/serial/serial-source.ts`; the PIN goes to its own pad). The sale's request key is
 * the terminal's (serial, requestId), stored with the sale, so a request the terminal re-sends after
 * a daemon restart finds the sale it started instead of charging again. Progress and the receipt
 * lines go back to the terminal.
 */
export function attachSerialTerminal(o: { terminal: SerialTerminal; engine: SaleEngine; log: Logger }): () => void {
  const { terminal, engine, log } = o;
  const onSale = (req: SaleRequest) =>
    void serveSale(req).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'terminal sale failed'));
  const serveSale = async (req: SaleRequest) => {
    let sale: SaleSnapshot;
    try {
      // A sale keyed before the HELLO/INFO exchange finished carries no serial yet: wait for it, since
      // the serial is half of the durable key that keeps a re-sent request from charging twice.
      const serial = req.terminalSerial || (await terminal.whenConnected(10_000)).serial;
      sale = engine.start({
        amount: req.amount,
        currency: req.currency,
        reader: terminal.cardReader.name,
        requestKey: `terminal:${serial}:${req.requestId}`,
      });
    } catch (e) {
      const err = e instanceof CardpostError ? e : undefined;
      req.respond({ outcome: 'declined', message: (err?.message ?? 'sale refused').slice(0, 60) });
      return;
    }
    const final = await new Promise<SaleSnapshot>((resolve) => {
      const onUpdate = (s: SaleSnapshot) => {
        if (s.saleId !== sale.saleId) return;
        const progress = PROGRESS[s.state];
        if (progress) void req.status(progress).catch(() => undefined);
        if (FINAL_STATES.has(s.state)) {
          engine.off('sale', onUpdate);
          resolve(s);
        }
      };
      engine.on('sale', onUpdate);
      req.signal.addEventListener(
        'abort',
        () => {
          try {
            engine.cancel(sale.saleId);
          } catch {
            /* signing: it finishes */
          }
        },
        { once: true },
      );
      onUpdate(engine.get(sale.saleId) ?? sale);
    });
    if (final.state === 'done' && final.receipt) {
      req.respond({
        outcome: 'approved',
        message: `Paid ${formatMoney(final.receipt.amount, final.receipt.currency)}`,
        receiptId: final.receipt.recordId,
        receipt: receiptLines(final.receipt),
      });
    } else if (final.state === 'unconfirmed') {
      req.respond({ outcome: 'unconfirmed', message: 'Card may have paid: insert it again' });
    } else if (final.state === 'cancelled' || final.state === 'timed_out') {
      req.respond({ outcome: 'cancelled', message: final.state === 'timed_out' ? 'Timed out' : 'Cancelled' });
    } else {
      const code = final.error?.code ?? 'FAILED';
      req.respond({
        outcome: isDecline(code) ? 'declined' : 'failed',
        message: (final.error?.message ?? code).slice(0, 60),
      });
    }
  };
  // A sale the terminal did not key (the counter named its reader) ran on its slot and pad, whose last words were
  // "Enter PIN": show how it ended, once, so the display never stays on a prompt for a sale that is over.
  const shown = new Set<string>();
  const onAnySale = (s: SaleSnapshot) => {
    if (!FINAL_STATES.has(s.state) || s.reader !== terminal.cardReader.name) return;
    if (s.requestKey?.startsWith('terminal:') || shown.has(s.saleId)) return;
    shown.add(s.saleId);
    if (shown.size > 64) shown.delete(shown.values().next().value!);
    void terminal
      .display(outcomeLines(s))
      .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'terminal display after a sale failed'));
  };
  terminal.on('saleRequest', onSale);
  engine.on('sale', onAnySale);
  return () => {
    terminal.off('saleRequest', onSale);
    engine.off('sale', onAnySale);
  };
}

/** How a sale ended, for a terminal's display (short lines: a display may have 16 columns). */
export function outcomeLines(s: SaleSnapshot): string[] {
  switch (s.state) {
    case 'done':
      return ['Paid / 已付款', formatMoney(s.amount, s.currency)];
    case 'cancelled':
      return ['Cancelled / 已取消'];
    case 'timed_out':
      return ['Timed out / 已超时'];
    case 'unconfirmed':
      return ['May have paid', '可能已付款', 'Insert card again'];
    default:
      return [isDecline(s.error?.code ?? '') ? 'Declined / 已拒绝' : 'Failed / 失败'];
  }
}
