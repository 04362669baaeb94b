import { EventEmitter } from 'node:events';
import {
  TERMINAL_PROTOCOL_VERSION,
  type ChannelEvent,
  type MessageOf,
  type OutgoingRequest,
  type ResponseMessage,
  type TerminalChannelOptions,
} from '../../../protocol/terminal/index.js';
import { TransportError } from '../../../protocol/transport.js';
import { PortDriver, type PortDriverOptions } from './port-driver.js';
import { TerminalCardReader, type TerminalSlotLink } from './terminal-card-reader.js';
import { SerialTerminalError, TerminalRefusedError } from './terminal-errors.js';
import type { SaleAnswer, SaleRequest, TerminalInfo } from './terminal-types.js';

export type { SaleAnswer, SaleRequest, TerminalInfo } from './terminal-types.js';
export {
  SerialTerminalError,
  TerminalRefusedError,
  PinPadUnsupportedError,
  isPinPadUnsupported,
} from './terminal-errors.js';

export interface SerialTerminalOptions extends PortDriverOptions {
  /** Deadline of one tunnelled APDU. Default 15000 ms. */
  apduTimeoutMs?: number;
  /** Deadline of display/beep/print requests. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Sent in HELLO. */
  hostName?: string;
}

export interface SerialTerminalEvents {
  /** HELLO answered: the terminal is usable. Also after every reconnect. */
  connected: [TerminalInfo];
  /** The link went away (port closed or vanished, terminal silent); reconnecting by itself. */
  disconnected: [SerialTerminalError];
  saleRequest: [SaleRequest];
  /** The terminal cancelled a sale in progress (its signal is aborted as well). */
  cancel: [{ saleRequestId: number }];
  /** Something worth logging that needs no action (open attempts failing, malformed messages). */
  warning: [string];
}

interface Call {
  expect: ResponseMessage['type'];
  resolve: (m: ResponseMessage) => void;
  reject: (e: Error) => void;
}

/**
 * A serial POS terminal (keypad, display, PIN pad, card slot, printer) on one serial port, speaking
 * docs/protocol.md §13. Start it and it keeps itself connected. Its slot is `cardReader` (a
 * CardReader whose APDUs are tunnelled; `cardReader.pinPad` asks for the PIN on the terminal).
 */
export class SerialTerminal extends EventEmitter<SerialTerminalEvents> implements TerminalSlotLink {
  readonly path: string;
  readonly cardReader: TerminalCardReader;
  private readonly driver: PortDriver;
  private readonly calls = new Map<number, Call>();
  private readonly sales = new Map<number, AbortController>();
  private readonly apduTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private infoValue: TerminalInfo | undefined;
  private connectedFlag = false;
  private helloId: number | undefined;

  constructor(private readonly opts: SerialTerminalOptions) {
    super();
    this.path = opts.path;
    this.apduTimeoutMs = opts.apduTimeoutMs ?? 15_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    const { apduTimeoutMs: _a, requestTimeoutMs: _r, hostName: _h, ...port } = opts;
    this.driver = new PortDriver(port);
    this.cardReader = new TerminalCardReader(this, `serial terminal ${opts.path}`);
    this.driver.on('open', () => this.hello());
    this.driver.on('lost', (why) => this.lost(why));
    this.driver.on('openFailed', (why) => this.emit('warning', `cannot open ${this.path}: ${why}; retrying`));
    this.driver.on('channel', (e) => this.onChannel(e));
  }

  /** The terminal's INFO, once connected. */
  get info(): TerminalInfo | undefined {
    return this.infoValue;
  }
  get connected(): boolean {
    return this.connectedFlag;
  }
  /** Link and channel counters (retransmissions, NAKs, duplicates, resends…). */
  get stats() {
    return {
      link: { ...this.driver.channel.linkStats },
      channel: { ...this.driver.channel.stats },
      reconnects: this.driver.reconnects,
    };
  }

  /** Open the port and keep it open (reconnecting with backoff). Returns at once; see `connected`/whenConnected(). */
  start(): this {
    this.driver.start();
    return this;
  }

  /** Resolves with INFO when connected (now or later); rejects with TERMINAL_TIMEOUT after timeoutMs. */
  whenConnected(timeoutMs = 10_000): Promise<TerminalInfo> {
    if (this.connectedFlag && this.infoValue) return Promise.resolve(this.infoValue);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', ok);
        reject(
          new SerialTerminalError(
            'TERMINAL_TIMEOUT',
            `the terminal on ${this.path} did not connect within ${timeoutMs} ms`,
            'check that the terminal is on and its cable plugged in, and the port path',
          ),
        );
      }, timeoutMs);
      const ok = (info: TerminalInfo) => {
        clearTimeout(t);
        resolve(info);
      };
      this.once('connected', ok);
    });
  }

  async close(): Promise<void> {
    await this.driver.stop();
    this.lost('closed by the host', false);
  }

  /** Show lines on the terminal's display (≤ 8 lines of ≤ 64 bytes). */
  async display(lines: string[]): Promise<void> {
    await this.call({ type: 'DISPLAY', lines }, 'OK', this.requestTimeoutMs);
  }
  async beep(tone: 'ok' | 'error' | 'attention' = 'ok', count = 1): Promise<void> {
    await this.call({ type: 'BEEP', tone, count }, 'OK', this.requestTimeoutMs);
  }
  /** Print lines on the terminal's printer. */
  async print(lines: string[], kind: 'receipt' | 'report' = 'receipt'): Promise<void> {
    await this.call({ type: 'PRINT', kind, lines }, 'OK', this.requestTimeoutMs);
  }

  /**
   * Send a request and wait for its answer. Rejects with TransportError READER_GONE when the link is
   * down or goes down, TIMEOUT when unanswered, or TerminalRefusedError (TERMINAL_REFUSED, with the
   * ERROR's code) for ERROR.
   * @internal used by TerminalCardReader
   */
  call<T extends ResponseMessage['type']>(
    request: OutgoingRequest,
    expect: T,
    timeoutMs: number,
    onId?: (id: number) => void,
  ): Promise<MessageOf<T>> {
    if (!this.connectedFlag) return Promise.reject(this.gone(`the terminal on ${this.path} is not connected`));
    return new Promise((resolve, reject) => {
      const id = this.driver.use((ch, now) => ch.request(request, now, { timeoutMs }));
      this.calls.set(id, { expect, resolve: resolve as (m: ResponseMessage) => void, reject });
      onId?.(id);
    });
  }

  /** @internal the APDU deadline for TerminalCardReader. */
  get apduTimeout(): number {
    return this.apduTimeoutMs;
  }

  /** @internal send a CANCEL for one of our requests (PIN entry) and forget it. */
  cancelRequest(requestId: number): void {
    const call = this.calls.get(requestId);
    this.calls.delete(requestId);
    this.driver.use((ch, now) => {
      ch.abandon(requestId);
      if (this.connectedFlag)
        ch.request({ type: 'CANCEL', target: requestId }, now, { timeoutMs: this.requestTimeoutMs });
    });
    call?.reject(new SerialTerminalError('TERMINAL_CANCELLED', 'the request was cancelled by the host', ''));
  }

  private gone(message: string): TransportError {
    return new TransportError(
      'READER_GONE',
      message,
      'the serial terminal link is down; it reconnects by itself — check the cable and power, then retry',
    );
  }

  private hello(): void {
    this.helloId = this.driver.use((ch, now) =>
      ch.request(
        {
          type: 'HELLO',
          protocolVersion: TERMINAL_PROTOCOL_VERSION,
          ...(this.opts.hostName ? { host: this.opts.hostName } : {}),
        },
        now,
        { timeoutMs: 60_000 * 60 },
      ),
    );
  }

  private lost(why: string, reconnecting = true): void {
    const wasConnected = this.connectedFlag;
    this.connectedFlag = false;
    const error = this.gone(`the terminal on ${this.path} went away (${why})`);
    for (const [id, call] of this.calls) {
      this.driver.channel.abandon(id);
      call.reject(error);
    }
    this.calls.clear();
    if (this.helloId !== undefined) this.driver.channel.abandon(this.helloId);
    this.helloId = undefined;
    this.cardReader.linkLost();
    if (wasConnected) {
      this.emit(
        'disconnected',
        new SerialTerminalError(
          'TERMINAL_DISCONNECTED',
          `the terminal on ${this.path} went away: ${why}`,
          reconnecting
            ? "reconnecting by itself; check the cable and the terminal's power if it does not come back"
            : 'the host closed the port',
        ),
      );
    }
  }

  private onChannel(e: ChannelEvent): void {
    switch (e.kind) {
      case 'response': {
        if (e.request.requestId === this.helloId && e.message.type === 'INFO') {
          const m = e.message;
          this.helloId = undefined;
          this.infoValue = {
            model: m.model,
            serial: m.serial,
            firmware: m.firmware,
            protocolVersion: m.protocolVersion,
            capabilities: m.capabilities,
          };
          this.connectedFlag = true;
          this.cardReader.linkUp(m.capabilities.extendedLength, m.cardPresent, m.atr);
          this.emit('connected', this.infoValue);
          return;
        }
        const call = this.calls.get(e.request.requestId);
        if (!call) return;
        this.calls.delete(e.request.requestId);
        if (e.message.type === 'ERROR') {
          call.reject(refused(e.message));
        } else if (e.message.type !== call.expect) {
          call.reject(
            new SerialTerminalError(
              'TERMINAL_REFUSED',
              `the terminal answered ${e.request.type} with ${e.message.type}`,
              'a terminal firmware bug; report it',
            ),
          );
        } else {
          call.resolve(e.message);
        }
        return;
      }
      case 'requestFailed': {
        const call = this.calls.get(e.request.requestId);
        this.calls.delete(e.request.requestId);
        call?.reject(
          new TransportError('TIMEOUT', `${e.request.type}: ${e.error.message}`, e.error.hint, { cause: e.error }),
        );
        return;
      }
      case 'request':
        this.onRequest(e.message);
        return;
      case 'peerSync':
        // The terminal restarted its link (rebooted, or reopened its port): introduce ourselves again.
        if (this.connectedFlag || this.helloId === undefined) {
          this.lost('the terminal restarted its link');
          this.hello();
        }
        return;
      case 'peerLost':
        this.driver.drop('no answer to heartbeats');
        return;
      case 'peerAlive':
        return;
      case 'protocolError':
        this.emit('warning', `terminal ${this.path}: ${e.error.message}`);
        return;
    }
  }

  private onRequest(m: Extract<ChannelEvent, { kind: 'request' }>['message']): void {
    const ok = () => this.driver.use((ch, now) => ch.respond(m.requestId, { type: 'OK' }, now));
    switch (m.type) {
      case 'SALE_REQUEST':
        this.onSale(m);
        return;
      case 'CARD_EVENT':
        ok();
        this.cardReader.cardEvent(m.event, m.atr);
        return;
      case 'CANCEL': {
        ok();
        const sale = this.sales.get(m.target);
        if (sale) {
          sale.abort();
          this.emit('cancel', { saleRequestId: m.target });
        }
        return;
      }
      default:
        this.driver.use((ch, now) =>
          ch.respond(
            m.requestId,
            { type: 'ERROR', code: 'UNSUPPORTED', message: `the host does not handle ${m.type}` },
            now,
          ),
        );
    }
  }

  private onSale(m: MessageOf<'SALE_REQUEST'>): void {
    const abort = new AbortController();
    this.sales.set(m.requestId, abort);
    let answered = false;
    const sale: SaleRequest = {
      requestId: m.requestId,
      amount: m.amount,
      currency: m.currency,
      ...(m.reference ? { reference: m.reference } : {}),
      terminalSerial: this.infoValue?.serial ?? '',
      signal: abort.signal,
      status: async (status) => {
        if (!this.connectedFlag || answered) return;
        try {
          await this.call({ type: 'SALE_STATUS', saleRequestId: m.requestId, status }, 'OK', this.requestTimeoutMs);
        } catch {
          /* progress only */
        }
      },
      respond: (answer) => {
        if (answered) return;
        answered = true;
        this.sales.delete(m.requestId);
        this.driver.use((ch, now) => ch.respond(m.requestId, { type: 'SALE_RESULT', ...answer }, now));
      },
    };
    this.emit('saleRequest', sale);
  }
}

function refused(m: MessageOf<'ERROR'>): Error {
  if (m.code === 'NO_CARD')
    return new TransportError(
      'NO_CARD',
      `the terminal reports: ${m.message}`,
      "insert the card in the terminal's slot",
    );
  if (m.code === 'CARD_REMOVED' || m.code === 'CARD_MUTE')
    return new TransportError('CARD_REMOVED', `the terminal reports: ${m.message}`, 'insert the card again and retry');
  return new TerminalRefusedError(m.code, `the terminal refused the request: ${m.code}: ${m.message}`);
}
