/**
 * The counter's ESC/POS receipt printer (docs/daemon.md §3 "Receipt printer"): config, receipt layout in
 * zh-CN and English, encoding, the status commands, the serial link and the print queue.
 */
export { ReceiptPrinter } from './receipt-printer.js';
export type { ReceiptPrinterOptions, PrintOptions } from './receipt-printer.js';
export { printerConfigSchema } from './printer-config.js';
export type { PrinterConfig, PrinterCodepage } from './printer-config.js';
export { receiptLayout, shopTime, printedMoney } from './receipt-layout.js';
export { encodeReceipt, receiptMarkup } from './escpos-encoder.js';
export { attachReceiptPrinter } from './attach-printer.js';
export type {
  PrinterState,
  PrinterStatus,
  PrinterProblem,
  PrintJobState,
  PrintJobView,
  ReceiptLine,
} from './printer-types.js';
