import { PRINTER } from '../errors/codes-printer.js';
import type { PrinterProblem, PrinterState } from './printer-types.js';

/**
 * What the merchant is told about the printer and about a receipt that did not print: a registered code
 * (host/errors/codes-printer.ts), what happened, and what to do (the registry's advice).
 */
const problem = (code: keyof typeof PRINTER & string, message: string): PrinterProblem => ({
  code,
  message,
  hint: PRINTER[code]!.advice,
});

/** Why a printer in `state` is not ready (null when it is). */
export function stateProblem(state: PrinterState, path: string, detail?: string): PrinterProblem | null {
  switch (state) {
    case 'ready':
      return null;
    case 'offline':
      return problem(
        'PRINTER_OFFLINE',
        `the receipt printer on ${path} does not answer${detail ? ` (${detail})` : ''}`,
      );
    case 'paper-out':
      return problem('PRINTER_PAPER_OUT', 'the receipt printer is out of paper');
    case 'cover-open':
      return problem('PRINTER_COVER_OPEN', "the receipt printer's cover is open");
    case 'error':
      return problem(
        'PRINTER_FAULT',
        'the receipt printer reports a fault (cutter, head temperature) or holds itself offline',
      );
  }
}

export type JobFailure = 'encode' | 'full' | 'held' | 'lost' | 'unconfirmed' | 'interrupted';

/** Why a receipt waits (`interrupted`) or was given up (the rest): what the status says of it. */
export function jobFailure(kind: JobFailure, arg: string, cause?: PrinterProblem | null): PrinterProblem {
  const why = cause ? `: ${cause.message}` : '';
  switch (kind) {
    case 'encode':
      return problem('RECEIPT_NOT_PRINTED', `receipt not printed: it could not be laid out (${arg})`);
    case 'full':
      return problem('RECEIPT_NOT_PRINTED', `receipt not printed: over ${arg} receipts were waiting for the printer`);
    case 'held':
      return problem('RECEIPT_NOT_PRINTED', `receipt not printed: the printer was not ready for ${arg} minutes${why}`);
    case 'lost':
      return problem(
        'RECEIPT_NOT_PRINTED',
        `receipt not printed: the printer stopped answering while printing it, it may be missing or cut short${why}`,
      );
    case 'unconfirmed':
      return problem(
        'RECEIPT_NOT_PRINTED',
        `receipt not printed: the printer did not confirm it within ${Number(arg) / 1000} s; it may be missing`,
      );
    case 'interrupted':
      return {
        ...(cause ?? problem('PRINTER_PAPER_OUT', 'the receipt printer is out of paper')),
        message: `the printer stopped in the middle of this receipt${why}; it finishes it once it is ready`,
      };
  }
}
