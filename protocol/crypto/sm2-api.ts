/**
 * The SM2 operations, built over one backend. sm2.ts exposes the instance for the active backend;
 * the conformance tests build one per available backend and run the same suite on each.
 */
import { DecodeError, EncodeError } from '../errors.js';
import { bigIntToBytes, bytesToBigInt, randomScalar } from './random.js';
import { sm3Concat } from './sm3.js';
import { SM2_CURVE, SM2_DEFAULT_USER_ID, encodeUserId } from './sm2-core.js';
import type { Sm2Backend } from './sm2-backend.js';
import {
  DEFAULT_SM2_CACHE_LIMITS,
  JS_SM2_CACHE_LIMITS,
  Sm2KeyCache,
  checkPublicKeyShape,
  notOnCurveError,
  type Sm2KeyCacheLimits,
} from './sm2-keycache.js';
import { signatureFromDer } from './ec-encoding.js';

export interface KeyPair {
  /** 32 bytes, big-endian scalar d */
  privateKey: Uint8Array;
  /** 65 bytes, 04 || x || y */
  publicKey: Uint8Array;
}

export interface Sm2SignOptions {
  /** distinguishing identifier for Z_A; default '1234567812345678' (strings are UTF-8) */
  userId?: string | Uint8Array;
  /**
   * TEST VECTORS ONLY: a fixed nonce k in [1, n-1]. Signing two messages with the same k reveals
   * the private key. Never set this outside tests.
   */
  testK?: bigint;
}

export interface Sm2VerifyOptions {
  userId?: string | Uint8Array;
}

export interface Sm2Api {
  readonly backend: 'native' | 'js';
  generateKeyPair(): KeyPair;
  publicFromPrivate(privateKey: Uint8Array): Uint8Array;
  validatePublicKey(publicKey: Uint8Array): void;
  za(publicKey: Uint8Array, userId?: string | Uint8Array): Uint8Array;
  messageDigest(publicKey: Uint8Array, message: Uint8Array, userId?: string | Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array, opts?: Sm2SignOptions): Uint8Array;
  signDigest(privateKey: Uint8Array, digest: Uint8Array, opts?: Pick<Sm2SignOptions, 'testK'>): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, opts?: Sm2VerifyOptions): boolean;
  verifyDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
  /** test hook: s*G + t*P (65 bytes) or null for the identity */
  mulAdd(s: Uint8Array, publicKey: Uint8Array, t: Uint8Array): Uint8Array | null;
  cacheStats(): { keys: number; tables: number; signers: number };
}

const N = SM2_CURVE.params.n;
const DEFAULT_ID = encodeUserId(SM2_DEFAULT_USER_ID);

function requireBytes(what: string, v: unknown, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array) || (len !== undefined && v.length !== len)) {
    const got = v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
    throw new EncodeError(
      'SM2_ARGUMENT',
      `${what} must be ${len === undefined ? 'a Uint8Array' : `${len} bytes`}, got ${got}`,
    );
  }
  return v;
}

/** EncodeError unless privateKey is 32 bytes encoding d in [1, n-2] (1 + d must be invertible). */
export function checkPrivateKey(privateKey: unknown): Uint8Array {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new EncodeError('SM2_PRIVATE_KEY_INVALID', 'SM2 private key must be 32 bytes');
  }
  const d = bytesToBigInt(privateKey);
  if (d < 1n || d > N - 2n) {
    throw new EncodeError(
      'SM2_PRIVATE_KEY_INVALID',
      'SM2 private key must be in [1, n-2]',
      'generate keys with sm2GenerateKeyPair',
    );
  }
  return privateKey;
}

function testNonce(testK: bigint | undefined): Uint8Array | undefined {
  if (testK === undefined) return undefined;
  if (typeof testK !== 'bigint' || testK < 1n || testK >= N) {
    throw new EncodeError('SM2_TEST_K_INVALID', 'testK must be a bigint in [1, n-1]');
  }
  return bigIntToBytes(testK, 32);
}

/**
 * Raw r||s from a raw or DER signature, or null when it is neither (a signature problem, which
 * verification reports as false rather than throwing).
 */
export function normalizeSignature(signature: unknown): Uint8Array | null {
  if (!(signature instanceof Uint8Array)) {
    throw new EncodeError('SM2_ARGUMENT', 'signature must be a Uint8Array');
  }
  if (signature.length === 64) return signature;
  try {
    return signatureFromDer(signature, 'SM2_SIGNATURE_DER_INVALID');
  } catch (err) {
    if (err instanceof DecodeError) return null;
    throw err;
  }
}

export function createSm2Api(backend: Sm2Backend, limits?: Sm2KeyCacheLimits): Sm2Api {
  limits ??= backend.name === 'native' ? DEFAULT_SM2_CACHE_LIMITS : JS_SM2_CACHE_LIMITS;
  const keys = new Sm2KeyCache(backend, limits);
  const idBytes = (userId: string | Uint8Array | undefined): Uint8Array =>
    userId === undefined ? DEFAULT_ID : encodeUserId(userId);

  // userId null: data is the digest e; otherwise the message, e = SM3(Z_A || data)
  const verifyWith = (
    publicKey: Uint8Array,
    userId: Uint8Array | null,
    data: Uint8Array,
    signature: Uint8Array,
  ): boolean => {
    const id = keys.idOf(publicKey);
    let entry = keys.peek(id);
    if (entry === undefined && id !== undefined && backend.verifyFresh !== undefined) {
      // a new key: one backend call validates it and verifies
      const sig = signature instanceof Uint8Array && publicKey[0] === 0x04 ? normalizeSignature(signature) : null;
      if (sig !== null) {
        const verdict = backend.verifyFresh(publicKey, userId, data, sig);
        if (verdict < 0) {
          checkPublicKeyShape(publicKey); // 04||0||0 is reported as the point at infinity
          throw notOnCurveError();
        }
        keys.noteUse(keys.remember(id));
        return verdict === 1;
      }
    }
    entry ??= keys.lookup(publicKey); // malformed key: DecodeError, whatever the signature
    const sig = normalizeSignature(signature);
    const e = userId === null ? data : sm3Concat(keys.za(entry, userId), data);
    if (sig === null) return false;
    keys.noteUse(entry);
    return backend.verifyDigest(keys.handleOf(entry), e, sig);
  };

  const signWith = (privateKey: Uint8Array, e: Uint8Array, testK: bigint | undefined): Uint8Array =>
    backend.signDigest(privateKey, e, testNonce(testK));

  return {
    backend: backend.name,

    generateKeyPair() {
      const privateKey = bigIntToBytes(randomScalar(N - 2n), 32);
      return { privateKey, publicKey: keys.publicKeyOf(privateKey) };
    },

    publicFromPrivate(privateKey) {
      return Uint8Array.from(keys.publicKeyOf(checkPrivateKey(privateKey)));
    },

    validatePublicKey(publicKey) {
      keys.lookup(publicKey);
    },

    za(publicKey, userId) {
      return Uint8Array.from(keys.za(keys.lookup(publicKey), idBytes(userId)));
    },

    messageDigest(publicKey, message, userId) {
      const za = keys.za(keys.lookup(publicKey), idBytes(userId));
      return sm3Concat(za, requireBytes('message', message));
    },

    sign(privateKey, message, opts = {}) {
      checkPrivateKey(privateKey);
      requireBytes('message', message);
      const entry = keys.lookup(keys.publicKeyOf(privateKey));
      const e = sm3Concat(keys.za(entry, idBytes(opts.userId)), message);
      return signWith(privateKey, e, opts.testK);
    },

    signDigest(privateKey, digest, opts = {}) {
      checkPrivateKey(privateKey);
      return signWith(privateKey, requireBytes('digest', digest, 32), opts.testK);
    },

    verify(publicKey, message, signature, opts = {}) {
      requireBytes('message', message);
      return verifyWith(publicKey, idBytes(opts.userId), message, signature);
    },

    verifyDigest(publicKey, digest, signature) {
      requireBytes('digest', digest, 32);
      return verifyWith(publicKey, null, digest, signature);
    },

    mulAdd(s, publicKey, t) {
      return backend.mulAdd(requireBytes('s', s, 32), keys.handleOf(keys.lookup(publicKey)), requireBytes('t', t, 32));
    },

    cacheStats: () => keys.stats(),
  };
}
