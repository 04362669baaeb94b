/**
 * The internal interface both SM2 backends implement (sm2-native.ts on the C addon, sm2-js.ts on
 * @noble/curves), and the choice between them. Everything above this interface (user ids, Z_A,
 * key caching, encodings, error mapping) is shared, so both backends run the same conformance
 * suite. Backends receive arguments already checked for length and key range.
 */

/** Opaque per-public-key state owned by a backend (decoded point, optional precomputed table). */
export type Sm2KeyHandle = object;

export interface Sm2Backend {
  readonly name: 'native' | 'js';
  /** d in [1, n-2] (32 bytes) -> 04||x||y */
  publicFromPrivate(privateKey: Uint8Array): Uint8Array;
  /** raw r||s over the 32-byte digest e; k (32 bytes) only for test vectors */
  signDigest(privateKey: Uint8Array, e: Uint8Array, k?: Uint8Array): Uint8Array;
  /** 04||x||y -> handle, or null when the point is not on the curve (or a coordinate >= p) */
  importPublicKey(publicKey: Uint8Array): Sm2KeyHandle | null;
  /** builds a per-key table so later verifications are ~2.5x faster (costs ~2 verifications) */
  precompute(key: Sm2KeyHandle): void;
  /** frees native memory now; the handle must not be used afterwards */
  release(key: Sm2KeyHandle): void;
  /** r||s (64 bytes) against the digest e (32 bytes) */
  verifyDigest(key: Sm2KeyHandle, e: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Optional one-call verification for a key not in the cache: decodes pub, computes e =
   * SM3(Z_A || data) when userId is given (else data is e) and checks r||s. 1 valid, 0 not valid,
   * -1 pub is not a point of the curve. Saves a handle and two hash objects per new key.
   */
  verifyFresh?(publicKey: Uint8Array, userId: Uint8Array | null, data: Uint8Array, signature: Uint8Array): number;
  /** test hook: s*G + t*P for any 256-bit s, t; null for the identity */
  mulAdd(s: Uint8Array, key: Sm2KeyHandle, t: Uint8Array): Uint8Array | null;
}
