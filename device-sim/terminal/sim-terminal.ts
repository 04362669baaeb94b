import { EventEmitter } from 'node:events';
import { appendFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
// The package's "exports" hide its types from ESM resolution; its CommonJS entry has them.
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import {
  TERMINAL_PROTOCOL_VERSION,
  TerminalChannel,
  type ChannelEvent,
  type MessageOf,
  type OutgoingResponse,
  type RequestMessage,
  type ResponseMessage,
  type TerminalChannelOptions,
} from '../../protocol/terminal/index.js';
import { LineFaults, type LineFaultRates } from './line-faults.js';
import { SimPinPad, type PinAction, type PinPrompt } from './pin-pad.js';

export type { PinAction, PinPrompt } from './pin-pad.js';

/** The card in the slot: the same surface the in-process reader and vpcd use (CardApplet has it). */
export interface SlotCard {
  atr(): Uint8Array;
  powerOn(): void;
  powerOff(): void;
  transmit(apdu: Uint8Array): Uint8Array;
}

export interface SimTerminalOptions {
  path: string;
  baudRate?: number;
  /** How the terminal's end of the line is opened: node-serialport's binding (default the real one, `@serialport/bindings-cpp`). */
  binding?: BindingInterface;
  /** Which device the path names now (undefined: none). Default: the file's device and inode; a binding whose paths are not files brings its own. */
  deviceId?: (path: string) => string | undefined;
  model?: string;
  serial?: string;
  firmware?: string;
  display?: { lines: number; columns: number };
  /** Currency of sales keyed here (ISO 4217 numeric). Default 156 (CNY). */
  currency?: number;
  /** Receipt printer output file (appended); no printer when absent. */
  printerFile?: string;
  /** Slot carries extended-length APDUs. Default true. */
  extendedLength?: boolean;
  /** PIN typed at a payment's PIN prompt when nothing is queued (pressPin) and no pinSource: e.g. the CLI's --pin. */
  defaultPin?: string;
  /** Decide each prompt of a PIN entry (overrides the queue and defaultPin); `prompt` says which entry is asked. */
  pinSource?: (request: MessageOf<'PIN_ENTRY'>, prompt: PinPrompt) => Promise<PinAction>;
  /** Simulate older firmware without PIN_ENTRY modes: a PIN_ENTRY with key 7 is answered ERROR BAD_MESSAGE. */
  noPinModes?: boolean;
  /** Faults on bytes the terminal sends and receives. */
  faults?: { send?: LineFaultRates; receive?: LineFaultRates; seed?: number };
  channel?: TerminalChannelOptions;
  /** How long a keyed sale waits for the host's SALE_RESULT. Default 600000 ms. */
  saleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SimTerminalEvents {
  connected: [];
  disconnected: [string];
  display: [string[]];
  beep: [string, number];
  printed: [string[]];
  pinRequested: [MessageOf<'PIN_ENTRY'>];
}

/**
 * A simulated serial POS terminal (docs/protocol.md §13): keypad, display, PIN pad, card slot and
 * receipt printer on a real serial port (the other end of a socat pty pair). It answers the host's
 * requests, keys sales, builds VERIFY for the PIN itself, and injects line faults on demand. It
 * reopens its port when the pty disappears and comes back at the same path.
 */
export class SimTerminal extends EventEmitter<SimTerminalEvents> {
  readonly channel: TerminalChannel;
  readonly sendFaults: LineFaults;
  readonly receiveFaults: LineFaults;
  /** What the display shows now, and everything it showed (for QA logs). */
  displayLines: string[] = [];
  readonly displayLog: string[][] = [];
  /** APDUs the card actually executed (duplicates suppressed by the link never reach it). */
  apdusExecuted = 0;
  private card: SlotCard | undefined;
  private port: SerialPortStream | undefined;
  private device: string | undefined;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private held: Uint8Array[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private readonly calls = new Map<
    number,
    { resolve: (m: ChannelEvent & { kind: 'response' }) => void; reject: (e: Error) => void }
  >();
  private readonly pinPad: SimPinPad;
  private saleInProgress: number | undefined;
  /** The `host` of the last HELLO: it names the host's session (protocol §13.7). */
  private hostSession: string | undefined;

  constructor(private readonly opts: SimTerminalOptions) {
    super();
    this.channel = new TerminalChannel(opts.channel);
    const seed = opts.faults?.seed ?? 1;
    this.sendFaults = new LineFaults(opts.faults?.send ?? {}, seed);
    this.receiveFaults = new LineFaults(opts.faults?.receive ?? {}, seed ^ 0x5bd1e995);
    this.pinPad = new SimPinPad({
      ...(opts.defaultPin !== undefined ? { defaultPin: opts.defaultPin } : {}),
      ...(opts.pinSource ? { pinSource: opts.pinSource } : {}),
      ...(opts.noPinModes ? { noModes: true } : {}),
      show: (lines) => this.show(lines),
      card: () => this.card,
      started: (m) => this.emit('pinRequested', m),
    });
  }

  get cardPresent(): boolean {
    return this.card !== undefined;
  }
  get connected(): boolean {
    return this.port?.isOpen === true;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
  private deviceOf(path: string): string | undefined {
    return (this.opts.deviceId ?? fileDeviceId)(path);
  }
  private now(): number {
    return performance.now();
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.checkTimer = setInterval(() => {
      if (this.port && this.device !== this.deviceOf(this.opts.path)) this.drop('the port path changed or vanished');
    }, 200);
    this.tryOpen();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.checkTimer);
    clearTimeout(this.reopenTimer);
    clearTimeout(this.timer);
    clearTimeout(this.heldTimer);
    this.channel.stop();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  // ------------------------------------------------------------------ the slot

  insert(card: SlotCard): void {
    if (this.card) this.remove();
    this.card = card;
    card.powerOn();
    this.log('card inserted');
    this.notify({ type: 'CARD_EVENT', event: 'inserted', atr: card.atr() });
  }

  remove(): void {
    const card = this.card;
    if (!card) return;
    this.card = undefined;
    card.powerOff();
    this.log('card removed');
    this.pinPad.abort();
    this.notify({ type: 'CARD_EVENT', event: 'removed' });
  }

  // ------------------------------------------------------------------ keypad and PIN pad

  /** Whether a PIN entry (verify, change or unblock) is in progress on the pad. */
  get pinEntryRunning(): boolean {
    return this.pinPad.running;
  }

  /**
   * Queue what the customer does at the next PIN prompts, one action a prompt, in order: for a payment
   * the PIN; for a PIN change the current PIN, the new PIN, the new PIN again (and more new/confirm
   * pairs when the pad re-asks); for an unblock the PUK first. 'cancel' presses Cancel, 'timeout' walks away.
   */
  pressPin(...actions: PinAction[]): void {
    this.pinPad.press(...actions);
  }

  /**
   * Key a sale on the keypad: SALE_REQUEST, then wait for SALE_RESULT; the receipt (if any) is printed.
   * Rejects when the host does not answer within saleTimeoutMs.
   */
  async sale(
    amount: number,
    opts: { reference?: string } = {},
  ): Promise<MessageOf<'SALE_RESULT'> | MessageOf<'ERROR'>> {
    if (this.saleInProgress !== undefined) throw new Error('a sale is already in progress on this terminal');
    const request = {
      type: 'SALE_REQUEST' as const,
      amount,
      currency: this.opts.currency ?? 156,
      ...(opts.reference ? { reference: opts.reference } : {}),
    };
    this.show([`Sale ${(amount / 100).toFixed(2)}`, 'Insert card / 请插卡']);
    const { id, answer } = this.callWithId(request, this.opts.saleTimeoutMs ?? 600_000);
    this.saleInProgress = id;
    try {
      const r = await answer;
      if (r.type === 'SALE_RESULT') {
        this.show([
          r.outcome === 'approved' ? 'Paid / 已付款' : `Sale ${r.outcome}`,
          ...(r.message ? [r.message] : []),
        ]);
        if (r.receipt && r.receipt.length > 0) this.print(r.receipt);
      }
      return r as MessageOf<'SALE_RESULT'> | MessageOf<'ERROR'>;
    } finally {
      this.saleInProgress = undefined;
    }
  }

  /** The Cancel key during a sale: CANCEL to the host. */
  cancelSale(): void {
    if (this.saleInProgress === undefined) return;
    this.notify({ type: 'CANCEL', target: this.saleInProgress });
  }

  // ------------------------------------------------------------------ host requests

  private onRequest(m: RequestMessage): void {
    const respond = (r: OutgoingResponse) => this.use((ch, now) => ch.respond(m.requestId, r, now));
    switch (m.type) {
      case 'HELLO':
        // Another host session (protocol §13.7): a PIN entry still running was asked for by a host that is
        // gone (killed mid-entry); its answer would reach nobody, and it would hold the pad BUSY until it
        // timed out. The same session saying HELLO again (a reconnect) keeps it: its request is re-sent.
        if (this.hostSession !== undefined && m.host !== this.hostSession) this.pinPad.abort();
        this.hostSession = m.host;
        respond({
          type: 'INFO',
          protocolVersion: TERMINAL_PROTOCOL_VERSION,
          model: this.opts.model ?? 'cardpost SIM-POS',
          serial: this.opts.serial ?? 'SIM-0001',
          firmware: this.opts.firmware ?? '1.0.0',
          capabilities: {
            display: this.opts.display ?? { lines: 4, columns: 20 },
            pinPad: true,
            cardSlot: true,
            printer: this.opts.printerFile !== undefined,
            extendedLength: this.opts.extendedLength ?? true,
          },
          cardPresent: this.card !== undefined,
          ...(this.card ? { atr: this.card.atr() } : {}),
        });
        this.emit('connected');
        return;
      case 'APDU':
        respond(this.runApdu(m.apdu));
        return;
      case 'PIN_ENTRY':
        void this.pinPad.run(m).then(respond);
        return;
      case 'DISPLAY':
        this.show(m.lines);
        respond({ type: 'OK' });
        return;
      case 'SALE_STATUS':
        this.show([`… ${m.status}`]);
        respond({ type: 'OK' });
        return;
      case 'BEEP':
        this.log(`beep ${m.tone} ×${m.count}`);
        this.emit('beep', m.tone, m.count);
        respond({ type: 'OK' });
        return;
      case 'PRINT':
        if (!this.opts.printerFile) {
          respond({ type: 'ERROR', code: 'PRINTER_FAULT', message: 'this terminal has no printer' });
          return;
        }
        this.print(m.lines);
        respond({ type: 'OK' });
        return;
      case 'CANCEL':
        this.pinPad.cancel(m.target);
        respond({ type: 'OK' });
        return;
      default:
        respond({ type: 'ERROR', code: 'UNSUPPORTED', message: `the terminal does not handle ${m.type}` });
    }
  }

  private runApdu(apdu: Uint8Array): OutgoingResponse {
    const card = this.card;
    if (!card) return { type: 'ERROR', code: 'NO_CARD', message: 'no card in the slot' };
    try {
      this.apdusExecuted++;
      return { type: 'APDU_RESPONSE', response: card.transmit(apdu) };
    } catch {
      // A simulated power loss (tearing): to the host the card was pulled mid-command.
      this.card = undefined;
      this.notify({ type: 'CARD_EVENT', event: 'removed' });
      return { type: 'ERROR', code: 'CARD_MUTE', message: 'the card stopped answering' };
    }
  }

  private show(lines: string[]): void {
    this.displayLines = lines;
    this.displayLog.push(lines);
    this.log(`display: ${lines.join(' | ')}`);
    this.emit('display', lines);
  }

  private print(lines: string[]): void {
    if (this.opts.printerFile) appendFileSync(this.opts.printerFile, `${lines.join('\n')}\n${'-'.repeat(24)}\n`);
    this.log(`printed ${lines.length} lines`);
    this.emit('printed', lines);
  }

  // ------------------------------------------------------------------ channel plumbing

  /** A request whose answer nobody waits for (CARD_EVENT, CANCEL): re-sent by the channel until answered. */
  private notify(request: Parameters<TerminalChannel['request']>[0]): void {
    this.use((ch, now) => ch.request(request, now, { timeoutMs: 60_000 }));
  }

  private callWithId(request: Parameters<TerminalChannel['request']>[0], timeoutMs: number) {
    let id = 0;
    const answer = new Promise<ResponseMessage>((resolve, reject) => {
      id = this.use((ch, now) => ch.request(request, now, { timeoutMs }));
      this.calls.set(id, { resolve: (e) => resolve(e.message), reject });
    });
    return { id, answer };
  }

  private use<T>(fn: (ch: TerminalChannel, now: number) => T): T {
    const r = fn(this.channel, this.now());
    this.flush();
    return r;
  }

  private onEvent(e: ChannelEvent): void {
    if (e.kind === 'request') this.onRequest(e.message);
    else if (e.kind === 'response' || e.kind === 'requestFailed') {
      const call = this.calls.get(e.request.requestId);
      if (!call) return;
      this.calls.delete(e.request.requestId);
      if (e.kind === 'response') call.resolve(e);
      else call.reject(e.error);
    } else if (e.kind === 'peerLost') this.log('host silent');
    else if (e.kind === 'protocolError') this.log(`protocol error: ${e.error.message}`);
  }

  private tryOpen(): void {
    if (!this.running || this.port) return;
    const device = this.deviceOf(this.opts.path);
    if (!device) {
      this.scheduleReopen();
      return;
    }
    const port = new SerialPortStream({
      binding: this.opts.binding ?? SerialPort.binding,
      path: this.opts.path,
      baudRate: this.opts.baudRate ?? 115200,
      autoOpen: false,
    });
    port.on('error', () => undefined);
    port.open((err) => {
      if (err || !this.running) {
        if (!err) port.close(() => undefined);
        this.scheduleReopen();
        return;
      }
      this.port = port;
      this.device = device;
      port.on('data', (chunk: Buffer) => {
        for (const piece of this.receiveFaults.apply(chunk)) this.channel.receive(piece, this.now());
        this.flush();
      });
      port.on('close', () => {
        if (this.port === port) this.drop('port closed');
      });
      this.channel.start(this.now());
      this.log(`opened ${this.opts.path}`);
      this.flush();
    });
  }

  private drop(why: string): void {
    const port = this.port;
    if (!port) return;
    this.port = undefined;
    this.device = undefined;
    this.channel.stop();
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    if (port.isOpen) port.close(() => undefined);
    this.log(`lost the port: ${why}`);
    this.emit('disconnected', why);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running) return;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => this.tryOpen(), 100);
  }

  private write(bytes: Uint8Array): void {
    const port = this.port;
    if (!port?.isOpen) return;
    for (const piece of this.sendFaults.apply(bytes)) port.write(piece);
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const out = this.channel.takeOutput();
        if (out.length > 0) {
          const bytes = Buffer.concat(out);
          if (this.sendFaults.holdBack() || this.heldTimer) {
            this.held.push(bytes);
            this.heldTimer ??= setTimeout(() => {
              this.heldTimer = undefined;
              const all = Buffer.concat(this.held.splice(0));
              this.write(all);
            }, 2);
          } else {
            this.write(bytes);
          }
        }
        const events = this.channel.takeEvents();
        for (const e of events) this.onEvent(e);
        if (out.length === 0 && events.length === 0) break;
      }
    } finally {
      this.flushing = false;
    }
    clearTimeout(this.timer);
    const d = this.channel.nextDeadline();
    if (d !== null && this.running) {
      this.timer = setTimeout(
        () => {
          this.channel.poll(this.now());
          this.flush();
        },
        Math.max(0, Math.ceil(d - this.now())),
      );
    }
  }
}

function fileDeviceId(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.rdev}`;
  } catch {
    return undefined;
  }
}
