/**
 * ISO 8583 field definitions as data. A dialect is a table of these; the codec has no field
 * numbers in its code. Lengths count what the format counts: digits for `n` and `z`,
 * characters for `an` and `ans`, bytes for `b`.
 */
export type FieldFormat =
  /** digits 0-9: packed BCD (two per byte) or ASCII digits, as the dialect's `numbers` says */
  | 'n'
  /** track-2 digits and the separator '=' (BCD nibble D) */
  | 'z'
  /** ASCII letters, digits and space */
  | 'an'
  /** printable ASCII 0x20-0x7E (no GBK: a non-ASCII byte is refused, not guessed at) */
  | 'ans'
  /** raw bytes */
  | 'b';

export interface FieldDef {
  readonly name: string;
  readonly format: FieldFormat;
  /** The fixed length, or the maximum of a variable one. */
  readonly length: number;
  /** 0: fixed; 2: LLVAR (1 BCD byte or 2 ASCII digits); 3: LLLVAR (2 BCD bytes or 3 ASCII digits). */
  readonly prefix: 0 | 2 | 3;
  /**
   * Where an odd count of BCD digits gets its 0 pad nibble: 'left' right-justifies (ISO, jPOS,
   * Wireshark), 'right' left-justifies (CUP's 左靠 for PAN and track 2). Default 'left'.
   */
  readonly pad?: 'left' | 'right';
}

export type FieldTable = ReadonlyMap<number, FieldDef>;

const fixed = (name: string, format: FieldFormat, length: number): FieldDef => ({ name, format, length, prefix: 0 });
const llvar = (name: string, format: FieldFormat, length: number, pad?: 'right'): FieldDef =>
  pad ? { name, format, length, prefix: 2, pad } : { name, format, length, prefix: 2 };
const lllvar = (name: string, format: FieldFormat, length: number): FieldDef => ({ name, format, length, prefix: 3 });

/**
 * ISO 8583:1987 as acquirer terminal profiles (China UnionPay's POS spec among them) use it:
 * numbers packed BCD, lengths as BCD prefixes, bitmaps binary. Fields 48 and 60-63 are ASCII
 * here (CUP packs some of them as BCD): that is what Wireshark's 1987 table reads, so every
 * message the link sends is checked by a decoder nobody here wrote (docs/iso8583.md §2).
 */
export const ISO8583_1987_FIELDS: FieldTable = new Map<number, FieldDef>([
  [2, llvar('Primary account number', 'n', 19, 'right')],
  [3, fixed('Processing code', 'n', 6)],
  [4, fixed('Amount, transaction', 'n', 12)],
  [11, fixed('System trace audit number', 'n', 6)],
  [12, fixed('Time, local transaction (hhmmss)', 'n', 6)],
  [13, fixed('Date, local transaction (MMDD)', 'n', 4)],
  [14, fixed('Date, expiration (YYMM)', 'n', 4)],
  [15, fixed('Date, settlement (MMDD)', 'n', 4)],
  [22, fixed('Point of service entry mode', 'n', 3)],
  [23, fixed('Card sequence number', 'n', 3)],
  [25, fixed('Point of service condition code', 'n', 2)],
  [26, fixed('Point of service PIN capture code', 'n', 2)],
  [32, llvar('Acquiring institution identification code', 'n', 11, 'right')],
  [35, llvar('Track 2 data', 'z', 37, 'right')],
  [37, fixed('Retrieval reference number', 'an', 12)],
  [38, fixed('Authorisation identification response', 'an', 6)],
  [39, fixed('Response code', 'an', 2)],
  [41, fixed('Card acceptor terminal identification', 'ans', 8)],
  [42, fixed('Card acceptor identification code', 'ans', 15)],
  [44, llvar('Additional response data', 'ans', 25)],
  [48, lllvar('Additional data, private (settlement totals)', 'ans', 322)],
  [49, fixed('Currency code, transaction', 'an', 3)],
  [52, fixed('PIN data', 'b', 8)],
  [53, fixed('Security related control information', 'n', 16)],
  [55, lllvar('ICC data (BER-TLV)', 'b', 255)],
  [60, lllvar('Reserved national (message class, batch, network code)', 'ans', 17)],
  [61, lllvar('Original transaction data', 'ans', 29)],
  [62, lllvar('Reserved private (cardpost: signed record, base64)', 'ans', 999)],
  [63, lllvar('Reserved private (operator)', 'ans', 163)],
  [64, fixed('Message authentication code', 'b', 8)],
  [70, fixed('Network management information code', 'n', 3)],
  [90, fixed('Original data elements', 'n', 42)],
  [100, llvar('Receiving institution identification code', 'n', 11, 'right')],
  [102, llvar('Account identification 1', 'ans', 28)],
  [128, fixed('Message authentication code (secondary)', 'b', 8)],
]);
