import { SerialPortStream } from '@serialport/stream';
import { REAL_SERIAL_BINDING, fileDeviceId, type SerialBinding } from '../transports/serial/port-driver.js';
import { PrinterAnswers } from './printer-answers.js';

export interface PrinterLinkOptions {
  path: string;
  baudRate: number;
  /** How the port is opened (default node-serialport's real binding). */
  binding?: SerialBinding;
}

/** What the receipt printer needs of a connection to the printer: serial line or USB printer class device. */
export interface PrinterConnection {
  readonly isOpen: boolean;
  onPaperAnswer: (b: number) => void;
  open(): Promise<void>;
  close(): Promise<void>;
  ask(request: Uint8Array, timeoutMs: number): Promise<number | undefined>;
  write(bytes: Uint8Array, timeoutMs: number): Promise<void>;
}

/**
 * The serial line to the printer: open (again, when the device behind the path changed or the port
 * closed), write, and the printer's one-byte answers (PrinterAnswers).
 */
export class PrinterLink implements PrinterConnection {
  private port: SerialPortStream | undefined;
  private device: string | undefined;
  private readonly answers = new PrinterAnswers();

  get onPaperAnswer(): (b: number) => void {
    return this.answers.onPaperAnswer;
  }
  set onPaperAnswer(f: (b: number) => void) {
    this.answers.onPaperAnswer = f;
  }

  constructor(private readonly o: PrinterLinkOptions) {}

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** Open the port unless it is open on the device the path names now; rejects with why not. */
  async open(): Promise<void> {
    const device = fileDeviceId(this.o.path);
    if (this.port?.isOpen && device !== undefined && device === this.device) return;
    await this.close();
    if (device === undefined) throw new Error(`${this.o.path} does not exist`);
    const port = new SerialPortStream({
      binding: this.o.binding ?? REAL_SERIAL_BINDING,
      path: this.o.path,
      baudRate: this.o.baudRate,
      autoOpen: false,
    });
    port.on('error', () => undefined); // failures surface as open errors, write errors or 'close'
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    this.device = device;
    port.on('data', (chunk: Buffer) => {
      for (const b of chunk) this.answers.take(b);
    });
    port.on('close', () => {
      if (this.port === port) this.port = undefined;
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.device = undefined;
    this.answers.cancel();
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Send a real-time status request; resolves with its answer, or undefined when none came in time. */
  async ask(request: Uint8Array, timeoutMs: number): Promise<number | undefined> {
    const port = this.port;
    if (!port?.isOpen) return undefined;
    const answered = this.answers.expect(timeoutMs);
    port.write(Buffer.from(request));
    return answered;
  }

  /** Write bytes and wait until the OS has taken them; rejects when the port fails or it takes over `timeoutMs`. */
  async write(bytes: Uint8Array, timeoutMs: number): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new Error(`${this.o.path} is not open`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`writing to ${this.o.path} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      port.write(Buffer.from(bytes), (err) => {
        if (err) {
          clearTimeout(timer);
          reject(err);
          return;
        }
        port.drain((e) => {
          clearTimeout(timer);
          if (e) reject(e);
          else resolve();
        });
      });
    });
  }
}
