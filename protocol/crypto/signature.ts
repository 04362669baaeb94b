/**
 * Algorithm-agnostic signatures for records and certificates. The wire carries a one-byte
 * algorithm code (SIGNATURE_ALGORITHM_CODES) next to raw 64-byte r||s signatures and 65-byte
 * uncompressed public keys, whatever the algorithm. The SM2 user id applies to 'sm2-sm3' only.
 */
import { DecodeError, EncodeError } from '../errors.js';
import type { KeyPair } from './sm2-api.js';
import { sm2GenerateKeyPair, sm2Sign, sm2ValidatePublicKey, sm2Verify } from './sm2.js';
import { p256GenerateKeyPair, p256Sign, p256ValidatePublicKey, p256Verify } from './p256.js';

export type SignatureAlgorithm = 'sm2-sm3' | 'ecdsa-p256-sha256';

/** Wire codes; never renumber. */
export const SIGNATURE_ALGORITHM_CODES: Readonly<Record<SignatureAlgorithm, number>> = Object.freeze({
  'sm2-sm3': 1,
  'ecdsa-p256-sha256': 2,
});

export interface SignatureOptions {
  /** SM2 distinguishing identifier (default '1234567812345678'); ignored for P-256 */
  userId?: string | Uint8Array;
}

/** Algorithm for a wire code; DecodeError SIGNATURE_ALGORITHM_UNKNOWN otherwise. */
export function signatureAlgorithmFromCode(code: number): SignatureAlgorithm {
  for (const [alg, c] of Object.entries(SIGNATURE_ALGORITHM_CODES) as [SignatureAlgorithm, number][]) {
    if (c === code) return alg;
  }
  throw new DecodeError(
    'SIGNATURE_ALGORITHM_UNKNOWN',
    `unknown signature algorithm code ${String(code)}`,
    `known codes: ${Object.values(SIGNATURE_ALGORITHM_CODES).join(', ')}`,
  );
}

function unknown(alg: unknown): never {
  throw new EncodeError(
    'SIGNATURE_ALGORITHM_UNKNOWN',
    `unknown signature algorithm ${JSON.stringify(alg)}`,
    `use one of ${Object.keys(SIGNATURE_ALGORITHM_CODES).join(', ')}`,
  );
}

export function generateKeyPair(alg: SignatureAlgorithm): KeyPair {
  switch (alg) {
    case 'sm2-sm3':
      return sm2GenerateKeyPair();
    case 'ecdsa-p256-sha256':
      return p256GenerateKeyPair();
    default:
      return unknown(alg);
  }
}

/** Raw r||s (64 bytes). */
export function sign(
  alg: SignatureAlgorithm,
  privateKey: Uint8Array,
  message: Uint8Array,
  opts: SignatureOptions = {},
): Uint8Array {
  switch (alg) {
    case 'sm2-sm3':
      return sm2Sign(privateKey, message, opts.userId === undefined ? {} : { userId: opts.userId });
    case 'ecdsa-p256-sha256':
      return p256Sign(privateKey, message);
    default:
      return unknown(alg);
  }
}

/** true iff valid; false for any signature problem; DecodeError for a malformed public key. */
export function verify(
  alg: SignatureAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  opts: SignatureOptions = {},
): boolean {
  switch (alg) {
    case 'sm2-sm3':
      return sm2Verify(publicKey, message, signature, opts.userId === undefined ? {} : { userId: opts.userId });
    case 'ecdsa-p256-sha256':
      return p256Verify(publicKey, message, signature);
    default:
      return unknown(alg);
  }
}

/** Throws DecodeError unless publicKey is a valid 65-byte point for alg. */
export function validatePublicKey(alg: SignatureAlgorithm, publicKey: Uint8Array): void {
  switch (alg) {
    case 'sm2-sm3':
      return sm2ValidatePublicKey(publicKey);
    case 'ecdsa-p256-sha256':
      return p256ValidatePublicKey(publicKey);
    default:
      return unknown(alg);
  }
}
