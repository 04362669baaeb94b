import { createInterface, type Interface } from 'node:readline';
import { CardpostError } from '../../protocol/errors.js';

/** stdin ended before the line asked for: nobody is there to type it (a closed pipe, Ctrl-D). */
export class InputEndedError extends CardpostError {
  constructor() {
    super(
      'CLI_INPUT_ENDED',
      'nothing was entered: the input ended before the line asked for',
      'type it at a terminal, or give it as one line on stdin',
    );
  }
}

/**
 * Secrets typed at the counter's terminal (the PIN, with a PC/SC reader that has no PIN pad; the
 * issuer's `--pin-stdin` / `--puk-stdin`), without echo. Without a TTY it reads lines from stdin, for
 * scripts: one reader for the whole command, so a second PIN try (or the PUK after the PIN) gets the next line.
 */
export class SecretPrompt {
  private rl: Interface | undefined;
  private readonly lines: string[] = [];
  private waiting: { resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
  private ended = false;
  private readonly tty: boolean;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {
    this.tty = (input as NodeJS.ReadStream).isTTY === true;
  }

  /** Typed at a terminal (no echo, a question shown) rather than read from a pipe. */
  get interactive(): boolean {
    return this.tty;
  }

  ask(question: string): Promise<string> {
    this.open();
    if (this.tty) this.output.write(question);
    const next = this.lines.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.ended) return Promise.reject(new InputEndedError());
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  close(): void {
    this.rl?.close();
  }

  private open(): void {
    if (this.rl) return;
    const rl = createInterface({
      input: this.input,
      ...(this.tty ? { output: this.output, terminal: true } : { terminal: false }),
    });
    // Swallow the echo of typed characters (readline writes them through _writeToOutput).
    if (this.tty) (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
    rl.on('line', (line) => {
      if (this.tty) this.output.write('\n');
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w.resolve(line.trim());
      else this.lines.push(line.trim());
    });
    rl.on('close', () => {
      this.ended = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(new InputEndedError());
    });
    this.rl = rl;
  }
}
