import { strict as assert } from 'node:assert';
import { Agent } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ApiServer } from '../../host/api/server.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { admitted, startProbedApi, type ApiRoute, type Credential } from '../support/api-routes.js';
import { httpRaw, pairCookie, type RawResponse } from '../support/raw-http.js';
import { Prng } from '../support/prng.js';
import { FUZZ_ROUNDS, fuzzSeed, hexSeed } from '../support/fuzz.js';

/**
 * The request-target fuzzer of issue #12: for every route of the local API, spellings of its path
 * (percent-encoding of every character in upper and lower hex, double encoding, dot segments,
 * repeated and trailing slashes, case, `;` parameters, absolute form, `//` prefix, query junk,
 * fragments, backslashes, encoded slashes), sent as literal request targets with GET, HEAD, OPTIONS
 * and POST and with credentials that do not admit the route (none, a wrong token, a forged cookie,
 * the display's cookie, the counter's). The API's `probe` reports each route handler entered; a
 * request whose credential the entered route does not admit is a finding, whatever the target.
 * The canonical spelling with an admitting credential must reach its handler, so the fuzzer cannot
 * pass by reaching nothing at all.
 *
 * Reproduce a failure with the seed it prints: FUZZ_SEED=0x… ; FUZZ_ROUNDS=n runs n times as many.
 */

const SEED = fuzzSeed(0x5ec12);
const MIN_TARGETS = 5000 * FUZZ_ROUNDS;
const GET_INFO_APDU = '80100000010100';
const SALE_ID = '3f2a6c1e-8b7d-4e0a-9c55-0d1e2f3a4b5c';

/**
 * Bodies that pass each POST route's schema, so that only the access decision stands between a
 * request and the handler (an invalid body would stop it at validation and hide a bypass).
 * Kept in step with the app by the first test: a POST route missing here fails it.
 */
const POST_BODIES: Readonly<Record<string, string | null>> = {
  '/api/v1/pair': JSON.stringify({ token: 'not-the-token' }),
  '/api/v1/sales': JSON.stringify({ amount: 100 }),
  '/api/v1/sales/:id/pin': JSON.stringify({ pin: '1234' }),
  '/api/v1/sales/:id/cancel': null,
  '/api/v1/readers/:name/apdu': JSON.stringify({ apdu: GET_INFO_APDU }),
  '/api/v1/settlement': null,
  // Valid for the schema, refused in the handler (TOPUP_INVALID: no method): the handler is reached, nothing loaded.
  '/api/v1/topups': JSON.stringify({ amount: 1 }),
  // A card the bank has never seen: the handler is reached, the bank answers 404, nothing is revoked.
  '/api/v1/cards/:cardId/lost': JSON.stringify({ reason: 'lost' }),
  // A reader that does not exist: the handler is reached and refuses (READER_UNKNOWN); no service holds the card.
  '/api/v1/pin-services': JSON.stringify({ kind: 'change', reader: 'no such reader' }),
  // No such service: the handler is reached and refuses (PIN_ENTRY_NOT_HERE / PIN_SERVICE_NOT_FOUND).
  '/api/v1/pin-services/:id/entry': JSON.stringify({ step: 'current', pin: '0000' }),
  '/api/v1/pin-services/:id/cancel': null,
  // No such sale: the handler is reached and refuses (SALE_NOT_FOUND); nothing is printed.
  '/api/v1/sales/:id/receipt/print': null,
  // A day long over: the handler is reached and closes it (an empty day; idempotent after).
  '/api/v1/closes': JSON.stringify({ date: '2024-01-01' }),
  // No such sale: the handler is reached and refuses (VOID_SALE_UNKNOWN / REFUND_SALE_UNKNOWN); nothing given back.
  '/api/v1/sales/:id/void': JSON.stringify({}),
  '/api/v1/refunds': JSON.stringify({ saleId: 'no-such-sale', amount: 1 }),
};
/** The card id the lost-card route is called with (16 hex digits, unknown to the bank). */
const UNKNOWN_CARD = '00000000000000aa';
/** The routes anyone may call (health, pairing, the pages and their assets): every other route needs a credential. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/api/v1/health',
  '/api/v1/pair',
  '/',
  '/counter',
  '/counter.html',
  '/customer',
  '/customer.html',
  '/ui/:file',
]);
/** Query strings a route's schema requires. */
const QUERIES: Readonly<Record<string, string>> = { '/api/v1/reconciliation': '?date=2024-01-01' };

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST'] as const;
const UNRESERVED_CASE = (c: string, rng: Prng) => (rng.bool() ? c.toUpperCase() : c.toLowerCase());
const pct = (c: string, upper: boolean) => {
  const hex = [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return upper ? hex.toUpperCase() : hex;
};

/** Spellings of one path: every character encoded alone (both cases), then each structural trick. */
function systematicSpellings(path: string, port: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    for (const upper of [true, false]) {
      const e = pct(c, upper);
      out.push(path.slice(0, i) + e + path.slice(i + 1));
      if (upper) out.push(path.slice(0, i) + '%25' + e.slice(1) + path.slice(i + 1)); // double encoding
    }
  }
  const segs = path.split('/').slice(1);
  const at = (k: number, insert: string) =>
    '/' + [...segs.slice(0, k), insert, ...segs.slice(k)].filter((s) => s !== null).join('/');
  for (let k = 0; k <= segs.length; k++) {
    out.push(
      at(k, '.'),
      at(k, '%2e'),
      at(k, '%2E'),
      at(k, 'x/..'),
      at(k, 'x/%2e%2e'),
      at(k, 'x/.%2e'),
      at(k, 'x/%2E.'),
      at(k, ''),
      at(k, '/'),
      at(k, '%2f'),
    );
    if (k < segs.length && segs[k]) {
      const seg = segs[k]!;
      const swap = (s: string) => '/' + [...segs.slice(0, k), s, ...segs.slice(k + 1)].join('/');
      out.push(
        swap(seg.toUpperCase()),
        swap(seg[0]!.toUpperCase() + seg.slice(1)),
        swap(seg + ';'),
        swap(seg + ';x=1'),
        swap(seg + ';jsessionid=a'),
        swap(seg + '%3b'),
        swap(seg + '%00'),
        swap(seg + '%20'),
        swap(seg + '.'),
        swap(seg + '~'),
        swap(seg + '%09'),
        swap(`${seg}/..%2f${seg}`),
        swap(`..;/${seg}`),
      );
    }
  }
  out.push(
    path + '/',
    path + '//',
    path + '/.',
    path + '/..',
    path + '%2f',
    path + '?',
    path + '??',
    path + '?a=b&a=c',
    path + '?%00',
    path + '#',
    path + '#frag',
    path + '?#x',
    path + '%3f',
    path + '%23',
    path + '/?',
    path + '&',
    path + ';',
    path.toUpperCase(),
    path.replaceAll('/', '\\'),
    path.replaceAll('/', '%2f'),
    path.replaceAll('/', '%2F'),
    path.replaceAll('/', '//'),
    path.replace('/', '/\\'),
    '/.' + path,
    '/..' + path,
    '/%2e%2e' + path,
    '/%2e' + path,
    `//${path}`,
    `//127.0.0.1:${port}${path}`,
    `http://127.0.0.1:${port}${path}`,
    `HTTP://127.0.0.1:${port}${path}`,
    `http://localhost${path}`,
    `https://127.0.0.1:${port}${path}`,
    `http://user:pw@127.0.0.1:${port}${path}`,
    `http:${path}`,
    `*${path}`,
    path.slice(1),
    '*',
  );
  return out;
}

/** A random spelling: one to four tricks applied on top of each other. */
function randomSpelling(path: string, port: number, rng: Prng): string {
  let p = path;
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const i = rng.int(Math.max(1, p.length));
    switch (rng.int(12)) {
      case 0: {
        // encode a random run of characters
        const n = 1 + rng.int(6);
        p = p.slice(0, i) + [...p.slice(i, i + n)].map((c) => pct(c, rng.bool())).join('') + p.slice(i + n);
        break;
      }
      case 1:
        p = p.replace(/%([0-9a-fA-F]{2})/, '%25$1');
        break; // double encoding of the first escape
      case 2:
        p =
          p.slice(0, i) +
          rng.pick(['/./', '/../', '/%2e%2e/', '/%2e/', '//', '/.%2e/', '%2f', '%2F', '\\', '/;/']) +
          p.slice(i);
        break;
      case 3:
        p = [...p].map((c) => (rng.bool(0.3) ? UNRESERVED_CASE(c, rng) : c)).join('');
        break;
      case 4:
        p = p.replace(/\/(?=[^/]*$)/, `/${rng.pick(['', ';a', ';', '%3b'])}`) + rng.pick([';x=1', ';', '']);
        break;
      case 5:
        p = rng.pick([`http://127.0.0.1:${port}`, `http://localhost:${port}`, '//127.0.0.1', '//', 'HtTp://[::1]']) + p;
        break;
      case 6:
        p += rng.pick([
          '?',
          '?x',
          '?date=2024-01-01&x=%00',
          '#',
          '#/../metrics',
          '?/../',
          '%3fx',
          '?' + 'a'.repeat(rng.int(300)),
        ]);
        break;
      case 7:
        p += rng.pick(['/', '//', '/.', '%20', '.', '%00']);
        break;
      case 8:
        p = p.slice(0, i) + pct(p[i] ?? '/', rng.bool()).replace('%', '%25') + p.slice(i + 1);
        break;
      case 9:
        p = p.replace(/\/[^/]+/, (s) => `/x${s}/..${s}`);
        break;
      case 10:
        p =
          p.slice(0, i) +
          rng.pick(['%c0%af', '%e0%80%af', '%ef%bc%8f', '%u002f', '%%', '%2', '%zz', 'ı', 'ſ']) +
          p.slice(i);
        break;
      default:
        p = p.replaceAll('/', rng.pick(['/', '//', '/./', '\\']));
        break;
    }
  }
  return p;
}

describe('security: request-target fuzzer over every route of the local API (issue #12)', function () {
  this.timeout(180_000);
  let f: DaemonFixture | undefined;
  let api: ApiServer | undefined;
  let port = 0;
  let routes: ApiRoute[] = [];
  let reached: string[] = [];
  const cookies: Partial<Record<Credential, string>> = {};

  before(async () => {
    // No card in the reader: a request that got through could start a sale, never charge a card.
    f = await DaemonFixture.start({ insert: false });
    ({ api, port, routes, reached } = await startProbedApi(f));
    // (a daemon without scoped pairing fails the first test, and the fuzzer runs with the other credentials)
    cookies.display = (await pairCookie(f.url, f.token, 'display').catch(() => undefined))?.cookie;
    cookies.counter = (await pairCookie(f.url, f.token, 'counter').catch(() => undefined))?.cookie;
    cookies.forgedCookie = `cardpost_counter=${Math.floor(Date.now() / 1000) + 3600}.${randomBytes(32).toString('base64url')}; cardpost_display=${Math.floor(Date.now() / 1000) + 3600}.${randomBytes(32).toString('base64url')}`;
  });
  after(async () => {
    await api?.close().catch(() => undefined);
    await f?.stop();
  });

  const headersFor = (c: Credential): Record<string, string> => {
    switch (c) {
      case 'none':
        return {};
      case 'wrongToken':
        return { Authorization: `Bearer ${randomBytes(32).toString('base64url')}` };
      case 'token':
        return { Authorization: `Bearer ${f!.token}` };
      default:
        return { Cookie: cookies[c]! };
    }
  };
  const available = (c: Credential): boolean => (c !== 'display' && c !== 'counter') || cookies[c] !== undefined;
  const accessOf = (entered: string): unknown => routes.find((r) => `${r.method} ${r.url}` === entered)?.access;
  const concrete = (url: string): string =>
    url
      .replace(':name', encodeURIComponent(f!.reader.name))
      .replace(':cardId', UNKNOWN_CARD)
      .replace(':id', SALE_ID)
      .replace(':date', '2024-01-01')
      .replace(':file', 'common.js') + (QUERIES[url] ?? '');
  const routeList = () => routes.filter((r) => r.method !== 'HEAD');

  /** One request, sequential, so that what the probe saw belongs to it alone. */
  async function send(
    agent: Agent,
    method: string,
    target: string,
    credential: Credential,
    body: string | null | undefined,
  ): Promise<{ res: RawResponse | undefined; entered: string[] }> {
    reached.length = 0;
    let res: RawResponse | undefined;
    try {
      res = await httpRaw(port, {
        method,
        target,
        agent,
        headers: headersFor(credential),
        ...(method === 'POST' && body ? { body } : {}),
      });
    } catch {
      res = undefined; // the connection was closed without an answer (Node's parser refused the request line)
    }
    return { res, entered: [...reached] };
  }

  it('knows every route of the app: a body for each POST route, a value for each parameter; pairs a display and a counter page', () => {
    assert.ok(cookies.display && cookies.counter, 'pairing with scope display and counter gave a cookie each');
    assert.ok(routeList().length >= 20, `only ${routeList().length} routes seen`);
    for (const r of routeList()) {
      if (r.method === 'POST')
        assert.ok(
          r.url in POST_BODIES,
          `POST ${r.url} is not in POST_BODIES of this fuzzer: add a body its schema accepts`,
        );
      assert.doesNotMatch(concrete(r.url), /\/:/, `${r.url} has a parameter the fuzzer does not fill`);
      if (PUBLIC_ROUTES.has(r.url)) assert.equal(r.access, 'public', `${r.method} ${r.url} is public`);
      else
        assert.ok(
          Array.isArray(r.access) && r.access.length > 0,
          `${r.method} ${r.url} declares the scopes it accepts (it declares ${JSON.stringify(r.access)})`,
        );
    }
  });

  it("the canonical spelling with an admitting credential reaches each route's handler (the fuzzer is not vacuous)", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const r of routes) {
        const creds = (['token', 'counter', 'display', 'none'] as const).filter(
          (c) => admitted(r.access, c) && available(c),
        );
        assert.ok(
          creds.length > 0,
          `${r.method} ${r.url}: no credential admits it (declared access ${JSON.stringify(r.access)})`,
        );
        for (const c of creds) {
          const t0 = Date.now();
          const { res, entered } = await send(agent, r.method, concrete(r.url), c, POST_BODIES[r.url]);
          if (process.env.FUZZ_VERBOSE) console.log(r.method, r.url, c, res?.status, Date.now() - t0);
          assert.deepEqual(
            entered,
            [`${r.method} ${r.url}`],
            `${r.method} ${concrete(r.url)} with ${c}: answered ${res?.status} ${res?.text.slice(0, 200)}`,
          );
        }
      }
    } finally {
      agent.destroy();
    }
  });

  it(`no spelling of any route reaches a handler without a credential it admits (≥ ${MIN_TARGETS} request targets, seed ${hexSeed(SEED)})`, async () => {
    const rng = new Prng(SEED);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const findings: string[] = [];
    const targets = new Set<string>();
    let requests = 0;
    let entered = 0;
    /** Answers by status ('closed': no answer), for the summary and the check that spellings reach the access decision. */
    const answers = new Map<string, number>();
    const refusing: Credential[] = ['none', 'wrongToken', 'forgedCookie', 'display', 'counter'];
    const started = Date.now();
    try {
      const list = routeList();
      const perRoute = Math.ceil((2 * MIN_TARGETS) / list.length); // twice the minimum: methods and duplicates thin it out
      for (const r of list) {
        const path = concrete(r.url);
        const spellings = systematicSpellings(path, port);
        while (spellings.length < perRoute) spellings.push(randomSpelling(path, port, rng));
        // credentials the intended route does not admit (a public route admits all: any of them)
        const creds = refusing.filter((c) => !admitted(r.access, c) && available(c));
        const pool = creds.length ? creds : refusing.filter(available);
        for (const target of spellings) {
          const method = rng.bool(0.6) ? r.method : rng.pick(METHODS);
          const credential = rng.pick(pool);
          targets.add(`${method} ${target}`);
          requests++;
          const { res, entered: e } = await send(
            agent,
            method,
            target,
            credential,
            POST_BODIES[r.url] ?? (method === 'POST' ? '{}' : null),
          );
          entered += e.length;
          const k = res ? String(res.status) : 'closed';
          answers.set(k, (answers.get(k) ?? 0) + 1);
          for (const h of e) {
            if (!admitted(accessOf(h), credential))
              findings.push(
                `${method} ${JSON.stringify(target)} with ${credential} entered ${h} (answered ${res?.status})`,
              );
          }
          // Independent of the probe: a protected route's spelling answered with success to a credential it does not admit.
          if (
            res &&
            res.status < 300 &&
            !PUBLIC_ROUTES.has(r.url) &&
            !admitted(r.access, credential) &&
            e.every((h) => accessOf(h) !== 'public')
          ) {
            findings.push(
              `${method} ${JSON.stringify(target)} with ${credential} answered ${res.status}: ${res.text.slice(0, 120)}`,
            );
          }
          if (res && res.status >= 500)
            findings.push(
              `${method} ${JSON.stringify(target)} with ${credential} answered ${res.status}: ${res.text.slice(0, 120)}`,
            );
          if (findings.length >= 25) break;
        }
        if (findings.length >= 25) break;
      }
    } finally {
      agent.destroy();
    }
    const byStatus = [...answers]
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    const summary = `seed ${hexSeed(SEED)} (reproduce: FUZZ_SEED=${hexSeed(SEED)}); ${requests} requests, ${targets.size} distinct targets, ${entered} handler entries (public routes), answers {${byStatus}}, ${Date.now() - started} ms`;
    assert.deepEqual(findings, [], `request-target fuzzer findings, ${summary}`);
    assert.ok(targets.size >= MIN_TARGETS, `only ${targets.size} distinct request targets; ${summary}`);
    // Many spellings are routed to a protected route and refused there (401/403), not merely unrouted (404):
    // the fuzzer exercises the access decision itself.
    const decided = (answers.get('401') ?? 0) + (answers.get('403') ?? 0);
    assert.ok(decided >= requests / 20, `only ${decided} of ${requests} requests met the access decision; ${summary}`);
    if (process.env.FUZZ_VERBOSE) console.log(summary);
  });
});
