/**
 * Terminal request authentication for the bank settlement API (docs/bank-api.md §2).
 *
 * Part of the wire contract, so it lives in protocol/: the host's settlement client signs with it and
 * the simulated bank verifies with it. Both sides build the same canonical string:
 *
 *   METHOD "\n" PATH "\n" DATE "\n" IDEMPOTENCY-KEY-or-empty "\n" lowercase-hex(SHA-256(body bytes))
 *
 * - METHOD: upper case ("POST").
 * - PATH: the request target exactly as sent on the request line: path plus "?query" if any
 *   ("/v1/reconciliation?date=2026-05-01"); no scheme, no host.
 * - DATE: the X-Cardpost-Date value, decimal Unix seconds, no sign, no leading zeros.
 * - IDEMPOTENCY-KEY: the Idempotency-Key header value exactly as sent (quotes included if the
 *   key is sent as a structured-field string), or "" when the header is absent.
 * - body: the exact bytes sent; an absent body hashes as the empty string
 *   (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855).
 *
 * The string is UTF-8 encoded and signed with the terminal key: SM2 with SM3 and the default user id
 * "1234567812345678" (algorithm 1), or ECDSA P-256 with SHA-256 (algorithm 2), as the terminal
 * certificate's `algorithm` says. The signature is raw r‖s, 64 bytes, base64url without padding.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { sign, verify, signatureAlgorithmFromCode, SIGNATURE_ALGORITHM_CODES } from '../crypto/index.js';
import type { Certificate, SigningKey } from '../record/index.js';

/** Header names, in the lower case Node gives them. */
export const AUTH_HEADER = {
  certificate: 'x-cardpost-terminal-cert',
  date: 'x-cardpost-date',
  signature: 'x-cardpost-signature',
  idempotencyKey: 'idempotency-key',
} as const;

/** The bank refuses a request whose X-Cardpost-Date is further than this from its clock. */
export const MAX_CLOCK_SKEW_S = 300;

const HEX = '0123456789abcdef';
function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

function bodyBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}

export interface CanonicalRequest {
  method: string;
  /** Request target as sent: path plus query string. */
  path: string;
  /** Unix seconds, as put in X-Cardpost-Date. */
  date: number;
  /** The Idempotency-Key header value as sent; undefined or '' when there is none. */
  idempotencyKey?: string | undefined;
  body?: Uint8Array | string | undefined;
}

/** The exact string a terminal signs (see the module comment). */
export function canonicalRequestString(r: CanonicalRequest): string {
  return [r.method.toUpperCase(), r.path, String(r.date), r.idempotencyKey ?? '', hex(sha256(bodyBytes(r.body)))].join(
    '\n',
  );
}

/** base64url without padding (RFC 4648 §5). */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Strict base64url: alphabet A–Z a–z 0–9 - _, no padding, canonical trailing bits; undefined otherwise. */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined; // non-zero trailing bits: not canonical
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface SignTerminalRequestInput {
  method: string;
  path: string;
  body?: Uint8Array | string | undefined;
  idempotencyKey?: string | undefined;
  /** The terminal's private key (algorithm must match the certificate's). */
  key: SigningKey;
  /** The terminal certificate (kind 3) issued by the issuer CA. */
  certificate: Certificate;
  /** Unix seconds; default: the local clock. */
  now?: number;
}

/**
 * Headers that authenticate one request: X-Cardpost-Terminal-Cert, X-Cardpost-Date,
 * X-Cardpost-Signature, and Idempotency-Key when one is given. Send the body bytes exactly as hashed.
 */
export function signTerminalRequest(r: SignTerminalRequestInput): Record<string, string> {
  if (SIGNATURE_ALGORITHM_CODES[r.key.algorithm] !== r.certificate.algorithm) {
    throw new TypeError(
      `terminal key is ${r.key.algorithm} but its certificate names algorithm ${r.certificate.algorithm}`,
    );
  }
  const date = Math.floor(r.now ?? Date.now() / 1000);
  const message = new TextEncoder().encode(
    canonicalRequestString({ method: r.method, path: r.path, date, idempotencyKey: r.idempotencyKey, body: r.body }),
  );
  const headers: Record<string, string> = {
    'X-Cardpost-Terminal-Cert': toBase64url(r.certificate.envelope),
    'X-Cardpost-Date': String(date),
    'X-Cardpost-Signature': toBase64url(sign(r.key.algorithm, r.key.privateKey, message)),
  };
  if (r.idempotencyKey !== undefined) headers['Idempotency-Key'] = r.idempotencyKey;
  return headers;
}

/**
 * The signature check alone (the caller has already verified the certificate chain, kind,
 * validity and revocation, and the date skew). false for any bad signature; never throws for one.
 */
export function verifyTerminalSignature(
  r: CanonicalRequest & { certificate: Certificate; signature: Uint8Array },
): boolean {
  if (r.signature.length !== 64) return false;
  try {
    const alg = signatureAlgorithmFromCode(r.certificate.algorithm);
    return verify(alg, r.certificate.publicKey, new TextEncoder().encode(canonicalRequestString(r)), r.signature);
  } catch {
    return false; // unknown algorithm or a public key that is not a curve point
  }
}
