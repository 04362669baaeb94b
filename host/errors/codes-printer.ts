import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/**
 * The receipt printer (host/printer): its states as the status shows them, and why a receipt did not
 * print. None of them ever fails or holds up a sale: the sale is stored before anything is printed.
 */
export const PRINTER: Record<string, ErrorDef> = {
  PRINTER_OFFLINE: def(
    null,
    'unavailable',
    "check the printer's power and cable and that printer.path names its port (and baudRate its speed); waiting receipts print once it answers",
  ),
  PRINTER_PAPER_OUT: def(
    null,
    'unavailable',
    'put in a new paper roll and close the cover; waiting receipts print by themselves',
  ),
  PRINTER_COVER_OPEN: def(null, 'unavailable', "close the printer's cover; waiting receipts print by themselves"),
  PRINTER_FAULT: def(
    null,
    'unavailable',
    'clear the paper path or cutter and let the head cool, or switch the printer off and on; waiting receipts print once it is ready',
  ),
  RECEIPT_NOT_PRINTED: def(
    null,
    'notice',
    'the sale is paid and stored: reprint the receipt from the sales history once the printer is ready',
  ),
  PRINTER_NOT_CONFIGURED: def(
    409,
    'unavailable',
    'set printer.path in the daemon config (docs/daemon.md §3) and restart the daemon',
  ),
};
