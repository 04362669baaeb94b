import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileDeviceId } from '../transports/serial/port-driver.js';
import { PrinterAnswers } from './printer-answers.js';
import type { PrinterConnection } from './printer-link.js';

/** How often the device is read for the printer's answers while it is open. */
const READ_EVERY_MS = 25;
/** How long a write waits before trying again when the printer's buffer is full (EAGAIN). */
const FULL_RETRY_MS = 10;

/**
 * A USB printer-class receipt printer through the kernel's `usblp` driver: a character device
 * (/dev/usb/lp0) written to and read from as a file, with no line settings (node-serialport cannot
 * open it: it is not a tty). Bidirectional printers answer DLE EOT and GS r on the read side, as on a
 * serial line; a printer that never answers reads as offline, the same as a silent serial printer.
 *
 * The device is opened non-blocking and read by polling: a blocking read would hold one of libuv's few
 * pool threads until the printer speaks, and a read blocked in the kernel is not released by close().
 */
export class PrinterUsbLink implements PrinterConnection {
  private file: FileHandle | undefined;
  private device: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private readonly answers = new PrinterAnswers();
  private readonly buf = Buffer.alloc(64);

  constructor(private readonly o: { path: string }) {}

  get onPaperAnswer(): (b: number) => void {
    return this.answers.onPaperAnswer;
  }
  set onPaperAnswer(f: (b: number) => void) {
    this.answers.onPaperAnswer = f;
  }

  get isOpen(): boolean {
    return this.file !== undefined;
  }

  /** Open the device unless it is open on the device the path names now; rejects with why not. */
  async open(): Promise<void> {
    const device = fileDeviceId(this.o.path);
    if (this.file && device !== undefined && device === this.device) return;
    await this.close();
    if (device === undefined) throw new Error(`${this.o.path} does not exist`);
    const file = await open(this.o.path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    this.file = file;
    this.device = device;
    this.timer = setInterval(() => void this.poll(file), READ_EVERY_MS);
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    this.device = undefined;
    clearInterval(this.timer);
    this.answers.cancel();
    await file?.close().catch(() => undefined);
  }

  async ask(request: Uint8Array, timeoutMs: number): Promise<number | undefined> {
    if (!this.file) return undefined;
    const answered = this.answers.expect(timeoutMs);
    try {
      await this.write(request, timeoutMs);
    } catch {
      this.answers.cancel();
    }
    return answered;
  }

  /** Write all bytes; rejects when the device fails (unplugged: ENODEV, EIO) or takes over `timeoutMs`. */
  async write(bytes: Uint8Array, timeoutMs: number): Promise<void> {
    const file = this.file;
    if (!file) throw new Error(`${this.o.path} is not open`);
    const deadline = Date.now() + timeoutMs;
    let off = 0;
    while (off < bytes.length) {
      try {
        const { bytesWritten } = await file.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          await this.close();
          throw e;
        }
        if (Date.now() > deadline) throw new Error(`writing to ${this.o.path} took over ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, FULL_RETRY_MS));
      }
    }
  }

  /** Read what the printer said since the last poll; a device gone closes the link (it is opened again). */
  private async poll(file: FileHandle): Promise<void> {
    if (this.reading || this.file !== file) return;
    this.reading = true;
    try {
      for (;;) {
        const { bytesRead } = await file.read(this.buf, 0, this.buf.length, null);
        if (bytesRead === 0) break;
        for (let i = 0; i < bytesRead; i++) this.answers.take(this.buf[i]!);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && this.file === file) await this.close();
    } finally {
      this.reading = false;
    }
  }
}
