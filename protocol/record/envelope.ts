import { DecodeError } from '../errors.js';
import { MapReader, buildMap, decodeCanonical, encodeCanonical, type CborMap } from '../cbor/index.js';
import {
  sign,
  verify,
  signatureAlgorithmFromCode,
  validatePublicKey,
  type SignatureAlgorithm,
} from '../crypto/index.js';

/**
 * The signed envelope every signed object uses (docs/protocol.md §7.1): `{1: body bstr, 2: signature bstr(64)}`,
 * the signature over the exact body bytes. Key 0 of every body is its type, so a signature made
 * for one kind of object can never pass as another.
 */
export const BODY_TYPE = { TXN_RECORD: 1, CERTIFICATE: 2, REVOCATION_LIST: 3, TOPUP_TOKEN: 4, BLOCK_ORDER: 5 } as const;
export type BodyType = (typeof BODY_TYPE)[keyof typeof BODY_TYPE];

export const MAX_ENVELOPE_BYTES = 4096;

export interface Envelope {
  /** The canonical CBOR body, exactly as signed. */
  body: Uint8Array;
  /** Raw r||s. */
  signature: Uint8Array;
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  return encodeCanonical(
    buildMap([
      [1, env.body],
      [2, env.signature],
    ]),
  );
}

/** Strict parse of envelope bytes; returns the body decoded too, with its type checked. */
export function decodeEnvelope(
  bytes: Uint8Array,
  expectedType: BodyType,
  what: string,
  names?: Readonly<Record<string, string>>,
): Envelope & { fields: MapReader } {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new DecodeError(
      'ENVELOPE_TOO_LONG',
      `${what}: ${bytes.length} bytes is over the ${MAX_ENVELOPE_BYTES}-byte limit`,
      'this is not a cardpost signed object',
    );
  }
  const outer = new MapReader(decodeCanonical(bytes), `${what} envelope`, { names: { 1: 'body', 2: 'signature' } });
  const body = outer.bytes(1, { minLength: 1 });
  const signature = outer.bytes(2, { length: 64 });
  outer.done();
  const fields = new MapReader(decodeCanonical(body), what, names ? { names } : undefined);
  const type = fields.uint(0);
  if (type !== expectedType) {
    throw new DecodeError(
      'ENVELOPE_WRONG_TYPE',
      `${what}: body type ${type} where ${expectedType} was expected`,
      'a signed object of another kind was given',
    );
  }
  return { body, signature, fields };
}

/** Sign a body map (which must carry its type at key 0) and return the envelope bytes. */
export function signBody(
  algorithm: SignatureAlgorithm,
  privateKey: Uint8Array,
  body: CborMap,
): { envelope: Uint8Array; body: Uint8Array } {
  const bodyBytes = encodeCanonical(body);
  const signature = sign(algorithm, privateKey, bodyBytes);
  return { envelope: encodeEnvelope({ body: bodyBytes, signature }), body: bodyBytes };
}

/**
 * Whether `env` is signed by `publicKey` under the suite `algorithmCode`. A key that is not a valid
 * key of that suite (a record claiming P-256 checked with an SM2 card key) cannot have signed it: false.
 */
export function verifyEnvelope(algorithmCode: number, publicKey: Uint8Array, env: Envelope): boolean {
  const alg = signatureAlgorithmFromCode(algorithmCode);
  try {
    validatePublicKey(alg, publicKey);
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
  return verify(alg, publicKey, env.body, env.signature);
}
