import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime } from '../registry.js';
import { QA_ERRORS, qaError, sleep } from './stack-errors.js';

/**
 * vpcd's ports (35963/35964) and pcscd's socket are machine-wide: two QA stacks with PC/SC readers at
 * once would attach their cards to each other's readers, and the first to close would stop the pcscd
 * the other uses. A stack with PC/SC readers holds this lock file for its life (created O_EXCL, holding
 * the runner's pid and /proc start time); a lock whose holder is gone (killed runner) is taken over.
 */
const LOCK = join(tmpdir(), 'cardpost-qa', 'vpcd.lock');

async function holderAlive(text: string): Promise<boolean> {
  try {
    const h = JSON.parse(text) as { pid?: unknown; start?: unknown };
    if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return false;
    const start = await processStartTime(h.pid);
    return start !== undefined && start === h.start;
  } catch {
    return false; // not ours to honour: a torn or foreign file
  }
}

export async function lockVpcd(waitMs: number, log: (t: string) => void): Promise<() => void> {
  mkdirSync(join(tmpdir(), 'cardpost-qa'), { recursive: true, mode: 0o700 });
  const me = JSON.stringify({ pid: process.pid, start: await processStartTime(process.pid) });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(LOCK, 'utf8') === me) unlinkSync(LOCK);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    try {
      text = readFileSync(LOCK, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    if (!(await holderAlive(text))) {
      try {
        unlinkSync(LOCK); // its runner is gone: the lock is stale
      } catch {
        /* another runner took it over first */
      }
      continue;
    }
    if (Date.now() > deadline)
      throw qaError(
        QA_ERRORS.stackFailed,
        `another QA run (${text}) holds vpcd's readers (${LOCK})`,
        'run PC/SC scenarios one at a time: wait for the other qa run or soak to end, or use serial/hid readers',
      );
    if (!told) log(`waiting for another QA run to free vpcd (${text})`);
    told = true;
    await sleep(250);
  }
}
