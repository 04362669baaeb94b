/**
 * What the counter knows of its receipt printer (GET /api/v1/status `printer`, the SSE `printer` event).
 * - `ready`: answers, paper in, cover shut.
 * - `paper-out`: the roll is empty (ESC/POS paper-end sensor).
 * - `cover-open`: the cover is open.
 * - `error`: the printer reports a fault (cutter jam, head too hot) or holds itself offline.
 * - `offline`: no answer to status requests (switched off, unplugged, wrong port or baud rate).
 */
export type PrinterState = 'ready' | 'paper-out' | 'cover-open' | 'error' | 'offline';

/** Why a printer is not ready or a receipt did not print: a registered code (host/errors/codes-printer.ts), what happened, what to do. */
export interface PrinterProblem {
  code: string;
  message: string;
  hint: string;
}

/**
 * One receipt on its way to paper:
 * `queued` (waiting for the printer) → `printing` → `printed`; `interrupted` when the paper ran out in the
 * middle (the printer keeps the rest and finishes it once paper is in); `failed` when it was given up
 * (the merchant reprints it).
 */
export type PrintJobState = 'queued' | 'printing' | 'interrupted' | 'printed' | 'failed';

export interface PrintJobView {
  jobId: string;
  saleId: string | null;
  recordId: string | null;
  /** The sale's amount (minor units) and currency, so the merchant knows which receipt; null for free lines. */
  amount: number | null;
  currency: number | null;
  /** A reprint ("副本 / COPY"). */
  copy: boolean;
  state: PrintJobState;
  /** ms since the epoch. */
  queuedAt: number;
  updatedAt: number;
  /** Why it waits or was given up; null while all is well. */
  problem: PrinterProblem | null;
}

export interface PrinterStatus {
  /** The printer's serial device (config `printer.path`). */
  path: string;
  state: PrinterState;
  /** The paper-near-end sensor: the roll is nearly used up. */
  paperLow: boolean;
  /** Since when (ms since the epoch) the printer is in this state. */
  since: number;
  /** Why it is not ready; null when ready. */
  problem: PrinterProblem | null;
  /** Receipts waiting for the printer or being printed. */
  waiting: number;
  /** Receipts not (yet) printed, newest first: waiting, printing, interrupted, and given up (`failed`: reprint them). */
  jobs: PrintJobView[];
  /** Receipts printed since the daemon started. */
  printed: number;
}

/** One line of a receipt as the layout gives it (receipt-layout.ts); `wide` is double width, `large` double width and height. */
export interface ReceiptLine {
  text: string;
  /** Right-hand value of a "label … value" line. */
  value?: string;
  size?: 'normal' | 'wide' | 'large';
  align?: 'left' | 'center' | 'right';
  bold?: boolean;
  /** A dashed rule across the paper (the text is not printed). */
  rule?: boolean;
}
