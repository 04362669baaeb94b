/**
 * Test-only preload (`node --import`): moves this process's wall clock by CARDPOST_TEST_CLOCK_SHIFT_MS
 * (Date.now and `new Date()`; timers and performance.now are untouched). The daemon has no clock of
 * its own to inject, and a day can only be closed once it is over: test/integration/counter-day.test.ts
 * starts the daemon "the next morning" this way to close the day it just ran.
 */
const shift = Number(process.env.CARDPOST_TEST_CLOCK_SHIFT_MS ?? 0);
if (Number.isFinite(shift) && shift !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + shift);
      else super(...args);
    }
    static now() {
      return realNow() + shift;
    }
  }
  globalThis.Date = ShiftedDate;
}
