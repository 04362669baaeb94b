import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { FastifyInstance } from 'fastify';
import { startApi, type ApiOptions, type ApiServer } from '../../host/api/server.js';
import { createLogger } from '../../host/daemon/log.js';
import type { DaemonFixture } from './daemon-fixture.js';

/** A route as registered on the local API: its method, its URL pattern and the access it declares. */
export interface ApiRoute {
  method: string;
  url: string;
  access: unknown;
}

/**
 * A second local API on a fixture's daemon, started by the test so that it can pass the `probe`
 * (every route handler entered) and list every route the app registers: fastify publishes each new
 * instance on the `fastify.initialization` diagnostics channel, where an onRoute hook is added
 * before startApi registers its first route. `inject` may add to the instance there too (a plugin
 * registered then loads after all of startApi's own routes and hooks).
 */
export async function startProbedApi(
  f: DaemonFixture,
  o: { clock?: () => number; inject?: (app: FastifyInstance) => void } = {},
): Promise<{ api: ApiServer; port: number; routes: ApiRoute[]; reached: string[] }> {
  const routes: ApiRoute[] = [];
  const reached: string[] = [];
  let seen = false;
  const onInit = (message: unknown) => {
    if (seen) return;
    seen = true;
    const app = (message as { fastify: FastifyInstance }).fastify;
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat())
        routes.push({
          method: String(m),
          url: r.url ?? r.path,
          access: (r.config as { access?: unknown } | undefined)?.access,
        });
    });
    o.inject?.(app);
  };
  subscribe('fastify.initialization', onInit);
  let started: Promise<ApiServer>;
  try {
    const options: ApiOptions = {
      daemon: f.daemon,
      token: f.token,
      host: '127.0.0.1',
      port: 0,
      log: createLogger('silent'),
      probe: (method, route) => {
        reached.push(`${method} ${route}`);
      },
      ...(o.clock ? { clock: o.clock } : {}),
    };
    started = startApi(options); // fastify() runs synchronously inside: the subscriber has seen it by now
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  const api = await started;
  return { api, port: Number(new URL(api.url).port), routes, reached };
}

/** What a credential carries, in the access model of docs/host-api.md §2. */
export type Credential = 'none' | 'wrongToken' | 'forgedCookie' | 'display' | 'counter' | 'token';

export const CREDENTIAL_SCOPES: Record<Credential, readonly string[]> = {
  none: [],
  wrongToken: [],
  forgedCookie: [],
  display: ['display'],
  counter: ['counter'],
  token: ['counter', 'display', 'admin'],
};

/** Whether a route's declared access lets a credential in. */
export function admitted(access: unknown, credential: Credential): boolean {
  if (access === 'public') return true;
  return Array.isArray(access) && access.some((s) => CREDENTIAL_SCOPES[credential].includes(String(s)));
}
