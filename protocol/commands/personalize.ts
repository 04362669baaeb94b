import { SIGNATURE_ALGORITHM_CODES, sign } from '../crypto/index.js';
import { CERT_KIND, capToIssuer, issueCertificate, type Certificate, type SigningKey } from '../record/certificate.js';
import { CardClient } from './card-client.js';
import { personalizationAuthorisationMessage, type Limits } from './messages.js';
import type { SignatureAlgorithm } from '../crypto/index.js';

export interface PersonalizationOrder {
  cardId: Uint8Array;
  /** The card's own signature suite (the key it generates). */
  algorithm: SignatureAlgorithm;
  currency: number;
  limits: Limits;
  /** Transport PIN (the holder changes it before paying) and PUK, as ASCII digits. */
  pin: Uint8Array;
  puk: Uint8Array;
  notBefore: number;
  notAfter: number;
  serial: Uint8Array;
}

/**
 * The issuer's side of personalisation (docs/protocol.md §4.6), over any card transport:
 * BEGIN (the card makes its key), certify that key, COMMIT with the issuer's authorisation.
 * Returns the card certificate.
 */
export async function personalizeCard(
  client: CardClient,
  issuer: { key: SigningKey; certificate: Certificate },
  order: PersonalizationOrder,
): Promise<Certificate> {
  // Never certify a card beyond its CA (the card and every verifier would refuse it): cut the
  // window to the CA's, and touch no card when the CA has nothing left to give.
  const validity = capToIssuer(issuer.certificate, order);
  await client.select();
  const begin = await client.personalizeBegin({
    cardId: order.cardId,
    algorithm: SIGNATURE_ALGORITHM_CODES[order.algorithm],
    issuer: issuer.certificate.envelope,
  });
  const cert = issueCertificate(issuer.key, {
    serial: order.serial,
    kind: CERT_KIND.CARD,
    subjectId: order.cardId,
    algorithm: SIGNATURE_ALGORITHM_CODES[order.algorithm],
    publicKey: begin.publicKey,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    limits: order.limits,
    currency: order.currency,
  });
  const commit = { certificate: cert.envelope, pin: order.pin, puk: order.puk };
  const authorisation = sign(
    issuer.key.algorithm,
    issuer.key.privateKey,
    personalizationAuthorisationMessage(begin.challenge, commit),
  );
  await client.personalizeCommit({ ...commit, authorisation });
  return cert;
}
