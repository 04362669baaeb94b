/**
 * SM2 over an arbitrary prime curve, pure JS. Not used by the protocol: it exists so the worked
 * example of GB/T 32918.2 Annex A (on its Fp-256 example curve) can be checked with the same code
 * path as the JS backend, without widening the production API.
 */
import { bigIntToBytes } from './random.js';
import { sm3Concat } from './sm3.js';
import { computeZa, createSm2Curve, encodeUserId, type Sm2CurveParams } from './sm2-core.js';
import { createJsBackend } from './sm2-js.js';

export interface Sm2OnCurve {
  publicFromPrivate(privateKey: Uint8Array): Uint8Array;
  za(publicKey: Uint8Array, userId: string | Uint8Array): Uint8Array;
  sign(privateKey: Uint8Array, message: Uint8Array, userId: string | Uint8Array, testK?: bigint): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, userId: string | Uint8Array): boolean;
}

export function sm2OnCurve(params: Sm2CurveParams, name = 'custom'): Sm2OnCurve {
  const curve = createSm2Curve(params, name);
  const backend = createJsBackend(curve);
  const za = (publicKey: Uint8Array, userId: string | Uint8Array): Uint8Array =>
    computeZa(curve, publicKey, encodeUserId(userId));
  return {
    publicFromPrivate: (d) => backend.publicFromPrivate(d),
    za,
    sign(privateKey, message, userId, testK) {
      const e = sm3Concat(za(backend.publicFromPrivate(privateKey), userId), message);
      return backend.signDigest(privateKey, e, testK === undefined ? undefined : bigIntToBytes(testK, 32));
    },
    verify(publicKey, message, signature, userId) {
      const key = backend.importPublicKey(publicKey);
      if (key === null || signature.length !== 64) return false;
      return backend.verifyDigest(key, sm3Concat(za(publicKey, userId), message), signature);
    },
  };
}
