/**
 * Terminal authentication of a bank request (docs/bank-api.md §2), shared by every bank front end
 * (the simulated bank, the clearing service): the caller's certificate must chain to the issuer and be
 * of an allowed kind, the date must be within ±MAX_CLOCK_SKEW_S of the bank's clock, and the
 * signature must cover METHOD, PATH, DATE, IDEMPOTENCY-KEY and the SHA-256 of the exact body. Pure.
 */
import { CardpostError } from '../errors.js';
import { CERT_KIND, decodeCertificate, type CertKind, type Certificate, type TrustStore } from '../record/index.js';
import { AUTH_HEADER, MAX_CLOCK_SKEW_S, fromBase64url, verifyTerminalSignature } from './terminal-auth.js';

/** A refused request: answered 401 with this code and hint (and `WWW-Authenticate: Cardpost-Terminal`). */
export class TerminalAuthError extends CardpostError {}

const authError = (code: string, message: string, hint: string): TerminalAuthError =>
  new TerminalAuthError(code, message, hint);

export interface RequestToAuthenticate {
  method: string;
  /** The path with its query, exactly as requested (what the signature covers). */
  path: string;
  /** A header's value as sent (several joined with ", "), or undefined. Names are lower case. */
  header: (name: string) => string | undefined;
  /** The exact body bytes. */
  body: Uint8Array;
  /** Bank time, Unix seconds. */
  now: number;
  trust: TrustStore;
  /** Certificate kinds the route takes; the first is what any other kind is checked as. */
  kinds?: readonly CertKind[];
}

export interface AuthenticatedCaller {
  /** The certificate subject as UTF-8 (a terminal id for kind 3). */
  id: string;
  kind: CertKind;
  certificate: Certificate;
}

/** The caller, or a TerminalAuthError saying what is wrong and what to do. */
export function authenticateRequest(r: RequestToAuthenticate): AuthenticatedCaller {
  const kinds = r.kinds ?? [CERT_KIND.TERMINAL];
  const certText = r.header(AUTH_HEADER.certificate);
  const dateText = r.header(AUTH_HEADER.date);
  const sigText = r.header(AUTH_HEADER.signature);
  if (!certText || !dateText || !sigText) {
    const missing = [
      [AUTH_HEADER.certificate, certText],
      [AUTH_HEADER.date, dateText],
      [AUTH_HEADER.signature, sigText],
    ]
      .filter(([, v]) => !v)
      .map(([n]) => n);
    throw authError(
      'AUTH_MISSING',
      `missing ${missing.join(', ')}`,
      'sign every request with the terminal key: see docs/bank-api.md §2',
    );
  }
  const certBytes = fromBase64url(certText);
  if (!certBytes)
    throw authError(
      'AUTH_MALFORMED',
      'X-Cardpost-Terminal-Cert is not base64url',
      'send the certificate envelope in base64url without padding',
    );
  if (!/^(0|[1-9][0-9]{0,14})$/.test(dateText))
    throw authError(
      'AUTH_MALFORMED',
      'X-Cardpost-Date is not decimal Unix seconds',
      'send e.g. X-Cardpost-Date: 1790000000',
    );
  const sig = fromBase64url(sigText);
  if (!sig || sig.length !== 64)
    throw authError(
      'AUTH_MALFORMED',
      'X-Cardpost-Signature is not a base64url 64-byte signature',
      'send raw r‖s in base64url',
    );
  let cert: Certificate;
  try {
    cert = decodeCertificate(certBytes);
  } catch (e) {
    if (!(e instanceof CardpostError)) throw e;
    throw authError(
      'AUTH_CERT_INVALID',
      `the terminal certificate does not decode: ${e.message}`,
      'send the certificate the issuer gave this terminal',
    );
  }
  const now = r.now;
  const date = Number(dateText);
  if (Math.abs(now - date) > MAX_CLOCK_SKEW_S) {
    throw authError(
      'AUTH_DATE_SKEW',
      `X-Cardpost-Date ${date} is ${date - now} s from the bank's clock ${now} (limit ±${MAX_CLOCK_SKEW_S} s)`,
      'set the terminal clock (NTP) and sign the retry afresh; a replayed request expires',
    );
  }
  let check;
  try {
    check = r.trust.check(cert, { now, kind: kinds.includes(cert.kind) ? cert.kind : kinds[0]! });
  } catch (e) {
    if (!(e instanceof CardpostError)) throw e;
    check = { ok: false as const, problem: 'bad-signature' as const, detail: e.message };
  }
  if (!check.ok) {
    switch (check.problem) {
      case 'unknown-issuer':
        throw authError(
          'AUTH_CERT_UNKNOWN_ISSUER',
          `terminal certificate: ${check.detail}`,
          "use a terminal certificate from this bank's issuer",
        );
      case 'expired':
      case 'not-yet-valid':
        throw authError(
          'AUTH_CERT_EXPIRED',
          `terminal certificate ${check.detail}`,
          'renew the terminal certificate, or check the terminal clock',
        );
      case 'issuer-expired':
      case 'issuer-not-yet-valid':
        throw authError(
          'AUTH_CERT_EXPIRED',
          `terminal certificate refused: ${check.detail}`,
          'the issuer must renew its CA and issue a new terminal certificate; or check the terminal clock',
        );
      case 'revoked':
        throw authError('AUTH_CERT_REVOKED', 'the terminal certificate is revoked', 'contact the bank');
      default:
        throw authError(
          'AUTH_CERT_INVALID',
          `terminal certificate: ${check.detail}`,
          'a kind 3 (terminal) certificate signed by the issuer CA is required',
        );
    }
  }
  let id: string;
  try {
    id = new TextDecoder('utf-8', { fatal: true }).decode(cert.subjectId);
  } catch {
    throw authError(
      'AUTH_CERT_INVALID',
      'the terminal certificate subject is not UTF-8',
      'the terminal id must be UTF-8 text',
    );
  }
  const ok = verifyTerminalSignature({
    method: r.method,
    path: r.path,
    date,
    idempotencyKey: r.header(AUTH_HEADER.idempotencyKey),
    body: r.body,
    certificate: cert,
    signature: sig,
  });
  if (!ok) {
    throw authError(
      'AUTH_BAD_SIGNATURE',
      'the request signature does not verify',
      'sign METHOD\\nPATH\\nDATE\\nIDEMPOTENCY-KEY\\nhex(SHA-256(body)) over the exact bytes sent: docs/bank-api.md §2',
    );
  }
  return { id, kind: cert.kind, certificate: cert };
}
