import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ProcessRegistry } from '../qa-types.js';
import { sleep } from './stack-errors.js';

/**
 * A child of the stack: its own process group (detached), so that killing the group takes its whole
 * tree (node + tsx workers, pcscd, chromium's helpers); recorded in the registry while it lives.
 */
export class TrackedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private readonly pid: number;

  constructor(
    readonly what: string,
    command: string,
    args: string[],
    private readonly registry: ProcessRegistry,
    opts: SpawnOptions & { onLine?: (line: string, stream: 'stdout' | 'stderr') => void } = {},
  ) {
    const { onLine, ...spawnOpts } = opts;
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts, detached: true });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
    this.pid = this.child.pid ?? 0;
    if (this.pid) registry.addProcess(this.pid, what);
    void this.exited.then(() => {
      if (this.pid) registry.removeProcess(this.pid);
    });
    for (const [stream, s] of [
      ['stdout', this.child.stdout],
      ['stderr', this.child.stderr],
    ] as const) {
      if (!s) continue;
      const rl = createInterface({ input: s });
      rl.on('line', (l) => onLine?.(l, stream));
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.pid !== 0;
  }

  get processId(): number {
    return this.pid;
  }

  /** Signal the whole process group (falls back to the process alone). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        this.child.kill(sig);
      } catch {
        /* gone */
      }
    }
  }

  /** SIGKILL to the group; resolves once the process has exited. */
  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; the group's stragglers go too. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.running) {
      this.signal('SIGTERM');
      const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) await this.kill9();
    }
    // Whatever the leader left in its group (a helper that ignored SIGTERM) goes with it. Never with
    // pid 0 (a spawn that failed): kill(-0) is kill(0), the runner's own process group.
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* the group is empty */
    }
  }
}
