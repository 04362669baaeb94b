import { Socket, connect } from 'node:net';
import { EventEmitter } from 'node:events';

/**
 * The simulated card's side of the vsmartcard "vpcd" protocol (the vpcd driver inside pcscd is
 * the server; a virtual card connects to it). Every message is a 2-byte big-endian length and a
 * payload. One-byte payloads are control messages from pcscd: 0 power off, 1 power on, 2 reset,
 * 4 get ATR. Anything longer is a command APDU, answered with the response APDU.
 * Connected = card inserted; disconnected = card removed.
 */

export interface VirtualCard {
  atr(): Uint8Array;
  powerOn(): void;
  powerOff(): void;
  reset(): void;
  transmit(apdu: Uint8Array): Uint8Array;
}

export const VPCD_DEFAULT_PORT = 35963;

const CTRL_OFF = 0,
  CTRL_ON = 1,
  CTRL_RESET = 2,
  CTRL_ATR = 4;

export interface VpcdLinkEvents {
  connected: [];
  disconnected: [reason: string];
  /** The vpcd port did not answer (once per run of failed attempts; the link keeps retrying). */
  unreachable: [reason: string];
  error: [Error];
}

export interface VpcdLinkOptions {
  host: string;
  port: number;
  /** Reconnect after pcscd restarts or the link drops (ms between tries; 0 disables). */
  reconnectMs?: number;
}

export class VpcdLink extends EventEmitter<VpcdLinkEvents> {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private wantInserted = false;
  private timer: NodeJS.Timeout | undefined;
  private connectedFlag = false;
  private reportedUnreachable = false;
  private pullMatch: ((apdu: Uint8Array) => boolean) | undefined;
  private stallMatch: ((apdu: Uint8Array) => boolean) | undefined;
  private stalled = false;

  constructor(
    private readonly card: VirtualCard,
    private readonly opts: VpcdLinkOptions,
  ) {
    super();
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  /** Put the card in the reader: connect, and keep reconnecting while inserted. */
  insert(): void {
    this.wantInserted = true;
    if (!this.socket) this.dial();
  }

  /** Take the card out: close the link; pcscd sees the card removed. */
  remove(): Promise<void> {
    this.wantInserted = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const s = this.socket;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  /**
   * Fault for tests and QA: during the next command `match` picks, pull the card out. The card carries
   * the command out (a signature is made, the counter moves) and the answer never reaches the reader,
   * as when a customer pulls the card at the wrong moment.
   */
  pullDuring(match: (apdu: Uint8Array) => boolean): void {
    this.pullMatch = match;
  }

  /**
   * Fault for tests and QA: during the next command `match` picks, the card carries the command out and
   * then stops answering (a card or reader that hangs), until it is removed. Nothing it is sent after
   * that is answered either.
   */
  stallDuring(match: (apdu: Uint8Array) => boolean): void {
    this.stallMatch = match;
  }

  private dial(): void {
    const socket = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connectedFlag = true;
      this.reportedUnreachable = false;
      this.emit('connected');
    });
    socket.on('data', (chunk) => this.onData(socket, chunk));
    socket.on('error', (err) => {
      if (this.connectedFlag) {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        return;
      }
      if (!this.reportedUnreachable) {
        this.reportedUnreachable = true;
        this.emit('unreachable', (err as NodeJS.ErrnoException).code ?? err.message);
      }
    });
    socket.on('close', () => {
      const was = this.connectedFlag;
      this.connectedFlag = false;
      this.socket = undefined;
      this.buffer = Buffer.alloc(0);
      this.stalled = false;
      this.card.powerOff(); // removal and a pcscd restart both cut the card's power
      if (was) this.emit('disconnected', this.wantInserted ? 'link dropped' : 'removed');
      const every = this.opts.reconnectMs ?? 500;
      if (this.wantInserted && every > 0)
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.wantInserted) this.dial();
        }, every);
    });
  }

  private onData(socket: Socket, chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 2) {
      const len = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + len) return;
      const msg = this.buffer.subarray(2, 2 + len);
      this.buffer = this.buffer.subarray(2 + len);
      if (this.stalled) continue; // hung: nothing is answered until the card is removed
      const pull = msg.length > 1 && this.pullMatch?.(msg) === true;
      const stall = msg.length > 1 && this.stallMatch?.(msg) === true;
      const reply = this.handle(msg);
      if (stall) {
        this.stallMatch = undefined;
        this.stalled = true;
        continue;
      }
      if (pull) {
        this.pullMatch = undefined;
        void this.remove();
        return;
      }
      if (reply) {
        const out = Buffer.alloc(2 + reply.length);
        out.writeUInt16BE(reply.length, 0);
        out.set(reply, 2);
        socket.write(out);
      }
    }
  }

  private handle(msg: Buffer): Uint8Array | undefined {
    if (msg.length === 1) {
      switch (msg[0]) {
        case CTRL_OFF:
          this.card.powerOff();
          return undefined;
        case CTRL_ON:
          this.card.powerOn();
          return undefined;
        case CTRL_RESET:
          this.card.reset();
          return undefined;
        case CTRL_ATR:
          return this.card.atr();
        default:
          return undefined; // unknown control byte: vpcd expects no answer
      }
    }
    return this.card.transmit(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
  }
}
