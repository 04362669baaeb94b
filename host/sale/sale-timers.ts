/** The clock and timers a sale runs on: real ones in the daemon, fake ones in tests (no real waiting). */
export interface SaleTimers {
  now(): number;
  /** Call `fn` after `ms`; the timer never keeps the process alive by itself. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

export function realTimers(clock: () => number = Date.now): SaleTimers {
  return {
    now: clock,
    setTimer(fn, ms) {
      const t = setTimeout(fn, Math.max(0, ms));
      t.unref?.();
      return t;
    },
    clearTimer(handle) {
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}
