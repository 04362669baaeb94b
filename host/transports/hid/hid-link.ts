import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  HID_BROADCAST_CID,
  HID_REPORT_SIZE,
  HidCapability,
  HidCommand,
  HidErrorByte,
  HidReassembler,
  packetize,
  parseInitResponse,
  withReportId,
  type HidEvent,
} from '../../../protocol/framing/hid-packet.js';
import {
  HID_BUSY_BACKOFF_MAX_MS,
  HID_BUSY_BACKOFF_MIN_MS,
  HID_BUSY_RETRY_MS,
  HID_MAX_PROCESSING_MS,
  HID_RESPONSE_TIMEOUT_MS,
} from '../../../protocol/framing/hid-key.js';
import { TransportError, type TransportErrorCode } from '../../../protocol/transport.js';
import type { NodeHidDevice } from './node-hid-module.js';

/**
 * The host end of the CTAPHID-style link to one opened card key (docs/protocol.md §11): channel
 * allocation with INIT (nonce checked), one request at a time on the host's own channel, KEEPALIVE,
 * ERROR packets, CHANNEL_BUSY retried with backoff, time-outs. It never hangs: every wait has a
 * timer, and a dead device fails the wait at once.
 */

export interface HidLinkOptions {
  /** Name in messages (the key's product name). */
  name?: string;
  /** No packet on the channel (answer or keepalive) for this long: TIMEOUT. Default 1000 ms. */
  responseTimeoutMs?: number;
  /** Keepalives extend a wait up to this much per command. Default 30 s. */
  maxProcessingMs?: number;
  /** CHANNEL_BUSY is retried for this long per command. Default 5 s. */
  busyRetryMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Called once when the device fails (read error or failed write), with the error in-flight work got. */
  onDead?: (err: TransportError) => void;
}

const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(HidErrorByte).map(([k, v]) => [v, k]));
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** A TransportError from the HID link, with the key's ERROR byte when it sent one. */
export class HidTransportError extends TransportError {
  constructor(
    code: TransportErrorCode,
    message: string,
    hint: string,
    readonly hidError?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, hint, options);
  }
}

type Outcome = { kind: 'message'; payload: Uint8Array } | { kind: 'error'; hidError: number };

interface Waiter {
  cid: number;
  cmd: number;
  accept?: (payload: Uint8Array) => boolean;
  /** Any packet on the channel: the key is alive; restart the silence timer. */
  touch(): void;
  settle(result: Outcome | TransportError): void;
  settled: boolean;
}

export class HidLink {
  private readonly name: string;
  private readonly responseTimeoutMs: number;
  private readonly maxProcessingMs: number;
  private readonly busyRetryMs: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  // Concurrent mode: a broadcast INIT answer may interleave with a message on our channel.
  private readonly reassembler = new HidReassembler({ mode: 'concurrent', maxChannels: 2 });
  private cid: number | undefined;
  private waiter: Waiter | undefined;
  private dead: TransportError | undefined;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly device: NodeHidDevice,
    private readonly opts: HidLinkOptions = {},
  ) {
    this.name = opts.name ?? 'the HID card key';
    this.responseTimeoutMs = opts.responseTimeoutMs ?? HID_RESPONSE_TIMEOUT_MS;
    this.maxProcessingMs = opts.maxProcessingMs ?? HID_MAX_PROCESSING_MS;
    this.busyRetryMs = opts.busyRetryMs ?? HID_BUSY_RETRY_MS;
    this.backoffMinMs = opts.backoffMinMs ?? HID_BUSY_BACKOFF_MIN_MS;
    this.backoffMaxMs = opts.backoffMaxMs ?? HID_BUSY_BACKOFF_MAX_MS;
  }

  /** The channel in use, if one is allocated. */
  get channel(): number | undefined {
    return this.cid;
  }
  get alive(): boolean {
    return this.dead === undefined;
  }

  /** The device is gone: fail what is in flight with `err` and everything after it. Idempotent. */
  fail(err: TransportError): void {
    if (this.dead) return;
    this.dead = err;
    this.waiter?.settle(err);
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    this.opts.onDead?.(err);
  }

  /** One input report from node-hid's 'data' event. Never throws, whatever the bytes. */
  receive(data: unknown): void {
    if (this.dead || !this.waiter) return; // nothing asked: a stale or foreign report
    let report: Uint8Array;
    if (data instanceof Uint8Array) report = data;
    else if (Array.isArray(data)) report = Uint8Array.from(data as number[]);
    else return;
    if (report.length === HID_REPORT_SIZE + 1 && report[0] === 0) report = report.subarray(1);
    if (report.length !== HID_REPORT_SIZE) return;
    // Every program that opened the key sees every report (hidraw): only ours and broadcast concern us.
    const cid = ((report[0]! << 24) | (report[1]! << 16) | (report[2]! << 8) | report[3]!) >>> 0;
    if (cid !== this.waiter.cid) return;
    this.waiter.touch();
    for (const ev of this.reassembler.push(report, performance.now())) this.dispatch(ev);
  }

  private dispatch(ev: HidEvent): void {
    const w = this.waiter;
    if (!w || ev.cid !== w.cid) return;
    if (ev.kind === 'error') {
      // The key's answer was cut off or garbled: it ran the command, but the answer is lost.
      if (ev.code === 'HID_INVALID_SEQ' || ev.code === 'HID_MSG_TIMEOUT') {
        w.settle(
          new HidTransportError(
            'TIMEOUT',
            `${this.name}'s answer was cut off (${ev.code}: ${ev.message})`,
            'the command may have run on the card: retry it; a signed record is recovered from the card journal',
          ),
        );
      }
      return;
    }
    if (ev.cmd === HidCommand.KEEPALIVE) return; // touch() already extended the wait
    if (ev.cmd === HidCommand.ERROR) {
      if (ev.payload.length === 1) w.settle({ kind: 'error', hidError: ev.payload[0]! });
      return;
    }
    if (ev.cmd !== w.cmd || (w.accept && !w.accept(ev.payload))) return; // someone else's INIT answer, or stale
    w.settle({ kind: 'message', payload: ev.payload });
  }

  /**
   * Send one request (`cmd`, payload) on our channel and return the answer's payload. Allocates the
   * channel first if needed; retries CHANNEL_BUSY with backoff and, once, a channel the key forgot.
   */
  async call(cmd: number, payload: Uint8Array): Promise<Uint8Array> {
    const busyUntil = performance.now() + this.busyRetryMs;
    let backoff = this.backoffMinMs;
    let channelRetries = 0;
    let lostRetries = 0;
    for (;;) {
      if (this.dead) throw this.dead;
      const allocating = this.cid === undefined;
      const outcome = allocating ? await this.allocate() : await this.roundTrip(this.cid!, cmd, payload);
      if (outcome.kind === 'message') {
        if (allocating) continue;
        return outcome.payload;
      }
      switch (outcome.hidError) {
        case HidErrorByte.CHANNEL_BUSY:
          // The key refused before running anything (another program is using it): safe to resend.
          if (performance.now() + backoff > busyUntil) {
            throw new HidTransportError(
              'TIMEOUT',
              `${this.name} stayed busy with another channel for ${this.busyRetryMs} ms`,
              'another program is using the card key; close it, or retry',
              outcome.hidError,
            );
          }
          await this.sleep(backoff + Math.random() * backoff);
          backoff = Math.min(this.backoffMaxMs, backoff * 2);
          continue;
        case HidErrorByte.INVALID_CHANNEL:
          // The key forgot our channel (it was replugged or ran out of channel slots): get a new one.
          if (!allocating && channelRetries++ < 1) {
            this.cid = undefined;
            continue;
          }
          throw this.keyError(outcome.hidError);
        case HidErrorByte.INVALID_SEQ:
        case HidErrorByte.MSG_TIMEOUT:
          // Our request lost a packet on the way; the key dropped it without running it: resend.
          if (lostRetries++ < 2) continue;
          throw this.keyError(outcome.hidError);
        default:
          throw this.keyError(outcome.hidError);
      }
    }
  }

  private keyError(hidError: number): HidTransportError {
    const what = `ERROR ${hex(hidError, 2)} (${ERROR_NAMES[hidError] ?? 'unknown'})`;
    if (hidError === HidErrorByte.MSG_TIMEOUT) {
      return new HidTransportError(
        'TIMEOUT',
        `${this.name} timed out receiving the request (${what})`,
        'check the USB cable and hub; retry',
        hidError,
      );
    }
    return new HidTransportError(
      'READER_GONE',
      `${this.name} refused the request with ${what}`,
      'the device does not follow the cardpost HID link (docs/protocol.md §11): unplug and replug it, or update its firmware',
      hidError,
    );
  }

  /** INIT on the broadcast channel with a fresh nonce; only the answer carrying our nonce counts. */
  private async allocate(): Promise<Outcome> {
    const nonce = Uint8Array.from(randomBytes(8));
    const sameNonce = (p: Uint8Array): boolean => p.length === 17 && Buffer.compare(p.subarray(0, 8), nonce) === 0;
    const outcome = await this.roundTrip(HID_BROADCAST_CID, HidCommand.INIT, nonce, sameNonce);
    if (outcome.kind === 'error') return outcome;
    const init = parseInitResponse(outcome.payload);
    if (init.cid === 0 || init.cid === HID_BROADCAST_CID) {
      throw new HidTransportError(
        'READER_GONE',
        `${this.name} assigned the reserved channel ${hex(init.cid, 8)}`,
        'the device does not follow the cardpost HID link (docs/protocol.md §11.3)',
      );
    }
    if ((init.capabilities & HidCapability.NMSG) !== 0) {
      throw new HidTransportError(
        'TRANSPORT_UNAVAILABLE',
        `${this.name} does not carry APDUs (its INIT says NMSG)`,
        'this HID device is not a cardpost card key',
      );
    }
    this.cid = init.cid;
    return outcome;
  }

  /** Write one message and wait for its answer (or an ERROR, a time-out, the device dying). */
  private async roundTrip(
    cid: number,
    cmd: number,
    payload: Uint8Array,
    accept?: (p: Uint8Array) => boolean,
  ): Promise<Outcome> {
    const reports = packetize(cid, cmd, payload);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let settle!: (r: Outcome | TransportError) => void;
    const answer = new Promise<Outcome>((resolve, reject) => {
      settle = (r) => (r instanceof TransportError ? reject(r) : resolve(r));
    });
    answer.catch(() => {}); // it may fail while we are still writing; it is awaited below
    const waiter: Waiter = {
      cid,
      cmd,
      accept,
      settled: false,
      settle: (r) => {
        if (waiter.settled) return;
        waiter.settled = true;
        clearTimeout(timer);
        settle(r);
      },
      touch: () => {
        if (waiter.settled) return;
        clearTimeout(timer);
        const left = started + this.maxProcessingMs - performance.now();
        const capped = left <= this.responseTimeoutMs;
        const why = capped
          ? `worked on the command for more than ${this.maxProcessingMs} ms`
          : `sent nothing for ${this.responseTimeoutMs} ms`;
        if (left <= 0) {
          waiter.settle(this.timeout(why));
          return;
        }
        timer = setTimeout(() => waiter.settle(this.timeout(why)), capped ? left : this.responseTimeoutMs);
      },
    };
    this.reassembler.abort();
    this.waiter = waiter;
    waiter.touch();
    try {
      for (const r of reports) {
        if (waiter.settled) break; // an ERROR (busy) or death arrived mid-message: stop sending
        try {
          await this.device.write(Buffer.from(withReportId(r)));
        } catch (e) {
          this.fail(pulledError(this.name, e));
        }
      }
      return await answer;
    } catch (e) {
      if (e instanceof TransportError && e.transportCode === 'TIMEOUT' && !this.dead) this.abandon(cid);
      throw e;
    } finally {
      if (this.waiter === waiter) this.waiter = undefined;
      clearTimeout(timer);
    }
  }

  /**
   * After a time-out the channel can no longer be trusted: a late answer could be taken for the next
   * request's. Ask the key to drop the command (CANCEL, best effort) and use a new channel next time.
   */
  private abandon(cid: number): void {
    if (cid !== HID_BROADCAST_CID) {
      this.device
        .write(Buffer.from(withReportId(packetize(cid, HidCommand.CANCEL, new Uint8Array(0))[0]!)))
        .catch(() => {});
    }
    if (this.cid === cid) this.cid = undefined;
  }

  private timeout(what: string): HidTransportError {
    return new HidTransportError(
      'TIMEOUT',
      `${this.name} ${what}`,
      'the card key may be stuck: unplug it and plug it in again, then retry',
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

/** The error a command in flight gets when its key disappears. */
export function pulledError(name: string, cause?: unknown): HidTransportError {
  const why = cause instanceof Error ? ` (${cause.message})` : '';
  return new HidTransportError(
    'CARD_REMOVED',
    `${name} was unplugged during the command${why}`,
    'plug the key in again and retry; a sale in progress is recovered from the card journal',
    undefined,
    cause === undefined ? undefined : { cause },
  );
}
