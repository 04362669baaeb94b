import { DecodeError, EncodeError } from '../errors.js';

/**
 * HID card-key packets, modelled on CTAPHID (FIDO CTAP 2.1 §11.2.4). Normative text:
 * docs/protocol.md §11.
 *
 *   INIT packet (64 bytes):  CID (4, BE) | CMD (1, bit 7 set) | BCNT (2, BE) | DATA (57)
 *   CONT packet (64 bytes):  CID (4, BE) | SEQ (1, 0…127)     | DATA (59)
 *
 * A message of BCNT bytes is one INIT packet followed by ceil((BCNT − 57) / 59) CONT packets with
 * SEQ 0, 1, 2, …; so at most 57 + 128·59 = 7609 bytes. Unused bytes are zero on send, ignored on receive.
 * Pure codec: no I/O, no timers (callers pass the time in), bounded memory, never throws on input.
 */

export const HID_REPORT_SIZE = 64;
export const HID_INIT_DATA_SIZE = 57;
export const HID_CONT_DATA_SIZE = 59;
export const HID_MAX_SEQ = 127;
export const HID_MAX_MESSAGE = HID_INIT_DATA_SIZE + (HID_MAX_SEQ + 1) * HID_CONT_DATA_SIZE; // 7609
export const HID_BROADCAST_CID = 0xffffffff;
/** Bit 7 of byte 4: set in INIT packets (CMD), clear in CONT packets (SEQ). */
export const HID_TYPE_INIT = 0x80;

/** Command values without the INIT bit, as in CTAPHID. */
export const HidCommand = Object.freeze({
  PING: 0x01,
  MSG: 0x03, // a raw ISO 7816-4 APDU
  INIT: 0x06,
  WINK: 0x08,
  CBOR: 0x10, // command byte || CBOR map (same bytes as the CBOR INS APDU data)
  CANCEL: 0x11,
  KEEPALIVE: 0x3b,
  ERROR: 0x3f,
} as const);

/** Payload byte of an ERROR response. */
export const HidErrorByte = Object.freeze({
  INVALID_CMD: 0x01,
  INVALID_PAR: 0x02,
  INVALID_LEN: 0x03,
  INVALID_SEQ: 0x04,
  MSG_TIMEOUT: 0x05,
  CHANNEL_BUSY: 0x06,
  LOCK_REQUIRED: 0x0a,
  INVALID_CHANNEL: 0x0b,
  OTHER: 0x7f,
} as const);

export const KeepaliveStatus = Object.freeze({ PROCESSING: 1, UPNEEDED: 2 } as const);

/** Capability flags in the INIT response (CTAPHID values). */
export const HidCapability = Object.freeze({ WINK: 0x01, CBOR: 0x04, NMSG: 0x08 } as const);
export const HID_PROTOCOL_VERSION = 2;

/** Stable codes: reassembler error events and errors thrown by the encoders/parsers here. */
export const HID_ERRORS = Object.freeze({
  HID_BAD_REPORT: {
    meaning: 'a report that is not 64 bytes (nor 65 bytes starting with report id 0)',
    hint: 'HID reports of the card key are exactly 64 bytes; check the HID stack and report descriptor',
  },
  HID_INVALID_CHANNEL: {
    meaning: 'a packet on CID 0 (reserved), or a command other than INIT on the broadcast CID ffffffff',
    hint: 'allocate a channel with INIT on the broadcast CID first and use the CID it returns',
  },
  HID_UNEXPECTED_CONT: {
    meaning: 'a continuation packet on a channel with no message in progress (ignored, as CTAPHID requires)',
    hint: 'usually the tail of a message that was aborted or timed out; nothing to do',
  },
  HID_INVALID_SEQ: {
    meaning: 'a continuation packet with the wrong sequence number; the message in progress is dropped',
    hint: 'a packet was lost or reordered; resend the whole message',
  },
  HID_INVALID_LEN: {
    meaning: 'BCNT announces more than the maximum message size (7609 bytes, or the configured lower limit)',
    hint: 'split the exchange into smaller messages',
  },
  HID_CHANNEL_BUSY: {
    meaning:
      'an INIT packet from another channel while one message is being received (single-channel mode), or no free channel slot',
    hint: 'retry after the current exchange completes (CTAPHID clients retry on CHANNEL_BUSY)',
  },
  HID_MSG_TIMEOUT: {
    meaning: 'a message in progress received no packet within the time-out; it was dropped',
    hint: 'the sender stalled mid-message; resend the whole message',
  },
  HID_MESSAGE_TOO_LONG: {
    meaning: 'packetize: payload longer than 7609 bytes',
    hint: 'a HID message carries at most 7609 bytes',
  },
  HID_BAD_ARGUMENT: {
    meaning: 'packetize/helpers: CID, command, status or payload out of range or of the wrong type',
    hint: 'CIDs are 32-bit, commands 0x00–0x7f (without the INIT bit), payloads Uint8Array',
  },
  HID_BAD_PAYLOAD: {
    meaning: 'an INIT/ERROR/KEEPALIVE payload of the wrong length',
    hint: 'INIT request 8 bytes, INIT response 17, ERROR 1, KEEPALIVE 1',
  },
} as const satisfies Record<string, { meaning: string; hint: string }>);

export type HidErrorCode = keyof typeof HID_ERRORS;

function encodeError(code: HidErrorCode, message: string): EncodeError {
  return new EncodeError(code, message, HID_ERRORS[code].hint);
}
function decodeError(code: HidErrorCode, message: string): DecodeError {
  return new DecodeError(code, message, HID_ERRORS[code].hint);
}

function checkCid(cid: number): void {
  if (!Number.isInteger(cid) || cid < 0 || cid > 0xffffffff)
    throw encodeError('HID_BAD_ARGUMENT', `CID ${String(cid)} is not a 32-bit unsigned integer`);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/**
 * Split a message into 64-byte reports (zero padded). `cmd` is the command value without the INIT bit
 * (0x00–0x7f). Throws EncodeError HID_MESSAGE_TOO_LONG / HID_BAD_ARGUMENT.
 */
export function packetize(cid: number, cmd: number, payload: Uint8Array): Uint8Array[] {
  checkCid(cid);
  if (!Number.isInteger(cmd) || cmd < 0 || cmd > 0x7f) {
    throw encodeError(
      'HID_BAD_ARGUMENT',
      `command ${String(cmd)} is not 0x00–0x7f (pass it without the 0x80 INIT bit)`,
    );
  }
  if (!(payload instanceof Uint8Array)) throw encodeError('HID_BAD_ARGUMENT', 'payload must be a Uint8Array');
  const n = payload.length;
  if (n > HID_MAX_MESSAGE)
    throw encodeError('HID_MESSAGE_TOO_LONG', `message of ${n} bytes exceeds the HID maximum of ${HID_MAX_MESSAGE}`);
  const reports: Uint8Array[] = [];
  const first = new Uint8Array(HID_REPORT_SIZE);
  writeCid(first, cid);
  first[4] = HID_TYPE_INIT | cmd;
  first[5] = n >>> 8;
  first[6] = n & 0xff;
  first.set(payload.subarray(0, HID_INIT_DATA_SIZE), 7);
  reports.push(first);
  let off = HID_INIT_DATA_SIZE;
  for (let seq = 0; off < n; seq++) {
    const r = new Uint8Array(HID_REPORT_SIZE);
    writeCid(r, cid);
    r[4] = seq;
    r.set(payload.subarray(off, off + HID_CONT_DATA_SIZE), 5);
    reports.push(r);
    off += HID_CONT_DATA_SIZE;
  }
  return reports;
}

function writeCid(r: Uint8Array, cid: number): void {
  r[0] = cid >>> 24;
  r[1] = (cid >>> 16) & 0xff;
  r[2] = (cid >>> 8) & 0xff;
  r[3] = cid & 0xff;
}

function readCid(r: Uint8Array, off: number): number {
  return ((r[off]! << 24) | (r[off + 1]! << 16) | (r[off + 2]! << 8) | r[off + 3]!) >>> 0;
}

/**
 * node-hid's write() takes the report id as first byte: for the card key (no numbered reports) that is
 * 0x00 followed by the 64-byte report. Reads return the bare 64 bytes. See docs/protocol.md §11.1.
 */
export function withReportId(report: Uint8Array, reportId = 0): Uint8Array {
  if (!(report instanceof Uint8Array) || report.length !== HID_REPORT_SIZE) {
    throw encodeError('HID_BAD_ARGUMENT', `a report must be ${HID_REPORT_SIZE} bytes`);
  }
  if (!Number.isInteger(reportId) || reportId < 0 || reportId > 255)
    throw encodeError('HID_BAD_ARGUMENT', `report id ${reportId} is not a byte`);
  const out = new Uint8Array(HID_REPORT_SIZE + 1);
  out[0] = reportId;
  out.set(report, 1);
  return out;
}

// ------------------------------------------------------------------------------------------ helpers

export interface InitResponse {
  nonce: Uint8Array; // 8 bytes, echoed from the request
  cid: number; // the newly allocated channel
  protocolVersion: number; // CTAPHID protocol version (2)
  major: number;
  minor: number;
  build: number;
  capabilities: number; // HidCapability flags
}

/** The single INIT request report: INIT on `cid` (normally broadcast) with an 8-byte nonce. */
export function initRequestPacket(nonce: Uint8Array, cid = HID_BROADCAST_CID): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 8)
    throw encodeError('HID_BAD_ARGUMENT', 'the INIT nonce must be 8 bytes');
  return packetize(cid, HidCommand.INIT, nonce)[0]!;
}

/** Nonce from an INIT request payload; throws DecodeError HID_BAD_PAYLOAD unless exactly 8 bytes. */
export function parseInitRequest(payload: Uint8Array): Uint8Array {
  if (payload.length !== 8)
    throw decodeError('HID_BAD_PAYLOAD', `INIT request payload is ${payload.length} bytes; it must be 8 (the nonce)`);
  return payload.slice();
}

/** 17-byte INIT response payload: nonce(8) | CID(4) | version | major | minor | build | capabilities. */
export function encodeInitResponse(r: InitResponse): Uint8Array {
  if (!(r.nonce instanceof Uint8Array) || r.nonce.length !== 8)
    throw encodeError('HID_BAD_ARGUMENT', 'the INIT nonce must be 8 bytes');
  checkCid(r.cid);
  const bytes = [r.protocolVersion, r.major, r.minor, r.build, r.capabilities];
  for (const b of bytes)
    if (!Number.isInteger(b) || b < 0 || b > 255)
      throw encodeError('HID_BAD_ARGUMENT', `INIT response field ${b} is not a byte`);
  const out = new Uint8Array(17);
  out.set(r.nonce, 0);
  writeCid(out.subarray(8, 12), r.cid);
  out.set(bytes, 12);
  return out;
}

export function parseInitResponse(payload: Uint8Array): InitResponse {
  if (payload.length !== 17)
    throw decodeError('HID_BAD_PAYLOAD', `INIT response payload is ${payload.length} bytes; it must be 17`);
  return {
    nonce: payload.slice(0, 8),
    cid: readCid(payload, 8),
    protocolVersion: payload[12]!,
    major: payload[13]!,
    minor: payload[14]!,
    build: payload[15]!,
    capabilities: payload[16]!,
  };
}

/** One ERROR report on `cid` carrying a HidErrorByte. */
export function errorPacket(cid: number, error: number): Uint8Array {
  if (!Number.isInteger(error) || error < 0 || error > 255)
    throw encodeError('HID_BAD_ARGUMENT', `error code ${error} is not a byte`);
  return packetize(cid, HidCommand.ERROR, Uint8Array.of(error))[0]!;
}

export function parseErrorPayload(payload: Uint8Array): number {
  if (payload.length !== 1)
    throw decodeError('HID_BAD_PAYLOAD', `ERROR payload is ${payload.length} bytes; it must be 1`);
  return payload[0]!;
}

/** One KEEPALIVE report on `cid` with a KeepaliveStatus. */
export function keepalivePacket(cid: number, status: number): Uint8Array {
  if (!Number.isInteger(status) || status < 0 || status > 255)
    throw encodeError('HID_BAD_ARGUMENT', `status ${status} is not a byte`);
  return packetize(cid, HidCommand.KEEPALIVE, Uint8Array.of(status))[0]!;
}

export function parseKeepalivePayload(payload: Uint8Array): number {
  if (payload.length !== 1)
    throw decodeError('HID_BAD_PAYLOAD', `KEEPALIVE payload is ${payload.length} bytes; it must be 1`);
  return payload[0]!;
}

// -------------------------------------------------------------------------------------- reassembly

export interface HidMessage {
  cid: number;
  cmd: number; // without the INIT bit
  payload: Uint8Array;
}

export type HidEvent =
  | ({ kind: 'message' } & HidMessage)
  | {
      kind: 'error';
      /** Channel the problem concerns (null when the report was too malformed to tell). */
      cid: number | null;
      code: HidErrorCode;
      /** The HidErrorByte a device answers with in an ERROR packet on `cid`; null = ignore silently. */
      hidError: number | null;
      message: string;
    };

export interface HidReassemblerOptions {
  /**
   * 'single' (default; device side, as CTAPHID): one message is received at a time; a packet from any
   * other channel meanwhile gets CHANNEL_BUSY. 'concurrent' (e.g. a host listening to several channels):
   * messages on different channels are reassembled in parallel, up to maxChannels.
   */
  mode?: 'single' | 'concurrent';
  /** Concurrent mode: most messages in progress at once (default 8). */
  maxChannels?: number;
  /** Largest accepted message (default and maximum 7609). */
  maxMessageSize?: number;
  /** A message in progress that receives no packet for this long is dropped with MSG_TIMEOUT (default 3000 ms). */
  timeoutMs?: number;
  /** Accept 65-byte reports whose first byte is report id 0 by stripping that byte (default true). */
  acceptReportId?: boolean;
}

interface InProgress {
  cid: number;
  cmd: number;
  buf: Uint8Array;
  filled: number;
  nextSeq: number;
  lastMs: number;
}

/**
 * Turns 64-byte reports into messages and protocol errors the way a CTAPHID device (mode 'single')
 * or a multi-channel host (mode 'concurrent') decides them. Time is passed in (nowMs, any monotonic
 * clock); nothing here sets timers. Memory is bounded by maxChannels × maxMessageSize.
 */
export class HidReassembler {
  private readonly mode: 'single' | 'concurrent';
  private readonly maxChannels: number;
  private readonly maxMessage: number;
  private readonly timeoutMs: number;
  private readonly acceptReportId: boolean;
  private readonly partials = new Map<number, InProgress>();
  /** Last valid clock value seen; stands in for a non-finite nowMs so a bad clock cannot wedge a channel. */
  private lastNow = 0;

  constructor(options: HidReassemblerOptions = {}) {
    this.mode = options.mode ?? 'single';
    this.maxChannels = this.mode === 'single' ? 1 : (options.maxChannels ?? 8);
    this.maxMessage = options.maxMessageSize ?? HID_MAX_MESSAGE;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.acceptReportId = options.acceptReportId ?? true;
    if (!Number.isInteger(this.maxChannels) || this.maxChannels < 1 || this.maxChannels > 1024) {
      throw encodeError('HID_BAD_ARGUMENT', `maxChannels must be 1…1024, got ${String(this.maxChannels)}`);
    }
    if (!Number.isInteger(this.maxMessage) || this.maxMessage < 0 || this.maxMessage > HID_MAX_MESSAGE) {
      throw encodeError(
        'HID_BAD_ARGUMENT',
        `maxMessageSize must be 0…${HID_MAX_MESSAGE}, got ${String(this.maxMessage)}`,
      );
    }
    if (!(this.timeoutMs > 0))
      throw encodeError('HID_BAD_ARGUMENT', `timeoutMs must be positive, got ${String(this.timeoutMs)}`);
  }

  /** Channels with a message in progress. */
  busyChannels(): number[] {
    return [...this.partials.keys()];
  }

  /** When the earliest message in progress times out (ms, same clock as nowMs), or null if none. */
  nextDeadline(): number | null {
    let d: number | null = null;
    for (const p of this.partials.values())
      if (d === null || p.lastMs + this.timeoutMs < d) d = p.lastMs + this.timeoutMs;
    return d;
  }

  /** Drop the message in progress on `cid` (e.g. on CANCEL), or all of them. */
  abort(cid?: number): void {
    if (cid === undefined) this.partials.clear();
    else this.partials.delete(cid);
  }

  /** Time out stalled messages: returns a MSG_TIMEOUT error event for each dropped one. */
  expire(nowMs: number): HidEvent[] {
    nowMs = this.clock(nowMs);
    const events: HidEvent[] = [];
    for (const [cid, p] of this.partials) {
      if (nowMs - p.lastMs >= this.timeoutMs) {
        this.partials.delete(cid);
        events.push(
          this.error(
            cid,
            'HID_MSG_TIMEOUT',
            HidErrorByte.MSG_TIMEOUT,
            `message on channel ${hex8(cid)} stalled after ${p.filled} of ${p.buf.length} bytes`,
          ),
        );
      }
    }
    return events;
  }

  /** Feed one report received at nowMs. Returns time-outs first, then what this report completes. Never throws. */
  push(report: Uint8Array, nowMs: number): HidEvent[] {
    nowMs = this.clock(nowMs);
    const events = this.expire(nowMs);
    if (!(report instanceof Uint8Array)) {
      events.push(this.error(null, 'HID_BAD_REPORT', null, 'report is not a Uint8Array'));
      return events;
    }
    let r = report;
    if (r.length === HID_REPORT_SIZE + 1 && this.acceptReportId && r[0] === 0) r = r.subarray(1);
    if (r.length !== HID_REPORT_SIZE) {
      events.push(
        this.error(null, 'HID_BAD_REPORT', null, `report of ${report.length} bytes; expected ${HID_REPORT_SIZE}`),
      );
      return events;
    }
    const cid = readCid(r, 0);
    const b4 = r[4]!;
    const isInit = (b4 & HID_TYPE_INIT) !== 0;
    if (cid === 0 || (cid === HID_BROADCAST_CID && isInit && (b4 & 0x7f) !== HidCommand.INIT)) {
      events.push(
        this.error(
          cid,
          'HID_INVALID_CHANNEL',
          HidErrorByte.INVALID_CHANNEL,
          cid === 0
            ? 'packet on reserved channel 00000000'
            : `command 0x${(b4 & 0x7f).toString(16)} on the broadcast channel (only INIT is allowed there)`,
        ),
      );
      return events;
    }
    const current = this.partials.get(cid);

    if (this.mode === 'single' && current === undefined && this.partials.size > 0) {
      // Busy with another channel: CTAPHID answers every packet from elsewhere with CHANNEL_BUSY.
      const [busyCid] = this.partials.keys();
      events.push(
        this.error(
          cid,
          'HID_CHANNEL_BUSY',
          HidErrorByte.CHANNEL_BUSY,
          `channel ${hex8(busyCid!)} is receiving a message`,
        ),
      );
      return events;
    }

    if (!isInit) {
      const seq = b4;
      if (current === undefined) {
        events.push(
          this.error(
            cid,
            'HID_UNEXPECTED_CONT',
            null,
            `continuation packet SEQ ${seq} on channel ${hex8(cid)} with no message in progress`,
          ),
        );
        return events;
      }
      if (seq !== current.nextSeq) {
        this.partials.delete(cid);
        events.push(
          this.error(
            cid,
            'HID_INVALID_SEQ',
            HidErrorByte.INVALID_SEQ,
            `continuation packet SEQ ${seq} on channel ${hex8(cid)}; expected ${current.nextSeq}`,
          ),
        );
        return events;
      }
      const n = Math.min(HID_CONT_DATA_SIZE, current.buf.length - current.filled);
      current.buf.set(r.subarray(5, 5 + n), current.filled);
      current.filled += n;
      current.nextSeq++;
      current.lastMs = nowMs;
      if (current.filled === current.buf.length) {
        this.partials.delete(cid);
        events.push({ kind: 'message', cid, cmd: current.cmd, payload: current.buf });
      }
      return events;
    }

    // INIT packet. On a channel already receiving: abort that message and start over (CTAPHID resync).
    if (current !== undefined) this.partials.delete(cid);
    const cmd = b4 & 0x7f;
    const bcnt = (r[5]! << 8) | r[6]!;
    if (bcnt > this.maxMessage) {
      events.push(
        this.error(
          cid,
          'HID_INVALID_LEN',
          HidErrorByte.INVALID_LEN,
          `message announces ${bcnt} bytes; the maximum is ${this.maxMessage}`,
        ),
      );
      return events;
    }
    if (bcnt <= HID_INIT_DATA_SIZE) {
      events.push({ kind: 'message', cid, cmd, payload: r.slice(7, 7 + bcnt) });
      return events;
    }
    if (this.partials.size >= this.maxChannels) {
      events.push(
        this.error(
          cid,
          'HID_CHANNEL_BUSY',
          HidErrorByte.CHANNEL_BUSY,
          `${this.partials.size} messages already in progress (maxChannels ${this.maxChannels})`,
        ),
      );
      return events;
    }
    const buf = new Uint8Array(bcnt);
    buf.set(r.subarray(7, 7 + HID_INIT_DATA_SIZE));
    this.partials.set(cid, { cid, cmd, buf, filled: HID_INIT_DATA_SIZE, nextSeq: 0, lastMs: nowMs });
    return events;
  }

  private clock(nowMs: number): number {
    if (Number.isFinite(nowMs)) this.lastNow = nowMs;
    return this.lastNow;
  }

  private error(cid: number | null, code: HidErrorCode, hidError: number | null, message: string): HidEvent {
    return { kind: 'error', cid, code, hidError, message };
  }
}
