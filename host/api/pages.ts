import { readFileSync, readdirSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the counter page and customer display live: plain files, served as they are (no build step). */
const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Only our own files, ever: no inline script or style, no CDN, no frames. The pages show a PIN
 * field, so nothing else may run in them, and no other site may frame them (clickjacking).
 */
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Page paths people type, and the file each one shows. */
const PAGES: Readonly<Record<string, string>> = {
  '/': 'counter.html',
  '/counter': 'counter.html',
  '/counter.html': 'counter.html',
  '/customer': 'customer.html',
  '/customer.html': 'customer.html',
};

interface Asset {
  body: Buffer;
  type: string;
}

/**
 * Serves the counter page (`/`) and the customer display (`/customer`) with their assets under
 * `/ui/`. The files are read once at start: a fixed set, so no request path ever reaches the file
 * system. The pages are public (they hold no data); every /api call they make needs the paired cookie.
 */
export function registerPages(app: FastifyInstance): void {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(UI_DIR)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(UI_DIR + name), type });
  }

  const send = (reply: FastifyReply, asset: Asset): FastifyReply =>
    reply
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      // HTML always fresh (a new daemon may change the API it talks to); assets revalidated.
      .header('Cache-Control', asset.type.startsWith('text/html') ? 'no-store' : 'no-cache')
      .type(asset.type)
      .send(asset.body);

  for (const [path, file] of Object.entries(PAGES)) {
    const asset = assets.get(file);
    if (asset) app.get(path, { config: { access: 'public' } }, async (_req, reply) => send(reply, asset));
  }
  app.get('/ui/:file', { config: { access: 'public' } }, async (req, reply) => {
    const asset = assets.get((req.params as { file: string }).file);
    if (!asset)
      return reply
        .code(404)
        .type('application/json')
        .send({
          error: {
            code: 'NOT_FOUND',
            message: 'no such page asset',
            hint: 'open / (counter) or /customer (customer display)',
            kind: 'not-found',
          },
        });
    return send(reply, asset);
  });
}
