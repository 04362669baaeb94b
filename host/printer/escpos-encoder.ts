import receiptline from 'receiptline';
import { PAPER_SENSOR_REQUEST } from './escpos-status.js';
import type { PrinterCodepage } from './printer-config.js';
import type { ReceiptLine } from './printer-types.js';

/**
 * Receipt lines → ESC/POS bytes, with `receiptline` (OFSC ReceiptLine, Apache-2.0), chosen on purpose:
 * - Chinese: it switches the printer to its Chinese mode (ESC t 0, FS &) and encodes the text with
 *   iconv-lite in GB18030 or GBK (cp936), and lays out columns by display width (a Han character is two
 *   columns). `@point-of-sale/receipt-printer-encoder` / `esc-pos-encoder` only have single-byte code
 *   pages (no GBK at all); `node-thermal-printer` encodes "CHINA" as EUC-CN (GB2312 only) behind ESC R 15
 *   without FS &, so a printer left in its single-byte mode prints each Han character as two symbols, and
 *   it is built around its own transports (network, CUPS), not a buffer for our serial line.
 * - Sizes: `^^^` is GS ! 0x11 (double width and height) for the amount; bold, alignment and wrapping are
 *   done for us; the receipt ends with a cut (GS V 66 0) and GS r 1, the in-order status request whose
 *   answer tells the host the receipt is out (escpos-status.ts).
 * - Its `generic` command set keeps to the classic ESC/POS commands the common Chinese 58/80 mm printers
 *   understand (no FS ( A, no GS ( L graphics).
 * Pure: text in, bytes out.
 */
export interface EncodeOptions {
  codepage: PrinterCodepage;
  /** Characters per line. */
  width: number;
  /** A reprint: "副本 / COPY" at the top and the bottom. */
  copy: boolean;
}

const ENCODINGS: Readonly<Record<PrinterCodepage, 'gb18030' | 'cp936' | 'cp437'>> = {
  gb18030: 'gb18030',
  gbk: 'cp936',
  cp437: 'cp437',
};

/** Display columns of a text as the printer lays it out: a non-ASCII character is two columns in Chinese mode. */
export function columns(text: string, chinese: boolean): number {
  let n = 0;
  for (const ch of text) n += chinese && ch.codePointAt(0)! >= 0x80 ? 2 : 1;
  return n;
}

/** Text as ReceiptLine markup prints it literally: no control characters, every markup character escaped. */
export function escapeMarkup(text: string): string {
  return text.replace(/\p{Cc}/gu, '').replace(/[\\|{}\-=_"`^~]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

function markupLine(l: ReceiptLine, o: EncodeOptions, chinese: boolean): string[] {
  if (l.rule) return [`|\\-${'-'.repeat(o.width - 1)}`];
  const scale = l.size === 'large' ? 2 : l.size === 'wide' ? 2 : 1;
  const mark = (text: string) => {
    const body = escapeMarkup(text);
    const bold = l.bold ? `"${body}"` : body;
    return l.size === 'large' ? `^^^${bold}` : l.size === 'wide' ? `^${bold}` : bold;
  };
  const place = (text: string, align: ReceiptLine['align']) =>
    align === 'center' ? text : align === 'right' ? `${text}|` : `|${text}`;
  if (l.value === undefined) return [l.text === '' ? '' : place(mark(l.text), l.align ?? 'left')];
  const room = Math.floor(o.width / scale) - columns(l.text, chinese) - columns(l.value, chinese);
  if (room >= 1) return [place(mark(l.text) + '~'.repeat(room) + mark(l.value), 'left')];
  return [place(mark(l.text), 'left'), place(mark(l.value), 'right')];
}

/** The ReceiptLine document of a receipt (exported for tests and previews). */
export function receiptMarkup(lines: readonly ReceiptLine[], o: EncodeOptions): string {
  const chinese = o.codepage !== 'cp437';
  const copy: ReceiptLine = { text: chinese ? '副本 / COPY' : 'COPY', size: 'wide', bold: true, align: 'center' };
  const all = o.copy ? [copy, ...lines, { text: '' }, copy] : [...lines];
  return all.flatMap((l) => markupLine(l, o, chinese)).join('\n') + '\n';
}

/** The ESC/POS bytes of a receipt: initialise, the lines, feed, cut, GS r 1. */
export function encodeReceipt(lines: readonly ReceiptLine[], o: EncodeOptions): Uint8Array {
  const commands = receiptline.transform(receiptMarkup(lines, o), {
    cpl: o.width,
    encoding: ENCODINGS[o.codepage],
    command: 'generic',
    spacing: true,
    cutting: true,
  });
  const bytes = Buffer.from(commands, 'latin1');
  const tail = bytes.subarray(bytes.length - PAPER_SENSOR_REQUEST.length);
  // The receipt's end marker is what tells the host it printed: never rely on the library for it.
  return Buffer.compare(tail, PAPER_SENSOR_REQUEST) === 0 ? bytes : Buffer.concat([bytes, PAPER_SENSOR_REQUEST]);
}
