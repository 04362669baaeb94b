/** The simulated ESC/POS receipt printer (docs/daemon.md §3 "Receipt printer") and its decoder. */
export { SimPrinter } from './sim-printer.js';
export type { SimPrinterOptions, SimPrinterEvents, PrintedReceipt } from './sim-printer.js';
export { EscPosDecoder, MAX_LINE_BYTES } from './escpos-decoder.js';
export type { DecodedEvent, PrintedLine, PrintedSegment } from './escpos-decoder.js';
export { receiptFacts } from './receipt-facts.js';
export type { ReceiptFacts } from './receipt-facts.js';
