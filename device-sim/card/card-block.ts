import { bytesEqual } from '../../protocol/bytes.js';
import { LIFECYCLE, type BlockCardRequest, type CardStatusName } from '../../protocol/commands/index.js';
import {
  CERT_KIND,
  decodeBlockOrder,
  decodeCertificate,
  verifyBlockOrder,
  verifyCertificate,
  type BlockOrder,
  type Certificate,
} from '../../protocol/record/index.js';
import type { Nvm } from './nvm.js';
import { K, readIdentity, readLifecycle, writeLifecycle } from './card-state.js';

/**
 * BLOCK_CARD as the card executes it (docs/protocol.md §4.8): the order must be signed by the issuer
 * key installed at personalisation, or by a top-up authority (kind 4) whose certificate that issuer
 * signed and whose validity lies within the issuer CA's (the check LOAD makes); it must name this
 * card. Then, in one NVM transaction, the order is kept and the life cycle becomes `blocked`.
 * A blocked card answers a valid order OK again and changes nothing. Returns the status to answer.
 */
export function blockCard(nvm: Nvm, q: BlockCardRequest): CardStatusName {
  const stored = readLifecycle(nvm);
  // A blank card holds no issuer key to check the order with, and nothing to protect.
  if (stored === LIFECYCLE.BLANK) return 'WRONG_STATE';
  const id = readIdentity(nvm);
  if (!id) return 'WRONG_STATE';
  const issuer = decodeCertificate(id.issuer);
  let signer: Certificate = issuer;
  if (q.authority) {
    let authority: Certificate;
    try {
      authority = decodeCertificate(q.authority);
    } catch {
      return 'AUTHORITY_INVALID';
    }
    if (!verifyCertificate(authority, issuer, { kind: CERT_KIND.AUTHORITY }).ok) return 'AUTHORITY_INVALID';
    signer = authority;
  }
  let order: BlockOrder;
  try {
    order = decodeBlockOrder(q.order);
  } catch {
    return 'BLOCK_ORDER_INVALID';
  }
  if (!verifyBlockOrder(order, signer.algorithm, signer.publicKey)) return 'BLOCK_ORDER_INVALID';
  if (!bytesEqual(order.cardId, id.cardId)) return 'BLOCK_ORDER_WRONG_CARD';
  if (stored === LIFECYCLE.BLOCKED) return 'OK'; // idempotent: the first order stays
  nvm.transaction((tx) => {
    tx.set(K.blockOrder, order.envelope);
    writeLifecycle(tx, LIFECYCLE.BLOCKED);
  });
  return 'OK';
}
