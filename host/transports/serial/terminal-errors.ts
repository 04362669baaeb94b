import { CardpostError } from '../../../protocol/errors.js';
import type { TerminalErrorCode } from '../../../protocol/terminal/index.js';

/**
 * Why a serial terminal operation failed. Codes: TERMINAL_DISCONNECTED, TERMINAL_TIMEOUT,
 * TERMINAL_REFUSED, TERMINAL_CANCELLED (host/errors/codes-card.ts).
 */
export class SerialTerminalError extends CardpostError {}

/**
 * The terminal answered a request with ERROR (docs/protocol.md §13.6). Code TERMINAL_REFUSED;
 * `terminalCode` is the ERROR's own code (BUSY, PRINTER_FAULT, BAD_MESSAGE…).
 */
export class TerminalRefusedError extends SerialTerminalError {
  constructor(
    readonly terminalCode: TerminalErrorCode,
    message: string,
    hint = 'see docs/protocol.md §13.6 for the code',
  ) {
    super('TERMINAL_REFUSED', message, hint);
  }
}

/**
 * The terminal's PIN pad cannot run the PIN service: it answered a PIN_ENTRY with mode `change` or
 * `unblock` with ERROR BAD_MESSAGE or UNSUPPORTED (firmware older than PIN_ENTRY key 7, §13.4).
 * Code TERMINAL_REFUSED like every refusal; recognise it with `instanceof` or isPinPadUnsupported().
 * The caller falls back to the customer display's keypad.
 */
export class PinPadUnsupportedError extends TerminalRefusedError {
  readonly pinPadUnsupported = true;
  constructor(terminalCode: TerminalErrorCode, message: string) {
    super(
      terminalCode,
      message,
      "take the PIN change on the customer display's keypad instead, or update the terminal's firmware",
    );
  }
}

/** Whether `e` says the pad cannot change or unblock PINs (fall back to the customer display). */
export function isPinPadUnsupported(e: unknown): e is PinPadUnsupportedError {
  return e instanceof PinPadUnsupportedError;
}

/** ERROR codes that mean "this terminal does not know PIN_ENTRY modes" (§13.4). */
export const PIN_MODE_REFUSALS: ReadonlySet<TerminalErrorCode> = new Set(['BAD_MESSAGE', 'UNSUPPORTED']);
