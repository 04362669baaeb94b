import { CardpostError, DecodeError } from '../errors.js';
import { buildMap } from '../cbor/index.js';
import { signatureAlgorithmFromCode, SIGNATURE_ALGORITHM_CODES, type SignatureAlgorithm } from '../crypto/index.js';
import { bytesEqual } from '../bytes.js';
import { CARD_ID_LENGTH } from '../commands/application.js';
import { encodeLimits, readLimits, MAX_AMOUNT, type Limits } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import { keyId } from './hash.js';

/**
 * What a certified key may do (docs/protocol.md §7.3 key 4). ISSUER_SERVICE is the issuer's own
 * back office at the bank: it may read any card's settled records, and do nothing else.
 */
export const CERT_KIND = { ISSUER_CA: 1, CARD: 2, TERMINAL: 3, AUTHORITY: 4, ISSUER_SERVICE: 5 } as const;
export type CertKind = (typeof CERT_KIND)[keyof typeof CERT_KIND];
const KINDS = Object.values(CERT_KIND);

export const CERT_VERSION = 1;

export interface CertificateFields {
  serial: Uint8Array;
  issuerKeyId: Uint8Array;
  kind: CertKind;
  subjectId: Uint8Array;
  /** Algorithm of the certified public key. */
  algorithm: number;
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  /** Card certificates only. */
  limits?: Limits;
  currency?: number;
}

export interface Certificate extends CertificateFields {
  body: Uint8Array;
  signature: Uint8Array;
  envelope: Uint8Array;
}

/** A key that signs certificates (an issuer CA) or records/tokens. */
export interface SigningKey {
  algorithm: SignatureAlgorithm;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

const NAMES: Readonly<Record<string, string>> = {
  0: 'type',
  1: 'version',
  2: 'serial',
  3: 'issuerKeyId',
  4: 'kind',
  5: 'subjectId',
  6: 'algorithm',
  7: 'publicKey',
  8: 'notBefore',
  9: 'notAfter',
  10: 'limits',
  11: 'currency',
};

/** Sign certificate fields with `issuer` (whose key id is filled in). */
export function issueCertificate(issuer: SigningKey, f: Omit<CertificateFields, 'issuerKeyId'>): Certificate {
  if ((f.kind === CERT_KIND.CARD) !== (f.limits !== undefined && f.currency !== undefined)) {
    throw new DecodeError(
      'CERT_FIELDS',
      'card certificates, and only they, carry limits and currency',
      'set limits and currency for kind 2 only',
    );
  }
  const issuerKeyId = keyId(SIGNATURE_ALGORITHM_CODES[issuer.algorithm], issuer.publicKey);
  const body = buildMap([
    [0, BODY_TYPE.CERTIFICATE],
    [1, CERT_VERSION],
    [2, f.serial],
    [3, issuerKeyId],
    [4, f.kind],
    [5, f.subjectId],
    [6, f.algorithm],
    [7, f.publicKey],
    [8, f.notBefore],
    [9, f.notAfter],
    [10, f.limits ? encodeLimits(f.limits) : undefined],
    [11, f.currency],
  ]);
  return decodeCertificate(signBody(issuer.algorithm, issuer.privateKey, body).envelope);
}

/** A self-signed issuer CA certificate (kind 1): the root a trust store holds. */
export function selfSignedIssuer(
  key: SigningKey,
  f: { serial: Uint8Array; name: string; notBefore: number; notAfter: number },
): Certificate {
  return issueCertificate(key, {
    serial: f.serial,
    kind: CERT_KIND.ISSUER_CA,
    subjectId: new TextEncoder().encode(f.name),
    algorithm: SIGNATURE_ALGORITHM_CODES[key.algorithm],
    publicKey: key.publicKey,
    notBefore: f.notBefore,
    notAfter: f.notAfter,
  });
}

/** Strict parse (signature not checked: see verifyCertificate / TrustStore). */
export function decodeCertificate(envelope: Uint8Array): Certificate {
  const env = decodeEnvelope(envelope, BODY_TYPE.CERTIFICATE, 'certificate', NAMES);
  const r = env.fields;
  const version = r.uint(1);
  if (version !== CERT_VERSION)
    throw new DecodeError('CERT_VERSION', `certificate version ${version} is not supported`, 'update cardpost');
  const f: CertificateFields = {
    serial: r.bytes(2, { minLength: 1, maxLength: 20 }),
    issuerKeyId: r.bytes(3, { length: 8 }),
    kind: r.oneOf(4, KINDS),
    subjectId: r.bytes(5, { minLength: 1, maxLength: 32 }),
    algorithm: r.uint(6, { min: 1, max: 255 }),
    publicKey: r.bytes(7, { length: 65 }),
    notBefore: r.uint(8, { max: MAX_AMOUNT }),
    notAfter: r.uint(9, { max: MAX_AMOUNT }),
  };
  const limits = r.opt.map(10);
  const currency = r.opt.uint(11, { min: 1, max: 999 });
  r.done();
  signatureAlgorithmFromCode(f.algorithm);
  if (f.kind === CERT_KIND.CARD) {
    if (!limits || currency === undefined)
      throw new DecodeError(
        'CBOR_SCHEMA',
        'certificate: a card certificate must carry limits and currency',
        'the issuer tooling is broken',
      );
    if (f.subjectId.length !== CARD_ID_LENGTH)
      throw new DecodeError(
        'CBOR_SCHEMA',
        "certificate: a card certificate's subject is an 8-byte card id",
        'the issuer tooling is broken',
      );
    f.limits = readLimits(limits);
    f.currency = currency;
  } else if (limits || currency !== undefined) {
    throw new DecodeError(
      'CBOR_SCHEMA',
      'certificate: only card certificates carry limits and currency',
      'the issuer tooling is broken',
    );
  }
  if (f.notAfter < f.notBefore)
    throw new DecodeError('CBOR_SCHEMA', 'certificate: notAfter is before notBefore', 'the issuer tooling is broken');
  return { ...f, body: env.body, signature: env.signature, envelope: envelope.slice() };
}

export type CertificateProblem =
  | 'unknown-issuer'
  | 'issuer-not-ca'
  | 'bad-signature'
  | 'not-yet-valid'
  | 'expired'
  | 'wrong-kind'
  | 'outlives-issuer'
  | 'issuer-not-yet-valid'
  | 'issuer-expired';
export type CertificateCheck = { ok: true } | { ok: false; problem: CertificateProblem; detail: string };

const isoDate = (t: number): string => new Date(t * 1000).toISOString();

/**
 * Check `cert` against its issuer's certificate: key id, signature, kind (if given); at `now`
 * (Unix s; omitted on a card, which has no clock) that the issuer CA is valid; that the
 * certificate's validity lies within the CA's; and at `now` that the certificate is valid.
 */
export function verifyCertificate(
  cert: Certificate,
  issuer: Certificate,
  opts: { now?: number; kind?: CertKind } = {},
): CertificateCheck {
  if (issuer.kind !== CERT_KIND.ISSUER_CA)
    return { ok: false, problem: 'issuer-not-ca', detail: 'the signing certificate is not an issuer CA' };
  if (!bytesEqual(cert.issuerKeyId, keyId(issuer.algorithm, issuer.publicKey))) {
    return { ok: false, problem: 'unknown-issuer', detail: 'the certificate names another issuer key' };
  }
  if (!verifyEnvelope(issuer.algorithm, issuer.publicKey, cert))
    return { ok: false, problem: 'bad-signature', detail: 'the issuer signature does not verify' };
  if (opts.kind !== undefined && cert.kind !== opts.kind)
    return { ok: false, problem: 'wrong-kind', detail: `kind ${cert.kind} where ${opts.kind} is required` };
  if (opts.now !== undefined) {
    if (opts.now < issuer.notBefore)
      return {
        ok: false,
        problem: 'issuer-not-yet-valid',
        detail: `the issuer CA is valid from ${isoDate(issuer.notBefore)}`,
      };
    if (opts.now > issuer.notAfter)
      return { ok: false, problem: 'issuer-expired', detail: `the issuer CA expired ${isoDate(issuer.notAfter)}` };
  }
  // A CA cannot vouch beyond its own life: a window outside the issuer's is refused outright (no clock needed).
  if (cert.notBefore < issuer.notBefore || cert.notAfter > issuer.notAfter) {
    return {
      ok: false,
      problem: 'outlives-issuer',
      detail: `valid ${isoDate(cert.notBefore)} … ${isoDate(cert.notAfter)}, outside its issuer CA's ${isoDate(issuer.notBefore)} … ${isoDate(issuer.notAfter)}`,
    };
  }
  if (opts.now !== undefined) {
    if (opts.now < cert.notBefore)
      return { ok: false, problem: 'not-yet-valid', detail: `valid from ${isoDate(cert.notBefore)}` };
    if (opts.now > cert.notAfter) return { ok: false, problem: 'expired', detail: `expired ${isoDate(cert.notAfter)}` };
  }
  return { ok: true };
}

/**
 * The validity window a certificate issued by `ca` may have: `want` cut to the CA's own window
 * (issuer tools call this, so they never issue what verifyCertificate refuses). Throws
 * ISSUER_CA_EXPIRED when nothing is left, or when the CA is no longer valid at `now`.
 */
export function capToIssuer(
  ca: Certificate,
  want: { notBefore: number; notAfter: number },
  now?: number,
): { notBefore: number; notAfter: number } {
  const notBefore = Math.max(want.notBefore, ca.notBefore);
  const notAfter = Math.min(want.notAfter, ca.notAfter);
  if (notBefore > notAfter || (now !== undefined && (now > ca.notAfter || now < ca.notBefore))) {
    throw new CardpostError(
      'ISSUER_CA_EXPIRED',
      `the issuer CA is valid ${isoDate(ca.notBefore)} … ${isoDate(ca.notAfter)}: it cannot issue a certificate for ${isoDate(want.notBefore)} … ${isoDate(want.notAfter)}`,
      'renew the issuer CA (a new CA certificate in every trust store), then issue again',
    );
  }
  return { notBefore, notAfter };
}
