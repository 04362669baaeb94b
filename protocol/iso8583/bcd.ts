/**
 * Packed BCD for ISO 8583 numbers: two digits a byte, high nibble first. An odd count of digits
 * gets one pad nibble, which must be 0 (a decoder that ignored it would accept two encodings of
 * one value). In `z` (track 2) the separator '=' is nibble D.
 */
const Z_SEPARATOR_NIBBLE = 0xd;

export function digitNibble(ch: string, track2: boolean): number {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48;
  if (track2 && ch === '=') return Z_SEPARATOR_NIBBLE;
  return -1;
}

/** Packs `digits` (already checked) into ceil(n/2) bytes. */
export function packBcd(digits: string, pad: 'left' | 'right', track2 = false): Uint8Array {
  const nibbles = [...digits].map((c) => digitNibble(c, track2));
  if (nibbles.length % 2 === 1) {
    if (pad === 'left') nibbles.unshift(0);
    else nibbles.push(0);
  }
  const out = new Uint8Array(nibbles.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibbles[2 * i]! << 4) | nibbles[2 * i + 1]!;
  return out;
}

/**
 * Unpacks `count` digits from `bytes` (exactly ceil(count/2) long). Returns the digits, or a
 * description of the first bad nibble for the caller's error.
 */
export function unpackBcd(
  bytes: Uint8Array,
  count: number,
  pad: 'left' | 'right',
  track2 = false,
): { digits: string } | { bad: string } {
  const nibbles: number[] = [];
  for (const b of bytes) nibbles.push(b >> 4, b & 0x0f);
  if (count % 2 === 1) {
    const padNibble = pad === 'left' ? nibbles.shift()! : nibbles.pop()!;
    if (padNibble !== 0) return { bad: `pad nibble ${padNibble.toString(16).toUpperCase()} (must be 0)` };
  }
  let digits = '';
  for (const n of nibbles) {
    if (n <= 9) digits += String.fromCharCode(48 + n);
    else if (track2 && n === Z_SEPARATOR_NIBBLE) digits += '=';
    else return { bad: `nibble ${n.toString(16).toUpperCase()} is not a digit` };
  }
  return { digits };
}
