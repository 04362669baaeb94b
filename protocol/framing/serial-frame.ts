import { EncodeError } from '../errors.js';
import { crc32, crc8Smbus } from './crc.js';

/**
 * Serial POS terminal frames (normative text: docs/protocol.md §10).
 *
 *   offset  size  field
 *   0       2     SOF      A5 5A
 *   2       1     TYPE     1 DATA, 2 ACK, 3 NAK
 *   3       1     SEQ      0…255
 *   4       2     LEN      payload length, big-endian, ≤ 2048; 0 for ACK/NAK
 *   6       1     HCRC     CRC-8/SMBUS over bytes 2…5 (TYPE, SEQ, LEN)
 *   7       LEN   PAYLOAD  one CBOR message (DATA only)
 *   7+LEN   4     CRC      CRC-32/ISO-HDLC over bytes 2 … 6+LEN (TYPE … PAYLOAD, incl. HCRC), big-endian
 *
 * The codec is pure: no I/O, no timers. FrameDecoder is a streaming parser that survives any byte
 * sequence: it never throws on input, keeps a bounded buffer, reports skipped bytes and damaged
 * frames, and resynchronises on the next start marker after a false start.
 */

export const SOF = Object.freeze([0xa5, 0x5a] as const);
export const FRAME_DATA = 1;
export const FRAME_ACK = 2;
export const FRAME_NAK = 3;
export type FrameType = typeof FRAME_DATA | typeof FRAME_ACK | typeof FRAME_NAK;
export const FrameTypes = Object.freeze({ DATA: FRAME_DATA, ACK: FRAME_ACK, NAK: FRAME_NAK } as const);

export const MAX_PAYLOAD = 2048;
/** SOF(2) + TYPE + SEQ + LEN(2) + HCRC */
export const FRAME_HEADER_SIZE = 7;
export const FRAME_CRC_SIZE = 4;
export const FRAME_OVERHEAD = FRAME_HEADER_SIZE + FRAME_CRC_SIZE;
export const MAX_FRAME_SIZE = FRAME_OVERHEAD + MAX_PAYLOAD;

export interface Frame {
  type: FrameType;
  seq: number;
  payload: Uint8Array;
}

/** Stable codes of frame errors (in decoder events, or thrown as EncodeError by encodeFrame). */
export const FRAME_ERRORS = Object.freeze({
  FRAME_HEADER_CRC: {
    meaning:
      'a start marker was followed by a header whose CRC-8 does not match: line noise that looks like A5 5A, or a damaged header',
    hint: 'usually line noise; the decoder resynchronises by itself. Persistent errors: check baud rate, cabling, grounding',
  },
  FRAME_BAD_TYPE: {
    meaning: 'the header CRC is valid but TYPE is not 1 (DATA), 2 (ACK) or 3 (NAK)',
    hint: 'the peer speaks a different frame protocol or version',
  },
  FRAME_OVERSIZE: {
    meaning: 'the header CRC is valid but LEN exceeds the maximum payload (2048 bytes)',
    hint: "split the message or lower the peer's message size; the frame was skipped",
  },
  FRAME_BAD_LENGTH: {
    meaning: 'an ACK or NAK frame with a non-zero LEN (or, when encoding, with a payload)',
    hint: 'ACK/NAK frames carry no payload',
  },
  FRAME_PAYLOAD_CRC: {
    meaning:
      "the frame's CRC-32 does not match: payload or trailer damaged in transit (the header, checked by its own CRC, is probably intact)",
    hint: 'the link layer may NAK this sequence number so the peer retransmits; persistent errors: check the line',
  },
  FRAME_INCOMPLETE: {
    meaning:
      'the link layer gave up on a frame whose header arrived but whose remaining bytes did not (abandonPartial)',
    hint: 'the peer stopped mid-frame or bytes were lost; the frame was skipped and parsing resumed after its start marker',
  },
  FRAME_BAD_SEQ: {
    meaning: 'encodeFrame: SEQ is not an integer 0…255',
    hint: 'sequence numbers are one byte and wrap from 255 to 0',
  },
  FRAME_BAD_INPUT: {
    meaning: 'encodeFrame/FrameDecoder.push was given something other than a Uint8Array',
    hint: 'pass raw bytes (Uint8Array or Buffer)',
  },
} as const satisfies Record<string, { meaning: string; hint: string }>);

export type FrameErrorCode = keyof typeof FRAME_ERRORS;

export type FrameEvent =
  | { kind: 'frame'; frame: Frame }
  /** `bytes` input bytes were skipped (noise, or the remains of a damaged/false frame). */
  | { kind: 'garbage'; bytes: number }
  /**
   * A damaged or refused frame at a start marker. `type`/`seq`/`length` are present when the header
   * CRC matched (so the link layer may NAK `seq`). The bytes involved are reported as garbage.
   */
  | { kind: 'error'; code: FrameErrorCode; message: string; type?: number; seq?: number; length?: number };

function encodeError(code: FrameErrorCode, message: string): EncodeError {
  return new EncodeError(code, message, FRAME_ERRORS[code].hint);
}

/** Build one frame. Throws EncodeError (FRAME_BAD_TYPE, FRAME_BAD_SEQ, FRAME_OVERSIZE, FRAME_BAD_LENGTH, FRAME_BAD_INPUT). */
export function encodeFrame(frame: Frame): Uint8Array {
  const { type, seq } = frame;
  const payload = frame.payload ?? new Uint8Array(0);
  if (type !== FRAME_DATA && type !== FRAME_ACK && type !== FRAME_NAK) {
    throw encodeError('FRAME_BAD_TYPE', `frame type ${String(type)} is not 1 (DATA), 2 (ACK) or 3 (NAK)`);
  }
  if (!Number.isInteger(seq) || seq < 0 || seq > 255)
    throw encodeError('FRAME_BAD_SEQ', `frame SEQ ${String(seq)} is not 0…255`);
  if (!(payload instanceof Uint8Array)) throw encodeError('FRAME_BAD_INPUT', 'frame payload must be a Uint8Array');
  if (payload.length > MAX_PAYLOAD) {
    throw encodeError(
      'FRAME_OVERSIZE',
      `frame payload of ${payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD}`,
    );
  }
  if (type !== FRAME_DATA && payload.length !== 0) {
    throw encodeError(
      'FRAME_BAD_LENGTH',
      `${type === FRAME_ACK ? 'ACK' : 'NAK'} frames carry no payload (got ${payload.length} bytes)`,
    );
  }
  const len = payload.length;
  const out = new Uint8Array(FRAME_OVERHEAD + len);
  out[0] = 0xa5;
  out[1] = 0x5a;
  out[2] = type;
  out[3] = seq;
  out[4] = len >>> 8;
  out[5] = len & 0xff;
  out[6] = crc8Smbus(out, 2, 6);
  out.set(payload, FRAME_HEADER_SIZE);
  const crc = crc32(out, 2, FRAME_HEADER_SIZE + len);
  const p = FRAME_HEADER_SIZE + len;
  out[p] = crc >>> 24;
  out[p + 1] = (crc >>> 16) & 0xff;
  out[p + 2] = (crc >>> 8) & 0xff;
  out[p + 3] = crc & 0xff;
  return out;
}

export function encodeData(seq: number, payload: Uint8Array): Uint8Array {
  return encodeFrame({ type: FRAME_DATA, seq, payload });
}
export function encodeAck(seq: number): Uint8Array {
  return encodeFrame({ type: FRAME_ACK, seq, payload: new Uint8Array(0) });
}
export function encodeNak(seq: number): Uint8Array {
  return encodeFrame({ type: FRAME_NAK, seq, payload: new Uint8Array(0) });
}

export interface FrameDecoderStats {
  frames: number;
  garbageBytes: number;
  errors: number;
}

/** Internal buffer: room for one maximal frame plus one more, so every parse makes progress. */
const BUFFER_SIZE = 2 * MAX_FRAME_SIZE;

/**
 * Streaming frame parser. push() any chunking of the byte stream; get events in stream order.
 * Invariant: every byte pushed ends up in exactly one of: a 'frame' event, a 'garbage' event, or
 * pending() (an incomplete frame or a trailing A5 waiting for more bytes) — until reset().
 */
export class FrameDecoder {
  private readonly buf = new Uint8Array(BUFFER_SIZE);
  private len = 0;
  readonly stats: FrameDecoderStats = { frames: 0, garbageBytes: 0, errors: 0 };

  /** Feed bytes; returns the events they complete. Never throws. */
  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (!(chunk instanceof Uint8Array)) {
      this.stats.errors++;
      events.push({
        kind: 'error',
        code: 'FRAME_BAD_INPUT',
        message: 'FrameDecoder.push was given something other than a Uint8Array; ignored',
      });
      return events;
    }
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, BUFFER_SIZE - this.len);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      this.parse(events, false);
    }
    return events;
  }

  /** Bytes held back: a frame whose header arrived but not yet its end (or a lone trailing A5). */
  pending(): number {
    return this.len;
  }

  /**
   * For the link layer's inter-byte time-out: give up on the pending partial frame. Emits
   * FRAME_INCOMPLETE (if a header had arrived), reports its start marker as garbage and resumes parsing
   * at the next byte — so a real frame buffered behind a false start is still delivered.
   */
  abandonPartial(): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (this.len > 0) this.parse(events, true);
    return events;
  }

  /** Drop everything buffered (e.g. when the port is reopened). Returns how many bytes were dropped. */
  reset(): number {
    const n = this.len;
    this.len = 0;
    return n;
  }

  private parse(events: FrameEvent[], abandonFirst: boolean): void {
    const b = this.buf;
    const end = this.len;
    let i = 0;
    let garbage = 0;
    const flush = (): void => {
      if (garbage > 0) {
        events.push({ kind: 'garbage', bytes: garbage });
        this.stats.garbageBytes += garbage;
        garbage = 0;
      }
    };
    const fail = (
      code: FrameErrorCode,
      message: string,
      header?: { type: number; seq: number; length: number },
    ): void => {
      flush();
      this.stats.errors++;
      events.push(header ? { kind: 'error', code, message, ...header } : { kind: 'error', code, message });
      garbage = 1; // the false start marker's first byte; resynchronise right after it
      i++;
    };

    if (abandonFirst) {
      // The buffer starts at the pending partial frame (or a lone A5); skip its first byte.
      if (end >= FRAME_HEADER_SIZE && b[0] === 0xa5 && b[1] === 0x5a) {
        fail(
          'FRAME_INCOMPLETE',
          `incomplete frame abandoned after ${end} of ${FRAME_OVERHEAD + ((b[4]! << 8) | b[5]!)} bytes`,
          { type: b[2]!, seq: b[3]!, length: (b[4]! << 8) | b[5]! },
        );
      } else {
        garbage = 1;
        i = 1;
      }
    }

    while (i < end) {
      if (b[i] !== 0xa5) {
        let j = b.indexOf(0xa5, i);
        if (j < 0 || j >= end) j = end;
        garbage += j - i;
        i = j;
        continue;
      }
      if (i + 1 >= end) break; // lone A5 at the end: wait for the next byte
      if (b[i + 1] !== 0x5a) {
        garbage++;
        i++;
        continue;
      }
      if (end - i < FRAME_HEADER_SIZE) break; // wait for the header
      const type = b[i + 2]!;
      const seq = b[i + 3]!;
      const length = (b[i + 4]! << 8) | b[i + 5]!;
      if (crc8Smbus(b, i + 2, i + 6) !== b[i + 6]) {
        fail('FRAME_HEADER_CRC', 'header CRC mismatch after a start marker (false start or damaged header)');
        continue;
      }
      const header = { type, seq, length };
      if (type !== FRAME_DATA && type !== FRAME_ACK && type !== FRAME_NAK) {
        fail('FRAME_BAD_TYPE', `frame type ${type} is not 1 (DATA), 2 (ACK) or 3 (NAK)`, header);
        continue;
      }
      if (length > MAX_PAYLOAD) {
        fail('FRAME_OVERSIZE', `frame announces ${length} payload bytes; the maximum is ${MAX_PAYLOAD}`, header);
        continue;
      }
      if (type !== FRAME_DATA && length !== 0) {
        fail(
          'FRAME_BAD_LENGTH',
          `${type === FRAME_ACK ? 'ACK' : 'NAK'} frame announces ${length} payload bytes; it must have none`,
          header,
        );
        continue;
      }
      const total = FRAME_OVERHEAD + length;
      if (end - i < total) break; // wait for the rest of the frame
      const p = i + FRAME_HEADER_SIZE + length;
      const expected = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      if (crc32(b, i + 2, p) !== expected) {
        fail(
          'FRAME_PAYLOAD_CRC',
          `CRC-32 mismatch in ${type === FRAME_DATA ? 'DATA' : type === FRAME_ACK ? 'ACK' : 'NAK'} frame SEQ ${seq} (${length} payload bytes)`,
          header,
        );
        continue;
      }
      flush();
      this.stats.frames++;
      events.push({
        kind: 'frame',
        frame: { type: type as FrameType, seq, payload: b.slice(i + FRAME_HEADER_SIZE, p) },
      });
      i += total;
    }
    flush();
    if (i > 0) {
      b.copyWithin(0, i, end);
      this.len = end - i;
    }
  }
}
