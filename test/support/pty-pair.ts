import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { which } from './system.js';

/**
 * A socat pty pair with stable link paths (`socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`):
 * the two ends of a serial cable for the terminal tests. kill() removes both ptys (an unplug);
 * starting a new pair on the same paths is a re-plug.
 */
export interface PtyPair {
  a: string;
  b: string;
  process: ChildProcess;
  kill(): Promise<void>;
}

export const socatPath = (): string | undefined => which('socat');

export async function startPtyPair(a: string, b: string, timeoutMs = 5000): Promise<PtyPair> {
  const socat = spawn(socatPath() ?? 'socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  socat.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => socat.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(a) || !existsSync(b)) {
    if (socat.exitCode !== null || Date.now() > deadline) {
      socat.kill('SIGKILL');
      throw new Error(`socat did not create ${a} and ${b}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    a,
    b,
    process: socat,
    kill: async () => {
      if (socat.exitCode === null && socat.signalCode === null) {
        socat.kill('SIGTERM');
        await exited;
      }
    },
  };
}
