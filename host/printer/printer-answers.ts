import { isPaperSensorAnswer, isRealtimeAnswer } from './escpos-status.js';

/**
 * The printer's one-byte answers sorted by what asked for them, the same on every connection: a DLE EOT
 * answer goes to the one status request waiting for it, a GS r answer to `onPaperAnswer`, anything else
 * (XON, XOFF, noise, a broken or hostile printer's chatter) is dropped byte by byte and never buffered.
 */
export class PrinterAnswers {
  private waiting: ((b: number | undefined) => void) | undefined;
  /** The printer answered a GS r (in order: everything sent before it is printed). */
  onPaperAnswer: (b: number) => void = () => undefined;

  /** Wait for the answer to a real-time status request just sent; undefined when none came in time. */
  expect(timeoutMs: number): Promise<number | undefined> {
    this.answer(undefined);
    return new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => this.answer(undefined), timeoutMs);
      this.waiting = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
  }

  /** Give up the status request waiting, if any (the link closed). */
  cancel(): void {
    this.answer(undefined);
  }

  take(b: number): void {
    if (isRealtimeAnswer(b)) {
      if (this.waiting) this.answer(b);
    } else if (isPaperSensorAnswer(b)) this.onPaperAnswer(b);
  }

  private answer(b: number | undefined): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(b);
  }
}
