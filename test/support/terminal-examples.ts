import type { TerminalMessage } from '../../protocol/terminal/index.js';

/** One valid example of every message type (also used by the fuzz suite). */
export const EXAMPLES: TerminalMessage[] = [
  { type: 'HELLO', requestId: 1, protocolVersion: 1, host: 'counter-1' },
  {
    type: 'INFO', requestId: 1, protocolVersion: 1, model: 'SIM-POS 1', serial: 'T-0001', firmware: '1.0.0',
    capabilities: { display: { lines: 4, columns: 20 }, pinPad: true, cardSlot: true, printer: true, extendedLength: true },
    cardPresent: true, atr: Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01),
  },
  { type: 'SALE_REQUEST', requestId: 2 ** 40 + 7, amount: 1250, currency: 156, reference: 'table 4' },
  { type: 'SALE_STATUS', requestId: 9, saleRequestId: 2 ** 40 + 7, status: 'enter-pin' },
  { type: 'SALE_RESULT', requestId: 2 ** 40 + 7, outcome: 'approved', message: '已付款 paid', receiptId: 'R-1', receipt: ['cardpost', 'CNY 12.50'] },
  { type: 'DISPLAY', requestId: 10, lines: ['请插卡', 'Insert card'] },
  { type: 'BEEP', requestId: 11, tone: 'attention', count: 2 },
  { type: 'CARD_EVENT', requestId: 12, event: 'inserted', atr: Uint8Array.of(0x3b, 0x00) },
  { type: 'APDU', requestId: 13, apdu: Uint8Array.of(0x00, 0xa4, 0x04, 0x00) },
  { type: 'APDU_RESPONSE', requestId: 13, response: Uint8Array.of(0x90, 0x00) },
  { type: 'PIN_ENTRY', requestId: 14, amount: 20000, currency: 156, triesLeft: 3, timeoutMs: 90_000 },
  { type: 'PIN_RESULT', requestId: 14, outcome: 'wrong', triesLeft: 2 },
  { type: 'PIN_RESULT', requestId: 15, outcome: 'verified' },
  { type: 'PRINT', requestId: 16, kind: 'receipt', lines: ['line 1'] },
  { type: 'CANCEL', requestId: 17, target: 2 ** 40 + 7 },
  { type: 'HEARTBEAT', requestId: 18 },
  { type: 'OK', requestId: 18 },
  { type: 'ERROR', requestId: 19, code: 'NO_CARD', message: 'no card in the slot' },
];
