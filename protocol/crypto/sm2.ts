/**
 * SM2 digital signatures (GB/T 32918.2-2016 / GM/T 0003.2-2012) with SM3 and the Z_A user id,
 * on the recommended curve sm2p256v1 (GB/T 32918.5), plus the key and signature encodings.
 *
 * Inputs and failures:
 *  - public keys are 65 bytes 04||x||y; anything else, or a point not on the curve, throws
 *    DecodeError (SM2_PUBLIC_KEY_*), also from sm2Verify: a malformed key is not "a signature
 *    that did not verify";
 *  - signatures to verify are raw r||s (exactly 64 bytes) or strict DER (any other length);
 *    a signature that is neither, has r or s outside [1, n-1], or r + s = n, makes sm2Verify
 *    return false;
 *  - private keys are 32 bytes with d in [1, n-2]; otherwise EncodeError SM2_PRIVATE_KEY_INVALID.
 *
 * Implementation: a native addon when built (see protocol/crypto/native/), else pure JS; both pass
 * the same conformance suite. sm2Backend() says which one is active.
 */
import { activeSm2Backend } from './sm2-select.js';
import { SM2_DEFAULT_USER_ID } from './sm2-core.js';
import { createSm2Api, checkPrivateKey, type KeyPair, type Sm2SignOptions, type Sm2VerifyOptions } from './sm2-api.js';
import { DecodeError } from '../errors.js';
import { bytesEqual } from '../bytes.js';
import {
  OID_SM2P256V1,
  privateKeyFromPkcs8,
  privateKeyToPkcs8,
  publicKeyFromSpki,
  publicKeyToSpki,
  signatureFromDer,
  signatureToDer,
} from './ec-encoding.js';

export { SM2_DEFAULT_USER_ID } from './sm2-core.js';
export type { KeyPair, Sm2SignOptions, Sm2VerifyOptions } from './sm2-api.js';

const api = createSm2Api(activeSm2Backend);

/** Which implementation is doing the arithmetic in this process. */
export function sm2Backend(): 'native' | 'js' {
  return api.backend;
}

/** Fresh key pair; d is uniform in [1, n-2]. */
export function sm2GenerateKeyPair(): KeyPair {
  return api.generateKeyPair();
}

/** 04||x||y of d*G. EncodeError for an invalid private key. */
export function sm2PublicFromPrivate(privateKey: Uint8Array): Uint8Array {
  return api.publicFromPrivate(privateKey);
}

/** Throws DecodeError (SM2_PUBLIC_KEY_LENGTH / _FORMAT / _INFINITY / _NOT_ON_CURVE) unless publicKey is a valid point. */
export function sm2ValidatePublicKey(publicKey: Uint8Array): void {
  api.validatePublicKey(publicKey);
}

/** Z_A = SM3(ENTL || ID || a || b || Gx || Gy || x || y). */
export function sm2Za(publicKey: Uint8Array, userId: string | Uint8Array = SM2_DEFAULT_USER_ID): Uint8Array {
  return api.za(publicKey, userId);
}

/** e = SM3(Z_A || message), the value that is actually signed. */
export function sm2MessageDigest(publicKey: Uint8Array, message: Uint8Array, userId?: string | Uint8Array): Uint8Array {
  return api.messageDigest(publicKey, message, userId);
}

/** Signs message (Z_A from the key's own public key and userId); returns raw r||s, 64 bytes. */
export function sm2Sign(privateKey: Uint8Array, message: Uint8Array, opts?: Sm2SignOptions): Uint8Array {
  return api.sign(privateKey, message, opts);
}

/** Signs a precomputed 32-byte digest e (see sm2MessageDigest). */
export function sm2SignDigest(
  privateKey: Uint8Array,
  digest: Uint8Array,
  opts?: Pick<Sm2SignOptions, 'testK'>,
): Uint8Array {
  return api.signDigest(privateKey, digest, opts);
}

/** true iff signature (raw or DER) is valid for message, publicKey and userId. DecodeError for a malformed key. */
export function sm2Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  opts?: Sm2VerifyOptions,
): boolean {
  return api.verify(publicKey, message, signature, opts);
}

/** As sm2Verify, over a precomputed 32-byte digest e. */
export function sm2VerifyDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  return api.verifyDigest(publicKey, digest, signature);
}

/** raw r||s (64 bytes) -> DER SEQUENCE { INTEGER r, INTEGER s }. */
export function sm2SignatureToDer(raw: Uint8Array): Uint8Array {
  return signatureToDer(raw, 'SM2_SIGNATURE_RAW_LENGTH');
}

/** Strict DER -> raw r||s. DecodeError SM2_SIGNATURE_DER_INVALID for anything but minimal DER with r, s < 2^256. */
export function sm2SignatureFromDer(der: Uint8Array): Uint8Array {
  return signatureFromDer(der, 'SM2_SIGNATURE_DER_INVALID');
}

/** SubjectPublicKeyInfo: id-ecPublicKey with namedCurve 1.2.156.10197.1.301 (as OpenSSL writes SM2 keys). */
export function sm2PublicKeyToSpki(publicKey: Uint8Array): Uint8Array {
  api.validatePublicKey(publicKey);
  return publicKeyToSpki(publicKey, OID_SM2P256V1, 'SM2_PUBLIC_KEY_LENGTH');
}

/** SPKI -> 65-byte public key; DecodeError SM2_SPKI_INVALID or SM2_PUBLIC_KEY_*. */
export function sm2PublicKeyFromSpki(der: Uint8Array): Uint8Array {
  const publicKey = publicKeyFromSpki(der, OID_SM2P256V1, 'SM2_SPKI_INVALID');
  api.validatePublicKey(publicKey);
  return publicKey;
}

/** PKCS#8 PrivateKeyInfo with an ECPrivateKey that includes the public key (OpenSSL's layout). */
export function sm2PrivateKeyToPkcs8(privateKey: Uint8Array): Uint8Array {
  checkPrivateKey(privateKey);
  return privateKeyToPkcs8(privateKey, api.publicFromPrivate(privateKey), OID_SM2P256V1, 'SM2_PRIVATE_KEY_INVALID');
}

/** PKCS#8 -> key pair. DecodeError SM2_PKCS8_INVALID for bad DER, a key out of range or an embedded public key that does not match. */
export function sm2PrivateKeyFromPkcs8(der: Uint8Array): KeyPair {
  const decoded = privateKeyFromPkcs8(der, OID_SM2P256V1, 'SM2_PKCS8_INVALID');
  let publicKey: Uint8Array;
  try {
    publicKey = api.publicFromPrivate(decoded.privateKey);
  } catch {
    throw new DecodeError('SM2_PKCS8_INVALID', 'PKCS#8: private key is not in [1, n-2]', 'the key file is corrupt');
  }
  if (decoded.publicKey !== undefined && !bytesEqual(decoded.publicKey, publicKey)) {
    throw new DecodeError(
      'SM2_PKCS8_INVALID',
      'PKCS#8: embedded public key does not match the private key',
      'the key file is corrupt',
    );
  }
  return { privateKey: decoded.privateKey, publicKey };
}
