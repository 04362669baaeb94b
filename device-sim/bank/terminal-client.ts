/**
 * A minimal terminal-side client of the bank API (docs/bank-api.md), for tests and QA scenarios.
 * It signs every request (terminal-auth.ts) and returns the raw response; it never retries.
 * The host has its own settlement client; this one is the reference for what goes on the wire.
 */
import type { Certificate, SigningKey } from '../../protocol/record/index.js';
import { signTerminalRequest, toBase64url } from '../../protocol/bank/terminal-auth.js';

export interface BankResponse {
  status: number;
  headers: Headers;
  /** The body bytes exactly as received. */
  bytes: Uint8Array;
  text: string;
  /** JSON.parse of the body (throws if it is not JSON). */
  json<T = any>(): T;
}

export interface BankRequestOptions {
  /** A string or bytes is sent as is; anything else is JSON.stringify'd. */
  body?: unknown;
  idempotencyKey?: string;
  /** Extra headers; they override the signed ones (to test tampering). */
  headers?: Record<string, string>;
  contentType?: string;
  /** Do not sign (the bank will answer 401). */
  unsigned?: boolean;
  /** Sign with this Unix time instead of the client clock. */
  date?: number;
  timeoutMs?: number;
}

export class BankTerminalClient {
  constructor(
    readonly opts: {
      baseUrl: string;
      key: SigningKey;
      certificate: Certificate;
      clock?: () => number;
      timeoutMs?: number;
    },
  ) {}

  async request(method: string, path: string, o: BankRequestOptions = {}): Promise<BankResponse> {
    let body: Uint8Array | undefined;
    if (typeof o.body === 'string') body = new TextEncoder().encode(o.body);
    else if (o.body instanceof Uint8Array) body = o.body;
    else if (o.body !== undefined) body = new TextEncoder().encode(JSON.stringify(o.body));
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = o.contentType ?? 'application/json';
    if (!o.unsigned) {
      Object.assign(
        headers,
        signTerminalRequest({
          method,
          path,
          body,
          idempotencyKey: o.idempotencyKey,
          key: this.opts.key,
          certificate: this.opts.certificate,
          now: o.date ?? (this.opts.clock ? this.opts.clock() : undefined),
        }),
      );
    } else if (o.idempotencyKey !== undefined) {
      headers['Idempotency-Key'] = o.idempotencyKey;
    }
    Object.assign(headers, o.headers ?? {});
    const timeout = o.timeoutMs ?? this.opts.timeoutMs ?? 10_000;
    const res = await fetch(this.opts.baseUrl + path, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(timeout),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    return { status: res.status, headers: res.headers, bytes, text, json: () => JSON.parse(text) };
  }

  /** POST /v1/batches; the batch id is the Idempotency-Key. */
  submitBatch(
    batchId: string,
    records: Uint8Array[],
    certificates: Uint8Array[] = [],
    o: BankRequestOptions = {},
  ): Promise<BankResponse> {
    return this.request('POST', '/v1/batches', {
      idempotencyKey: batchId,
      ...o,
      body: { batchId, records: records.map(toBase64url), certificates: certificates.map(toBase64url) },
    });
  }

  topup(
    idempotencyKey: string,
    t: { cardId: string; loadSeq: number; amount: number; currency: number; validForPayments?: number },
    o: BankRequestOptions = {},
  ): Promise<BankResponse> {
    return this.request('POST', '/v1/topups', { idempotencyKey, ...o, body: t });
  }
}
