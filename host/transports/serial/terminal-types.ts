import type { SaleOutcome, SaleStatus, TerminalCapabilities } from '../../../protocol/terminal/index.js';

/** The serial terminal's messages as the host uses them (docs/protocol.md §13). */

/** What the terminal said about itself in INFO (docs/protocol.md §13.4). */
export interface TerminalInfo {
  model: string;
  serial: string;
  firmware: string;
  protocolVersion: number;
  capabilities: TerminalCapabilities;
}

/** The sale outcome the daemon sends back to the terminal (SALE_RESULT). */
export interface SaleAnswer {
  outcome: SaleOutcome;
  /** Short text for the terminal's display (≤ 64 UTF-8 bytes). */
  message?: string;
  /** The host's id of the stored record or receipt. */
  receiptId?: string;
  /** Receipt lines the terminal prints (≤ 64 lines of ≤ 64 bytes). */
  receipt?: string[];
}

/**
 * A sale keyed on the terminal. `requestId` is the terminal's idempotency key: the terminal re-sends
 * the same SALE_REQUEST (same requestId) until it gets the answer, and the link layer answers repeats
 * from its cache — but that cache lives in memory, so the daemon's durable store must also key sales
 * on (terminal serial, requestId) to stay exactly-once across a host restart.
 */
export interface SaleRequest {
  requestId: number;
  amount: number;
  currency: number;
  reference?: string;
  /** INFO serial of the terminal that keyed it. */
  terminalSerial: string;
  /** Aborted when the terminal sends CANCEL for this sale (the customer pressed Cancel). */
  signal: AbortSignal;
  /** Show progress on the terminal (SALE_STATUS). Best effort: failures are ignored. */
  status(status: SaleStatus): Promise<void>;
  /**
   * Answer the terminal (SALE_RESULT), exactly once; later calls are ignored. The answer is cached
   * under requestId, so if the line is down now it reaches the terminal when it re-sends the request.
   */
  respond(answer: SaleAnswer): void;
}

/** The port and link settings (PortDriverOptions: path, baud rate, channel tuning, reopen backoff, tap), and the terminal's own. */
