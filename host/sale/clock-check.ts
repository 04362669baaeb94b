/**
 * Is the counter's clock fit to date a sale? (docs/security.md: a wrong clock loses money.) A record is
 * signed with the host's time, and the bank refuses records outside its settlement window: with the
 * clock a month slow the card pays and the merchant is never paid. Pure: the caller brings the times.
 */

export interface BankTimeSeen {
  /** The bank's time at the last contact (ms since the epoch). */
  bankMs: number;
  /** This counter's clock at that moment. */
  localMs: number;
}

export interface ClockBounds {
  /** Largest difference from the bank's clock taken as right (the bank's own auth allows 5 minutes). */
  maxSkewMs: number;
  /** Longest time since the last bank contact over which the clock is still trusted. */
  maxSinceBankMs: number;
}

export interface ClockFacts {
  nowMs: number;
  /** The newest time among the records stored here (ms), if any. */
  newestRecordMs: number | undefined;
  bank: BankTimeSeen | undefined;
}

export type ClockFault = 'behind-records' | 'behind-bank' | 'off-bank' | 'bank-too-long-ago';

export interface ClockProblem {
  code: 'CLOCK_WRONG';
  fault: ClockFault;
  message: string;
  hint: string;
}

/** Small moves (NTP steps, a record signed a moment before a reboot) are not a wrong clock. */
const TOLERANCE_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const SET_IT =
  "set this computer's date and time (or its time zone) right, e.g. turn on automatic time (NTP); sales are taken again as soon as it is right";

export function checkClock(f: ClockFacts, bounds: ClockBounds): ClockProblem | undefined {
  const problem = (fault: ClockFault, message: string, hint = SET_IT): ClockProblem => ({
    code: 'CLOCK_WRONG',
    fault,
    message,
    hint,
  });
  if (f.newestRecordMs !== undefined && f.nowMs < f.newestRecordMs - TOLERANCE_MS) {
    return problem(
      'behind-records',
      `the counter's clock (${iso(f.nowMs)}) is behind its newest stored sale (${iso(f.newestRecordMs)}): it was set back`,
    );
  }
  if (!f.bank) return undefined; // never in touch with the bank: nothing to compare with
  if (f.nowMs < f.bank.bankMs - TOLERANCE_MS) {
    return problem(
      'behind-bank',
      `the counter's clock (${iso(f.nowMs)}) is behind the bank's time at the last contact (${iso(f.bank.bankMs)})`,
    );
  }
  const skew = f.bank.localMs - f.bank.bankMs;
  if (Math.abs(skew) > bounds.maxSkewMs) {
    return problem(
      'off-bank',
      `at the last contact with the bank the counter's clock was ${Math.round(Math.abs(skew) / 60_000)} minutes ${skew < 0 ? 'slow' : 'fast'}`,
      `${SET_IT}; the bank checks it again within seconds when it is reachable`,
    );
  }
  if (f.nowMs - f.bank.bankMs > bounds.maxSinceBankMs) {
    return problem(
      'bank-too-long-ago',
      `the last contact with the bank was ${Math.floor((f.nowMs - f.bank.bankMs) / 86_400_000)} days ago (${iso(f.bank.bankMs)}): the clock cannot be trusted that long, and records that old may no longer settle`,
      'connect the counter to the network so it can reach the bank (or check the date: it may be set ahead)',
    );
  }
  return undefined;
}
