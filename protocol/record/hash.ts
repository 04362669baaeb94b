import { sha256 } from '@noble/hashes/sha2.js';
import { SIGNATURE_ALGORITHM_CODES, sm3 } from '../crypto/index.js';
import { DecodeError } from '../errors.js';

export const ZERO_HASH = new Uint8Array(32);

/** The hash that goes with a signature suite: SM3 for SM2, SHA-256 for P-256 (records, chains, key ids). */
export function suiteHash(algorithmCode: number, data: Uint8Array): Uint8Array {
  if (algorithmCode === SIGNATURE_ALGORITHM_CODES['sm2-sm3']) return sm3(data);
  if (algorithmCode === SIGNATURE_ALGORITHM_CODES['ecdsa-p256-sha256']) return sha256(data);
  throw new DecodeError(
    'SIGNATURE_ALGORITHM_UNKNOWN',
    `signature algorithm ${algorithmCode} is not defined`,
    'use 1 (SM2-SM3) or 2 (ECDSA P-256)',
  );
}

/** Key id: the first 8 bytes of the suite hash of the public key. */
export function keyId(algorithmCode: number, publicKey: Uint8Array): Uint8Array {
  return suiteHash(algorithmCode, publicKey).slice(0, 8);
}
