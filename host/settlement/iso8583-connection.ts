import { connect, type Socket } from 'node:net';
import { CardpostError } from '../../protocol/errors.js';
import { BankError } from './bank-client.js';
import {
  decodeFrame,
  encodeFrame,
  frameLength,
  type Iso8583Dialect,
  type Iso8583Frame,
} from '../../protocol/iso8583/index.js';

/**
 * One TCP connection to the acquirer carrying length-prefixed frames (docs/iso8583.md §1): frames
 * are written whole and read back one at a time. A frame that does not decode ends the connection
 * (the stream cannot be trusted after it). `tap` sees every frame written, for captures.
 */
export class Iso8583Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly frames: Iso8583Frame[] = [];
  private failure: BankError | undefined;
  private waiter: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly dialect: Iso8583Dialect,
    private readonly tap?: (bytes: Uint8Array) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(unreachable(`the connection to the acquirer failed: ${e.message}`)));
    socket.on('close', () => this.fail(unreachable('the acquirer closed the connection')));
  }

  static open(o: {
    host: string;
    port: number;
    dialect: Iso8583Dialect;
    timeoutMs: number;
    tap?: (bytes: Uint8Array) => void;
  }): Promise<Iso8583Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: o.host, port: o.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(unreachable(`no connection to the acquirer at ${o.host}:${o.port} in ${o.timeoutMs} ms`));
      }, o.timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(unreachable(`cannot connect to the acquirer at ${o.host}:${o.port}: ${e.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new Iso8583Connection(socket, o.dialect, o.tap));
      });
    });
  }

  send(frame: Iso8583Frame): void {
    if (this.failure) throw this.failure;
    const bytes = encodeFrame(this.dialect, frame);
    this.tap?.(bytes);
    this.socket.write(bytes);
  }

  /** The next frame, or undefined after `timeoutMs` without one; throws once the connection is gone. */
  async receive(timeoutMs: number): Promise<Iso8583Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = this.frames.shift();
      if (next) return next;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      for (;;) {
        const size = frameLength(this.dialect, this.buffer);
        if (size === undefined) break;
        this.frames.push(decodeFrame(this.dialect, this.buffer.subarray(0, size)));
        this.buffer = this.buffer.subarray(size);
      }
    } catch (e) {
      const why = e instanceof CardpostError ? `${e.code}: ${e.message}` : String(e);
      this.fail(
        new BankError(
          'BANK_ANSWER_INVALID',
          `the acquirer sent bytes that are not a frame of the ${this.dialect.name} dialect (${why})`,
          'the batch stays in flight and is re-sent; check the dialect configured on both ends',
          'unknown',
        ),
      );
      this.socket.destroy();
    }
    this.wake();
  }

  private fail(e: BankError): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

function unreachable(message: string): BankError {
  return new BankError(
    'BANK_UNREACHABLE',
    message,
    'the counter keeps taking card payments offline; records settle when the acquirer answers',
    'unknown',
  );
}
