import { DecodeError } from '../errors.js';

/** A response APDU: body bytes and the 16-bit status word SW1SW2. */
export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

export function decodeResponseApdu(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) {
    throw new DecodeError(
      'APDU_RESPONSE_SHORT',
      `response APDU of ${bytes.length} bytes has no status word`,
      'the card or reader returned a truncated response; retry, and check the reader',
    );
  }
  const n = bytes.length;
  return { data: bytes.slice(0, n - 2), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

export function encodeResponseApdu(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = (sw >> 8) & 0xff;
  out[data.length + 1] = sw & 0xff;
  return out;
}

export const sw1 = (sw: number): number => (sw >> 8) & 0xff;
export const sw2 = (sw: number): number => sw & 0xff;
