import { DecodeError, EncodeError } from '../errors.js';

/**
 * An ISO 7816-4 command APDU. `le` is the number of response bytes expected:
 * undefined = no response data expected (cases 1 and 3), 1..256 short / 1..65536 extended,
 * where the maximum is encoded as 00 (short) or 0000 (extended) per ISO 7816-4 §5.1.
 */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  le?: number;
}

export const SHORT_MAX_DATA = 255;
export const SHORT_MAX_LE = 256;
export const EXTENDED_MAX_DATA = 65535;
export const EXTENDED_MAX_LE = 65536;

/** CLA bit 0x10 marks "more commands of this chain follow" (ISO 7816-4 §5.4.1). */
export const CLA_CHAINING_BIT = 0x10;

export type LengthEncoding = 'short' | 'extended';

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new EncodeError(
      'APDU_FIELD_RANGE',
      `APDU ${name} must be a byte (0..255), got ${v}`,
      'fix the command definition',
    );
  }
}

/** Whether this command needs the extended length form (data > 255 bytes or Le > 256). */
export function needsExtendedLength(cmd: CommandApdu): boolean {
  return (cmd.data?.length ?? 0) > SHORT_MAX_DATA || (cmd.le ?? 0) > SHORT_MAX_LE;
}

/**
 * Encode a command APDU in all four ISO cases. `form` chooses short or extended length fields;
 * by default the short form is used unless the command cannot fit it.
 */
export function encodeCommandApdu(
  cmd: CommandApdu,
  form: LengthEncoding = needsExtendedLength(cmd) ? 'extended' : 'short',
): Uint8Array {
  checkByte('CLA', cmd.cla);
  checkByte('INS', cmd.ins);
  checkByte('P1', cmd.p1);
  checkByte('P2', cmd.p2);
  if (cmd.cla === 0xff)
    throw new EncodeError(
      'APDU_FIELD_RANGE',
      'CLA FF is reserved for PPS and cannot be sent',
      'use a valid class byte',
    );
  const data = cmd.data ?? new Uint8Array(0);
  const nc = data.length;
  const le = cmd.le;
  const maxData = form === 'short' ? SHORT_MAX_DATA : EXTENDED_MAX_DATA;
  const maxLe = form === 'short' ? SHORT_MAX_LE : EXTENDED_MAX_LE;
  if (nc > maxData) {
    throw new EncodeError(
      'APDU_TOO_LONG',
      `command data of ${nc} bytes does not fit a ${form} APDU (max ${maxData})`,
      form === 'short' ? 'use command chaining or an extended-length APDU' : 'split the message',
    );
  }
  if (le !== undefined && (!Number.isInteger(le) || le < 1 || le > maxLe)) {
    throw new EncodeError(
      'APDU_FIELD_RANGE',
      `Le ${le} is outside 1..${maxLe} for a ${form} APDU`,
      'leave Le undefined for no response data',
    );
  }
  const head = [cmd.cla, cmd.ins, cmd.p1, cmd.p2];
  const out: number[] = head;
  if (form === 'short') {
    if (nc > 0) out.push(nc);
    const bytes = new Uint8Array(4 + (nc > 0 ? 1 + nc : 0) + (le !== undefined ? 1 : 0));
    bytes.set(out, 0);
    if (nc > 0) bytes.set(data, 5);
    if (le !== undefined) bytes[bytes.length - 1] = le === 256 ? 0 : le;
    return bytes;
  }
  // Extended: a 00 marker, then Lc as 2 bytes; Le as 2 bytes (3 with the marker when there is no data).
  const lcLen = nc > 0 ? 3 : 0;
  const leLen = le !== undefined ? (nc > 0 ? 2 : 3) : 0;
  if (lcLen === 0 && leLen === 0) {
    return Uint8Array.from(head); // case 1 has no length field in either form
  }
  const bytes = new Uint8Array(4 + lcLen + nc + leLen);
  bytes.set(head, 0);
  let off = 4;
  if (nc > 0) {
    bytes[off++] = 0;
    bytes[off++] = nc >> 8;
    bytes[off++] = nc & 0xff;
    bytes.set(data, off);
    off += nc;
  }
  if (le !== undefined) {
    if (nc === 0) bytes[off++] = 0;
    const v = le === 65536 ? 0 : le;
    bytes[off++] = v >> 8;
    bytes[off++] = v & 0xff;
  }
  return bytes;
}

function malformed(why: string): DecodeError {
  return new DecodeError(
    'APDU_MALFORMED',
    `malformed command APDU: ${why}`,
    'the sender must follow ISO 7816-4 §5.1 length rules',
  );
}

/**
 * Parse a command APDU (the card side). Accepts exactly the encodings ISO 7816-4 allows;
 * anything else is a DecodeError, never a crash. Returns which length form was used, since a
 * response must not exceed what the form can carry.
 */
export function decodeCommandApdu(bytes: Uint8Array): CommandApdu & { form: LengthEncoding } {
  if (bytes.length < 4) throw malformed(`${bytes.length} bytes, a header needs 4`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (cla === 0xff) throw malformed('CLA FF is reserved for PPS');
  const body = bytes.subarray(4);
  const n = body.length;
  const base = { cla, ins, p1, p2 };
  if (n === 0) return { ...base, form: 'short' }; // case 1
  const b0 = body[0]!;
  if (n === 1) return { ...base, le: b0 === 0 ? 256 : b0, form: 'short' }; // case 2S
  if (b0 !== 0) {
    // short Lc
    if (n === 1 + b0) return { ...base, data: body.slice(1), form: 'short' }; // case 3S
    if (n === 2 + b0) {
      const le = body[n - 1]!;
      return { ...base, data: body.slice(1, 1 + b0), le: le === 0 ? 256 : le, form: 'short' };
    } // 4S
    throw malformed(`Lc ${b0} does not match ${n - 1} body bytes`);
  }
  // b0 == 0 and n > 1: extended
  if (n === 3) {
    const le = (body[1]! << 8) | body[2]!;
    return { ...base, le: le === 0 ? 65536 : le, form: 'extended' };
  } // 2E
  if (n < 3) throw malformed('truncated extended length');
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw malformed('extended Lc of 0');
  if (n === 3 + lc) return { ...base, data: body.slice(3), form: 'extended' }; // 3E
  if (n === 5 + lc) {
    const le = (body[n - 2]! << 8) | body[n - 1]!;
    return { ...base, data: body.slice(3, 3 + lc), le: le === 0 ? 65536 : le, form: 'extended' };
  } // 4E
  throw malformed(`extended Lc ${lc} does not match ${n - 3} body bytes`);
}
