import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CardpostError } from '../../protocol/errors.js';
import type { Logger } from '../daemon/log.js';
import { isLoopbackHost } from './auth.js';
import { admits, declaredAccess, grantedScopes, isOriginForm, type Scope } from './access.js';
import { sendCardpostError, sendError, type ApiContext, type RoutePlugin } from './context.js';
import { EventHub } from './events.js';
import { registerPages } from './pages.js';
import type { CounterPort } from './port.js';
import { cardRoutes } from './routes/cards.js';
import { eventRoutes } from './routes/events.js';
import { metricsRoutes } from './routes/metrics.js';
import { pairingRoutes } from './routes/pairing.js';
import { queueRoutes } from './routes/queue.js';
import { readerRoutes } from './routes/readers.js';
import { reconciliationRoutes } from './routes/reconciliation.js';
import { closeRoutes } from './routes/closes.js';
import { saleRoutes } from './routes/sales.js';
import { settlementRoutes } from './routes/settlement.js';
import { statusRoutes } from './routes/status.js';
import { statementRoutes } from './routes/statement.js';
import { topupRoutes } from './routes/topups.js';
import { moneyBackRoutes } from './routes/money-back.js';
import { pinServiceRoutes } from './routes/pin-services.js';

export type { CounterPort } from './port.js';

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

export interface ApiOptions {
  /** The counter the API serves (the daemon implements it). */
  daemon: CounterPort;
  token: string;
  host: string;
  port: number;
  log: Logger;
  /** Seconds since the epoch, for page-session expiry (tests move it). */
  clock?: () => number;
  /** Test hook: called as a route's handler is entered (the request-target fuzzer proves what never gets here). */
  probe?: (method: string, route: string) => void;
}

/** The resources of the API, one fastify plugin each (host/api/routes/), registered after the access hooks. */
const RESOURCES: readonly RoutePlugin[] = [
  pairingRoutes,
  statusRoutes,
  readerRoutes,
  statementRoutes,
  cardRoutes,
  saleRoutes,
  topupRoutes,
  moneyBackRoutes,
  pinServiceRoutes,
  queueRoutes,
  settlementRoutes,
  reconciliationRoutes,
  closeRoutes,
  eventRoutes,
  metricsRoutes,
];

/**
 * The daemon's local HTTP API (docs/host-api.md, docs/host-api.openapi.yaml) on 127.0.0.1. Deny by
 * default (access.ts): every route declares the scopes it accepts, and the decision is taken on the
 * route the router matched. Requests naming a non-loopback Host are refused (DNS rebinding), and so
 * is any request target that is not a plain path. Error statuses come from the error registry (host/errors).
 */
export async function startApi(o: ApiOptions): Promise<ApiServer> {
  const { daemon: port, token } = o;
  const nowSeconds = o.clock ?? (() => Math.floor(Date.now() / 1000));
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    // Validation refuses what it does not expect, as the card protocol and the config do: no silently
    // dropped unknown fields, no "1250" taken for 1250 (query strings are parsed by the handlers).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    // Errors of fastify's own router (bad percent-encoding, over-long parameters) in our error shape too.
    frameworkErrors: (err, _req, reply) => {
      void sendError(
        reply as unknown as FastifyReply,
        'REQUEST_INVALID',
        `the request could not be routed: ${err.message}`,
        'check the URL; see docs/host-api.md',
      );
    },
  });
  const events = new EventHub(port);
  /** The scopes each admitted request carries, for handlers that show less to the display. */
  const grants = new WeakMap<FastifyRequest, ReadonlySet<Scope>>();
  const ctx: ApiContext = { port, token, nowSeconds, events, granted: (req) => grants.get(req) ?? new Set() };

  // Every route must say who may call it; registration fails otherwise (deny by default). A hook of the
  // root instance: every plugin registered below inherits it, so no route escapes it by encapsulation.
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
    if (!isOriginForm(req.raw.url))
      return sendError(
        reply,
        'REQUEST_TARGET_INVALID',
        'the request target must be a plain path',
        'send the path alone (e.g. GET /api/v1/status) with the Host header; see docs/host-api.md',
      );
    if (!isLoopbackHost(req.headers.host))
      return sendError(
        reply,
        'HOST_NOT_LOOPBACK',
        'this API answers only to loopback host names',
        'open it as http://127.0.0.1:PORT/',
      );
    // No route matched: the not-found handler answers and touches nothing.
    if (req.routeOptions.url === undefined) return undefined;
    const access = declaredAccess(req.routeOptions.config, req.method, req.routeOptions.url);
    const scopes = grantedScopes(req.headers, token, nowSeconds());
    grants.set(req, scopes);
    if (admits(access, scopes)) return undefined;
    if (scopes.size > 0) {
      return sendError(
        reply,
        'API_SCOPE_REFUSED',
        `this page's pairing (${[...scopes].join(', ')}) does not allow ${req.method} ${req.routeOptions.url}`,
        'use the counter page or the cardpost command on the counter PC; the customer display can only show the sale and take its PIN',
      );
    }
    reply.header('WWW-Authenticate', 'Bearer realm="cardpost"');
    const tokenFile = port.apiTokenFile();
    return sendError(
      reply,
      'API_UNAUTHORISED',
      "this request needs the daemon's API token",
      `send "Authorization: Bearer <token>" with the token from ${tokenFile}, or pair the page`,
      { tokenFile },
    );
  });

  app.setErrorHandler((err: FastifyError | CardpostError | Error, _req, reply) => {
    if (err instanceof CardpostError) return sendCardpostError(reply, err);
    const fe = err as FastifyError;
    if (fe.validation)
      return sendError(
        reply,
        'REQUEST_INVALID',
        `request not valid: ${fe.message}`,
        'see docs/host-api.md for the fields of this request',
      );
    // fastify's own refusals (FST_ERR_*: not JSON, too large, wrong media type) keep fastify's status.
    if (typeof fe.statusCode === 'number' && fe.statusCode < 500)
      return reply.code(fe.statusCode).send({
        error: {
          code: fe.code ?? 'REQUEST_INVALID',
          message: fe.message,
          hint: 'see docs/host-api.md',
          kind: 'bad-input',
        },
      });
    o.log.error({ err: err.message }, 'API handler failed');
    return sendError(reply, 'INTERNAL', 'the daemon failed to answer', 'report this with the daemon log');
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 'see docs/host-api.md'),
  );

  for (const plugin of RESOURCES) void app.register(plugin, { ctx });
  registerPages(app);
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const listening = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${listening}`,
    close: async () => {
      events.close();
      await app.close();
    },
  };
}
