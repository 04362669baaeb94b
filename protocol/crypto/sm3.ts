/**
 * SM3 hash (GB/T 32905-2016, GM/T 0004-2012): 32-byte digest.
 * Uses node:crypto's native 'sm3' when the OpenSSL build has it (pure computation, ~10x faster),
 * otherwise the portable implementation in sm3-js.ts. Both give identical output.
 */
import { createHash, getHashes } from 'node:crypto';
import { EncodeError } from '../errors.js';
import { sm3Portable } from './sm3-js.js';

const HAVE_NATIVE_SM3 = getHashes().includes('sm3');

function requireBytes(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new EncodeError('SM3_INPUT_TYPE', 'sm3: input must be a Uint8Array', 'pass bytes, not a string');
  }
}

/** SM3 digest of data (32 bytes). */
export function sm3(data: Uint8Array): Uint8Array {
  requireBytes(data);
  if (!HAVE_NATIVE_SM3) return sm3Portable(data);
  return new Uint8Array(createHash('sm3').update(data).digest());
}

/** SM3 of the concatenation of parts, without building the concatenation. */
export function sm3Concat(...parts: Uint8Array[]): Uint8Array {
  if (!HAVE_NATIVE_SM3) {
    let len = 0;
    for (const p of parts) len += p.length;
    const all = new Uint8Array(len);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return sm3Portable(all);
  }
  const h = createHash('sm3');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
