/** Cryptography of the cardpost wire protocol: SM2/SM3/SM4 and ECDSA P-256. */
export { sm3 } from './sm3.js';
export {
  SM2_DEFAULT_USER_ID,
  sm2Backend,
  sm2GenerateKeyPair,
  sm2PublicFromPrivate,
  sm2ValidatePublicKey,
  sm2Za,
  sm2MessageDigest,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2SignatureToDer,
  sm2SignatureFromDer,
  sm2PublicKeyToSpki,
  sm2PublicKeyFromSpki,
  sm2PrivateKeyToPkcs8,
  sm2PrivateKeyFromPkcs8,
} from './sm2.js';
export type { KeyPair, Sm2SignOptions, Sm2VerifyOptions } from './sm2.js';
export {
  Sm4Key,
  sm4Encrypt,
  sm4Decrypt,
  sm4EncryptBlock,
  sm4DecryptBlock,
  sm4GcmEncrypt,
  sm4GcmDecrypt,
} from './sm4.js';
export type { Sm4Mode, Sm4Padding, Sm4Options, Sm4KeyInput, Sm4GcmResult } from './sm4.js';
export {
  p256GenerateKeyPair,
  p256PublicFromPrivate,
  p256ValidatePublicKey,
  p256Sign,
  p256Verify,
  p256SignatureToDer,
  p256SignatureFromDer,
} from './p256.js';
export {
  SIGNATURE_ALGORITHM_CODES,
  signatureAlgorithmFromCode,
  generateKeyPair,
  sign,
  verify,
  validatePublicKey,
} from './signature.js';
export type { SignatureAlgorithm, SignatureOptions } from './signature.js';
export { randomBytes } from './random.js';
