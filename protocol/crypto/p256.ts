/**
 * ECDSA over NIST P-256 with SHA-256 (FIPS 186-5), the international alternative to SM2.
 * Same conventions as sm2.ts: private keys 32 bytes in [1, n-1], public keys 65 bytes 04||x||y
 * (DecodeError P256_PUBLIC_KEY_* otherwise), signatures produced as raw r||s (64 bytes) and
 * accepted as raw or strict DER. Signatures are not normalised to low-S and high-S ones verify,
 * as in OpenSSL and Web Crypto (the record identity never depends on signature bytes).
 *
 * Arithmetic: node:crypto (OpenSSL's constant-time nistz256 code, ~30x faster than bigint JS);
 * public points are validated with @noble/curves first so errors are precise. Verification keys are
 * kept as KeyObjects in a small LRU; private keys are never cached.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { p256 as nobleP256 } from '@noble/curves/nist.js';
import { DecodeError, EncodeError } from '../errors.js';
import { bigIntToBytes, bytesToBigInt, randomScalar } from './random.js';
import { OID_PRIME256V1, privateKeyToPkcs8, publicKeyToSpki, signatureFromDer, signatureToDer } from './ec-encoding.js';
import type { KeyPair } from './sm2-api.js';

const N = nobleP256.Point.CURVE().n;
const MAX_CACHED_KEYS = 256;
const verifyKeys = new Map<string, KeyObject>();

function checkPrivateKey(privateKey: unknown): Uint8Array {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new EncodeError('P256_PRIVATE_KEY_INVALID', 'P-256 private key must be 32 bytes');
  }
  const d = bytesToBigInt(privateKey);
  if (d < 1n || d >= N) throw new EncodeError('P256_PRIVATE_KEY_INVALID', 'P-256 private key must be in [1, n-1]');
  return privateKey;
}

/** Throws DecodeError unless publicKey is 04||x||y of a point on P-256. */
export function p256ValidatePublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array))
    throw new DecodeError('P256_PUBLIC_KEY_TYPE', 'P-256 public key must be a Uint8Array');
  if (publicKey.length !== 65) {
    throw new DecodeError(
      'P256_PUBLIC_KEY_LENGTH',
      `P-256 public key must be 65 bytes (04||x||y), got ${publicKey.length}`,
    );
  }
  if (publicKey[0] !== 0x04)
    throw new DecodeError('P256_PUBLIC_KEY_FORMAT', 'P-256 public key must start with 04 (uncompressed)');
  try {
    nobleP256.Point.fromBytes(publicKey); // coordinates < p, on the curve, not the identity
  } catch {
    throw new DecodeError('P256_PUBLIC_KEY_NOT_ON_CURVE', 'P-256 public key is not a point of the curve');
  }
}

function verifyKey(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let key = verifyKeys.get(id);
  if (key === undefined) {
    p256ValidatePublicKey(publicKey);
    key = createPublicKey({
      key: Buffer.from(publicKeyToSpki(publicKey, OID_PRIME256V1, 'P256_PUBLIC_KEY_LENGTH')),
      format: 'der',
      type: 'spki',
    });
    if (verifyKeys.size >= MAX_CACHED_KEYS) verifyKeys.delete(verifyKeys.keys().next().value as string);
  } else {
    verifyKeys.delete(id);
  }
  verifyKeys.set(id, key);
  return key;
}

function signingKey(privateKey: Uint8Array): KeyObject {
  // PKCS#8 without the optional public key: OpenSSL derives it (constant time) on import
  const pkcs8 = privateKeyToPkcs8(checkPrivateKey(privateKey), null, OID_PRIME256V1, 'P256_PRIVATE_KEY_INVALID');
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

export function p256PublicFromPrivate(privateKey: Uint8Array): Uint8Array {
  const jwk = createPublicKey(signingKey(privateKey)).export({ format: 'jwk' });
  const out = new Uint8Array(65);
  out[0] = 0x04;
  out.set(Buffer.from(jwk.x ?? '', 'base64url'), 1);
  out.set(Buffer.from(jwk.y ?? '', 'base64url'), 33);
  return out;
}

export function p256GenerateKeyPair(): KeyPair {
  const privateKey = bigIntToBytes(randomScalar(N - 1n), 32);
  return { privateKey, publicKey: p256PublicFromPrivate(privateKey) };
}

/** ECDSA-SHA256 signature of message: raw r||s, 64 bytes. */
export function p256Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  checkPrivateKey(privateKey);
  if (!(message instanceof Uint8Array)) throw new EncodeError('P256_ARGUMENT', 'message must be a Uint8Array');
  return new Uint8Array(nodeSign('sha256', message, { key: signingKey(privateKey), dsaEncoding: 'ieee-p1363' }));
}

/** true iff signature (raw r||s or strict DER) is valid. DecodeError for a malformed public key. */
export function p256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = verifyKey(publicKey);
  if (!(message instanceof Uint8Array)) throw new EncodeError('P256_ARGUMENT', 'message must be a Uint8Array');
  if (!(signature instanceof Uint8Array)) throw new EncodeError('P256_ARGUMENT', 'signature must be a Uint8Array');
  let raw = signature;
  if (signature.length !== 64) {
    try {
      raw = signatureFromDer(signature, 'P256_SIGNATURE_DER_INVALID');
    } catch (err) {
      if (err instanceof DecodeError) return false;
      throw err;
    }
  }
  // OpenSSL rejects r or s outside [1, n-1] itself; this keeps the rule explicit and backend-independent
  const r = bytesToBigInt(raw.subarray(0, 32));
  const s = bytesToBigInt(raw.subarray(32));
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, raw);
}

export function p256SignatureToDer(raw: Uint8Array): Uint8Array {
  return signatureToDer(raw, 'P256_SIGNATURE_RAW_LENGTH');
}

export function p256SignatureFromDer(der: Uint8Array): Uint8Array {
  return signatureFromDer(der, 'P256_SIGNATURE_DER_INVALID');
}
