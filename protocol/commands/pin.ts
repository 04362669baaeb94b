import { DecodeError, EncodeError } from '../errors.js';

export const PIN_MIN = 4;
export const PIN_MAX = 12;
export const PUK_MIN = 8;
export const PUK_MAX = 12;

/** A PIN travels as ASCII digits in CBOR commands (bytes, so it is never a JS string in logs by accident). */
export function isValidPin(pin: Uint8Array, min = PIN_MIN, max = PIN_MAX): boolean {
  if (pin.length < min || pin.length > max) return false;
  for (const b of pin) if (b < 0x30 || b > 0x39) return false;
  return true;
}

/**
 * ISO 9564-1 format 2 PIN block, what PIN pads put in VERIFY (EMV plaintext offline PIN):
 * 0x2N, then N BCD digits, padded with F nibbles to 8 bytes.
 */
export function encodePinBlock(pin: Uint8Array): Uint8Array {
  if (!isValidPin(pin)) throw new EncodeError('PIN_FORMAT', 'a PIN is 4 to 12 digits', 'enter digits only');
  const nibbles = [2, pin.length, ...Array.from(pin, (d) => d - 0x30)];
  while (nibbles.length < 16) nibbles.push(0xf);
  const block = new Uint8Array(8);
  for (let i = 0; i < 8; i++) block[i] = (nibbles[2 * i]! << 4) | nibbles[2 * i + 1]!;
  return block;
}

/** Parse a format 2 PIN block back to ASCII digits; any deviation is a DecodeError (6A80 on the card). */
export function decodePinBlock(block: Uint8Array, min = PIN_MIN, max = PIN_MAX): Uint8Array {
  const bad = (why: string) =>
    new DecodeError(
      'PIN_BLOCK_INVALID',
      `not an ISO 9564 format 2 PIN block: ${why}`,
      'the PIN pad must send 8 bytes 2N + BCD digits + F padding',
    );
  if (block.length !== 8) throw bad(`${block.length} bytes`);
  const nib = (i: number) => (i % 2 === 0 ? block[i >> 1]! >> 4 : block[i >> 1]! & 0xf);
  if (nib(0) !== 2) throw bad('control field is not 2');
  const n = nib(1);
  if (n < min || n > max) throw bad(`length ${n}`);
  const pin = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const d = nib(2 + i);
    if (d > 9) throw bad('non-digit');
    pin[i] = 0x30 + d;
  }
  for (let i = 2 + n; i < 16; i++) if (nib(i) !== 0xf) throw bad('filler is not F');
  return pin;
}
