/**
 * The clearing service's HTTP front end: the settlement part of docs/bank-api.md (§2 authentication,
 * §3 idempotency, §4 batches, §7 revocation list, §8 reconciliation, §9 health) over one
 * ClearingService. Any number of these processes may serve one PostgreSQL ledger: nothing here is
 * shared between them except through the ledger (a 409 for a key in flight is per process; across
 * processes the second request waits on the key row in the database and then replays).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { bytesEqual } from '../../../protocol/bytes.js';
import { CardpostError, DecodeError } from '../../../protocol/errors.js';
import { BATCH_ID, MAX_BODY_BYTES, decodeBatchRequest, parseJsonBytes } from '../../../protocol/bank/index.js';
import { TerminalAuthError, authenticateRequest } from '../../../protocol/bank/authenticate.js';
import { FASTIFY_CLIENT_ERRORS, HttpError, badRequest, errorBody } from '../../../protocol/bank/http-error.js';
import { reconciliationRange } from '../../../protocol/bank/reconciliation-query.js';
import { AUTH_HEADER } from '../../../protocol/bank/terminal-auth.js';
import { DOCS } from '../../../protocol/bank/json.js';
import type { ClearingService } from '../clearing-service.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Routes of bank-api.md this service does not serve: card services stay with the issuer's card system. */
const NOT_SERVED = [
  { method: 'POST', url: '/v1/topups' },
  { method: 'POST', url: '/v1/refunds' },
  { method: 'POST', url: '/v1/cards/:cardId/lost' },
  { method: 'GET', url: '/v1/cards/:cardId/block-order' },
  { method: 'GET', url: '/v1/records/:cardId/:counter' },
] as const;

/** How a ledger or service error is answered: status, and a Retry-After for the ones worth retrying. */
const SERVICE_ERROR_STATUS: Readonly<Record<string, number>> = {
  IDEMPOTENCY_KEY_REUSED: 422,
  CLEARING_DB_UNAVAILABLE: 503,
  CLEARING_CLOSED: 503,
  CARD_ID_INVALID: 400,
};

export interface ClearingHttp {
  url: string;
  port: number;
  /** Stop taking requests and wait for those in flight. Does not close the ledger. */
  close(): Promise<void>;
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

const rawBody = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

function sendJson(
  reply: FastifyReply,
  status: number,
  json: string,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply.code(status).headers(headers).type(JSON_TYPE).send(json);
}

function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  return sendJson(reply, e.status, errorBody(e.code, e.message, e.hint), e.headers);
}

export function buildClearingApp(service: ClearingService, o: { logger?: boolean } = {}): FastifyInstance {
  const inflight = new Set<string>();
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: MAX_BODY_BYTES,
    return503OnClosing: true,
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply)
        .code(400)
        .type(JSON_TYPE)
        .send(errorBody('REQUEST_INVALID', `the request could not be routed: ${err.message}`, DOCS));
    },
  });
  // JSON only, kept as raw bytes: the signature and the idempotency fingerprint cover the exact bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  const authenticate = (req: FastifyRequest): string => {
    try {
      return authenticateRequest({
        method: req.method,
        path: req.url,
        header: (name) => header(req, name),
        body: rawBody(req),
        now: service.now(),
        trust: service.trust,
      }).id;
    } catch (e) {
      if (e instanceof TerminalAuthError)
        throw new HttpError(401, e.code, e.message, e.hint, { 'www-authenticate': 'Cardpost-Terminal' });
      throw e;
    }
  };

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, err);
    if (err instanceof DecodeError) return sendError(reply, new HttpError(400, err.code, err.message, err.hint));
    if (err instanceof CardpostError && SERVICE_ERROR_STATUS[err.code]) {
      const status = SERVICE_ERROR_STATUS[err.code]!;
      return sendError(
        reply,
        new HttpError(status, err.code, err.message, err.hint, status === 503 ? { 'retry-after': '1' } : {}),
      );
    }
    const fe = err as FastifyError;
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      const [code, hint] = FASTIFY_CLIENT_ERRORS[fe.code] ?? ['REQUEST_INVALID', DOCS];
      return sendError(reply, new HttpError(status, code, fe.message, hint));
    }
    req.log.error({ err }, 'clearing service internal error');
    if (!o.logger) console.error('cardpost bank serve: internal error:', err); // a bug: never silent
    return sendError(
      reply,
      new HttpError(500, 'INTERNAL', 'internal error; nothing was committed', 'retry with the same Idempotency-Key'),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, DOCS)),
  );

  app.get('/v1/health', async (_req, reply) =>
    sendJson(reply, 200, JSON.stringify({ status: 'ok', time: service.now() })),
  );

  app.get('/v1/revocations', async (req, reply) => {
    const { sequence, envelope } = await service.revocationList();
    const etag = `"crl-${sequence}"`;
    const headers = { etag, 'cache-control': 'no-cache', 'x-cardpost-crl-sequence': String(sequence) };
    if (req.headers['if-none-match'] === etag) return reply.code(304).headers(headers).send();
    return reply.code(200).headers(headers).type('application/cbor').send(Buffer.from(envelope));
  });

  app.post('/v1/batches', async (req, reply) => {
    const terminalId = authenticate(req);
    const sent = header(req, AUTH_HEADER.idempotencyKey);
    // an RFC 8941 sf-string may come quoted
    let key = sent && sent.length >= 2 && sent.startsWith('"') && sent.endsWith('"') ? sent.slice(1, -1) : sent;
    if (key === undefined || key === '')
      throw badRequest('IDEMPOTENCY_KEY_MISSING', 'Idempotency-Key is required', 'send Idempotency-Key: <batch id>');
    if (!BATCH_ID.test(key))
      throw badRequest(
        'IDEMPOTENCY_KEY_INVALID',
        'Idempotency-Key is malformed',
        'the key of a batch is its id: 32 hex digits',
      );
    key = key.toLowerCase();
    const raw = rawBody(req);
    const bodyHash = new Uint8Array(createHash('sha256').update(raw).digest()); // native: bodies run to megabytes
    const slot = `${terminalId}\u0000${key}`;
    if (inflight.has(slot))
      throw new HttpError(
        409,
        'IDEMPOTENCY_KEY_IN_USE',
        'a request with this Idempotency-Key is still being processed',
        'retry the same request shortly',
        { 'retry-after': '1' },
      );
    const stored = await service.ledger.storedAnswer(terminalId, key);
    if (stored) {
      if (!bytesEqual(stored.bodyHash, bodyHash))
        throw new HttpError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request body',
          'a retry must send the identical body; new work needs a new key',
        );
      return sendJson(reply, 200, stored.answer, { 'idempotent-replayed': 'true' });
    }
    // DecodeError (BODY_*, BATCH_ID_MISMATCH, BATCH_TOO_LARGE, BATCH_EMPTY): a 400 with its code
    const { records, certificates } = decodeBatchRequest(parseJsonBytes(raw), { idempotencyKey: key });
    inflight.add(slot);
    try {
      const out = await service.settle({ terminalId, batchId: key, bodyHash, records, certificates });
      return sendJson(reply, 200, out.answer, out.replayed ? { 'idempotent-replayed': 'true' } : {});
    } finally {
      inflight.delete(slot);
    }
  });

  app.get('/v1/reconciliation', async (req, reply) => {
    const terminalId = authenticate(req);
    const { from, to, echo } = reconciliationRange((req.query ?? {}) as Record<string, unknown>);
    const { sales, reversals } = await service.totals(terminalId, from, to);
    // refunds are authorised by the issuer's card system, not by this service (bank-api.md §8: none here)
    return sendJson(reply, 200, JSON.stringify({ ...echo, terminalId, totals: sales, reversals, refunds: [] }));
  });

  for (const { method, url } of NOT_SERVED)
    app.route({
      method,
      url,
      handler: async () => {
        throw new HttpError(
          501,
          'ROUTE_NOT_SERVED',
          `${method} ${url} is not served by the clearing service: it settles offline sales`,
          'send card services (top-ups, refunds, lost cards, block orders, record status) to the issuer bank (docs/clearing.md "Front ends")',
        );
      },
    });
  return app;
}

/** Serve on host:port (port 0 picks a free one; every cluster worker given the same port shares it). */
export async function startClearingHttp(
  service: ClearingService,
  o: { host?: string; port?: number; logger?: boolean } = {},
): Promise<ClearingHttp> {
  const app = buildClearingApp(service, { ...(o.logger !== undefined ? { logger: o.logger } : {}) });
  await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const close = async (): Promise<void> => {
    // Requests in flight finish (their transactions commit or roll back); idle keep-alive
    // connections are closed at once and again as requests finish, so a stop does not wait for
    // clients' keep-alive timeouts. After 10 s whatever is left is cut: its terminal retries.
    const closing = app.close();
    const idle = setInterval(() => app.server.closeIdleConnections(), 100);
    const cut = setTimeout(() => app.server.closeAllConnections(), 10_000);
    app.server.closeIdleConnections();
    try {
      await closing;
    } finally {
      clearInterval(idle);
      clearTimeout(cut);
    }
  };
  return { url: `http://${host}:${addr.port}`, port: addr.port, close };
}
