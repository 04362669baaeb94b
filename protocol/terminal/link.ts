import {
  FRAME_ACK,
  FRAME_DATA,
  FRAME_NAK,
  FrameDecoder,
  MAX_PAYLOAD,
  encodeAck,
  encodeData,
  encodeNak,
  type FrameErrorCode,
  type FrameEvent,
} from '../framing/serial-frame.js';
import { TerminalLinkError, type TerminalLinkErrorCode } from './errors.js';

/**
 * The serial terminal link (docs/protocol.md §13.1–§13.2) on top of the frame codec of §10:
 * stop-and-wait ARQ in each direction, independently (full duplex). Every DATA frame is ACKed;
 * a damaged DATA frame whose header survived is NAKed (early retransmission); an unACKed frame is
 * retransmitted on time-out up to maxRetries times, then the message fails with LINK_RETRY_LIMIT.
 * A repeated DATA frame (its ACK was lost) is ACKed again but not delivered twice.
 *
 * DATA payload = link byte ‖ fragment. Messages longer than maxFragment are split, so a noisy line
 * loses small frames rather than whole messages. A SYNC frame starts a new link epoch (after the
 * port opens) so the peer forgets its duplicate state.
 *
 * Pure: no I/O, no timers. The caller feeds bytes and the time (`nowMs`, any monotonic clock),
 * calls poll(nowMs) at nextDeadline(), and writes what takeOutput() returns.
 */

/** Link byte flags (first byte of every DATA payload). */
export const LINK_MORE = 0x01;
export const LINK_CONT = 0x02;
export const LINK_SYNC = 0x80;
const LINK_RESERVED = ~(LINK_MORE | LINK_CONT | LINK_SYNC) & 0xff;

export interface SerialLinkOptions {
  /** Wait this long for an ACK before retransmitting (plus the frame's time on the line). Default 250 ms. */
  ackTimeoutMs?: number;
  /** Line time per byte, added to the ACK time-out for long frames. Default 0.09 ms (115200 baud). */
  msPerByte?: number;
  /** Retransmissions of one frame before its message fails with LINK_RETRY_LIMIT. Default 8. */
  maxRetries?: number;
  /** Give up on a partial frame when no byte arrived for this long. Default 50 ms. */
  interByteTimeoutMs?: number;
  /** Largest fragment (message bytes per DATA frame), 1…2047. Default 240. */
  maxFragment?: number;
  /** Largest message sent or reassembled. Default 16384 bytes. */
  maxMessageSize?: number;
  /** Messages that may wait for the link. Default 64. */
  maxQueue?: number;
}

export type LinkEvent =
  /** A whole message from the peer, delivered once. */
  | { kind: 'message'; payload: Uint8Array }
  /** Every fragment of message `id` was ACKed. */
  | { kind: 'delivered'; id: number }
  /** Message `id` was given up (retry limit, or the link was reset under it). */
  | { kind: 'failed'; id: number; error: TerminalLinkError }
  /** The peer started a new link epoch (it opened the port or restarted). */
  | { kind: 'sync' }
  /** A refused frame or fragment (informational: the link recovers by itself). */
  | { kind: 'frameError'; code: FrameErrorCode | TerminalLinkErrorCode; message: string };

export interface SerialLinkStats {
  framesSent: number;
  dataFramesSent: number;
  retransmissions: number;
  acksSent: number;
  naksSent: number;
  naksReceived: number;
  framesReceived: number;
  duplicatesReceived: number;
  frameErrors: number;
  garbageBytes: number;
  messagesSent: number;
  messagesReceived: number;
  messagesFailed: number;
  syncsReceived: number;
}

interface Outgoing {
  id: number;
  /** DATA payloads (link byte ‖ fragment), in order; a SYNC is a one-element message. */
  fragments: Uint8Array[];
  next: number;
}

interface InFlight {
  seq: number;
  frame: Uint8Array;
  deadline: number;
  retries: number;
}

export class SerialLink {
  private readonly ackTimeoutMs: number;
  private readonly msPerByte: number;
  private readonly maxRetries: number;
  private readonly interByteTimeoutMs: number;
  private readonly maxFragment: number;
  readonly maxMessageSize: number;
  private readonly maxQueue: number;

  private readonly decoder = new FrameDecoder();
  private readonly queue: Outgoing[] = [];
  private inFlight: InFlight | undefined;
  private nextSeq = 0;
  private nextId = 1;
  /** SEQ of the last DATA frame accepted from the peer (null: none yet in this epoch). */
  private lastSeq: number | null = null;
  private partial: Uint8Array[] | null = null;
  private partialSize = 0;
  /** After an oversize message: drop its remaining fragments. */
  private discarding = false;
  private lastByteMs = 0;
  private lastNow = 0;
  private output: Uint8Array[] = [];
  private events: LinkEvent[] = [];
  /** When a valid frame last came from the peer (for heartbeat time-outs); null before the first. */
  lastHeardMs: number | null = null;
  readonly stats: SerialLinkStats = {
    framesSent: 0,
    dataFramesSent: 0,
    retransmissions: 0,
    acksSent: 0,
    naksSent: 0,
    naksReceived: 0,
    framesReceived: 0,
    duplicatesReceived: 0,
    frameErrors: 0,
    garbageBytes: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesFailed: 0,
    syncsReceived: 0,
  };

  constructor(options: SerialLinkOptions = {}) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 250;
    this.msPerByte = options.msPerByte ?? 0.09;
    this.maxRetries = options.maxRetries ?? 8;
    this.interByteTimeoutMs = options.interByteTimeoutMs ?? 50;
    this.maxFragment = options.maxFragment ?? 240;
    this.maxMessageSize = options.maxMessageSize ?? 16384;
    this.maxQueue = options.maxQueue ?? 64;
    if (!Number.isInteger(this.maxFragment) || this.maxFragment < 1 || this.maxFragment > MAX_PAYLOAD - 1) {
      throw new RangeError(`SerialLink: maxFragment must be 1…${MAX_PAYLOAD - 1}, got ${String(this.maxFragment)}`);
    }
    for (const [k, v] of Object.entries({
      ackTimeoutMs: this.ackTimeoutMs,
      interByteTimeoutMs: this.interByteTimeoutMs,
      maxMessageSize: this.maxMessageSize,
      maxQueue: this.maxQueue,
    })) {
      if (!(v > 0)) throw new RangeError(`SerialLink: ${k} must be positive, got ${String(v)}`);
    }
    if (!(this.maxRetries >= 0) || !(this.msPerByte >= 0))
      throw new RangeError('SerialLink: maxRetries and msPerByte must be ≥ 0');
  }

  /**
   * Start a new epoch (the port just opened): everything queued or in flight fails with LINK_CLOSED,
   * the decoder is reset, and a SYNC frame goes first so the peer forgets its duplicate state.
   */
  start(nowMs: number): void {
    nowMs = this.clock(nowMs);
    this.close('the link was restarted');
    this.decoder.reset();
    this.output = [];
    this.queue.push({ id: 0, fragments: [Uint8Array.of(LINK_SYNC)], next: 0 });
    this.pump(nowMs);
  }

  /** Fail everything queued or in flight with LINK_CLOSED (the port went away). */
  close(why = 'the serial port closed'): void {
    this.inFlight = undefined;
    for (const m of this.queue.splice(0))
      if (m.id !== 0) this.fail(m.id, 'LINK_CLOSED', `message ${m.id} not delivered: ${why}`);
    this.lastSeq = null;
    this.partial = null;
    this.partialSize = 0;
    this.discarding = false;
  }

  /** Queue one message; returns its id (for 'delivered'/'failed'). Throws TerminalLinkError when too large or the queue is full. */
  send(payload: Uint8Array, nowMs: number): number {
    nowMs = this.clock(nowMs);
    if (payload.length > this.maxMessageSize) {
      throw new TerminalLinkError(
        'LINK_MESSAGE_TOO_LARGE',
        `message of ${payload.length} bytes exceeds the link maximum of ${this.maxMessageSize}`,
      );
    }
    if (this.queue.length >= this.maxQueue)
      throw new TerminalLinkError('LINK_QUEUE_FULL', `${this.queue.length} messages already wait for the link`);
    const fragments: Uint8Array[] = [];
    for (let off = 0; off < payload.length || fragments.length === 0; off += this.maxFragment) {
      const end = Math.min(payload.length, off + this.maxFragment);
      const f = new Uint8Array(1 + end - off);
      f[0] = (off > 0 ? LINK_CONT : 0) | (end < payload.length ? LINK_MORE : 0);
      f.set(payload.subarray(off, end), 1);
      fragments.push(f);
    }
    const id = this.nextId++;
    this.queue.push({ id, fragments, next: 0 });
    this.pump(nowMs);
    return id;
  }

  /**
   * Withdraw a message that is queued or in flight (its requester gave up), so a stale request is
   * not delivered later. One already partly or wholly received by the peer may still arrive there.
   */
  cancel(id: number, nowMs: number): void {
    const i = this.queue.findIndex((m) => m.id === id);
    if (i < 0 || id === 0) return;
    this.queue.splice(i, 1);
    if (i === 0) this.inFlight = undefined;
    this.pump(this.clock(nowMs));
  }

  /** Messages queued or in flight (not yet delivered or failed). */
  get pendingMessages(): number {
    return this.queue.filter((m) => m.id !== 0).length;
  }

  /** Bytes received from the line, in any chunking. Never throws. */
  receive(bytes: Uint8Array, nowMs: number): void {
    nowMs = this.clock(nowMs);
    this.lastByteMs = nowMs;
    this.handle(this.decoder.push(bytes), nowMs);
    this.pump(nowMs);
  }

  /** Run time-outs (retransmission, inter-byte). Call at nextDeadline() or later. */
  poll(nowMs: number): void {
    nowMs = this.clock(nowMs);
    if (this.decoder.pending() > 0 && nowMs - this.lastByteMs >= this.interByteTimeoutMs) {
      this.handle(this.decoder.abandonPartial(), nowMs);
      this.lastByteMs = nowMs; // what is still pending after re-parsing gets its own time-out
    }
    const f = this.inFlight;
    if (f && nowMs >= f.deadline) this.retransmit(nowMs);
    this.pump(nowMs);
  }

  /** When poll() next has work (same clock as nowMs), or null when idle. */
  nextDeadline(): number | null {
    let d: number | null = this.inFlight ? this.inFlight.deadline : null;
    if (this.decoder.pending() > 0) {
      const t = this.lastByteMs + this.interByteTimeoutMs;
      if (d === null || t < d) d = t;
    }
    return d;
  }

  /** Frames to write to the line, in order (the caller may concatenate them). */
  takeOutput(): Uint8Array[] {
    const o = this.output;
    this.output = [];
    return o;
  }

  takeEvents(): LinkEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private clock(nowMs: number): number {
    if (Number.isFinite(nowMs)) this.lastNow = nowMs;
    return this.lastNow;
  }

  private emitFrame(frame: Uint8Array): void {
    this.output.push(frame);
    this.stats.framesSent++;
  }

  private pump(nowMs: number): void {
    if (this.inFlight) return;
    const m = this.queue[0];
    if (!m) return;
    const fragment = m.fragments[m.next]!;
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xff;
    const frame = encodeData(seq, fragment);
    this.inFlight = { seq, frame, deadline: nowMs + this.ackTimeout(frame), retries: 0 };
    this.emitFrame(frame);
    this.stats.dataFramesSent++;
  }

  private ackTimeout(frame: Uint8Array): number {
    return this.ackTimeoutMs + Math.ceil(frame.length * this.msPerByte);
  }

  private retransmit(nowMs: number): void {
    const f = this.inFlight;
    if (!f) return;
    const m = this.queue[0]!;
    if (f.retries >= this.maxRetries && m.id !== 0) {
      this.queue.shift();
      this.inFlight = undefined;
      this.fail(
        m.id,
        'LINK_RETRY_LIMIT',
        `message ${m.id}: frame SEQ ${f.seq} was not acknowledged after ${f.retries + 1} transmissions`,
      );
      this.pump(nowMs);
      return;
    }
    // A SYNC is retried until the peer answers: nothing may be sent before the peer's duplicate state is reset.
    f.retries++;
    f.deadline = nowMs + this.ackTimeout(f.frame);
    this.stats.retransmissions++;
    this.emitFrame(f.frame);
  }

  private fail(id: number, code: TerminalLinkErrorCode, message: string): void {
    this.stats.messagesFailed++;
    this.events.push({ kind: 'failed', id, error: new TerminalLinkError(code, message) });
  }

  private frameError(code: FrameErrorCode | TerminalLinkErrorCode, message: string): void {
    this.stats.frameErrors++;
    this.events.push({ kind: 'frameError', code, message });
  }

  private handle(events: FrameEvent[], nowMs: number): void {
    for (const ev of events) {
      if (ev.kind === 'garbage') {
        this.stats.garbageBytes += ev.bytes;
      } else if (ev.kind === 'error') {
        this.frameError(ev.code, ev.message);
        // The header passed its CRC-8, so SEQ is trustworthy: ask for that DATA frame again now.
        if (
          ev.type === FRAME_DATA &&
          ev.seq !== undefined &&
          (ev.code === 'FRAME_PAYLOAD_CRC' || ev.code === 'FRAME_INCOMPLETE')
        ) {
          this.emitFrame(encodeNak(ev.seq));
          this.stats.naksSent++;
        }
      } else {
        this.stats.framesReceived++;
        this.lastHeardMs = nowMs;
        const { type, seq, payload } = ev.frame;
        if (type === FRAME_ACK) this.onAck(seq, nowMs);
        else if (type === FRAME_NAK) this.onNak(seq, nowMs);
        else this.onData(seq, payload);
      }
    }
  }

  private onAck(seq: number, nowMs: number): void {
    const f = this.inFlight;
    if (!f || f.seq !== seq) return; // stale ACK of an earlier (re)transmission
    this.inFlight = undefined;
    const m = this.queue[0]!;
    m.next++;
    if (m.next >= m.fragments.length) {
      this.queue.shift();
      if (m.id !== 0) {
        this.stats.messagesSent++;
        this.events.push({ kind: 'delivered', id: m.id });
      }
    }
    this.pump(nowMs);
  }

  private onNak(seq: number, nowMs: number): void {
    this.stats.naksReceived++;
    if (this.inFlight && this.inFlight.seq === seq) this.retransmit(nowMs);
  }

  private ack(seq: number): void {
    this.emitFrame(encodeAck(seq));
    this.stats.acksSent++;
  }

  private onData(seq: number, payload: Uint8Array): void {
    if (
      payload.length === 0 ||
      (payload[0]! & LINK_RESERVED) !== 0 ||
      (payload[0]! & LINK_SYNC && payload.length !== 1)
    ) {
      // Not ACKed: a frame this link cannot read must not look delivered.
      this.frameError(
        'LINK_BAD_FRAGMENT',
        `DATA frame SEQ ${seq}: ${payload.length === 0 ? 'no link byte' : `link byte 0x${payload[0]!.toString(16)} is not valid`}`,
      );
      return;
    }
    const flags = payload[0]!;
    if (flags & LINK_SYNC) {
      this.ack(seq);
      this.stats.syncsReceived++;
      this.lastSeq = seq;
      this.partial = null;
      this.partialSize = 0;
      this.discarding = false;
      this.events.push({ kind: 'sync' });
      return;
    }
    this.ack(seq);
    if (this.lastSeq === seq) {
      this.stats.duplicatesReceived++; // our ACK was lost and the peer sent it again
      return;
    }
    this.lastSeq = seq;
    const fragment = payload.subarray(1);
    if (!(flags & LINK_CONT)) {
      if (this.partial)
        this.frameError(
          'LINK_PARTIAL_DROPPED',
          `a message was abandoned after ${this.partialSize} bytes: a new one started`,
        );
      this.partial = [];
      this.partialSize = 0;
      this.discarding = false;
    } else if (!this.partial) {
      if (!this.discarding)
        this.frameError('LINK_BAD_FRAGMENT', `DATA frame SEQ ${seq}: a continuation without the start of its message`);
      if (!(flags & LINK_MORE)) this.discarding = false;
      return;
    }
    this.partialSize += fragment.length;
    if (this.partialSize > this.maxMessageSize) {
      this.frameError('LINK_MESSAGE_TOO_LARGE', `incoming message exceeds ${this.maxMessageSize} bytes; dropped`);
      this.partial = null;
      this.partialSize = 0;
      this.discarding = (flags & LINK_MORE) !== 0;
      return;
    }
    this.partial.push(fragment.slice());
    if (flags & LINK_MORE) return;
    const message = new Uint8Array(this.partialSize);
    let off = 0;
    for (const p of this.partial) {
      message.set(p, off);
      off += p.length;
    }
    this.partial = null;
    this.partialSize = 0;
    this.stats.messagesReceived++;
    this.events.push({ kind: 'message', payload: message });
  }
}
