/**
 * Byte encodings shared by SM2 and ECDSA P-256 keys and signatures:
 *  - signature: raw r||s (2 x 32 bytes, the wire form) <-> DER SEQUENCE { INTEGER r, INTEGER s };
 *  - public key: SubjectPublicKeyInfo (RFC 5480) with id-ecPublicKey and a named-curve OID;
 *  - private key: PKCS#8 (RFC 5208) wrapping an ECPrivateKey (RFC 5915) with the public key in [1],
 *    the layout OpenSSL writes. Only the shape is checked here; callers check curve membership.
 */
import { EncodeError } from '../errors.js';
import { DerReader, TAG, encodeBitString, encodeOid, encodeUnsigned, readOnly, tlv } from './der.js';
import { bytesEqual } from '../bytes.js';

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_SM2P256V1 = '1.2.156.10197.1.301';
export const OID_PRIME256V1 = '1.2.840.10045.3.1.7';

const FIELD = 32;

function requireLength(what: string, code: string, v: unknown, len: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) {
    const got = v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
    throw new EncodeError(code, `${what} must be ${len} bytes, got ${got}`);
  }
  return v;
}

/** raw r||s (64 bytes) -> DER. */
export function signatureToDer(raw: Uint8Array, code: string): Uint8Array {
  requireLength('raw signature', code, raw, 2 * FIELD);
  return tlv(TAG.SEQUENCE, encodeUnsigned(raw.subarray(0, FIELD)), encodeUnsigned(raw.subarray(FIELD)));
}

/**
 * Strict DER -> raw r||s (64 bytes). r and s must be non-negative and fit in 32 bytes; their
 * range against the group order is the verifier's business.
 */
export function signatureFromDer(der: Uint8Array, code: string): Uint8Array {
  if (!(der instanceof Uint8Array)) throw new EncodeError(code, 'DER signature must be a Uint8Array');
  const seq = readOnly(der, TAG.SEQUENCE, code, 'DER signature');
  const r = seq.readUnsigned(FIELD);
  const s = seq.readUnsigned(FIELD);
  seq.end();
  const raw = new Uint8Array(2 * FIELD);
  raw.set(r, FIELD - r.length);
  raw.set(s, 2 * FIELD - s.length);
  return raw;
}

function algorithmIdentifier(curveOid: string): Uint8Array {
  return tlv(TAG.SEQUENCE, encodeOid(OID_EC_PUBLIC_KEY), encodeOid(curveOid));
}

function readAlgorithmIdentifier(r: DerReader, curveOid: string): void {
  const alg = r.readNested(TAG.SEQUENCE);
  const oid = alg.read(TAG.OID);
  if (!bytesEqual(tlv(TAG.OID, oid), encodeOid(OID_EC_PUBLIC_KEY))) alg.fail('algorithm is not id-ecPublicKey');
  if (alg.peekTag() !== TAG.OID) alg.fail('curve must be a named-curve OID');
  const curve = alg.read(TAG.OID);
  if (!bytesEqual(tlv(TAG.OID, curve), encodeOid(curveOid))) alg.fail(`curve is not ${curveOid}`);
  alg.end();
}

export function publicKeyToSpki(publicKey: Uint8Array, curveOid: string, code: string): Uint8Array {
  requireLength('public key', code, publicKey, 1 + 2 * FIELD);
  return tlv(TAG.SEQUENCE, algorithmIdentifier(curveOid), encodeBitString(publicKey));
}

/** SPKI -> the 65-byte public key bytes (not yet checked to be on the curve). */
export function publicKeyFromSpki(der: Uint8Array, curveOid: string, code: string): Uint8Array {
  if (!(der instanceof Uint8Array)) throw new EncodeError(code, 'SPKI must be a Uint8Array');
  const spki = readOnly(der, TAG.SEQUENCE, code, 'SubjectPublicKeyInfo');
  readAlgorithmIdentifier(spki, curveOid);
  const key = spki.readBitStringBytes();
  spki.end();
  return Uint8Array.from(key);
}

/** publicKey null leaves out the optional [1] field (readers such as OpenSSL then derive it). */
export function privateKeyToPkcs8(
  privateKey: Uint8Array,
  publicKey: Uint8Array | null,
  curveOid: string,
  code: string,
): Uint8Array {
  requireLength('private key', code, privateKey, FIELD);
  const fields = [tlv(TAG.INTEGER, Uint8Array.of(1)), tlv(TAG.OCTET_STRING, privateKey)];
  if (publicKey !== null) {
    requireLength('public key', code, publicKey, 1 + 2 * FIELD);
    fields.push(tlv(TAG.CONTEXT_1, encodeBitString(publicKey)));
  }
  const ecPrivateKey = tlv(TAG.SEQUENCE, ...fields);
  return tlv(
    TAG.SEQUENCE,
    tlv(TAG.INTEGER, Uint8Array.of(0)),
    algorithmIdentifier(curveOid),
    tlv(TAG.OCTET_STRING, ecPrivateKey),
  );
}

export interface DecodedPkcs8 {
  privateKey: Uint8Array;
  /** present when the ECPrivateKey carries one; the caller must check it matches */
  publicKey?: Uint8Array;
}

/**
 * PKCS#8 -> private key (left-padded to 32 bytes). Accepts the optional [0] parameters (must name
 * the same curve) and [1] public key; rejects PKCS#8 v2 attributes and anything else.
 */
export function privateKeyFromPkcs8(der: Uint8Array, curveOid: string, code: string): DecodedPkcs8 {
  if (!(der instanceof Uint8Array)) throw new EncodeError(code, 'PKCS#8 must be a Uint8Array');
  const info = readOnly(der, TAG.SEQUENCE, code, 'PKCS#8 PrivateKeyInfo');
  if (info.readSmallInt() !== 0) info.fail('version must be 0');
  readAlgorithmIdentifier(info, curveOid);
  const inner = readOnly(info.read(TAG.OCTET_STRING), TAG.SEQUENCE, code, 'ECPrivateKey');
  info.end();
  if (inner.readSmallInt() !== 1) inner.fail('ECPrivateKey version must be 1');
  const d = inner.read(TAG.OCTET_STRING);
  if (d.length === 0 || d.length > FIELD) inner.fail(`private key must be 1..${FIELD} bytes`);
  const privateKey = new Uint8Array(FIELD);
  privateKey.set(d, FIELD - d.length);
  let publicKey: Uint8Array | undefined;
  if (inner.peekTag() === TAG.CONTEXT_0) {
    const params = inner.readNested(TAG.CONTEXT_0);
    const oid = params.read(TAG.OID);
    params.end();
    if (!bytesEqual(tlv(TAG.OID, oid), encodeOid(curveOid)))
      inner.fail(`parameters name a curve other than ${curveOid}`);
  }
  if (inner.peekTag() === TAG.CONTEXT_1) {
    const pub = inner.readNested(TAG.CONTEXT_1);
    publicKey = Uint8Array.from(pub.readBitStringBytes());
    pub.end();
  }
  inner.end();
  return publicKey === undefined ? { privateKey } : { privateKey, publicKey };
}
