import type { PrintedReceipt } from './sim-printer.js';

/** What a QA script checks a printed receipt against its sale with. */
export interface ReceiptFacts {
  /** The sale id printed on it (a UUID), if any. */
  saleId: string | undefined;
  /** The text printed large (double width and height): the amount, e.g. "￥12.34". */
  large: string[];
  /** A reprint: "副本 / COPY" or "COPY" on it. */
  copy: boolean;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** Read back the facts of a receipt the simulated printer decoded (scripted days, QA reports). */
export function receiptFacts(r: PrintedReceipt): ReceiptFacts {
  return {
    saleId: UUID.exec(r.text)?.[0],
    large: r.lines.flatMap((l) => l.segments.filter((s) => s.width >= 2 && s.height >= 2).map((s) => s.text.trim())),
    copy: /(^|\n)\s*(副本 \/ )?COPY\s*(\n|$)/.test(r.text),
  };
}
