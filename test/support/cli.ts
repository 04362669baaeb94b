import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CARDPOST_BIN = fileURLToPath(new URL('../../bin/cardpost.mjs', import.meta.url));

/**
 * The CLI's merchant messages in English for the suites that read them (docs/ui.md "Languages"): a
 * daemon configured for zh-CN, or a Chinese locale on the machine running the tests, must not change
 * them. A test that wants another language passes CARDPOST_LANG (or --lang) itself.
 */
const ENGLISH: NodeJS.ProcessEnv = { CARDPOST_LANG: 'en' };

/** A long-running cardpost process whose stdout lines can be awaited. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  private waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [CARDPOST_BIN, ...args], { env: { ...process.env, ...ENGLISH, ...env } });
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
      }
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
  }

  /** Resolve with the first line (already seen or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`timed out waiting for ${re}; output so far:\n${this.lines.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill('SIGTERM');
    });
  }
}

/** Run cardpost to completion (in English unless `env` says otherwise). */
export function runCardpost(
  args: string[],
  input?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CARDPOST_BIN, ...args], { env: { ...process.env, ...ENGLISH, ...env } });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}
