/**
 * The keys a bank front end starts with (docs/bank-api.md §7): the issuer CA it trusts, and the bank
 * authority that signs what it publishes. Every bank (the simulated one, the clearing service)
 * refuses the same wrong configurations, with the same words.
 */
import { bytesEqual } from '../bytes.js';
import { SIGNATURE_ALGORITHM_CODES } from '../crypto/index.js';
import { CardpostError } from '../errors.js';
import { CERT_KIND, verifyCertificate, type Certificate, type SigningKey } from '../record/index.js';

/** Throws BANK_CONFIG unless `authority` is a kind 4 certificate of `issuer` with the key it certifies. */
export function checkBankAuthority(
  issuer: Certificate,
  authority: { key: SigningKey; certificate: Certificate },
): void {
  const chk = verifyCertificate(authority.certificate, issuer, { kind: CERT_KIND.AUTHORITY });
  if (!chk.ok)
    throw new CardpostError(
      'BANK_CONFIG',
      `the authority certificate is not a kind 4 certificate of this issuer: ${chk.detail}`,
      'issue the bank authority certificate with the issuer CA',
    );
  if (
    !bytesEqual(authority.certificate.publicKey, authority.key.publicKey) ||
    authority.certificate.algorithm !== SIGNATURE_ALGORITHM_CODES[authority.key.algorithm]
  )
    throw new CardpostError(
      'BANK_CONFIG',
      'the authority key does not match the authority certificate',
      'pass the key the certificate was issued for',
    );
}
