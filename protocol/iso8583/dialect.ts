import { isoEncodeError } from './errors.js';
import { ISO8583_1987_FIELDS, type FieldTable } from './fields.js';

/**
 * A dialect is everything two ends must agree on besides the field values: the field table, how
 * numbers travel (packed BCD or ASCII digits, for the MTI, `n`/`z` fields and length prefixes),
 * the TCP framing, and the size limit the decoder enforces.
 */
export interface Iso8583Dialect {
  readonly name: string;
  readonly numbers: 'bcd' | 'ascii';
  readonly fields: FieldTable;
  readonly framing: Iso8583Framing;
  /**
   * 'when-needed': the secondary bitmap is sent exactly when a field 65-128 is (an all-zero one
   * is refused); 'always': every message has one (hosts such as the iso_8583 package send it so).
   */
  readonly secondaryBitmap: 'when-needed' | 'always';
  /** The longest message (MTI to last field) encoded or accepted. */
  readonly maxMessageBytes: number;
}

/**
 * The frame on the TCP stream: a 2-byte big-endian length of what follows, then (CUP terminal
 * profile) a 5-byte TPDU and an application header of `headerLength` bytes, then the message.
 */
export interface Iso8583Framing {
  readonly tpdu: boolean;
  readonly headerLength: number;
}

/** The TPDU of CUP terminal links: ID 0x60, then destination and source addresses (2 bytes each). */
export const TPDU_ID = 0x60;
export const TPDU_LENGTH = 5;
export const CUP_HEADER_LENGTH = 6;
export const MAX_MESSAGE_BYTES = 8192;

/** China UnionPay terminal profile: BCD numbers, TPDU + 6-byte header inside the length prefix. */
export const CUP_TERMINAL_DIALECT: Iso8583Dialect = Object.freeze({
  name: 'cup-terminal',
  numbers: 'bcd',
  fields: ISO8583_1987_FIELDS,
  framing: Object.freeze({ tpdu: true, headerLength: CUP_HEADER_LENGTH }),
  secondaryBitmap: 'when-needed',
  maxMessageBytes: MAX_MESSAGE_BYTES,
});

/** The same fields with only the length prefix around the message (as Wireshark's dissector reads it). */
export const PLAIN_BCD_DIALECT: Iso8583Dialect = Object.freeze({
  ...CUP_TERMINAL_DIALECT,
  name: 'plain-bcd',
  framing: Object.freeze({ tpdu: false, headerLength: 0 }),
});

/** ASCII numbers (MTI, `n` fields, length prefixes as digits): hosts that speak 8583 in ASCII. */
export const PLAIN_ASCII_DIALECT: Iso8583Dialect = Object.freeze({
  ...PLAIN_BCD_DIALECT,
  name: 'plain-ascii',
  numbers: 'ascii',
});

export interface CupHeaderFields {
  /** 应用类别: 0x60 magnetic-stripe / general, 0x61 IC card applications. */
  readonly applicationType: number;
  /** 软件总版本号: the spec version the terminal follows, e.g. 0x31 (or 0x22 on older profiles). */
  readonly specVersion: number;
  /** 终端状态 (high nibble) and 处理要求 (low nibble): 0 and 0 in normal operation. */
  readonly terminalStatus: number;
  readonly processingRequest: number;
  /** 软件分版本号: 6 digits packed BCD, given by the acquirer (e.g. "311301"). */
  readonly softwareVersion: string;
}

/**
 * The 6-byte CUP application header. Its layout is taken from public terminal implementations
 * (application type, spec version, status/request nibbles, 3-byte sub-version), not from the
 * CUP specification text, which is not public: acquirers hand out the exact bytes, so the link
 * treats the header as configured bytes and this only builds the usual ones.
 */
export function cupHeader(h: CupHeaderFields): Uint8Array {
  const byte = (v: number, what: string, max = 0xff): number => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw isoEncodeError('ISO8583_FRAME_INVALID', `CUP header ${what} ${v} is not 0..${max}`);
    return v;
  };
  if (!/^[0-9]{6}$/.test(h.softwareVersion))
    throw isoEncodeError('ISO8583_FRAME_INVALID', `CUP header software version "${h.softwareVersion}" is not 6 digits`);
  const v = h.softwareVersion;
  const bcd = (i: number): number => (Number(v[i]) << 4) | Number(v[i + 1]);
  return Uint8Array.of(
    byte(h.applicationType, 'application type'),
    byte(h.specVersion, 'spec version'),
    (byte(h.terminalStatus, 'terminal status', 0xf) << 4) | byte(h.processingRequest, 'processing request', 0xf),
    bcd(0),
    bcd(2),
    bcd(4),
  );
}
