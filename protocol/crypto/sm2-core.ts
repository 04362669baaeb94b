/**
 * SM2 curve definitions and the backend-independent parts of GB/T 32918.2: the user id
 * encoding, Z_A and the message digest e = SM3(Z_A || M). The recommended curve sm2p256v1
 * (GB/T 32918.5) is what the protocol uses; createSm2Curve also builds the Fp-256 example curve
 * of GB/T 32918.2 Annex A so the published worked example can be checked.
 */
import { weierstrass, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { EncodeError } from '../errors.js';
import { bigIntToBytes } from './random.js';
import { sm3Concat } from './sm3.js';

export interface Sm2CurveParams {
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  Gx: bigint;
  Gy: bigint;
}

export interface Sm2Curve {
  readonly name: string;
  readonly params: Readonly<Sm2CurveParams>;
  /** noble point class of the curve (cofactor 1) */
  readonly Point: WeierstrassPointCons<bigint>;
  /** a || b || Gx || Gy, the curve part of the Z_A preimage */
  readonly zaCurveBytes: Uint8Array;
}

/** sm2p256v1, GB/T 32918.5-2017 section 2 (the vector file checks these, incl. the correct Gy). */
export const SM2P256V1: Readonly<Sm2CurveParams> = Object.freeze({
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
});

export function createSm2Curve(params: Sm2CurveParams, name: string): Sm2Curve {
  const Point = weierstrass({
    p: params.p,
    n: params.n,
    h: 1n,
    a: params.a,
    b: params.b,
    Gx: params.Gx,
    Gy: params.Gy,
  });
  const zaCurveBytes = new Uint8Array(128);
  [params.a, params.b, params.Gx, params.Gy].forEach((v, i) => zaCurveBytes.set(bigIntToBytes(v, 32), 32 * i));
  return Object.freeze({ name, params: Object.freeze({ ...params }), Point, zaCurveBytes });
}

export const SM2_CURVE: Sm2Curve = createSm2Curve(SM2P256V1, 'sm2p256v1');

/** GB/T 32918.2 (and GM/T 0009) default distinguishing identifier. */
export const SM2_DEFAULT_USER_ID = '1234567812345678';

const MAX_ID_BYTES = 8191; // ENTL is the id length in bits, in 16 bits

/** User id as bytes: strings are UTF-8. */
export function encodeUserId(userId: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof userId === 'string') bytes = new TextEncoder().encode(userId);
  else if (userId instanceof Uint8Array) bytes = userId;
  else throw new EncodeError('SM2_USER_ID_TYPE', 'SM2 user id must be a string or a Uint8Array');
  if (bytes.length > MAX_ID_BYTES) {
    throw new EncodeError(
      'SM2_USER_ID_TOO_LONG',
      `SM2 user id is ${bytes.length} bytes; at most ${MAX_ID_BYTES} fit ENTL`,
    );
  }
  return bytes;
}

/** Z_A = SM3(ENTL_A || ID_A || a || b || xG || yG || xA || yA); publicKey is 04||x||y (65 bytes). */
export function computeZa(curve: Sm2Curve, publicKey: Uint8Array, userId: Uint8Array): Uint8Array {
  const entl = userId.length * 8;
  return sm3Concat(Uint8Array.of(entl >>> 8, entl & 0xff), userId, curve.zaCurveBytes, publicKey.subarray(1, 65));
}
