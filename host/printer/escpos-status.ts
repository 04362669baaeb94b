import type { PrinterState } from './printer-types.js';

/**
 * The ESC/POS status commands the host uses, and how their one-byte answers read (Epson ESC/POS
 * reference: DLE EOT, GS r). Pure: no I/O.
 *
 * - DLE EOT n (10 04 n) is a real-time command: the printer answers at once, even while it is busy,
 *   out of paper or holding data it cannot print. Every answer has bits 1 and 4 set, bits 0 and 7 clear.
 * - GS r 1 (1D 72 01) is processed in order with the data: it is answered only once everything sent
 *   before it has been printed, so at the end of a receipt it tells the host the receipt came out.
 *   Its answer has bits 4 and 7 clear, which tells it apart from a DLE EOT answer (and from XON 11 / XOFF 13).
 */
export const STATUS_REQUESTS = {
  /** n=1 printer status: bit 3 offline. */
  printer: Uint8Array.of(0x10, 0x04, 0x01),
  /** n=2 offline cause: bit 2 cover open, bit 3 feed button, bit 5 stopped at paper end, bit 6 error. */
  offline: Uint8Array.of(0x10, 0x04, 0x02),
  /** n=3 error cause: bit 3 auto-cutter, bit 5 unrecoverable, bit 6 auto-recoverable (head temperature). */
  error: Uint8Array.of(0x10, 0x04, 0x03),
  /** n=4 paper roll sensor: bits 2-3 near end, bits 5-6 paper end. */
  paper: Uint8Array.of(0x10, 0x04, 0x04),
} as const;

/** GS r 1: "transmit paper sensor status", in order with the data (the receipt's end marker). */
export const PAPER_SENSOR_REQUEST = Uint8Array.of(0x1d, 0x72, 0x01);

export const isRealtimeAnswer = (b: number): boolean => (b & 0x93) === 0x12;
export const isPaperSensorAnswer = (b: number): boolean => (b & 0x90) === 0x00;

/** The four DLE EOT answers of one status read. */
export interface RawStatus {
  printer: number;
  offline: number;
  error: number;
  paper: number;
}

export interface ReadStatus {
  state: Exclude<PrinterState, 'offline'>;
  paperLow: boolean;
}

/** What a status read means; the cover comes first (an open cover also stops the paper), then the paper, then faults. */
export function readStatus(s: RawStatus): ReadStatus {
  const paperLow = (s.paper & 0x0c) !== 0;
  if ((s.offline & 0x04) !== 0) return { state: 'cover-open', paperLow };
  if ((s.paper & 0x60) !== 0 || (s.offline & 0x20) !== 0) return { state: 'paper-out', paperLow };
  if ((s.offline & 0x40) !== 0 || (s.error & 0x68) !== 0 || (s.printer & 0x08) !== 0)
    return { state: 'error', paperLow };
  return { state: 'ready', paperLow };
}

/** A GS r 1 answer: the paper-end bits (2-3) and near-end bits (0-1). */
export function readPaperSensor(b: number): { paperOut: boolean; paperLow: boolean } {
  return { paperOut: (b & 0x0c) !== 0, paperLow: (b & 0x03) !== 0 };
}
