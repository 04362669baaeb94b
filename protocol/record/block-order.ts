import { DecodeError } from '../errors.js';
import { buildMap } from '../cbor/index.js';
import { CARD_ID_LENGTH } from '../commands/application.js';
import { MAX_AMOUNT, MAX_COUNTER } from '../commands/messages.js';
import { BODY_TYPE, decodeEnvelope, signBody, verifyEnvelope } from './envelope.js';
import type { SigningKey } from './certificate.js';

/** The block order format this code signs and the only one it accepts (docs/protocol.md §7.6). */
export const BLOCK_ORDER_VERSION = 1;

/** Why the issuer blocks a card (key 3 of a block order). */
export const BLOCK_REASON = { LOST: 1, STOLEN: 2, FRAUD: 3, WITHDRAWN: 4 } as const;
export type BlockReason = (typeof BLOCK_REASON)[keyof typeof BLOCK_REASON];
export const BLOCK_REASONS: readonly BlockReason[] = Object.values(BLOCK_REASON);

/** Plain words for a reason: "reported lost", "reported stolen", … */
export function blockReasonText(reason: BlockReason): string {
  switch (reason) {
    case BLOCK_REASON.LOST:
      return 'reported lost';
    case BLOCK_REASON.STOLEN:
      return 'reported stolen';
    case BLOCK_REASON.FRAUD:
      return 'revoked for a double spend';
    default:
      return 'withdrawn by its issuer';
  }
}

/**
 * An issuer-signed order that blocks one card on the card itself (docs/protocol.md §4.8, §7.6), for
 * a card on the issuer's revocation list: signed by the issuer CA or a top-up authority (kind 4)
 * whose certificate the issuer CA signed, exactly as a revocation list is.
 */
export interface BlockOrderFields {
  cardId: Uint8Array;
  reason: BlockReason;
  /** When the issuer (bank) revoked the card, Unix seconds. */
  issuedAt: number;
  /** The sequence of a revocation list of the issuer that carries the card. */
  listSequence: number;
}
export interface BlockOrder extends BlockOrderFields {
  body: Uint8Array;
  signature: Uint8Array;
  envelope: Uint8Array;
}

const NAMES = { 0: 'type', 1: 'version', 2: 'cardId', 3: 'reason', 4: 'issuedAt', 5: 'listSequence' };

export function signBlockOrder(signer: SigningKey, f: BlockOrderFields): BlockOrder {
  const body = buildMap([
    [0, BODY_TYPE.BLOCK_ORDER],
    [1, BLOCK_ORDER_VERSION],
    [2, f.cardId],
    [3, f.reason],
    [4, f.issuedAt],
    [5, f.listSequence],
  ]);
  return decodeBlockOrder(signBody(signer.algorithm, signer.privateKey, body).envelope);
}

/** Strict decode: DecodeError (ENVELOPE_*, CBOR_*, BLOCK_ORDER_VERSION) for anything but a canonical version 1 order. */
export function decodeBlockOrder(envelope: Uint8Array): BlockOrder {
  const env = decodeEnvelope(envelope, BODY_TYPE.BLOCK_ORDER, 'block order', NAMES);
  const r = env.fields;
  const version = r.uint(1);
  if (version !== BLOCK_ORDER_VERSION) {
    throw new DecodeError(
      'BLOCK_ORDER_VERSION',
      `block order version ${version} is not supported (only ${BLOCK_ORDER_VERSION})`,
      'update cardpost, or ask the issuer for a version 1 order',
    );
  }
  const f: BlockOrderFields = {
    cardId: r.bytes(2, { length: CARD_ID_LENGTH }),
    reason: r.oneOf(3, BLOCK_REASONS),
    issuedAt: r.uint(4, { max: MAX_AMOUNT }),
    listSequence: r.uint(5, { min: 1, max: MAX_COUNTER }),
  };
  r.done();
  return { ...f, body: env.body, signature: env.signature, envelope: envelope.slice() };
}

/** Whether the order is signed by this key (the issuer CA's, or an authority's the caller has checked). */
export function verifyBlockOrder(order: BlockOrder, signerAlgorithm: number, signerPublicKey: Uint8Array): boolean {
  return verifyEnvelope(signerAlgorithm, signerPublicKey, order);
}
