import { toHex } from '../bytes.js';
import { CardpostError } from '../errors.js';
import { CERT_KIND, verifyCertificate, type Certificate, type CertificateCheck, type CertKind } from './certificate.js';
import { keyId } from './hash.js';

/**
 * The issuer CAs a host or bank trusts, and the revoked card ids it knows of. Pure: callers load
 * and save it. A certificate is good when its issuer is here, its signature and validity check out,
 * it is of the kind needed and its subject is not revoked.
 */
export class TrustStore {
  private readonly issuers = new Map<string, Certificate>();
  private readonly revoked = new Set<string>();

  /** Add a root; refuses anything that is not a valid self-signed issuer CA. */
  addIssuer(ca: Certificate): void {
    const self = verifyCertificate(ca, ca, { kind: CERT_KIND.ISSUER_CA });
    if (!self.ok)
      throw new CardpostError(
        'TRUST_ANCHOR_INVALID',
        `not a valid issuer CA certificate: ${self.detail}`,
        "add the issuer's self-signed CA certificate",
      );
    this.issuers.set(toHex(keyId(ca.algorithm, ca.publicKey)), ca);
  }

  issuerFor(cert: Certificate): Certificate | undefined {
    return this.issuers.get(toHex(cert.issuerKeyId));
  }

  get issuerCount(): number {
    return this.issuers.size;
  }

  revoke(subjectId: Uint8Array): void {
    this.revoked.add(toHex(subjectId));
  }
  isRevoked(subjectId: Uint8Array): boolean {
    return this.revoked.has(toHex(subjectId));
  }

  check(
    cert: Certificate,
    opts: { now: number; kind: CertKind },
  ): CertificateCheck | { ok: false; problem: 'revoked'; detail: string } {
    const issuer = this.issuerFor(cert);
    if (!issuer) return { ok: false, problem: 'unknown-issuer', detail: 'issued by a CA this store does not trust' };
    const res = verifyCertificate(cert, issuer, opts);
    if (!res.ok) return res;
    if (this.isRevoked(cert.subjectId))
      return { ok: false, problem: 'revoked', detail: `subject ${toHex(cert.subjectId)} is on the revocation list` };
    return res;
  }
}
