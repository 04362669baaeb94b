/**
 * `POST /v1/batches`, the request (docs/bank-api.md §4.1):
 *
 *   {"batchId":"<32 hex>","records":["<base64url record envelope>",…],"certificates":["<base64url>",…]}
 *
 * The host encodes it once per batch and keeps the bytes (every retry sends them unchanged); the bank
 * decodes it. A record or certificate that is not base64url, or does not decode, is not a request
 * error: it gets its own verdict (§4.3 MALFORMED), so the decoded request keeps the items as text.
 */
import { EncodeError } from '../errors.js';
import { toBase64url } from './terminal-auth.js';
import { BankDecodeError, parseJsonBytes, requestObject, schemaError, textArray } from './json.js';

/** Largest request body the bank takes (§1); more is 413 BODY_TOO_LARGE. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const MAX_RECORDS_PER_BATCH = 1000;
export const MAX_CERTIFICATES_PER_BATCH = 1000;
/** Longest base64url item of a batch. */
export const MAX_ITEM_CHARS = 8192;
/** A batch id: 16 random bytes as 32 hex digits, case-insensitive (answered in lower case). */
export const BATCH_ID = /^[0-9a-fA-F]{32}$/;

const FIELDS = ['batchId', 'records', 'certificates'] as const;

/** A batch request as decoded: records and certificates are the base64url texts as sent (see the module comment). */
export interface BatchRequest {
  /** As sent (any case); the bank works with it in lower case. */
  batchId: string;
  records: string[];
  certificates: string[];
}

/** What the host puts in a batch: the record envelopes in queue order and the card certificates to send along. */
export interface BatchRequestInput {
  batchId: string;
  records: readonly Uint8Array[];
  certificates?: readonly Uint8Array[];
}

/**
 * The request body, as UTF-8 JSON bytes. Refuses (EncodeError) what the bank would refuse as a
 * request: a bad batch id, no records, too many records or certificates, an item too long.
 */
export function encodeBatchRequest(r: BatchRequestInput): Uint8Array {
  const certificates = r.certificates ?? [];
  if (!BATCH_ID.test(r.batchId))
    throw new EncodeError(
      'BATCH_ID_INVALID',
      `batch id "${r.batchId.slice(0, 40)}" is not 32 hex digits`,
      'use 16 random bytes in hex',
    );
  if (r.records.length === 0)
    throw new EncodeError('BATCH_EMPTY', 'a batch needs at least one record', 'send only when records are pending');
  if (r.records.length > MAX_RECORDS_PER_BATCH || certificates.length > MAX_CERTIFICATES_PER_BATCH) {
    throw new EncodeError(
      'BATCH_TOO_LARGE',
      `${r.records.length} records and ${certificates.length} certificates; at most ${MAX_RECORDS_PER_BATCH} each`,
      'split the batch',
    );
  }
  const records = r.records.map(toBase64url);
  const certs = certificates.map(toBase64url);
  const long = [...records, ...certs].find((t) => t.length > MAX_ITEM_CHARS);
  if (long !== undefined)
    throw new EncodeError(
      'BATCH_ITEM_TOO_LONG',
      `an item of ${long.length} base64url characters (at most ${MAX_ITEM_CHARS})`,
      'this is not a record or certificate envelope',
    );
  return new TextEncoder().encode(JSON.stringify({ batchId: r.batchId, records, certificates: certs }));
}

/**
 * A parsed JSON body as a batch request, checked in the order the bank answers (§4.1): the object
 * and its fields (BODY_SCHEMA), the batch id, its equality with the Idempotency-Key when one is given
 * (BATCH_ID_MISMATCH), the records (BATCH_TOO_LARGE, BODY_SCHEMA, BATCH_EMPTY), the certificates.
 * `idempotencyKey` is the key without quotes; compared case-insensitively.
 */
export function decodeBatchRequest(body: unknown, o: { idempotencyKey?: string } = {}): BatchRequest {
  const obj = requestObject(body, FIELDS);
  const batchId = obj['batchId'];
  if (typeof batchId !== 'string' || !BATCH_ID.test(batchId)) throw schemaError('batchId', 'must be 32 hex digits');
  if (o.idempotencyKey !== undefined && batchId.toLowerCase() !== o.idempotencyKey.toLowerCase()) {
    throw new BankDecodeError(
      'BATCH_ID_MISMATCH',
      'batchId differs from the Idempotency-Key',
      'the Idempotency-Key of a batch is its batchId',
    );
  }
  const records = textArray(obj, 'records', MAX_RECORDS_PER_BATCH, MAX_ITEM_CHARS, 'BATCH_TOO_LARGE', true);
  if (records.length === 0) throw new BankDecodeError('BATCH_EMPTY', 'records is empty', 'send at least one record');
  const certificates = textArray(
    obj,
    'certificates',
    MAX_CERTIFICATES_PER_BATCH,
    MAX_ITEM_CHARS,
    'BATCH_TOO_LARGE',
    false,
  );
  return { batchId, records, certificates };
}

/** decodeBatchRequest of the body bytes (BODY_MISSING, BODY_NOT_JSON first). */
export function decodeBatchRequestBytes(raw: Uint8Array, o: { idempotencyKey?: string } = {}): BatchRequest {
  return decodeBatchRequest(parseJsonBytes(raw), o);
}
