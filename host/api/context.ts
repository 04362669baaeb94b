import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CardpostError } from '../../protocol/errors.js';
import { errorInfo, httpStatus } from '../errors/registry.js';
import type { Access, Scope } from './access.js';
import type { EventHub } from './events.js';
import type { CounterPort } from './port.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (access.ts); required on every route. */
    access?: Access;
  }
}

/** What every route plugin gets from startApi. */
export interface ApiContext {
  readonly port: CounterPort;
  /** The API token (pairing checks it). */
  readonly token: string;
  /** Seconds since the epoch, for page-session expiry. */
  readonly nowSeconds: () => number;
  readonly events: EventHub;
  /** The scopes the request was admitted with (set by the access check). */
  granted(req: FastifyRequest): ReadonlySet<Scope>;
}

/** One plugin per resource: registers its routes, each with its `config.access`. */
export type RoutePlugin = (app: FastifyInstance, opts: { ctx: ApiContext }) => Promise<void>;

export const PUBLIC = { access: 'public' } as const;
export const COUNTER = { access: ['counter'] } as const;
/** Routes the customer display uses too (handlers show it less). */
export const SALE_VIEW = { access: ['counter', 'display'] } as const;
export const ADMIN = { access: ['admin'] } as const;

/** The caller is the customer display only: it sees less. */
export const onlyDisplay = (ctx: ApiContext, req: FastifyRequest): boolean => !ctx.granted(req).has('counter');

/**
 * An error answer in the API's shape, `{ error: { code, message, hint, kind } }`, with the HTTP status
 * and the kind (decline, retry, unavailable…) the error registry (host/errors) gives the code: the pages
 * word a refusal by its kind.
 */
export function sendError(
  reply: FastifyReply,
  code: string,
  message: string,
  hint: string,
  extra: object = {},
): FastifyReply {
  return reply.code(httpStatus(code)).send({ error: { code, message, hint, kind: errorInfo(code).kind, ...extra } });
}

/** One of our errors as an answer: its status by its code, or by its class for the protocol's families (host/errors). */
export function sendCardpostError(reply: FastifyReply, err: CardpostError): FastifyReply {
  return reply
    .code(httpStatus(err))
    .send({ error: { code: err.code, message: err.message, hint: err.hint, kind: errorInfo(err).kind } });
}
