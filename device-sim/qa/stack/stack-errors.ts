import { CardpostError } from '../../../protocol/errors.js';

/** The stack's own error codes (registered in host/errors/codes*.ts; docs/qa.md "When the stack fails"). */
export const QA_ERRORS = {
  /** Something of the stack did not come up: the message says what, the hint what to do. */
  stackFailed: 'QA_STACK_FAILED',
  /** A system tool the scenario needs is not installed (pcscd, vsmartcard-vpcd, socat). */
  systemMissing: 'QA_SYSTEM_MISSING',
  /** devices.display needs playwright-core and Debian's chromium. */
  displayUnavailable: 'QA_DISPLAY_UNAVAILABLE',
  /**
   * The scenario's devices cannot be set up as written: more PC/SC readers than vpcd's two slots, a HID key
   * without its card, a reader starting with a card the scenario does not have, one card in two readers.
   */
  devicesInvalid: 'QA_DEVICES_INVALID',
  /** A step asks a reader for something its medium cannot do (line noise on a PC/SC reader). */
  stepInvalid: 'QA_STEP_INVALID',
} as const;

export function qaError(
  code: (typeof QA_ERRORS)[keyof typeof QA_ERRORS],
  message: string,
  hint: string,
  cause?: unknown,
) {
  return new CardpostError(code, message, hint, cause === undefined ? undefined : { cause });
}

/** "12.50" → 1250 (the scenario schema has checked the form). */
export function minorUnits(money: string): number {
  const [whole, frac = ''] = money.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined) or the time is up (then undefined). */
export async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}
