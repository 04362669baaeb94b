import { existsSync, rmSync } from 'node:fs';
import type { ProcessRegistry } from '../qa-types.js';
import { TrackedProcess } from './processes.js';
import { QA_ERRORS, qaError, sleep } from './stack-errors.js';
import { which } from './system-tools.js';

/**
 * A socat pty pair with stable link paths: the two ends of a serial cable (a terminal's or a printer's
 * line). The links and socat are in the registry, so a killed runner's reaper removes them.
 */
export class PtyPair {
  private constructor(
    readonly a: string,
    readonly b: string,
    private readonly process: TrackedProcess,
    private readonly registry: ProcessRegistry,
  ) {}

  static async start(a: string, b: string, registry: ProcessRegistry, what: string): Promise<PtyPair> {
    const socat = which('socat');
    if (!socat)
      throw qaError(
        QA_ERRORS.systemMissing,
        `the scenario has a serial line (${what}), but socat is not installed`,
        'install it: apt-get install socat',
      );
    registry.addPath(a);
    registry.addPath(b);
    let stderr = '';
    const p = new TrackedProcess(
      `socat (${what})`,
      socat,
      ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      registry,
      {
        onLine: (l, s) => {
          if (s === 'stderr' && stderr.length < 4000) stderr += `${l}\n`;
        },
      },
    );
    const deadline = Date.now() + 5000;
    while (!existsSync(a) || !existsSync(b)) {
      if (!p.running || Date.now() > deadline) {
        await p.stop(200);
        throw qaError(
          QA_ERRORS.stackFailed,
          `socat did not create the pty pair for ${what}: ${stderr.trim().split('\n').slice(-2).join(' / ') || 'no output'}`,
          'check that /dev/ptmx is usable in this container',
        );
      }
      await sleep(10);
    }
    return new PtyPair(a, b, p, registry);
  }

  /** Take the pair down: socat removes its links on SIGTERM. */
  async close(): Promise<void> {
    await this.process.stop(2000);
    // socat removes its links on SIGTERM; after a SIGKILL they would dangle.
    for (const l of [this.a, this.b]) rmSync(l, { force: true });
    this.registry.removePath(this.a);
    this.registry.removePath(this.b);
  }
}
