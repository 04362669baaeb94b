import { DecodeError } from '../errors.js';
import { asBytes, buildMap } from '../cbor/index.js';
import { compareBytes } from '../cbor/index.js';
import { CARD_ID_LENGTH } from '../commands/application.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import type { SigningKey } from './certificate.js';

/** An issuer's list of revoked card ids (docs/protocol.md §7.4). */
export interface RevocationListFields {
  issuerKeyId: Uint8Array;
  sequence: number;
  issuedAt: number;
  revoked: Uint8Array[];
}
export interface RevocationList extends RevocationListFields {
  body: Uint8Array;
  signature: Uint8Array;
  envelope: Uint8Array;
}

const NAMES = { 0: 'type', 1: 'version', 2: 'issuerKeyId', 3: 'sequence', 4: 'issuedAt', 5: 'revoked' };

export function signRevocationList(signer: SigningKey, f: RevocationListFields): RevocationList {
  const revoked = [...f.revoked].sort(compareBytes).filter((id, i, a) => i === 0 || compareBytes(a[i - 1]!, id) !== 0);
  const body = buildMap([
    [0, BODY_TYPE.REVOCATION_LIST],
    [1, 1],
    [2, f.issuerKeyId],
    [3, f.sequence],
    [4, f.issuedAt],
    [5, revoked],
  ]);
  return decodeRevocationList(signBody(signer.algorithm, signer.privateKey, body).envelope);
}

export function decodeRevocationList(envelope: Uint8Array): RevocationList {
  const env = decodeEnvelope(envelope, BODY_TYPE.REVOCATION_LIST, 'revocation list', NAMES);
  const r = env.fields;
  if (r.uint(1) !== 1)
    throw new DecodeError('CRL_VERSION', 'revocation list version is not supported', 'update cardpost');
  const f: RevocationListFields = {
    issuerKeyId: r.bytes(2, { length: 8 }),
    sequence: r.uint(3, { max: MAX_COUNTER }),
    issuedAt: r.uint(4, { max: MAX_AMOUNT }),
    revoked: r.arrayOf(5, (v, what) => asBytes(v, what, { length: CARD_ID_LENGTH })),
  };
  r.done();
  for (let i = 1; i < f.revoked.length; i++) {
    if (compareBytes(f.revoked[i - 1]!, f.revoked[i]!) >= 0) {
      throw new DecodeError(
        'CBOR_SCHEMA',
        'revocation list: card ids must be sorted and unique',
        'the list was not made by a conforming issuer',
      );
    }
  }
  return { ...f, body: env.body, signature: env.signature, envelope: envelope.slice() };
}

export function verifyRevocationList(
  list: RevocationList,
  signerAlgorithm: number,
  signerPublicKey: Uint8Array,
): boolean {
  return verifyEnvelope(signerAlgorithm, signerPublicKey, list);
}
