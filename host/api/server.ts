import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { CardpostError } from '../../protocol/errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { TransportError } from '../../protocol/transport.js';
import { CardSessionError } from '../session/card-session.js';
import { SaleRefusedError } from '../sale/offline-limits.js';
import { rejectionAdvice } from '../settlement/rejection-advice.js';
import { BankError } from '../settlement/bank-client.js';
import { StoreError, type RecordStatus } from '../store/host-store.js';
import type { Daemon } from '../daemon/daemon.js';
import type { Logger } from '../daemon/log.js';
import { SESSION_COOKIE, cookieValue, isLoopbackHost, sessionValue, tokenMatches } from './auth.js';
import { EventHub } from './events.js';
import { statusBody } from './status.js';
import { registerPages } from './pages.js';

export interface ApiServer { url: string; close(): Promise<void> }

const STATUSES: readonly RecordStatus[] = ['pending', 'sending', 'settled', 'duplicate', 'rejected', 'held'];

const NOT_FOUND_CODES = new Set(['SALE_NOT_FOUND', 'RECORD_NOT_FOUND', 'READER_UNKNOWN']);
const CONFLICT_CODES = new Set(['SALE_IN_PROGRESS', 'READER_BUSY', 'SALE_NOT_ASKING_PIN', 'SALE_CANNOT_CANCEL', 'SALE_KEY_REUSED', 'PIN_ON_DEVICE']);

/** HTTP status for one of our errors: refusals are 4xx, the machine failing is 5xx. */
function statusFor(e: CardpostError): number {
  if (NOT_FOUND_CODES.has(e.code)) return 404;
  if (CONFLICT_CODES.has(e.code)) return 409;
  if (e instanceof SaleRefusedError) return 422;
  if (e instanceof TransportError) return e.transportCode === 'NO_CARD' || e.transportCode === 'CARD_REMOVED' ? 409 : 503;
  if (e instanceof CardSessionError) return 422;
  if (e instanceof StoreError) return 500;
  if (e instanceof BankError) return e.outcome === 'unknown' ? 503 : 502; // the bank failed us, not the caller
  if (e.code.startsWith('CARD_')) return 422;
  return 400;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, hint: string): FastifyReply {
  return reply.code(status).send({ error: { code, message, hint } });
}

/**
 * The daemon's local HTTP API (docs/host-api.md, docs/host-api.openapi.yaml) on 127.0.0.1. Every
 * /api/v1 route and /metrics needs the bearer token (or the session cookie of a paired page);
 * requests naming a non-loopback Host are refused (DNS rebinding).
 */
export async function startApi(o: { daemon: Daemon; token: string; host: string; port: number; log: Logger }): Promise<ApiServer> {
  const { daemon: d, token } = o;
  const session = sessionValue(token);
  const app: FastifyInstance = Fastify({
    logger: false, bodyLimit: 64 * 1024, forceCloseConnections: true,
    // Validation refuses what it does not expect, as the card protocol and the config do: no silently
    // dropped unknown fields, no "1250" taken for 1250 (query strings are parsed by the handlers).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    // Errors of fastify's own router (bad percent-encoding, over-long parameters) in our error shape too.
    frameworkErrors: (err, _req, reply) => {
      void sendError(reply as unknown as FastifyReply, 400, 'REQUEST_INVALID', `the request could not be routed: ${err.message}`, 'check the URL; see docs/host-api.md');
    },
  });
  const events = new EventHub(d);

  app.addHook('onRequest', async (req, reply) => {
    if (!isLoopbackHost(req.headers.host)) return sendError(reply, 403, 'HOST_NOT_LOOPBACK', 'this API answers only to loopback host names', 'open it as http://127.0.0.1:PORT/');
    const path = req.url.split('?')[0]!;
    if (!path.startsWith('/api/') && path !== '/metrics') return undefined; // pages, health
    if (path === '/api/v1/health' || path === '/api/v1/pair') return undefined;
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    if (tokenMatches(bearer, token) || tokenMatches(cookieValue(req.headers.cookie, SESSION_COOKIE), session)) return undefined;
    reply.header('WWW-Authenticate', 'Bearer realm="cardpost"');
    const tokenFile = join(d.config.dataDir, 'api-token');
    return reply.code(401).send({
      error: { code: 'API_UNAUTHORISED', message: 'this request needs the daemon\'s API token', hint: `send "Authorization: Bearer <token>" with the token from ${tokenFile}, or pair the page`, tokenFile },
    });
  });

  app.setErrorHandler((err: FastifyError | CardpostError | Error, _req, reply) => {
    if (err instanceof CardpostError) return sendError(reply, statusFor(err), err.code, err.message, err.hint);
    const fe = err as FastifyError;
    if (fe.validation) return sendError(reply, 400, 'REQUEST_INVALID', `request not valid: ${fe.message}`, 'see docs/host-api.md for the fields of this request');
    if (typeof fe.statusCode === 'number' && fe.statusCode < 500) return sendError(reply, fe.statusCode, fe.code ?? 'REQUEST_INVALID', fe.message, 'see docs/host-api.md');
    o.log.error({ err: err.message }, 'API handler failed');
    return sendError(reply, 500, 'INTERNAL', 'the daemon failed to answer', 'report this with the daemon log');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 'see docs/host-api.md'));

  app.get('/api/v1/health', async () => ({ status: 'ok' }));

  app.post('/api/v1/pair', {
    schema: { body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: { type: 'string', maxLength: 200 } } } },
  }, async (req: FastifyRequest<{ Body: { token: string } }>, reply) => {
    if (!tokenMatches(req.body.token.trim(), token)) return sendError(reply, 401, 'PAIRING_REFUSED', 'that is not this daemon\'s token', `copy it from ${d.config.dataDir}/api-token`);
    // A year: a customer-display kiosk keeps its pairing across browser restarts; a new token (delete
    // the api-token file) unpairs every page, since the cookie is derived from the token.
    reply.header('Set-Cookie', `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`);
    return { paired: true };
  });

  app.get('/api/v1/status', async () => statusBody(d));
  app.get('/api/v1/readers', async () => ({ readers: d.hub.list() }));

  app.get('/api/v1/readers/:name/card', async (req: FastifyRequest<{ Params: { name: string } }>) => d.engine.inspect(req.params.name));

  app.post('/api/v1/readers/:name/apdu', {
    schema: { body: { type: 'object', required: ['apdu'], additionalProperties: false, properties: { apdu: { type: 'string', pattern: '^([0-9a-fA-F]{2}){4,65544}$' }, raw: { type: 'boolean' } } } },
  }, async (req: FastifyRequest<{ Params: { name: string }; Body: { apdu: string; raw?: boolean } }>) => {
    const res = await d.engine.transmitRaw(req.params.name, fromHex(req.body.apdu), req.body.raw === true);
    return { response: toHex(res), sw: toHex(res.subarray(-2)).toUpperCase() };
  });

  app.post('/api/v1/sales', {
    schema: {
      body: {
        type: 'object', required: ['amount'], additionalProperties: false,
        properties: { amount: { type: 'integer', minimum: 1 }, currency: { type: 'integer', minimum: 1, maximum: 999 }, reader: { type: 'string', maxLength: 200 } },
      },
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
    },
  }, async (req: FastifyRequest<{ Body: { amount: number; currency?: number; reader?: string } }>, reply) => {
    const key = req.headers['idempotency-key'];
    const sale = d.engine.start({ ...req.body, ...(typeof key === 'string' ? { requestKey: key } : {}) });
    return reply.code(201).header('Location', `/api/v1/sales/${sale.saleId}`).send(sale);
  });
  app.get('/api/v1/sales', async () => ({ active: d.engine.active(), recent: d.store.recentSales(50).map((r) => d.engine.get(r.saleId)) }));
  app.get('/api/v1/sales/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const s = d.engine.get(req.params.id);
    return s ?? sendError(reply, 404, 'SALE_NOT_FOUND', `no sale ${req.params.id}`, 'list sales with GET /api/v1/sales');
  });
  app.post('/api/v1/sales/:id/pin', {
    schema: { body: { type: 'object', required: ['pin'], additionalProperties: false, properties: { pin: { type: 'string', maxLength: 32 } } } },
  }, async (req: FastifyRequest<{ Params: { id: string }; Body: { pin: string } }>, reply) => {
    d.engine.submitPin(req.params.id, req.body.pin);
    return reply.code(202).send({ accepted: true });
  });
  app.post('/api/v1/sales/:id/cancel', async (req: FastifyRequest<{ Params: { id: string } }>) => d.engine.cancel(req.params.id));

  app.get('/api/v1/queue', {
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { status: { type: 'string', enum: [...STATUSES] }, after: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' }, limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' } },
      },
    },
  }, async (req: FastifyRequest<{ Querystring: { status?: RecordStatus; after?: string; limit?: string } }>) => {
    const records = d.store.records({ ...(req.query.status ? { status: req.query.status } : {}), afterSeq: Number(req.query.after ?? 0), limit: Number(req.query.limit ?? 100) });
    return {
      summary: { counts: d.store.statusCounts(), unsettled: d.store.unsettled() },
      records: records.map((r) => (r.status === 'rejected' ? { ...r, advice: rejectionAdvice(r.reason) } : r)),
      next: records.length ? records.at(-1)!.seq : null,
    };
  });

  // Every record with signature and card certificate, for audit: streamed, so memory stays flat.
  app.get('/api/v1/queue/export', async (_req, reply) => {
    const rows = d.store.exportRecords();
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    const stream = Readable.from((function* () {
      yield `{"terminalId":${JSON.stringify(d.terminalId)},"exportedAt":${Math.floor(Date.now() / 1000)},"encoding":"base64url","records":[`;
      let first = true;
      for (const r of rows) {
        yield (first ? '\n' : ',\n') + JSON.stringify({ recordId: r.recordId, status: r.status, reason: r.reason, envelope: b64(r.envelope), certificate: r.certificate ? b64(r.certificate) : null });
        first = false;
      }
      yield '\n]}\n';
    })());
    return reply.type('application/json').send(stream);
  });

  app.get('/api/v1/settlement', async () => ({ ...d.worker.status(), counts: d.store.statusCounts(), unsettled: d.store.unsettled() }));
  app.post('/api/v1/settlement', async (_req, reply) => {
    d.settleNow();
    return reply.code(202).send({ ...d.worker.status(), counts: d.store.statusCounts(), unsettled: d.store.unsettled() });
  });

  app.get('/api/v1/reconciliation', {
    schema: { querystring: { type: 'object', required: ['date'], additionalProperties: false, properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } } },
  }, async (req: FastifyRequest<{ Querystring: { date: string } }>, reply) => {
    try {
      return await d.reconcile(req.query.date);
    } catch (e) {
      if (e instanceof RangeError) return sendError(reply, 400, 'REQUEST_INVALID', e.message, 'use YYYY-MM-DD');
      throw e;
    }
  });

  app.get('/api/v1/events', (req, reply) => { events.attach(req, reply); });

  app.get('/metrics', async (_req, reply) => reply.type(d.metrics.contentType).send(await d.metrics.metrics()));

  registerPages(app);
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    close: async () => { events.close(); await app.close(); },
  };
}
