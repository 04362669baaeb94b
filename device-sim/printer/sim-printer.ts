import { EventEmitter } from 'node:events';
// The package's "exports" hide its types from ESM resolution; its CommonJS entry has them.
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { EscPosDecoder, type DecodedEvent, type PrintedLine } from './escpos-decoder.js';

export interface SimPrinterOptions {
  /** The printer's end of the serial line (e.g. one end of a socat pty pair). */
  path: string;
  baudRate?: number;
  /** How the port is opened: node-serialport's binding (default the real one). */
  binding?: BindingInterface;
  /** Lines of paper on the roll (default: endless); the printer stops at paper end when they are used up. */
  paperLines?: number;
  /** Diagnostics, one line each. */
  log?: (line: string) => void;
}

/** One receipt as it came out of the printer: its lines up to a cut. */
export interface PrintedReceipt {
  lines: PrintedLine[];
  /** The receipt's whole text, a line each (trailing spaces removed). */
  text: string;
}

export interface SimPrinterEvents {
  opened: [];
  line: [PrintedLine];
  receipt: [PrintedReceipt];
  /** The printer answered a status request (the request's name and the answer byte). */
  answered: [request: string, answer: number];
}

/** Real printers have a 4–64 KiB receive buffer; what comes beyond it while the printer is stopped is lost. */
const RECEIVE_BUFFER = 64 * 1024;
/** What tests may read back of the raw stream. */
const KEEP_RAW = 1024 * 1024;

/**
 * A simulated ESC/POS receipt printer on a real serial port. It decodes what it is sent
 * (escpos-decoder.ts) into lines and receipts, answers the real-time status requests DLE EOT 1–4 as
 * the bytes arrive and GS r 1 in order with the data, and can be put out of paper, cover open, in error
 * or offline (switched off: it neither answers nor keeps what it is sent). Out of paper, with the cover
 * open or in error it stops printing and keeps what it was sent in its receive buffer; it carries on
 * where it stopped once the paper is in again, as a real printer does.
 */
export class SimPrinter extends EventEmitter<SimPrinterEvents> {
  readonly receipts: PrintedReceipt[] = [];
  private lines: PrintedLine[] = [];
  private port: SerialPortStream | undefined;
  private running = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private inbox: Buffer = Buffer.alloc(0);
  private realtime: number[] = [];
  private raw: Buffer[] = [];
  private rawLength = 0;
  private paperLeft: number;
  private decoder = new EscPosDecoder((e) => this.onDecoded(e));
  paperOut = false;
  paperLow = false;
  coverOpen = false;
  error = false;
  offline = false;
  /** Bytes lost to a full receive buffer. */
  overflow = 0;

  constructor(private readonly opts: SimPrinterOptions) {
    super();
    this.paperLeft = opts.paperLines ?? Infinity;
  }

  /** Open the port (retrying until the path exists); resolves once it is open. */
  start(): Promise<void> {
    this.running = true;
    const opened = new Promise<void>((resolve) => this.once('opened', resolve));
    this.tryOpen();
    return opened;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reopenTimer);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Every byte received (the first MiB), for tests that check the commands themselves. */
  get received(): Buffer {
    return Buffer.concat(this.raw);
  }

  /** Whether it prints what it has: paper in, cover shut, no fault, switched on. */
  get printing(): boolean {
    return !this.paperOut && !this.coverOpen && !this.error && !this.offline;
  }

  /** The roll runs out (or, with `false`, a new endless one is loaded). */
  setPaperOut(out: boolean): void {
    this.loadPaper(out ? 0 : Infinity);
  }

  /** A new roll with this many lines on it (0: none). */
  loadPaper(lines = Infinity): void {
    this.paperLeft = lines;
    this.paperOut = lines <= 0;
    this.pump();
  }

  setCoverOpen(open: boolean): void {
    this.coverOpen = open;
    this.pump();
  }

  setError(error: boolean): void {
    this.error = error;
    this.pump();
  }

  /** Switched off (or unplugged): no answers, nothing kept. Switched on again: an empty buffer, as after power-up. */
  setOffline(offline: boolean): void {
    this.offline = offline;
    if (offline) {
      this.inbox = Buffer.alloc(0);
      this.realtime = [];
      this.lines = [];
      this.decoder = new EscPosDecoder((e) => this.onDecoded(e));
    }
    this.pump();
  }

  private tryOpen(): void {
    if (!this.running || this.port) return;
    const port = new SerialPortStream({
      binding: this.opts.binding ?? SerialPort.binding,
      path: this.opts.path,
      baudRate: this.opts.baudRate ?? 9600,
      autoOpen: false,
    });
    port.on('error', () => undefined);
    port.open((err) => {
      if (err || !this.running) {
        if (!err) port.close(() => undefined);
        clearTimeout(this.reopenTimer);
        if (this.running) this.reopenTimer = setTimeout(() => this.tryOpen(), 100);
        return;
      }
      this.port = port;
      port.on('data', (chunk: Buffer) => this.receive(chunk));
      port.on('close', () => {
        if (this.port !== port) return;
        this.port = undefined;
        this.opts.log?.(`lost ${this.opts.path}; reopening`);
        this.tryOpen();
      });
      this.opts.log?.(`printer on ${this.opts.path}`);
      this.emit('opened');
    });
  }

  /** Bytes off the line: real-time requests answered now, the rest to the receive buffer. */
  receive(chunk: Uint8Array): void {
    if (this.offline) return;
    if (this.rawLength < KEEP_RAW) {
      this.raw.push(Buffer.from(chunk));
      this.rawLength += chunk.length;
    }
    for (const b of chunk) this.scanRealtime(b);
    const room = RECEIVE_BUFFER - this.inbox.length;
    if (chunk.length > room) this.overflow += chunk.length - Math.max(room, 0);
    this.inbox = Buffer.concat([this.inbox, Buffer.from(chunk.subarray(0, Math.max(room, 0)))]);
    this.pump();
  }

  private scanRealtime(b: number): void {
    const r = this.realtime;
    if (r.length === 2) {
      this.realtime = [];
      this.answerRealtime(b);
    } else if (r.length === 1 && b === 0x04) r.push(b);
    else this.realtime = b === 0x10 ? [b] : [];
  }

  /** DLE EOT n: fixed bits 1 and 4, the rest as the Epson reference gives them. */
  private answerRealtime(n: number): void {
    let a = 0x12;
    if (n === 1) a |= this.printing ? 0 : 0x08;
    else if (n === 2) a |= (this.coverOpen ? 0x04 : 0) | (this.paperOut ? 0x20 : 0) | (this.error ? 0x40 : 0);
    else if (n === 3) a |= this.error ? 0x08 : 0;
    else if (n === 4) a |= (this.paperLow ? 0x0c : 0) | (this.paperOut ? 0x60 : 0);
    else return;
    this.answer(`DLE EOT ${n}`, a);
  }

  private answer(request: string, byte: number): void {
    this.port?.write(Uint8Array.of(byte));
    this.emit('answered', request, byte);
  }

  /** Print from the receive buffer while the printer can. */
  private pump(): void {
    let i = 0;
    while (i < this.inbox.length && this.printing) this.decoder.push(this.inbox[i++]!);
    if (i > 0) this.inbox = this.inbox.subarray(i);
  }

  private onDecoded(e: DecodedEvent): void {
    if (e.kind === 'line') {
      this.lines.push(e.line);
      this.emit('line', e.line);
      if (--this.paperLeft <= 0) this.paperOut = true;
    } else if (e.kind === 'cut') {
      const lines = this.lines;
      this.lines = [];
      const receipt = { lines, text: lines.map((l) => l.text.trimEnd()).join('\n') };
      this.receipts.push(receipt);
      this.emit('receipt', receipt);
    } else if (e.kind === 'status' && (e.n === 1 || e.n === 49)) {
      this.answer(`GS r ${e.n}`, (this.paperOut ? 0x0c : 0) | (this.paperLow ? 0x03 : 0));
    }
  }
}
