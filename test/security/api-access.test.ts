import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { ApiServer } from '../../host/api/server.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { startProbedApi, type ApiRoute } from '../support/api-routes.js';
import { httpRaw, pairCookie, readSse, socketJson, socketRequest } from '../support/raw-http.js';
import { saleWhere } from '../support/sale-wait.js';
import { until } from '../support/settlement-helpers.js';

type ErrorBody = { error: { code: string; message: string; hint: string } };
const code = (text: string): string | undefined => {
  try {
    return (JSON.parse(text) as ErrorBody).error?.code;
  } catch {
    return undefined;
  }
};

/** GET_INFO as the card's CBOR command APDU (docs/protocol.md §4): CLA 80, INS 10, data = 01. */
const GET_INFO_APDU = '80100000010100';

/**
 * Issue #12 hole 1 (critical): the token check decided on the raw request target, the router on
 * the decoded one, so `/%61pi/…` and absolute-form targets reached handlers without a token.
 * Now the decision is taken on the route the router matched, every route declares its scopes, and
 * a request target that is not origin-form is refused (docs/host-api.md §2, docs/security.md).
 */
describe("security: the local API decides on the matched route and each route's declared scopes (issue #12 hole 1)", function () {
  this.timeout(60_000);
  let f: DaemonFixture | undefined;
  let api: ApiServer | undefined;
  let port = 0;
  let routes: ApiRoute[] = [];
  let reached: string[] = [];
  /** APDUs the card received since the last `quiet()`. */
  let cardApdus = 0;
  /** The one sale a test started itself (with the token), if any. */
  let allowedSale: string | undefined;

  const bearer = () => ({ Authorization: `Bearer ${f!.token}` });
  const readerPath = () => `/api/v1/readers/${encodeURIComponent(f!.reader.name)}`;

  /** Wait until the card's insertion session is over, then count what reaches the card from now on. */
  async function quiet(): Promise<void> {
    await until(() => f!.daemon.hub.list().every((r) => !r.busy), 'the card session at insertion to end', 10_000);
    cardApdus = 0;
    reached.length = 0;
  }

  async function start(o: { clock?: () => number } = {}): Promise<void> {
    f = await DaemonFixture.start();
    const probed = await startProbedApi(f, o);
    ({ api, port, routes, reached } = probed);
    const transmit = f.applet.transmit.bind(f.applet);
    f.applet.transmit = (apdu: Uint8Array) => {
      cardApdus++;
      return transmit(apdu);
    };
    await quiet();
  }

  afterEach(async () => {
    await api?.close().catch(() => undefined);
    api = undefined;
    allowedSale = undefined;
    await f?.stop();
    f = undefined;
  });

  /** Nothing was started, nothing reached a handler, the card heard nothing. */
  function assertUntouched(what: string): void {
    assert.deepEqual(reached, [], `${what}: a route handler was entered`);
    assert.deepEqual(
      f!.daemon.engine.active().filter((s) => s.saleId !== allowedSale),
      [],
      `${what}: a sale was started`,
    );
    assert.equal(cardApdus, 0, `${what}: the card received APDUs`);
  }

  describe('the reproductions of the issue, without a token', () => {
    beforeEach(async () => {
      await start();
    });

    it('POST /%61pi/v1/sales is refused 401, reaches no handler and starts no sale', async () => {
      for (const target of [
        '/%61pi/v1/sales',
        '/%61%70%69/v1/sales',
        '/api/v1/%73ales',
        '/api/v1/sale%73',
        '/%2561pi/v1/sales',
      ]) {
        const r = await httpRaw(port, { method: 'POST', target, body: JSON.stringify({ amount: 250 }) });
        assert.ok(r.status === 401 || r.status === 404 || r.status === 400, `${target}: ${r.status} ${r.text}`);
        if (r.status === 401) assert.equal(code(r.text), 'API_UNAUTHORISED');
      }
      // the spelling of the issue is routed to the sales route, and refused there
      const r = await httpRaw(port, {
        method: 'POST',
        target: '/%61pi/v1/sales',
        body: JSON.stringify({ amount: 250 }),
      });
      assert.equal(r.status, 401, r.text);
      await new Promise((res) => setTimeout(res, 200)); // a sale that got through would be on the card by now
      assertUntouched('POST /%61pi/v1/sales');
    });

    it('an absolute-form target (GET http://127.0.0.1:PORT/api/v1/status) is refused 400 REQUEST_TARGET_INVALID, with or without a token', async () => {
      const targets = [
        `http://127.0.0.1:${port}/api/v1/status`,
        `HTTP://127.0.0.1:${port}/api/v1/status`,
        `http://localhost:${port}/%61pi/v1/status`,
        `//127.0.0.1:${port}/api/v1/status`,
        '//api/v1/status',
        '*',
        `127.0.0.1:${port}`,
      ];
      for (const target of targets) {
        for (const auth of ['', `\r\nAuthorization: Bearer ${f!.token}`]) {
          const method = target === '*' ? 'OPTIONS' : target.startsWith('127.') ? 'CONNECT' : 'GET';
          const r = await socketRequest(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}${auth}`);
          // CONNECT (authority form) is not even handed to the app: Node closes the connection unanswered
          if (method === 'CONNECT') {
            assert.ok(r.status === 0 || r.status === 400, `CONNECT ${target}: ${r.status}`);
            continue;
          }
          assert.equal(r.status, 400, `${method} ${target}${auth ? ' (token)' : ''}: ${r.text}`);
          assert.equal(socketJson<ErrorBody>(r.text).error.code, 'REQUEST_TARGET_INVALID', `${target}: ${r.text}`);
        }
      }
      const sale = await socketRequest(
        port,
        `POST http://127.0.0.1:${port}/api/v1/sales HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
        JSON.stringify({ amount: 250 }),
      );
      assert.equal(sale.status, 400, sale.text);
      await new Promise((res) => setTimeout(res, 200));
      assertUntouched('absolute-form targets');
      // the same request in origin form, with the token, is answered (the refusal above is the target's, not the route's)
      const ok = await socketRequest(
        port,
        `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${f!.token}`,
      );
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(reached, ['GET /api/v1/status']);
    });

    it("a raw APDU to the customer's card without a token is refused and the card hears nothing", async () => {
      const path = readerPath();
      const targets = [
        path + '/apdu',
        path.replace('/api/', '/%61pi/') + '/apdu',
        path + '/%61pdu',
        path.replace('/readers/', '/%72eaders/') + '/apdu',
      ];
      for (const target of targets) {
        const r = await httpRaw(port, { method: 'POST', target, body: JSON.stringify({ apdu: GET_INFO_APDU }) });
        assert.ok(r.status === 401 || r.status === 404, `${target}: ${r.status} ${r.text}`);
      }
      const abs = await socketRequest(
        port,
        `POST http://127.0.0.1:${port}${path}/apdu HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
        JSON.stringify({ apdu: GET_INFO_APDU }),
      );
      assert.equal(abs.status, 400, abs.text);
      assertUntouched('raw APDU');
    });

    it('the export and /metrics without a token are refused and reach no handler', async () => {
      const targets = [
        '/api/v1/queue/export',
        '/%61pi/v1/queue/export',
        '/api/v1/queue/%65xport',
        '/api/v1/%71ueue/export',
        '/metrics',
        '/%6detrics',
        '/metric%73',
        '/metrics?x=1',
      ];
      for (const target of targets) {
        const r = await httpRaw(port, { target });
        assert.ok(r.status === 401 || r.status === 404, `${target}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.ok(
          !r.text.includes('"records"') && !r.text.includes('# HELP'),
          `${target}: the answer carries the export or metrics`,
        );
      }
      for (const target of ['/metrics', '/api/v1/queue/export']) {
        const r = await socketRequest(
          port,
          `GET http://127.0.0.1:${port}${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
        );
        assert.equal(r.status, 400, r.text);
      }
      assertUntouched('export and metrics');
    });

    it('with the token the same routes are reached (the refusals above are not an artefact of the test)', async () => {
      assert.equal((await httpRaw(port, { target: '/api/v1/queue/export', headers: bearer() })).status, 200);
      assert.equal((await httpRaw(port, { target: '/metrics', headers: bearer() })).status, 200);
      const apdu = await httpRaw(port, {
        method: 'POST',
        target: readerPath() + '/apdu',
        headers: bearer(),
        body: JSON.stringify({ apdu: GET_INFO_APDU }),
      });
      assert.equal(apdu.status, 200, apdu.text);
      assert.ok(cardApdus > 0);
      assert.deepEqual(reached, ['GET /api/v1/queue/export', 'GET /metrics', 'POST /api/v1/readers/:name/apdu']);
    });
  });

  describe('scopes: the customer display, the counter page, the token', () => {
    it("every route declares its access; an undeclared route fails the API's start", async () => {
      await start();
      assert.ok(routes.length >= 20, `only ${routes.length} routes seen`);
      for (const r of routes) {
        const ok =
          r.access === 'public' ||
          (Array.isArray(r.access) &&
            r.access.length > 0 &&
            r.access.every((s) => ['counter', 'display', 'admin'].includes(String(s))));
        assert.ok(ok, `${r.method} ${r.url} declares no valid access: ${JSON.stringify(r.access)}`);
      }
      const publicRoutes = routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
      for (const r of publicRoutes)
        assert.ok(
          / (\/api\/v1\/(health|pair)|\/|\/counter(\.html)?|\/customer(\.html)?|\/ui\/:file)$/.test(r),
          `${r} is public`,
        );
      let undeclared: ApiServer | undefined;
      const tried = startProbedApi(f!, {
        inject: (app) => {
          void app.register(async (child) => {
            child.get('/api/v1/undeclared', async () => ({ open: true }));
          });
        },
      });
      await assert.rejects(
        tried.then((x) => {
          undeclared = x.api;
        }),
        /declares no access/,
      );
      await undeclared?.close();
    });

    it('a display cookie cannot start or cancel a sale, nor read the queue, readers, export, metrics or send a raw APDU (403 API_SCOPE_REFUSED)', async () => {
      await start();
      const { cookie, setCookie, body } = await pairCookie(f!.url, f!.token, 'display');
      assert.match(cookie, /^cardpost_display=/);
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Strict/);
      assert.match(setCookie, /Path=\/api\//);
      assert.match(setCookie, /Max-Age=43200\b/, 'a display pairing lives 12 hours');
      assert.deepEqual(body, { paired: true, scope: 'display', expiresIn: 43_200 });
      const live = (await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 25_000 })).body; // PIN sale: stays at the card for the PIN
      allowedSale = live.saleId;
      await saleWhere(f!.daemon.engine, live.saleId, (s) => s.state === 'pin'); // the card waits for the PIN: nothing goes to it now
      cardApdus = 0;
      reached.length = 0;
      const h = { Cookie: cookie };
      const refused: [string, string, unknown?][] = [
        ['POST', '/api/v1/sales', { amount: 100 }],
        ['POST', `/api/v1/sales/${live.saleId}/cancel`],
        ['GET', '/api/v1/sales'],
        ['GET', '/api/v1/queue'],
        ['GET', '/api/v1/queue/export'],
        ['GET', '/api/v1/readers'],
        ['GET', `${readerPath()}/card`],
        ['POST', `${readerPath()}/apdu`, { apdu: GET_INFO_APDU }],
        ['GET', '/metrics'],
        ['GET', '/api/v1/settlement'],
        ['POST', '/api/v1/settlement'],
        ['GET', '/api/v1/reconciliation?date=2024-01-01'],
      ];
      for (const [method, target, b] of refused) {
        const r = await httpRaw(port, {
          method,
          target,
          headers: h,
          ...(b !== undefined ? { body: JSON.stringify(b) } : {}),
        });
        assert.equal(r.status, 403, `${method} ${target}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.equal(code(r.text), 'API_SCOPE_REFUSED', `${method} ${target}`);
      }
      assertUntouched('display cookie on counter and admin routes');
      // every route of the app that does not name the display refuses it, the list above or not
      for (const r of routes.filter(
        (x) => x.access !== 'public' && Array.isArray(x.access) && !x.access.includes('display') && x.method !== 'HEAD',
      )) {
        const target =
          r.url.replace(':name', encodeURIComponent(f!.reader.name)).replace(':id', live.saleId) +
          (r.url.endsWith('reconciliation') ? '?date=2024-01-01' : '');
        const res = await httpRaw(port, {
          method: r.method,
          target,
          headers: h,
          ...(r.method === 'POST' ? { body: '{}' } : {}),
        });
        assert.equal(res.status, 403, `${r.method} ${target} with the display cookie: ${res.status}`);
      }
      assert.equal(f!.daemon.engine.get(live.saleId)?.state, 'pin', 'the display could not cancel the sale');
    });

    it('a display cookie reads the live sale and posts its PIN; its status and event stream carry only {currency, activeSales} and sale events', async () => {
      await start();
      const { cookie } = await pairCookie(f!.url, f!.token, 'display');
      const h = { Cookie: cookie };
      const status = await httpRaw(port, { target: '/api/v1/status', headers: h });
      assert.equal(status.status, 200, status.text);
      assert.deepEqual(Object.keys(JSON.parse(status.text) as object).sort(), ['activeSales', 'currency', 'ui']);

      const ac = new AbortController();
      const displayStream = await fetch(`${api!.url}/api/v1/events`, { headers: h, signal: ac.signal });
      const counterStream = await fetch(`${api!.url}/api/v1/events`, { headers: bearer(), signal: ac.signal });
      assert.equal(displayStream.status, 200);
      const sale = (await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 25_000 })).body;
      const displayEvents = readSse(
        displayStream,
        (ev) => ev.some((e) => e.event === 'sale' && (e.data as SaleSnapshot).state === 'done'),
        20_000,
      );
      const counterEvents = readSse(counterStream, (ev) => ev.some((e) => e.event === 'queue'), 20_000);
      await saleWhere(f!.daemon.engine, sale.saleId, (s) => s.state === 'pin');
      const seen = await httpRaw(port, { target: `/api/v1/sales/${sale.saleId}`, headers: h });
      assert.equal(seen.status, 200, seen.text);
      assert.equal((JSON.parse(seen.text) as SaleSnapshot).state, 'pin');
      const pin = await httpRaw(port, {
        method: 'POST',
        target: `/api/v1/sales/${sale.saleId}/pin`,
        headers: h,
        body: JSON.stringify({ pin: FIXTURE_PIN }),
      });
      assert.equal(pin.status, 202, pin.text);
      const done = await f!.waitForSale(sale.saleId);
      assert.equal(done.state, 'done');
      const ended = await httpRaw(port, { target: `/api/v1/sales/${sale.saleId}`, headers: h });
      assert.equal(ended.status, 200, 'the display still shows the sale that just ended');
      assert.equal(
        (await httpRaw(port, { target: '/api/v1/sales/00000000-0000-4000-8000-000000000000', headers: h })).status,
        404,
      );

      const d = await displayEvents;
      const c = await counterEvents;
      ac.abort();
      assert.ok(
        c.some((e) => e.event === 'queue'),
        'the counter stream had queue news in the same time (so the display missing it means something)',
      );
      assert.deepEqual([...new Set(d.map((e) => e.event))].sort(), ['sale', 'status']);
      for (const e of d.filter((x) => x.event === 'status'))
        assert.deepEqual(Object.keys(e.data as object).sort(), ['activeSales', 'currency', 'ui']);
    });

    it('an expired, forged or re-labelled display cookie is 401; the old all-rights session cookie is gone', async () => {
      let now = Math.floor(Date.now() / 1000);
      await start({ clock: () => now });
      const url = api!.url;
      const { cookie } = await pairCookie(url, f!.token, 'display');
      const value = cookie.slice(cookie.indexOf('=') + 1);
      assert.equal((await httpRaw(port, { target: '/api/v1/status', headers: { Cookie: cookie } })).status, 200);
      const [expiry] = value.split('.');
      const forged = [
        `cardpost_display=${expiry}.${randomBytes(32).toString('base64url')}`,
        `cardpost_display=${Number(expiry) + 86_400 * 365}.${value.split('.')[1]}`, // a longer life under the same MAC
        `cardpost_counter=${value}`, // a display pairing presented as the counter's
        'cardpost_session=' + randomBytes(32).toString('base64url'),
        `cardpost_display=${value}x`,
      ];
      for (const c of forged) {
        const r = await httpRaw(port, { target: '/api/v1/status', headers: { Cookie: c } });
        assert.equal(r.status, 401, `${c}: ${r.status}`);
        assert.equal(code(r.text), 'API_UNAUTHORISED');
      }
      now += 12 * 3600 - 1;
      assert.equal(
        (await httpRaw(port, { target: '/api/v1/status', headers: { Cookie: cookie } })).status,
        200,
        'still paired just before 12 h',
      );
      now += 2;
      const expired = await httpRaw(port, { target: '/api/v1/status', headers: { Cookie: cookie } });
      assert.equal(expired.status, 401, 'a display pairing ends after 12 hours');
      assert.equal(code(expired.text), 'API_UNAUTHORISED');
      const counter = await pairCookie(url, f!.token, 'counter');
      assert.match(counter.setCookie, /Max-Age=2592000\b/, 'a counter pairing lives 30 days');
      assert.match(counter.cookie, /^cardpost_counter=/);
    });

    it('a counter cookie works the counter but cannot use the admin routes (raw APDU, export, metrics)', async () => {
      await start();
      const { cookie } = await pairCookie(f!.url, f!.token, 'counter');
      const h = { Cookie: cookie };
      for (const target of [
        '/api/v1/status',
        '/api/v1/queue',
        '/api/v1/readers',
        '/api/v1/settlement',
        '/api/v1/sales',
      ]) {
        assert.equal((await httpRaw(port, { target, headers: h })).status, 200, target);
      }
      reached.length = 0;
      for (const [method, target, b] of [
        ['POST', `${readerPath()}/apdu`, { apdu: GET_INFO_APDU }],
        ['GET', '/api/v1/queue/export'],
        ['GET', '/metrics'],
      ] as const) {
        const r = await httpRaw(port, { method, target, headers: h, ...(b ? { body: JSON.stringify(b) } : {}) });
        assert.equal(r.status, 403, `${method} ${target}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.equal(code(r.text), 'API_SCOPE_REFUSED');
      }
      assertUntouched('counter cookie on admin routes');
    });
  });
});
