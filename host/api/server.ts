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
import { isLoopbackHost, tokenMatches } from './auth.js';
import { PAGE_SESSIONS, admits, declaredAccess, grantedScopes, isOriginForm, pageSessionValue, type Access, type PageScope, type Scope } from './access.js';
import { EventHub } from './events.js';
import { displayStatusBody, statusBody } from './status.js';
import { FINAL_STATES } from '../sale/sale-types.js';
import { registerPages } from './pages.js';

export interface ApiServer { url: string; close(): Promise<void> }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (access.ts); required on every route. */
    access?: Access;
  }
}

const STATUSES: readonly RecordStatus[] = ['pending', 'sending', 'settled', 'duplicate', 'rejected', 'held'];

const NOT_FOUND_CODES = new Set(['SALE_NOT_FOUND', 'RECORD_NOT_FOUND', 'READER_UNKNOWN']);
const CONFLICT_CODES = new Set(['SALE_IN_PROGRESS', 'READER_BUSY', 'SALE_NOT_ASKING_PIN', 'SALE_CANNOT_CANCEL', 'SALE_KEY_REUSED', 'PIN_ON_DEVICE']);

/** A sale the customer display may still look at after it ended (the "paid" screen after a reconnect). */
const DISPLAY_RECENT_MS = 120_000;

/** HTTP status for one of our errors: refusals are 4xx, the machine failing is 5xx. */
function statusFor(e: CardpostError): number {
  if (NOT_FOUND_CODES.has(e.code)) return 404;
  if (CONFLICT_CODES.has(e.code)) return 409;
  if (e.code === 'RAW_APDU_REFUSED') return 403;
  if (e.code === 'CLOCK_WRONG') return 503; // the counter cannot take sales until its clock is set
  if (e instanceof SaleRefusedError) return 422;
  if (e instanceof TransportError) return e.transportCode === 'NO_CARD' || e.transportCode === 'CARD_REMOVED' ? 409 : 503;
  if (e instanceof CardSessionError) return 422;
  if (e instanceof StoreError) return e.code === 'STORE_UNAVAILABLE' ? 503 : 500;
  if (e instanceof BankError) return e.outcome === 'unknown' ? 503 : 502; // the bank failed us, not the caller
  if (e.code.startsWith('CARD_')) return 422;
  return 400;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, hint: string): FastifyReply {
  return reply.code(status).send({ error: { code, message, hint } });
}

export interface ApiOptions {
  daemon: Daemon;
  token: string;
  host: string;
  port: number;
  log: Logger;
  /** Seconds since the epoch, for page-session expiry (tests move it). */
  clock?: () => number;
  /** Test hook: called as a route's handler is entered (the request-target fuzzer proves what never gets here). */
  probe?: (method: string, route: string) => void;
}

/**
 * The daemon's local HTTP API (docs/host-api.md, docs/host-api.openapi.yaml) on 127.0.0.1. Deny by
 * default (access.ts): every route declares the scopes it accepts, and the decision is taken on the
 * route the router matched. Requests naming a non-loopback Host are refused (DNS rebinding), and so
 * is any request target that is not a plain path.
 */
export async function startApi(o: ApiOptions): Promise<ApiServer> {
  const { daemon: d, token } = o;
  const nowSeconds = o.clock ?? (() => Math.floor(Date.now() / 1000));
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
  /** The scopes each admitted request carries, for handlers that show less to the display. */
  const grants = new WeakMap<FastifyRequest, ReadonlySet<Scope>>();
  const granted = (req: FastifyRequest): ReadonlySet<Scope> => grants.get(req) ?? new Set();

  // Every route must say who may call it; registration fails otherwise (deny by default).
  app.addHook('onRoute', (route) => {
    declaredAccess(route.config, String(route.method), route.url ?? route.path);
    const probe = o.probe;
    if (!probe) return;
    const handler = route.handler;
    route.handler = function probed(this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
      probe(String(route.method), route.url ?? route.path);
      return handler.call(this, req, reply);
    };
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!isOriginForm(req.raw.url)) return sendError(reply, 400, 'REQUEST_TARGET_INVALID', 'the request target must be a plain path', 'send the path alone (e.g. GET /api/v1/status) with the Host header; see docs/host-api.md');
    if (!isLoopbackHost(req.headers.host)) return sendError(reply, 403, 'HOST_NOT_LOOPBACK', 'this API answers only to loopback host names', 'open it as http://127.0.0.1:PORT/');
    // No route matched: the not-found handler answers and touches nothing.
    if (req.routeOptions.url === undefined) return undefined;
    const access = declaredAccess(req.routeOptions.config, req.method, req.routeOptions.url);
    const scopes = grantedScopes(req.headers, token, nowSeconds());
    grants.set(req, scopes);
    if (admits(access, scopes)) return undefined;
    if (scopes.size > 0) {
      return sendError(reply, 403, 'API_SCOPE_REFUSED', `this page's pairing (${[...scopes].join(', ')}) does not allow ${req.method} ${req.routeOptions.url}`,
        'use the counter page or the cardpost command on the counter PC; the customer display can only show the sale and take its PIN');
    }
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

  const PUBLIC = { access: 'public' } as const;
  const COUNTER = { access: ['counter'] } as const;
  /** Routes the customer display uses too (handlers show it less). */
  const SALE_VIEW = { access: ['counter', 'display'] } as const;
  const ADMIN = { access: ['admin'] } as const;
  const onlyDisplay = (req: FastifyRequest) => !granted(req).has('counter');

  app.get('/api/v1/health', { config: PUBLIC }, async () => ({ status: 'ok' }));

  app.post('/api/v1/pair', {
    config: PUBLIC,
    schema: { body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: { type: 'string', maxLength: 200 }, scope: { type: 'string', enum: ['counter', 'display'] } } } },
  }, async (req: FastifyRequest<{ Body: { token: string; scope?: PageScope } }>, reply) => {
    if (!tokenMatches(req.body.token.trim(), token)) return sendError(reply, 401, 'PAIRING_REFUSED', 'that is not this daemon\'s token', `copy it from ${d.config.dataDir}/api-token`);
    // Each page its own cookie and scope (access.ts); a new token (delete the api-token file) unpairs every page.
    const scope = req.body.scope ?? 'counter';
    const session = PAGE_SESSIONS[scope];
    reply.header('Set-Cookie', `${session.cookie}=${pageSessionValue(token, scope, nowSeconds())}; HttpOnly; SameSite=Strict; Path=/api/; Max-Age=${session.lifeSeconds}`);
    return { paired: true, scope, expiresIn: session.lifeSeconds };
  });

  app.get('/api/v1/status', { config: SALE_VIEW }, async (req) => (onlyDisplay(req) ? displayStatusBody(d) : statusBody(d)));
  app.get('/api/v1/readers', { config: COUNTER }, async () => ({ readers: d.hub.list() }));

  app.get('/api/v1/readers/:name/card', { config: COUNTER }, async (req: FastifyRequest<{ Params: { name: string } }>) => d.engine.inspect(req.params.name));

  app.post('/api/v1/readers/:name/apdu', {
    config: ADMIN,
    schema: { body: { type: 'object', required: ['apdu'], additionalProperties: false, properties: { apdu: { type: 'string', pattern: '^([0-9a-fA-F]{2}){4,65544}$' }, raw: { type: 'boolean' } } } },
  }, async (req: FastifyRequest<{ Params: { name: string }; Body: { apdu: string; raw?: boolean } }>) => {
    const res = await d.engine.transmitRaw(req.params.name, fromHex(req.body.apdu), req.body.raw === true);
    return { response: toHex(res), sw: toHex(res.subarray(-2)).toUpperCase() };
  });

  app.post('/api/v1/sales', {
    config: COUNTER,
    schema: {
      body: {
        type: 'object', required: ['amount'], additionalProperties: false,
        properties: { amount: { type: 'integer', minimum: 1 }, currency: { type: 'integer', minimum: 1, maximum: 999 }, reader: { type: 'string', maxLength: 200 } },
      },
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
    },
  }, async (req: FastifyRequest<{ Body: { amount: number; currency?: number; reader?: string } }>, reply) => {
    const key = req.headers['idempotency-key'];
    // The sale belongs to the client that started it: it ends if no counter client follows it (sale-engine.ts).
    const sale = d.engine.start({ ...req.body, ...(typeof key === 'string' ? { requestKey: key } : {}), followed: true });
    return reply.code(201).header('Location', `/api/v1/sales/${sale.saleId}`).send(sale);
  });
  app.get('/api/v1/sales', { config: COUNTER }, async () => ({ active: d.engine.active(), recent: d.store.recentSales(50).map((r) => d.engine.get(r.saleId)) }));
  app.get('/api/v1/sales/:id', { config: SALE_VIEW }, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const s = d.engine.get(req.params.id);
    // The display sees the sale at the counter now (or just ended), never the history.
    const visible = s !== undefined && (!onlyDisplay(req) || !FINAL_STATES.has(s.state) || Date.now() - s.updatedAt < DISPLAY_RECENT_MS);
    if (!visible) return sendError(reply, 404, 'SALE_NOT_FOUND', `no sale ${req.params.id}`, 'list sales with GET /api/v1/sales');
    if (!onlyDisplay(req)) d.engine.follow(s.saleId); // a counter client following its sale keeps it alive
    return s;
  });
  app.post('/api/v1/sales/:id/pin', {
    config: SALE_VIEW,
    schema: { body: { type: 'object', required: ['pin'], additionalProperties: false, properties: { pin: { type: 'string', maxLength: 32 } } } },
  }, async (req: FastifyRequest<{ Params: { id: string }; Body: { pin: string } }>, reply) => {
    d.engine.submitPin(req.params.id, req.body.pin);
    return reply.code(202).send({ accepted: true });
  });
  app.post('/api/v1/sales/:id/cancel', { config: COUNTER }, async (req: FastifyRequest<{ Params: { id: string } }>) => d.engine.cancel(req.params.id));

  app.get('/api/v1/queue', {
    config: COUNTER,
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
  app.get('/api/v1/queue/export', { config: ADMIN }, async (_req, reply) => {
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

  app.get('/api/v1/settlement', { config: COUNTER }, async () => ({ ...d.worker.status(), counts: d.store.statusCounts(), unsettled: d.store.unsettled() }));
  app.post('/api/v1/settlement', { config: COUNTER }, async (_req, reply) => {
    d.settleNow();
    return reply.code(202).send({ ...d.worker.status(), counts: d.store.statusCounts(), unsettled: d.store.unsettled() });
  });

  app.get('/api/v1/reconciliation', {
    config: COUNTER,
    schema: { querystring: { type: 'object', required: ['date'], additionalProperties: false, properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } } },
  }, async (req: FastifyRequest<{ Querystring: { date: string } }>, reply) => {
    try {
      return await d.reconcile(req.query.date);
    } catch (e) {
      if (e instanceof RangeError) return sendError(reply, 400, 'REQUEST_INVALID', e.message, 'use YYYY-MM-DD');
      throw e;
    }
  });

  app.get('/api/v1/events', { config: SALE_VIEW }, (req, reply) => { events.attach(req, reply, onlyDisplay(req) ? 'display' : 'counter'); });

  app.get('/metrics', { config: ADMIN }, async (_req, reply) => reply.type(d.metrics.contentType).send(await d.metrics.metrics()));

  registerPages(app);
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    close: async () => { events.close(); await app.close(); },
  };
}
