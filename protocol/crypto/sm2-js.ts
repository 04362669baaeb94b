/**
 * Pure-JavaScript SM2 backend on @noble/curves (bigint arithmetic), used when the native addon
 * is not built, and for curves other than sm2p256v1 (the GB/T 32918.2 example curve). About 5x
 * slower than the native backend. k*G uses noble's constant-time, scalar-blinded multiply; the
 * mod-n steps are JavaScript bigints, which are not constant time (best effort, as in noble).
 */
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { invert, mod } from '@noble/curves/abstract/modular.js';
import { CryptoError } from '../errors.js';
import { concatBytes } from '../bytes.js';
import { bigIntToBytes, bytesToBigInt, randomScalar } from './random.js';
import { SM2_CURVE, type Sm2Curve } from './sm2-core.js';
import type { Sm2Backend, Sm2KeyHandle } from './sm2-backend.js';

interface JsKey {
  point: WeierstrassPoint<bigint>;
  tabled: boolean;
}

/** Window of the per-key table: 2^(W-1) * (256/W + 1) points; W = 6 is ~1400 points (~0.3 MB), verify 1.2x faster than W = 4. */
const KEY_TABLE_WINDOW = 6;

export function createJsBackend(curve: Sm2Curve): Sm2Backend {
  const { n } = curve.params;
  const { Point } = curve;
  const G = Point.BASE;
  if (curve === SM2_CURVE) G.precompute(8); // bigger table for the production generator

  const asKey = (h: Sm2KeyHandle): JsKey => h as JsKey;

  return {
    name: 'js',

    publicFromPrivate(privateKey) {
      return G.multiply(bytesToBigInt(privateKey)).toBytes(false);
    },

    signDigest(privateKey, digest, fixedK) {
      const d = bytesToBigInt(privateKey);
      const e = bytesToBigInt(digest);
      const dInv = invert(d + 1n, n);
      for (let attempt = 0; attempt < 64; attempt++) {
        const k = fixedK ? bytesToBigInt(fixedK) : randomScalar(n - 1n);
        if (k < 1n || k >= n) throw new CryptoError('SM2_NONCE_UNUSABLE', 'fixed k not in [1, n-1]');
        const x1 = G.multiply(k).toAffine().x;
        const r = mod(e + x1, n);
        let s = 0n;
        if (r !== 0n && r + k !== n) s = mod(dInv * (k - r * d), n);
        if (s !== 0n) return concatBytes(bigIntToBytes(r, 32), bigIntToBytes(s, 32));
        if (fixedK) throw new CryptoError('SM2_NONCE_UNUSABLE', 'fixed k gives r = 0, r + k = n or s = 0');
      }
      throw new CryptoError('SM2_SIGN_FAILED', 'no usable nonce after 64 attempts', 'the random source looks broken');
    },

    importPublicKey(publicKey) {
      try {
        const point = Point.fromBytes(publicKey); // checks x, y < p and the curve equation
        return point.is0() ? null : { point, tabled: false };
      } catch {
        return null;
      }
    },

    precompute(handle) {
      const key = asKey(handle);
      if (!key.tabled) {
        key.point.precompute(KEY_TABLE_WINDOW, false);
        key.tabled = true;
      }
    },

    release() {
      // tables live in noble's WeakMap keyed by the point: garbage collected with the handle
    },

    verifyDigest(handle, digest, signature) {
      const r = bytesToBigInt(signature.subarray(0, 32));
      const s = bytesToBigInt(signature.subarray(32, 64));
      if (r < 1n || r >= n || s < 1n || s >= n) return false;
      const t = mod(r + s, n);
      if (t === 0n) return false;
      const R = G.multiplyUnsafe(s).add(asKey(handle).point.multiplyUnsafe(t));
      if (R.is0()) return false;
      return mod(bytesToBigInt(digest) + R.toAffine().x, n) === r;
    },

    mulAdd(sBytes, handle, tBytes) {
      const s = mod(bytesToBigInt(sBytes), n);
      const t = mod(bytesToBigInt(tBytes), n);
      const R = G.multiplyUnsafe(s).add(asKey(handle).point.multiplyUnsafe(t));
      return R.is0() ? null : R.toBytes(false);
    },
  };
}
