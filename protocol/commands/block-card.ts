import { MapReader, buildMap, type CborMap, type CborValue } from '../cbor/index.js';

/**
 * BLOCK_CARD (docs/protocol.md §4.8): the issuer's signed block order (§7.6), and the certificate of
 * the authority that signed it when that is not the issuer CA itself. One encoder and one validating
 * reader, used by host and card alike.
 */
export interface BlockCardRequest {
  /** The block order envelope (§7.6). */
  order: Uint8Array;
  /** The kind 4 certificate envelope of the order's signer; absent when the issuer CA signed the order. */
  authority?: Uint8Array;
}

export const encodeBlockCardRequest = (q: BlockCardRequest): CborMap =>
  buildMap([
    [1, q.order],
    [2, q.authority],
  ]);

export function readBlockCardRequest(v: CborValue): BlockCardRequest {
  const r = new MapReader(v, 'BLOCK_CARD request', { names: { 1: 'order', 2: 'authority' } });
  const q: BlockCardRequest = { order: r.bytes(1, { minLength: 1, maxLength: 1024 }) };
  const authority = r.opt.bytes(2, { minLength: 1, maxLength: 2048 });
  if (authority) q.authority = authority;
  r.done();
  return q;
}
