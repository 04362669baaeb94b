import { Sm4Key, sm4EncryptBlock } from '../crypto/sm4.js';
import { encodeMessage, type FieldValue, type Iso8583Message } from './codec.js';
import type { Iso8583Dialect } from './dialect.js';
import { isoEncodeError } from './errors.js';

/**
 * Message authentication for the acquirer link (docs/iso8583.md §7): ISO/IEC 9797-1 MAC
 * algorithm 1 (CBC-MAC, zero IV) with padding method 2 (0x80 then zeros, so no two inputs pad
 * alike) over SM4, the MAC being the leftmost 8 bytes of the last block (field 64 is 8 bytes).
 * The key is the terminal's 16-byte TAK, shared by the terminal and the acquirer, as CUP
 * terminals MAC with theirs. The input is the encoded message (MTI onwards, no TPDU or header)
 * with bit 64 set, up to but not including field 64's own 8 bytes.
 */
export const MAC_FIELD = 64;
export const MAC_BYTES = 8;
const BLOCK = 16;

/** The 8-byte CBC-MAC of `data` under `key` (16 bytes, or an expanded Sm4Key for reuse). */
export function cbcMac(key: Uint8Array | Sm4Key, data: Uint8Array): Uint8Array {
  const k = key instanceof Sm4Key ? key : new Sm4Key(key);
  const padded = new Uint8Array(Math.floor(data.length / BLOCK) * BLOCK + BLOCK);
  padded.set(data);
  padded[data.length] = 0x80;
  let chain: Uint8Array = new Uint8Array(BLOCK);
  for (let o = 0; o < padded.length; o += BLOCK) {
    const block = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) block[i] = chain[i]! ^ padded[o + i]!;
    chain = sm4EncryptBlock(k, block);
  }
  return chain.slice(0, MAC_BYTES);
}

/** What the MAC covers: the message encoded with an 8-byte field 64, without those 8 bytes. */
function macInput(dialect: Iso8583Dialect, msg: Iso8583Message): Uint8Array {
  if ([...msg.fields.keys()].some((n) => n > MAC_FIELD))
    throw isoEncodeError('ISO8583_FIELD_INVALID', `${msg.mti}: a MACed message has no field after 64`);
  const fields = new Map<number, FieldValue>(msg.fields);
  fields.set(MAC_FIELD, new Uint8Array(MAC_BYTES));
  const bytes = encodeMessage(dialect, { mti: msg.mti, fields });
  return bytes.subarray(0, bytes.length - MAC_BYTES);
}

/** The message with field 64 set to its MAC (any field 64 it had is replaced). */
export function withMac(dialect: Iso8583Dialect, msg: Iso8583Message, key: Uint8Array | Sm4Key): Iso8583Message {
  const fields = new Map<number, FieldValue>(msg.fields);
  fields.delete(MAC_FIELD);
  const mac = cbcMac(key, macInput(dialect, { mti: msg.mti, fields }));
  fields.set(MAC_FIELD, mac);
  return { mti: msg.mti, fields: new Map([...fields].sort((a, b) => a[0] - b[0])) };
}

/**
 * Whether a received message carries field 64 and it is the MAC of the rest under `key`. A message
 * the codec decoded re-encodes to its own bytes, so the MAC is recomputed from the decoded fields.
 * Compared in constant time (no early exit on the first differing byte).
 */
export function macValid(dialect: Iso8583Dialect, msg: Iso8583Message, key: Uint8Array | Sm4Key): boolean {
  const got = msg.fields.get(MAC_FIELD);
  if (!(got instanceof Uint8Array) || got.length !== MAC_BYTES) return false;
  let want: Uint8Array;
  try {
    want = cbcMac(key, macInput(dialect, msg));
  } catch {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= got[i]! ^ want[i]!;
  return diff === 0;
}
