import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { CardpostError } from '../../protocol/errors.js';

/**
 * The local API's bearer token: 32 random bytes, base64url, made at first start in a file only the
 * daemon's user can read (0600). The CLI reads the same file; a browser page is paired by typing it
 * once (POST /api/v1/pair sets an HttpOnly cookie of a narrower scope, access.ts).
 */
export function loadOrCreateToken(path: string): string {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600); // someone loosened it: tighten again rather than serve an open token
    const token = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(token)) return token;
    throw new CardpostError(
      'API_TOKEN_INVALID',
      `${path} does not hold a cardpost API token`,
      `delete ${path}; the daemon makes a new one at start`,
    );
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return token;
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (!presented) return false;
  // Hash both to equal lengths so timingSafeEqual never throws and length does not leak.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Only loopback host names: a page on another site that rebinds its DNS to 127.0.0.1 is refused. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}
