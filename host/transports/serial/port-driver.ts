import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
// The package's "exports" hide its types from ESM resolution; its CommonJS entry has them.
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { TerminalChannel, type ChannelEvent, type TerminalChannelOptions } from '../../../protocol/terminal/index.js';

/**
 * How serial ports are opened: node-serialport's binding. The default is the real one
 * (`@serialport/bindings-cpp`, what `new SerialPort()` uses); tests may pass `@serialport/binding-mock`.
 */
export type SerialBinding = BindingInterface;
export const REAL_SERIAL_BINDING: SerialBinding = SerialPort.binding;

/** Device identity behind a path (symlinks followed): a pty recreated at the same link path differs. */
export function fileDeviceId(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.rdev}`;
  } catch {
    return undefined;
  }
}

/**
 * Runs the pure TerminalChannel on a real serial port: real timers at the channel's deadlines,
 * bytes in and out, and the port's life cycle. node-serialport does not always emit 'close' when
 * a device disappears (node-serialport issues #2043, #2351), so a vanished port is also noticed by
 * (a) a periodic check that the path still names the device we opened (a pty recreated at the same
 * link path is a different device), and (b) the channel's heartbeat time-out (peerLost). After a
 * loss the port is closed and reopened with exponential backoff until the path works again.
 *
 * Never calls SerialPort.list(): paths are given explicitly (list() spawns udevadm).
 */
export interface PortDriverOptions {
  path: string;
  baudRate?: number;
  /** How the port is opened (default REAL_SERIAL_BINDING). */
  binding?: SerialBinding;
  /**
   * Which device the path names now, or undefined when none: checked before each open and every
   * `pathCheckMs`. Default fileDeviceId; a binding whose paths are not files (the mock) brings its own.
   */
  deviceId?: (path: string) => string | undefined;
  channel?: TerminalChannelOptions;
  /** First and largest delay between reopen attempts. Default 100 ms … 5000 ms. */
  reopenMinMs?: number;
  reopenMaxMs?: number;
  /** How often to check that the path still names the opened device. Default 500 ms. */
  pathCheckMs?: number;
  /** Every byte in and out, for diagnostics and tests. */
  tap?: (direction: 'in' | 'out', bytes: Uint8Array) => void;
}

export interface PortDriverEvents {
  open: [];
  /** The port closed or was found gone (reason for logs); a reopen is scheduled unless stop() was called. */
  lost: [string];
  channel: [ChannelEvent];
  /** An open attempt failed (reason); retried with backoff. */
  openFailed: [string];
}

export class PortDriver extends EventEmitter<PortDriverEvents> {
  readonly channel: TerminalChannel;
  private port: SerialPortStream | undefined;
  private device: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private running = false;
  private flushing = false;
  reconnects = 0;

  constructor(private readonly opts: PortDriverOptions) {
    super();
    this.channel = new TerminalChannel(opts.channel);
    this.backoffMs = opts.reopenMinMs ?? 100;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  now(): number {
    return performance.now();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.checkTimer = setInterval(() => this.checkPath(), this.opts.pathCheckMs ?? 500);
    this.checkTimer.unref();
    this.tryOpen();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reopenTimer);
    clearInterval(this.checkTimer);
    clearTimeout(this.timer);
    const port = this.port;
    this.port = undefined;
    this.channel.stop();
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Run something against the channel (request, respond…), then write and dispatch what it produced. */
  use<T>(fn: (channel: TerminalChannel, nowMs: number) => T): T {
    const r = fn(this.channel, this.now());
    this.flush();
    return r;
  }

  /** Drop the port now (e.g. the peer went silent) and reopen it with backoff. */
  drop(reason: string): void {
    const port = this.port;
    if (!port) return;
    this.port = undefined;
    this.device = undefined;
    clearTimeout(this.timer);
    this.channel.stop();
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    if (port.isOpen) port.close(() => undefined);
    this.emit('lost', reason);
    this.flush();
    this.scheduleReopen();
  }

  private tryOpen(): void {
    if (!this.running || this.port) return;
    const device = this.deviceOf(this.opts.path);
    if (!device) {
      this.openFailed(`${this.opts.path} does not exist`);
      return;
    }
    const port = new SerialPortStream({
      binding: this.opts.binding ?? REAL_SERIAL_BINDING,
      path: this.opts.path,
      baudRate: this.opts.baudRate ?? 115200,
      autoOpen: false,
    });
    port.on('error', () => undefined); // failures surface as open errors or 'close'; never crash the host
    port.open((err) => {
      if (err) {
        this.openFailed(err.message);
        return;
      }
      if (!this.running) {
        port.close(() => undefined);
        return;
      }
      this.port = port;
      this.device = device;
      this.backoffMs = this.opts.reopenMinMs ?? 100;
      port.on('data', (chunk: Buffer) => {
        this.opts.tap?.('in', chunk);
        this.channel.receive(chunk, this.now());
        this.flush();
      });
      port.on('close', (e?: Error) => {
        if (this.port === port) this.drop(`port closed${e ? `: ${e.message}` : ''}`);
      });
      this.channel.start(this.now());
      this.emit('open');
      this.flush();
    });
  }

  private openFailed(reason: string): void {
    this.emit('openFailed', reason);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running) return;
    clearTimeout(this.reopenTimer);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.reopenMaxMs ?? 5000);
    this.reopenTimer = setTimeout(() => {
      this.reconnects++;
      this.tryOpen();
    }, delay);
  }

  private deviceOf(path: string): string | undefined {
    return (this.opts.deviceId ?? fileDeviceId)(path);
  }

  private checkPath(): void {
    if (!this.port || !this.device) return;
    const now = this.deviceOf(this.opts.path);
    if (now !== this.device)
      this.drop(now ? `${this.opts.path} now names another device` : `${this.opts.path} disappeared`);
  }

  /** Write the channel's output and dispatch its events until both are empty; then re-arm the timer. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const out = this.channel.takeOutput();
        if (out.length > 0 && this.port?.isOpen) {
          const bytes = Buffer.concat(out);
          this.opts.tap?.('out', bytes);
          this.port.write(bytes);
        }
        const events = this.channel.takeEvents();
        for (const e of events) this.emit('channel', e);
        if (out.length === 0 && events.length === 0) break;
      }
    } finally {
      this.flushing = false;
    }
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const d = this.channel.nextDeadline();
    if (d === null || !this.running) return;
    this.timer = setTimeout(
      () => {
        this.channel.poll(this.now());
        this.flush();
      },
      Math.max(0, Math.ceil(d - this.now())),
    );
  }
}
