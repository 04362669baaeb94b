import { decodeMessage, encodeMessage, type Iso8583Message } from './codec.js';
import { TPDU_ID, TPDU_LENGTH, type Iso8583Dialect } from './dialect.js';
import { isoDecodeError, isoEncodeError } from './errors.js';

/** The TPDU's addresses (2 bytes each, e.g. 0x0003 for an acquirer's NII). An answer swaps them. */
export interface Tpdu {
  readonly destination: number;
  readonly source: number;
}

/** One frame of the TCP stream: what the framing carries around the message. */
export interface Iso8583Frame {
  /** Present exactly when the dialect's framing has a TPDU. */
  readonly tpdu?: Tpdu;
  /** The application header, `framing.headerLength` bytes (CUP: cupHeader()). */
  readonly header: Uint8Array;
  readonly message: Iso8583Message;
}

const LENGTH_PREFIX = 2;

/** Length prefix (2 bytes, big-endian, counting what follows) + TPDU + header + message. */
export function encodeFrame(dialect: Iso8583Dialect, frame: Iso8583Frame): Uint8Array {
  const { tpdu: hasTpdu, headerLength } = dialect.framing;
  if (hasTpdu !== (frame.tpdu !== undefined))
    throw isoEncodeError('ISO8583_FRAME_INVALID', `the ${dialect.name} framing ${hasTpdu ? 'needs' : 'has no'} a TPDU`);
  if (!(frame.header instanceof Uint8Array) || frame.header.length !== headerLength)
    throw isoEncodeError('ISO8583_FRAME_INVALID', `the ${dialect.name} header is ${headerLength} bytes`);
  const message = encodeMessage(dialect, frame.message);
  const tpduBytes = frame.tpdu ? encodeTpdu(frame.tpdu) : new Uint8Array(0);
  const length = tpduBytes.length + headerLength + message.length;
  if (length > 0xffff)
    throw isoEncodeError('ISO8583_TOO_LONG', `frame of ${length} bytes does not fit a 2-byte length prefix`);
  const out = new Uint8Array(LENGTH_PREFIX + length);
  out[0] = length >> 8;
  out[1] = length & 0xff;
  out.set(tpduBytes, LENGTH_PREFIX);
  out.set(frame.header, LENGTH_PREFIX + tpduBytes.length);
  out.set(message, LENGTH_PREFIX + tpduBytes.length + headerLength);
  return out;
}

function encodeTpdu(t: Tpdu): Uint8Array {
  for (const [name, v] of [
    ['destination', t.destination],
    ['source', t.source],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw isoEncodeError('ISO8583_FRAME_INVALID', `TPDU ${name} address ${v} is not 0..0xFFFF`);
  return Uint8Array.of(TPDU_ID, t.destination >> 8, t.destination & 0xff, t.source >> 8, t.source & 0xff);
}

/**
 * How many bytes the frame at the start of `buffer` takes, or undefined while its length prefix
 * or body has not all arrived: for a stream reader. Frames over the dialect's limit are refused
 * here, before their bytes are waited for.
 */
export function frameLength(dialect: Iso8583Dialect, buffer: Uint8Array): number | undefined {
  if (buffer.length < LENGTH_PREFIX) return undefined;
  const length = (buffer[0]! << 8) | buffer[1]!;
  const overhead = (dialect.framing.tpdu ? TPDU_LENGTH : 0) + dialect.framing.headerLength;
  if (length > overhead + dialect.maxMessageBytes)
    throw isoDecodeError(
      'ISO8583_TOO_LONG',
      `frame length ${length} is over the ${overhead + dialect.maxMessageBytes}-byte limit`,
    );
  return buffer.length >= LENGTH_PREFIX + length ? LENGTH_PREFIX + length : undefined;
}

/** Strict decode of exactly one frame: the prefix must count every byte that follows it. */
export function decodeFrame(dialect: Iso8583Dialect, bytes: Uint8Array): Iso8583Frame {
  if (!(bytes instanceof Uint8Array)) throw isoDecodeError('ISO8583_FRAME_INVALID', 'the frame is not bytes');
  if (bytes.length < LENGTH_PREFIX)
    throw isoDecodeError('ISO8583_FRAME_INVALID', `frame of ${bytes.length} byte(s) has no 2-byte length prefix`);
  const length = (bytes[0]! << 8) | bytes[1]!;
  if (length !== bytes.length - LENGTH_PREFIX)
    throw isoDecodeError(
      'ISO8583_FRAME_INVALID',
      `length prefix says ${length} byte(s), ${bytes.length - LENGTH_PREFIX} follow`,
    );
  const { tpdu: hasTpdu, headerLength } = dialect.framing;
  const overhead = (hasTpdu ? TPDU_LENGTH : 0) + headerLength;
  if (length < overhead)
    throw isoDecodeError(
      'ISO8583_FRAME_INVALID',
      `frame of ${length} byte(s) is shorter than its ${overhead}-byte TPDU and header`,
    );
  let o = LENGTH_PREFIX;
  let tpdu: Tpdu | undefined;
  if (hasTpdu) {
    if (bytes[o] !== TPDU_ID)
      throw isoDecodeError(
        'ISO8583_FRAME_INVALID',
        `TPDU at offset ${o} starts with 0x${bytes[o]!.toString(16)}, not 0x60`,
      );
    tpdu = { destination: (bytes[o + 1]! << 8) | bytes[o + 2]!, source: (bytes[o + 3]! << 8) | bytes[o + 4]! };
    o += TPDU_LENGTH;
  }
  const header = bytes.slice(o, o + headerLength);
  o += headerLength;
  const message = decodeMessage(dialect, bytes.subarray(o));
  return tpdu ? { tpdu, header, message } : { header, message };
}
