import type { SaleTimers, TimerHandle } from '../../host/sale/sale-timers.js';

/** Timers on a clock that moves only when told (the engine's and the PIN service's time is injected). */
export function fakeTimers(start: number): SaleTimers & { advance(ms: number): void } {
  let now = start;
  const due = new Map<object, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(fn, ms) {
      const h = {};
      due.set(h, { at: now + ms, fn });
      return h as TimerHandle;
    },
    clearTimer(h) {
      due.delete(h as object);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
  };
}
