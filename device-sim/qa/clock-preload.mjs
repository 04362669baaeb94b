// QA-only preload (`node --import clock-preload.mjs`): moves this process's wall clock (Date.now and
// `new Date()`) by the offset in milliseconds held in the file CARDPOST_QA_CLOCK_FILE names, and follows
// that file LIVE, so a scenario's `clock: {jump: "+2h"}` moves a running daemon. Timers and
// performance.now are untouched (a jump does not fire timeouts early). The file is checked at most
// every 100 ms (a stat; read only when it changed), so a busy Date.now() costs nothing more.
// Without the variable this does nothing: it is never loaded by a production daemon.
import { readFileSync, statSync } from 'node:fs';

const file = process.env.CARDPOST_QA_CLOCK_FILE;
if (file) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let offset = 0;
  let checkedAt = -Infinity;
  let seen = '';
  const refresh = () => {
    const t = realNow();
    if (t - checkedAt < 100) return;
    checkedAt = t;
    try {
      const st = statSync(file, { throwIfNoEntry: false });
      const id = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '';
      if (id === seen) return;
      seen = id;
      const n = st ? Number(readFileSync(file, 'utf8').trim()) : 0;
      // A file that does not hold a number leaves the clock where it was, never NaN.
      if (Number.isFinite(n)) offset = n;
    } catch {
      /* a file being replaced: read it at the next check */
    }
  };
  refresh();
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) {
        refresh();
        super(realNow() + offset);
      } else super(...args);
    }
    static now() {
      refresh();
      return realNow() + offset;
    }
  }
  globalThis.Date = ShiftedDate;
}
