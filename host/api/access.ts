import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { cookieValue, tokenMatches } from './auth.js';

/**
 * Who may call what on the local API (docs/host-api.md §2, docs/security.md). Every route declares
 * the scopes it accepts; a route without a declaration cannot be registered, so nothing is reachable
 * by default. The decision is taken on the route the router matched, never on the request string, so
 * no spelling of a path (percent-encoding, dot segments, case, absolute form) can route around it.
 *
 * - `counter`: the merchant's work (sales, queue, settlement, readers, reconciliation, events).
 * - `display`: the customer display: the current sale, its PIN, a narrowed status and event stream.
 * - `admin`: what only the bearer token may do: raw APDUs to a card, the full export, metrics.
 */
export type Scope = 'counter' | 'display' | 'admin';

/** What a route accepts: `public` (no credential at all) or the scopes any of which admits a caller. */
export type Access = 'public' | readonly Scope[];

/** The bearer token (the 0600 file only the daemon's user reads) carries every scope. */
const TOKEN_SCOPES: ReadonlySet<Scope> = new Set(['counter', 'display', 'admin']);

/** A paired page's cookie: its own name per scope, so pairing the display never downgrades the counter page in the same browser. */
export const PAGE_SESSIONS = {
  counter: { cookie: 'cardpost_counter', lifeSeconds: 30 * 86400 },
  // Short: a display left paired on a kiosk holds only "show the sale, take its PIN", and not for long.
  display: { cookie: 'cardpost_display', lifeSeconds: 12 * 3600 },
} as const;
export type PageScope = keyof typeof PAGE_SESSIONS;

/**
 * A page session cookie: `<expiry>.<mac>`, the MAC an HMAC-SHA-256 under a key derived from the API
 * token over scope and expiry. Stateless (survives a daemon restart), bounded in time, and void for
 * every page at once when the token file is replaced.
 */
export function pageSessionValue(token: string, scope: PageScope, nowSeconds: number): string {
  const expiry = nowSeconds + PAGE_SESSIONS[scope].lifeSeconds;
  return `${expiry}.${sessionMac(token, scope, expiry)}`;
}

function sessionMac(token: string, scope: PageScope, expiry: number): string {
  const key = createHmac('sha256', 'cardpost-page-session').update(token).digest();
  return createHmac('sha256', key).update(`${scope}\0${expiry}`).digest('base64url');
}

function pageSessionValid(value: string | undefined, token: string, scope: PageScope, nowSeconds: number): boolean {
  if (!value) return false;
  const m = /^([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const expiry = Number(m[1]);
  if (expiry <= nowSeconds) return false;
  return tokenMatches(m[2], sessionMac(token, scope, expiry));
}

/** The scopes a request's credentials carry: the bearer header, then each page cookie. */
export function grantedScopes(headers: IncomingMessage['headers'], token: string, nowSeconds: number): Set<Scope> {
  const auth = headers.authorization;
  const bearer = typeof auth === 'string' && /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  if (tokenMatches(bearer, token)) return new Set(TOKEN_SCOPES);
  const granted = new Set<Scope>();
  for (const scope of Object.keys(PAGE_SESSIONS) as PageScope[]) {
    if (pageSessionValid(cookieValue(headers.cookie, PAGE_SESSIONS[scope].cookie), token, scope, nowSeconds))
      granted.add(scope);
  }
  return granted;
}

export function admits(access: Access, granted: ReadonlySet<Scope>): boolean {
  return access === 'public' || access.some((s) => granted.has(s));
}

/**
 * RFC 9112 §3.2: a server must accept the absolute form, but this API has no reason to, and a request
 * target that is not a plain path is how routers and checks come to disagree. Only `/…` (not `//…`,
 * which some URL parsers read as a host) is let through; `*` (OPTIONS) and authority form are refused.
 */
export function isOriginForm(target: string | undefined): boolean {
  return typeof target === 'string' && target.startsWith('/') && !target.startsWith('//');
}

/** Validity check of a route's declaration, at registration: a route with none is a programming error. */
export function declaredAccess(config: unknown, method: string, url: string): Access {
  const access = (config as { access?: unknown } | undefined)?.access;
  if (access === 'public') return access;
  if (
    Array.isArray(access) &&
    access.length > 0 &&
    access.every((s) => s === 'counter' || s === 'display' || s === 'admin')
  )
    return access as Scope[];
  throw new Error(`route ${method} ${url} declares no access (config.access): every route must say who may call it`);
}
