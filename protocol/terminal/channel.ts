import { DecodeError, EncodeError } from '../errors.js';
import { SerialLink, type SerialLinkOptions, type SerialLinkStats } from './link.js';
import { TerminalLinkError } from './errors.js';
import {
  MAX_REQUEST_ID,
  answers,
  decodeMessage,
  encodeMessage,
  isRequest,
  peekRequest,
  type RequestMessage,
  type ResponseMessage,
  type TerminalMessage,
} from './messages.js';
import { RequestCache } from './request-cache.js';

/**
 * Requests and responses over the serial link (docs/protocol.md §13.5), the same on both ends:
 * every request gets a requestId and is re-sent under that id until answered or its deadline
 * passes; incoming requests go through a RequestCache so a repeat is answered from the cache and
 * never executed twice. Heartbeats keep an idle line checked; silence past peerTimeoutMs is
 * reported (the serial port may be gone without a 'close' event).
 *
 * Pure: the owner feeds bytes and time, writes takeOutput(), handles takeEvents(), and calls
 * poll(nowMs) at nextDeadline().
 */
export interface TerminalChannelOptions {
  link?: SerialLinkOptions;
  /** Re-send an unanswered request (same requestId) this often. Default 2000 ms. */
  resendMs?: number;
  /** Default deadline of a request. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Send a HEARTBEAT after this long without sending anything. Default 2000 ms. */
  heartbeatMs?: number;
  /** Report peerLost after this long without a valid frame from the peer. Default 3 × heartbeatMs. */
  peerTimeoutMs?: number;
  /** Requests remembered for duplicate suppression. Default 256. */
  cacheSize?: number;
  /** First requestId (then +1 each). Default: random below 2^48, so ids stay unique across restarts. */
  firstRequestId?: number;
}

/** A request to send: everything but the requestId, which the channel assigns. */
export type OutgoingRequest = RequestMessage extends infer M
  ? M extends RequestMessage
    ? Omit<M, 'requestId'>
    : never
  : never;
export type OutgoingResponse = ResponseMessage extends infer M
  ? M extends ResponseMessage
    ? Omit<M, 'requestId'>
    : never
  : never;

export type ChannelEvent =
  /** A new request from the peer: answer it exactly once with respond(). Repeats never show up here. */
  | { kind: 'request'; message: RequestMessage }
  /** The answer to one of our requests. */
  | { kind: 'response'; request: RequestMessage; message: ResponseMessage }
  /** One of our requests got no answer before its deadline (REQUEST_TIMEOUT) or was abandoned. */
  | { kind: 'requestFailed'; request: RequestMessage; error: TerminalLinkError }
  /** The peer (re)started its link: it opened the port or restarted. */
  | { kind: 'peerSync' }
  /** Nothing valid heard from the peer for peerTimeoutMs. */
  | { kind: 'peerLost' }
  /** The peer was heard again after peerLost (or for the first time). */
  | { kind: 'peerAlive' }
  /** A message that failed to decode, or a response nobody asked for (informational). */
  | { kind: 'protocolError'; error: DecodeError | TerminalLinkError };

export interface ChannelStats {
  requestsSent: number;
  requestResends: number;
  requestsFailed: number;
  requestsReceived: number;
  duplicateRequests: number;
  responsesReplayed: number;
  invalidMessages: number;
  heartbeatsSent: number;
}

interface Pending {
  message: RequestMessage;
  bytes: Uint8Array;
  deadline: number;
  resendAt: number;
  /** Link message id while the request is queued or in flight on the link. */
  linkId: number | undefined;
  internal: boolean;
}

export class TerminalChannel {
  readonly link: SerialLink;
  private readonly resendMs: number;
  private readonly requestTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly peerTimeoutMs: number;
  private readonly cache: RequestCache;
  private nextRequestId: number;
  private readonly pending = new Map<number, Pending>();
  private readonly linkIds = new Map<number, number>();
  private events: ChannelEvent[] = [];
  private lastSentMs = 0;
  private startedMs = 0;
  private peerLost = false;
  private heardOnce = false;
  private started = false;
  private lastNow = 0;
  readonly stats: ChannelStats = {
    requestsSent: 0,
    requestResends: 0,
    requestsFailed: 0,
    requestsReceived: 0,
    duplicateRequests: 0,
    responsesReplayed: 0,
    invalidMessages: 0,
    heartbeatsSent: 0,
  };

  constructor(options: TerminalChannelOptions = {}) {
    this.link = new SerialLink(options.link);
    this.resendMs = options.resendMs ?? 2000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.peerTimeoutMs = options.peerTimeoutMs ?? 3 * this.heartbeatMs;
    this.cache = new RequestCache(options.cacheSize ?? 256);
    this.nextRequestId = options.firstRequestId ?? randomFirstId();
    if (!Number.isSafeInteger(this.nextRequestId) || this.nextRequestId < 1)
      throw new RangeError('TerminalChannel: firstRequestId must be a positive safe integer');
  }

  get linkStats(): SerialLinkStats {
    return this.link.stats;
  }
  /** Our requests still waiting for an answer. */
  get pendingRequests(): number {
    return [...this.pending.values()].filter((p) => !p.internal).length;
  }

  /** The port opened: start a link epoch. Requests still pending are re-sent on their schedule. */
  start(nowMs: number): void {
    nowMs = this.clock(nowMs);
    this.link.start(nowMs);
    this.linkIds.clear();
    for (const p of this.pending.values()) {
      p.linkId = undefined;
      p.resendAt = Math.min(p.resendAt, nowMs);
    }
    this.started = true;
    this.startedMs = nowMs;
    this.lastSentMs = nowMs;
    this.peerLost = false;
    this.heardOnce = false;
    this.collect(nowMs);
  }

  /** The port closed: the link drops what it holds; pending requests stay (abandon them, or they are re-sent after start()). */
  stop(): void {
    this.started = false;
    this.link.close();
    this.linkIds.clear();
    for (const p of this.pending.values()) p.linkId = undefined;
    this.link.takeEvents();
    this.link.takeOutput();
  }

  /** Send a request; returns its requestId. The answer arrives as a 'response' event (or 'requestFailed'). */
  request(message: OutgoingRequest, nowMs: number, opts: { timeoutMs?: number } = {}): number {
    nowMs = this.clock(nowMs);
    const requestId = this.nextRequestId;
    this.nextRequestId = this.nextRequestId >= MAX_REQUEST_ID ? 1 : this.nextRequestId + 1;
    const full = { ...message, requestId } as RequestMessage;
    const bytes = encodeMessage(full);
    if (bytes.length > this.link.maxMessageSize) {
      throw new TerminalLinkError(
        'LINK_MESSAGE_TOO_LARGE',
        `${full.type} of ${bytes.length} bytes exceeds the link maximum of ${this.link.maxMessageSize}`,
      );
    }
    const internal = full.type === 'HEARTBEAT';
    const p: Pending = {
      message: full,
      bytes,
      deadline: nowMs + (opts.timeoutMs ?? this.requestTimeoutMs),
      resendAt: nowMs,
      linkId: undefined,
      internal,
    };
    this.pending.set(requestId, p);
    this.stats.requestsSent++;
    this.transmit(p, nowMs);
    this.collect(nowMs);
    return requestId;
  }

  /** Forget one of our requests (the caller gave up); a late answer is then ignored. */
  abandon(requestId: number): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    if (p.linkId !== undefined) {
      this.linkIds.delete(p.linkId);
      this.link.cancel(p.linkId, this.lastNow);
    }
  }

  /** Answer a request from the peer (once). The response is cached for repeats of the request. */
  respond(requestId: number, response: OutgoingResponse, nowMs: number): void {
    nowMs = this.clock(nowMs);
    const bytes = encodeMessage({ ...response, requestId } as ResponseMessage);
    this.cache.complete(requestId, bytes);
    this.sendRaw(bytes, nowMs);
    this.collect(nowMs);
  }

  receive(bytes: Uint8Array, nowMs: number): void {
    nowMs = this.clock(nowMs);
    this.link.receive(bytes, nowMs);
    this.collect(nowMs);
  }

  poll(nowMs: number): void {
    nowMs = this.clock(nowMs);
    this.link.poll(nowMs);
    this.collect(nowMs);
    for (const [id, p] of this.pending) {
      if (nowMs >= p.deadline) {
        this.abandon(id);
        if (!p.internal) {
          this.stats.requestsFailed++;
          this.events.push({
            kind: 'requestFailed',
            request: p.message,
            error: new TerminalLinkError('REQUEST_TIMEOUT', `${p.message.type} request ${id} got no answer in time`),
          });
        }
      } else if (this.started && p.linkId === undefined && nowMs >= p.resendAt) {
        this.stats.requestResends++;
        this.transmit(p, nowMs);
      }
    }
    if (this.started && nowMs - this.lastSentMs >= this.heartbeatMs && this.link.pendingMessages === 0) {
      this.stats.heartbeatsSent++;
      this.request({ type: 'HEARTBEAT' }, nowMs, { timeoutMs: this.heartbeatMs });
    }
    const heard = this.link.lastHeardMs;
    if (
      this.started &&
      !this.peerLost &&
      nowMs - Math.max(heard ?? this.startedMs, this.startedMs) >= this.peerTimeoutMs
    ) {
      this.peerLost = true;
      this.events.push({ kind: 'peerLost' });
    }
    this.collect(nowMs);
  }

  nextDeadline(): number | null {
    let d = this.link.nextDeadline();
    const at = (t: number) => {
      if (d === null || t < d) d = t;
    };
    for (const p of this.pending.values()) {
      at(p.deadline);
      if (this.started && p.linkId === undefined) at(p.resendAt);
    }
    if (this.started) {
      if (this.link.pendingMessages === 0) at(this.lastSentMs + this.heartbeatMs);
      if (!this.peerLost) at(Math.max(this.link.lastHeardMs ?? this.startedMs, this.startedMs) + this.peerTimeoutMs);
    }
    return d;
  }

  takeOutput(): Uint8Array[] {
    return this.link.takeOutput();
  }

  takeEvents(): ChannelEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private clock(nowMs: number): number {
    if (Number.isFinite(nowMs)) this.lastNow = nowMs;
    return this.lastNow;
  }

  private transmit(p: Pending, nowMs: number): void {
    p.resendAt = nowMs + this.resendMs;
    if (!this.started) return;
    const linkId = this.sendRaw(p.bytes, nowMs);
    if (linkId !== undefined) {
      p.linkId = linkId;
      this.linkIds.set(linkId, p.message.requestId);
    }
  }

  private sendRaw(bytes: Uint8Array, nowMs: number): number | undefined {
    if (!this.started) return undefined;
    try {
      const id = this.link.send(bytes, nowMs);
      this.lastSentMs = nowMs;
      return id;
    } catch (e) {
      // Queue full: the peer is not answering. The request's resend timer tries again later.
      if (e instanceof TerminalLinkError) {
        this.events.push({ kind: 'protocolError', error: e });
        return undefined;
      }
      throw e;
    }
  }

  /** Turn link events into channel events. */
  private collect(nowMs: number): void {
    for (;;) {
      const events = this.link.takeEvents();
      if (events.length === 0) break;
      for (const ev of events) {
        switch (ev.kind) {
          case 'message':
            this.onMessage(ev.payload, nowMs);
            break;
          case 'delivered':
          case 'failed': {
            const requestId = this.linkIds.get(ev.id);
            this.linkIds.delete(ev.id);
            const p = requestId === undefined ? undefined : this.pending.get(requestId);
            if (p && p.linkId === ev.id) {
              p.linkId = undefined;
              // Delivered: wait resendMs for the answer. Failed: the link already retried; try again soon.
              if (ev.kind === 'failed') p.resendAt = Math.min(p.resendAt, nowMs + Math.min(this.resendMs, 500));
            }
            break;
          }
          case 'sync':
            this.events.push({ kind: 'peerSync' });
            break;
          case 'frameError':
            break; // counted in link.stats; the link recovers by itself
        }
      }
    }
    if (
      this.link.lastHeardMs !== null &&
      this.link.lastHeardMs >= this.startedMs &&
      (this.peerLost || !this.heardOnce)
    ) {
      this.heardOnce = true;
      this.peerLost = false;
      this.events.push({ kind: 'peerAlive' });
    }
  }

  private onMessage(payload: Uint8Array, nowMs: number): void {
    let m: TerminalMessage;
    try {
      m = decodeMessage(payload);
    } catch (e) {
      if (!(e instanceof DecodeError) && !(e instanceof EncodeError)) throw e;
      this.stats.invalidMessages++;
      this.events.push({
        kind: 'protocolError',
        error: e instanceof DecodeError ? e : new DecodeError(e.code, e.message, e.hint),
      });
      const peek = peekRequest(payload);
      if (peek)
        this.respond(peek.requestId, { type: 'ERROR', code: 'BAD_MESSAGE', message: e.message.slice(0, 256) }, nowMs);
      return;
    }
    if (isRequest(m)) {
      if (m.type === 'HEARTBEAT') {
        this.sendRaw(encodeMessage({ type: 'OK', requestId: m.requestId }), nowMs);
        return;
      }
      const seen = this.cache.lookup(m.requestId);
      if (seen.state === 'new') {
        this.stats.requestsReceived++;
        this.cache.begin(m.requestId);
        this.events.push({ kind: 'request', message: m });
      } else if (seen.state === 'in-progress') {
        this.stats.duplicateRequests++;
      } else {
        this.stats.duplicateRequests++;
        this.stats.responsesReplayed++;
        this.sendRaw(seen.response, nowMs);
      }
      return;
    }
    const p = this.pending.get(m.requestId);
    if (!p || !answers(p.message.type, m)) return; // late or repeated answer: already handled
    this.abandon(m.requestId);
    if (!p.internal) this.events.push({ kind: 'response', request: p.message, message: m });
  }
}

function randomFirstId(): number {
  const b = new Uint32Array(2);
  globalThis.crypto.getRandomValues(b);
  return (b[0]! & 0xffff) * 0x1_0000_0000 + b[1]! + 1; // < 2^48: room to count up without wrapping
}
