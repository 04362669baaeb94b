import type { ReaderInfo } from '../readers/reader-hub.js';
import type { SaleSnapshot } from '../sale/sale-types.js';
import type { ReceiptPrinter } from './receipt-printer.js';

/** The few things the glue needs of the sale engine and the reader hub. */
interface SaleSource {
  on(event: 'sale', l: (s: SaleSnapshot) => void): unknown;
  off(event: 'sale', l: (s: SaleSnapshot) => void): unknown;
}

/** Sales seen, remembered so a sale shown `done` twice prints once. */
const SEEN = 1000;

/**
 * The daemon's glue between the sale engine and the receipt printer: a sale that turns `done` (its
 * signed record is already durable: the engine shows `done` only after the store took it) gets its
 * receipt queued, on the next turn of the event loop, so printing never holds up the sale. A sale on a
 * serial POS terminal is left out: the terminal prints its own receipt. Returns the detach function.
 */
export function attachReceiptPrinter(o: {
  engine: SaleSource;
  printer: ReceiptPrinter;
  readerInfo: (name: string) => ReaderInfo | undefined;
}): () => void {
  const seen = new Set<string>();
  const onSale = (s: SaleSnapshot) => {
    if (s.state !== 'done' || !s.receipt || seen.has(s.saleId)) return;
    seen.add(s.saleId);
    if (seen.size > SEEN) seen.delete(seen.values().next().value!);
    if (s.reader && o.readerInfo(s.reader)?.kind === 'serial-terminal') return;
    const receipt = s.receipt;
    setImmediate(() => o.printer.printReceipt(receipt));
  };
  o.engine.on('sale', onSale);
  return () => o.engine.off('sale', onSale);
}
