/**
 * Randomness for keys and nonces: the platform CSPRNG (Web Crypto getRandomValues, which Node
 * backs with OpenSSL's DRBG). Pure computation from the caller's point of view: no state here.
 */
import { CryptoError } from '../errors.js';

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65536 bytes per call
  for (let off = 0; off < length; off += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(off, Math.min(length, off + 65536)));
  }
  return out;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n || value >= 1n << BigInt(8 * length)) {
    throw new CryptoError('CRYPTO_INTERNAL', `integer does not fit in ${length} bytes`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Uniform scalar in [1, max] by rejection sampling on byteLength(max) random bytes (no modulo
 * bias). For the 256-bit group orders used here a rejection happens with probability < 2^-31.
 */
export function randomScalar(max: bigint): bigint {
  if (max < 1n) throw new CryptoError('CRYPTO_INTERNAL', 'randomScalar: empty range');
  const bits = max.toString(2).length;
  const len = Math.ceil(bits / 8);
  const excess = BigInt(len * 8 - bits);
  for (let i = 0; i < 1000; i++) {
    const v = bytesToBigInt(randomBytes(len)) >> excess;
    if (v >= 1n && v <= max) return v;
  }
  throw new CryptoError(
    'RANDOM_FAILED',
    'random source keeps returning out-of-range values',
    'the platform random number generator looks broken',
  );
}
