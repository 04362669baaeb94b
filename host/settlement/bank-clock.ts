import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { BankTimeSeen } from '../sale/clock-check.js';

/** How far the pair may drift before it is written again; and at least this often while in contact. */
const REWRITE_SKEW_MS = 1000;
const REWRITE_EVERY_MS = 60_000;

/**
 * The bank's time at the last contact and this counter's clock then, kept on disk so a clock that is
 * set back while the counter is offline (or across a restart) is still noticed (clock-check.ts).
 */
export class BankClock {
  private seen: BankTimeSeen | undefined;
  private written: BankTimeSeen | undefined;

  constructor(
    private readonly file: string,
    private readonly clock: () => number = Date.now,
    private readonly log?: { warn(o: object, msg: string): void },
  ) {
    this.seen = this.written = readSeen(file);
  }

  last(): BankTimeSeen | undefined {
    return this.seen;
  }

  /** The bank said its time (unix seconds). */
  observe(bankSeconds: number): void {
    if (!Number.isSafeInteger(bankSeconds) || bankSeconds <= 0) return;
    const seen = { bankMs: bankSeconds * 1000, localMs: this.clock() };
    this.seen = seen;
    const w = this.written;
    if (
      w &&
      Math.abs(seen.localMs - seen.bankMs - (w.localMs - w.bankMs)) < REWRITE_SKEW_MS &&
      seen.localMs - w.localMs < REWRITE_EVERY_MS &&
      seen.localMs >= w.localMs
    )
      return;
    try {
      writeAtomically(this.file, JSON.stringify(seen) + '\n');
      this.written = seen;
    } catch (e) {
      this.log?.warn({ file: this.file, err: e instanceof Error ? e.message : String(e) }, 'bank time not saved');
    }
  }
}

function readSeen(file: string): BankTimeSeen | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<BankTimeSeen>;
    if (Number.isSafeInteger(v.bankMs) && Number.isSafeInteger(v.localMs))
      return { bankMs: v.bankMs!, localMs: v.localMs! };
  } catch {
    /* unreadable: as if never seen; the next contact writes it again */
  }
  return undefined;
}

/** Write, fsync, rename: a power cut leaves the old file or the new one, never half of one. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
